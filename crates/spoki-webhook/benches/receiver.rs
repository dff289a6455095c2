//! What the receiver costs per delivery (cap, verify, decode, dedupe, dispatch), beside the
//! bare path of the same body: an HMAC-SHA256 check with the `hmac` crate and a serde parse of
//! the envelope with its data as a `serde_json::Value`. Both are handed what a server hands
//! them (raw bytes; a request with its headers), built before the clock starts.
//!
//! Run: `cargo bench -p spoki-webhook --bench receiver` (release profile). The two paths
//! alternate over 9 rounds of `SPOKI_BENCH_DELIVERIES` deliveries each (default 20000), every
//! delivery a distinct event; the medians and their ratio are printed.

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use sha2::Sha256;
use spoki_models::{Secret, WebhookDelivery};
use spoki_webhook::{BoxError, Delivery, MemoryDedupe, Receiver, WebhookVerifier, sign};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const SECRET: &str = "whsec_bench-secret";

/// A realistic `message.outbound` delivery, as the mock and third-party fixtures write it.
fn body(n: usize) -> String {
    format!(
        r#"{{"version":2,"event":"message.outbound","event_uuid":"0b8e6a3c-5f1d-4c2a-9e7b-{n:012}","timestamp":1721037900.5,"account_id":101,"data":{{"uuid":"7c1f1f2e-aaaa-4bbb-8ccc-{n:012}","send_status":"Delivered","to_phone":"393331234567","from_phone":"390212345678","sent_datetime":"2024-07-15T10:05:00Z","created_at":"2024-07-15T10:05:00Z","direction":"outbound","content_type":"template","template":{{"id":7001}},"chat_uuid":"8d1c2b3a-0000-4000-8000-000000000501"}}}}"#
    )
}

struct Signed {
    header: String,
    body: Bytes,
}

fn bare(deliveries: &[Signed], secret: &[u8]) -> f64 {
    let start = Instant::now();
    for d in deliveries {
        let (t, hex_sig) = d.header[2..].split_once(",v2=").unwrap();
        let mut expected = [0u8; 32];
        hex::decode_to_slice(hex_sig, &mut expected).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(t.as_bytes());
        mac.update(b".");
        mac.update(&d.body);
        mac.verify_slice(&expected).unwrap();
        let parsed: WebhookDelivery = serde_json::from_slice(&d.body).unwrap();
        black_box(parsed);
    }
    start.elapsed().as_secs_f64() * 1e6 / deliveries.len() as f64
}

async fn receiver(deliveries: &[Signed]) -> f64 {
    let handler = |d: Arc<Delivery>| async move {
        black_box(&d);
        Ok::<(), BoxError>(())
    };
    let verifier = WebhookVerifier::new(Secret::new(SECRET)).unwrap();
    let receiver = Receiver::with_store(
        verifier,
        handler,
        MemoryDedupe::new().capacity(deliveries.len()),
    );
    // The requests as the server hands them over, built before the clock starts: the bare
    // path is handed its bytes too.
    let requests: Vec<_> = deliveries
        .iter()
        .map(|d| {
            http::Request::post("/hooks")
                .header("x-spoki-signature", d.header.as_str())
                .header("content-length", d.body.len())
                .body(Full::new(d.body.clone()))
                .unwrap()
        })
        .collect();
    let start = Instant::now();
    for request in requests {
        let outcome = receiver.receive(request).await;
        assert_eq!(outcome.status(), 200);
    }
    start.elapsed().as_secs_f64() * 1e6 / deliveries.len() as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::var("SPOKI_BENCH_DELIVERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let secret = Secret::new(SECRET);
    let deliveries: Vec<Signed> = (0..n)
        .map(|i| {
            let body = body(i);
            Signed {
                header: sign(&secret, now, body.as_bytes()),
                body: Bytes::from(body),
            }
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (mut bare_runs, mut receiver_runs) = (Vec::new(), Vec::new());
    for _ in 0..9 {
        bare_runs.push(bare(&deliveries, SECRET.as_bytes()));
        receiver_runs.push(runtime.block_on(receiver(&deliveries)));
    }
    let (b, r) = (median(bare_runs), median(receiver_runs));
    println!(
        "{n} deliveries of {} bytes, medians of 9 alternating rounds",
        deliveries[0].body.len()
    );
    println!("bare HMAC check + serde parse   {b:>7.3} µs/delivery");
    println!("Receiver (memory dedupe)        {r:>7.3} µs/delivery");
    println!("ratio                           {:>7.2}×", r / b);
}
