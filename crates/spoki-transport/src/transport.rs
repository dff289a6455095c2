//! The seam between the client and the network.
//!
//! A [`Transport`] takes a fully built, buffered `http::Request<Bytes>` and returns a buffered
//! response. Buffering makes a request replayable (the retry middleware sends the same bytes
//! again) and trivially mockable. The client attaches a [`RequestContext`] to every request's
//! extensions so that middleware knows which operation it is and whose credential it uses.

use async_trait::async_trait;
use bytes::Bytes;
use spoki_models::operation::Operation;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A request as it goes on the wire.
pub type HttpRequest = http::Request<Bytes>;
/// A response as it came off the wire.
pub type HttpResponse = http::Response<Bytes>;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Sends one HTTP request and returns its response, whatever the status.
///
/// Implement it to use another HTTP stack, or wrap one to add behaviour (as the
/// `spoki-middleware` layers do). A non-2xx status is a response, not an error.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Sends `request` once.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for Arc<T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        (**self).send(request).await
    }
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for Box<T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        (**self).send(request).await
    }
}

/// What the client tells the layers below it about a request, in its extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestContext {
    /// The operation being called.
    pub operation: &'static Operation,
    /// Whose credential authenticates it: rate limits are per credential.
    pub credential: CredentialId,
}

impl RequestContext {
    /// The context of `request`, when the client attached one.
    pub fn of<B>(request: &http::Request<B>) -> Option<&RequestContext> {
        request.extensions().get::<RequestContext>()
    }
}

/// An opaque, non-reversible tag of a credential (API key or automation secret), used to keep
/// one rate-limit budget per credential without holding the credential itself.
///
/// It is the first 8 bytes of SHA-256 over a domain prefix and the credential: the same in every
/// process, so that workers sharing a key share its budgets in a shared store (the middleware's
/// Redis store), and it reveals nothing of a random credential.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CredentialId(u64);

impl CredentialId {
    /// Tags `credential`.
    pub fn of(credential: &str) -> CredentialId {
        CredentialId(tag(b"spoki-rs credential tag v1\0", credential))
    }

    /// The tag as 16 hex digits, as it appears in shared-store keys.
    pub fn to_hex(self) -> String {
        format!("{:016x}", self.0)
    }

    /// The tag of calls that carry no credential.
    pub const ANONYMOUS: CredentialId = CredentialId(0);
}

impl fmt::Debug for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CredentialId({:016x})", self.0)
    }
}

/// The first 8 bytes of SHA-256 over a domain prefix and `text`.
fn tag(domain: &[u8], text: &str) -> u64 {
    use sha2::Digest;
    let digest = sha2::Sha256::new()
        .chain_update(domain)
        .chain_update(text.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// An opaque tag of a recipient's phone number, made as a [`CredentialId`] is (under another
/// prefix): the same in every process, so that workers pace sends to one recipient together,
/// without the number itself reaching a log or a shared store.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecipientId(u64);

impl RecipientId {
    /// Tags `phone`, as it travels (E.164).
    pub fn of(phone: &str) -> RecipientId {
        RecipientId(tag(b"spoki-rs recipient tag v1\0", phone))
    }

    /// The tag as 16 hex digits, as it appears in shared-store keys.
    pub fn to_hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

impl fmt::Debug for RecipientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecipientId({:016x})", self.0)
    }
}

/// Who a message send goes to, in its request's extensions (the client attaches it to every
/// operation that names recipients): the rate-limit layer paces sends to each of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recipients(Vec<RecipientId>);

impl Recipients {
    /// The recipients of `phones`, each once.
    pub fn new<'p>(phones: impl IntoIterator<Item = &'p str>) -> Recipients {
        let mut ids: Vec<RecipientId> = Vec::new();
        for id in phones.into_iter().map(RecipientId::of) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Recipients(ids)
    }

    /// The recipients of `request`, when the client attached them.
    pub fn of<B>(request: &http::Request<B>) -> Option<&Recipients> {
        request.extensions().get::<Recipients>()
    }

    /// Each recipient.
    pub fn iter(&self) -> impl Iterator<Item = RecipientId> + '_ {
        self.0.iter().copied()
    }
}

/// Why a transport returned no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The request could not be built (bad URL, bad header). Nothing was sent.
    Build,
    /// No connection could be made (refused, DNS, TLS handshake). Nothing was sent.
    Connect,
    /// No response within the attempt's time limit. The server may have received the request.
    Timeout,
    /// The connection failed after the request may have been written. The server may have
    /// received it.
    Interrupted,
    /// A client-side rate limiter refused to wait for a slot. Nothing was sent.
    Throttled,
    /// The answer was larger than the transport accepts, and was dropped unread. The server
    /// answered, so it may have acted on the request.
    TooLarge,
    /// Anything else. Treated as possibly sent.
    Other,
}

impl TransportErrorKind {
    /// Whether the server may have received the request. When `false`, sending it again
    /// cannot duplicate anything.
    pub const fn may_have_been_sent(self) -> bool {
        match self {
            TransportErrorKind::Build
            | TransportErrorKind::Connect
            | TransportErrorKind::Throttled => false,
            TransportErrorKind::Timeout
            | TransportErrorKind::Interrupted
            | TransportErrorKind::TooLarge
            | TransportErrorKind::Other => true,
        }
    }
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Build => "request could not be built",
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Timeout => "timed out waiting for the response",
            TransportErrorKind::Interrupted => "connection lost during the request",
            TransportErrorKind::Throttled => "client-side rate limit reached",
            TransportErrorKind::TooLarge => "the answer was larger than the limit",
            TransportErrorKind::Other => "transport failure",
        })
    }
}

/// A failure to get a response.
#[derive(Debug)]
pub struct TransportError {
    kind: TransportErrorKind,
    retry_after: Option<Duration>,
    source: Option<BoxError>,
}

impl TransportError {
    /// An error of `kind`.
    pub fn new(kind: TransportErrorKind) -> TransportError {
        TransportError {
            kind,
            retry_after: None,
            source: None,
        }
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> TransportError {
        self.source = Some(source.into());
        self
    }

    /// Says when the call may be tried again (for [`TransportErrorKind::Throttled`]).
    pub fn with_retry_after(mut self, wait: Duration) -> TransportError {
        self.retry_after = Some(wait);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// Whether the server may have received the request.
    pub fn may_have_been_sent(&self) -> bool {
        self.kind.may_have_been_sent()
    }

    /// How long to wait before trying again, when known.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(wait) = self.retry_after {
            write!(f, " (retry after {:.3} s)", wait.as_secs_f64())?;
        }
        Ok(())
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
