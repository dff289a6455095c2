use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;

/// An ISO 4217 currency code: three upper-case letters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// The euro: Spoki's credit, recharges and transfers are in EUR.
    pub const EUR: Currency = Currency(*b"EUR");
    /// The US dollar, in which Meta publishes most rate cards.
    pub const USD: Currency = Currency(*b"USD");

    /// Parses a code such as `EUR`.
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        match code.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok(Currency([a, b, c])),
            _ => Err(MoneyError::InvalidCurrency(code.to_owned())),
        }
    }

    /// `==` for const contexts (`PartialEq` is not const).
    const fn is(self, other: Currency) -> bool {
        let (a, b) = (self.0, other.0);
        a[0] == b[0] && a[1] == b[1] && a[2] == b[2]
    }

    /// The code, e.g. `EUR`.
    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters get in.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Currency {
    type Err = MoneyError;

    fn from_str(code: &str) -> Result<Currency, MoneyError> {
        Currency::parse(code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Currency::parse(&code).map_err(de::Error::custom)
    }
}

/// An exact amount of money in a currency: the one money type of the SDK.
///
/// Stored as an integer of millionths of the currency's unit: six decimals hold every WhatsApp
/// rate Meta publishes (the smallest are like USD 0.0014) and Spoki's credit (thousandths of
/// EUR) exactly, and an `i64` of millionths still reaches ±9.2 trillion units. Arithmetic is
/// checked, never saturating, and amounts in different currencies neither add nor compare:
/// `partial_cmp` is `None` for them, so `cost <= credit` is false unless both are in one currency.
///
/// On the API's wire (`current_credit`, recharges, transfers) it is an integer of thousandths
/// of EUR, as Spoki sends it: `8556300` is 8556.300 EUR. Encoding an amount that is not in EUR
/// or has a finer fraction fails rather than round.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    micros: i64,
    currency: Currency,
}

/// Why a value is not an exact [`Money`] amount, or two amounts do not combine.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MoneyError {
    /// Empty input, or a sign with nothing after it.
    Empty,
    /// A character that is neither a digit, a leading `-` nor a single `.`.
    InvalidCharacter {
        /// The whole input.
        input: String,
        /// The offending character.
        found: char,
    },
    /// More than six significant decimals: it cannot be represented exactly.
    TooPrecise {
        /// The whole input.
        input: String,
    },
    /// The amount does not fit.
    Overflow {
        /// The whole input.
        input: String,
    },
    /// NaN or infinity.
    NotFinite,
    /// Not a three-letter upper-case ISO 4217 code.
    InvalidCurrency(String),
    /// An amount read with its currency (`0.14 EUR`) that names none.
    NoCurrency {
        /// The whole input.
        input: String,
    },
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::Empty => f.write_str("amount is empty"),
            MoneyError::InvalidCharacter { input, found } => {
                write!(f, "amount {input:?} has an unexpected character {found:?}")
            }
            MoneyError::TooPrecise { input } => {
                write!(
                    f,
                    "amount {input:?} has more than {} decimals",
                    Money::DECIMALS
                )
            }
            MoneyError::Overflow { input } => write!(f, "amount {input:?} is too large"),
            MoneyError::NotFinite => f.write_str("amount is not a finite number"),
            MoneyError::InvalidCurrency(code) => {
                write!(f, "currency {code:?} is not a three-letter ISO 4217 code")
            }
            MoneyError::NoCurrency { input } => {
                write!(f, "amount {input:?} names no currency (as in \"0.14 EUR\")")
            }
        }
    }
}

impl std::error::Error for MoneyError {}

impl Money {
    /// Number of decimal places kept exactly.
    pub const DECIMALS: u32 = 6;
    /// Millionths per whole unit.
    pub const SCALE: i64 = 1_000_000;
    /// Millionths per thousandth: Spoki's credit counts thousandths of EUR.
    const MICROS_PER_MILLI: i64 = 1_000;

    /// Nothing, in `currency`.
    pub const fn zero(currency: Currency) -> Money {
        Money::from_micros(0, currency)
    }

    /// `micros` millionths of a unit of `currency`.
    pub const fn from_micros(micros: i64, currency: Currency) -> Money {
        Money { micros, currency }
    }

    /// `millis` thousandths of EUR, Spoki's unit for credit; `None` past ±9.2 trillion EUR.
    pub const fn from_millis(millis: i64) -> Option<Money> {
        match millis.checked_mul(Money::MICROS_PER_MILLI) {
            Some(micros) => Some(Money::from_micros(micros, Currency::EUR)),
            None => None,
        }
    }

    /// Whole euros; `None` past ±9.2 trillion EUR.
    pub const fn from_euros(euros: i64) -> Option<Money> {
        match euros.checked_mul(Money::SCALE) {
            Some(micros) => Some(Money::from_micros(micros, Currency::EUR)),
            None => None,
        }
    }

    /// Parses a decimal such as `0.14`, `-3` or `.5` exactly, in `currency`.
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        parse_micros(text).map(|micros| Money::from_micros(micros, currency))
    }

    /// Reads a JSON-style number through its shortest decimal spelling, so `0.14_f64` becomes
    /// exactly 0.14 (not 0.14000000000000001332...).
    pub fn from_f64(value: f64, currency: Currency) -> Result<Money, MoneyError> {
        if !value.is_finite() {
            return Err(MoneyError::NotFinite);
        }
        // Rust prints an f64 as the shortest text that reads back to it, never with an exponent:
        // the decimal its author wrote.
        Money::parse(&value.to_string(), currency)
    }

    /// The amount in millionths of a unit.
    pub const fn micros(self) -> i64 {
        self.micros
    }

    /// The currency.
    pub const fn currency(self) -> Currency {
        self.currency
    }

    /// The amount in thousandths of EUR, Spoki's credit unit, when it is in EUR and a whole
    /// number of thousandths; `None` otherwise.
    pub const fn millis(self) -> Option<i64> {
        if self.currency.is(Currency::EUR) && self.micros % Money::MICROS_PER_MILLI == 0 {
            Some(self.micros / Money::MICROS_PER_MILLI)
        } else {
            None
        }
    }

    /// Whether the amount is exactly zero.
    pub const fn is_zero(self) -> bool {
        self.micros == 0
    }

    /// The sum; `None` when the currencies differ or it overflows.
    pub const fn checked_add(self, other: Money) -> Option<Money> {
        if !self.same_currency(other) {
            return None;
        }
        match self.micros.checked_add(other.micros) {
            Some(micros) => Some(Money::from_micros(micros, self.currency)),
            None => None,
        }
    }

    /// The difference; `None` when the currencies differ or it overflows.
    pub const fn checked_sub(self, other: Money) -> Option<Money> {
        if !self.same_currency(other) {
            return None;
        }
        match self.micros.checked_sub(other.micros) {
            Some(micros) => Some(Money::from_micros(micros, self.currency)),
            None => None,
        }
    }

    /// The amount `count` times; `None` on overflow.
    pub fn checked_mul(self, count: u64) -> Option<Money> {
        let micros = self.micros.checked_mul(i64::try_from(count).ok()?)?;
        Some(Money::from_micros(micros, self.currency))
    }

    const fn same_currency(self, other: Money) -> bool {
        self.currency.is(other.currency)
    }

    /// The amount without its currency: `0.14`, `14.00`, `0.0014` (at least two decimals, more
    /// only when needed).
    pub fn amount(self) -> impl fmt::Display {
        Amount(self.micros)
    }
}

/// Amounts compare only within one currency.
impl PartialOrd for Money {
    fn partial_cmp(&self, other: &Money) -> Option<Ordering> {
        self.same_currency(*other)
            .then(|| self.micros.cmp(&other.micros))
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

/// `0.14 EUR`: the amount, then the currency.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount(), self.currency)
    }
}

/// Reads back what `Display` writes: `0.14 EUR`, the amount and the currency, exactly.
impl std::str::FromStr for Money {
    type Err = MoneyError;

    fn from_str(text: &str) -> Result<Money, MoneyError> {
        let (amount, code) = text.rsplit_once(' ').ok_or_else(|| match text {
            "" => MoneyError::Empty,
            _ => MoneyError::NoCurrency {
                input: text.to_owned(),
            },
        })?;
        Money::parse(amount, Currency::parse(code)?)
    }
}

struct Amount(i64);

impl fmt::Display for Amount {
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

fn parse_micros(input: &str) -> Result<i64, MoneyError> {
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
    // Counted towards the sign, so that the most negative amount reads back too.
    let sign = if negative { -1 } else { 1 };
    let mut micros: i64 = 0;
    for digit in whole.bytes() {
        micros = micros
            .checked_mul(10)
            .and_then(|m| m.checked_add(sign * i64::from(digit - b'0')))
            .ok_or_else(overflow)?;
    }
    micros = micros.checked_mul(Money::SCALE).ok_or_else(overflow)?;
    let mut place = Money::SCALE / 10;
    for digit in significant.bytes() {
        micros = micros
            .checked_add(sign * i64::from(digit - b'0') * place)
            .ok_or_else(overflow)?;
        place /= 10;
    }
    Ok(micros)
}

/// Spoki's wire form: an integer of thousandths of EUR.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.millis() {
            Some(millis) => serializer.serialize_i64(millis),
            None => Err(serde::ser::Error::custom(format!(
                "{self} is not a whole number of thousandths of EUR, Spoki's credit unit"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Millis;
        impl Visitor<'_> for Millis {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer of thousandths of EUR")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Money, E> {
                Money::from_millis(v).ok_or_else(|| E::custom("amount is too large"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Money, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
        }
        deserializer.deserialize_i64(Millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(text: &str) -> Money {
        Money::parse(text, Currency::EUR).unwrap()
    }

    #[test]
    fn display_reads_back_exactly() {
        for text in ["0.14", "-1.5", "0.0014", "0.000001", "14", "-0.000001"] {
            let money = eur(text);
            assert_eq!(money.to_string().parse::<Money>(), Ok(money), "{money}");
        }
        let usd = Money::parse("2.5", Currency::parse("USD").unwrap()).unwrap();
        assert_eq!("2.50 USD".parse::<Money>(), Ok(usd));
        assert_eq!("".parse::<Money>(), Err(MoneyError::Empty));
        assert!(matches!(
            "0.14".parse::<Money>(),
            Err(MoneyError::NoCurrency { .. })
        ));
        assert!(matches!(
            "0.14 eur".parse::<Money>(),
            Err(MoneyError::InvalidCurrency(_))
        ));
        assert!(matches!(
            "x EUR".parse::<Money>(),
            Err(MoneyError::InvalidCharacter { .. })
        ));
    }

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(eur("0.14").micros(), 140_000);
        assert_eq!(eur("14").micros(), 14_000_000);
        assert_eq!(eur("0.0014").micros(), 1_400);
        assert_eq!(eur("-1.5").micros(), -1_500_000);
        assert_eq!(eur(".5").micros(), 500_000);
        assert_eq!(eur("0.1400000000").micros(), 140_000);
    }

    #[test]
    fn floats_are_read_through_their_shortest_spelling() {
        assert_eq!(Money::from_f64(0.14, Currency::EUR).unwrap(), eur("0.14"));
        assert_eq!(
            Money::from_f64(0.1 + 0.2, Currency::EUR).unwrap_err(),
            MoneyError::TooPrecise {
                input: "0.30000000000000004".into(),
            }
        );
        assert_eq!(
            Money::from_f64(f64::NAN, Currency::EUR),
            Err(MoneyError::NotFinite)
        );
    }

    #[test]
    fn refuses_what_it_cannot_hold() {
        let parse = |text| Money::parse(text, Currency::EUR);
        assert!(matches!(
            parse("0.0000001"),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(
            parse("1e3"),
            Err(MoneyError::InvalidCharacter { found: 'e', .. })
        ));
        assert!(matches!(
            parse("99999999999999999"),
            Err(MoneyError::Overflow { .. })
        ));
        assert_eq!(parse(""), Err(MoneyError::Empty));
        for extreme in [i64::MIN, i64::MAX] {
            let money = Money::from_micros(extreme, Currency::EUR);
            let text = money.amount().to_string();
            assert_eq!(Money::parse(&text, Currency::EUR), Ok(money));
        }
        assert_eq!(parse("-"), Err(MoneyError::Empty));
        assert!(Currency::parse("eur").is_err() && Currency::parse("EURO").is_err());
    }

    #[test]
    fn displays_at_least_two_decimals_and_the_currency() {
        assert_eq!(eur("0.14").to_string(), "0.14 EUR");
        assert_eq!(eur("14").to_string(), "14.00 EUR");
        assert_eq!(eur("0.0014").amount().to_string(), "0.0014");
        assert_eq!(eur("-0.5").to_string(), "-0.50 EUR");
        assert_eq!(
            Money::from_millis(8_556_300).unwrap().to_string(),
            "8556.30 EUR"
        );
        assert_eq!(Money::zero(Currency::USD).to_string(), "0.00 USD");
    }

    #[test]
    fn arithmetic_is_checked_and_stays_in_one_currency() {
        let usd = Money::parse("0.14", Currency::USD).unwrap();
        assert_eq!(eur("0.1").checked_add(eur("0.04")), Some(eur("0.14")));
        assert_eq!(eur("0.14").checked_sub(eur("0.2")), Some(eur("-0.06")));
        assert_eq!(eur("0.14").checked_add(usd), None);
        assert_eq!(eur("0.14").checked_sub(usd), None);
        assert_eq!(eur("0.14").partial_cmp(&usd), None);
        let comparable = eur("0.01") <= usd || eur("0.01") >= usd;
        assert!(
            !comparable,
            "a cost in one currency never fits a credit in another"
        );
        assert!(eur("0.46") > eur("0.42"));
        assert_eq!(eur("0.14").checked_mul(100), Some(eur("14")));
        let max = Money::from_micros(i64::MAX, Currency::EUR);
        assert_eq!(max.checked_add(eur("0.000001")), None);
        assert_eq!(max.checked_mul(2), None);
        assert_eq!(
            Money::from_micros(i64::MIN, Currency::EUR).checked_sub(eur("1")),
            None
        );
    }

    #[test]
    fn is_an_integer_of_thousandths_of_eur_on_the_wire() {
        let credit = Money::from_millis(10_000).unwrap();
        assert_eq!(credit, eur("10"));
        assert_eq!(serde_json::to_string(&credit).unwrap(), "10000");
        assert_eq!(
            serde_json::from_str::<Money>("8556300").unwrap(),
            eur("8556.3")
        );
        assert!(serde_json::from_str::<Money>("\"10\"").is_err());
        assert!(serde_json::to_string(&eur("0.0014")).is_err());
        assert!(serde_json::to_string(&Money::parse("1", Currency::USD).unwrap()).is_err());
        assert_eq!(Money::from_millis(i64::MAX), None);
        assert_eq!(Money::from_euros(5).and_then(Money::millis), Some(5_000));
        assert_eq!(Money::parse("1", Currency::USD).unwrap().millis(), None);
    }
}
