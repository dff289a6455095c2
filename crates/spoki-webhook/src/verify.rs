//! Verifying incoming V2 webhook deliveries.
//!
//! Spoki signs every V2 delivery with the webhook's secret (`whsec_...`) and sends the result
//! in `X-Spoki-Signature: t=<unix seconds>,v2=<hex>`, where the hex is
//! HMAC-SHA256(secret, `"<t>.<raw body>"`). A [`WebhookVerifier`] checks that signature in
//! constant time against one or more secrets (several during a rotation), rejects deliveries
//! whose `t` is too far from now (replays), and only then decodes the body into a
//! [`Delivery`].
//!
//! Verify the raw bytes exactly as received: re-serialising parsed JSON changes them.
//!
//! ```
//! use spoki_webhook::{Event, WebhookVerifier, sign};
//! use spoki_models::Secret;
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! let secret = Secret::new("whsec_example");
//! let body = br#"{"version":2,"event":"message.outbound","event_uuid":"e-1",
//!                 "data":{"uuid":"m-1","send_status":"Delivered"}}"#;
//! let header = sign(&secret, 1_700_000_000, body);
//!
//! let verifier = WebhookVerifier::new(secret)?;
//! let now = UNIX_EPOCH + Duration::from_secs(1_700_000_010);
//! let delivery = verifier.verify(&header, body, now)?;
//! assert!(matches!(delivery.event, Event::MessageOutbound(_)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::event::{DecodeError, Delivery};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use spoki_models::Secret;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Name of the header carrying the V2 signature (`t=<unix seconds>,v2=<hex>`).
pub const SIGNATURE_HEADER: &str = "x-spoki-signature";
/// Name of the header carrying the id of the account the delivery is about. It is not signed.
pub const ACCOUNT_HEADER: &str = "x-spoki-account";
/// Name of the header of deprecated V1 deliveries, which cannot be verified.
pub const LEGACY_HASH_HEADER: &str = "x-spoki-hash";
/// How far `t` may be from now, either way, unless [`WebhookVerifier::tolerance`] says otherwise.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Length of an HMAC-SHA256 tag in bytes.
const SIGNATURE_LEN: usize = 32;

/// Checks the signature and age of V2 webhook deliveries and decodes them.
///
/// Holds every secret a delivery may be signed with: normally one, two while a rotation is
/// under way (Spoki documents no grace period, so accept the old and the new secret until
/// deliveries signed with the old one stop). `Debug` shows the secrets redacted.
#[derive(Clone)]
pub struct WebhookVerifier {
    secrets: Vec<Secret>,
    /// One HMAC per secret with its key already absorbed: each delivery clones one instead
    /// of hashing the key again.
    keyed: Vec<HmacSha256>,
    tolerance: Duration,
}

impl WebhookVerifier {
    /// A verifier for deliveries signed with `secret`.
    ///
    /// Fails with [`WebhookError::NoSecret`] when the secret is blank: an empty HMAC key is
    /// almost always an unset environment variable, and would verify anyone's signature made
    /// with an empty key.
    pub fn new(secret: impl Into<Secret>) -> Result<WebhookVerifier, WebhookError> {
        WebhookVerifier::with_secrets([secret])
    }

    /// A verifier accepting deliveries signed with any of `secrets`, for secret rotation.
    ///
    /// Fails with [`WebhookError::NoSecret`] when there is no secret or one of them is blank.
    pub fn with_secrets<S: Into<Secret>>(
        secrets: impl IntoIterator<Item = S>,
    ) -> Result<WebhookVerifier, WebhookError> {
        let secrets: Vec<Secret> = secrets.into_iter().map(Into::into).collect();
        if secrets.is_empty() || secrets.iter().any(Secret::is_blank) {
            return Err(WebhookError::NoSecret);
        }
        Ok(WebhookVerifier {
            keyed: secrets.iter().map(keyed_mac).collect(),
            secrets,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// Also accepts deliveries signed with `secret`, e.g. the new one issued by a rotation.
    pub fn add_secret(
        mut self,
        secret: impl Into<Secret>,
    ) -> Result<WebhookVerifier, WebhookError> {
        let secret = secret.into();
        if secret.is_blank() {
            return Err(WebhookError::NoSecret);
        }
        self.keyed.push(keyed_mac(&secret));
        self.secrets.push(secret);
        Ok(self)
    }

    /// Sets how far the signed timestamp may be from now, in the past or the future
    /// (default [`DEFAULT_TOLERANCE`], 5 minutes). Whole seconds count; the fraction is dropped.
    pub fn tolerance(mut self, tolerance: Duration) -> WebhookVerifier {
        self.tolerance = tolerance;
        self
    }

    /// The timestamp tolerance in use.
    pub fn current_tolerance(&self) -> Duration {
        self.tolerance
    }

    /// How many secrets are accepted.
    pub fn secret_count(&self) -> usize {
        self.secrets.len()
    }

    /// Verifies a delivery received at `now` and decodes its body.
    ///
    /// `signature_header` is the value of `X-Spoki-Signature`; `raw_body` the body bytes
    /// exactly as received. Checks, in order: the header parses, one of its `v2` signatures
    /// matches one of the secrets, `t` is within the tolerance of `now`, the body decodes.
    pub fn verify(
        &self,
        signature_header: &str,
        raw_body: &[u8],
        now: SystemTime,
    ) -> Result<Delivery, WebhookError> {
        self.verify_at_unix(signature_header, raw_body, unix_seconds(now))
    }

    /// [`verify`](Self::verify) with the current time as unix seconds.
    pub fn verify_at_unix(
        &self,
        signature_header: &str,
        raw_body: &[u8],
        now_unix: i64,
    ) -> Result<Delivery, WebhookError> {
        self.verify_signature_at_unix(signature_header, raw_body, now_unix)?;
        Delivery::from_slice(raw_body).map_err(WebhookError::Body)
    }

    /// Verifies the signature and the timestamp only, without decoding the body, and returns
    /// the signed timestamp. For bodies you decode yourself.
    pub fn verify_signature_at_unix(
        &self,
        signature_header: &str,
        raw_body: &[u8],
        now_unix: i64,
    ) -> Result<i64, WebhookError> {
        let header = ParsedHeader::parse(signature_header)?;
        if !self.signature_matches(&header, raw_body) {
            return Err(WebhookError::SignatureMismatch);
        }
        // Signature first: a timestamp error then means an authentic but replayed (or
        // clock-skewed) delivery, not a forgery.
        self.check_timestamp(header.timestamp, now_unix)?;
        Ok(header.timestamp)
    }

    /// Verifies a delivery from its request headers: reads `X-Spoki-Signature`, and reports a
    /// V1 delivery (`X-SPOKI-HASH` without a signature) as [`WebhookError::UnverifiableV1`].
    pub fn verify_headers(
        &self,
        headers: &http::HeaderMap,
        raw_body: &[u8],
        now: SystemTime,
    ) -> Result<Delivery, WebhookError> {
        self.verify(signature_value(headers)?, raw_body, now)
    }

    /// [`verify_signature_at_unix`](Self::verify_signature_at_unix) reading the signature from
    /// the request headers, as [`verify_headers`](Self::verify_headers) does.
    pub fn verify_signature_headers(
        &self,
        headers: &http::HeaderMap,
        raw_body: &[u8],
        now_unix: i64,
    ) -> Result<i64, WebhookError> {
        self.verify_signature_at_unix(signature_value(headers)?, raw_body, now_unix)
    }

    fn signature_matches(&self, header: &ParsedHeader<'_>, raw_body: &[u8]) -> bool {
        self.keyed.iter().any(|keyed| {
            let tag = signed_payload(keyed.clone(), header.timestamp_text, raw_body)
                .finalize()
                .into_bytes();
            // `ct_eq` compares in constant time.
            header
                .signatures
                .iter()
                .any(|sig| bool::from(tag.as_slice().ct_eq(sig)))
        })
    }

    fn check_timestamp(&self, timestamp: i64, now_unix: i64) -> Result<(), WebhookError> {
        // i128: neither operand is trusted to keep the difference inside i64.
        let skew = i128::from(now_unix) - i128::from(timestamp);
        let tolerance = i128::from(self.tolerance.as_secs());
        let secs =
            |v: i128| Duration::from_secs(u64::try_from(v.unsigned_abs()).unwrap_or(u64::MAX));
        if skew > tolerance {
            Err(WebhookError::Stale {
                age: secs(skew),
                tolerance: self.tolerance,
            })
        } else if -skew > tolerance {
            Err(WebhookError::FromFuture {
                ahead: secs(skew),
                tolerance: self.tolerance,
            })
        } else {
            Ok(())
        }
    }
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("secrets", &self.secrets)
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

/// The signature header Spoki would send for `raw_body` signed with `secret` at `timestamp`
/// (unix seconds): `t=<timestamp>,v2=<hex>`.
///
/// For tests and fixtures: sign a body, then feed it to your webhook endpoint.
pub fn sign(secret: &Secret, timestamp: i64, raw_body: &[u8]) -> String {
    let t = timestamp.to_string();
    let tag = signed_payload_mac(secret, &t, raw_body)
        .finalize()
        .into_bytes();
    format!("t={t},v2={}", hex::encode(tag))
}

/// The value of `X-SPOKI-ACCOUNT`, when present and numeric.
///
/// The header is not signed: use it only to pick which secret to verify with (one webhook per
/// account), and trust `account_id` of the verified body afterwards.
pub fn account_id(headers: &http::HeaderMap) -> Option<i64> {
    headers
        .get(ACCOUNT_HEADER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn keyed_mac(secret: &Secret) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    HmacSha256::new_from_slice(secret.expose().as_bytes()).expect("HMAC accepts keys of any length")
}

fn signed_payload_mac(secret: &Secret, timestamp_text: &str, raw_body: &[u8]) -> HmacSha256 {
    signed_payload(keyed_mac(secret), timestamp_text, raw_body)
}

fn signed_payload(mut mac: HmacSha256, timestamp_text: &str, raw_body: &[u8]) -> HmacSha256 {
    mac.update(timestamp_text.as_bytes());
    mac.update(b".");
    mac.update(raw_body);
    mac
}

/// The `X-Spoki-Signature` value, or why there is none to check.
fn signature_value(headers: &http::HeaderMap) -> Result<&str, WebhookError> {
    let Some(value) = headers.get(SIGNATURE_HEADER) else {
        return Err(if headers.contains_key(LEGACY_HASH_HEADER) {
            WebhookError::UnverifiableV1
        } else {
            WebhookError::MissingHeader
        });
    };
    value
        .to_str()
        .map_err(|_| WebhookError::MalformedHeader(MalformedHeader::NotAscii))
}

pub(crate) fn unix_seconds(time: SystemTime) -> i64 {
    let clamp = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => clamp(after),
        Err(before) => -clamp(before.duration()),
    }
}

/// `t=...,v2=...` split into its parts.
struct ParsedHeader<'a> {
    /// `t` as sent: it is what was signed.
    timestamp_text: &'a str,
    timestamp: i64,
    signatures: Vec<[u8; SIGNATURE_LEN]>,
}

impl<'a> ParsedHeader<'a> {
    fn parse(header: &'a str) -> Result<ParsedHeader<'a>, WebhookError> {
        use MalformedHeader as M;
        let malformed = WebhookError::MalformedHeader;
        if header.trim().is_empty() {
            return Err(WebhookError::MissingHeader);
        }
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in header.split(',').map(str::trim) {
            // Tolerate a trailing or doubled comma.
            if part.is_empty() {
                continue;
            }
            let (key, value) = part.split_once('=').ok_or(malformed(M::NotKeyValue))?;
            let (key, value) = (key.trim(), value.trim());
            if key.eq_ignore_ascii_case("t") {
                if timestamp.is_some() {
                    return Err(malformed(M::DuplicateTimestamp));
                }
                let parsed = parse_timestamp(value).ok_or(malformed(M::InvalidTimestamp))?;
                timestamp = Some((value, parsed));
            } else if key.eq_ignore_ascii_case("v2") {
                let mut sig = [0u8; SIGNATURE_LEN];
                match hex::decode_to_slice(value, &mut sig) {
                    Ok(()) => signatures.push(sig),
                    Err(hex::FromHexError::InvalidStringLength | hex::FromHexError::OddLength) => {
                        return Err(malformed(M::SignatureLength));
                    }
                    Err(_) => return Err(malformed(M::SignatureNotHex)),
                }
            }
            // Other keys (v1, future schemes) are ignored.
        }
        let (timestamp_text, timestamp) = timestamp.ok_or(malformed(M::MissingTimestamp))?;
        if signatures.is_empty() {
            return Err(WebhookError::NoV2Signature);
        }
        Ok(ParsedHeader {
            timestamp_text,
            timestamp,
            signatures,
        })
    }
}

/// Decimal digits only (an optional leading `-`), so `t` has one spelling per value.
fn parse_timestamp(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Why a delivery was rejected.
///
/// Messages never contain a secret or the signature a secret would produce.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The verifier was given no secret, or a blank one.
    #[error("no webhook secret configured, or a blank one")]
    NoSecret,
    /// The `X-Spoki-Signature` header is missing or empty.
    #[error("the X-Spoki-Signature header is missing")]
    MissingHeader,
    /// The delivery is V1 (`X-SPOKI-HASH`), which carries nothing verifiable.
    #[error("V1 delivery (X-SPOKI-HASH) cannot be verified; switch the webhook to V2")]
    UnverifiableV1,
    /// The signature header does not parse.
    #[error("malformed X-Spoki-Signature header: {0}")]
    MalformedHeader(MalformedHeader),
    /// The header has a timestamp but no `v2=` signature (e.g. only another scheme).
    #[error("the X-Spoki-Signature header has no v2 signature")]
    NoV2Signature,
    /// No `v2` signature matches any secret: forged, tampered with, or signed with a secret
    /// this verifier does not have.
    #[error("webhook signature does not match")]
    SignatureMismatch,
    /// Authentic, but signed longer ago than the tolerance: a replay, or a slow retry.
    #[error("webhook timestamp is {age:?} old, beyond the tolerance of {tolerance:?}")]
    Stale {
        /// How long ago it was signed.
        age: Duration,
        /// The tolerance in use.
        tolerance: Duration,
    },
    /// Authentic, but signed further in the future than the tolerance: check the clocks.
    #[error("webhook timestamp is {ahead:?} in the future, beyond the tolerance of {tolerance:?}")]
    FromFuture {
        /// How far ahead of now it was signed.
        ahead: Duration,
        /// The tolerance in use.
        tolerance: Duration,
    },
    /// Authentic, but the body is not a delivery.
    #[error("webhook body does not decode: {0}")]
    Body(#[source] DecodeError),
}

/// What is wrong with a signature header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedHeader {
    /// The header value is not visible ASCII.
    #[error("not ASCII")]
    NotAscii,
    /// A comma-separated part is not `key=value`.
    #[error("a part is not key=value")]
    NotKeyValue,
    /// There is no `t=` part.
    #[error("no t= timestamp")]
    MissingTimestamp,
    /// There is more than one `t=` part.
    #[error("more than one t= timestamp")]
    DuplicateTimestamp,
    /// `t` is not a decimal number of seconds that fits an i64.
    #[error("t is not a number of unix seconds")]
    InvalidTimestamp,
    /// A `v2` value is not 64 hex digits long.
    #[error("a v2 signature is not 64 hex digits long")]
    SignatureLength,
    /// A `v2` value has a character that is not a hex digit.
    #[error("a v2 signature is not hex")]
    SignatureNotHex,
}
