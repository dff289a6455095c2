//! Budgets kept in Redis, so that every worker using one API key shares one quota.
//!
//! Each decision is one Lua script, run atomically by Redis on Redis's own clock (`TIME`), so
//! worker clocks may drift. The algorithm is GCRA, as governor's: a budget is a theoretical
//! arrival time (TAT); a request is admitted when `TAT - burst tolerance <= now`, and moves the
//! TAT one emission interval on. A 429 from Spoki writes a pause key that every worker's next
//! decision sees. Keys carry a prefix and expire once they no longer matter.

use super::{Budget, ClassQuota, LimitStore, LocalStore, Slot};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use spoki_transport::{TransportError, TransportErrorKind};
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Returns {0, 0} (go now), {1, µs} (ask again after) or {2, µs} (reserved: go after).
/// KEYS: TAT, pause. ARGV: emission interval (µs), burst tolerance (µs), reserve (0 or 1).
const ACQUIRE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return {1, paused - now} end
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 and ARGV[3] ~= '1' then return {1, wait} end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1)
if wait > 0 then return {2, wait} end
return {0, 0}
";

/// Pauses a budget until now + ARGV[1] µs, unless it is already paused for longer.
/// KEYS: pause.
const PAUSE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > paused then
  redis.call('SET', KEYS[1], string.format('%.0f', until_), 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1)
end
return 0
";

/// What a [`RedisStore`] does while Redis cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fallback {
    /// Decide in this process, each class's quota divided by the number of workers that share
    /// the key, so that together they stay within it. The default, with one worker.
    Local {
        /// How many workers share the key (at least 1).
        workers: u32,
    },
    /// Send nothing: every call fails at once with a `Throttled` transport error.
    FailFast,
}

/// A [`LimitStore`] in Redis: the same budgets (per credential and class, per endpoint in the
/// `Default` class) for every worker that uses the same Redis and key prefix.
///
/// When Redis fails, the store follows its [`Fallback`], logs the outage once (and its end),
/// and tries Redis again every `probe_interval` (default 1 s) until it answers.
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    fallback: Fallback,
    probe_interval: Duration,
    local: LocalStore,
    acquire: redis::Script,
    pause: redis::Script,
    down: AtomicBool,
    next_probe: Mutex<Option<Instant>>,
    /// Budgets decided in this process during an outage, which Redis knows nothing of.
    decided_locally: Mutex<HashSet<Budget>>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("fallback", &self.fallback)
            .field("down", &self.down.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store on `url` (`redis://127.0.0.1:6379`), connecting lazily: a worker starts even
    /// while Redis is down. Each Redis call gives up after 250 ms.
    pub fn open(url: &str) -> Result<RedisStore, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(250)))
            .set_response_timeout(Some(Duration::from_millis(250)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(100));
        Ok(RedisStore::new(ConnectionManager::new_lazy_with_config(
            client, config,
        )?))
    }

    /// A store on an existing connection manager (which reconnects by itself).
    pub fn new(conn: ConnectionManager) -> RedisStore {
        RedisStore {
            conn,
            prefix: "spoki".into(),
            fallback: Fallback::Local { workers: 1 },
            probe_interval: Duration::from_secs(1),
            local: LocalStore::new(),
            acquire: redis::Script::new(ACQUIRE),
            pause: redis::Script::new(PAUSE),
            down: AtomicBool::new(false),
            next_probe: Mutex::new(None),
            decided_locally: Mutex::default(),
        }
    }

    /// The key prefix (default `spoki`): stores with the same prefix share budgets.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// What to do while Redis is down (default: decide locally as the only worker).
    pub fn fallback(mut self, fallback: Fallback) -> Self {
        self.fallback = fallback;
        self
    }

    /// How often to try Redis again during an outage (default 1 s).
    pub fn probe_interval(mut self, interval: Duration) -> Self {
        self.probe_interval = interval;
        self
    }

    /// Whether the store is in an outage (deciding by its fallback).
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    fn keys(&self, budget: Budget) -> (String, String) {
        // The braces make both keys one Redis Cluster hash slot; the scope's own braces
        // (path templates) would end the hash tag early.
        let scope: String = budget
            .scope
            .chars()
            .map(|c| match c {
                '{' => '<',
                '}' => '>',
                c => c,
            })
            .collect();
        let recipient = budget
            .recipient
            .map(|r| format!(":{}", r.to_hex()))
            .unwrap_or_default();
        let tag = format!(
            "{}:{{{}:{}{recipient}}}",
            self.prefix,
            budget.credential.to_hex(),
            scope
        );
        (format!("{tag}:tat"), format!("{tag}:pause"))
    }

    /// Whether to ask Redis now: always while it works, once per probe interval while down.
    fn should_ask(&self) -> bool {
        if !self.is_down() {
            return true;
        }
        let mut next = self.next_probe.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match *next {
            Some(at) if at > now => false,
            _ => {
                *next = Some(now + self.probe_interval);
                true
            }
        }
    }

    fn succeeded(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!(prefix = %self.prefix, "redis rate-limit store is back");
        }
    }

    fn failed(&self, error: &redis::RedisError) {
        if !self.down.swap(true, Ordering::Relaxed) {
            *self.next_probe.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(Instant::now() + self.probe_interval);
            tracing::warn!(
                prefix = %self.prefix,
                fallback = ?self.fallback,
                "redis rate-limit store unavailable, using the fallback: {error}"
            );
        }
    }

    fn fall_back(&self, budget: Budget, quota: ClassQuota) -> Result<Slot, TransportError> {
        match self.fallback {
            Fallback::Local { workers } => {
                // What the other workers spent in the last period is in Redis, out of reach:
                // the first local decision waits a whole period, so none of it is spent twice.
                let first = self
                    .decided_locally
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(budget);
                if first {
                    self.local.pause_now(budget, quota.period());
                }
                let share = (quota.requests() / workers.max(1)).max(1);
                let quota = ClassQuota::new(share, quota.period());
                Ok(self.local.decide(budget, quota))
            }
            Fallback::FailFast => Err(TransportError::new(TransportErrorKind::Throttled)
                .with_retry_after(self.probe_interval)),
        }
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[async_trait]
impl LimitStore for RedisStore {
    async fn acquire(
        &self,
        budget: Budget,
        quota: ClassQuota,
        reserve: bool,
    ) -> Result<Slot, TransportError> {
        if self.should_ask() {
            let (tat, pause) = self.keys(budget);
            let interval = quota.interval();
            let tolerance = interval * (quota.burst() - 1);
            let mut conn = self.conn.clone();
            let answer: Result<(u8, u64), _> = self
                .acquire
                .key(tat)
                .key(pause)
                .arg(micros(interval))
                .arg(micros(tolerance))
                .arg(u8::from(reserve))
                .invoke_async(&mut conn)
                .await;
            match answer {
                Ok((kind, wait)) => {
                    self.succeeded();
                    // Back from an outage: what this worker spent meanwhile is not in Redis,
                    // so the budget rests a period, for every worker.
                    let rest = self
                        .decided_locally
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&budget);
                    if rest {
                        self.pause(budget, quota.period()).await;
                        return Ok(Slot::Wait(quota.period()));
                    }
                    let wait = Duration::from_micros(wait);
                    return Ok(match kind {
                        0 => Slot::Now,
                        2 => Slot::Reserved(wait),
                        _ => Slot::Wait(wait),
                    });
                }
                Err(e) => self.failed(&e),
            }
        }
        self.fall_back(budget, quota)
    }

    async fn pause(&self, budget: Budget, wait: Duration) {
        // Kept locally too, so that the pause holds through an outage.
        self.local.pause_now(budget, wait);
        if !self.should_ask() {
            return;
        }
        let (_, pause) = self.keys(budget);
        let mut conn = self.conn.clone();
        let answer: Result<u64, _> = self
            .pause
            .key(pause)
            .arg(micros(wait))
            .invoke_async(&mut conn)
            .await;
        match answer {
            Ok(_) => self.succeeded(),
            Err(e) => self.failed(&e),
        }
    }

    async fn paused_for(&self, budget: Budget) -> Option<Duration> {
        if self.should_ask() {
            let (_, pause) = self.keys(budget);
            let mut conn = self.conn.clone();
            let left: Result<i64, _> = redis::cmd("PTTL").arg(pause).query_async(&mut conn).await;
            match left {
                Ok(ms) => {
                    self.succeeded();
                    return (ms > 0).then(|| Duration::from_millis(ms as u64));
                }
                Err(e) => self.failed(&e),
            }
        }
        self.local.paused_for(budget).await
    }
}
