//! The local Spoki's scripted faults (a lost answer, a reset, a delay) and its control surface:
//! what at-most-once sending must survive, and how a test drives it over HTTP.

use serde_json::{Value, json};
use spoki_client::Error;
use spoki_client::models::{Phone, SendTemplate, SendText};
use spoki_mock::OperationId;
use spoki_mock::{Fault, MockSpoki};
use std::time::Duration;

#[path = "../common/mod.rs"]
mod common;
use common::{bare as client, raw, stacked};

#[tokio::test]
async fn a_send_whose_answer_is_lost_is_recorded_once_through_the_retry_layer() {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    mock.inbound("+393331234567", "ciao").unwrap();
    mock.fault(OperationId::MessagesSendText, Fault::AnswerLost, 3)
        .unwrap();
    let spoki = stacked(&mock, &f.client_api_key);
    let err = spoki
        .messages()
        .send_text(&SendText::new(
            Phone::parse("+393331234567").unwrap(),
            "Il tuo ordine",
        ))
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err:?}");
    let sends: Vec<_> = mock
        .received()
        .into_iter()
        .filter(|r| r.operation.as_deref() == Some("messages_send_text"))
        .collect();
    assert_eq!(sends.len(), 1, "the retry layer did not send it again");
    assert_eq!(sends[0].status, None, "the answer never left");
    assert_eq!(mock.messages().len(), 1, "exactly one message recorded");
}

#[tokio::test]
async fn a_reset_before_processing_records_nothing() {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    mock.fault(OperationId::MessagesSendTemplate, Fault::Reset, 1)
        .unwrap();
    let err = stacked(&mock, &f.client_api_key)
        .messages()
        .send_template(
            &SendTemplate::new(
                Phone::parse("+393331234567").unwrap(),
                f.marketing_template_id,
            )
            .custom_fields([("DATE_EXPIRE_SCRIPTION", "2026-12-31")]),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(mock.messages().is_empty());
}

#[tokio::test]
async fn idempotent_reads_are_retried_through_scripted_faults() {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    mock.fault(OperationId::AccountsGet, Fault::status(503), 1)
        .unwrap();
    mock.fault(OperationId::AccountsGet, Fault::AnswerLost, 1)
        .unwrap();
    let account = stacked(&mock, &f.agency_api_key)
        .accounts()
        .get(f.client_account_id)
        .await
        .unwrap();
    assert_eq!(account.id, f.client_account_id);
    let statuses: Vec<_> = mock.received().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(503), None, Some(200)]);
}

#[tokio::test]
async fn a_scripted_delay_holds_the_answer() {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    mock.fault(OperationId::AccountsGet, Fault::Delay { ms: 300 }, 1)
        .unwrap();
    let started = std::time::Instant::now();
    client(&mock, &f.agency_api_key)
        .accounts()
        .get(f.client_account_id)
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn the_control_surface_speaks_http() {
    let mock = MockSpoki::start().await;
    let http = reqwest::Client::new();
    let fixtures: Value = http
        .get(format!("{}/__mock/fixtures", mock.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in [
        "agency_api_key",
        "client_api_key",
        "client_account_id",
        "automation_uuid",
        "automation_secret",
        "email",
        "private_key",
        "webhook_secret",
    ] {
        assert!(!fixtures[key].is_null(), "{key}");
    }
    let scripted = http
        .post(format!("{}/__mock/faults", mock.url()))
        .json(&json!({"operation": "accounts_get", "fault": {"kind": "status", "status": 502}, "times": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(scripted.status(), 200);
    let key = fixtures["agency_api_key"].as_str().unwrap();
    let (status, _, _) = raw(&mock, "GET", "/api/1/accounts/101/", Some(key), None).await;
    assert_eq!(status, 502);
    let inbound = http
        .post(format!("{}/__mock/inbound", mock.url()))
        .json(&json!({"phone": "+393470000002", "text": "Ciao"}))
        .send()
        .await
        .unwrap();
    assert_eq!(inbound.status(), 200);
    let requests: Value = http
        .get(format!("{}/__mock/requests", mock.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(requests.as_array().unwrap().len(), 1);
    assert_eq!(requests[0]["headers"]["x-spoki-api-key"], "[REDACTED]");
    let text = requests.to_string();
    assert!(!text.contains(key), "no key in the request log");
}
