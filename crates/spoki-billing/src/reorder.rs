//! Events that arrive late: webhook deliveries are retried and overtake each other, so a
//! customer's messages can reach the ledger out of order. A [`ReorderingLedger`] holds each
//! event back for a tolerance and applies them in time order, so a late event is billed as if
//! it had come on time.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use crate::category::Category;
use crate::customer::Customer;
use crate::event::{Event, Message};
use crate::ledger::{BillingError, Ledger, check_event};
use crate::queries::{CampaignEstimate, estimate_with};
use crate::rate_card::MarketId;
use crate::rules::{BillingEffect, CustomerState, FreeFormStatus};
use crate::time::Timestamp;

/// A [`Ledger`] that takes events up to a tolerance late.
///
/// An event is *settled* (applied to the ledger, its effect final) once an event at least
/// `tolerance` newer has been pushed, or at [`flush`](Self::flush). Until then it is pending:
/// the questions asked here ([`free_form_status`](Self::free_form_status),
/// [`quote_template`](Self::quote_template)) already count it, so an inbound message opens the
/// service window the moment it is pushed.
///
/// An event is refused only when its customer already has a later settled event: it came more
/// than the tolerance late. Different customers' events never hold each other up.
#[derive(Clone, Debug)]
pub struct ReorderingLedger {
    ledger: Ledger,
    tolerance_seconds: i64,
    pending: BinaryHeap<Reverse<Pending>>,
    /// The newest instant pushed, in Unix seconds.
    newest: Option<i64>,
    /// Ties at one instant settle in the order they were pushed.
    pushed: u64,
}

#[derive(Clone, Debug)]
struct Pending {
    at: Timestamp,
    order: u64,
    event: Event,
}

// Ordered by instant (fraction included, as `bill_events` sorts), then by arrival: `order` is
// unique, so the event is never compared.
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Pending {}

/// An event applied to the ledger, with what it did to the bill.
#[derive(Debug)]
pub struct Settled {
    /// The event.
    pub event: Event,
    /// Its effect, or why the ledger refused it (a total that would overflow).
    pub effect: Result<BillingEffect, BillingError>,
}

impl ReorderingLedger {
    /// Wraps `ledger`, holding events back for `tolerance` (whole seconds; the rules bill at
    /// second precision).
    pub fn new(ledger: Ledger, tolerance: Duration) -> Self {
        Self {
            ledger,
            tolerance_seconds: i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX),
            pending: BinaryHeap::new(),
            newest: None,
            pushed: 0,
        }
    }

    /// The settled ledger: its totals and questions leave out pending events.
    pub const fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Events pushed and not settled yet.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Takes `event` and settles every event the tolerance no longer holds back, oldest first.
    ///
    /// Refused, with nothing changed, by the ledger's own checks: a service template, an instant
    /// outside the years 0000 to 9999, a number the rate card has no market for, and an event
    /// earlier than its customer's latest settled one ([`BillingError::OutOfOrder`]: it came
    /// later than the tolerance allows).
    pub fn push(&mut self, event: Event) -> Result<Vec<Settled>, BillingError> {
        let last = self.ledger.last_applied(event.customer);
        check_event(event.message, event.at, last)?;
        self.ledger.rate_card().market_for(event.customer)?;
        let at = event.at.unix_seconds();
        self.pending.push(Reverse(Pending {
            at: event.at,
            order: self.pushed,
            event,
        }));
        self.pushed += 1;
        let newest = self.newest.map_or(at, |newest| newest.max(at));
        self.newest = Some(newest);
        Ok(self.settle_through(newest.saturating_sub(self.tolerance_seconds)))
    }

    /// Settles every pending event, as at the end of a stream or before a save.
    pub fn flush(&mut self) -> Vec<Settled> {
        self.settle_through(i64::MAX)
    }

    /// Settles everything and returns the ledger.
    pub fn into_ledger(mut self) -> (Ledger, Vec<Settled>) {
        let settled = self.flush();
        (self.ledger, settled)
    }

    fn settle_through(&mut self, until: i64) -> Vec<Settled> {
        let mut settled = Vec::new();
        while let Some(Reverse(next)) = self.pending.peek() {
            if next.at.unix_seconds() > until {
                break;
            }
            let Some(Reverse(Pending { event, .. })) = self.pending.pop() else {
                break;
            };
            let effect = self.ledger.apply(&event);
            settled.push(Settled { event, effect });
        }
        settled
    }

    /// May free-form be sent to `customer` at `now`? Counts pending events up to `now`.
    pub fn free_form_status(&self, customer: Customer, now: Timestamp) -> FreeFormStatus {
        match self.state_at(customer, now) {
            Ok((state, _)) => state.free_form_status(now.unix_seconds()),
            // No market: the customer has no settled or pending event, so no window either.
            Err(_) => self.ledger.free_form_status(customer, now),
        }
    }

    /// What sending a `category` template to `customer` at `now` would do and cost, pending
    /// events up to `now` counted.
    pub fn quote_template(
        &self,
        customer: Customer,
        category: Category,
        now: Timestamp,
    ) -> Result<BillingEffect, BillingError> {
        let message = Message::template(category)?;
        let (mut state, market) = self.state_at(customer, now)?;
        let prices = self.ledger.rate_card().billed_prices(market);
        Ok(state.step(self.ledger.model(), prices, now.unix_seconds(), message))
    }

    /// What a `category` template to every recipient at `at` would open and cost, pending
    /// events up to `at` counted: a recipient whose conversation is already open is free.
    pub fn estimate_campaign<I>(
        &self,
        recipients: I,
        category: Category,
        at: Timestamp,
    ) -> Result<CampaignEstimate, BillingError>
    where
        I: IntoIterator<Item = Customer>,
    {
        estimate_with(&self.ledger, recipients, category, at, |customer| {
            self.state_at(customer, at)
        })
    }

    /// The customer's settled state with its pending events up to `now` stepped on a copy.
    fn state_at(
        &self,
        customer: Customer,
        now: Timestamp,
    ) -> Result<(CustomerState, MarketId), BillingError> {
        let (mut state, market) = self.ledger.state_of(customer)?;
        let mut own: Vec<&Pending> = self
            .pending
            .iter()
            .map(|Reverse(pending)| pending)
            .filter(|p| p.event.customer == customer && p.at <= now)
            .collect();
        own.sort_unstable();
        let prices = self.ledger.rate_card().billed_prices(market);
        for pending in own {
            state.step(
                self.ledger.model(),
                prices,
                pending.at.unix_seconds(),
                pending.event.message,
            );
        }
        Ok((state, market))
    }
}
