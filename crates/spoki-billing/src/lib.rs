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
//! Both run behind one [`Ledger`], which takes each customer's [`Event`]s in time order and returns an
//! [`BillingEffect`] per event, answers the sender's questions ([`Ledger::free_form_status`],
//! [`Ledger::quote_template`], [`Ledger::estimate_campaign`]) and keeps a fixed 64-byte state
//! per customer. [`bill_events`] itemises a batch; `vectors` (feature `testing`) checks the model
//! against billing-vector files. A [`ReorderingLedger`] takes events that arrive late, as webhook
//! deliveries do, and [`Event::from_delivery`] and [`Event::sent`] turn live traffic into events.
//!
//! The vocabulary is the SDK's: [`Money`] (exact, with its [`Currency`], the same type as an
//! account's `current_credit`), [`Timestamp`], the phone number behind [`Customer`], and the
//! template category, which converts to a billing [`Category`].
//!
//! ```
//! use spoki_billing::{Category, Customer, Event, Ledger, Message, PricingModel, RateCard, Timestamp};
//!
//! let card = RateCard::from_json(r#"{"currency": "EUR", "calling_codes": {"39": "IT"},
//!     "markets": {"IT": {"marketing": 0.14, "utility": 0.1, "authentication": 0.12, "service": 0.11}}}"#)?;
//! let mut ledger = Ledger::new(PricingModel::Conversation2024, card);
//! let customer = Customer::parse("+393331112222")?;
//! let marketing = Message::Template(Category::Marketing);
//!
//! let at_11 = Timestamp::parse("2024-07-15T11:00:00Z")?;
//! let first = ledger.apply(&Event::new(at_11, customer, marketing))?;
//! assert_eq!(first.cost().unwrap().to_string(), "0.14 EUR"); // opens a marketing conversation
//!
//! let at_21 = Timestamp::parse("2024-07-15T21:00:00Z")?;
//! let second = ledger.apply(&Event::new(at_21, customer, marketing))?;
//! assert!(!second.is_charged()); // joins it
//!
//! // The customer never wrote: free-form is not allowed, a utility template would cost 0.10.
//! assert!(matches!(ledger.free_form_status(customer, at_21), spoki_billing::FreeFormStatus::Closed { .. }));
//! let quote = ledger.quote_template(customer, Category::Utility, at_21)?;
//! assert_eq!(quote.cost().unwrap().to_string(), "0.10 EUR");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod bill;
mod category;
mod customer;
mod event;
pub mod jsonl;
mod ledger;
#[cfg(feature = "webhook")]
mod live;
mod money;
mod queries;
mod rate_card;
mod reorder;
mod rules;
#[cfg(feature = "redis")]
mod shared;
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
pub use category::{Category, CategorySet, ConversationKind, UnknownCategory};
pub use customer::{Customer, CustomerError, MAX_DIGITS, MIN_DIGITS};
pub use event::{Event, EventError, Message};
pub use ledger::{BillingError, CustomerId, Ledger, LedgerTotals, Refused};
#[cfg(feature = "webhook")]
pub use live::{LiveBilling, LiveError};
pub use queries::{CampaignEstimate, Coverage};
pub use rate_card::{Market, MarketId, MarketPrices, OTHER_MARKET, RateCard, RateCardError};
pub use reorder::{ReorderingLedger, Settled};
pub use rules::{
    BillingEffect, CONVERSATION_SECONDS, ENTRY_POINT_OFFER_SECONDS, ENTRY_POINT_SECONDS,
    FreeFormStatus, FreeReason, OpenedConversation, PricingModel, RejectReason,
    SERVICE_WINDOW_SECONDS, UnknownPricingModel,
};
#[cfg(feature = "redis")]
pub use shared::{DEFAULT_HORIZON, SharedBilling, SharedError};
pub use snapshot::RestoreError;
pub use spoki_models::{Currency, Money, MoneyError};
pub use time::{DAY_SECONDS, HOUR_SECONDS, Timestamp, TimestampError, Window};
pub use traffic::{TemplateCategories, TrafficError};
