//! The client: configuration, request building, the call itself and decoding.

use crate::error::{ApiError, BuildError, Error, InputError};
use crate::placeholders::{TemplateFill, fills_template};
use crate::retry_after::parse_retry_after;
use crate::transport::{CredentialId, HttpRequest, Recipients, RequestContext, Transport};
use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HeaderValue, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use spoki_models::constraint::Validate;
use spoki_models::operation::{AuthKind, Operation};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// The production API origin.
pub const DEFAULT_BASE_URL: &str = "https://api.spoki.com";
/// Time allowed to open a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for one attempt, from sending to the end of the response.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// The `User-Agent` sent unless changed.
pub const DEFAULT_USER_AGENT: &str = concat!("spoki-rs/", env!("CARGO_PKG_VERSION"));
/// Header that carries the API key.
pub const API_KEY_HEADER: &str = "X-Spoki-Api-Key";

/// A Spoki API client. Cheap to clone; clones share the transport.
///
/// ```no_run
/// # async fn run() -> Result<(), spoki_client::Error> {
/// let client = spoki_client::Client::builder().api_key("my-api-key").build()?;
/// let account = client.accounts().get(101).await?;
/// println!("{:?} conversations left", account.estimated_available_conversations);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) base_url: String,
    pub(crate) api_key: Option<SecretString>,
    pub(crate) credential: CredentialId,
    pub(crate) user_agent: HeaderValue,
    /// Whether template sends are checked against their template's placeholders.
    pub(crate) check_placeholders: bool,
    /// The placeholders read so far, shared by the clients of every credential.
    pub(crate) placeholders: Arc<crate::placeholders::PlaceholderCache>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field(
                "api_key",
                &self.inner.api_key.as_ref().map(|_| "[REDACTED]"),
            )
            .field("user_agent", &self.inner.user_agent)
            .finish_non_exhaustive()
    }
}

/// One call, ready to send: operation, concrete path, query, body (encoded once, after its
/// checks), for an automation start the secret's tag that its budget is kept under, and for
/// a send what pacing and the placeholder check read from its body (read once, with it).
#[derive(Clone)]
pub(crate) struct Call {
    pub operation: &'static Operation,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Bytes>,
    pub secret: Option<CredentialId>,
    pub recipients: Option<Recipients>,
    pub template: Option<TemplateFill>,
}

impl Call {
    pub(crate) fn new(operation: &'static Operation, path: String) -> Call {
        Call {
            operation,
            path,
            query: Vec::new(),
            body: None,
            secret: None,
            recipients: None,
            template: None,
        }
    }

    /// Sets a query parameter, replacing an earlier value.
    pub(crate) fn set_query(&mut self, name: &str, value: String) {
        self.query.retain(|(k, _)| k != name);
        self.query.push((name.to_owned(), value));
    }

    /// A typed body: checked on its fields, then encoded.
    pub(crate) fn body<T: Validate + serde::Serialize>(mut self, body: &T) -> Result<Call, Error> {
        body.validate().map_err(InputError::from)?;
        let encoded = encode(body)?;
        if self.reads_body() {
            let value = serde_json::from_slice(&encoded).unwrap_or_default();
            self.read_body(&value);
        }
        self.body = Some(encoded);
        Ok(self)
    }

    /// A body that is a JSON array of typed items (a bulk sync): checked as JSON, since the
    /// limits are on the list as much as on its items, then encoded.
    pub(crate) fn list_body(self, body: &(impl serde::Serialize + ?Sized)) -> Result<Call, Error> {
        let value = serde_json::to_value(body).map_err(|e| InputError::Encode(e.to_string()))?;
        self.json_body(&value)
    }

    /// A JSON body: checked against the operation's rules, then encoded.
    pub(crate) fn json_body(mut self, body: &serde_json::Value) -> Result<Call, Error> {
        crate::validate::check(self.operation, body)?;
        // The rate-limit budget of an automation start is its secret's: the schema says which
        // body field holds it.
        if self.operation.auth == AuthKind::AutomationSecret {
            let secret = secret_field(self.operation).and_then(|f| body.get(f)?.as_str());
            self.secret = secret.map(CredentialId::of);
        }
        if self.reads_body() {
            self.read_body(body);
        }
        self.body = Some(encode(body)?);
        Ok(self)
    }

    /// Whether the operation's body names recipients or fills a template's placeholders.
    fn reads_body(&self) -> bool {
        self.operation.recipients.is_some() || fills_template(self.operation)
    }

    fn read_body(&mut self, body: &serde_json::Value) {
        self.recipients = self.operation.recipients.map(|path| recipients(path, body));
        self.template = TemplateFill::of(self.operation, body);
    }

    /// Keeps the budget of an automation start under its secret.
    pub(crate) fn secret(mut self, secret: &spoki_models::Secret) -> Call {
        self.secret = Some(CredentialId::of(secret.expose()));
        self
    }
}

/// The body field of `op` that holds a credential, if any.
fn secret_field(op: &Operation) -> Option<&'static str> {
    match op.body {
        spoki_models::operation::Body::Object { fields, .. } => fields
            .iter()
            .find(|f| f.ty == spoki_models::operation::FieldType::Secret)
            .map(|f| f.name),
        _ => None,
    }
}

/// The recipients of a send, at the schema's `path` of its body: `phone`, or
/// `contacts[].phone` for each item of a list.
fn recipients(path: &str, body: &serde_json::Value) -> Recipients {
    let phones: Vec<&str> = match path.split_once("[].") {
        Some((list, field)) => body[list]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item[field].as_str())
            .collect(),
        None => body[path].as_str().into_iter().collect(),
    };
    Recipients::new(phones)
}

fn encode(body: &(impl serde::Serialize + ?Sized)) -> Result<Bytes, Error> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|e| InputError::Encode(e.to_string()).into())
}

impl Client {
    /// A builder with the defaults: production origin, 5 s connect and 30 s attempt timeouts.
    pub fn builder() -> crate::ClientBuilder {
        crate::ClientBuilder::default()
    }

    /// A client configured from the environment: the key from `SPOKI_API_KEY` (required), the
    /// origin from `SPOKI_BASE_URL` (optional).
    pub fn from_env() -> Result<Client, Error> {
        crate::ClientBuilder::from_env()?.build()
    }

    /// The configured origin.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// A client that calls with another API key (a client account of an agency, say) and
    /// shares everything else with this one: the transport with its connection pool, the
    /// rate-limit and retry layers and their store, the origin and the settings. Budgets stay
    /// per credential, so one account's pace never slows another's.
    ///
    /// ```
    /// # fn run() -> Result<(), spoki_client::Error> {
    /// let agency = spoki_client::Client::builder().api_key("agency-key").build()?;
    /// let client_account = agency.with_api_key("client-account-key")?;
    /// assert_eq!(client_account.base_url(), agency.base_url());
    /// # Ok(()) }
    /// # run().unwrap();
    /// ```
    pub fn with_api_key(&self, key: impl Into<String>) -> Result<Client, Error> {
        let key = SecretString::from(key.into());
        crate::builder::check_api_key(key.expose_secret())?;
        let inner = &*self.inner;
        Ok(Client {
            inner: Arc::new(Inner {
                transport: Arc::clone(&inner.transport),
                base_url: inner.base_url.clone(),
                credential: CredentialId::of(key.expose_secret()),
                api_key: Some(key),
                user_agent: inner.user_agent.clone(),
                check_placeholders: inner.check_placeholders,
                placeholders: Arc::clone(&inner.placeholders),
            }),
        })
    }

    fn request(&self, call: &Call) -> Result<HttpRequest, Error> {
        let op = call.operation;
        let mut url = format!("{}{}", self.inner.base_url, call.path);
        if !call.query.is_empty() {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &call.query {
                query.append_pair(k, v);
            }
            url.push('?');
            url.push_str(&query.finish());
        }
        let mut credential = self.inner.credential;
        let mut builder = http::Request::builder()
            .method(op.method.as_str())
            .uri(&url)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, self.inner.user_agent.clone());
        match op.auth {
            AuthKind::ApiKey => {
                let key = self
                    .inner
                    .api_key
                    .as_ref()
                    .ok_or(InputError::MissingApiKey(op.id))?;
                let mut value = HeaderValue::from_str(key.expose_secret())
                    .map_err(|_| BuildError::NotHeaderValue("API key"))
                    .map_err(InputError::from)?;
                value.set_sensitive(true);
                builder = builder.header(API_KEY_HEADER, value);
            }
            AuthKind::AutomationSecret => {
                credential = call.secret.unwrap_or(CredentialId::ANONYMOUS);
            }
            _ => {}
        }
        if let Some(recipients) = &call.recipients {
            builder = builder.extension(recipients.clone());
        }
        let body = match &call.body {
            Some(body) => {
                builder = builder.header(CONTENT_TYPE, "application/json");
                body.clone()
            }
            // Action endpoints expect an empty JSON object.
            None if op.method.as_str() == "POST" => {
                builder = builder.header(CONTENT_TYPE, "application/json");
                Bytes::from_static(b"{}")
            }
            None => Bytes::new(),
        };
        builder
            .extension(RequestContext {
                operation: op,
                credential,
            })
            .body(body)
            .map_err(|e| InputError::Request(e.to_string()).into())
    }

    /// Sends a call and returns the body of a 2xx answer.
    pub(crate) async fn send(&self, call: Call) -> Result<Bytes, Error> {
        let op = call.operation;
        let span = tracing::info_span!(
            "spoki.call",
            operation = op.id.as_str(),
            method = op.method.as_str(),
            path = op.path,
            status = tracing::field::Empty,
            attempt = 1u32,
        );
        async move {
            self.check_placeholders(&call).await?;
            let request = self.request(&call)?;
            let response = self.inner.transport.send(request).await.map_err(|e| {
                tracing::warn!(error = %e, "no response");
                Error::from_transport(op, e)
            })?;
            let status = response.status();
            tracing::Span::current().record("status", status.as_u16());
            tracing::debug!("answered");
            if status.is_success() {
                return Ok(response.into_body());
            }
            if status.as_u16() == 429 {
                let retry_after =
                    parse_retry_after(response.headers(), std::time::SystemTime::now());
                return Err(Error::RateLimited {
                    retry_after,
                    client_side: false,
                });
            }
            let mut api = ApiError::from_body(status.as_u16(), response.body());
            api.operation = Some(op);
            Err(Error::Api(api))
        }
        .instrument(span)
        .await
    }

    /// Sends a call and decodes its JSON answer.
    ///
    /// An empty body reads as `{}`: an answer whose fields are all optional (a send
    /// acknowledgement) then decodes to its default instead of failing after the fact.
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T, Error> {
        let op = call.operation;
        let body = self.send(call).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return decode(op, b"{}");
        }
        decode(op, &body)
    }

    /// Sends a list call and decodes its page leniently: the items that decode, and an error
    /// for each that does not. Only a malformed envelope fails the call.
    pub(crate) async fn page_lenient<T: DeserializeOwned>(
        &self,
        call: Call,
    ) -> Result<(spoki_models::Page<T>, Vec<spoki_models::ItemError>), Error> {
        let op = call.operation;
        let body = self.send(call).await?;
        spoki_models::Page::from_json_lenient(&body).map_err(|_| {
            // Decoding the envelope alone again names what is wrong with it.
            match decode::<spoki_models::Page<serde_json::Value>>(op, &body) {
                Err(error) => error,
                Ok(_) => Error::Decode {
                    operation: op,
                    path: ".".into(),
                    message: "not a page".into(),
                    snippet: String::new(),
                },
            }
        })
    }

    /// Sends a call whose answer carries nothing of interest.
    pub(crate) async fn empty(&self, call: Call) -> Result<(), Error> {
        self.send(call).await.map(drop)
    }

    /// Sends a call whose answer is undocumented; an empty body is `null`.
    pub(crate) async fn value(&self, call: Call) -> Result<serde_json::Value, Error> {
        let op = call.operation;
        let body = self.send(call).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::Value::Null);
        }
        decode(op, &body)
    }
}

/// Decodes JSON, naming the failing path and keeping a redacted start of the body.
///
/// Where the answer may carry a credential, serde's message (which quotes the offending
/// value) and the body are withheld; only the path and the kind of problem are kept.
pub(crate) fn decode<T: DeserializeOwned>(
    operation: &'static Operation,
    body: &[u8],
) -> Result<T, Error> {
    // The fast path: plain serde. Only a failure is decoded again, tracking the path.
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let (message, snippet) = if operation.sensitive_response {
            let kind = match e.inner().classify() {
                serde_json::error::Category::Data => "value of the wrong type or shape",
                serde_json::error::Category::Eof => "body ends early",
                _ => "not valid JSON",
            };
            (
                format!("{kind} (details withheld: the answer may carry credentials)"),
                "[withheld]".to_owned(),
            )
        } else {
            (
                spoki_models::without_quoted_values(&e.inner().to_string()),
                snippet(body, &e.path().to_string()),
            )
        };
        Error::Decode {
            operation,
            path: e.path().to_string(),
            message,
            snippet,
        }
    })
}

const SNIPPET_BYTES: usize = 512;

/// The value at a serde_path_to_error path such as `results[3].status`.
fn at_path<'v>(value: &'v mut serde_json::Value, path: &str) -> Option<&'v mut serde_json::Value> {
    if path == "." {
        return Some(value);
    }
    let mut current = value;
    for part in path.split('.') {
        let (name, indexes) = part.split_once('[').unwrap_or((part, ""));
        if !name.is_empty() {
            current = current.get_mut(name)?;
        }
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            current = current.get_mut(index.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(current)
}

// Credentials travel in some answers (tokens, keys, secrets): blank them before keeping text.
// Text that is not JSON cannot be redacted field by field, so none of it is kept; and a body
// too large to be an error is not parsed just for a snippet.
// The value at the failing path is withheld as well: it is what serde's message quoted.
fn snippet(body: &[u8], failing: &str) -> String {
    if body.len() > crate::error::MAX_PARSED_ERROR_BYTES {
        return format!("[{} bytes, not shown]", body.len());
    }
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            spoki_models::redact_credentials(&mut value);
            if let Some(bad) = at_path(&mut value, failing) {
                *bad = serde_json::Value::String("[withheld]".into());
            }
            value.to_string()
        }
        Err(_) => return format!("[{} bytes, not JSON, not shown]", body.len()),
    };
    let mut end = text.len().min(SNIPPET_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}
