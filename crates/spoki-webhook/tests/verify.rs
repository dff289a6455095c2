//! Verification of V2 webhook deliveries.

use http::{HeaderMap, HeaderValue};
use spoki_models::{Secret, SendStatus, WebhookEvent};
use spoki_webhook::{
    DEFAULT_TOLERANCE, Event, MalformedHeader, WebhookError, WebhookVerifier, account_id, sign,
};
use std::time::{Duration, UNIX_EPOCH};

const SECRET: &str = "whsec_canary_3f9a1c";
const T: i64 = 1_700_000_000;

const BODY: &[u8] = br#"{
  "version": 2,
  "event": "message.outbound",
  "event_uuid": "0b8e6a3c-5f1d-4c2a-9e7b-1d2c3b4a5f60",
  "timestamp": 1700000000,
  "account_id": 42,
  "data": {
    "uuid": "7c1f1f2e-aaaa-4bbb-8ccc-123456789abc",
    "send_status": "Delivered",
    "to_phone": "+393331234567",
    "error_code": null
  }
}"#;

fn secret() -> Secret {
    Secret::new(SECRET)
}

fn verifier() -> WebhookVerifier {
    WebhookVerifier::new(secret()).unwrap()
}

/// The hex of a header made by `sign`.
fn v2_of(header: &str) -> &str {
    header.split_once(",v2=").unwrap().1
}

#[test]
fn valid_delivery_decodes_to_typed_event() {
    let header = sign(&secret(), T, BODY);
    let delivery = verifier().verify_at_unix(&header, BODY, T + 3).unwrap();
    assert_eq!(delivery.version, Some(2));
    assert_eq!(delivery.event.kind(), WebhookEvent::MessageOutbound);
    assert_eq!(
        delivery.event_uuid.as_deref(),
        Some("0b8e6a3c-5f1d-4c2a-9e7b-1d2c3b4a5f60")
    );
    assert_eq!(delivery.account_id, Some(42));
    match delivery.event {
        Event::MessageOutbound(event) => {
            assert_eq!(event.send_status, Some(SendStatus::Delivered));
            assert_eq!(
                event.uuid.as_deref(),
                Some("7c1f1f2e-aaaa-4bbb-8ccc-123456789abc")
            );
        }
        other => panic!("expected MessageOutbound, got {other:?}"),
    }
}

#[test]
fn system_time_entry_point_agrees_with_unix_seconds() {
    let header = sign(&secret(), T, BODY);
    let now = UNIX_EPOCH + Duration::from_secs(T as u64 + 10);
    assert!(verifier().verify(&header, BODY, now).is_ok());
    let late = UNIX_EPOCH + Duration::from_secs(T as u64 + 301);
    assert!(matches!(
        verifier().verify(&header, BODY, late),
        Err(WebhookError::Stale { .. })
    ));
}

#[test]
fn sign_matches_an_independent_hmac() {
    // Computed with Python's hmac module: HMAC-SHA256(key, "1700000000." + body).
    let header = sign(
        &Secret::new("whsec_known_answer"),
        T,
        br#"{"event":"message.inbound"}"#,
    );
    assert_eq!(
        header,
        "t=1700000000,v2=f3f0186bc9cc9a37b85642522f80a1b225c924469bbe3a692156e5774a2c2996"
    );
}

#[test]
fn forged_signature_is_rejected() {
    let forged = format!("t={T},v2={}", "ab".repeat(32));
    assert!(matches!(
        verifier().verify_at_unix(&forged, BODY, T),
        Err(WebhookError::SignatureMismatch)
    ));

    // One flipped bit of a genuine signature.
    let header = sign(&secret(), T, BODY);
    let mut bytes = hex::decode(v2_of(&header)).unwrap();
    bytes[31] ^= 1;
    let flipped = format!("t={T},v2={}", hex::encode(bytes));
    assert!(matches!(
        verifier().verify_at_unix(&flipped, BODY, T),
        Err(WebhookError::SignatureMismatch)
    ));
}

#[test]
fn wrong_secret_is_rejected() {
    let header = sign(&Secret::new("whsec_someone_else"), T, BODY);
    assert!(matches!(
        verifier().verify_at_unix(&header, BODY, T),
        Err(WebhookError::SignatureMismatch)
    ));
}

#[test]
fn timestamp_is_part_of_the_signature() {
    // A replayer cannot refresh `t` and keep the old v2.
    let header = sign(&secret(), T, BODY);
    let moved = format!("t={},v2={}", T + 1000, v2_of(&header));
    assert!(matches!(
        verifier().verify_at_unix(&moved, BODY, T + 1000),
        Err(WebhookError::SignatureMismatch)
    ));
}

#[test]
fn body_tampered_after_signing_is_rejected() {
    let header = sign(&secret(), T, BODY);
    let tampered = String::from_utf8(BODY.to_vec())
        .unwrap()
        .replace("Delivered", "Read");
    assert!(matches!(
        verifier().verify_at_unix(&header, tampered.as_bytes(), T),
        Err(WebhookError::SignatureMismatch)
    ));
    // Even whitespace counts: the raw bytes are signed, not the JSON value.
    let mut reformatted = BODY.to_vec();
    reformatted.push(b'\n');
    assert!(matches!(
        verifier().verify_at_unix(&header, &reformatted, T),
        Err(WebhookError::SignatureMismatch)
    ));
}

#[test]
fn rotation_accepts_old_and_new_secrets() {
    let old = Secret::new("whsec_old");
    let new = Secret::new("whsec_new");
    let verifier = WebhookVerifier::with_secrets([old.clone(), new.clone()]).unwrap();
    assert_eq!(verifier.secret_count(), 2);
    for s in [&old, &new] {
        let header = sign(s, T, BODY);
        assert!(verifier.verify_at_unix(&header, BODY, T).is_ok());
    }
    let header = sign(&Secret::new("whsec_other"), T, BODY);
    assert!(matches!(
        verifier.verify_at_unix(&header, BODY, T),
        Err(WebhookError::SignatureMismatch)
    ));

    // Same with add_secret; and a verifier with only the old secret rejects the new one.
    let only_old = WebhookVerifier::new(old).unwrap();
    let new_header = sign(&new, T, BODY);
    assert!(only_old.verify_at_unix(&new_header, BODY, T).is_err());
    let both = only_old.add_secret(new).unwrap();
    assert!(both.verify_at_unix(&new_header, BODY, T).is_ok());
}

#[test]
fn blank_or_missing_secrets_are_refused() {
    assert!(matches!(
        WebhookVerifier::new(""),
        Err(WebhookError::NoSecret)
    ));
    assert!(matches!(
        WebhookVerifier::new("  "),
        Err(WebhookError::NoSecret)
    ));
    assert!(matches!(
        WebhookVerifier::with_secrets(Vec::<Secret>::new()),
        Err(WebhookError::NoSecret)
    ));
    assert!(matches!(
        WebhookVerifier::with_secrets(["whsec_a", ""]),
        Err(WebhookError::NoSecret)
    ));
    assert!(matches!(
        verifier().add_secret(""),
        Err(WebhookError::NoSecret)
    ));
}

#[test]
fn stale_timestamp_is_rejected_with_its_age() {
    let header = sign(&secret(), T, BODY);
    // Exactly at the tolerance is still accepted.
    assert!(verifier().verify_at_unix(&header, BODY, T + 300).is_ok());
    match verifier().verify_at_unix(&header, BODY, T + 301) {
        Err(WebhookError::Stale { age, tolerance }) => {
            assert_eq!(age, Duration::from_secs(301));
            assert_eq!(tolerance, DEFAULT_TOLERANCE);
        }
        other => panic!("expected Stale, got {other:?}"),
    }
}

#[test]
fn future_timestamp_is_rejected_with_its_lead() {
    let header = sign(&secret(), T, BODY);
    assert!(verifier().verify_at_unix(&header, BODY, T - 300).is_ok());
    match verifier().verify_at_unix(&header, BODY, T - 3600) {
        Err(WebhookError::FromFuture { ahead, tolerance }) => {
            assert_eq!(ahead, Duration::from_secs(3600));
            assert_eq!(tolerance, Duration::from_secs(300));
        }
        other => panic!("expected FromFuture, got {other:?}"),
    }
}

#[test]
fn tolerance_is_configurable() {
    let header = sign(&secret(), T, BODY);
    let strict = verifier().tolerance(Duration::from_secs(10));
    assert_eq!(strict.current_tolerance(), Duration::from_secs(10));
    assert!(strict.verify_at_unix(&header, BODY, T + 10).is_ok());
    assert!(matches!(
        strict.verify_at_unix(&header, BODY, T + 11),
        Err(WebhookError::Stale { .. })
    ));
    let lax = verifier().tolerance(Duration::from_secs(86_400));
    assert!(lax.verify_at_unix(&header, BODY, T + 3600).is_ok());
}

#[test]
fn extreme_timestamps_do_not_overflow() {
    let header = sign(&secret(), i64::MAX, BODY);
    assert!(matches!(
        verifier().verify_at_unix(&header, BODY, i64::MIN),
        Err(WebhookError::FromFuture { .. })
    ));
    let header = sign(&secret(), i64::MIN, BODY);
    assert!(matches!(
        verifier().verify_at_unix(&header, BODY, i64::MAX),
        Err(WebhookError::Stale { .. })
    ));
}

#[test]
fn header_parsing_tolerates_spaces_extra_parts_and_several_signatures() {
    let good = sign(&secret(), T, BODY);
    let sig = v2_of(&good);
    let other = sign(&Secret::new("whsec_other"), T, BODY);
    let variants = [
        format!(" t = {T} , v2 = {sig} "),
        format!("v2={sig},t={T}"),
        format!("t={T},v1=deadbeef,scheme=x,v2={sig}"),
        format!("t={T},v2={},v2={sig}", v2_of(&other)),
        format!("t={T},v2={sig},"),
        format!("t={T},v2={}", sig.to_uppercase()),
    ];
    for header in &variants {
        assert!(
            verifier().verify_at_unix(header, BODY, T).is_ok(),
            "rejected {header}"
        );
    }
}

fn malformed(header: &str) -> MalformedHeader {
    match verifier().verify_at_unix(header, BODY, T) {
        Err(WebhookError::MalformedHeader(reason)) => reason,
        other => panic!("expected MalformedHeader for {header:?}, got {other:?}"),
    }
}

#[test]
fn malformed_headers_say_what_is_wrong() {
    let sig = v2_of(&sign(&secret(), T, BODY)).to_owned();
    assert_eq!(
        malformed(&format!("v2={sig}")),
        MalformedHeader::MissingTimestamp
    );
    assert_eq!(
        malformed(&format!("t=abc,v2={sig}")),
        MalformedHeader::InvalidTimestamp
    );
    assert_eq!(
        malformed(&format!("t=+{T},v2={sig}")),
        MalformedHeader::InvalidTimestamp
    );
    assert_eq!(
        malformed(&format!("t=1e9,v2={sig}")),
        MalformedHeader::InvalidTimestamp
    );
    assert_eq!(
        malformed(&format!("t=99999999999999999999,v2={sig}")),
        MalformedHeader::InvalidTimestamp
    );
    assert_eq!(
        malformed(&format!("t={T},t={T},v2={sig}")),
        MalformedHeader::DuplicateTimestamp
    );
    assert_eq!(
        malformed(&format!("t={T},v2={}", &sig[..63])),
        MalformedHeader::SignatureLength
    );
    assert_eq!(
        malformed(&format!("t={T},v2={}", &sig[..62])),
        MalformedHeader::SignatureLength
    );
    assert_eq!(
        malformed(&format!("t={T},v2={}zz", &sig[..62])),
        MalformedHeader::SignatureNotHex
    );
    assert_eq!(
        malformed(&format!("t={T},garbage,v2={sig}")),
        MalformedHeader::NotKeyValue
    );
}

#[test]
fn header_without_v2_is_its_own_error() {
    assert!(matches!(
        verifier().verify_at_unix(&format!("t={T}"), BODY, T),
        Err(WebhookError::NoV2Signature)
    ));
    assert!(matches!(
        verifier().verify_at_unix(&format!("t={T},v1=abcdef"), BODY, T),
        Err(WebhookError::NoV2Signature)
    ));
}

#[test]
fn empty_header_is_missing() {
    for header in ["", "   "] {
        assert!(matches!(
            verifier().verify_at_unix(header, BODY, T),
            Err(WebhookError::MissingHeader)
        ));
    }
}

#[test]
fn authentic_but_undecodable_body_is_a_body_error() {
    let body = br#"{"version": "two"}"#;
    let header = sign(&secret(), T, body);
    let err = verifier().verify_at_unix(&header, body, T).unwrap_err();
    assert!(matches!(err, WebhookError::Body(_)), "{err:?}");
    assert!(std::error::Error::source(&err).is_some());
    // Signature-only verification accepts it and returns the signed time.
    assert_eq!(
        verifier()
            .verify_signature_at_unix(&header, body, T)
            .unwrap(),
        T
    );
}

#[test]
fn verify_headers_reads_the_signature_and_spots_v1() {
    let now = UNIX_EPOCH + Duration::from_secs(T as u64);
    let mut headers = HeaderMap::new();
    headers.insert(
        "X-Spoki-Signature",
        sign(&secret(), T, BODY).parse().unwrap(),
    );
    headers.insert("X-SPOKI-ACCOUNT", HeaderValue::from_static(" 42 "));
    assert!(verifier().verify_headers(&headers, BODY, now).is_ok());
    assert_eq!(account_id(&headers), Some(42));

    let mut v1 = HeaderMap::new();
    v1.insert("X-SPOKI-HASH", HeaderValue::from_static("abc123"));
    assert!(matches!(
        verifier().verify_headers(&v1, BODY, now),
        Err(WebhookError::UnverifiableV1)
    ));
    assert_eq!(account_id(&v1), None);
    assert!(matches!(
        verifier().verify_headers(&HeaderMap::new(), BODY, now),
        Err(WebhookError::MissingHeader)
    ));

    let mut binary = HeaderMap::new();
    binary.insert(
        "x-spoki-signature",
        HeaderValue::from_bytes(b"t=1,v2=\xff").unwrap(),
    );
    assert!(matches!(
        verifier().verify_headers(&binary, BODY, now),
        Err(WebhookError::MalformedHeader(MalformedHeader::NotAscii))
    ));
}

#[test]
fn secret_and_expected_signature_never_print() {
    let header = sign(&secret(), T, BODY);
    let expected_sig = v2_of(&header).to_owned();
    let rotation = WebhookVerifier::with_secrets([SECRET, "whsec_canary_second"]).unwrap();
    let forged = format!("t={T},v2={}", "00".repeat(32));
    let mut errors = vec![
        rotation.verify_at_unix(&forged, BODY, T).unwrap_err(),
        rotation
            .verify_at_unix(&header, BODY, T + 10_000)
            .unwrap_err(),
        rotation
            .verify_at_unix(&header, BODY, T - 10_000)
            .unwrap_err(),
        rotation.verify_at_unix("t=x", BODY, T).unwrap_err(),
        rotation
            .verify_at_unix(&format!("t={T}"), BODY, T)
            .unwrap_err(),
        rotation.verify_at_unix("", BODY, T).unwrap_err(),
        WebhookVerifier::new("").unwrap_err(),
    ];
    let bad_body = b"not json";
    errors.push(
        rotation
            .verify_at_unix(&sign(&secret(), T, bad_body), bad_body, T)
            .unwrap_err(),
    );

    let mut printed = vec![format!("{rotation:?}"), format!("{:?}", verifier())];
    for err in &errors {
        printed.push(format!("{err:?}"));
        printed.push(err.to_string());
    }
    for text in &printed {
        assert!(!text.contains("canary"), "secret leaked: {text}");
        assert!(!text.contains(&expected_sig), "signature leaked: {text}");
    }
    // The Debug output is still useful.
    assert!(printed[0].contains("REDACTED"), "{}", printed[0]);
}

#[test]
fn a_forged_signature_with_a_stale_timestamp_is_a_forgery_not_a_replay() {
    // The documented order: the signature is checked before the timestamp, so a delivery
    // that fails both is reported as forged, never as an authentic delivery that came late.
    let forged = sign(&Secret::new("whsec_attacker"), T - 3600, BODY);
    assert!(matches!(
        verifier().verify_at_unix(&forged, BODY, T),
        Err(WebhookError::SignatureMismatch)
    ));
    let from_the_future = sign(&Secret::new("whsec_attacker"), T + 3600, BODY);
    assert!(matches!(
        verifier().verify_at_unix(&from_the_future, BODY, T),
        Err(WebhookError::SignatureMismatch)
    ));
    // The same stale timestamp, signed with the real secret, is a replay.
    let replayed = sign(&secret(), T - 3600, BODY);
    assert!(matches!(
        verifier().verify_at_unix(&replayed, BODY, T),
        Err(WebhookError::Stale { .. })
    ));
}
