//! Regression tests for defects found by attacking the client with bad input (issue 9), each
//! through the public API and against the local Spoki.

use spoki_client::models::{AutomationStart, Phone};
use spoki_client::{Client, Error, InputError, WebhookVerifier};
use spoki_mock::MockSpoki;
use spoki_mock::OperationId;
use spoki_models::operation;

#[path = "../common/mod.rs"]
mod common;
use common::quiet_mock as mock;

fn client(mock: &MockSpoki) -> Client {
    Client::builder()
        .base_url(mock.url())
        .api_key(mock.fixtures().client_api_key.as_str())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_path_parameter_never_changes_the_path() {
    let spoki = mock().await;
    let client = client(&spoki);
    let body = AutomationStart::new("a-secret", Phone::parse("+393331234567").unwrap());
    for uuid in ["..", ".", ""] {
        let err = client.automations().start(uuid, &body).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput(InputError::PathSegment(_))),
            "{uuid:?}: {err:?}"
        );
    }
    let err = client.accounts().get_by_phone("..").await.unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InputError::PathSegment(_))
    ));
    assert!(spoki.received().is_empty(), "nothing was sent");

    // Other values stay inside their one segment.
    let err = client
        .automations()
        .start("a/../..", &body)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(spoki.received()[0].path, "/wh/ap/a%2F..%2F../");
}

#[tokio::test]
async fn the_users_reqwest_client_is_the_one_that_sends() {
    let spoki = mock().await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-crm-instance", "eu-7".parse().unwrap());
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let client = Client::builder()
        .base_url(spoki.url())
        .api_key(spoki.fixtures().client_api_key.as_str())
        .reqwest_client(http.clone())
        .build()
        .unwrap();
    client.templates().list().send().await.unwrap();
    assert_eq!(
        spoki.received()[0]
            .headers
            .get("x-crm-instance")
            .map(String::as_str),
        Some("eu-7"),
        "only the user's client adds this header"
    );

    // A transport and a reqwest client at once: one would be dropped, so it is an error.
    let both = Client::builder()
        .api_key("k")
        .reqwest_client(http)
        .transport(spoki_client::ReqwestTransport::from_client(
            reqwest::Client::new(),
        ))
        .build();
    assert!(matches!(both, Err(Error::InvalidInput(_))));
}

#[tokio::test]
async fn a_raw_call_must_use_its_operations_path() {
    let spoki = mock().await;
    let client = client(&spoki);
    spoki.inbound("+393331234567", "ciao").unwrap();
    let send = serde_json::json!({"type": "Message", "content_type": "Text",
                                  "phone": "+393331234567", "text": "hi"});
    // A send posted under an idempotent operation's name would be retried as a read.
    for (op, path) in [
        (&operation::CONTACTS_GET, "/api/1/messages/send/"),
        (
            &operation::CONTACTS_GET,
            "/api/1/contacts/../messages/send/",
        ),
        (&operation::CONTACTS_GET, "/api/1/contacts/%2e%2E/"),
        (&operation::CONTACTS_GET, "/api/1/contacts/1/?x=1"),
    ] {
        let err = client
            .call_raw(op, path, &[], Some(&send))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{path}: {err:?}");
    }
    assert!(spoki.received().is_empty());
    let sent = client
        .call_raw(
            &operation::MESSAGES_SEND_TEXT,
            "/api/1/messages/send/",
            &[],
            Some(&send),
        )
        .await
        .unwrap();
    assert_eq!(sent["accepted"], true);
    assert_eq!(spoki.messages().len(), 1);
}

#[test]
fn secrets_of_control_characters_are_blank() {
    for blank in ["", " ", "\0", "\0\0", "\t\u{7f}\n"] {
        assert!(
            WebhookVerifier::new(blank).is_err(),
            "{blank:?} must be refused as a webhook secret"
        );
        let built = Client::builder().api_key(blank).build();
        assert!(
            matches!(built, Err(Error::InvalidInput(InputError::EmptySecret(_)))),
            "{blank:?} must be refused as an API key"
        );
    }
    assert!(WebhookVerifier::new("whsec_\0x").is_ok());
}

#[tokio::test]
async fn an_automation_secret_of_nul_bytes_is_refused_before_sending() {
    let spoki = mock().await;
    let body = AutomationStart::new("\0\0", Phone::parse("+393331234567").unwrap());
    let err = client(&spoki)
        .automations()
        .start(&spoki.fixtures().automation_uuid, &body)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(InputError::Constraint(_))),
        "{err:?}"
    );
    assert!(spoki.received().is_empty());
}

#[tokio::test]
async fn a_huge_answer_is_dropped_as_it_streams_in() {
    let spoki = mock().await;
    let huge = "x".repeat(2 * 1024 * 1024);
    for status in [200, 500] {
        spoki
            .fault(
                OperationId::AccountsGet,
                spoki_mock::Fault::answer(status, serde_json::json!({ "detail": huge })),
                1,
            )
            .unwrap();
        let client = Client::builder()
            .base_url(spoki.url())
            .api_key(spoki.fixtures().agency_api_key.as_str())
            .max_response_bytes(1024 * 1024)
            .build()
            .unwrap();
        let err = client.accounts().get(101).await.unwrap_err();
        let Error::Transport { source, .. } = &err else {
            panic!("{status}: {err:?}")
        };
        assert_eq!(source.kind(), spoki_client::TransportErrorKind::TooLarge);
        assert!(err.outcome_unknown(), "Spoki answered: it may have acted");
        // Below the limit, the same client reads answers as usual.
        assert_eq!(client.accounts().get(101).await.unwrap().id, 101);
    }
}

#[tokio::test]
async fn credentials_in_a_bad_answer_never_reach_the_error_text() {
    let spoki = mock().await;
    let f = spoki.fixtures();
    let planted = "sk-live-PLANTED-0001";
    let client = Client::builder()
        .base_url(spoki.url())
        .api_key(f.agency_api_key.as_str())
        .build()
        .unwrap();
    for (status, body) in [
        // A value of the wrong type: serde's message would quote it.
        (200, serde_json::json!({"id": planted})),
        // An error whose field errors hold objects inside arrays.
        (
            400,
            serde_json::json!({"errors": [{"api_key": planted, "field": "x"}]}),
        ),
        (400, serde_json::json!({"detail": "bad", "token": planted})),
    ] {
        spoki
            .fault(
                OperationId::AccountsGet,
                spoki_mock::Fault::answer(status, body),
                1,
            )
            .unwrap();
        let err = client.accounts().get(101).await.unwrap_err();
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains(planted), "{status}: {text}");
        }
    }
}

#[tokio::test]
async fn the_debug_of_an_error_names_the_operation_without_dumping_the_table() {
    let spoki = mock().await;
    let err = client(&spoki).contacts().get(424242).await.unwrap_err();
    let debug = format!("{err:?}");
    assert!(debug.contains(r#"Operation("contacts_get")"#), "{debug}");
    for table_field in ["rate_class", "idempotent", "sensitive_response", "path:"] {
        assert!(!debug.contains(table_field), "{table_field} in {debug}");
    }
    spoki
        .fault(
            OperationId::ContactsGet,
            spoki_mock::Fault::answer(200, serde_json::json!({"id": "not a number"})),
            1,
        )
        .unwrap();
    let err = client(&spoki).contacts().get(9001).await.unwrap_err();
    let Error::Decode { operation, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        *operation,
        &operation::CONTACTS_GET,
        "the same type as the other variants"
    );
}

/// Run again as a child process with the variables set (edition 2024 makes `set_var` unsafe,
/// and the workspace forbids unsafe code).
#[test]
fn a_client_from_the_environment() {
    const EXPECT: &str = "SPOKI_TEST_EXPECT_BASE_URL";
    if let Ok(expected) = std::env::var(EXPECT) {
        let client = Client::from_env().expect("the child has SPOKI_API_KEY");
        assert_eq!(client.base_url(), expected);
        return;
    }
    let run = |vars: &[(&str, &str)]| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "a_client_from_the_environment",
                "--exact",
                "--test-threads=1",
            ])
            .env_remove(spoki_client::API_KEY_ENV)
            .env_remove(spoki_client::BASE_URL_ENV)
            .envs(vars.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    assert!(run(&[
        ("SPOKI_API_KEY", "a-key"),
        ("SPOKI_BASE_URL", "http://127.0.0.1:9"),
        (EXPECT, "http://127.0.0.1:9"),
    ]));
    assert!(run(&[
        ("SPOKI_API_KEY", "a-key"),
        (EXPECT, "https://api.spoki.com")
    ]));
    assert!(
        !run(&[(EXPECT, "https://api.spoki.com")]),
        "no key, no client"
    );
    if std::env::var(spoki_client::API_KEY_ENV).is_err() {
        let err = Client::from_env().unwrap_err();
        assert!(err.to_string().contains("SPOKI_API_KEY"), "{err}");
    }
}
