//! The latency a Redis dedupe store adds to each webhook delivery, beside the in-memory one,
//! against a real `redis-server` on 127.0.0.1.
//!
//! Run: `cargo bench -p spoki --bench webhook_dedupe --features redis`. Deliveries go one at a
//! time, as one connection from Spoki sends them; 5 alternating rounds of
//! `SPOKI_BENCH_DELIVERIES` (default 5000) distinct events each; medians printed.

use spoki::Secret;
use spoki::webhook::{
    BoxError, DedupeStore, Delivery, MemoryDedupe, Receiver, RedisDedupe, WebhookVerifier, sign,
};
use spoki_mock::RedisServer;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const SECRET: &str = "whsec_bench";

fn requests(round: usize, n: usize) -> Vec<http::Request<String>> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    (0..n)
        .map(|i| {
            let body = format!(
                r#"{{"version":2,"event":"message.inbound","event_uuid":"r{round}-{i}","account_id":101,"data":{{"from_phone":"393331234567","text":"Ciao"}}}}"#
            );
            http::Request::post("/hooks")
                .header(
                    "x-spoki-signature",
                    sign(&Secret::new(SECRET), now, body.as_bytes()),
                )
                .body(body)
                .unwrap()
        })
        .collect()
}

async fn time<S: DedupeStore>(store: S, requests: Vec<http::Request<String>>) -> f64 {
    let handler = |_: Arc<Delivery>| async { Ok::<(), BoxError>(()) };
    let verifier = WebhookVerifier::new(Secret::new(SECRET)).unwrap();
    let receiver = Receiver::with_store(verifier, handler, store);
    let n = requests.len();
    let start = Instant::now();
    for request in requests {
        assert_eq!(receiver.receive(request).await.status(), 200);
    }
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: usize = std::env::var("SPOKI_BENCH_DELIVERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let redis = RedisServer::start();
    let store = RedisDedupe::open(&redis.url()).await.unwrap();
    let (mut memory, mut shared) = (Vec::new(), Vec::new());
    for round in 0..5 {
        memory.push(time(MemoryDedupe::new(), requests(2 * round, n)).await);
        shared.push(time(store.clone(), requests(2 * round + 1, n)).await);
    }
    let (m, r) = (median(memory), median(shared));
    println!("{n} deliveries one at a time, medians of 5 alternating rounds");
    println!("memory dedupe   {m:>8.2} µs/delivery");
    println!("Redis dedupe    {r:>8.2} µs/delivery (claim + finish: two round trips)");
    println!("added by Redis  {:>8.2} µs/delivery", r - m);
}
