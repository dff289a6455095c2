//! Live billing shared by every worker through Redis.
//!
//! Behind a load balancer each worker sees only part of the traffic, so no worker's own ledger
//! can answer for a customer. Here each worker records the billing events it learns of (from
//! webhooks or its own sends) in one Redis sorted set per customer, and a question about a
//! customer replays that customer's recent events into a fresh ledger. Every worker then
//! gives the answer one ledger fed all the traffic would give. A window never spans more than
//! three days, so only [`DEFAULT_HORIZON`] of events is kept.
//!
//! Keys: `{prefix}:billing:customer:<digits>` (score: the event's Unix second; member: its
//! nanoseconds, an arrival number and the event's JSON, so that events of one second order by
//! instant and then by arrival), `{prefix}:billing:sent:<uuid>` (a send already billed),
//! `{prefix}:billing:seq` (the arrival counter).

use redis::aio::ConnectionManager;
use std::sync::Arc;
use std::time::Duration;

use spoki_models::{Phone, TemplateCategory};
use spoki_webhook::{BoxError, Delivery, Handler};

use crate::{
    BillingEffect, BillingError, CampaignEstimate, Category, Customer, Event, EventError,
    FreeFormStatus, Ledger, PricingModel, RateCard, TemplateCategories, Timestamp, TrafficError,
};

/// Records one event atomically. KEYS: the arrival counter, the customer's set, and the send's
/// mark when there is one. ARGV: the TTL in seconds, the event's nanoseconds (9 digits), its
/// JSON, its Unix second, and the oldest second to keep.
const RECORD: &str = r"
if #KEYS == 3 and not redis.call('SET', KEYS[3], 1, 'NX', 'EX', ARGV[1]) then return 0 end
local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2] .. string.format('%020d', seq) .. '|' .. ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
";

/// How far back a customer's events are kept and replayed: past the longest window (the
/// 72-hour free entry point) with room to spare.
pub const DEFAULT_HORIZON: Duration = Duration::from_secs(7 * 86_400);

/// Why shared billing could not answer or record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SharedError {
    /// Redis did not answer.
    #[error("shared billing store unavailable: {0}")]
    Store(#[from] redis::RedisError),
    /// The traffic does not make a billing event.
    #[error(transparent)]
    Traffic(#[from] TrafficError),
    /// The ledger refused the event.
    #[error(transparent)]
    Billing(#[from] BillingError),
    /// A stored event does not read back: the store was written by something else.
    #[error("a stored billing event is damaged: {0}")]
    Damaged(#[from] EventError),
    /// A stored member lacks its `<nanos><arrival>|` prefix: written by something else.
    #[error("a stored billing event has no arrival prefix")]
    Unframed,
}

/// Billing answered from every worker's traffic. Clones share the connection.
#[derive(Clone)]
pub struct SharedBilling {
    conn: ConnectionManager,
    prefix: String,
    model: PricingModel,
    card: Arc<RateCard>,
    horizon: Duration,
    templates: Arc<std::sync::RwLock<TemplateCategories>>,
}

impl std::fmt::Debug for SharedBilling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedBilling")
            .field("prefix", &self.prefix)
            .field("model", &self.model)
            .field("horizon", &self.horizon)
            .finish_non_exhaustive()
    }
}

impl SharedBilling {
    /// Shared billing on `conn`, pricing with `model` and `card`, keys under `spoki:billing:`.
    pub fn new(conn: ConnectionManager, model: PricingModel, card: RateCard) -> SharedBilling {
        SharedBilling {
            conn,
            prefix: "spoki".into(),
            model,
            card: Arc::new(card),
            horizon: DEFAULT_HORIZON,
            templates: Arc::default(),
        }
    }

    /// Connects to `url` (`redis://127.0.0.1:6379/`), with a 2 s answer timeout so a stalled
    /// Redis is an error, not a hang; otherwise as [`SharedBilling::new`].
    pub async fn open(
        url: &str,
        model: PricingModel,
        card: RateCard,
    ) -> Result<SharedBilling, redis::RedisError> {
        let timeout = Some(Duration::from_secs(2));
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout);
        let conn = ConnectionManager::new_with_config(redis::Client::open(url)?, config).await?;
        Ok(SharedBilling::new(conn, model, card))
    }

    /// The key prefix (default `spoki`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Caches the category of a template (deliveries name the template, not its category).
    pub fn set_template(&self, id: i64, category: TemplateCategory) {
        self.templates
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, category);
    }

    fn customer_key(&self, customer: Customer) -> String {
        format!("{}:billing:customer:{}", self.prefix, customer.digits())
    }

    /// Records `event`; with the `uuid` of a send, only its first report counts. Answers
    /// whether it was recorded. One script does it all, so a send is never marked billed
    /// without its event being stored.
    pub async fn record(&self, event: &Event, uuid: Option<&str>) -> Result<bool, SharedError> {
        event.message.check()?;
        let mut conn = self.conn.clone();
        let record = redis::Script::new(RECORD);
        let mut script = record.prepare_invoke();
        script
            .key(format!("{}:billing:seq", self.prefix))
            .key(self.customer_key(event.customer));
        if let Some(uuid) = uuid {
            script.key(format!("{}:billing:sent:{uuid}", self.prefix));
        }
        let recorded: i64 = script
            .arg(self.horizon_secs().max(1))
            .arg(format!("{:09}", event.at.subsec_nanos()))
            .arg(event.to_json())
            .arg(event.at.unix_seconds())
            .arg(event.at.unix_seconds().saturating_sub(self.horizon_secs()))
            .invoke_async(&mut conn)
            .await?;
        Ok(recorded == 1)
    }

    fn horizon_secs(&self) -> i64 {
        i64::try_from(self.horizon.as_secs()).unwrap_or(i64::MAX)
    }

    /// Records a message the client sent, as [`LiveBilling::record_send`](crate::LiveBilling::record_send).
    pub async fn record_send(
        &self,
        uuid: Option<&str>,
        at: Timestamp,
        to: &Phone,
        template: Option<&TemplateCategory>,
    ) -> Result<bool, SharedError> {
        self.record(&Event::sent(at, to, template)?, uuid).await
    }

    /// Records what `delivery` reports, if it bills anything.
    pub async fn observe(&self, delivery: &Delivery) -> Result<bool, SharedError> {
        let billable = self
            .templates
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .billable(delivery)?;
        match billable {
            Some((event, uuid)) => self.record(&event, uuid).await,
            None => Ok(false),
        }
    }

    /// The customers' ledger as of `now`: their recorded events up to `now`, replayed.
    async fn replay(&self, customer: Customer, now: Timestamp) -> Result<Ledger, SharedError> {
        let mut ledger = Ledger::new(self.model, (*self.card).clone());
        self.replay_into(&mut ledger, customer, now).await?;
        Ok(ledger)
    }

    async fn replay_into(
        &self,
        ledger: &mut Ledger,
        customer: Customer,
        now: Timestamp,
    ) -> Result<(), SharedError> {
        let mut conn = self.conn.clone();
        let since = now.unix_seconds().saturating_sub(self.horizon_secs());
        let members: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.customer_key(customer))
            .arg(since)
            .arg(now.unix_seconds())
            .query_async(&mut conn)
            .await?;
        for member in members {
            let json = member
                .split_once('|')
                .map(|(_, json)| json)
                .ok_or(SharedError::Unframed)?;
            let event = Event::from_json(json)?;
            if event.at > now {
                continue; // later in the same second
            }
            // A refusal (an overflowing total) leaves the state as it was, as live billing does.
            let _ = ledger.apply(&event);
        }
        Ok(())
    }

    /// What a `category` template to every recipient at `at` would cost, from every worker's
    /// traffic: a recipient whose conversation is already open is counted as free.
    pub async fn estimate_campaign(
        &self,
        recipients: &[Customer],
        category: Category,
        at: Timestamp,
    ) -> Result<CampaignEstimate, SharedError> {
        let mut ledger = Ledger::new(self.model, (*self.card).clone());
        let mut replayed = std::collections::HashSet::new();
        for &customer in recipients {
            if replayed.insert(customer.digits()) {
                self.replay_into(&mut ledger, customer, at).await?;
            }
        }
        Ok(ledger.estimate_campaign(recipients.iter().copied(), category, at)?)
    }

    /// Whether a free-form message may go to `customer` at `now`, from every worker's traffic.
    pub async fn free_form_status(
        &self,
        customer: Customer,
        now: Timestamp,
    ) -> Result<FreeFormStatus, SharedError> {
        Ok(self
            .replay(customer, now)
            .await?
            .free_form_status(customer, now))
    }

    /// What a template of `category` to `customer` would cost at `now`.
    pub async fn quote_template(
        &self,
        customer: Customer,
        category: Category,
        now: Timestamp,
    ) -> Result<BillingEffect, SharedError> {
        Ok(self
            .replay(customer, now)
            .await?
            .quote_template(customer, category, now)?)
    }
}

/// As a receiver's handler: Redis failing, or a delivery that cannot be billed, is an error,
/// so Spoki delivers it again.
impl Handler for SharedBilling {
    async fn handle(&self, delivery: Arc<Delivery>) -> Result<(), BoxError> {
        self.observe(&delivery).await?;
        Ok(())
    }
}
