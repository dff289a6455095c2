//! Rust SDK for [Spoki](https://spoki.com), the platform built on WhatsApp's official
//! Business APIs.
//!
//! This crate gathers the layers of the SDK behind features, so that one dependency brings
//! what an integration needs:
//!
//! | module | crate | feature |
//! |---|---|---|
//! | [`models`] | `spoki-models`: wire types and the operation table | always |
//! | [`client`] | `spoki-client`: typed calls, transport trait, webhooks, iframe | `client` (default), `reqwest` (default), `mock` |
//! | [`middleware`] | `spoki-middleware`: rate limits and safe retries | `middleware` (default) |
//! | [`billing`] | `spoki-billing`: what a send or a campaign will cost | `billing` (default) |
//! | [`webhook`] | `spoki-webhook`: verified, typed, deduplicated deliveries and message statuses | always; `webhook` (default) for the receiver, `redis`, `axum` |
//!
//! The most used items are also at the root: [`Client`], [`Error`], [`Phone`], [`Money`].

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub use spoki_models as models;
pub use spoki_models::{Money, Phone, Secret};
pub use spoki_webhook as webhook;

#[cfg(feature = "client")]
pub use spoki_client as client;
#[cfg(feature = "client")]
pub use spoki_client::{Client, ClientBuilder, Error};

#[cfg(feature = "middleware")]
pub use spoki_middleware as middleware;

#[cfg(feature = "billing")]
pub use spoki_billing as billing;

// Compiles the README's example as a doctest, so it cannot drift from the API.
#[cfg(doctest)]
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
