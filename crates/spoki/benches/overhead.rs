//! What the SDK costs over bare reqwest + serde, side by side against one local Spoki.
//!
//! Run: `cargo bench -p spoki --bench overhead`. Three ways to read the same account, each
//! decoding into `spoki::models::Account`:
//!
//! - bare: a `reqwest::Client` GET with the headers the SDK sends (key, `Accept`,
//!   `User-Agent`: the server's work is then the same), then `serde_json::from_slice`;
//! - typed: `client.accounts().get(id)` on a client without the middleware;
//! - stack: the same call on a default client, paced and retried (with a quota too large to
//!   make it wait: the cost measured is the layers', not the pacing's).
//!
//! Rounds interleave the three (in a rotating order) so that drift on a shared machine hits
//! them alike; each round times `SPOKI_BENCH_REQUESTS` sequential calls (default 500) per way.
//! The times are medians over `SPOKI_BENCH_ROUNDS` rounds (default 30); the ratios are medians
//! of each round's ratios, which cancels the drift between rounds.

use spoki::Client;
use spoki::middleware::{ClassQuota, RateLimitConfig};
use spoki::models::{Account, RateClass};
use spoki_mock::{MockSpoki, RateLimits};
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let n = env("SPOKI_BENCH_REQUESTS", 500);
    let rounds = env("SPOKI_BENCH_ROUNDS", 30);
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let url = format!("{}/api/1/accounts/{}/", mock.url(), f.client_account_id);
        let bare = reqwest::Client::new();
        let typed = Client::builder()
            .base_url(mock.url())
            .api_key(f.agency_api_key.as_str())
            .without_rate_limits()
            .without_retries()
            .build()
            .unwrap();
        let limits = RateLimitConfig::default().quota(
            RateClass::Default,
            ClassQuota::new(1_000_000_000, Duration::from_secs(1)),
        );
        let stack = Client::builder()
            .base_url(mock.url())
            .api_key(f.agency_api_key.as_str())
            .rate_limits(limits)
            .build()
            .unwrap();
        let id = f.client_account_id;
        let key = f.agency_api_key.clone();

        let mut times: [Vec<f64>; 3] = Default::default();
        for round in 0..=rounds {
            for turn in 0..3 {
                let way = (round + turn) % 3;
                let started = Instant::now();
                for _ in 0..n {
                    let account: Account = match way {
                        0 => {
                            let body = bare
                                .get(&url)
                                .header("X-Spoki-Api-Key", &key)
                                .header("Accept", "application/json")
                                .header("User-Agent", spoki::client::DEFAULT_USER_AGENT)
                                .send()
                                .await
                                .unwrap()
                                .bytes()
                                .await
                                .unwrap();
                            serde_json::from_slice(&body).unwrap()
                        }
                        1 => typed.accounts().get(id).await.unwrap(),
                        _ => stack.accounts().get(id).await.unwrap(),
                    };
                    assert_eq!(account.id, id);
                }
                // Round 0 warms the connections and caches up; it is not counted.
                if round > 0 {
                    times[way].push(started.elapsed().as_secs_f64() * 1e6 / n as f64);
                }
            }
        }
        let ratio = |way: usize| {
            median(
                times[way]
                    .iter()
                    .zip(&times[0])
                    .map(|(t, b)| t / b)
                    .collect(),
            )
        };
        let (typed_ratio, stack_ratio) = (ratio(1), ratio(2));
        let [bare, typed, stack] = times.map(median);
        println!(
            "{n} sequential account GETs per way and round, median of {rounds} rounds, 127.0.0.1"
        );
        println!("bare reqwest + serde   {bare:>8.1} µs/request");
        println!("typed call             {typed:>8.1} µs/request   {typed_ratio:.3}x bare");
        println!("default stack          {stack:>8.1} µs/request   {stack_ratio:.3}x bare");
    });
}
