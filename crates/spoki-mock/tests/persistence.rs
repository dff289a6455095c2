//! State survives restarts: the binary killed outright, and the library shut down cleanly.

mod binary;

use serde_json::{Value, json};
use spoki_mock::MockSpoki;
use std::process::Child;
use std::time::Duration;

/// The binary with its state in `state`, and `extra` options.
fn spawn_with(state: &std::path::Path, extra: &[&str]) -> (Child, String) {
    let mut args = vec![std::ffi::OsStr::new("--state"), state.as_os_str()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    binary::spawn(&args)
}

fn spawn(state: &std::path::Path) -> (Child, String) {
    spawn_with(state, &[])
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
    // The answer came once the change was saved.
    assert!(
        std::fs::read_to_string(&state)
            .unwrap()
            .contains("+393470001234")
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&state).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    let header: Value = serde_json::from_str(header).unwrap();
    assert_eq!(header["format"], "spoki-mock-state");
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["version"], 2);
    // Money is kept exactly, with its currency, and read back the same.
    let credits: Vec<spoki_models::Money> = body["accounts"]
        .as_object()
        .unwrap()
        .values()
        .map(|account| account["credit"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        credits.iter().any(|c| c.to_string() == "0.42 EUR"),
        "{credits:?}"
    );
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
    send_text(&mock, &f.client_api_key, "Ciao").await;
    let credit = mock.credit(f.client_account_id);
    let messages = mock.messages();
    mock.shutdown().await.unwrap();

    let again = MockSpoki::builder()
        .state_file(&state)
        .start()
        .await
        .unwrap();
    assert_eq!(again.credit(f.client_account_id), credit);
    assert_eq!(again.messages(), messages);
    // The service window opened before the restart is still open: free-form goes out, and
    // joins the open service conversation at no cost.
    send_text(&again, &f.client_api_key, "Ancora").await;
    assert_eq!(again.credit(f.client_account_id), credit);
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

/// A state file written by a mock that did some work.
async fn saved_state(dir: &std::path::Path) -> std::path::PathBuf {
    let state = dir.join("state.json");
    let mock = MockSpoki::builder()
        .state_file(&state)
        .start()
        .await
        .unwrap();
    mock.inbound("+393331234567", "Ciao").unwrap();
    mock.shutdown().await.unwrap();
    state
}

#[tokio::test]
async fn every_flipped_bit_of_a_state_file_is_refused_and_the_file_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let state = saved_state(dir.path()).await;
    let whole = std::fs::read(&state).unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..1000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let bit = (seed % (whole.len() as u64 * 8)) as usize;
        let mut damaged = whole.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        std::fs::write(&state, &damaged).unwrap();
        let err = MockSpoki::builder()
            .state_file(&state)
            .start()
            .await
            .err()
            .unwrap_or_else(|| panic!("bit {bit} flipped, and the state loaded"));
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
        assert_eq!(std::fs::read(&state).unwrap(), damaged, "left as it is");
    }
    std::fs::write(&state, &whole).unwrap();
    MockSpoki::builder()
        .state_file(&state)
        .start()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_state_file_of_an_unknown_version_is_refused_not_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let state = saved_state(dir.path()).await;
    let text = std::fs::read_to_string(&state).unwrap();
    let newer = text.replacen("\"version\":2", "\"version\":999", 1);
    assert_ne!(newer, text);
    std::fs::write(&state, &newer).unwrap();
    let err = MockSpoki::builder()
        .state_file(&state)
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("version 999"), "{err}");
    assert_eq!(std::fs::read_to_string(&state).unwrap(), newer);
}

#[cfg(unix)]
#[tokio::test]
async fn the_state_file_is_owner_only_and_old_temporaries_are_removed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let state = saved_state(dir.path()).await;
    let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "it holds every secret: {mode:o}");
    // What a mock killed mid-save leaves, and a file that only looks alike.
    std::fs::write(dir.path().join("state.json.4242.7.tmp"), "half").unwrap();
    std::fs::write(dir.path().join("state.json.notes.tmp"), "mine").unwrap();
    let mock = MockSpoki::builder()
        .state_file(&state)
        .start()
        .await
        .unwrap();
    mock.shutdown().await.unwrap();
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["state.json", "state.json.notes.tmp"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mock_killed_mid_stream_keeps_every_write_it_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("spoki.json");
    let (mut child, url) = spawn_with(&state, &["--no-rate-limits"]);
    let http = reqwest::Client::new();
    let fixtures: Value = http
        .get(format!("{url}/__mock/fixtures"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = fixtures["agency_api_key"].as_str().unwrap().to_owned();
    // A state of 10,000 contacts, so each save takes a while and a kill lands between an
    // answer and its save unless the answer waits for it.
    for chunk in 0..20 {
        let contacts: Vec<Value> = (0..500)
            .map(|i| json!({"phone": format!("+3935{chunk:02}{i:06}"), "first_name": "Bulk"}))
            .collect();
        let synced = http
            .post(format!("{url}/api/1/contacts/sync_all/"))
            .header("X-Spoki-Api-Key", &key)
            .json(&contacts)
            .send()
            .await
            .unwrap();
        assert_eq!(synced.status(), 200);
    }
    // Four writers, each syncing contacts one by one, until the mock is killed under them.
    let mut writers = Vec::new();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for w in 0..4 {
        let (http, url, key) = (http.clone(), url.clone(), key.clone());
        let answered = answered.clone();
        writers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for i in 0.. {
                let phone = format!("+3934{w}{i:07}");
                let sent = http
                    .post(format!("{url}/api/1/contacts/sync/"))
                    .header("X-Spoki-Api-Key", &key)
                    .json(&json!({"phone": phone}))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 200 => {
                        acknowledged.push(phone);
                        answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    _ => return acknowledged,
                }
            }
            acknowledged
        }));
    }
    // Killed once the writers are well under way, however loaded the machine is.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while answered.load(std::sync::atomic::Ordering::SeqCst) < 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writers never got going"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let mut acknowledged = Vec::new();
    for w in writers {
        acknowledged.extend(w.await.unwrap());
    }
    assert!(acknowledged.len() >= 20, "{}", acknowledged.len());

    let (mut child, url) = spawn_with(&state, &["--no-rate-limits"]);
    let mut missing = Vec::new();
    for phone in &acknowledged {
        let page: Value = http
            .get(format!("{url}/api/1/contacts/"))
            .query(&[("phone", phone.as_str())])
            .header("X-Spoki-Api-Key", &key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if page["count"] != 1 {
            missing.push(phone.clone());
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes lost: {missing:?}",
        missing.len(),
        acknowledged.len()
    );
}

/// A free-form text to +393470000002, as the API takes it.
async fn send_text(mock: &MockSpoki, key: &str, text: &str) {
    let body = serde_json::json!({
        "type": "Message", "content_type": "Text", "phone": "+393470000002", "text": text,
    });
    let answer = reqwest::Client::new()
        .post(format!("{}/api/1/messages/send/", mock.url()))
        .header("x-spoki-api-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
}
