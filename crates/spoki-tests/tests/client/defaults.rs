//! A client built with the defaults paces and retries safely; the opt-outs and a custom
//! transport behave as documented.

mod support;

use spoki_client::models::{Phone, SendTemplate};
use spoki_client::{Client, Error};
use spoki_middleware::{ClassQuota, RateLimitConfig, RetryPolicy};
use spoki_mock::OperationId;
use spoki_mock::{Fault, MockSpoki, RateLimits};
use spoki_models::RateClass;
use std::time::Duration;
use support::Recorder;

#[path = "../common/mod.rs"]
mod common;
use common::quiet_mock as mock;

fn client(mock: &MockSpoki) -> spoki_client::ClientBuilder {
    Client::builder()
        .base_url(mock.url())
        .api_key(mock.fixtures().client_api_key.as_str())
}

#[tokio::test]
async fn the_default_client_retries_a_read_and_never_a_send() {
    let mock = mock().await;
    let f = mock.fixtures();
    let spoki = client(&mock).build().unwrap();

    mock.fault(OperationId::AccountsGet, Fault::status(503), 1)
        .unwrap();
    let account = spoki.accounts().get(f.client_account_id).await.unwrap();
    assert_eq!(account.id, f.client_account_id);
    assert_eq!(
        mock.calls(OperationId::AccountsGet),
        2,
        "the 503 was retried"
    );

    mock.fault(OperationId::MessagesSendTemplate, Fault::status(503), 1)
        .unwrap();
    let send = SendTemplate::new(
        Phone::parse("+393331234567").unwrap(),
        f.utility_template_id,
    );
    let error = spoki.messages().send_template(&send).await.unwrap_err();
    assert!(error.outcome_unknown() && !error.is_retryable());
    assert_eq!(
        mock.calls(OperationId::MessagesSendTemplate),
        1,
        "a send is never sent twice"
    );
}

#[tokio::test]
async fn without_retries_every_call_is_one_attempt() {
    let mock = mock().await;
    let spoki = client(&mock).without_retries().build().unwrap();
    mock.fault(OperationId::AccountsGet, Fault::status(503), 1)
        .unwrap();
    let error = spoki.accounts().get(101).await.unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert_eq!(mock.calls(OperationId::AccountsGet), 1);
}

#[tokio::test]
async fn the_default_client_paces_and_without_rate_limits_it_does_not() {
    // Spoki allows 2 reads a minute here; the client is told the same, and to fail at once
    // (no waiting, no retry) so that the test shows who stopped the third call.
    let mock = MockSpoki::builder()
        .rate_limits(RateLimits::default().quota(RateClass::Default, 2, Duration::from_secs(60)))
        .start()
        .await
        .unwrap();
    let two_a_minute = RateLimitConfig::default()
        .quota(
            RateClass::Default,
            ClassQuota::new(2, Duration::from_secs(60)).with_burst(2),
        )
        .fail_fast();
    let paced = client(&mock)
        .rate_limits(two_a_minute)
        .without_retries()
        .build()
        .unwrap();
    for _ in 0..2 {
        paced.accounts().get(101).await.unwrap();
    }
    let error = paced.accounts().get(101).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::RateLimited {
                client_side: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        mock.calls(OperationId::AccountsGet),
        2,
        "the client held the third call back"
    );

    let unpaced = client(&mock)
        .without_rate_limits()
        .without_retries()
        .build()
        .unwrap();
    let refused = unpaced.accounts().get(101).await.unwrap_err();
    assert_eq!(
        refused.status(),
        Some(429),
        "Spoki refused what the client let through"
    );
}

#[tokio::test]
async fn the_default_client_holds_a_call_back_to_spokis_published_limit() {
    // Spoki's own limits, and a client with nothing but its key and origin: the builder's
    // defaults alone must pace. `contacts_sync_all` is published at one call a minute.
    let mock = MockSpoki::start().await;
    let spoki = client(&mock).build().unwrap();
    let one = [spoki_client::models::ContactSync::new(
        Phone::parse("+393331234567").unwrap(),
    )];
    spoki.contacts().sync_all(&one).await.unwrap();
    // The second call waits for its turn, a minute away; 2 s is far more than a local call
    // takes, so an unpaced client would have reached the mock (and met a 429) by then.
    let contacts = spoki.contacts();
    let second = tokio::time::timeout(Duration::from_secs(2), contacts.sync_all(&one)).await;
    assert!(second.is_err(), "the second call was not held back");
    assert_eq!(
        mock.calls(OperationId::ContactsSyncAll),
        1,
        "the client, not Spoki, stopped the second call"
    );
}

#[tokio::test]
async fn a_custom_transport_is_the_whole_stack_unless_layers_are_asked_for() {
    let failing = Recorder::new(|_| (503, vec![], String::new()));
    let bare = Client::builder()
        .transport(failing.clone())
        .api_key("k-1")
        .build()
        .unwrap();
    assert!(bare.accounts().get(1).await.is_err());
    assert_eq!(failing.seen().len(), 1, "not wrapped by default");

    let failing = Recorder::new(|_| (503, vec![], String::new()));
    let retried = Client::builder()
        .transport(failing.clone())
        .api_key("k-1")
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(3)
                .backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    assert!(retried.accounts().get(1).await.is_err());
    assert_eq!(
        failing.seen().len(),
        3,
        "wrapped when a retry policy is given"
    );
}

struct Silent;

#[async_trait::async_trait]
impl spoki_client::Transport for Silent {
    async fn send(
        &self,
        _: spoki_client::HttpRequest,
    ) -> Result<spoki_client::HttpResponse, spoki_client::TransportError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn the_builders_timeouts_apply_to_a_custom_transport_or_are_refused() {
    let bounded = Client::builder()
        .transport(Silent)
        .api_key("k-1")
        .timeout(Duration::from_millis(20))
        .build()
        .unwrap();
    let error = bounded.accounts().get(1).await.unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");

    let refused = Client::builder()
        .transport(Silent)
        .connect_timeout(Duration::from_secs(1))
        .build();
    assert!(matches!(refused, Err(Error::InvalidInput(_))));
}
