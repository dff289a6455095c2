//! Finding the operation a request is for, from the generated route table.

use crate::generated::ROUTES;
use serde::de::DeserializeOwned;
use serde_json::Value;
use spoki_models::operation::Operation;
use std::collections::BTreeMap;

/// One operation of the table: what it is, what its body must be, what it answers.
pub struct Route {
    pub operation: &'static Operation,
    pub body: Option<RequestBody>,
    pub reply: Reply,
}

/// The request body an operation takes.
pub struct RequestBody {
    /// Decodes the body with the operation's `spoki-models` type.
    pub decode: Check,
    /// Fields whose value the operation fixes (`"type": "Template"`), as JSON text.
    pub consts: &'static [(&'static str, &'static str)],
    /// Fields the model requires.
    pub required: &'static [&'static str],
}

/// What an operation answers.
pub enum Reply {
    /// An empty body.
    Empty,
    /// JSON whose shape is not documented.
    Json,
    /// One model: `sample` has every required field, `check` tells whether a value decodes.
    Model { sample: &'static str, check: Check },
    /// A page of models; `check` tells whether a record belongs in it.
    Page { check: Check },
}

/// Whether a JSON value decodes into a model; on failure, the field errors.
pub type Check = fn(&Value) -> Result<(), FieldErrors>;

/// Per-field error messages, as Spoki (Django REST framework) reports them.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Decodes `value` as `T`, naming the failing field.
pub fn decode<T: DeserializeOwned>(value: &Value) -> Result<(), FieldErrors> {
    serde_path_to_error::deserialize::<_, T>(value)
        .map(drop)
        .map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                "non_field_errors".to_owned()
            } else {
                path
            };
            FieldErrors::from([(field, vec![e.into_inner().to_string()])])
        })
}

/// A request matched to its route, with the values of the path's placeholders.
pub struct Matched {
    pub route: &'static Route,
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
    for route in &ROUTES {
        if route.operation.method.as_str() != method {
            continue;
        }
        let template: Vec<&'static str> = inner(route.operation.path).split('/').collect();
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
            best.push((literals, Matched { route, params }));
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
        let spec = m.route.body.as_ref()?;
        for (field, constant) in spec.consts {
            let expected: Value = serde_json::from_str(constant).ok()?;
            if body.get(field) != Some(&expected) {
                return None;
            }
        }
        (spec.decode)(body).ok()?;
        let present = spec.required.iter().filter(|f| body.get(**f).is_some());
        Some(spec.consts.len() + present.count())
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

/// Whether an operation of this id exists.
pub fn is_operation(id: &str) -> bool {
    ROUTES.iter().any(|r| r.operation.id == id)
}

/// One record of each resource group that has a "retrieve" operation (`GET /group/{id}/`),
/// in the shape that operation documents, with id 1.
pub fn sample_records() -> Vec<(&'static str, Value)> {
    let mut records: Vec<(&'static str, Value)> = Vec::new();
    for route in &ROUTES {
        let op = route.operation;
        let retrieve = op.method == spoki_models::operation::Method::Get
            && op.path.ends_with("}/")
            && !matches!(op.group, "accounts" | "agencies");
        if let (true, Reply::Model { sample, .. }) = (retrieve, &route.reply)
            && !records.iter().any(|(g, _)| *g == op.group)
            && let Ok(mut record) = serde_json::from_str::<Value>(sample)
        {
            record["id"] = Value::from(1);
            records.push((op.group, record));
        }
    }
    records
}
