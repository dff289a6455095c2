//! The ledger fed by live traffic: a webhook handler plus the client's own sends.
//!
//! Deliveries ([`LiveBilling::observe`], or the receiver calling it as a
//! [`spoki_webhook::Handler`]) and the client's own sends ([`LiveBilling::record_send`]) both
//! report an outbound message; each message uuid is billed once, by whichever source reports
//! it first. The categories of templates, which deliveries do not carry, come from a templates
//! cache filled from the API's template list.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use spoki_models::{Phone, Template, TemplateCategory};
use spoki_webhook::{BoxError, Delivery, Handler};

use crate::{
    BillingEffect, BillingError, CampaignEstimate, Category, Customer, Event, FreeFormStatus,
    Ledger, ReorderingLedger, Settled, TemplateCategories, Timestamp, TrafficError,
};

/// How many billed message uuids are remembered to tell a second report of a send from a new
/// one; far more than the sends of the reordering tolerance.
const REMEMBERED_SENDS: usize = 1 << 20;

/// Why live traffic could not be billed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// The delivery or send does not make a billing event.
    #[error(transparent)]
    Traffic(#[from] TrafficError),
    /// The ledger refused the event.
    #[error(transparent)]
    Billing(#[from] BillingError),
}

/// A [`ReorderingLedger`] behind a lock, fed by webhooks and sends. Clones share it.
#[derive(Debug, Clone)]
pub struct LiveBilling {
    inner: Arc<Mutex<Live>>,
}

#[derive(Debug)]
struct Live {
    ledger: ReorderingLedger,
    templates: TemplateCategories,
    billed: HashSet<String>,
    billed_order: VecDeque<String>,
    settled: Vec<Settled>,
}

impl LiveBilling {
    /// Live billing on `ledger`, taking each customer's events up to `tolerance` late.
    pub fn new(ledger: Ledger, tolerance: Duration) -> LiveBilling {
        LiveBilling {
            inner: Arc::new(Mutex::new(Live {
                ledger: ReorderingLedger::new(ledger, tolerance),
                templates: TemplateCategories::new(),
                billed: HashSet::new(),
                billed_order: VecDeque::new(),
                settled: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Live> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Caches the category of every template in `templates` (the answer of `templates_list`).
    pub fn load_templates<'a>(&self, templates: impl IntoIterator<Item = &'a Template>) {
        self.lock().templates.extend(templates);
    }

    /// Caches the category of one template.
    pub fn set_template(&self, id: i64, category: TemplateCategory) {
        self.lock().templates.insert(id, category);
    }

    /// Bills a message the client sent: `uuid` from its `SendResult`, a template of
    /// `template` category or free-form. Answers `false` when that uuid was billed already.
    pub fn record_send(
        &self,
        uuid: Option<&str>,
        at: Timestamp,
        to: &Phone,
        template: Option<&TemplateCategory>,
    ) -> Result<bool, LiveError> {
        let event = Event::sent(at, to, template)?;
        self.lock().bill(uuid, event)
    }

    /// Bills what `delivery` reports: a customer's message, or the first report of a send.
    /// Answers whether it billed anything.
    pub fn observe(&self, delivery: &Delivery) -> Result<bool, LiveError> {
        let mut live = self.lock();
        match live.templates.billable(delivery)? {
            Some((event, uuid)) => live.bill(uuid, event),
            None => Ok(false),
        }
    }

    /// Whether a free-form message may go to `customer` at `now`, pending events counted.
    pub fn free_form_status(&self, customer: Customer, now: Timestamp) -> FreeFormStatus {
        self.lock().ledger.free_form_status(customer, now)
    }

    /// What a template of `category` to `customer` would cost at `now`.
    pub fn quote_template(
        &self,
        customer: Customer,
        category: Category,
        now: Timestamp,
    ) -> Result<BillingEffect, BillingError> {
        self.lock().ledger.quote_template(customer, category, now)
    }

    /// What a `category` template to every recipient at `at` would cost, from live traffic:
    /// a recipient whose conversation is already open is counted as free.
    pub fn estimate_campaign<I>(
        &self,
        recipients: I,
        category: Category,
        at: Timestamp,
    ) -> Result<CampaignEstimate, BillingError>
    where
        I: IntoIterator<Item = Customer>,
    {
        self.lock()
            .ledger
            .estimate_campaign(recipients, category, at)
    }

    /// The events settled so far, with their effects, taken out.
    pub fn take_settled(&self) -> Vec<Settled> {
        std::mem::take(&mut self.lock().settled)
    }

    /// Settles every pending event now, and takes out everything settled so far.
    pub fn flush(&self) -> Vec<Settled> {
        let mut live = self.lock();
        let flushed = live.ledger.flush();
        let mut settled = std::mem::take(&mut live.settled);
        settled.extend(flushed);
        settled
    }
}

impl Live {
    fn bill(&mut self, uuid: Option<&str>, event: Event) -> Result<bool, LiveError> {
        if uuid.is_some_and(|uuid| self.billed.contains(uuid)) {
            return Ok(false);
        }
        let settled = self.ledger.push(event)?;
        self.settled.extend(settled);
        if let Some(uuid) = uuid {
            self.billed.insert(uuid.to_owned());
            self.billed_order.push_back(uuid.to_owned());
            if self.billed_order.len() > REMEMBERED_SENDS
                && let Some(old) = self.billed_order.pop_front()
            {
                self.billed.remove(&old);
            }
        }
        Ok(true)
    }
}

/// As a receiver's handler: a delivery that cannot be billed (a template missing from the
/// cache, say) is an error, so Spoki delivers it again once the cache knows it.
impl Handler for LiveBilling {
    async fn handle(&self, delivery: Arc<Delivery>) -> Result<(), BoxError> {
        self.observe(&delivery)?;
        Ok(())
    }
}
