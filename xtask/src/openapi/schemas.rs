//! `components.schemas` of the OpenAPI document: one schema per model and enum of the spec,
//! and one page schema per model that a list returns.
//!
//! A schema says what the SDK's models do on the wire, side by side with the spec:
//!
//! - request models are exact: what the SDK sends (fields without `?` and constants are
//!   `required`, enums are closed, limits are keywords);
//! - response models are as lenient as the SDK's decoding: optional fields, lists and maps may
//!   be absent or `null`, and an enum field takes any scalar, because the SDK keeps a value it
//!   does not know instead of failing.

use crate::spec::{Enum, EnumValue, FieldDetail, Model, ModelKind, Repr, Response, Spec, Type};
use serde_json::{Map, Value, json};
use std::error::Error;

/// E.164, as `Phone::parse` checks it: `+`, then 8 to 15 digits, the first not `0`.
pub const PHONE_PATTERN: &str = r"^\+[1-9][0-9]{7,14}$";

/// Text that is not blank: at least one character that is neither white space nor a control
/// character (what `spoki_models::is_blank` refuses).
pub const NOT_BLANK_PATTERN: &str = r"[^\s\u0000-\u001f\u007f-\u009f]";

/// Which way a schema describes the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// What is sent: exact.
    Request,
    /// What is received: as lenient as the SDK's decoding.
    Response,
}

impl From<ModelKind> for Side {
    fn from(kind: ModelKind) -> Side {
        match kind {
            ModelKind::Request => Side::Request,
            ModelKind::Response => Side::Response,
        }
    }
}

/// A `$ref` to a component schema.
pub fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The name of the page schema of a model's list.
pub fn page_name(model: &str) -> String {
    format!("{model}Page")
}

/// Every component schema: models, enums and pages, by name.
pub fn components(spec: &Spec) -> Result<Map<String, Value>, Box<dyn Error>> {
    let mut out = Map::new();
    for (name, model) in &spec.models {
        out.insert(name.clone(), model_schema(spec, model));
    }
    for (name, e) in &spec.enums {
        out.insert(name.clone(), enum_schema(e));
    }
    for op in &spec.operations {
        if let Ok(Response::Page(model)) = Response::parse(&op.response) {
            let name = page_name(&model);
            if spec.models.contains_key(&name) || spec.enums.contains_key(&name) {
                return Err(format!(
                    "the page schema `{name}` of `{}` would replace the spec's own `{name}`",
                    op.id
                )
                .into());
            }
            out.insert(name, page_schema(&model));
        }
    }
    Ok(out)
}

fn model_schema(spec: &Spec, model: &Model) -> Value {
    let side = Side::from(model.kind);
    let mut properties = Map::new();
    let mut required = Vec::new();
    // A required field that has other accepted names: any one of them will do.
    let mut any_name = Vec::new();
    for (json_name, field) in &model.fields {
        let d = field.detail();
        let (schema, is_required) = property_schema(spec, model, &d);
        if is_required && !d.alias.is_empty() && side == Side::Response {
            let names: Vec<Value> = std::iter::once(json_name.clone())
                .chain(d.alias.iter().cloned())
                .map(|name| json!({ "required": [name] }))
                .collect();
            any_name.push(json!({ "anyOf": names }));
        } else if is_required {
            required.push(json_name.clone());
        }
        properties.insert(json_name.clone(), schema);
    }
    object_schema(model, properties, required, any_name)
}

/// The schema of one model field, with its limits, description and `x-spoki-*` notes, and
/// whether the field is `required`.
fn property_schema(spec: &Spec, model: &Model, d: &FieldDetail) -> (Value, bool) {
    let (mut schema, is_required) = match (&d.ty, &d.constant) {
        (_, Some(constant)) => (const_schema(constant), true),
        (Some(ty), None) => {
            let ty = Type::parse(ty).expect("validated");
            field_schema(spec, model, &ty)
        }
        (None, None) => unreachable!("validated"),
    };
    let object = schema.as_object_mut().expect("a schema is an object");
    insert_limits(object, d);
    describe_field(object, d);
    if let Some(u) = &d.uncertain {
        object.insert("x-spoki-uncertain".into(), json!(u));
    }
    if !d.alias.is_empty() {
        object.insert("x-spoki-aliases".into(), json!(d.alias));
    }
    (schema, is_required)
}

/// The field's limits as JSON Schema keywords.
fn insert_limits(object: &mut Map<String, Value>, d: &FieldDetail) {
    if d.not_blank {
        object.insert("minLength".into(), json!(1));
        object.insert("pattern".into(), json!(NOT_BLANK_PATTERN));
    }
    if let Some(min) = d.min_items {
        object.insert("minItems".into(), json!(min));
    }
    if let Some(max) = d.max_items {
        object.insert("maxItems".into(), json!(max));
    }
}

/// The field's description: its own doc first, then what its type says, then notes on a
/// constant or a `not_blank`.
fn describe_field(object: &mut Map<String, Value>, d: &FieldDetail) {
    let mut description = d.doc.clone().unwrap_or_default();
    if let Some(Value::String(of_type)) = object.remove("description") {
        push_paragraph(&mut description, &of_type);
    }
    if d.constant.is_some() {
        push_paragraph(&mut description, "Fixed by the kind of body this is.");
    }
    if d.not_blank {
        push_paragraph(&mut description, "Must not be blank.");
    }
    if !description.is_empty() {
        object.insert("description".into(), json!(description));
    }
}

/// A model's object schema around its properties and what they require.
fn object_schema(
    model: &Model,
    properties: Map<String, Value>,
    required: Vec<String>,
    any_name: Vec<Value>,
) -> Value {
    let mut description = model.doc.clone();
    if model.patch {
        push_paragraph(
            &mut description,
            "A partial update: an optional field sent as `null` is cleared.",
        );
    }
    let mut schema = json!({
        "type": "object",
        "description": description,
        "properties": properties,
        "x-spoki-kind": match model.kind {
            ModelKind::Request => "request",
            ModelKind::Response => "response",
        },
    });
    let object = schema.as_object_mut().expect("built as an object");
    if !required.is_empty() {
        object.insert("required".into(), json!(required));
    }
    if !any_name.is_empty() {
        object.insert("allOf".into(), json!(any_name));
    }
    if let Some(u) = &model.uncertain {
        object.insert("x-spoki-uncertain".into(), json!(u));
    }
    schema
}

/// A field's schema, and whether the field is `required`.
fn field_schema(spec: &Spec, model: &Model, ty: &Type) -> (Value, bool) {
    let side = Side::from(model.kind);
    let required = ty.is_required_in(model.kind);
    let schema = match (side, ty) {
        // The SDK reads an absent or `null` optional field, list or map as empty.
        (Side::Response, Type::Optional(inner)) => nullable(type_schema(spec, inner, side)),
        (Side::Response, Type::List(_) | Type::Map(_)) => nullable(type_schema(spec, ty, side)),
        // A partial update clears an optional scalar by sending `null`.
        (Side::Request, Type::Optional(inner))
            if model.patch && matches!(inner.as_ref(), Type::Named(_)) =>
        {
            nullable(type_schema(spec, inner, side))
        }
        (Side::Request, Type::Optional(inner)) => type_schema(spec, inner, side),
        _ => type_schema(spec, ty, side),
    };
    (schema, required)
}

fn const_schema(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => json!({ "type": "string", "const": s }),
        toml::Value::Boolean(b) => json!({ "type": "boolean", "const": b }),
        toml::Value::Integer(n) => json!({ "type": "integer", "const": n }),
        other => unreachable!("validated: a constant is a string, boolean or integer: {other}"),
    }
}

/// The schema of a type, anywhere it appears (a field, a list item, a parameter).
pub fn type_schema(spec: &Spec, ty: &Type, side: Side) -> Value {
    match ty {
        Type::Named(name) => named_schema(spec, name, side),
        Type::List(item) => json!({ "type": "array", "items": type_schema(spec, item, side) }),
        Type::Map(value) => {
            json!({ "type": "object", "additionalProperties": type_schema(spec, value, side) })
        }
        Type::Optional(inner) => nullable(type_schema(spec, inner, side)),
    }
}

fn named_schema(spec: &Spec, name: &str, side: Side) -> Value {
    let response = side == Side::Response;
    match name {
        "i64" => json!({ "type": "integer", "format": "int64" }),
        "f64" => json!({ "type": "number", "format": "double" }),
        "bool" => json!({ "type": "boolean" }),
        "string" => json!({ "type": "string" }),
        "phone" => json!({
            "type": "string",
            "pattern": PHONE_PATTERN,
            "description": "An E.164 phone number: `+`, then 8 to 15 digits, the first not 0.",
        }),
        "money" => json!({
            "type": "integer",
            "format": "int64",
            "description": "An amount in thousandths of EUR, Spoki's credit unit: 1000 is 1 EUR.",
        }),
        "datetime" if response => json!({
            "anyOf": [
                { "type": "string", "format": "date-time" },
                { "type": "number", "description": "Unix seconds." },
            ],
            "description": "An instant: RFC 3339 (without an offset: UTC), or Unix seconds.",
        }),
        "datetime" => json!({
            "type": "string",
            "format": "date-time",
            "description": "An instant in RFC 3339, in UTC.",
        }),
        "date" => json!({ "type": "string", "format": "date" }),
        "secret" if response => json!({
            "type": "string",
            "format": "password",
            "description": "A credential: keep it out of logs.",
        }),
        "secret" => json!({
            "type": "string",
            "format": "password",
            "writeOnly": true,
            "description": "A credential: keep it out of logs.",
        }),
        "json" => json!({}),
        "number_or_text" => json!({
            "type": ["number", "string"],
            "description": "A number in some payloads and text in others: the sources disagree.",
        }),
        "id_ref" => {
            let name = if response {
                json!({ "type": ["string", "null"] })
            } else {
                json!({ "type": "string" })
            };
            json!({
                "anyOf": [
                    { "type": "integer", "format": "int64" },
                    {
                        "type": "object",
                        "properties": {
                            "id": { "type": "integer", "format": "int64" },
                            "name": name,
                        },
                        "required": ["id"],
                    },
                ],
                "description": "A reference to another resource: its id on write, an object \
                    with the id on read.",
            })
        }
        enum_name if response && spec.enums.contains_key(enum_name) => json!({
            "anyOf": [
                reference(enum_name),
                {
                    "type": ["string", "number", "boolean"],
                    "description": "A value this SDK does not know: it is kept as sent.",
                },
            ],
        }),
        model => reference(model),
    }
}

/// The schema that also takes `null`.
pub fn nullable(mut schema: Value) -> Value {
    let object = schema.as_object_mut().expect("a schema is an object");
    if let Some(any_of) = object.get_mut("anyOf").and_then(Value::as_array_mut) {
        if !any_of.iter().any(|s| s["type"] == "null") {
            any_of.push(json!({ "type": "null" }));
        }
        return schema;
    }
    if object.is_empty() {
        // `{}` takes anything, `null` included.
        return schema;
    }
    match object.get_mut("type") {
        Some(Value::String(one)) if one != "null" => {
            let one = one.clone();
            object.insert("type".into(), json!([one, "null"]));
        }
        Some(Value::Array(types)) if !types.iter().any(|t| t == "null") => {
            types.push(json!("null"));
        }
        Some(_) => {}
        None => return json!({ "anyOf": [schema, { "type": "null" }] }),
    }
    if let Some(values) = object.get_mut("enum").and_then(Value::as_array_mut)
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    schema
}

fn enum_schema(e: &Enum) -> Value {
    let values: Vec<Value> = e
        .values
        .values()
        .flat_map(|value| match value {
            EnumValue::Integer(n) => vec![json!(n)],
            EnumValue::Text(_) | EnumValue::Spellings(_) => {
                value.spellings().into_iter().map(Value::from).collect()
            }
        })
        .collect();
    let variants: Map<String, Value> = e
        .values
        .iter()
        .map(|(variant, value)| {
            let spelling = match value {
                EnumValue::Integer(n) => json!([n]),
                _ => json!(value.spellings()),
            };
            (variant.clone(), spelling)
        })
        .collect();
    let mut description = e.doc.clone();
    if e.values
        .values()
        .any(|v| matches!(v, EnumValue::Spellings(_)))
    {
        push_paragraph(
            &mut description,
            "Where a value has several spellings (`x-spoki-variants`), the SDK sends the first.",
        );
    }
    push_paragraph(
        &mut description,
        "Values this SDK does not know are kept as sent, not refused: responses may carry others.",
    );
    let mut schema = json!({
        "type": match e.repr {
            Repr::String => "string",
            Repr::Integer => "integer",
        },
        "enum": values,
        "description": description,
        "x-spoki-variants": variants,
    });
    if let Some(u) = &e.uncertain {
        schema["x-spoki-uncertain"] = json!(u);
    }
    schema
}

/// One page of a list, as `spoki_models::Page` reads it: the envelope `{count, next, previous,
/// results}` (each part may be absent or `null`), or a bare array (a single, last page).
fn page_schema(model: &str) -> Value {
    json!({
        "description": format!(
            "One page of {model} items: Spoki's envelope `{{count, next, previous, results}}`. \
             One source says some lists come back as a bare array, which the SDK reads as a \
             single, last page."
        ),
        "anyOf": [
            {
                "type": "object",
                "properties": {
                    "count": {
                        "type": ["integer", "null"],
                        "minimum": 0,
                        "description": "Items over all pages, when the API says.",
                    },
                    "next": {
                        "type": ["string", "null"],
                        "description": "Absolute URL of the next page; `null` or empty on the \
                            last page.",
                    },
                    "previous": {
                        "type": ["string", "null"],
                        "description": "Absolute URL of the previous page.",
                    },
                    "results": {
                        "type": ["array", "null"],
                        "items": reference(model),
                    },
                },
            },
            { "type": "array", "items": reference(model) },
        ],
    })
}

fn push_paragraph(text: &mut String, paragraph: &str) {
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    text.push_str(paragraph);
}
