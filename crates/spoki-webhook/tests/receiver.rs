//! The receiver's order and ack rule, through its `tower::Service`: cap, signature, decode,
//! dedupe, handler, and 2xx only once the handler succeeded.

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use spoki_models::Secret;
use spoki_webhook::{BoxError, Delivery, Receiver, WebhookVerifier, sign};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tower::ServiceExt;

const SECRET: &str = "whsec_receiver_test";
const BODY: &str = r#"{"version":2,"event":"message.inbound","event_uuid":"e-1","account_id":101,"data":{"from_phone":"+393331234567","text":"Ciao"}}"#;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn signed(body: &str) -> Request<String> {
    Request::post("/hooks")
        .header(
            "x-spoki-signature",
            sign(&Secret::new(SECRET), now(), body.as_bytes()),
        )
        .body(body.to_owned())
        .unwrap()
}

/// A handler that counts its runs and fails the first `failures` of them.
#[allow(clippy::type_complexity)]
fn counting(
    failures: usize,
) -> (
    Arc<AtomicUsize>,
    impl Fn(Arc<Delivery>) -> std::future::Ready<Result<(), BoxError>> + Send + Sync + 'static,
) {
    let runs = Arc::new(AtomicUsize::new(0));
    let seen = runs.clone();
    let handler = move |_: Arc<Delivery>| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        std::future::ready(if n < failures {
            Err::<(), BoxError>("the database is down".into())
        } else {
            Ok(())
        })
    };
    (runs, handler)
}

fn verifier() -> WebhookVerifier {
    WebhookVerifier::new(Secret::new(SECRET)).unwrap()
}

async fn status<S>(service: S, request: Request<String>) -> StatusCode
where
    S: tower::Service<
            Request<String>,
            Response = http::Response<http_body_util::Full<Bytes>>,
            Error = Infallible,
        >,
{
    service.oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn a_redelivery_is_answered_without_running_the_handler_again() {
    let (runs, handler) = counting(0);
    let receiver = Receiver::new(verifier(), handler);
    assert_eq!(status(receiver.clone(), signed(BODY)).await, StatusCode::OK);
    assert_eq!(status(receiver.clone(), signed(BODY)).await, StatusCode::OK);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // Another event runs it.
    let other = BODY.replace("e-1", "e-2");
    assert_eq!(status(receiver, signed(&other)).await, StatusCode::OK);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failing_handler_gets_the_delivery_again() {
    let (runs, handler) = counting(2);
    let receiver = Receiver::new(verifier(), handler);
    let answers = [
        status(receiver.clone(), signed(BODY)).await,
        status(receiver.clone(), signed(BODY)).await,
        status(receiver.clone(), signed(BODY)).await,
        status(receiver.clone(), signed(BODY)).await,
    ];
    assert_eq!(
        answers,
        [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::OK,
            StatusCode::OK
        ]
    );
    assert_eq!(
        runs.load(Ordering::SeqCst),
        3,
        "ran until it succeeded, then no more"
    );
}

#[tokio::test]
async fn without_an_event_uuid_the_signed_body_is_the_key() {
    let (runs, handler) = counting(0);
    let receiver = Receiver::new(verifier(), handler);
    let body = r#"{"type":"message.inbound","message":{"text":"Ciao"}}"#;
    assert_eq!(status(receiver.clone(), signed(body)).await, StatusCode::OK);
    assert_eq!(status(receiver.clone(), signed(body)).await, StatusCode::OK);
    let other = body.replace("Ciao", "Salve");
    assert_eq!(status(receiver, signed(&other)).await, StatusCode::OK);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn every_refusal_has_its_status_and_runs_nothing() {
    let (runs, handler) = counting(0);
    let receiver = Receiver::new(verifier(), handler).max_body(1024);

    let unsigned = Request::post("/").body(BODY.to_owned()).unwrap();
    assert_eq!(
        status(receiver.clone(), unsigned).await,
        StatusCode::UNAUTHORIZED
    );

    let forged = Request::post("/")
        .header(
            "x-spoki-signature",
            sign(&Secret::new("whsec_other"), now(), BODY.as_bytes()),
        )
        .body(BODY.to_owned())
        .unwrap();
    assert_eq!(
        status(receiver.clone(), forged).await,
        StatusCode::UNAUTHORIZED
    );

    let stale = Request::post("/")
        .header(
            "x-spoki-signature",
            sign(&Secret::new(SECRET), now() - 3600, BODY.as_bytes()),
        )
        .body(BODY.to_owned())
        .unwrap();
    assert_eq!(
        status(receiver.clone(), stale).await,
        StatusCode::UNAUTHORIZED
    );

    assert_eq!(
        status(receiver.clone(), signed(r#"{"data":{}}"#)).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        status(receiver.clone(), signed("not json")).await,
        StatusCode::BAD_REQUEST
    );

    let big = format!(r#"{{"event":"x","pad":"{}"}}"#, "a".repeat(2000));
    assert_eq!(
        status(receiver.clone(), signed(&big)).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused_before_it_is_read_whole() {
    let (_, handler) = counting(0);
    let receiver = Receiver::new(verifier(), handler).max_body(64 * 1024);
    // A declared length over the cap: refused without reading a byte.
    let declared = Request::post("/")
        .header("content-length", "20971520")
        .body(String::new())
        .unwrap();
    assert_eq!(
        receiver.clone().oneshot(declared).await.unwrap().status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // A streamed body with no length: reading stops at the cap, the rest is never pulled.
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let chunks = futures_stream(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        Bytes::from(vec![b'a'; 16 * 1024])
    });
    let streamed = Request::post("/").body(StreamBody::new(chunks)).unwrap();
    let answer = receiver.oneshot(streamed).await.unwrap();
    assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        pulled.load(Ordering::SeqCst) <= 6,
        "read {} chunks of an endless body",
        pulled.load(Ordering::SeqCst)
    );
    let text = answer.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&text[..], b"body too large");
}

/// An endless body of frames made by `next`.
fn futures_stream(
    next: impl Fn() -> Bytes + Send + Unpin + 'static,
) -> impl futures_core::Stream<Item = Result<http_body::Frame<Bytes>, Infallible>> + Send {
    struct Endless<F>(F);
    impl<F: Fn() -> Bytes + Unpin> futures_core::Stream for Endless<F> {
        type Item = Result<http_body::Frame<Bytes>, Infallible>;
        fn poll_next(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(Some(Ok(http_body::Frame::data((self.0)()))))
        }
    }
    Endless(next)
}

#[tokio::test]
async fn handlers_in_a_tuple_run_in_order_and_any_failure_fails_the_delivery() {
    let (first, ok) = counting(0);
    let (second, failing) = counting(1);
    let receiver = Receiver::new(verifier(), (ok, failing));
    let outcome = receiver.receive(signed(BODY)).await;
    assert_eq!(outcome.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        outcome.delivery().is_some(),
        "a failed handler's delivery is kept"
    );
    assert_eq!(
        (first.load(Ordering::SeqCst), second.load(Ordering::SeqCst)),
        (1, 1)
    );
    // The redelivery runs both again, and the second succeeds now.
    assert_eq!(
        receiver.receive(signed(BODY)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        (first.load(Ordering::SeqCst), second.load(Ordering::SeqCst)),
        (2, 2)
    );
    let (_, a) = counting(0);
    let (_, b) = counting(0);
    let (third, c) = counting(1);
    let triple = Receiver::new(verifier(), (a, b, c));
    assert_eq!(
        triple.receive(signed(BODY)).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(third.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_event_another_worker_holds_is_answered_503_with_retry_after() {
    use spoki_webhook::DedupeStore;
    let store = spoki_webhook::MemoryDedupe::new();
    let delivery = Delivery::from_slice(BODY.as_bytes()).unwrap();
    let key = spoki_webhook::DedupeKey::of(&delivery, BODY.as_bytes());
    assert!(matches!(
        store.claim(&key).await.unwrap(),
        spoki_webhook::dedupe::Claim::Taken(_)
    ));
    let (runs, handler) = counting(0);
    let receiver = Receiver::with_store(verifier(), handler, store.clone());
    let answer = receiver.oneshot(signed(BODY)).await.unwrap();
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.headers()["retry-after"], "30");
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn what_an_outcome_carries_and_shows() {
    let (_, handler) = counting(0);
    let receiver = Receiver::new(verifier(), handler);
    let debug = format!("{receiver:?}");
    assert!(
        debug.contains("Receiver") && debug.contains("max_body"),
        "{debug}"
    );
    assert!(!debug.contains(SECRET), "{debug}");
    let handled = receiver.receive(signed(BODY)).await;
    assert_eq!(
        handled.delivery().unwrap().event_uuid.as_deref(),
        Some("e-1")
    );
    assert!(receiver.receive(signed(BODY)).await.delivery().is_some());
    let refused = receiver
        .receive(Request::post("/").body(BODY.to_owned()).unwrap())
        .await;
    assert!(refused.delivery().is_none());
    assert!(
        handled
            .into_response()
            .headers()
            .get("retry-after")
            .is_none()
    );
}

#[tokio::test]
async fn a_body_of_exactly_the_cap_is_read() {
    let (runs, handler) = counting(0);
    let receiver = Receiver::new(verifier(), handler).max_body(BODY.len());
    let mut request = signed(BODY);
    request
        .headers_mut()
        .insert("content-length", BODY.len().to_string().parse().unwrap());
    assert_eq!(receiver.receive(request).await.status(), StatusCode::OK);
    let other = BODY.replace("e-1", "e-3");
    let headers = signed(&other).headers().clone();
    assert_eq!(
        receiver
            .receive_bytes(&headers, other.as_bytes())
            .await
            .status(),
        StatusCode::OK
    );
    let longer = format!("{other} ");
    assert_eq!(
        receiver
            .receive_bytes(&headers, longer.as_bytes())
            .await
            .status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_body_that_breaks_off_is_unreadable_not_too_large() {
    struct Broken;
    impl futures_core::Stream for Broken {
        type Item = Result<http_body::Frame<Bytes>, std::io::Error>;
        fn poll_next(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(Some(Err(std::io::Error::other("connection reset"))))
        }
    }
    let (_, handler) = counting(0);
    let receiver = Receiver::new(verifier(), handler);
    let request = Request::post("/").body(StreamBody::new(Broken)).unwrap();
    let outcome = receiver.receive(request).await;
    assert!(
        matches!(outcome, spoki_webhook::DeliveryOutcome::Unreadable),
        "{outcome:?}"
    );
    assert_eq!(outcome.status(), StatusCode::BAD_REQUEST);
}
