//! Checks on request bodies that the API would reject, made before anything is sent. The
//! rules come from the spec, with each operation (`Operation::body_rules`).

use crate::error::InputError;
use serde_json::Value;
use spoki_models::operation::Operation;

pub(crate) fn check(op: &Operation, body: &Value) -> Result<(), InputError> {
    spoki_models::constraint::check(op.body_rules, body).map_err(InputError::from)
}
