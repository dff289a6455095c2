//! Typed, transport-agnostic client for the Spoki WhatsApp Business API.

#![deny(missing_docs)]

#[cfg(feature = "reqwest")]
mod reqwest_transport;
pub mod transport;

#[cfg(feature = "reqwest")]
pub use reqwest_transport::ReqwestTransport;
#[cfg(feature = "mock")]
pub use transport::MockTransport;
pub use transport::{
    CredentialId, HttpRequest, HttpResponse, RequestContext, Transport, TransportError,
    TransportErrorKind,
};
