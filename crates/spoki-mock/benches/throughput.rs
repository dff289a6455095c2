//! How many requests per second the local Spoki serves on loopback, and at what latency.
//!
//! Run: `cargo bench -p spoki-mock --bench throughput`. The mock runs on its own two-thread
//! runtime and the load on another, so both share the machine's cores, as they do when a test
//! suite drives the mock. `SPOKI_BENCH_SECONDS` sets the length of each run (default 5).

use serde_json::json;
use spoki_mock::{MockSpoki, RateLimits};
use std::time::{Duration, Instant};

struct Run {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn percentile(&self, p: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }
}

/// `connections` clients, each sending its next request when the last one is answered.
async fn load(
    connections: usize,
    seconds: u64,
    request: impl Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Clone + Send + 'static,
) -> Run {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|worker| {
            let request = request.clone();
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut latencies = Vec::new();
                let mut i = 0;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let response = request(&http, worker * 1_000_000 + i).send().await.unwrap();
                    assert!(response.status().is_success(), "{}", response.status());
                    response.bytes().await.unwrap();
                    latencies.push(sent.elapsed());
                    i += 1;
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Run {
        requests: latencies.len(),
        elapsed,
        latencies,
    }
}

fn main() {
    let seconds = std::env::var("SPOKI_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mock = server.block_on(async {
        MockSpoki::builder()
            .rate_limits(RateLimits::off())
            .start()
            .await
            .unwrap()
    });
    let f = mock.fixtures();
    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let account = format!("{}/api/1/accounts/{}/", mock.url(), f.client_account_id);
    let sync = format!("{}/api/1/contacts/sync/", mock.url());
    println!(
        "{seconds} s per run, keep-alive connections, 127.0.0.1, 2 cores shared by both sides"
    );
    println!(
        "{:<34} {:>6} {:>10} {:>9} {:>9}",
        "workload", "conns", "req/s", "p50", "p99"
    );
    for connections in [1, 8, 32] {
        let (url, key) = (account.clone(), f.agency_api_key.clone());
        let run = clients.block_on(load(connections, seconds, move |http, _| {
            http.get(&url).header("X-Spoki-Api-Key", &key)
        }));
        report("GET account", connections, &run);
    }
    for connections in [1, 8, 32] {
        let (url, key) = (sync.clone(), f.client_api_key.clone());
        let run = clients.block_on(load(connections, seconds, move |http, i| {
            http.post(&url).header("X-Spoki-Api-Key", &key).json(
                &json!({"phone": format!("+3934{:08}", i % 100_000_000), "first_name": "Bench"}),
            )
        }));
        report("POST contacts/sync (writes state)", connections, &run);
    }
    drop(mock);
}

fn report(name: &str, connections: usize, run: &Run) {
    println!(
        "{name:<34} {connections:>6} {:>10.0} {:>7.0}µs {:>7.0}µs",
        run.requests as f64 / run.elapsed.as_secs_f64(),
        run.percentile(0.50).as_secs_f64() * 1e6,
        run.percentile(0.99).as_secs_f64() * 1e6,
    );
}
