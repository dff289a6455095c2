//! State survives restarts: the binary killed outright, and the library shut down cleanly.

use serde_json::{Value, json};
use spoki_client::Client;
use spoki_client::models::{Phone, SendText};
use spoki_mock::MockSpoki;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts the `spoki-mock` binary and reads the URL from its first line.
fn spawn(state: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_spoki-mock"))
        .args(["--port", "0", "--state"])
        .arg(state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_owned())
}

#[tokio::test]
async fn the_binary_prints_its_url_and_a_killed_mock_keeps_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("spoki.json");
    let (mut child, url) = spawn(&state);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let http = reqwest::Client::new();
    let fixtures: Value = http
        .get(format!("{url}/__mock/fixtures"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = fixtures["agency_api_key"].as_str().unwrap();
    let account: Value = http
        .get(format!(
            "{url}/api/1/accounts/{}/",
            fixtures["client_account_id"]
        ))
        .header("X-Spoki-Api-Key", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(account["name"], "Pizzeria Da Mario");

    let synced = http
        .post(format!("{url}/api/1/contacts/sync/"))
        .header("X-Spoki-Api-Key", key)
        .json(&json!({"phone": "+393470001234", "first_name": "Giulia"}))
        .send()
        .await
        .unwrap();
    assert_eq!(synced.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&state)
        .unwrap_or_default()
        .contains("+393470001234")
    {
        assert!(Instant::now() < deadline, "the change was never saved");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["version"], 1);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary file left beside it: {leftovers:?}"
    );

    let (mut child, url) = spawn(&state);
    let page: Value = http
        .get(format!("{url}/api/1/contacts/?search=giulia"))
        .header("X-Spoki-Api-Key", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(page["count"], 1);
    assert_eq!(page["results"][0]["phone"], "+393470001234");
}

#[tokio::test]
async fn a_restarted_mock_remembers_credit_messages_and_service_windows() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mock = MockSpoki::builder()
        .state_file(&state)
        .start()
        .await
        .unwrap();
    let f = mock.fixtures();
    mock.inbound("+393470000002", "Buongiorno").unwrap();
    let client = |mock: &MockSpoki| {
        Client::builder()
            .base_url(mock.url())
            .api_key(f.client_api_key.as_str())
            .build()
            .unwrap()
    };
    client(&mock)
        .messages()
        .send_text(&SendText::new(
            Phone::parse("+393470000002").unwrap(),
            "Ciao",
        ))
        .await
        .unwrap();
    let credit = mock.credit_micros(f.client_account_id);
    let messages = mock.messages();
    mock.shutdown().await.unwrap();

    let again = MockSpoki::builder()
        .state_file(&state)
        .start()
        .await
        .unwrap();
    assert_eq!(again.credit_micros(f.client_account_id), credit);
    assert_eq!(again.messages(), messages);
    // The service window opened before the restart is still open: free-form goes out, and
    // joins the open service conversation at no cost.
    client(&again)
        .messages()
        .send_text(&SendText::new(
            Phone::parse("+393470000002").unwrap(),
            "Ancora",
        ))
        .await
        .unwrap();
    assert_eq!(again.credit_micros(f.client_account_id), credit);
    assert_eq!(again.messages().len(), 2);
}

#[tokio::test]
async fn a_state_file_that_is_not_ours_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(&state, "{\"hello\": 1}").unwrap();
    let err = MockSpoki::builder()
        .state_file(&state)
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "{\"hello\": 1}",
        "left untouched"
    );
}
