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

/// The concrete path of `operation`: each `{placeholder}` replaced by `value(name)` as one
/// path segment (see the typed calls' rule above). For calls built from data (the command
/// line's arguments, an MCP tool's input) rather than from a typed method.
///
/// ```
/// use spoki_client::models::operation;
/// let path = spoki_client::api::fill_path(&operation::CONTACTS_GET, |_| Some("7".into()));
/// assert_eq!(path.unwrap(), "/api/1/contacts/7/");
/// ```
pub fn fill_path(
    operation: &spoki_models::operation::Operation,
    mut value: impl FnMut(&'static str) -> Option<String>,
) -> Result<String, crate::Error> {
    let mut path = operation.path.to_owned();
    for param in operation.path_params {
        let given = value(param.name).ok_or(crate::InputError::MissingParameter(param.name))?;
        path = path.replace(&format!("{{{}}}", param.name), &segment(&given)?);
    }
    Ok(path)
}
