//! The `Retry-After` header, as delta-seconds or as an HTTP date.

use http::HeaderMap;
use std::time::{Duration, SystemTime};

/// How long `Retry-After` in `headers` asks to wait, measured from `now`.
///
/// Accepts delta-seconds (`Retry-After: 120`) and an HTTP date
/// (`Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`); a date in the past means zero. Returns `None`
/// when the header is absent or unreadable.
pub fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::RETRY_AFTER,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn seconds_dates_and_garbage() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480); // 07:28:00 GMT
        assert_eq!(
            parse_retry_after(&headers("7"), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after(&headers(" 0 "), now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after(&headers("Wed, 21 Oct 2015 07:28:30 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after(&headers("Wed, 21 Oct 2015 07:27:00 GMT"), now),
            Some(Duration::ZERO),
            "a past date means now"
        );
        assert_eq!(parse_retry_after(&headers("soon"), now), None);
        assert_eq!(parse_retry_after(&headers("-3"), now), None);
        assert_eq!(parse_retry_after(&HeaderMap::new(), now), None);
    }
}
