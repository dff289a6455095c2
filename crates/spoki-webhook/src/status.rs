//! Where each sent message stands, from its `message.outbound` deliveries.
//!
//! Spoki answers a send with the message's uuid and reports what became of it later, sending
//! the same uuid again as its status moves: Sent, Delivered, Read, or Error. Deliveries may
//! arrive out of order, so a status only ever moves forward, and an error is final.

use spoki_models::{ErrorKind, SendStatus};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

use crate::event::{Delivery, Event};
use crate::receiver::{BoxError, Handler};

/// How many messages a tracker remembers unless told otherwise.
pub const DEFAULT_TRACKED: usize = 100_000;

/// Where a message stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageStatus {
    /// Taken in by Spoki, not yet sent.
    Pending,
    /// Sent to WhatsApp.
    Sent,
    /// Delivered to the customer's phone.
    Delivered,
    /// Read by the customer.
    Read,
    /// Not delivered, for good.
    Failed {
        /// The code Spoki reported (`131047`, `whatsapp::131026`, …), when it did.
        code: Option<String>,
        /// What the code means ([`ErrorKind::hint`] says what to do), when it is a code.
        kind: Option<ErrorKind>,
    },
}

impl MessageStatus {
    /// The status a delivery's `send_status` reports.
    pub fn from_send_status(status: &SendStatus, error_code: Option<&str>) -> MessageStatus {
        match status {
            SendStatus::Sent => MessageStatus::Sent,
            SendStatus::Delivered => MessageStatus::Delivered,
            SendStatus::Read => MessageStatus::Read,
            SendStatus::Error => MessageStatus::Failed {
                code: error_code.map(str::to_owned),
                kind: error_code.and_then(ErrorKind::of_code),
            },
            // Pending, and a state this SDK does not know: nothing is known to have happened.
            _ => MessageStatus::Pending,
        }
    }

    /// How far along it is; a failure is past everything.
    fn rank(&self) -> u8 {
        match self {
            MessageStatus::Pending => 0,
            MessageStatus::Sent => 1,
            MessageStatus::Delivered => 2,
            MessageStatus::Read => 3,
            MessageStatus::Failed { .. } => 4,
        }
    }

    /// Whether it can change no more: read, or failed.
    pub fn is_final(&self) -> bool {
        matches!(self, MessageStatus::Read | MessageStatus::Failed { .. })
    }

    /// Whether it has reached `other`'s stage, or failed.
    pub fn reached(&self, other: &MessageStatus) -> bool {
        self.rank() >= other.rank()
    }
}

/// Waiting for a status ended without it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message {uuid} did not reach the awaited status in {waited:?} (now {last:?})")]
pub struct WaitTimedOut {
    /// The message.
    pub uuid: String,
    /// How long it was awaited.
    pub waited: Duration,
    /// Its status when the wait ended, if any delivery came.
    pub last: Option<MessageStatus>,
}

/// Tracks message statuses; as a [`Handler`] it reads every `message.outbound` delivery.
///
/// Bounded: past its capacity the messages tracked longest ago are forgotten. Clones share
/// their state.
#[derive(Debug, Clone)]
pub struct StatusTracker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    changed: Notify,
    capacity: usize,
}

#[derive(Debug, Default)]
struct State {
    /// Each message's status, and its recipient (digits only) when a delivery named one.
    statuses: HashMap<String, (MessageStatus, Option<String>)>,
    /// The latest message to each recipient (digits only, so `+39…` and `39…` meet).
    latest: HashMap<String, String>,
    order: VecDeque<String>,
}

impl State {
    /// Forgets `uuid`, and its recipient's entry if it still points at it.
    fn forget(&mut self, uuid: &str) {
        if let Some((_, Some(phone))) = self.statuses.remove(uuid)
            && self.latest.get(&phone).is_some_and(|latest| latest == uuid)
        {
            self.latest.remove(&phone);
        }
    }
}

impl Default for StatusTracker {
    fn default() -> Self {
        StatusTracker::new()
    }
}

impl StatusTracker {
    /// A tracker remembering up to [`DEFAULT_TRACKED`] messages.
    pub fn new() -> StatusTracker {
        StatusTracker::with_capacity(DEFAULT_TRACKED)
    }

    /// A tracker remembering up to `capacity` messages (at least 1).
    pub fn with_capacity(capacity: usize) -> StatusTracker {
        StatusTracker {
            inner: Arc::new(Inner {
                state: Mutex::default(),
                changed: Notify::new(),
                capacity: capacity.max(1),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts tracking a message the client just sent (the `uuid` of its `SendResult`), as
    /// pending; a delivery already received for it is kept.
    pub fn track(&self, uuid: &str) {
        self.update(uuid, None, MessageStatus::Pending);
    }

    /// Records `status` for `uuid` unless the message is already further along; returns the
    /// status it has now.
    pub fn update(
        &self,
        uuid: &str,
        to_phone: Option<&str>,
        status: MessageStatus,
    ) -> MessageStatus {
        let phone = to_phone.map(digits).filter(|p| !p.is_empty());
        let now = {
            let mut state = self.lock();
            let now = match state.statuses.get_mut(uuid) {
                Some((current, recipient)) => {
                    if status.rank() > current.rank() {
                        *current = status;
                    }
                    if phone.is_some() {
                        recipient.clone_from(&phone);
                    }
                    current.clone()
                }
                None => {
                    state
                        .statuses
                        .insert(uuid.to_owned(), (status.clone(), phone.clone()));
                    state.order.push_back(uuid.to_owned());
                    if state.order.len() > self.inner.capacity
                        && let Some(old) = state.order.pop_front()
                    {
                        state.forget(&old);
                    }
                    status
                }
            };
            if let Some(phone) = phone {
                state.latest.insert(phone, uuid.to_owned());
            }
            now
        };
        self.inner.changed.notify_waiters();
        now
    }

    /// The status of a message, if it is tracked or a delivery for it came.
    pub fn status(&self, uuid: &str) -> Option<MessageStatus> {
        self.lock()
            .statuses
            .get(uuid)
            .map(|(status, _)| status.clone())
    }

    /// The latest message seen to `phone` and its status: how an automation start, which
    /// answers no uuid, learns what became of each recipient.
    pub fn recipient(&self, phone: &str) -> Option<(String, MessageStatus)> {
        let state = self.lock();
        let uuid = state.latest.get(&digits(phone))?;
        Some((uuid.clone(), state.statuses.get(uuid)?.0.clone()))
    }

    /// How many messages are tracked.
    pub fn len(&self) -> usize {
        self.lock().statuses.len()
    }

    /// Whether no message is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until `uuid` has reached `target` (or failed, which is past every stage), for at
    /// most `timeout`; answers the status it has then.
    pub async fn wait_for(
        &self,
        uuid: &str,
        target: &MessageStatus,
        timeout: Duration,
    ) -> Result<MessageStatus, WaitTimedOut> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before the check, so an update between the two is not missed.
            let changed = self.inner.changed.notified();
            let status = self.status(uuid);
            if let Some(status) = status.as_ref().filter(|s| s.reached(target)) {
                return Ok(status.clone());
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return Err(WaitTimedOut {
                    uuid: uuid.to_owned(),
                    waited: timeout,
                    last: self.status(uuid),
                });
            }
        }
    }

    /// Reads one delivery: a `message.outbound` moves its message's status.
    pub fn observe(&self, delivery: &Delivery) {
        if let Event::MessageOutbound(m) = &delivery.event
            && let (Some(uuid), Some(status)) = (m.uuid.as_deref(), m.send_status.as_ref())
        {
            let status = MessageStatus::from_send_status(status, m.error_code.as_deref());
            self.update(uuid, m.to_phone.as_deref(), status);
        }
    }
}

impl Handler for StatusTracker {
    async fn handle(&self, delivery: Arc<Delivery>) -> Result<(), BoxError> {
        self.observe(&delivery);
        Ok(())
    }
}

fn digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(code: &str) -> MessageStatus {
        MessageStatus::from_send_status(&SendStatus::Error, Some(code))
    }

    #[test]
    fn each_send_status_reads_as_its_stage() {
        let read = |s: SendStatus| MessageStatus::from_send_status(&s, None);
        assert_eq!(read(SendStatus::Pending), MessageStatus::Pending);
        assert_eq!(read(SendStatus::Sent), MessageStatus::Sent);
        assert_eq!(read(SendStatus::Delivered), MessageStatus::Delivered);
        assert_eq!(read(SendStatus::Read), MessageStatus::Read);
        assert_eq!(
            read(SendStatus::Error),
            MessageStatus::Failed {
                code: None,
                kind: None
            }
        );
        assert_eq!(
            read(SendStatus::Unknown("Queued".into())),
            MessageStatus::Pending
        );
        assert!(read(SendStatus::Read).is_final() && !read(SendStatus::Delivered).is_final());
    }

    #[test]
    fn status_only_moves_forward_and_an_error_is_final() {
        let tracker = StatusTracker::new();
        tracker.track("m-1");
        assert_eq!(
            tracker.update("m-1", None, MessageStatus::Delivered),
            MessageStatus::Delivered
        );
        // A late Sent does not take it back.
        assert_eq!(
            tracker.update("m-1", None, MessageStatus::Sent),
            MessageStatus::Delivered
        );
        assert_eq!(
            tracker.update("m-1", None, MessageStatus::Read),
            MessageStatus::Read
        );
        let error = failed("131026");
        assert_eq!(tracker.update("m-2", None, error.clone()), error);
        assert_eq!(tracker.update("m-2", None, MessageStatus::Read), error);
        let MessageStatus::Failed { kind, .. } = error else {
            panic!("failed");
        };
        assert_eq!(kind, Some(ErrorKind::RecipientUnreachable));
    }

    #[test]
    fn the_first_failure_is_the_one_kept() {
        let tracker = StatusTracker::new();
        assert!(tracker.is_empty());
        tracker.track("m-1");
        assert!(!tracker.is_empty());
        assert_eq!(tracker.status("m-1"), Some(MessageStatus::Pending));
        tracker.update("m-1", None, failed("131026"));
        tracker.update("m-1", None, failed("131047"));
        assert_eq!(tracker.status("m-1"), Some(failed("131026")));
    }

    #[tokio::test]
    async fn as_a_handler_it_reads_outbound_deliveries_only() {
        let outbound =
            crate::sample_body(&spoki_models::WebhookEvent::MessageOutbound, "e-1", 1, 1).unwrap();
        let delivery = Arc::new(Delivery::from_slice(outbound.as_bytes()).unwrap());
        let tracker = StatusTracker::new();
        tracker.handle(delivery).await.unwrap();
        // The sample reports an error 131047 for its message, sent to 393331234567.
        assert_eq!(
            tracker.status("7c1f1f2e-aaaa-4bbb-8ccc-123456789abc"),
            Some(failed("131047"))
        );
        assert!(tracker.recipient("+393331234567").is_some());
        let inbound =
            crate::sample_body(&spoki_models::WebhookEvent::MessageInbound, "e-2", 1, 1).unwrap();
        tracker.observe(&Delivery::from_slice(inbound.as_bytes()).unwrap());
        assert_eq!(tracker.len(), 1);
    }

    #[test]
    fn the_oldest_are_forgotten_past_capacity() {
        let tracker = StatusTracker::with_capacity(2);
        for (uuid, phone) in [
            ("a", "+393330000001"),
            ("b", "+393330000002"),
            ("c", "+393330000003"),
        ] {
            tracker.update(uuid, Some(phone), MessageStatus::Pending);
        }
        assert_eq!(tracker.len(), 2);
        assert_eq!(tracker.status("a"), None);
        assert_eq!(tracker.status("c"), Some(MessageStatus::Pending));
        // The forgotten message's recipient is forgotten with it.
        assert_eq!(tracker.recipient("+393330000001"), None);
        assert_eq!(tracker.lock().latest.len(), 2);
    }

    #[test]
    fn a_recipient_answers_with_its_latest_message() {
        let tracker = StatusTracker::new();
        tracker.update("m-1", Some("+393331112222"), MessageStatus::Sent);
        tracker.update("m-2", Some("393331112222"), MessageStatus::Delivered);
        assert_eq!(
            tracker.recipient("+39 333 111 2222"),
            Some(("m-2".into(), MessageStatus::Delivered))
        );
    }

    #[tokio::test]
    async fn a_wait_ends_on_the_update_or_the_timeout() {
        let tracker = StatusTracker::new();
        tracker.track("m-1");
        let waiting = tokio::spawn({
            let tracker = tracker.clone();
            async move {
                tracker
                    .wait_for("m-1", &MessageStatus::Delivered, Duration::from_secs(30))
                    .await
            }
        });
        tokio::task::yield_now().await;
        tracker.update("m-1", None, MessageStatus::Sent);
        tracker.update("m-1", None, failed("131047"));
        assert!(matches!(
            waiting.await.unwrap(),
            Ok(MessageStatus::Failed { .. })
        ));
        let late = tracker
            .wait_for("m-9", &MessageStatus::Sent, Duration::from_millis(10))
            .await
            .unwrap_err();
        assert_eq!(late.last, None);
    }
}
