//! The ledger: every customer's state, stored compactly and indexed by number, the totals, and
//! applying events in order. The rules are in `rules`, the sender's questions in `queries`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};

use serde::Serialize;

use crate::customer::Customer;
use crate::event::{Event, Message};
use crate::rate_card::{RateCard, RateCardError};
use crate::rules::{CustomerState, Outcome, PricingModel};
use crate::time::Timestamp;
use spoki_models::{Currency, Money};

/// Why the ledger refused an event.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// The customer has no market in the rate card.
    #[error(transparent)]
    RateCard(#[from] RateCardError),
    /// Each customer's events must be applied in time order (different customers' need not be).
    #[error(
        "event at {at} is earlier than the customer's last applied event at {last}; \
         sort events, or give a ReorderingLedger a tolerance"
    )]
    OutOfOrder {
        /// The late event's instant.
        at: Timestamp,
        /// The customer's latest instant already applied.
        last: Timestamp,
    },
    /// The id was issued by another ledger, or before [`Ledger::forget_idle`] recycled
    /// customer slots.
    #[error("customer id is from another ledger, or stale: forget_idle ran after it was issued")]
    StaleCustomerId,
    /// The running total would overflow: the event is refused and nothing changes.
    #[error("the ledger's total cost would overflow")]
    TotalOverflow,
    /// Spoki's credit is in EUR; a rate card in another currency cannot be set against it.
    #[error("the rate card is in {0}, Spoki's credit in EUR")]
    NotEur(Currency),
    /// A template of the service category: templates are marketing, utility or authentication.
    #[error("no template is of the service category; free-form messages are billed as service")]
    ServiceTemplate,
}
/// Running totals of everything a [`Ledger`] has applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LedgerTotals {
    /// Events applied, rejected ones included.
    pub events: u64,
    /// Conversations opened (free entry points included).
    pub conversations: u64,
    /// Conversations opened with a non-zero price.
    pub paid_conversations: u64,
    /// Per-message pricing: messages charged a non-zero price.
    pub charged_messages: u64,
    /// Outbound messages refused.
    pub rejected: u64,
    /// Sum of every cost, in the rate card's currency.
    #[serde(serialize_with = "crate::money::serialize_amount")]
    pub total_cost: Money,
}

impl LedgerTotals {
    /// The totals with `outcome` added, or `None` if the cost would overflow.
    /// Nothing yet, in `currency`.
    pub const fn zero(currency: Currency) -> LedgerTotals {
        LedgerTotals {
            events: 0,
            conversations: 0,
            paid_conversations: 0,
            charged_messages: 0,
            rejected: 0,
            total_cost: Money::zero(currency),
        }
    }

    fn with(mut self, outcome: &Outcome) -> Option<LedgerTotals> {
        if let Some(cost) = outcome.cost() {
            self.total_cost = self.total_cost.checked_add(cost)?;
        }
        self.events += 1;
        match outcome {
            Outcome::Opened(opened) => {
                self.conversations += 1;
                self.paid_conversations += u64::from(!opened.price.is_zero());
            }
            Outcome::Charged { price, .. } => {
                self.charged_messages += u64::from(!price.is_zero());
            }
            Outcome::Rejected { .. } => self.rejected += 1,
            _ => {}
        }
        Some(self)
    }
}

/// A customer interned in a [`Ledger`], for callers that apply many events to known customers.
/// It belongs to the ledger that issued it (and its clones): another ledger refuses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CustomerId {
    ledger: u32,
    slot: u32,
    generation: u32,
}

/// Tells ledgers apart, so that an id from one is never applied to another's customer.
static NEXT_LEDGER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Multiplicative hasher for the `u64` phone-number keys: one 128-bit multiply, far cheaper
/// than SipHash, and keys are not attacker-chosen hash-flooding material in a billing replay.
#[derive(Default, Clone, Copy)]
pub(crate) struct NumberHasher(u64);

impl Hasher for NumberHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, key: u64) {
        let product = u128::from(key ^ self.0) * 0x9E37_79B9_7F4A_7C15_u128;
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }
}

pub(crate) type NumberMap<V> = HashMap<u64, V, BuildHasherDefault<NumberHasher>>;

/// Bills a stream of events for one business number under one pricing model and rate card.
///
/// Each customer's events must come in time order (equal instants in the order given); events
/// of different customers interleave freely. [`crate::bill_events`] sorts a batch for you, and a
/// [`crate::ReorderingLedger`] takes events that arrive late. Each customer costs one 72-byte
/// state plus an index entry, however long its history, so a million customers need about
/// 100 MB.
#[derive(Clone, Debug)]
pub struct Ledger {
    pub(crate) model: PricingModel,
    pub(crate) rate_card: RateCard,
    /// This ledger's identity, carried by the ids it issues.
    id: u32,
    pub(crate) index: NumberMap<u32>,
    pub(crate) states: Vec<CustomerState>,
    vacant: Vec<u32>,
    generation: u32,
    pub(crate) totals: LedgerTotals,
}

impl Ledger {
    /// An empty ledger.
    pub fn new(model: PricingModel, rate_card: RateCard) -> Self {
        Self::with_capacity(model, rate_card, 0)
    }

    /// An empty ledger with room for `customers` customers before reallocating.
    pub fn with_capacity(model: PricingModel, rate_card: RateCard, customers: usize) -> Self {
        let mut index = NumberMap::default();
        index.reserve(customers);
        let totals = LedgerTotals::zero(rate_card.currency());
        Self {
            model,
            rate_card,
            id: NEXT_LEDGER.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            index,
            states: Vec::with_capacity(customers),
            vacant: Vec::new(),
            generation: 0,
            totals,
        }
    }

    /// The pricing model in use.
    pub const fn model(&self) -> PricingModel {
        self.model
    }

    /// The rate card in use.
    pub const fn rate_card(&self) -> &RateCard {
        &self.rate_card
    }

    /// Totals of everything applied so far.
    pub const fn totals(&self) -> LedgerTotals {
        self.totals
    }

    /// Customers currently remembered.
    pub fn customer_count(&self) -> usize {
        self.index.len()
    }

    /// Approximate heap bytes held for customer state (index and state table).
    pub fn state_bytes(&self) -> usize {
        // hashbrown stores key + value per bucket plus one control byte.
        let bucket = size_of::<u64>() + size_of::<u32>() + 1;
        self.index.capacity() * bucket
            + self.states.capacity() * size_of::<CustomerState>()
            + self.vacant.capacity() * size_of::<u32>()
    }

    /// The id of `customer`, adding it (with its market resolved once) if new.
    pub fn intern(&mut self, customer: Customer) -> Result<CustomerId, BillingError> {
        let slot = match self.index.entry(customer.digits()) {
            Entry::Occupied(entry) => *entry.get(),
            Entry::Vacant(entry) => {
                let state = CustomerState::new(self.rate_card.market_for(customer)?);
                let slot = match self.vacant.pop() {
                    Some(slot) => {
                        self.states[slot as usize] = state;
                        slot
                    }
                    None => {
                        self.states.push(state);
                        (self.states.len() - 1) as u32
                    }
                };
                *entry.insert(slot)
            }
        };
        Ok(CustomerId {
            ledger: self.id,
            slot,
            generation: self.generation,
        })
    }

    /// Applies one event and says what it did to the bill. A refused event leaves the ledger
    /// as it was: a new customer is not added either.
    pub fn apply(&mut self, event: &Event) -> Result<Outcome, BillingError> {
        event.message.check()?;
        if let Some(last) = self.last_applied(event.customer) {
            check_order(event.at, last)?;
        }
        let id = self.intern(event.customer)?;
        self.apply_to(id, event.at, event.message)
    }

    /// The instant of the latest event applied to `customer`, if any.
    pub fn last_applied(&self, customer: Customer) -> Option<Timestamp> {
        let slot = *self.index.get(&customer.digits())?;
        self.states[slot as usize].last_at()
    }

    /// Applies a message to an interned customer: the fast path for bulk replays.
    pub fn apply_to(
        &mut self,
        customer: CustomerId,
        at: Timestamp,
        message: Message,
    ) -> Result<Outcome, BillingError> {
        if customer.ledger != self.id || customer.generation != self.generation {
            return Err(BillingError::StaleCustomerId);
        }
        message.check()?;
        // Stepped on a copy, committed only when the totals can take it.
        let mut state = self.states[customer.slot as usize];
        if let Some(last) = state.last_at() {
            check_order(at, last)?;
        }
        let prices = self.rate_card.billed_prices(state.market);
        let outcome = state.step(self.model, prices, at.unix_seconds(), message);
        self.totals = self
            .totals
            .with(&outcome)
            .ok_or(BillingError::TotalOverflow)?;
        self.states[customer.slot as usize] = state;
        Ok(outcome)
    }

    /// Bills events from now on with `rate_card` (Meta changes rates at the start of a quarter).
    /// Conversations already open keep the price they were charged at opening (R10). Every
    /// known customer's market is resolved again; if one has no market in the new card, the
    /// ledger is left unchanged and the error returned.
    pub fn replace_rate_card(&mut self, rate_card: RateCard) -> Result<(), BillingError> {
        let mut markets = Vec::with_capacity(self.index.len());
        for (&digits, &slot) in &self.index {
            let customer =
                Customer::from_digits(digits).expect("index keys come from valid customers");
            markets.push((slot, rate_card.market_for(customer)?));
        }
        for (slot, market) in markets {
            self.states[slot as usize].market = market;
        }
        self.rate_card = rate_card;
        Ok(())
    }

    /// Forgets every customer with nothing open at `now` (no service window, conversation,
    /// entry point or pending offer): they are billed exactly as new ones from then on.
    /// Returns how many were forgotten. Invalidates previously issued [`CustomerId`]s.
    pub fn forget_idle(&mut self, now: Timestamp) -> usize {
        let now = now.unix_seconds();
        let states = &self.states;
        let vacant = &mut self.vacant;
        let before = self.index.len();
        self.index.retain(|_, slot| {
            let idle = states[*slot as usize].is_idle(now);
            if idle {
                vacant.push(*slot);
            }
            !idle
        });
        let forgotten = before - self.index.len();
        if forgotten > 0 {
            self.generation = self.generation.wrapping_add(1);
        }
        forgotten
    }
}

/// Refuses an event earlier, to the second the rules work in, than its customer's last one.
fn check_order(at: Timestamp, last: Timestamp) -> Result<(), BillingError> {
    if at.unix_seconds() < last.unix_seconds() {
        Err(BillingError::OutOfOrder { at, last })
    } else {
        Ok(())
    }
}
