//! Money in billing's own JSON (rate cards, bills, totals): a decimal whose currency the
//! document names once. The amounts themselves are the SDK's one [`Money`].

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use spoki_models::{Currency, Money};

/// Writes an amount as a decimal string (`"0.14"`), so that no reader turns it into a float.
pub(crate) fn serialize_amount<S: Serializer>(money: &Money, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&money.amount())
}

/// Reads a decimal amount of EUR (billing vectors are priced in EUR).
#[cfg(feature = "testing")]
pub(crate) fn deserialize_eur<'de, D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
    Amount::deserialize(d).map(|amount| amount.in_currency(Currency::EUR))
}

/// A decimal read before its document's currency is known: millionths of the currency's unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Amount(i64);

impl Amount {
    pub(crate) const fn of(money: Money) -> Amount {
        Amount(money.micros())
    }

    pub(crate) const fn in_currency(self, currency: Currency) -> Money {
        Money::from_micros(self.0, currency)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_amount(&self.in_currency(Currency::EUR), s)
    }
}

impl<'de> Deserialize<'de> for Amount {
    /// A JSON number (read exactly, through its shortest decimal spelling) or a decimal string.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Decimal;

        // The currency used to parse is a placeholder: only the millionths are kept.
        impl Visitor<'_> for Decimal {
            type Value = Amount;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal amount as a number or a string")
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Amount, E> {
                Money::from_f64(v, Currency::EUR)
                    .map(Amount::of)
                    .map_err(E::custom)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Amount, E> {
                v.checked_mul(Money::SCALE)
                    .map(Amount)
                    .ok_or_else(|| E::custom("amount is too large"))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Amount, E> {
                self.visit_i64(i64::try_from(v).map_err(|_| E::custom("amount is too large"))?)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Amount, E> {
                Money::parse(v, Currency::EUR)
                    .map(Amount::of)
                    .map_err(E::custom)
            }
        }

        deserializer.deserialize_any(Decimal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<Money, serde_json::Error> {
        serde_json::from_str::<Amount>(json).map(|a| a.in_currency(Currency::USD))
    }

    #[test]
    fn reads_numbers_and_strings_exactly() {
        let exact = Money::parse("0.66", Currency::USD).unwrap();
        assert_eq!(read("0.66").unwrap(), exact);
        assert_eq!(read("\"0.66\"").unwrap(), exact);
        assert_eq!(
            read("3").unwrap(),
            Money::parse("3", Currency::USD).unwrap()
        );
        assert!(read("0.30000000000000004").is_err());
        assert!(read("18446744073709551615").is_err());
        assert_eq!(
            serde_json::to_string(&Amount::of(exact)).unwrap(),
            "\"0.66\""
        );
    }
}
