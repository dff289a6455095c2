//! Messages exchanged with a customer, as the billing model sees them.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Deserialize;

use crate::category::Category;
use crate::customer::{Customer, CustomerError};
use crate::ledger::BillingError;
use crate::time::{Timestamp, TimestampError};

/// What happened, from the billing model's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Message {
    /// The customer wrote to the business.
    Inbound,
    /// The customer wrote through a click-to-WhatsApp ad or a Facebook Page call-to-action
    /// button: a reply within 24 hours opens a free entry point.
    InboundViaFreeEntryPoint,
    /// The business sent an approved template of this category: marketing, utility or
    /// authentication (a ledger refuses a service template, which does not exist).
    Template(Category),
    /// The business sent anything that is not a template (text, media, interactive).
    FreeForm,
}

impl Message {
    /// A template of `category`; refused for service, which no template carries.
    pub fn template(category: Category) -> Result<Message, BillingError> {
        let message = Message::Template(category);
        message.check().map(|()| message)
    }

    /// Refuses a service template, the one message the enum can spell that cannot exist.
    pub(crate) const fn check(self) -> Result<(), BillingError> {
        match self {
            Message::Template(Category::Service) => Err(BillingError::ServiceTemplate),
            _ => Ok(()),
        }
    }

    /// Whether the business sent it.
    pub const fn is_outbound(self) -> bool {
        matches!(self, Message::Template(_) | Message::FreeForm)
    }

    /// The category an outbound message is billed under (free-form counts as service).
    pub fn billing_category(self) -> Option<Category> {
        match self {
            Message::Template(category) => Some(category),
            Message::FreeForm => Some(Category::Service),
            Message::Inbound | Message::InboundViaFreeEntryPoint => None,
        }
    }
}

/// One message with its instant and customer.
///
/// For outbound messages `at` is the instant that counts for billing: the delivery time when
/// known. Failed sends are not events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Event {
    /// When it was received (inbound) or delivered (outbound).
    pub at: Timestamp,
    /// The customer on the other side.
    pub customer: Customer,
    /// What was exchanged.
    pub message: Message,
}

/// Why a JSON event is not valid.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Malformed JSON or unknown `direction` / `kind` / `category` value.
    #[error("event JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The line is not UTF-8.
    #[error("event is not UTF-8")]
    NotUtf8,
    /// Bad `at`.
    #[error(transparent)]
    Timestamp(#[from] TimestampError),
    /// Bad `customer`.
    #[error(transparent)]
    Customer(#[from] CustomerError),
    /// An outbound template must name marketing, utility or authentication.
    #[error("outbound template needs a category of marketing, utility or authentication")]
    TemplateCategory,
    /// Free-form messages are billed as service; another category is a contradiction.
    #[error("free-form message cannot carry category {0}")]
    FreeFormCategory(Category),
    /// Only the customer's message can come through an entry point.
    #[error("entry_point is only meaningful on inbound messages")]
    EntryPointOnOutbound,
    /// A customer cannot send a template, and an inbound message has no category to bill.
    #[error("an inbound message is neither a template nor billed under a category")]
    InboundTemplate,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Direction {
    Inbound,
    Outbound,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Template,
    FreeForm,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum EntryPoint {
    FreeEntryPoint,
}

/// The JSON shape of an event (vectors and JSONL logs); borrows strings to avoid allocating.
#[derive(Deserialize)]
struct EventRecord<'a> {
    #[serde(borrow)]
    at: Cow<'a, str>,
    direction: Direction,
    #[serde(borrow)]
    customer: Cow<'a, str>,
    kind: Kind,
    #[serde(default)]
    category: Option<Category>,
    #[serde(default)]
    entry_point: Option<EntryPoint>,
}

impl Event {
    /// An event.
    pub const fn new(at: Timestamp, customer: Customer, message: Message) -> Self {
        Self {
            at,
            customer,
            message,
        }
    }

    /// Parses one event in the vectors' JSON shape:
    /// `{"at": "2024-07-15T10:00:00Z", "direction": "outbound", "customer": "+39…",
    ///   "kind": "template", "category": "marketing"}`, plus
    /// `"entry_point": "free_entry_point"` on an inbound message through an ad or Page button.
    pub fn from_json(json: &str) -> Result<Self, EventError> {
        let record: EventRecord<'_> = serde_json::from_str(json)?;
        Self::from_record(&record)
    }

    /// Same as [`Event::from_json`] for a line as read, in bytes (invalid UTF-8 is refused).
    pub fn from_json_bytes(json: &[u8]) -> Result<Self, EventError> {
        // std's validation then `from_str` beats serde_json's own `from_slice` by about 10 %.
        Self::from_json(std::str::from_utf8(json).map_err(|_| EventError::NotUtf8)?)
    }

    /// Same as [`Event::from_json`] for an already parsed value.
    pub fn from_json_value(value: &serde_json::Value) -> Result<Self, EventError> {
        let record = EventRecord::deserialize(value)?;
        Self::from_record(&record)
    }

    fn from_record(record: &EventRecord<'_>) -> Result<Self, EventError> {
        let at = Timestamp::parse(&record.at)?;
        let customer = Customer::parse(&record.customer)?;
        let message = match (record.direction, record.kind) {
            (Direction::Inbound, Kind::Template) => return Err(EventError::InboundTemplate),
            (Direction::Inbound, _) if record.category.is_some() => {
                return Err(EventError::InboundTemplate);
            }
            (Direction::Inbound, Kind::FreeForm) => match record.entry_point {
                Some(EntryPoint::FreeEntryPoint) => Message::InboundViaFreeEntryPoint,
                None => Message::Inbound,
            },
            (Direction::Outbound, _) if record.entry_point.is_some() => {
                return Err(EventError::EntryPointOnOutbound);
            }
            (Direction::Outbound, Kind::Template) => match record.category {
                Some(Category::Service) | None => return Err(EventError::TemplateCategory),
                Some(category) => Message::Template(category),
            },
            (Direction::Outbound, Kind::FreeForm) => match record.category {
                None | Some(Category::Service) => Message::FreeForm,
                Some(other) => return Err(EventError::FreeFormCategory(other)),
            },
        };
        Ok(Event::new(at, customer, message))
    }

    /// The event as one line of JSON, in the shape [`Event::from_json`] reads.
    pub fn to_json(&self) -> String {
        let mut line = String::with_capacity(128);
        self.write_json(&mut line);
        line
    }

    /// Appends [`Event::to_json`] to `out` (no newline), reusing its allocation.
    pub fn write_json(&self, out: &mut String) {
        let (direction, kind, category) = match self.message {
            Message::Inbound | Message::InboundViaFreeEntryPoint => ("inbound", "free_form", None),
            Message::Template(category) => ("outbound", "template", Some(category)),
            Message::FreeForm => ("outbound", "free_form", None),
        };
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            r#"{{"at":"{}","direction":"{direction}","customer":"{}","kind":"{kind}","category":"#,
            self.at, self.customer
        );
        match category {
            Some(category) => {
                let _ = write!(out, r#""{category}""#);
            }
            None => out.push_str("null"),
        }
        if self.message == Message::InboundViaFreeEntryPoint {
            out.push_str(r#","entry_point":"free_entry_point""#);
        }
        out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_of_event() {
        let cases = [
            (
                r#"{"at":"2024-07-15T10:00:00Z","direction":"inbound","customer":"+393331112222","kind":"free_form","category":null}"#,
                Message::Inbound,
            ),
            (
                r#"{"at":"2024-07-15T10:00:00Z","direction":"inbound","customer":"+393331112222","kind":"free_form","category":null,"entry_point":"free_entry_point"}"#,
                Message::InboundViaFreeEntryPoint,
            ),
            (
                r#"{"at":"2024-07-15T10:00:00Z","direction":"outbound","customer":"+393331112222","kind":"template","category":"utility"}"#,
                Message::Template(Category::Utility),
            ),
            (
                r#"{"at":"2024-07-15T10:00:00Z","direction":"outbound","customer":"+393331112222","kind":"free_form"}"#,
                Message::FreeForm,
            ),
        ];
        for (json, message) in cases {
            let event = Event::from_json(json).unwrap();
            assert_eq!(event.message, message);
            assert_eq!(Event::from_json(&event.to_json()).unwrap(), event);
        }
    }

    #[test]
    fn rejects_contradictory_events() {
        let template_without_category = r#"{"at":"2024-07-15T10:00:00Z","direction":"outbound","customer":"+393331112222","kind":"template","category":null}"#;
        assert!(matches!(
            Event::from_json(template_without_category),
            Err(EventError::TemplateCategory)
        ));
        let free_form_marketing = r#"{"at":"2024-07-15T10:00:00Z","direction":"outbound","customer":"+393331112222","kind":"free_form","category":"marketing"}"#;
        assert!(matches!(
            Event::from_json(free_form_marketing),
            Err(EventError::FreeFormCategory(Category::Marketing))
        ));
        let outbound_entry = r#"{"at":"2024-07-15T10:00:00Z","direction":"outbound","customer":"+393331112222","kind":"free_form","entry_point":"free_entry_point"}"#;
        assert!(matches!(
            Event::from_json(outbound_entry),
            Err(EventError::EntryPointOnOutbound)
        ));
        let bad_number = r#"{"at":"2024-07-15T10:00:00Z","direction":"inbound","customer":"39333","kind":"free_form"}"#;
        assert!(matches!(
            Event::from_json(bad_number),
            Err(EventError::Customer(_))
        ));
    }
}
