//! The client: configuration, request building, the call itself and decoding.

use crate::error::{ApiError, BuildError, Error, InputError};
use crate::retry_after::parse_retry_after;
use crate::transport::{CredentialId, HttpRequest, RequestContext, Transport};
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
    inner: Arc<Inner>,
}

struct Inner {
    transport: Arc<dyn Transport>,
    base_url: String,
    api_key: Option<SecretString>,
    credential: CredentialId,
    user_agent: HeaderValue,
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

/// Configures a [`Client`].
///
/// With the default features, the built-in transport is wrapped in the middleware: calls are
/// paced to Spoki's published rate limits and retried when that is safe (never a send that may
/// have reached Spoki). [`without_rate_limits`](Self::without_rate_limits) and
/// [`without_retries`](Self::without_retries) opt out. A transport given with
/// [`transport`](Self::transport) is taken as the whole stack: the layers wrap it only when
/// [`rate_limits`](Self::rate_limits) or [`retry_policy`](Self::retry_policy) is set, and
/// [`timeout`](Self::timeout), when set, bounds each of its attempts.
pub struct ClientBuilder {
    base_url: String,
    api_key: Option<SecretString>,
    connect_timeout: Option<Duration>,
    attempt_timeout: Option<Duration>,
    #[cfg(feature = "middleware")]
    rate_limits: Layer<spoki_middleware::RateLimitConfig>,
    #[cfg(feature = "middleware")]
    retry_policy: Layer<spoki_middleware::RetryPolicy>,
    user_agent: String,
    transport: Option<Arc<dyn Transport>>,
    #[cfg(feature = "reqwest")]
    reqwest_client: Option<spoki_transport::reqwest::Client>,
    #[cfg(feature = "reqwest")]
    max_response_bytes: usize,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ClientBuilder");
        d.field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("connect_timeout", &self.connect_timeout)
            .field("attempt_timeout", &self.attempt_timeout);
        #[cfg(feature = "middleware")]
        d.field("rate_limits", &self.rate_limits)
            .field("retry_policy", &self.retry_policy);
        d.field("user_agent", &self.user_agent)
            .field("custom_transport", &self.transport.is_some())
            .finish()
    }
}

/// Whether a middleware layer wraps the transport.
#[cfg(feature = "middleware")]
#[derive(Debug, Clone)]
enum Layer<C> {
    /// On for the built-in transport, off for a custom one.
    Default,
    /// On, with this configuration.
    Set(C),
    /// Off.
    Off,
}

#[cfg(feature = "middleware")]
impl<C: Default> Layer<C> {
    /// The configuration to wrap the transport with, if any.
    fn resolve(self, custom_transport: bool) -> Option<C> {
        match self {
            Layer::Default if custom_transport => None,
            Layer::Default => Some(C::default()),
            Layer::Set(config) => Some(config),
            Layer::Off => None,
        }
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            base_url: DEFAULT_BASE_URL.into(),
            api_key: None,
            connect_timeout: None,
            attempt_timeout: None,
            #[cfg(feature = "middleware")]
            rate_limits: Layer::Default,
            #[cfg(feature = "middleware")]
            retry_policy: Layer::Default,
            user_agent: DEFAULT_USER_AGENT.into(),
            transport: None,
            #[cfg(feature = "reqwest")]
            reqwest_client: None,
            #[cfg(feature = "reqwest")]
            max_response_bytes: crate::DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// The variable [`Client::from_env`] reads the API key from.
pub const API_KEY_ENV: &str = "SPOKI_API_KEY";
/// The variable [`Client::from_env`] reads the origin from, when set.
pub const BASE_URL_ENV: &str = "SPOKI_BASE_URL";

impl ClientBuilder {
    /// A builder with the API key from `SPOKI_API_KEY` and, when set, the origin from
    /// `SPOKI_BASE_URL`; other settings can still be changed before `build`.
    pub fn from_env() -> Result<ClientBuilder, Error> {
        let key = std::env::var(API_KEY_ENV)
            .map_err(|_| BuildError::MissingEnv(API_KEY_ENV))
            .map_err(InputError::from)?;
        let mut builder = ClientBuilder::default().api_key(key);
        if let Ok(url) = std::env::var(BASE_URL_ENV) {
            builder = builder.base_url(url);
        }
        Ok(builder)
    }

    /// The account's API key, sent in `X-Spoki-Api-Key`. Automation starts work without one.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }

    /// Another origin, such as a local test server.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Time allowed to open a connection (default 5 s). The built-in transport's setting: with
    /// a custom [`transport`](Self::transport), `build` refuses it (set it on that transport).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Time allowed for each attempt, from sending to the end of the answer (default 30 s).
    /// Applies to a custom [`transport`](Self::transport) too: each call to it is bounded,
    /// under the layers this builder adds. A stack of your own with a rate limiter inside it
    /// would count its waits too, and a send timed out while waiting reports an unknown
    /// outcome; bound the attempts inside such a stack instead.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// Paces calls with this configuration instead of Spoki's published limits; with a custom
    /// [`transport`](Self::transport), wraps it in the rate-limit layer.
    #[cfg(feature = "middleware")]
    pub fn rate_limits(mut self, config: spoki_middleware::RateLimitConfig) -> Self {
        self.rate_limits = Layer::Set(config);
        self
    }

    /// Sends calls as soon as they are made, without client-side pacing. Answers of 429 are
    /// still retried after their `Retry-After` unless retries are off too.
    #[cfg(feature = "middleware")]
    pub fn without_rate_limits(mut self) -> Self {
        self.rate_limits = Layer::Off;
        self
    }

    /// Retries with this policy instead of the default one; with a custom
    /// [`transport`](Self::transport), wraps it in the retry layer.
    #[cfg(feature = "middleware")]
    pub fn retry_policy(mut self, policy: spoki_middleware::RetryPolicy) -> Self {
        self.retry_policy = Layer::Set(policy);
        self
    }

    /// Makes every call exactly one attempt: the caller decides what to do with a failure.
    #[cfg(feature = "middleware")]
    pub fn without_retries(mut self) -> Self {
        self.retry_policy = Layer::Off;
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// Sends through `transport` instead of the built-in one: a mock, a stack of your own, or a
    /// [`ReqwestTransport`](crate::ReqwestTransport) over your own `reqwest::Client`. It is
    /// taken as the whole stack; see [`ClientBuilder`] for what still wraps it.
    pub fn transport(mut self, transport: impl Transport) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Uses your `spoki_transport::reqwest::Client` (proxy, pool settings, TLS roots), with the attempt
    /// timeout of this builder; its own connect timeout applies. See
    /// [`ReqwestTransport::from_client`](crate::ReqwestTransport::from_client) about redirects.
    #[cfg(feature = "reqwest")]
    pub fn reqwest_client(mut self, client: spoki_transport::reqwest::Client) -> Self {
        self.reqwest_client = Some(client);
        self
    }

    /// The largest answer the built-in transport reads (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`](crate::DEFAULT_MAX_RESPONSE_BYTES)); a larger one fails
    /// the call with a `TooLarge` transport error instead of filling memory.
    #[cfg(feature = "reqwest")]
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let base_url = self.base_url.trim_end_matches('/').to_owned();
        match url::Url::parse(&base_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
            _ => return Err(InputError::BaseUrl(self.base_url).into()),
        }
        if let Some(key) = &self.api_key {
            let key = key.expose_secret();
            if spoki_models::is_blank(key) {
                return Err(InputError::EmptySecret("API key").into());
            }
            if HeaderValue::from_str(key).is_err() {
                return Err(InputError::from(BuildError::NotHeaderValue("API key")).into());
            }
        }
        let user_agent = HeaderValue::from_str(&self.user_agent)
            .map_err(|_| InputError::from(BuildError::NotHeaderValue("user agent")))?;
        let custom = self.transport.is_some();
        if custom && self.connect_timeout.is_some() {
            return Err(InputError::from(BuildError::ConnectTimeoutOfOwnTransport).into());
        }
        #[cfg(not(feature = "middleware"))]
        if custom && self.attempt_timeout.is_some() {
            return Err(InputError::from(BuildError::TimeoutNeedsMiddleware).into());
        }
        let attempt_timeout = self.attempt_timeout.unwrap_or(DEFAULT_ATTEMPT_TIMEOUT);
        let connect_timeout = self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        #[cfg(feature = "reqwest")]
        let transport: Arc<dyn Transport> = match (self.transport, self.reqwest_client) {
            (Some(_), Some(_)) => {
                return Err(InputError::from(BuildError::TransportAndClient).into());
            }
            (Some(transport), None) => transport,
            (None, Some(_)) if self.connect_timeout.is_some() => {
                return Err(InputError::from(BuildError::ConnectTimeoutOfOwnClient).into());
            }
            (None, Some(client)) => Arc::new(
                crate::ReqwestTransport::from_client(client)
                    .attempt_timeout(attempt_timeout)
                    .max_response_bytes(self.max_response_bytes),
            ),
            (None, None) => Arc::new(
                crate::ReqwestTransport::new(connect_timeout, attempt_timeout, &self.user_agent)
                    .map_err(|e| InputError::from(BuildError::HttpClient(e.to_string())))?
                    .max_response_bytes(self.max_response_bytes),
            ),
        };
        #[cfg(not(feature = "reqwest"))]
        let transport = match self.transport {
            Some(transport) => transport,
            None => default_transport(connect_timeout, attempt_timeout, &self.user_agent)?,
        };
        #[cfg(feature = "middleware")]
        let transport = {
            use spoki_middleware::{RateLimited, Retrying, Timeout};
            // The built-in transport bounds its own attempts; a custom one is bounded only
            // when asked, under the retries, so that the limit is per attempt.
            let mut stack = match self.attempt_timeout {
                Some(limit) if custom => Arc::new(Timeout::new(transport, limit)),
                _ => transport,
            };
            if let Some(config) = self.rate_limits.resolve(custom) {
                stack = Arc::new(RateLimited::with_config(stack, config));
            }
            if let Some(policy) = self.retry_policy.resolve(custom) {
                stack = Arc::new(Retrying::with_policy(stack, policy));
            }
            stack
        };
        let credential = self
            .api_key
            .as_ref()
            .map(|k| CredentialId::of(k.expose_secret()))
            .unwrap_or(CredentialId::ANONYMOUS);
        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                base_url,
                api_key: self.api_key,
                credential,
                user_agent,
            }),
        })
    }
}

#[cfg(not(feature = "reqwest"))]
fn default_transport(_: Duration, _: Duration, _: &str) -> Result<Arc<dyn Transport>, Error> {
    Err(InputError::from(BuildError::NoTransport).into())
}

/// One call, ready to send: operation, concrete path, query, body (encoded once, after its
/// checks) and, for an automation start, the secret's tag that its budget is kept under.
#[derive(Clone)]
pub(crate) struct Call {
    pub operation: &'static Operation,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Bytes>,
    pub secret: Option<CredentialId>,
}

impl Call {
    pub(crate) fn new(operation: &'static Operation, path: String) -> Call {
        Call {
            operation,
            path,
            query: Vec::new(),
            body: None,
            secret: None,
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
        self.body = Some(encode(body)?);
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
        self.body = Some(encode(body)?);
        Ok(self)
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

fn encode(body: &(impl serde::Serialize + ?Sized)) -> Result<Bytes, Error> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|e| InputError::Encode(e.to_string()).into())
}

impl Client {
    /// A builder with the defaults: production origin, 5 s connect and 30 s attempt timeouts.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: the key from `SPOKI_API_KEY` (required), the
    /// origin from `SPOKI_BASE_URL` (optional).
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// The configured origin.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
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
