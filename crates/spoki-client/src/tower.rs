//! Any `tower::Service` over the client's request type as a [`Transport`] (feature `tower`).

use crate::{HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind};
use async_trait::async_trait;
use tower_service::Service;

/// A `tower::Service<HttpRequest, Response = HttpResponse>` used as the client's transport:
/// `Client::builder().transport(ServiceTransport::new(service))`.
///
/// An error that is a [`TransportError`] is kept as it is; any other is reported as
/// [`TransportErrorKind::Other`], which counts as possibly sent.
#[derive(Debug, Clone)]
pub struct ServiceTransport<S> {
    service: S,
}

impl<S> ServiceTransport<S> {
    /// Wraps `service`; it is cloned for each call.
    pub fn new(service: S) -> ServiceTransport<S> {
        ServiceTransport { service }
    }
}

#[async_trait]
impl<S> Transport for ServiceTransport<S>
where
    S: Service<HttpRequest, Response = HttpResponse> + Clone + Send + Sync + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Future: Send,
{
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut service = self.service.clone();
        std::future::poll_fn(|cx| service.poll_ready(cx))
            .await
            .map_err(into_transport_error)?;
        service.call(request).await.map_err(into_transport_error)
    }
}

fn into_transport_error(
    error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> TransportError {
    let error = error.into();
    match error.downcast::<TransportError>() {
        Ok(transport) => *transport,
        Err(other) => TransportError::new(TransportErrorKind::Other).with_source(other),
    }
}
