//! `webhooks verify` and `webhooks listen`.

use crate::support::Sandbox;
use spoki_client::models::Secret;
use spoki_client::webhook::sign;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "whsec_demo-webhook-secret";
const BODY: &str = r#"{"version":2,"event":"message.inbound","event_uuid":"e-1","timestamp":1700000000,"account_id":101,"data":{"text":"Vorrei rinnovare","from_phone":"+393331234567"}}"#;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn verify_accepts_an_authentic_delivery_and_says_why_it_refuses_others() {
    let s = Sandbox::new();
    let body = s.write("body.json", BODY);
    let body = body.to_str().unwrap();
    let env = [("HOOK_SECRET", SECRET)];
    let signature = sign(&Secret::from(SECRET), now(), BODY.as_bytes());

    let ok = s.run(
        &[
            "webhooks",
            "verify",
            "--secret-env",
            "HOOK_SECRET",
            "--signature",
            &signature,
            "--body",
            body,
        ],
        &env,
    );
    assert_eq!(ok.code, 0, "{ok:#?}");
    assert!(ok.stdout.contains("message.inbound"), "{ok:#?}");

    // The header as copied from a log, name included.
    let with_name = format!("X-Spoki-Signature: {signature}");
    let named = s.run(
        &[
            "--json",
            "webhooks",
            "verify",
            "--secret-env",
            "HOOK_SECRET",
            "--signature",
            &with_name,
            "--body",
            body,
        ],
        &env,
    );
    assert_eq!(named.code, 0, "{named:#?}");
    assert_eq!(named.json()["valid"], true);

    let forged = s.write("forged.json", &BODY.replace("rinnovare", "disdire"));
    let bad = s.run(
        &[
            "webhooks",
            "verify",
            "--secret-env",
            "HOOK_SECRET",
            "--signature",
            &signature,
            "--body",
            forged.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("invalid"), "{bad:#?}");

    // Authentic but an hour old: refused as stale, and accepted when checked as of then.
    let old = now() - 3600;
    let stale_sig = sign(&Secret::from(SECRET), old, BODY.as_bytes());
    let stale = s.run(
        &[
            "webhooks",
            "verify",
            "--secret-env",
            "HOOK_SECRET",
            "--signature",
            &stale_sig,
            "--body",
            body,
        ],
        &env,
    );
    assert_eq!(stale.code, 1);
    let then = s.run(
        &[
            "webhooks",
            "verify",
            "--secret-env",
            "HOOK_SECRET",
            "--signature",
            &stale_sig,
            "--body",
            body,
            "--at",
            &old.to_string(),
        ],
        &env,
    );
    assert_eq!(then.code, 0, "{then:#?}");

    let unset = s.run(
        &[
            "webhooks",
            "verify",
            "--secret-env",
            "NOT_SET",
            "--signature",
            &signature,
            "--body",
            body,
        ],
        &[],
    );
    assert_eq!(unset.code, 2);
}

/// `spoki webhooks listen` in the background; its first line is the URL.
struct Listener {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    url: String,
}

impl Listener {
    fn start(extra: &[&str]) -> Listener {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("spoki"))
            .args([
                "--json",
                "webhooks",
                "listen",
                "--port",
                "0",
                "--secret-env",
                "HOOK_SECRET",
            ])
            .args(extra)
            .env("HOOK_SECRET", SECRET)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first: serde_json::Value =
            serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        let url = first["listening"].as_str().unwrap().to_owned();
        Listener { child, lines, url }
    }

    fn next(&mut self) -> serde_json::Value {
        serde_json::from_str(&self.lines.next().unwrap().unwrap()).unwrap()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_verifies_prints_and_forwards_each_delivery() {
    let mut downstream = Listener::start(&[]);
    let mut front = Listener::start(&["--forward-to", &downstream.url]);
    let http = reqwest::Client::new();
    let url = front.url.clone();
    let post = |signature: String, body: &'static str| {
        http.post(&url)
            .header("X-Spoki-Signature", signature)
            .header("X-Spoki-Account", "101")
            .body(body)
            .send()
    };

    let signature = sign(&Secret::from(SECRET), now(), BODY.as_bytes());
    let answer = post(signature, BODY).await.unwrap();
    assert_eq!(answer.status(), 200);
    let seen = tokio::task::block_in_place(|| front.next());
    assert_eq!(seen["valid"], true);
    assert_eq!(seen["event"], "message.inbound");
    assert_eq!(seen["data"]["text"], "Vorrei rinnovare");
    assert_eq!(seen["forward"], "forwarded: 200");
    // The forwarded copy verifies downstream: headers and body went unchanged.
    let forwarded = tokio::task::block_in_place(|| downstream.next());
    assert_eq!(forwarded["valid"], true);
    assert_eq!(forwarded["event_uuid"], "e-1");

    let forged = sign(&Secret::from("another-secret"), now(), BODY.as_bytes());
    let refused = post(forged, BODY).await.unwrap();
    assert_eq!(refused.status(), 401);
    let seen = tokio::task::block_in_place(|| front.next());
    assert_eq!(seen["valid"], false);
    assert_eq!(seen["status"], 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_prints_a_redelivered_event_once_and_refuses_a_huge_body() {
    let mut listener = Listener::start(&[]);
    let http = reqwest::Client::new();
    let post = |body: Vec<u8>| {
        let signature = sign(&Secret::from(SECRET), now(), &body);
        http.post(&listener.url)
            .header("X-Spoki-Signature", signature)
            .body(body)
            .send()
    };
    // Spoki delivers the same event twice: both answered 200, printed once.
    for _ in 0..2 {
        assert_eq!(post(BODY.as_bytes().to_vec()).await.unwrap().status(), 200);
    }
    // A 20 MiB body: answered 413 from its head alone, before a byte of it is sent, and the
    // listener goes on serving.
    let addr = listener
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nx-spoki-signature: t=1,v2=00\r\n\r\n",
        20 << 20
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 64];
    let read = stream.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let other = BODY.replace("e-1", "e-2");
    assert_eq!(post(other.into_bytes()).await.unwrap().status(), 200);

    let lines: Vec<serde_json::Value> =
        tokio::task::block_in_place(|| (0..3).map(|_| listener.next()).collect());
    assert_eq!(lines[0]["event_uuid"], "e-1");
    assert_eq!(lines[0]["data"]["from_phone"], "+393331234567");
    assert_eq!(lines[1]["status"], 413, "{lines:?}");
    assert_eq!(
        lines[2]["event_uuid"], "e-2",
        "e-1 is not printed again: {lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_delivers_every_kind_signed_and_listen_prints_each_once() {
    let mut listener = Listener::start(&[]);
    let s = Sandbox::new();
    let env = [("HOOK_SECRET", SECRET)];
    let kinds = spoki_client::models::WebhookEvent::KNOWN;
    for kind in kinds {
        let run = tokio::task::block_in_place(|| {
            s.run(
                &[
                    "webhooks",
                    "trigger",
                    kind.as_str(),
                    "--to",
                    &listener.url,
                    "--secret-env",
                    "HOOK_SECRET",
                ],
                &env,
            )
        });
        assert_eq!(run.code, 0, "{kind}: {run:#?}");
    }
    // The same event id twice: the second is a redelivery, answered and not printed.
    for _ in 0..2 {
        let run = tokio::task::block_in_place(|| {
            s.run(
                &[
                    "webhooks",
                    "trigger",
                    "message.inbound",
                    "--to",
                    &listener.url,
                    "--secret-env",
                    "HOOK_SECRET",
                    "--event-uuid",
                    "same-1",
                ],
                &env,
            )
        });
        assert_eq!(run.code, 0, "{run:#?}");
    }
    // Signed with another secret: refused, and `trigger` says so with exit 1.
    let forged = tokio::task::block_in_place(|| {
        s.run(
            &[
                "webhooks",
                "trigger",
                "contact.created",
                "--to",
                &listener.url,
                "--secret-env",
                "OTHER",
            ],
            &[("OTHER", "whsec_not-the-listeners")],
        )
    });
    assert_eq!(forged.code, 1, "{forged:#?}");
    let unknown = s.run(
        &[
            "webhooks",
            "trigger",
            "nope.nope",
            "--to",
            &listener.url,
            "--secret-env",
            "HOOK_SECRET",
        ],
        &env,
    );
    assert_eq!(
        unknown.code, 2,
        "an unknown event is a usage error: {unknown:#?}"
    );

    let lines: Vec<serde_json::Value> =
        tokio::task::block_in_place(|| (0..kinds.len() + 2).map(|_| listener.next()).collect());
    for (line, kind) in lines.iter().zip(kinds) {
        assert_eq!(line["event"], kind.as_str(), "{line}");
        assert_eq!(line["valid"], true);
    }
    assert_eq!(lines[kinds.len()]["event_uuid"], "same-1");
    assert_eq!(
        lines[kinds.len() + 1]["status"],
        401,
        "the repeat was not printed: {lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_writes_a_billing_log_of_what_it_receives() {
    let s = Sandbox::new();
    let log = s.path("billing.jsonl");
    let mut listener = Listener::start(&["--billing-log", log.to_str().unwrap()]);
    let env = [("HOOK_SECRET", SECRET)];
    for event in ["message.inbound", "contact.created"] {
        let run = tokio::task::block_in_place(|| {
            s.run(
                &[
                    "webhooks",
                    "trigger",
                    event,
                    "--to",
                    &listener.url,
                    "--secret-env",
                    "HOOK_SECRET",
                ],
                &env,
            )
        });
        assert_eq!(run.code, 0, "{run:#?}");
    }
    tokio::task::block_in_place(|| {
        listener.next();
        listener.next();
    });
    let written = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "only the customer's message bills: {written}"
    );
    let event = spoki_billing::Event::from_json(lines[0]).unwrap();
    assert_eq!(event.customer.to_string(), "+393331234567");
    assert_eq!(event.message, spoki_billing::Message::Inbound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_forwards_no_delivery_it_refused() {
    let mut downstream = Listener::start(&[]);
    let mut front = Listener::start(&["--forward-to", &downstream.url]);
    let http = reqwest::Client::new();
    let forged = sign(&Secret::from("another-secret"), now(), BODY.as_bytes());
    let refused = http
        .post(&front.url)
        .header("X-Spoki-Signature", forged)
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let seen = tokio::task::block_in_place(|| front.next());
    assert_eq!(seen["valid"], false);
    assert!(seen.get("forward").is_none(), "{seen}");
    // Then an authentic one: the first thing downstream ever sees is that one.
    let signature = sign(&Secret::from(SECRET), now(), BODY.as_bytes());
    let answer = http
        .post(&front.url)
        .header("X-Spoki-Signature", signature)
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let first_downstream = tokio::task::block_in_place(|| downstream.next());
    assert_eq!(
        first_downstream["valid"], true,
        "a refused delivery was forwarded: {first_downstream}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn out_of_descriptors_listen_waits_instead_of_spinning() {
    // `listen` allowed 48 descriptors, and 120 connections: most wait in the backlog while
    // `accept` fails with "too many open files".
    let mut child = Command::new("sh")
        .args([
            "-c",
            "ulimit -n 48 && exec \"$0\" webhooks listen --port 0 --secret-env HOOK_SECRET",
        ])
        .arg(assert_cmd::cargo::cargo_bin("spoki"))
        .env("HOOK_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let addr = url
        .trim()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let held: Vec<_> = (0..120)
        .filter_map(|_| std::net::TcpStream::connect(&addr).ok())
        .collect();
    assert!(held.len() > 48, "connections queued: {}", held.len());
    let cpu = |pid: u32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<String> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        // utime and stime, in ticks of 1/100 s.
        (fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap()) / 100.0
    };
    let before = cpu(child.id());
    std::thread::sleep(std::time::Duration::from_secs(3));
    let used = cpu(child.id()) - before;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(used < 1.0, "listen used {used:.2} s of CPU in 3 s");
}
