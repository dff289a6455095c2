//! The billing state machine: per-customer windows, outcomes, and the sender's questions.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::category::{Category, CategorySet, ConversationKind, TemplateCategory};
use crate::customer::Customer;
use crate::event::{Event, Message};
use crate::money::Money;
use crate::rate_card::{MarketId, RateCard, RateCardError};
use crate::time::{DAY_SECONDS, Timestamp, Window};

/// How long a conversation stays open.
pub const CONVERSATION_SECONDS: i64 = DAY_SECONDS;
/// How long each inbound message keeps the customer-service window open.
pub const SERVICE_WINDOW_SECONDS: i64 = DAY_SECONDS;
/// How long after an ad / Page-button message a reply still opens a free entry point.
pub const ENTRY_POINT_OFFER_SECONDS: i64 = DAY_SECONDS;
/// How long a free entry point stays open.
pub const ENTRY_POINT_SECONDS: i64 = 3 * DAY_SECONDS;

/// "Not open": earlier than any instant, so `at < NEVER` is always false.
const NEVER: i64 = i64::MIN;

/// Which of Meta's pricing schemes bills the events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum PricingModel {
    /// Conversation-based pricing (2023-06-01 to 2025-06-30, the Spoki seed's rules): each
    /// 24-hour conversation of a category is charged once when it opens.
    #[serde(rename = "conversation_2024")]
    Conversation2024,
    /// Per-message pricing (from 2025-07-01): each delivered template is charged on its own,
    /// utility templates inside the service window and free-form messages are free.
    #[serde(rename = "per_message_2025")]
    PerMessage2025,
}

impl PricingModel {
    /// The name used in vectors and on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            PricingModel::Conversation2024 => "conversation_2024",
            PricingModel::PerMessage2025 => "per_message_2025",
        }
    }
}

impl fmt::Display for PricingModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pricing-model name that is not one of the two known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown pricing model {0:?}; expected conversation_2024 or per_message_2025")]
pub struct UnknownPricingModel(pub String);

impl FromStr for PricingModel {
    type Err = UnknownPricingModel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "conversation_2024" => Ok(PricingModel::Conversation2024),
            "per_message_2025" => Ok(PricingModel::PerMessage2025),
            other => Err(UnknownPricingModel(other.to_owned())),
        }
    }
}

/// A conversation that an event opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenedConversation {
    /// Its kind.
    pub kind: ConversationKind,
    /// When it is open: 24 hours, or 72 for a free entry point.
    pub window: Window,
    /// What it costs, charged once now. Zero means opened but not charged.
    pub price: Money,
    /// Conversations a free entry point closed early (they keep their price and end now).
    pub closed: CategorySet,
}

/// Why an outbound message costs nothing under per-message pricing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FreeReason {
    /// Inside an open free entry point.
    FreeEntryPoint,
    /// Free-form messages are not charged.
    FreeForm,
    /// A utility template while the customer-service window is open.
    UtilityInServiceWindow,
}

/// Why an outbound message may not be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// Free-form needs the customer to have written first, and they never have.
    NoServiceWindow,
    /// Free-form needs a customer message in the last 24 hours; the window closed at `closed_at`.
    ServiceWindowClosed {
        /// 24 hours after the customer's last message.
        closed_at: Timestamp,
    },
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::NoServiceWindow => f.write_str(
                "free-form message rejected: the customer has not written, so only templates may be sent",
            ),
            RejectReason::ServiceWindowClosed { closed_at } => write!(
                f,
                "free-form message rejected: the 24-hour service window closed at {closed_at}; send a template"
            ),
        }
    }
}

/// What one event does to the bill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// An inbound message (re)opened the customer-service window; inbound never costs anything.
    InboundRecorded {
        /// The window during which free-form messages may be sent.
        service_window: Window,
        /// When the reply that would open a free entry point must be sent by, if it came through one.
        entry_point_offer_until: Option<Timestamp>,
    },
    /// The message opened a conversation (also a free entry point under per-message pricing).
    Opened(OpenedConversation),
    /// Conversation pricing: the message falls inside an already open conversation, no extra cost.
    Joined {
        /// The open conversation it belongs to.
        kind: ConversationKind,
        /// That conversation's window.
        window: Window,
    },
    /// Per-message pricing: the message is charged on its own.
    Charged {
        /// Its billing category.
        category: Category,
        /// Its price (can be zero if the rate card says so).
        price: Money,
    },
    /// Per-message pricing: the message is free.
    Free {
        /// Why.
        reason: FreeReason,
    },
    /// The message may not be sent; it has no effect.
    Rejected {
        /// Why.
        reason: RejectReason,
    },
}

impl Outcome {
    /// What the event adds to the bill.
    pub const fn cost(&self) -> Money {
        match self {
            Outcome::Opened(opened) => opened.price,
            Outcome::Charged { price, .. } => *price,
            _ => Money::ZERO,
        }
    }

    /// Whether the message was refused.
    pub const fn is_rejected(&self) -> bool {
        matches!(self, Outcome::Rejected { .. })
    }
}

/// Why the ledger refused an event.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// The customer has no market in the rate card.
    #[error(transparent)]
    RateCard(#[from] RateCardError),
    /// Events must be applied in time order.
    #[error("event at {at} is earlier than the last applied event at {last}; sort events first")]
    OutOfOrder {
        /// The late event's instant.
        at: Timestamp,
        /// The latest instant already applied.
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
    NotEur(String),
}

/// Everything the model remembers about one customer: 64 bytes, whatever the history length.
///
/// Only the ends of the windows are kept, as exclusive bounds in Unix seconds; a window that has
/// ended is simply a bound in the past, so expired history takes no room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CustomerState {
    pub(crate) service_window_until: i64,
    pub(crate) entry_point_offer_until: i64,
    pub(crate) entry_point_until: i64,
    /// Per [`Category::index`]: end of the open conversation of that category.
    pub(crate) conversation_until: [i64; 4],
    pub(crate) market: MarketId,
}

impl CustomerState {
    pub(crate) const fn new(market: MarketId) -> Self {
        Self {
            service_window_until: NEVER,
            entry_point_offer_until: NEVER,
            entry_point_until: NEVER,
            conversation_until: [NEVER; 4],
            market,
        }
    }

    fn is_idle(&self, now: i64) -> bool {
        self.service_window_until <= now
            && self.entry_point_offer_until <= now
            && self.entry_point_until <= now
            && self.conversation_until.iter().all(|&until| until <= now)
    }

    fn free_form_status(&self, now: i64) -> FreeFormStatus {
        if now < self.service_window_until {
            FreeFormStatus::Open {
                until: Timestamp::from_unix_seconds(self.service_window_until),
            }
        } else {
            FreeFormStatus::Closed {
                reason: self.rejection(),
            }
        }
    }

    fn rejection(&self) -> RejectReason {
        if self.service_window_until == NEVER {
            RejectReason::NoServiceWindow
        } else {
            RejectReason::ServiceWindowClosed {
                closed_at: Timestamp::from_unix_seconds(self.service_window_until),
            }
        }
    }

    /// Applies one message at `at` (Unix seconds); `prices` are the customer's billed prices.
    fn step(
        &mut self,
        model: PricingModel,
        prices: &[Money; 4],
        at: i64,
        message: Message,
    ) -> Outcome {
        let category = match message {
            Message::Inbound | Message::InboundViaFreeEntryPoint => {
                // R3: every inbound message restarts the service window; R11 anchors the offer.
                self.service_window_until = at.saturating_add(SERVICE_WINDOW_SECONDS);
                let offer = if message == Message::InboundViaFreeEntryPoint {
                    self.entry_point_offer_until = at.saturating_add(ENTRY_POINT_OFFER_SECONDS);
                    Some(Timestamp::from_unix_seconds(self.entry_point_offer_until))
                } else {
                    None
                };
                return Outcome::InboundRecorded {
                    service_window: window_ending(
                        self.service_window_until,
                        SERVICE_WINDOW_SECONDS,
                    ),
                    entry_point_offer_until: offer,
                };
            }
            Message::Template(category) => Category::from(category),
            Message::FreeForm => Category::Service,
        };
        // R4/P4: free-form only inside the service window, whatever else is open.
        if category == Category::Service && at >= self.service_window_until {
            return Outcome::Rejected {
                reason: self.rejection(),
            };
        }
        // R11: the first message sent inside the offer uses it up, whether or not it opens.
        let offered = at < self.entry_point_offer_until;
        if offered {
            self.entry_point_offer_until = NEVER;
        }
        // R12/P5: while a free entry point is open everything is free and nothing opens.
        if at < self.entry_point_until {
            return match model {
                PricingModel::Conversation2024 => Outcome::Joined {
                    kind: ConversationKind::FreeEntryPoint,
                    window: window_ending(self.entry_point_until, ENTRY_POINT_SECONDS),
                },
                PricingModel::PerMessage2025 => Outcome::Free {
                    reason: FreeReason::FreeEntryPoint,
                },
            };
        }
        if offered {
            let mut closed = CategorySet::EMPTY;
            for category in Category::ALL {
                let until = &mut self.conversation_until[category.index()];
                if at < *until {
                    *until = at;
                    closed.insert(category);
                }
            }
            self.entry_point_until = at.saturating_add(ENTRY_POINT_SECONDS);
            return Outcome::Opened(OpenedConversation {
                kind: ConversationKind::FreeEntryPoint,
                window: window_ending(self.entry_point_until, ENTRY_POINT_SECONDS),
                price: Money::ZERO,
                closed,
            });
        }
        match model {
            PricingModel::Conversation2024 => self.step_conversation(prices, at, category),
            PricingModel::PerMessage2025 => {
                if category == Category::Service {
                    Outcome::Free {
                        reason: FreeReason::FreeForm,
                    }
                } else if category == Category::Utility && at < self.service_window_until {
                    Outcome::Free {
                        reason: FreeReason::UtilityInServiceWindow,
                    }
                } else {
                    Outcome::Charged {
                        category,
                        price: prices[category.index()],
                    }
                }
            }
        }
    }

    fn step_conversation(&mut self, prices: &[Money; 4], at: i64, category: Category) -> Outcome {
        // R5: a template joins an open conversation of its own category only.
        // R8: free-form joins any open conversation, preferring service.
        let joined = if category == Category::Service {
            [
                Category::Service,
                Category::Marketing,
                Category::Utility,
                Category::Authentication,
            ]
            .into_iter()
            .find(|c| at < self.conversation_until[c.index()])
        } else {
            Some(category).filter(|c| at < self.conversation_until[c.index()])
        };
        if let Some(open) = joined {
            return Outcome::Joined {
                kind: open.into(),
                window: window_ending(self.conversation_until[open.index()], CONVERSATION_SECONDS),
            };
        }
        // R7/R10: fixed 24 hours from now, priced once at opening.
        self.conversation_until[category.index()] = at.saturating_add(CONVERSATION_SECONDS);
        Outcome::Opened(OpenedConversation {
            kind: category.into(),
            window: Window::starting_at(Timestamp::from_unix_seconds(at), CONVERSATION_SECONDS),
            price: prices[category.index()],
            closed: CategorySet::EMPTY,
        })
    }
}

fn window_ending(end: i64, length: i64) -> Window {
    Window {
        start: Timestamp::from_unix_seconds(end.saturating_sub(length)),
        end: Timestamp::from_unix_seconds(end),
    }
}

/// Whether the business may send free-form messages to a customer now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeFormStatus {
    /// Yes, until `until` (exclusive), unless the customer writes again and extends it.
    Open {
        /// The instant the service window closes.
        until: Timestamp,
    },
    /// No: only templates may be sent.
    Closed {
        /// Why.
        reason: RejectReason,
    },
}

/// Running totals of everything a [`Ledger`] has applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
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
    /// Sum of every cost.
    pub total_cost: Money,
}

impl LedgerTotals {
    /// The totals with `outcome` added, or `None` if the cost would overflow.
    fn with(mut self, outcome: &Outcome) -> Option<LedgerTotals> {
        self.total_cost = self.total_cost.checked_add(outcome.cost())?;
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
/// Events must come in time order (equal instants in the order given); [`crate::bill_events`]
/// sorts a batch for you. Each customer costs one 64-byte state plus an index entry, however
/// long its history, so a month of traffic for a million customers needs about 100 MB.
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
    pub(crate) last_at: Option<Timestamp>,
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
        Self {
            model,
            rate_card,
            id: NEXT_LEDGER.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            index,
            states: Vec::with_capacity(customers),
            vacant: Vec::new(),
            generation: 0,
            last_at: None,
            totals: LedgerTotals::default(),
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

    /// Applies one event and says what it did to the bill. An event refused as out of order
    /// leaves the ledger as it was: its customer is not added either.
    pub fn apply(&mut self, event: &Event) -> Result<Outcome, BillingError> {
        self.check_order(event.at)?;
        let id = self.intern(event.customer)?;
        self.apply_to(id, event.at, event.message)
    }

    fn check_order(&self, at: Timestamp) -> Result<(), BillingError> {
        match self.last_at {
            Some(last) if at < last => Err(BillingError::OutOfOrder { at, last }),
            _ => Ok(()),
        }
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
        self.check_order(at)?;
        // Stepped on a copy, committed only when the totals can take it.
        let mut state = self.states[customer.slot as usize];
        let prices = self.rate_card.billed_prices(state.market);
        let outcome = state.step(self.model, prices, at.unix_seconds(), message);
        self.totals = self
            .totals
            .with(&outcome)
            .ok_or(BillingError::TotalOverflow)?;
        self.states[customer.slot as usize] = state;
        self.last_at = Some(at);
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

    /// What `event` would do, without applying it. Meant for instants at or after the last
    /// applied event: the answer is computed from the current state.
    pub fn preview(&self, event: &Event) -> Result<Outcome, BillingError> {
        let mut state = self.state_of(event.customer)?;
        let prices = self.rate_card.billed_prices(state.market);
        Ok(state.step(self.model, prices, event.at.unix_seconds(), event.message))
    }

    /// May free-form be sent to `customer` at `now`, and until when?
    pub fn free_form_status(&self, customer: Customer, now: Timestamp) -> FreeFormStatus {
        match self.index.get(&customer.digits()) {
            Some(&slot) => self.states[slot as usize].free_form_status(now.unix_seconds()),
            None => FreeFormStatus::Closed {
                reason: RejectReason::NoServiceWindow,
            },
        }
    }

    /// What sending a `category` template to `customer` at `now` would do and cost.
    pub fn quote_template(
        &self,
        customer: Customer,
        category: TemplateCategory,
        now: Timestamp,
    ) -> Result<Outcome, BillingError> {
        self.preview(&Event::new(now, customer, Message::Template(category)))
    }

    /// What sending a `category` template to every recipient at `at` would open and cost,
    /// given the history applied so far. A recipient listed twice is sent to twice.
    pub fn estimate_campaign<I>(
        &self,
        recipients: I,
        category: TemplateCategory,
        at: Timestamp,
    ) -> Result<CampaignEstimate, BillingError>
    where
        I: IntoIterator<Item = Customer>,
    {
        let mut scratch: NumberMap<CustomerState> = NumberMap::default();
        let mut estimate = CampaignEstimate::default();
        for customer in recipients {
            let state = match scratch.entry(customer.digits()) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => entry.insert(self.state_of(customer)?),
            };
            let prices = self.rate_card.billed_prices(state.market);
            let outcome = state.step(
                self.model,
                prices,
                at.unix_seconds(),
                Message::Template(category),
            );
            estimate.recipients += 1;
            if outcome.cost().is_zero() {
                estimate.free_sends += 1;
            } else {
                estimate.new_paid_conversations += 1;
                estimate.total_cost = estimate
                    .total_cost
                    .checked_add(outcome.cost())
                    .ok_or(BillingError::TotalOverflow)?;
            }
        }
        Ok(estimate)
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

    fn state_of(&self, customer: Customer) -> Result<CustomerState, BillingError> {
        Ok(match self.index.get(&customer.digits()) {
            Some(&slot) => self.states[slot as usize],
            None => CustomerState::new(self.rate_card.market_for(customer)?),
        })
    }
}

/// The forecast of one template campaign.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CampaignEstimate {
    /// Sends in the campaign.
    pub recipients: u64,
    /// Sends that cost something: new paid conversations under conversation pricing, charged
    /// messages under per-message pricing (each consumes one unit of Spoki credit).
    pub new_paid_conversations: u64,
    /// Sends that cost nothing (joined an open conversation, free entry point, free utility).
    pub free_sends: u64,
    /// Total cost of the campaign.
    pub total_cost: Money,
}

/// A campaign's estimate beside what the paying account has: the sender's question, in money
/// and in conversations. Unknown (the account did not say) counts as not covered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// The estimate.
    pub estimate: CampaignEstimate,
    /// The account's `current_credit`, in EUR.
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
        if currency != "EUR" {
            return Err(BillingError::NotEur(currency.to_owned()));
        }
        Ok(Coverage {
            estimate,
            credit: account.current_credit.and_then(Money::from_credit),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_state_fits_one_cache_line() {
        assert_eq!(size_of::<CustomerState>(), 64);
    }

    #[test]
    fn instants_at_the_end_of_time_do_not_overflow() {
        let mut state = CustomerState::new(MarketId::default());
        let prices = [Money::from_micros(1); 4];
        let late = i64::MAX - 10;
        let inbound = state.step(
            PricingModel::Conversation2024,
            &prices,
            late,
            Message::Inbound,
        );
        assert!(matches!(inbound, Outcome::InboundRecorded { .. }));
        let reply = state.step(
            PricingModel::Conversation2024,
            &prices,
            late,
            Message::FreeForm,
        );
        assert!(matches!(
            reply,
            Outcome::Opened(OpenedConversation {
                kind: ConversationKind::Service,
                ..
            })
        ));
    }
}
