//! A workflow of the seed documents, run end to end over the reqwest transport against
//! servers on 127.0.0.1. The workflow code is the example's own.

#[path = "../examples/webhook_receiver.rs"]
#[allow(dead_code)]
mod webhook_receiver;

use spoki_client::models::Secret;
use spoki_client::webhook::sign;
use std::time::{SystemTime, UNIX_EPOCH};

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
