//! UTC instants with second precision and half-open windows.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Seconds in one hour.
pub const HOUR_SECONDS: i64 = 3_600;
/// Seconds in 24 hours: length of a conversation and of the customer-service window.
pub const DAY_SECONDS: i64 = 24 * HOUR_SECONDS;

/// A UTC instant, whole seconds since the Unix epoch.
///
/// Parsed from and printed as RFC 3339 (`2024-07-15T10:00:00Z`). Fractions of a second are
/// accepted on input and truncated, since billing works at second precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Why a string is not an RFC 3339 timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RFC 3339 timestamp {input:?}: {problem}")]
pub struct TimestampError {
    input: String,
    problem: &'static str,
}

impl TimestampError {
    /// What is wrong with the input, e.g. `"month out of range"`.
    pub fn problem(&self) -> &'static str {
        self.problem
    }
}

impl Timestamp {
    /// The current time, from the system clock, to the second.
    pub fn now() -> Self {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        Timestamp::from_unix_seconds(seconds)
    }

    /// The instant `seconds` after 1970-01-01T00:00:00Z.
    pub const fn from_unix_seconds(seconds: i64) -> Self {
        Self(seconds)
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    pub const fn unix_seconds(self) -> i64 {
        self.0
    }

    /// This instant moved by `seconds` (negative moves back), saturating at the ends of `i64`.
    pub const fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds))
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    pub fn parse_rfc3339(input: &str) -> Result<Self, TimestampError> {
        parse(input.as_bytes()).map_err(|problem| TimestampError {
            input: input.to_owned(),
            problem,
        })
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
    if b.len() < 20 {
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
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let digits_start = pos;
        while b.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        if pos == digits_start {
            return Err("expected digits after '.'");
        }
    }
    let offset_seconds = match b.get(pos) {
        Some(b'Z' | b'z') => {
            pos += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            let hours = two_digits(b, pos + 1)?;
            expect(b, pos + 3, b':', "expected ':' in the UTC offset")?;
            let minutes = two_digits(b, pos + 4)?;
            if hours > 23 || minutes > 59 {
                return Err("UTC offset out of range");
            }
            let magnitude = i64::from(hours * 3_600 + minutes * 60);
            pos += 6;
            if *sign == b'-' { -magnitude } else { magnitude }
        }
        _ => return Err("expected 'Z' or a UTC offset"),
    };
    if pos != b.len() {
        return Err("unexpected characters after the offset");
    }
    let days = days_from_civil(year, month, day);
    let local = days * DAY_SECONDS
        + i64::from(hour) * HOUR_SECONDS
        + i64::from(minute) * 60
        + i64::from(second);
    Ok(Timestamp(local - offset_seconds))
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

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(DAY_SECONDS);
        let second_of_day = self.0.rem_euclid(DAY_SECONDS);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            second_of_day / HOUR_SECONDS,
            second_of_day % HOUR_SECONDS / 60,
            second_of_day % 60
        )
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_rfc3339(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Self::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

/// A half-open interval of time `[start, end)`: open at `start`, already over at `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Window {
    /// First instant inside the window.
    pub start: Timestamp,
    /// First instant after the window.
    pub end: Timestamp,
}

impl Window {
    /// The window of `length_seconds` starting at `start`.
    pub const fn starting_at(start: Timestamp, length_seconds: i64) -> Self {
        Self {
            start,
            end: start.plus_seconds(length_seconds),
        }
    }

    /// Whether `at` lies inside: `start <= at < end`.
    pub fn contains(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}

/// The SDK's timestamps (as the API and webhooks carry them) in the billing model's seconds.
impl From<spoki_models::Timestamp> for Timestamp {
    fn from(at: spoki_models::Timestamp) -> Self {
        Timestamp::from_unix_seconds(at.unix())
    }
}

/// An instant of the billing model as the SDK's timestamp, when the date library can hold it.
impl TryFrom<Timestamp> for spoki_models::Timestamp {
    type Error = TimestampError;

    fn try_from(at: Timestamp) -> Result<Self, Self::Error> {
        spoki_models::Timestamp::from_unix(at.unix_seconds()).ok_or_else(|| TimestampError {
            input: at.unix_seconds().to_string(),
            problem: "instant out of the range of dates",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn parses_known_instants() {
        assert_eq!(ts("1970-01-01T00:00:00Z").unix_seconds(), 0);
        assert_eq!(ts("2024-07-15T10:00:00Z").unix_seconds(), 1_721_037_600);
        assert_eq!(ts("2024-02-29T23:59:59Z").unix_seconds(), 1_709_251_199);
        assert_eq!(ts("1969-12-31T23:59:59Z").unix_seconds(), -1);
    }

    #[test]
    fn offsets_and_fractions_normalise_to_utc() {
        assert_eq!(ts("2024-07-15T12:00:00+02:00"), ts("2024-07-15T10:00:00Z"));
        assert_eq!(ts("2024-07-15T05:30:00-04:30"), ts("2024-07-15T10:00:00Z"));
        assert_eq!(ts("2024-07-15T10:00:00.999Z"), ts("2024-07-15T10:00:00Z"));
    }

    #[test]
    fn round_trips_through_display() {
        for s in [
            "2024-07-15T10:00:00Z",
            "2000-02-29T00:00:01Z",
            "1999-12-31T23:59:59Z",
            "2100-03-01T12:34:56Z",
        ] {
            assert_eq!(ts(s).to_string(), s);
        }
        for seconds in (-100_000_000..4_000_000_000_i64).step_by(9_876_543) {
            let t = Timestamp::from_unix_seconds(seconds);
            assert_eq!(ts(&t.to_string()), t);
        }
    }

    #[test]
    fn rejects_malformed_input_with_a_reason() {
        let cases = [
            ("2024-13-01T00:00:00Z", "month out of range"),
            ("2023-02-29T00:00:00Z", "day out of range for the month"),
            ("2024-07-15T24:00:00Z", "time of day out of range"),
            ("2024-07-15T10:00:00", "too short"),
            ("2024-07-15T10:00:00+0200", "expected ':' in the UTC offset"),
            (
                "2024-07-15 10:00:00Zx",
                "unexpected characters after the offset",
            ),
            ("2024/07/15T10:00:00Z", "expected '-' after the year"),
        ];
        for (input, problem) in cases {
            let err = Timestamp::parse_rfc3339(input).unwrap_err();
            assert_eq!(err.problem(), problem, "{input}");
        }
    }

    #[test]
    fn windows_are_half_open() {
        let w = Window::starting_at(ts("2024-07-15T10:00:00Z"), DAY_SECONDS);
        assert!(w.contains(ts("2024-07-15T10:00:00Z")));
        assert!(w.contains(ts("2024-07-16T09:59:59Z")));
        assert!(!w.contains(ts("2024-07-16T10:00:00Z")));
        assert!(!w.contains(ts("2024-07-15T09:59:59Z")));
    }
}
