//! Batches of events: one call for many, with the same bill as one by one.

use super::*;
use spoki_billing::synthetic::{EventGenerator, sample_rate_card};

fn stream() -> Vec<Event> {
    EventGenerator::new(9, 50, 1_000, at("2024-07-01T00:00:00Z"), 3).collect()
}

#[test]
fn a_batch_bills_as_the_same_events_one_by_one() {
    let events = stream();
    for model in [PricingModel::Conversation2024, PricingModel::PerMessage2025] {
        let mut one = Ledger::new(model, sample_rate_card());
        let expected: Vec<BillingEffect> = events.iter().map(|e| one.apply(e).unwrap()).collect();

        let mut batched = Ledger::new(model, sample_rate_card());
        let mut seen = Vec::new();
        batched
            .apply_batch(&events, |i, effect| seen.push((i, effect)))
            .unwrap();
        let indexed: Vec<(usize, BillingEffect)> = expected.iter().copied().enumerate().collect();
        assert_eq!(seen, indexed, "every effect, with its index, in order");
        assert_eq!(batched.totals(), one.totals());

        let mut by_id = Ledger::new(model, sample_rate_card());
        let interned: Vec<_> = events
            .iter()
            .map(|e| (by_id.intern(e.customer).unwrap(), e.at, e.message))
            .collect();
        let mut seen = Vec::new();
        by_id
            .apply_batch_to(&interned, |i, effect| seen.push((i, effect)))
            .unwrap();
        assert_eq!(seen, indexed);
        assert_eq!(by_id.totals(), one.totals());
    }
}

#[test]
fn a_refused_event_stops_the_batch_and_adds_no_customer() {
    let mut ledger = ledger(PricingModel::Conversation2024);
    let carl = customer("+393470000001");
    ledger.intern(carl).unwrap(); // known, with nothing applied yet
    let dora = customer("+393470000002");
    let emil = customer("+393470000003");
    let noon = at("2024-07-15T12:00:00Z");
    let service = Message::Template(Category::Service);
    let batch = [
        Event::new(noon, dora, Message::Inbound),
        Event::new(noon, emil, service),
        Event::new(noon, carl, Message::Inbound),
    ];
    let mut applied = Vec::new();
    let refused = ledger
        .apply_batch(&batch, |i, _| applied.push(i))
        .unwrap_err();
    assert_eq!(refused.index, 1);
    assert!(matches!(refused.error, BillingError::ServiceTemplate));
    assert_eq!(applied, [0]);
    assert_eq!(ledger.totals().events, 1);
    assert_eq!(
        ledger.last_applied(dora),
        Some(noon),
        "applied before the refusal"
    );
    assert_eq!(ledger.last_applied(emil), None);
    assert_eq!(ledger.last_applied(carl), None, "not applied after it");
    assert_eq!(
        ledger.customer_count(),
        2,
        "Carl and Dora; Emil is not added"
    );

    // By id: a stale id stops the batch at its index.
    let mut other = ledger.clone();
    let dora_id = other.intern(dora).unwrap();
    let carl_id = other.intern(carl).unwrap();
    let stranger = Ledger::new(
        PricingModel::Conversation2024,
        RateCard::from_json(CARD).unwrap(),
    )
    .intern(carl)
    .unwrap();
    let later = at("2024-07-15T13:00:00Z");
    let refused = other
        .apply_batch_to(
            &[
                (dora_id, later, Message::FreeForm),
                (carl_id, later, Message::Inbound),
                (stranger, later, Message::Inbound),
            ],
            |_, _| {},
        )
        .unwrap_err();
    assert_eq!(refused.index, 2);
    assert!(matches!(refused.error, BillingError::StaleCustomerId));
    assert_eq!(other.totals().events, 3);
}

#[test]
fn customers_added_for_events_that_did_not_apply_are_taken_back() {
    let mut ledger = ledger(PricingModel::Conversation2024);
    let noon = at("2024-07-15T12:00:00Z");
    apply(&mut ledger, "2024-07-15T12:00:00Z", BERT, Message::Inbound);
    let carl = customer("+393470000001");
    ledger.intern(carl).unwrap(); // known before the batch, with nothing applied
    let dora = customer("+393470000002");
    let emil = customer("+393470000003");
    let batch = [
        Event::new(noon, dora, Message::Inbound),
        // Earlier than Bert's last event: refused when its state is stepped.
        Event::new(at("2024-07-15T11:00:00Z"), customer(BERT), Message::Inbound),
        Event::new(noon, emil, Message::Inbound),
        Event::new(noon, carl, Message::Inbound),
    ];
    let refused = ledger.apply_batch(&batch, |_, _| {}).unwrap_err();
    assert_eq!(refused.index, 1);
    assert!(matches!(refused.error, BillingError::OutOfOrder { .. }));
    assert_eq!(ledger.last_applied(dora), Some(noon));
    assert_eq!(
        ledger.customer_count(),
        3,
        "Bert, Carl and Dora stay; Emil, added for an event that did not apply, goes"
    );
    assert_eq!(ledger.last_applied(emil), None);
    // Emil is new again, Carl is still known.
    ledger.intern(emil).unwrap();
    assert_eq!(ledger.customer_count(), 4);
    ledger.intern(carl).unwrap();
    assert_eq!(ledger.customer_count(), 4);
    assert_eq!(ledger.totals().events, 2);
}

#[test]
fn refusals_in_a_later_chunk_name_their_index_in_the_batch() {
    let mut events = stream();
    events.truncate(30);
    let last = events[29];
    events[29] = Event::new(last.at, last.customer, Message::Template(Category::Service));
    let mut ledger = ledger_on_sample();
    let refused = ledger.apply_batch(&events, |_, _| {}).unwrap_err();
    assert_eq!(refused.index, 29);
    assert_eq!(ledger.totals().events, 29);
}

fn ledger_on_sample() -> Ledger {
    Ledger::new(PricingModel::PerMessage2025, sample_rate_card())
}

#[test]
fn state_bytes_counts_every_customer() {
    assert!(ledger_on_sample().state_bytes() < 1024);
    // Room for 10,000: a 64-byte state each, exactly, and an index of 10,000 to 20,000
    // entries of 17 bytes (a u64 number, its slot and market, a control byte).
    let mut ledger =
        Ledger::with_capacity(PricingModel::PerMessage2025, sample_rate_card(), 10_000);
    let fixed = 10_000 * 64;
    let bytes = ledger.state_bytes();
    assert!(
        (fixed + 10_000 * 17..=fixed + 20_000 * 17).contains(&bytes),
        "{bytes}"
    );
    // One more customer of room is one more state: 64 bytes (the index rounds its room up
    // to a power of two, so it does not grow by one).
    let one_more = Ledger::with_capacity(PricingModel::PerMessage2025, sample_rate_card(), 10_001);
    assert_eq!(one_more.state_bytes() - bytes, 64);
    // Forgetting a customer keeps its slot, 4 bytes, for the next one.
    let carl = customer("+393470000001");
    ledger.intern(carl).unwrap();
    assert_eq!(ledger.forget_idle(at("2024-07-15T12:00:00Z")), 1);
    assert!(
        ledger.state_bytes() >= bytes + 4,
        "the vacant slot is counted"
    );
}
