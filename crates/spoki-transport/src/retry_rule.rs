//! The one rule for what an attempt's outcome means: may the call be sent again, and may Spoki
//! have acted on it. The client's `Error::is_retryable` and `Error::outcome_unknown` and the
//! middleware's `Retrying` layer all ask [`classify`], so they cannot disagree.

use crate::TransportErrorKind;

/// What one attempt came back with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptOutcome {
    /// Spoki answered with this status.
    Status(u16),
    /// No answer.
    Transport(TransportErrorKind),
}

/// Why another attempt is safe and may succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryReason {
    /// The server answered 429: the request was rejected before processing.
    ThrottledByServer,
    /// An idempotent call got 408, 500, 502, 503 or 504.
    TransientStatus(u16),
    /// No connection could be made: nothing was sent.
    ConnectFailed,
    /// A client-side limiter refused to wait: nothing was sent.
    ThrottledByClient,
    /// An idempotent call timed out.
    TimedOut,
    /// An idempotent call lost its connection mid-request.
    Interrupted,
}

impl RetryReason {
    /// Whether the failure was a timeout or a lost connection, which a retry budget may charge
    /// more for.
    pub fn is_timeout_like(self) -> bool {
        matches!(self, RetryReason::TimedOut | RetryReason::Interrupted)
    }
}

/// What an outcome means for the call that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Classification {
    /// `Some` when sending again is safe and may succeed.
    pub retry: Option<RetryReason>,
    /// Whether Spoki may have acted on the request although the caller cannot tell: a 5xx or
    /// 408 answer, a timeout, a connection lost after the request may have been written.
    pub server_may_have_acted: bool,
}

/// Statuses after which an idempotent call is sent again.
const TRANSIENT_STATUSES: [u16; 5] = [408, 500, 502, 503, 504];

/// Classifies the outcome of one attempt of a call that is `idempotent` (from the spec: sending
/// it twice has the effect of sending it once) or not (a message send, an automation start).
///
/// A non-idempotent call is sent again only when it provably was not acted on: a refused
/// connection, a client-side limiter, or a 429. Whatever else may have reached Spoki is never
/// sent twice.
pub fn classify(idempotent: bool, outcome: AttemptOutcome) -> Classification {
    match outcome {
        AttemptOutcome::Status(status) => Classification {
            retry: if status == 429 {
                Some(RetryReason::ThrottledByServer)
            } else if idempotent && TRANSIENT_STATUSES.contains(&status) {
                Some(RetryReason::TransientStatus(status))
            } else {
                None
            },
            server_may_have_acted: status >= 500 || status == 408,
        },
        AttemptOutcome::Transport(kind) => Classification {
            retry: match kind {
                TransportErrorKind::Connect => Some(RetryReason::ConnectFailed),
                TransportErrorKind::Throttled => Some(RetryReason::ThrottledByClient),
                TransportErrorKind::Timeout if idempotent => Some(RetryReason::TimedOut),
                TransportErrorKind::Interrupted if idempotent => Some(RetryReason::Interrupted),
                _ => None,
            },
            server_may_have_acted: kind.may_have_been_sent(),
        },
    }
}
