//! Requests built by the typed calls, per resource group: paths, headers, query encoding,
//! bodies; and how answers and failures come back.

mod support;

use spoki_client::models::constraint::Violation;
use spoki_client::models::operation::{self, OperationId};
use spoki_client::models::*;
use spoki_client::{Client, Error, InputError, MAX_CONTACTS_PER_SYNC};
use support::Recorder;

fn phone(text: &str) -> Phone {
    Phone::parse(text).unwrap()
}

#[tokio::test]
async fn every_api_key_call_carries_the_key_and_json_headers() {
    let recorder = Recorder::ok(r#"{"id": 5, "phone": "+393331234567"}"#);
    let contact = recorder
        .client()
        .contacts()
        .sync(&ContactSync::new(phone("+393331234567")).first_name("Mario"))
        .await
        .unwrap();
    assert_eq!(contact.id, 5);
    let seen = recorder.last();
    assert_eq!(seen.header("x-spoki-api-key"), Some("canary-api-key-0001"));
    assert!(seen.headers.get("x-spoki-api-key").unwrap().is_sensitive());
    assert_eq!(seen.header("accept"), Some("application/json"));
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert!(seen.header("user-agent").unwrap().starts_with("spoki-rs/"));
    assert_eq!(
        seen.json(),
        serde_json::json!({"phone": "+393331234567", "first_name": "Mario"})
    );
}

#[tokio::test]
async fn contacts_list_encodes_its_query() {
    let recorder = Recorder::ok(r#"{"count": 0, "results": []}"#);
    recorder
        .client()
        .contacts()
        .list()
        .search("mario rossi & co")
        .is_blocked(false)
        .status(MarketingStatus::NotDeclared)
        .phone("+393331234567")
        .page_size(100)
        .send()
        .await
        .unwrap();
    let seen = recorder.last();
    assert_eq!(seen.path, "/api/1/contacts/");
    assert_eq!(
        seen.query.as_deref(),
        Some(
            "search=mario+rossi+%26+co&is_blocked=false&status=Not+Declared&phone=%2B393331234567&page_size=100"
        )
    );
    assert!(seen.body.is_empty());
}

#[tokio::test]
async fn path_parameters_cannot_escape_their_segment() {
    let recorder = Recorder::ok(r#"{"id": 1}"#);
    let client = recorder.client();
    client
        .accounts()
        .get_by_phone("+39 333/../x")
        .await
        .unwrap();
    assert_eq!(
        recorder.last().path,
        "/api/1/accounts/phone/%2B39%20333%2F..%2Fx/"
    );
    client
        .channels()
        .lookup_by_phone("+393331234567")
        .await
        .unwrap();
    assert_eq!(
        recorder.last().path,
        "/api/1/channel/phone/%2B393331234567/"
    );
}

#[tokio::test]
async fn reports_and_campaigns_take_typed_dates() {
    let recorder = Recorder::ok(r#"[]"#);
    let client = recorder.client();
    client
        .reports()
        .detailed()
        .granularity(ReportGranularity::Day)
        .start_date(Date::parse("2024-07-01").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        recorder.last().query.as_deref(),
        Some("granularity=Day&start_date=2024-07-01")
    );
    let recorder = Recorder::ok(r#"{"results": []}"#);
    recorder
        .client()
        .campaigns()
        .list()
        .scheduled_datetime_gte(Timestamp::parse("2024-07-15T10:00:00Z").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        recorder.last().query_pairs(),
        [(
            "scheduled_datetime_gte".to_owned(),
            "2024-07-15T10:00:00Z".to_owned()
        )]
    );
}

#[tokio::test]
async fn templates_calls() {
    let recorder =
        Recorder::ok(r#"{"id": 9, "category": "MARKETING", "templatelocalization_set": []}"#);
    let client = recorder.client();
    let clone = client.templates().clone(9).await.unwrap();
    assert_eq!(clone.category, Some(TemplateCategory::Marketing));
    assert_eq!(
        (
            recorder.last().method.as_str(),
            recorder.last().path.as_str()
        ),
        ("GET", "/api/1/templates/9/clone/")
    );
    let recorder = Recorder::ok("");
    recorder
        .client()
        .templates()
        .delete(9)
        .force_delete(true)
        .send()
        .await
        .unwrap();
    let seen = recorder.last();
    assert_eq!(
        (seen.method.as_str(), seen.query.as_deref()),
        ("DELETE", Some("force_delete=true"))
    );
}

#[tokio::test]
async fn action_posts_send_an_empty_json_object() {
    let recorder = Recorder::ok("");
    recorder.client().templates().submit(3).await.unwrap();
    let seen = recorder.last();
    assert_eq!(seen.body.as_ref(), b"{}");
    assert_eq!(seen.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn automation_starts_need_no_api_key() {
    let recorder = Recorder::ok("");
    let client = Client::builder()
        .base_url("http://127.0.0.1:9")
        .transport(recorder.clone())
        .build()
        .unwrap();
    let body =
        AutomationStart::new("canary-secret-0001", phone("+393331234567")).first_name("Mario");
    client
        .automations()
        .start("0b7c-uuid", &body)
        .await
        .unwrap();
    let seen = recorder.last();
    assert_eq!(seen.path, "/wh/ap/0b7c-uuid/");
    assert_eq!(seen.header("x-spoki-api-key"), None);
    assert_eq!(seen.json()["secret"], "canary-secret-0001");

    let err = client.accounts().get(1).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InputError::MissingApiKey(OperationId::AccountsGet))
        ),
        "{err}"
    );
    assert_eq!(recorder.seen().len(), 1, "nothing sent without a key");
}

#[tokio::test]
async fn bad_input_is_rejected_before_anything_is_sent() {
    let recorder = Recorder::ok("{}");
    let client = recorder.client();

    let blank = AutomationStartBulk::new("  ", [AutomationContact::new(phone("+393331234567"))]);
    let err = client
        .automations()
        .start_bulk("u", &blank)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(InputError::Constraint(c)) if c.violation == Violation::BlankSecret && c.field == "secret"),
        "{err}"
    );

    let nobody = AutomationStartBulk::new("s3cret", Vec::<AutomationContact>::new());
    assert!(matches!(
        client.automations().start_bulk("u", &nobody).await,
        Err(Error::InvalidInput(InputError::Constraint(c))) if c.violation == Violation::TooFew { count: 0, min: 1 }
    ));

    let too_many: Vec<ContactSync> = (0..=MAX_CONTACTS_PER_SYNC)
        .map(|i| ContactSync::new(phone(&format!("+39333{i:07}"))))
        .collect();
    let err = client.contacts().sync_all(&too_many).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::InvalidInput(InputError::Constraint(c))
                if c.violation == Violation::TooMany { count: 501, max: 500 }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("501 items; at most 500"), "{err}");
    let err = client
        .lists()
        .sync_contacts(4, &ListSyncContacts::new(too_many))
        .await
        .unwrap_err();
    assert!(matches!(
        &err,
        Error::InvalidInput(InputError::Constraint(c)) if c.field == "contacts"
            && matches!(c.violation, Violation::TooMany { .. })
    ));

    let err = client
        .embedding()
        .get_authentication_token(&AuthTokenRequest::new("a@b.it", ""))
        .await
        .unwrap_err();
    assert!(matches!(
        &err,
        Error::InvalidInput(InputError::Constraint(c))
            if c.field == "private_key" && c.violation == Violation::BlankSecret
    ));

    assert!(recorder.seen().is_empty(), "nothing may be sent");
    assert_eq!(
        "+39 333".parse::<Phone>().unwrap_err(),
        PhoneError::NotADigit { found: ' ', at: 3 }
    );
}

#[tokio::test]
async fn api_errors_carry_spoki_details() {
    let recorder = Recorder::new(|_| {
        (
            402,
            vec![],
            r#"{"title": "Credit", "detail": "Credit exhausted", "code": "spoki::1029"}"#.into(),
        )
    });
    let err = recorder
        .client()
        .messages()
        .send_text(&SendText::new(phone("+393331234567"), "hi"))
        .await
        .unwrap_err();
    let api = err.api_error().unwrap();
    assert_eq!(
        (api.status, api.code.as_deref()),
        (402, Some("spoki::1029"))
    );
    assert_eq!(err.status(), Some(402));
    assert!(!err.is_retryable());
    assert_eq!(
        err.to_string(),
        "Spoki answered 402 [spoki::1029]: Credit: Credit exhausted"
    );

    let recorder = Recorder::new(|_| {
        (
            400,
            vec![],
            r#"{"phone": ["Enter a valid phone number."]}"#.into(),
        )
    });
    let err = recorder
        .client()
        .contacts()
        .sync(&ContactSync::new(phone("+393331234567")))
        .await
        .unwrap_err();
    assert_eq!(
        err.api_error().unwrap().fields["phone"],
        ["Enter a valid phone number."]
    );
}

#[tokio::test]
async fn rate_limits_and_server_errors_say_when_to_retry() {
    let recorder = Recorder::new(|_| (429, vec![("retry-after", "7".into())], String::new()));
    let err = recorder.client().accounts().get(1).await.unwrap_err();
    assert!(matches!(
        err,
        Error::RateLimited {
            client_side: false,
            ..
        }
    ));
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(7)));
    assert_eq!(err.status(), Some(429));
    assert!(err.is_retryable());

    let recorder = Recorder::new(|_| (503, vec![], "<html>down</html>".into()));
    let err = recorder.client().accounts().get(1).await.unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(err.status(), Some(503));
    // The same answer to a send: Spoki may have acted, so it is not safe to call again.
    let err = recorder
        .client()
        .messages()
        .send_text(&SendText::new(phone("+393331234567"), "hi"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn decode_errors_name_the_path_and_redact_credentials() {
    let recorder = Recorder::ok(r#"{"token": "canary-token-0001", "uid": 12}"#);
    let err = recorder
        .client()
        .embedding()
        .get_authentication_token(&AuthTokenRequest::new("a@b.it", "canary-private-key"))
        .await
        .unwrap_err();
    let Error::Decode {
        operation,
        path,
        snippet,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (operation.id, path.as_str()),
        (OperationId::AuthGetAuthenticationToken, "uid")
    );
    assert_eq!(snippet, "[withheld]", "a token answer is never kept");
    assert!(!format!("{err} {err:?}").contains("canary-token-0001"));

    // Elsewhere the body is kept, with credential-like fields blanked.
    let recorder = Recorder::ok(r#"{"id": "x", "api_key": "canary-key-0003"}"#);
    let err = recorder.client().accounts().get(1).await.unwrap_err();
    let Error::Decode { snippet, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(snippet.contains("[REDACTED]"), "{snippet}");
    assert!(!format!("{err} {err:?}").contains("canary-key-0003"));

    // The private key endpoint answers with a bare string: nothing of it may be kept.
    let recorder = Recorder::ok(r#""canary-private-key-0002""#);
    let err = recorder
        .client()
        .roles()
        .generate_private_key(3)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }));
    assert!(
        !format!("{err} {err:?}").contains("canary-private-key-0002"),
        "{err}"
    );

    let long = format!("[{}]", vec!["{\"id\": \"x\"}"; 200].join(","));
    let recorder = Recorder::ok(&long);
    let err = recorder
        .client()
        .accounts()
        .list()
        .send()
        .await
        .unwrap_err();
    let Error::Decode { path, snippet, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(path, "[0].id");
    assert!(snippet.len() <= 512);
}

#[tokio::test]
async fn undocumented_answers_come_back_as_json() {
    let recorder = Recorder::ok(r#"{"anything": [1, 2]}"#);
    let value = recorder
        .client()
        .partners()
        .create_subrecharge(&Subrecharge::new(42, Money::from_euros(5).unwrap()))
        .await
        .unwrap();
    assert_eq!(value["anything"][1], 2);
    assert_eq!(
        recorder.last().json(),
        serde_json::json!({"destination_account": 42, "amount": 5000})
    );
    let recorder = Recorder::ok("");
    assert_eq!(
        recorder.client().webhooks().test(3).await.unwrap(),
        serde_json::Value::Null
    );
}

#[test]
fn the_builder_checks_its_configuration() {
    assert!(matches!(
        Client::builder().base_url("not a url").build(),
        Err(Error::InvalidInput(InputError::BaseUrl(_)))
    ));
    assert!(matches!(
        Client::builder().base_url("ftp://x").build(),
        Err(Error::InvalidInput(InputError::BaseUrl(_)))
    ));
    assert!(matches!(
        Client::builder().api_key(" ").build(),
        Err(Error::InvalidInput(InputError::EmptySecret(_)))
    ));
    let client = Client::builder()
        .base_url("http://127.0.0.1:8080/")
        .build()
        .unwrap();
    assert_eq!(client.base_url(), "http://127.0.0.1:8080");
    assert_eq!(
        Client::builder().build().unwrap().base_url(),
        "https://api.spoki.com"
    );
}

#[test]
fn a_bad_phone_converts_into_the_client_error() {
    fn sync_body(text: &str) -> Result<ContactSync, Error> {
        Ok(ContactSync::new(Phone::parse(text)?))
    }
    let err = sync_body("3331234567").unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InputError::Phone(PhoneError::MissingPlus))
        ),
        "{err}"
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let spoki = spoki_mock::MockSpoki::start().await;
    let redirect =
        spoki_mock::Fault::answer(307, None).header("location", "http://127.0.0.2:1/steal");
    spoki.fault(OperationId::AccountsGet, redirect, 1).unwrap();
    let f = spoki.fixtures();
    let client = Client::builder()
        .base_url(spoki.url())
        .api_key(f.agency_api_key.as_str())
        .build()
        .unwrap();
    let err = client
        .accounts()
        .get(f.client_account_id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(307));
    assert_eq!(spoki.received().len(), 1);
}

#[tokio::test]
async fn an_empty_acknowledgement_of_a_send_is_not_an_error() {
    let recorder = Recorder::ok("");
    let sent = recorder
        .client()
        .messages()
        .send_text(&SendText::new(phone("+393331234567"), "hi"))
        .await
        .unwrap();
    assert_eq!(sent, SendResult::default());
}

#[tokio::test]
async fn raw_calls_reach_what_the_typed_ones_do_not_model() {
    let recorder = Recorder::ok(r#"{"id": 12}"#);
    let client = recorder.client();
    let body = serde_json::json!({"name": "VIP", "a_new_field": true});
    let created = client
        .call_raw(
            &operation::LISTS_CREATE,
            "/api/1/lists/",
            &[("dry_run", "1")],
            Some(&body),
        )
        .await
        .unwrap();
    assert_eq!(created["id"], 12);
    let seen = recorder.last();
    assert_eq!(
        (
            seen.method.as_str(),
            seen.path.as_str(),
            seen.query.as_deref()
        ),
        ("POST", "/api/1/lists/", Some("dry_run=1"))
    );
    assert_eq!(seen.json(), body);
    assert_eq!(seen.header("x-spoki-api-key"), Some("canary-api-key-0001"));

    for bad in [
        "https://evil.example/x/",
        "//evil.example/x/",
        "api/1/lists/",
    ] {
        let err = client
            .call_raw(&operation::LISTS_CREATE, bad, &[], None)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{bad}: {err}");
    }
    // Validation applies to raw bodies too.
    let err = client
        .call_raw(
            &operation::AUTOMATIONS_START,
            "/wh/ap/u/",
            &[],
            Some(&serde_json::json!({"secret": ""})),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InputError::Constraint(_))
    ));
    assert_eq!(recorder.seen().len(), 1);
}
