//! What Spoki's and WhatsApp's error codes mean, and what to do about each.
//!
//! Spoki writes a code as `spoki::1029` or `whatsapp::131047` (a WhatsApp Cloud API code it
//! passes on), in the `code` of an error answer and the `error_code` of a failed send's
//! webhook. [`ErrorKind::of`] reads one, with the answer's HTTP status for answers without a
//! code; each kind has a one-line [`hint`](ErrorKind::hint) and a [`retry`](ErrorKind::retry)
//! advice, which the retry rule follows where the code changes its answer.
//!
//! The meanings are those of Meta's published error-code table for the Cloud API, its
//! pair-rate and throughput pages, and the codes Spoki's own answers were seen with.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Who defined a code: Spoki itself, or WhatsApp (passed on by Spoki).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CodeOrigin {
    /// `spoki::NNNN`.
    Spoki,
    /// `whatsapp::NNNNNN`, or a bare number.
    WhatsApp,
}

/// An error code: `spoki::1029`, `whatsapp::131047`; a bare number is WhatsApp's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorCode {
    /// Who defined it.
    pub origin: CodeOrigin,
    /// The number.
    pub number: u32,
}

impl ErrorCode {
    /// A WhatsApp code.
    pub const fn whatsapp(number: u32) -> ErrorCode {
        ErrorCode {
            origin: CodeOrigin::WhatsApp,
            number,
        }
    }

    /// A Spoki code.
    pub const fn spoki(number: u32) -> ErrorCode {
        ErrorCode {
            origin: CodeOrigin::Spoki,
            number,
        }
    }

    /// What the code means.
    pub fn kind(self) -> ErrorKind {
        KNOWN
            .iter()
            .find(|(code, _)| *code == self)
            .map_or(ErrorKind::Unknown(self), |&(_, kind)| kind)
    }
}

impl FromStr for ErrorCode {
    type Err = CodeError;

    fn from_str(text: &str) -> Result<ErrorCode, CodeError> {
        let text = text.trim();
        let (origin, number) = match text.split_once("::") {
            Some(("spoki", n)) => (CodeOrigin::Spoki, n),
            Some(("whatsapp", n)) => (CodeOrigin::WhatsApp, n),
            Some(_) => return Err(CodeError),
            None => (CodeOrigin::WhatsApp, text),
        };
        let number = number.parse().map_err(|_| CodeError)?;
        Ok(ErrorCode { origin, number })
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.origin {
            CodeOrigin::Spoki => write!(f, "spoki::{}", self.number),
            CodeOrigin::WhatsApp => write!(f, "whatsapp::{}", self.number),
        }
    }
}

/// Text that is not an error code: `spoki::` or `whatsapp::` (or nothing) and a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeError;

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an error code: expected spoki::N, whatsapp::N or a number")
    }
}

impl std::error::Error for CodeError {}

/// What to do about an error before sending again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryAdvice {
    /// The same request fails the same way: change it, or what it depends on, first (the
    /// hint says what).
    No,
    /// A passing fault: a call that is safe to repeat may be sent again after a backoff.
    Backoff,
    /// Refused for now, nothing done: the same request may be sent again after this wait.
    After(Duration),
}

/// What went wrong, read from an error code, or from the HTTP status when there is none.
///
/// `#[non_exhaustive]`: more codes get kinds as their meaning is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The API key, secret or token is missing, wrong or expired (401; WhatsApp 0, 190).
    Unauthorized,
    /// The credential is valid but may not do this (403; WhatsApp 3, 10, 200–299, 131005).
    Forbidden,
    /// What the path names does not exist (404).
    NotFound,
    /// The request is not valid as written: a field error, a bad value (400 and other 4xx;
    /// WhatsApp 100, 131009, 135000).
    InvalidRequest,
    /// A required parameter is missing (WhatsApp 131008).
    ParameterMissing,
    /// Too many requests: Spoki's limit on the endpoint (429).
    RateLimited,
    /// The app or business account made too many API calls (WhatsApp 4, 80007).
    ApiCallLimit,
    /// The business number sends faster than its throughput (WhatsApp 130429).
    ThroughputLimit,
    /// Too many messages to the same recipient in a short time (WhatsApp 131056): about one
    /// every 6 s is allowed.
    PairRateLimit,
    /// The number is restricted after messages were blocked or reported (WhatsApp 131048).
    SpamRateLimit,
    /// The account's credit does not cover the send (Spoki 1029).
    CreditExhausted,
    /// The business account is restricted or locked for a policy breach (WhatsApp 368,
    /// 131031).
    AccountRestricted,
    /// The business account has a payment problem (WhatsApp 131042).
    PaymentIssue,
    /// The business account is in maintenance, as during a throughput upgrade (WhatsApp
    /// 131057).
    Maintenance,
    /// Spoki or WhatsApp failed on its side (5xx; WhatsApp 1, 2, 131000, 131016).
    ServerError,
    /// More than 24 h since the customer last wrote: only a template may be sent (WhatsApp
    /// 131047).
    ServiceWindowClosed,
    /// The recipient cannot receive the message: not on WhatsApp, an old app, terms not
    /// accepted (WhatsApp 131026).
    RecipientUnreachable,
    /// The recipient is the sender's own number (WhatsApp 131021).
    RecipientIsSender,
    /// The recipient stopped marketing messages from this business (WhatsApp 131050).
    MarketingOptOut,
    /// WhatsApp held back a marketing message to keep the recipient's engagement healthy
    /// (WhatsApp 131049).
    EngagementLimit,
    /// The recipient is in a marketing experiment's holdout group (WhatsApp 130472).
    ExperimentHoldout,
    /// The message type is not supported (WhatsApp 131051).
    UnsupportedMessage,
    /// Media could not be uploaded or downloaded (WhatsApp 131052, 131053).
    MediaFailed,
    /// The values do not match the template's parameters in number (WhatsApp 132000).
    ParameterMismatch,
    /// A value is not in the format the template declares (WhatsApp 132012).
    ParameterFormat,
    /// The template does not exist in this language, or is not approved (WhatsApp 132001).
    TemplateMissing,
    /// The template's text is too long once filled in (WhatsApp 132005).
    TemplateTextTooLong,
    /// The template breaks WhatsApp's content policy (WhatsApp 132007).
    TemplatePolicy,
    /// The template is paused for low quality (WhatsApp 132015).
    TemplatePaused,
    /// The template was paused too often and is disabled (WhatsApp 132016).
    TemplateDisabled,
    /// The template has too many placeholders for its static text (Spoki 3014).
    TooManyPlaceholders,
    /// The business number is not registered (WhatsApp 133010).
    NumberNotRegistered,
    /// A code no public source explains; the code is kept.
    Unknown(ErrorCode),
}

use ErrorKind as K;

/// Every code with a published meaning.
const KNOWN: &[(ErrorCode, ErrorKind)] = &[
    (ErrorCode::spoki(1029), K::CreditExhausted),
    (ErrorCode::spoki(3014), K::TooManyPlaceholders),
    (ErrorCode::whatsapp(0), K::Unauthorized),
    (ErrorCode::whatsapp(190), K::Unauthorized),
    (ErrorCode::whatsapp(1), K::ServerError),
    (ErrorCode::whatsapp(2), K::ServerError),
    (ErrorCode::whatsapp(3), K::Forbidden),
    (ErrorCode::whatsapp(4), K::ApiCallLimit),
    (ErrorCode::whatsapp(10), K::Forbidden),
    (ErrorCode::whatsapp(100), K::InvalidRequest),
    (ErrorCode::whatsapp(368), K::AccountRestricted),
    (ErrorCode::whatsapp(80007), K::ApiCallLimit),
    (ErrorCode::whatsapp(130429), K::ThroughputLimit),
    (ErrorCode::whatsapp(130472), K::ExperimentHoldout),
    (ErrorCode::whatsapp(131000), K::ServerError),
    (ErrorCode::whatsapp(131005), K::Forbidden),
    (ErrorCode::whatsapp(131008), K::ParameterMissing),
    (ErrorCode::whatsapp(131009), K::InvalidRequest),
    (ErrorCode::whatsapp(131016), K::ServerError),
    (ErrorCode::whatsapp(131021), K::RecipientIsSender),
    (ErrorCode::whatsapp(131026), K::RecipientUnreachable),
    (ErrorCode::whatsapp(131031), K::AccountRestricted),
    (ErrorCode::whatsapp(131042), K::PaymentIssue),
    (ErrorCode::whatsapp(131047), K::ServiceWindowClosed),
    (ErrorCode::whatsapp(131048), K::SpamRateLimit),
    (ErrorCode::whatsapp(131049), K::EngagementLimit),
    (ErrorCode::whatsapp(131050), K::MarketingOptOut),
    (ErrorCode::whatsapp(131051), K::UnsupportedMessage),
    (ErrorCode::whatsapp(131052), K::MediaFailed),
    (ErrorCode::whatsapp(131053), K::MediaFailed),
    (ErrorCode::whatsapp(131056), K::PairRateLimit),
    (ErrorCode::whatsapp(131057), K::Maintenance),
    (ErrorCode::whatsapp(132000), K::ParameterMismatch),
    (ErrorCode::whatsapp(132001), K::TemplateMissing),
    (ErrorCode::whatsapp(132005), K::TemplateTextTooLong),
    (ErrorCode::whatsapp(132007), K::TemplatePolicy),
    (ErrorCode::whatsapp(132012), K::ParameterFormat),
    (ErrorCode::whatsapp(132015), K::TemplatePaused),
    (ErrorCode::whatsapp(132016), K::TemplateDisabled),
    (ErrorCode::whatsapp(133010), K::NumberNotRegistered),
];

/// The fields of an error answer that may hold its code: Spoki's own errors say `code`, its
/// credit error says `error_code`.
pub const CODE_FIELDS: [&str; 2] = ["code", "error_code"];

/// The error code of an error answer's body (text or number, in [`CODE_FIELDS`]), when it has
/// one. Bodies over 64 KiB are not error bodies and are not read.
pub fn code_of_body(body: &[u8]) -> Option<String> {
    if body.len() > 64 * 1024 {
        return None;
    }
    let serde_json::Value::Object(map) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    CODE_FIELDS.iter().find_map(|field| match map.get(*field)? {
        serde_json::Value::String(code) => Some(code.clone()),
        serde_json::Value::Number(code) => Some(code.to_string()),
        _ => None,
    })
}

/// The wait WhatsApp's pair rate asks between two messages to one recipient.
pub const PAIR_RATE_INTERVAL: Duration = Duration::from_secs(6);

impl ErrorKind {
    /// The kind of an error answer: its code's, when it has a code with a published meaning
    /// (Spoki writes it as text); else its HTTP status's.
    pub fn of(status: u16, code: Option<&str>) -> ErrorKind {
        let code = code.and_then(|c| c.parse::<ErrorCode>().ok());
        match code.map(ErrorCode::kind) {
            Some(ErrorKind::Unknown(_)) | None => {}
            Some(kind) => return kind,
        }
        match status {
            401 => K::Unauthorized,
            403 => K::Forbidden,
            404 => K::NotFound,
            429 => K::RateLimited,
            // A request timeout is a passing fault, as a 5xx is.
            408 => K::ServerError,
            _ if code.is_some() && status < 500 => K::Unknown(code.expect("checked")),
            500.. => K::ServerError,
            _ => K::InvalidRequest,
        }
    }

    /// The kind of a failed send's code, as a webhook reports it; `None` when the text is not
    /// a code.
    pub fn of_code(code: &str) -> Option<ErrorKind> {
        code.parse::<ErrorCode>().ok().map(ErrorCode::kind)
    }

    /// What to do, in one line.
    pub fn hint(self) -> &'static str {
        match self {
            K::Unauthorized => {
                "check the API key, automation secret or token: it is missing, wrong or expired"
            }
            K::Forbidden => "the credential may not do this: check the account's permissions",
            K::NotFound => "nothing exists at this id or path: check it",
            K::InvalidRequest => "fix the request: the fields say what is wrong",
            K::ParameterMissing => "add the missing parameter",
            K::RateLimited => "too many requests: wait for Retry-After, then send again",
            K::ApiCallLimit => "the account made too many API calls: wait some minutes",
            K::ThroughputLimit => "the number sends faster than its throughput: slow down",
            K::PairRateLimit => {
                "too many messages to this recipient in a short time: wait about 6 s before the next one"
            }
            K::SpamRateLimit => {
                "the number is restricted after messages were blocked or reported: stop and improve their quality"
            }
            K::CreditExhausted => "the account's credit is used up: top it up",
            K::AccountRestricted => {
                "the business account is restricted or locked: check its status in WhatsApp Manager"
            }
            K::PaymentIssue => "the business account has a payment problem: fix its payment method",
            K::Maintenance => "the business account is in maintenance: try again in a minute",
            K::ServerError => "Spoki or WhatsApp failed on its side: try again later",
            K::ServiceWindowClosed => {
                "the customer has not written in 24 h: send a template instead"
            }
            K::RecipientUnreachable => {
                "the recipient cannot receive WhatsApp messages: do not send to this number again soon"
            }
            K::RecipientIsSender => "the recipient is the sender's own number",
            K::MarketingOptOut => {
                "the recipient stopped marketing messages: send them none until they opt back in"
            }
            K::EngagementLimit => {
                "WhatsApp held back a marketing message to this recipient: try again after 24 h at the earliest"
            }
            K::ExperimentHoldout => {
                "the recipient is in a marketing experiment's holdout group: it cannot be sent"
            }
            K::UnsupportedMessage => "the message type is not supported: send another kind",
            K::MediaFailed => {
                "the media could not be uploaded or downloaded: check its URL and format"
            }
            K::ParameterMismatch => {
                "the values do not match the template's placeholders: give one for each"
            }
            K::ParameterFormat => "a value is not in the format the template declares: fix it",
            K::TemplateMissing => {
                "the template does not exist in this language or is not approved: check its name and language"
            }
            K::TemplateTextTooLong => {
                "the template's text is too long once filled in: shorten the values"
            }
            K::TemplatePolicy => "the template breaks WhatsApp's content policy: edit it",
            K::TemplatePaused => {
                "the template is paused for low quality: wait for the pause to end, or edit it"
            }
            K::TemplateDisabled => "the template is disabled: create a new one",
            K::TooManyPlaceholders => {
                "the template has too many placeholders for its static text: add text or remove placeholders"
            }
            K::NumberNotRegistered => "the business number is not registered: register it first",
            K::Unknown(_) => "no public source explains this code: see Spoki's answer",
        }
    }

    /// Whether and when the same request may be sent again.
    pub fn retry(self) -> RetryAdvice {
        match self {
            K::PairRateLimit => RetryAdvice::After(PAIR_RATE_INTERVAL),
            K::ThroughputLimit => RetryAdvice::After(Duration::from_secs(1)),
            K::Maintenance => RetryAdvice::After(Duration::from_secs(60)),
            K::ApiCallLimit => RetryAdvice::After(Duration::from_secs(5 * 60)),
            K::TemplatePaused => RetryAdvice::After(Duration::from_secs(3 * 3600)),
            K::EngagementLimit => RetryAdvice::After(Duration::from_secs(24 * 3600)),
            K::RateLimited | K::ServerError | K::MediaFailed => RetryAdvice::Backoff,
            K::Unknown(_) => RetryAdvice::Backoff,
            _ => RetryAdvice::No,
        }
    }

    /// The code this kind is read from, when it has exactly one (the kinds of HTTP statuses,
    /// and those of several codes, have none).
    pub fn code(self) -> Option<ErrorCode> {
        if let K::Unknown(code) = self {
            return Some(code);
        }
        let mut codes = KNOWN.iter().filter(|(_, k)| *k == self).map(|(c, _)| *c);
        match (codes.next(), codes.next()) {
            (Some(code), None) => Some(code),
            _ => None,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_spelling() {
        assert_eq!(ErrorKind::of_code("131047"), Some(K::ServiceWindowClosed));
        assert_eq!(
            ErrorKind::of_code("whatsapp::131047"),
            Some(K::ServiceWindowClosed)
        );
        assert_eq!(ErrorKind::of_code("spoki::1029"), Some(K::CreditExhausted));
        assert_eq!(
            ErrorKind::of_code("spoki::131047"),
            Some(K::Unknown(ErrorCode::spoki(131047)))
        );
        assert_eq!(ErrorKind::of_code("facebook::1"), None);
        assert_eq!(ErrorKind::of_code("x"), None);
        assert_eq!(ErrorCode::spoki(1029).to_string(), "spoki::1029");
        assert_eq!(
            "131056".parse::<ErrorCode>().unwrap().to_string(),
            "whatsapp::131056"
        );
    }

    #[test]
    fn a_known_code_wins_over_the_status_and_an_unknown_one_is_kept() {
        assert_eq!(ErrorKind::of(400, Some("spoki::1029")), K::CreditExhausted);
        assert_eq!(
            ErrorKind::of(500, Some("whatsapp::131047")),
            K::ServiceWindowClosed
        );
        assert_eq!(ErrorKind::of(401, Some("spoki::1001")), K::Unauthorized);
        assert_eq!(ErrorKind::of(403, None), K::Forbidden);
        assert_eq!(ErrorKind::of(404, None), K::NotFound);
        assert_eq!(ErrorKind::of(429, None), K::RateLimited);
        assert_eq!(ErrorKind::of(400, None), K::InvalidRequest);
        assert_eq!(ErrorKind::of(408, None), K::ServerError);
        assert_eq!(ErrorKind::of(503, Some("spoki::9")), K::ServerError);
        assert_eq!(
            ErrorKind::of(400, Some("spoki::3004")),
            K::Unknown(ErrorCode::spoki(3004))
        );
    }

    #[test]
    fn the_code_of_a_body_in_either_field_and_either_type() {
        assert_eq!(
            code_of_body(br#"{"title":"x","code":"spoki::1029"}"#).as_deref(),
            Some("spoki::1029")
        );
        assert_eq!(
            code_of_body(br#"{"error_code":131056}"#).as_deref(),
            Some("131056")
        );
        assert_eq!(code_of_body(br#"{"phone":["bad"]}"#), None);
        assert_eq!(code_of_body(b"not json"), None);
    }

    #[test]
    fn every_known_code_reads_back_as_its_kind_and_every_kind_has_a_hint() {
        for &(code, kind) in KNOWN {
            assert_eq!(code.kind(), kind, "{code}");
            assert_eq!(code.to_string().parse::<ErrorCode>(), Ok(code));
            assert!(!kind.hint().is_empty());
            if let Some(one) = kind.code() {
                assert_eq!(one, code);
            }
        }
        assert_eq!(K::PairRateLimit.code(), Some(ErrorCode::whatsapp(131056)));
        assert_eq!(K::Forbidden.code(), None);
    }

    #[test]
    fn only_refusals_that_clear_with_time_advise_a_wait() {
        assert_eq!(
            K::PairRateLimit.retry(),
            RetryAdvice::After(PAIR_RATE_INTERVAL)
        );
        assert_eq!(K::ServiceWindowClosed.retry(), RetryAdvice::No);
        assert_eq!(K::CreditExhausted.retry(), RetryAdvice::No);
        assert_eq!(K::MarketingOptOut.retry(), RetryAdvice::No);
        assert_eq!(K::SpamRateLimit.retry(), RetryAdvice::No);
        assert_eq!(K::ServerError.retry(), RetryAdvice::Backoff);
    }
}
