//! The `mock` feature's mockall `MockTransport`, as a downstream crate would use it.

#![cfg(feature = "mock")]

use bytes::Bytes;
use spoki_client::models::{Phone, SendText};
use spoki_client::{Client, MockTransport};

#[tokio::test]
async fn a_downstream_test_can_script_the_transport() {
    let mut transport = MockTransport::new();
    transport
        .expect_send()
        .withf(|request| {
            request.uri().path() == "/api/1/messages/send/" && request.method() == "POST"
        })
        .times(1)
        .returning(|_| {
            Ok(http::Response::builder()
                .status(200)
                .body(Bytes::from(r#"{"uuid": "m-1"}"#))
                .unwrap())
        });
    let client = Client::builder()
        .api_key("k")
        .transport(transport)
        .build()
        .unwrap();
    let sent = client
        .messages()
        .send_text(&SendText::new(
            Phone::parse("+393331234567").unwrap(),
            "Ciao",
        ))
        .await
        .unwrap();
    assert_eq!(sent.uuid.as_deref(), Some("m-1"));
}
