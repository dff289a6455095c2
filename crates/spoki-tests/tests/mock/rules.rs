//! Spoki's rules as the mock enforces them: credentials, validation, rate limits, billing,
//! pagination, and the scripted faults that at-most-once sending must survive.

use serde_json::{Value, json};
use spoki_client::Error;
use spoki_client::models::{ContactSync, Phone, SendTemplate, SendText};
use spoki_mock::{MockSpoki, RateLimits};
use spoki_models::RateClass;
use std::time::Duration;

#[path = "../common/mod.rs"]
mod common;
use common::{bare as client, raw};

fn api_error(err: Error) -> spoki_client::ApiError {
    match err {
        Error::Api(api) => api,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_missing_key_is_401_and_a_wrong_one_403_in_spokis_shape() {
    let mock = MockSpoki::start().await;
    let (status, body, _) = raw(&mock, "GET", "/api/1/contacts/", None, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["title"], "Unauthorized");
    let (status, body, _) = raw(&mock, "GET", "/api/1/contacts/", Some("wrong"), None).await;
    assert_eq!(status, 403);
    assert!(body["detail"].is_string());
    let (status, body, _) = raw(&mock, "GET", "/api/1/nothing-here/", Some("wrong"), None).await;
    assert_eq!(status, 404);
    assert_eq!(body["title"], "Not found");
}

#[tokio::test]
async fn a_client_key_reads_only_its_own_account() {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    let own = client(&mock, &f.client_api_key);
    assert_eq!(
        own.accounts().get(f.client_account_id).await.unwrap().id,
        f.client_account_id
    );
    let other = own.accounts().get(f.empty_account_id).await.unwrap_err();
    assert_eq!(api_error(other).status, 404);
}

#[tokio::test]
async fn bodies_are_decoded_with_the_models_and_fail_per_field() {
    let mock = MockSpoki::start().await;
    let key = mock.fixtures().client_api_key;
    let (status, body, _) = raw(
        &mock,
        "POST",
        "/api/1/contacts/sync/",
        Some(&key),
        Some(json!({"phone": "3331234567"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["phone"][0].as_str().unwrap().contains("E.164"),
        "{body}"
    );
    let (status, body, _) = raw(
        &mock,
        "POST",
        "/api/1/contacts/sync/",
        Some(&key),
        Some(json!({"first_name": "Mario"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.as_object()
            .unwrap()
            .keys()
            .any(|k| k.contains("phone") || k == "non_field_errors"),
        "{body}"
    );

    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/api/1/contacts/sync/", mock.url()))
        .header("X-Spoki-Api-Key", &key)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        mock.received()
            .last()
            .unwrap()
            .body
            .as_str()
            .unwrap()
            .contains("not JSON")
    );
}

#[tokio::test]
async fn more_than_500_contacts_in_one_sync_is_refused_and_500_are_taken() {
    let mock = MockSpoki::builder()
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap();
    let key = mock.fixtures().client_api_key;
    let contacts = |n: usize| -> Value {
        (0..n)
            .map(|i| json!({"phone": format!("+3934700{i:05}")}))
            .collect()
    };
    let (status, body, _) = raw(
        &mock,
        "POST",
        "/api/1/contacts/sync_all/",
        Some(&key),
        Some(contacts(501)),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["non_field_errors"][0]
            .as_str()
            .unwrap()
            .contains("500")
    );
    let (status, body, _) = raw(
        &mock,
        "POST",
        "/api/1/contacts/sync_all/",
        Some(&key),
        Some(contacts(500)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["created"], 500);
    let page = client(&mock, &key).contacts().list().send().await.unwrap();
    assert_eq!(page.count, Some(501), "Mario and the 500");
}

#[tokio::test]
async fn each_rate_class_is_enforced_per_key_with_retry_after() {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    // contacts/sync_all: 1 per minute.
    let body = || Some(json!([{"phone": "+393470000001"}]));
    let (first, _, _) = raw(
        &mock,
        "POST",
        "/api/1/contacts/sync_all/",
        Some(&f.client_api_key),
        body(),
    )
    .await;
    assert_eq!(first, 200);
    let (second, error, retry_after) = raw(
        &mock,
        "POST",
        "/api/1/contacts/sync_all/",
        Some(&f.client_api_key),
        body(),
    )
    .await;
    assert_eq!(second, 429);
    assert_eq!(error["title"], "Too Many Requests");
    let seconds: u64 = retry_after.unwrap().parse().unwrap();
    assert!((55..=60).contains(&seconds), "{seconds}");
    // Another key has its own budget.
    let (other, _, _) = raw(
        &mock,
        "POST",
        "/api/1/contacts/sync_all/",
        Some(&f.agency_api_key),
        body(),
    )
    .await;
    assert_eq!(other, 200);
    // The typed client reports it as RateLimited.
    let err = client(&mock, &f.client_api_key)
        .contacts()
        .sync_all(&[ContactSync::new(Phone::parse("+393470000003").unwrap())])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::RateLimited {
                client_side: false,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn quotas_can_be_scaled_down_or_turned_off() {
    let limits = RateLimits::default().quota(RateClass::ContactsList, 2, Duration::from_secs(60));
    let mock = MockSpoki::builder()
        .rate_limits(limits)
        .start()
        .await
        .unwrap();
    let key = mock.fixtures().client_api_key;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            raw(&mock, "GET", "/api/1/contacts/", Some(&key), None)
                .await
                .0,
        );
    }
    assert_eq!(statuses, [200, 200, 429]);

    let open = MockSpoki::builder()
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap();
    for _ in 0..3 {
        let (status, _, _) = raw(
            &open,
            "POST",
            "/api/1/contacts/sync_all/",
            Some(&key),
            Some(json!([{"phone": "+393470000001"}])),
        )
        .await;
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn free_form_needs_the_service_window_and_templates_spend_credit() {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    let spoki = client(&mock, &f.client_api_key);
    let luca = Phone::parse("+393470000002").unwrap();

    let refused = spoki
        .messages()
        .send_text(&SendText::new(luca.clone(), "Ciao"))
        .await
        .unwrap_err();
    let refused = api_error(refused);
    assert_eq!(refused.code.as_deref(), Some("whatsapp::131047"));
    assert!(mock.messages().is_empty());

    mock.inbound("+393470000002", "Buongiorno").unwrap();
    spoki
        .messages()
        .send_text(&SendText::new(luca.clone(), "Ciao"))
        .await
        .unwrap();
    // A reply inside the window opens a service conversation: 0.11 EUR in Italy.
    assert_eq!(
        mock.credit(f.client_account_id).map(|c| c.micros()),
        Some(420_000 - 110_000)
    );

    // A marketing template to a new customer opens a marketing conversation: 0.14 EUR.
    let anna = Phone::parse("+393470000009").unwrap();
    spoki
        .messages()
        .send_template(
            &SendTemplate::new(anna.clone(), f.marketing_template_id)
                .custom_fields([("DATE_EXPIRE_SCRIPTION", "2026-12-31")]),
        )
        .await
        .unwrap();
    assert_eq!(
        mock.credit(f.client_account_id).map(|c| c.micros()),
        Some(170_000)
    );
    // Again within 24 hours: joins the open conversation, free.
    spoki
        .messages()
        .send_template(
            &SendTemplate::new(anna, f.marketing_template_id)
                .custom_fields([("DATE_EXPIRE_SCRIPTION", "2026-12-31")]),
        )
        .await
        .unwrap();
    assert_eq!(
        mock.credit(f.client_account_id).map(|c| c.micros()),
        Some(170_000)
    );
    assert_eq!(mock.messages().len(), 3);
    assert_eq!(mock.messages()[1].cost.micros(), 140_000);
}

#[tokio::test]
async fn with_no_credit_left_sends_fail_with_spokis_credit_error() {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    let hotel = client(&mock, &f.empty_account_api_key);
    let body = spoki_client::models::TemplateCreate::new(
        "welcome",
        spoki_client::models::TemplateCategory::Utility,
        Vec::<spoki_client::models::TemplateLocalizationWrite>::new(),
    );
    let template = hotel.templates().create(&body).await.unwrap();
    let err = hotel
        .messages()
        .send_template(&SendTemplate::new(
            Phone::parse("+393470000002").unwrap(),
            template.id,
        ))
        .await
        .unwrap_err();
    let err = api_error(err);
    assert_eq!(err.code.as_deref(), Some("spoki::1029"));
    assert!(mock.messages().is_empty());
    assert_eq!(mock.credit(f.empty_account_id).map(|c| c.micros()), Some(0));
}

#[tokio::test]
async fn lists_page_with_count_next_and_previous() {
    let mock = MockSpoki::builder()
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap();
    let key = mock.fixtures().client_api_key;
    let contacts: Value = (0..4)
        .map(|i| json!({"phone": format!("+3934700000{i:02}")}))
        .collect();
    raw(
        &mock,
        "POST",
        "/api/1/contacts/sync_all/",
        Some(&key),
        Some(contacts),
    )
    .await;
    let (_, first, _) = raw(
        &mock,
        "GET",
        "/api/1/contacts/?page_size=2",
        Some(&key),
        None,
    )
    .await;
    assert_eq!(first["count"], 5);
    assert_eq!(first["page"], 1);
    assert_eq!(first["page_size"], 2);
    assert_eq!(first["results"].as_array().unwrap().len(), 2);
    assert!(first["previous"].is_null());
    let next = first["next"].as_str().unwrap();
    assert!(
        next.starts_with(mock.url()) && next.contains("page=2"),
        "{next}"
    );
    let (_, last, _) = raw(
        &mock,
        "GET",
        "/api/1/contacts/?page_size=2&page=3",
        Some(&key),
        None,
    )
    .await;
    assert!(last["next"].is_null());
    assert!(last["previous"].as_str().unwrap().contains("page=2"));
    let (status, _, _) = raw(
        &mock,
        "GET",
        "/api/1/contacts/?page_size=2&page=4",
        Some(&key),
        None,
    )
    .await;
    assert_eq!(status, 404);

    // The typed client follows `next` through every page.
    use futures::TryStreamExt;
    let all: Vec<_> = client(&mock, &key)
        .contacts()
        .list()
        .page_size(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
}

#[tokio::test]
async fn sync_upserts_by_phone_across_updates_and_deletes() {
    let mock = MockSpoki::builder()
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap();
    let f = mock.fixtures();
    let spoki = client(&mock, &f.client_api_key);
    let sync = |phone: &str| ContactSync::new(Phone::parse(phone).unwrap());
    let first = spoki.contacts().sync(&sync("+393470000100")).await.unwrap();
    assert_eq!(
        spoki
            .contacts()
            .sync(&sync("+393470000100"))
            .await
            .unwrap()
            .id,
        first.id
    );

    let moved = spoki_client::models::ContactUpdate::default()
        .phone(Phone::parse("+393470000200").unwrap());
    spoki.contacts().update(first.id, &moved).await.unwrap();
    assert_eq!(
        spoki
            .contacts()
            .sync(&sync("+393470000200"))
            .await
            .unwrap()
            .id,
        first.id
    );
    let fresh = spoki.contacts().sync(&sync("+393470000100")).await.unwrap();
    assert_ne!(fresh.id, first.id, "the old number is free again");

    spoki.contacts().delete(fresh.id).await.unwrap();
    assert_ne!(
        spoki
            .contacts()
            .sync(&sync("+393470000100"))
            .await
            .unwrap()
            .id,
        fresh.id
    );
}

#[tokio::test]
async fn operations_sharing_a_route_are_told_apart_by_their_body() {
    let mock = MockSpoki::builder()
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap();
    let f = mock.fixtures();
    let key = f.client_api_key.as_str();
    let contact = format!("/api/1/contacts/{}/", f.contact_id);
    let operation = |mock: &MockSpoki| mock.received().last().unwrap().operation.clone().unwrap();

    raw(
        &mock,
        "PATCH",
        &contact,
        Some(key),
        Some(json!({"is_blocked": true})),
    )
    .await;
    assert_eq!(operation(&mock), "contacts_block");
    raw(
        &mock,
        "PATCH",
        &contact,
        Some(key),
        Some(json!({"is_blocked": false})),
    )
    .await;
    assert_eq!(operation(&mock), "contacts_unblock");
    raw(
        &mock,
        "PATCH",
        &contact,
        Some(key),
        Some(json!({"first_name": "Mario"})),
    )
    .await;
    assert_eq!(operation(&mock), "contacts_update");
    // A body none of them accepts is judged as the first's, and refused per field.
    let (status, body, _) = raw(
        &mock,
        "PATCH",
        &contact,
        Some(key),
        Some(json!({"first_name": 7})),
    )
    .await;
    assert_eq!(
        (status, operation(&mock).as_str()),
        (400, "contacts_update"),
        "{body}"
    );

    let template = json!({"type": "Template", "phone": "+393331234567", "template": 1});
    raw(
        &mock,
        "POST",
        "/api/1/messages/send/",
        Some(key),
        Some(template.clone()),
    )
    .await;
    assert_eq!(operation(&mock), "messages_send_template");
    let mut with_media = template;
    with_media["header_media"] = json!({"url": "https://example.com/a.png", "filename": "a.png"});
    raw(
        &mock,
        "POST",
        "/api/1/messages/send/",
        Some(key),
        Some(with_media),
    )
    .await;
    assert_eq!(operation(&mock), "messages_send_template_header_media");
}

#[tokio::test]
async fn a_known_path_with_the_wrong_method_is_405_and_an_empty_segment_is_404() {
    let mock = MockSpoki::start().await;
    let key = mock.fixtures().client_api_key;
    let (status, _, _) = raw(&mock, "DELETE", "/api/1/messages/send/", Some(&key), None).await;
    assert_eq!(status, 405);
    let (status, body, _) = raw(&mock, "GET", "/api/1/contacts//", Some(&key), None).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        mock.received().last().unwrap().operation,
        None,
        "no operation matched"
    );
}

#[tokio::test]
async fn endpoints_without_a_published_limit_have_a_budget_each() {
    let limits = RateLimits::default().quota(RateClass::Default, 1, Duration::from_secs(60));
    let mock = MockSpoki::builder()
        .rate_limits(limits)
        .start()
        .await
        .unwrap();
    let key = mock.fixtures().client_api_key;
    let get = |path: &'static str| raw(&mock, "GET", path, Some(&key), None);
    assert_eq!(get("/api/1/templates/").await.0, 200);
    assert_eq!(
        get("/api/1/tags/").await.0,
        200,
        "another endpoint, another budget"
    );
    assert_eq!(get("/api/1/templates/").await.0, 429);
}
