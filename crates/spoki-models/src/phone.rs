use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A phone number in E.164 form: `+` then 8 to 15 digits, the first not `0` (no country calling
/// code starts with `0`), such as `+393331234567`. The one phone validation of the SDK: the
/// billing model's customers are built from it too.
///
/// Spoki identifies contacts by phone number, so a malformed one is caught when the value is
/// built, before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

/// Why a text is not an E.164 phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PhoneError {
    /// The text is empty.
    Empty,
    /// The number does not start with `+` and a country code.
    MissingPlus,
    /// A character other than a digit follows the `+`.
    NotADigit {
        /// The offending character.
        found: char,
        /// Its byte offset in the text.
        at: usize,
    },
    /// Fewer than 8 digits.
    TooShort {
        /// How many digits there are.
        digits: usize,
    },
    /// More than 15 digits, the E.164 maximum.
    TooLong {
        /// How many digits there are.
        digits: usize,
    },
    /// The first digit is `0`, which no country calling code starts with (a national trunk
    /// prefix such as Italy's `0` kept by mistake).
    LeadingZero,
}

impl fmt::Display for PhoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhoneError::Empty => f.write_str("phone number is empty"),
            PhoneError::MissingPlus => {
                f.write_str("phone number must start with + and the country code (E.164)")
            }
            PhoneError::NotADigit { found, at } => {
                write!(
                    f,
                    "phone number has {found:?} at byte {at}; only digits may follow `+`"
                )
            }
            PhoneError::TooShort { digits } => {
                write!(
                    f,
                    "phone number has {digits} digits; E.164 needs at least 8"
                )
            }
            PhoneError::LeadingZero => f.write_str(
                "phone number starts with 0 after `+`, but no country calling code does",
            ),
            PhoneError::TooLong { digits } => {
                write!(
                    f,
                    "phone number has {digits} digits; E.164 allows at most 15"
                )
            }
        }
    }
}

impl std::error::Error for PhoneError {}

impl Phone {
    /// Checks that `text` is `+` followed by 8 to 15 digits, the first not `0`.
    pub fn parse(text: &str) -> Result<Phone, PhoneError> {
        Phone::validate(text).map(|_| Phone(text.to_owned()))
    }

    /// Checks `text` as [`Phone::parse`] does, without keeping it: the digits after the `+`.
    pub fn validate(text: &str) -> Result<&str, PhoneError> {
        let digits = match text.strip_prefix('+') {
            Some(digits) => digits,
            None if text.is_empty() => return Err(PhoneError::Empty),
            None => return Err(PhoneError::MissingPlus),
        };
        if let Some((i, c)) = digits.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(PhoneError::NotADigit {
                found: c,
                at: i + 1,
            });
        }
        match digits.len() {
            n if n < 8 => Err(PhoneError::TooShort { digits: n }),
            n if n > 15 => Err(PhoneError::TooLong { digits: n }),
            _ if digits.starts_with('0') => Err(PhoneError::LeadingZero),
            _ => Ok(digits),
        }
    }

    /// The number with its leading `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without the `+`.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }
}

impl FromStr for Phone {
    type Err = PhoneError;
    fn from_str(text: &str) -> Result<Phone, PhoneError> {
        Phone::parse(text)
    }
}

impl TryFrom<&str> for Phone {
    type Error = PhoneError;
    fn try_from(text: &str) -> Result<Phone, PhoneError> {
        Phone::parse(text)
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for Phone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Phone::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_e164_numbers() {
        for ok in ["+39333123", "+393331234567", "+123456789012345"] {
            assert_eq!(Phone::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(
            Phone::parse("+393331234567").unwrap().digits(),
            "393331234567"
        );
    }

    #[test]
    fn says_what_is_wrong() {
        assert_eq!(Phone::parse(""), Err(PhoneError::Empty));
        assert_eq!(Phone::parse("393331234567"), Err(PhoneError::MissingPlus));
        assert_eq!(
            Phone::parse("+39 333 1234567"),
            Err(PhoneError::NotADigit { found: ' ', at: 3 })
        );
        assert_eq!(
            Phone::parse("+3933312"),
            Err(PhoneError::TooShort { digits: 7 })
        );
        assert_eq!(
            Phone::parse("+1234567890123456"),
            Err(PhoneError::TooLong { digits: 16 })
        );
        assert!(
            PhoneError::TooLong { digits: 16 }
                .to_string()
                .contains("at most 15")
        );
        // Italy's trunk `0` kept after the country code's place: no country code starts so.
        assert_eq!(Phone::parse("+0393331112222"), Err(PhoneError::LeadingZero));
    }

    #[test]
    fn decoding_validates() {
        let err = serde_json::from_str::<Phone>("\"12345\"").unwrap_err();
        assert!(err.to_string().contains("must start with + and"), "{err}");
    }
}
