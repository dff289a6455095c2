//! The default transport, over reqwest with rustls.

use crate::{HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind};
use async_trait::async_trait;
use std::time::Duration;

/// Sends requests with a [`reqwest::Client`].
///
/// Build it from your own client to set a proxy, pool sizes or TLS roots:
/// `ReqwestTransport::from_client(my_client)`.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    attempt_timeout: Option<Duration>,
    max_response_bytes: usize,
}

/// The largest answer read by default: far above any Spoki answer, far below what would hurt.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

impl ReqwestTransport {
    /// A transport over a new client with these timeouts and user agent.
    pub fn new(
        connect_timeout: Duration,
        attempt_timeout: Duration,
        user_agent: &str,
    ) -> Result<Self, TransportError> {
        // Never follow redirects: reqwest keeps custom headers across hosts, so a redirect
        // would hand the API key (and a body holding a secret) to whatever host it names.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .user_agent(user_agent)
            .build()
            .map_err(|e| TransportError::new(TransportErrorKind::Build).with_source(e))?;
        Ok(ReqwestTransport {
            client,
            attempt_timeout: Some(attempt_timeout),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        })
    }

    /// A transport over a client you configured; its own timeouts apply.
    ///
    /// Build that client with `.redirect(reqwest::redirect::Policy::none())`: reqwest keeps
    /// the `X-Spoki-Api-Key` header when a redirect goes to another host.
    pub fn from_client(client: reqwest::Client) -> Self {
        ReqwestTransport {
            client,
            attempt_timeout: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Sets the largest answer read (default [`DEFAULT_MAX_RESPONSE_BYTES`]); a larger one is
    /// dropped as it streams in and the call fails with [`TransportErrorKind::TooLarge`].
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Sets the time limit of each attempt, from sending to the end of the response body.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut request = reqwest::Request::try_from(request)
            .map_err(|e| TransportError::new(TransportErrorKind::Build).with_source(e))?;
        if let Some(timeout) = self.attempt_timeout {
            *request.timeout_mut() = Some(timeout);
        }
        let response = self.client.execute(request).await.map_err(classify)?;
        let mut builder = http::Response::builder()
            .status(response.status())
            .version(response.version());
        if let Some(headers) = builder.headers_mut() {
            headers.extend(
                response
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
        let too_large = || TransportError::new(TransportErrorKind::TooLarge);
        let limit = self.max_response_bytes;
        match response.content_length() {
            Some(length) if length > limit as u64 => return Err(too_large()),
            // A declared length within the limit: hyper stops at it, so read it whole.
            Some(_) => {
                let body = response.bytes().await.map_err(classify)?;
                return builder
                    .body(body)
                    .map_err(|e| TransportError::new(TransportErrorKind::Other).with_source(e));
            }
            None => {}
        }
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        builder
            .body(bytes::Bytes::from(body))
            .map_err(|e| TransportError::new(TransportErrorKind::Other).with_source(e))
    }
}

fn classify(error: reqwest::Error) -> TransportError {
    // A connect error is checked first: a connect timeout also reports is_timeout, and it
    // means nothing reached the server.
    let kind = if error.is_connect() {
        TransportErrorKind::Connect
    } else if error.is_timeout() {
        TransportErrorKind::Timeout
    } else if error.is_builder() {
        TransportErrorKind::Build
    } else if error.is_request() || error.is_body() || error.is_decode() {
        TransportErrorKind::Interrupted
    } else {
        TransportErrorKind::Other
    };
    TransportError::new(kind).with_source(error.without_url())
}
