//! The seed workflows end to end over reqwest: the vendor flow of seed 000, the iframe flow of
//! seed 003, and a webhook delivery verified with the SDK's verifier.

mod receiver;

use receiver::Receiver;
use serde_json::json;
use spoki_client::models::{
    AuthTokenRequest, AutomationContact, AutomationStartBulk, FillsPlaceholders, Phone,
    SendTemplate, WebhookEvent, WebhookVersion, WebhookWrite,
};
use spoki_client::webhook::WebhookVerifier;
use spoki_client::{Client, EmbedPage, IframeUrl};
use spoki_mock::MockSpoki;
use std::time::{Duration, SystemTime};

fn client(mock: &MockSpoki, key: &str) -> Client {
    Client::builder()
        .base_url(mock.url())
        .api_key(key)
        .build()
        .unwrap()
}

/// The request body of seed 000, with its typographic quotes straightened and the value its
/// template's `%%DATE_EXPIRE_SCRIPTION%%` needs, which the seed's example leaves out.
fn seed_000_body(secret: &str) -> serde_json::Value {
    json!({
        "secret": secret,
        "contacts": [
            {"phone": "+393331234567", "first_name": "Mario", "last_name": "Rossi",
             "email": "mario.rossi@domain.com",
             "custom_fields": {"DATA_SCADENZA_ABBONAMENTO": "2022-11-10T18:00:00.000Z",
                               "DATE_EXPIRE_SCRIPTION": "2022-11-10"}},
            {"phone": "+39333123461234", "first_name": "John", "last_name": "Bianchi",
             "email": "giovanni.bianchi@domain.com",
             "custom_fields": {"DATA_SCADENZA_ABBONAMENTO": "2022-11-10T18:00:00.000Z",
                               "DATE_EXPIRE_SCRIPTION": "2022-11-10"}}
        ]
    })
}

#[tokio::test]
async fn vendor_flow_checks_capacity_then_starts_the_automation_in_bulk() {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    let agency = client(&mock, &f.agency_api_key);

    let clients = agency.agencies().get(f.agency_id).await.unwrap().clients;
    let pizzeria = clients
        .iter()
        .find(|c| c.id == f.client_account_id)
        .unwrap();
    assert_eq!(pizzeria.estimated_available_conversations, Some(3));
    let hotel = clients.iter().find(|c| c.id == f.empty_account_id).unwrap();
    assert_eq!(hotel.estimated_available_conversations, Some(0));

    let contact = |phone: &str, first: &str, last: &str, email: &str| {
        AutomationContact::new(Phone::parse(phone).unwrap())
            .first_name(first)
            .last_name(last)
            .email(email)
            .custom_fields([("DATA_SCADENZA_ABBONAMENTO", "2022-11-10T18:00:00.000Z")])
    };
    // As the seed writes it, the start leaves the template's second placeholder empty: the
    // check refuses it before anything is sent.
    let needed = client(&mock, &f.client_api_key)
        .template_placeholders(f.marketing_template_id)
        .await
        .unwrap();
    let as_written = AutomationStartBulk::new(
        f.automation_secret.as_str(),
        [contact(
            "+393331234567",
            "Mario",
            "Rossi",
            "mario.rossi@domain.com",
        )],
    );
    let refused = as_written.check_placeholders(&needed).unwrap_err();
    assert_eq!(
        (refused.missing, refused.contact),
        (vec!["DATE_EXPIRE_SCRIPTION".to_owned()], Some(0))
    );
    let contact = |phone: &str, first: &str, last: &str, email: &str| {
        let mut filled = contact(phone, first, last, email);
        filled
            .custom_fields
            .insert("DATE_EXPIRE_SCRIPTION".into(), "2022-11-10".into());
        filled
    };
    let body = AutomationStartBulk::new(
        f.automation_secret.as_str(),
        [
            contact("+393331234567", "Mario", "Rossi", "mario.rossi@domain.com"),
            contact(
                "+39333123461234",
                "John",
                "Bianchi",
                "giovanni.bianchi@domain.com",
            ),
        ],
    );
    agency
        .automations()
        .start_bulk(&f.automation_uuid, &body)
        .await
        .unwrap();

    let start = mock.received().pop().unwrap();
    assert_eq!(start.operation.as_deref(), Some("automations_start_bulk"));
    assert_eq!(start.status, Some(200));
    assert_eq!(
        start.body,
        seed_000_body("[REDACTED]"),
        "the seed's exact JSON"
    );
    assert!(
        !start.headers.contains_key("x-spoki-api-key"),
        "no key on automation starts"
    );

    // Both recipients got the automation's marketing template, billed to the client.
    let sent = mock.messages();
    assert_eq!(sent.len(), 2);
    assert!(
        sent.iter()
            .all(|m| m.template_id == Some(f.marketing_template_id))
    );
    let after = agency.accounts().get(f.client_account_id).await.unwrap();
    assert_eq!(after.estimated_available_conversations, Some(1));
    assert_eq!(
        after.current_credit.map(|m| m.to_string()),
        Some("0.14 EUR".into())
    );
}

#[tokio::test]
async fn a_wrong_automation_secret_changes_nothing() {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    let body: AutomationStartBulk =
        serde_json::from_value(seed_000_body("not-the-secret")).unwrap();
    let err = client(&mock, &f.agency_api_key)
        .automations()
        .start_bulk(&f.automation_uuid, &body)
        .await
        .unwrap_err();
    let spoki_client::Error::Api(api) = err else {
        panic!("expected an API error, got {err:?}")
    };
    assert_eq!(api.status, 401);
    assert!(mock.messages().is_empty());
    let contacts = client(&mock, &f.client_api_key)
        .contacts()
        .list()
        .send()
        .await
        .unwrap();
    assert_eq!(contacts.count, Some(1), "no contact was created");
}

#[tokio::test]
async fn iframe_flow_exchanges_the_private_key_for_a_token_then_builds_the_chat_url() {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    let spoki = client(&mock, &f.client_api_key);
    let token = spoki
        .embedding()
        .get_authentication_token(&AuthTokenRequest::new(
            f.email.as_str(),
            f.private_key.as_str(),
        ))
        .await
        .unwrap();
    assert_eq!(token.uid, format!("svc-{}", f.service_user_role_id));
    let contacts = spoki
        .contacts()
        .list()
        .phone("+393331234567")
        .send()
        .await
        .unwrap();
    let chat_link = contacts.results[0].chat_link.as_deref().unwrap();
    let url = IframeUrl::new(&token, EmbedPage::from_chat_link(chat_link).unwrap()).build();
    let url = url.expose();
    assert!(
        url.starts_with("https://spoki.app/chats/5f1c2a9e-7d41-4b0a-a0c2-2f0f4b1e8d33?auth_token=")
    );
    assert!(url.contains(&format!("auth_uid=svc-{}", f.service_user_role_id)));

    let wrong = spoki
        .embedding()
        .get_authentication_token(&AuthTokenRequest::new(f.email.as_str(), "wrong-key"))
        .await
        .unwrap_err();
    assert!(
        matches!(wrong, spoki_client::Error::Api(ref e) if e.status == 401),
        "{wrong:?}"
    );
}

#[tokio::test]
async fn an_inbound_message_is_delivered_signed_and_verifies() {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    let receiver = Receiver::start(0).await;
    let spoki = client(&mock, &f.client_api_key);
    let hook = spoki
        .webhooks()
        .create(
            &WebhookWrite::default()
                .event(WebhookEvent::MessageInbound)
                .version(WebhookVersion::V2)
                .url(receiver.url.as_str()),
        )
        .await
        .unwrap();
    let secret = hook.secret.expect("a new webhook shows its secret");

    mock.inbound("+393331234567", "Vorrei rinnovare").unwrap();
    let log = mock.wait_for_deliveries(1, Duration::from_secs(10)).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].event, "message.inbound");

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].account.as_deref(),
        Some(f.client_account_id.to_string().as_str())
    );
    let verifier = WebhookVerifier::new(secret).unwrap();
    let delivery = verifier
        .verify(
            received[0].signature.as_deref().unwrap(),
            &received[0].body,
            SystemTime::now(),
        )
        .unwrap();
    let spoki_client::webhook::Event::MessageInbound(message) = &delivery.event else {
        panic!("not an inbound message")
    };
    assert_eq!(message.text.as_deref(), Some("Vorrei rinnovare"));
    assert_eq!(message.from_phone.as_deref(), Some("+393331234567"));

    // A forged body does not verify.
    let forged = String::from_utf8_lossy(&received[0].body).replace("rinnovare", "disdire");
    assert!(
        verifier
            .verify(
                received[0].signature.as_deref().unwrap(),
                forged.as_bytes(),
                SystemTime::now()
            )
            .is_err()
    );
}

#[tokio::test]
async fn a_failing_receiver_gets_the_delivery_again_with_backoff() {
    let mock = MockSpoki::builder()
        .delivery_retries(4, Duration::from_millis(20))
        .start()
        .await
        .unwrap();
    let f = mock.fixtures();
    let receiver = Receiver::start(2).await;
    let spoki = client(&mock, &f.client_api_key);
    spoki
        .webhooks()
        .create(
            &WebhookWrite::default()
                .event(WebhookEvent::MessageOutbound)
                .url(receiver.url.as_str()),
        )
        .await
        .unwrap();
    let send = SendTemplate::new(
        Phone::parse("+393470000002").unwrap(),
        f.utility_template_id,
    );
    spoki.messages().send_template(&send).await.unwrap();

    // Sent, then Delivered: two deliveries, the first two attempts failing.
    let log = mock.wait_for_deliveries(2, Duration::from_secs(10)).await;
    assert_eq!(log.iter().filter(|d| d.delivered).count(), 2, "{log:#?}");
    let attempts: usize = log.iter().map(|d| d.attempts.len()).sum();
    assert_eq!(attempts, 4, "two failed attempts, then each delivered once");
    assert_eq!(receiver.received().len(), 4);
    let failed: Vec<_> = log
        .iter()
        .flat_map(|d| &d.attempts)
        .filter(|a| a.status == Some(500))
        .collect();
    assert_eq!(failed.len(), 2);
}
