//! Rust SDK for [Spoki](https://spoki.com), the platform built on WhatsApp's official
//! Business APIs.
//!
//! One dependency brings every layer an integration needs, each behind a feature, and every
//! item is documented here under the module that holds it: a search of these docs finds
//! [`WebhookVerifier`](webhook::WebhookVerifier), [`Ledger`](billing::Ledger) or
//! [`MockSpoki`][mock-kit] like a root item.
//! [`prelude`] imports the handful of names almost every program uses.
//!
//! # Which part for which job
//!
//! | to… | use | feature |
//! |---|---|---|
//! | call any of the 123 operations, typed | [`Client`], [`client`] | `client` (default) |
//! | read and write the wire types, phones, money, times | [`models`] | always |
//! | pace calls to Spoki's limits, retry what is safe, share limits across workers | [`middleware`] | `middleware` (default); `redis` to share |
//! | send each message once across workers | [`SendOnce`][send-once] | `redis` |
//! | receive webhooks: verify, decode, dedupe, ack, track statuses | [`webhook`] | always (the verifier); `webhook` (default) for the receiver; `axum`, `redis` |
//! | embed the Spoki chat in an iframe | [`client::embed`] | `client` (default) |
//! | predict what a send or a campaign costs, bill live traffic | [`billing`] | `billing` (default); `redis` to share |
//! | test against a local, stateful Spoki | [`mock`][mock-kit] | `mock` |
//!
//! # Features
//!
//! | feature | brings | default |
//! |---|---|---|
//! | `client` | the typed client (`spoki-client`) | yes |
//! | `reqwest` | the built-in HTTPS transport (reqwest, rustls) | yes |
//! | `middleware` | rate limits and safe retries (`spoki-middleware`) | yes |
//! | `billing` | the billing model (`spoki-billing`), fed by webhooks | yes |
//! | `webhook` | the webhook receiver (tower service, in-memory dedupe, statuses) | yes |
//! | `axum` | the receiver as an axum route | no |
//! | `tower` | the layers as tower services, any tower service as a transport | no |
//! | `redis` | Redis shared by workers: rate limits, `SendOnce`, webhook dedupe, billing | no |
//! | `mock` | `spoki-mock`, the local Spoki for tests and development | no |
//! | `mock-transport` | a mockall mock of the transport trait, for unit tests | no |
//!
//! ```no_run
//! use spoki::prelude::*;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let spoki = Client::from_env()?; // SPOKI_API_KEY, and SPOKI_BASE_URL when set
//! let reply = SendText::new(Phone::parse("+393331234567")?, "Il tuo ordine è partito");
//! spoki.messages().send_text(&reply).await?;
//! # Ok(()) }
//! ```

// Links to feature-gated items resolve with every feature set.
#![cfg_attr(feature = "mock", doc = "[mock-kit]: mock")]
#![cfg_attr(not(feature = "mock"), doc = "[mock-kit]: https://docs.rs/spoki-mock")]
#![cfg_attr(feature = "redis", doc = "[send-once]: middleware::shared::SendOnce")]
#![cfg_attr(
    not(feature = "redis"),
    doc = "[send-once]: https://docs.rs/spoki-middleware/latest/spoki_middleware/shared/struct.SendOnce.html"
)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

#[doc(inline)]
pub use spoki_models as models;
pub use spoki_models::{Money, Phone, Secret, Timestamp};
#[doc(inline)]
pub use spoki_webhook as webhook;

#[cfg(feature = "client")]
#[doc(inline)]
pub use spoki_client as client;
#[cfg(feature = "client")]
pub use spoki_client::{Client, ClientBuilder, Error};

#[cfg(feature = "middleware")]
#[doc(inline)]
pub use spoki_middleware as middleware;

#[cfg(feature = "billing")]
#[doc(inline)]
pub use spoki_billing as billing;

#[cfg(feature = "mock")]
#[doc(inline)]
pub use spoki_mock as mock;

/// The names almost every program uses: `use spoki::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "client")]
    pub use spoki_client::{Client, Error};
    pub use spoki_models::{
        AutomationContact, AutomationStartBulk, Money, Phone, Secret, SendStatus, SendTemplate,
        SendText, Timestamp,
    };
    pub use spoki_webhook::{Delivery, Event, WebhookVerifier};
}

// Compiles the README's example as a doctest, so it cannot drift from the API.
#[cfg(all(doctest, feature = "mock", feature = "axum", feature = "billing"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

// The webhook and embedding guide's examples, compiled the same way.
#[cfg(all(doctest, feature = "redis", feature = "axum"))]
#[doc = include_str!("../../../docs/webhooks-and-embedding.md")]
pub struct WebhookDocDoctests;

// The middleware and scaling guides' examples, compiled the same way.
#[cfg(all(doctest, feature = "redis", feature = "tower"))]
#[doc = include_str!("../../../docs/middleware.md")]
pub struct MiddlewareDocDoctests;

#[cfg(all(doctest, feature = "redis", feature = "tower"))]
#[doc = include_str!("../../../docs/scaling.md")]
pub struct ScalingDocDoctests;
