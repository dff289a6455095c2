//! The control surface under `/__mock/`: the same things [`MockSpoki`](crate::MockSpoki)
//! offers in Rust, over HTTP, for tests written in any language and for the command line.

use crate::answer::Answer;
use crate::server::Shared;
use crate::{Fault, OperationId};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Deserialize)]
struct Inbound {
    phone: String,
    text: String,
    account: Option<i64>,
}

#[derive(Deserialize)]
struct FaultScript {
    operation: String,
    fault: Fault,
    #[serde(default = "one")]
    times: usize,
}

/// The OpenAPI 3.1 document of the API, generated from the spec by `cargo xtask openapi`.
pub(crate) const OPENAPI: &str = include_str!("../openapi.json");

fn one() -> usize {
    1
}

pub(crate) async fn handle(shared: &Arc<Shared>, method: &str, path: &str, body: &[u8]) -> Answer {
    match (method, path.trim_end_matches('/')) {
        ("GET", "openapi.json") => Answer::json_text(OPENAPI),
        ("GET", "fixtures") => Answer::ok(json!(shared.world().state.fixtures)),
        ("GET", "requests") => {
            let mut answer = Answer::ok(json!(shared.received()));
            let dropped = shared.requests_dropped().to_string();
            answer
                .headers
                .push(("x-spoki-mock-dropped".into(), dropped));
            answer
        }
        ("GET", "deliveries") => Answer::ok(json!(shared.world().state.deliveries)),
        ("GET", "messages") => Answer::ok(json!(shared.world().state.messages)),
        ("POST", "inbound") => match serde_json::from_slice::<Inbound>(body) {
            Ok(inbound) => {
                let account = inbound
                    .account
                    .unwrap_or(shared.world().state.fixtures.client_account_id);
                match shared.inbound(account, &inbound.phone, &inbound.text) {
                    Ok(data) => Answer::ok(data),
                    Err(answer) => answer,
                }
            }
            Err(e) => Answer::field("non_field_errors", e.to_string()),
        },
        ("POST", "faults") => match serde_json::from_slice::<FaultScript>(body) {
            Ok(script) => match script.operation.parse::<OperationId>() {
                Err(unknown) => Answer::field("operation", unknown.to_string()),
                Ok(operation) => match shared.add_fault(operation, script.fault, script.times) {
                    Ok(()) => Answer::ok(json!({"operation": operation, "times": script.times})),
                    Err(reason) => Answer::field("fault", reason.to_string()),
                },
            },
            Err(e) => Answer::field("non_field_errors", e.to_string()),
        },
        ("DELETE", "faults") => {
            shared.clear_faults();
            Answer::no_content()
        }
        _ => Answer::with_status(
            404,
            Value::from("unknown control endpoint; see docs/mock.md"),
        ),
    }
}
