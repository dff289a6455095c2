//! A workflow of the seed documents, run end to end over the reqwest transport against the
//! local Spoki. The workflow code is the example's own.

#[path = "../examples/vendor_flow.rs"]
#[allow(dead_code)]
mod vendor_flow;

use spoki_mock::MockSpoki;

#[tokio::test]
async fn software_vendor_reads_capacity_then_starts_the_automation_in_bulk() {
    let spoki = MockSpoki::start().await;
    let f = spoki.fixtures();
    let report = vendor_flow::run(spoki.url(), &f).await.unwrap();
    assert!(
        report.contains(
            "client 101 \"Pizzeria Da Mario\": credit 0.42 EUR, 3 conversations available"
        ),
        "{report}"
    );
    assert!(
        report.contains("started automation for 3 contacts; 1 deferred"),
        "{report}"
    );

    let received = spoki.received();
    let starts: Vec<_> = received
        .iter()
        .filter(|r| r.path.starts_with("/wh/ap/"))
        .collect();
    assert_eq!(starts.len(), 1, "one bulk start");
    let start = starts[0];
    assert_eq!(start.path, format!("/wh/ap/{}/bulk/", f.automation_uuid));
    assert_eq!(start.status, Some(200), "the secret was accepted");
    assert!(
        !start.headers.contains_key("x-spoki-api-key"),
        "the secret alone authenticates"
    );
    let body = &start.body;
    assert_eq!(body["contacts"].as_array().unwrap().len(), 3);
    assert_eq!(body["contacts"][1]["phone"], "+39333123461234");
    assert_eq!(
        body["contacts"][0]["custom_fields"]["DATA_SCADENZA_ABBONAMENTO"],
        "2022-11-10T18:00:00.000Z"
    );
    assert!(
        received
            .iter()
            .filter(|r| r.path.starts_with("/api/"))
            .all(|r| r.status == Some(200) && r.headers.contains_key("x-spoki-api-key"))
    );
    // What the client could afford went out, on the client's credit.
    assert_eq!(spoki.messages().len(), 3);
    assert_eq!(
        spoki.credit(f.client_account_id).map(|c| c.micros()),
        Some(0)
    );
}
