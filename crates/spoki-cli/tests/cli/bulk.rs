//! `contacts import` and its journal: each contact sent once, across stops and failures.

use crate::support::{Sandbox, assert_each_once, contacts_csv, env_for, mock, synced_phones};
use crate::support::{interrupt, wait_for_calls};
use spoki_mock::Fault;
#[cfg(unix)]
use spoki_mock::OperationId;
use std::collections::HashSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_contacts_take_four_calls_and_a_stopped_run_resumes() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.client_api_key);
    let csv = s.write("contacts.csv", &contacts_csv(2000));
    let file = csv.to_str().unwrap();

    let first = s.run(
        &[
            "--no-pacing",
            "contacts",
            "import",
            file,
            "--max-chunks",
            "2",
        ],
        &env,
    );
    assert_eq!(first.code, 0, "{first:#?}");
    assert!(first.stdout.contains("2 chunks left"), "{first:#?}");
    assert_eq!(mock.calls(OperationId::ContactsSyncAll), 2);

    let second = s.run(&["--json", "--no-pacing", "contacts", "import", file], &env);
    assert_eq!(second.code, 0, "{second:#?}");
    let report = second.json();
    // Chunks count from 1 here, on stderr, in the journal and in --resend/--mark-done.
    assert_eq!(report["sent_chunks"], serde_json::json!([3, 4]));
    assert_eq!(report["already_done"], serde_json::json!([1, 2]));
    let journal = std::fs::read_to_string(s.path("contacts.csv.import.journal")).unwrap();
    let numbers: Vec<u64> = journal
        .lines()
        .skip(1)
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["chunk"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        numbers,
        [1, 1, 2, 2, 3, 3, 4, 4],
        "sending then done, per chunk"
    );
    assert_eq!(
        mock.calls(OperationId::ContactsSyncAll),
        4,
        "2,000 contacts in 4 calls"
    );
    assert_each_once(&synced_phones(&mock), 2000);

    // A third run has nothing left to send.
    let third = s.run(&["--no-pacing", "contacts", "import", file], &env);
    assert_eq!(third.code, 0);
    assert_eq!(mock.calls(OperationId::ContactsSyncAll), 4);
    assert!(s.path("contacts.csv.import.journal").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rows_are_rejected_with_their_line_and_reason() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let csv = s.write(
        "mixed.csv",
        "phone,first_name,last_name,email\n\
         +393331000001,Anna,Bianchi,anna@example.com\n\
         12345,Bad,Phone,\n\
         +393331000002,Bad,Email,not-an-email\n\
         +393331000001,Twice,Again,\n\
         +393331000003,Too,Many,x@example.com,extra\n\
         +393331000004,Carlo,,\n",
    );
    let run = s.run(
        &["--no-pacing", "contacts", "import", csv.to_str().unwrap()],
        &env_for(&mock, &f.client_api_key),
    );
    // The good rows are imported; the rejected ones make the command exit 1, counted.
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("4 rows were rejected and left out (see "),
        "{run:#?}"
    );
    for line in ["line 3:", "line 4:", "line 5:", "line 6:"] {
        assert!(run.stderr.contains(line), "{line} not reported: {run:#?}");
    }
    assert!(run.stderr.contains("already on line 2"));
    let rejects = std::fs::read_to_string(s.path("mixed.csv.rejects.csv")).unwrap();
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(lines[0], "line,reason,phone,first_name,last_name,email");
    assert_eq!(lines.len(), 5, "{rejects}");
    assert!(lines[1].starts_with("3,phone"), "{rejects}");
    let mut phones = synced_phones(&mock);
    phones.sort();
    assert_eq!(phones, ["+393331000001", "+393331000004"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_with_an_unknown_outcome_is_reported_and_not_resent_blindly() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.client_api_key);
    let csv = s.write("c.csv", &contacts_csv(1200));
    let file = csv.to_str().unwrap();

    // Spoki stores the first chunk, but its answer never arrives.
    mock.fault(OperationId::ContactsSyncAll, Fault::AnswerLost, 1)
        .unwrap();
    let first = s.run(&["--no-pacing", "contacts", "import", file], &env);
    assert_eq!(first.code, 4, "{first:#?}");
    assert!(
        first
            .stderr
            .contains("chunk 1 (lines 2-501): outcome unknown"),
        "{first:#?}"
    );
    assert_eq!(
        mock.calls(OperationId::ContactsSyncAll),
        1,
        "the run stops at the unknown chunk"
    );

    // A rerun sends what is left, and still not the unknown chunk.
    let second = s.run(&["--no-pacing", "contacts", "import", file], &env);
    assert_eq!(second.code, 4, "{second:#?}");
    assert_eq!(mock.calls(OperationId::ContactsSyncAll), 3);
    assert_each_once(&synced_phones(&mock), 1200);

    assert!(second.stderr.contains("--mark-done 1"), "{second:#?}");

    // Only the operator's decision settles it: here, that it went through.
    let settled = s.run(
        &[
            "--no-pacing",
            "contacts",
            "import",
            file,
            "--mark-done",
            "1",
        ],
        &env,
    );
    assert_eq!(settled.code, 0, "{settled:#?}");
    assert_eq!(
        mock.calls(OperationId::ContactsSyncAll),
        3,
        "marked done, not sent"
    );
    let again = s.run(&["--no-pacing", "contacts", "import", file], &env);
    assert_eq!(again.code, 0, "{again:#?}");
    assert_eq!(mock.calls(OperationId::ContactsSyncAll), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_chunk_found_not_carried_out_is_sent_again_on_request() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.client_api_key);
    let csv = s.write("c.csv", &contacts_csv(600));
    let file = csv.to_str().unwrap();
    // The connection drops with the request unanswered: the client cannot know.
    mock.fault(OperationId::ContactsSyncAll, Fault::Reset, 1)
        .unwrap();
    let first = s.run(&["--no-pacing", "contacts", "import", file], &env);
    assert_eq!(first.code, 4, "{first:#?}");
    let bad = s.run(
        &[
            "--no-pacing",
            "contacts",
            "import",
            file,
            "--mark-done",
            "2",
        ],
        &env,
    );
    assert_eq!(
        bad.code, 2,
        "chunk 2 was never sent, so it cannot be marked: {bad:#?}"
    );
    let resent = s.run(
        &["--no-pacing", "contacts", "import", file, "--resend", "1"],
        &env,
    );
    assert_eq!(resent.code, 0, "{resent:#?}");
    // The reset request, chunk 1 again on request, then chunk 2.
    assert_eq!(mock.calls(OperationId::ContactsSyncAll), 3);
    let distinct: HashSet<_> = synced_phones(&mock).into_iter().collect();
    assert_eq!(distinct.len(), 600);
}

#[test]
fn two_runs_of_one_job_cannot_share_a_journal() {
    let s = Sandbox::new();
    let csv = s.write("c.csv", &contacts_csv(3));
    let journal = s.path("c.csv.import.journal");
    // The first run holds the journal while it works; a second one is refused at once.
    std::fs::write(&journal, "").unwrap();
    let held = std::fs::File::options()
        .append(true)
        .open(&journal)
        .unwrap();
    held.try_lock().unwrap();
    let second = s.run(
        &["--no-pacing", "contacts", "import", csv.to_str().unwrap()],
        &[
            ("SPOKI_API_KEY", "k"),
            ("SPOKI_BASE_URL", "http://127.0.0.1:9"),
        ],
    );
    assert_eq!(second.code, 2, "{second:#?}");
    assert!(second.stderr.contains("another run"), "{second:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_last_record_is_cut_off_and_a_damaged_one_stops_the_run() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.client_api_key);
    let csv = s.write("c.csv", &contacts_csv(1000));
    let file = csv.to_str().unwrap();
    let first = s.run(
        &[
            "--no-pacing",
            "contacts",
            "import",
            file,
            "--max-chunks",
            "1",
        ],
        &env,
    );
    assert_eq!(first.code, 0, "{first:#?}");
    let journal = s.path("c.csv.import.journal");
    let recorded = std::fs::read_to_string(&journal).unwrap();

    // A crash in the middle of writing the next record.
    std::fs::write(&journal, format!("{recorded}{{\"chunk\":1,\"sta")).unwrap();
    let resumed = s.run(&["--no-pacing", "contacts", "import", file], &env);
    assert_eq!(resumed.code, 0, "{resumed:#?}");
    assert_each_once(&synced_phones(&mock), 1000);
    // The cut left whole lines, so what the resumed run appended reads back.
    let again = s.run(&["--no-pacing", "contacts", "import", file], &env);
    assert_eq!(again.code, 0, "{again:#?}");
    assert_eq!(mock.calls(OperationId::ContactsSyncAll), 2);

    // Damage before the end is not a crash: nothing is sent.
    let lines: Vec<&str> = recorded.lines().collect();
    std::fs::write(&journal, format!("{}\nnot json\n{}\n", lines[0], lines[1])).unwrap();
    let damaged = s.run(&["--no-pacing", "contacts", "import", file], &env);
    assert_eq!(damaged.code, 1, "{damaged:#?}");
    assert!(damaged.stderr.contains("damaged"), "{damaged:#?}");
    assert_eq!(mock.calls(OperationId::ContactsSyncAll), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_field_columns_keep_their_codes() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let csv = s.write(
        "c.csv",
        "Phone,First_Name,language,DATA_SCADENZA_ABBONAMENTO\n+393331000001,Anna,it,2026-12-31\n",
    );
    let run = s.run(
        &["--no-pacing", "contacts", "import", csv.to_str().unwrap()],
        &env_for(&mock, &f.client_api_key),
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let sent = mock
        .received()
        .into_iter()
        .find(|r| r.operation.as_deref() == Some("contacts_sync_all"))
        .unwrap();
    let contact = &sent.body[0];
    assert_eq!(contact["first_name"], "Anna");
    assert_eq!(contact["language"], "it");
    assert_eq!(
        contact["custom_fields"]["DATA_SCADENZA_ABBONAMENTO"],
        "2026-12-31"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_never_reached_spoki_is_sent_on_the_next_run() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let csv = s.write("c.csv", &contacts_csv(600));
    let file = csv.to_str().unwrap();
    // Nothing listens on this port: the connection is refused before anything is sent.
    let closed = {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", socket.local_addr().unwrap())
    };
    let down = s.run(
        &["--no-pacing", "contacts", "import", file],
        &[
            ("SPOKI_BASE_URL", &closed),
            ("SPOKI_API_KEY", &f.client_api_key),
        ],
    );
    assert_eq!(down.code, 3, "{down:#?}");
    assert!(down.stderr.contains("chunk 1"), "{down:#?}");

    let up = s.run(
        &["--no-pacing", "contacts", "import", file],
        &env_for(&mock, &f.client_api_key),
    );
    assert_eq!(up.code, 0, "{up:#?}");
    assert_each_once(&synced_phones(&mock), 600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_is_never_applied_to_a_changed_file() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.client_api_key);
    let csv = s.write("c.csv", &contacts_csv(3));
    let file = csv.to_str().unwrap();
    assert_eq!(
        s.run(&["--no-pacing", "contacts", "import", file], &env)
            .code,
        0
    );
    s.write("c.csv", &contacts_csv(4));
    let changed = s.run(&["--no-pacing", "contacts", "import", file], &env);
    assert_eq!(changed.code, 2, "{changed:#?}");
    assert!(changed.stderr.contains("another input"));
    assert_eq!(mock.calls(OperationId::ContactsSyncAll), 1);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_waiting_for_the_pace_stops_at_once_and_the_rerun_resumes() {
    use std::process::Stdio;

    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let csv = s.write("c.csv", &contacts_csv(2000));
    // Paced to Spoki's published limit (one sync of 500 per minute): after the first chunk the
    // import waits for its turn, and that is when Ctrl-C comes.
    let mut child = s
        .command(
            &["contacts", "import", csv.to_str().unwrap()],
            &env_for(&mock, &f.client_api_key),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_calls(&mock, OperationId::ContactsSyncAll, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    interrupt(&child);
    let status = tokio::task::block_in_place(|| child.wait()).unwrap();
    assert_eq!(status.code(), Some(130));
    // Had it waited for its turn, the second chunk would have gone before the exit.
    assert_eq!(mock.calls(OperationId::ContactsSyncAll), 1);

    let resumed = s.run(
        &["--no-pacing", "contacts", "import", csv.to_str().unwrap()],
        &env_for(&mock, &f.client_api_key),
    );
    assert_eq!(resumed.code, 0, "{resumed:#?}");
    assert_eq!(mock.calls(OperationId::ContactsSyncAll), 4);
    assert_each_once(&synced_phones(&mock), 2000);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_during_a_call_leaves_that_chunk_unknown_not_resent() {
    use std::process::Stdio;

    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let csv = s.write("c.csv", &contacts_csv(1200));
    // The first chunk's answer takes long: the process dies while it is in flight.
    mock.fault(OperationId::ContactsSyncAll, Fault::Delay { ms: 3000 }, 1)
        .unwrap();
    let mut child = s
        .command(
            &["--no-pacing", "contacts", "import", csv.to_str().unwrap()],
            &env_for(&mock, &f.client_api_key),
        )
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_calls(&mock, OperationId::ContactsSyncAll, 1).await;
    child.kill().unwrap();
    tokio::task::block_in_place(|| child.wait()).unwrap();

    let resumed = s.run(
        &["--no-pacing", "contacts", "import", csv.to_str().unwrap()],
        &env_for(&mock, &f.client_api_key),
    );
    assert_eq!(resumed.code, 4, "{resumed:#?}");
    assert!(
        resumed
            .stderr
            .contains("chunk 1 (lines 2-501): outcome unknown")
    );
    assert_eq!(
        mock.calls(OperationId::ContactsSyncAll),
        3,
        "chunks 2 and 3 sent, chunk 1 not sent again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_cut_emptied_reordered_or_altered_stops_the_run_and_sends_nothing() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.client_api_key);
    let csv = s.write("c.csv", &contacts_csv(1500));
    let file = csv.to_str().unwrap();
    let import = |extra: &[&str]| {
        let mut args = vec!["--no-pacing", "contacts", "import", file];
        args.extend_from_slice(extra);
        s.run(&args, &env)
    };
    assert_eq!(import(&["--max-chunks", "2"]).code, 0);
    assert_eq!(mock.calls(OperationId::ContactsSyncAll), 2);
    let journal = s.path("c.csv.import.journal");
    let seal = s.path("c.csv.import.journal.seal");
    let whole = std::fs::read_to_string(&journal).unwrap();
    let sealed = std::fs::read(&seal).unwrap();
    let lines: Vec<&str> = whole.lines().collect();
    assert_eq!(
        lines.len(),
        5,
        "a header, then sending and done for 2 chunks"
    );
    let joined = |lines: &[&str]| lines.iter().map(|l| format!("{l}\n")).collect::<String>();

    let cases: Vec<(&str, Option<String>, bool)> = vec![
        ("cut at a line end", Some(joined(&lines[..4])), true),
        ("cut by one chunk", Some(joined(&lines[..3])), true),
        ("emptied", Some(String::new()), true),
        ("header only", Some(joined(&lines[..1])), true),
        (
            "reordered",
            Some(joined(&[lines[0], lines[2], lines[1], lines[3], lines[4]])),
            true,
        ),
        (
            "a digit changed",
            Some(whole.replacen("\"chunk\":1", "\"chunk\":3", 1)),
            true,
        ),
        (
            "a chunk out of range",
            Some(whole.replacen("\"chunk\":2", "\"chunk\":9", 1)),
            true,
        ),
        ("the seal removed", None, false),
    ];
    for (what, text, keep_seal) in cases {
        match &text {
            Some(text) => std::fs::write(&journal, text).unwrap(),
            None => std::fs::write(&journal, &whole).unwrap(),
        }
        if keep_seal {
            std::fs::write(&seal, &sealed).unwrap();
        } else {
            std::fs::remove_file(&seal).unwrap();
        }
        let run = import(&[]);
        assert_eq!(run.code, 1, "{what}: {run:#?}");
        assert!(run.stderr.contains("nothing was sent"), "{what}: {run:#?}");
        // The error names the line where the journal stops holding together.
        let line = match what {
            "a digit changed" => Some("journal:2: the record's checksum does not match"),
            "reordered" => Some("journal:2: record out of order"),
            "a chunk out of range" => Some("journal:4:"),
            _ => None,
        };
        if let Some(line) = line {
            assert!(run.stderr.contains(line), "{what}: {run:#?}");
        }
        assert_eq!(
            mock.calls(OperationId::ContactsSyncAll),
            2,
            "{what}: a chunk was sent"
        );
    }
    // A damaged seal is no better than none.
    std::fs::write(&journal, &whole).unwrap();
    std::fs::write(&seal, b"{\"records\":4").unwrap();
    assert_eq!(import(&[]).code, 1);
    assert_eq!(mock.calls(OperationId::ContactsSyncAll), 2);

    // Whole again, the run resumes with the third chunk alone.
    std::fs::write(&seal, &sealed).unwrap();
    let resumed = import(&[]);
    assert_eq!(resumed.code, 0, "{resumed:#?}");
    assert_eq!(mock.calls(OperationId::ContactsSyncAll), 3);
    assert_each_once(&synced_phones(&mock), 1500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_a_record_and_its_seal_loses_nothing() {
    let mock = mock().await;
    let f = mock.fixtures();
    let s = Sandbox::new();
    let env = env_for(&mock, &f.client_api_key);
    let csv = s.write("c.csv", &contacts_csv(1000));
    let file = csv.to_str().unwrap();
    let first = s.run(
        &[
            "--no-pacing",
            "contacts",
            "import",
            file,
            "--max-chunks",
            "1",
        ],
        &env,
    );
    assert_eq!(first.code, 0, "{first:#?}");
    // The seal as it was before the last record (`done` of chunk 1) was written: the record
    // reached the disk, the seal did not.
    let journal = std::fs::read_to_string(s.path("c.csv.import.journal")).unwrap();
    let before_last: Vec<&str> = journal.lines().collect();
    let sending: serde_json::Value = serde_json::from_str(before_last[1]).unwrap();
    std::fs::write(
        s.path("c.csv.import.journal.seal"),
        serde_json::json!({"records": 1, "sum": sending["sum"]}).to_string(),
    )
    .unwrap();
    let resumed = s.run(&["--no-pacing", "contacts", "import", file], &env);
    assert_eq!(resumed.code, 0, "{resumed:#?}");
    assert_each_once(&synced_phones(&mock), 1000);
}
