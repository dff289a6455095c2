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

mod file;

pub use file::{ChunkState, Header, Journal};

use crate::error::{CliError, Result};
use crate::output::Output;
use serde::Serialize;
use spoki_client::{
    CallFailure, HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind,
};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

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
// Kept whole: the order of arming, sending, disarming and recording is what makes a crash at
// any point leave the journal right, and it reads best in one place.
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
    let (watcher, mut interrupt) = watch_ctrl_c();
    mark_done(&mut journal, &limits.mark_done)?;
    let mut report = Report::default();
    let todo = plan(&journal, &limits, &mut report);
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
        let state = settled(chunk, result);
        record(chunk, state.clone())?;
        match state {
            ChunkState::Done => {
                report.sent.push(chunk);
                bar.inc(1);
            }
            ChunkState::Failed { reason } => {
                report.failed = Some((chunk, reason));
                left += 1;
                break;
            }
            ChunkState::Unknown { .. } => {
                report.unknown.push(chunk);
                break;
            }
            ChunkState::Pending | ChunkState::Sending => {
                unreachable!("an answered chunk is done, failed or unknown")
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

/// A task that turns the flag true at Ctrl-C; without a handler the run goes on
/// uninterruptible rather than stopping.
fn watch_ctrl_c() -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::watch::Receiver<bool>,
) {
    let (pressed, interrupt) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = pressed.send(true);
        }
        std::future::pending::<()>().await;
    });
    (watcher, interrupt)
}

/// Records the chunks given to `--mark-done` as done; only an unknown outcome may be.
fn mark_done(journal: &mut Journal, chunks: &[usize]) -> Result<()> {
    for &chunk in chunks {
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
    Ok(())
}

/// The chunks to send, in order; done ones and unknown ones not to be sent again go in the
/// report as they are.
fn plan(journal: &Journal, limits: &RunLimits, report: &mut Report) -> Vec<usize> {
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
    todo
}

/// What the answer to `chunk` makes of it: done, failed, or of unknown outcome.
fn settled(chunk: usize, result: std::result::Result<(), spoki_client::Error>) -> ChunkState {
    match result {
        Ok(()) => ChunkState::Done,
        // Spoki answered with success, so it acted: only its answer was unreadable.
        Err(e) if e.acted() => {
            eprintln!(
                "chunk {}: accepted, but the answer was unreadable: {e}",
                chunk + 1
            );
            ChunkState::Done
        }
        Err(e) if e.outcome_unknown() => ChunkState::Unknown {
            reason: e.to_string(),
        },
        Err(e) => ChunkState::Failed {
            reason: e.to_string(),
        },
    }
}
