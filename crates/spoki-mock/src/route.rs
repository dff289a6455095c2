//! Finding the operation a request is for, from the operation table of `spoki-models`.

use serde_json::Value;
use spoki_models::operation::{self, Body, DecodeError, Method, Operation, Response};
use std::collections::BTreeMap;

/// Per-field error messages, as Spoki (Django REST framework) reports them.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// A decoding error as Spoki reports it: under the failing field, or `non_field_errors`.
pub fn field_errors(e: DecodeError) -> FieldErrors {
    let field = e.field().unwrap_or("non_field_errors").to_owned();
    FieldErrors::from([(field, vec![e.message])])
}

/// A request matched to its route, with the values of the path's placeholders.
pub struct Matched {
    pub operation: &'static Operation,
    pub params: BTreeMap<&'static str, String>,
}

impl Matched {
    /// The integer value of a path placeholder, if it is one.
    pub fn id(&self, name: &str) -> Option<i64> {
        self.params.get(name)?.parse().ok()
    }
}

/// The routes whose method and path template fit the request. Several operations share a
/// route (the message sends, the contact updates); [`pick`] chooses among them by body.
pub fn candidates(method: &str, path: &str) -> Vec<Matched> {
    let segments: Vec<&str> = inner(path).split('/').collect();
    let mut best: Vec<(usize, Matched)> = Vec::new();
    for operation in &operation::ALL {
        if operation.method.as_str() != method {
            continue;
        }
        let template: Vec<&'static str> = inner(operation.path).split('/').collect();
        if template.len() != segments.len() {
            continue;
        }
        let mut params = BTreeMap::new();
        let mut literals = 0;
        let fits = template.iter().zip(&segments).all(|(t, s)| {
            match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                Some(name) if !s.is_empty() => {
                    params.insert(name, percent_decode(s));
                    true
                }
                Some(_) => false,
                None => {
                    literals += 1;
                    t == s
                }
            }
        });
        if fits {
            best.push((literals, Matched { operation, params }));
        }
    }
    // A literal segment beats a placeholder: `/contacts/sync/` is not contact "sync".
    let most = best.iter().map(|(n, _)| *n).max().unwrap_or(0);
    best.into_iter()
        .filter(|(n, _)| *n == most)
        .map(|(_, m)| m)
        .collect()
}

/// A path without its one leading and one trailing slash: `/a//` keeps its empty segment.
fn inner(path: &str) -> &str {
    let path = path.strip_prefix('/').unwrap_or(path);
    path.strip_suffix('/').unwrap_or(path)
}

/// Whether any operation lives at `path`, whatever the method.
pub fn path_exists(path: &str) -> bool {
    ["GET", "POST", "PATCH", "PUT", "DELETE"]
        .iter()
        .any(|m| !candidates(m, path).is_empty())
}

/// Of several operations sharing a route, the one the body is for: its fixed fields match,
/// it decodes, and it explains the most of the body (fixed and required fields present).
pub fn pick(candidates: Vec<Matched>, body: &Value) -> Option<Matched> {
    if candidates.len() <= 1 {
        return candidates.into_iter().next();
    }
    let score = |m: &Matched| -> Option<usize> {
        let Body::Object {
            fields, constants, ..
        } = m.operation.body
        else {
            return None;
        };
        for (field, constant) in constants {
            let expected: Value = serde_json::from_str(constant).ok()?;
            if body.get(field) != Some(&expected) {
                return None;
            }
        }
        m.operation.body.decode(body).ok()?;
        let present = fields
            .iter()
            .filter(|f| f.required && body.get(f.name).is_some());
        Some(constants.len() + present.count())
    };
    let mut scored: Vec<(usize, Matched)> = Vec::new();
    let mut first = None;
    for m in candidates {
        match score(&m) {
            Some(s) => scored.push((s, m)),
            None if first.is_none() => first = Some(m),
            None => {}
        }
    }
    // Stable: on a tie the operation listed first in the spec wins.
    let best = scored.iter().map(|(s, _)| *s).max();
    scored
        .into_iter()
        .find(|(s, _)| Some(*s) == best)
        .map(|(_, m)| m)
        .or(first)
}

fn percent_decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// One record of each resource group that has a "retrieve" operation (`GET /group/{id}/`),
/// in the shape that operation documents, with id 1.
pub fn sample_records() -> Vec<(&'static str, Value)> {
    let mut records: Vec<(&'static str, Value)> = Vec::new();
    for op in &operation::ALL {
        let group = op.group.as_str();
        let retrieve = op.method == Method::Get
            && op.path.ends_with("}/")
            && !matches!(group, "accounts" | "agencies");
        if let (true, Response::Model { sample, .. }) = (retrieve, op.response)
            && !records.iter().any(|(g, _)| *g == group)
            && let Ok(mut record) = serde_json::from_str::<Value>(sample)
        {
            record["id"] = Value::from(1);
            records.push((group, record));
        }
    }
    records
}
