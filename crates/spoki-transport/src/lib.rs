//! The seam between the Spoki client and the network, shared by `spoki-client` and
//! `spoki-middleware` so that neither depends on the other's internals:
//!
//! - [`Transport`]: one buffered request in, one buffered response out; implement it to use
//!   another HTTP stack, to mock the network, or to wrap another transport in a layer;
//! - [`TransportError`]: why no response came, and whether the request may have been sent;
//! - [`retry_rule`]: the one rule that says whether a call may be sent again and whether Spoki
//!   may have acted on it, followed by the client's errors and the retry layer alike;
//! - [`CallFailure`]: what a failed call says about Spoki having acted, for guards that must
//!   never send twice.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

#[cfg(feature = "reqwest")]
mod reqwest_transport;
pub mod retry_after;
pub mod retry_rule;
mod transport;

/// The reqwest crate the built-in transport is made with, for a client of your own
/// (`ReqwestTransport::from_client`).
#[cfg(feature = "reqwest")]
pub use reqwest;
#[cfg(feature = "reqwest")]
pub use reqwest_transport::{DEFAULT_MAX_RESPONSE_BYTES, ReqwestTransport};
#[cfg(feature = "mock")]
pub use transport::MockTransport;
pub use transport::{
    CredentialId, HttpRequest, HttpResponse, RecipientId, Recipients, RequestContext, Transport,
    TransportError, TransportErrorKind,
};

/// What a failed call says about whether Spoki acted on it.
///
/// Implemented by `spoki_client::Error`; a guard such as the middleware's `SendOnce` needs
/// nothing else from an error to decide whether the send may be tried again.
pub trait CallFailure {
    /// Spoki answered with success, so it acted, although the call failed afterwards (its
    /// answer could not be read).
    fn acted(&self) -> bool;
    /// Spoki may have acted, and the caller cannot tell (a 5xx answer to a send, a timeout, a
    /// connection lost mid-request).
    fn outcome_unknown(&self) -> bool;
}
