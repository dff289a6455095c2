//! Options and moments the other tests do not reach: `--check`, `--resend-unknown`, `--page`,
//! 429s waited out without pacing, and Ctrl-C while a call is in flight.

use crate::support::{Sandbox, assert_each_once, contacts_csv, env_for, mock, synced_phones};
use spoki_mock::Fault;
use spoki_mock::OperationId;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_plans_without_sending_anything() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let csv = s.write("c.csv", &contacts_csv(1200));
    let run = s.run(
        &[
            "--json",
            "--no-pacing",
            "contacts",
            "import",
            csv.to_str().unwrap(),
            "--check",
        ],
        &env_for(&mock, &f.client_api_key),
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let report = run.json();
    assert_eq!(report["checked_only"], true);
    assert_eq!(report["chunks"], 3);
    assert_eq!(report["sent_chunks"], serde_json::json!([]));
    assert!(mock.received().is_empty(), "nothing reached Spoki");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resend_unknown_sends_every_unknown_chunk_again_and_only_those() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.client_api_key);
    let csv = s.write("c.csv", &contacts_csv(1000));
    let file = csv.to_str().unwrap();
    // The first chunk goes out, and its answer is lost.
    mock.fault(OperationId::ContactsSyncAll, Fault::AnswerLost, 1)
        .unwrap();
    let lost = s.run(&["--no-pacing", "contacts", "import", file], &env);
    assert_eq!(lost.code, 4, "{lost:#?}");
    // Without being told, a rerun sends the second chunk and leaves the unknown one.
    let rerun = s.run(&["--no-pacing", "contacts", "import", file], &env);
    assert_eq!(rerun.code, 4, "{rerun:#?}");
    assert_eq!(mock.calls(OperationId::ContactsSyncAll), 2);
    // Told, after checking in Spoki that it was not carried out (here it was, so each of its
    // contacts arrives twice: the point is that only chunk 1 goes again).
    let resent = s.run(
        &[
            "--json",
            "--no-pacing",
            "contacts",
            "import",
            file,
            "--resend-unknown",
        ],
        &env,
    );
    assert_eq!(resent.code, 0, "{resent:#?}");
    assert_eq!(resent.json()["sent_chunks"], serde_json::json!([1]));
    assert_eq!(mock.calls(OperationId::ContactsSyncAll), 3);
    let phones = synced_phones(&mock);
    assert_eq!(phones.len(), 1500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_reads_that_page_alone() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.client_api_key);
    let csv = s.write("c.csv", &contacts_csv(12));
    assert_eq!(
        s.run(
            &["--no-pacing", "contacts", "import", csv.to_str().unwrap()],
            &env
        )
        .code,
        0
    );
    let page = s.run(
        &[
            "--json",
            "--no-pacing",
            "contacts",
            "list",
            "--page",
            "2",
            "--page-size",
            "5",
        ],
        &env,
    );
    assert_eq!(page.code, 0, "{page:#?}");
    let lists: Vec<_> = mock
        .received()
        .into_iter()
        .filter(|r| r.operation.as_deref() == Some("contacts_list"))
        .collect();
    assert_eq!(lists.len(), 1, "one page, no following of `next`");
    assert!(lists[0].query.as_deref().unwrap().contains("page=2"));
    assert_eq!(page.json()["results"].as_array().unwrap().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_pacing_a_429_is_waited_out() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    mock.fault(
        OperationId::AccountsGet,
        Fault::status(429).header("Retry-After", "1"),
        1,
    )
    .unwrap();
    let run = s.run(
        &["--json", "--no-pacing", "accounts", "get", "101"],
        &env_for(&mock, &f.client_api_key),
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json()["id"], 101);
    let statuses: Vec<_> = mock.received().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(429), Some(200)]);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_a_call_waits_for_its_answer_and_records_it() {
    use std::process::Stdio;
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.client_api_key);
    let csv = s.write("c.csv", &contacts_csv(1000));
    // The first chunk's answer takes 2 s; Ctrl-C comes while it is in flight.
    mock.fault(OperationId::ContactsSyncAll, Fault::Delay { ms: 2000 }, 1)
        .unwrap();
    let child = s
        .command(
            &["--no-pacing", "contacts", "import", csv.to_str().unwrap()],
            &env,
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    crate::support::wait_for_calls(&mock, OperationId::ContactsSyncAll, 1).await;
    crate::support::interrupt(&child);
    let output = tokio::task::block_in_place(|| child.wait_with_output()).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("once the chunk in flight is answered"),
        "{stderr}"
    );
    assert_eq!(
        mock.calls(OperationId::ContactsSyncAll),
        1,
        "the second chunk never left"
    );
    // Its answer was recorded: the rerun sends chunk 2 alone.
    let resumed = s.run(
        &[
            "--json",
            "--no-pacing",
            "contacts",
            "import",
            csv.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(resumed.code, 0, "{resumed:#?}");
    assert_eq!(resumed.json()["already_done"], serde_json::json!([1]));
    assert_eq!(mock.calls(OperationId::ContactsSyncAll), 2);
    assert_each_once(&synced_phones(&mock), 1000);
}
