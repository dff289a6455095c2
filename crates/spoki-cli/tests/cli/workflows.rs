//! Campaigns, the embedded chat, billing and the demo.

use crate::support::{Sandbox, env_for, mock};
use spoki_mock::OperationId;

const TWO: &str = "phone,first_name\n+393331234567,Mario\n+393470000002,Luca\n";
const FOUR: &str = "phone,first_name\n+393331234567,Mario\n+393470000002,Luca\n\
                    +491701234567,Anna\n+393470000003,Sara\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_estimate_compares_money_and_conversations_with_the_credit() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.agency_api_key);
    let two = s.write("two.csv", TWO);
    let four = s.write("four.csv", FOUR);

    let fits = s.run(
        &[
            "--json",
            "--no-pacing",
            "campaign",
            "estimate",
            "--recipients",
            two.to_str().unwrap(),
            "--account",
            "101",
        ],
        &env,
    );
    assert_eq!(fits.code, 0, "{fits:#?}");
    let e = fits.json();
    assert_eq!(e["paid_conversations"], 2);
    assert_eq!(e["total_cost"], "0.28");
    assert_eq!(e["credit"], "0.42");
    assert_eq!(e["available_conversations"], 3);
    assert_eq!(e["covered"], true);

    let human = s.run(
        &[
            "--no-pacing",
            "campaign",
            "estimate",
            "--recipients",
            four.to_str().unwrap(),
            "--account",
            "101",
        ],
        &env,
    );
    // Not covered: a failed check, exit 1, as the exit-code table says.
    assert_eq!(human.code, 1, "{human:#?}");
    assert!(human.stderr.contains("does not cover"), "{human:#?}");
    // 3 x 0.14 (IT) + 0.18 (DE) = 0.60 EUR against 0.42 EUR of credit.
    assert!(human.stdout.contains("0.60 EUR"), "{human:#?}");
    assert!(human.stdout.contains("NO"), "{human:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_the_credit_does_not_cover_sends_nothing_unless_forced() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let mut env = env_for(&mock, &f.agency_api_key);
    env.push(("AUTOMATION_SECRET", f.automation_secret.as_str()));
    let four = s.write("four.csv", FOUR);
    let run = |recipients: &str, extra: &[&str]| {
        let mut args = vec![
            "--no-pacing",
            "campaign",
            "run",
            "--recipients",
            recipients,
            "--account",
            "101",
            "--automation",
            &f.automation_uuid,
            "--secret-env",
            "AUTOMATION_SECRET",
        ];
        args.extend_from_slice(extra);
        s.run(&args, &env)
    };

    let refused = run(four.to_str().unwrap(), &[]);
    assert_eq!(refused.code, 1, "{refused:#?}");
    assert!(refused.stderr.contains("does not cover"));
    assert_eq!(mock.calls(OperationId::AutomationsStartBulk), 0);

    let two = s.write("two.csv", TWO);
    let started = run(two.to_str().unwrap(), &[]);
    assert_eq!(started.code, 0, "{started:#?}");
    assert_eq!(mock.calls(OperationId::AutomationsStartBulk), 1);
    let sent: Vec<String> = mock.messages().iter().map(|m| m.phone.clone()).collect();
    assert_eq!(sent.len(), 2, "{sent:?}");

    // Resumed: the journal says it is done, so nothing goes twice.
    let again = run(two.to_str().unwrap(), &[]);
    assert_eq!(again.code, 0, "{again:#?}");
    assert_eq!(mock.calls(OperationId::AutomationsStartBulk), 1);

    let forced = run(four.to_str().unwrap(), &["--force"]);
    assert_eq!(forced.code, 0, "{forced:#?}");
    assert_eq!(mock.calls(OperationId::AutomationsStartBulk), 2);
}

#[test]
fn the_iframe_url_is_built_and_hidden_unless_asked() {
    let s = Sandbox::new();
    let args = [
        "--mock",
        "embed",
        "url",
        "--account",
        "101",
        "--phone",
        "+393331234567",
        "--language",
        "it",
    ];
    let hidden = s.run(&args, &[]);
    assert_eq!(hidden.code, 0, "{hidden:#?}");
    assert!(hidden.stdout.contains("https://spoki.app"));
    assert!(hidden.stdout.contains("[hidden"));
    assert!(
        !hidden.stdout.contains("/chats/") && !hidden.stdout.contains("auth_token="),
        "the URL and its token stay hidden: {hidden:#?}"
    );
    let mut reveal = args.to_vec();
    reveal.insert(0, "--reveal-secrets");
    let shown = s.run(&reveal, &[]);
    assert_eq!(shown.code, 0, "{shown:#?}");
    assert!(
        shown.stdout.contains("https://spoki.app/chats/"),
        "{shown:#?}"
    );
    assert!(shown.stdout.contains("language=it"), "{shown:#?}");
}

#[test]
fn billing_replays_a_log_and_estimates_offline() {
    let s = Sandbox::new();
    // Out of order on purpose: the replay sorts.
    let events = s.write(
        "events.jsonl",
        r#"{"at":"2024-07-15T10:00:00Z","direction":"outbound","customer":"+393331234567","kind":"free_form"}
{"at":"2024-07-15T09:00:00Z","direction":"inbound","customer":"+393331234567","kind":"free_form"}
{"at":"2024-07-15T09:30:00Z","direction":"outbound","customer":"+491701234567","kind":"template","category":"marketing"}
"#,
    );
    let run = s.run(
        &["--json", "billing", "replay", events.to_str().unwrap()],
        &[],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let bill = run.json();
    assert_eq!(bill["events"], 3);
    assert_eq!(bill["conversations"], 2);
    // A service conversation in IT (0.11) and a marketing one in DE (0.18).
    assert_eq!(bill["total_cost"], "0.29");

    let csv = s.write("r.csv", FOUR);
    let estimate = s.run(
        &[
            "--json",
            "billing",
            "estimate",
            "--recipients",
            csv.to_str().unwrap(),
            "--category",
            "utility",
        ],
        &[],
    );
    assert_eq!(estimate.code, 0, "{estimate:#?}");
    // 3 x 0.10 (IT) + 0.11 (DE).
    assert_eq!(estimate.json()["total_cost"], "0.41");
}

#[test]
fn the_demo_tells_the_story_end_to_end() {
    let s = Sandbox::new();
    let run = s.run(&["demo"], &[]);
    assert_eq!(run.code, 0, "{run:#?}");
    let port_free: String = run
        .stdout
        .lines()
        .map(|l| match l.find("http://127.0.0.1:") {
            Some(at) => {
                let rest = &l[at + "http://127.0.0.1:".len()..];
                let digits = rest.chars().take_while(char::is_ascii_digit).count();
                format!("{}http://127.0.0.1:PORT{}", &l[..at], &rest[digits..])
            }
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(port_free);

    let json = s.run(&["--json", "demo"], &[]);
    let story = json.json();
    assert_eq!(story["estimate"]["covered"], true);
    assert_eq!(story["refused_before_reply"], "whatsapp::131047");
    assert_eq!(story["messages_recorded"], 3);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoki_mock_serves_in_the_foreground_and_keeps_its_state() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let s = Sandbox::new();
    let state = s.path("state.json");
    let start = || {
        let mut child = s
            .command(
                &["mock", "--port", "0", "--state", state.to_str().unwrap()],
                &[],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        (child, first.trim().to_owned())
    };
    // Ctrl-C, as in a terminal: the local Spoki saves its state and exits 0.
    let stop = |child: &mut std::process::Child| {
        crate::support::interrupt(child);
        assert!(child.wait().unwrap().success());
    };
    let f = spoki_mock::Fixtures::default();
    let (mut child, url) = start();
    let made = s.run(
        &["--json", "--no-pacing", "lists", "create", "--name", "kept"],
        &[
            ("SPOKI_BASE_URL", &url),
            ("SPOKI_API_KEY", &f.client_api_key),
        ],
    );
    assert_eq!(made.code, 0, "{made:#?}");
    stop(&mut child);

    // A new process on the same state file still has the list.
    let (mut child, url) = start();
    let lists = s.run(
        &["--json", "--no-pacing", "lists", "list"],
        &[
            ("SPOKI_BASE_URL", &url),
            ("SPOKI_API_KEY", &f.client_api_key),
        ],
    );
    stop(&mut child);
    assert_eq!(lists.code, 0, "{lists:#?}");
    let names: Vec<_> = lists
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].clone())
        .collect();
    assert!(names.contains(&serde_json::json!("kept")), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_output_reads_as_tables() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.agency_api_key);
    let four = s.write("four.csv", FOUR);
    let estimate = s.run(
        &[
            "--no-pacing",
            "campaign",
            "estimate",
            "--recipients",
            four.to_str().unwrap(),
            "--account",
            "101",
        ],
        &env,
    );
    insta::assert_snapshot!("campaign_estimate", estimate.stdout);

    let account = s.run(&["--no-pacing", "accounts", "get", "101"], &env);
    insta::assert_snapshot!("account_get", account.stdout);

    let events = s.write(
        "events.jsonl",
        r#"{"at":"2024-07-15T09:00:00Z","direction":"inbound","customer":"+393331234567","kind":"free_form"}
{"at":"2024-07-15T10:00:00Z","direction":"outbound","customer":"+393331234567","kind":"free_form"}
"#,
    );
    let replay = s.run(&["billing", "replay", events.to_str().unwrap()], &[]);
    insta::assert_snapshot!("billing_replay", replay.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_estimate_with_history_counts_open_conversations_as_free() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.agency_api_key);
    let two = s.write("two.csv", TWO);
    // Mario was sent a marketing template an hour ago: his conversation is still open.
    let hour_ago = spoki_client::models::Timestamp::from_unix_seconds(
        spoki_client::models::Timestamp::now().unix_seconds() - 3600,
    );
    let history = s.write(
        "history.jsonl",
        &format!(
            "{{\"at\":\"{hour_ago}\",\"direction\":\"outbound\",\"customer\":\"+393331234567\",\"kind\":\"template\",\"category\":\"marketing\"}}\n"
        ),
    );
    let estimate = |extra: &[&str]| {
        let mut args = vec![
            "--json",
            "--no-pacing",
            "campaign",
            "estimate",
            "--recipients",
            two.to_str().unwrap(),
            "--account",
            "101",
        ];
        args.extend_from_slice(extra);
        s.run(&args, &env)
    };
    let without = estimate(&[]);
    assert_eq!(without.json()["paid_conversations"], 2, "{without:#?}");
    let with = estimate(&["--history", history.to_str().unwrap()]);
    assert_eq!(with.code, 0, "{with:#?}");
    assert_eq!(with.json()["paid_conversations"], 1, "{with:#?}");
    assert_eq!(with.json()["free_sends"], 1);
    assert_eq!(with.json()["total_cost"], "0.14");

    let damaged = s.write("damaged.jsonl", "{\"at\": 3}\n");
    let refused = estimate(&["--history", damaged.to_str().unwrap()]);
    assert_eq!(refused.code, 2, "a damaged log is refused: {refused:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_that_leave_a_placeholder_empty_are_rejected_before_anything_is_sent() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let mut env = env_for(&mock, &f.client_api_key);
    env.push(("AUTOMATION_SECRET", f.automation_secret.as_str()));
    // The demo automation's template: "Hello %%FIRST_NAME%%, … expire on %%DATE_EXPIRE_SCRIPTION%%".
    let file = s.write(
        "renewals.csv",
        "phone,first_name,DATE_EXPIRE_SCRIPTION\n\
         +393331234567,Mario,2026-12-31\n+393470000002,Luca,\n",
    );
    let template = f.marketing_template_id.to_string();
    let file = file.to_str().unwrap();
    let run = s.run(
        &[
            "--no-pacing",
            "campaign",
            "run",
            "--recipients",
            file,
            "--account",
            "101",
            "--automation",
            &f.automation_uuid,
            "--secret-env",
            "AUTOMATION_SECRET",
            "--template",
            &template,
        ],
        &env,
    );
    // The good row went; the refused one makes the run exit 1 once the rest is done.
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("line 3: no value for %%DATE_EXPIRE_SCRIPTION%%"),
        "{run:#?}"
    );
    let rejects = std::fs::read_to_string(s.path("renewals.csv.rejects.csv")).unwrap();
    assert!(rejects.contains("+393470000002,Luca,"), "{rejects}");
    let starts: Vec<_> = mock
        .received()
        .into_iter()
        .filter(|r| r.operation.as_deref() == Some("automations_start_bulk"))
        .collect();
    assert_eq!(starts.len(), 1);
    let contacts = starts[0].body["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 1, "only Mario's row: {contacts:?}");

    // An import checked against the same template rejects the same row.
    let import = s.run(
        &[
            "--no-pacing",
            "contacts",
            "import",
            file,
            "--template",
            &template,
        ],
        &env,
    );
    assert_eq!(import.code, 1, "{import:#?}");
    assert_eq!(mock.calls(OperationId::ContactsSyncAll), 1);
    assert!(
        import
            .stderr
            .contains("no value for %%DATE_EXPIRE_SCRIPTION%%")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_comes_with_what_to_do() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.client_api_key);
    let closed = s.run(
        &[
            "--no-pacing",
            "messages",
            "send-text",
            "--phone",
            "+393470009999",
            "--text",
            "Ciao",
        ],
        &env,
    );
    assert_eq!(closed.code, 3, "{closed:#?}");
    assert!(closed.stderr.contains("[whatsapp::131047]"), "{closed:#?}");
    assert!(
        closed
            .stderr
            .contains("hint: the customer has not written in 24 h: send a template"),
        "{closed:#?}"
    );
}
