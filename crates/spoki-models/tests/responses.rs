//! Decoding representative responses: extra fields, unknown enum values, absent fields and
//! the alternative shapes the sources disagree on.

use serde_json::json;
use spoki_models::*;

fn decode<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).unwrap()
}

#[test]
fn account_with_credit_and_capacity() {
    let account: Account = decode(json!({
        "id": 101,
        "name": "Pizzeria Da Mario",
        "current_credit": 8556300,
        "estimated_available_conversations": 61116,
        "account_type": 2,
        "quality_score": "GREEN",
        "channels": [{"name": "Main", "platform": 1, "is_primary": true, "quality_score": 9.5}],
        "a_field_from_the_future": {"nested": true}
    }));
    assert_eq!(account.current_credit, Money::from_millis(8_556_300));
    assert_eq!(account.current_credit.unwrap().to_string(), "8556.30 EUR");
    assert_eq!(account.estimated_available_conversations, Some(61116));
    assert_eq!(account.account_type, Some(AccountType::Standard));
    assert_eq!(
        account.quality_score,
        Some(NumberOrText::Text("GREEN".into()))
    );
    assert_eq!(
        account.channels[0].platform,
        Some(ChannelPlatform::WhatsApp)
    );
    assert_eq!(
        account.channels[0]
            .quality_score
            .as_ref()
            .and_then(|q| q.as_f64()),
        Some(9.5)
    );
}

#[test]
fn absent_and_null_fields_decode_as_empty() {
    let contact: Contact = decode(json!({"id": 7, "email": null, "tag_set": null}));
    assert_eq!(contact, Contact::new(7));
    assert!(contact.tag_set.is_empty());
    assert_eq!(contact.status, None);
}

#[test]
fn unknown_enum_values_are_kept_not_rejected() {
    let contact: Contact = decode(json!({"id": 1, "status": "Double Opt-In"}));
    assert_eq!(
        contact.status,
        Some(MarketingStatus::Unknown("Double Opt-In".into()))
    );
    assert!(!contact.status.as_ref().unwrap().is_known());

    let template: Template = decode(json!({
        "id": 3,
        "category": "ACCOUNT_UPDATE",
        "templatelocalization_set": [{"language": "it", "status": 2}, {"language": "en", "status": 9}]
    }));
    assert_eq!(
        template.category,
        Some(TemplateCategory::Unknown("ACCOUNT_UPDATE".into()))
    );
    // Some reads carry the integer code: a known one decodes to its status, another is kept.
    assert_eq!(
        template.templatelocalization_set[0].status,
        Some(TemplateStatus::Approved)
    );
    assert_eq!(
        template.templatelocalization_set[1].status,
        Some(TemplateStatus::Unknown("9".into()))
    );

    let field: CustomField = decode(json!({"id": 9, "field_type": 7}));
    assert_eq!(field.field_type, Some(CustomFieldType::Unknown("7".into())));
    // ... and goes back out as the same JSON number.
    assert_eq!(serde_json::to_value(&field).unwrap()["field_type"], 7);
}

#[test]
fn enums_keep_their_wire_spelling() {
    assert_eq!(
        serde_json::to_value(MarketingStatus::NotDeclared).unwrap(),
        "Not Declared"
    );
    assert_eq!(serde_json::to_value(CustomFieldType::DateTime).unwrap(), 3);
    assert_eq!("OPEN".parse::<TicketStatus>().unwrap(), TicketStatus::Open);
    assert_eq!(serde_json::to_value(TicketStatus::Open).unwrap(), "Open");
    assert_eq!(WebhookEvent::KNOWN.len(), 11);
}

#[test]
fn template_localization_reads_both_component_names() {
    let with_long_names: TemplateLocalization = decode(json!({
        "language": "it",
        "status": "APPROVED",
        "body_template_component": {"component_type": "body", "text": "Ciao %%FIRST_NAME%%"},
        "templatebuttoncomponent_set": [{"button_type": "quick_reply", "text": "Ok", "order": 1}]
    }));
    let with_short_names: TemplateLocalization = decode(json!({
        "language": "it",
        "status": "APPROVED",
        "body": {"component_type": "body", "text": "Ciao %%FIRST_NAME%%"},
        "button_set": [{"button_type": "quick_reply", "text": "Ok", "order": 1}]
    }));
    assert_eq!(with_long_names, with_short_names);
    assert_eq!(with_long_names.status, Some(TemplateStatus::Approved));
}

#[test]
fn pages_decode_from_an_envelope_or_a_bare_array() {
    let page: Page<Account> = decode(json!({
        "count": 3,
        "next": "https://api.spoki.com/api/1/accounts/?page=2",
        "previous": null,
        "results": [{"id": 1}, {"id": 2}]
    }));
    assert_eq!(page.count, Some(3));
    assert!(page.has_next());
    assert_eq!(page.results.len(), 2);

    let bare: Page<Account> = decode(json!([{"id": 1}, {"id": 2}, {"id": 3}]));
    assert_eq!(bare.results.len(), 3);
    assert!(!bare.has_next());
}

#[test]
fn page_decode_errors_name_the_failing_item() {
    for (body, path) in [
        (
            json!({"results": [{"id": 1}, {"id": "x"}]}),
            "results[1].id",
        ),
        (json!([{"id": 1}, {"id": 2}, {"id": []}]), "[2].id"),
    ] {
        let err = serde_path_to_error::deserialize::<_, Page<Contact>>(body).unwrap_err();
        assert_eq!(err.path().to_string(), path, "{err}");
        assert!(err.to_string().contains("invalid type"), "{err}");
    }
}

#[test]
fn campaign_references_decode_as_ids_or_objects() {
    let campaign: Campaign = decode(json!({
        "id": 5,
        "status": "Scheduled",
        "scheduled_datetime": "2024-07-15T10:00:00Z",
        "automation": {"id": 12, "name": "Renewal"},
        "lists": [3, {"id": 4, "name": "VIP"}]
    }));
    assert_eq!(campaign.automation.as_ref().map(IdRef::id), Some(12));
    assert_eq!(
        campaign.lists.iter().map(IdRef::id).collect::<Vec<_>>(),
        [3, 4]
    );
    assert_eq!(
        campaign.scheduled_datetime.unwrap().unix_seconds(),
        1_721_037_600
    );
}

#[test]
fn automation_exposes_its_start_step_without_printing_the_secret() {
    let automation: Automation = decode(json!({
        "id": 44,
        "name": "Renewal reminder",
        "webhook_set": [{"uuid": "0b7c", "link": "https://api.spoki.com/wh/ap/0b7c/", "secret": "canary-s3cret", "is_active": true}]
    }));
    let trigger = &automation.webhook_set[0];
    assert_eq!(trigger.secret.as_ref().unwrap().expose(), "canary-s3cret");
    assert!(!format!("{automation:?}").contains("canary-s3cret"));
}

#[test]
fn iframe_events_decode() {
    let unread: IframeEvent =
        decode(json!({"eventType": "hasUnreadChatsChanged", "data": {"hasUnreadChats": true}}));
    assert_eq!(
        unread,
        IframeEvent::HasUnreadChatsChanged(HasUnreadChatsChanged::new(true))
    );
    let chats: IframeEvent = decode(
        json!({"eventType": "chatsChanged", "data": {"chats": [{"uuid": "c1"}], "hasFilters": false, "page": 1}}),
    );
    let IframeEvent::ChatsChanged(c) = &chats else {
        panic!("{chats:?}")
    };
    assert_eq!(
        (c.chats.len(), c.has_filters, c.page),
        (1, Some(false), Some(1))
    );
    let messages: IframeEvent = decode(
        json!({"eventType": "chatMessagesChanged", "data": {"chat": {}, "page": 2, "messages": []}}),
    );
    assert_eq!(messages.event_type(), "chatMessagesChanged");
    let other: IframeEvent = decode(json!({"eventType": "somethingNew", "data": 1}));
    assert_eq!(other.event_type(), "somethingNew");
    assert_eq!(
        serde_json::to_value(&unread).unwrap(),
        json!({"eventType": "hasUnreadChatsChanged", "data": {"hasUnreadChats": true}})
    );
}

#[test]
fn responses_round_trip() {
    let account = Account::new(1)
        .name("A")
        .current_credit(Money::from_millis(5).unwrap())
        .channels([Channel::default().is_primary(true)]);
    let back: Account = decode(serde_json::to_value(&account).unwrap());
    assert_eq!(back, account);
}

#[test]
fn operation_table_covers_the_api() {
    use spoki_models::operation::{self, AuthKind, Method};
    assert_eq!(operation::ALL.len(), 123);
    let send = operation::Operation::find("messages_send_text").unwrap();
    assert_eq!(
        (send.method, send.path, send.idempotent),
        (Method::Post, "/api/1/messages/send/", false)
    );
    assert_eq!(
        operation::AUTOMATIONS_START_BULK.auth,
        AuthKind::AutomationSecret
    );
    assert_eq!(operation::CONTACTS_SYNC_ALL.rate_class.requests(), 1);
    let clone = operation::Operation::find("templates_clone").unwrap();
    assert!(!clone.idempotent, "clone is a GET with side effects");
    let published = RateClass::ALL
        .iter()
        .filter(|c| c.confidence() == operation::Confidence::High)
        .count();
    let with_published_limit = operation::ALL
        .iter()
        .filter(|op| op.rate_class.confidence() == operation::Confidence::High)
        .count();
    assert_eq!(
        with_published_limit, 28,
        "seed 002 limits, custom_fields_delete counted in its shared class"
    );
    assert!(published >= 27);
}

#[test]
fn values_round_trip_exactly_or_are_refused() {
    use spoki_models::{AccountType, Money, Timestamp};
    // Timestamps: RFC 3339 has years 0000 to 9999, and no sign.
    for text in [
        "-0001-01-01T00:00:00Z",
        "10000-01-01T00:00:00Z",
        "+2024-07-15 10:00:00",
        "-2024-07-15 10:00:00",
    ] {
        assert!(Timestamp::parse(text).is_err(), "{text}");
    }
    let year_43_000 = (i64::from(i32::MAX) * 200).to_string();
    assert!(serde_json::from_str::<Timestamp>(&year_43_000).is_err());
    assert!(
        serde_json::from_str::<Timestamp>("-62167219201").is_err(),
        "a second before year 0"
    );
    let edge = Timestamp::parse("9999-12-31T23:59:59Z").unwrap();
    assert_eq!(
        serde_json::to_string(&edge).unwrap(),
        r#""9999-12-31T23:59:59Z""#
    );
    let far = Timestamp::new(time::macros::datetime!(-0001-12-31 0:00 UTC));
    assert!(
        serde_json::to_string(&far).is_err(),
        "not written as something unreadable"
    );

    // Integer enums keep unknown values as they came.
    for wire in [r#""+1""#, r#""007""#, r#""1.0""#, "9", r#""9""#] {
        let value: AccountType = serde_json::from_str(wire).unwrap();
        let back = serde_json::to_string(&value).unwrap();
        let expected = if wire == r#""9""# { "9" } else { wire };
        assert_eq!(back, expected, "{wire}");
    }
    assert_eq!(serde_json::to_string(&AccountType::Standard).unwrap(), "2");

    // Money refuses what does not fit.
    assert_eq!(Money::from_euros(i64::MAX / 1_000_000 + 1), None);
    assert_eq!(Money::from_euros(5).and_then(Money::millis), Some(5000));
}

/// Every key of `fixture`, at any depth, is also in `decoded`: nothing a source documents is
/// dropped by the model.
fn assert_keeps_every_field(fixture: &serde_json::Value, decoded: &serde_json::Value, at: &str) {
    match (fixture, decoded) {
        (serde_json::Value::Object(f), serde_json::Value::Object(d)) => {
            for (key, value) in f {
                let Some(kept) = d.get(key) else {
                    // An empty list or a null carries nothing to lose.
                    let empty = value.is_null() || value.as_array().is_some_and(Vec::is_empty);
                    assert!(empty, "`{at}.{key}` was dropped");
                    continue;
                };
                assert_keeps_every_field(value, kept, &format!("{at}.{key}"));
            }
        }
        (serde_json::Value::Array(f), serde_json::Value::Array(d)) => {
            assert_eq!(f.len(), d.len(), "`{at}` lost items");
            for (i, (a, b)) in f.iter().zip(d).enumerate() {
                assert_keeps_every_field(a, b, &format!("{at}[{i}]"));
            }
        }
        // A scalar comes back the same; numbers may gain a fraction (`1` read as `1.0`).
        (f, d) => assert!(
            f == d || f.as_f64().is_some_and(|x| d.as_f64() == Some(x)),
            "`{at}` changed from {f} to {d}"
        ),
    }
}

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(fixture: serde_json::Value) -> T {
    let decoded: T = serde_json::from_value(fixture.clone()).expect("the fixture decodes");
    let encoded = serde_json::to_value(&decoded).unwrap();
    assert_keeps_every_field(&fixture, &encoded, "");
    decoded
}

#[test]
fn webhook_events_keep_every_field_the_sources_show() {
    use spoki_models::{InboundMessageEvent, OutboundMessageEvent, SendStatus, WebhookDelivery};

    // The envelope's time comes with a fraction in the wild.
    let delivery: WebhookDelivery = round_trip(json!({
        "version": 2, "event": "message.inbound", "event_uuid": "e-1",
        "timestamp": 1785783757.123, "account_id": 101,
        "data": {"uuid": "m-2", "from_phone": "393331234567", "text": "Sì, rinnovo",
                 "replyToMessageUid": "m-1", "payload": "RENEW", "direction": "inbound",
                 "content_type": "text", "to_phone": "390612345678",
                 "created_at": "2026-10-02T09:03:00Z", "timestamp_ms": 1785783757123.0,
                 "chat_uuid": "c-1", "contact": {"id": 9001}, "mediamessage_set": []}
    }));
    assert_eq!(delivery.timestamp, Some(1785783757.123));
    let inbound: InboundMessageEvent = round_trip(delivery.data.clone().unwrap());
    assert_eq!(inbound.reply_to_message_uid.as_deref(), Some("m-1"));
    assert_eq!(inbound.payload.as_deref(), Some("RENEW"));
    // The snake_case spelling is read too.
    let snake: InboundMessageEvent =
        serde_json::from_value(json!({"reply_to_message_uid": "m-1"})).unwrap();
    assert_eq!(snake.reply_to_message_uid.as_deref(), Some("m-1"));

    let outbound: OutboundMessageEvent = round_trip(json!({
        "uuid": "m-1", "send_status": "Pending", "to_phone": "393331234567",
        "from_phone": "390612345678", "template": 7001, "created_at": "2026-10-02T09:00:00Z",
        "timestamp": 1785783600000.0, "direction": "outbound", "content_type": "template",
        "text": "Ciao Mario", "contact": {"id": 9001}, "chat_uuid": "c-1", "wa_id": "wamid.1"
    }));
    assert_eq!(outbound.send_status, Some(SendStatus::Pending));
    assert_eq!(outbound.content_type, Some(MessageContentType::Template));
    assert_eq!(inbound.content_type, Some(MessageContentType::Text));
    // A kind this SDK does not know is kept as sent, and written back the same.
    let sticker: OutboundMessageEvent = round_trip(json!({"content_type": "sticker"}));
    assert_eq!(
        sticker.content_type,
        Some(MessageContentType::Unknown("sticker".into()))
    );
}

#[test]
fn read_models_keep_every_field_the_sources_show() {
    use spoki_models::{Contact, SendResult};

    let template: Template = round_trip(json!({
        "id": 3, "name": "rinnovo", "status": 2,
        "customfield_set": [{"key": "FIRST_NAME"}, "DATA_SCADENZA"]
    }));
    assert_eq!(template.customfield_set.len(), 2);
    let _: Contact =
        round_trip(json!({"id": 9001, "phone": "+393331234567", "is_subscribed": true}));
    let sent: SendResult = round_trip(json!({"id": 88123401, "uuid": "m-1", "status": "Pending"}));
    assert_eq!(sent.status.as_deref(), Some("Pending"));
    let queued: SendResult = round_trip(json!({"detail": "Message queued"}));
    assert_eq!(queued.detail.as_deref(), Some("Message queued"));
}
