//! The receiver: a `tower::Service` to mount at the webhook URL.
//!
//! For each request, in this order: the body is capped before it is read whole (413); the
//! signature is checked against the raw bytes (401); the body is decoded (400); the event is
//! claimed in the dedupe store, and a delivery of an event already handled answers 200 without
//! running the handler again; the handler runs; and only once it succeeded does the receiver
//! answer 200. A failing handler answers 500 and releases the claim, so Spoki delivers the
//! event again and the handler gets another go.

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use crate::dedupe::{Claim, DedupeKey, DedupeStore, MemoryDedupe};
use crate::event::Delivery;
use crate::verify::{WebhookError, WebhookVerifier, unix_seconds};

/// The largest body read unless [`Receiver::max_body`] says otherwise: 1 MiB, far above any
/// delivery Spoki sends.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// An error a handler returns; the receiver answers 500 and Spoki delivers the event again.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Code run once per distinct event.
///
/// Any `Fn(Arc<Delivery>) -> impl Future<Output = Result<(), BoxError>>` is a handler (`?`
/// turns any error into a [`BoxError`]); so is a pair
/// or a triple of handlers, run in order. A handler may run again for an event whose earlier
/// run failed, so what it does should be safe to repeat.
pub trait Handler: Send + Sync + 'static {
    /// Handles one delivery; an error asks Spoki for the delivery again.
    fn handle(&self, delivery: Arc<Delivery>) -> impl Future<Output = Result<(), BoxError>> + Send;
}

impl<F, Fut> Handler for F
where
    F: Fn(Arc<Delivery>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BoxError>> + Send,
{
    fn handle(&self, delivery: Arc<Delivery>) -> impl Future<Output = Result<(), BoxError>> + Send {
        self(delivery)
    }
}

impl<A: Handler, B: Handler> Handler for (A, B) {
    async fn handle(&self, delivery: Arc<Delivery>) -> Result<(), BoxError> {
        self.0.handle(delivery.clone()).await?;
        self.1.handle(delivery).await
    }
}

impl<A: Handler, B: Handler, C: Handler> Handler for (A, B, C) {
    async fn handle(&self, delivery: Arc<Delivery>) -> Result<(), BoxError> {
        self.0.handle(delivery.clone()).await?;
        self.1.handle(delivery.clone()).await?;
        self.2.handle(delivery).await
    }
}

/// What the receiver did with one request; [`DeliveryOutcome::status`] is what it answers.
#[derive(Debug)]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// The handler ran and succeeded (200).
    Handled(Arc<Delivery>),
    /// The event was handled before; the handler did not run again (200).
    Duplicate(Arc<Delivery>),
    /// Another receiver is handling the event now (503: Spoki delivers again later).
    InFlight(Arc<Delivery>),
    /// The handler failed; the claim was released (500: Spoki delivers again).
    HandlerFailed(Arc<Delivery>, BoxError),
    /// The dedupe store could not answer (503).
    StoreUnavailable(crate::dedupe::StoreError),
    /// The body is larger than the cap (413).
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The body could not be read (400).
    Unreadable,
    /// The signature is missing, malformed, wrong or stale (401), or the body does not decode
    /// (400).
    Refused(WebhookError),
}

impl DeliveryOutcome {
    /// The HTTP status the receiver answers.
    pub fn status(&self) -> StatusCode {
        match self {
            DeliveryOutcome::Handled(_) | DeliveryOutcome::Duplicate(_) => StatusCode::OK,
            DeliveryOutcome::InFlight(_) | DeliveryOutcome::StoreUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            DeliveryOutcome::HandlerFailed(..) => StatusCode::INTERNAL_SERVER_ERROR,
            DeliveryOutcome::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            DeliveryOutcome::Unreadable | DeliveryOutcome::Refused(WebhookError::Body(_)) => {
                StatusCode::BAD_REQUEST
            }
            DeliveryOutcome::Refused(WebhookError::NoSecret) => StatusCode::INTERNAL_SERVER_ERROR,
            DeliveryOutcome::Refused(_) => StatusCode::UNAUTHORIZED,
        }
    }

    /// The delivery, once it was verified and decoded.
    pub fn delivery(&self) -> Option<&Arc<Delivery>> {
        match self {
            DeliveryOutcome::Handled(d)
            | DeliveryOutcome::Duplicate(d)
            | DeliveryOutcome::InFlight(d)
            | DeliveryOutcome::HandlerFailed(d, _) => Some(d),
            _ => None,
        }
    }

    /// The answer's body: one short line, never a secret, the handler's error or the body.
    fn text(&self) -> &'static str {
        match self {
            DeliveryOutcome::Handled(_) => "ok",
            DeliveryOutcome::Duplicate(_) => "ok (already handled)",
            DeliveryOutcome::InFlight(_) => "being handled; deliver again later",
            DeliveryOutcome::HandlerFailed(..) => "handler failed; deliver again",
            DeliveryOutcome::StoreUnavailable(_) => "dedupe store unavailable; deliver again",
            DeliveryOutcome::TooLarge { .. } => "body too large",
            DeliveryOutcome::Unreadable => "unreadable body",
            DeliveryOutcome::Refused(WebhookError::Body(_)) => "not a webhook delivery",
            DeliveryOutcome::Refused(WebhookError::NoSecret) => "receiver has no secret",
            DeliveryOutcome::Refused(_) => "signature check failed",
        }
    }

    /// The outcome as an HTTP response.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from_static(self.text().as_bytes())));
        *response.status_mut() = self.status();
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("30"),
            );
        }
        response
    }
}

/// Receives Spoki's webhook deliveries and runs a [`Handler`] once per distinct event.
///
/// Cheap to clone: clones share the verifier, the handler and the dedupe store.
pub struct Receiver<H, S = MemoryDedupe> {
    inner: Arc<Inner<H, S>>,
    max_body: usize,
}

struct Inner<H, S> {
    verifier: WebhookVerifier,
    handler: H,
    store: S,
}

impl<H, S> Clone for Receiver<H, S> {
    fn clone(&self) -> Self {
        Receiver {
            inner: self.inner.clone(),
            max_body: self.max_body,
        }
    }
}

impl<H, S> std::fmt::Debug for Receiver<H, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("verifier", &self.inner.verifier)
            .field("max_body", &self.max_body)
            .finish_non_exhaustive()
    }
}

impl<H: Handler> Receiver<H, MemoryDedupe> {
    /// A receiver verifying with `verifier`, running `handler`, deduplicating in memory.
    pub fn new(verifier: WebhookVerifier, handler: H) -> Self {
        Receiver::with_store(verifier, handler, MemoryDedupe::new())
    }
}

impl<H: Handler, S: DedupeStore> Receiver<H, S> {
    /// A receiver deduplicating in `store`, such as a `RedisDedupe` shared by every worker.
    pub fn with_store(verifier: WebhookVerifier, handler: H, store: S) -> Self {
        Receiver {
            inner: Arc::new(Inner {
                verifier,
                handler,
                store,
            }),
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// Sets the largest body read, in bytes (default [`DEFAULT_MAX_BODY`]). A larger one is
    /// answered 413 before it is read whole.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.inner.handler
    }

    /// Receives one request and says what was done; the [`tower_service::Service`]
    /// implementation answers with [`DeliveryOutcome::into_response`].
    pub async fn receive<B>(&self, request: Request<B>) -> DeliveryOutcome
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        match self.read_body(request).await {
            Ok((parts, body)) => self.receive_bytes(&parts.headers, &body).await,
            Err(refused) => refused,
        }
    }

    /// Reads a request's body whole under the cap: the first step of
    /// [`receive`](Self::receive), for callers that keep the raw bytes (to forward or store
    /// them) and then call [`receive_bytes`](Self::receive_bytes).
    pub async fn read_body<B>(
        &self,
        request: Request<B>,
    ) -> Result<(http::request::Parts, Bytes), DeliveryOutcome>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = request.into_parts();
        let limit = self.max_body;
        // A declared length over the cap is refused before a byte of the body is read.
        if content_length(&parts.headers).is_some_and(|n| n > limit as u64) {
            return Err(DeliveryOutcome::TooLarge { limit });
        }
        match Limited::new(body, limit).collect().await {
            Ok(collected) => Ok((parts, collected.to_bytes())),
            Err(e) if e.is::<LengthLimitError>() => Err(DeliveryOutcome::TooLarge { limit }),
            Err(_) => Err(DeliveryOutcome::Unreadable),
        }
    }

    /// [`receive`](Self::receive) for a body already read (and capped) by the caller.
    pub async fn receive_bytes(&self, headers: &HeaderMap, body: &[u8]) -> DeliveryOutcome {
        let inner = &self.inner;
        if body.len() > self.max_body {
            return DeliveryOutcome::TooLarge {
                limit: self.max_body,
            };
        }
        let now = unix_seconds(SystemTime::now());
        if let Err(e) = inner.verifier.verify_signature_headers(headers, body, now) {
            return DeliveryOutcome::Refused(e);
        }
        let delivery = match Delivery::from_slice(body) {
            Ok(d) => Arc::new(d),
            Err(e) => return DeliveryOutcome::Refused(WebhookError::Body(e)),
        };
        let key = DedupeKey::of(&delivery, body);
        let token = match inner.store.claim(&key).await {
            Ok(Claim::Taken(token)) => token,
            Ok(Claim::Done) => return DeliveryOutcome::Duplicate(delivery),
            Ok(Claim::InFlight) => return DeliveryOutcome::InFlight(delivery),
            Err(e) => return DeliveryOutcome::StoreUnavailable(e),
        };
        // Boxed: a `dyn` future erases the handler's type, which keeps rustc's `Send` check
        // of this future from tripping over closures' higher-ranked lifetimes.
        let handled: Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + '_>> =
            Box::pin(inner.handler.handle(delivery.clone()));
        match handled.await {
            Ok(()) => match inner.store.complete(&key, &token).await {
                Ok(()) => DeliveryOutcome::Handled(delivery),
                // Handled, but not marked: the redelivery this asks for runs the handler
                // again, which handlers are written to survive; losing the event is worse.
                Err(e) => DeliveryOutcome::StoreUnavailable(e),
            },
            Err(error) => {
                // If the release fails too, the lease lapses and a later delivery runs it.
                let _ = inner.store.release(&key, &token).await;
                DeliveryOutcome::HandlerFailed(delivery, error)
            }
        }
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

impl<H, S, B> tower_service::Service<Request<B>> for Receiver<H, S>
where
    H: Handler,
    S: DedupeStore,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let receiver = self.clone();
        Box::pin(async move { Ok(receiver.receive(request).await.into_response()) })
    }
}

#[cfg(feature = "axum")]
impl<H: Handler, S: DedupeStore> Receiver<H, S> {
    /// An axum `Router` serving this receiver on POST `path`.
    pub fn route<State: Clone + Send + Sync + 'static>(self, path: &str) -> axum::Router<State> {
        axum::Router::new().route_service(path, axum::routing::post_service(self))
    }
}
