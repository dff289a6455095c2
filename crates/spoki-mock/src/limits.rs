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
    pair_rate: Option<Duration>,
}

impl Default for RateLimits {
    /// Spoki's limits, as the spec gives them per class.
    fn default() -> Self {
        RateLimits {
            enabled: true,
            overrides: HashMap::new(),
            pair_rate: None,
        }
    }
}

impl RateLimits {
    /// No limits at all.
    pub fn off() -> RateLimits {
        RateLimits {
            enabled: false,
            overrides: HashMap::new(),
            pair_rate: None,
        }
    }

    /// Replaces one class's quota: `requests` per `period` (at least one request).
    pub fn quota(mut self, class: RateClass, requests: u32, period: Duration) -> RateLimits {
        self.overrides.insert(class, (requests.max(1), period));
        self
    }

    /// Refuses a message send to a recipient that the same credential wrote to less than
    /// `interval` ago, as WhatsApp does (`whatsapp::131056`, with `Retry-After`). Off by
    /// default: Spoki reports WhatsApp's refusals of this kind later, in webhooks.
    pub fn pair_rate(mut self, interval: Duration) -> RateLimits {
        self.pair_rate = Some(interval);
        self
    }

    fn of(&self, class: RateClass) -> (u32, Duration) {
        self.overrides
            .get(&class)
            .copied()
            .unwrap_or((class.requests(), class.period()))
    }
}

/// The arrival times of the requests admitted in the current window, per budget, and the
/// last send to each recipient.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    config: RateLimits,
    logs: Mutex<HashMap<String, VecDeque<Instant>>>,
    last_sends: Mutex<HashMap<(String, String), Instant>>,
}

impl Limiter {
    pub fn new(config: RateLimits) -> Limiter {
        Limiter {
            config,
            logs: Mutex::default(),
            last_sends: Mutex::default(),
        }
    }

    /// Admits a send to `phones`, or says how long until the pair rate would admit it.
    pub fn check_recipients(&self, credential: &str, phones: &[&str]) -> Result<(), Duration> {
        let Some(interval) = self.config.pair_rate else {
            return Ok(());
        };
        let now = Instant::now();
        let mut last = self.last_sends.lock().unwrap_or_else(|e| e.into_inner());
        for phone in phones {
            if let Some(at) = last.get(&(credential.to_owned(), (*phone).to_owned())) {
                let since = now.duration_since(*at);
                if since < interval {
                    return Err(interval - since);
                }
            }
        }
        for phone in phones {
            last.insert((credential.to_owned(), (*phone).to_owned()), now);
        }
        Ok(())
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
