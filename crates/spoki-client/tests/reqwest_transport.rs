//! The built-in reqwest transport against servers on 127.0.0.1: how each failure is reported.

mod support;

use spoki_client::{Client, Error, ReqwestTransport, TransportErrorKind};
use std::time::Duration;
use support::server::Server;

#[tokio::test]
async fn answers_and_statuses_come_through() {
    let server = Server::start(|r| {
        (
            200,
            vec![("x-echo".into(), r.method.clone())],
            r#"{"id": 3, "name": "VIP"}"#.into(),
        )
    })
    .await;
    let client = Client::builder()
        .base_url(&server.url)
        .api_key("k")
        .build()
        .unwrap();
    let list = client.lists().get(3).await.unwrap();
    assert_eq!((list.id, list.name.as_deref()), (3, Some("VIP")));
    let received = server.received();
    assert_eq!(received[0].target, "/api/1/lists/3/");
    assert_eq!(received[0].header("x-spoki-api-key"), Some("k"));
    assert_eq!(
        received[0].header("user-agent"),
        Some(spoki_client::DEFAULT_USER_AGENT)
    );
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Accepts and reads, never answers.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let client = Client::builder()
        .base_url(url)
        .api_key("k")
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

#[tokio::test]
async fn a_user_supplied_reqwest_client_is_used() {
    let server = Server::start(|_| (200, vec![], "[]".into())).await;
    let http = reqwest::Client::builder()
        .user_agent("my-crm/2.0")
        .build()
        .unwrap();
    let client = Client::builder()
        .base_url(&server.url)
        .api_key("k")
        .reqwest_client(http)
        .build()
        .unwrap();
    let page = client.accounts().list().send().await.unwrap();
    assert!(page.results.is_empty());
    // The client's own user agent header wins over the reqwest default.
    assert!(server.received()[0].header("user-agent").is_some());
    let transport = ReqwestTransport::from_client(reqwest::Client::new());
    assert!(format!("{transport:?}").contains("ReqwestTransport"));
}
