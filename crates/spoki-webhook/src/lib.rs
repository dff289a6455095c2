//! The inbound half of a Spoki integration: webhook deliveries verified, decoded into typed
//! events, received once, and message statuses tracked.
//!
//! Spoki sends asynchronously: a 200 to a send or an automation start only means "taken in".
//! What happened next (each status of each message, every customer reply, every change to
//! contacts, tags and lists) reaches the integrator as signed webhook deliveries.
//!
//! - [`WebhookVerifier`] checks `X-Spoki-Signature` against the raw body (several secrets
//!   during a rotation, a tolerance against replays), and [`sign`] makes one for tests;
//! - [`Delivery`] and [`Event`]: one typed event per kind Spoki documents, decoded once from
//!   the raw body, and [`Event::Unknown`] keeping what this SDK does not know;
//! - [`Receiver`] (feature `receiver`, on by default): a `tower::Service` that caps, verifies,
//!   decodes, deduplicates and dispatches to a [`Handler`], answering 2xx only once the handler
//!   succeeded; [`MemoryDedupe`] by default, `RedisDedupe` (feature `redis`) across workers;
//! - [`StatusTracker`]: where each sent message stands, awaited with a timeout.
//!
//! ```
//! # #[cfg(feature = "receiver")] {
//! use spoki_webhook::{Delivery, Event, Receiver, WebhookVerifier, sign};
//! use spoki_models::Secret;
//! use std::sync::Arc;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let secret = Secret::new("whsec_example");
//! let receiver = Receiver::new(
//!     WebhookVerifier::new(secret.clone())?,
//!     |delivery: Arc<Delivery>| async move {
//!         if let Event::MessageInbound(m) = &delivery.event {
//!             println!("{:?} wrote {:?}", m.from_phone, m.text);
//!         }
//!         Ok::<(), spoki_webhook::BoxError>(())
//!     },
//! );
//! let body = r#"{"version":2,"event":"message.inbound","event_uuid":"e-1",
//!                "data":{"from_phone":"+393331234567","text":"Ciao"}}"#;
//! let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
//! let request = http::Request::post("/hooks")
//!     .header("x-spoki-signature", sign(&secret, now as i64, body.as_bytes()))
//!     .body(body.to_owned())?;
//! assert_eq!(receiver.receive(request.clone()).await.status(), 200);
//! // Spoki delivered it again: answered 200, the handler does not run twice.
//! assert!(matches!(receiver.receive(request).await, spoki_webhook::DeliveryOutcome::Duplicate(_)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod event;
mod sample;
mod verify;

#[cfg(feature = "receiver")]
pub mod dedupe;
#[cfg(feature = "receiver")]
mod receiver;
#[cfg(feature = "receiver")]
mod status;

pub use event::{DecodeError, Delivery, Event};
pub use sample::sample_body;
pub use verify::{
    ACCOUNT_HEADER, DEFAULT_TOLERANCE, LEGACY_HASH_HEADER, MalformedHeader, SIGNATURE_HEADER,
    WebhookError, WebhookVerifier, account_id, sign,
};

#[cfg(feature = "redis")]
pub use dedupe::RedisDedupe;
#[cfg(feature = "receiver")]
pub use dedupe::{DedupeKey, DedupeStore, MemoryDedupe};
#[cfg(feature = "receiver")]
pub use receiver::{BoxError, DEFAULT_MAX_BODY, DeliveryOutcome, Handler, Receiver};
#[cfg(feature = "receiver")]
pub use status::{DEFAULT_TRACKED, MessageStatus, StatusTracker, WaitTimedOut};
