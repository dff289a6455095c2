//! The receiver against the local Spoki's real signed deliveries: every event handled exactly
//! once through 5xx redeliveries, by one receiver and by four sharing a real `redis-server`;
//! message statuses tracked from the same traffic.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use spoki::models::{Phone, SendText, WebhookEvent, WebhookVersion, WebhookWrite};
use spoki::webhook::{
    BoxError, Delivery, DeliveryOutcome, Handler, MessageStatus, Receiver, RedisDedupe,
    StatusTracker, WebhookVerifier,
};
use spoki_mock::{MockSpoki, RedisServer};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

const CUSTOMERS: [&str; 5] = [
    "+393331000001",
    "+393331000002",
    "+393331000003",
    "+393331000004",
    "+393331000005",
];

/// A handler that fails the first run of every event (so Spoki delivers it again), then
/// counts its successful runs per event uuid. Clones share their counts.
#[derive(Clone, Default)]
struct Ledger {
    tried: Arc<Mutex<HashMap<String, usize>>>,
    handled: Arc<Mutex<HashMap<String, usize>>>,
    failed: Arc<AtomicUsize>,
}

impl Handler for Ledger {
    async fn handle(&self, delivery: Arc<Delivery>) -> Result<(), BoxError> {
        let uuid = delivery.event_uuid.clone().unwrap_or_default();
        let first = {
            let mut tried = self.tried.lock().unwrap();
            let n = tried.entry(uuid.clone()).or_default();
            *n += 1;
            *n == 1
        };
        if first {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err("first run fails".into());
        }
        *self.handled.lock().unwrap().entry(uuid).or_default() += 1;
        Ok(())
    }
}

/// Serves `route` on a free port; returns its URL.
async fn serve(route: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, route).await.unwrap() });
    url
}

/// Serves a receiver running `handler` and subscribes it to `events` of the mock's demo
/// account. The webhooks exist before the receiver, which needs their secrets, so until it is
/// set the route answers 503, as a receiver starting up would.
async fn mount<H: Handler>(spoki: &MockSpoki, events: &[WebhookEvent], handler: H) {
    let cell: Arc<OnceLock<Receiver<H>>> = Arc::default();
    let front = cell.clone();
    let url = serve(axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |request: axum::extract::Request| {
            let receiver = front.get().cloned();
            async move {
                match receiver {
                    Some(r) => {
                        IntoResponse::into_response(r.receive(request).await.into_response())
                    }
                    None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
                }
            }
        }),
    ))
    .await;
    let mut secrets = Vec::new();
    for event in events {
        secrets.push(subscribe_secret(spoki, &url, event.clone()).await);
    }
    let verifier = WebhookVerifier::with_secrets(secrets).unwrap();
    assert!(cell.set(Receiver::new(verifier, handler)).is_ok());
}

/// A mock with a V2 webhook for inbound messages at `url`; returns its verifier.
async fn subscribe(spoki: &MockSpoki, url: &str, event: WebhookEvent) -> WebhookVerifier {
    WebhookVerifier::new(subscribe_secret(spoki, url, event).await).unwrap()
}

/// Subscribes `url` to `event`; returns the webhook's signing secret.
async fn subscribe_secret(spoki: &MockSpoki, url: &str, event: WebhookEvent) -> spoki::Secret {
    let client = client_of(spoki);
    let hook = client
        .webhooks()
        .create(
            &WebhookWrite::default()
                .event(event)
                .version(WebhookVersion::V2)
                .url(url),
        )
        .await
        .unwrap();
    hook.secret.unwrap()
}

async fn mock() -> MockSpoki {
    MockSpoki::builder()
        .delivery_retries(6, Duration::from_millis(20))
        .start()
        .await
        .unwrap()
}

/// A client of the mock's demo client account.
fn client_of(spoki: &MockSpoki) -> spoki::Client {
    spoki::Client::builder()
        .base_url(spoki.url())
        .api_key(spoki.fixtures().client_api_key.as_str())
        .build()
        .unwrap()
}

/// Waits until every delivery in the log was accepted.
async fn all_accepted(spoki: &MockSpoki, count: usize) {
    let deliveries = spoki
        .wait_for_deliveries(count, Duration::from_secs(30))
        .await;
    let accepted = deliveries.iter().filter(|d| d.delivered).count();
    assert_eq!(accepted, count, "{deliveries:#?}");
}

fn assert_once_each(ledger: &Ledger, spoki: &MockSpoki) {
    let handled = ledger.handled.lock().unwrap().clone();
    let uuids: Vec<String> = spoki
        .deliveries()
        .iter()
        .map(|d| d.decode().unwrap().event_uuid.unwrap())
        .collect();
    assert_eq!(handled.len(), uuids.len());
    for uuid in &uuids {
        assert_eq!(
            handled.get(uuid),
            Some(&1),
            "{uuid} handled once: {handled:?}"
        );
    }
    // Every event failed once and was delivered again.
    assert_eq!(ledger.failed.load(Ordering::SeqCst), uuids.len());
    assert!(spoki.deliveries().iter().all(|d| d.attempts.len() >= 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_receiver_handles_every_event_once_through_redeliveries() {
    let spoki = mock().await;
    let ledger = Ledger::default();
    mount(&spoki, &[WebhookEvent::MessageInbound], ledger.clone()).await;

    for phone in CUSTOMERS {
        spoki.inbound(phone, "Ciao").unwrap();
    }
    all_accepted(&spoki, CUSTOMERS.len()).await;
    assert_once_each(&ledger, &spoki);

    // Spoki delivers an event again after it was handled: 200, the handler does not run.
    let first = spoki.deliveries()[0].clone();
    spoki.redeliver(first.id).unwrap();
    let again = spoki
        .wait_for_delivery(Duration::from_secs(10), |d| {
            d.id == first.id && d.attempts.len() > first.attempts.len()
        })
        .await
        .unwrap();
    assert_eq!(again.attempts.last().unwrap().status, Some(200));
    assert_once_each(&ledger, &spoki);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_receivers_sharing_redis_handle_every_event_once() {
    let redis = RedisServer::start();
    let spoki = mock().await;
    let ledger = Ledger::default();
    let workers: Arc<Mutex<Vec<Receiver<Ledger, RedisDedupe>>>> = Arc::default();
    let next = Arc::new(AtomicUsize::new(0));
    // The load balancer: each request to the next worker in turn, so a redelivery lands on
    // another worker than the one whose handler failed.
    let balancer = workers.clone();
    let url = serve(axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |request: axum::extract::Request| {
            let worker = {
                let workers = balancer.lock().unwrap();
                workers[next.fetch_add(1, Ordering::SeqCst) % workers.len()].clone()
            };
            async move { worker.receive(request).await.into_response() }
        }),
    ))
    .await;
    let verifier = subscribe(&spoki, &url, WebhookEvent::MessageInbound).await;
    // One handler shared by the four, so that its first run of each event fails whichever
    // worker runs it; four stores, each its own connection to the one Redis.
    for _ in 0..4 {
        let store = RedisDedupe::open(&redis.url()).await.unwrap();
        workers.lock().unwrap().push(Receiver::with_store(
            verifier.clone(),
            ledger.clone(),
            store,
        ));
    }

    for phone in CUSTOMERS {
        spoki.inbound(phone, "Ciao").unwrap();
    }
    all_accepted(&spoki, CUSTOMERS.len()).await;
    assert_once_each(&ledger, &spoki);

    // A redelivery reaching any worker is known to all of them.
    let worker = workers.lock().unwrap()[3].clone();
    let delivery = &spoki.deliveries()[0];
    let mut request = http::Request::post("/hooks");
    for (name, value) in delivery.last_headers() {
        request = request.header(name, value);
    }
    let outcome = worker
        .receive(request.body(delivery.body.clone()).unwrap())
        .await;
    assert!(
        matches!(outcome, DeliveryOutcome::Duplicate(_)),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_is_tracked_to_delivered_from_its_webhooks() {
    let spoki = mock().await;
    let tracker = StatusTracker::new();
    mount(&spoki, &[WebhookEvent::MessageOutbound], tracker.clone()).await;

    let client = client_of(&spoki);
    spoki.inbound(CUSTOMERS[0], "Ciao").unwrap(); // the window opens
    let sent = client
        .messages()
        .send_text(&SendText::new(Phone::parse(CUSTOMERS[0]).unwrap(), "Ecco"))
        .await
        .unwrap();
    let uuid = sent.uuid.expect("the send answers its uuid");
    tracker.track(&uuid);
    let status = tracker
        .wait_for(&uuid, &MessageStatus::Delivered, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(status, MessageStatus::Delivered);
    assert_eq!(
        tracker.recipient(CUSTOMERS[0]).map(|(u, _)| u),
        Some(uuid.clone())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn billing_fed_live_counts_each_send_once_and_agrees_with_spoki() {
    use spoki::billing::{
        Customer, FreeFormStatus, Ledger, LiveBilling, PricingModel, RateCard, Timestamp,
    };
    use spoki::models::{SendTemplate, TemplateCategory};

    let spoki = mock().await;
    let card = RateCard::from_json(spoki_mock::DEFAULT_RATE_CARD).unwrap();
    let live = LiveBilling::new(
        Ledger::new(PricingModel::Conversation2024, card),
        Duration::from_secs(30),
    );
    mount(
        &spoki,
        &[WebhookEvent::MessageInbound, WebhookEvent::MessageOutbound],
        live.clone(),
    )
    .await;

    let f = spoki.fixtures();
    let client = client_of(&spoki);
    live.load_templates(&client.templates().list().send().await.unwrap().results);
    let phone = Phone::parse(CUSTOMERS[0]).unwrap();
    let customer = Customer::from(&phone);
    assert!(matches!(
        live.free_form_status(customer, Timestamp::now()),
        FreeFormStatus::Closed { .. }
    ));

    // The customer writes: the window opens from the webhook alone.
    spoki.inbound(CUSTOMERS[0], "Ciao").unwrap();
    spoki
        .wait_for_event(&WebhookEvent::MessageInbound, Duration::from_secs(20))
        .await
        .expect("the inbound delivery is accepted");
    assert!(matches!(
        live.free_form_status(customer, Timestamp::now()),
        FreeFormStatus::Open { .. }
    ));

    // A marketing template: reported by the client's send and by its `Sent` webhook.
    let credit = spoki
        .credit(f.client_account_id)
        .map(|c| c.micros())
        .unwrap();
    let sent = client
        .messages()
        .send_template(
            &SendTemplate::new(phone.clone(), f.marketing_template_id)
                .custom_fields([("DATE_EXPIRE_SCRIPTION", "2026-12-31")]),
        )
        .await
        .unwrap();
    // Whichever reports it first bills it; the other finds it billed.
    let report = || {
        live.record_send(
            sent.uuid.as_deref(),
            Timestamp::now(),
            &phone,
            Some(&TemplateCategory::Marketing),
        )
    };
    report().unwrap();
    let charged = credit
        - spoki
            .credit(f.client_account_id)
            .map(|c| c.micros())
            .unwrap();
    spoki
        .wait_for_delivery(Duration::from_secs(20), |d| {
            d.delivered && d.body.contains(r#""send_status":"Sent""#)
        })
        .await
        .expect("the Sent delivery is accepted, and bills nothing more");
    assert!(
        !report().unwrap(),
        "a send reported again is not billed again"
    );

    // A campaign now: the customer's marketing conversation is open, so it is free for them;
    // a customer with no history pays.
    let other = Customer::parse(CUSTOMERS[1]).unwrap();
    let estimate = live
        .estimate_campaign(
            [customer, other],
            spoki::billing::Category::Marketing,
            Timestamp::now(),
        )
        .unwrap();
    assert_eq!(
        (estimate.free_sends, estimate.new_paid_conversations),
        (1, 1),
        "{estimate:?}"
    );

    let settled = live.flush();
    assert_eq!(
        settled.len(),
        2,
        "the inbound message and one send: {settled:?}"
    );
    let cost: i64 = settled
        .iter()
        .filter_map(|s| s.effect.as_ref().ok()?.cost())
        .map(|m| m.micros())
        .sum();
    assert!(charged > 0, "a marketing conversation opened");
    assert_eq!(cost, charged, "the live ledger bills what Spoki charged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_automation_start_the_credit_cannot_pay_shows_errors_per_recipient() {
    use spoki::models::{AutomationContact, AutomationStartBulk};

    let spoki = mock().await;
    let tracker = StatusTracker::new();
    mount(&spoki, &[WebhookEvent::MessageOutbound], tracker.clone()).await;

    // The demo account's credit pays three marketing conversations; five recipients.
    let f = spoki.fixtures();
    let client = client_of(&spoki);
    let contacts = CUSTOMERS.map(|p| {
        AutomationContact::new(Phone::parse(p).unwrap())
            .custom_fields([("DATE_EXPIRE_SCRIPTION", "2026-12-31")])
    });
    client
        .automations()
        .start_bulk(
            &f.automation_uuid,
            &AutomationStartBulk::new(f.automation_secret.as_str(), contacts),
        )
        .await
        .unwrap();
    // Three sends reported Sent and Delivered, two reported Error.
    all_accepted(&spoki, 3 * 2 + 2).await;
    let statuses: Vec<MessageStatus> = CUSTOMERS
        .iter()
        .map(|phone| {
            tracker
                .recipient(phone)
                .expect("every recipient is reported")
                .1
        })
        .collect();
    let delivered = statuses
        .iter()
        .filter(|s| **s == MessageStatus::Delivered)
        .count();
    let failed: Vec<&MessageStatus> = statuses
        .iter()
        .filter(|s| matches!(s, MessageStatus::Failed { .. }))
        .collect();
    assert_eq!((delivered, failed.len()), (3, 2), "{statuses:?}");
    for status in failed {
        let MessageStatus::Failed { code, kind } = status else {
            unreachable!()
        };
        assert_eq!(code.as_deref(), Some("spoki::1029"));
        assert_eq!(*kind, Some(spoki::models::ErrorKind::CreditExhausted));
    }
}
