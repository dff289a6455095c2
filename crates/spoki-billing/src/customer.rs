//! Customers identified by their E.164 phone number.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Fewest digits accepted after the `+`.
pub const MIN_DIGITS: u32 = 8;
/// Most digits E.164 allows after the `+`.
pub const MAX_DIGITS: u32 = 15;

/// A WhatsApp user, identified by an E.164 number: `+` then 8 to 15 digits, the first not `0`.
///
/// Stored as the digits read as one integer. Because a country calling code never starts with
/// `0`, that integer identifies the number uniquely, which makes a customer a `Copy` `u64` and
/// a cheap hash-map key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Customer(u64);

/// What is wrong with a phone number given as a customer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomerError {
    /// Nothing was given.
    #[error("phone number is empty")]
    Empty,
    /// E.164 numbers are written with a leading `+`.
    #[error("phone number {input:?} must start with '+' followed by the country calling code")]
    MissingPlus {
        /// The whole input.
        input: String,
    },
    /// Spaces, dashes, letters and the like are not accepted.
    #[error(
        "phone number {input:?} has {found:?} at position {position}; only digits may follow '+'"
    )]
    NotADigit {
        /// The whole input.
        input: String,
        /// The offending character.
        found: char,
        /// Its byte position in the input.
        position: usize,
    },
    /// Country calling codes never start with `0`.
    #[error("phone number {input:?} starts with 0, but no country calling code does")]
    LeadingZero {
        /// The whole input.
        input: String,
    },
    /// Fewer than 8 or more than 15 digits.
    #[error("phone number {input:?} has {digits} digits; E.164 needs {MIN_DIGITS} to {MAX_DIGITS}")]
    WrongLength {
        /// The whole input.
        input: String,
        /// How many digits it has.
        digits: usize,
    },
}

impl Customer {
    /// Validates an E.164 number such as `+393331112222`.
    pub fn parse(input: &str) -> Result<Self, CustomerError> {
        if input.is_empty() {
            return Err(CustomerError::Empty);
        }
        let Some(digits) = input.strip_prefix('+') else {
            return Err(CustomerError::MissingPlus {
                input: input.to_owned(),
            });
        };
        if let Some((offset, found)) = digits.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(CustomerError::NotADigit {
                input: input.to_owned(),
                found,
                position: offset + 1,
            });
        }
        let count = digits.len();
        if !(MIN_DIGITS as usize..=MAX_DIGITS as usize).contains(&count) {
            return Err(CustomerError::WrongLength {
                input: input.to_owned(),
                digits: count,
            });
        }
        if digits.starts_with('0') {
            return Err(CustomerError::LeadingZero {
                input: input.to_owned(),
            });
        }
        let number = digits
            .bytes()
            .fold(0_u64, |n, d| n * 10 + u64::from(d - b'0'));
        Ok(Self(number))
    }

    /// The customer whose digits, read as an integer, are `digits` (as from [`Customer::digits`]).
    pub fn from_digits(digits: u64) -> Result<Self, CustomerError> {
        Self::parse(&format!("+{digits}"))
    }

    /// The digits after `+` read as one integer, e.g. `393331112222`.
    pub const fn digits(self) -> u64 {
        self.0
    }

    /// How many digits follow the `+`.
    pub const fn digit_count(self) -> u32 {
        self.0.ilog10() + 1
    }
}

impl fmt::Display for Customer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", self.0)
    }
}

impl FromStr for Customer {
    type Err = CustomerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Customer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Customer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_e164_numbers() {
        let c = Customer::parse("+393331112222").unwrap();
        assert_eq!(c.digits(), 393_331_112_222);
        assert_eq!(c.digit_count(), 12);
        assert_eq!(c.to_string(), "+393331112222");
        assert!(Customer::parse("+12345678").is_ok());
        assert!(Customer::parse("+123456789012345").is_ok());
        assert_eq!(
            Customer::from_digits(4_915_112_345_678)
                .unwrap()
                .to_string(),
            "+4915112345678"
        );
    }

    #[test]
    fn says_what_is_wrong() {
        assert_eq!(Customer::parse(""), Err(CustomerError::Empty));
        assert!(matches!(
            Customer::parse("393331112222"),
            Err(CustomerError::MissingPlus { .. })
        ));
        assert!(matches!(
            Customer::parse("+39 333 1112222"),
            Err(CustomerError::NotADigit {
                found: ' ',
                position: 3,
                ..
            })
        ));
        assert!(matches!(
            Customer::parse("+1234567"),
            Err(CustomerError::WrongLength { digits: 7, .. })
        ));
        assert!(matches!(
            Customer::parse("+1234567890123456"),
            Err(CustomerError::WrongLength { digits: 16, .. })
        ));
        assert!(matches!(
            Customer::parse("+0393331112222"),
            Err(CustomerError::LeadingZero { .. })
        ));
        let message = Customer::parse("+39-333").unwrap_err().to_string();
        assert!(
            message.contains("'-'") && message.contains("position 3"),
            "{message}"
        );
    }
}
