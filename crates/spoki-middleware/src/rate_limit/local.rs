//! Budgets kept in this process, with governor.

use super::{Budget, ClassQuota, LimitStore, Slot};
use async_trait::async_trait;
use governor::RateLimiter;
use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use spoki_transport::TransportError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Governor's clock over `tokio::time::Instant`, so that paused test time drives the limiter.
#[derive(Debug, Clone, Copy)]
struct TokioClock {
    origin: Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

type Limiter =
    RateLimiter<Budget, DefaultKeyedStateStore<Budget>, TokioClock, NoOpMiddleware<Duration>>;

/// Budgets in this process: one governor keyed limiter per distinct quota, and the pauses
/// that 429s impose. Paces one process; workers that share a key need a shared store.
#[derive(Debug)]
pub struct LocalStore {
    clock: TokioClock,
    limiters: Mutex<HashMap<ClassQuota, Arc<Limiter>>>,
    paused: Mutex<HashMap<Budget, Instant>>,
}

impl Default for LocalStore {
    fn default() -> Self {
        LocalStore::new()
    }
}

impl LocalStore {
    /// An empty store.
    pub fn new() -> LocalStore {
        LocalStore {
            clock: TokioClock {
                origin: Instant::now(),
            },
            limiters: Mutex::default(),
            paused: Mutex::default(),
        }
    }

    fn limiter(&self, quota: ClassQuota) -> Arc<Limiter> {
        let mut limiters = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
        limiters
            .entry(quota)
            .or_insert_with(|| {
                Arc::new(RateLimiter::new(
                    quota.governor(),
                    DefaultKeyedStateStore::default(),
                    self.clock,
                ))
            })
            .clone()
    }

    fn pause_left(&self, budget: Budget, now: Instant) -> Option<Duration> {
        let mut paused = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        let until = *paused.get(&budget)?;
        if until > now {
            Some(until - now)
        } else {
            paused.remove(&budget);
            None
        }
    }

    /// The synchronous decision, for stores that fall back to this one. Governor only takes
    /// free slots, so this store never reserves.
    pub(crate) fn decide(&self, budget: Budget, quota: ClassQuota) -> Slot {
        if let Some(wait) = self.pause_left(budget, Instant::now()) {
            return Slot::Wait(wait);
        }
        match self.limiter(quota).check_key(&budget) {
            Ok(()) => Slot::Now,
            Err(not_until) => Slot::Wait(not_until.wait_time_from(self.clock.now())),
        }
    }

    pub(crate) fn pause_now(&self, budget: Budget, wait: Duration) {
        let now = Instant::now();
        // A pause beyond what Instant can hold is as good as a very long one.
        let until = now
            .checked_add(wait)
            .unwrap_or(now + Duration::from_secs(86_400 * 365));
        let mut paused = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        let entry = paused.entry(budget).or_insert(until);
        *entry = (*entry).max(until);
    }
}

#[async_trait]
impl LimitStore for LocalStore {
    async fn acquire(
        &self,
        budget: Budget,
        quota: ClassQuota,
        _reserve: bool,
    ) -> Result<Slot, TransportError> {
        Ok(self.decide(budget, quota))
    }

    async fn pause(&self, budget: Budget, wait: Duration) {
        self.pause_now(budget, wait);
    }

    async fn paused_for(&self, budget: Budget) -> Option<Duration> {
        self.pause_left(budget, Instant::now())
    }
}
