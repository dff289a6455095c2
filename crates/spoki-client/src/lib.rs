//! Typed, transport-agnostic client for the Spoki WhatsApp Business API.
//!
//! - [`Client`]: one method per API operation, grouped by resource
//!   (`client.accounts().get(id)`, `client.automations().start_bulk(uuid, &body)`), built from
//!   the operation table of `spoki-models`;
//! - [`Transport`]: the seam to the network; [`ReqwestTransport`] by default, a mock
//!   (feature `mock`) in tests, or the `spoki-middleware` layers for rate limits and retries;
//! - [`Error`]: one error type that says what the caller can do;
//! - [`webhook`] (the crate `spoki-webhook`) and [`embed`]: receiving webhook deliveries and
//!   embedding the Spoki iframe.
//!
//! Secrets (API key, automation secrets, private keys, tokens) never appear in `Debug`,
//! `Display`, errors or tracing output.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod api;
mod builder;
mod client;
pub mod embed;
mod error;
mod generated;
mod pagination;
mod placeholders;
mod raw;
#[cfg(feature = "tower")]
mod tower;
mod validate;

pub use builder::{API_KEY_ENV, BASE_URL_ENV, ClientBuilder};
pub use client::{
    API_KEY_HEADER, Client, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_USER_AGENT,
};
pub use embed::{EmbedPage, IframeUrl};
pub use error::{ApiError, BuildError, Error, InputError};
pub use pagination::MAX_PAGES;
pub use placeholders::FRESH_FOR as PLACEHOLDERS_FRESH_FOR;
pub use spoki_models as models;
pub use spoki_models::constraint::MAX_CONTACTS_PER_SYNC;
pub use spoki_models::{is_credential_field, redact_credentials};
/// The transport seam (the crate `spoki-transport`), re-exported.
pub use spoki_transport as transport;
#[cfg(feature = "mock")]
pub use spoki_transport::MockTransport;
pub use spoki_transport::{
    CallFailure, CredentialId, HttpRequest, HttpResponse, RecipientId, Recipients, RequestContext,
    Transport, TransportError, TransportErrorKind, retry_after, retry_rule,
};
#[cfg(feature = "reqwest")]
pub use spoki_transport::{DEFAULT_MAX_RESPONSE_BYTES, ReqwestTransport};
/// Verifying webhook deliveries: the crate `spoki-webhook`, re-exported under its old path.
pub use spoki_webhook as webhook;
pub use spoki_webhook::{WebhookError, WebhookVerifier};
#[cfg(feature = "tower")]
pub use tower::ServiceTransport;
