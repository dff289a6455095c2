//! What many test binaries of this crate build the same way: a local Spoki and clients of it.
//! Each binary includes this module and uses a part of it.
#![allow(dead_code)]

use spoki_client::{Client, ReqwestTransport};
use spoki_middleware::{RateLimitConfig, RateLimited, RetryPolicy, Retrying};
use spoki_mock::{MockSpoki, RateLimits};
use std::time::Duration;

/// A local Spoki that enforces no rate limits, so that pacing never slows a test down.
pub async fn quiet_mock() -> MockSpoki {
    MockSpoki::builder()
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap()
}

/// A client without the middleware: every answer of the local Spoki reaches the test as is.
pub fn bare(mock: &MockSpoki, key: &str) -> Client {
    Client::builder()
        .base_url(mock.url())
        .api_key(key)
        .without_rate_limits()
        .without_retries()
        .build()
        .unwrap()
}

/// A client behind both layers with short backoffs, and without pacing per recipient (the
/// tests that need it turn it on).
pub fn stacked(mock: &MockSpoki, key: &str) -> Client {
    let transport =
        ReqwestTransport::new(Duration::from_secs(2), Duration::from_secs(10), "tests").unwrap();
    let limits = RateLimitConfig::default().pair_rate(None);
    let policy =
        RetryPolicy::default().backoff(Duration::from_millis(10), Duration::from_millis(50));
    Client::builder()
        .base_url(mock.url())
        .api_key(key)
        .transport(Retrying::with_policy(
            RateLimited::with_config(transport, limits),
            policy,
        ))
        .build()
        .unwrap()
}

/// One request to the local Spoki without the client: its status, its JSON body (null when
/// it is not JSON) and its `Retry-After`.
pub async fn raw(
    mock: &MockSpoki,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value, Option<String>) {
    let http = reqwest::Client::new();
    let mut request = http.request(method.parse().unwrap(), format!("{}{path}", mock.url()));
    if let Some(key) = key {
        request = request.header("X-Spoki-Api-Key", key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_default(),
        retry_after,
    )
}
