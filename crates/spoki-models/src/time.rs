use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A point in time, as the API sends it.
///
/// Decodes RFC 3339 (`2022-11-10T18:00:00.000Z`), the same without an offset (taken as UTC,
/// as the API's naive times are) and Unix seconds. Encodes RFC 3339, which has years 0000 to
/// 9999 only: times outside them are refused when read, and fail to encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// Wraps a `time` value.
    pub const fn new(at: OffsetDateTime) -> Timestamp {
        Timestamp(at)
    }

    /// The time `seconds` after the Unix epoch, or `None` outside the years 0000 to 9999.
    pub fn from_unix(seconds: i64) -> Option<Timestamp> {
        OffsetDateTime::from_unix_timestamp(seconds)
            .ok()
            .filter(in_rfc3339_range)
            .map(Timestamp)
    }

    /// Parses any of the accepted shapes; a year outside 0000 to 9999 is refused.
    pub fn parse(text: &str) -> Option<Timestamp> {
        if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
            return Some(Timestamp(at)).filter(|t| in_rfc3339_range(&t.0));
        }
        let naive = format_description!(
            version = 2,
            "[year]-[month]-[day][first [T][ ]][hour]:[minute]:[second][optional [.[subsecond]]]"
        );
        // The naive shape starts with four digits, as RFC 3339 does: no sign, no long years.
        let four_digit_year = text.len() > 4
            && text.as_bytes()[..4].iter().all(u8::is_ascii_digit)
            && text.as_bytes()[4] == b'-';
        if !four_digit_year {
            return None;
        }
        PrimitiveDateTime::parse(text, &naive)
            .ok()
            .map(|at| Timestamp(at.assume_offset(UtcOffset::UTC)))
            .filter(|t| in_rfc3339_range(&t.0))
    }

    /// The underlying `time` value.
    pub const fn get(self) -> OffsetDateTime {
        self.0
    }

    /// Seconds since the Unix epoch.
    pub const fn unix(self) -> i64 {
        self.0.unix_timestamp()
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(at: OffsetDateTime) -> Timestamp {
        Timestamp(at)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(&Rfc3339) {
            Ok(text) => f.write_str(&text),
            Err(_) => write!(f, "{}", self.0),
        }
    }
}

/// Whether `at` can be written in RFC 3339: years 0000 to 9999, in UTC.
fn in_rfc3339_range(at: &OffsetDateTime) -> bool {
    (0..=9999).contains(&at.to_offset(UtcOffset::UTC).year()) && (0..=9999).contains(&at.year())
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.format(&Rfc3339) {
            Ok(text) => serializer.serialize_str(&text),
            Err(_) => Err(serde::ser::Error::custom(format!(
                "{} is outside RFC 3339's years 0000 to 9999",
                self.0
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 date-time or Unix seconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v)
                    .ok_or_else(|| E::custom(format!("`{v}` is not an RFC 3339 date-time")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Timestamp::from_unix(v).ok_or_else(|| E::custom("Unix time out of range"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                i64::try_from(v)
                    .ok()
                    .and_then(Timestamp::from_unix)
                    .ok_or_else(|| E::custom("Unix time out of range"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
                self.visit_i64(v.floor() as i64)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A calendar day, `YYYY-MM-DD` on the wire (reports, date filters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date(time::Date);

impl Date {
    /// Wraps a `time` date.
    pub const fn new(day: time::Date) -> Date {
        Date(day)
    }

    /// Parses `YYYY-MM-DD`, or the day of a date-time.
    pub fn parse(text: &str) -> Option<Date> {
        let day = format_description!("[year]-[month]-[day]");
        time::Date::parse(text.get(..10).unwrap_or(text), &day)
            .ok()
            .map(Date)
    }

    /// The underlying `time` date.
    pub const fn get(self) -> time::Date {
        self.0
    }
}

impl From<time::Date> for Date {
    fn from(day: time::Date) -> Date {
        Date(day)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = (self.0.year(), u8::from(self.0.month()), self.0.day());
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Date::parse(&text)
            .ok_or_else(|| de::Error::custom(format!("`{text}` is not a YYYY-MM-DD date")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_shapes_the_api_sends() {
        let z = Timestamp::parse("2022-11-10T18:00:00.000Z").unwrap();
        assert_eq!(z.unix(), 1_668_103_200);
        assert_eq!(Timestamp::parse("2022-11-10T19:00:00+01:00").unwrap(), z);
        assert_eq!(Timestamp::parse("2022-11-10T18:00:00").unwrap(), z);
        assert_eq!(
            Timestamp::parse("2022-11-10 18:00:00.123456")
                .unwrap()
                .unix(),
            z.unix()
        );
        assert_eq!(serde_json::from_str::<Timestamp>("1668103200").unwrap(), z);
        assert!(Timestamp::parse("yesterday").is_none());
        assert_eq!(z.to_string(), "2022-11-10T18:00:00Z");
    }

    #[test]
    fn dates_round_trip() {
        let d: Date = serde_json::from_str("\"2024-07-01\"").unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"2024-07-01\"");
        assert_eq!(Date::parse("2024-07-01T10:00:00Z"), Some(d));
    }
}
