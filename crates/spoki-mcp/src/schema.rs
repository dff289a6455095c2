//! Each operation as an MCP tool: its name, description, input schema and hints, read from
//! the operation table of `spoki-models`.

use rmcp::model::{JsonObject, MetaObject, Tool, ToolAnnotations};
use serde_json::{Value, json};
use spoki_models::constraint::Check;
use spoki_models::operation::{Body, Confidence, Field, FieldType, Method, Operation, Response};

/// The argument of send and start tools that makes a repeated call return the first answer.
pub const IDEMPOTENCY_KEY: &str = "idempotency_key";
/// The argument of list tools that caps the items returned.
pub const LIMIT: &str = "limit";
/// The argument that carries a body which is a JSON array.
pub const ITEMS: &str = "items";
/// Items a list tool returns unless told otherwise.
pub const DEFAULT_LIMIT: u64 = 50;
/// The most items a list tool returns in one call.
pub const MAX_LIMIT: u64 = 1000;

/// Whether the operation only reads: a `GET` that may be repeated (cloning a template is a
/// `GET` that creates one).
pub fn reads_only(op: &Operation) -> bool {
    op.method == Method::Get && op.idempotent
}

/// Whether the operation deletes or takes away something that cannot simply be recreated.
pub fn destructive(op: &Operation) -> bool {
    op.method == Method::Delete || ["remove", "revoke"].iter().any(|w| op.name.starts_with(w))
}

/// Whether the list is paged, so the tool takes a `limit` and follows the pages itself.
pub fn pages(op: &Operation) -> bool {
    matches!(op.response, Response::Page { .. })
}

/// The tool for `op`.
pub fn tool(op: &'static Operation) -> Tool {
    let annotations = ToolAnnotations::new()
        .read_only(reads_only(op))
        .destructive(destructive(op))
        .idempotent(op.idempotent)
        .open_world(true);
    let class = op.rate_class;
    let limit = json!({
        "class": class.as_str(),
        "requests": class.requests(),
        "per_seconds": class.period().as_secs(),
        "published": class.confidence() == Confidence::High,
    });
    let meta = JsonObject::from_iter([
        ("spoki/rateLimit".to_owned(), limit),
        ("spoki/method".to_owned(), json!(op.method.as_str())),
        ("spoki/path".to_owned(), json!(op.path)),
    ]);
    Tool::new(op.id.as_str(), description(op), input_schema(op))
        .with_title(op.summary)
        .with_annotations(annotations)
        .with_meta(MetaObject(meta))
}

fn description(op: &Operation) -> String {
    let class = op.rate_class;
    let mut text = format!(
        "{}. `{} {}`. Paced to {} requests per {} s ({}), shared with the other calls of class `{}`.",
        op.summary.trim_end_matches('.'),
        op.method.as_str(),
        op.path,
        class.requests(),
        class.period().as_secs(),
        match class.confidence() {
            Confidence::High => "published by Spoki",
            Confidence::Low => "observed, not published",
        },
        class.as_str(),
    );
    if !op.idempotent {
        text.push_str(" Not idempotent: never retried once it may have reached Spoki.");
    }
    if op.recipients.is_some() {
        text.push_str(&format!(
            " Messages a real person: give `{IDEMPOTENCY_KEY}` so that calling again returns the first answer instead of sending twice."
        ));
    }
    if pages(op) {
        text.push_str(&format!(
            " Returns at most `{LIMIT}` items (default {DEFAULT_LIMIT}), following the pages."
        ));
    }
    if has_secret(op) {
        text.push_str(
            " The secret it needs comes from the server's configuration, never from the caller.",
        );
    }
    text
}

/// Whether the body takes a credential, which the caller never gives.
pub fn has_secret(op: &Operation) -> bool {
    body_fields(op).iter().any(|f| f.ty == FieldType::Secret)
}

/// The body's own fields (no constants), or none.
pub fn body_fields(op: &Operation) -> &'static [Field] {
    match op.body {
        Body::Object { fields, .. } => fields,
        Body::None | Body::Array { .. } => &[],
    }
}

/// The argument name of a body field: its own, unless a path or query parameter has it.
pub fn body_argument(op: &Operation, field: &Field) -> String {
    let taken = op
        .path_params
        .iter()
        .chain(op.query)
        .any(|p| p.name == field.name);
    if taken {
        format!("body_{}", field.name)
    } else {
        field.name.to_owned()
    }
}

/// The JSON Schema of the tool's arguments: path, query and body fields side by side.
pub fn input_schema(op: &Operation) -> JsonObject {
    let mut properties = JsonObject::new();
    let mut required = Vec::new();
    for p in op.path_params {
        properties.insert(p.name.into(), field_schema(&p.ty, "path parameter", p.doc));
        required.push(p.name.to_owned());
    }
    for q in op.query {
        if pages(op) && matches!(q.name, "page" | "page_size") {
            continue;
        }
        properties.insert(q.name.into(), field_schema(&q.ty, "query parameter", q.doc));
    }
    for f in body_fields(op) {
        if f.ty == FieldType::Secret {
            continue;
        }
        let name = body_argument(op, f);
        let mut schema = field_schema(&f.ty, "body field", f.doc);
        constrain(&mut schema, op, f.name);
        properties.insert(name.clone(), schema);
        if op.requires_field(f.name) {
            required.push(name);
        }
    }
    if let Body::Array { model, .. } = op.body {
        let mut schema = json!({
            "type": "array",
            "items": {"type": "object", "description": format!("A `{model}`.")},
            "description": "The body: a JSON array.",
        });
        constrain(&mut schema, op, "");
        properties.insert(ITEMS.into(), schema);
        required.push(ITEMS.to_owned());
    }
    if pages(op) {
        properties.insert(
            LIMIT.into(),
            json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT,
                   "description": "The most items to return, following the pages."}),
        );
    }
    if op.recipients.is_some() {
        properties.insert(
            IDEMPOTENCY_KEY.into(),
            json!({"type": "string", "minLength": 1, "maxLength": 200,
                   "description": "Any text naming this send: the same key again returns the first answer and sends nothing."}),
        );
    }
    let mut schema = JsonObject::new();
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), Value::Object(properties));
    schema.insert("required".into(), json!(required));
    schema.insert("additionalProperties".into(), json!(false));
    schema
}

/// The limits the spec puts on a body field (or, for `""`, on the body itself).
fn constrain(schema: &mut Value, op: &Operation, field: &str) {
    for rule in op.body_rules.iter().filter(|r| r.field == field) {
        match rule.check {
            Check::NotBlank => schema["minLength"] = json!(1),
            Check::Items { min, max } => {
                schema["minItems"] = json!(min);
                if let Some(max) = max {
                    schema["maxItems"] = json!(max);
                }
            }
            _ => {}
        }
    }
}

/// The JSON Schema of one value.
pub fn field_schema(ty: &FieldType, what: &str, doc: &str) -> Value {
    let mut schema = type_schema(ty);
    let description = if doc.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {doc}")
    };
    schema["description"] = json!(description);
    schema
}

fn type_schema(ty: &FieldType) -> Value {
    match ty {
        FieldType::Text => json!({"type": "string"}),
        FieldType::Integer => json!({"type": "integer"}),
        FieldType::Number => json!({"type": "number"}),
        FieldType::Bool => json!({"type": "boolean"}),
        FieldType::Money => {
            json!({"type": "integer", "$comment": "thousandths of the account's currency"})
        }
        FieldType::Phone => {
            json!({"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$", "$comment": "E.164: + and the country code first"})
        }
        FieldType::DateTime => json!({"type": "string", "format": "date-time"}),
        FieldType::Date => json!({"type": "string", "format": "date"}),
        FieldType::Secret => json!({"type": "string", "writeOnly": true}),
        FieldType::Enum {
            integer: false,
            values,
        } => json!({"type": "string", "enum": values}),
        FieldType::Enum {
            integer: true,
            values,
        } => {
            let numbers: Vec<i64> = values.iter().filter_map(|v| v.parse().ok()).collect();
            json!({"type": "integer", "enum": numbers})
        }
        FieldType::List(item) => json!({"type": "array", "items": type_schema(item)}),
        FieldType::Map(value) => {
            json!({"type": "object", "additionalProperties": type_schema(value)})
        }
        FieldType::Object(model) => json!({"type": "object", "$comment": format!("a `{model}`")}),
        FieldType::Any => json!({}),
    }
}
