//! What the mock answers, and Spoki's error shapes.

use crate::route::FieldErrors;
use serde_json::{Value, json};
use std::time::Duration;

/// An HTTP answer before it is written.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// A JSON body sent as these exact bytes, in place of `body`.
    pub json_text: Option<&'static str>,
}

impl Answer {
    pub fn ok(body: Value) -> Answer {
        Answer::with_status(200, body)
    }

    pub fn created(body: Value) -> Answer {
        Answer::with_status(201, body)
    }

    pub fn with_status(status: u16, body: Value) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: Some(body),
            json_text: None,
        }
    }

    /// 200 with no body: how Spoki acknowledges an automation start.
    pub fn empty() -> Answer {
        Answer {
            status: 200,
            headers: Vec::new(),
            body: None,
            json_text: None,
        }
    }

    /// 200 with a JSON document kept as text, sent byte for byte.
    pub fn json_text(text: &'static str) -> Answer {
        Answer {
            json_text: Some(text),
            ..Answer::empty()
        }
    }

    pub fn no_content() -> Answer {
        Answer {
            status: 204,
            headers: Vec::new(),
            body: None,
            json_text: None,
        }
    }

    /// Spoki's own error shape: `{title, detail, code: "spoki::NNNN"}`.
    pub fn error(status: u16, title: &str, detail: impl Into<String>, code: &str) -> Answer {
        Answer::with_status(
            status,
            json!({"title": title, "detail": detail.into(), "code": code}),
        )
    }

    /// An error in Spoki's shape without a code: `{title, detail}`. The mock writes a code
    /// only where a public source shows the one Spoki uses.
    pub fn refused(status: u16, title: &str, detail: impl Into<String>) -> Answer {
        Answer::with_status(status, json!({"title": title, "detail": detail.into()}))
    }

    /// Django REST framework's field errors: `{field: [messages]}`.
    pub fn fields(errors: FieldErrors) -> Answer {
        Answer::with_status(400, serde_json::to_value(errors).unwrap_or_default())
    }

    pub fn field(name: &str, message: impl Into<String>) -> Answer {
        Answer::fields(FieldErrors::from([(name.to_owned(), vec![message.into()])]))
    }

    pub fn not_found() -> Answer {
        Answer::refused(404, "Not found", "Not found.")
    }

    pub fn missing_key() -> Answer {
        Answer::refused(
            401,
            "Unauthorized",
            "Authentication credentials were not provided.",
        )
    }

    pub fn wrong_key() -> Answer {
        Answer::refused(403, "Forbidden", "Invalid API key.")
    }

    pub fn wrong_secret() -> Answer {
        Answer::refused(401, "Unauthorized", "Invalid credentials.")
    }

    pub fn throttled(retry_after: Duration) -> Answer {
        let seconds = whole_seconds(retry_after);
        // Django REST framework's throttling answer: a detail, and no code of Spoki's.
        Answer::with_status(
            429,
            json!({
                "title": "Too Many Requests",
                "detail": format!("Request was throttled. Expected available in {seconds} seconds."),
            }),
        )
        .retry_after(seconds)
    }

    pub fn pair_rate(retry_after: Duration) -> Answer {
        Answer::error(
            400,
            "Too many messages to this recipient",
            "Messages to this recipient were sent too fast: wait before the next one.",
            "whatsapp::131056",
        )
        .retry_after(whole_seconds(retry_after))
    }

    /// `Retry-After` in whole seconds, at least one: a client that waits that long finds room.
    fn retry_after(mut self, seconds: u64) -> Answer {
        self.headers
            .push(("retry-after".into(), seconds.max(1).to_string()));
        self
    }

    pub fn no_credit(detail: impl Into<String>) -> Answer {
        Answer::error(400, "Credit exhausted", detail, "spoki::1029")
    }
}

/// `wait` rounded up to whole seconds.
fn whole_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry_after(answer: &Answer) -> &str {
        let (_, value) = answer
            .headers
            .iter()
            .find(|(name, _)| name == "retry-after")
            .expect("a Retry-After header");
        value
    }

    #[test]
    fn retry_after_rounds_up_so_a_client_that_waits_it_finds_room() {
        assert_eq!(
            retry_after(&Answer::pair_rate(Duration::from_millis(5_300))),
            "6"
        );
        assert_eq!(retry_after(&Answer::throttled(Duration::from_secs(2))), "2");
        assert_eq!(
            retry_after(&Answer::throttled(Duration::from_millis(1))),
            "1"
        );
        assert_eq!(retry_after(&Answer::throttled(Duration::ZERO)), "1");
    }
}
