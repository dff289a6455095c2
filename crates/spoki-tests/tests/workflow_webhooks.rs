//! A workflow of the seed documents, run end to end over the reqwest transport against the
//! local Spoki. The workflow code is the example's own.

#[path = "../examples/webhook_receiver.rs"]
#[allow(dead_code)]
mod webhook_receiver;

use spoki_client::models::Secret;
use spoki_client::webhook::sign;
use spoki_mock::MockSpoki;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;

#[tokio::test]
async fn webhook_receiver_accepts_signed_deliveries_and_rejects_forged_or_stale_ones() {
    let spoki = MockSpoki::start().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = webhook_receiver::url_of(&listener);
    let (old, new) = webhook_receiver::register(&spoki, &url).await.unwrap();
    assert_ne!(old, new, "the rotation issued a new secret");
    let log = webhook_receiver::receiver(listener, old.expose(), new.expose());

    // Spoki's own delivery, signed with the new secret.
    spoki.inbound("+393331234567", "Ciao").unwrap();
    let deliveries = spoki.wait_for_deliveries(1, Duration::from_secs(10)).await;
    assert!(deliveries[0].delivered, "{deliveries:?}");

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let body = r#"{"version":2,"event":"message.inbound","event_uuid":"e-9","timestamp":0,"data":{"from_phone":"+393331234567","text":"Ciao"}}"#;
    let post = |secret: &Secret, t: i64, body: &str| {
        let signature = sign(secret, t, body.as_bytes());
        let (url, body) = (url.clone(), body.to_owned());
        async move { webhook_receiver::deliver(&url, &signature, &body).await }
    };
    assert_eq!(
        post(&old, now, body).await,
        200,
        "old secret still accepted during rotation"
    );
    assert_eq!(post(&Secret::new("whsec_forged"), now, body).await, 401);
    assert_eq!(post(&new, now - 3600, body).await, 401, "stale");
    let tampered = body.replace("Ciao", "Pay me");
    let signature = sign(&new, now, body.as_bytes());
    assert_eq!(
        webhook_receiver::deliver(&url, &signature, &tampered).await,
        401
    );
    assert_eq!(
        webhook_receiver::deliver(&url, "t=1,v2=zz", body).await,
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
