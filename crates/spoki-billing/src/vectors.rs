//! Checking the model against billing-vector files.
//!
//! A vectors file is a JSON list of scenarios, each with `id`, `pricing_model`, `rate_card`,
//! `events` and `expected` (`conversations`, optional `messages`, `rejected`, `total_cost`), as
//! in the project's `billing-vectors.json`. [`check_file`] bills every scenario and lists what
//! differs from its expectation. Amounts are decimals in EUR, as every published vector is; a
//! scenario whose rate card is in another currency is reported.

use std::fmt;

use serde::Deserialize;

use crate::bill::{Bill, ConversationRecord, MessageRecord, bill_events};
use crate::category::{Category, ConversationKind};
use crate::customer::Customer;
use crate::event::Event;
use crate::rate_card::RateCard;
use crate::time::Timestamp;
use spoki_models::{Currency, Money};

/// One scenario of a vectors file.
#[derive(Clone, Debug, Deserialize)]
pub struct Scenario {
    /// Unique name.
    pub id: String,
    /// What it shows.
    #[serde(default)]
    pub description: String,
    /// Rule ids it exercises.
    #[serde(default)]
    pub rules: Vec<String>,
    /// `conversation_2024` or `per_message_2025`; kept as text so a bad value fails only this
    /// scenario.
    pub pricing_model: String,
    /// The rate card, validated when the scenario runs.
    pub rate_card: serde_json::Value,
    /// The events, validated when the scenario runs.
    pub events: Vec<serde_json::Value>,
    /// The expected bill.
    pub expected: Expected,
}

/// The bill a scenario expects.
#[derive(Clone, Debug, Deserialize)]
pub struct Expected {
    /// Conversations in order of opening.
    pub conversations: Vec<ExpectedConversation>,
    /// Accepted outbound messages (per-message scenarios only).
    #[serde(default)]
    pub messages: Option<Vec<ExpectedMessage>>,
    /// Indexes of rejected events.
    pub rejected: Vec<usize>,
    /// Sum of all costs.
    #[serde(deserialize_with = "crate::money::deserialize_eur")]
    pub total_cost: Money,
}

/// An expected conversation.
#[derive(Clone, Debug, Deserialize)]
pub struct ExpectedConversation {
    /// Customer.
    pub customer: Customer,
    /// Kind.
    pub category: ConversationKind,
    /// Opening instant.
    pub opened_at: Timestamp,
    /// End instant (exclusive).
    pub expires_at: Timestamp,
    /// Whether charged.
    pub charged: bool,
    /// Price.
    #[serde(deserialize_with = "crate::money::deserialize_eur")]
    pub cost: Money,
}

/// An expected message.
#[derive(Clone, Debug, Deserialize)]
pub struct ExpectedMessage {
    /// Event index.
    pub event: usize,
    /// Customer.
    pub customer: Customer,
    /// Billing category.
    pub category: Category,
    /// Whether charged.
    pub charged: bool,
    /// Cost.
    #[serde(deserialize_with = "crate::money::deserialize_eur")]
    pub cost: Money,
}

/// The verdict on one scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioResult {
    /// The scenario's id.
    pub id: String,
    /// What differs from the expectation; empty when it passes.
    pub differences: Vec<String>,
}

impl ScenarioResult {
    /// Whether the model's bill matched the expectation exactly.
    pub fn passed(&self) -> bool {
        self.differences.is_empty()
    }
}

impl fmt::Display for ScenarioResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.passed() {
            write!(f, "PASS {}", self.id)
        } else {
            write!(f, "FAIL {}: {}", self.id, self.differences.join("; "))
        }
    }
}

/// The verdicts on every scenario of a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// One per scenario, in file order.
    pub results: Vec<ScenarioResult>,
}

impl Report {
    /// Scenarios that passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed()).count()
    }

    /// Scenarios that failed.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }

    /// Whether every scenario passed (and there was at least one).
    pub fn all_passed(&self) -> bool {
        !self.results.is_empty() && self.failed() == 0
    }
}

impl fmt::Display for Report {
    /// One `PASS <id>` / `FAIL <id>: <differences>` line per scenario, then `N passed, M failed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for result in &self.results {
            writeln!(f, "{result}")?;
        }
        write!(f, "{} passed, {} failed", self.passed(), self.failed())
    }
}

/// Parses a vectors file and checks every scenario.
pub fn check_file(json: &str) -> Result<Report, serde_json::Error> {
    let scenarios: Vec<Scenario> = serde_json::from_str(json)?;
    Ok(Report {
        results: scenarios.iter().map(check_scenario).collect(),
    })
}

/// Bills one scenario and compares the bill with its expectation.
pub fn check_scenario(scenario: &Scenario) -> ScenarioResult {
    let differences = match run(scenario) {
        Ok(bill) => compare(&scenario.expected, &bill),
        Err(problem) => vec![problem],
    };
    ScenarioResult {
        id: scenario.id.clone(),
        differences,
    }
}

fn run(scenario: &Scenario) -> Result<Bill, String> {
    let model = scenario.pricing_model.parse().map_err(|e| format!("{e}"))?;
    let rate_card =
        RateCard::from_json_value(scenario.rate_card.clone()).map_err(|e| format!("{e}"))?;
    if rate_card.currency() != Currency::EUR {
        return Err(format!(
            "the rate card is in {}; vectors are in EUR",
            rate_card.currency()
        ));
    }
    let events = scenario
        .events
        .iter()
        .enumerate()
        .map(|(i, value)| Event::from_json_value(value).map_err(|e| format!("events[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    bill_events(model, rate_card, &events).map_err(|e| format!("billing failed: {e}"))
}

fn compare(expected: &Expected, bill: &Bill) -> Vec<String> {
    let mut differences = Vec::new();
    compare_lists(
        "conversations",
        &expected.conversations,
        &bill.conversations,
        conversation_differences,
        &mut differences,
    );
    if let Some(messages) = &expected.messages {
        compare_lists(
            "messages",
            messages,
            &bill.messages,
            message_differences,
            &mut differences,
        );
    }
    let mut expected_rejected = expected.rejected.clone();
    expected_rejected.sort_unstable();
    if expected_rejected != bill.rejected {
        differences.push(format!(
            "rejected: expected {expected_rejected:?}, got {:?}",
            bill.rejected
        ));
    }
    if expected.total_cost != bill.total_cost {
        differences.push(format!(
            "total_cost: expected {}, got {}",
            expected.total_cost.amount(),
            bill.total_cost.amount()
        ));
    }
    differences
}

fn compare_lists<E, A>(
    name: &str,
    expected: &[E],
    actual: &[A],
    item_differences: fn(&E, &A) -> Vec<String>,
    out: &mut Vec<String>,
) {
    if expected.len() != actual.len() {
        out.push(format!(
            "{name}: expected {} entries, got {}",
            expected.len(),
            actual.len()
        ));
    }
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        for difference in item_differences(e, a) {
            out.push(format!("{name}[{i}].{difference}"));
        }
    }
}

fn field<T: fmt::Display>(name: &str, expected: T, actual: T, out: &mut Vec<String>) {
    let (expected, actual) = (expected.to_string(), actual.to_string());
    if expected != actual {
        out.push(format!("{name}: expected {expected}, got {actual}"));
    }
}

fn conversation_differences(e: &ExpectedConversation, a: &ConversationRecord) -> Vec<String> {
    let mut out = Vec::new();
    field("customer", e.customer, a.customer, &mut out);
    field("category", e.category, a.category, &mut out);
    field("opened_at", e.opened_at, a.opened_at, &mut out);
    field("expires_at", e.expires_at, a.expires_at, &mut out);
    field("charged", e.charged, a.charged, &mut out);
    field("cost", e.cost.amount(), a.cost.amount(), &mut out);
    out
}

fn message_differences(e: &ExpectedMessage, a: &MessageRecord) -> Vec<String> {
    let mut out = Vec::new();
    field("event", e.event, a.event, &mut out);
    field("customer", e.customer, a.customer, &mut out);
    field("category", e.category, a.category, &mut out);
    field("charged", e.charged, a.charged, &mut out);
    field("cost", e.cost.amount(), a.cost.amount(), &mut out);
    out
}
