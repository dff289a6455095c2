//! Billing events from live traffic: the webhook deliveries Spoki sends about messages.
//!
//! An inbound message opens the customer's service window; an outbound one is billed once,
//! when it is first reported `Sent` (its later `Delivered`, `Read` or `Error` bill nothing).
//! Deliveries can arrive late or twice: deduplicate them on `event_uuid`, and feed a
//! [`crate::ReorderingLedger`], which takes each customer's events up to a tolerance late.

use crate::{Category, Customer, CustomerError, Event, Message, Timestamp};
use std::collections::HashMap;

use spoki_models::{Phone, SendStatus, Template, TemplateCategory};
use spoki_webhook::{Delivery, Event as WebhookEvent};

/// The categories of an account's templates, by id. A delivery names its template (an id, or
/// an object with one) but not the category it is billed under; this cache, filled from the
/// API's template list, answers for it.
#[derive(Debug, Clone, Default)]
pub struct TemplateCategories(HashMap<i64, TemplateCategory>);

impl TemplateCategories {
    /// An empty cache.
    pub fn new() -> TemplateCategories {
        TemplateCategories::default()
    }

    /// Caches the category of every template in `templates` (the answer of `templates_list`).
    pub fn extend<'a>(&mut self, templates: impl IntoIterator<Item = &'a Template>) {
        for template in templates {
            if let Some(category) = &template.category {
                self.0.insert(template.id, category.clone());
            }
        }
    }

    /// Caches the category of one template.
    pub fn insert(&mut self, id: i64, category: TemplateCategory) {
        self.0.insert(id, category);
    }

    /// The category of the template a delivery names: `7001` or `{"id": 7001, …}`.
    pub fn of(&self, template: &serde_json::Value) -> Option<TemplateCategory> {
        let id = template.as_i64().or_else(|| template.get("id")?.as_i64())?;
        self.0.get(&id).cloned()
    }

    /// The billing event `delivery` stands for, priced with these categories, and the uuid
    /// of the message it reports (so a send reported twice is billed once).
    pub fn billable<'d>(
        &self,
        delivery: &'d Delivery,
    ) -> Result<Option<(Event, Option<&'d str>)>, TrafficError> {
        let Some(event) = Event::from_delivery(delivery, |t| self.of(t))? else {
            return Ok(None);
        };
        let uuid = match &delivery.event {
            WebhookEvent::MessageOutbound(m) => m.uuid.as_deref(),
            _ => None,
        };
        Ok(Some((event, uuid)))
    }
}

/// Why a delivery cannot become a billing event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrafficError {
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
    /// A message this business sent, as the client reports its own sends: to `to`, a template
    /// of `template` category, or free-form when `None`. An unknown category cannot be priced.
    pub fn sent(
        at: Timestamp,
        to: &Phone,
        template: Option<&TemplateCategory>,
    ) -> Result<Event, TrafficError> {
        let message = match template {
            Some(category) => Message::Template(
                Category::try_from(category)
                    .map_err(|unknown| TrafficError::UnknownTemplate(unknown.0))?,
            ),
            None => Message::FreeForm,
        };
        Ok(Event::new(at, Customer::from(to), message))
    }

    /// The billing event `delivery` stands for, or `None` when it bills nothing (a later status
    /// of a sent message, or another event).
    ///
    /// `category_of` names the category of a template from the delivery's `template` value (an
    /// id, or an object), as your templates list says (Spoki's delivery does not carry it); an
    /// unknown category cannot be priced and is refused.
    pub fn from_delivery(
        delivery: &Delivery,
        category_of: impl Fn(&serde_json::Value) -> Option<TemplateCategory>,
    ) -> Result<Option<Event>, TrafficError> {
        // The message's own time first; the envelope's emission time when it has none.
        let envelope = delivery
            .timestamp
            .map(|t| Timestamp::from_unix_seconds(t.floor() as i64));
        match &delivery.event {
            WebhookEvent::MessageInbound(m) => {
                let customer = customer(m.from_phone.as_deref())?;
                let at = m.created_at.or(envelope).ok_or(TrafficError::NoTime)?;
                Ok(Some(Event::new(at, customer, Message::Inbound)))
            }
            WebhookEvent::MessageOutbound(m) => {
                if m.send_status != Some(SendStatus::Sent) {
                    return Ok(None);
                }
                let customer = customer(m.to_phone.as_deref())?;
                let at = m
                    .created_at
                    .or(m.sent_datetime)
                    .or(envelope)
                    .ok_or(TrafficError::NoTime)?;
                // The send side's capitalized `Template` counts too.
                let is_template = m
                    .content_type
                    .as_ref()
                    .map(|c| c.as_str().eq_ignore_ascii_case("template"));
                let message = match (&m.template, is_template) {
                    // (A `null` template reads as `None`.)
                    (Some(template), _) => category_of(template)
                        .and_then(|category| Category::try_from(&category).ok())
                        .map(Message::Template)
                        .ok_or_else(|| TrafficError::UnknownTemplate(template.to_string()))?,
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
