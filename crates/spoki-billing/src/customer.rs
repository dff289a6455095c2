//! Customers identified by their E.164 phone number.

use spoki_models::Phone;
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

/// What is wrong with a phone number given as a customer: the SDK's one phone validation.
pub use spoki_models::PhoneError as CustomerError;

impl Customer {
    /// Validates an E.164 number such as `+393331112222`, as [`Phone::parse`] does.
    pub fn parse(input: &str) -> Result<Self, CustomerError> {
        Phone::validate(input).map(from_digit_text)
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

impl From<&Phone> for Customer {
    fn from(phone: &Phone) -> Self {
        from_digit_text(phone.digits())
    }
}

/// Validated digits (8 to 15 of them, so they fit a `u64`) as a customer.
fn from_digit_text(digits: &str) -> Customer {
    Customer(
        digits
            .bytes()
            .fold(0_u64, |n, d| n * 10 + u64::from(d - b'0')),
    )
}

impl From<Customer> for Phone {
    fn from(customer: Customer) -> Self {
        Phone::parse(&customer.to_string()).expect("a customer is a valid phone")
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
        assert_eq!(
            Customer::parse("393331112222"),
            Err(CustomerError::MissingPlus)
        );
        assert_eq!(
            Customer::parse("+39 333 1112222"),
            Err(CustomerError::NotADigit { found: ' ', at: 3 })
        );
        assert_eq!(
            Customer::parse("+1234567"),
            Err(CustomerError::TooShort { digits: 7 })
        );
        assert_eq!(
            Customer::parse("+1234567890123456"),
            Err(CustomerError::TooLong { digits: 16 })
        );
        assert_eq!(
            Customer::parse("+0393331112222"),
            Err(CustomerError::LeadingZero)
        );
        let message = Customer::parse("+39-333").unwrap_err().to_string();
        assert!(
            message.contains("'-'") && message.contains("byte 3"),
            "{message}"
        );
    }

    #[test]
    fn a_customer_and_a_phone_are_the_same_number() {
        // One validation: what one accepts the other does, and they convert both ways.
        for text in [
            "+393331112222",
            "+12025550123",
            "+4915112345678",
            "+0393331112222",
            "+1",
        ] {
            let phone = Phone::parse(text);
            let customer = Customer::parse(text);
            assert_eq!(phone.is_ok(), customer.is_ok(), "{text}");
            if let (Ok(phone), Ok(customer)) = (phone, customer) {
                assert_eq!(Customer::from(&phone), customer);
                assert_eq!(Phone::from(customer), phone);
            }
        }
    }
}
