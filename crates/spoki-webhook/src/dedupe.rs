//! Handling each event once, though Spoki may deliver it several times.
//!
//! A receiver claims an event's key before it runs the handler. The claim is a lease: it is
//! marked done when the handler succeeds, and released when the handler fails, so Spoki's
//! next delivery of the same event runs the handler again. A lease that is never finished (the
//! process died mid-handler) lapses after [`DEFAULT_LEASE`], and a later delivery runs it.

use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

use crate::event::Delivery;

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
pub use self::redis::{DEFAULT_RESPONSE_TIMEOUT, RedisDedupe};

/// How long a handled event is remembered unless the store says otherwise: Spoki's
/// redeliveries of one event come within hours.
pub const DEFAULT_TTL: Duration = Duration::from_secs(72 * 3600);
/// How long a claim holds while its handler runs.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// How many handled events the in-memory store remembers, at most.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// The key an event is deduplicated on: its `event_uuid`, or a hash of the signed body for an
/// envelope without one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DedupeKey(Arc<str>);

impl DedupeKey {
    /// The key of `delivery`, whose raw body is `raw_body`.
    pub fn of(delivery: &Delivery, raw_body: &[u8]) -> DedupeKey {
        match &delivery.event_uuid {
            Some(uuid) => DedupeKey(format!("event:{uuid}").into()),
            None => DedupeKey(format!("body:{}", hex::encode(Sha256::digest(raw_body))).into()),
        }
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// This caller holds the event now; finish the claim with its token.
    Taken(ClaimToken),
    /// The event was handled already.
    Done,
    /// Another receiver holds the claim and is handling the event.
    InFlight,
}

/// Proof of a claim, so that only its holder finishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimToken(pub(crate) u128);

/// The store could not answer; the receiver answers 503 and Spoki delivers again later.
#[derive(Debug, thiserror::Error)]
#[error("dedupe store unavailable: {0}")]
pub struct StoreError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Where claims live: in memory ([`MemoryDedupe`]) or shared by every worker
/// (`RedisDedupe`, feature `redis`).
pub trait DedupeStore: Send + Sync + 'static {
    /// Claims `key` unless it is done or held.
    fn claim(&self, key: &DedupeKey) -> impl Future<Output = Result<Claim, StoreError>> + Send;
    /// Marks the claimed event handled.
    fn complete(
        &self,
        key: &DedupeKey,
        token: &ClaimToken,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Gives the claim up, so the next delivery runs the handler again.
    fn release(
        &self,
        key: &DedupeKey,
        token: &ClaimToken,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl<S: DedupeStore> DedupeStore for Arc<S> {
    fn claim(&self, key: &DedupeKey) -> impl Future<Output = Result<Claim, StoreError>> + Send {
        (**self).claim(key)
    }
    fn complete(
        &self,
        key: &DedupeKey,
        token: &ClaimToken,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).complete(key, token)
    }
    fn release(
        &self,
        key: &DedupeKey,
        token: &ClaimToken,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).release(key, token)
    }
}

/// Claims in this process: bounded (the oldest are forgotten first) and expiring.
///
/// Enough for one receiver; several receivers behind a load balancer need a shared store.
/// Clones share their claims.
#[derive(Debug, Clone)]
pub struct MemoryDedupe {
    inner: Arc<Mutex<Memory>>,
    ttl: Duration,
    lease: Duration,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Memory {
    entries: FxHashMap<DedupeKey, Entry>,
    /// Claims in the order they were taken, by key and claim number, for eviction. Each entry
    /// has exactly one slot here, its claim's; the slots of released or retaken claims are
    /// stale and dropped when they come to the front.
    order: VecDeque<(DedupeKey, u64)>,
    next_claim: u64,
}

#[derive(Debug)]
struct Entry {
    /// The claim that made it.
    claim: u64,
    /// Whether it is handled; until then its claim holds it.
    done: bool,
    expires: Instant,
}

impl Default for MemoryDedupe {
    fn default() -> Self {
        MemoryDedupe::new()
    }
}

impl MemoryDedupe {
    /// A store remembering [`DEFAULT_CAPACITY`] events for [`DEFAULT_TTL`].
    pub fn new() -> MemoryDedupe {
        MemoryDedupe {
            inner: Arc::default(),
            ttl: DEFAULT_TTL,
            lease: DEFAULT_LEASE,
            capacity: DEFAULT_CAPACITY,
        }
    }

    /// How long a handled event is remembered.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long a claim holds while its handler runs.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How many events are remembered at most (at least 1).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// How many events are remembered now, done or held.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no event is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn claim_now(&self, key: &DedupeKey, now: Instant) -> Claim {
        let mut memory = self.lock();
        if let Some(entry) = memory.entries.get(key).filter(|e| e.expires > now) {
            return if entry.done {
                Claim::Done
            } else {
                Claim::InFlight
            };
        }
        memory.next_claim += 1;
        let claim = memory.next_claim;
        let fresh = Entry {
            claim,
            done: false,
            expires: now + self.lease,
        };
        memory.entries.insert(key.clone(), fresh);
        memory.order.push_back((key.clone(), claim));
        memory.evict(self.capacity, now);
        Claim::Taken(ClaimToken(u128::from(claim)))
    }

    fn finish(&self, key: &DedupeKey, token: &ClaimToken, done: bool) {
        let mut memory = self.lock();
        let Some(entry) = memory.entries.get_mut(key) else {
            return;
        };
        if entry.done || u128::from(entry.claim) != token.0 {
            return; // The lease lapsed and someone else holds it now.
        }
        if done {
            entry.done = true;
            entry.expires = Instant::now() + self.ttl;
        } else {
            memory.entries.remove(key);
        }
    }
}

impl Memory {
    /// Drops stale slots, then claims from the oldest while expired or over `capacity`.
    /// Stale slots (of released or retaken claims) are swept out whenever they would make
    /// the order longer than twice the capacity, so churn never evicts a live entry.
    fn evict(&mut self, capacity: usize, now: Instant) {
        if self.order.len() > 2 * capacity {
            let entries = &self.entries;
            self.order
                .retain(|(key, claim)| entries.get(key).is_some_and(|e| e.claim == *claim));
        }
        while let Some((key, claim)) = self.order.front() {
            let own = self.entries.get(key).filter(|e| e.claim == *claim);
            if own.is_some_and(|e| e.expires > now) && self.entries.len() <= capacity {
                break;
            }
            let owned = own.is_some();
            let (key, _) = self.order.pop_front().expect("front exists");
            if owned {
                self.entries.remove(&key);
            }
        }
    }
}

impl DedupeStore for MemoryDedupe {
    async fn claim(&self, key: &DedupeKey) -> Result<Claim, StoreError> {
        Ok(self.claim_now(key, Instant::now()))
    }

    async fn complete(&self, key: &DedupeKey, token: &ClaimToken) -> Result<(), StoreError> {
        self.finish(key, token, true);
        Ok(())
    }

    async fn release(&self, key: &DedupeKey, token: &ClaimToken) -> Result<(), StoreError> {
        self.finish(key, token, false);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> DedupeKey {
        DedupeKey(format!("event:{n}").into())
    }

    #[tokio::test(start_paused = true)]
    async fn done_stays_done_until_it_expires() {
        let store = MemoryDedupe::new().ttl(Duration::from_secs(10));
        let Claim::Taken(token) = store.claim(&key(1)).await.unwrap() else {
            panic!("a new key is taken");
        };
        assert_eq!(store.claim(&key(1)).await.unwrap(), Claim::InFlight);
        store.complete(&key(1), &token).await.unwrap();
        assert_eq!(store.claim(&key(1)).await.unwrap(), Claim::Done);
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(matches!(
            store.claim(&key(1)).await.unwrap(),
            Claim::Taken(_)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_released_or_lapsed_claim_can_be_taken_again() {
        let store = MemoryDedupe::new().lease(Duration::from_secs(5));
        let Claim::Taken(first) = store.claim(&key(1)).await.unwrap() else {
            panic!("taken");
        };
        store.release(&key(1), &first).await.unwrap();
        let Claim::Taken(second) = store.claim(&key(1)).await.unwrap() else {
            panic!("taken after release");
        };
        tokio::time::advance(Duration::from_secs(6)).await;
        let Claim::Taken(third) = store.claim(&key(1)).await.unwrap() else {
            panic!("taken after the lease lapsed");
        };
        // The lapsed holder cannot finish the new holder's claim.
        store.complete(&key(1), &second).await.unwrap();
        assert_eq!(store.claim(&key(1)).await.unwrap(), Claim::InFlight);
        store.complete(&key(1), &third).await.unwrap();
        assert_eq!(store.claim(&key(1)).await.unwrap(), Claim::Done);
    }

    #[tokio::test]
    async fn the_oldest_are_forgotten_past_capacity() {
        let store = MemoryDedupe::new().capacity(3);
        for n in 0..5 {
            let Claim::Taken(t) = store.claim(&key(n)).await.unwrap() else {
                panic!("taken");
            };
            store.complete(&key(n), &t).await.unwrap();
        }
        assert_eq!(store.len(), 3);
        assert!(matches!(
            store.claim(&key(0)).await.unwrap(),
            Claim::Taken(_)
        ));
        assert_eq!(store.claim(&key(4)).await.unwrap(), Claim::Done);
    }

    async fn handled(store: &MemoryDedupe, n: u32) {
        let Claim::Taken(t) = store.claim(&key(n)).await.unwrap() else {
            panic!("taken");
        };
        store.complete(&key(n), &t).await.unwrap();
    }

    #[test]
    fn the_defaults_are_as_documented() {
        assert_eq!(DEFAULT_TTL, Duration::from_secs(259_200));
        assert_eq!(DEFAULT_LEASE, Duration::from_secs(60));
        let store = MemoryDedupe::default();
        assert_eq!(
            (store.ttl, store.lease, store.capacity),
            (DEFAULT_TTL, DEFAULT_LEASE, DEFAULT_CAPACITY)
        );
        assert!(store.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn an_event_is_forgotten_exactly_at_its_ttl() {
        let store = MemoryDedupe::new()
            .ttl(Duration::from_secs(10))
            .capacity(10);
        for n in 0..3 {
            handled(&store, n).await;
        }
        assert!(!store.is_empty());
        tokio::time::advance(Duration::from_secs(10)).await;
        // Expired at the instant: claimable again, and the others swept out on the way.
        assert!(matches!(
            store.claim(&key(0)).await.unwrap(),
            Claim::Taken(_)
        ));
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn exactly_the_capacity_is_remembered() {
        let store = MemoryDedupe::new().capacity(3);
        for n in 0..3 {
            handled(&store, n).await;
        }
        assert_eq!(store.len(), 3);
        assert_eq!(store.claim(&key(0)).await.unwrap(), Claim::Done);
    }

    #[tokio::test]
    async fn churn_of_released_claims_never_evicts_a_handled_event() {
        let store = MemoryDedupe::new().capacity(3);
        handled(&store, 1).await;
        handled(&store, 2).await;
        for _ in 0..20 {
            let Claim::Taken(t) = store.claim(&key(9)).await.unwrap() else {
                panic!("taken");
            };
            store.release(&key(9), &t).await.unwrap();
        }
        assert_eq!(store.claim(&key(1)).await.unwrap(), Claim::Done);
        assert_eq!(store.claim(&key(2)).await.unwrap(), Claim::Done);
        assert!(store.lock().order.len() <= 6, "{:?}", store.lock().order);
        // And the sweep kept the handled events' own slots: past capacity they go, oldest first.
        for n in 10..13 {
            handled(&store, n).await;
        }
        assert_eq!(store.len(), 3);
        assert!(matches!(
            store.claim(&key(1)).await.unwrap(),
            Claim::Taken(_)
        ));
    }

    #[test]
    fn keys_come_from_the_uuid_or_the_body() {
        let with = Delivery::from_slice(br#"{"event":"x.y","event_uuid":"e-1"}"#).unwrap();
        assert_eq!(DedupeKey::of(&with, b"anything").as_str(), "event:e-1");
        let without = Delivery::from_slice(br#"{"event":"x.y"}"#).unwrap();
        let a = DedupeKey::of(&without, b"body one");
        assert!(a.as_str().starts_with("body:"));
        assert_ne!(a, DedupeKey::of(&without, b"body two"));
    }
}
