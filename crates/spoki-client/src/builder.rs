//! [`ClientBuilder`]: the origin, the credential, the timeouts, the transport and the layers
//! that pace and retry it.

use crate::client::{
    Client, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_USER_AGENT,
    Inner,
};
use crate::error::{BuildError, Error, InputError};
use crate::transport::{CredentialId, Transport};
use http::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

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
    check_placeholders: bool,
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
            check_placeholders: true,
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

    /// Whether a template send is first checked against its template's `%%CODE%%`
    /// placeholders (default `true`): one read of the template per credential and template,
    /// kept for [`PLACEHOLDERS_FRESH_FOR`](crate::PLACEHOLDERS_FRESH_FOR), and a send that
    /// leaves one without a value is refused with [`InputError::Placeholders`] before it is
    /// sent.
    pub fn check_placeholders(mut self, check: bool) -> Self {
        self.check_placeholders = check;
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
            check_api_key(key.expose_secret())?;
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
                check_placeholders: self.check_placeholders,
                placeholders: Default::default(),
            }),
        })
    }
}

/// Refuses an API key that is blank or cannot travel in a header.
pub(crate) fn check_api_key(key: &str) -> Result<(), Error> {
    if spoki_models::is_blank(key) {
        return Err(InputError::EmptySecret("API key").into());
    }
    if HeaderValue::from_str(key).is_err() {
        return Err(InputError::from(BuildError::NotHeaderValue("API key")).into());
    }
    Ok(())
}

#[cfg(not(feature = "reqwest"))]
fn default_transport(_: Duration, _: Duration, _: &str) -> Result<Arc<dyn Transport>, Error> {
    Err(InputError::from(BuildError::NoTransport).into())
}
