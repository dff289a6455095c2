use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;
use time::macros::format_description;

/// Seconds in one hour.
pub const HOUR_SECONDS: i64 = 3_600;
/// Seconds in 24 hours.
pub const DAY_SECONDS: i64 = 24 * HOUR_SECONDS;

/// Unix seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: what RFC 3339 can write.
const RFC3339_SECONDS: std::ops::RangeInclusive<i64> = -62_167_219_200..=253_402_300_799;

/// A UTC instant: seconds since the Unix epoch and a fraction in nanoseconds.
///
/// The one timestamp of the SDK: API fields, webhook deliveries and the billing model all use it.
/// Decodes RFC 3339 (`2022-11-10T18:00:00.000Z`), the same without an offset (taken as UTC, as
/// the API's naive times are), and Unix seconds (integer or fractional). Encodes RFC 3339 in UTC
/// with the fraction only when there is one: what it decoded encodes back to the same instant,
/// and what it encoded decodes back equal. RFC 3339
/// has years 0000 to 9999 only: outside them a timestamp is refused when read and fails to
/// encode. Ordering is chronological.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp {
    // Field order is the chronological order: `nanos` is always in 0..1_000_000_000.
    seconds: i64,
    nanos: u32,
}

/// Why a text is not a timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError {
    input: String,
    problem: &'static str,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid timestamp {:?}: {}", self.input, self.problem)
    }
}

impl std::error::Error for TimestampError {}

impl TimestampError {
    /// What is wrong with the input, e.g. `"month out of range"`.
    pub fn problem(&self) -> &'static str {
        self.problem
    }
}

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp::from_unix_seconds(0);

    /// The current time from the system clock.
    pub fn now() -> Timestamp {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(since) => Timestamp {
                seconds: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
                nanos: since.subsec_nanos(),
            },
            Err(before) => {
                let back = before.duration();
                Timestamp::from_unix_seconds(0).minus_duration(back)
            }
        }
    }

    /// The instant `seconds` after 1970-01-01T00:00:00Z (before it when negative).
    pub const fn from_unix_seconds(seconds: i64) -> Timestamp {
        Timestamp { seconds, nanos: 0 }
    }

    /// This instant without its fraction of a second.
    pub const fn whole_seconds(self) -> Timestamp {
        Timestamp::from_unix_seconds(self.seconds)
    }

    /// Whole seconds since the Unix epoch, rounded down.
    pub const fn unix_seconds(self) -> i64 {
        self.seconds
    }

    /// The fraction of the second, in nanoseconds.
    pub const fn subsec_nanos(self) -> u32 {
        self.nanos
    }

    /// This instant moved by `seconds` (back when negative), saturating at the ends of time.
    pub const fn plus_seconds(self, seconds: i64) -> Timestamp {
        Timestamp {
            seconds: self.seconds.saturating_add(seconds),
            nanos: self.nanos,
        }
    }

    fn minus_duration(self, back: std::time::Duration) -> Timestamp {
        let seconds = i64::try_from(back.as_secs()).unwrap_or(i64::MAX);
        let (seconds, nanos) = if back.subsec_nanos() > self.nanos {
            (
                seconds.saturating_add(1),
                self.nanos + 1_000_000_000 - back.subsec_nanos(),
            )
        } else {
            (seconds, self.nanos - back.subsec_nanos())
        };
        Timestamp {
            seconds: self.seconds.saturating_sub(seconds),
            nanos,
        }
    }

    /// Wraps a `time` value.
    pub fn new(at: OffsetDateTime) -> Timestamp {
        Timestamp {
            seconds: at.unix_timestamp(),
            nanos: at.nanosecond(),
        }
    }

    /// As a `time` value in UTC, when the `time` crate's range holds it.
    pub fn to_offset_date_time(self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp(self.seconds)
            .ok()?
            .replace_nanosecond(self.nanos)
            .ok()
    }

    /// Whether RFC 3339 can write this instant (years 0000 to 9999).
    pub fn is_rfc3339(self) -> bool {
        RFC3339_SECONDS.contains(&self.seconds)
    }

    /// Parses `YYYY-MM-DD(T| )HH:MM:SS[.fraction][Z|±HH:MM]`; without an offset the time is UTC.
    ///
    /// Hand-written rather than the `time` crate's parser: billing replays read millions of
    /// these, and this one neither allocates nor builds a calendar date first.
    pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
        parse(text.as_bytes()).map_err(|problem| TimestampError {
            input: text.to_owned(),
            problem,
        })
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(at: OffsetDateTime) -> Timestamp {
        Timestamp::new(at)
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(text: &str) -> Result<Timestamp, TimestampError> {
        Timestamp::parse(text)
    }
}

fn two_digits(b: &[u8], at: usize) -> Result<u32, &'static str> {
    match (b.get(at), b.get(at + 1)) {
        (Some(h @ b'0'..=b'9'), Some(l @ b'0'..=b'9')) => {
            Ok(u32::from(h - b'0') * 10 + u32::from(l - b'0'))
        }
        _ => Err("expected two digits"),
    }
}

fn expect(b: &[u8], at: usize, wanted: u8, problem: &'static str) -> Result<(), &'static str> {
    if b.get(at) == Some(&wanted) {
        Ok(())
    } else {
        Err(problem)
    }
}

fn parse(b: &[u8]) -> Result<Timestamp, &'static str> {
    if b.len() < 19 {
        return Err("too short");
    }
    let year = i64::from(two_digits(b, 0)? * 100 + two_digits(b, 2)?);
    expect(b, 4, b'-', "expected '-' after the year")?;
    let month = two_digits(b, 5)?;
    expect(b, 7, b'-', "expected '-' after the month")?;
    let day = two_digits(b, 8)?;
    if !matches!(b[10], b'T' | b't' | b' ') {
        return Err("expected 'T' between date and time");
    }
    let hour = two_digits(b, 11)?;
    expect(b, 13, b':', "expected ':' after the hour")?;
    let minute = two_digits(b, 14)?;
    expect(b, 16, b':', "expected ':' after the minutes")?;
    let second = two_digits(b, 17)?;
    if !(1..=12).contains(&month) {
        return Err("month out of range");
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err("day out of range for the month");
    }
    if hour > 23 || minute > 59 {
        return Err("time of day out of range");
    }
    if second > 59 {
        return Err("seconds out of range (leap seconds are not supported)");
    }
    let mut pos = 19;
    let nanos = fraction(b, &mut pos)?;
    let offset_seconds = utc_offset(b, &mut pos)?;
    if pos != b.len() {
        return Err("unexpected characters after the time");
    }
    let days = days_from_civil(year, month, day);
    let local = days * DAY_SECONDS
        + i64::from(hour) * HOUR_SECONDS
        + i64::from(minute) * 60
        + i64::from(second);
    let at = Timestamp {
        seconds: local - offset_seconds,
        nanos,
    };
    if at.is_rfc3339() {
        Ok(at)
    } else {
        Err("the offset moves it outside the years 0000 to 9999")
    }
}

/// The fraction of a second at `pos`, if there is one, in nanoseconds; `pos` moves past it.
fn fraction(b: &[u8], pos: &mut usize) -> Result<u32, &'static str> {
    let mut nanos = 0;
    if b.get(*pos) == Some(&b'.') {
        *pos += 1;
        let digits_start = *pos;
        let mut place = 100_000_000;
        while let Some(digit) = b.get(*pos).filter(|d| d.is_ascii_digit()) {
            // Digits past the nanosecond are dropped: the instant is rounded down.
            nanos += u32::from(digit - b'0') * place;
            place /= 10;
            *pos += 1;
        }
        if *pos == digits_start {
            return Err("expected digits after '.'");
        }
    }
    Ok(nanos)
}

/// The UTC offset at `pos` in seconds (none reads as UTC); `pos` moves past it.
fn utc_offset(b: &[u8], pos: &mut usize) -> Result<i64, &'static str> {
    match b.get(*pos) {
        None => Ok(0),
        Some(b'Z' | b'z') => {
            *pos += 1;
            Ok(0)
        }
        Some(sign @ (b'+' | b'-')) => {
            let hours = two_digits(b, *pos + 1)?;
            expect(b, *pos + 3, b':', "expected ':' in the UTC offset")?;
            let minutes = two_digits(b, *pos + 4)?;
            if hours > 23 || minutes > 59 {
                return Err("UTC offset out of range");
            }
            let magnitude = i64::from(hours * 3_600 + minutes * 60);
            *pos += 6;
            Ok(if *sign == b'-' { -magnitude } else { magnitude })
        }
        _ => Err("expected 'Z' or a UTC offset"),
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian calendar).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let year_of_era = y - era * 400;
    let shifted_month = i64::from((month + 9) % 12);
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Fractional Unix seconds read through their shortest decimal spelling, as their author wrote
/// them (`1668103200.1` is 100 ms past the second, not 99.999905 ms); digits past the nanosecond
/// are dropped.
fn from_f64(v: f64) -> Option<Timestamp> {
    if !v.is_finite() {
        return None;
    }
    // Rust prints an f64 without an exponent, as the shortest text that reads back to it.
    let text = v.to_string();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let whole: i64 = whole.parse().ok()?;
    let nanos = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0_u32, |n, d| n * 10 + u32::from(d - b'0'));
    let at = match (negative, nanos) {
        (false, _) => Timestamp {
            seconds: whole,
            nanos,
        },
        (true, 0) => Timestamp {
            seconds: -whole,
            nanos: 0,
        },
        (true, _) => Timestamp {
            seconds: -whole - 1,
            nanos: 1_000_000_000 - nanos,
        },
    };
    at.is_rfc3339().then_some(at)
}

/// RFC 3339 in UTC; the fraction only when there is one, without trailing zeros. Outside the
/// years 0000 to 9999 (which RFC 3339 cannot write) it shows the Unix seconds instead.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.is_rfc3339() {
            return write!(f, "@{}s", self.seconds);
        }
        let days = self.seconds.div_euclid(DAY_SECONDS);
        let second_of_day = self.seconds.rem_euclid(DAY_SECONDS);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            second_of_day / HOUR_SECONDS,
            second_of_day % HOUR_SECONDS / 60,
            second_of_day % 60
        )?;
        if self.nanos > 0 {
            let fraction = format!("{:09}", self.nanos);
            write!(f, ".{}", fraction.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.is_rfc3339() {
            serializer.collect_str(self)
        } else {
            Err(serde::ser::Error::custom(format!(
                "{self} is outside RFC 3339's years 0000 to 9999"
            )))
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
                Timestamp::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Some(Timestamp::from_unix_seconds(v))
                    .filter(|at| at.is_rfc3339())
                    .ok_or_else(|| E::custom("Unix time out of range"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
                from_f64(v).ok_or_else(|| E::custom("Unix time out of range"))
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

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn accepts_the_shapes_the_api_sends() {
        let z = ts("2022-11-10T18:00:00.000Z");
        assert_eq!(z.unix_seconds(), 1_668_103_200);
        assert_eq!(ts("2022-11-10T19:00:00+01:00"), z);
        assert_eq!(ts("2022-11-10T18:00:00"), z);
        let naive = ts("2022-11-10 18:00:00.123456");
        assert_eq!(naive.unix_seconds(), z.unix_seconds());
        assert_eq!(naive.subsec_nanos(), 123_456_000);
        assert_eq!(serde_json::from_str::<Timestamp>("1668103200").unwrap(), z);
        let fractional = serde_json::from_str::<Timestamp>("1668103200.25").unwrap();
        assert_eq!(fractional.subsec_nanos(), 250_000_000);
        let tenth = serde_json::from_str::<Timestamp>("1668103200.1").unwrap();
        assert_eq!(
            tenth.to_string(),
            "2022-11-10T18:00:00.1Z",
            "as written, not 0.0999999"
        );
        let before_1970 = serde_json::from_str::<Timestamp>("-1.5").unwrap();
        assert_eq!(
            (before_1970.unix_seconds(), before_1970.subsec_nanos()),
            (-2, 500_000_000)
        );
        assert_eq!(
            serde_json::from_str::<Timestamp>("-2.0")
                .unwrap()
                .unix_seconds(),
            -2
        );
        assert!(serde_json::from_str::<Timestamp>("1e300").is_err());
        assert!(Timestamp::parse("yesterday").is_err());
        assert_eq!(z.to_string(), "2022-11-10T18:00:00Z");
    }

    #[test]
    fn parses_known_instants() {
        assert_eq!(ts("1970-01-01T00:00:00Z").unix_seconds(), 0);
        assert_eq!(ts("2024-07-15T10:00:00Z").unix_seconds(), 1_721_037_600);
        assert_eq!(ts("2024-02-29T23:59:59Z").unix_seconds(), 1_709_251_199);
        assert_eq!(ts("1969-12-31T23:59:59Z").unix_seconds(), -1);
        assert_eq!(ts("2024-07-15T05:30:00-04:30"), ts("2024-07-15T10:00:00Z"));
    }

    #[test]
    fn round_trips_through_display_and_serde() {
        for text in [
            "2024-07-15T10:00:00Z",
            "2000-02-29T00:00:01Z",
            "1999-12-31T23:59:59Z",
            "2100-03-01T12:34:56.5Z",
            "2024-07-15T10:00:00.000000001Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
        ] {
            let at = ts(text);
            assert_eq!(at.to_string(), text);
            let json = serde_json::to_string(&at).unwrap();
            assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), at);
            assert_eq!(Timestamp::new(at.to_offset_date_time().unwrap()), at);
        }
        for seconds in (-100_000_000..4_000_000_000_i64).step_by(9_876_543) {
            let at = Timestamp::from_unix_seconds(seconds);
            assert_eq!(ts(&at.to_string()), at);
        }
    }

    #[test]
    fn orders_by_instant_and_moves_by_seconds() {
        assert!(ts("2024-07-15T10:00:00.1Z") < ts("2024-07-15T10:00:00.2Z"));
        assert!(ts("1969-12-31T23:59:59.9Z") < Timestamp::UNIX_EPOCH);
        assert_eq!(
            ts("2024-07-15T10:00:00Z").plus_seconds(DAY_SECONDS),
            ts("2024-07-16T10:00:00Z")
        );
        assert_eq!(
            Timestamp::from_unix_seconds(i64::MAX).plus_seconds(1),
            Timestamp::from_unix_seconds(i64::MAX)
        );
        let now = Timestamp::now();
        assert!(now > ts("2024-01-01T00:00:00Z") && now.subsec_nanos() < 1_000_000_000);
    }

    #[test]
    fn refuses_malformed_input_with_a_reason() {
        let cases = [
            ("2024-13-01T00:00:00Z", "month out of range"),
            ("2023-02-29T00:00:00Z", "day out of range for the month"),
            ("2024-07-15T24:00:00Z", "time of day out of range"),
            (
                "2024-07-15T10:00:60Z",
                "seconds out of range (leap seconds are not supported)",
            ),
            ("2024-07-15T10:00", "too short"),
            ("2024-07-15T10:00:00+0200", "expected ':' in the UTC offset"),
            (
                "2024-07-15 10:00:00Zx",
                "unexpected characters after the time",
            ),
            ("2024/07/15T10:00:00Z", "expected '-' after the year"),
            ("2024-07-15T10:00:00.Z", "expected digits after '.'"),
            (
                "0000-01-01T00:00:00+01:00",
                "the offset moves it outside the years 0000 to 9999",
            ),
        ];
        for (input, problem) in cases {
            assert_eq!(
                Timestamp::parse(input).unwrap_err().problem(),
                problem,
                "{input}"
            );
        }
        assert!(serde_json::from_str::<Timestamp>("253402300800").is_err());
        assert!(serde_json::from_str::<Timestamp>("-62167219201").is_err());
        let far = Timestamp::from_unix_seconds(253_402_300_800);
        assert!(serde_json::to_string(&far).is_err());
        assert_eq!(far.to_string(), "@253402300800s");
    }

    #[test]
    fn dates_round_trip() {
        let d: Date = serde_json::from_str("\"2024-07-01\"").unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"2024-07-01\"");
        assert_eq!(Date::parse("2024-07-01T10:00:00Z"), Some(d));
    }
}
