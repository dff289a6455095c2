//! What one rate-limit decision costs: the in-process store against the Redis store, on a real
//! `redis-server` on 127.0.0.1 (started by the bench; it must be installed).
//!
//! Run: `cargo bench -p spoki-middleware --features redis --bench store_latency`.

use spoki_client::CredentialId;
use spoki_middleware::shared::RedisStore;
use spoki_middleware::{Budget, ClassQuota, LimitStore, LocalStore, Slot};
use std::time::{Duration, Instant};

async fn measure(name: &str, store: &dyn LimitStore, n: usize) -> Vec<Duration> {
    let budget = Budget {
        credential: CredentialId::of("bench-key"),
        scope: "/api/1/templates/",
        recipient: None,
    };
    // A quota no run can exhaust: every decision admits.
    let quota = ClassQuota::new(1_000_000_000, Duration::from_secs(1));
    for _ in 0..n / 10 {
        store.acquire(budget, quota, true).await.unwrap();
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let slot = store.acquire(budget, quota, true).await.unwrap();
        samples.push(started.elapsed());
        assert_eq!(slot, Slot::Now);
    }
    samples.sort_unstable();
    let mean = samples.iter().sum::<Duration>() / n as u32;
    println!(
        "{name:<8} mean {:>8.2} µs   p50 {:>8.2} µs   p99 {:>8.2} µs",
        mean.as_secs_f64() * 1e6,
        samples[n / 2].as_secs_f64() * 1e6,
        samples[n * 99 / 100].as_secs_f64() * 1e6,
    );
    samples
}

fn main() {
    let n = 20_000;
    let redis = spoki_mock::RedisServer::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!("{n} decisions per store, one budget, sequential");
        measure("local", &LocalStore::new(), n).await;
        let store = RedisStore::open(&redis.url()).unwrap().prefix("bench");
        measure("redis", &store, n).await;
        measure("local", &LocalStore::new(), n).await;
        measure("redis", &store, n).await;
    });
}
