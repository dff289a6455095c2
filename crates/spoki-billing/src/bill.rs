//! Billing a batch of events into an itemised bill.

use std::collections::HashMap;

use serde::Serialize;

use crate::category::{Category, ConversationKind};
use crate::customer::Customer;
use crate::event::Event;
use crate::ledger::{BillingError, Ledger};
use crate::rate_card::RateCard;
use crate::rules::{BillingEffect, PricingModel};
use crate::time::Timestamp;
use spoki_models::Money;

/// One conversation on a bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConversationRecord {
    /// The customer.
    pub customer: Customer,
    /// Its kind.
    pub category: ConversationKind,
    /// When it opened.
    pub opened_at: Timestamp,
    /// When it ended (exclusive): 24/72 hours later, or earlier if a free entry point closed it.
    pub expires_at: Timestamp,
    /// Whether it cost anything.
    pub charged: bool,
    /// Its price.
    #[serde(serialize_with = "crate::money::serialize_amount")]
    pub cost: Money,
}

/// One accepted outbound message on a bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageRecord {
    /// Index of the event in the input.
    pub event: usize,
    /// The customer.
    pub customer: Customer,
    /// Its billing category (free-form is service).
    pub category: Category,
    /// Whether it cost anything.
    pub charged: bool,
    /// What it added to the bill: under conversation pricing, the price of the conversation it
    /// opened, zero when it joined one.
    #[serde(serialize_with = "crate::money::serialize_amount")]
    pub cost: Money,
}

/// The itemised result of billing a batch of events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Bill {
    /// Conversations in the order they opened (per-message pricing: free entry points only).
    pub conversations: Vec<ConversationRecord>,
    /// Accepted outbound messages, in input order.
    pub messages: Vec<MessageRecord>,
    /// Input indexes of the outbound messages refused, ascending.
    pub rejected: Vec<usize>,
    /// Sum of every cost, in the rate card's currency.
    #[serde(serialize_with = "crate::money::serialize_amount")]
    pub total_cost: Money,
}

/// Bills `events` under `model` and `rate_card`: sorts them by time (equal instants keep their
/// input order), applies them to a fresh [`Ledger`] and itemises the result.
pub fn bill_events(
    model: PricingModel,
    rate_card: RateCard,
    events: &[Event],
) -> Result<Bill, BillingError> {
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| events[i].at); // stable: ties stay in input order
    let nothing = Money::zero(rate_card.currency());
    let mut ledger = Ledger::new(model, rate_card);
    let mut bill = Bill {
        conversations: Vec::new(),
        messages: Vec::new(),
        rejected: Vec::new(),
        total_cost: nothing,
    };
    // Latest conversation record per (customer, category), to shorten it if a free entry point
    // closes it.
    let mut open_records: HashMap<(Customer, Category), usize> = HashMap::new();
    for index in order {
        let event = &events[index];
        let effect = ledger.apply(event)?;
        // The ledger refused any event that would overflow its total; the bill's is the same.
        bill.total_cost = ledger.totals().total_cost;
        if let BillingEffect::Rejected { .. } = effect {
            bill.rejected.push(index);
            continue;
        }
        if let Some(category) = event.message.billing_category() {
            bill.messages.push(MessageRecord {
                event: index,
                customer: event.customer,
                category,
                charged: effect.is_charged(),
                cost: effect.cost().unwrap_or(nothing),
            });
        }
        if let BillingEffect::Opened(opened) = effect {
            for closed in opened.closed.iter() {
                if let Some(&record) = open_records.get(&(event.customer, closed)) {
                    bill.conversations[record].expires_at = opened.window.start;
                }
            }
            if let Some(category) = category_of(opened.kind) {
                open_records.insert((event.customer, category), bill.conversations.len());
            }
            bill.conversations.push(ConversationRecord {
                customer: event.customer,
                category: opened.kind,
                opened_at: opened.window.start,
                expires_at: opened.window.end,
                charged: !opened.price.is_zero(),
                cost: opened.price,
            });
        }
    }
    bill.messages.sort_by_key(|m| m.event);
    bill.rejected.sort_unstable();
    Ok(bill)
}

fn category_of(kind: ConversationKind) -> Option<Category> {
    match kind {
        ConversationKind::Marketing => Some(Category::Marketing),
        ConversationKind::Utility => Some(Category::Utility),
        ConversationKind::Authentication => Some(Category::Authentication),
        ConversationKind::Service => Some(Category::Service),
        ConversationKind::FreeEntryPoint => None,
    }
}
