//! Rate-limit and retry layers over the [`spoki_transport::Transport`] trait.
//!
//! * [`RateLimited`] keeps every (credential, rate-limit class) within the spec's quota, with
//!   governor, and pauses a (credential, class) when the server answers 429.
//! * [`Retrying`] sends a request again when [`RetryPolicy::decide`] says it is safe: idempotent
//!   calls on connect errors, timeouts, 408, 429 and 5xx (502/503/504/500); non-idempotent calls
//!   (message sends, automation starts, syncs, creates) **only** when the request provably did
//!   not reach the server. A message is never sent twice by this crate.
//!
//! Each layer is itself a [`Transport`](spoki_transport::Transport), so they stack or work alone.
//! Put the limiter inside the retries, so that every attempt takes a slot:
//!
//! ```
//! use spoki_middleware::{ClassQuota, RateLimitConfig, RateLimited, RetryPolicy, Retrying};
//! use spoki_models::operation::RateClass;
//! use spoki_transport::Transport;
//! use std::time::Duration;
//!
//! /// `transport` (such as `spoki_transport::ReqwestTransport`), paced and retried.
//! fn stack(transport: impl Transport) -> impl Transport {
//!     let quota = ClassQuota::new(30, Duration::from_secs(60));
//!     let config = RateLimitConfig::default().quota(RateClass::Default, quota);
//!     let limited = RateLimited::with_config(transport, config);
//!     Retrying::with_policy(limited, RetryPolicy::default().max_attempts(4))
//! }
//! ```
//!
//! See `docs/middleware.md` for the classification table and the guarantees.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod classify;
mod jitter;
mod layer;
mod rate_limit;
mod retry;
#[cfg(feature = "redis")]
mod send_once;
mod timeout;

/// What workers share through Redis (feature `redis`): the rate-limit store and the send-once
/// guard. See `docs/scaling.md`.
#[cfg(feature = "redis")]
pub mod shared {
    pub use crate::rate_limit::redis::{Fallback, RedisStore};
    pub use crate::send_once::{GuardError, Guarded, SendOnce, SendState};
    pub use redis::aio::ConnectionManager;
}

pub use classify::{
    Attempt, AttemptOutcome, Decision, RetryBudget, RetryPolicy, RetryReason, StopReason,
};
pub use jitter::Jitter;
pub use layer::{RateLimitLayer, RetryLayer};
pub use rate_limit::{
    Budget, ClassQuota, LimitMode, LimitStore, LocalStore, RateLimitConfig, RateLimited, Slot,
    Untagged,
};
pub use retry::Retrying;
pub use spoki_transport::retry_after::parse_retry_after;
pub use timeout::Timeout;
