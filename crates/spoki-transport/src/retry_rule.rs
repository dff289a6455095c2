//! The one rule for what an attempt's outcome means: may the call be sent again, and may Spoki
//! have acted on it. The client's `Error::is_retryable` and `Error::outcome_unknown` and the
//! middleware's `Retrying` layer all ask [`classify`], so they cannot disagree.

use crate::TransportErrorKind;
use spoki_models::{ErrorKind, RetryAdvice};

/// What one attempt came back with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptOutcome {
    /// Spoki answered with this status, and no error code.
    Status(u16),
    /// Spoki refused with this status and an error code of this kind (`whatsapp::131056`):
    /// where the code says more than the status (a pair-rate refusal clears with time, a
    /// closed service window does not), the code decides.
    Refused {
        /// The HTTP status.
        status: u16,
        /// What the error code means.
        kind: ErrorKind,
    },
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
    /// Spoki refused with a code whose refusal clears with time, such as WhatsApp's pair
    /// rate (`131056`): nothing was done, and [`ErrorKind::retry`] says how long to wait.
    RefusedForNow(ErrorKind),
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

impl AttemptOutcome {
    /// The outcome of an answer with `status` and, when its body has one, an error code of
    /// `kind`.
    pub fn answer(status: u16, kind: Option<ErrorKind>) -> AttemptOutcome {
        match kind {
            Some(kind) => AttemptOutcome::Refused { status, kind },
            None => AttemptOutcome::Status(status),
        }
    }
}

/// Statuses after which an idempotent call is sent again.
const TRANSIENT_STATUSES: [u16; 5] = [408, 500, 502, 503, 504];

/// Classifies the outcome of one attempt of a call that is `idempotent` (from the spec: sending
/// it twice has the effect of sending it once) or not (a message send, an automation start).
///
/// A non-idempotent call is sent again only when it provably was not acted on: a refused
/// connection, a client-side limiter, or a 429. Whatever else may have reached Spoki is never
/// sent twice.
///
/// A refusal with an error code is judged by the code where it says more than the status: a
/// code that clears with time ([`RetryAdvice::After`]) is sent again, a code that says what to
/// fix ([`RetryAdvice::No`]) is not, and Spoki did not act on either; any other code is
/// judged by its status.
pub fn classify(idempotent: bool, outcome: AttemptOutcome) -> Classification {
    match outcome {
        AttemptOutcome::Refused { status, kind } => match kind.retry() {
            RetryAdvice::After(_) => Classification {
                retry: Some(RetryReason::RefusedForNow(kind)),
                server_may_have_acted: false,
            },
            RetryAdvice::No => Classification {
                retry: None,
                server_may_have_acted: false,
            },
            RetryAdvice::Backoff => classify(idempotent, AttemptOutcome::Status(status)),
        },
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

#[cfg(test)]
mod tests {
    use super::*;
    use AttemptOutcome::{Status, Transport};
    use TransportErrorKind as K;

    fn rule(idempotent: bool, outcome: AttemptOutcome) -> (Option<RetryReason>, bool) {
        let c = classify(idempotent, outcome);
        (c.retry, c.server_may_have_acted)
    }

    #[test]
    fn every_status_means_what_the_rule_says() {
        use RetryReason::*;
        // (status, retried when idempotent, retried when not, may have acted)
        let table = [
            (200, None, None, false),
            (400, None, None, false),
            (401, None, None, false),
            (404, None, None, false),
            (408, Some(TransientStatus(408)), None, true),
            (409, None, None, false),
            (429, Some(ThrottledByServer), Some(ThrottledByServer), false),
            (499, None, None, false),
            (500, Some(TransientStatus(500)), None, true),
            (501, None, None, true),
            (502, Some(TransientStatus(502)), None, true),
            (503, Some(TransientStatus(503)), None, true),
            (504, Some(TransientStatus(504)), None, true),
            (505, None, None, true),
        ];
        for (status, idempotent, not, acted) in table {
            assert_eq!(
                rule(true, Status(status)),
                (idempotent, acted),
                "{status}, idempotent"
            );
            assert_eq!(
                rule(false, Status(status)),
                (not, acted),
                "{status}, not idempotent"
            );
        }
    }

    #[test]
    fn a_failure_without_an_answer_is_retried_only_when_nothing_can_be_doubled() {
        use RetryReason::*;
        // (kind, retried when idempotent, retried when not, may have acted)
        let table = [
            (K::Build, None, None, false),
            (K::Connect, Some(ConnectFailed), Some(ConnectFailed), false),
            (
                K::Throttled,
                Some(ThrottledByClient),
                Some(ThrottledByClient),
                false,
            ),
            (K::Timeout, Some(TimedOut), None, true),
            (K::Interrupted, Some(Interrupted), None, true),
            (K::TooLarge, None, None, true),
            (K::Other, None, None, true),
        ];
        for (kind, idempotent, not, acted) in table {
            assert_eq!(
                rule(true, Transport(kind)),
                (idempotent, acted),
                "{kind:?}, idempotent"
            );
            assert_eq!(
                rule(false, Transport(kind)),
                (not, acted),
                "{kind:?}, not idempotent"
            );
        }
    }

    #[test]
    fn a_code_decides_where_it_says_more_than_the_status() {
        use RetryReason::*;
        let refused = |status, kind| AttemptOutcome::Refused { status, kind };
        for idempotent in [true, false] {
            // A pair-rate refusal clears with time: sent again, even a message send.
            assert_eq!(
                rule(idempotent, refused(400, ErrorKind::PairRateLimit)),
                (Some(RefusedForNow(ErrorKind::PairRateLimit)), false)
            );
            // A closed window does not, whatever the status: nothing was sent either.
            assert_eq!(
                rule(idempotent, refused(500, ErrorKind::ServiceWindowClosed)),
                (None, false)
            );
            assert_eq!(
                rule(idempotent, refused(400, ErrorKind::CreditExhausted)),
                (None, false)
            );
        }
        // A code that says nothing more is judged by its status.
        assert_eq!(
            rule(true, refused(503, ErrorKind::ServerError)),
            rule(true, Status(503))
        );
        assert_eq!(
            rule(false, refused(503, ErrorKind::ServerError)),
            rule(false, Status(503))
        );
    }

    #[test]
    fn only_timeouts_and_lost_connections_are_timeout_like() {
        use RetryReason::*;
        assert!(TimedOut.is_timeout_like() && Interrupted.is_timeout_like());
        for reason in [
            ThrottledByServer,
            TransientStatus(503),
            ConnectFailed,
            ThrottledByClient,
        ] {
            assert!(!reason.is_timeout_like(), "{reason:?}");
        }
    }
}
