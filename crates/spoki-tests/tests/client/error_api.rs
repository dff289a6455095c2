//! The error API's details: what it says and what it carries.

use async_trait::async_trait;
use spoki_client::{
    ApiError, Client, Error, HttpRequest, HttpResponse, Transport, TransportError,
    TransportErrorKind,
};
use spoki_mock::OperationId;
use spoki_models::operation;
use std::time::Duration;

/// Refuses every request as a client-side limiter would.
struct Throttling;

#[async_trait]
impl Transport for Throttling {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        Err(TransportError::new(TransportErrorKind::Throttled)
            .with_retry_after(Duration::from_secs(2)))
    }
}

#[tokio::test]
async fn a_client_side_refusal_is_a_rate_limit_that_says_when() {
    let client = Client::builder()
        .api_key("k")
        .transport(Throttling)
        .build()
        .unwrap();
    let err = client.accounts().get(1).await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { client_side: true, retry_after: Some(d) } if d == Duration::from_secs(2)),
        "{err:?}"
    );
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    assert_eq!(
        err.to_string(),
        "rate limited by the client-side limiter; retry after 2.000 s"
    );
    assert!(err.is_retryable() && !err.outcome_unknown());
}

#[test]
fn transport_errors_carry_their_retry_after() {
    let source =
        TransportError::new(TransportErrorKind::Timeout).with_retry_after(Duration::from_secs(5));
    let err = Error::Timeout {
        operation: &operation::ACCOUNTS_GET,
        source,
    };
    assert_eq!(err.retry_after(), Some(Duration::from_secs(5)));
    let source =
        TransportError::new(TransportErrorKind::Other).with_retry_after(Duration::from_secs(7));
    let err = Error::Transport {
        operation: &operation::ACCOUNTS_GET,
        source,
    };
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
}

#[test]
fn an_error_body_is_read_up_to_64_kib() {
    let small = br#"{"detail": "Not found.", "code": "spoki::1004"}"#;
    let api = ApiError::from_body(404, small);
    assert_eq!(api.detail.as_deref(), Some("Not found."));
    let mut big = br#"{"detail": "Not found.", "padding": ""#.to_vec();
    big.resize(64 * 1024 + 1 - 2, b'x');
    big.extend_from_slice(br#""}"#);
    assert_eq!(big.len(), 64 * 1024 + 1);
    assert_eq!(ApiError::from_body(404, &big).detail, None, "not parsed");
    big.truncate(64 * 1024 - 2);
    big.extend_from_slice(br#""}"#);
    assert_eq!(
        ApiError::from_body(404, &big).detail.as_deref(),
        Some("Not found."),
        "64 KiB exactly is still read"
    );
}

#[test]
fn every_error_shape_spoki_uses_reads_into_the_typed_fields() {
    let spoki = ApiError::from_body(
        400,
        br#"{"title": "Credit exhausted", "detail": "No credit left.", "code": "spoki::1029"}"#,
    );
    assert_eq!(
        (
            spoki.code.as_deref(),
            spoki.title.as_deref(),
            spoki.detail.as_deref()
        ),
        (
            Some("spoki::1029"),
            Some("Credit exhausted"),
            Some("No credit left.")
        )
    );
    let credit = ApiError::from_body(
        400,
        br#"{"error": "Insufficient credit", "error_code": 1029}"#,
    );
    assert_eq!(credit.code.as_deref(), Some("1029"));
    assert_eq!(credit.detail.as_deref(), Some("Insufficient credit"));
    assert!(credit.fields.is_empty(), "{:?}", credit.fields);
    let fields = ApiError::from_body(400, br#"{"phone": ["Enter a valid phone number."]}"#);
    assert_eq!(fields.fields["phone"], ["Enter a valid phone number."]);
    let message = ApiError::from_body(500, br#"{"message": "Server Error"}"#);
    assert_eq!(message.detail.as_deref(), Some("Server Error"));
}

#[tokio::test]
async fn a_page_with_one_bad_item_yields_the_good_items_and_one_typed_error() {
    let spoki = spoki_mock::MockSpoki::start().await;
    let page = serde_json::json!({
        "count": 3, "next": null, "previous": null,
        "results": [
            {"id": 1, "phone": "+393331234567"},
            {"id": "not-a-number", "phone": "+393331234568"},
            {"id": 3, "phone": "+393331234569"}
        ]
    });
    let answer = spoki_mock::Fault::answer(200, page);
    spoki.fault(OperationId::ContactsList, answer, 2).unwrap();
    let client = Client::builder()
        .base_url(spoki.url())
        .api_key(spoki.fixtures().client_api_key.as_str())
        .build()
        .unwrap();

    let (good, bad) = client.contacts().list().send_lenient().await.unwrap();
    let ids: Vec<i64> = good.results.iter().map(|c| c.id).collect();
    assert_eq!(ids, [1, 3]);
    assert_eq!(good.count, Some(3));
    assert_eq!(bad.len(), 1);
    assert_eq!((bad[0].index, bad[0].path.as_str()), (1, "results[1].id"));
    assert!(
        !bad[0].message.contains("not-a-number"),
        "{}",
        bad[0].message
    );

    // Strict decoding stays the default.
    let err = client.contacts().list().send().await.unwrap_err();
    assert!(
        matches!(err, Error::Decode { ref path, .. } if path == "results[1].id"),
        "{err:?}"
    );
}

#[test]
fn a_bare_array_page_names_bad_items_by_index() {
    let json = br#"[{"id": 1}, {"id": 2}, {"name": "no id"}]"#;
    let (good, bad) =
        spoki_client::models::Page::<spoki_client::models::Tag>::from_json_lenient(json).unwrap();
    assert_eq!(good.results.len(), 2);
    assert_eq!(bad[0].path, "[2]", "{}", bad[0]);
    assert!(
        spoki_client::models::Page::<spoki_client::models::Tag>::from_json_lenient(
            b"{\"results\": 5}"
        )
        .is_err()
    );
}
