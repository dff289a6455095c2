//! Webhook deliveries as billing events: what live traffic tells the ledger.

use serde_json::json;
use spoki_billing::{
    Category, Event, FreeFormStatus, Ledger, Message, PricingModel, RateCard, Timestamp,
    TrafficError,
};
use spoki_models::{Phone, TemplateCategory};
use spoki_webhook::{DecodeError, Delivery};

const CARD: &str = r#"{"currency": "EUR", "calling_codes": {"39": "IT"},
    "markets": {"IT": {"marketing": 0.14, "utility": 0.10, "authentication": 0.12, "service": 0.11}}}"#;

fn delivery(value: serde_json::Value) -> Delivery {
    Delivery::from_slice(value.to_string().as_bytes()).unwrap()
}

/// The templates list, as the API reads it: 7001 is a utility template, 7002 has a category
/// this SDK does not know.
fn category_of(template: &serde_json::Value) -> Option<TemplateCategory> {
    match template.as_i64() {
        Some(7001) => Some(TemplateCategory::Utility),
        Some(7002) => Some(TemplateCategory::Unknown("ACCOUNT_UPDATE".into())),
        _ => None,
    }
}

fn inbound() -> Delivery {
    delivery(json!({
        "version": 2, "event": "message.inbound", "event_uuid": "e-1",
        "timestamp": 1721037600.25, "account_id": 101,
        "data": {"uuid": "m-1", "from_phone": "393331234567", "text": "Ciao",
                 "created_at": "2024-07-15T10:00:00Z"}
    }))
}

fn outbound(status: &str, extra: serde_json::Value) -> Delivery {
    let mut data = json!({"uuid": "m-2", "send_status": status, "to_phone": "+393331234567",
                          "created_at": "2024-07-15T10:05:00Z"});
    data.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    delivery(
        json!({"version": 2, "event": "message.outbound", "event_uuid": "e-2",
                    "timestamp": 1721037900.0, "data": data}),
    )
}

#[test]
fn an_inbound_message_opens_the_service_window() {
    let event = Event::from_delivery(&inbound(), category_of)
        .unwrap()
        .unwrap();
    assert_eq!(event.message, Message::Inbound);
    assert_eq!(event.at, Timestamp::parse("2024-07-15T10:00:00Z").unwrap());
    assert_eq!(
        event.customer.to_string(),
        "+393331234567",
        "the missing + is added"
    );

    let mut ledger = Ledger::new(
        PricingModel::Conversation2024,
        RateCard::from_json(CARD).unwrap(),
    );
    ledger.apply(&event).unwrap();
    let later = Timestamp::parse("2024-07-15T11:00:00Z").unwrap();
    assert!(matches!(
        ledger.free_form_status(event.customer, later),
        FreeFormStatus::Open { .. }
    ));
}

#[test]
fn an_outbound_message_bills_once_when_sent() {
    let template = Event::from_delivery(&outbound("Sent", json!({"template": 7001})), category_of)
        .unwrap()
        .unwrap();
    assert_eq!(template.message, Message::Template(Category::Utility));
    let text = Event::from_delivery(
        &outbound("Sent", json!({"content_type": "text"})),
        category_of,
    )
    .unwrap()
    .unwrap();
    assert_eq!(text.message, Message::FreeForm);
    for later in ["Delivered", "Read", "Error", "Pending"] {
        assert!(
            Event::from_delivery(&outbound(later, json!({"template": 7001})), category_of)
                .unwrap()
                .is_none(),
            "{later} bills nothing"
        );
    }
}

#[test]
fn what_cannot_be_billed_says_why() {
    let unknown = Event::from_delivery(&outbound("Sent", json!({"template": 42})), category_of);
    assert!(matches!(unknown, Err(TrafficError::UnknownTemplate(t)) if t == "42"));
    let unpriced = Event::from_delivery(&outbound("Sent", json!({"template": 7002})), category_of);
    assert!(matches!(unpriced, Err(TrafficError::UnknownTemplate(t)) if t == "7002"));
    let ambiguous = Event::from_delivery(&outbound("Sent", json!({})), category_of);
    assert!(matches!(ambiguous, Err(TrafficError::Ambiguous)));
    // A message event without data is refused when it is decoded, before billing sees it.
    let no_data = Delivery::from_slice(br#"{"event": "message.inbound", "event_uuid": "e-3"}"#);
    assert!(matches!(no_data, Err(DecodeError::NoData { .. })));
    let no_phone = delivery(json!({"event": "message.inbound", "timestamp": 1.0, "data": {}}));
    assert!(matches!(
        Event::from_delivery(&no_phone, category_of),
        Err(TrafficError::NoCustomer)
    ));
    // Another event is not a billing event.
    let tag = delivery(json!({"event": "tag.added", "data": {"id": 1}}));
    assert!(Event::from_delivery(&tag, category_of).unwrap().is_none());
}

#[test]
fn without_its_own_time_a_message_takes_the_envelopes() {
    let bare = delivery(
        json!({"event": "message.inbound", "timestamp": 1721037600.9,
                               "data": {"from_phone": "+393331234567"}}),
    );
    let event = Event::from_delivery(&bare, category_of).unwrap().unwrap();
    assert_eq!(event.at, Timestamp::from_unix_seconds(1_721_037_600));
}

#[test]
fn a_null_template_is_no_template() {
    let null = Event::from_delivery(
        &outbound("Sent", json!({"template": null, "content_type": "text"})),
        category_of,
    )
    .unwrap()
    .unwrap();
    assert_eq!(null.message, Message::FreeForm);
}

#[test]
fn the_clients_own_sends_are_events_in_the_sdks_types() {
    let at = Timestamp::parse("2024-07-15T10:05:00Z").unwrap();
    let to = Phone::parse("+393331234567").unwrap();
    let template = Event::sent(at, &to, Some(&TemplateCategory::Marketing)).unwrap();
    assert_eq!(template.message, Message::Template(Category::Marketing));
    assert_eq!(template.customer.to_string(), "+393331234567");
    assert_eq!(template.at, at);
    let free_form = Event::sent(at, &to, None).unwrap();
    assert_eq!(free_form.message, Message::FreeForm);
    let unknown = TemplateCategory::Unknown("ACCOUNT_UPDATE".into());
    assert!(matches!(
        Event::sent(at, &to, Some(&unknown)),
        Err(TrafficError::UnknownTemplate(t)) if t == "ACCOUNT_UPDATE"
    ));
}
