use serde::{Deserialize, Serialize};
use std::fmt;

/// A value the API sends as a number in some payloads and as text in others
/// (a channel's `quality_score`, a message id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NumberOrText {
    /// A JSON number.
    Number(serde_json::Number),
    /// A JSON string.
    Text(String),
}

impl NumberOrText {
    /// The value as a number, when it is one or is text that reads as one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            NumberOrText::Number(n) => n.as_f64(),
            NumberOrText::Text(t) => t.trim().parse().ok(),
        }
    }
}

impl fmt::Display for NumberOrText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumberOrText::Number(n) => write!(f, "{n}"),
            NumberOrText::Text(t) => f.write_str(t),
        }
    }
}

impl From<i64> for NumberOrText {
    fn from(n: i64) -> Self {
        NumberOrText::Number(n.into())
    }
}

impl From<&str> for NumberOrText {
    fn from(t: &str) -> Self {
        NumberOrText::Text(t.to_owned())
    }
}

/// A reference to another resource: its id on write, an object with the id on read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IdRef {
    /// Just the id.
    Id(i64),
    /// The embedded object: its id and, when sent, its name.
    Object {
        /// The id.
        id: i64,
        /// The name, when sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
}

impl IdRef {
    /// The referenced id, whichever shape was sent.
    pub fn id(&self) -> i64 {
        match self {
            IdRef::Id(id) | IdRef::Object { id, .. } => *id,
        }
    }
}

impl From<i64> for IdRef {
    fn from(id: i64) -> Self {
        IdRef::Id(id)
    }
}
