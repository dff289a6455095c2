//! Planted credentials never show: not in `Debug` or `Display` of the client, its builder,
//! the requests it hands the transport, its errors, its tracing output, nor in snapshots.

mod support;

use async_trait::async_trait;
use bytes::Bytes;
use spoki_client::models::*;
use spoki_client::{
    Client, HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind,
};
use std::io::Write;
use std::sync::{Arc, Mutex};

const API_KEY: &str = "CANARY-API-KEY-7f3a";
const AUTOMATION_SECRET: &str = "CANARY-AUTOMATION-SECRET-19be";
const PRIVATE_KEY: &str = "CANARY-PRIVATE-KEY-55d0";
const TOKEN: &str = "CANARY-TOKEN-a1c4";
const CANARIES: [&str; 4] = [API_KEY, AUTOMATION_SECRET, PRIVATE_KEY, TOKEN];

fn assert_clean(what: &str, text: &str) {
    for canary in CANARIES {
        assert!(!text.contains(canary), "{what} leaks {canary}: {text}");
    }
}

/// Answers by script and keeps the `Debug` of the head (method, URI, headers) of every request
/// it was handed. The body is the wire payload, which must carry body credentials.
#[derive(Clone, Default)]
struct Spy {
    debug: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl Transport for Spy {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let head = format!(
            "{} {} {:?} {:?}",
            request.method(),
            request.uri(),
            request.headers(),
            request.extensions()
        );
        self.debug.lock().unwrap().push(head);
        let path = request.uri().path().to_owned();
        let (status, body) = match path.as_str() {
            "/api/1/auth/get_authentication_token/" => {
                (200, format!(r#"{{"token": "{TOKEN}", "uid": 5}}"#))
            }
            "/api/1/accounts/1/" => (400, format!(r#"{{"detail": "bad", "key": "{API_KEY}"}}"#)),
            "/api/1/accounts/2/" => {
                return Err(TransportError::new(TransportErrorKind::Timeout));
            }
            _ => (200, String::new()),
        };
        Ok(http::Response::builder()
            .status(status)
            .body(Bytes::from(body))
            .unwrap())
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn planted_credentials_never_show() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let builder = Client::builder()
        .api_key(API_KEY)
        .base_url("http://127.0.0.1:9");
    assert_clean("builder", &format!("{builder:?}"));
    let spy = Spy::default();
    let client = builder.transport(spy.clone()).build().unwrap();
    assert_clean("client", &format!("{client:?}"));

    // Automation start: the secret travels in the body, and nowhere else.
    let phone = Phone::parse("+393331234567").unwrap();
    let start = AutomationStart::new(AUTOMATION_SECRET, phone.clone());
    assert_clean("automation start body", &format!("{start:?}"));
    client.automations().start("u-1", &start).await.unwrap();

    // Token exchange whose answer fails to decode: the error keeps a snippet of the body.
    let token_request = AuthTokenRequest::new("svc@example.com", PRIVATE_KEY);
    assert_clean("token request", &format!("{token_request:?}"));
    let decode = client
        .embedding()
        .get_authentication_token(&token_request)
        .await
        .unwrap_err();
    assert!(matches!(decode, spoki_client::Error::Decode { .. }));

    // An API error whose body echoes a credential-like field, and a timeout.
    let api = client.accounts().get(1).await.unwrap_err();
    let timeout = client.accounts().get(2).await.unwrap_err();
    // Input rejected before sending.
    let invalid = client
        .automations()
        .start("u-1", &AutomationStart::new("", phone))
        .await
        .unwrap_err();

    for (what, err) in [
        ("decode", &decode),
        ("api", &api),
        ("timeout", &timeout),
        ("invalid", &invalid),
    ] {
        assert_clean(what, &format!("{err} | {err:?}"));
    }
    let token = AuthToken::new(TOKEN, "5");
    assert_clean("token", &format!("{token:?}"));
    let url = spoki_client::IframeUrl::new(&token, spoki_client::EmbedPage::Templates);
    assert_clean("iframe url builder", &format!("{url:?}"));
    assert_clean("iframe url", &format!("{:?} {}", url.build(), url.build()));

    let requests = spy.debug.lock().unwrap().join("\n");
    assert!(
        requests.contains("x-spoki-api-key"),
        "the header is there, its value hidden: {requests}"
    );
    assert_clean("requests handed to the transport", &requests);

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("spoki.call") && logs.contains("accounts_get"),
        "spans were recorded: {logs}"
    );
    assert_clean("tracing output", &logs);
}

#[test]
fn snapshots_hold_no_credentials() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let mut checked = 0;
    for crate_dir in std::fs::read_dir(root).unwrap() {
        let dir = crate_dir.unwrap().path().join("tests/snapshots");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for planted in ["canary-automation-secret", "canary-private-key"] {
                assert!(
                    !text.contains(planted),
                    "a snapshot in {} holds {planted}",
                    dir.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 10, "the model snapshots were found");
}
