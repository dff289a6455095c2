//! The retry classifier: a pure function from one attempt's outcome to a decision.

use crate::jitter::Jitter;
use http::{Method, StatusCode};
use spoki_transport::TransportErrorKind;
pub use spoki_transport::retry_rule::AttemptOutcome;
pub use spoki_transport::retry_rule::RetryReason;
use spoki_transport::retry_rule::classify;
use std::fmt;
use std::time::Duration;

/// Everything the classifier decides on.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The request's method.
    pub method: &'a Method,
    /// The operation's `idempotent` flag from the spec; `None` when the request has no
    /// `RequestContext`, in which case only `GET`, `HEAD` and `OPTIONS` count as idempotent.
    pub idempotent: Option<bool>,
    /// What the attempt returned, in the one outcome type of the retry rule.
    pub outcome: AttemptOutcome,
    /// How long the answer's `Retry-After` (or a client-side limiter's error) asks to wait.
    pub retry_after: Option<Duration>,
    /// The number of the attempt that just finished, from 1.
    pub attempt: u32,
    /// Time left before the overall deadline, when there is one.
    pub deadline_remaining: Option<Duration>,
}

/// Why the classifier returns the outcome as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// A status that is not retried for this call (2xx, 3xx, most 4xx; any 5xx or 408 of a
    /// non-idempotent call is [`StopReason::ServerMayHaveActed`] instead).
    FinalStatus(StatusCode),
    /// A non-idempotent call got a 5xx or 408: the server may have acted on it.
    ServerMayHaveActed(StatusCode),
    /// A non-idempotent call timed out or lost its connection: the request may have been
    /// received, so it is never sent again.
    MayHaveBeenSent(TransportErrorKind),
    /// An error that another attempt would repeat (`Build`) or that is not understood (`Other`
    /// on an idempotent call).
    NotRetryable(TransportErrorKind),
    /// The attempt was the last one allowed.
    AttemptsExhausted,
    /// The server asked to wait longer than `max_retry_after`.
    RetryAfterTooLong(Duration),
    /// The next attempt would start after the overall deadline.
    DeadlineExceeded,
    /// The shared retry budget is empty (decided by [`Retrying`](crate::Retrying), not by the
    /// pure classifier).
    BudgetExhausted,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::FinalStatus(s) => write!(f, "status {} is final", s.as_u16()),
            StopReason::ServerMayHaveActed(s) => write!(
                f,
                "status {} on a non-idempotent call: the server may have acted",
                s.as_u16()
            ),
            StopReason::MayHaveBeenSent(k) => {
                write!(f, "{k} on a non-idempotent call: it may have been received")
            }
            StopReason::NotRetryable(k) => write!(f, "{k} is not retryable"),
            StopReason::AttemptsExhausted => f.write_str("attempts exhausted"),
            StopReason::RetryAfterTooLong(d) => {
                write!(
                    f,
                    "Retry-After {:.3} s exceeds the maximum",
                    d.as_secs_f64()
                )
            }
            StopReason::DeadlineExceeded => f.write_str("the overall deadline would pass"),
            StopReason::BudgetExhausted => f.write_str("the retry budget is empty"),
        }
    }
}

/// The classifier's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send the request again after `after`.
    Retry {
        /// How long to wait first.
        after: Duration,
        /// Why it is safe and useful.
        reason: RetryReason,
    },
    /// Return this outcome to the caller.
    Stop(StopReason),
}

/// The retry budget: a token bucket shared by every call through one [`Retrying`](crate::Retrying)
/// layer, so that a storm of failures does not multiply the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryBudget {
    /// Tokens in a full bucket (default 500).
    pub capacity: u32,
    /// Tokens a retry costs (default 5).
    pub retry_cost: u32,
    /// Tokens a retry after a timeout or an interrupted connection costs (default 10).
    pub timeout_cost: u32,
    /// Tokens a successful (2xx) response gives back (default 1).
    pub success_refund: u32,
}

impl Default for RetryBudget {
    fn default() -> RetryBudget {
        RetryBudget {
            capacity: 500,
            retry_cost: 5,
            timeout_cost: 10,
            success_refund: 1,
        }
    }
}

impl RetryBudget {
    /// Sets the tokens of a full bucket.
    pub fn capacity(mut self, tokens: u32) -> Self {
        self.capacity = tokens;
        self
    }

    /// Sets what a retry costs.
    pub fn retry_cost(mut self, tokens: u32) -> Self {
        self.retry_cost = tokens;
        self
    }

    /// Sets what a retry after a timeout or a lost connection costs.
    pub fn timeout_cost(mut self, tokens: u32) -> Self {
        self.timeout_cost = tokens;
        self
    }

    /// Sets what a successful response gives back.
    pub fn success_refund(mut self, tokens: u32) -> Self {
        self.success_refund = tokens;
        self
    }

    /// A budget that never runs out.
    pub fn unlimited() -> RetryBudget {
        RetryBudget {
            capacity: u32::MAX,
            retry_cost: 0,
            timeout_cost: 0,
            success_refund: 0,
        }
    }
}

/// The retry settings, and the classifier ([`RetryPolicy::decide`]).
///
/// Defaults: 3 attempts, 1 s initial backoff doubling up to 20 s with full jitter, `Retry-After`
/// honoured up to 60 s, 120 s overall deadline, and the default [`RetryBudget`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (default 3; 1 disables retries).
    pub max_attempts: u32,
    /// The backoff before the second attempt (default 1 s); it doubles on each retry.
    pub initial_backoff: Duration,
    /// The largest backoff (default 20 s).
    pub max_backoff: Duration,
    /// The longest `Retry-After` the layer waits for (default 60 s). A longer one stops the
    /// retries and returns the response, whose `Retry-After` the caller can read.
    pub max_retry_after: Duration,
    /// No retry starts later than this after the call began (default 120 s); `None` for no
    /// limit. Each attempt's own duration is bounded by the transport's attempt timeout.
    pub deadline: Option<Duration>,
    /// How the backoff is randomised (default [`Jitter::full`]).
    pub jitter: Jitter,
    /// The shared retry budget.
    pub budget: RetryBudget,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
            deadline: Some(Duration::from_secs(120)),
            jitter: Jitter::full(),
            budget: RetryBudget::default(),
        }
    }
}

/// Statuses an idempotent call retries.
impl RetryPolicy {
    /// Sets [`max_attempts`](RetryPolicy::max_attempts) (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the initial and the largest backoff.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// Sets [`max_retry_after`](RetryPolicy::max_retry_after).
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Sets the overall [`deadline`](RetryPolicy::deadline).
    pub fn deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sets the [`jitter`](RetryPolicy::jitter).
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets the [`budget`](RetryPolicy::budget).
    pub fn budget(mut self, budget: RetryBudget) -> Self {
        self.budget = budget;
        self
    }

    /// The backoff ceiling after attempt `attempt` (from 1), before jitter:
    /// `min(initial * 2^(attempt-1), max_backoff)`.
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }

    /// Decides whether to send the request again, and when.
    ///
    /// Pure but for the jitter, which [`Jitter::max`] or [`Jitter::seeded`] make deterministic.
    /// See `docs/middleware.md` for the table.
    pub fn decide(&self, attempt: &Attempt<'_>) -> Decision {
        let safe_method = matches!(
            *attempt.method,
            Method::GET | Method::HEAD | Method::OPTIONS
        );
        let idempotent = attempt.idempotent.unwrap_or(safe_method);
        // Whether to try again at all is the client's one rule; this policy only adds when.
        let hint = attempt.retry_after;
        let verdict = classify(idempotent, attempt.outcome);
        let Some(reason) = verdict.retry else {
            let acted = verdict.server_may_have_acted && !idempotent;
            return Decision::Stop(match attempt.outcome {
                AttemptOutcome::Status(status) | AttemptOutcome::Refused { status, .. } => {
                    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                    if acted {
                        StopReason::ServerMayHaveActed(status)
                    } else {
                        StopReason::FinalStatus(status)
                    }
                }
                AttemptOutcome::Transport(kind) if acted => StopReason::MayHaveBeenSent(kind),
                AttemptOutcome::Transport(kind) => StopReason::NotRetryable(kind),
            });
        };
        if attempt.attempt >= self.max_attempts {
            return Decision::Stop(StopReason::AttemptsExhausted);
        }
        // A refusal that clears with time says how long, when the answer does not.
        let hint = hint.or(match reason {
            RetryReason::RefusedForNow(kind) => match kind.retry() {
                spoki_models::RetryAdvice::After(wait) => Some(wait),
                _ => None,
            },
            _ => None,
        });
        let after = match hint {
            Some(hint) if hint > self.max_retry_after => {
                return Decision::Stop(StopReason::RetryAfterTooLong(hint));
            }
            Some(hint) => hint,
            None => self.jitter.apply(self.backoff_ceiling(attempt.attempt)),
        };
        if attempt.deadline_remaining.is_some_and(|left| after >= left) {
            return Decision::Stop(StopReason::DeadlineExceeded);
        }
        Decision::Retry { after, reason }
    }
}
