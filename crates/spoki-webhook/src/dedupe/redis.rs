//! Claims in Redis, shared by every receiver behind a load balancer.
//!
//! The scheme is the send-once guard's: one key per event under `{prefix}:once:webhook:`,
//! taken with `SET NX` and a lease, holding `in_flight:<token>` while the handler runs and
//! `done` afterwards (with the store's TTL), deleted when the handler fails.

use super::{Claim, ClaimToken, DEFAULT_LEASE, DEFAULT_TTL, DedupeKey, DedupeStore, StoreError};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;

/// Finishes a claim only if it is still the caller's.
/// KEYS: the event. ARGV: the claim's value, "" to release or "done", the TTL in ms.
const FINISH: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
";

/// How long one Redis command may take before the store reports itself unavailable: a stalled
/// Redis then answers 503 (Spoki delivers again) instead of holding the delivery.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The dedupe store in Redis. Clones share the connection.
#[derive(Clone)]
pub struct RedisDedupe {
    conn: ConnectionManager,
    prefix: String,
    ttl: Duration,
    lease: Duration,
}

impl std::fmt::Debug for RedisDedupe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDedupe")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl RedisDedupe {
    /// A store on `conn`, keys under `spoki:once:webhook:`.
    pub fn new(conn: ConnectionManager) -> RedisDedupe {
        RedisDedupe {
            conn,
            prefix: "spoki".into(),
            ttl: DEFAULT_TTL,
            lease: DEFAULT_LEASE,
        }
    }

    /// Connects to `url` (`redis://127.0.0.1:6379/`), with [`DEFAULT_RESPONSE_TIMEOUT`].
    pub async fn open(url: &str) -> Result<RedisDedupe, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(DEFAULT_RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(DEFAULT_RESPONSE_TIMEOUT));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        Ok(RedisDedupe::new(conn))
    }

    /// The key prefix (default `spoki`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a handled event is remembered (default [`DEFAULT_TTL`]).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// How long a claim holds while its handler runs (default [`DEFAULT_LEASE`]).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(1));
        self
    }

    fn key(&self, key: &DedupeKey) -> String {
        format!("{}:once:webhook:{}", self.prefix, key.as_str())
    }

    async fn finish(
        &self,
        key: &DedupeKey,
        token: &ClaimToken,
        next: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::Script::new(FINISH)
            .key(self.key(key))
            .arg(claim_value(token))
            .arg(next)
            .arg(millis(self.ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

impl DedupeStore for RedisDedupe {
    async fn claim(&self, key: &DedupeKey) -> Result<Claim, StoreError> {
        let token = ClaimToken(rand::random());
        let mut conn = self.conn.clone();
        let existing: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(claim_value(&token))
            .arg("NX")
            .arg("PX")
            .arg(millis(self.lease))
            .arg("GET")
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(match existing.as_deref() {
            None => Claim::Taken(token),
            Some("done") => Claim::Done,
            Some(_) => Claim::InFlight,
        })
    }

    async fn complete(&self, key: &DedupeKey, token: &ClaimToken) -> Result<(), StoreError> {
        self.finish(key, token, "done").await
    }

    async fn release(&self, key: &DedupeKey, token: &ClaimToken) -> Result<(), StoreError> {
        self.finish(key, token, "").await
    }
}

fn claim_value(token: &ClaimToken) -> String {
    format!("in_flight:{:032x}", token.0)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError(Box::new(e))
}
