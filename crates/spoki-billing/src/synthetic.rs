//! Deterministic synthetic traffic for measuring replay and in-memory throughput.
//!
//! Not a model of any real business: a plausible mix (customers write, the business answers
//! recent writers with free-form, campaigns send templates) spread evenly over a period, in
//! time order, reproducible from a seed.

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::category::Category;
use crate::customer::Customer;
use crate::event::{Event, Message};
use crate::rate_card::RateCard;
use crate::time::{DAY_SECONDS, Timestamp};

/// A rate card covering every number [`EventGenerator`] produces, with an `Other` market and
/// an authentication-international rate for India (business based in Italy).
pub fn sample_rate_card() -> RateCard {
    RateCard::from_json(SAMPLE_RATE_CARD).expect("the sample rate card is valid")
}

/// The JSON of [`sample_rate_card`].
pub const SAMPLE_RATE_CARD: &str = r#"{
  "currency": "EUR",
  "business_country": "IT",
  "calling_codes": {"39": "IT", "49": "DE", "91": "IN", "55": "BR",
                    "43": "ROWE", "41": "ROWE", "32": "ROWE", "351": "ROWE"},
  "markets": {
    "IT": {"marketing": 0.14, "utility": 0.1, "authentication": 0.12, "service": 0.11},
    "DE": {"marketing": 0.19, "utility": 0.08, "authentication": 0.1, "service": 0.09},
    "IN": {"marketing": 0.03, "utility": 0.01, "authentication": 0.01, "service": 0.02,
           "authentication_international": 0.03},
    "BR": {"marketing": 0.09, "utility": 0.02, "authentication": 0.04, "service": 0.05},
    "ROWE": {"marketing": 0.16, "utility": 0.09, "authentication": 0.11, "service": 0.1},
    "Other": {"marketing": 0.1, "utility": 0.05, "authentication": 0.06, "service": 0.04}
  }
}"#;

/// Number ranges per market: customer `i` gets `BASES[i % 6] + i / 6`.
const BASES: [u64; 6] = [
    393_300_000_000,   // Italy, 12 digits
    4_915_100_000_000, // Germany, 13 digits
    919_800_000_000,   // India, 12 digits
    5_511_900_000_000, // Brazil, 13 digits
    436_640_000_000,   // Austria (regional market), 12 digits
    33_612_000_000,    // France (falls to Other), 11 digits
];

/// How many of the latest writers the business answers with free-form (recent enough that
/// their service window is usually still open).
const RECENT_WRITERS: usize = 64;

/// The `index`-th synthetic customer (0-based), spread over six markets.
pub fn customer(index: u64) -> Customer {
    let base = BASES[(index % BASES.len() as u64) as usize];
    Customer::from_digits(base + index / BASES.len() as u64)
        .expect("synthetic numbers are valid E.164 numbers")
}

/// Yields `events` events for `customers` customers, evenly spaced over `days` from `start`.
#[derive(Clone, Debug)]
pub struct EventGenerator {
    rng: SmallRng,
    customers: u64,
    remaining: u64,
    emitted: u64,
    total: u64,
    start: i64,
    span: i64,
    recent: Vec<Customer>,
    recent_next: usize,
}

impl EventGenerator {
    /// A generator seeded with `seed`; the same arguments always yield the same events.
    pub fn new(seed: u64, customers: u64, events: u64, start: Timestamp, days: u32) -> Self {
        Self {
            rng: SmallRng::seed_from_u64(seed),
            customers: customers.max(1),
            remaining: events,
            emitted: 0,
            total: events.max(1),
            start: start.unix_seconds(),
            span: i64::from(days.max(1)) * DAY_SECONDS,
            recent: Vec::with_capacity(RECENT_WRITERS),
            recent_next: 0,
        }
    }

    fn random_customer(&mut self) -> Customer {
        customer(self.rng.random_range(0..self.customers))
    }

    fn remember_writer(&mut self, writer: Customer) {
        if self.recent.len() < RECENT_WRITERS {
            self.recent.push(writer);
        } else {
            self.recent[self.recent_next] = writer;
            self.recent_next = (self.recent_next + 1) % RECENT_WRITERS;
        }
    }
}

impl Iterator for EventGenerator {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let offset =
            (i128::from(self.span) * i128::from(self.emitted) / i128::from(self.total)) as i64;
        self.emitted += 1;
        let at = Timestamp::from_unix_seconds(self.start + offset);
        let roll = self.rng.random_range(0..100);
        let (customer, message) = match roll {
            0..=28 => {
                let writer = self.random_customer();
                self.remember_writer(writer);
                (writer, Message::Inbound)
            }
            29 => {
                let writer = self.random_customer();
                self.remember_writer(writer);
                (writer, Message::InboundViaFreeEntryPoint)
            }
            30..=59 if !self.recent.is_empty() => {
                let pick = self.rng.random_range(0..self.recent.len());
                (self.recent[pick], Message::FreeForm)
            }
            30..=59 => (self.random_customer(), Message::FreeForm),
            60..=79 => (
                self.random_customer(),
                Message::Template(Category::Marketing),
            ),
            80..=94 => (self.random_customer(), Message::Template(Category::Utility)),
            _ => (
                self.random_customer(),
                Message::Template(Category::Authentication),
            ),
        };
        Some(Event::new(at, customer, message))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.remaining).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Ledger;
    use crate::rules::PricingModel;

    #[test]
    fn generated_traffic_is_ordered_billable_and_reproducible() {
        let start = Timestamp::parse("2024-07-01T00:00:00Z").unwrap();
        let events: Vec<Event> = EventGenerator::new(7, 500, 5_000, start, 30).collect();
        assert_eq!(events.len(), 5_000);
        assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
        let again: Vec<Event> = EventGenerator::new(7, 500, 5_000, start, 30).collect();
        assert_eq!(events, again);
        for model in [PricingModel::Conversation2024, PricingModel::PerMessage2025] {
            let mut ledger = Ledger::new(model, sample_rate_card());
            for event in &events {
                ledger.apply(event).unwrap();
            }
            let totals = ledger.totals();
            assert_eq!(totals.events, 5_000);
            assert!(ledger.customer_count() <= 500);
            assert!(!totals.total_cost.is_zero());
            // Most free-form goes to recent writers, so only a minority is rejected.
            assert!(totals.rejected < 1_000, "{totals:?}");
        }
    }

    #[test]
    fn synthetic_customers_cover_every_market() {
        let card = sample_rate_card();
        let markets: Vec<&str> = (0..6)
            .map(|i| {
                card.market(card.market_for(customer(i)).unwrap())
                    .name
                    .as_str()
            })
            .collect();
        assert_eq!(markets, ["IT", "DE", "IN", "BR", "ROWE", "Other"]);
    }
}
