//! Per-request overhead of each layer over the bare reqwest transport, against the local Spoki
//! (`spoki-mock`) on 127.0.0.1.
//!
//! Run: `cargo bench -p spoki-tests --bench overhead` (release profile). Set
//! `SPOKI_BENCH_REQUESTS` to change the number of requests per configuration (default 20000).

use bytes::Bytes;
use spoki_client::{CredentialId, RequestContext, ReqwestTransport, Transport};
use spoki_middleware::{ClassQuota, Jitter, RateLimitConfig, RateLimited, RetryPolicy, Retrying};
use spoki_mock::{MockSpoki, RateLimits};
use spoki_models::operation::{self, RateClass};
use std::time::{Duration, Instant};

/// An account GET with the demo agency key.
struct Target {
    url: String,
    key: String,
}

/// Answers 200 at once: isolates the layers' own cost from the network's.
struct Noop;

#[async_trait::async_trait]
impl Transport for Noop {
    async fn send(
        &self,
        _request: spoki_client::HttpRequest,
    ) -> Result<spoki_client::HttpResponse, spoki_client::TransportError> {
        Ok(http::Response::new(Bytes::new()))
    }
}

async fn run_noop(name: &str, transport: &dyn Transport, n: usize) -> f64 {
    let context = RequestContext {
        operation: &operation::ACCOUNTS_GET,
        credential: CredentialId::of("bench-key"),
    };
    let start = Instant::now();
    for _ in 0..n {
        let request = http::Request::builder()
            .uri("http://127.0.0.1/api/1/accounts/42/")
            .extension(context)
            .body(Bytes::new())
            .unwrap();
        transport.send(request).await.unwrap();
    }
    let per_request = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("{name:<28} {per_request:>8.3} µs/request");
    per_request
}

async fn run(name: &str, transport: &dyn Transport, target: &Target, n: usize) -> f64 {
    let context = RequestContext {
        operation: &operation::ACCOUNTS_GET,
        credential: CredentialId::of("bench-key"),
    };
    let build = || {
        http::Request::builder()
            .uri(target.url.as_str())
            .header("x-spoki-api-key", target.key.as_str())
            .extension(context)
            .body(Bytes::new())
            .unwrap()
    };
    for _ in 0..500 {
        transport.send(build()).await.unwrap();
    }
    let start = Instant::now();
    for _ in 0..n {
        let response = transport.send(build()).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let per_request = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("{name:<28} {per_request:>8.2} µs/request");
    per_request
}

fn reqwest() -> ReqwestTransport {
    ReqwestTransport::new(
        Duration::from_secs(1),
        Duration::from_secs(5),
        "spoki-bench",
    )
    .unwrap()
}

fn huge_quota() -> RateLimitConfig {
    RateLimitConfig::default()
        .quota(
            RateClass::Default,
            ClassQuota::new(1_000_000_000, Duration::from_secs(1)),
        )
        .jitter(Duration::ZERO, Jitter::zero())
}

fn main() {
    let n = std::env::var("SPOKI_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000usize);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mock = MockSpoki::builder()
            .rate_limits(RateLimits::off())
            .start()
            .await
            .unwrap();
        let f = mock.fixtures();
        let server = Target {
            url: format!("{}/api/1/accounts/{}/", mock.url(), f.client_account_id),
            key: f.agency_api_key,
        };
        println!("{n} sequential GETs per configuration, keep-alive, 127.0.0.1");
        let bare = run("bare ReqwestTransport", &reqwest(), &server, n).await;
        let limited = RateLimited::with_config(reqwest(), huge_quota());
        let rl = run("+ RateLimited", &limited, &server, n).await;
        let retrying = Retrying::with_policy(reqwest(), RetryPolicy::default());
        let rt = run("+ Retrying", &retrying, &server, n).await;
        let both = Retrying::with_policy(
            RateLimited::with_config(reqwest(), huge_quota()),
            RetryPolicy::default(),
        );
        let bt = run("+ Retrying + RateLimited", &both, &server, n).await;
        let bare2 = run("bare ReqwestTransport (again)", &reqwest(), &server, n).await;
        let base = (bare + bare2) / 2.0;
        println!();
        println!("overhead vs bare (mean of the two bare runs, {base:.2} µs):");
        for (name, t) in [("RateLimited", rl), ("Retrying", rt), ("both", bt)] {
            println!(
                "  {name:<12} {:>+7.2} µs/request ({:>+5.1} %)",
                t - base,
                (t - base) / base * 100.0
            );
        }
        let m = n * 10;
        println!();
        println!(
            "{m} calls per configuration over an in-process no-op transport (layer cost only)"
        );
        let bare = run_noop("bare no-op", &Noop, m).await;
        let rl = run_noop(
            "+ RateLimited",
            &RateLimited::with_config(Noop, huge_quota()),
            m,
        )
        .await;
        let rt = run_noop(
            "+ Retrying",
            &Retrying::with_policy(Noop, RetryPolicy::default()),
            m,
        )
        .await;
        let both = Retrying::with_policy(
            RateLimited::with_config(Noop, huge_quota()),
            RetryPolicy::default(),
        );
        let bt = run_noop("+ Retrying + RateLimited", &both, m).await;
        for (name, t) in [("RateLimited", rl), ("Retrying", rt), ("both", bt)] {
            println!("  {name:<12} {:>+7.3} µs/request", t - bare);
        }
    });
}
