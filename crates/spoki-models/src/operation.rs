//! The operation table: what the client and the middleware need to know about each call.
//!
//! Generated from the spec: one [`Operation`] constant per API operation (for example
//! [`operation::CONTACTS_SYNC`](crate::operation::CONTACTS_SYNC)) and [`ALL`] listing them.

pub use crate::generated::operations::*;

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

/// One operation of the API.
///
/// Its `Debug` is its id alone (`Operation("contacts_sync")`): it appears in every error's
/// `Debug`, where the whole table entry would bury the message.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Operation {
    /// Stable id, such as `contacts_sync`.
    pub id: &'static str,
    /// Resource group, such as `contacts`.
    pub group: &'static str,
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
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Operation").field(&self.id).finish()
    }
}

impl Operation {
    /// The operation with this id.
    pub fn find(id: &str) -> Option<&'static Operation> {
        ALL.iter().find(|op| op.id == id)
    }
}
