//! Lenient on input: every map field of every request body reads `[]` (how PHP writes an empty
//! map) as empty, and the model writes it back as a map.

use serde_json::{Value, json};
use spoki_models::operation::{self, Body, FieldType};

#[test]
fn every_map_field_of_every_request_body_reads_an_empty_list_as_empty() {
    let mut checked = 0;
    for op in operation::ALL {
        let Body::Object { fields, .. } = op.body else {
            continue;
        };
        for field in fields.iter().filter(|f| matches!(f.ty, FieldType::Map(_))) {
            // The other required fields are absent: serde reports them only after reading
            // every field given, so an error that is not at this field means it was read.
            let read = |value: Value| op.body.decode(&json!({ field.name: value }));
            match read(json!([])) {
                Ok(()) => {}
                Err(e) => assert!(
                    e.field().is_none() && e.message.contains("missing field"),
                    "{}.{}: {e}",
                    op.id,
                    field.name
                ),
            }
            // Only an empty list: one with items is still refused, at the field.
            let refused = read(json!(["x"])).expect_err("a list with items is not a map");
            assert_eq!(refused.field(), Some(field.name), "{}", op.id);
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} map fields");
}

#[test]
fn a_nested_map_reads_an_empty_list_and_writes_a_map() {
    let bulk: spoki_models::AutomationStartBulk = serde_json::from_value(json!({
        "secret": "s",
        "contacts": [{"phone": "+393331234567", "custom_fields": []}],
    }))
    .unwrap();
    assert!(bulk.contacts[0].custom_fields.is_empty());
    let send: spoki_models::SendTemplate = serde_json::from_value(json!({
        "phone": "+393331234567", "template": 2, "custom_fields": [],
    }))
    .unwrap();
    let mut filled = send.clone();
    filled.custom_fields.insert("PLAN".into(), "Gold".into());
    assert_eq!(
        serde_json::to_value(&filled).unwrap()["custom_fields"],
        json!({"PLAN": "Gold"})
    );
    // Empty, it is left out rather than written as a list.
    assert!(
        serde_json::to_value(&send)
            .unwrap()
            .get("custom_fields")
            .is_none()
    );
}
