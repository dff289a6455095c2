//! How the command line speaks: first lines a script can read, errors in its own words, exit
//! codes, enum values, money, output formats and shell completions.

use crate::support::{Sandbox, env_for, mock};
use spoki_mock::OperationId;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

/// The first line a long-running command prints on stdout, then stops it.
fn first_line(s: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut child = s
        .command(args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    line.trim_end_matches('\n').to_owned()
}

#[test]
fn long_running_commands_print_their_bare_url_first() {
    let s = Sandbox::new();
    let hook = [("HOOK_SECRET", "whsec_manners")];
    let listen = [
        "webhooks",
        "listen",
        "--port",
        "0",
        "--secret-env",
        "HOOK_SECRET",
    ];
    let mock = ["mock", "--port", "0"];
    for (args, env) in [(&listen[..], &hook[..]), (&mock[..], &[][..])] {
        let line = first_line(&s, args, env);
        let url = url::Url::parse(&line).unwrap_or_else(|e| panic!("{args:?}: {line:?}: {e}"));
        assert_eq!(url.host_str(), Some("127.0.0.1"), "{args:?}: {line:?}");
        assert!(url.port().is_some_and(|p| p > 0), "{args:?}: {line:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_speak_of_flags_and_say_things_once() {
    let mock = mock().await;
    let s = Sandbox::new();

    let no_key = s.run(
        &["--no-pacing", "accounts", "get", "101"],
        &[("SPOKI_BASE_URL", mock.url())],
    );
    assert_eq!(no_key.code, 2, "{no_key:#?}");
    for hint in ["--api-key", "SPOKI_API_KEY", "--profile"] {
        assert!(no_key.stderr.contains(hint), "{hint}: {no_key:#?}");
    }
    assert!(!no_key.stderr.contains("ClientBuilder"), "{no_key:#?}");

    let f = mock.fixtures();
    let env = env_for(&mock, &f.client_api_key);
    let phone = s.run(
        &[
            "--no-pacing",
            "messages",
            "send-text",
            "--phone",
            "333",
            "--text",
            "hi",
        ],
        &env,
    );
    assert_eq!(phone.code, 2, "{phone:#?}");
    assert!(
        phone
            .stderr
            .contains("must start with + and the country code"),
        "{phone:#?}"
    );

    let missing = s.run(&["--no-pacing", "accounts", "get", "99999"], &env);
    assert_eq!(missing.code, 3, "{missing:#?}");
    assert_eq!(
        missing.stderr.matches("Not found").count(),
        1,
        "{missing:#?}"
    );
    assert_eq!(mock.calls(OperationId::MessagesSendText), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enum_fields_list_their_values_and_refuse_others_before_sending() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.agency_api_key);

    let help = s.run(&["webhooks", "create", "--help"], &[]);
    assert_eq!(help.code, 0);
    for value in ["message.inbound", "contact_list.deleted"] {
        assert!(help.stdout.contains(value), "{value}: {help:#?}");
    }
    assert!(
        help.stdout.contains("Body field `event` (required)"),
        "{help:#?}"
    );

    let url = "https://crm.example.com/hooks";
    let bad = s.run(
        &[
            "--no-pacing",
            "webhooks",
            "create",
            "--url",
            url,
            "--event",
            "message.sent",
        ],
        &env,
    );
    assert_eq!(bad.code, 2, "{bad:#?}");
    assert!(bad.stderr.contains("message.outbound"), "{bad:#?}");
    // A webhook without its event would receive nothing: the event is asked for.
    let no_event = s.run(&["--no-pacing", "webhooks", "create", "--url", url], &env);
    assert_eq!(no_event.code, 2, "{no_event:#?}");
    assert!(no_event.stderr.contains("--event"), "{no_event:#?}");
    // A list of integer enum values, as JSON: each one is checked.
    let version = s.run(
        &[
            "--no-pacing",
            "webhooks",
            "create",
            "--url",
            url,
            "--event",
            "message.inbound",
            "--body-version",
            "7",
        ],
        &env,
    );
    assert_eq!(version.code, 2, "{version:#?}");
    assert!(
        version.stderr.contains("expected one of 1, 2"),
        "{version:#?}"
    );
    assert_eq!(
        mock.calls(OperationId::WebhooksCreate),
        0,
        "nothing was sent"
    );

    let good = s.run(
        &[
            "--json",
            "--no-pacing",
            "webhooks",
            "create",
            "--url",
            url,
            "--event",
            "message.inbound",
            "--body-version",
            "2",
        ],
        &env,
    );
    assert_eq!(good.code, 0, "{good:#?}");
    assert_eq!(good.json()["event"], "message.inbound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn money_reads_as_money_and_every_format_prints_the_answer() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.agency_api_key);
    let get = |format: &str| {
        s.run(
            &["--output", format, "--no-pacing", "accounts", "get", "101"],
            &env,
        )
    };
    let table = get("table");
    assert!(table.stdout.contains("0.42 EUR"), "{table:#?}");
    // JSON keeps Spoki's raw thousandths, so a program reads what Spoki sent.
    assert_eq!(get("json").json()["current_credit"], 420);
    let json_flag = s.run(&["--json", "--no-pacing", "accounts", "get", "101"], &env);
    assert_eq!(json_flag.json(), get("json").json());

    let tsv = s.run(
        &["--output", "tsv", "--no-pacing", "accounts", "list"],
        &env,
    );
    assert_eq!(tsv.code, 0, "{tsv:#?}");
    let mut lines = tsv.stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let credit = header.iter().position(|c| *c == "current_credit").unwrap();
    let id = header.iter().position(|c| *c == "id").unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r.len() == header.len()), "{tsv:#?}");
    let mario = rows.iter().find(|r| r[id] == "101").expect("account 101");
    assert_eq!(mario[credit], "0.42 EUR");

    let both = s.run(
        &["--json", "--output", "tsv", "accounts", "get", "101"],
        &env,
    );
    assert_eq!(both.code, 2, "--json is --output json: {both:#?}");
}

#[test]
fn completions_cover_the_whole_tree_in_each_shell() {
    let s = Sandbox::new();
    for shell in ["bash", "zsh", "fish"] {
        let run = s.run(&["completions", shell], &[]);
        assert_eq!(run.code, 0, "{shell}: {run:#?}");
        for word in [
            "partner-invitations",
            "start-bulk",
            "reveal-secrets",
            "message.inbound",
        ] {
            assert!(run.stdout.contains(word), "{shell} lacks {word}");
        }
    }
    let unknown = s.run(&["completions", "cmd.exe"], &[]);
    assert_eq!(unknown.code, 2);
}
