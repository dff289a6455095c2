//! The send-once guard with a real `redis-server` paused (`SIGSTOP`) and killed under it:
//! no recipient is stranded, none is sent twice, and every answer says truthfully whether the
//! send went out.

use spoki_client::Client;
use spoki_client::models::{AutomationStart, Phone};
use spoki_middleware::shared::{Guarded, SendOnce, SendState};
use spoki_mock::OperationId;
use spoki_mock::{MockSpoki, RedisServer};
use std::collections::BTreeMap;
use std::time::Duration;

#[path = "../common/mod.rs"]
mod common;
use common::quiet_mock as mock;

const CAMPAIGN: &str = "renewal";
/// Short enough for a test, longer than a Redis answer on a loaded machine.
const LEASE: Duration = Duration::from_secs(2);

/// A guard whose Redis answers must come within 300 ms, so a paused Redis is noticed at once.
async fn guard(redis: &RedisServer) -> SendOnce {
    let client = redis::Client::open(redis.url()).unwrap();
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(300)))
        .set_response_timeout(Some(Duration::from_millis(300)));
    let conn = redis::aio::ConnectionManager::new_with_config(client, config)
        .await
        .unwrap();
    SendOnce::new(conn)
        .lease(LEASE)
        .record_for(Duration::from_secs(30))
}

fn starter(mock: &MockSpoki) -> Client {
    Client::builder()
        .base_url(mock.url())
        .without_retries()
        .build()
        .unwrap()
}

fn recipients() -> Vec<String> {
    (0..30).map(|i| format!("+3934700001{i:02}")).collect()
}

/// How many automation starts the local Spoki received, per phone.
fn starts_per_phone(mock: &MockSpoki) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for r in mock.received() {
        if r.operation.as_deref() == Some("automations_start") {
            let phone = r.body["phone"].as_str().unwrap().to_owned();
            *seen.entry(phone).or_insert(0) += 1;
        }
    }
    seen
}

/// A send that does nothing and succeeds, for a run whose point is the guard's answer.
async fn nothing_to_send() -> Result<(), spoki_client::Error> {
    Ok(())
}

/// Sends `phone` through `guard`; true when it is settled as sent (by this call or before).
async fn send(guard: &SendOnce, client: &Client, mock: &MockSpoki, phone: &str) -> bool {
    let f = mock.fixtures();
    let body = AutomationStart::new(f.automation_secret.as_str(), Phone::parse(phone).unwrap())
        .custom_fields([("DATE_EXPIRE_SCRIPTION", "2026-12-31")]);
    let outcome = guard
        .run(CAMPAIGN, phone, || async {
            client.automations().start(&f.automation_uuid, &body).await
        })
        .await;
    match outcome {
        Ok(Guarded::Sent(())) | Ok(Guarded::Skipped(SendState::Sent)) => true,
        // Another worker holds it, or a stale claim has not lapsed yet: a later pass.
        Ok(Guarded::Skipped(SendState::InFlight)) => false,
        // Nothing was sent (the error says so): a later pass.
        Err(e) => {
            assert!(e.to_string().contains("nothing was sent"), "{e}");
            // Redis came back within the retry window: no mark was left behind.
            assert!(!e.mark_left(), "{e}");
            false
        }
        Ok(other) => panic!("{phone}: {other:?}"),
    }
}

/// `workers` workers each take the same 30 recipients (in their own order) through their own
/// guard while Redis is paused for 10 s after the eighth start; passes repeat until every
/// recipient is settled.
async fn paused_in_the_middle(workers: usize) {
    let redis = RedisServer::start();
    let mock = std::sync::Arc::new(mock().await);
    let all = recipients();
    let pauser = {
        let (mock, pid) = (mock.clone(), redis.pid());
        tokio::spawn(async move {
            while mock.messages().len() < 8 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            RedisServer::signal(pid, "STOP");
            tokio::time::sleep(Duration::from_secs(10)).await;
            RedisServer::signal(pid, "CONT");
        })
    };
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (guard, client, mock) = (guard(&redis).await, starter(&mock), mock.clone());
        let mut mine = all.clone();
        mine.rotate_left(w * 7);
        tasks.push(tokio::spawn(async move {
            let mut left = mine;
            for _pass in 0..40 {
                let mut still = Vec::new();
                for phone in left {
                    if !send(&guard, &client, &mock, &phone).await {
                        still.push(phone);
                    }
                }
                left = still;
                if left.is_empty() {
                    return;
                }
                tokio::time::sleep(LEASE / 2).await;
            }
            panic!("recipients never settled: {left:?}");
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    pauser.await.unwrap();
    let seen = starts_per_phone(&mock);
    assert_eq!(seen.len(), 30, "every recipient reached Spoki: {seen:?}");
    assert!(seen.values().all(|&n| n == 1), "one start each: {seen:?}");
    let unsettled = guard(&redis).await.unsettled(CAMPAIGN).await.unwrap();
    assert!(unsettled.is_empty(), "{unsettled:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_paused_mid_run_strands_no_one_with_one_worker() {
    paused_in_the_middle(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_paused_mid_run_strands_no_one_with_four_workers() {
    paused_in_the_middle(4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_that_redis_took_after_the_guard_gave_up_lapses_within_the_lease() {
    let redis = RedisServer::start();
    let mock = mock().await;
    let (guard, client) = (guard(&redis).await, starter(&mock));
    let phone = "+393470000201";
    redis.pause();
    let resume = {
        let pid = redis.pid();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            RedisServer::signal(pid, "CONT");
        })
    };
    assert!(!send(&guard, &client, &mock, phone).await, "nothing sent");
    resume.await.unwrap();
    assert!(mock.messages().is_empty());
    // Once the lease has passed, whatever Redis did with the queued claim is gone.
    tokio::time::sleep(LEASE + Duration::from_millis(500)).await;
    assert!(send(&guard, &client, &mock, phone).await);
    assert_eq!(starts_per_phone(&mock)[phone], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_under_a_paused_redis_is_recorded_once_redis_returns() {
    let redis = RedisServer::start();
    let mock = mock().await;
    let (guard, client) = (guard(&redis).await, starter(&mock));
    let f = mock.fixtures();
    let phone = "+393470000202";
    let body = AutomationStart::new(f.automation_secret.as_str(), Phone::parse(phone).unwrap())
        .custom_fields([("DATE_EXPIRE_SCRIPTION", "2026-12-31")]);
    let pid = redis.pid();
    let outcome = guard
        .run(CAMPAIGN, phone, || async {
            // Redis stops while the message goes out, and comes back 3 s later.
            RedisServer::signal(pid, "STOP");
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(3)).await;
                RedisServer::signal(pid, "CONT");
            });
            client.automations().start(&f.automation_uuid, &body).await
        })
        .await
        .unwrap();
    assert!(matches!(outcome, Guarded::Sent(())), "{outcome:?}");
    assert_eq!(
        guard.state(CAMPAIGN, phone).await.unwrap(),
        Some(SendState::Sent)
    );
    assert!(!matches!(
        guard.run(CAMPAIGN, phone, nothing_to_send).await,
        Ok(Guarded::Sent(()))
    ));
    assert_eq!(starts_per_phone(&mock)[phone], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_whose_outcome_redis_does_not_take_is_reported_as_unrecorded() {
    let redis = RedisServer::start();
    let mock = mock().await;
    let client = starter(&mock);
    let guard = guard(&redis).await.record_for(Duration::from_secs(1));
    let f = mock.fixtures();
    let phone = "+393470000203";
    let body = AutomationStart::new(f.automation_secret.as_str(), Phone::parse(phone).unwrap())
        .custom_fields([("DATE_EXPIRE_SCRIPTION", "2026-12-31")]);
    let pid = redis.pid();
    let outcome = guard
        .run(CAMPAIGN, phone, || async {
            RedisServer::signal(pid, "STOP");
            client.automations().start(&f.automation_uuid, &body).await
        })
        .await
        .unwrap();
    // It went out, and the guard says so rather than "nothing was sent".
    assert!(
        matches!(outcome, Guarded::Unrecorded { result: Ok(()), .. }),
        "{outcome:?}"
    );
    redis.resume();
    // Whether Redis ran a queued try of the outcome (`sent`) or not (`sending`), no worker
    // sends it again.
    let state = guard.state(CAMPAIGN, phone).await.unwrap();
    assert!(
        matches!(state, Some(SendState::Sent | SendState::InFlight)),
        "{state:?}"
    );
    let again = guard.run(CAMPAIGN, phone, nothing_to_send).await.unwrap();
    assert!(matches!(again, Guarded::Skipped(_)), "{again:?}");
    assert_eq!(starts_per_phone(&mock)[phone], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_dies_mid_send_leaves_a_mark_an_operator_can_list_and_settle() {
    let redis = RedisServer::start();
    let guard = guard(&redis).await;
    let (began, begun) = tokio::sync::oneshot::channel();
    let dying = {
        let guard = guard.clone();
        tokio::spawn(async move {
            guard
                .run(CAMPAIGN, "+393470000205", || async move {
                    let _ = began.send(());
                    // The process dies here, with the request on its way.
                    std::future::pending::<Result<(), spoki_client::Error>>().await
                })
                .await
        })
    };
    begun.await.unwrap();
    dying.abort();
    let _ = dying.await;
    // Longer than the lease: a send that began is not a claim, and does not lapse.
    tokio::time::sleep(LEASE + Duration::from_millis(500)).await;
    let other = guard
        .run(CAMPAIGN, "+393470000205", nothing_to_send)
        .await
        .unwrap();
    assert!(
        matches!(other, Guarded::Skipped(SendState::InFlight)),
        "{other:?}"
    );
    let unsettled = guard.unsettled(CAMPAIGN).await.unwrap();
    assert_eq!(unsettled.len(), 1, "{unsettled:?}");
    assert_eq!(unsettled[0].recipient, "+393470000205");
    assert_eq!(unsettled[0].state, SendState::InFlight);
    assert!(unsettled[0].since.is_some());
    // Checked in Spoki: it went out.
    guard.mark_sent(CAMPAIGN, "+393470000205").await.unwrap();
    assert!(guard.unsettled(CAMPAIGN).await.unwrap().is_empty());
    assert_eq!(
        guard.state(CAMPAIGN, "+393470000205").await.unwrap(),
        Some(SendState::Sent)
    );
    let again = guard
        .run(CAMPAIGN, "+393470000205", nothing_to_send)
        .await
        .unwrap();
    assert!(
        matches!(again, Guarded::Skipped(SendState::Sent)),
        "{again:?}"
    );
    // Checked in Spoki, another time: it did not go out, so it may be sent.
    guard.forget(CAMPAIGN, "+393470000205").await.unwrap();
    assert_eq!(guard.state(CAMPAIGN, "+393470000205").await.unwrap(), None);
    let sent = guard
        .run(CAMPAIGN, "+393470000205", nothing_to_send)
        .await
        .unwrap();
    assert!(matches!(sent, Guarded::Sent(())), "{sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_killed_and_restarted_during_a_send_still_records_it() {
    let mut redis = RedisServer::start();
    let port = redis.port();
    let mock = mock().await;
    let (guard, client) = (guard(&redis).await, starter(&mock));
    let f = mock.fixtures();
    let phone = "+393470000204";
    let body = AutomationStart::new(f.automation_secret.as_str(), Phone::parse(phone).unwrap())
        .custom_fields([("DATE_EXPIRE_SCRIPTION", "2026-12-31")]);
    let server = &mut redis;
    let outcome = guard
        .run(CAMPAIGN, phone, || async move {
            server.kill();
            let answer = client.automations().start(&f.automation_uuid, &body).await;
            *server = RedisServer::start_on(port);
            answer
        })
        .await
        .unwrap();
    assert!(matches!(outcome, Guarded::Sent(())), "{outcome:?}");
    // The restarted Redis lost every mark, and still learned this one: it went out.
    assert_eq!(
        guard.state(CAMPAIGN, phone).await.unwrap(),
        Some(SendState::Sent)
    );
    assert_eq!(starts_per_phone(&mock)[phone], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_spoki_accepted_with_an_unreadable_answer_is_marked_sent() {
    let redis = RedisServer::start();
    let mock = mock().await;
    let guard = guard(&redis).await;
    let f = mock.fixtures();
    let client = Client::builder()
        .base_url(mock.url())
        .api_key(f.client_api_key.as_str())
        .without_retries()
        .build()
        .unwrap();
    // Spoki answers 2xx with a body the client cannot read: it acted, only its answer is lost.
    mock.fault(
        OperationId::MessagesSendTemplate,
        spoki_mock::Fault::answer(200, serde_json::json!([1, 2, 3])),
        1,
    )
    .unwrap();
    let phone = "+393470000206";
    let send = spoki_client::models::SendTemplate::new(
        Phone::parse(phone).unwrap(),
        f.utility_template_id,
    );
    let outcome = guard
        .run(CAMPAIGN, phone, || async {
            client.messages().send_template(&send).await
        })
        .await
        .unwrap();
    assert!(
        matches!(
            outcome,
            Guarded::Failed {
                released: false,
                ..
            }
        ),
        "{outcome:?}"
    );
    // Not "unknown": Spoki said yes. A later run skips it as sent.
    assert_eq!(
        guard.state(CAMPAIGN, phone).await.unwrap(),
        Some(SendState::Sent)
    );
}
