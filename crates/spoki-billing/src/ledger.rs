//! The ledger: every customer's state, stored compactly and indexed by number, the totals, and
//! applying events in order. The rules are in `rules`, the sender's questions in `queries`.

use std::collections::HashMap;

use serde::Serialize;

use crate::customer::Customer;
use crate::event::{Event, Message};
use crate::rate_card::{MarketId, RateCard, RateCardError};
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

    /// Adds `outcome` in place; when the cost would overflow, nothing changes.
    fn add(&mut self, outcome: &Outcome) -> Result<(), BillingError> {
        if let Some(cost) = outcome.cost() {
            self.total_cost =
                (self.total_cost.checked_add(cost)).ok_or(BillingError::TotalOverflow)?;
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
        Ok(())
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
/// customers' states, few enough to keep the copies in registers and L1.
const BATCH: usize = 8;

/// Tells ledgers apart, so that an id from one is never applied to another's customer.
static NEXT_LEDGER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Customers by phone number. `FxHash` (one multiply per key) rather than SipHash: the keys
/// are validated phone numbers, not hash-flooding material, and the lookup is on every event.
pub(crate) type NumberMap<V> = HashMap<u64, V, rustc_hash::FxBuildHasher>;

/// Bills a stream of events for one business number under one pricing model and rate card.
///
/// Each customer's events must come in time order (equal instants in the order given); events
/// of different customers interleave freely. [`crate::bill_events`] sorts a batch for you, and a
/// [`crate::ReorderingLedger`] takes events that arrive late. Each customer costs one 64-byte
/// state, its market and an index entry, however long its history, so a million customers need about
/// 100 MB.
#[derive(Clone, Debug)]
pub struct Ledger {
    pub(crate) model: PricingModel,
    pub(crate) rate_card: RateCard,
    /// This ledger's identity, carried by the ids it issues.
    id: u32,
    pub(crate) index: NumberMap<u32>,
    pub(crate) states: Vec<CustomerState>,
    /// Each customer's market, beside its state (so that a state is one cache line).
    pub(crate) markets: Vec<MarketId>,
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
            markets: Vec::with_capacity(customers),
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
            + self.markets.capacity() * size_of::<MarketId>()
            + self.vacant.capacity() * size_of::<u32>()
    }

    /// The id of `customer`, adding it (with its market resolved once) if new.
    pub fn intern(&mut self, customer: Customer) -> Result<CustomerId, BillingError> {
        let slot = match self.index.get(&customer.digits()) {
            Some(&slot) => slot,
            None => self.add(customer)?,
        };
        Ok(CustomerId {
            ledger: self.id,
            slot,
            generation: self.generation,
        })
    }

    /// Adds a customer the index does not have, with its market resolved once.
    fn add(&mut self, customer: Customer) -> Result<u32, BillingError> {
        let market = self.rate_card.market_for(customer)?;
        let slot = match self.vacant.pop() {
            Some(slot) => {
                self.states[slot as usize] = CustomerState::NEW;
                self.markets[slot as usize] = market;
                slot
            }
            None => {
                self.states.push(CustomerState::NEW);
                self.markets.push(market);
                (self.states.len() - 1) as u32
            }
        };
        self.index.insert(customer.digits(), slot);
        Ok(slot)
    }

    /// Applies one event and says what it did to the bill. A refused event leaves the ledger
    /// as it was: a new customer is not added either.
    pub fn apply(&mut self, event: &Event) -> Result<Outcome, BillingError> {
        let mut outcome = None;
        self.apply_chunks::<1>(std::slice::from_ref(event), |_, o| outcome = Some(o))
            .map_err(|refused| refused.error)?;
        Ok(outcome.expect("an applied event has an outcome"))
    }

    /// Applies a message to an interned customer: the fast path for bulk replays.
    pub fn apply_to(
        &mut self,
        customer: CustomerId,
        at: Timestamp,
        message: Message,
    ) -> Result<Outcome, BillingError> {
        let mut outcome = None;
        self.apply_chunks_to::<1>(&[(customer, at, message)], |_, o| outcome = Some(o))
            .map_err(|refused| refused.error)?;
        Ok(outcome.expect("an applied event has an outcome"))
    }

    /// Applies `events` in order, handing each outcome to `outcome` with the event's index, and
    /// stops at the first event refused (which, as in [`apply`](Self::apply), changes nothing).
    ///
    /// Same result as [`apply`](Self::apply) one by one, and faster: the states of several
    /// customers are fetched together, so their cache misses overlap instead of queueing.
    pub fn apply_batch(
        &mut self,
        events: &[Event],
        outcome: impl FnMut(usize, Outcome),
    ) -> Result<(), Refused> {
        self.apply_chunks::<BATCH>(events, outcome)
    }

    /// [`apply_batch`](Self::apply_batch) for interned customers.
    pub fn apply_batch_to(
        &mut self,
        events: &[(CustomerId, Timestamp, Message)],
        outcome: impl FnMut(usize, Outcome),
    ) -> Result<(), Refused> {
        self.apply_chunks_to::<BATCH>(events, outcome)
    }

    /// Applies events `N` at a time (one for [`apply`](Self::apply), so that a single event
    /// carries no batch's copies).
    fn apply_chunks<const N: usize>(
        &mut self,
        events: &[Event],
        mut outcome: impl FnMut(usize, Outcome),
    ) -> Result<(), Refused> {
        for (chunk_index, chunk) in events.chunks(N).enumerate() {
            let offset = chunk_index * N;
            let mut slots = [0_u32; N];
            let mut added = 0_u32; // bit i: event i's customer is new in this chunk
            let mut prepared = chunk.len();
            let mut early = None;
            for (i, event) in chunk.iter().enumerate() {
                let digits = event.customer.digits();
                let slot = match self.index.get(&digits) {
                    Some(&slot) => Some(slot),
                    None => match self.add(event.customer) {
                        Ok(slot) => {
                            added |= 1 << i;
                            Some(slot)
                        }
                        Err(error) => {
                            early = Some((i, error));
                            None
                        }
                    },
                };
                match slot {
                    Some(slot) => slots[i] = slot,
                    None => {
                        prepared = i;
                        break;
                    }
                }
            }
            let steps = chunk[..prepared].iter().map(|e| (e.at, e.message));
            let result =
                self.step_chunk::<N>(&slots[..prepared], steps, |i, o| outcome(offset + i, o));
            let refused = match (result, early) {
                (Err(refused), _) => Some(refused),
                (Ok(()), Some(early)) => Some(early),
                (Ok(()), None) => None,
            };
            if let Some((i, error)) = refused {
                // Customers added for events that did not apply are forgotten again.
                for (j, &slot) in slots[..prepared].iter().enumerate() {
                    if added & (1 << j) != 0 && self.states[slot as usize].last_at().is_none() {
                        self.index.remove(&chunk[j].customer.digits());
                        self.vacant.push(slot);
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

    fn apply_chunks_to<const N: usize>(
        &mut self,
        events: &[(CustomerId, Timestamp, Message)],
        mut outcome: impl FnMut(usize, Outcome),
    ) -> Result<(), Refused> {
        for (chunk_index, chunk) in events.chunks(N).enumerate() {
            let offset = chunk_index * N;
            let mut slots = [0_u32; N];
            let valid = chunk
                .iter()
                .take_while(|(id, ..)| id.ledger == self.id && id.generation == self.generation)
                .count();
            for (slot, (id, ..)) in slots.iter_mut().zip(&chunk[..valid]) {
                *slot = id.slot;
            }
            let steps = chunk[..valid].iter().map(|&(_, at, message)| (at, message));
            let result =
                self.step_chunk::<N>(&slots[..valid], steps, |i, o| outcome(offset + i, o));
            let refused = match result {
                Err(refused) => Some(refused),
                Ok(()) if valid < chunk.len() => Some((valid, BillingError::StaleCustomerId)),
                Ok(()) => None,
            };
            if let Some((i, error)) = refused {
                return Err(Refused {
                    index: offset + i,
                    error,
                });
            }
        }
        Ok(())
    }

    /// Steps up to `N` events on their customers' states, fetched together first. Stops at the
    /// first refused event, which changes nothing.
    fn step_chunk<const N: usize>(
        &mut self,
        slots: &[u32],
        steps: impl Iterator<Item = (Timestamp, Message)>,
        mut outcome: impl FnMut(usize, Outcome),
    ) -> Result<(), (usize, BillingError)> {
        // Independent loads: the CPU overlaps their cache misses.
        let mut local: [CustomerState; N] = std::array::from_fn(|i| match slots.get(i) {
            Some(&slot) => self.states[slot as usize],
            None => CustomerState::NEW,
        });
        let markets: [MarketId; N] = std::array::from_fn(|i| match slots.get(i) {
            Some(&slot) => self.markets[slot as usize],
            None => MarketId::default(),
        });
        // A customer met twice in the chunk is stepped on its first copy.
        let first: [usize; N] = std::array::from_fn(|i| {
            (0..i)
                .find(|&j| slots.get(j).is_some() && slots.get(j) == slots.get(i))
                .unwrap_or(i)
        });
        let mut result = Ok(());
        for (i, (at, message)) in steps.enumerate() {
            match self.step_one(&mut local[first[i]], markets[first[i]], at, message) {
                Ok(o) => outcome(i, o),
                Err(error) => {
                    result = Err((i, error));
                    break;
                }
            }
        }
        for (i, &slot) in slots.iter().enumerate() {
            if first[i] == i {
                self.states[slot as usize] = local[i];
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
    ) -> Result<Outcome, BillingError> {
        message.check()?;
        if let Some(last) = state.last_at() {
            check_order(at, last)?;
        }
        let mut next = *state;
        let prices = self.rate_card.billed_prices(market);
        let outcome = next.step(self.model, prices, at.unix_seconds(), message);
        self.totals.add(&outcome)?;
        *state = next;
        Ok(outcome)
    }

    /// The instant of the latest event applied to `customer`, if any.
    pub fn last_applied(&self, customer: Customer) -> Option<Timestamp> {
        let slot = *self.index.get(&customer.digits())?;
        self.states[slot as usize].last_at()
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
            self.markets[slot as usize] = market;
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
