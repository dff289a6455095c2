//! Record changes delivered as webhooks, each automation's own start budget, failed automation
//! sends reported, and faults cleared over HTTP.

mod receiver;

use receiver::Receiver;
use spoki_client::models::{
    AutomationStart, ContactListCreate, ContactSync, Phone, WebhookEvent, WebhookVersion,
    WebhookWrite,
};
use spoki_client::webhook::{Event, WebhookVerifier};
use spoki_client::{Client, Error};
use spoki_mock::OperationId;
use spoki_mock::{Fault, MockSpoki, RateLimits};
use spoki_models::RateClass;
use std::time::{Duration, SystemTime};

#[path = "../common/mod.rs"]
mod common;
use common::bare as client;

#[tokio::test]
async fn contact_and_list_changes_are_delivered_as_their_typed_events() {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    let receiver = Receiver::start(0).await;
    let spoki = client(&mock, &f.client_api_key);
    let events = [
        WebhookEvent::ContactCreated,
        WebhookEvent::ContactUpdated,
        WebhookEvent::ContactDeleted,
        WebhookEvent::ContactListCreated,
        WebhookEvent::ContactListDeleted,
    ];
    let mut secrets = Vec::new();
    for event in events {
        let hook = spoki
            .webhooks()
            .create(
                &WebhookWrite::default()
                    .event(event)
                    .version(WebhookVersion::V2)
                    .url(receiver.url.as_str()),
            )
            .await
            .unwrap();
        secrets.push(hook.secret.unwrap());
    }
    let phone = Phone::parse("+393470004444").unwrap();
    let created = spoki
        .contacts()
        .sync(&ContactSync::new(phone.clone()))
        .await
        .unwrap();
    spoki
        .contacts()
        .sync(&ContactSync::new(phone).first_name("Giulia"))
        .await
        .unwrap();
    spoki.contacts().delete(created.id).await.unwrap();
    let list = spoki
        .lists()
        .create(&ContactListCreate::new("vip"))
        .await
        .unwrap();
    spoki.lists().delete(list.id).await.unwrap();

    let log = mock.wait_for_deliveries(5, Duration::from_secs(10)).await;
    let names: Vec<&str> = log.iter().map(|d| d.event.as_str()).collect();
    assert_eq!(
        names,
        [
            "contact.created",
            "contact.updated",
            "contact.deleted",
            "contact_list.created",
            "contact_list.deleted"
        ]
    );
    // Each arrives signed with its webhook's secret and decodes into its own typed arm.
    let received = receiver.received();
    assert_eq!(received.len(), 5);
    for (delivery, secret) in received.iter().zip(&secrets) {
        let account = f.client_account_id.to_string();
        assert_eq!(delivery.account.as_deref(), Some(account.as_str()));
        let verifier = WebhookVerifier::new(secret.clone()).unwrap();
        let decoded = verifier
            .verify(
                delivery.signature.as_deref().unwrap(),
                &delivery.body,
                SystemTime::now(),
            )
            .unwrap();
        match &decoded.event {
            Event::ContactCreated(c) | Event::ContactDeleted(c) => {
                assert_eq!(c.phone.as_deref(), Some("+393470004444"))
            }
            Event::ContactUpdated(c) => assert_eq!(c.first_name.as_deref(), Some("Giulia")),
            Event::ContactListCreated(l) | Event::ContactListDeleted(l) => {
                assert_eq!(l.name.as_deref(), Some("vip"))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn each_automation_has_its_own_start_budget() {
    // Two calls a minute for every budget of the default class.
    let mock = MockSpoki::builder()
        .rate_limits(RateLimits::default().quota(RateClass::Default, 2, Duration::from_secs(60)))
        .start()
        .await
        .unwrap();
    let f = mock.fixtures();
    let starter = Client::builder()
        .base_url(mock.url())
        .without_rate_limits()
        .without_retries()
        .build()
        .unwrap();
    let start = |phone: &str| {
        let body = AutomationStart::new(f.automation_secret.as_str(), Phone::parse(phone).unwrap())
            .custom_fields([("DATE_EXPIRE_SCRIPTION", "2026-12-31")]);
        let (starter, uuid) = (starter.clone(), f.automation_uuid.clone());
        async move { starter.automations().start(&uuid, &body).await }
    };
    start("+393470005001").await.unwrap();
    start("+393470005002").await.unwrap();
    let third = start("+393470005003").await.unwrap_err();
    assert!(
        matches!(
            third,
            Error::RateLimited {
                client_side: false,
                retry_after: Some(_)
            }
        ),
        "{third:?}"
    );
    // The automation's budget is its own: the account's key still has all of its budget.
    let spoki = client(&mock, &f.client_api_key);
    spoki.accounts().get(f.client_account_id).await.unwrap();
    spoki.accounts().get(f.client_account_id).await.unwrap();
}

#[tokio::test]
async fn an_automation_send_that_fails_is_reported_and_kept() {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    // The account that runs out of credit: the start is accepted, the send then fails.
    let starter = Client::builder()
        .base_url(mock.url())
        .without_rate_limits()
        .build()
        .unwrap();
    let spoki = client(&mock, &f.client_api_key);
    let credit = mock
        .credit(f.client_account_id)
        .map(|c| c.micros())
        .unwrap();
    let body = AutomationStart::new(
        f.automation_secret.as_str(),
        Phone::parse("+393470006001").unwrap(),
    )
    .custom_fields([("DATE_EXPIRE_SCRIPTION", "2026-12-31")]);
    // Spend the credit down with template sends first.
    let mut sent = 0;
    while mock
        .credit(f.client_account_id)
        .map(|c| c.micros())
        .unwrap()
        > 0
        && sent < 1000
    {
        let template = spoki_client::models::SendTemplate::new(
            Phone::parse(&format!("+3934700070{sent:02}")).unwrap(),
            f.utility_template_id,
        );
        if spoki.messages().send_template(&template).await.is_err() {
            break;
        }
        sent += 1;
    }
    assert!(credit > 0 && sent > 0);
    starter
        .automations()
        .start(&f.automation_uuid, &body)
        .await
        .expect("Spoki accepts the start and sends later");
    let failed: Vec<_> = mock
        .messages()
        .into_iter()
        .filter(|m| m.phone == "+393470006001")
        .collect();
    assert_eq!(failed.len(), 1, "the failed send is in the record");
    assert_eq!(failed[0].send_status, spoki_models::SendStatus::Error);
    assert_eq!(failed[0].error_code.as_deref(), Some("spoki::1029"));
}

#[tokio::test]
async fn delete_faults_clears_every_scripted_fault() {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    mock.fault(OperationId::AccountsGet, Fault::status(503), 5)
        .unwrap();
    let http = reqwest::Client::new();
    let cleared = http
        .delete(format!("{}/__mock/faults", mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    let spoki = client(&mock, &f.client_api_key);
    spoki.accounts().get(f.client_account_id).await.unwrap();
}
