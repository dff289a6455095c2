//! Spoki's rate limits, enforced per credential: each rate class allows `requests` in any
//! window of `period`. Operations without a published limit (the `Default` class) count per
//! endpoint, as the client-side limiter assumes.
//!
//! A sliding log rather than governor's GCRA: GCRA with a burst of `requests` admits up to
//! twice the quota within one period, and the mock must be at least as strict as the real
//! limit so that a client that passes here passes there.

use spoki_models::RateClass;
use spoki_models::operation::Operation;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How the mock limits request rates.
#[derive(Debug, Clone)]
pub struct RateLimits {
    enabled: bool,
    overrides: HashMap<RateClass, (u32, Duration)>,
}

impl Default for RateLimits {
    /// Spoki's limits, as the spec gives them per class.
    fn default() -> Self {
        RateLimits {
            enabled: true,
            overrides: HashMap::new(),
        }
    }
}

impl RateLimits {
    /// No limits at all.
    pub fn off() -> RateLimits {
        RateLimits {
            enabled: false,
            overrides: HashMap::new(),
        }
    }

    /// Replaces one class's quota: `requests` per `period` (at least one request).
    pub fn quota(mut self, class: RateClass, requests: u32, period: Duration) -> RateLimits {
        self.overrides.insert(class, (requests.max(1), period));
        self
    }

    fn of(&self, class: RateClass) -> (u32, Duration) {
        self.overrides
            .get(&class)
            .copied()
            .unwrap_or((class.requests(), class.period()))
    }
}

/// The arrival times of the requests admitted in the current window, per budget.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    config: RateLimits,
    logs: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Limiter {
    pub fn new(config: RateLimits) -> Limiter {
        Limiter {
            config,
            logs: Mutex::default(),
        }
    }

    /// Admits the request, or says how long until it would be admitted.
    pub fn check(&self, credential: &str, op: &Operation) -> Result<(), Duration> {
        if !self.config.enabled {
            return Ok(());
        }
        let class = op.rate_class;
        let (requests, period) = self.config.of(class);
        let key = match class {
            RateClass::Default => format!("{credential}|{}|{}", class.as_str(), op.id),
            _ => format!("{credential}|{}", class.as_str()),
        };
        let now = Instant::now();
        let mut logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        let log = logs.entry(key).or_default();
        while log
            .front()
            .is_some_and(|t| now.duration_since(*t) >= period)
        {
            log.pop_front();
        }
        if log.len() >= requests as usize {
            let oldest = *log.front().expect("the log is full, so not empty");
            return Err(period.saturating_sub(now.duration_since(oldest)));
        }
        log.push_back(now);
        Ok(())
    }
}
