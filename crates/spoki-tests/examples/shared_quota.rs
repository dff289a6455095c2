//! Several workers with one API key, paced together through Redis, against a Spoki with a
//! quota. Ends with one JSON line: requests answered, 429s met, and utilization (requests over
//! what the quota allows in the run).
//!
//! ```text
//! redis-server --port 6390 --save '' &
//! cargo run --release -p spoki-mock -- --port 8099 --quota default=20/1 &
//! cargo run --release -p spoki-middleware --features redis --example shared_quota -- \
//!     --workers 4 --redis redis://127.0.0.1:6390 --base-url http://127.0.0.1:8099 \
//!     --api-key demo-client-api-key --seconds 20 --quota 20/1
//! ```
//!
//! `--store local` paces each worker alone instead, to compare.

use clap::{Parser, ValueEnum};
use spoki_client::{Client, Error, ReqwestTransport};
use spoki_middleware::shared::{Fallback, RedisStore};
use spoki_middleware::{ClassQuota, Jitter, LocalStore, RateLimitConfig, RateLimited};
use spoki_models::RateClass;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Workers sharing the key.
    #[arg(long, default_value_t = 4)]
    workers: u32,
    /// The Redis they share.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// Spoki (or the local Spoki).
    #[arg(long)]
    base_url: String,
    /// The API key every worker uses.
    #[arg(long, env = "SPOKI_API_KEY", hide_env_values = true)]
    api_key: String,
    /// How long to run.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// The server's quota for the calls made (templates list, the `default` class), as
    /// REQUESTS/SECONDS; the spec's when absent.
    #[arg(long)]
    quota: Option<String>,
    /// Where the budgets live.
    #[arg(long, value_enum, default_value_t = Store::Redis)]
    store: Store,
}

#[derive(Clone, Copy, ValueEnum)]
enum Store {
    /// One budget in Redis for every worker.
    Redis,
    /// Each worker paces alone.
    Local,
}

/// Paces 2 % under the server's quota, so that network jitter cannot put one request too many
/// into a window.
const MARGIN: f64 = 1.02;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let (requests, period) = match &args.quota {
        Some(text) => {
            let (n, s) = text.split_once('/').ok_or("--quota is REQUESTS/SECONDS")?;
            (
                n.parse::<u32>()?,
                Duration::from_secs_f64(s.parse::<f64>()?),
            )
        }
        None => (RateClass::Default.requests(), RateClass::Default.period()),
    };
    let quota = ClassQuota::new(requests, period.mul_f64(MARGIN));
    let answered = Arc::new(AtomicU64::new(0));
    let throttled = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for _ in 0..args.workers {
        // Redis spreads the workers already; a little jitter is enough.
        let config = RateLimitConfig::default()
            .quota(RateClass::Default, quota)
            .jitter(Duration::from_millis(2), Jitter::full());
        let config = match args.store {
            Store::Redis => config.store(
                RedisStore::open(&args.redis)?
                    .prefix("spoki-shared-quota-example")
                    .fallback(Fallback::Local {
                        workers: args.workers,
                    }),
            ),
            Store::Local => config.store(LocalStore::new()),
        };
        let transport = ReqwestTransport::new(
            Duration::from_secs(3),
            Duration::from_secs(30),
            "spoki-shared-quota-example",
        )?;
        let client = Client::builder()
            .base_url(&args.base_url)
            .api_key(args.api_key.as_str())
            .transport(RateLimited::with_config(transport, config))
            .build()?;
        let (answered, throttled, failed) = (answered.clone(), throttled.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                match client.templates().list().send().await {
                    Ok(_) => answered.fetch_add(1, Ordering::Relaxed),
                    Err(Error::RateLimited {
                        client_side: false, ..
                    }) => throttled.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        eprintln!("shared_quota: {e}");
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let capacity = f64::from(requests) * seconds / period.as_secs_f64();
    let (answered, throttled) = (
        answered.load(Ordering::Relaxed),
        throttled.load(Ordering::Relaxed),
    );
    // Every request that reached Spoki counts as sent, the throttled ones too.
    let sent = answered + throttled;
    println!(
        "{{\"workers\": {}, \"store\": \"{}\", \"seconds\": {seconds:.1}, \"requests\": {sent}, \"throttled_429\": {throttled}, \"failed\": {}, \"utilization\": {:.3}}}",
        args.workers,
        match args.store {
            Store::Redis => "redis",
            Store::Local => "local",
        },
        failed.load(Ordering::Relaxed),
        sent as f64 / capacity
    );
    Ok(())
}
