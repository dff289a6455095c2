//! Half-open windows of time. Instants are the SDK's one [`Timestamp`], at second precision
//! inside the billing rules (Meta bills in whole seconds).

use std::fmt;

use serde::{Deserialize, Serialize};
pub use spoki_models::{DAY_SECONDS, HOUR_SECONDS, Timestamp, TimestampError};

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

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn windows_are_half_open() {
        let w = Window::starting_at(ts("2024-07-15T10:00:00Z"), DAY_SECONDS);
        assert!(w.contains(ts("2024-07-15T10:00:00Z")));
        assert!(w.contains(ts("2024-07-16T09:59:59.999Z")));
        assert!(!w.contains(ts("2024-07-16T10:00:00Z")));
        assert!(!w.contains(ts("2024-07-15T09:59:59Z")));
        assert_eq!(
            w.to_string(),
            "[2024-07-15T10:00:00Z, 2024-07-16T10:00:00Z)"
        );
    }
}
