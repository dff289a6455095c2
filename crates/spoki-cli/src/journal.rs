//! Bulk work that survives Ctrl-C, a crash or a lost connection: a journal of chunks.
//!
//! The journal is a JSON-lines file. Its first line names the job and the SHA-256 of the input,
//! so a journal is never applied to another file or job. Before a chunk is sent, a `sending`
//! record is written and synced; after, `done`, `failed` (Spoki refused it or it never left
//! this machine: sending again is safe) or `unknown` (it may have been carried out). A `sending`
//! with nothing after it means the process died mid-call: unknown as well.
//!
//! A rerun skips `done` chunks, sends `failed` and never-tried ones, and reports `unknown`
//! ones without sending them, unless told to after the operator has checked.
//!
//! `sending` is written by [`Gated`], the transport under the rate limiter, at the moment the
//! request leaves for Spoki: a run stopped while it waits for its turn has sent nothing, so
//! Ctrl-C then stops at once and the chunk stays pending.

use crate::error::{CliError, Result};
use crate::output::Output;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use spoki_client::{
    CallFailure, HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind,
};
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// The journal format. Version 2 numbers chunks from 1, as every output does.
const VERSION: u32 = 2;

/// What a journal is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub journal: u32,
    /// The job and its target, such as `contacts_import` or `automation_start:UUID`.
    pub job: String,
    /// SHA-256 of the input file, hex.
    pub input_sha256: String,
    /// SHA-256 of the plan: which rows (line and phone) are in which chunk, hex. The same file
    /// could be planned differently by another version's row checks.
    pub plan_sha256: String,
    pub chunk_size: usize,
    pub chunks: usize,
}

impl Header {
    /// The header of a job over `input`, sent as `chunks` (each a list of rows, given by
    /// their line and phone).
    pub fn new<'a>(
        job: impl Into<String>,
        input: &[u8],
        chunk_size: usize,
        chunks: impl ExactSizeIterator<Item = Vec<(u64, &'a str)>>,
    ) -> Header {
        let count = chunks.len();
        let mut plan = Sha256::new();
        for (k, rows) in chunks.enumerate() {
            for (line, phone) in rows {
                plan.update(format!("{k}\t{line}\t{phone}\n"));
            }
        }
        Header {
            journal: VERSION,
            job: job.into(),
            input_sha256: format!("{:x}", Sha256::digest(input)),
            plan_sha256: format!("{:x}", plan.finalize()),
            chunk_size,
            chunks: count,
        }
    }
}

/// Where a chunk stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ChunkState {
    /// Never sent.
    Pending,
    /// A send began; what happened next is not recorded yet.
    Sending,
    /// Spoki accepted it.
    Done,
    /// Not carried out: refused, or never reached Spoki. Safe to send again.
    Failed { reason: String },
    /// May have been carried out. Not sent again unless asked.
    Unknown { reason: String },
}

/// One line of the journal after its header. `chunk` counts from 1.
#[derive(Serialize, Deserialize)]
struct Record {
    chunk: usize,
    #[serde(flatten)]
    state: ChunkState,
}

/// An open journal.
pub struct Journal {
    path: PathBuf,
    file: std::fs::File,
    states: Vec<ChunkState>,
}

impl Journal {
    /// The journal of `header`'s job at `path`: created when missing, else read back, and
    /// refused when it belongs to another input or job, or another run holds it.
    pub fn open(path: &Path, header: &Header) -> Result<Journal> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(CliError::io(path))?;
        // Two runs of one job would both send its pending chunks. The lock goes with the
        // process, so a crash never leaves it behind.
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(CliError::Usage(format!(
                    "{}: another run of this job is in progress",
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(CliError::io(path)(e)),
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text).map_err(CliError::io(path))?;
        let mut states = vec![ChunkState::Pending; header.chunks];
        if text.is_empty() {
            let line = serde_json::to_string(header).expect("a header encodes");
            append(&mut file, &line).map_err(CliError::io(path))?;
        } else {
            // A crash mid-write leaves a last line without its newline: it was never recorded,
            // so it is cut off, and the chunk's earlier record stands.
            if !text.ends_with('\n') {
                let whole = text.rfind('\n').map_or(0, |at| at + 1);
                file.set_len(whole as u64).map_err(CliError::io(path))?;
                text.truncate(whole);
            }
            let not_ours = || {
                CliError::Usage(format!(
                    "{}: this journal is for another input, plan or job (the file changed?); \
                     give another --journal, or remove it to start over",
                    path.display()
                ))
            };
            let mut lines = text.lines();
            let found: Header = lines
                .next()
                .and_then(|first| serde_json::from_str(first).ok())
                .ok_or_else(not_ours)?;
            if found.journal != VERSION {
                return Err(CliError::Usage(format!(
                    "{}: a journal of format {} (this spoki writes {VERSION}); finish the job \
                     with the spoki that started it, or remove the journal to start over",
                    path.display(),
                    found.journal
                )));
            }
            if &found != header {
                return Err(not_ours());
            }
            for (i, line) in lines.enumerate() {
                let record: Record = serde_json::from_str(line).map_err(|_| {
                    CliError::Failed(format!(
                        "{}:{}: damaged journal record; nothing was sent",
                        path.display(),
                        i + 2
                    ))
                })?;
                let state = record
                    .chunk
                    .checked_sub(1)
                    .and_then(|k| states.get_mut(k))
                    .ok_or_else(|| {
                        CliError::Failed(format!(
                            "{}:{}: the journal names chunk {} of {}; nothing was sent",
                            path.display(),
                            i + 2,
                            record.chunk,
                            header.chunks
                        ))
                    })?;
                *state = record.state;
            }
        }
        Ok(Journal {
            path: path.to_owned(),
            file,
            states,
        })
    }

    /// Where each chunk stands.
    pub fn states(&self) -> &[ChunkState] {
        &self.states
    }

    /// Records a chunk's new state, durably, before anything else happens.
    pub fn record(&mut self, chunk: usize, state: ChunkState) -> Result<()> {
        let line = serde_json::to_string(&Record {
            chunk: chunk + 1,
            state: state.clone(),
        })
        .expect("a record encodes");
        append(&mut self.file, &line).map_err(CliError::io(&self.path))?;
        self.states[chunk] = state;
        Ok(())
    }
}

/// Appends `line` and its newline in one write, then syncs it to disk.
fn append(file: &mut std::fs::File, line: &str) -> std::io::Result<()> {
    file.write_all(format!("{line}\n").as_bytes())?;
    file.sync_data()
}

/// How much of a bulk job to do in this run, and what the operator settled.
#[derive(Debug, Clone, Default)]
pub struct RunLimits {
    /// Send at most this many chunks, then stop (a later run continues).
    pub max_chunks: Option<usize>,
    /// Send again every chunk whose outcome is unknown (after checking none was carried out).
    pub resend_unknown: bool,
    /// Chunks (0-based) whose unknown outcome the operator checked and found not carried out:
    /// sent again.
    pub resend: Vec<usize>,
    /// Chunks (0-based) whose unknown outcome the operator checked and found carried out:
    /// recorded as done, not sent.
    pub mark_done: Vec<usize>,
}

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Chunks sent and accepted in this run.
    pub sent: Vec<usize>,
    /// Chunks accepted in an earlier run.
    pub already_done: Vec<usize>,
    /// Chunks whose outcome is unknown, not sent in this run.
    pub unknown: Vec<usize>,
    /// The chunk that failed in this run (the run stops there), with why.
    pub failed: Option<(usize, String)>,
    /// Chunks left for a later run (a limit, Ctrl-C or a failure stopped this one).
    pub left: usize,
    /// Whether Ctrl-C stopped the run.
    pub interrupted: bool,
}

/// Where the journal learns that a chunk's request is leaving: armed with a hook per chunk,
/// fired by [`Gated`] just before the request goes out.
#[derive(Clone, Default)]
pub struct Departures {
    inner: Arc<Mutex<Gate>>,
}

type Hook = Box<dyn FnMut() -> Result<()> + Send>;

#[derive(Default)]
struct Gate {
    hook: Option<Hook>,
    departed: bool,
}

impl Departures {
    fn lock(&self) -> std::sync::MutexGuard<'_, Gate> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn arm(&self, hook: Hook) {
        *self.lock() = Gate {
            hook: Some(hook),
            departed: false,
        };
    }

    fn disarm(&self) {
        *self.lock() = Gate::default();
    }

    /// Whether a request left since the last arming.
    fn departed(&self) -> bool {
        self.lock().departed
    }

    /// Runs the hook; only if it succeeds may the request go.
    fn depart(&self) -> Result<()> {
        let mut gate = self.lock();
        if let Some(hook) = gate.hook.as_mut() {
            hook()?;
        }
        gate.departed = true;
        Ok(())
    }
}

/// A transport that reports each departure to [`Departures`] first, and sends nothing whose
/// departure could not be recorded.
pub struct Gated<T> {
    inner: T,
    departures: Departures,
}

impl<T> Gated<T> {
    pub fn new(inner: T, departures: Departures) -> Gated<T> {
        Gated { inner, departures }
    }
}

#[async_trait::async_trait]
impl<T: Transport> Transport for Gated<T> {
    async fn send(
        &self,
        request: HttpRequest,
    ) -> std::result::Result<HttpResponse, TransportError> {
        // `Build`: nothing was sent, so the failure is safe to report and to retry.
        self.departures
            .depart()
            .map_err(|e| TransportError::new(TransportErrorKind::Build).with_source(e))?;
        self.inner.send(request).await
    }
}

/// Sends every chunk that needs sending, in order, recording each in the journal.
///
/// `send(index)` sends chunk `index` through a client whose transport is [`Gated`] by
/// `departures`. The run stops at the first chunk that fails or whose outcome is unknown,
/// after `limits.max_chunks` chunks, or at Ctrl-C: at once when the chunk in flight has not
/// left yet, else once its answer is in and recorded.
pub async fn run<F, Fut>(
    mut journal: Journal,
    departures: &Departures,
    limits: RunLimits,
    out: Output,
    what: &str,
    mut send: F,
) -> Result<Report>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = std::result::Result<(), spoki_client::Error>>,
{
    let (pressed, mut interrupt) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(async move {
        // Without a Ctrl-C handler, the run goes on uninterruptible rather than stopping.
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = pressed.send(true);
        }
        std::future::pending::<()>().await;
    });
    for &chunk in &limits.mark_done {
        let unsettled = matches!(
            journal.states().get(chunk),
            Some(ChunkState::Sending | ChunkState::Unknown { .. })
        );
        if !unsettled {
            return Err(CliError::Usage(format!(
                "--mark-done {}: only a chunk with an unknown outcome can be marked done",
                chunk + 1
            )));
        }
        journal.record(chunk, ChunkState::Done)?;
    }
    let mut report = Report::default();
    let mut todo = Vec::new();
    for (chunk, state) in journal.states().iter().enumerate() {
        let resend = limits.resend_unknown || limits.resend.contains(&chunk);
        match state {
            ChunkState::Done => report.already_done.push(chunk),
            ChunkState::Sending | ChunkState::Unknown { .. } if !resend => {
                report.unknown.push(chunk)
            }
            _ => todo.push(chunk),
        }
    }
    let journal = Arc::new(Mutex::new(journal));
    let record = |chunk: usize, state: ChunkState| {
        journal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(chunk, state)
    };
    let bar = out.progress(todo.len() as u64, what);
    let mut left = todo.len();
    for chunk in todo {
        if *interrupt.borrow() {
            report.interrupted = true;
            break;
        }
        if limits
            .max_chunks
            .is_some_and(|max| report.sent.len() >= max)
        {
            break;
        }
        let log = journal.clone();
        departures.arm(Box::new(move || {
            log.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .record(chunk, ChunkState::Sending)
        }));
        let call = send(chunk);
        tokio::pin!(call);
        let result = tokio::select! {
            result = &mut call => result,
            Ok(_) = interrupt.wait_for(|pressed| *pressed) => {
                report.interrupted = true;
                if !departures.departed() {
                    // Still waiting for its turn: nothing left this machine.
                    departures.disarm();
                    break;
                }
                eprintln!("stopping once the chunk in flight is answered");
                call.await
            }
        };
        departures.disarm();
        left -= 1;
        match result {
            Ok(()) => {
                record(chunk, ChunkState::Done)?;
                report.sent.push(chunk);
                bar.inc(1);
            }
            // Spoki answered with success, so it acted: only its answer was unreadable.
            Err(e) if e.acted() => {
                eprintln!(
                    "chunk {}: accepted, but the answer was unreadable: {e}",
                    chunk + 1
                );
                record(chunk, ChunkState::Done)?;
                report.sent.push(chunk);
                bar.inc(1);
            }
            Err(e) if e.outcome_unknown() => {
                let reason = e.to_string();
                record(chunk, ChunkState::Unknown { reason })?;
                report.unknown.push(chunk);
                break;
            }
            Err(e) => {
                let reason = e.to_string();
                record(
                    chunk,
                    ChunkState::Failed {
                        reason: reason.clone(),
                    },
                )?;
                report.failed = Some((chunk, reason));
                left += 1;
                break;
            }
        }
        if report.interrupted {
            break;
        }
    }
    bar.finish_and_clear();
    watcher.abort();
    report.unknown.sort_unstable();
    report.left = left;
    Ok(report)
}
