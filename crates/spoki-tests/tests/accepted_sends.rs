//! Sends that Spoki accepts: every rule the local Spoki enforces comes back as its typed
//! error kind with a hint, the retry rule follows the kinds that change its answer, template
//! placeholders are checked before anything is sent, and many accounts share one client.

use serde_json::json;
use spoki_client::models::{ErrorKind, Phone, SendTemplate, SendText};
use spoki_client::{ApiError, Client, Error, InputError, ReqwestTransport};
use spoki_middleware::shared::RedisStore;
use spoki_middleware::{ClassQuota, RateLimitConfig, RateLimited};
use spoki_mock::{MockSpoki, RateLimits};
use spoki_models::RateClass;
use spoki_models::operation::OperationId;
use std::time::Duration;

mod common;
use common::{bare, quiet_mock, stacked};

fn kind(error: &Error) -> ErrorKind {
    error.kind().unwrap_or_else(|| panic!("no kind: {error:?}"))
}

/// The kind of a raw answer of the local Spoki, as the client reads it.
async fn raw_kind(
    mock: &MockSpoki,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: &[u8],
) -> ErrorKind {
    let http = reqwest::Client::new();
    let mut request = http
        .request(method.parse().unwrap(), format!("{}{path}", mock.url()))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(key) = key {
        request = request.header("X-Spoki-Api-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    ApiError::from_body(status, &response.bytes().await.unwrap()).kind
}

#[tokio::test]
async fn every_rule_of_the_local_spoki_comes_back_as_its_kind_with_a_hint() {
    let mock = MockSpoki::builder()
        .rate_limits(RateLimits::default().pair_rate(Duration::from_secs(60)))
        .start()
        .await
        .unwrap();
    let f = mock.fixtures();
    let client = bare(&mock, &f.client_api_key);
    let mario = Phone::parse("+393331234567").unwrap();
    let mut seen = Vec::new();

    // Credentials.
    let path = format!("/api/1/accounts/{}/", f.client_account_id);
    seen.push(raw_kind(&mock, "GET", &path, None, b"").await);
    let wrong = bare(&mock, "not-a-key")
        .accounts()
        .get(f.client_account_id)
        .await;
    seen.push(kind(&wrong.unwrap_err()));
    let start = spoki_client::models::AutomationStart::new("wrong-secret", mario.clone());
    let wrong = bare(&mock, &f.client_api_key)
        .automations()
        .start(&f.automation_uuid, &start)
        .await;
    seen.push(kind(&wrong.unwrap_err()));
    // Records, validation, methods and sizes.
    let missing = client.accounts().get(f.empty_account_id).await;
    seen.push(kind(&missing.unwrap_err()));
    let key = Some(f.client_api_key.as_str());
    seen.push(
        raw_kind(
            &mock,
            "POST",
            "/api/1/messages/send/",
            key,
            br#"{"phone": 1}"#,
        )
        .await,
    );
    seen.push(raw_kind(&mock, "PATCH", "/api/1/messages/send/", key, b"{}").await);
    let huge = vec![b' '; 64 * 1024 * 1024];
    seen.push(raw_kind(&mock, "POST", "/api/1/contacts/", key, &huge).await);
    // The service window, the pair rate, the credit and the template's placeholders.
    let closed = client
        .messages()
        .send_text(&SendText::new(
            Phone::parse("+393470001111").unwrap(),
            "Ciao",
        ))
        .await;
    seen.push(kind(&closed.unwrap_err()));
    mock.inbound(mario.as_str(), "Ciao").unwrap();
    let reply = SendText::new(mario.clone(), "Eccomi");
    client.messages().send_text(&reply).await.unwrap();
    let again = client.messages().send_text(&reply).await.unwrap_err();
    seen.push(kind(&again));
    assert!(
        again
            .retry_after()
            .is_some_and(|d| d >= Duration::from_secs(1))
    );
    let broke = bare(&mock, &f.empty_account_api_key)
        .messages()
        .send_template(&SendTemplate::new(mario.clone(), 1))
        .await;
    seen.push(kind(&broke.unwrap_err()));
    let unchecked = Client::builder()
        .base_url(mock.url())
        .api_key(f.client_api_key.as_str())
        .without_rate_limits()
        .check_placeholders(false)
        .build()
        .unwrap();
    let unfilled = unchecked
        .messages()
        .send_template(&SendTemplate::new(
            Phone::parse("+393470002222").unwrap(),
            f.marketing_template_id,
        ))
        .await;
    seen.push(kind(&unfilled.unwrap_err()));
    // The class limits: the bulk import allows one call a minute.
    let sync = [spoki_client::models::ContactSync::new(mario.clone())];
    client.contacts().sync_all(&sync).await.unwrap();
    seen.push(kind(&client.contacts().sync_all(&sync).await.unwrap_err()));

    use ErrorKind::*;
    assert_eq!(
        seen,
        [
            Unauthorized,
            Forbidden,
            Unauthorized,
            NotFound,
            InvalidRequest,
            InvalidRequest,
            InvalidRequest,
            ServiceWindowClosed,
            PairRateLimit,
            CreditExhausted,
            ParameterMismatch,
            RateLimited,
        ]
    );
    for kind in seen {
        assert!(!kind.hint().is_empty(), "{kind:?}");
    }
    assert!(ServiceWindowClosed.hint().contains("template"));
}

#[tokio::test]
async fn a_pair_rate_refusal_is_sent_again_after_its_wait_and_a_closed_window_never() {
    let mock = MockSpoki::builder()
        .rate_limits(RateLimits::default().pair_rate(Duration::from_millis(1500)))
        .start()
        .await
        .unwrap();
    let f = mock.fixtures();
    let client = stacked(&mock, &f.client_api_key);
    let mario = Phone::parse("+393331234567").unwrap();
    mock.inbound(mario.as_str(), "Ciao").unwrap();
    let reply = SendText::new(mario, "Eccomi");
    client.messages().send_text(&reply).await.unwrap();
    // Refused with whatsapp::131056 and Retry-After, then sent: nothing was doubled.
    client.messages().send_text(&reply).await.unwrap();
    assert_eq!(mock.calls(OperationId::MessagesSendText), 3);
    assert_eq!(mock.messages().len(), 2);

    let stranger = SendText::new(Phone::parse("+393470001111").unwrap(), "Ciao");
    let closed = client.messages().send_text(&stranger).await.unwrap_err();
    assert_eq!(closed.kind(), Some(ErrorKind::ServiceWindowClosed));
    assert!(!closed.is_retryable() && !closed.outcome_unknown());
    assert_eq!(
        mock.calls(OperationId::MessagesSendText),
        4,
        "sent once, not again"
    );
}

#[tokio::test]
async fn a_template_send_missing_a_placeholder_value_never_reaches_spoki() {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    let client = bare(&mock, &f.client_api_key);
    let anna = Phone::parse("+393470000009").unwrap();
    let body = SendTemplate::new(anna.clone(), f.marketing_template_id);
    let error = client.messages().send_template(&body).await.unwrap_err();
    let Error::InvalidInput(InputError::Placeholders { template, missing }) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*template, f.marketing_template_id);
    assert_eq!(missing.missing, ["DATE_EXPIRE_SCRIPTION"]);
    assert!(
        error.to_string().contains("%%DATE_EXPIRE_SCRIPTION%%"),
        "{error}"
    );
    assert_eq!(mock.calls(OperationId::MessagesSendTemplate), 0);

    // Filled, it goes; the template was read once for both sends.
    let filled = body.custom_fields([("DATE_EXPIRE_SCRIPTION", "2026-12-31")]);
    client.messages().send_template(&filled).await.unwrap();
    assert_eq!(mock.calls(OperationId::MessagesSendTemplate), 1);
    assert_eq!(mock.calls(OperationId::TemplatesGet), 1);

    // A template that does not exist is named as such.
    let ghost = SendTemplate::new(anna, 987_654);
    let error = client.messages().send_template(&ghost).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::InvalidInput(InputError::UnknownTemplate(987_654))
        ),
        "{error:?}"
    );
    assert_eq!(mock.calls(OperationId::MessagesSendTemplate), 1);

    // A raw call is checked just the same.
    let raw = json!({
        "type": "Template", "phone": "+393470000009",
        "template": f.marketing_template_id, "custom_fields": {"DATE_EXPIRE_SCRIPTION": " "},
    });
    let op = &spoki_models::operation::MESSAGES_SEND_TEMPLATE;
    let error = client
        .call_raw(op, op.path, &[], Some(&raw))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::InvalidInput(InputError::Placeholders { .. })),
        "{error:?}"
    );
    assert_eq!(mock.calls(OperationId::MessagesSendTemplate), 1);
}

#[tokio::test]
async fn an_empty_map_written_as_a_list_is_taken_as_empty() {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    let body = json!({
        "type": "Template", "phone": "+393470000010",
        "template": f.utility_template_id, "custom_fields": [],
    });
    let response = reqwest::Client::new()
        .post(format!("{}/api/1/messages/send/", mock.url()))
        .header("X-Spoki-Api-Key", f.client_api_key.as_str())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

#[tokio::test]
async fn fifty_accounts_share_one_client_and_its_connections() {
    let mock = quiet_mock().await;
    let f = mock.fixtures();
    let agency = bare(&mock, &f.agency_api_key);
    agency.agencies().get(f.agency_id).await.unwrap();
    let one = mock.connections_accepted();
    // Fifty client accounts on the agency's client: their keys are not the local Spoki's,
    // so each call is refused, on the connection the agency's client already holds.
    for n in 0..50 {
        let account = agency
            .with_api_key(format!("client-account-key-{n}"))
            .unwrap();
        let refused = account
            .accounts()
            .get(f.client_account_id)
            .await
            .unwrap_err();
        assert_eq!(refused.kind(), Some(ErrorKind::Forbidden));
    }
    let client_account = agency.with_api_key(f.client_api_key.as_str()).unwrap();
    client_account
        .accounts()
        .get(f.client_account_id)
        .await
        .unwrap();
    assert_eq!(
        mock.connections_accepted(),
        one,
        "no connection beyond the first"
    );

    // Fifty clients of their own open fifty pools.
    let before = mock.connections_accepted();
    for n in 0..50 {
        let own = bare(&mock, &format!("client-account-key-{n}"));
        own.accounts().get(f.client_account_id).await.unwrap_err();
    }
    assert_eq!(mock.connections_accepted() - before, 50);
    assert!(agency.with_api_key("  ").is_err());
}

/// A client that fails fast on a budget with no slot free, its class quota too large to
/// matter, so that only the pace per recipient can refuse; its budgets kept in `store`.
fn paced(mock: &MockSpoki, store: impl spoki_middleware::LimitStore + 'static) -> Client {
    let transport =
        ReqwestTransport::new(Duration::from_secs(2), Duration::from_secs(10), "tests").unwrap();
    let limits = RateLimitConfig::default()
        .fail_fast()
        .quota(
            RateClass::Default,
            ClassQuota::new(10_000, Duration::from_secs(1)),
        )
        .store(store);
    Client::builder()
        .base_url(mock.url())
        .api_key(mock.fixtures().client_api_key.as_str())
        .transport(RateLimited::with_config(transport, limits))
        .build()
        .unwrap()
}

/// Sends to 100 recipients who wrote first, then to the first of them again: the 100 all go,
/// the repeat is held back by the client, with the wait WhatsApp's pair rate asks.
async fn one_recipient_is_paced_and_a_hundred_are_not(mock: &MockSpoki, client: &Client) {
    let phones: Vec<Phone> = (0..100)
        .map(|n| Phone::parse(&format!("+39347100{n:04}")).unwrap())
        .collect();
    for phone in &phones {
        mock.inbound(phone.as_str(), "Ciao").unwrap();
    }
    for phone in &phones {
        // Each reaches Spoki (most then find the demo credit spent: not the client's concern).
        let text = SendText::new(phone.clone(), "Eccomi");
        let answer = client.messages().send_text(&text).await;
        assert!(
            !matches!(answer, Err(Error::RateLimited { .. })),
            "{answer:?}"
        );
    }
    let again = SendText::new(phones[0].clone(), "Ancora");
    let held = client.messages().send_text(&again).await.unwrap_err();
    assert!(
        matches!(
            held,
            Error::RateLimited {
                client_side: true,
                ..
            }
        ),
        "{held:?}"
    );
    let wait = held.retry_after().unwrap();
    assert!(
        wait > Duration::from_secs(3) && wait <= Duration::from_secs(6),
        "{wait:?}"
    );
    assert_eq!(
        mock.calls(OperationId::MessagesSendText),
        100,
        "the repeat never left"
    );
    // Another account's sends to the same recipient keep a budget of their own.
    let other = client
        .with_api_key(mock.fixtures().empty_account_api_key.as_str())
        .unwrap();
    let answer = other.messages().send_text(&again).await;
    assert!(
        !matches!(answer, Err(Error::RateLimited { .. })),
        "{answer:?}"
    );
}

#[tokio::test]
async fn sends_to_one_recipient_are_paced_in_process_and_to_others_not() {
    let mock = quiet_mock().await;
    let client = paced(&mock, spoki_middleware::LocalStore::new());
    one_recipient_is_paced_and_a_hundred_are_not(&mock, &client).await;
}

#[tokio::test]
async fn sends_to_one_recipient_are_paced_across_workers_through_redis() {
    let redis = spoki_mock::RedisServer::start();
    let mock = quiet_mock().await;
    let store = || RedisStore::open(&redis.url()).unwrap().prefix("pair");
    let first = paced(&mock, store());
    one_recipient_is_paced_and_a_hundred_are_not(&mock, &first).await;
    // A second worker, on its own store of the same Redis, is held back too.
    let second = paced(&mock, store());
    let again = SendText::new(Phone::parse("+393471000000").unwrap(), "Ancora");
    let held = second.messages().send_text(&again).await.unwrap_err();
    assert!(
        matches!(
            held,
            Error::RateLimited {
                client_side: true,
                ..
            }
        ),
        "{held:?}"
    );
}
