//! The ledger's effects and the questions a sender asks before sending.

use spoki_billing::{
    BillingEffect, BillingError, Category, ConversationKind, Currency, Customer, Event,
    FreeFormStatus, FreeReason, Ledger, Message, Money, PricingModel, RateCard, RejectReason,
    Timestamp,
};

const CARD: &str = r#"{"currency": "EUR", "calling_codes": {"39": "IT", "49": "DE"},
    "markets": {"IT": {"marketing": 0.14, "utility": 0.1, "authentication": 0.12, "service": 0.11},
                "DE": {"marketing": 0.19, "utility": 0.08, "authentication": 0.1, "service": 0.09}}}"#;

const MARKETING: Message = Message::Template(Category::Marketing);
const UTILITY: Message = Message::Template(Category::Utility);

fn ledger(model: PricingModel) -> Ledger {
    Ledger::new(model, RateCard::from_json(CARD).unwrap())
}

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn customer(s: &str) -> Customer {
    Customer::parse(s).unwrap()
}

fn money(s: &str) -> Money {
    Money::parse(s, Currency::EUR).unwrap()
}

const ANNA: &str = "+393331112222";
const BERT: &str = "+4915112345678";

fn apply(ledger: &mut Ledger, when: &str, who: &str, message: Message) -> BillingEffect {
    ledger
        .apply(&Event::new(at(when), customer(who), message))
        .unwrap()
}

#[test]
fn free_form_window_follows_the_last_customer_message() {
    let mut ledger = ledger(PricingModel::Conversation2024);
    let anna = customer(ANNA);
    assert_eq!(
        ledger.free_form_status(anna, at("2024-07-15T09:00:00Z")),
        FreeFormStatus::Closed {
            reason: RejectReason::NoServiceWindow
        }
    );
    apply(&mut ledger, "2024-07-15T09:00:00Z", ANNA, Message::Inbound);
    apply(&mut ledger, "2024-07-15T20:00:00Z", ANNA, Message::Inbound);
    assert_eq!(
        ledger.free_form_status(anna, at("2024-07-16T19:59:59Z")),
        FreeFormStatus::Open {
            until: at("2024-07-16T20:00:00Z")
        }
    );
    let closed = RejectReason::ServiceWindowClosed {
        closed_at: at("2024-07-16T20:00:00Z"),
    };
    assert_eq!(
        ledger.free_form_status(anna, at("2024-07-16T20:00:00Z")),
        FreeFormStatus::Closed { reason: closed }
    );
    let rejected = apply(&mut ledger, "2024-07-16T20:00:00Z", ANNA, Message::FreeForm);
    assert_eq!(rejected, BillingEffect::Rejected { reason: closed });
    assert!(
        closed
            .to_string()
            .contains("closed at 2024-07-16T20:00:00Z")
    );
}

#[test]
fn quotes_depend_on_open_conversations_and_market() {
    let mut ledger = ledger(PricingModel::Conversation2024);
    let now = at("2024-07-15T10:00:00Z");
    let quote = ledger
        .quote_template(customer(BERT), Category::Marketing, now)
        .unwrap();
    assert_eq!(quote.cost(), Some(money("0.19")));
    apply(&mut ledger, "2024-07-15T10:00:00Z", BERT, MARKETING);
    let later = at("2024-07-15T15:00:00Z");
    let joined = ledger
        .quote_template(customer(BERT), Category::Marketing, later)
        .unwrap();
    assert!(matches!(
        joined,
        BillingEffect::Joined {
            kind: ConversationKind::Marketing,
            ..
        }
    ));
    assert_eq!(joined.cost(), None);
    let other = ledger
        .quote_template(customer(BERT), Category::Utility, later)
        .unwrap();
    assert_eq!(other.cost(), Some(money("0.08")));
    // Quoting changed nothing.
    assert_eq!(ledger.totals().conversations, 1);
    assert_eq!(ledger.totals().total_cost, money("0.19"));
}

#[test]
fn per_message_quotes_make_utility_free_inside_the_window() {
    let mut ledger = ledger(PricingModel::PerMessage2025);
    apply(&mut ledger, "2025-07-15T09:00:00Z", ANNA, Message::Inbound);
    let inside = at("2025-07-15T12:00:00Z");
    let utility = ledger
        .quote_template(customer(ANNA), Category::Utility, inside)
        .unwrap();
    assert_eq!(
        utility,
        BillingEffect::Free {
            reason: FreeReason::UtilityInServiceWindow
        }
    );
    let marketing = ledger
        .quote_template(customer(ANNA), Category::Marketing, inside)
        .unwrap();
    assert_eq!(
        marketing,
        BillingEffect::Charged {
            category: Category::Marketing,
            price: money("0.14")
        }
    );
    let outside = at("2025-07-16T09:00:00Z");
    let utility = ledger
        .quote_template(customer(ANNA), Category::Utility, outside)
        .unwrap();
    assert_eq!(utility.cost(), Some(money("0.10")));
}

#[test]
fn campaign_estimate_counts_new_paid_conversations() {
    let mut ledger = ledger(PricingModel::Conversation2024);
    apply(&mut ledger, "2024-07-15T08:00:00Z", ANNA, MARKETING);
    let carla = "+393334445555";
    let recipients = [
        customer(ANNA),
        customer(BERT),
        customer(carla),
        customer(carla),
    ];
    let estimate = ledger
        .estimate_campaign(recipients, Category::Marketing, at("2024-07-15T12:00:00Z"))
        .unwrap();
    assert_eq!(estimate.recipients, 4);
    // Anna's marketing conversation is open; Carla's second send joins her first.
    assert_eq!(estimate.new_paid_conversations, 2);
    assert_eq!(estimate.free_sends, 2);
    assert_eq!(estimate.total_cost, money("0.33"));
    assert!(estimate.fits_within(2) && !estimate.fits_within(1));
    assert_eq!(estimate.shortfall(1), 1);
    assert_eq!(estimate.shortfall(5), 0);
    // A day later Anna's conversation has expired too.
    let next_day = ledger
        .estimate_campaign(
            [customer(ANNA)],
            Category::Marketing,
            at("2024-07-16T08:00:00Z"),
        )
        .unwrap();
    assert_eq!(next_day.new_paid_conversations, 1);
}

#[test]
fn free_entry_point_closes_open_conversations() {
    let mut ledger = ledger(PricingModel::Conversation2024);
    apply(&mut ledger, "2024-07-15T08:00:00Z", ANNA, MARKETING);
    apply(&mut ledger, "2024-07-15T08:30:00Z", ANNA, UTILITY);
    let offer = apply(
        &mut ledger,
        "2024-07-15T09:00:00Z",
        ANNA,
        Message::InboundViaFreeEntryPoint,
    );
    assert!(matches!(
        offer,
        BillingEffect::InboundRecorded { entry_point_offer_until: Some(t), .. } if t == at("2024-07-16T09:00:00Z")
    ));
    let BillingEffect::Opened(opened) =
        apply(&mut ledger, "2024-07-15T09:30:00Z", ANNA, Message::FreeForm)
    else {
        panic!("the reply should open the free entry point");
    };
    assert_eq!(opened.kind, ConversationKind::FreeEntryPoint);
    assert_eq!(opened.window.end, at("2024-07-18T09:30:00Z"));
    assert_eq!(
        opened.closed.iter().collect::<Vec<_>>(),
        [Category::Marketing, Category::Utility]
    );
    let inside = apply(&mut ledger, "2024-07-17T09:00:00Z", ANNA, UTILITY);
    assert!(matches!(
        inside,
        BillingEffect::Joined {
            kind: ConversationKind::FreeEntryPoint,
            ..
        }
    ));
    // A second ad message while the entry point is open: the reply joins it and uses the offer,
    // so the first template after the 72 hours is charged normally.
    apply(
        &mut ledger,
        "2024-07-17T10:00:00Z",
        ANNA,
        Message::InboundViaFreeEntryPoint,
    );
    let reply = apply(&mut ledger, "2024-07-17T10:30:00Z", ANNA, Message::FreeForm);
    assert!(matches!(
        reply,
        BillingEffect::Joined {
            kind: ConversationKind::FreeEntryPoint,
            ..
        }
    ));
    let after = apply(&mut ledger, "2024-07-18T09:30:00Z", ANNA, MARKETING);
    assert_eq!(after.cost(), Some(money("0.14")));
    assert_eq!(ledger.totals().total_cost, money("0.38"));
}

#[test]
fn events_must_come_in_time_order() {
    let mut ledger = ledger(PricingModel::Conversation2024);
    apply(&mut ledger, "2024-07-15T10:00:00Z", ANNA, MARKETING);
    apply(&mut ledger, "2024-07-15T10:00:00Z", BERT, MARKETING);
    let late = ledger.apply(&Event::new(
        at("2024-07-15T09:59:59Z"),
        customer(ANNA),
        UTILITY,
    ));
    assert!(matches!(late, Err(BillingError::OutOfOrder { .. })));
    assert_eq!(ledger.totals().events, 2);
}

#[test]
fn numbers_outside_every_market_are_refused() {
    let mut ledger = ledger(PricingModel::Conversation2024);
    let french = Event::new(
        at("2024-07-15T10:00:00Z"),
        customer("+33612345678"),
        MARKETING,
    );
    assert!(matches!(
        ledger.apply(&french),
        Err(BillingError::RateCard(_))
    ));
}

#[test]
fn idle_customers_are_forgotten_and_old_ids_refused() {
    let mut ledger = ledger(PricingModel::Conversation2024);
    let anna = ledger.intern(customer(ANNA)).unwrap();
    ledger
        .apply_to(anna, at("2024-07-15T10:00:00Z"), Message::Inbound)
        .unwrap();
    apply(&mut ledger, "2024-07-15T11:00:00Z", BERT, MARKETING);
    // Bert's conversation ends at 11:00 the next day, Anna's window at 10:00.
    assert_eq!(ledger.forget_idle(at("2024-07-16T09:59:59Z")), 0);
    // Forgetting nobody keeps every id good.
    assert!(
        ledger
            .apply_to(anna, at("2024-07-16T09:59:59Z"), Message::Inbound)
            .is_ok()
    );
    assert_eq!(ledger.forget_idle(at("2024-07-17T10:30:00Z")), 2);
    assert_eq!(ledger.customer_count(), 0);
    let stale = ledger.apply_to(anna, at("2024-07-17T10:30:00Z"), Message::FreeForm);
    assert!(matches!(stale, Err(BillingError::StaleCustomerId)));
    // Anna comes back as new: free-form is refused, her slot is reused.
    let bytes = ledger.state_bytes();
    let again = apply(&mut ledger, "2024-07-17T10:30:00Z", ANNA, Message::FreeForm);
    assert_eq!(
        again,
        BillingEffect::Rejected {
            reason: RejectReason::NoServiceWindow
        }
    );
    assert_eq!(ledger.state_bytes(), bytes);
}

#[test]
fn state_stays_small_per_customer() {
    let mut ledger = Ledger::with_capacity(
        PricingModel::Conversation2024,
        RateCard::from_json(CARD).unwrap(),
        10_000,
    );
    for i in 0..10_000_u64 {
        let c = Customer::from_digits(393_330_000_000 + i).unwrap();
        let event = Event::new(
            Timestamp::from_unix_seconds(1_721_037_600 + i as i64 * 60),
            c,
            MARKETING,
        );
        ledger.apply(&event).unwrap();
    }
    assert_eq!(ledger.customer_count(), 10_000);
    let per_customer = ledger.state_bytes() / 10_000;
    assert!(per_customer <= 128, "{per_customer} bytes per customer");
    assert_eq!(ledger.totals().total_cost, money("1400"));
}

#[test]
fn a_new_rate_card_prices_only_conversations_opened_after_it() {
    let mut ledger = ledger(PricingModel::Conversation2024);
    apply(&mut ledger, "2024-09-30T20:00:00Z", ANNA, MARKETING);
    let october = CARD.replace(
        "\"marketing\": 0.14, \"utility\": 0.1",
        "\"marketing\": 0.2, \"utility\": 0.05",
    );
    ledger
        .replace_rate_card(RateCard::from_json(&october).unwrap())
        .unwrap();
    let joined = apply(&mut ledger, "2024-10-01T08:00:00Z", ANNA, MARKETING);
    assert_eq!(joined.cost(), None);
    let utility = apply(&mut ledger, "2024-10-01T09:00:00Z", ANNA, UTILITY);
    assert_eq!(utility.cost(), Some(money("0.05")));
    let next = apply(&mut ledger, "2024-10-01T20:00:00Z", ANNA, MARKETING);
    assert_eq!(next.cost(), Some(money("0.2")));
    assert_eq!(ledger.totals().total_cost, money("0.39"));

    let italy_only = r#"{"currency": "EUR", "calling_codes": {"39": "IT"},
        "markets": {"IT": {"marketing": 1, "utility": 1, "authentication": 1}}}"#;
    apply(&mut ledger, "2024-10-01T21:00:00Z", BERT, MARKETING);
    let refused = ledger.replace_rate_card(RateCard::from_json(italy_only).unwrap());
    assert!(matches!(refused, Err(BillingError::RateCard(_))));
    assert_eq!(ledger.rate_card().markets().len(), 2);
}

#[test]
fn a_new_rate_card_moves_customers_to_their_new_market() {
    let mut ledger = ledger(PricingModel::Conversation2024);
    let anna = ledger.intern(customer(ANNA)).unwrap();
    // Italian numbers now priced as German ones.
    let swapped = CARD.replace(r#""39": "IT""#, r#""39": "DE""#);
    ledger
        .replace_rate_card(RateCard::from_json(&swapped).unwrap())
        .unwrap();
    let at_noon = at("2024-10-01T12:00:00Z");
    assert!(
        matches!(
            ledger.apply_to(anna, at_noon, MARKETING),
            Err(BillingError::StaleCustomerId)
        ),
        "an id carries its market, so the old card's ids are refused"
    );
    let anna = ledger.intern(customer(ANNA)).unwrap();
    let opened = ledger.apply_to(anna, at_noon, MARKETING).unwrap();
    assert_eq!(opened.cost(), Some(money("0.19")), "the German price");
}

#[test]
fn hostile_rate_cards_and_amounts_are_refused() {
    let negative = r#"{"currency": "EUR", "calling_codes": {"39": "IT"},
        "markets": {"IT": {"marketing": -0.14, "utility": 0.1, "authentication": 0.12, "service": 0.11}}}"#;
    assert!(matches!(
        spoki_billing::RateCard::from_json(negative),
        Err(spoki_billing::RateCardError::NegativePrice { .. })
    ));
    assert!(Money::parse("9223372036854.999999", Currency::EUR).is_err());
    let max = Money::from_micros(i64::MAX, Currency::EUR);
    assert_eq!(
        max.checked_add(max),
        None,
        "sums fail instead of wrapping or saturating"
    );
}

#[test]
fn a_message_at_exactly_24_hours_opens_a_new_conversation() {
    let mut ledger = ledger(PricingModel::Conversation2024);
    let first = apply(
        &mut ledger,
        "2024-07-15T10:00:00Z",
        "+393331112222",
        MARKETING,
    );
    assert_eq!(first.cost(), Some(money("0.14")));
    let just_before = apply(
        &mut ledger,
        "2024-07-16T09:59:59Z",
        "+393331112222",
        MARKETING,
    );
    assert!(!just_before.is_charged(), "joins the open conversation");
    let at_24h = apply(
        &mut ledger,
        "2024-07-16T10:00:00Z",
        "+393331112222",
        MARKETING,
    );
    assert_eq!(
        at_24h.cost(),
        Some(money("0.14")),
        "the window is half-open: [start, start + 24 h)"
    );
}

#[test]
fn now_is_the_system_clock() {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let now = Timestamp::now().unix_seconds();
    assert!((before..=before + 2).contains(&now), "{now} vs {before}");
}

/// One second before, at and after `end`, as RFC 3339.
fn around(end: &str) -> [Timestamp; 3] {
    let end = at(end).unix_seconds();
    [end - 1, end, end + 1].map(Timestamp::from_unix_seconds)
}

#[test]
fn the_service_window_ends_exactly_24_hours_after_the_customer_writes() {
    let mut ledger = ledger(PricingModel::Conversation2024);
    apply(&mut ledger, "2024-07-15T10:00:00Z", ANNA, Message::Inbound);
    let [before, end, after] = around("2024-07-16T10:00:00Z");
    assert!(matches!(
        ledger.free_form_status(customer(ANNA), before),
        FreeFormStatus::Open { .. }
    ));
    for closed in [end, after] {
        assert!(
            matches!(
                ledger.free_form_status(customer(ANNA), closed),
                FreeFormStatus::Closed { .. }
            ),
            "at {closed}"
        );
        let reply = ledger
            .preview(&Event::new(closed, customer(ANNA), Message::FreeForm))
            .unwrap();
        assert!(
            matches!(reply, BillingEffect::Rejected { .. }),
            "at {closed}: {reply:?}"
        );
    }
    let reply = ledger
        .preview(&Event::new(before, customer(ANNA), Message::FreeForm))
        .unwrap();
    assert!(matches!(reply, BillingEffect::Opened(_)), "{reply:?}");
}

#[test]
fn the_entry_point_offer_lasts_24_hours_and_the_entry_point_72() {
    let mut ledger = ledger(PricingModel::Conversation2024);
    apply(
        &mut ledger,
        "2024-07-15T10:00:00Z",
        ANNA,
        Message::InboundViaFreeEntryPoint,
    );
    // The offer: a reply one second before its end opens the free entry point; at or after the
    // end a template opens a paid conversation. (A template, as a free-form reply is refused
    // from the same instant: the service window ends with the offer.)
    let [before, end, after] = around("2024-07-16T10:00:00Z");
    let kind = |when| match ledger
        .preview(&Event::new(when, customer(ANNA), MARKETING))
        .unwrap()
    {
        BillingEffect::Opened(opened) => Some(opened.kind),
        _ => None,
    };
    assert_eq!(kind(before), Some(ConversationKind::FreeEntryPoint));
    assert_ne!(kind(end), Some(ConversationKind::FreeEntryPoint));
    assert_ne!(kind(after), Some(ConversationKind::FreeEntryPoint));

    // The entry point: 72 hours from the reply, templates inside it are free.
    apply(&mut ledger, "2024-07-15T12:00:00Z", ANNA, Message::FreeForm);
    let [before, end, after] = around("2024-07-18T12:00:00Z");
    let cost = |when| {
        ledger
            .preview(&Event::new(when, customer(ANNA), MARKETING))
            .unwrap()
            .cost()
            .unwrap_or(money("0"))
    };
    assert!(cost(before).is_zero(), "inside the 72 hours");
    assert_eq!(cost(end), money("0.14"), "the window is half-open");
    assert_eq!(cost(after), money("0.14"));
}

#[test]
fn a_conversation_ends_exactly_24_hours_after_it_opens() {
    let mut ledger = ledger(PricingModel::Conversation2024);
    apply(&mut ledger, "2024-07-15T10:00:00Z", BERT, UTILITY);
    let [before, end, after] = around("2024-07-16T10:00:00Z");
    let cost = |when| {
        ledger
            .preview(&Event::new(when, customer(BERT), UTILITY))
            .unwrap()
            .cost()
            .unwrap_or(money("0"))
    };
    assert!(cost(before).is_zero());
    assert_eq!(cost(end), money("0.08"));
    assert_eq!(cost(after), money("0.08"));
}

#[path = "ledger/totals.rs"]
mod totals;

#[path = "ledger/batches.rs"]
mod batches;

mod edges {
    use super::*;
    use spoki_billing::CategorySet;

    #[test]
    fn free_form_at_the_end_of_a_conversation_opens_a_service_one() {
        let mut ledger = ledger(PricingModel::Conversation2024);
        apply(&mut ledger, "2024-07-15T10:00:00Z", ANNA, MARKETING);
        apply(&mut ledger, "2024-07-15T20:00:00Z", ANNA, Message::Inbound);
        let inside = apply(&mut ledger, "2024-07-16T09:59:59Z", ANNA, Message::FreeForm);
        assert!(matches!(
            inside,
            BillingEffect::Joined {
                kind: ConversationKind::Marketing,
                ..
            }
        ));
        let at_end = apply(&mut ledger, "2024-07-16T10:00:00Z", ANNA, Message::FreeForm);
        assert!(
            matches!(at_end, BillingEffect::Opened(ref o) if o.kind == ConversationKind::Service),
            "the marketing conversation is over at exactly 24 hours: {at_end:?}"
        );
        assert!(!at_end.is_rejected());
    }

    #[test]
    fn an_entry_point_closes_only_conversations_still_open() {
        let mut ledger = ledger(PricingModel::Conversation2024);
        apply(&mut ledger, "2024-07-15T10:00:00Z", ANNA, MARKETING);
        apply(&mut ledger, "2024-07-15T11:00:00Z", ANNA, UTILITY);
        apply(
            &mut ledger,
            "2024-07-16T09:00:00Z",
            ANNA,
            Message::InboundViaFreeEntryPoint,
        );
        // At exactly 24 hours the marketing conversation is over; utility is still open.
        let reply = apply(&mut ledger, "2024-07-16T10:00:00Z", ANNA, Message::FreeForm);
        let BillingEffect::Opened(opened) = reply else {
            panic!("the reply opens the entry point: {reply:?}");
        };
        assert_eq!(opened.kind, ConversationKind::FreeEntryPoint);
        assert_eq!(
            opened.closed,
            [Category::Utility].into_iter().collect::<CategorySet>()
        );
    }

    #[test]
    fn pricing_models_name_themselves() {
        for (model, name) in [
            (PricingModel::Conversation2024, "conversation_2024"),
            (PricingModel::PerMessage2025, "per_message_2025"),
        ] {
            assert_eq!(model.as_str(), name);
            assert_eq!(model.to_string(), name);
            assert_eq!(name.parse::<PricingModel>().unwrap(), model);
        }
        assert!("per_message_2026".parse::<PricingModel>().is_err());
    }
}
