//! The billing model in the SDK's vocabulary: Spoki's credit, the paying account, template
//! categories and timestamps from `spoki-models`.

use spoki_billing::{
    BillingError, CampaignEstimate, Category, Currency, Customer, Ledger, Money, PricingModel,
    RateCard, Timestamp,
};
use spoki_models::Account;

const CARD: &str = r#"{"currency": "EUR", "calling_codes": {"39": "IT", "49": "DE"},
    "markets": {"IT": {"marketing": 0.14, "utility": 0.10, "authentication": 0.12, "service": 0.11},
                "DE": {"marketing": 0.18, "utility": 0.11, "authentication": 0.13, "service": 0.12}}}"#;

fn account(credit_millis: Option<i64>, available: Option<i64>) -> Account {
    serde_json::from_value(serde_json::json!({
        "id": 101,
        "current_credit": credit_millis,
        "estimated_available_conversations": available,
    }))
    .unwrap()
}

fn estimate(recipients: &[&str]) -> (Ledger, CampaignEstimate) {
    let ledger = Ledger::new(
        PricingModel::Conversation2024,
        RateCard::from_json(CARD).unwrap(),
    );
    let customers = recipients.iter().map(|p| Customer::parse(p).unwrap());
    let at = Timestamp::parse("2024-07-15T18:00:00Z").unwrap();
    let estimate = ledger
        .estimate_campaign(customers, Category::Marketing, at)
        .unwrap();
    (ledger, estimate)
}

#[test]
fn credit_and_prices_are_one_money_type() {
    // The account's credit (thousandths of EUR on the wire) and a rate card's prices (decimals)
    // are the same type: they add and compare directly.
    let credit: spoki_models::Money = account(Some(420), None).current_credit.unwrap();
    let price: Money = RateCard::from_json(CARD)
        .unwrap()
        .price_for(
            Customer::parse("+393331234567").unwrap(),
            Category::Marketing,
        )
        .unwrap();
    assert_eq!(credit, Money::parse("0.42", Currency::EUR).unwrap());
    assert_eq!(price.checked_mul(3), Some(Money::from_millis(420).unwrap()));
    assert!(price.checked_mul(4).unwrap() > credit);
    // A price finer than Spoki's thousandths is kept exactly, and is not credit.
    let fine = Money::parse("0.0691", Currency::EUR).unwrap();
    assert_eq!(fine.millis(), None);
    assert!(fine < credit);
}

#[test]
fn a_campaign_is_covered_only_in_money_and_in_conversations() {
    // Three paid conversations, one of them in Germany: 0.46 EUR.
    let (ledger, e) = estimate(&["+393331234567", "+491701234567", "+393470000002"]);
    assert_eq!(e.total_cost, Money::from_millis(460).unwrap());

    let three_conversations_but_short_of_money =
        ledger.coverage(e, &account(Some(420), Some(3))).unwrap();
    assert_eq!(
        three_conversations_but_short_of_money.conversations_covered(),
        Some(true)
    );
    assert_eq!(
        three_conversations_but_short_of_money.money_covered(),
        Some(false)
    );
    assert!(!three_conversations_but_short_of_money.covered());

    // Exactly the cost is enough; a thousandth less is not.
    assert!(
        ledger
            .coverage(e, &account(Some(460), Some(3)))
            .unwrap()
            .covered()
    );
    assert!(
        !ledger
            .coverage(e, &account(Some(459), Some(3)))
            .unwrap()
            .covered()
    );
    // Money enough, conversations short.
    assert!(
        !ledger
            .coverage(e, &account(Some(10_000), Some(2)))
            .unwrap()
            .covered()
    );
    // An account that does not say is not covered.
    let unknown = ledger.coverage(e, &account(None, None)).unwrap();
    assert_eq!(
        (unknown.money_covered(), unknown.conversations_covered()),
        (None, None)
    );
    assert!(!unknown.covered());
}

#[test]
fn a_card_in_another_currency_cannot_be_set_against_spoki_credit() {
    let card = CARD.replace("EUR", "USD");
    let ledger = Ledger::new(
        PricingModel::Conversation2024,
        RateCard::from_json(&card).unwrap(),
    );
    let e = CampaignEstimate {
        recipients: 0,
        new_paid_conversations: 0,
        free_sends: 0,
        total_cost: Money::zero(Currency::USD),
    };
    assert!(matches!(
        ledger.coverage(e, &account(Some(1), Some(1))),
        Err(BillingError::NotEur(Currency::USD))
    ));
}

#[test]
fn template_categories_and_timestamps_come_from_the_models() {
    use spoki_models::TemplateCategory as Wire;
    assert_eq!(
        Category::try_from(&Wire::Marketing),
        Ok(Category::Marketing)
    );
    assert_eq!(
        Category::try_from(&Wire::Authentication),
        Ok(Category::Authentication)
    );
    assert!(Category::try_from(&Wire::Unknown("ACCOUNT_UPDATE".into())).is_err());
    assert_eq!(Wire::try_from(Category::Utility), Ok(Wire::Utility));
    assert!(Wire::try_from(Category::Service).is_err());

    // One timestamp type: what a webhook carries is what the ledger takes, fraction and all.
    let wire: spoki_models::Timestamp =
        serde_json::from_str("\"2024-07-15T18:00:00.250Z\"").unwrap();
    let at: Timestamp = wire;
    assert_eq!(at.unix_seconds(), 1_721_066_400);
    assert_eq!(
        serde_json::to_string(&at).unwrap(),
        "\"2024-07-15T18:00:00.25Z\""
    );
}

#[test]
fn a_service_template_is_refused() {
    let mut ledger = Ledger::new(
        PricingModel::Conversation2024,
        RateCard::from_json(CARD).unwrap(),
    );
    let customer = Customer::parse("+393331234567").unwrap();
    let at = Timestamp::parse("2024-07-15T18:00:00Z").unwrap();
    let service = spoki_billing::Message::Template(Category::Service);
    assert!(matches!(
        ledger.apply(&spoki_billing::Event::new(at, customer, service)),
        Err(BillingError::ServiceTemplate)
    ));
    assert!(matches!(
        ledger.quote_template(customer, Category::Service, at),
        Err(BillingError::ServiceTemplate)
    ));
    assert!(matches!(
        ledger.estimate_campaign([customer], Category::Service, at),
        Err(BillingError::ServiceTemplate)
    ));
    assert_eq!(ledger.customer_count(), 0, "nothing is recorded");
}

mod hardening {
    use spoki_billing::{
        BillingError, Category, Customer, Event, EventError, Ledger, Message, PricingModel,
        RateCard, Timestamp,
    };

    const CARD: &str = r#"{"currency": "EUR", "calling_codes": {"39": "IT"},
        "markets": {"IT": {"marketing": 0.14, "utility": 0.10, "authentication": 0.12, "service": 0.11}}}"#;

    fn ledger() -> Ledger {
        Ledger::new(
            PricingModel::Conversation2024,
            RateCard::from_json(CARD).unwrap(),
        )
    }

    #[test]
    fn an_id_from_another_ledger_is_refused() {
        let mut one = ledger();
        let mut other = ledger();
        let mario = one
            .intern(Customer::parse("+393331112222").unwrap())
            .unwrap();
        let _luca = other
            .intern(Customer::parse("+393334445555").unwrap())
            .unwrap();
        let at = Timestamp::from_unix_seconds(1_700_000_000);
        // Same slot number in both ledgers: without the ledger's identity, Luca would be billed.
        assert!(matches!(
            other.apply_to(mario, at, Message::Template(Category::Marketing)),
            Err(BillingError::StaleCustomerId)
        ));
        assert_eq!(other.totals().events, 0);
        // Its own ledger takes it. A clone is another ledger: once the two add customers, one
        // slot could hold different customers in each, so it refuses the original's ids.
        assert!(one.apply_to(mario, at, Message::Inbound).is_ok());
        let mut clone = one.clone();
        assert!(matches!(
            clone.apply_to(mario, at, Message::Inbound),
            Err(BillingError::StaleCustomerId)
        ));
        let mario_in_clone = clone
            .intern(Customer::parse("+393331112222").unwrap())
            .unwrap();
        assert!(clone.apply_to(mario_in_clone, at, Message::Inbound).is_ok());
    }

    #[test]
    fn a_total_that_would_overflow_is_refused_and_changes_nothing() {
        let card = CARD.replace("0.14", "9000000000000");
        let mut ledger = Ledger::new(
            PricingModel::Conversation2024,
            RateCard::from_json(&card).unwrap(),
        );
        let marketing = Message::Template(Category::Marketing);
        let mut refused = None;
        for i in 0..10 {
            let customer = Customer::from_digits(393_330_000_000 + i as u64).unwrap();
            let at = 1_700_000_000 + i;
            let before = ledger.totals();
            match ledger.apply(&Event::new(
                Timestamp::from_unix_seconds(at),
                customer,
                marketing,
            )) {
                Ok(_) => {}
                Err(e) => {
                    assert_eq!(ledger.totals(), before, "a refused event changes nothing");
                    refused = Some(e);
                    break;
                }
            }
        }
        assert!(
            matches!(refused, Some(BillingError::TotalOverflow)),
            "{refused:?}"
        );
    }

    #[test]
    fn an_inbound_message_typed_as_a_template_is_refused() {
        let template = r#"{"at": "2024-07-15T10:00:00Z", "direction": "inbound",
            "customer": "+393331112222", "kind": "template", "category": "marketing"}"#;
        assert!(matches!(
            Event::from_json(template),
            Err(EventError::InboundTemplate)
        ));
        let with_category = r#"{"at": "2024-07-15T10:00:00Z", "direction": "inbound",
            "customer": "+393331112222", "kind": "free_form", "category": "service"}"#;
        assert!(matches!(
            Event::from_json(with_category),
            Err(EventError::InboundTemplate)
        ));
        let inbound = r#"{"at": "2024-07-15T10:00:00Z", "direction": "inbound",
            "customer": "+393331112222", "kind": "free_form"}"#;
        assert!(Event::from_json(inbound).is_ok());
    }

    #[test]
    fn a_calling_code_or_market_given_twice_is_refused() {
        let twice = r#"{"currency": "EUR", "calling_codes": {"39": "IT", "39": "DE"},
            "markets": {"IT": {"marketing": 0.14, "utility": 0.10, "authentication": 0.12, "service": 0.11},
                        "DE": {"marketing": 0.18, "utility": 0.11, "authentication": 0.13, "service": 0.12}}}"#;
        let error = RateCard::from_json(twice).unwrap_err().to_string();
        assert!(error.contains("\"39\" is given twice"), "{error}");
        let market_twice = CARD.replace(
            r#""markets": {"#,
            r#""markets": {"IT": {"marketing": 1, "utility": 1, "authentication": 1, "service": 1}, "#,
        );
        assert!(RateCard::from_json(&market_twice).is_err());
        assert!(RateCard::from_json(CARD).is_ok());
    }
}

mod limits {
    use spoki_billing::{
        BillingError, Currency, Customer, Event, Ledger, Message, PricingModel, RateCard, Timestamp,
    };

    const CARD: &str = r#"{"currency": "EUR", "calling_codes": {"39": "IT"},
        "markets": {"IT": {"marketing": 0.14, "utility": 0.10, "authentication": 0.12}}}"#;

    #[test]
    fn a_card_in_another_currency_cannot_replace_the_current_one() {
        let mut ledger = Ledger::new(
            PricingModel::PerMessage2025,
            RateCard::from_json(CARD).unwrap(),
        );
        let usd = RateCard::from_json(&CARD.replace("EUR", "USD")).unwrap();
        assert!(matches!(
            ledger.replace_rate_card(usd),
            Err(BillingError::CurrencyChange {
                from: Currency::EUR,
                to: Currency::USD
            })
        ));
        assert_eq!(ledger.rate_card().currency(), Currency::EUR);
    }

    #[test]
    fn an_instant_outside_the_calendar_is_refused() {
        let mut ledger = Ledger::new(
            PricingModel::PerMessage2025,
            RateCard::from_json(CARD).unwrap(),
        );
        let customer = Customer::parse("+393331112222").unwrap();
        for seconds in [i64::MIN, 253_402_300_800] {
            let event = Event::new(
                Timestamp::from_unix_seconds(seconds),
                customer,
                Message::Inbound,
            );
            assert!(matches!(
                ledger.apply(&event),
                Err(BillingError::OutOfRange(_))
            ));
        }
        assert_eq!(ledger.customer_count(), 0);
        assert_eq!(ledger.totals().events, 0);
    }
}
