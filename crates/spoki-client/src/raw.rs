//! Calls built from data rather than typed methods: a hand-built path, query and JSON body,
//! with everything else as for a typed call.

use crate::client::{Call, Client};
use crate::error::{Error, InputError};
use futures::Stream;
use spoki_models::operation::Operation;

impl Client {
    /// Calls `operation` with a hand-built path, query and JSON body, for what the typed
    /// calls do not model yet (a new field, an undocumented parameter). Everything else is as
    /// for a typed call: authentication, validation, tracing, the transport and its layers.
    ///
    /// `path` is the concrete path on the configured origin, such as `/api/1/contacts/7/`.
    ///
    /// ```no_run
    /// # async fn run(client: spoki_client::Client) -> Result<(), spoki_client::Error> {
    /// use spoki_client::models::operation;
    /// let body = serde_json::json!({"name": "VIP", "a_new_field": true});
    /// let list = client.call_raw(&operation::LISTS_CREATE, "/api/1/lists/", &[], Some(&body)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn call_raw(
        &self,
        operation: &'static Operation,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, Error> {
        self.value(raw_call(operation, path, query, body)?).await
    }

    /// Every item of a list `operation`, page after page, called as [`call_raw`] calls it:
    /// the stream follows `next` on the client's own origin, as the typed lists do.
    ///
    /// [`call_raw`]: Client::call_raw
    pub fn call_raw_items(
        &self,
        operation: &'static Operation,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<impl Stream<Item = Result<serde_json::Value, Error>> + Send + 'static, Error> {
        let call = raw_call(operation, path, query, None)?;
        Ok(crate::pagination::items::<serde_json::Value>(
            self.clone(),
            call,
        ))
    }
}

/// The call, once the path is known to be the operation's own on the configured origin.
fn raw_call(
    operation: &'static Operation,
    path: &str,
    query: &[(&str, &str)],
    body: Option<&serde_json::Value>,
) -> Result<Call, Error> {
    // Only a path: the credentials must never go to an origin other than the configured one.
    // And the operation's own path: its idempotency and rate class decide retries and pacing,
    // so a send posted under a read's name would be retried.
    if !path.starts_with('/') || path.starts_with("//") || !fits_template(operation.path, path) {
        return Err(InputError::NotOperationPath {
            operation: operation.id,
            path: path.to_owned(),
        }
        .into());
    }
    let mut call = Call::new(operation, path.to_owned());
    call.query = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    if let Some(body) = body {
        call = call.json_body(body)?;
    }
    Ok(call)
}

/// Whether `path` is `template` with each `{placeholder}` replaced by one segment that is not
/// empty, `.` or `..` (percent-encoded or not).
fn fits_template(template: &str, path: &str) -> bool {
    let template: Vec<&str> = template.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    template.len() == path.len()
        && template.iter().zip(&path).all(|(t, p)| {
            if t.starts_with('{') && t.ends_with('}') {
                // URLs read `%2e` as a dot too.
                let dots = p.to_ascii_lowercase().replace("%2e", ".");
                !matches!(dots.as_str(), "" | "." | "..")
            } else {
                t == p
            }
        })
}
