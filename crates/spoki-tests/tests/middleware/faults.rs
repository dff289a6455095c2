//! Fault injection against the local Spoki (`spoki-mock`), through `ReqwestTransport` and the
//! layers.
//!
//! Real (short) time: the mock and reqwest need real sockets.

use bytes::Bytes;
use spoki_client::{
    CredentialId, HttpRequest, RequestContext, ReqwestTransport, Transport, TransportErrorKind,
};
use spoki_middleware::{
    ClassQuota, Jitter, RateLimitConfig, RateLimited, RetryBudget, RetryPolicy, Retrying,
};
use spoki_mock::{Fault, MockSpoki, RateLimits};
use spoki_models::operation::{self, Operation, OperationId, RateClass};
use std::time::Duration;
use tokio::time::Instant;

const SEND: &Operation = &operation::MESSAGES_SEND_TEXT;
const START: &Operation = &operation::AUTOMATIONS_START;
const ACCOUNT: &Operation = &operation::ACCOUNTS_GET;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn transport() -> ReqwestTransport {
    ReqwestTransport::new(ms(500), ms(300), "spoki-middleware-tests").unwrap()
}

fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .backoff(ms(50), ms(200))
        .max_retry_after(Duration::from_secs(5))
        .deadline(Some(Duration::from_secs(10)))
        .jitter(Jitter::seeded(1))
}

/// Both layers, with a quota so large that it never delays these tests.
fn stack() -> Retrying<RateLimited<ReqwestTransport>> {
    let config = RateLimitConfig::default()
        .quota(
            RateClass::Default,
            ClassQuota::new(10_000, Duration::from_secs(1)),
        )
        .jitter(Duration::ZERO, Jitter::zero());
    Retrying::with_policy(RateLimited::with_config(transport(), config), policy())
}

/// A mock without rate limits where Mario has just written, so free-form sends go out.
async fn mock() -> MockSpoki {
    mock_with(RateLimits::off()).await
}

async fn mock_with(limits: RateLimits) -> MockSpoki {
    let mock = MockSpoki::builder()
        .rate_limits(limits)
        .start()
        .await
        .unwrap();
    mock.inbound("+393331234567", "ciao").unwrap();
    mock
}

/// The request the client would build for `op` with the demo credentials.
fn request(mock: &MockSpoki, op: &'static Operation) -> HttpRequest {
    let f = mock.fixtures();
    let (path, body, key) = match op.id {
        OperationId::AccountsGet => (
            format!("/api/1/accounts/{}/", f.client_account_id),
            String::new(),
            Some(f.agency_api_key),
        ),
        OperationId::MessagesSendText => (
            "/api/1/messages/send/".to_owned(),
            r#"{"type":"Message","content_type":"Text","phone":"+393331234567","text":"hi"}"#
                .to_owned(),
            Some(f.client_api_key),
        ),
        OperationId::AutomationsStart => (
            format!("/wh/ap/{}/", f.automation_uuid),
            serde_json::json!({"secret": f.automation_secret, "phone": "+393331234567"})
                .to_string(),
            None,
        ),
        other => panic!("no sample request for {other}"),
    };
    let mut request = http::Request::builder()
        .method(op.method.as_str())
        .uri(format!("{}{path}", mock.url()))
        .header("content-type", "application/json")
        .extension(RequestContext {
            operation: op,
            credential: CredentialId::of("test-key"),
        });
    if let Some(key) = key {
        request = request.header("x-spoki-api-key", key);
    }
    request.body(Bytes::from(body)).unwrap()
}

/// Messages the mock sent.
fn processed(mock: &MockSpoki) -> usize {
    mock.messages().len()
}

/// Lets any straggling request reach the mock before counting.
async fn settle() {
    tokio::time::sleep(ms(100)).await;
}

fn retry_after(seconds: &str) -> Fault {
    Fault::answer(429, None).header("retry-after", seconds)
}

#[tokio::test]
async fn a_429_with_retry_after_then_success() {
    let server = mock().await;
    server.fault(ACCOUNT.id, retry_after("1"), 1).unwrap();
    server.fault(SEND.id, retry_after("1"), 1).unwrap();
    let t = stack();
    let start = Instant::now();
    let get = t.send(request(&server, ACCOUNT));
    let send = t.send(request(&server, SEND));
    let (get, send) = tokio::join!(get, send);
    assert_eq!(get.unwrap().status(), 200);
    assert_eq!(send.unwrap().status(), 200);
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    settle().await;
    assert_eq!(server.calls(ACCOUNT.id), 2);
    // The send arrived twice but the first was rejected before processing.
    assert_eq!(server.calls(SEND.id), 2);
    assert_eq!(processed(&server), 1);
}

#[tokio::test]
async fn a_storm_of_503s() {
    let server = mock().await;
    server.fault(ACCOUNT.id, Fault::status(503), 2).unwrap();
    server.fault(SEND.id, Fault::status(503), 10).unwrap();
    server.fault(START.id, Fault::status(503), 10).unwrap();
    let t = stack();
    let get = t.send(request(&server, ACCOUNT)).await;
    assert_eq!(get.unwrap().status(), 200);
    assert_eq!(server.calls(ACCOUNT.id), 3);
    let send = t.send(request(&server, SEND)).await;
    assert_eq!(send.unwrap().status(), 503, "returned as is");
    let start = t.send(request(&server, START)).await;
    assert_eq!(start.unwrap().status(), 503);
    settle().await;
    assert_eq!(server.calls(SEND.id), 1);
    assert_eq!(server.calls(START.id), 1);
    assert_eq!(processed(&server), 0);
}

#[tokio::test]
async fn the_retry_budget_bounds_the_load_of_a_storm() {
    let server = mock().await;
    server.fault(ACCOUNT.id, Fault::status(503), 100).unwrap();
    let budget = RetryBudget::default()
        .capacity(25)
        .retry_cost(5)
        .timeout_cost(10)
        .success_refund(1);
    let t = Retrying::with_policy(transport(), policy().budget(budget));
    let calls: Vec<_> = (0..20).map(|_| t.send(request(&server, ACCOUNT))).collect();
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap().status(), 503);
    }
    settle().await;
    // 20 first attempts and 25 / 5 = 5 retries, instead of 20 x 3 = 60 requests.
    assert_eq!(server.calls(ACCOUNT.id), 25);
}

#[tokio::test]
async fn a_connection_reset_after_the_request_was_read() {
    let server = mock().await;
    server.fault(ACCOUNT.id, Fault::Reset, 1).unwrap();
    server.fault(SEND.id, Fault::AnswerLost, 1).unwrap();
    server.fault(START.id, Fault::AnswerLost, 1).unwrap();
    let t = stack();
    let get = t.send(request(&server, ACCOUNT)).await;
    assert_eq!(get.unwrap().status(), 200);
    assert_eq!(server.calls(ACCOUNT.id), 2);
    for op in [SEND, START] {
        let err = t.send(request(&server, op)).await.unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::Interrupted, "{}", op.id);
        assert!(err.may_have_been_sent());
    }
    settle().await;
    assert_eq!(server.calls(SEND.id), 1);
    assert_eq!(server.calls(START.id), 1);
    // Both were processed before the connection dropped: each went out exactly once.
    assert_eq!(processed(&server), 2);
}

#[tokio::test]
async fn a_response_slower_than_the_timeout() {
    let server = mock().await;
    server
        .fault(ACCOUNT.id, Fault::Delay { ms: 800 }, 1)
        .unwrap();
    server.fault(SEND.id, Fault::Delay { ms: 800 }, 1).unwrap();
    server.fault(START.id, Fault::Delay { ms: 800 }, 1).unwrap();
    let t = stack();
    let get = t.send(request(&server, ACCOUNT)).await;
    assert_eq!(get.unwrap().status(), 200);
    assert_eq!(server.calls(ACCOUNT.id), 2);
    let send = t.send(request(&server, SEND));
    let start = t.send(request(&server, START));
    let (send, start) = tokio::join!(send, start);
    for err in [send.unwrap_err(), start.unwrap_err()] {
        assert_eq!(err.kind(), TransportErrorKind::Timeout);
        assert!(err.may_have_been_sent());
    }
    // Wait past the mock's delay: nothing else arrives.
    tokio::time::sleep(ms(900)).await;
    assert_eq!(server.calls(SEND.id), 1);
    assert_eq!(server.calls(START.id), 1);
}

#[tokio::test]
async fn a_refused_connection_is_retried_even_for_a_send() {
    // A port with nothing listening: nothing can be received, so a send may be retried.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let tries = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = tries.clone();
    let counting = CountingTransport(transport(), counted);
    let t = Retrying::with_policy(counting, policy());
    let req = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}/api/1/messages/send/"))
        .extension(RequestContext {
            operation: &operation::MESSAGES_SEND_TEXT,
            credential: CredentialId::of("k"),
        })
        .body(Bytes::from_static(b"{}"))
        .unwrap();
    let err = t.send(req).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Connect);
    assert!(!err.may_have_been_sent());
    assert_eq!(tries.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test]
async fn pacing_keeps_a_strict_server_free_of_429s() {
    // The mock allows 5 requests in any 300 ms window; the client paces at 5 per 500 ms. The
    // 200 ms between them absorb a loaded machine delaying one request and not the next.
    let quota = || RateLimits::default().quota(RateClass::Default, 5, ms(300));
    let config = RateLimitConfig::default()
        .quota(RateClass::Default, ClassQuota::new(5, ms(500)))
        .jitter(ms(10), Jitter::seeded(5));

    // Control: without the limiter, a burst of 12 sends is rejected in part.
    let server = mock_with(quota()).await;
    let bare = transport();
    let burst: Vec<_> = (0..12).map(|_| bare.send(request(&server, SEND))).collect();
    let statuses: Vec<u16> = futures::future::join_all(burst)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert!(
        statuses.contains(&429),
        "the server enforces its quota: {statuses:?}"
    );
    assert!(throttled(&server) > 0);

    // With the limiter: the computed schedule is 11 intervals of 100 ms, and no 429.
    let server = mock_with(quota()).await;
    let limited = std::sync::Arc::new(RateLimited::with_config(transport(), config));
    let start = Instant::now();
    let calls: Vec<_> = (0..12)
        .map(|_| {
            let t = limited.clone();
            let req = request(&server, SEND);
            tokio::spawn(async move { t.send(req).await.unwrap().status().as_u16() })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), 200);
    }
    let elapsed = start.elapsed();
    let interval = limited.config().quota_of(RateClass::Default).interval();
    assert_eq!(interval, ms(100));
    // The schedule is the limiter's: it can be late on a loaded machine, never early.
    assert!(elapsed >= interval * 11, "{elapsed:?}");
    assert_eq!(throttled(&server), 0);
    assert_eq!(server.calls(SEND.id), 12);
    assert_eq!(processed(&server), 12);
}

/// Counts the attempts that reach the transport.
struct CountingTransport(
    ReqwestTransport,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
);

#[async_trait::async_trait]
impl Transport for CountingTransport {
    async fn send(
        &self,
        request: HttpRequest,
    ) -> Result<spoki_client::HttpResponse, spoki_client::TransportError> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.send(request).await
    }
}

/// Requests the mock answered 429.
fn throttled(mock: &MockSpoki) -> usize {
    mock.received()
        .iter()
        .filter(|r| r.status == Some(429))
        .count()
}
