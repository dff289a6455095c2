//! The three workflows of the seed documents, run end to end over the reqwest transport
//! against servers on 127.0.0.1. The workflow code is the examples' own.

#[path = "../examples/vendor_flow.rs"]
#[allow(dead_code)]
mod vendor_flow;

#[path = "../examples/iframe_embed.rs"]
#[allow(dead_code)]
mod iframe_embed;

#[path = "../examples/webhook_receiver.rs"]
#[allow(dead_code)]
mod webhook_receiver;

use spoki_client::models::Secret;
use spoki_client::webhook::sign;
use std::time::{SystemTime, UNIX_EPOCH};

#[tokio::test]
async fn software_vendor_reads_capacity_then_starts_the_automation_in_bulk() {
    let spoki = vendor_flow::fake_spoki::start().await;
    let report = vendor_flow::run(&spoki.url).await.unwrap();
    assert!(
        report.contains(
            "client 101 \"Pizzeria Da Mario\": credit 0.420 EUR, 3 conversations available"
        ),
        "{report}"
    );
    assert!(
        report.contains("started automation for 3 contacts; 1 deferred"),
        "{report}"
    );

    let received = spoki.received();
    let starts: Vec<_> = received
        .iter()
        .filter(|r| r.target.starts_with("/wh/ap/"))
        .collect();
    assert_eq!(starts.len(), 1, "one bulk start");
    let start = starts[0];
    assert_eq!(
        start.target,
        format!("/wh/ap/{}/bulk/", vendor_flow::fake_spoki::AUTOMATION_UUID)
    );
    assert_eq!(
        start.header("x-spoki-api-key"),
        None,
        "the secret alone authenticates"
    );
    let body = start.json();
    assert_eq!(body["secret"], vendor_flow::fake_spoki::AUTOMATION_SECRET);
    assert_eq!(body["contacts"].as_array().unwrap().len(), 3);
    assert_eq!(body["contacts"][1]["phone"], "+39333123461234");
    assert_eq!(
        body["contacts"][0]["custom_fields"]["DATA_SCADENZA_ABBONAMENTO"],
        "2022-11-10T18:00:00.000Z"
    );
    assert!(
        received
            .iter()
            .filter(|r| r.target.starts_with("/api/"))
            .all(|r| r.header("x-spoki-api-key") == Some(vendor_flow::fake_spoki::AGENCY_API_KEY))
    );
}

#[tokio::test]
async fn iframe_embedding_builds_the_chat_url_from_the_token() {
    let spoki = iframe_embed::fake_spoki::start().await;
    let url = iframe_embed::iframe_url(&spoki.url).await.unwrap();
    assert_eq!(
        url,
        format!(
            "https://spoki.app/chats/{}?auth_token=demo-token%2F%2B%3D&auth_uid=svc-77&language=it&can_view_chat_list=false&can_send_paypal_in_chat=false",
            iframe_embed::fake_spoki::CHAT_UUID
        )
    );
    let token_call = spoki
        .received()
        .into_iter()
        .find(|r| r.target.contains("get_authentication_token"))
        .unwrap();
    assert_eq!(
        token_call.header("x-spoki-api-key"),
        Some(iframe_embed::fake_spoki::CLIENT_API_KEY)
    );
    assert_eq!(
        token_call.json()["private_key"],
        iframe_embed::fake_spoki::SERVICE_PRIVATE_KEY
    );
}

#[tokio::test]
async fn iframe_token_errors_are_typed() {
    let spoki = iframe_embed::fake_spoki::start().await;
    let client = spoki_client::Client::builder()
        .base_url(&spoki.url)
        .api_key("wrong")
        .build()
        .unwrap();
    let err = client
        .embedding()
        .get_authentication_token(&spoki_client::models::AuthTokenRequest::new("a@b.it", "k"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(
        err.api_error().unwrap().code.as_deref(),
        Some("spoki::1001")
    );
}

#[tokio::test]
async fn webhook_receiver_accepts_signed_deliveries_and_rejects_forged_or_stale_ones() {
    let (old, new) = ("whsec_old_test", "whsec_new_test");
    let (server, log) = webhook_receiver::receiver(old, new).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let body = r#"{"version":2,"event":"message.inbound","event_uuid":"e-9","timestamp":0,"data":{"from_phone":"+393331234567","text":"Ciao"}}"#;
    let post = |secret: &str, t: i64, body: &str| {
        let signature = sign(&Secret::new(secret), t, body.as_bytes());
        let url = server.url.clone();
        let body = body.to_owned();
        async move { webhook_receiver::deliver(&url, &signature, &body).await }
    };
    assert_eq!(post(new, now, body).await, 200);
    assert_eq!(
        post(old, now, body).await,
        200,
        "old secret still accepted during rotation"
    );
    assert_eq!(post("whsec_forged", now, body).await, 401);
    assert_eq!(post(new, now - 3600, body).await, 401, "stale");
    let tampered = body.replace("Ciao", "Pay me");
    let signature = sign(&Secret::new(new), now, body.as_bytes());
    assert_eq!(
        webhook_receiver::deliver(&server.url, &signature, &tampered).await,
        401
    );
    assert_eq!(
        webhook_receiver::deliver(&server.url, "t=1,v2=zz", body).await,
        401,
        "malformed"
    );

    let log = log.lock().unwrap().clone();
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("accepted inbound from Some(\"+393331234567\")"))
            .count(),
        2,
        "{log:?}"
    );
    assert_eq!(
        log.iter().filter(|l| l.starts_with("rejected")).count(),
        4,
        "{log:?}"
    );
    assert!(
        log.iter().all(|l| !l.contains("whsec_")),
        "no secret in the log"
    );
}
