//! Injectable randomness for backoff and limiter waits.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Picks a duration in `[0, max]`: how the layers spread their waits.
///
/// The retry layer applies it to the exponential backoff ("full jitter": the delay is uniform in
/// `[0, backoff]`); the rate limiter applies it to its `jitter_max` and adds the result to the
/// wait. Tests make it deterministic with [`Jitter::max`], [`Jitter::zero`],
/// [`Jitter::seeded`] or [`Jitter::from_fn`].
#[derive(Clone)]
pub struct Jitter(Kind);

#[derive(Clone)]
enum Kind {
    Full,
    Max,
    Zero,
    Seeded(Arc<Mutex<StdRng>>),
    Custom(Arc<dyn Fn(Duration) -> Duration + Send + Sync>),
}

impl Jitter {
    /// Uniformly random in `[0, max]`, from the thread-local generator. The default.
    pub fn full() -> Jitter {
        Jitter(Kind::Full)
    }

    /// No randomness, the upper bound itself: the backoff is exactly `initial * 2^(n-1)` and
    /// the limiter adds its whole `jitter_max`.
    pub fn max() -> Jitter {
        Jitter(Kind::Max)
    }

    /// Always zero: the limiter adds nothing to its waits (and a backoff without a
    /// `Retry-After` becomes an immediate retry).
    pub fn zero() -> Jitter {
        Jitter(Kind::Zero)
    }

    /// Uniformly random in `[0, max]`, from a generator seeded with `seed`: reproducible runs.
    pub fn seeded(seed: u64) -> Jitter {
        Jitter(Kind::Seeded(Arc::new(Mutex::new(StdRng::seed_from_u64(
            seed,
        )))))
    }

    /// Your own function of the upper bound; its result is clamped to `[0, max]`.
    pub fn from_fn(f: impl Fn(Duration) -> Duration + Send + Sync + 'static) -> Jitter {
        Jitter(Kind::Custom(Arc::new(f)))
    }

    /// A duration in `[0, max]`.
    pub fn apply(&self, max: Duration) -> Duration {
        if max.is_zero() {
            return Duration::ZERO;
        }
        match &self.0 {
            Kind::Full => max.mul_f64(rand::random::<f64>()),
            Kind::Max => max,
            Kind::Zero => Duration::ZERO,
            Kind::Seeded(rng) => {
                let unit = match rng.lock() {
                    Ok(mut rng) => rng.random::<f64>(),
                    Err(poisoned) => poisoned.into_inner().random::<f64>(),
                };
                max.mul_f64(unit)
            }
            Kind::Custom(f) => f(max).min(max),
        }
    }
}

impl Default for Jitter {
    fn default() -> Jitter {
        Jitter::full()
    }
}

impl fmt::Debug for Jitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Kind::Full => "Jitter::full",
            Kind::Max => "Jitter::max",
            Kind::Zero => "Jitter::zero",
            Kind::Seeded(_) => "Jitter::seeded",
            Kind::Custom(_) => "Jitter::from_fn",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_determinism() {
        let max = Duration::from_millis(100);
        assert_eq!(Jitter::max().apply(max), max);
        assert_eq!(Jitter::zero().apply(max), Duration::ZERO);
        assert_eq!(
            Jitter::from_fn(|d| d * 3).apply(max),
            max,
            "custom result is clamped"
        );
        let a: Vec<_> = {
            let j = Jitter::seeded(7);
            (0..20).map(|_| j.apply(max)).collect()
        };
        let b: Vec<_> = {
            let j = Jitter::seeded(7);
            (0..20).map(|_| j.apply(max)).collect()
        };
        assert_eq!(a, b, "same seed, same sequence");
        assert!(a.iter().all(|d| *d <= max));
        assert!(a.windows(2).any(|w| w[0] != w[1]), "seeded jitter varies");
        for _ in 0..100 {
            assert!(Jitter::full().apply(max) <= max);
        }
    }
}
