//! An axum service that receives Spoki's webhooks, tracks message statuses, bills live
//! traffic, and answers "may I reply free-form to this customer?".
//!
//! Run: `cargo run -p spoki --example webhook_service --features axum`. It starts the local
//! Spoki, registers the service's URL as the webhook, lets a customer write, and asks the
//! service; against the real Spoki, mount `app(..)` the same way.

use axum::extract::{Query, State};
use axum::routing::get;
use spoki::billing::{
    Customer, FreeFormStatus, Ledger, LiveBilling, PricingModel, RateCard, Timestamp,
};
use spoki::models::{Phone, WebhookEvent, WebhookVersion, WebhookWrite};
use spoki::webhook::{Receiver, StatusTracker, WebhookVerifier};
use std::collections::HashMap;
use std::time::Duration;

/// The service: POST `/hooks/spoki` receives deliveries, GET `/may-reply?phone=` answers.
pub fn app(
    verifier: WebhookVerifier,
    billing: LiveBilling,
    statuses: StatusTracker,
) -> axum::Router {
    let receiver = Receiver::new(verifier, (statuses, billing.clone()));
    receiver
        .route("/hooks/spoki")
        .route("/may-reply", get(may_reply))
        .with_state(billing)
}

async fn may_reply(
    State(billing): State<LiveBilling>,
    Query(query): Query<HashMap<String, String>>,
) -> String {
    let Some(phone) = query.get("phone").and_then(|p| Phone::parse(p).ok()) else {
        return "give ?phone= in E.164".into();
    };
    match billing.free_form_status(Customer::from(&phone), Timestamp::now()) {
        FreeFormStatus::Open { until } => format!("yes, until {until}"),
        FreeFormStatus::Closed { reason } => format!("no, send a template: {reason:?}"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spoki = spoki_mock::MockSpoki::start().await;
    let f = spoki.fixtures();
    let client = spoki::Client::builder()
        .base_url(spoki.url())
        .api_key(f.client_api_key.as_str())
        .build()?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let hook = client
        .webhooks()
        .create(
            &WebhookWrite::default()
                .event(WebhookEvent::MessageInbound)
                .version(WebhookVersion::V2)
                .url(format!("{base}/hooks/spoki")),
        )
        .await?;
    let verifier = WebhookVerifier::new(hook.secret.ok_or("the webhook has no secret")?)?;
    let card = RateCard::from_json(spoki_mock::DEFAULT_RATE_CARD)?;
    let billing = LiveBilling::new(
        Ledger::new(PricingModel::Conversation2024, card),
        Duration::from_secs(30),
    );
    let service = app(verifier, billing, StatusTracker::new());
    tokio::spawn(async move { axum::serve(listener, service).await });

    let ask = || async {
        let url = format!("{base}/may-reply?phone=%2B393331234567");
        reqwest::get(url).await?.text().await
    };
    println!("before the customer writes: {}", ask().await?);
    spoki.inbound("+393331234567", "Vorrei rinnovare")?;
    spoki
        .wait_for_event(&WebhookEvent::MessageInbound, Duration::from_secs(10))
        .await
        .ok_or("no delivery arrived")?;
    println!("after the customer wrote:  {}", ask().await?);
    Ok(())
}
