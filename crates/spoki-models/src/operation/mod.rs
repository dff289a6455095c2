//! The operation table: one schema per operation, read by everything that builds or serves
//! calls: the client, the middleware, the command line, the local Spoki and the MCP tools.
//!
//! Generated from the spec: one [`Operation`] constant per API operation (for example
//! [`operation::CONTACTS_SYNC`](crate::operation::CONTACTS_SYNC)), [`ALL`] listing them, and
//! [`OperationId`], the closed set of their ids, so that a `match` on an id is checked.

mod schema;

pub use crate::generated::operations::*;
pub use schema::{Body, Decode, DecodeError, Field, FieldType, Response, decode};

/// HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PATCH`
    Patch,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method name, upper case.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// How an operation authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthKind {
    /// The account's API key in the `X-Spoki-Api-Key` header.
    ApiKey,
    /// The automation's secret in the JSON body; no API key is sent.
    AutomationSecret,
    /// No credentials.
    None,
}

/// How sure the sources are of a rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Confidence {
    /// Published by Spoki for this endpoint.
    High,
    /// Observed by third parties, or a default.
    Low,
}

/// One operation of the API: its schema.
///
/// Its `Debug` is its id alone (`Operation("contacts_sync")`): it appears in every error's
/// `Debug`, where the whole table entry would bury the message. Two operations are equal
/// when their ids are: the table has one entry per id.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct Operation {
    /// Its id, such as [`OperationId::ContactsSync`] (`contacts_sync`).
    pub id: OperationId,
    /// Resource group, such as [`Group::Contacts`].
    pub group: Group,
    /// Its name inside the group, such as `rotate_secret`: the typed method of the client and
    /// the command of the command line (`rotate-secret`) are named after it.
    pub name: &'static str,
    /// One line from the spec: what it does.
    pub summary: &'static str,
    /// HTTP method.
    pub method: Method,
    /// Path template with `{name}` placeholders, always with a trailing slash.
    pub path: &'static str,
    /// How the call authenticates.
    pub auth: AuthKind,
    /// Whether sending it twice has the same effect as sending it once, so it is safe to retry.
    pub idempotent: bool,
    /// The client-side rate-limit class it counts against.
    pub rate_class: RateClass,
    /// Whether Spoki has deprecated it.
    pub deprecated: bool,
    /// Whether its answer may carry a credential (a token, key or secret), so that nothing of
    /// the answer may be kept in errors or logs.
    pub sensitive_response: bool,
    /// The limits the API puts on its body (from the spec), checked before it is sent.
    pub body_rules: &'static [crate::constraint::Rule],
    /// Path placeholders, in path order.
    pub path_params: &'static [Field],
    /// Query parameters.
    pub query: &'static [Field],
    /// What its body is made of.
    pub body: Body,
    /// Body fields the model leaves optional but this call needs (a webhook created without
    /// its event receives nothing).
    pub requires: &'static [&'static str],
    /// Where the body names who receives a WhatsApp message (`phone`, `contacts[].phone`),
    /// for the calls that send one; `None` for every other call.
    pub recipients: Option<&'static str>,
    /// What it answers.
    pub response: Response,
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Operation").field(&self.id.as_str()).finish()
    }
}

impl PartialEq for Operation {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Operation {}

impl std::hash::Hash for Operation {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl Operation {
    /// The operation with this id, such as `contacts_sync`.
    pub fn find(id: &str) -> Option<&'static Operation> {
        id.parse::<OperationId>().ok().map(OperationId::operation)
    }

    /// Whether the model or this call needs the body field `name`.
    pub fn requires_field(&self, name: &str) -> bool {
        self.requires.contains(&name)
            || matches!(self.body, Body::Object { fields, .. }
                if fields.iter().any(|f| f.name == name && f.required))
    }
}

/// The error of reading a name that is no operation (or no group) of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownOperation(pub String);

impl std::fmt::Display for UnknownOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` names no operation of the Spoki API", self.0)
    }
}

impl std::error::Error for UnknownOperation {}
