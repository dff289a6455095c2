use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, Sub};

/// An amount in thousandths of EUR, the unit Spoki uses for credit, recharges and transfers.
///
/// `Money::from_millis(8_556_300)` is 8556.300 EUR. Kept as an integer so that sums are exact.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    /// Zero euros.
    pub const ZERO: Money = Money(0);

    /// An amount in thousandths of EUR.
    pub const fn from_millis(millis: i64) -> Money {
        Money(millis)
    }

    /// An amount in whole euros, or `None` when it does not fit (beyond ±9.2 × 10^15 EUR).
    pub const fn from_euros(euros: i64) -> Option<Money> {
        match euros.checked_mul(1000) {
            Some(millis) => Some(Money(millis)),
            None => None,
        }
    }

    /// The amount in thousandths of EUR.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Adds, or `None` on overflow.
    pub const fn checked_add(self, other: Money) -> Option<Money> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Money(v)),
            None => None,
        }
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        Money(self.0.saturating_sub(other.0))
    }
}

impl From<i64> for Money {
    fn from(millis: i64) -> Money {
        Money(millis)
    }
}

/// Shows euros with three decimals: `8556.300 EUR`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:03} EUR", abs / 1000, abs % 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_euros() {
        assert_eq!(Money::from_millis(8_556_300).to_string(), "8556.300 EUR");
        assert_eq!(Money::from_millis(-5).to_string(), "-0.005 EUR");
        assert_eq!(
            Money::from_euros(2).unwrap() + Money::from_millis(1),
            Money::from_millis(2001)
        );
    }

    #[test]
    fn is_a_plain_integer_on_the_wire() {
        assert_eq!(
            serde_json::to_string(&Money::from_millis(10_000)).unwrap(),
            "10000"
        );
        assert_eq!(
            serde_json::from_str::<Money>("8556300").unwrap().millis(),
            8_556_300
        );
    }
}
