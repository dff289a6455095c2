//! Every documented event kind decodes into its type, with nothing its fixture carries lost,
//! and the envelopes seen in the wild decode or say what they lack.

use serde_json::Value;
use spoki_models::{SendStatus, WebhookEvent};
use spoki_webhook::{DecodeError, Delivery, Event};

fn fixture(kind: &WebhookEvent) -> String {
    let path = format!(
        "{}/samples/{}.json",
        env!("CARGO_MANIFEST_DIR"),
        kind.as_str()
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every key of `sent`, at any depth, is in `kept`: the type has a field for it.
fn keys_kept(sent: &Value, kept: &Value, path: &str) {
    match (sent, kept) {
        (Value::Object(sent), Value::Object(kept)) => {
            for (key, value) in sent {
                let inner = kept
                    .get(key)
                    .unwrap_or_else(|| panic!("{path}.{key} is dropped by the typed event"));
                keys_kept(value, inner, &format!("{path}.{key}"));
            }
        }
        (Value::Array(sent), Value::Array(kept)) => {
            for (i, (a, b)) in sent.iter().zip(kept).enumerate() {
                keys_kept(a, b, &format!("{path}[{i}]"));
            }
        }
        _ => {}
    }
}

#[test]
fn every_documented_kind_decodes_into_its_type() {
    for kind in WebhookEvent::KNOWN {
        let body = fixture(kind);
        let delivery =
            Delivery::from_slice(body.as_bytes()).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(&delivery.event.kind(), kind);
        assert!(
            !matches!(delivery.event, Event::Unknown { .. }),
            "{kind} has a typed arm"
        );
        assert_eq!(delivery.account_id, Some(101));
        assert_eq!(delivery.timestamp, Some(1721037900.5));
        let sent: Value = serde_json::from_str(&body).unwrap();
        let typed = serde_json::to_value(&delivery).unwrap();
        assert_eq!(typed["event"], sent["event"]);
        keys_kept(&sent["data"], &typed["data"], kind.as_str());
    }
}

#[test]
fn typed_fields_read_as_sent() {
    let outbound =
        Delivery::from_slice(fixture(&WebhookEvent::MessageOutbound).as_bytes()).unwrap();
    let Event::MessageOutbound(m) = outbound.event else {
        panic!("outbound");
    };
    assert_eq!(m.send_status, Some(SendStatus::Error));
    assert_eq!(m.error_code.as_deref(), Some("131047"));
    let contact = Delivery::from_slice(fixture(&WebhookEvent::ContactUpdated).as_bytes()).unwrap();
    let Event::ContactUpdated(c) = contact.event else {
        panic!("contact");
    };
    assert_eq!(c.id, 501);
    assert_eq!(c.tag_set[0].name.as_deref(), Some("vip"));
}

#[test]
fn an_unknown_kind_keeps_its_data() {
    let body =
        br#"{"event":"contact_field.updated","event_uuid":"e-9","data":{"code":"X","n":[1,2]}}"#;
    let delivery = Delivery::from_slice(body).unwrap();
    match &delivery.event {
        Event::Unknown { event, data } => {
            assert_eq!(event, "contact_field.updated");
            assert_eq!(data["n"][1], 2);
        }
        other => panic!("expected Unknown, got {other:?}"),
    }
    assert_eq!(
        delivery.event.kind(),
        WebhookEvent::Unknown("contact_field.updated".into())
    );
}

#[test]
fn envelopes_seen_in_the_wild_decode() {
    // `type` for `event`, `message` for `data`, no `event_uuid` or version.
    let typed = Delivery::from_slice(
        br#"{"type":"message.inbound","message":{"from_phone":"393331234567","text":"Ciao"}}"#,
    )
    .unwrap();
    assert!(matches!(&typed.event, Event::MessageInbound(m) if m.text.as_deref() == Some("Ciao")));
    assert_eq!((typed.event_uuid, typed.version), (None, None));
    for holder in ["payload", "result"] {
        let body =
            format!(r#"{{"event":"contact_tag.created","{holder}":{{"id":4,"name":"vip"}}}}"#);
        let delivery = Delivery::from_slice(body.as_bytes()).unwrap();
        assert!(
            matches!(delivery.event, Event::ContactTagCreated(ref t) if t.id == 4),
            "{holder}"
        );
    }
}

#[test]
fn what_is_missing_or_wrong_is_named() {
    let no_event = Delivery::from_slice(br#"{"event_uuid":"e-1","data":{}}"#).unwrap_err();
    assert!(matches!(no_event, DecodeError::NoEvent));
    assert!(no_event.to_string().contains("`event` nor `type`"));

    let no_data = Delivery::from_slice(br#"{"event":"message.inbound","data":null}"#).unwrap_err();
    assert!(matches!(no_data, DecodeError::NoData { .. }));
    assert!(no_data.to_string().contains("message.inbound"), "{no_data}");

    let wrong =
        Delivery::from_slice(br#"{"event":"contact.created","data":{"id":"not a number"}}"#)
            .unwrap_err();
    assert!(wrong.to_string().contains("contact.created"), "{wrong}");
    assert!(
        wrong.to_string().contains("id"),
        "the path is named: {wrong}"
    );

    let not_json = Delivery::from_slice(b"event=message.inbound").unwrap_err();
    assert!(matches!(not_json, DecodeError::Envelope(_)));
}
