//! The built-in reqwest transport against the local Spoki and raw sockets on 127.0.0.1: how
//! each answer and failure is reported.

use spoki_client::models::ContactListCreate;
use spoki_client::{Client, Error, ReqwestTransport, TransportErrorKind};
use spoki_mock::MockSpoki;
use spoki_mock::OperationId;
use std::time::Duration;

#[tokio::test]
async fn answers_and_statuses_come_through() {
    let spoki = MockSpoki::start().await;
    let client = Client::builder()
        .base_url(spoki.url())
        .api_key(spoki.fixtures().client_api_key.as_str())
        .build()
        .unwrap();
    let created = client
        .lists()
        .create(&ContactListCreate::new("VIP"))
        .await
        .unwrap();
    let list = client.lists().get(created.id).await.unwrap();
    assert_eq!(list.name.as_deref(), Some("VIP"));
    let received = spoki.received();
    assert_eq!(received[1].path, format!("/api/1/lists/{}/", created.id));
    assert_eq!(received[1].headers["x-spoki-api-key"], "[REDACTED]");
    assert_eq!(
        received[1].headers["user-agent"],
        spoki_client::DEFAULT_USER_AGENT
    );
    let missing = client.lists().get(created.id + 1000).await.unwrap_err();
    assert_eq!(missing.status(), Some(404));
}

#[tokio::test]
async fn a_refused_connection_never_reached_the_server() {
    // Bind then drop a listener: the port is closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .api_key("k")
        .build()
        .unwrap();
    let err = client.accounts().get(1).await.unwrap_err();
    let Error::Transport { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(source.kind(), TransportErrorKind::Connect);
    assert!(!err.outcome_unknown());
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout_with_unknown_outcome() {
    let spoki = MockSpoki::start().await;
    spoki.inbound("+393331234567", "ciao").unwrap();
    spoki
        .fault(
            OperationId::MessagesSendText,
            spoki_mock::Fault::Delay { ms: 2_000 },
            1,
        )
        .unwrap();
    let url = spoki.url();
    let key = spoki.fixtures().client_api_key;
    let client = Client::builder()
        .base_url(url)
        .api_key(key.as_str())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client
        .messages()
        .send_text(&spoki_client::models::SendText::new(
            spoki_client::models::Phone::parse("+393331234567").unwrap(),
            "hi",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.outcome_unknown());
    assert!(
        !err.is_retryable(),
        "a send that may have gone out is not blindly retryable"
    );
}

/// That the user's `reqwest::Client` is the one that sends is shown in `hardening.rs`, by a
/// default header only that client adds.
#[test]
fn a_transport_over_a_users_client_prints_as_one() {
    let transport = ReqwestTransport::from_client(reqwest::Client::new());
    assert!(format!("{transport:?}").contains("ReqwestTransport"));
}
