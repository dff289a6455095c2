//! Totals: the ledger's counters of conversations, messages and spend under each pricing model.

use super::*;
use spoki_billing::LedgerTotals;

/// Service is free; in Germany utility is free too, so a charged message can cost nothing.
const CARD: &str = r#"{"currency": "EUR", "calling_codes": {"39": "IT", "49": "DE"},
    "markets": {"IT": {"marketing": 0.14, "utility": 0.10, "authentication": 0.12, "service": 0},
                "DE": {"marketing": 0.19, "utility": 0, "authentication": 0.10}}}"#;

fn run(model: PricingModel, events: &[(&str, &str, Message)]) -> LedgerTotals {
    let mut ledger = Ledger::new(model, RateCard::from_json(CARD).unwrap());
    for &(when, who, message) in events {
        ledger
            .apply(&Event::new(at(when), customer(who), message))
            .unwrap();
    }
    ledger.totals()
}

#[test]
fn every_counter_under_conversation_pricing() {
    let totals = run(
        PricingModel::Conversation2024,
        &[
            ("2024-07-15T10:00:00Z", ANNA, Message::Inbound),
            ("2024-07-15T10:01:00Z", ANNA, Message::FreeForm), // service, free
            ("2024-07-15T10:02:00Z", ANNA, MARKETING),         // 0.14
            ("2024-07-15T10:03:00Z", BERT, Message::FreeForm), // rejected
            ("2024-07-15T10:04:00Z", ANNA, MARKETING),         // joins
            ("2024-07-15T10:05:00Z", BERT, UTILITY),           // free in DE
            ("2024-07-15T10:06:00Z", ANNA, UTILITY),           // 0.10
            (
                "2024-07-15T10:07:00Z",
                ANNA,
                Message::Template(Category::Authentication),
            ), // 0.12
        ],
    );
    assert_eq!(
        totals,
        LedgerTotals {
            events: 8,
            conversations: 5,
            paid_conversations: 3,
            charged_messages: 0,
            rejected: 1,
            total_cost: money("0.36"),
        }
    );
}

#[test]
fn every_counter_under_per_message_pricing() {
    let totals = run(
        PricingModel::PerMessage2025,
        &[
            ("2024-07-15T10:00:00Z", ANNA, MARKETING),         // 0.14
            ("2024-07-15T10:01:00Z", BERT, UTILITY),           // charged at 0 in DE
            ("2024-07-15T10:02:00Z", ANNA, Message::FreeForm), // rejected
            ("2024-07-15T10:03:00Z", ANNA, Message::Inbound),
            ("2024-07-15T10:04:00Z", ANNA, UTILITY), // free in the service window
            (
                "2024-07-15T10:05:00Z",
                ANNA,
                Message::Template(Category::Authentication),
            ), // 0.12
            ("2024-07-15T10:06:00Z", BERT, Message::FreeForm), // rejected
        ],
    );
    assert_eq!(
        totals,
        LedgerTotals {
            events: 7,
            conversations: 0,
            paid_conversations: 0,
            charged_messages: 2,
            rejected: 2,
            total_cost: money("0.26"),
        }
    );
}
