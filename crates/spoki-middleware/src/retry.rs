//! The retry layer.

use crate::classify::{Attempt, AttemptOutcome, Decision, RetryBudget, RetryPolicy, StopReason};
use async_trait::async_trait;
use spoki_models::ErrorKind;
use spoki_models::error_kind::code_of_body;
use spoki_transport::retry_after::parse_retry_after;
use spoki_transport::{HttpRequest, HttpResponse, RequestContext, Transport, TransportError};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::time::Instant;

/// A [`Transport`] that sends a request again when [`RetryPolicy::decide`] says it is safe
/// and useful, and the shared retry budget allows it.
///
/// Non-idempotent calls (message sends, automation starts, syncs, creates) are sent again only
/// when the request provably did not reach the server (connect error, client-side throttling,
/// 429), so they reach the server at most once. Waits use `tokio::time::sleep`.
#[derive(Debug, Clone)]
pub struct Retrying<T> {
    inner: T,
    policy: Arc<RetryPolicy>,
    tokens: Arc<Mutex<u32>>,
}

impl<T: Transport> Retrying<T> {
    /// Wraps `inner` with the default [`RetryPolicy`].
    pub fn new(inner: T) -> Self {
        Retrying::with_policy(inner, RetryPolicy::default())
    }

    /// Wraps `inner` with `policy`.
    pub fn with_policy(inner: T, policy: RetryPolicy) -> Self {
        let tokens = Arc::new(Mutex::new(policy.budget.capacity));
        Retrying {
            inner,
            policy: Arc::new(policy),
            tokens,
        }
    }

    /// The policy in use.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Tokens left in the retry budget.
    pub fn budget_remaining(&self) -> u32 {
        *self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    fn withdraw(&self, cost: u32) -> bool {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if *tokens >= cost {
            *tokens -= cost;
            true
        } else {
            false
        }
    }

    fn refund(&self, budget: &RetryBudget) {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        *tokens = tokens
            .saturating_add(budget.success_refund)
            .min(budget.capacity);
    }
}

fn replay(request: &HttpRequest) -> HttpRequest {
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    *copy.extensions_mut() = request.extensions().clone();
    copy
}

#[async_trait]
impl<T: Transport> Transport for Retrying<T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let context = RequestContext::of(&request).copied();
        let operation = context.map_or("<no context>", |c| c.operation.id.as_str());
        let idempotent = context.map(|c| c.operation.idempotent);
        let policy = &*self.policy;
        let start = Instant::now();
        let mut attempt = 1u32;
        let method = request.method().clone();
        loop {
            // Bodies are `Bytes`: a copy shares the buffer.
            let result = self.inner.send(replay(&request)).await;
            let (outcome, retry_after) = match &result {
                Ok(response) => {
                    if response.status().is_success() {
                        self.refund(&policy.budget);
                    }
                    let wait = parse_retry_after(response.headers(), SystemTime::now());
                    let status = response.status().as_u16();
                    // An error answer's code may change the answer (a pair-rate refusal).
                    let kind = (status >= 400)
                        .then(|| code_of_body(response.body()))
                        .flatten()
                        .map(|code| ErrorKind::of(status, Some(&code)));
                    (AttemptOutcome::answer(status, kind), wait)
                }
                Err(error) => (AttemptOutcome::Transport(error.kind()), error.retry_after()),
            };
            let decision = policy.decide(&Attempt {
                method: &method,
                idempotent,
                outcome,
                retry_after,
                attempt,
                deadline_remaining: policy.deadline.map(|d| d.saturating_sub(start.elapsed())),
            });
            match decision {
                Decision::Stop(reason) => {
                    if attempt > 1 || !matches!(reason, StopReason::FinalStatus(_)) {
                        tracing::debug!(operation, attempt, %reason, "retry: stop");
                    }
                    return result;
                }
                Decision::Retry { after, reason } => {
                    let cost = match reason {
                        crate::RetryReason::ThrottledByClient => 0,
                        r if r.is_timeout_like() => policy.budget.timeout_cost,
                        _ => policy.budget.retry_cost,
                    };
                    if !self.withdraw(cost) {
                        tracing::debug!(
                            operation,
                            attempt,
                            reason = %StopReason::BudgetExhausted,
                            "retry: stop"
                        );
                        return result;
                    }
                    tracing::debug!(
                        operation,
                        attempt,
                        ?reason,
                        delay_ms = after.as_millis() as u64,
                        "retry: again"
                    );
                    drop(result);
                    tokio::time::sleep(after).await;
                    attempt += 1;
                    // The client's call span has an `attempt` field; keep it current.
                    tracing::Span::current().record("attempt", attempt);
                }
            }
        }
    }
}
