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

use crate::error::{CliError, Result};
use crate::output::Output;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// Sends every chunk that needs sending, in order, recording each in the journal.
///
/// `send(index)` sends chunk `index`. The run stops at the first chunk that fails or whose
/// outcome is unknown, after `limits.max_chunks` chunks, or at Ctrl-C (the chunk in flight
/// is finished and recorded first).
pub async fn run<F, Fut>(
    journal: &mut Journal,
    limits: RunLimits,
    out: Output,
    what: &str,
    mut send: F,
) -> Result<Report>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = std::result::Result<(), spoki_client::Error>>,
{
    let interrupted = Arc::new(AtomicBool::new(false));
    let watcher = {
        let flag = interrupted.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                flag.store(true, Ordering::SeqCst);
            }
        })
    };
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
    let bar = out.progress(todo.len() as u64, what);
    let mut remaining = todo.len();
    for chunk in todo {
        if interrupted.load(Ordering::SeqCst) {
            report.interrupted = true;
            break;
        }
        if limits
            .max_chunks
            .is_some_and(|max| report.sent.len() >= max)
        {
            break;
        }
        journal.record(chunk, ChunkState::Sending)?;
        let result = send(chunk).await;
        remaining -= 1;
        match result {
            Ok(()) => {
                journal.record(chunk, ChunkState::Done)?;
                report.sent.push(chunk);
                bar.inc(1);
            }
            Err(e) if e.outcome_unknown() => {
                let reason = e.to_string();
                journal.record(
                    chunk,
                    ChunkState::Unknown {
                        reason: reason.clone(),
                    },
                )?;
                report.unknown.push(chunk);
                break;
            }
            Err(e) => {
                let reason = e.to_string();
                journal.record(
                    chunk,
                    ChunkState::Failed {
                        reason: reason.clone(),
                    },
                )?;
                report.failed = Some((chunk, reason));
                remaining += 1;
                break;
            }
        }
    }
    bar.finish_and_clear();
    watcher.abort();
    report.unknown.sort_unstable();
    report.left = remaining;
    Ok(report)
}
