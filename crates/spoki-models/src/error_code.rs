//! What the error codes of Spoki and WhatsApp mean, as their public documentation says.

/// A one-line meaning of an error code, as Spoki writes it (`whatsapp::131047`, `spoki::1029`)
/// or bare (`131047`); `None` for a code no public source explains.
pub fn error_meaning(code: &str) -> Option<&'static str> {
    let code = code.trim();
    let (spoki, number) = match code.split_once("::") {
        Some(("spoki", n)) => (true, n),
        Some((_, n)) => (false, n),
        None => (false, code),
    };
    if spoki {
        return match number {
            "1029" => Some("the account's credit is exhausted: top it up"),
            "3014" => Some("too many placeholders for the template's static text"),
            _ => None,
        };
    }
    Some(match number {
        "130429" => "the business's throughput limit was hit: slow down",
        "131000" => "WhatsApp failed for an unknown reason",
        "131005" => "access denied: check the number's permissions",
        "131008" => "a required parameter is missing",
        "131009" => "a parameter value is invalid",
        "131021" => "the recipient is the sender's own number",
        "131026" => "undeliverable: the recipient cannot receive WhatsApp messages",
        "131031" => "the business account is locked",
        "131042" => "the business account has a payment problem",
        "131047" => "the 24-hour service window is closed: send a template",
        "131048" => "the number's spam rate limit was hit",
        "131049" => "WhatsApp held back the message to keep engagement healthy: retry later",
        "131050" => "the recipient stopped marketing messages",
        "131051" => "the message type is not supported",
        "131053" => "the media could not be uploaded",
        "131056" => "too many messages to this recipient in a short time: wait",
        "132000" => "the template's parameter count does not match",
        "132001" => "the template does not exist in this language",
        "132005" => "the template's text is too long once filled in",
        "132007" => "the template breaks WhatsApp's format policy",
        "132012" => "a template parameter has the wrong format",
        "132015" => "the template is paused for low quality",
        "132016" => "the template is disabled",
        "133010" => "the business number is not registered",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::error_meaning;

    #[test]
    fn reads_every_spelling() {
        let closed = error_meaning("131047").unwrap();
        assert_eq!(error_meaning("whatsapp::131047"), Some(closed));
        assert!(closed.contains("service window"));
        assert!(error_meaning("spoki::1029").unwrap().contains("credit"));
        assert_eq!(error_meaning("spoki::131047"), None);
        assert_eq!(error_meaning("999"), None);
    }
}
