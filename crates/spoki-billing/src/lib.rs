//! How WhatsApp Business messages sent through Spoki are billed: a pure domain model.
//!
//! The crate simulates Meta's rules so a sender can predict a bill before Meta reports it:
//!
//! - [`PricingModel::Conversation2024`]: 24-hour conversations per category (marketing, utility,
//!   authentication, service), charged once when they open, several open at once per customer,
//!   plus 72-hour free entry points.
//! - [`PricingModel::PerMessage2025`]: each delivered template is charged on its own; utility
//!   inside the customer-service window and free-form messages are free.
//!
//! Both run behind one [`Ledger`], which takes [`Event`]s in time order and returns an
//! [`Outcome`] per event, answers the sender's questions ([`Ledger::free_form_status`],
//! [`Ledger::quote_template`], [`Ledger::estimate_campaign`]) and keeps a fixed 64-byte state
//! per customer. [`bill_events`] itemises a batch; [`vectors`] checks the model against
//! billing-vector files. Money is exact ([`Money`], millionths of a unit), never `f64`.
//!
//! ```
//! use spoki_billing::{Customer, Event, Ledger, Message, PricingModel, RateCard, TemplateCategory, Timestamp};
//!
//! let card = RateCard::from_json(r#"{"currency": "EUR", "calling_codes": {"39": "IT"},
//!     "markets": {"IT": {"marketing": 0.14, "utility": 0.1, "authentication": 0.12, "service": 0.11}}}"#)?;
//! let mut ledger = Ledger::new(PricingModel::Conversation2024, card);
//! let customer = Customer::parse("+393331112222")?;
//! let marketing = Message::Template(TemplateCategory::Marketing);
//!
//! let at_11 = Timestamp::parse_rfc3339("2024-07-15T11:00:00Z")?;
//! let first = ledger.apply(&Event::new(at_11, customer, marketing))?;
//! assert_eq!(first.cost().to_string(), "0.14"); // opens a marketing conversation
//!
//! let at_21 = Timestamp::parse_rfc3339("2024-07-15T21:00:00Z")?;
//! let second = ledger.apply(&Event::new(at_21, customer, marketing))?;
//! assert!(second.cost().is_zero()); // joins it
//!
//! // The customer never wrote: free-form is not allowed, a utility template would cost 0.10.
//! assert!(matches!(ledger.free_form_status(customer, at_21), spoki_billing::FreeFormStatus::Closed { .. }));
//! let quote = ledger.quote_template(customer, TemplateCategory::Utility, at_21)?;
//! assert_eq!(quote.cost().to_string(), "0.10");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod bill;
mod category;
mod customer;
mod event;
mod ledger;
mod money;
mod queries;
mod rate_card;
mod rules;
mod snapshot;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod synthetic;
mod time;
mod traffic;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod vectors;

pub use bill::{Bill, ConversationRecord, MessageRecord, bill_events};
pub use category::{Category, CategorySet, ConversationKind, TemplateCategory, UnknownCategory};
pub use customer::{Customer, CustomerError, MAX_DIGITS, MIN_DIGITS};
pub use event::{Event, EventError, Message};
pub use ledger::{BillingError, CustomerId, Ledger, LedgerTotals};
pub use money::{Money, MoneyError};
pub use queries::{CampaignEstimate, Coverage};
pub use rate_card::{Market, MarketId, MarketPrices, OTHER_MARKET, RateCard, RateCardError};
pub use rules::{
    CONVERSATION_SECONDS, ENTRY_POINT_OFFER_SECONDS, ENTRY_POINT_SECONDS, FreeFormStatus,
    FreeReason, OpenedConversation, Outcome, PricingModel, RejectReason, SERVICE_WINDOW_SECONDS,
    UnknownPricingModel,
};
pub use snapshot::RestoreError;
pub use time::{DAY_SECONDS, HOUR_SECONDS, Timestamp, TimestampError, Window};
pub use traffic::TrafficError;
