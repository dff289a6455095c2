//! The embedded chat in a real browser: headless Chromium, driven by chromedriver, loads the
//! vendor's host page (the `embed_host` example); its iframe goes through the server-side
//! handler to the local Spoki's stand-in app, which signs in with the token and reports an
//! inbound message with `hasUnreadChatsChanged`. Neither the page, its frame, nor anything the
//! browser sent or received holds the API key or the private key.
//!
//! Debian's `chromium` and `chromium-driver` are installed when missing, as `redis-server` is.

#[path = "../examples/embed_host.rs"]
#[allow(dead_code)]
mod embed_host;

use serde_json::json;
use spoki_mock::MockSpoki;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        for program in ["chromium", "chromedriver"] {
            spoki_mock::debian::ensure(program, &["chromium", "chromium-driver"])
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Chromium headless, with nothing of its own on the network, and every request and answer
/// of the session written to `net_log`.
async fn browser(
    driver: &Driver,
    profile: &std::path::Path,
    net_log: &std::path::Path,
) -> fantoccini::Client {
    let args = [
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        format!("--user-data-dir={}", profile.display()),
        format!("--log-net-log={}", net_log.display()),
        "--net-log-capture-mode=Everything".to_owned(),
    ];
    let binary = on_path("chromium");
    let capabilities = json!({"goog:chromeOptions": {"binary": binary, "args": args}});
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    fantoccini::ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a chromium session")
}

/// The events the host page has handed on, as its `#events` shows them.
async fn events(page: &fantoccini::Client) -> String {
    let shown = page
        .execute(
            "return document.getElementById('events').textContent;",
            vec![],
        )
        .await
        .unwrap();
    shown.as_str().unwrap_or_default().to_owned()
}

async fn wait_for(page: &fantoccini::Client, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen = events(page).await;
        if seen.contains(text) {
            return seen;
        }
        assert!(Instant::now() < deadline, "no {text} in {seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_chat_signs_in_on_the_server_and_reports_an_inbound_message() {
    let spoki = MockSpoki::start().await;
    let f = spoki.fixtures();
    let app = embed_host::app(spoki.url(), &f).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    // Without the vendor's session the handler lets no one in.
    let anonymous = reqwest::get(format!("{host}/spoki/chat")).await.unwrap();
    assert_eq!(anonymous.status(), 403);

    let driver = Driver::start();
    let dir = tempfile::tempdir().unwrap();
    let net_log = dir.path().join("net-log.json");
    let page = browser(&driver, &dir.path().join("profile"), &net_log).await;
    page.goto(&format!("{host}/")).await.unwrap();
    // The stand-in app answers only a token it handed out: its first event says it signed in.
    let first = wait_for(&page, "hasUnreadChatsChanged").await;
    assert!(first.contains(r#""hasUnreadChats":false"#), "{first}");
    spoki
        .inbound("+393331234567", "Ciao, avete un tavolo?")
        .unwrap();
    let after = wait_for(&page, r#""hasUnreadChats":true"#).await;
    assert!(after.contains("chatsChanged"), "{after}");

    let host_page = page.source().await.unwrap();
    page.enter_frame(0).await.unwrap();
    let frame = page.source().await.unwrap();
    assert!(frame.contains("signed in"), "{frame}");
    page.close().await.unwrap();
    drop(driver);

    // Chromium writes the end of its net log as it exits.
    let deadline = Instant::now() + Duration::from_secs(30);
    let log = loop {
        let text = std::fs::read_to_string(&net_log).unwrap_or_default();
        if serde_json::from_str::<serde_json::Value>(&text).is_ok() || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The log saw the iframe's sign-in, so it would have seen a key too.
    assert!(
        log.contains("auth_token"),
        "the net log holds the iframe's requests"
    );
    for secret in [
        f.client_api_key.as_str(),
        f.agency_api_key.as_str(),
        f.private_key.as_str(),
        f.automation_secret.as_str(),
    ] {
        assert!(
            !host_page.contains(secret),
            "the host page holds a credential"
        );
        assert!(!frame.contains(secret), "the frame holds a credential");
        assert!(
            !log.contains(secret),
            "the browser's network saw a credential"
        );
    }
}

/// Where `program` is on `PATH`: wherever the installer (or the machine) put it.
fn on_path(program: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
}
