//! A time limit on each attempt, for transports that have none of their own.

use async_trait::async_trait;
use spoki_transport::{HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind};
use std::time::Duration;

/// Fails an attempt that gets no answer within `limit` with a
/// [`Timeout`](TransportErrorKind::Timeout) error (the request may have been sent, so a send is
/// not retried). Put it under [`Retrying`](crate::Retrying), so that the limit is per attempt.
#[derive(Debug, Clone)]
pub struct Timeout<T> {
    inner: T,
    limit: Duration,
}

impl<T> Timeout<T> {
    /// `inner` with each attempt bounded by `limit`.
    pub fn new(inner: T, limit: Duration) -> Timeout<T> {
        Timeout { inner, limit }
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

#[async_trait]
impl<T: Transport> Transport for Timeout<T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        match tokio::time::timeout(self.limit, self.inner.send(request)).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::new(TransportErrorKind::Timeout)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    struct Slow(Duration);

    #[async_trait]
    impl Transport for Slow {
        async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
            tokio::time::sleep(self.0).await;
            Ok(http::Response::new(Bytes::new()))
        }
    }

    fn request() -> HttpRequest {
        http::Request::new(Bytes::new())
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_past_the_limit_is_a_timeout_and_one_within_it_passes() {
        let slow = Timeout::new(Slow(Duration::from_secs(10)), Duration::from_secs(5));
        let error = slow.send(request()).await.unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Timeout);
        let quick = Timeout::new(Slow(Duration::from_secs(1)), Duration::from_secs(5));
        assert!(quick.send(request()).await.is_ok());
    }
}
