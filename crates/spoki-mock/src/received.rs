//! The request log's entries: what the mock received, with every credential redacted.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use spoki_models::{is_credential_header, redact_credentials, redact_query};
use std::collections::BTreeMap;

/// A request the mock received, with its credentials redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReceivedRequest {
    /// The HTTP method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The operation it was routed to.
    pub operation: Option<String>,
    /// The headers, lower-case names; credentials read `[REDACTED]`.
    pub headers: BTreeMap<String, String>,
    /// The JSON body with credential fields redacted (a string when it was not JSON; null
    /// when empty).
    pub body: Value,
    /// The status answered; `None` when the connection was closed without an answer.
    pub status: Option<u16>,
    /// The bytes of the body kept, for the log's budget.
    #[serde(skip)]
    size: usize,
}

const REDACTED: &str = "[REDACTED]";

/// The largest body the request log keeps; a larger one is noted by its size.
const LOGGED_BODY_LIMIT: usize = 1024 * 1024;

impl ReceivedRequest {
    /// The body bytes it keeps.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    pub(crate) fn new(
        method: &str,
        path: &str,
        query: Option<&str>,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> ReceivedRequest {
        let headers = headers
            .iter()
            .map(|(name, value)| {
                let value = if is_credential_header(name.as_str()) {
                    REDACTED.to_owned()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                (name.as_str().to_owned(), value)
            })
            .collect();
        let size = body.len();
        let body = if body.is_empty() {
            Value::Null
        } else if size > LOGGED_BODY_LIMIT {
            Value::String(format!("[{size} bytes, too large to keep]"))
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(mut json) => {
                    redact_credentials(&mut json);
                    json
                }
                // Not JSON: it cannot be redacted field by field, so it is not kept.
                Err(_) => Value::String(format!("[{} bytes, not JSON]", body.len())),
            }
        };
        ReceivedRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.map(redact_query),
            operation: None,
            headers,
            body,
            status: None,
            size: if size > LOGGED_BODY_LIMIT { 0 } else { size },
        }
    }
}
