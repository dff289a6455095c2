//! The sender's questions, answered from the ledger without changing it: what an event would
//! do, whether free-form may be sent, what a template or a campaign would cost, and whether the
//! paying account covers it.

use std::collections::hash_map::Entry;

use serde::Serialize;

use crate::category::Category;
use crate::customer::Customer;
use crate::event::{Event, Message};
use crate::ledger::{BillingError, Ledger, NumberMap};
use crate::rate_card::MarketId;
use crate::rules::{BillingEffect, CustomerState, FreeFormStatus, RejectReason};
use crate::time::Timestamp;
use spoki_models::{Currency, Money};

impl Ledger {
    /// What `event` would do, without applying it. Meant for instants at or after the last
    /// applied event: the answer is computed from the current state.
    pub fn preview(&self, event: &Event) -> Result<BillingEffect, BillingError> {
        event.message.check()?;
        let (mut state, market) = self.state_of(event.customer)?;
        let prices = self.rate_card.billed_prices(market);
        Ok(state.step(self.model, prices, event.at.unix_seconds(), event.message))
    }

    /// May free-form be sent to `customer` at `now`, and until when?
    pub fn free_form_status(&self, customer: Customer, now: Timestamp) -> FreeFormStatus {
        match self.index.get(&customer.digits()) {
            Some(slot) => self.states[slot.index as usize].free_form_status(now.unix_seconds()),
            None => FreeFormStatus::Closed {
                reason: RejectReason::NoServiceWindow,
            },
        }
    }

    /// What sending a `category` template to `customer` at `now` would do and cost.
    pub fn quote_template(
        &self,
        customer: Customer,
        category: Category,
        now: Timestamp,
    ) -> Result<BillingEffect, BillingError> {
        self.preview(&Event::new(now, customer, Message::template(category)?))
    }

    /// What sending a `category` template to every recipient at `at` would open and cost,
    /// given the history applied so far. A recipient listed twice is sent to twice.
    pub fn estimate_campaign<I>(
        &self,
        recipients: I,
        category: Category,
        at: Timestamp,
    ) -> Result<CampaignEstimate, BillingError>
    where
        I: IntoIterator<Item = Customer>,
    {
        estimate_with(self, recipients, category, at, |customer| {
            self.state_of(customer)
        })
    }

    /// The customer's state and market, or a new customer's.
    pub(crate) fn state_of(
        &self,
        customer: Customer,
    ) -> Result<(CustomerState, MarketId), BillingError> {
        Ok(match self.index.get(&customer.digits()) {
            Some(slot) => (self.states[slot.index as usize], slot.market),
            None => (CustomerState::NEW, self.rate_card.market_for(customer)?),
        })
    }
}

/// A campaign's estimate from each recipient's state as `state_of` gives it: the ledger's
/// settled state, or a reordering ledger's with its pending events counted.
pub(crate) fn estimate_with<I>(
    ledger: &Ledger,
    recipients: I,
    category: Category,
    at: Timestamp,
    state_of: impl Fn(Customer) -> Result<(CustomerState, MarketId), BillingError>,
) -> Result<CampaignEstimate, BillingError>
where
    I: IntoIterator<Item = Customer>,
{
    let mut scratch: NumberMap<(CustomerState, MarketId)> = NumberMap::default();
    let mut estimate = CampaignEstimate {
        recipients: 0,
        new_paid_conversations: 0,
        free_sends: 0,
        total_cost: Money::zero(ledger.rate_card.currency()),
    };
    let message = Message::template(category)?;
    for customer in recipients {
        let (state, market) = match scratch.entry(customer.digits()) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(state_of(customer)?),
        };
        let prices = ledger.rate_card.billed_prices(*market);
        let effect = state.step(ledger.model, prices, at.unix_seconds(), message);
        estimate.recipients += 1;
        match effect.cost() {
            Some(cost) if !cost.is_zero() => {
                estimate.new_paid_conversations += 1;
                estimate.total_cost = estimate
                    .total_cost
                    .checked_add(cost)
                    .ok_or(BillingError::TotalOverflow)?;
            }
            _ => estimate.free_sends += 1,
        }
    }
    Ok(estimate)
}

/// The forecast of one template campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CampaignEstimate {
    /// Sends in the campaign.
    pub recipients: u64,
    /// Sends that cost something: new paid conversations under conversation pricing, charged
    /// messages under per-message pricing (each consumes one unit of Spoki credit).
    pub new_paid_conversations: u64,
    /// Sends that cost nothing (joined an open conversation, free entry point, free utility).
    pub free_sends: u64,
    /// Total cost of the campaign, in the rate card's currency.
    #[serde(serialize_with = "crate::money::serialize_amount")]
    pub total_cost: Money,
}

/// A campaign's estimate beside what the paying account has: the sender's question, in money
/// and in conversations. Unknown (the account did not say) counts as not covered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// The estimate.
    pub estimate: CampaignEstimate,
    /// The account's `current_credit`, in EUR.
    #[serde(serialize_with = "serialize_credit")]
    pub credit: Option<Money>,
    /// The account's `estimated_available_conversations`.
    pub available_conversations: Option<u64>,
}

impl Coverage {
    /// Whether the credit pays the cost (`None` when the account gave no credit).
    pub fn money_covered(&self) -> Option<bool> {
        self.credit.map(|credit| self.estimate.total_cost <= credit)
    }

    /// Whether the account has the paid conversations left (`None` when it did not say).
    pub fn conversations_covered(&self) -> Option<bool> {
        self.available_conversations
            .map(|available| self.estimate.fits_within(available))
    }

    /// Whether the campaign is covered in money and in conversations.
    pub fn covered(&self) -> bool {
        self.money_covered() == Some(true) && self.conversations_covered() == Some(true)
    }
}

impl Ledger {
    /// `estimate` set against `account`, the Spoki account that pays: its credit compared in
    /// money (the rate card must be in EUR, as Spoki's credit is), its available conversations
    /// with the paid sends.
    pub fn coverage(
        &self,
        estimate: CampaignEstimate,
        account: &spoki_models::Account,
    ) -> Result<Coverage, BillingError> {
        let currency = self.rate_card.currency();
        if currency != Currency::EUR {
            return Err(BillingError::NotEur(currency));
        }
        Ok(Coverage {
            estimate,
            credit: account.current_credit,
            available_conversations: account
                .estimated_available_conversations
                .map(|a| u64::try_from(a).unwrap_or(0)),
        })
    }
}

impl CampaignEstimate {
    /// Whether an account with `estimated_available_conversations` left can pay for it.
    pub const fn fits_within(&self, estimated_available_conversations: u64) -> bool {
        self.new_paid_conversations <= estimated_available_conversations
    }

    /// How many paid conversations are missing from the account (0 when it fits).
    pub const fn shortfall(&self, estimated_available_conversations: u64) -> u64 {
        self.new_paid_conversations
            .saturating_sub(estimated_available_conversations)
    }
}

fn serialize_credit<S: serde::Serializer>(credit: &Option<Money>, s: S) -> Result<S::Ok, S::Error> {
    match credit {
        Some(credit) => crate::money::serialize_amount(credit, s),
        None => s.serialize_none(),
    }
}
