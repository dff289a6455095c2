//! Every request body documented by a public source (`data/request-examples.json`, each entry
//! with its source) is rebuilt by the SDK's models exactly: decoded as its operation's body
//! model and encoded again, it is the same JSON. A field the models lack, or shape differently,
//! fails here.

mod bodies;

use serde_json::Value;

#[test]
fn every_documented_request_body_is_rebuilt_exactly() {
    let data: Value =
        serde_json::from_str(include_str!("data/request-examples.json")).expect("valid JSON");
    let examples = data["examples"].as_array().expect("a list of examples");
    assert!(examples.len() >= 50, "the collection is complete");
    let mut rebuilt = 0;
    let mut failures = Vec::new();
    for example in examples {
        if example.get("skip").is_some() {
            continue;
        }
        let n = &example["n"];
        let operation = example["operation"].as_str().unwrap();
        let body = example["body"].clone();
        let expected = example.get("expect").unwrap_or(&body).clone();
        match bodies::rebuild(operation, body) {
            None => failures.push(format!("#{n} {operation}: no such operation with a body")),
            Some(Err(e)) => failures.push(format!("#{n} {operation}: does not decode: {e}")),
            Some(Ok(json)) if json != expected => failures.push(format!(
                "#{n} {operation}: rebuilt as\n    {json}\n  documented as\n    {expected}"
            )),
            Some(Ok(_)) => rebuilt += 1,
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(rebuilt >= 45, "only {rebuilt} examples were rebuilt");
}

fn json(body: &impl serde::Serialize) -> Value {
    serde_json::to_value(body).unwrap()
}

/// The documented body `n`, as JSON.
fn example(n: u64) -> Value {
    let data: Value = serde_json::from_str(include_str!("data/request-examples.json")).unwrap();
    data["examples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["n"] == n)
        .map(|e| e["body"].clone())
        .unwrap()
}

#[test]
fn the_builders_write_the_documented_bodies() {
    use spoki_models::{
        AuthTokenRequest, AutomationContact, AutomationStartBulk, ContactSync, Phone, SendText,
    };
    let phone = || Phone::parse("+393331234567").unwrap();

    assert_eq!(
        json(&AuthTokenRequest::new("{{Email}}", "{{Private-Key}}")),
        example(2)
    );
    assert_eq!(
        json(
            &SendText::new(phone(), "Your order is ready.")
                .metadata(serde_json::json!({"order_id": 42}))
        ),
        example(9)
    );
    assert_eq!(
        json(&ContactSync::new(phone()).first_name("Alex")),
        example(14)
    );
    assert_eq!(
        json(&AutomationStartBulk::new(
            "<secret>",
            [AutomationContact::new(phone())]
        )),
        example(25)
    );
}

/// Every way to break a body's limits that still decodes: each text blanked, each list
/// emptied or made 501 long, each at any depth.
fn broken(value: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    match value {
        Value::String(_) => out.push(Value::String("  ".into())),
        Value::Array(items) => {
            out.push(Value::Array(Vec::new()));
            if let Some(first) = items.first() {
                out.push(Value::Array(vec![first.clone(); 501]));
            }
            for (i, item) in items.iter().enumerate() {
                for b in broken(item) {
                    let mut copy = items.clone();
                    copy[i] = b;
                    out.push(Value::Array(copy));
                }
            }
        }
        Value::Object(map) => {
            for (key, field) in map {
                for b in broken(field) {
                    let mut copy = map.clone();
                    copy.insert(key.clone(), b);
                    out.push(Value::Object(copy));
                }
            }
        }
        _ => {}
    }
    out
}

#[test]
fn typed_checks_agree_with_the_rules_on_every_documented_body_and_its_breakages() {
    let data: Value = serde_json::from_str(include_str!("data/request-examples.json")).unwrap();
    let (mut compared, mut refused) = (0, 0);
    for example in data["examples"].as_array().unwrap() {
        let operation = example["operation"].as_str().unwrap();
        let Some(op) = spoki_models::operation::Operation::find(operation) else {
            continue;
        };
        let body = example["body"].clone();
        for candidate in std::iter::once(body.clone()).chain(broken(&body)) {
            let Some(Ok(typed)) = bodies::validate(operation, candidate.clone()) else {
                continue;
            };
            let rules = spoki_models::constraint::check(op.body_rules, &candidate);
            assert_eq!(typed, rules, "{operation}: {candidate}");
            compared += 1;
            refused += usize::from(typed.is_err());
        }
    }
    assert!(
        compared > 100 && refused >= 10,
        "{compared} compared, {refused} refused"
    );
}
