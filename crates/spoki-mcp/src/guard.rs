//! The guardrails between an agent and Spoki: who may be messaged, and the idempotency keys
//! that make a repeated send return the first answer instead of sending twice.

use crate::ToolError;
use rmcp::model::CallToolResult;
use serde_json::Value;
use sha2::{Digest, Sha256};
use spoki_models::Phone;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// The recipients a server may message: any, or only those listed.
#[derive(Debug, Clone, Default)]
pub enum Recipients {
    /// Anyone.
    #[default]
    Any,
    /// Only these numbers; a send to any other is refused before anything is sent.
    Only(BTreeSet<Phone>),
}

impl Recipients {
    /// Reads `phones` (comma- or line-separated E.164 numbers; `#` starts a comment).
    pub fn parse(phones: &str) -> Result<Recipients, spoki_models::PhoneError> {
        let mut allowed = BTreeSet::new();
        for entry in phones.lines().flat_map(|line| line.split(',')) {
            let entry = entry.split('#').next().unwrap_or("").trim();
            if !entry.is_empty() {
                allowed.insert(Phone::parse(entry)?);
            }
        }
        Ok(Recipients::Only(allowed))
    }

    /// Checks every phone at `path` (`phone`, `contacts[].phone`) of `body`.
    pub fn check(&self, path: &str, body: &Value) -> Result<(), ToolError> {
        for (at, text) in phones_at(path, body) {
            let phone = Phone::parse(&text).map_err(|e| ToolError::Argument {
                name: at.clone(),
                problem: e.to_string(),
            })?;
            if let Recipients::Only(allowed) = self
                && !allowed.contains(&phone)
            {
                return Err(ToolError::NotAllowed { at });
            }
        }
        Ok(())
    }
}

/// The phones at `path` of `body`, each with where it is (`contacts[3].phone`). A missing or
/// non-text value is reported as an empty phone, which no check lets through.
pub fn phones_at(path: &str, body: &Value) -> Vec<(String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    match path.split_once("[].") {
        None => vec![(path.to_owned(), text(&body[path]))],
        Some((list, field)) => body[list]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, item)| (format!("{list}[{i}].{field}"), text(&item[field])))
            .collect(),
    }
}

/// What a key has led to.
#[derive(Debug, Clone)]
enum KeyState {
    /// The call is under way.
    InFlight,
    /// Spoki answered; this is what the agent was told.
    Answered(CallToolResult),
    /// The call may or may not have reached Spoki.
    Unknown,
}

/// The idempotency keys seen by this server, with the call each was first used for.
#[derive(Debug, Default)]
pub struct Keys {
    seen: Mutex<HashMap<String, (Fingerprint, KeyState)>>,
}

type Fingerprint = [u8; 32];

/// What to do with a call that carries a key.
pub enum Claim {
    /// First use: send, then [`Keys::settle`].
    Send,
    /// Used before: this is the first answer; nothing is sent.
    Repeat(CallToolResult),
}

impl Keys {
    /// Claims `key` for a call of `tool` with `arguments`.
    pub fn claim(&self, tool: &str, key: &str, arguments: &Value) -> Result<Claim, ToolError> {
        let print = fingerprint(tool, arguments);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let slot = format!("{tool}\u{0}{key}");
        match seen.get(&slot) {
            None => {
                seen.insert(slot, (print, KeyState::InFlight));
                Ok(Claim::Send)
            }
            Some((first, _)) if *first != print => Err(ToolError::KeyReused),
            Some((_, KeyState::Answered(result))) => Ok(Claim::Repeat(result.clone())),
            Some((_, KeyState::InFlight)) => Err(ToolError::KeyInFlight),
            Some((_, KeyState::Unknown)) => Err(ToolError::OutcomeUnknown),
        }
    }

    /// Records how the call of a claimed key ended. A call refused before anything was sent
    /// frees the key, so that the corrected call may use it.
    pub fn settle(&self, tool: &str, key: &str, result: &Result<CallToolResult, ToolError>) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let slot = format!("{tool}\u{0}{key}");
        match result {
            Ok(answer) => {
                if let Some((_, state)) = seen.get_mut(&slot) {
                    *state = KeyState::Answered(answer.clone());
                }
            }
            Err(e) if e.outcome_unknown() => {
                if let Some((_, state)) = seen.get_mut(&slot) {
                    *state = KeyState::Unknown;
                }
            }
            Err(_) => {
                seen.remove(&slot);
            }
        }
    }
}

/// The SHA-256 of the tool and its arguments (without the key), so that a key reused for a
/// different send is caught rather than answered with the first one's result.
fn fingerprint(tool: &str, arguments: &Value) -> Fingerprint {
    let mut arguments = arguments.clone();
    if let Some(map) = arguments.as_object_mut() {
        map.remove(crate::schema::IDEMPOTENCY_KEY);
    }
    let mut hash = Sha256::new();
    hash.update(tool.as_bytes());
    hash.update([0]);
    hash.update(canonical(&arguments).as_bytes());
    hash.finalize().into()
}

/// JSON with object keys sorted, so that the same arguments in another order match.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn phones_are_found_in_a_list_and_at_the_top() {
        let body = json!({"contacts": [{"phone": "+393331234567"}, {"phone": 5}]});
        assert_eq!(
            phones_at("contacts[].phone", &body),
            [
                ("contacts[0].phone".to_owned(), "+393331234567".to_owned()),
                ("contacts[1].phone".to_owned(), String::new())
            ]
        );
        assert_eq!(
            phones_at("phone", &json!({})),
            [("phone".to_owned(), String::new())]
        );
    }

    #[test]
    fn an_allowlist_lets_only_its_numbers_through() {
        let only = Recipients::parse("+393331234567, +393470000001 # test phones\n").unwrap();
        assert!(
            only.check("phone", &json!({"phone": "+393331234567"}))
                .is_ok()
        );
        let refused = only.check("phone", &json!({"phone": "+393339999999"}));
        assert!(matches!(refused, Err(ToolError::NotAllowed { .. })));
        let bad = Recipients::Any.check("phone", &json!({"phone": "3331234567"}));
        assert!(matches!(bad, Err(ToolError::Argument { .. })));
    }

    #[test]
    fn a_key_answers_once_and_refuses_a_different_call() {
        let keys = Keys::default();
        let args = json!({"phone": "+393331234567", "text": "hi", "idempotency_key": "k"});
        assert!(matches!(keys.claim("t", "k", &args), Ok(Claim::Send)));
        assert!(matches!(
            keys.claim("t", "k", &args),
            Err(ToolError::KeyInFlight)
        ));
        let answer = CallToolResult::structured(json!({"id": 1}));
        keys.settle("t", "k", &Ok(answer));
        let reordered = json!({"idempotency_key": "k", "text": "hi", "phone": "+393331234567"});
        assert!(matches!(
            keys.claim("t", "k", &reordered),
            Ok(Claim::Repeat(_))
        ));
        let other = json!({"phone": "+393331234567", "text": "bye"});
        assert!(matches!(
            keys.claim("t", "k", &other),
            Err(ToolError::KeyReused)
        ));
        assert!(matches!(keys.claim("t2", "k", &args), Ok(Claim::Send)));
        keys.settle("t2", "k", &Err(ToolError::KeyInFlight));
        assert!(
            matches!(keys.claim("t2", "k", &args), Ok(Claim::Send)),
            "a call refused before sending frees its key"
        );
        keys.settle("t2", "k", &Err(ToolError::OutcomeUnknown));
        assert!(matches!(
            keys.claim("t2", "k", &args),
            Err(ToolError::OutcomeUnknown)
        ));
    }
}
