//! What an operation takes and answers, field by field: the part of the operation table that
//! the command line, the local Spoki and the MCP tools read to build calls and check bodies
//! without knowing the typed models.

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;

/// One named value of a call: a path placeholder, a query parameter or a body field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Field {
    /// Its name on the wire, such as `first_name`.
    pub name: &'static str,
    /// What it holds.
    pub ty: FieldType,
    /// Whether the model cannot do without it. Path placeholders always are; query
    /// parameters never are. A call may need more (see [`Operation::requires`]).
    ///
    /// [`Operation::requires`]: super::Operation::requires
    pub required: bool,
    /// What the spec says of it; empty when it says nothing.
    pub doc: &'static str,
}

/// The type of a [`Field`], as the wire sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A string.
    Text,
    /// An integer.
    Integer,
    /// A decimal number.
    Number,
    /// `true` or `false`.
    Bool,
    /// Money as Spoki writes it: an integer of thousandths of the account's currency.
    Money,
    /// A phone number in E.164 form, `+` and the country code first.
    Phone,
    /// An RFC 3339 timestamp.
    DateTime,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A credential (an automation's secret, a private key): never logged nor shown.
    Secret,
    /// One of a closed set of values.
    Enum {
        /// Whether the values travel as JSON integers rather than strings.
        integer: bool,
        /// The wire spellings it accepts.
        values: &'static [&'static str],
    },
    /// A JSON array of items of one type.
    List(&'static FieldType),
    /// A JSON object from string keys to values of one type.
    Map(&'static FieldType),
    /// A JSON object of the named model.
    Object(&'static str),
    /// Any JSON value (undocumented shapes, a number or a text).
    Any,
}

impl FieldType {
    /// The values an enum (or a list of enums) may take; empty when any value goes.
    pub fn values(&self) -> &'static [&'static str] {
        match self {
            FieldType::Enum { values, .. } => values,
            FieldType::List(item) => item.values(),
            _ => &[],
        }
    }
}

/// What an operation's request body is made of.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    /// No body.
    None,
    /// A JSON object of the named model.
    Object {
        /// The request model, such as `ContactCreate`.
        model: &'static str,
        /// Its fields, except the constants. Empty when the operation fixes the whole body.
        fields: &'static [Field],
        /// Fields whose value the operation fixes (`"type"`, `"Template"`), with the value as
        /// JSON text.
        constants: &'static [(&'static str, &'static str)],
        /// Whether a JSON value decodes as the model.
        decode: Decode,
    },
    /// A JSON array of the named model at the root.
    Array {
        /// The model of each item.
        model: &'static str,
        /// Whether a JSON value decodes as the list.
        decode: Decode,
    },
}

impl Body {
    /// The fields the operation fixes, with their values: empty for a body that is not an
    /// object.
    pub fn constants(&self) -> serde_json::Map<String, Value> {
        match self {
            Body::Object { constants, .. } => constants
                .iter()
                .map(|(name, json)| {
                    let value = serde_json::from_str(json).expect("constants are JSON");
                    ((*name).to_owned(), value)
                })
                .collect(),
            Body::None | Body::Array { .. } => serde_json::Map::new(),
        }
    }

    /// The body the operation fixes entirely (every field a constant), if it does.
    pub fn fixed(&self) -> Option<Value> {
        match self {
            Body::Object { fields: [], .. } => Some(Value::Object(self.constants())),
            _ => None,
        }
    }

    /// Whether `value` decodes as this body; a call without a body takes none.
    pub fn decode(&self, value: &Value) -> Result<(), DecodeError> {
        match self {
            Body::None => Err(DecodeError {
                path: ".".into(),
                message: "this operation takes no body".into(),
            }),
            Body::Object { decode, .. } | Body::Array { decode, .. } => decode(value),
        }
    }
}

/// What an operation answers.
#[derive(Debug, Clone, Copy)]
pub enum Response {
    /// An empty body.
    Empty,
    /// JSON whose shape is not documented.
    Json,
    /// One model.
    Model {
        /// The response model, such as `Account`.
        model: &'static str,
        /// The smallest JSON the model accepts: every required field with a plain value.
        sample: &'static str,
        /// Whether a JSON value decodes as the model.
        decode: Decode,
        /// Its fields that hold [`FieldType::Money`].
        money: &'static [&'static str],
    },
    /// A page of a list of models (`count`, `next`, `previous`, `results`).
    Page {
        /// The model of each item.
        model: &'static str,
        /// Whether a JSON value decodes as one item.
        decode: Decode,
        /// The item's fields that hold [`FieldType::Money`].
        money: &'static [&'static str],
    },
}

impl Response {
    /// The fields of the answer (or of each item of a page) that hold money.
    pub fn money(&self) -> &'static [&'static str] {
        match self {
            Response::Model { money, .. } | Response::Page { money, .. } => money,
            Response::Empty | Response::Json => &[],
        }
    }
}

/// Whether a JSON value decodes as a model; see [`decode`].
pub type Decode = fn(&Value) -> Result<(), DecodeError>;

/// Decodes `value` as `T` and drops it: the check behind every [`Decode`] of the table.
pub fn decode<T: DeserializeOwned>(value: &Value) -> Result<(), DecodeError> {
    serde_path_to_error::deserialize::<_, T>(value)
        .map(drop)
        .map_err(|e| DecodeError {
            path: e.path().to_string(),
            message: e.into_inner().to_string(),
        })
}

/// Where and why a JSON value does not decode as a model.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeError {
    /// The path of the failing value (`contacts[2].phone`), `.` for the value itself.
    pub path: String,
    /// serde's message. It may quote the wrong value: see [`DecodeError::unquoted`].
    pub message: String,
}

impl DecodeError {
    /// The message with every quoted value replaced, for places a value must not reach (a
    /// secret pasted into the wrong field).
    pub fn unquoted(&self) -> String {
        crate::without_quoted_values(&self.message)
    }

    /// The field the error is about, when it is not the value itself.
    pub fn field(&self) -> Option<&str> {
        (self.path != ".").then_some(self.path.as_str())
    }
}

impl fmt::Display for DecodeError {
    /// Never quotes the value: `at `phone`: invalid type: …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field() {
            Some(path) => write!(f, "at `{path}`: {}", self.unquoted()),
            None => f.write_str(&self.unquoted()),
        }
    }
}

impl std::error::Error for DecodeError {}
