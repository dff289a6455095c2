//! The client-side rate limiter: the [`RateLimited`] layer, and the stores that keep its
//! budgets (in process, or in Redis to share them between workers).

mod local;
#[cfg(feature = "redis")]
pub(crate) mod redis;

pub use local::LocalStore;

use crate::jitter::Jitter;
use async_trait::async_trait;
use governor::Quota;
use http::StatusCode;
use spoki_models::operation::{Operation, RateClass};
use spoki_transport::retry_after::parse_retry_after;
use spoki_transport::{
    CredentialId, HttpRequest, HttpResponse, RecipientId, Recipients, RequestContext, Transport,
    TransportError, TransportErrorKind,
};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The quota of one rate-limit class, per credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClassQuota {
    requests: NonZeroU32,
    period: Duration,
    burst: NonZeroU32,
}

impl ClassQuota {
    /// `requests` per `period`, paced evenly (one every `period / requests`, burst 1).
    ///
    /// # Panics
    ///
    /// When `requests` is 0 or `period / requests` is zero.
    pub fn new(requests: u32, period: Duration) -> ClassQuota {
        let requests = NonZeroU32::new(requests).expect("a quota allows at least one request");
        assert!(
            !(period / requests.get()).is_zero(),
            "a quota's period must be longer than one nanosecond per request"
        );
        ClassQuota {
            requests,
            period,
            burst: NonZeroU32::MIN,
        }
    }

    /// WhatsApp's pair rate: one message every 6 s from a business to the same recipient
    /// (faster sends are refused with `whatsapp::131056`).
    pub fn pair_rate() -> ClassQuota {
        ClassQuota::new(1, spoki_models::error_kind::PAIR_RATE_INTERVAL)
    }

    /// The quota the spec gives `class`.
    pub fn of(class: RateClass) -> ClassQuota {
        ClassQuota::new(class.requests(), class.period())
    }

    /// Allows `burst` requests at once (at most `requests`, at least 1) after a quiet spell.
    ///
    /// The default, 1, spaces requests evenly, which respects the quota whether the server
    /// counts in fixed or sliding windows. A larger burst is faster after idle periods but can
    /// exceed a sliding-window limit by up to `burst - 1`.
    pub fn with_burst(mut self, burst: u32) -> ClassQuota {
        self.burst =
            NonZeroU32::new(burst.clamp(1, self.requests.get())).unwrap_or(NonZeroU32::MIN);
        self
    }

    /// Requests per period.
    pub fn requests(&self) -> u32 {
        self.requests.get()
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The burst.
    pub fn burst(&self) -> u32 {
        self.burst.get()
    }

    /// The spacing of paced requests: `period / requests`.
    pub fn interval(&self) -> Duration {
        self.period / self.requests.get()
    }

    pub(crate) fn governor(&self) -> Quota {
        Quota::with_period(self.interval())
            .expect("checked non-zero in ClassQuota::new")
            .allow_burst(self.burst)
    }
}

/// What a call does when its class has no slot free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LimitMode {
    /// Wait for the slot (plus jitter). The default.
    #[default]
    Wait,
    /// Fail at once with a [`TransportErrorKind::Throttled`] error whose `retry_after` says
    /// when a slot frees up. Nothing is sent.
    FailFast,
}

/// What happens to requests without a [`RequestContext`] (not built by the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Untagged {
    /// They pass through unlimited. The default: the client tags every request it builds.
    #[default]
    PassThrough,
    /// They count against [`RateClass::Default`] under [`CredentialId::ANONYMOUS`].
    DefaultClass,
}

/// Settings of [`RateLimited`]: `RateLimitConfig::default()` and its setters.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RateLimitConfig {
    /// Wait or fail fast (default [`LimitMode::Wait`]).
    pub mode: LimitMode,
    /// Quotas replacing the spec's, per class.
    pub overrides: HashMap<RateClass, ClassQuota>,
    /// The most jitter added to a wait (default 50 ms).
    pub jitter_max: Duration,
    /// How the jitter is drawn (default [`Jitter::full`]).
    pub jitter: Jitter,
    /// The longest pause a server 429 imposes on its (credential, class) (default 60 s).
    pub max_pause: Duration,
    /// Requests without a context (default [`Untagged::PassThrough`]).
    pub untagged: Untagged,
    /// Where the budgets are kept (default: a [`LocalStore`] in this process).
    pub store: Arc<dyn LimitStore>,
    /// The pace of sends to one recipient, per credential (default [`ClassQuota::pair_rate`],
    /// WhatsApp's pair rate); `None` leaves sends to one recipient unpaced.
    pub pair_rate: Option<ClassQuota>,
}

impl Default for RateLimitConfig {
    fn default() -> RateLimitConfig {
        RateLimitConfig {
            mode: LimitMode::Wait,
            overrides: HashMap::new(),
            jitter_max: Duration::from_millis(50),
            jitter: Jitter::full(),
            max_pause: Duration::from_secs(60),
            untagged: Untagged::PassThrough,
            store: Arc::new(LocalStore::new()),
            pair_rate: Some(ClassQuota::pair_rate()),
        }
    }
}

impl RateLimitConfig {
    /// Fail fast instead of waiting.
    pub fn fail_fast(mut self) -> Self {
        self.mode = LimitMode::FailFast;
        self
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: LimitMode) -> Self {
        self.mode = mode;
        self
    }

    /// Replaces the quota of `class`.
    pub fn quota(mut self, class: RateClass, quota: ClassQuota) -> Self {
        self.overrides.insert(class, quota);
        self
    }

    /// Sets the jitter added to waits: `jitter.apply(max)`.
    pub fn jitter(mut self, max: Duration, jitter: Jitter) -> Self {
        self.jitter_max = max;
        self.jitter = jitter;
        self
    }

    /// Sets the longest pause a 429 imposes.
    pub fn max_pause(mut self, max: Duration) -> Self {
        self.max_pause = max;
        self
    }

    /// Sets what happens to requests without a context.
    pub fn untagged(mut self, untagged: Untagged) -> Self {
        self.untagged = untagged;
        self
    }

    /// Keeps the budgets in `store`: a [`LocalStore`] (the default) paces this process alone;
    /// a Redis store (feature `redis`) paces every worker that shares it.
    pub fn store(mut self, store: impl LimitStore + 'static) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// Paces sends to one recipient at `quota` instead of WhatsApp's pair rate; `None` leaves
    /// them unpaced.
    pub fn pair_rate(mut self, quota: Option<ClassQuota>) -> Self {
        self.pair_rate = quota;
        self
    }

    /// The quota in force for `class`: the override, else the spec's.
    pub fn quota_of(&self, class: RateClass) -> ClassQuota {
        self.overrides
            .get(&class)
            .copied()
            .unwrap_or_else(|| ClassQuota::of(class))
    }
}

/// One budget: a credential, and the endpoint (the path template) for operations in the
/// `Default` class, whose unpublished limits are per endpoint; the class name otherwise; or,
/// for the pace of sends to one recipient, [`Budget::RECIPIENT_SCOPE`] and the recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Budget {
    /// Whose budget.
    pub credential: CredentialId,
    /// The class name, or the path template in the `Default` class.
    pub scope: &'static str,
    /// The recipient, for a budget of sends to one recipient.
    pub recipient: Option<RecipientId>,
}

impl Budget {
    /// The scope of the budgets of sends to one recipient.
    pub const RECIPIENT_SCOPE: &'static str = "recipient";

    /// The budget of `credential`'s calls of `operation`.
    pub fn of(credential: CredentialId, operation: &'static Operation) -> Budget {
        Budget {
            credential,
            scope: scope(operation),
            recipient: None,
        }
    }

    /// The budget of `credential`'s sends to `recipient`.
    pub fn recipient(credential: CredentialId, recipient: RecipientId) -> Budget {
        Budget {
            credential,
            scope: Budget::RECIPIENT_SCOPE,
            recipient: Some(recipient),
        }
    }
}

/// A store's answer to a request for a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Go now.
    Now,
    /// No slot is free: ask again after this long (a pause after a 429 included).
    Wait(Duration),
    /// The next free slot is yours: go after this long, without asking again.
    Reserved(Duration),
}

/// Where budgets are kept and decided.
///
/// Every decision is one atomic step wherever the store keeps its state: take a slot now,
/// reserve the next one, or say how long until one frees.
#[async_trait]
pub trait LimitStore: Send + Sync + std::fmt::Debug {
    /// Asks for a slot of `budget` under `quota`. With `reserve`, a store that can may hand
    /// out the next free slot ahead of time ([`Slot::Reserved`]), which spares the caller a
    /// second round trip and keeps the pace exact; without, it only takes a slot that is free
    /// now. An error means no decision could be made, and the request is not sent.
    async fn acquire(
        &self,
        budget: Budget,
        quota: ClassQuota,
        reserve: bool,
    ) -> Result<Slot, TransportError>;

    /// Pauses `budget` for `wait`, after the server answered 429.
    async fn pause(&self, budget: Budget, wait: Duration);

    /// How long `budget` is still paused, if it is.
    async fn paused_for(&self, budget: Budget) -> Option<Duration>;
}

/// A shared store is a store: keep an `Arc` to look at it while the layer uses it.
#[async_trait]
impl<S: LimitStore + ?Sized> LimitStore for Arc<S> {
    async fn acquire(
        &self,
        budget: Budget,
        quota: ClassQuota,
        reserve: bool,
    ) -> Result<Slot, TransportError> {
        (**self).acquire(budget, quota, reserve).await
    }

    async fn pause(&self, budget: Budget, wait: Duration) {
        (**self).pause(budget, wait).await
    }

    async fn paused_for(&self, budget: Budget) -> Option<Duration> {
        (**self).paused_for(budget).await
    }
}

struct Shared {
    config: RateLimitConfig,
}

/// A [`Transport`] that keeps each (credential, rate-limit class) within its quota, and pauses
/// it when the server answers 429.
///
/// One governor keyed limiter per class of the closed [`RateClass`] set, keyed by
/// [`CredentialId`] (and, in the `Default` class, by endpoint, so that unrelated endpoints
/// without a published limit do not share one budget): the quotas are the spec's
/// (`RateClass::requests()` per `RateClass::period()`) unless overridden. A 429 pauses its
/// budget for its
/// `Retry-After` (seconds or HTTP date, at most `max_pause`; one pacing interval when absent).
/// Clones share the same state.
#[derive(Clone)]
pub struct RateLimited<T> {
    inner: T,
    shared: Arc<Shared>,
}

impl<T> std::fmt::Debug for RateLimited<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimited")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> RateLimited<T> {
    /// Wraps `inner` with the spec's quotas, waiting for slots.
    pub fn new(inner: T) -> Self {
        RateLimited::with_config(inner, RateLimitConfig::default())
    }

    /// Wraps `inner` with `config`.
    pub fn with_config(inner: T, config: RateLimitConfig) -> Self {
        RateLimited {
            inner,
            shared: Arc::new(Shared { config }),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &RateLimitConfig {
        &self.shared.config
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// How long `credential` must still wait after a 429 before calling `operation` again,
    /// if its budget is paused.
    pub async fn paused_for(
        &self,
        credential: CredentialId,
        operation: &'static Operation,
    ) -> Option<Duration> {
        self.shared
            .config
            .store
            .paused_for(Budget::of(credential, operation))
            .await
    }
}

impl Shared {
    /// Takes a slot of `budget` under `quota`, waiting or failing fast.
    async fn acquire(
        &self,
        budget: Budget,
        quota: ClassQuota,
        class: &'static str,
        operation: &'static str,
    ) -> Result<(), TransportError> {
        let reserve = self.config.mode == LimitMode::Wait;
        loop {
            let wait = match self.config.store.acquire(budget, quota, reserve).await? {
                Slot::Now => return Ok(()),
                Slot::Reserved(wait) => {
                    tokio::time::sleep(wait).await;
                    return Ok(());
                }
                Slot::Wait(wait) => wait,
            };
            if self.config.mode == LimitMode::FailFast {
                tracing::debug!(
                    operation,
                    class,
                    wait_ms = wait.as_millis() as u64,
                    "rate limit: fail fast"
                );
                return Err(
                    TransportError::new(TransportErrorKind::Throttled).with_retry_after(wait)
                );
            }
            let wait = wait + self.config.jitter.apply(self.config.jitter_max);
            tracing::debug!(
                operation,
                class,
                wait_ms = wait.as_millis() as u64,
                "rate limit: wait"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

#[async_trait]
impl<T: Transport> Transport for RateLimited<T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let shared = &*self.shared;
        let (budget, class, operation) = match RequestContext::of(&request) {
            Some(c) => (
                Budget::of(c.credential, c.operation),
                c.operation.rate_class,
                c.operation.id.as_str(),
            ),
            None => match shared.config.untagged {
                Untagged::PassThrough => return self.inner.send(request).await,
                Untagged::DefaultClass => (
                    Budget {
                        credential: CredentialId::ANONYMOUS,
                        scope: "<no context>",
                        recipient: None,
                    },
                    RateClass::Default,
                    "<no context>",
                ),
            },
        };
        // Sends to one recipient first wait for its pace; other recipients never do.
        if let (Some(quota), Some(recipients)) = (shared.config.pair_rate, Recipients::of(&request))
        {
            for recipient in recipients.iter() {
                let pair = Budget::recipient(budget.credential, recipient);
                shared
                    .acquire(pair, quota, Budget::RECIPIENT_SCOPE, operation)
                    .await?;
            }
        }
        let quota = shared.config.quota_of(class);
        shared
            .acquire(budget, quota, class.as_str(), operation)
            .await?;
        let result = self.inner.send(request).await;
        if let Ok(response) = &result
            && response.status() == StatusCode::TOO_MANY_REQUESTS
        {
            let quota = shared.config.quota_of(class);
            let wait = parse_retry_after(response.headers(), SystemTime::now())
                .unwrap_or_else(|| quota.interval())
                .min(shared.config.max_pause);
            tracing::debug!(
                operation,
                class = class.as_str(),
                pause_ms = wait.as_millis() as u64,
                "rate limit: server 429, pausing"
            );
            shared.config.store.pause(budget, wait).await;
        }
        result
    }
}

/// The budget an operation counts against, beside its credential.
fn scope(operation: &'static Operation) -> &'static str {
    match operation.rate_class {
        RateClass::Default => operation.path,
        class => class.as_str(),
    }
}
