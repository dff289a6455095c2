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
use spoki_client::{HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind};
use std::future::Future;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

const VERSION: u32 = 1;

/// What a journal is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub journal: u32,
    /// The job and its target, such as `contacts_import` or `automation_start:UUID`.
    pub job: String,
    /// SHA-256 of the input file, hex.
    pub input_sha256: String,
    pub chunk_size: usize,
    pub chunks: usize,
}

impl Header {
    pub fn new(job: impl Into<String>, input: &[u8], chunk_size: usize, chunks: usize) -> Header {
        Header {
            journal: VERSION,
            job: job.into(),
            input_sha256: format!("{:x}", Sha256::digest(input)),
            chunk_size,
            chunks,
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
    /// refused when it belongs to another input or job.
    pub fn open(path: &Path, header: &Header) -> Result<Journal> {
        let mut states = vec![ChunkState::Pending; header.chunks];
        let exists = path.exists();
        if exists {
            let file = std::fs::File::open(path).map_err(CliError::io(path))?;
            let mut lines = std::io::BufReader::new(file).lines();
            let first = lines
                .next()
                .transpose()
                .map_err(CliError::io(path))?
                .unwrap_or_default();
            let found: Header = serde_json::from_str(&first)
                .map_err(|_| CliError::Usage(format!("{}: not a spoki journal", path.display())))?;
            if &found != header {
                return Err(CliError::Usage(format!(
                    "{}: this journal is for another input or job (the file changed?); \
                     give another --journal, or remove it to start over",
                    path.display()
                )));
            }
            for line in lines {
                let line = line.map_err(CliError::io(path))?;
                // A torn last line is a crash mid-write: the chunk's `sending` before it stands.
                let Ok(record) = serde_json::from_str::<Record>(&line) else {
                    continue;
                };
                if let Some(state) = states.get_mut(record.chunk) {
                    *state = record.state;
                }
            }
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(CliError::io(path))?;
        if !exists {
            let line = serde_json::to_string(header).expect("a header encodes");
            writeln!(file, "{line}").map_err(CliError::io(path))?;
            file.sync_data().map_err(CliError::io(path))?;
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
            chunk,
            state: state.clone(),
        })
        .expect("a record encodes");
        writeln!(self.file, "{line}").map_err(CliError::io(&self.path))?;
        self.file.sync_data().map_err(CliError::io(&self.path))?;
        self.states[chunk] = state;
        Ok(())
    }
}

/// How much of a bulk job to do in this run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunLimits {
    /// Send at most this many chunks, then stop (a later run continues).
    pub max_chunks: Option<usize>,
    /// Send again the chunks whose outcome is unknown (after checking they were not carried out).
    pub resend_unknown: bool,
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
    journal: Journal,
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
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = pressed.send(true);
        }
    });
    let mut report = Report::default();
    let mut todo = Vec::new();
    for (chunk, state) in journal.states().iter().enumerate() {
        match state {
            ChunkState::Done => report.already_done.push(chunk),
            ChunkState::Sending | ChunkState::Unknown { .. } if !limits.resend_unknown => {
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
            _ = interrupt.wait_for(|pressed| *pressed) => {
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
