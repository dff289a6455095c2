//! The typed calls, one sub-API per resource group: `client.contacts().sync(&body)`.
//!
//! Generated from the spec; see [`Client`](crate::Client) for the groups.

pub use crate::generated::api::*;

/// A path parameter as one path segment: reserved characters are percent-encoded, so a
/// value such as `+39 333` or `a/b` cannot change the path. An empty value, `.` or `..` is
/// refused: URLs resolve `.` and `..` (even percent-encoded) against the path, so they would
/// send the request, and its body, to another endpoint.
pub(crate) fn segment(value: &str) -> Result<String, crate::Error> {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    if matches!(value, "" | "." | "..") {
        return Err(crate::InputError::PathSegment(value.to_owned()).into());
    }
    Ok(percent_encoding::utf8_percent_encode(value, SEGMENT).to_string())
}
