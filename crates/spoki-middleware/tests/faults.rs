//! Fault injection against a local HTTP server, through `ReqwestTransport` and the layers.
//!
//! Real (short) time: the server and reqwest need real sockets.

mod support;

use bytes::Bytes;
use spoki_client::{
    CredentialId, HttpRequest, RequestContext, ReqwestTransport, Transport, TransportErrorKind,
};
use spoki_middleware::{
    ClassQuota, Jitter, RateLimitConfig, RateLimited, RetryBudget, RetryPolicy, Retrying,
};
use spoki_models::operation::{self, Operation, RateClass};
use std::time::Duration;
use support::{Fault, Server};
use tokio::time::Instant;

const SEND: &str = "/api/1/messages/send/";
const START: &str = "/wh/ap/5f0c7c5e-1d0a-4b7e-9a55-3c1f0d5e2a11/";
const ACCOUNT: &str = "/api/1/accounts/42/";

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

fn request(server: &Server, op: &'static Operation, path: &str) -> HttpRequest {
    http::Request::builder()
        .method(op.method.as_str())
        .uri(server.url(path))
        .header("content-type", "application/json")
        .extension(RequestContext {
            operation: op,
            credential: CredentialId::of("test-key"),
        })
        .body(Bytes::from_static(
            b"{\"phone\":\"+390000000000\",\"text\":\"hi\"}",
        ))
        .unwrap()
}

/// Lets any straggling request reach the server before counting.
async fn settle() {
    tokio::time::sleep(ms(100)).await;
}

#[tokio::test]
async fn a_429_with_retry_after_then_success() {
    let server = Server::start().await;
    server.script(ACCOUNT, vec![Fault::Status(429, Some("1"))]);
    server.script(SEND, vec![Fault::Status(429, Some("1"))]);
    let t = stack();
    let start = Instant::now();
    let get = t.send(request(&server, &operation::ACCOUNTS_GET, ACCOUNT));
    let send = t.send(request(&server, &operation::MESSAGES_SEND_TEXT, SEND));
    let (get, send) = tokio::join!(get, send);
    assert_eq!(get.unwrap().status(), 200);
    assert_eq!(send.unwrap().status(), 200);
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    settle().await;
    assert_eq!(server.received("GET", ACCOUNT), 2);
    // The send arrived twice but the first was rejected before processing.
    assert_eq!(server.received("POST", SEND), 2);
    assert_eq!(server.processed("POST", SEND), 1);
}

#[tokio::test]
async fn a_storm_of_503s() {
    let server = Server::start().await;
    server.script(
        ACCOUNT,
        vec![Fault::Status(503, None), Fault::Status(503, None)],
    );
    server.always(SEND, Fault::Status(503, None));
    server.always(START, Fault::Status(503, None));
    let t = stack();
    let get = t
        .send(request(&server, &operation::ACCOUNTS_GET, ACCOUNT))
        .await;
    assert_eq!(get.unwrap().status(), 200);
    assert_eq!(server.received("GET", ACCOUNT), 3);
    let send = t
        .send(request(&server, &operation::MESSAGES_SEND_TEXT, SEND))
        .await;
    assert_eq!(send.unwrap().status(), 503, "returned as is");
    let start = t
        .send(request(&server, &operation::AUTOMATIONS_START, START))
        .await;
    assert_eq!(start.unwrap().status(), 503);
    settle().await;
    assert_eq!(server.received("POST", SEND), 1);
    assert_eq!(server.received("POST", START), 1);
}

#[tokio::test]
async fn the_retry_budget_bounds_the_load_of_a_storm() {
    let server = Server::start().await;
    server.always(ACCOUNT, Fault::Status(503, None));
    let budget = RetryBudget {
        capacity: 25,
        retry_cost: 5,
        timeout_cost: 10,
        success_refund: 1,
    };
    let t = Retrying::with_policy(transport(), policy().budget(budget));
    let calls: Vec<_> = (0..20)
        .map(|_| t.send(request(&server, &operation::ACCOUNTS_GET, ACCOUNT)))
        .collect();
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap().status(), 503);
    }
    settle().await;
    // 20 first attempts and 25 / 5 = 5 retries, instead of 20 x 3 = 60 requests.
    assert_eq!(server.received("GET", ACCOUNT), 25);
}

#[tokio::test]
async fn a_connection_reset_after_the_request_was_read() {
    let server = Server::start().await;
    server.script(ACCOUNT, vec![Fault::Reset]);
    server.script(SEND, vec![Fault::Reset]);
    server.script(START, vec![Fault::Reset]);
    let t = stack();
    let get = t
        .send(request(&server, &operation::ACCOUNTS_GET, ACCOUNT))
        .await;
    assert_eq!(get.unwrap().status(), 200);
    assert_eq!(server.received("GET", ACCOUNT), 2);
    for (op, path) in [
        (&operation::MESSAGES_SEND_TEXT, SEND),
        (&operation::AUTOMATIONS_START, START),
    ] {
        let err = t.send(request(&server, op, path)).await.unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::Interrupted, "{}", op.id);
        assert!(err.may_have_been_sent());
    }
    settle().await;
    assert_eq!(server.received("POST", SEND), 1);
    assert_eq!(server.received("POST", START), 1);
}

#[tokio::test]
async fn a_response_slower_than_the_timeout() {
    let server = Server::start().await;
    server.script(ACCOUNT, vec![Fault::Delay(ms(800))]);
    server.script(SEND, vec![Fault::Delay(ms(800))]);
    server.script(START, vec![Fault::Delay(ms(800))]);
    let t = stack();
    let get = t
        .send(request(&server, &operation::ACCOUNTS_GET, ACCOUNT))
        .await;
    assert_eq!(get.unwrap().status(), 200);
    assert_eq!(server.received("GET", ACCOUNT), 2);
    let send = t.send(request(&server, &operation::MESSAGES_SEND_TEXT, SEND));
    let start = t.send(request(&server, &operation::AUTOMATIONS_START, START));
    let (send, start) = tokio::join!(send, start);
    for err in [send.unwrap_err(), start.unwrap_err()] {
        assert_eq!(err.kind(), TransportErrorKind::Timeout);
        assert!(err.may_have_been_sent());
    }
    // Wait past the server's delay: nothing else arrives.
    tokio::time::sleep(ms(900)).await;
    assert_eq!(server.received("POST", SEND), 1);
    assert_eq!(server.received("POST", START), 1);
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
        .uri(format!("http://{addr}{SEND}"))
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
    // The server allows 5 requests per 450 ms window (a little slack for socket jitter);
    // the client paces at 5 per 500 ms.
    let quota = Some((5, ms(450)));
    let config = RateLimitConfig::default()
        .quota(RateClass::Default, ClassQuota::new(5, ms(500)))
        .jitter(ms(10), Jitter::seeded(5));

    // Control: without the limiter, a burst of 12 sends is rejected in part.
    let server = Server::start_with_quota(quota).await;
    let bare = transport();
    let burst: Vec<_> = (0..12)
        .map(|_| bare.send(request(&server, &operation::MESSAGES_SEND_TEXT, SEND)))
        .collect();
    let statuses: Vec<u16> = futures::future::join_all(burst)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert!(
        statuses.contains(&429),
        "the server enforces its quota: {statuses:?}"
    );
    assert!(server.total_rejected() > 0);

    // With the limiter: the computed schedule is 11 intervals of 100 ms, and no 429.
    let server = Server::start_with_quota(quota).await;
    let limited = std::sync::Arc::new(RateLimited::with_config(transport(), config));
    let start = Instant::now();
    let calls: Vec<_> = (0..12)
        .map(|_| {
            let t = limited.clone();
            let req = request(&server, &operation::MESSAGES_SEND_TEXT, SEND);
            tokio::spawn(async move { t.send(req).await.unwrap().status().as_u16() })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), 200);
    }
    let elapsed = start.elapsed();
    let interval = limited.config().quota_of(RateClass::Default).interval();
    assert_eq!(interval, ms(100));
    assert!(elapsed >= interval * 11, "{elapsed:?}");
    assert!(
        elapsed < interval * 11 + Duration::from_secs(2),
        "{elapsed:?}"
    );
    assert_eq!(server.total_rejected(), 0);
    assert_eq!(server.received("POST", SEND), 12);
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
