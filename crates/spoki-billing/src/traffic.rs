//! Billing events from live traffic: the webhook deliveries Spoki sends about messages.
//!
//! An inbound message opens the customer's service window; an outbound one is billed once,
//! when it is first reported `Sent` (its later `Delivered`, `Read` or `Error` bill nothing).
//! The ledger needs events in time order: deliveries can arrive late or twice, so buffer and
//! sort them (by [`Event::at`]) and deduplicate on `event_uuid` before applying.

use crate::{Customer, CustomerError, Event, Message, TemplateCategory, Timestamp};
use spoki_models::{SendStatus, WebhookDelivery, WebhookEventData};

/// Why a delivery cannot become a billing event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrafficError {
    /// The delivery's `data` does not decode as its event says.
    #[error("the delivery's data does not decode: {0}")]
    Data(#[from] serde_json::Error),
    /// No customer number in the delivery.
    #[error("the delivery names no customer number")]
    NoCustomer,
    /// The customer number is not E.164.
    #[error(transparent)]
    Customer(#[from] CustomerError),
    /// No time in the delivery.
    #[error("the delivery carries no time")]
    NoTime,
    /// A template whose category the caller could not name.
    #[error("template {0} has no category the billing model can price")]
    UnknownTemplate(String),
    /// An outbound message with neither a template nor a content type: it could be either.
    #[error("an outbound message with neither a template nor a content type cannot be billed")]
    Ambiguous,
}

impl Event {
    /// The billing event `delivery` stands for, or `None` when it bills nothing (a later status
    /// of a sent message, or another event).
    ///
    /// `category_of` names the category of a template from the delivery's `template` value (an
    /// id, or an object), as your templates list says; Spoki's delivery does not carry it.
    pub fn from_delivery(
        delivery: &WebhookDelivery,
        category_of: impl Fn(&serde_json::Value) -> Option<TemplateCategory>,
    ) -> Result<Option<Event>, TrafficError> {
        // The message's own time first; the envelope's emission time when it has none.
        let envelope = delivery.timestamp.map(|t| t.floor() as i64);
        match delivery.event_data()? {
            WebhookEventData::MessageInbound(m) => {
                let customer = customer(m.from_phone.as_deref())?;
                let at = time(m.created_at.map(|t| t.unix()).or(envelope))?;
                Ok(Some(Event::new(at, customer, Message::Inbound)))
            }
            WebhookEventData::MessageOutbound(m) => {
                if m.send_status != Some(SendStatus::Sent) {
                    return Ok(None);
                }
                let customer = customer(m.to_phone.as_deref())?;
                let at = time(
                    m.created_at
                        .or(m.sent_datetime)
                        .map(|t| t.unix())
                        .or(envelope),
                )?;
                let is_template = m
                    .content_type
                    .as_deref()
                    .map(|c| c.eq_ignore_ascii_case("template"));
                let message = match (&m.template, is_template) {
                    // (A `null` template reads as `None`.)
                    (Some(template), _) => Message::Template(
                        category_of(template)
                            .ok_or_else(|| TrafficError::UnknownTemplate(template.to_string()))?,
                    ),
                    (_, Some(false)) => Message::FreeForm,
                    (_, Some(true)) => {
                        return Err(TrafficError::UnknownTemplate("(no id)".into()));
                    }
                    (_, None) => return Err(TrafficError::Ambiguous),
                };
                Ok(Some(Event::new(at, customer, message)))
            }
            _ => Ok(None),
        }
    }
}

/// A number from a delivery, which may lack its `+`.
fn customer(phone: Option<&str>) -> Result<Customer, TrafficError> {
    let phone = phone
        .filter(|p| !p.is_empty())
        .ok_or(TrafficError::NoCustomer)?;
    let customer = match phone.strip_prefix('+') {
        Some(_) => Customer::parse(phone)?,
        None => Customer::parse(&format!("+{phone}"))?,
    };
    Ok(customer)
}

fn time(seconds: Option<i64>) -> Result<Timestamp, TrafficError> {
    seconds
        .map(Timestamp::from_unix_seconds)
        .ok_or(TrafficError::NoTime)
}
