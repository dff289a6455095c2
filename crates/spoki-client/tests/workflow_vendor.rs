//! A workflow of the seed documents, run end to end over the reqwest transport against
//! servers on 127.0.0.1. The workflow code is the example's own.

#[path = "../examples/vendor_flow.rs"]
#[allow(dead_code)]
mod vendor_flow;

#[tokio::test]
async fn software_vendor_reads_capacity_then_starts_the_automation_in_bulk() {
    let spoki = vendor_flow::fake_spoki::start().await;
    let report = vendor_flow::run(&spoki.url).await.unwrap();
    assert!(
        report.contains(
            "client 101 \"Pizzeria Da Mario\": credit 0.420 EUR, 3 conversations available"
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
        .filter(|r| r.target.starts_with("/wh/ap/"))
        .collect();
    assert_eq!(starts.len(), 1, "one bulk start");
    let start = starts[0];
    assert_eq!(
        start.target,
        format!("/wh/ap/{}/bulk/", vendor_flow::fake_spoki::AUTOMATION_UUID)
    );
    assert_eq!(
        start.header("x-spoki-api-key"),
        None,
        "the secret alone authenticates"
    );
    let body = start.json();
    assert_eq!(body["secret"], vendor_flow::fake_spoki::AUTOMATION_SECRET);
    assert_eq!(body["contacts"].as_array().unwrap().len(), 3);
    assert_eq!(body["contacts"][1]["phone"], "+39333123461234");
    assert_eq!(
        body["contacts"][0]["custom_fields"]["DATA_SCADENZA_ABBONAMENTO"],
        "2022-11-10T18:00:00.000Z"
    );
    assert!(
        received
            .iter()
            .filter(|r| r.target.starts_with("/api/"))
            .all(|r| r.header("x-spoki-api-key") == Some(vendor_flow::fake_spoki::AGENCY_API_KEY))
    );
}
