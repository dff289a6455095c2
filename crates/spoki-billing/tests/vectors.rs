//! Every scenario of the project's billing vectors must pass.
//!
//! Source: the billing vectors compiled for the spoki-rs project together with its billing rule
//! sheet, copied verbatim to `tests/data/` (see its README) so that a clone passes on its own.

use spoki_billing::vectors::{Report, check_file};

const IN_REPO: &str = include_str!("data/billing-vectors.json");

fn assert_all_pass(report: &Report) {
    assert!(report.all_passed(), "{report}");
}

#[test]
fn in_repo_vectors_all_pass() {
    let report = check_file(IN_REPO).expect("vectors file parses");
    assert_eq!(
        report.results.len(),
        28,
        "scenario count changed:\n{report}"
    );
    assert_all_pass(&report);
}

fn mutate(edit: impl FnOnce(&mut serde_json::Value)) -> Report {
    let mut scenarios: serde_json::Value = serde_json::from_str(IN_REPO).unwrap();
    edit(&mut scenarios);
    check_file(&scenarios.to_string()).unwrap()
}

#[test]
fn a_wrong_total_is_reported() {
    let report = mutate(|s| s[0]["expected"]["total_cost"] = serde_json::json!(14.01));
    assert_eq!(report.failed(), 1);
    assert!(
        !report.all_passed(),
        "check_vectors exits non-zero exactly when this is false"
    );
    let line = report.results[0].to_string();
    assert_eq!(
        line,
        "FAIL seed-template-to-100-customers: total_cost: expected 14.01, got 14.00"
    );
    assert!(report.to_string().ends_with("27 passed, 1 failed"));
}

#[test]
fn wrong_conversation_fields_and_rejections_are_reported() {
    let report = mutate(|s| {
        let fep = s
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|s| s["id"] == "fep-closes-open-conversation")
            .unwrap();
        fep["expected"]["conversations"][0]["expires_at"] = "2024-07-16T08:00:00Z".into();
        fep["expected"]["rejected"] = serde_json::json!([2]);
    });
    assert_eq!(report.failed(), 1);
    let failed = report.results.iter().find(|r| !r.passed()).unwrap();
    assert_eq!(
        failed.differences,
        [
            "conversations[0].expires_at: expected 2024-07-16T08:00:00Z, got 2024-07-15T09:30:00Z",
            "rejected: expected [2], got []",
        ]
    );
}

#[test]
fn a_missing_message_and_a_bad_event_are_reported() {
    let report = mutate(|s| {
        let scenarios = s.as_array_mut().unwrap();
        let pmp = scenarios
            .iter_mut()
            .find(|s| s["id"] == "pmp-meta-charge-example")
            .unwrap();
        pmp["expected"]["messages"].as_array_mut().unwrap().pop();
        let seed = scenarios
            .iter_mut()
            .find(|s| s["id"] == "seed-customer-writes-no-reply")
            .unwrap();
        seed["events"][0]["customer"] = "3933311".into();
    });
    assert_eq!(report.failed(), 2);
    let text = report.to_string();
    assert!(
        text.contains("FAIL pmp-meta-charge-example: messages: expected 3 entries, got 4"),
        "{text}"
    );
    assert!(
        text.contains("FAIL seed-customer-writes-no-reply: events[0]:"),
        "{text}"
    );
}
