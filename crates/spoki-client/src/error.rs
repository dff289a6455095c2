//! The one error type of the client.

use crate::retry_rule::{AttemptOutcome, Classification, classify};
use crate::transport::{TransportError, TransportErrorKind};
use spoki_models::error_kind::CODE_FIELDS;
use spoki_models::operation::Operation;
use spoki_models::{ErrorKind, RetryAdvice};
use spoki_models::{is_credential_field, redact_credentials};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Everything that can go wrong with a call, grouped by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was rejected before anything was sent. Fix the input.
    #[error("invalid input: {0}")]
    InvalidInput(#[from] InputError),

    /// Spoki answered with an error status (other than 429).
    #[error("{0}")]
    Api(ApiError),

    /// Too many requests: Spoki answered 429, or the client-side limiter refused to wait.
    /// Nothing was processed; call again after `retry_after`.
    #[error("rate limited{}{}", if *.client_side { " by the client-side limiter" } else { " by Spoki" }, retry_after_text(.retry_after))]
    RateLimited {
        /// When to come back, when known.
        retry_after: Option<Duration>,
        /// Whether the local limiter refused (the request never left).
        client_side: bool,
    },

    /// No response in time. The request may have been processed: for a message send or an
    /// automation start, check (webhooks, contact history) before sending again.
    #[error("timed out waiting for Spoki; the request may have been processed")]
    Timeout {
        /// The operation called.
        operation: &'static Operation,
        /// The transport error.
        #[source]
        source: TransportError,
    },

    /// The request failed in transit.
    #[error("transport failure ({}): {source}", if .source.may_have_been_sent() { "the request may have reached Spoki" } else { "the request did not reach Spoki" })]
    Transport {
        /// The operation called.
        operation: &'static Operation,
        /// The transport error; [`TransportError::may_have_been_sent`] says whether Spoki may
        /// have received the request.
        #[source]
        source: TransportError,
    },

    /// A success response did not have the expected shape. Spoki has processed the request:
    /// do not send it again.
    #[error(
        "cannot decode the response of {} at `{path}`: {message} (body starts: {snippet})",
        .operation.id
    )]
    Decode {
        /// The operation called.
        operation: &'static Operation,
        /// JSON path of the failing value, such as `results[3].status`.
        path: String,
        /// What was wrong.
        message: String,
        /// The start of the body, at most 512 bytes, with credential-like fields redacted.
        snippet: String,
    },
}

impl From<spoki_models::PhoneError> for Error {
    fn from(error: spoki_models::PhoneError) -> Error {
        Error::InvalidInput(error.into())
    }
}

fn retry_after_text(wait: &Option<Duration>) -> String {
    wait.map(|w| format!("; retry after {:.3} s", w.as_secs_f64()))
        .unwrap_or_default()
}

impl spoki_transport::CallFailure for Error {
    fn acted(&self) -> bool {
        // Spoki answered 2xx; only the answer could not be read.
        matches!(self, Error::Decode { .. })
    }

    fn outcome_unknown(&self) -> bool {
        Error::outcome_unknown(self)
    }
}

impl Error {
    /// Whether calling again, later, is safe and may succeed: rate limits, failures that
    /// provably never reached Spoki, and, for idempotent operations only, timeouts, lost
    /// connections, 408 and 5xx answers. For a message send or an automation start that may
    /// have been processed this is `false`: see [`Error::outcome_unknown`]. The rule is
    /// [`retry_rule::classify`](crate::retry_rule::classify), the one the middleware follows.
    pub fn is_retryable(&self) -> bool {
        self.classification().is_some_and(|c| c.retry.is_some())
    }

    /// Whether Spoki may have processed the request although the caller cannot tell: a
    /// timeout, a connection lost after sending, a 5xx or 408 answer. Before sending such a
    /// message again, check (webhooks, the contact's history) that it did not go out.
    pub fn outcome_unknown(&self) -> bool {
        self.classification()
            .is_some_and(|c| c.server_may_have_acted)
    }

    /// What the attempt's outcome means, per [`retry_rule::classify`](crate::retry_rule::classify);
    /// `None` for errors raised before sending (bad input) or after a successful answer (a body
    /// that did not decode, so Spoki did act).
    pub fn classification(&self) -> Option<Classification> {
        let (idempotent, outcome) = match self {
            Error::RateLimited {
                client_side: false, ..
            } => (false, AttemptOutcome::Status(429)),
            Error::RateLimited {
                client_side: true, ..
            } => (
                false,
                AttemptOutcome::Transport(TransportErrorKind::Throttled),
            ),
            Error::Timeout { operation, .. } => (
                operation.idempotent,
                AttemptOutcome::Transport(TransportErrorKind::Timeout),
            ),
            Error::Transport { operation, source } => (
                operation.idempotent,
                AttemptOutcome::Transport(source.kind()),
            ),
            // Without its operation, an answer is judged as a non-idempotent call's.
            Error::Api(api) => (
                api.operation.is_some_and(|op| op.idempotent),
                AttemptOutcome::answer(api.status, api.code.is_some().then_some(api.kind)),
            ),
            Error::InvalidInput(_) | Error::Decode { .. } => return None,
        };
        Some(classify(idempotent, outcome))
    }

    /// The HTTP status Spoki answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::RateLimited {
                client_side: false, ..
            } => Some(429),
            _ => None,
        }
    }

    /// What went wrong, in the vocabulary of Spoki's and WhatsApp's error codes: the code's
    /// kind for an error answer, [`ErrorKind::RateLimited`] for a 429; `None` for a failure
    /// without an answer.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Error::Api(api) => Some(api.kind),
            Error::RateLimited {
                client_side: false, ..
            } => Some(ErrorKind::RateLimited),
            _ => None,
        }
    }

    /// What to do about it, in one line, when Spoki answered.
    pub fn hint(&self) -> Option<&'static str> {
        self.kind().map(ErrorKind::hint)
    }

    /// How long to wait before calling again, when known: the answer's `Retry-After`, or the
    /// wait its error code asks for (about 6 s after a pair-rate refusal).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(api) => match api.kind.retry() {
                RetryAdvice::After(wait) => Some(wait),
                _ => None,
            },
            Error::RateLimited { retry_after, .. } => *retry_after,
            Error::Transport { source, .. } | Error::Timeout { source, .. } => source.retry_after(),
            _ => None,
        }
    }

    /// The structured error of a non-2xx answer.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }

    pub(crate) fn from_transport(operation: &'static Operation, source: TransportError) -> Error {
        match source.kind() {
            TransportErrorKind::Throttled => Error::RateLimited {
                retry_after: source.retry_after(),
                client_side: true,
            },
            TransportErrorKind::Timeout => Error::Timeout { operation, source },
            _ => Error::Transport { operation, source },
        }
    }
}

/// A non-2xx answer from Spoki, with whatever detail its body gave.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Spoki's error code as written, such as `spoki::1029` (credit exhausted).
    pub code: Option<String>,
    /// What the code (or, without one, the status) means: [`ErrorKind::hint`] says what to do.
    pub kind: ErrorKind,
    /// Short title.
    pub title: Option<String>,
    /// Longer explanation (`detail`, or `message`).
    pub detail: Option<String>,
    /// Messages per input field, from validation errors (`{"phone": ["..."]}`).
    pub fields: BTreeMap<String, Vec<String>>,
    /// The operation that was answered, when the client made the call.
    pub operation: Option<&'static Operation>,
}

impl ApiError {
    /// Reads the error out of a response body; any shape (or none) is accepted.
    pub fn from_body(status: u16, body: &[u8]) -> ApiError {
        let mut error = ApiError {
            status,
            code: None,
            kind: ErrorKind::of(status, None),
            title: None,
            detail: None,
            fields: BTreeMap::new(),
            operation: None,
        };
        // Error bodies are small; a huge one is not parsed.
        if body.len() > MAX_PARSED_ERROR_BYTES {
            return error;
        }
        let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body)
        else {
            return error;
        };
        for (key, value) in map {
            let text = match &value {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            match key.as_str() {
                key if CODE_FIELDS.contains(&key) && text.is_some() && error.code.is_none() => {
                    error.kind = ErrorKind::of(status, text.as_deref());
                    error.code = text
                }
                "title" => error.title = text,
                "detail" | "message" | "error" if text.is_some() && error.detail.is_none() => {
                    error.detail = text
                }
                _ if is_credential_field(&key) => {
                    error.fields.insert(key, vec!["[REDACTED]".into()]);
                }
                _ => {
                    let messages: Vec<String> = match value {
                        serde_json::Value::Array(items) => items
                            .into_iter()
                            .map(|mut m| match m.as_str() {
                                Some(text) => text.to_owned(),
                                None => {
                                    redact_credentials(&mut m);
                                    m.to_string()
                                }
                            })
                            .collect(),
                        serde_json::Value::String(s) => vec![s],
                        _ => continue,
                    };
                    error.fields.insert(key, messages);
                }
            }
        }
        error
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Spoki answered {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " [{code}]")?;
        }
        // Spoki often says one thing twice ("Not found" / "Not found."): say it once.
        let same = |a: &str, b: &str| {
            a.trim()
                .trim_end_matches('.')
                .eq_ignore_ascii_case(b.trim().trim_end_matches('.'))
        };
        let detail = match (&self.title, &self.detail) {
            (Some(title), Some(detail)) if same(title, detail) => None,
            (_, detail) => detail.as_ref(),
        };
        for part in [self.title.as_ref(), detail].into_iter().flatten() {
            write!(f, ": {part}")?;
        }
        for (field, messages) in &self.fields {
            write!(f, "; {field}: {}", messages.join(" "))?;
        }
        Ok(())
    }
}

/// Input rejected before sending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// A phone number is not E.164.
    #[error(transparent)]
    Phone(#[from] spoki_models::PhoneError),
    /// A secret, key or token is empty.
    #[error("{0} is empty")]
    EmptySecret(&'static str),
    /// A body breaks one of the limits the API puts on it (a blank secret, too many
    /// contacts, a phone that is not E.164): the rule and the field say which.
    #[error("invalid body: {0}")]
    Constraint(#[from] spoki_models::constraint::ConstraintError),
    /// The operation needs an API key and the client has none.
    #[error("operation {0} needs an API key; set one with ClientBuilder::api_key")]
    MissingApiKey(spoki_models::operation::OperationId),
    /// A raw call's path is not the operation's own path on the configured origin.
    #[error("`{path}` is not a path of operation {operation}")]
    NotOperationPath {
        /// The operation called.
        operation: spoki_models::operation::OperationId,
        /// The path given.
        path: String,
    },
    /// The body could not be encoded as JSON (a map with keys that are not text).
    #[error("cannot encode the body: {0}")]
    Encode(String),
    /// A template send leaves placeholders of its template without a value: Spoki would take
    /// it and WhatsApp refuse it.
    #[error("template {template}: {missing}")]
    Placeholders {
        /// The template sent.
        template: i64,
        /// The placeholders without a value.
        missing: spoki_models::MissingPlaceholders,
    },
    /// The template a send names does not exist in the account.
    #[error("template {0} does not exist in this account")]
    UnknownTemplate(i64),
    /// A path parameter of the operation was not given.
    #[error("path parameter `{0}` is missing")]
    MissingParameter(&'static str),
    /// A path parameter is empty, `.` or `..`, which would change the request's path.
    #[error("path parameter {0:?} is not allowed: it would change the request's path")]
    PathSegment(String),
    /// The base URL is not an absolute http(s) URL.
    #[error("base URL `{0}` is not an absolute http or https URL")]
    BaseUrl(String),
    /// The client cannot be built as configured.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The request could not be built from its parts (a path with characters a URI cannot
    /// hold).
    #[error("cannot build the request: {0}")]
    Request(String),
}

/// Why [`ClientBuilder::build`](crate::ClientBuilder::build) refused its settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The environment variable is not set.
    #[error("{0} is not set")]
    MissingEnv(&'static str),
    /// The value (the API key, the user agent) cannot be sent in an HTTP header.
    #[error("{0} has characters not allowed in a header")]
    NotHeaderValue(&'static str),
    /// `connect_timeout` with a transport of your own, which the client cannot configure.
    #[error(
        "connect_timeout is a setting of the built-in transport; set it on your own transport instead"
    )]
    ConnectTimeoutOfOwnTransport,
    /// `connect_timeout` with a reqwest client that is already built.
    #[error(
        "connect_timeout cannot change a reqwest client that is already built; set it on your reqwest::Client instead"
    )]
    ConnectTimeoutOfOwnClient,
    /// A per-attempt timeout on a transport of your own needs the middleware's `Timeout`.
    #[error(
        "timeout needs the `middleware` feature to bound a custom transport; set it on your transport instead"
    )]
    TimeoutNeedsMiddleware,
    /// Both a transport and a reqwest client for the built-in transport.
    #[error(
        "both a transport and a reqwest client were given; the reqwest client is only for the built-in transport: wrap it in ReqwestTransport::from_client inside your transport instead"
    )]
    TransportAndClient,
    /// No transport: the `reqwest` feature is off and none was given.
    #[error("no transport: enable the `reqwest` feature or call ClientBuilder::transport")]
    NoTransport,
    /// The built-in HTTP client could not be made (its TLS roots, say).
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
}

/// The largest body read for an error's fields or a decode error's snippet.
pub(crate) const MAX_PARSED_ERROR_BYTES: usize = 64 * 1024;
