//! The ledger: every customer's state, stored compactly and indexed by number, the totals, and
//! applying events in order. The rules are in `rules`, the sender's questions in `queries`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde::Serialize;

use crate::customer::Customer;
use crate::event::{Event, Message};
use crate::rate_card::{MarketId, RateCard, RateCardError};
use crate::rules::{BillingEffect, CustomerState, PricingModel};
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
    /// A new rate card in another currency than the one the totals are kept in.
    #[error("the new rate card is in {to}, the ledger's totals in {from}; start a new ledger")]
    CurrencyChange {
        /// The ledger's currency.
        from: Currency,
        /// The new card's.
        to: Currency,
    },
    /// An instant RFC 3339 cannot write (before year 0000 or after 9999).
    #[error("event at {0} is outside the years 0000 to 9999")]
    OutOfRange(Timestamp),
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

    /// Adds `effect` in place; when the cost would overflow, nothing changes.
    fn add(&mut self, effect: &BillingEffect) -> Result<(), BillingError> {
        if let Some(cost) = effect.cost() {
            self.total_cost =
                (self.total_cost.checked_add(cost)).ok_or(BillingError::TotalOverflow)?;
        }
        self.events += 1;
        match effect {
            BillingEffect::Opened(opened) => {
                self.conversations += 1;
                self.paid_conversations += u64::from(!opened.price.is_zero());
            }
            BillingEffect::Charged { price, .. } => {
                self.charged_messages += u64::from(!price.is_zero());
            }
            BillingEffect::Rejected { .. } => self.rejected += 1,
            _ => {}
        }
        Ok(())
    }
}

/// A customer interned in a [`Ledger`], for callers that apply many events to known customers.
/// It belongs to the ledger that issued it (and its clones): another ledger refuses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CustomerId {
    ledger: u32,
    generation: u32,
    slot: Slot,
}

/// Where a customer's state is, and its market: kept in the index and in ids, so that applying
/// an event reads one cache line of state and nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Slot {
    pub(crate) index: u32,
    pub(crate) market: MarketId,
}

/// An event of a batch the ledger refused: the events before it were applied, it and those
/// after it were not.
#[derive(Debug, thiserror::Error)]
#[error("event {index} of the batch was refused: {error}")]
pub struct Refused {
    /// Its position in the batch.
    pub index: usize,
    /// Why.
    #[source]
    pub error: BillingError,
}

/// Events stepped together by the batch methods: enough to overlap the cache misses of their
/// customers' states, few enough to keep the copies in L1. (Measured: 16 beats 8 by about 10 %
/// by id and 20 % by number on 100k customers; 32 is slower again.)
const BATCH: usize = 16;

/// Fills the unused end of a chunk's slot array.
const NO_SLOT: Slot = Slot {
    index: u32::MAX,
    market: MarketId::FIRST,
};

/// Tells ledgers apart, so that an id from one is never applied to another's customer.
static NEXT_LEDGER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Customers by phone number. `FxHash` (one multiply per key) rather than SipHash: the keys
/// are validated phone numbers, not hash-flooding material, and the lookup is on every event.
pub(crate) type NumberMap<V> = HashMap<u64, V, rustc_hash::FxBuildHasher>;

/// Bills a stream of events for one business number under one pricing model and rate card.
///
/// A clone is another ledger: it refuses the original's [`CustomerId`]s (after the two diverge,
/// one slot could hold different customers in each).
///
/// Each customer's events must come in time order (equal instants in the order given); events
/// of different customers interleave freely. [`crate::bill_events`] sorts a batch for you, and a
/// [`crate::ReorderingLedger`] takes events that arrive late. Each customer costs one 64-byte
/// state and a 16-byte index entry, however long its history: a million customers take about
/// 100 MB.
#[derive(Debug)]
pub struct Ledger {
    pub(crate) model: PricingModel,
    pub(crate) rate_card: RateCard,
    /// This ledger's identity, carried by the ids it issues.
    id: u32,
    pub(crate) index: NumberMap<Slot>,
    pub(crate) states: Vec<CustomerState>,
    vacant: Vec<u32>,
    generation: u32,
    pub(crate) totals: LedgerTotals,
}

impl Clone for Ledger {
    fn clone(&self) -> Self {
        Self {
            model: self.model,
            rate_card: self.rate_card.clone(),
            id: next_ledger_id(),
            index: self.index.clone(),
            states: self.states.clone(),
            vacant: self.vacant.clone(),
            generation: self.generation,
            totals: self.totals,
        }
    }
}

fn next_ledger_id() -> u32 {
    NEXT_LEDGER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
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
            id: next_ledger_id(),
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
        // hashbrown stores key and value per bucket, plus one control byte.
        let bucket = size_of::<(u64, Slot)>() + 1;
        self.index.capacity() * bucket
            + self.states.capacity() * size_of::<CustomerState>()
            + self.vacant.capacity() * size_of::<u32>()
    }

    /// The id of `customer`, adding it (with its market resolved once) if new.
    pub fn intern(&mut self, customer: Customer) -> Result<CustomerId, BillingError> {
        let (slot, _) = self.slot_for(customer)?;
        Ok(CustomerId {
            ledger: self.id,
            generation: self.generation,
            slot,
        })
    }

    /// The customer's slot, adding the customer (with its market resolved once) if new: then
    /// `true`.
    fn slot_for(&mut self, customer: Customer) -> Result<(Slot, bool), BillingError> {
        match self.index.entry(customer.digits()) {
            Entry::Occupied(entry) => Ok((*entry.get(), false)),
            Entry::Vacant(entry) => {
                let market = self.rate_card.market_for(customer)?;
                let index = match self.vacant.pop() {
                    Some(index) => {
                        self.states[index as usize] = CustomerState::NEW;
                        index
                    }
                    None => {
                        self.states.push(CustomerState::NEW);
                        (self.states.len() - 1) as u32
                    }
                };
                Ok((*entry.insert(Slot { index, market }), true))
            }
        }
    }

    /// Takes back a customer added for an event that was then refused.
    fn unadd(&mut self, customer: Customer, slot: Slot) {
        self.index.remove(&customer.digits());
        self.vacant.push(slot.index);
    }

    /// Applies one event and says what it did to the bill. A refused event leaves the ledger
    /// as it was: a new customer is not added either.
    pub fn apply(&mut self, event: &Event) -> Result<BillingEffect, BillingError> {
        let (slot, added) = self.slot_for(event.customer)?;
        let applied = self.apply_at(slot, event.at, event.message);
        if applied.is_err() && added {
            self.unadd(event.customer, slot);
        }
        applied
    }

    /// Applies a message to an interned customer: the fast path for bulk replays.
    pub fn apply_to(
        &mut self,
        customer: CustomerId,
        at: Timestamp,
        message: Message,
    ) -> Result<BillingEffect, BillingError> {
        self.check_id(customer)?;
        self.apply_at(customer.slot, at, message)
    }

    fn check_id(&self, customer: CustomerId) -> Result<(), BillingError> {
        if customer.ledger == self.id && customer.generation == self.generation {
            Ok(())
        } else {
            Err(BillingError::StaleCustomerId)
        }
    }

    fn apply_at(
        &mut self,
        slot: Slot,
        at: Timestamp,
        message: Message,
    ) -> Result<BillingEffect, BillingError> {
        let mut state = self.states[slot.index as usize];
        let effect = self.step_one(&mut state, slot.market, at, message)?;
        self.states[slot.index as usize] = state;
        Ok(effect)
    }

    /// Applies `events` in order, handing each effect to `effect` with the event's index, and
    /// stops at the first event refused (which, as in [`apply`](Self::apply), changes nothing).
    ///
    /// Same result as [`apply`](Self::apply) one by one, and faster: the states of several
    /// customers are fetched together, so their cache misses overlap instead of queueing.
    pub fn apply_batch(
        &mut self,
        events: &[Event],
        mut effect: impl FnMut(usize, BillingEffect),
    ) -> Result<(), Refused> {
        for (chunk_index, chunk) in events.chunks(BATCH).enumerate() {
            let offset = chunk_index * BATCH;
            let mut slots = [NO_SLOT; BATCH];
            let mut added = 0_u32; // bit i: event i's customer is new in this chunk
            let mut prepared = chunk.len();
            let mut early = None;
            for (i, event) in chunk.iter().enumerate() {
                match self.slot_for(event.customer) {
                    Ok((slot, new)) => {
                        slots[i] = slot;
                        added |= u32::from(new) << i;
                    }
                    Err(error) => {
                        (prepared, early) = (i, Some((i, error)));
                        break;
                    }
                }
            }
            let steps = chunk[..prepared].iter().map(|e| (e.at, e.message));
            let result = self.step_chunk(&slots[..prepared], steps, |i, o| effect(offset + i, o));
            if let Some((i, error)) = result.err().or(early) {
                // Customers added for events that did not apply are taken back.
                for (j, &slot) in slots[..prepared].iter().enumerate() {
                    let unapplied = self.states[slot.index as usize].last_at().is_none();
                    if added & (1 << j) != 0 && unapplied {
                        self.unadd(chunk[j].customer, slot);
                    }
                }
                return Err(Refused {
                    index: offset + i,
                    error,
                });
            }
        }
        Ok(())
    }

    /// [`apply_batch`](Self::apply_batch) for interned customers.
    pub fn apply_batch_to(
        &mut self,
        events: &[(CustomerId, Timestamp, Message)],
        mut effect: impl FnMut(usize, BillingEffect),
    ) -> Result<(), Refused> {
        for (chunk_index, chunk) in events.chunks(BATCH).enumerate() {
            let offset = chunk_index * BATCH;
            let mut slots = [NO_SLOT; BATCH];
            let valid = chunk
                .iter()
                .take_while(|(id, ..)| self.check_id(*id).is_ok())
                .count();
            for (slot, (id, ..)) in slots.iter_mut().zip(&chunk[..valid]) {
                *slot = id.slot;
            }
            let steps = chunk[..valid].iter().map(|&(_, at, message)| (at, message));
            let result = self.step_chunk(&slots[..valid], steps, |i, o| effect(offset + i, o));
            let stale = (valid < chunk.len()).then_some((valid, BillingError::StaleCustomerId));
            if let Some((i, error)) = result.err().or(stale) {
                return Err(Refused {
                    index: offset + i,
                    error,
                });
            }
        }
        Ok(())
    }

    /// Steps up to [`BATCH`] events on their customers' states, fetched together first. Stops
    /// at the first refused event, which changes nothing.
    fn step_chunk(
        &mut self,
        slots: &[Slot],
        steps: impl Iterator<Item = (Timestamp, Message)>,
        mut effect: impl FnMut(usize, BillingEffect),
    ) -> Result<(), (usize, BillingError)> {
        // Independent loads: the CPU overlaps their cache misses.
        let mut local: [CustomerState; BATCH] = std::array::from_fn(|i| match slots.get(i) {
            Some(slot) => self.states[slot.index as usize],
            None => CustomerState::NEW,
        });
        // A customer met twice in the chunk is stepped on its first copy.
        let first: [usize; BATCH] = std::array::from_fn(|i| {
            (0..i)
                .find(|&j| i < slots.len() && slots[j] == slots[i])
                .unwrap_or(i)
        });
        let mut result = Ok(());
        for (i, (at, message)) in steps.enumerate() {
            let k = first[i];
            match self.step_one(&mut local[k], slots[k].market, at, message) {
                Ok(o) => effect(i, o),
                Err(error) => {
                    result = Err((i, error));
                    break;
                }
            }
        }
        for (i, slot) in slots.iter().enumerate() {
            if first[i] == i {
                self.states[slot.index as usize] = local[i];
            }
        }
        result
    }

    /// One event on one state: committed to `state` and the totals only when both take it.
    #[inline]
    fn step_one(
        &mut self,
        state: &mut CustomerState,
        market: MarketId,
        at: Timestamp,
        message: Message,
    ) -> Result<BillingEffect, BillingError> {
        check_event(message, at, state.last_at())?;
        let mut next = *state;
        let prices = self.rate_card.billed_prices(market);
        let effect = next.step(self.model, prices, at.unix_seconds(), message);
        self.totals.add(&effect)?;
        *state = next;
        Ok(effect)
    }

    /// The instant of the latest event applied to `customer`, if any.
    pub fn last_applied(&self, customer: Customer) -> Option<Timestamp> {
        let slot = self.index.get(&customer.digits())?;
        self.states[slot.index as usize].last_at()
    }

    /// Bills events from now on with `rate_card` (Meta changes rates at the start of a quarter).
    /// Conversations already open keep the price they were charged at opening (R10). Every
    /// known customer's market is resolved again; if one has no market in the new card, the
    /// ledger is left unchanged and the error returned.
    ///
    /// Invalidates previously issued [`CustomerId`]s, which carry the old card's markets.
    pub fn replace_rate_card(&mut self, rate_card: RateCard) -> Result<(), BillingError> {
        let (from, to) = (self.rate_card.currency(), rate_card.currency());
        if from != to {
            return Err(BillingError::CurrencyChange { from, to });
        }
        let mut markets = Vec::with_capacity(self.index.len());
        for &digits in self.index.keys() {
            let customer =
                Customer::from_digits(digits).expect("index keys come from valid customers");
            markets.push(rate_card.market_for(customer)?);
        }
        // The same iteration order: nothing changed the index in between.
        for (slot, market) in self.index.values_mut().zip(markets) {
            slot.market = market;
        }
        self.rate_card = rate_card;
        self.generation = self.generation.wrapping_add(1);
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
            let idle = states[slot.index as usize].is_idle(now);
            if idle {
                vacant.push(slot.index);
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

/// What refuses an event whatever its customer's windows: a service template, an instant the
/// calendar cannot write, or one earlier (to the second the rules work in) than the customer's
/// last event. The one home of these checks, for the ledger and for events held back.
pub(crate) fn check_event(
    message: Message,
    at: Timestamp,
    last: Option<Timestamp>,
) -> Result<(), BillingError> {
    message.check()?;
    if !at.is_rfc3339() {
        // Also keeps clear of `i64::MIN`, the state's "never".
        return Err(BillingError::OutOfRange(at));
    }
    match last {
        Some(last) if at.unix_seconds() < last.unix_seconds() => {
            Err(BillingError::OutOfOrder { at, last })
        }
        _ => Ok(()),
    }
}
