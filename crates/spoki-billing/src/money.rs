//! Exact decimal money as a fixed-point integer.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign};
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An exact amount in the rate card's currency, stored as millionths of a unit.
///
/// Six decimals hold every published WhatsApp rate (the smallest are like USD 0.0014) with room
/// to spare; an `i64` of millionths still reaches 9.2 trillion units, far beyond any bill.
/// Amounts are never `f64`: JSON numbers are read through their shortest decimal spelling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

/// Why a value is not an exact [`Money`] amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Empty input, or a sign with nothing after it.
    #[error("amount is empty")]
    Empty,
    /// A character that is neither a digit, a leading `-` nor a single `.`.
    #[error("amount {input:?} has an unexpected character {found:?}")]
    InvalidCharacter {
        /// The whole input.
        input: String,
        /// The offending character.
        found: char,
    },
    /// More than six significant decimals: it cannot be represented exactly.
    #[error("amount {input:?} has more than {} decimals", Money::DECIMALS)]
    TooPrecise {
        /// The whole input.
        input: String,
    },
    /// The amount does not fit.
    #[error("amount {input:?} is too large")]
    Overflow {
        /// The whole input.
        input: String,
    },
    /// NaN or infinity.
    #[error("amount is not a finite number")]
    NotFinite,
}

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);
    /// Number of decimal places kept exactly.
    pub const DECIMALS: u32 = 6;
    /// Millionths per whole unit.
    pub const SCALE: i64 = 1_000_000;

    /// The amount of `micros` millionths of a unit.
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// The amount in millionths of a unit.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// Whether the amount is exactly zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Reads a JSON-style number through its shortest decimal spelling, so `0.14_f64` becomes
    /// exactly 0.14 (not 0.14000000000000001332...).
    pub fn from_f64(value: f64) -> Result<Self, MoneyError> {
        if !value.is_finite() {
            return Err(MoneyError::NotFinite);
        }
        // Rust prints f64 as the shortest string that reads back to the same value, never with
        // an exponent, which is exactly the decimal the JSON author wrote.
        format!("{value}").parse()
    }

    /// Spoki's credit (thousandths of EUR, as `current_credit` reads) as an amount of EUR,
    /// exactly; `None` past the range.
    pub const fn from_credit(credit: spoki_models::Money) -> Option<Money> {
        match credit.millis().checked_mul(1000) {
            Some(micros) => Some(Money(micros)),
            None => None,
        }
    }

    /// This amount of EUR as Spoki credit, when it is a whole number of thousandths (credit has
    /// no finer unit); `None` otherwise.
    pub const fn to_credit(self) -> Option<spoki_models::Money> {
        if self.0 % 1000 == 0 {
            Some(spoki_models::Money::from_millis(self.0 / 1000))
        } else {
            None
        }
    }

    /// Sum, or `None` on overflow.
    pub const fn checked_add(self, other: Money) -> Option<Money> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Money(v)),
            None => None,
        }
    }

    /// The amount times `count`, or `None` on overflow.
    pub fn checked_mul(self, count: u64) -> Option<Money> {
        i64::try_from(count)
            .ok()
            .and_then(|c| self.0.checked_mul(c))
            .map(Money)
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (negative, digits) = match input.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, input),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(MoneyError::Empty);
        }
        if let Some(found) = whole
            .chars()
            .chain(fraction.chars())
            .find(|c| !c.is_ascii_digit())
        {
            return Err(MoneyError::InvalidCharacter {
                input: input.to_owned(),
                found,
            });
        }
        let significant = fraction.trim_end_matches('0');
        if significant.len() > Money::DECIMALS as usize {
            return Err(MoneyError::TooPrecise {
                input: input.to_owned(),
            });
        }
        let overflow = || MoneyError::Overflow {
            input: input.to_owned(),
        };
        let mut micros: i64 = 0;
        for digit in whole.bytes() {
            micros = micros
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(digit - b'0')))
                .ok_or_else(overflow)?;
        }
        micros = micros.checked_mul(Money::SCALE).ok_or_else(overflow)?;
        let mut place = Money::SCALE / 10;
        for digit in significant.bytes() {
            micros = micros
                .checked_add(i64::from(digit - b'0') * place)
                .ok_or_else(overflow)?;
            place /= 10;
        }
        Ok(Money(if negative { -micros } else { micros }))
    }
}

impl fmt::Display for Money {
    /// At least two decimals, more only when needed: `0.14`, `14.00`, `0.0014`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        let scale = Money::SCALE.unsigned_abs();
        let fraction = format!("{:06}", magnitude % scale);
        let trimmed = fraction.trim_end_matches('0');
        let shown = if trimmed.len() < 2 {
            &fraction[..2]
        } else {
            trimmed
        };
        write!(f, "{sign}{}.{shown}", magnitude / scale)
    }
}

impl Add for Money {
    type Output = Money;

    /// Saturates at the bounds (about ±9.2 trillion units) instead of wrapping.
    fn add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, other: Money) {
        self.0 = self.0.saturating_add(other.0);
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Money> for Money {
    fn sum<I: Iterator<Item = &'a Money>>(iter: I) -> Money {
        iter.copied().sum()
    }
}

impl Serialize for Money {
    /// Serialised as a decimal string so no reader turns it back into a float.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    /// Accepts a JSON number (read exactly, see [`Money::from_f64`]) or a decimal string.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MoneyVisitor;

        impl Visitor<'_> for MoneyVisitor {
            type Value = Money;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal amount as a number or a string")
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Money, E> {
                Money::from_f64(v).map_err(E::custom)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Money, E> {
                v.checked_mul(Money::SCALE)
                    .map(Money)
                    .ok_or_else(|| E::custom("amount is too large"))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Money, E> {
                i64::try_from(v)
                    .ok()
                    .and_then(|v| v.checked_mul(Money::SCALE))
                    .map(Money)
                    .ok_or_else(|| E::custom("amount is too large"))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Money, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_any(MoneyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(m("0.14").micros(), 140_000);
        assert_eq!(m("14").micros(), 14_000_000);
        assert_eq!(m("0.0014").micros(), 1_400);
        assert_eq!(m("-1.5").micros(), -1_500_000);
        assert_eq!(m(".5").micros(), 500_000);
        assert_eq!(m("0.1400000000").micros(), 140_000);
    }

    #[test]
    fn floats_are_read_through_their_shortest_spelling() {
        assert_eq!(Money::from_f64(0.14).unwrap(), m("0.14"));
        assert_eq!(Money::from_f64(0.1 + 0.2).unwrap_err(), {
            MoneyError::TooPrecise {
                input: "0.30000000000000004".into(),
            }
        });
        assert_eq!(Money::from_f64(f64::NAN), Err(MoneyError::NotFinite));
        let from_json: Money = serde_json::from_str("0.66").unwrap();
        assert_eq!(from_json, m("0.66"));
        let from_string: Money = serde_json::from_str("\"0.0068\"").unwrap();
        assert_eq!(from_string.micros(), 6_800);
        let whole: Money = serde_json::from_str("3").unwrap();
        assert_eq!(whole, m("3.00"));
    }

    #[test]
    fn sums_have_no_float_drift() {
        let total: Money = std::iter::repeat_n(m("0.1"), 10).sum();
        assert_eq!(total, m("1"));
        let hundred: Money = std::iter::repeat_n(m("0.14"), 100).sum();
        assert_eq!(hundred, Money::from_f64(14.0).unwrap());
    }

    #[test]
    fn displays_at_least_two_decimals() {
        assert_eq!(m("0.14").to_string(), "0.14");
        assert_eq!(m("14").to_string(), "14.00");
        assert_eq!(m("0.0014").to_string(), "0.0014");
        assert_eq!(m("-0.5").to_string(), "-0.50");
        assert_eq!(Money::ZERO.to_string(), "0.00");
    }

    #[test]
    fn rejects_what_it_cannot_hold() {
        assert!(matches!(
            "0.0000001".parse::<Money>(),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(
            "1e3".parse::<Money>(),
            Err(MoneyError::InvalidCharacter { found: 'e', .. })
        ));
        assert!(matches!(
            "99999999999999999".parse::<Money>(),
            Err(MoneyError::Overflow { .. })
        ));
        assert_eq!("".parse::<Money>(), Err(MoneyError::Empty));
        assert_eq!("-".parse::<Money>(), Err(MoneyError::Empty));
    }
}
