//! Many workers, one quota: the Redis store and the send-once guard against a real
//! `redis-server` and the local Spoki with its quota enforced.

use spoki_client::models::{AutomationStart, ContactSync, Phone};
use spoki_client::{Client, Error, ReqwestTransport};
use spoki_middleware::shared::{Fallback, Guarded, RedisStore, SendOnce, SendState};
use spoki_middleware::{
    ClassQuota, Jitter, LimitStore, LocalStore, RateLimitConfig, RateLimited, RetryPolicy, Retrying,
};
use spoki_mock::OperationId;
use spoki_mock::RedisServer;
use spoki_mock::{Fault, MockSpoki, RateLimits};
use spoki_models::RateClass;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The mock enforces `requests` per second on the Default class (per endpoint and key).
async fn mock_with_quota(requests: u32) -> MockSpoki {
    let limits = RateLimits::default().quota(RateClass::Default, requests, Duration::from_secs(1));
    MockSpoki::builder()
        .rate_limits(limits)
        .start()
        .await
        .unwrap()
}

/// A worker's client: its own store and connection, pacing 10 % under the server's quota so
/// that a loaded machine delaying one request and not the next cannot push two into one window.
fn worker(mock: &MockSpoki, key: &str, requests: u32, store: impl LimitStore + 'static) -> Client {
    let quota = ClassQuota::new(requests, ms(1100));
    let config = RateLimitConfig::default()
        .quota(RateClass::Default, quota)
        .jitter(ms(2), Jitter::full())
        .store(store);
    let transport = ReqwestTransport::new(ms(500), Duration::from_secs(5), "shared-tests").unwrap();
    let policy = RetryPolicy::default().backoff(ms(20), ms(100));
    Client::builder()
        .base_url(mock.url())
        .api_key(key)
        .transport(Retrying::with_policy(
            RateLimited::with_config(transport, config),
            policy,
        ))
        .build()
        .unwrap()
}

/// Every worker reads the account until `deadline`; returns (answered, 429s seen by the mock).
async fn read_until(mock: &MockSpoki, clients: Vec<Client>, deadline: Instant) -> usize {
    let account = mock.fixtures().client_account_id;
    let answered = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let answered = answered.clone();
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    client.accounts().get(account).await.unwrap();
                    answered.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    answered.load(Ordering::SeqCst)
}

fn throttled(mock: &MockSpoki) -> usize {
    mock.received()
        .iter()
        .filter(|r| r.status == Some(429))
        .count()
}

#[tokio::test]
async fn four_workers_share_one_quota_through_redis_without_a_429() {
    let redis = RedisServer::start();
    let mock = mock_with_quota(10).await;
    let key = mock.fixtures().agency_api_key;
    let clients = (0..4)
        .map(|_| {
            worker(
                &mock,
                &key,
                10,
                RedisStore::open(&redis.url()).unwrap().prefix("t1"),
            )
        })
        .collect();
    let started = Instant::now();
    let answered = read_until(&mock, clients, started + Duration::from_secs(3)).await;
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(throttled(&mock), 0, "no 429 from the mock");
    // 10 per second for about 3 s, less the 10 % margin (and the first slot is free); the
    // lower bound only shows the workers were not starved, with room for a loaded machine.
    let capacity = 10.0 * seconds;
    assert!(
        answered as f64 >= 0.6 * capacity,
        "{answered} of {capacity:.0}"
    );
    assert!(
        answered as f64 <= capacity + 1.0,
        "{answered} of {capacity:.0}"
    );
}

/// The environment variable that turns [`worker_process`] into a worker.
const WORKER_ENV: &str = "SPOKI_SHARED_TEST_WORKER";

#[tokio::test]
async fn four_worker_processes_share_one_quota_through_redis_without_a_429() {
    let redis = RedisServer::start();
    let mock = mock_with_quota(10).await;
    let key = mock.fixtures().agency_api_key;
    let seconds = 3;
    let started = Instant::now();
    // Each worker is this test binary again, running only `worker_process`.
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "worker_process",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(
                    WORKER_ENV,
                    format!("{}|{}|{key}|{seconds}", redis.url(), mock.url()),
                )
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut answered = 0;
    for child in children {
        let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        assert!(output.status.success());
        let stdout = String::from_utf8(output.stdout).unwrap();
        // The harness prints its own words around the worker's line.
        let count: String = stdout
            .split_once("ANSWERED=")
            .unwrap_or_else(|| panic!("no count from a worker: {stdout}"))
            .1
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        answered += count.parse::<usize>().unwrap();
    }
    assert_eq!(throttled(&mock), 0, "no 429 from the mock");
    // The workers start and stop at slightly different times: the run spans them all.
    let capacity = 10.0 * started.elapsed().as_secs_f64();
    assert!(
        answered as f64 >= 0.6 * capacity,
        "{answered} of {capacity:.0}"
    );
    assert!(
        answered as f64 <= capacity + 1.0,
        "{answered} of {capacity:.0}"
    );
}

/// A worker process of the test above; does nothing when run on its own.
#[test]
fn worker_process() {
    let Ok(spec) = std::env::var(WORKER_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split('|').collect();
    let [redis_url, mock_url, key, seconds] = parts[..] else {
        panic!("bad worker spec {spec}")
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let answered = runtime.block_on(async {
        let config = RateLimitConfig::default()
            .quota(RateClass::Default, ClassQuota::new(10, ms(1100)))
            .jitter(ms(2), Jitter::full())
            .store(RedisStore::open(redis_url).unwrap().prefix("t0"));
        let transport = ReqwestTransport::new(ms(500), Duration::from_secs(5), "worker").unwrap();
        let client = Client::builder()
            .base_url(mock_url)
            .api_key(key)
            .transport(RateLimited::with_config(transport, config))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(seconds.parse().unwrap());
        let mut answered = 0;
        while Instant::now() < deadline {
            match client.accounts().get(101).await {
                Ok(_) => answered += 1,
                // A pooled connection reset under load never reached Spoki (no status): the
                // quota is what is under test, and a 429 is still a failure.
                Err(e) if e.status().is_none() && e.is_retryable() => {}
                Err(e) => panic!("{e}"),
            }
        }
        answered
    });
    println!("ANSWERED={answered}");
}

#[tokio::test]
async fn without_a_shared_store_the_same_workers_meet_429s() {
    let mock = mock_with_quota(10).await;
    let key = mock.fixtures().agency_api_key;
    let clients = (0..4)
        .map(|_| worker(&mock, &key, 10, LocalStore::new()))
        .collect();
    read_until(&mock, clients, Instant::now() + Duration::from_secs(2)).await;
    assert!(throttled(&mock) > 0, "each worker paced alone overshoots");
}

#[tokio::test(flavor = "current_thread")]
async fn redis_killed_and_restarted_mid_run_loses_nothing_and_sends_nothing_twice() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut redis = RedisServer::start();
    let port = redis.port;
    let mock = mock_with_quota(20).await;
    let key = mock.fixtures().client_api_key;
    let stores: Vec<Arc<RedisStore>> = (0..4)
        .map(|_| {
            Arc::new(
                RedisStore::open(&redis.url())
                    .unwrap()
                    .prefix("t2")
                    .fallback(Fallback::Local { workers: 4 })
                    .probe_interval(ms(200)),
            )
        })
        .collect();
    let clients: Vec<Client> = stores
        .iter()
        .map(|store| worker(&mock, &key, 20, store.clone()))
        .collect();
    let started = Instant::now();
    // A second of rest at each switch (see the fallback): the run is long enough to show the work
    // going on around them.
    let deadline = started + Duration::from_secs(5);
    let synced = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(w, client)| {
            let synced = synced.clone();
            tokio::spawn(async move {
                let mut i = 0;
                while Instant::now() < deadline {
                    let phone = Phone::parse(&format!("+39347{w}{i:06}")).unwrap();
                    // Every call returns its answer: none is lost.
                    client
                        .contacts()
                        .sync(&ContactSync::new(phone))
                        .await
                        .unwrap();
                    synced.fetch_add(1, Ordering::SeqCst);
                    i += 1;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    redis.kill();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(stores.iter().all(|s| s.is_down()), "the outage was noticed");
    let _restarted = RedisServer::start_on(port);
    for task in tasks {
        task.await.unwrap();
    }
    assert!(
        stores.iter().all(|s| !s.is_down()),
        "every store came back to Redis"
    );

    let synced = synced.load(Ordering::SeqCst);
    let syncs: Vec<_> = mock
        .received()
        .into_iter()
        .filter(|r| r.operation.as_deref() == Some("contacts_sync") && r.status == Some(200))
        .collect();
    assert_eq!(syncs.len(), synced, "each call reached Spoki once");
    let mut phones: Vec<_> = syncs.iter().map(|r| r.body["phone"].to_string()).collect();
    phones.sort();
    phones.dedup();
    assert_eq!(phones.len(), synced, "no contact was sent twice");
    assert!(synced >= 40, "work went on through the outage: {synced}");
    // While Redis was gone, each worker kept to its share of the quota: Spoki refused none.
    assert_eq!(throttled(&mock), 0, "the local fallback kept the quota");

    let logs = logs.text();
    assert_eq!(
        logs.matches("unavailable").count(),
        4,
        "one warning per store per outage:\n{logs}"
    );
    assert_eq!(logs.matches("is back").count(), 4, "{logs}");
}

#[tokio::test]
async fn a_429_pauses_the_class_for_every_worker() {
    let redis = RedisServer::start();
    let mock = MockSpoki::builder()
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap();
    let f = mock.fixtures();
    let retry_after = Fault::answer(429, None).header("retry-after", "2");
    mock.fault(OperationId::AccountsGet, retry_after, 1)
        .unwrap();
    let plain = |store: RedisStore| {
        let config = RateLimitConfig::default().store(store.prefix("t3"));
        let transport = ReqwestTransport::new(ms(500), Duration::from_secs(5), "t").unwrap();
        Client::builder()
            .base_url(mock.url())
            .api_key(f.agency_api_key.as_str())
            .transport(RateLimited::with_config(transport, config))
            .build()
            .unwrap()
    };
    let a = plain(RedisStore::open(&redis.url()).unwrap());
    let b = plain(RedisStore::open(&redis.url()).unwrap());
    let err = a.accounts().get(f.client_account_id).await.unwrap_err();
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
    let started = Instant::now();
    b.accounts().get(f.client_account_id).await.unwrap();
    assert!(started.elapsed() >= ms(1800), "{:?}", started.elapsed());
}

#[tokio::test]
async fn fail_fast_sends_nothing_while_redis_is_down() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    redis.kill();
    let mock = MockSpoki::builder()
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap();
    let f = mock.fixtures();
    let store = RedisStore::open(&url).unwrap().fallback(Fallback::FailFast);
    let transport = ReqwestTransport::new(ms(500), Duration::from_secs(5), "t").unwrap();
    let client = Client::builder()
        .base_url(mock.url())
        .api_key(f.agency_api_key.as_str())
        .transport(RateLimited::with_config(
            transport,
            RateLimitConfig::default().store(store),
        ))
        .build()
        .unwrap();
    let err = client
        .accounts()
        .get(f.client_account_id)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::RateLimited {
                client_side: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(mock.received().is_empty());
}

async fn guard(redis: &RedisServer) -> SendOnce {
    SendOnce::open(&redis.url()).await.unwrap().prefix("t4")
}

fn starter(mock: &MockSpoki) -> Client {
    // One attempt per call: the guard, not a retry, must deal with a refusal.
    Client::builder()
        .base_url(mock.url())
        .without_retries()
        .build()
        .unwrap()
}

fn start_body(mock: &MockSpoki, phone: &str) -> AutomationStart {
    AutomationStart::new(
        mock.fixtures().automation_secret.as_str(),
        Phone::parse(phone).unwrap(),
    )
    .custom_fields([("DATE_EXPIRE_SCRIPTION", "2026-12-31")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_one_of_many_concurrent_duplicates_is_sent() {
    let redis = RedisServer::start();
    let mock = MockSpoki::builder()
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap();
    let uuid = mock.fixtures().automation_uuid;
    let mut tasks = Vec::new();
    // Sixteen workers, each with its own connection, released at the same instant on four
    // threads: their claims race in Redis, not one after the other in this test.
    let start = Arc::new(tokio::sync::Barrier::new(16));
    for _ in 0..16 {
        let (guard, client) = (guard(&redis).await, starter(&mock));
        let (body, uuid) = (start_body(&mock, "+393470000777"), uuid.clone());
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            guard
                .run("renewal-2026-11", "+393470000777", || async {
                    client.automations().start(&uuid, &body).await
                })
                .await
                .unwrap()
        }));
    }
    let mut sent = 0;
    for task in tasks {
        match task.await.unwrap() {
            Guarded::Sent(()) => sent += 1,
            Guarded::Skipped(SendState::InFlight | SendState::Sent) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(sent, 1);
    assert_eq!(
        mock.calls(OperationId::AutomationsStart),
        1,
        "Spoki received one start"
    );
    // A re-run of the campaign skips and says so.
    let again = guard(&redis)
        .await
        .run("renewal-2026-11", "+393470000777", || async {
            starter(&mock)
                .automations()
                .start(&uuid, &start_body(&mock, "+393470000777"))
                .await
        })
        .await
        .unwrap();
    assert!(
        matches!(again, Guarded::Skipped(SendState::Sent)),
        "{again:?}"
    );
    assert_eq!(mock.calls(OperationId::AutomationsStart), 1);
}

#[tokio::test]
async fn an_unknown_outcome_stays_marked_and_a_refused_send_is_released() {
    let redis = RedisServer::start();
    let mock = MockSpoki::builder()
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap();
    let uuid = mock.fixtures().automation_uuid;
    let guard = guard(&redis).await;
    let send = |phone: &'static str| {
        let (client, body, uuid) = (starter(&mock), start_body(&mock, phone), uuid.clone());
        move || async move { client.automations().start(&uuid, &body).await }
    };

    mock.fault(OperationId::AutomationsStart, Fault::AnswerLost, 1)
        .unwrap();
    let lost = guard
        .run("c", "+393470000001", send("+393470000001"))
        .await
        .unwrap();
    assert!(
        matches!(
            lost,
            Guarded::Failed {
                released: false,
                ..
            }
        ),
        "{lost:?}"
    );
    assert_eq!(
        guard.state("c", "+393470000001").await.unwrap(),
        Some(SendState::OutcomeUnknown)
    );
    let rerun = guard
        .run("c", "+393470000001", send("+393470000001"))
        .await
        .unwrap();
    assert!(
        matches!(rerun, Guarded::Skipped(SendState::OutcomeUnknown)),
        "{rerun:?}"
    );
    assert_eq!(
        mock.calls(OperationId::AutomationsStart),
        1,
        "never resent blindly"
    );
    assert_eq!(mock.messages().len(), 1, "the lost one did go out");

    mock.fault(OperationId::AutomationsStart, Fault::status(429), 1)
        .unwrap();
    let refused = guard
        .run("c", "+393470000002", send("+393470000002"))
        .await
        .unwrap();
    assert!(
        matches!(refused, Guarded::Failed { released: true, .. }),
        "{refused:?}"
    );
    let retried = guard
        .run("c", "+393470000002", send("+393470000002"))
        .await
        .unwrap();
    assert!(matches!(retried, Guarded::Sent(())), "{retried:?}");
    assert_eq!(mock.messages().len(), 2);
}

#[tokio::test]
async fn with_redis_down_the_guard_sends_nothing() {
    let mut redis = RedisServer::start();
    let guard = guard(&redis).await;
    redis.kill();
    let called = AtomicUsize::new(0);
    let result = guard
        .run("c", "+393470000003", || async {
            called.fetch_add(1, Ordering::SeqCst);
            Ok::<(), Error>(())
        })
        .await;
    assert!(result.is_err());
    assert_eq!(called.load(Ordering::SeqCst), 0);
}

#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
