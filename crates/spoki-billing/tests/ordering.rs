//! Events ordered per customer, not globally, and events that arrive late.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use spoki_billing::synthetic::{EventGenerator, sample_rate_card};
use spoki_billing::{
    BillingEffect, BillingError, Category, Customer, Event, FreeFormStatus, Ledger, Message,
    PricingModel, ReorderingLedger, Timestamp,
};

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn anna() -> Customer {
    Customer::parse("+393331112222").unwrap()
}

fn bert() -> Customer {
    Customer::parse("+4915112345678").unwrap()
}

fn ledger() -> Ledger {
    Ledger::new(PricingModel::Conversation2024, sample_rate_card())
}

fn in_time_order(model: PricingModel, events: &[Event]) -> (Ledger, Vec<BillingEffect>) {
    let mut ledger = Ledger::new(model, sample_rate_card());
    let effects = events.iter().map(|e| ledger.apply(e).unwrap()).collect();
    (ledger, effects)
}

#[test]
fn customers_interleave_freely_but_each_stays_in_order() {
    let mut ledger = ledger();
    let marketing = Message::Template(Category::Marketing);
    ledger
        .apply(&Event::new(at("2024-07-15T10:00:00Z"), anna(), marketing))
        .unwrap();
    // Bert's event is older than Anna's: another customer, so it is taken.
    let bert_earlier = ledger
        .apply(&Event::new(at("2024-07-15T09:00:00Z"), bert(), marketing))
        .unwrap();
    assert!(bert_earlier.is_charged());
    assert_eq!(
        ledger.last_applied(bert()),
        Some(at("2024-07-15T09:00:00Z"))
    );

    // Anna's late event is refused, and leaves no trace.
    let before = ledger.totals();
    let late = Event::new(at("2024-07-15T09:59:59Z"), anna(), Message::Inbound);
    assert!(matches!(
        ledger.apply(&late),
        Err(BillingError::OutOfOrder { at: a, last }) if a == late.at && last == at("2024-07-15T10:00:00Z")
    ));
    assert_eq!(ledger.totals(), before);
    assert_eq!(
        ledger.last_applied(anna()),
        Some(at("2024-07-15T10:00:00Z"))
    );
    assert!(matches!(
        ledger.free_form_status(anna(), at("2024-07-15T10:00:01Z")),
        FreeFormStatus::Closed { .. }
    ));
    // The same instant is not late: equal instants apply in the order given.
    ledger
        .apply(&Event::new(
            at("2024-07-15T10:00:00Z"),
            anna(),
            Message::Inbound,
        ))
        .unwrap();
    // A refused event of a new customer adds no customer.
    let carl = Customer::parse("+393470000001").unwrap();
    let id = ledger.intern(carl).unwrap();
    ledger
        .apply_to(id, at("2024-07-15T11:00:00Z"), Message::Inbound)
        .unwrap();
    assert!(matches!(
        ledger.apply_to(id, at("2024-07-15T10:59:59Z"), Message::Inbound),
        Err(BillingError::OutOfOrder { .. })
    ));
}

#[test]
fn a_stream_in_customer_order_bills_as_the_same_stream_in_time_order() {
    let start = at("2024-07-01T00:00:00Z");
    for model in [PricingModel::Conversation2024, PricingModel::PerMessage2025] {
        let events: Vec<Event> = EventGenerator::new(11, 200, 5_000, start, 4).collect();
        let (timely, effects) = in_time_order(model, &events);
        // All of one customer's events, then the next customer's: globally out of order.
        let mut by_customer: Vec<usize> = (0..events.len()).collect();
        by_customer.sort_by_key(|&i| (events[i].customer, events[i].at));
        let mut ledger = Ledger::new(model, sample_rate_card());
        for i in by_customer {
            assert_eq!(
                ledger.apply(&events[i]).unwrap(),
                effects[i],
                "{:?}",
                events[i]
            );
        }
        assert_eq!(ledger.totals(), timely.totals());
    }
}

#[test]
fn a_late_inbound_within_the_tolerance_opens_the_window_for_the_reply_it_preceded() {
    // The reply's delivery overtook the customer's message by 20 seconds.
    let message = Event::new(at("2024-07-15T10:00:00Z"), anna(), Message::Inbound);
    let reply = Event::new(at("2024-07-15T10:00:30Z"), anna(), Message::FreeForm);

    let mut strict = ledger();
    assert!(strict.apply(&reply).unwrap().is_rejected());
    assert!(matches!(
        strict.apply(&message),
        Err(BillingError::OutOfOrder { .. })
    ));

    let mut tolerant = ReorderingLedger::new(ledger(), Duration::from_secs(60));
    assert!(tolerant.push(reply).unwrap().is_empty(), "held back");
    assert!(tolerant.push(message).unwrap().is_empty());
    assert_eq!(tolerant.pending(), 2);
    // A minute after the reply, both settle, oldest first: the reply joins the open window.
    let later = Event::new(at("2024-07-15T10:01:30Z"), bert(), Message::Inbound);
    let settled = tolerant.push(later).unwrap();
    assert_eq!(settled.len(), 2);
    assert_eq!(settled[0].event, message);
    assert_eq!(settled[1].event, reply);
    assert!(matches!(
        settled[1].effect,
        Ok(BillingEffect::Opened(ref opened)) if opened.kind == spoki_billing::ConversationKind::Service
    ));
    assert_eq!(tolerant.pending(), 1);
    let (settled_ledger, rest) = tolerant.into_ledger();
    assert_eq!(rest.len(), 1);
    assert_eq!(settled_ledger.totals().events, 3);
    assert_eq!(settled_ledger.totals().rejected, 0);
}

#[test]
fn a_pending_inbound_already_opens_the_service_window() {
    let mut tolerant = ReorderingLedger::new(ledger(), Duration::from_secs(300));
    tolerant
        .push(Event::new(
            at("2024-07-15T10:00:00Z"),
            anna(),
            Message::Inbound,
        ))
        .unwrap();
    assert_eq!(tolerant.ledger().totals().events, 0, "not settled yet");
    assert_eq!(
        tolerant.free_form_status(anna(), at("2024-07-15T10:00:05Z")),
        FreeFormStatus::Open {
            until: at("2024-07-16T10:00:00Z")
        }
    );
    // Not before it happened, and not for someone else.
    assert!(matches!(
        tolerant.free_form_status(anna(), at("2024-07-15T09:59:59Z")),
        FreeFormStatus::Closed { .. }
    ));
    assert!(matches!(
        tolerant.free_form_status(bert(), at("2024-07-15T10:00:05Z")),
        FreeFormStatus::Closed { .. }
    ));
    // A utility template inside the pending window is quoted with it counted.
    let quote = tolerant
        .quote_template(anna(), Category::Utility, at("2024-07-15T10:00:05Z"))
        .unwrap();
    assert!(
        quote.is_charged(),
        "conversation pricing charges utility anyway"
    );
}

#[test]
fn an_event_later_than_the_tolerance_is_refused_only_when_its_customer_moved_on() {
    let mut tolerant = ReorderingLedger::new(ledger(), Duration::from_secs(60));
    tolerant
        .push(Event::new(
            at("2024-07-15T10:00:00Z"),
            anna(),
            Message::Inbound,
        ))
        .unwrap();
    let settled = tolerant
        .push(Event::new(
            at("2024-07-15T10:05:00Z"),
            bert(),
            Message::Inbound,
        ))
        .unwrap();
    assert_eq!(settled.len(), 1, "Anna's event settled");
    // Anna's event from before her settled one came too late.
    let too_late = Event::new(at("2024-07-15T09:59:00Z"), anna(), Message::FreeForm);
    assert!(matches!(
        tolerant.push(too_late),
        Err(BillingError::OutOfOrder { .. })
    ));
    // A customer with nothing settled after it is billed whatever its age.
    let carl = Customer::parse("+393470000001").unwrap();
    let old = tolerant
        .push(Event::new(
            at("2024-07-15T08:00:00Z"),
            carl,
            Message::Inbound,
        ))
        .unwrap();
    assert_eq!(old.len(), 1);
    assert!(old[0].effect.is_ok());
    // Bad events are refused at once, before they wait.
    let service = Message::Template(Category::Service);
    assert!(matches!(
        tolerant.push(Event::new(at("2024-07-15T10:06:00Z"), carl, service)),
        Err(BillingError::ServiceTemplate)
    ));
    let far = Timestamp::from_unix_seconds(i64::MIN);
    assert!(matches!(
        tolerant.push(Event::new(far, carl, Message::Inbound)),
        Err(BillingError::OutOfRange(_))
    ));
    assert_eq!(tolerant.pending(), 1);
}

#[test]
fn random_delays_within_the_tolerance_bill_exactly_as_time_order() {
    let start = at("2024-07-01T00:00:00Z");
    let tolerance = 600;
    for (seed, model) in [
        (3, PricingModel::Conversation2024),
        (4, PricingModel::PerMessage2025),
    ] {
        // Several events a second, so deliveries overtake each other often.
        let events: Vec<Event> = EventGenerator::new(seed, 300, 20_000, start, 1).collect();
        let (timely, effects) = in_time_order(model, &events);

        let mut rng = SmallRng::seed_from_u64(seed);
        let mut arrivals: Vec<(i64, usize)> = events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.at.unix_seconds() + rng.random_range(0..tolerance), i))
            .collect();
        arrivals.sort_unstable();
        let overtaken = arrivals.windows(2).filter(|w| w[0].1 > w[1].1).count();
        assert!(overtaken > 1_000, "the shuffle must reorder: {overtaken}");

        let mut tolerant = ReorderingLedger::new(
            Ledger::new(model, sample_rate_card()),
            Duration::from_secs(tolerance as u64),
        );
        let mut settled = Vec::new();
        for &(_, i) in &arrivals {
            settled.extend(tolerant.push(events[i]).unwrap());
        }
        let (ledger, rest) = tolerant.into_ledger();
        settled.extend(rest);
        assert_eq!(ledger.totals(), timely.totals());
        // Each customer's effects, in its own order, are the ones time order gives.
        let mut expected: Vec<(Customer, Timestamp, BillingEffect)> = events
            .iter()
            .zip(&effects)
            .map(|(e, o)| (e.customer, e.at, *o))
            .collect();
        let mut got: Vec<(Customer, Timestamp, BillingEffect)> = settled
            .iter()
            .map(|s| {
                (
                    s.event.customer,
                    s.event.at,
                    s.effect.as_ref().copied().unwrap(),
                )
            })
            .collect();
        expected.sort_by_key(|(c, t, _)| (*c, *t));
        got.sort_by_key(|(c, t, _)| (*c, *t));
        assert_eq!(got, expected);
    }
}

#[test]
fn events_within_one_second_settle_in_the_order_bill_events_gives_them() {
    // The reply was pushed first but happened 0.8 s after the customer's message.
    let message = Event::new(at("2024-07-15T10:00:00.100Z"), anna(), Message::Inbound);
    let reply = Event::new(at("2024-07-15T10:00:00.900Z"), anna(), Message::FreeForm);
    let mut tolerant = ReorderingLedger::new(ledger(), Duration::from_secs(60));
    tolerant.push(reply).unwrap();
    tolerant.push(message).unwrap();
    let (settled_ledger, settled) = tolerant.into_ledger();
    assert_eq!(settled[0].event, message);
    assert!(!settled[1].effect.as_ref().unwrap().is_rejected());

    let bill = spoki_billing::bill_events(
        PricingModel::Conversation2024,
        sample_rate_card(),
        &[reply, message],
    )
    .unwrap();
    assert!(
        bill.rejected.is_empty(),
        "bill_events orders them the same way"
    );
    assert_eq!(bill.total_cost, settled_ledger.totals().total_cost);
}
