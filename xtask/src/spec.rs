//! The endpoint spec (`spec/spoki.toml`) as Rust data, with the checks that keep it consistent.

use indexmap::IndexMap;
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;

mod validate;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub api: Api,
    pub rate_classes: IndexMap<String, RateClass>,
    pub operations: Vec<Operation>,
    pub enums: IndexMap<String, Enum>,
    pub models: IndexMap<String, Model>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    pub title: String,
    pub base_url: String,
    pub legacy_base_url: String,
    pub embed_base_url: String,
    pub api_key_header: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateClass {
    pub requests: u32,
    pub per_seconds: u32,
    pub confidence: Confidence,
    pub source: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    High,
    Low,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    pub id: String,
    pub group: String,
    pub summary: String,
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub path_params: IndexMap<String, String>,
    pub auth: Auth,
    pub idempotent: bool,
    pub rate_class: String,
    pub body: Option<String>,
    pub response: String,
    pub deprecated: Option<String>,
    pub uncertain: Option<String>,
    #[serde(default)]
    pub query: IndexMap<String, String>,
    /// The fewest items of a body that is a list.
    pub min_items: Option<usize>,
    /// The most items of a body that is a list.
    pub max_items: Option<usize>,
    /// Body fields the model leaves optional (it is shared with an update) but this call
    /// needs: a webhook created without its event receives nothing.
    #[serde(default)]
    pub requires: Vec<String>,
    /// Where the body names who receives a WhatsApp message (`phone`, `contacts[].phone`),
    /// for the calls that send one.
    pub recipients: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    ApiKey,
    AutomationSecret,
    None,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enum {
    pub doc: String,
    pub repr: Repr,
    pub values: IndexMap<String, EnumValue>,
    pub uncertain: Option<String>,
    /// Where the values come from (for the record; not generated).
    pub source: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Repr {
    String,
    Integer,
}

/// One known value of an enum: its wire spelling, or several where the first is canonical.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum EnumValue {
    Integer(i64),
    Text(String),
    Spellings(Vec<String>),
}

impl EnumValue {
    pub fn spellings(&self) -> Vec<String> {
        match self {
            EnumValue::Integer(n) => vec![n.to_string()],
            EnumValue::Text(s) => vec![s.clone()],
            EnumValue::Spellings(all) => all.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub kind: ModelKind,
    /// A partial update: optional fields can also be cleared (sent as `null`).
    #[serde(default)]
    pub patch: bool,
    pub doc: String,
    pub uncertain: Option<String>,
    pub fields: IndexMap<String, Field>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Request,
    Response,
}

/// A field is either its type alone (`"string?"`) or a table with more detail.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Field {
    Short(String),
    Long(Box<FieldDetail>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDetail {
    #[serde(rename = "type")]
    pub ty: Option<String>,
    #[serde(rename = "const")]
    pub constant: Option<toml::Value>,
    pub doc: Option<String>,
    pub uncertain: Option<String>,
    #[serde(default)]
    pub alias: Vec<String>,
    /// Where the field's shape comes from, when the sources disagreed or the audit changed it.
    /// For the record only: it is not written into the generated code.
    pub source: Option<String>,
    /// Text (or a secret) that must be present and not blank.
    #[serde(default)]
    pub not_blank: bool,
    /// The fewest items of a list.
    pub min_items: Option<usize>,
    /// The most items of a list.
    pub max_items: Option<usize>,
}

/// A constant as JSON text.
pub fn const_json(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

impl Field {
    pub fn detail(&self) -> FieldDetail {
        match self {
            Field::Short(ty) => FieldDetail {
                ty: Some(ty.clone()),
                ..FieldDetail::default()
            },
            Field::Long(d) => FieldDetail {
                ty: d.ty.clone(),
                constant: d.constant.clone(),
                doc: d.doc.clone(),
                uncertain: d.uncertain.clone(),
                alias: d.alias.clone(),
                source: d.source.clone(),
                not_blank: d.not_blank,
                min_items: d.min_items,
                max_items: d.max_items,
            },
        }
    }
}

/// A parsed field type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    Named(String),
    List(Box<Type>),
    Map(Box<Type>),
    Optional(Box<Type>),
}

pub const BUILTINS: &[&str] = &[
    "i64",
    "f64",
    "bool",
    "string",
    "phone",
    "money",
    "datetime",
    "date",
    "secret",
    "json",
    "number_or_text",
    "id_ref",
];

impl Type {
    pub fn parse(text: &str) -> Result<Type, String> {
        let text = text.trim();
        if let Some(inner) = text.strip_suffix('?') {
            return Ok(Type::Optional(Box::new(Type::parse(inner)?)));
        }
        if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            return Ok(Type::List(Box::new(Type::parse(inner)?)));
        }
        if let Some(inner) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            return Ok(Type::Map(Box::new(Type::parse(inner)?)));
        }
        if text.is_empty() || !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("malformed type `{text}`"));
        }
        Ok(Type::Named(text.to_owned()))
    }

    /// Whether a field of this type must be given (is an argument of `new`) in a model of
    /// `kind`: optional fields and maps never are; lists are in requests only.
    pub fn is_required_in(&self, kind: ModelKind) -> bool {
        match self {
            Type::Optional(_) | Type::Map(_) => false,
            Type::List(_) => kind == ModelKind::Request,
            Type::Named(_) => true,
        }
    }

    /// The type without its `?`.
    pub fn required_inner(&self) -> &Type {
        match self {
            Type::Optional(inner) => inner.required_inner(),
            other => other,
        }
    }

    fn names(&self, out: &mut Vec<String>) {
        match self {
            Type::Named(n) => out.push(n.clone()),
            Type::List(t) | Type::Map(t) | Type::Optional(t) => t.names(out),
        }
    }
}

/// A response type of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Empty,
    Json,
    Model(String),
    Page(String),
}

impl Response {
    pub fn parse(text: &str) -> Result<Response, String> {
        match text {
            "()" => Ok(Response::Empty),
            "Json" => Ok(Response::Json),
            _ => match text.strip_prefix("Page<").and_then(|t| t.strip_suffix('>')) {
                Some(inner) => Ok(Response::Page(inner.to_owned())),
                None => Ok(Response::Model(text.to_owned())),
            },
        }
    }
}

/// A request body: one model, or a JSON array of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Object(String),
    Array(String),
}

impl Body {
    pub fn parse(text: &str) -> Body {
        match text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            Some(inner) => Body::Array(inner.to_owned()),
            None => Body::Object(text.to_owned()),
        }
    }

    pub fn model(&self) -> &str {
        match self {
            Body::Object(m) | Body::Array(m) => m,
        }
    }
}

/// Every problem found in a spec, so that one run reports them all.
#[derive(Debug)]
pub struct SpecErrors(pub Vec<String>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the spec has {} problem(s):", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

impl Spec {
    pub fn parse(text: &str) -> Result<Spec, Box<dyn std::error::Error>> {
        let spec: Spec = toml::from_str(text)?;
        spec.validate()?;
        Ok(spec)
    }

    /// Whether an operation's answer may carry a credential (a `secret` field, at any depth).
    pub fn response_carries_secret(&self, op: &Operation) -> bool {
        match Response::parse(&op.response) {
            Ok(Response::Model(m) | Response::Page(m)) => {
                self.model_carries_secret(&m, &mut Vec::new())
            }
            _ => false,
        }
    }

    fn model_carries_secret(&self, name: &str, seen: &mut Vec<String>) -> bool {
        if name == "secret" {
            return true;
        }
        let Some(model) = self.models.get(name) else {
            return false;
        };
        if seen.iter().any(|s| s == name) {
            return false;
        }
        seen.push(name.to_owned());
        model.fields.values().any(|field| {
            let mut names = Vec::new();
            if let Some(ty) = field
                .detail()
                .ty
                .as_deref()
                .and_then(|t| Type::parse(t).ok())
            {
                ty.names(&mut names);
            }
            names.iter().any(|n| self.model_carries_secret(n, seen))
        })
    }

    pub fn distinct_routes(&self) -> usize {
        let routes: HashSet<_> = self
            .operations
            .iter()
            .map(|op| (op.method.as_str(), op.path.as_str()))
            .collect();
        routes.len()
    }
}

/// The `{name}` placeholders of a path template, in order.
pub fn path_placeholders(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}
