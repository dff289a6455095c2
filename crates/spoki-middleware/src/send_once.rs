//! Send-once across workers: a mark in Redis per (campaign, recipient), taken before sending.
//!
//! A worker claims the mark with `SET NX` (with an expiry) before it sends. Whoever holds it
//! sends; everyone else skips and is told why. After the send the mark records the outcome:
//! `sent`; or, when the answer never came (a timeout, a dropped connection, a 5xx), `unknown`,
//! which is never resent blindly; or, when the request provably did not reach Spoki, the mark
//! is released so a later run may send.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use spoki_transport::CallFailure;
use std::future::Future;
use std::time::Duration;

/// Releases the mark only if it is still the caller's claim (`in_flight:<token>`).
/// KEYS: mark. ARGV: claim value, new value ("" to release).
const FINISH: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') end
return 1
";

/// How long [`SendOnce::open`] waits to connect and for each answer.
const OPEN_TIMEOUT: Duration = Duration::from_secs(2);

/// Where a (campaign, recipient) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendState {
    /// Another worker holds the claim and is sending.
    InFlight,
    /// It was sent.
    Sent,
    /// A send was attempted and its outcome is unknown: it may have gone out. Check (webhooks,
    /// the contact's history) before clearing it with [`SendOnce::forget`].
    OutcomeUnknown,
}

/// What [`SendOnce::run`] did; `E` is the call's error, such as `spoki_client::Error`.
#[derive(Debug)]
#[non_exhaustive]
pub enum Guarded<T, E> {
    /// This worker sent it; here is the answer.
    Sent(T),
    /// It was not sent by this call, because of where it stands.
    Skipped(SendState),
    /// The send failed. `released` says whether the mark was released (Spoki did not act on
    /// the request, so a later run may send); otherwise it is marked
    /// [`SendState::OutcomeUnknown`] (or `Sent`, when Spoki answered 2xx with a body that did
    /// not decode).
    Failed {
        /// The error.
        error: E,
        /// Whether a later run may send.
        released: bool,
    },
}

/// The guard could not reach Redis: nothing was sent.
#[derive(Debug, thiserror::Error)]
#[error("send-once guard unavailable, nothing was sent: {0}")]
pub struct GuardError(#[from] redis::RedisError);

/// The send-once guard. Clones share the connection.
#[derive(Clone)]
pub struct SendOnce {
    conn: ConnectionManager,
    prefix: String,
    ttl: Duration,
}

impl std::fmt::Debug for SendOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendOnce")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl SendOnce {
    /// A guard on `conn`, keys under `spoki:once:`, marks kept 30 days.
    pub fn new(conn: ConnectionManager) -> SendOnce {
        SendOnce {
            conn,
            prefix: "spoki".into(),
            ttl: Duration::from_secs(30 * 86_400),
        }
    }

    /// Connects to `url` (`redis://127.0.0.1:6379/`): keys under `spoki:once:`, marks kept 30
    /// days, and a 2 s answer timeout so a stalled Redis is an error, not a hang.
    pub async fn open(url: &str) -> Result<SendOnce, GuardError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(OPEN_TIMEOUT))
            .set_response_timeout(Some(OPEN_TIMEOUT));
        Ok(SendOnce::new(
            ConnectionManager::new_with_config(client, config).await?,
        ))
    }

    /// The key prefix (default `spoki`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a mark is kept (default 30 days): a re-run within it skips.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_secs(1));
        self
    }

    fn key(&self, campaign: &str, recipient: &str) -> String {
        format!("{}:once:{campaign}:{recipient}", self.prefix)
    }

    /// Where `recipient` stands in `campaign`, if anything was claimed.
    pub async fn state(
        &self,
        campaign: &str,
        recipient: &str,
    ) -> Result<Option<SendState>, GuardError> {
        let mut conn = self.conn.clone();
        let value: Option<String> = redis::cmd("GET")
            .arg(self.key(campaign, recipient))
            .query_async(&mut conn)
            .await?;
        Ok(value.as_deref().map(parse_state))
    }

    /// Clears the mark, after checking by other means that a send with an unknown outcome did
    /// not go out (or to send again on purpose).
    pub async fn forget(&self, campaign: &str, recipient: &str) -> Result<(), GuardError> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("DEL")
            .arg(self.key(campaign, recipient))
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    /// Sends with `send` unless this (campaign, recipient) was claimed before, by this worker
    /// or any other. Redis failing is an error and nothing is sent.
    pub async fn run<T, E, F, Fut>(
        &self,
        campaign: &str,
        recipient: &str,
        send: F,
    ) -> Result<Guarded<T, E>, GuardError>
    where
        E: CallFailure,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let key = self.key(campaign, recipient);
        let claim = format!("in_flight:{}", uuid_like());
        let mut conn = self.conn.clone();
        let taken: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(&claim)
            .arg("NX")
            .arg("PX")
            .arg(u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX))
            .arg("GET")
            .query_async(&mut conn)
            .await?;
        if let Some(existing) = taken {
            return Ok(Guarded::Skipped(parse_state(&existing)));
        }
        let result = send().await;
        let (next, outcome) = match result {
            Ok(answer) => ("sent", Guarded::Sent(answer)),
            // Spoki answered 2xx, so it acted; only its answer was unreadable.
            Err(error) if error.acted() => (
                "sent",
                Guarded::Failed {
                    error,
                    released: false,
                },
            ),
            // The client's one rule says whether Spoki may have acted.
            Err(error) if error.outcome_unknown() => (
                "unknown",
                Guarded::Failed {
                    error,
                    released: false,
                },
            ),
            Err(error) => (
                "",
                Guarded::Failed {
                    error,
                    released: true,
                },
            ),
        };
        let _: i64 = redis::Script::new(FINISH)
            .key(&key)
            .arg(&claim)
            .arg(next)
            .invoke_async(&mut conn)
            .await?;
        Ok(outcome)
    }
}

fn parse_state(value: &str) -> SendState {
    match value {
        "sent" => SendState::Sent,
        v if v.starts_with("in_flight:") => SendState::InFlight,
        _ => SendState::OutcomeUnknown,
    }
}

/// A claim token unique enough to tell two workers' claims apart.
fn uuid_like() -> String {
    let a: u64 = rand::random();
    let b: u64 = rand::random();
    format!("{a:016x}{b:016x}")
}
