//! The local Spoki under hostile clients: slow headers, idle connections, huge bodies, bad
//! fault scripts and credentials in odd places. It stays up, bounded and discreet.

mod binary;

use serde_json::{Value, json};
use spoki_mock::{MockSpoki, RateLimits};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens a connection that starts a request and then sends one header line every 300 ms,
/// never finishing; returns whether the server closed it within 30 s.
async fn slow_client(addr: std::net::SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return false;
    };
    if stream
        .write_all(b"GET /api/1/accounts/ HTTP/1.1\r\nhost: x\r\n")
        .await
        .is_err()
    {
        return true;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut buf = [0_u8; 512];
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                // Closed, or answered 408 and then closed.
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            },
            () = tokio::time::sleep(Duration::from_millis(300)) => {
                if tokio::time::Instant::now() > deadline {
                    return false;
                }
                if stream.write_all(b"x-slow: 1\r\n").await.is_err() {
                    return true;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_slow_clients_are_dropped_while_others_are_served() {
    let mock = MockSpoki::builder()
        .header_timeout(Duration::from_secs(1))
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap();
    let slow: Vec<_> = (0..1000)
        .map(|_| tokio::spawn(slow_client(mock.addr())))
        .collect();
    // Meanwhile a well-behaved client is served.
    let http = reqwest::Client::new();
    let key = mock.fixtures().agency_api_key;
    for _ in 0..20 {
        let answer = http
            .get(format!("{}/api/1/accounts/101/", mock.url()))
            .header("X-Spoki-Api-Key", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    let mut held = 0;
    for client in slow {
        if !client.await.unwrap() {
            held += 1;
        }
    }
    assert_eq!(held, 0, "slow clients held past the header timeout");
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_header_timeout() {
    let mock = MockSpoki::builder()
        .header_timeout(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let mut stream = TcpStream::connect(mock.addr()).await.unwrap();
    stream
        .write_all(b"GET /__mock/fixtures HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = vec![0_u8; 64 * 1024];
    let n = stream.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"));
    // Kept alive, then silent: the server hangs up rather than holding the connection.
    let closed = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match stream.read(&mut answer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "an idle connection was held for 30 s");
}

#[tokio::test]
async fn the_request_log_keeps_its_bound_and_counts_what_it_dropped() {
    let mock = MockSpoki::builder().request_log(5).start().await.unwrap();
    let http = reqwest::Client::new();
    for n in 0..8 {
        http.get(format!("{}/api/1/accounts/{n}/", mock.url()))
            .send()
            .await
            .unwrap();
    }
    let kept = mock.received();
    assert_eq!(kept.len(), 5);
    assert_eq!(kept[0].path, "/api/1/accounts/3/", "the oldest went first");
    assert_eq!(mock.requests_dropped(), 3);
    let answer = http
        .get(format!("{}/__mock/requests", mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["x-spoki-mock-dropped"], "3");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_bodies_of_30_mib_leave_the_mock_small() {
    let (mut child, url) = binary::spawn(&[std::ffi::OsStr::new("--no-rate-limits")]);
    let key = spoki_mock::Fixtures::default().agency_api_key;
    // JSON that parses, so a log that kept bodies would keep each one.
    let body = format!(
        "{{\"phone\": \"+393331234567\", \"first_name\": \"{}\"}}",
        "A".repeat(30 * 1024 * 1024)
    );
    let http = reqwest::Client::new();
    for _ in 0..100 {
        let answer = http
            .post(format!("{url}/api/1/contacts/sync_all/"))
            .header("X-Spoki-Api-Key", &key)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "a sync takes a list");
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let log: Value = http
        .get(format!("{url}/__mock/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    // 3 GB went through; the log kept none of it. A generous bound, far under 3 GB.
    assert!(rss_kib < 512 * 1024, "the mock holds {rss_kib} KiB");
    assert_eq!(log.as_array().unwrap().len(), 100);
    assert_eq!(
        log[0]["body"],
        format!("[{} bytes, too large to keep]", body.len())
    );
}

#[tokio::test]
async fn invalid_fault_scripts_are_refused_with_400() {
    let mock = MockSpoki::start().await;
    let http = reqwest::Client::new();
    let post = |script: Value| {
        let http = http.clone();
        let url = format!("{}/__mock/faults", mock.url());
        async move { http.post(url).json(&script).send().await.unwrap().status() }
    };
    let op = "accounts_get";
    for bad in [
        json!({"operation": op, "fault": {"kind": "status", "status": 42}}),
        json!({"operation": op, "fault": {"kind": "status", "status": 1000}}),
        json!({"operation": op, "fault": {"kind": "status", "status": 503, "headers": {"bad name": "x"}}}),
        json!({"operation": op, "fault": {"kind": "status", "status": 503, "headers": {"retry-after": "1\n2"}}}),
        json!({"operation": op, "fault": {"kind": "delay", "ms": 86_400_000}}),
        json!({"operation": op, "fault": {"kind": "reset"}, "times": 0}),
        json!({"operation": op, "fault": {"kind": "reset"}, "times": 1_000_000_000_000_u64}),
        json!({"operation": op, "fault": {"kind": "explode"}}),
        json!({"operation": "no_such_operation", "fault": {"kind": "reset"}}),
        json!({"fault": {"kind": "reset"}}),
    ] {
        assert_eq!(post(bad.clone()).await, 400, "{bad}");
    }
    // The library refuses the same.
    assert!(
        mock.fault(
            spoki_mock::OperationId::AccountsGet,
            spoki_mock::Fault::status(42),
            1
        )
        .is_err(),
        "status 42"
    );
    let good = json!({"operation": op, "fault": {"kind": "status", "status": 503, "headers": {"retry-after": "1"}}});
    assert_eq!(post(good).await, 200);
    let answer = http
        .get(format!("{}/api/1/accounts/101/", mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.headers()["retry-after"], "1");
}

#[tokio::test]
async fn credentials_in_queries_cookies_and_auth_headers_stay_out_of_the_log() {
    let mock = MockSpoki::start().await;
    let http = reqwest::Client::new();
    http.get(format!(
        "{}/api/1/contacts/?page=1&api_key=canary-q1&access%5Ftoken=canary-q2",
        mock.url()
    ))
    .header("Cookie", "session=canary-c1")
    .header("Authorization", "Bearer canary-a1")
    .header("Proxy-Authorization", "Basic canary-p1")
    .header("X-Spoki-Api-Key", "canary-k1")
    .header("X-Client-Password", "canary-w1")
    .header("X-Request-Id", "kept-as-is")
    .send()
    .await
    .unwrap();
    let log = serde_json::to_string(&mock.received()).unwrap();
    assert!(!log.contains("canary"), "{log}");
    let entry = &mock.received()[0];
    assert_eq!(
        entry.query.as_deref(),
        Some("page=1&api_key=[REDACTED]&access%5Ftoken=[REDACTED]")
    );
    assert_eq!(entry.headers["cookie"], "[REDACTED]");
    assert_eq!(entry.headers["x-request-id"], "kept-as-is");
}

/// User and system CPU seconds a process has used, from `/proc/PID/stat`.
#[cfg(target_os = "linux")]
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // Linux reports in clock ticks of 1/100 s (USER_HZ) on every architecture it runs on.
    ticks / 100.0
}

#[cfg(target_os = "linux")]
#[test]
fn out_of_descriptors_the_accept_loop_waits_instead_of_spinning() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    // A mock allowed 48 descriptors, and 120 connections: most wait in the backlog while
    // `accept` fails with "too many open files".
    let mut child = Command::new("sh")
        .args([
            "-c",
            "ulimit -n 48 && exec \"$0\" --port 0 --no-rate-limits",
        ])
        .arg(env!("CARGO_BIN_EXE_spoki-mock"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let addr = url.trim().trim_start_matches("http://").to_owned();
    let held: Vec<_> = (0..120)
        .filter_map(|_| std::net::TcpStream::connect(&addr).ok())
        .collect();
    assert!(held.len() > 48, "connections queued: {}", held.len());
    let before = cpu_seconds(child.id());
    std::thread::sleep(Duration::from_secs(3));
    let used = cpu_seconds(child.id()) - before;
    child.kill().unwrap();
    child.wait().unwrap();
    // A loop spinning on the error burns a core: close to 3 s of the 3 s.
    assert!(used < 1.0, "the accept loop used {used:.2} s of CPU in 3 s");
}

#[tokio::test]
async fn a_rate_card_in_another_currency_than_eur_is_refused_at_start() {
    // Spoki's credit is in EUR: a card in dollars could not be charged against it.
    let card =
        spoki_mock::DEFAULT_RATE_CARD.replace(r#""currency": "EUR""#, r#""currency": "USD""#);
    assert_ne!(card, spoki_mock::DEFAULT_RATE_CARD);
    let err = MockSpoki::builder()
        .rate_card(card)
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("USD"), "{err}");
}
