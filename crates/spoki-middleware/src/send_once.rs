//! Send-once across workers: a mark in Redis per (campaign, recipient), taken before sending.
//!
//! A mark goes through three steps, so that a stalled or restarted Redis never strands a
//! recipient and a send that may have gone out is never sent again:
//!
//! 1. **Claim**: `SET NX` of `claimed:<token>` with a short lease (10 s by default). Whoever
//!    gets it goes on; everyone else skips and is told why. A claim whose worker died, or
//!    whose answer was lost while Redis stalled, lapses by itself within the lease.
//! 2. **Begin**, just before the send: a script turns this worker's claim into
//!    `sending:<token>:<unix ms>`, kept as long as any mark (30 days). From here the message
//!    may go out, so only a recorded outcome or an operator clears it. When Redis does not
//!    answer, nothing is sent and the guard takes its mark back.
//! 3. **Finish**: `sent`; or `unknown` when the answer never came (a timeout, a dropped
//!    connection, a 5xx), which is never resent blindly; or released, when the request
//!    provably did not reach Spoki. Redis not answering is retried for a while (30 s by
//!    default), and a send whose outcome still cannot be recorded is returned as
//!    [`Guarded::Unrecorded`], its mark left `sending`.
//!
//! [`SendOnce::unsettled`] lists the marks left `sending` or `unknown`, for an operator to
//! check and settle with [`SendOnce::mark_sent`] or [`SendOnce::forget`].

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use spoki_transport::CallFailure;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Turns this worker's claim into a send in progress. KEYS: mark. ARGV: claim, sending, ttl ms.
const BEGIN: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
";

/// Deletes the mark if it is still this worker's claim or send. KEYS: mark. ARGV: claim,
/// sending.
const TAKE_BACK: &str = r"
local v = redis.call('GET', KEYS[1])
if v ~= ARGV[1] and v ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
return 1
";

/// Records an outcome. `sent` is the truth whatever the mark says now (it may have lapsed or
/// been cleared meanwhile); `unknown` and a release ("") apply only to this worker's send.
/// KEYS: mark. ARGV: sending, outcome, ttl ms.
const FINISH: &str = r"
if ARGV[2] ~= 'sent' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) return 1 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
";

/// Where a (campaign, recipient) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendState {
    /// Another worker holds the claim: it is about to send, or sending. A send whose outcome
    /// could never be recorded stays here; [`SendOnce::unsettled`] lists it.
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
    /// The send ran (here is its result), but Redis did not answer long enough to record the
    /// outcome. The mark stays `sending`, so no worker sends it again; once Redis is back,
    /// settle it with [`SendOnce::mark_sent`] (the result says it went out, or may have) or
    /// [`SendOnce::forget`] (it provably did not).
    Unrecorded {
        /// What the send returned.
        result: Result<T, E>,
        /// Why the outcome could not be recorded.
        cause: redis::RedisError,
    },
}

/// Redis failed before the send: nothing was sent.
#[derive(Debug, thiserror::Error)]
#[error("send-once guard unavailable, nothing was sent{}: {source}", if *.mark_left {
    "; its mark could not be taken back and shows as in flight until settled (see SendOnce::unsettled)"
} else { "" })]
pub struct GuardError {
    source: redis::RedisError,
    mark_left: bool,
}

impl GuardError {
    /// Whether a `sending` mark may have been left behind (Redis stayed away while the guard
    /// tried to take it back): it is listed by [`SendOnce::unsettled`].
    pub fn mark_left(&self) -> bool {
        self.mark_left
    }
}

impl From<redis::RedisError> for GuardError {
    fn from(source: redis::RedisError) -> GuardError {
        GuardError {
            source,
            mark_left: false,
        }
    }
}

/// How long [`SendOnce::open`] waits to connect and for each answer.
const OPEN_TIMEOUT: Duration = Duration::from_secs(2);

/// The send-once guard. Clones share the connection.
#[derive(Clone)]
pub struct SendOnce {
    conn: ConnectionManager,
    prefix: String,
    ttl: Duration,
    lease: Duration,
    record_for: Duration,
}

impl std::fmt::Debug for SendOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendOnce")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .field("lease", &self.lease)
            .field("record_for", &self.record_for)
            .finish_non_exhaustive()
    }
}

/// A mark that [`SendOnce::unsettled`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsettled {
    /// The recipient, as given to [`SendOnce::run`].
    pub recipient: String,
    /// `InFlight` (a send began and nothing was recorded after) or `OutcomeUnknown`.
    pub state: SendState,
    /// When the send began, for an in-flight mark.
    pub since: Option<SystemTime>,
}

impl SendOnce {
    /// A guard on `conn`: keys under `spoki:once:`, marks kept 30 days, claims leased 10 s,
    /// outcomes retried for 30 s.
    pub fn new(conn: ConnectionManager) -> SendOnce {
        SendOnce {
            conn,
            prefix: "spoki".into(),
            ttl: Duration::from_secs(30 * 86_400),
            lease: Duration::from_secs(10),
            record_for: Duration::from_secs(30),
        }
    }

    /// Connects to `url` (`redis://127.0.0.1:6379/`), with a 2 s answer timeout so a stalled
    /// Redis is an error, not a hang; otherwise as [`SendOnce::new`].
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

    /// How long a claim lasts before its send begins (default 10 s): a claim stranded by a
    /// dead worker or a stalled Redis frees its recipient after this.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(100));
        self
    }

    /// How long the guard keeps trying to record an outcome, or take back a mark, while Redis
    /// does not answer (default 30 s).
    pub fn record_for(mut self, record_for: Duration) -> Self {
        self.record_for = record_for;
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

    /// Records that `recipient` was sent, after checking that a send with an unknown or
    /// unrecorded outcome did go out.
    pub async fn mark_sent(&self, campaign: &str, recipient: &str) -> Result<(), GuardError> {
        let mut conn = self.conn.clone();
        let _: () = redis::cmd("SET")
            .arg(self.key(campaign, recipient))
            .arg("sent")
            .arg("PX")
            .arg(millis(self.ttl))
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    /// The marks of `campaign` that need a person: sends that began and recorded nothing
    /// after (their worker died, or Redis stayed away), and unknown outcomes.
    pub async fn unsettled(&self, campaign: &str) -> Result<Vec<Unsettled>, GuardError> {
        let mut conn = self.conn.clone();
        let prefix = self.key(campaign, "");
        let pattern = format!("{}*", glob_escape(&prefix));
        let mut found = Vec::new();
        let mut cursor = 0_u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut conn)
                .await?;
            for key in keys {
                let value: Option<String> =
                    redis::cmd("GET").arg(&key).query_async(&mut conn).await?;
                let Some(value) = value else { continue };
                let recipient = key[prefix.len()..].to_owned();
                if let Some(since) = sending_since(&value) {
                    found.push(Unsettled {
                        recipient,
                        state: SendState::InFlight,
                        since: Some(since),
                    });
                } else if parse_state(&value) == SendState::OutcomeUnknown {
                    found.push(Unsettled {
                        recipient,
                        state: SendState::OutcomeUnknown,
                        since: None,
                    });
                }
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        found.sort_by(|a, b| a.recipient.cmp(&b.recipient));
        Ok(found)
    }

    /// Sends with `send` unless this (campaign, recipient) was claimed before, by this worker
    /// or any other. An error means nothing was sent; a send whose outcome Redis could not
    /// take is [`Guarded::Unrecorded`].
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
        let token = token();
        let claim = format!("claimed:{token}");
        let mut conn = self.conn.clone();
        if let Some(existing) = self.claim(&key, &claim).await? {
            return Ok(Guarded::Skipped(parse_state(&existing)));
        }
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let sending = format!("sending:{token}:{since}");
        let begun: Result<i64, _> = redis::Script::new(BEGIN)
            .key(&key)
            .arg(&claim)
            .arg(&sending)
            .arg(millis(self.ttl))
            .invoke_async(&mut conn)
            .await;
        match begun {
            Ok(1) => {}
            // The claim lapsed before the send began (Redis stalled longer than the lease):
            // someone else may hold the recipient now.
            Ok(_) => {
                let now = self.state(campaign, recipient).await?;
                return Ok(Guarded::Skipped(now.unwrap_or(SendState::InFlight)));
            }
            // Unknown whether the mark turned to `sending`: take it back, or say it may remain.
            Err(source) => {
                let taken_back = self.take_back(&key, &claim, &sending).await;
                return Err(GuardError {
                    source,
                    mark_left: taken_back.is_err(),
                });
            }
        }
        let result = send().await;
        let next = match &result {
            Ok(_) => "sent",
            // Spoki answered 2xx, so it acted; only its answer was unreadable.
            Err(error) if error.acted() => "sent",
            // The client's one rule says whether Spoki may have acted.
            Err(error) if error.outcome_unknown() => "unknown",
            Err(_) => "",
        };
        let recorded = self.record_outcome(&key, &sending, next).await;
        Ok(match (recorded, result) {
            (Err(cause), result) => Guarded::Unrecorded { result, cause },
            (Ok(_), Ok(answer)) => Guarded::Sent(answer),
            (Ok(_), Err(error)) => Guarded::Failed {
                error,
                released: next.is_empty(),
            },
        })
    }

    /// Claims `key` for the lease unless it holds a mark already; answers that mark.
    async fn claim(&self, key: &str, claim: &str) -> Result<Option<String>, redis::RedisError> {
        redis::cmd("SET")
            .arg(key)
            .arg(claim)
            .arg("NX")
            .arg("PX")
            .arg(millis(self.lease))
            .arg("GET")
            .query_async(&mut self.conn.clone())
            .await
    }

    /// Takes back a claim, or the `sending` mark it may have turned into, as long as it is
    /// still ours.
    async fn take_back(
        &self,
        key: &str,
        claim: &str,
        sending: &str,
    ) -> Result<i64, redis::RedisError> {
        self.until_recorded(|mut conn| async move {
            redis::Script::new(TAKE_BACK)
                .key(key)
                .arg(claim)
                .arg(sending)
                .invoke_async::<i64>(&mut conn)
                .await
        })
        .await
    }

    /// Turns our `sending` mark into `next` (`sent`, `unknown`, or nothing: released).
    async fn record_outcome(
        &self,
        key: &str,
        sending: &str,
        next: &str,
    ) -> Result<i64, redis::RedisError> {
        let ttl = millis(self.ttl);
        self.until_recorded(|mut conn| async move {
            redis::Script::new(FINISH)
                .key(key)
                .arg(sending)
                .arg(next)
                .arg(ttl)
                .invoke_async::<i64>(&mut conn)
                .await
        })
        .await
    }

    /// Runs `step` until Redis answers or [`record_for`](Self::record_for) has passed, with a
    /// growing pause between tries.
    async fn until_recorded<F, Fut>(&self, mut step: F) -> Result<i64, redis::RedisError>
    where
        F: FnMut(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<i64, redis::RedisError>>,
    {
        let deadline = tokio::time::Instant::now() + self.record_for;
        let mut pause = Duration::from_millis(50);
        loop {
            match step(self.conn.clone()).await {
                Ok(n) => return Ok(n),
                Err(e) if tokio::time::Instant::now() + pause >= deadline => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, "send-once guard: Redis did not answer; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn parse_state(value: &str) -> SendState {
    match value {
        "sent" => SendState::Sent,
        v if v.starts_with("claimed:")
            || v.starts_with("sending:")
            // Marks of earlier versions of the guard.
            || v.starts_with("in_flight:") =>
        {
            SendState::InFlight
        }
        _ => SendState::OutcomeUnknown,
    }
}

/// When a `sending:<token>:<unix ms>` mark began; `None` for any other mark.
fn sending_since(value: &str) -> Option<SystemTime> {
    let rest = value.strip_prefix("sending:")?;
    let (_, ms) = rest.rsplit_once(':')?;
    Some(UNIX_EPOCH + Duration::from_millis(ms.parse().ok()?))
}

/// `text` with the glob characters of `SCAN MATCH` escaped.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A claim token unique enough to tell two workers' claims apart.
fn token() -> String {
    let a: u64 = rand::random();
    let b: u64 = rand::random();
    format!("{a:016x}{b:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_read_as_their_state() {
        assert_eq!(parse_state("sent"), SendState::Sent);
        assert_eq!(parse_state("claimed:ab"), SendState::InFlight);
        assert_eq!(parse_state("sending:ab:1700000000000"), SendState::InFlight);
        assert_eq!(parse_state("in_flight:ab"), SendState::InFlight);
        assert_eq!(parse_state("unknown"), SendState::OutcomeUnknown);
        assert_eq!(
            sending_since("sending:ab:1700000000000"),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(sending_since("claimed:ab"), None);
    }

    #[test]
    fn tokens_differ_and_globs_are_escaped() {
        assert_ne!(token(), token());
        assert_eq!(token().len(), 32);
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
