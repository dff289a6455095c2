//! A stateful local Spoki: every operation of the API on 127.0.0.1, with Spoki's rules.
//!
//! Start one in a test, point the SDK's client (or any HTTP client) at [`MockSpoki::url`], and
//! use the demo credentials from [`MockSpoki::fixtures`]; the `spoki` facade's README shows
//! the typed client against it.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mock = spoki_mock::MockSpoki::start().await;
//! let fixtures = mock.fixtures();
//! let url = format!("{}/api/1/accounts/{}/", mock.url(), fixtures.client_account_id);
//! let account: serde_json::Value = reqwest::Client::new()
//!     .get(url)
//!     .header("x-spoki-api-key", &fixtures.agency_api_key)
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(account["estimated_available_conversations"], 3);
//! # Ok(()) }
//! ```
//!
//! What it does, from the spec and Spoki's documentation:
//!
//! - **Routing from the operation table of `spoki-models`**: all 123 operations are served; an unknown
//!   path gets 404 in Spoki's error shape.
//! - **Authentication** per operation: `X-Spoki-Api-Key` (401 when missing, 403 when wrong),
//!   or the automation's secret in the body for automation starts.
//! - **Validation** with `spoki-models`: a body that does not decode gets 400 with the failing
//!   field; more than 500 contacts in one sync gets 400.
//! - **State**: accounts with credit, contacts, templates, automations, messages, webhooks,
//!   service users and every other resource in a record store per group; pagination with
//!   `count`, `next`, `previous`, `results`, `page` and `page_size`.
//! - **Rate limits** per API key and rate class, answering 429 with `Retry-After`.
//! - **Billing** with `spoki-billing`: free-form outside the 24-hour service window is refused,
//!   every paid conversation deducts credit, and with no credit left sends fail.
//! - **Webhook deliveries**, signed as Spoki signs them, retried with backoff, logged.
//! - **Faults** scripted per operation, and a log of every request, secrets redacted.
//! - **Persistence**: with a state file, state survives restarts.
//!
//! The same control surface is served over HTTP under `/__mock/` (see `docs/mock.md`).

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod answer;
mod control;
pub mod debian;
mod embed;
mod limits;
mod persist;
mod received;
pub mod redis_server;
mod route;
mod server;
mod state;
mod world;

pub use limits::RateLimits;
pub use received::ReceivedRequest;
pub use redis_server::{NotInstalled, RedisServer};
pub use spoki_models::constraint::MAX_CONTACTS_PER_SYNC;
pub use spoki_models::operation::OperationId;
pub use state::{Delivery, DeliveryAttempt, Fixtures, SentMessage};
pub use world::DEFAULT_RATE_CARD;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use server::Shared;
use spoki_billing::RateCard;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A scripted fault: what the mock does with the next calls of one operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status (and body and headers) without doing anything.
    Status {
        /// The HTTP status.
        status: u16,
        /// The JSON body, if any.
        #[serde(default)]
        body: Option<Value>,
        /// Extra headers, such as `Retry-After`.
        #[serde(default)]
        headers: BTreeMap<String, String>,
    },
    /// Wait this long, then serve the request normally.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// Read the request, then close the connection without doing anything or answering.
    Reset,
    /// Do what the request asks, then close the connection without answering: the client
    /// cannot know it worked. What at-most-once sending must survive.
    AnswerLost,
}

impl Fault {
    /// Answer `status` with Spoki's error body.
    pub fn status(status: u16) -> Fault {
        Fault::answer(
            status,
            serde_json::json!({
                "title": "Scripted fault", "detail": "injected by spoki-mock", "code": "spoki::mock"
            }),
        )
    }

    /// Answer `status` with this JSON body (`None` for an empty one).
    pub fn answer(status: u16, body: impl Into<Option<Value>>) -> Fault {
        Fault::Status {
            status,
            body: body.into(),
            headers: BTreeMap::new(),
        }
    }

    /// Why this fault cannot be played, if it cannot: a status outside 200 to 599, a header
    /// that is not valid HTTP, or a delay over ten minutes.
    fn check(&self) -> Result<(), MockError> {
        match self {
            Fault::Status {
                status, headers, ..
            } => {
                if !(200..=599).contains(status) {
                    return Err(MockError::Status(*status));
                }
                for (name, value) in headers {
                    if http::HeaderName::from_bytes(name.as_bytes()).is_err()
                        || http::HeaderValue::from_str(value).is_err()
                    {
                        return Err(MockError::Header(name.clone()));
                    }
                }
                Ok(())
            }
            Fault::Delay { ms } if *ms > MAX_FAULT_DELAY_MS => Err(MockError::Delay(*ms)),
            _ => Ok(()),
        }
    }

    /// Adds a header to a scripted answer; other faults are left as they are.
    pub fn header(mut self, name: &str, value: &str) -> Fault {
        if let Fault::Status { headers, .. } = &mut self {
            headers.insert(name.to_owned(), value.to_owned());
        }
        self
    }
}

/// How a mock is set up.
#[derive(Debug, Clone)]
pub struct MockConfig {
    port: u16,
    state_file: Option<PathBuf>,
    rate_limits: RateLimits,
    rate_card: Option<String>,
    fixtures: Fixtures,
    delivery_attempts: u32,
    delivery_backoff: Duration,
    header_timeout: Duration,
    request_log: usize,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            port: 0,
            state_file: None,
            rate_limits: RateLimits::default(),
            rate_card: None,
            fixtures: Fixtures::default(),
            delivery_attempts: 5,
            delivery_backoff: Duration::from_millis(200),
            header_timeout: Duration::from_secs(10),
            request_log: 10_000,
        }
    }
}

/// Builds a [`MockSpoki`]: `MockSpoki::builder().rate_limits(RateLimits::off()).start()`.
#[derive(Debug, Clone, Default)]
pub struct MockBuilder {
    config: MockConfig,
}

impl MockBuilder {
    /// How long a client may take to send a request's headers, and how long a connection may
    /// sit idle between requests (default 10 s): a slow or silent client is dropped, not held.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.config.header_timeout = timeout;
        self
    }

    /// How many requests the log keeps (default 10,000; the oldest go first, and
    /// [`MockSpoki::requests_dropped`] counts them). Bodies over 1 MiB are not kept, and the
    /// kept bodies total at most 64 MiB.
    pub fn request_log(mut self, entries: usize) -> Self {
        self.config.request_log = entries.max(1);
        self
    }

    /// The port on 127.0.0.1 (default 0: a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.config.port = port;
        self
    }

    /// Keeps state in this file: loaded at start if it exists, saved after every change.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.state_file = Some(path.into());
        self
    }

    /// The rate limits (default: Spoki's, per the spec).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.config.rate_limits = limits;
        self
    }

    /// The rate card sends are billed with, as `spoki-billing` rate-card JSON (default
    /// [`DEFAULT_RATE_CARD`]), priced in EUR like Spoki's credit (another currency is
    /// refused at start).
    pub fn rate_card(mut self, json: impl Into<String>) -> Self {
        self.config.rate_card = Some(json.into());
        self
    }

    /// The demo credentials and ids (default [`Fixtures::default`]); ignored when a state
    /// file already exists.
    pub fn fixtures(mut self, fixtures: Fixtures) -> Self {
        self.config.fixtures = fixtures;
        self
    }

    /// How many times a webhook delivery is tried (default 5), and the wait before the
    /// second try, doubling after each (default 200 ms).
    pub fn delivery_retries(mut self, attempts: u32, first_backoff: Duration) -> Self {
        self.config.delivery_attempts = attempts.max(1);
        self.config.delivery_backoff = first_backoff;
        self
    }

    /// Binds 127.0.0.1 and starts serving on the current tokio runtime.
    pub async fn start(self) -> std::io::Result<MockSpoki> {
        let config = self.config;
        let card = RateCard::from_json(config.rate_card.as_deref().unwrap_or(DEFAULT_RATE_CARD))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        // Spoki keeps credit in EUR, so the mock's accounts do; a card in another currency
        // could not be charged against it.
        if card.currency() != spoki_models::Currency::EUR {
            let problem = format!(
                "the rate card is priced in {}, and the local Spoki keeps credit in EUR",
                card.currency()
            );
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                problem,
            ));
        }
        let state = persist::load_state(config.state_file.as_deref(), config.fixtures.clone())?;
        let world = world::World::new(state, card)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        let state_file = config.state_file.clone();
        let shared = Arc::new(Shared::new(url, config, world));
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(server::serve(listener, shared.clone(), stopped.clone()));
        let saver = match &state_file {
            Some(path) => {
                persist::save_state(&shared, path)?;
                Some(tokio::spawn(persist::keep_saved(
                    shared.clone(),
                    path.clone(),
                    stopped,
                )))
            }
            None => None,
        };
        Ok(MockSpoki {
            shared,
            addr,
            stop,
            state_file,
            saver,
        })
    }
}

/// A running local Spoki. It stops serving when dropped or [shut down](MockSpoki::shutdown).
pub struct MockSpoki {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    state_file: Option<PathBuf>,
    saver: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for MockSpoki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockSpoki")
            .field("url", &self.shared.url)
            .field("state_file", &self.state_file)
            .finish_non_exhaustive()
    }
}

impl MockSpoki {
    /// Starts a mock with the defaults on a free port.
    ///
    /// # Panics
    ///
    /// When no port on 127.0.0.1 can be bound; use [`MockSpoki::builder`] to handle that.
    pub async fn start() -> MockSpoki {
        MockSpoki::builder()
            .start()
            .await
            .expect("spoki-mock could not start on 127.0.0.1")
    }

    /// A builder for a mock with other settings.
    pub fn builder() -> MockBuilder {
        MockBuilder::default()
    }

    /// The base URL to give the client, such as `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.shared.url
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The demo credentials and ids.
    pub fn fixtures(&self) -> Fixtures {
        self.shared.world().state.fixtures.clone()
    }

    /// The requests received so far, in order, credentials redacted: the last 10,000 by
    /// default ([`MockBuilder::request_log`]), so a long run's memory stays bounded.
    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.shared.received()
    }

    /// How many requests of `operation` the request log holds.
    pub fn calls(&self, operation: OperationId) -> usize {
        self.shared.calls(operation)
    }

    /// How many requests the log dropped to stay within its bounds (see
    /// [`MockBuilder::request_log`]); `GET /__mock/requests` says it in `x-spoki-mock-dropped`.
    pub fn requests_dropped(&self) -> u64 {
        self.shared.requests_dropped()
    }

    /// How many TCP connections the local Spoki has accepted: what a client's connection
    /// pool opened.
    pub fn connections_accepted(&self) -> u64 {
        self.shared
            .connections
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every webhook delivery so far, with its attempts.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.world().state.deliveries.clone()
    }

    /// Every message accepted for sending so far.
    pub fn messages(&self) -> Vec<SentMessage> {
        self.shared.world().state.messages.clone()
    }

    /// An account's credit, exactly.
    pub fn credit(&self, account_id: i64) -> Option<spoki_models::Money> {
        self.shared
            .world()
            .state
            .accounts
            .get(&account_id)
            .map(|a| a.credit)
    }

    /// A customer writes to the demo client account: the service window opens and
    /// `message.inbound` is delivered to the account's webhooks.
    pub fn inbound(&self, phone: &str, text: &str) -> Result<(), MockError> {
        let account = self.fixtures().client_account_id;
        self.inbound_to(account, phone, text)
    }

    /// A customer writes to `account_id`.
    pub fn inbound_to(&self, account_id: i64, phone: &str, text: &str) -> Result<(), MockError> {
        self.shared
            .inbound(account_id, phone, text)
            .map(drop)
            .map_err(|answer| MockError::Refused {
                status: answer.status,
                body: answer.body,
            })
    }

    /// Scripts `fault` for the next `times` calls of `operation`.
    pub fn fault(
        &self,
        operation: OperationId,
        fault: Fault,
        times: usize,
    ) -> Result<(), MockError> {
        self.shared.add_fault(operation, fault, times)
    }

    /// Forgets every scripted fault not yet used.
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// Waits until at least `count` deliveries were accepted by their receivers, or
    /// `timeout` passes; returns the delivery log either way.
    pub async fn wait_for_deliveries(&self, count: usize, timeout: Duration) -> Vec<Delivery> {
        self.wait_until(timeout, |log| {
            log.iter().filter(|d| d.delivered).count() >= count
        })
        .await
    }

    /// Waits for the first delivery of `event` whose receiver answered 2xx, for at most
    /// `timeout`. [`Delivery::decode`] gives its typed event, its attempts the statuses.
    pub async fn wait_for_event(
        &self,
        event: &spoki_models::WebhookEvent,
        timeout: Duration,
    ) -> Option<Delivery> {
        self.wait_for_delivery(timeout, |d| d.delivered && d.event == event.as_str())
            .await
    }

    /// Waits until a delivery in the log matches `accept`, for at most `timeout`.
    pub async fn wait_for_delivery(
        &self,
        timeout: Duration,
        accept: impl Fn(&Delivery) -> bool,
    ) -> Option<Delivery> {
        let log = self
            .wait_until(timeout, |log| log.iter().any(&accept))
            .await;
        log.into_iter().find(|d| accept(d))
    }

    /// The delivery log once `done` holds for it, or when `timeout` passes.
    async fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&[Delivery]) -> bool,
    ) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before the look, so a delivery between the two is not missed.
            let notified = self.shared.delivered.notified();
            let log = self.deliveries();
            if done(&log) {
                return log;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.deliveries();
            }
        }
    }

    /// Delivers delivery `id` of the log again, body unchanged and freshly signed, as Spoki
    /// does when it redelivers an event: a redelivery test needs no hand signing.
    pub fn redeliver(&self, id: u64) -> Result<(), MockError> {
        self.shared.redeliver(id)
    }

    /// Stops serving and, with a state file, saves the state one last time.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        // A save under way finishes first, so the last save is the newest.
        if let Some(saver) = self.saver.take() {
            let _ = saver.await;
        }
        match &self.state_file {
            Some(path) => {
                let (shared, path) = (self.shared.clone(), path.clone());
                tokio::task::spawn_blocking(move || persist::save_state(&shared, &path))
                    .await
                    .map_err(std::io::Error::other)?
            }
            None => Ok(()),
        }
    }
}

impl Drop for MockSpoki {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// The most calls one fault script may cover.
pub const MAX_FAULT_TIMES: usize = 100_000;

/// The longest scripted delay, in milliseconds: ten minutes.
pub const MAX_FAULT_DELAY_MS: u64 = 600_000;

/// A control call the mock refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// A scripted status outside 200 to 599.
    #[error("spoki-mock: status {0} is not 200 to 599")]
    Status(u16),
    /// A scripted header that is not valid HTTP.
    #[error("spoki-mock: header {0:?} is not a valid HTTP header")]
    Header(String),
    /// A scripted delay over [`MAX_FAULT_DELAY_MS`].
    #[error("spoki-mock: a delay of {0} ms is over {MAX_FAULT_DELAY_MS} ms")]
    Delay(u64),
    /// A fault scripted for no call, or for more than [`MAX_FAULT_TIMES`] calls.
    #[error("spoki-mock: a fault is played 1 to {MAX_FAULT_TIMES} times, not {0}")]
    Times(usize),
    /// No delivery has this id.
    #[error("spoki-mock: no delivery {0}")]
    NoDelivery(u64),
    /// The delivery's webhook was deleted since.
    #[error("spoki-mock: the webhook of delivery {0} is gone")]
    WebhookGone(u64),
    /// The local Spoki answered the simulated event with an error, as the API would.
    #[error("spoki-mock: refused with {status}: {}", body.as_ref().map_or(String::new(), Value::to_string))]
    Refused {
        /// The answer's status.
        status: u16,
        /// The answer's body, in Spoki's error shape.
        body: Option<Value>,
    },
}
