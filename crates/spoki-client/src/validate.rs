//! Checks on request bodies that the API would reject, made before anything is sent.

use crate::error::InputError;
use serde_json::Value;
use spoki_models::operation::Operation;

/// The most contacts one sync request may carry.
pub const MAX_CONTACTS_PER_SYNC: usize = 500;

pub(crate) fn check(op: &Operation, body: &Value) -> Result<(), InputError> {
    match op.id {
        "contacts_sync_all" => batch("contacts", body.as_array()),
        "lists_sync_contacts" => batch("contacts", body.get("contacts").and_then(Value::as_array)),
        "automations_start" => secret(body, "secret", "automation secret"),
        "automations_start_bulk" => {
            secret(body, "secret", "automation secret")?;
            match body.get("contacts").and_then(Value::as_array) {
                Some(contacts) if !contacts.is_empty() => Ok(()),
                _ => Err(InputError::Empty("contacts of a bulk automation start")),
            }
        }
        "auth_get_authentication_token" => {
            secret(body, "private_key", "private key")?;
            text(body, "email", "service user email")
        }
        _ => Ok(()),
    }
}

fn batch(what: &'static str, items: Option<&Vec<Value>>) -> Result<(), InputError> {
    let count = items.map_or(0, Vec::len);
    if count == 0 {
        return Err(InputError::Empty(what));
    }
    if count > MAX_CONTACTS_PER_SYNC {
        return Err(InputError::TooMany {
            what,
            count,
            max: MAX_CONTACTS_PER_SYNC,
        });
    }
    Ok(())
}

fn secret(body: &Value, field: &str, what: &'static str) -> Result<(), InputError> {
    match body.get(field).and_then(Value::as_str) {
        Some(s) if !spoki_models::is_blank(s) => Ok(()),
        _ => Err(InputError::EmptySecret(what)),
    }
}

fn text(body: &Value, field: &str, what: &'static str) -> Result<(), InputError> {
    match body.get(field).and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() => Ok(()),
        _ => Err(InputError::Empty(what)),
    }
}
