//! Receiving Spoki webhooks: a receiver on 127.0.0.1 verifies each delivery's
//! `X-Spoki-Signature` (HMAC-SHA256 over `<t>.<raw body>`), accepting the old and the new
//! secret during a rotation, rejects forged and stale deliveries, and decodes the event.
//!
//! The local Spoki (`spoki-mock`) plays Spoki: the example registers the receiver as a
//! webhook, rotates its secret, and has a customer write, which Spoki delivers signed. Then it
//! posts a forged and a stale delivery itself.
//!
//! ```text
//! cargo run -p spoki-client --example webhook_receiver
//! ```

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use spoki_client::models::{Secret, WebhookEvent, WebhookVersion, WebhookWrite};
use spoki_client::webhook::Event;
use spoki_client::webhook::{SIGNATURE_HEADER, sign};
use spoki_client::{Client, WebhookVerifier};
use spoki_mock::MockSpoki;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;

/// What the receiver did with each delivery.
pub type Log = Arc<Mutex<Vec<String>>>;

/// The URL a receiver on `listener` serves.
pub fn url_of(listener: &TcpListener) -> String {
    format!(
        "http://{}/hooks/spoki",
        listener.local_addr().expect("a bound listener")
    )
}

/// Serves deliveries on `listener`, accepting those signed with `old` or `new`.
pub fn receiver(listener: TcpListener, old: &str, new: &str) -> Log {
    let verifier = Arc::new(WebhookVerifier::with_secrets([old, new]).expect("secrets are set"));
    let log: Log = Arc::default();
    let seen = log.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (verifier, seen) = (verifier.clone(), seen.clone());
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let (verifier, seen) = (verifier.clone(), seen.clone());
                async move {
                    let header = request
                        .headers()
                        .get(SIGNATURE_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    // Verify the raw bytes exactly as received.
                    let body = request.into_body().collect().await?.to_bytes();
                    let status = verify(&verifier, &header, &body, &seen);
                    Ok::<_, hyper::Error>(
                        hyper::Response::builder()
                            .status(status)
                            .body(Full::new(Bytes::new()))
                            .expect("a valid response"),
                    )
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    log
}

fn verify(verifier: &WebhookVerifier, header: &str, body: &[u8], log: &Log) -> u16 {
    match verifier.verify(header, body, SystemTime::now()) {
        Ok(delivery) => {
            let what = match &delivery.event {
                Event::MessageOutbound(m) => {
                    format!("outbound {:?} is {:?}", m.uuid, m.send_status)
                }
                Event::MessageInbound(m) => {
                    format!("inbound from {:?}: {:?}", m.from_phone, m.text)
                }
                other => format!("event {}", other.kind()),
            };
            log.lock().unwrap().push(format!("accepted {what}"));
            200
        }
        Err(e) => {
            log.lock().unwrap().push(format!("rejected: {e}"));
            401
        }
    }
}

/// Posts `body` to the receiver with `signature`, returning the status.
pub async fn deliver(url: &str, signature: &str, body: &str) -> u16 {
    reqwest::Client::new()
        .post(url)
        .header(SIGNATURE_HEADER, signature)
        .body(body.to_owned())
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// Registers `url` for inbound messages on the local Spoki and rotates the webhook's secret;
/// returns the old and the new secret.
pub async fn register(
    spoki: &MockSpoki,
    url: &str,
) -> Result<(Secret, Secret), Box<dyn std::error::Error>> {
    let client = Client::builder()
        .base_url(spoki.url())
        .api_key(spoki.fixtures().client_api_key.as_str())
        .build()?;
    let hook = client
        .webhooks()
        .create(
            &WebhookWrite::default()
                .event(WebhookEvent::MessageInbound)
                .version(WebhookVersion::V2)
                .url(url),
        )
        .await?;
    let old = hook.secret.ok_or("a new webhook shows its secret")?;
    let new = client.webhooks().rotate_secret(hook.id).await?.secret;
    Ok((old, new.ok_or("a rotation shows the new secret")?))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spoki = MockSpoki::start().await;
    println!("running against the local Spoki at {}", spoki.url());
    // Your endpoint's address is known first; registering it tells you its secret.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = url_of(&listener);
    let (old, new) = register(&spoki, &url).await?;
    let log = receiver(listener, old.expose(), new.expose());

    spoki.inbound("+393331234567", "Ciao, vorrei rinnovare")?;
    spoki.wait_for_deliveries(1, Duration::from_secs(10)).await;

    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
    let body = r#"{"version":2,"event":"message.outbound","event_uuid":"e-1","timestamp":0,"data":{"uuid":"m-1","send_status":"Delivered"}}"#;
    let forged = sign(&Secret::new("whsec_attacker"), now, body.as_bytes());
    println!("forged: HTTP {}", deliver(&url, &forged, body).await);
    let stale = sign(&new, now - 3600, body.as_bytes());
    println!(
        "stale (an hour old): HTTP {}",
        deliver(&url, &stale, body).await
    );
    for line in log.lock().unwrap().iter() {
        println!("  {line}");
    }
    Ok(())
}
