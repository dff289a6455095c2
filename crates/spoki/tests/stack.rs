//! The layers working together through the facade: one call span per call, whose `attempt`
//! and `status` follow the retries underneath.

use async_trait::async_trait;
use bytes::Bytes;
use spoki::Client;
use spoki::client::{HttpRequest, HttpResponse, Transport, TransportError};
use spoki::middleware::{Jitter, RateLimited, RetryPolicy, Retrying};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Answers 503 to the first request and 200 afterwards.
#[derive(Default)]
struct FlakyOnce(AtomicUsize);

#[async_trait]
impl Transport for FlakyOnce {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        let status = if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
            503
        } else {
            200
        };
        Ok(http::Response::builder()
            .status(status)
            .body(Bytes::from_static(br#"{"id": 101}"#))
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
async fn the_call_span_records_the_attempt_and_final_status() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let policy = RetryPolicy::default()
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .jitter(Jitter::max());
    let stack = Retrying::with_policy(RateLimited::new(FlakyOnce::default()), policy);
    let client = Client::builder()
        .api_key("CANARY-KEY-123")
        .transport(stack)
        .build()
        .unwrap();
    let account = client.accounts().get(101).await.unwrap();
    assert_eq!(account.id, 101);

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let answered = logs
        .lines()
        .find(|l| l.contains("answered"))
        .unwrap_or_else(|| panic!("{logs}"));
    for field in [
        "spoki.call",
        "operation=\"accounts_get\"",
        "method=\"GET\"",
        "path=\"/api/1/accounts/{id}/\"",
        "attempt=2",
        "status=200",
    ] {
        assert!(answered.contains(field), "{field} missing from: {answered}");
    }
    assert!(!logs.contains("CANARY-KEY-123"));
}
