//! The two layers as `tower_layer::Layer`s, so that a stack reads as a list of layers; and,
//! with the `tower` feature, the layered transports as `tower::Service`s.

use crate::{RateLimitConfig, RateLimited, RetryPolicy, Retrying};
use spoki_transport::Transport;

/// Wraps a transport in [`RateLimited`]. Every transport it wraps shares the config's store,
/// so budgets hold across them.
#[derive(Debug, Clone, Default)]
pub struct RateLimitLayer {
    config: RateLimitConfig,
}

impl RateLimitLayer {
    /// A layer with `config`.
    pub fn new(config: RateLimitConfig) -> RateLimitLayer {
        RateLimitLayer { config }
    }
}

impl<T: Transport> tower_layer::Layer<T> for RateLimitLayer {
    type Service = RateLimited<T>;

    fn layer(&self, inner: T) -> RateLimited<T> {
        RateLimited::with_config(inner, self.config.clone())
    }
}

/// Wraps a transport in [`Retrying`]. Each transport it wraps has its own retry budget.
#[derive(Debug, Clone, Default)]
pub struct RetryLayer {
    policy: RetryPolicy,
}

impl RetryLayer {
    /// A layer with `policy`.
    pub fn new(policy: RetryPolicy) -> RetryLayer {
        RetryLayer { policy }
    }
}

impl<T: Transport> tower_layer::Layer<T> for RetryLayer {
    type Service = Retrying<T>;

    fn layer(&self, inner: T) -> Retrying<T> {
        Retrying::with_policy(inner, self.policy.clone())
    }
}

#[cfg(feature = "tower")]
mod service {
    use crate::{RateLimited, Retrying};
    use spoki_transport::{HttpRequest, HttpResponse, Transport, TransportError};
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    type Answer = Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send>>;

    macro_rules! transport_service {
        ($layered:ident) => {
            /// The layered transport as a `tower::Service`; always ready, since waiting for a
            /// slot happens inside the call.
            impl<T: Transport + Clone + 'static> tower_service::Service<HttpRequest>
                for $layered<T>
            {
                type Response = HttpResponse;
                type Error = TransportError;
                type Future = Answer;

                fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), TransportError>> {
                    Poll::Ready(Ok(()))
                }

                fn call(&mut self, request: HttpRequest) -> Answer {
                    let this = self.clone();
                    Box::pin(async move { this.send(request).await })
                }
            }
        };
    }

    transport_service!(RateLimited);
    transport_service!(Retrying);
}
