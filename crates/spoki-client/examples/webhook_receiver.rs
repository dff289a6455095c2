//! Receiving Spoki webhooks: a receiver on 127.0.0.1 verifies each delivery's
//! `X-Spoki-Signature` (HMAC-SHA256 over `<t>.<raw body>`), accepting the old and the new
//! secret during a rotation, rejects forged and stale deliveries, and decodes the event.
//!
//! The example plays both sides: it starts the receiver, then posts signed deliveries to it.
//!
//! ```text
//! cargo run -p spoki-client --example webhook_receiver
//! ```

#[path = "../tests/support/server.rs"]
#[allow(dead_code)]
pub mod server;

use server::{Answer, Received, Server};
use spoki_client::WebhookVerifier;
use spoki_client::models::{Secret, WebhookEventData};
use spoki_client::webhook::{SIGNATURE_HEADER, sign};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// What the receiver did with each delivery.
pub type Log = Arc<Mutex<Vec<String>>>;

/// Starts a receiver that accepts deliveries signed with `old` or `new`.
pub async fn receiver(old: &str, new: &str) -> (Server, Log) {
    let verifier = WebhookVerifier::with_secrets([old, new]).expect("secrets are set");
    let log: Log = Arc::default();
    let seen = log.clone();
    let server = Server::start(move |request: &Received| -> Answer {
        let header = request.header(SIGNATURE_HEADER).unwrap_or_default();
        match verifier.verify(header, &request.body, SystemTime::now()) {
            Ok(delivery) => {
                let what = match delivery.event_data() {
                    Ok(WebhookEventData::MessageOutbound(m)) => {
                        format!("outbound {:?} is {:?}", m.uuid, m.send_status)
                    }
                    Ok(WebhookEventData::MessageInbound(m)) => {
                        format!("inbound from {:?}: {:?}", m.from_phone, m.text)
                    }
                    Ok(_) => format!("event {:?}", delivery.event),
                    Err(e) => format!("undecodable data: {e}"),
                };
                seen.lock().unwrap().push(format!("accepted {what}"));
                (200, vec![], String::new())
            }
            Err(e) => {
                seen.lock().unwrap().push(format!("rejected: {e}"));
                (401, vec![], String::new())
            }
        }
    })
    .await;
    (server, log)
}

/// Posts `body` to the receiver with `signature`, returning the status.
pub async fn deliver(url: &str, signature: &str, body: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{url}/hooks/spoki"))
        .header(SIGNATURE_HEADER, signature)
        .body(body.to_owned())
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let (old, new) = ("whsec_old_demo", "whsec_new_demo");
    let (server, log) = receiver(old, new).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let body = r#"{"version":2,"event":"message.outbound","event_uuid":"e-1","timestamp":0,"data":{"uuid":"m-1","send_status":"Delivered"}}"#;
    let cases = [
        (
            "signed with the new secret",
            sign(&Secret::new(new), now, body.as_bytes()),
        ),
        (
            "signed with the old secret",
            sign(&Secret::new(old), now, body.as_bytes()),
        ),
        (
            "forged",
            sign(&Secret::new("whsec_attacker"), now, body.as_bytes()),
        ),
        (
            "stale (an hour old)",
            sign(&Secret::new(new), now - 3600, body.as_bytes()),
        ),
    ];
    for (name, signature) in cases {
        println!(
            "{name}: HTTP {}",
            deliver(&server.url, &signature, body).await
        );
    }
    for line in log.lock().unwrap().iter() {
        println!("  {line}");
    }
}
