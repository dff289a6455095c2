//! The layers over a scripted in-memory transport, in paused tokio time.

use async_trait::async_trait;
use bytes::Bytes;
use spoki_client::{
    CredentialId, HttpRequest, HttpResponse, RequestContext, Transport, TransportError,
    TransportErrorKind as K,
};
use spoki_middleware::{
    ClassQuota, Jitter, LimitMode, RateLimitConfig, RateLimited, RetryBudget, RetryPolicy,
    Retrying, Untagged,
};
use spoki_models::operation::{self, Operation, RateClass};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// What the scripted transport does for one call.
enum Step {
    Status(u16, Option<&'static str>),
    Fail(K),
}

/// Answers from a script (then 200), and records when each call arrived.
#[derive(Clone)]
struct Scripted {
    script: Arc<Mutex<VecDeque<Step>>>,
    calls: Arc<Mutex<Vec<Duration>>>,
    origin: Instant,
}

impl Scripted {
    fn new(steps: Vec<Step>) -> Scripted {
        Scripted {
            script: Arc::new(Mutex::new(steps.into())),
            calls: Arc::default(),
            origin: Instant::now(),
        }
    }

    fn calls(&self) -> Vec<Duration> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl Transport for Scripted {
    async fn send(&self, _request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.calls.lock().unwrap().push(self.origin.elapsed());
        let step = self.script.lock().unwrap().pop_front();
        match step.unwrap_or(Step::Status(200, None)) {
            Step::Status(code, retry_after) => {
                let mut response = http::Response::builder().status(code);
                if let Some(v) = retry_after {
                    response = response.header(http::header::RETRY_AFTER, v);
                }
                Ok(response.body(Bytes::from_static(b"{}")).unwrap())
            }
            Step::Fail(kind) => Err(TransportError::new(kind)),
        }
    }
}

fn request(op: &'static Operation, key: &str) -> HttpRequest {
    http::Request::builder()
        .method(op.method.as_str())
        .uri(format!("http://127.0.0.1:9{}", op.path))
        .extension(RequestContext {
            operation: op,
            credential: CredentialId::of(key),
        })
        .body(Bytes::from_static(b"{\"text\":\"hi\"}"))
        .unwrap()
}

fn untagged() -> HttpRequest {
    http::Request::builder()
        .uri("http://127.0.0.1:9/api/1/accounts/")
        .body(Bytes::new())
        .unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn exact() -> RetryPolicy {
    RetryPolicy::default().jitter(Jitter::max()).deadline(None)
}

fn fast_quota() -> RateLimitConfig {
    RateLimitConfig::default()
        .quota(RateClass::Default, ClassQuota::new(5, ms(500)))
        .jitter(Duration::ZERO, Jitter::zero())
}

async fn status(t: &impl Transport, req: HttpRequest) -> u16 {
    t.send(req).await.expect("a response").status().as_u16()
}

// ---- Retrying ----

#[tokio::test(start_paused = true)]
async fn idempotent_get_retries_transient_statuses_with_backoff() {
    let inner = Scripted::new(vec![Step::Status(503, None), Step::Status(502, None)]);
    let t = Retrying::with_policy(inner.clone(), exact());
    assert_eq!(
        status(&t, request(&operation::ACCOUNTS_GET, "k")).await,
        200
    );
    assert_eq!(inner.calls(), vec![secs(0), secs(1), secs(3)]);
}

#[tokio::test(start_paused = true)]
async fn idempotent_get_gives_up_after_max_attempts() {
    let inner = Scripted::new((0..5).map(|_| Step::Fail(K::Timeout)).collect());
    let t = Retrying::with_policy(inner.clone(), exact());
    let err = t
        .send(request(&operation::ACCOUNTS_GET, "k"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), K::Timeout);
    assert_eq!(inner.calls().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn non_idempotent_send_is_never_repeated_once_it_may_have_been_sent() {
    for kind in [K::Timeout, K::Interrupted, K::Other] {
        for op in [
            &operation::MESSAGES_SEND_TEXT,
            &operation::AUTOMATIONS_START,
        ] {
            let inner = Scripted::new(vec![Step::Fail(kind)]);
            let t = Retrying::with_policy(inner.clone(), exact());
            let err = t.send(request(op, "k")).await.unwrap_err();
            assert_eq!(err.kind(), kind);
            assert!(err.may_have_been_sent());
            assert_eq!(inner.calls().len(), 1, "{} {kind:?}", op.id);
        }
    }
    for code in [500, 502, 503, 504, 408] {
        let inner = Scripted::new(vec![Step::Status(code, Some("1"))]);
        let t = Retrying::with_policy(inner.clone(), exact());
        assert_eq!(
            status(&t, request(&operation::MESSAGES_SEND_TEXT, "k")).await,
            code
        );
        assert_eq!(inner.calls().len(), 1, "{code}");
    }
}

#[tokio::test(start_paused = true)]
async fn non_idempotent_send_is_retried_when_it_provably_did_not_arrive() {
    let inner = Scripted::new(vec![Step::Fail(K::Connect), Step::Status(429, Some("5"))]);
    let t = Retrying::with_policy(inner.clone(), exact());
    assert_eq!(
        status(&t, request(&operation::MESSAGES_SEND_TEXT, "k")).await,
        200
    );
    assert_eq!(inner.calls(), vec![secs(0), secs(1), secs(6)]);
}

#[tokio::test(start_paused = true)]
async fn retry_after_beyond_the_maximum_returns_the_429() {
    let inner = Scripted::new(vec![Step::Status(429, Some("3600"))]);
    let t = Retrying::with_policy(inner.clone(), exact());
    assert_eq!(
        status(&t, request(&operation::ACCOUNTS_GET, "k")).await,
        429
    );
    assert_eq!(inner.calls().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_budget_caps_a_storm_of_failures() {
    // 10 tokens, 5 per retry: two retries in all, however many calls fail.
    let budget = RetryBudget::default()
        .capacity(10)
        .retry_cost(5)
        .timeout_cost(10)
        .success_refund(1);
    let inner = Scripted::new((0..100).map(|_| Step::Status(503, None)).collect());
    let t = Retrying::with_policy(inner.clone(), exact().budget(budget));
    for _ in 0..10 {
        assert_eq!(
            status(&t, request(&operation::ACCOUNTS_GET, "k")).await,
            503
        );
    }
    assert_eq!(inner.calls().len(), 10 + 2);
    assert_eq!(t.budget_remaining(), 0);

    // A timeout costs 10; successes refund 1 each, up to the capacity.
    let inner = Scripted::new(vec![Step::Fail(K::Timeout), Step::Fail(K::Timeout)]);
    let t = Retrying::with_policy(inner.clone(), exact().budget(budget));
    let err = t
        .send(request(&operation::ACCOUNTS_GET, "k"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), K::Timeout);
    assert_eq!(inner.calls().len(), 2);
    assert_eq!(t.budget_remaining(), 0);
    for _ in 0..15 {
        assert_eq!(
            status(&t, request(&operation::ACCOUNTS_GET, "k")).await,
            200
        );
    }
    assert_eq!(t.budget_remaining(), 10);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_stops_retries_that_would_start_too_late() {
    let inner = Scripted::new((0..5).map(|_| Step::Status(503, None)).collect());
    let t = Retrying::with_policy(
        inner.clone(),
        exact().deadline(Some(ms(2500))).max_attempts(5),
    );
    assert_eq!(
        status(&t, request(&operation::ACCOUNTS_GET, "k")).await,
        503
    );
    // 0 s, then 1 s; the next retry would start at 3 s > 2.5 s.
    assert_eq!(inner.calls(), vec![secs(0), secs(1)]);
}

#[tokio::test(start_paused = true)]
async fn seeded_jitter_gives_a_reproducible_schedule_below_the_ceiling() {
    let run = |seed| async move {
        let inner = Scripted::new(vec![Step::Status(503, None), Step::Status(503, None)]);
        let t = Retrying::with_policy(inner.clone(), exact().jitter(Jitter::seeded(seed)));
        status(&t, request(&operation::ACCOUNTS_GET, "k")).await;
        inner.calls()
    };
    let a = run(9).await;
    assert_eq!(a, run(9).await, "the same seed, the same schedule");
    assert_ne!(
        a,
        run(10).await,
        "another seed, another schedule: the jitter is applied"
    );
    // Full jitter draws below the ceilings of 1 s and 2 s, not at them.
    assert!(a[1] < secs(1) && a[2] - a[1] < secs(2), "{a:?}");
}

// ---- RateLimited ----

#[tokio::test(start_paused = true)]
async fn sequential_calls_are_paced_at_the_quota() {
    let inner = Scripted::new(vec![]);
    let t = RateLimited::with_config(inner.clone(), fast_quota());
    for _ in 0..12 {
        assert_eq!(
            status(&t, request(&operation::MESSAGES_SEND_TEXT, "k")).await,
            200
        );
    }
    let want: Vec<_> = (0..12).map(|k| ms(100 * k)).collect();
    assert_eq!(inner.calls(), want);
}

#[tokio::test(start_paused = true)]
async fn concurrent_calls_never_exceed_the_quota_in_any_window() {
    let inner = Scripted::new(vec![]);
    let t = Arc::new(RateLimited::with_config(
        inner.clone(),
        fast_quota().jitter(ms(20), Jitter::seeded(3)),
    ));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { status(&*t, request(&operation::ACCOUNTS_GET, "k")).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    let mut calls = inner.calls();
    calls.sort();
    assert_eq!(calls.len(), 20);
    for pair in calls.windows(2) {
        assert!(pair[1] - pair[0] >= ms(100), "{calls:?}");
    }
    for w in calls.windows(6) {
        assert!(
            w[5] - w[0] >= ms(500),
            "6 calls within one 500 ms window: {calls:?}"
        );
    }
    assert!(calls[19] < ms(19 * 100 + 20 * 20 * 5), "{calls:?}");
}

#[tokio::test(start_paused = true)]
async fn spec_quotas_are_per_class_and_per_credential() {
    let inner = Scripted::new(vec![]);
    let t = RateLimited::new(inner.clone());
    let cfg = t.config().clone();
    assert_eq!(
        cfg.quota_of(RateClass::ContactsSyncAll),
        ClassQuota::new(1, secs(60))
    );
    assert_eq!(
        cfg.quota_of(RateClass::Default),
        ClassQuota::new(60, secs(60))
    );
    // contacts_sync_all: 1 per minute.
    status(&t, request(&operation::CONTACTS_SYNC_ALL, "a")).await;
    // Other classes and other credentials are not held up.
    status(&t, request(&operation::MESSAGES_SEND_TEXT, "a")).await;
    status(&t, request(&operation::CONTACTS_SYNC_ALL, "b")).await;
    let before = inner.calls();
    assert!(before.iter().all(|d| *d < ms(60)), "{before:?}");
    // The same credential waits a minute (plus at most the default 50 ms jitter).
    status(&t, request(&operation::CONTACTS_SYNC_ALL, "a")).await;
    let last = *inner.calls().last().unwrap();
    assert!(last >= secs(60) && last <= secs(60) + ms(50), "{last:?}");
}

#[tokio::test(start_paused = true)]
async fn fail_fast_says_when_to_come_back_and_sends_nothing() {
    let inner = Scripted::new(vec![]);
    let t = RateLimited::with_config(inner.clone(), fast_quota().fail_fast());
    assert_eq!(t.config().mode, LimitMode::FailFast);
    status(&t, request(&operation::MESSAGES_SEND_TEXT, "k")).await;
    tokio::time::advance(ms(30)).await;
    let err = t
        .send(request(&operation::MESSAGES_SEND_TEXT, "k"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), K::Throttled);
    assert!(!err.may_have_been_sent());
    assert_eq!(err.retry_after(), Some(ms(70)));
    assert_eq!(inner.calls().len(), 1);
    tokio::time::advance(ms(70)).await;
    assert_eq!(
        status(&t, request(&operation::MESSAGES_SEND_TEXT, "k")).await,
        200
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_429_pauses_its_credential_and_class() {
    let inner = Scripted::new(vec![Step::Status(429, Some("3"))]);
    let t = RateLimited::with_config(inner.clone(), fast_quota());
    let alice = CredentialId::of("alice");
    assert_eq!(
        status(&t, request(&operation::MESSAGES_SEND_TEXT, "alice")).await,
        429
    );
    assert_eq!(
        t.paused_for(alice, &operation::MESSAGES_SEND_TEXT).await,
        Some(secs(3))
    );
    assert_eq!(
        t.paused_for(CredentialId::of("bob"), &operation::MESSAGES_SEND_TEXT)
            .await,
        None
    );
    // Bob and other classes go on; Alice waits until the pause ends.
    status(&t, request(&operation::MESSAGES_SEND_TEXT, "bob")).await;
    status(&t, request(&operation::CONTACTS_SYNC_ALL, "alice")).await;
    status(&t, request(&operation::MESSAGES_SEND_TEXT, "alice")).await;
    assert_eq!(inner.calls(), vec![secs(0), secs(0), secs(0), secs(3)]);
    assert_eq!(
        t.paused_for(alice, &operation::MESSAGES_SEND_TEXT).await,
        None
    );

    // Fail fast reports the pause; a 429 without Retry-After pauses one interval.
    let inner = Scripted::new(vec![Step::Status(429, Some("2")), Step::Status(429, None)]);
    let t = RateLimited::with_config(inner.clone(), fast_quota().fail_fast());
    status(&t, request(&operation::ACCOUNTS_GET, "k")).await;
    tokio::time::advance(ms(500)).await;
    let err = t
        .send(request(&operation::ACCOUNTS_GET, "k"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.retry_after()),
        (K::Throttled, Some(ms(1500)))
    );
    tokio::time::advance(ms(1500)).await;
    assert_eq!(
        status(&t, request(&operation::ACCOUNTS_GET, "k")).await,
        429
    );
    let err = t
        .send(request(&operation::ACCOUNTS_GET, "k"))
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(ms(100)));
    assert_eq!(inner.calls().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_huge_retry_after_is_capped_by_max_pause() {
    let inner = Scripted::new(vec![Step::Status(429, Some("86400"))]);
    let t = RateLimited::with_config(inner.clone(), fast_quota().max_pause(secs(10)));
    status(&t, request(&operation::ACCOUNTS_GET, "k")).await;
    assert_eq!(
        t.paused_for(CredentialId::of("k"), &operation::ACCOUNTS_GET)
            .await,
        Some(secs(10))
    );
}

#[tokio::test(start_paused = true)]
async fn untagged_requests_pass_through_unless_asked() {
    let inner = Scripted::new(vec![]);
    let t = RateLimited::with_config(inner.clone(), fast_quota());
    for _ in 0..10 {
        status(&t, untagged()).await;
    }
    assert!(inner.calls().iter().all(|d| d.is_zero()));

    let inner = Scripted::new(vec![]);
    let t = RateLimited::with_config(inner.clone(), fast_quota().untagged(Untagged::DefaultClass));
    for _ in 0..3 {
        status(&t, untagged()).await;
    }
    assert_eq!(inner.calls(), vec![ms(0), ms(100), ms(200)]);
}

#[tokio::test(start_paused = true)]
async fn waits_carry_the_jitter() {
    let inner = Scripted::new(vec![]);
    let t = RateLimited::with_config(inner.clone(), fast_quota().jitter(ms(50), Jitter::max()));
    status(&t, request(&operation::ACCOUNTS_GET, "k")).await;
    status(&t, request(&operation::ACCOUNTS_GET, "k")).await;
    assert_eq!(inner.calls(), vec![ms(0), ms(150)]);
}

// ---- Stacked ----

#[tokio::test(start_paused = true)]
async fn retries_over_a_fail_fast_limiter_wait_for_the_slot() {
    let inner = Scripted::new(vec![]);
    let limited = RateLimited::with_config(inner.clone(), fast_quota().fail_fast());
    let t = Retrying::with_policy(limited, exact());
    for _ in 0..3 {
        assert_eq!(
            status(&t, request(&operation::MESSAGES_SEND_TEXT, "k")).await,
            200
        );
    }
    assert_eq!(inner.calls(), vec![ms(0), ms(100), ms(200)]);
    assert_eq!(
        t.budget_remaining(),
        500,
        "client-side throttling costs no budget"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stacked_429_is_retried_once_after_retry_after() {
    let inner = Scripted::new(vec![Step::Status(429, Some("2"))]);
    let t = Retrying::with_policy(
        RateLimited::with_config(inner.clone(), fast_quota()),
        exact(),
    );
    assert_eq!(
        status(&t, request(&operation::AUTOMATIONS_START, "k")).await,
        200
    );
    assert_eq!(inner.calls(), vec![secs(0), secs(2)]);
}

#[tokio::test(start_paused = true)]
async fn default_class_endpoints_keep_their_own_budgets() {
    let inner = Scripted::new(vec![]);
    let t = RateLimited::with_config(
        inner.clone(),
        RateLimitConfig::default()
            .quota(RateClass::Default, ClassQuota::new(1, secs(1)))
            .jitter(Duration::ZERO, Jitter::zero()),
    );
    // One call to each of three endpoints goes at once; the send variants share theirs.
    status(&t, request(&operation::ACCOUNTS_GET, "k")).await;
    status(&t, request(&operation::MESSAGES_SEND_TEXT, "k")).await;
    status(&t, request(&operation::TEMPLATES_LIST, "k")).await;
    status(&t, request(&operation::MESSAGES_SEND_TEMPLATE, "k")).await;
    assert_eq!(inner.calls(), vec![secs(0), secs(0), secs(0), secs(1)]);
}
