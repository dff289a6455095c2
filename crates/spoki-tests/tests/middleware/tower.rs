//! The layers in a tower stack, the layered transports as tower services, and a service as
//! the client's transport, against the local Spoki.

use spoki_client::{
    Client, Error, HttpRequest, HttpResponse, ReqwestTransport, ServiceTransport, TransportError,
    TransportErrorKind,
};
use spoki_middleware::{
    Jitter, RateLimitConfig, RateLimitLayer, RetryLayer, RetryPolicy, Retrying,
};
use spoki_mock::OperationId;
use spoki_mock::{Fault, MockSpoki};
use std::future::Ready;
use std::task::{Context, Poll};
use std::time::Duration;

#[path = "../common/mod.rs"]
mod common;
use common::quiet_mock as mock;

fn transport() -> ReqwestTransport {
    ReqwestTransport::new(
        Duration::from_secs(1),
        Duration::from_secs(5),
        "tower-tests",
    )
    .unwrap()
}

fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .backoff(Duration::from_millis(10), Duration::from_millis(20))
        .jitter(Jitter::zero())
}

fn client(mock: &MockSpoki, transport: impl spoki_client::Transport) -> Client {
    Client::builder()
        .base_url(mock.url())
        .api_key(mock.fixtures().agency_api_key.as_str())
        .transport(transport)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_stack_reads_as_a_list_of_layers() {
    let spoki = mock().await;
    let stack = tower::ServiceBuilder::new()
        .layer(RetryLayer::new(policy()))
        .layer(RateLimitLayer::new(RateLimitConfig::default()))
        .service(transport());
    spoki
        .fault(OperationId::AccountsGet, Fault::status(503), 1)
        .unwrap();
    let account = client(&spoki, stack).accounts().get(101).await.unwrap();
    assert_eq!(account.id, 101);
    let statuses: Vec<_> = spoki.received().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [Some(503), Some(200)],
        "the retry layer is in the stack"
    );
}

#[tokio::test]
async fn a_layered_transport_is_a_service_and_a_service_is_a_transport() {
    let spoki = mock().await;
    // Transport -> tower::Service -> Transport.
    let service = Retrying::with_policy(transport(), policy());
    let account = client(&spoki, ServiceTransport::new(service))
        .accounts()
        .get(101)
        .await
        .unwrap();
    assert_eq!(account.id, 101);
}

/// A service that fails with an error of its own.
#[derive(Clone)]
struct Broken;

impl tower::Service<HttpRequest> for Broken {
    type Response = HttpResponse;
    type Error = std::io::Error;
    type Future = Ready<Result<HttpResponse, std::io::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), std::io::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: HttpRequest) -> Self::Future {
        std::future::ready(Err(std::io::Error::other("proxy down")))
    }
}

/// A service that fails with a transport error.
#[derive(Clone)]
struct Refused;

impl tower::Service<HttpRequest> for Refused {
    type Response = HttpResponse;
    type Error = TransportError;
    type Future = Ready<Result<HttpResponse, TransportError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), TransportError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: HttpRequest) -> Self::Future {
        std::future::ready(Err(TransportError::new(TransportErrorKind::Connect)))
    }
}

#[tokio::test]
async fn a_services_errors_keep_what_they_say_about_sending() {
    let spoki = mock().await;
    let err = client(&spoki, ServiceTransport::new(Broken))
        .accounts()
        .get(101)
        .await
        .unwrap_err();
    let Error::Transport { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        source.kind(),
        TransportErrorKind::Other,
        "unknown errors may have sent"
    );
    let err = client(&spoki, ServiceTransport::new(Refused))
        .accounts()
        .get(101)
        .await
        .unwrap_err();
    let Error::Transport { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        source.kind(),
        TransportErrorKind::Connect,
        "a transport error is kept"
    );
}
