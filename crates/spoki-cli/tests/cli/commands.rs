//! Manners, the generated operation commands, profiles.

use crate::support::{Sandbox, env_for, mock};
use spoki_mock::OperationId;

#[test]
fn every_command_of_the_tree_is_well_formed() {
    // clap's own consistency checks: no two flags of a command share a name, and so on.
    spoki_cli::command().debug_assert();
}

#[test]
fn help_and_version_exit_zero_and_usage_errors_exit_two() {
    let s = Sandbox::new();
    let help = s.run(&["--help"], &[]);
    assert_eq!(help.code, 0);
    let listed: Vec<&str> = help
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for command in [
        "contacts",
        "custom-fields",
        "campaign",
        "campaigns",
        "demo",
        "webhooks",
    ] {
        assert!(
            listed.contains(&command),
            "{command} missing from --help: {listed:?}"
        );
    }
    let version = s.run(&["--version"], &[]);
    assert_eq!(version.code, 0);
    assert!(version.stdout.contains(env!("CARGO_PKG_VERSION")));
    let nested = s.run(&["contacts", "import", "--help"], &[]);
    assert_eq!(nested.code, 0);
    assert!(nested.stdout.contains("--journal"));
    let wrong = s.run(&["contacts", "no-such-command"], &[]);
    assert_eq!(wrong.code, 2);
    assert!(wrong.stdout.is_empty() && !wrong.stderr.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_of_an_operation_is_one_json_value() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let run = s.run(
        &["--json", "--no-pacing", "accounts", "get", "101"],
        &env_for(&mock, &f.agency_api_key),
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let account = run.json();
    assert_eq!(account["id"], 101);
    assert_eq!(account["name"], "Pizzeria Da Mario");
    assert!(account["current_credit"].is_number());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_pages_through_everything_and_limit_stops_early() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.client_api_key);
    // 120 contacts besides the fixture's one: several pages of the mock's default size.
    let csv = s.write("c.csv", &crate::support::contacts_csv(120));
    let import = s.run(
        &["--no-pacing", "contacts", "import", csv.to_str().unwrap()],
        &env,
    );
    assert_eq!(import.code, 0, "{import:#?}");

    let all = s.run(&["--json", "--no-pacing", "contacts", "list"], &env);
    assert_eq!(all.code, 0, "{all:#?}");
    assert_eq!(all.json().as_array().unwrap().len(), 121);
    let pages = mock.calls(OperationId::ContactsList);
    assert!(pages > 1, "one page only: the test proves nothing");

    let some = s.run(
        &["--json", "--no-pacing", "contacts", "list", "--limit", "3"],
        &env,
    );
    assert_eq!(some.json().as_array().unwrap().len(), 3);
    assert_eq!(
        mock.calls(OperationId::ContactsList),
        pages + 1,
        "--limit 3 reads one page"
    );

    let searched = s.run(
        &[
            "--json",
            "--no-pacing",
            "contacts",
            "list",
            "--search",
            "Name7",
            "--limit",
            "50",
        ],
        &env,
    );
    assert_eq!(searched.code, 0, "{searched:#?}");
    let found = searched.json();
    let found = found.as_array().unwrap();
    assert!(!found.is_empty() && found.len() < 121);
    assert!(
        found
            .iter()
            .all(|c| c["first_name"].as_str().unwrap().contains("Name7"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_flags_and_data_build_the_request_and_bad_input_sends_nothing() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.client_api_key);
    let data = s.write("tag.json", r#"{"name": "from-file"}"#);

    let made = s.run(
        &[
            "--json",
            "--no-pacing",
            "lists",
            "create",
            "--data",
            &format!("@{}", data.display()),
        ],
        &env,
    );
    assert_eq!(made.code, 0, "{made:#?}");
    assert_eq!(made.json()["name"], "from-file");
    let overridden = s.run(
        &[
            "--json",
            "--no-pacing",
            "lists",
            "create",
            "--data",
            r#"{"name": "a"}"#,
            "--name",
            "b",
        ],
        &env,
    );
    assert_eq!(overridden.json()["name"], "b", "a flag overrides --data");

    let before = mock.received().len();
    let missing = s.run(
        &[
            "--no-pacing",
            "messages",
            "send-text",
            "--phone",
            "+393331234567",
        ],
        &env,
    );
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("missing `text`"), "{missing:#?}");
    let bad_phone = s.run(
        &[
            "--no-pacing",
            "messages",
            "send-text",
            "--phone",
            "12",
            "--text",
            "x",
        ],
        &env,
    );
    assert_eq!(bad_phone.code, 2);
    assert!(bad_phone.stderr.contains("phone"), "{bad_phone:#?}");
    let bad_int = s.run(&["--no-pacing", "accounts", "get", "abc"], &env);
    assert_eq!(bad_int.code, 2);
    assert_eq!(mock.received().len(), before, "bad input must send nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_exit_three_and_unknown_outcomes_exit_four() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.client_api_key);
    let refused = s.run(
        &[
            "--no-pacing",
            "messages",
            "send-text",
            "--phone",
            "+393331234567",
            "--text",
            "hi",
        ],
        &env,
    );
    assert_eq!(refused.code, 3, "outside the service window: {refused:#?}");
    assert!(refused.stderr.contains("131047"));

    mock.fault(
        OperationId::MessagesSendTemplate,
        spoki_mock::Fault::AnswerLost,
        1,
    )
    .unwrap();
    let lost = s.run(
        &[
            "--no-pacing",
            "messages",
            "send-template",
            "--phone",
            "+393331234567",
            "--template",
            &f.utility_template_id.to_string(),
        ],
        &env,
    );
    assert_eq!(lost.code, 4, "{lost:#?}");
    assert_eq!(
        mock.calls(OperationId::MessagesSendTemplate),
        1,
        "sent once, never retried"
    );

    let wrong_key = s.run(
        &["--no-pacing", "accounts", "get", "101"],
        &env_for(&mock, "nope"),
    );
    assert_eq!(wrong_key.code, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_keep_the_key_out_of_sight() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let set = s.run(
        &[
            "config",
            "set",
            "pizzeria",
            "--key-env",
            "MY_KEY",
            "--url",
            mock.url(),
        ],
        &[("MY_KEY", f.client_api_key.as_str())],
    );
    assert_eq!(set.code, 0, "{set:#?}");
    let list = s.run(&["config", "list"], &[]);
    assert!(list.stdout.contains("pizzeria"), "{list:#?}");
    assert!(list.stdout.contains("****"));
    let listed = s.run(&["--json", "config", "list"], &[]);
    assert_eq!(
        listed.json()["profiles"]["pizzeria"]["base_url"],
        mock.url()
    );

    let used = s.run(
        &[
            "--json",
            "--no-pacing",
            "--profile",
            "pizzeria",
            "accounts",
            "get",
            "101",
        ],
        &[],
    );
    assert_eq!(used.code, 0, "{used:#?}");
    assert_eq!(used.json()["id"], 101);
    let unknown = s.run(&["--profile", "nobody", "accounts", "get", "101"], &[]);
    assert_eq!(unknown.code, 2);
}

#[test]
fn mock_flag_runs_a_command_against_the_embedded_local_spoki() {
    let s = Sandbox::new();
    let run = s.run(&["--mock", "--json", "accounts", "get", "101"], &[]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json()["id"], 101);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_from_the_environment_never_goes_where_it_was_not_meant() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    // With --mock, a real key in the environment is not sent to the local Spoki.
    let local = s.run(
        &["--mock", "--json", "accounts", "get", "101"],
        &[("SPOKI_API_KEY", "sk-live-real-production-key")],
    );
    assert_eq!(local.code, 0, "{local:#?}");

    // With --profile, the profile's key goes to the profile's origin, whatever the
    // environment holds.
    let set = s.run(
        &[
            "config",
            "set",
            "pizzeria",
            "--key-env",
            "MY_KEY",
            "--url",
            mock.url(),
        ],
        &[("MY_KEY", f.client_api_key.as_str())],
    );
    assert_eq!(set.code, 0, "{set:#?}");
    let used = s.run(
        &[
            "--json",
            "--no-pacing",
            "--profile",
            "pizzeria",
            "accounts",
            "get",
            "101",
        ],
        &[("SPOKI_API_KEY", "sk-live-real-production-key")],
    );
    assert_eq!(used.code, 0, "{used:#?}");
    // The mock's log masks every key, so what shows which key went is how the mock answered:
    // the environment's key is not one it knows, and would have been refused (403).
    let answered: Vec<Option<u16>> = mock.received().iter().map(|r| r.status).collect();
    assert_eq!(
        answered,
        [Some(200)],
        "the profile's key, and only it, reached the profile's origin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_field_is_read_from_the_environment() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let help = s.run(&["automations", "start", "--help"], &[]);
    assert!(help.stdout.contains("--secret-env <VAR>"), "{help:#?}");
    assert!(!help.stdout.contains("--secret <"), "{help:#?}");
    let started = s.run(
        &[
            "--no-pacing",
            "automations",
            "start",
            &f.automation_uuid,
            "--secret-env",
            "AUTOMATION_SECRET",
            "--phone",
            "+393331234567",
        ],
        &[
            ("SPOKI_BASE_URL", mock.url()),
            ("AUTOMATION_SECRET", f.automation_secret.as_str()),
        ],
    );
    assert_eq!(started.code, 0, "{started:#?}");
    assert_eq!(mock.calls(OperationId::AutomationsStart), 1);
}
