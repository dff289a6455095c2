//! The shape of the generated command table: what the command line needs to know to turn
//! flags into one call of an operation.

use serde::de::DeserializeOwned;
use serde_json::Value;
use spoki_client::models::operation::Operation;

/// One subcommand: `spoki GROUP NAME`, calling one operation.
#[derive(Debug)]
pub struct OpCommand {
    /// The operation it calls.
    pub operation: &'static Operation,
    /// Its name inside the group, in kebab case: `rotate-secret`.
    pub name: &'static str,
    /// One line for `--help`.
    pub about: &'static str,
    /// Path parameters, in path order; each is a positional argument.
    pub path_params: &'static [Param],
    /// Query parameters; each is a `--flag`.
    pub query: &'static [Param],
    /// What the body is made of.
    pub body: Body,
    /// Whether the answer is a page of a list, so the command follows `next`.
    pub pages: bool,
    /// Fields of the answer (or of each listed item) that hold money, in Spoki's thousandths
    /// of EUR: shown as money in tables, raw in JSON.
    pub money: &'static [&'static str],
}

/// A path, query or body field turned into an argument.
#[derive(Debug)]
pub struct Param {
    /// Its name on the wire (`first_name`); the flag is its kebab form (`--first-name`).
    pub name: &'static str,
    /// How the argument's text becomes JSON.
    pub kind: Kind,
    /// Whether the call is invalid without it (body fields only; `--data` can also supply it).
    pub required: bool,
    /// The values it may take, when its type is an enum (of each item, for a list of enums);
    /// empty when any value goes.
    pub values: &'static [&'static str],
}

/// How an argument's text becomes a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Sent as a string.
    Text,
    /// An integer.
    Integer,
    /// A decimal number.
    Number,
    /// `true` or `false`.
    Bool,
    /// Anything else (lists, objects, enums of integers): the argument is JSON text.
    Json,
    /// A credential: the argument names the environment variable that holds it, and the flag
    /// is `--NAME-env`.
    SecretEnv,
}

/// The body of an operation.
#[derive(Debug)]
pub enum Body {
    /// No body.
    None,
    /// A body the operation fixes entirely; no flags.
    Fixed(fn() -> Value),
    /// A JSON object: one flag per field, constants always set, checked against the model.
    Object {
        fields: &'static [Param],
        constants: &'static [(&'static str, &'static str)],
        check: fn(&Value) -> Result<(), String>,
    },
    /// A JSON array at the root: given with `--data` only, checked against the model.
    Array {
        check: fn(&Value) -> Result<(), String>,
    },
}

/// Whether `value` decodes into the request model `T`; if not, where and why, with no quoted
/// value (the wrong value may be a key pasted into the wrong field).
pub fn check<T: DeserializeOwned>(value: &Value) -> Result<(), String> {
    serde_path_to_error::deserialize::<_, T>(value)
        .map(drop)
        .map_err(|e| {
            let message = spoki_client::models::without_quoted_values(&e.inner().to_string());
            match e.path().to_string().as_str() {
                "." => message,
                path => format!("at `{path}`: {message}"),
            }
        })
}

/// The JSON of a body the operation fixes entirely.
pub fn fixed<T: serde::Serialize + Default>() -> Value {
    serde_json::to_value(T::default()).expect("a request model always encodes")
}
