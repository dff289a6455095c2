//! Wire models of the [Spoki](https://spoki.com) WhatsApp Business API.
//!
//! Every request body, response and event of the API as serde types, plus the table of all
//! operations (method, path, auth, idempotency, rate-limit class) that the client and the
//! middleware are driven by. Most of this crate is generated from `spec/spoki.toml` by
//! `cargo xtask codegen`; the value types it builds on are written by hand:
//!
//! - [`Phone`]: an E.164 number, validated when built;
//! - [`Money`]: an exact amount in a [`Currency`]; credit travels as thousandths of EUR;
//! - [`Timestamp`] and [`Date`]: typed times that accept the shapes the API sends;
//! - [`Secret`]: automation secrets, private keys, tokens and webhook secrets, which never print;
//! - [`Page`]: a list response, paginated or a bare array;
//! - [`ErrorKind`]: what an error code of Spoki or WhatsApp means, and whether to send again;
//! - [`Placeholders`]: the `%%CODE%%` placeholders of a template, checked before a send.
//!
//! Models read from the API ignore unknown fields, and every enum keeps values it does not
//! know, so a server that grows never breaks a decode.
//!
//! ```
//! use spoki_models::{AutomationContact, AutomationStartBulk, Phone};
//!
//! let mario = AutomationContact::new(Phone::parse("+393331234567")?)
//!     .first_name("Mario")
//!     .custom_fields([("DATA_SCADENZA_ABBONAMENTO", "2022-11-10T18:00:00.000Z")]);
//! let body = AutomationStartBulk::new("automation-secret", [mario]);
//! assert!(!format!("{body:?}").contains("automation-secret"));
//! # Ok::<(), spoki_models::PhoneError>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod constraint;
pub mod error_kind;
mod generated;
mod iframe;
mod money;
pub mod operation;
mod page;
mod patch;
mod phone;
pub mod placeholder;
mod scalar;
mod secret;
mod time;
#[doc(hidden)]
pub mod wire;

pub use error_kind::{ErrorCode, ErrorKind, RetryAdvice};
pub use generated::enums::*;
pub use generated::models::*;
pub use iframe::IframeEvent;
pub use money::{Currency, Money, MoneyError};
pub use operation::RateClass;
pub use page::{ItemError, Page, without_quoted_values};
pub use patch::Patch;
pub use phone::{Phone, PhoneError};
pub use placeholder::{FillsPlaceholders, MissingPlaceholders, Placeholders};
pub use scalar::{IdRef, NumberOrText};
pub use secret::{
    Secret, is_blank, is_credential_field, is_credential_header, redact_credentials, redact_query,
};
pub use time::{DAY_SECONDS, Date, HOUR_SECONDS, Timestamp, TimestampError};
