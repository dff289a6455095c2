//! The main example, run as a test against the local Spoki: what it predicts, what it checks
//! and what reaches Spoki.

#[path = "../examples/campaign.rs"]
#[allow(dead_code)]
mod campaign;

use spoki_mock::MockSpoki;

#[tokio::test]
async fn the_campaign_is_estimated_checked_then_started_once() {
    let spoki = MockSpoki::start().await;
    let f = spoki.fixtures();
    let report = campaign::run(spoki.url(), &f).await.unwrap();
    assert_eq!(
        report,
        [
            "campaign to 4 recipients: 3 new paid conversations, 1 free, 0.46 EUR",
            "client \"Pizzeria Da Mario\": credit 0.420 EUR, 3 conversations available",
            "automation started for 4 contacts in one request",
        ]
    );
    let starts: Vec<_> = spoki
        .received()
        .into_iter()
        .filter(|r| r.operation.as_deref() == Some("automations_start_bulk"))
        .collect();
    assert_eq!(starts.len(), 1);
    assert_eq!(starts[0].status, Some(200));
    assert_eq!(starts[0].body["contacts"].as_array().unwrap().len(), 4);
    // Spoki sent what the credit covered; the rest failed with the credit error.
    let sent = spoki.messages();
    assert_eq!(sent.len(), 4);
    assert_eq!(sent.iter().filter(|m| m.send_status == "Sent").count(), 3);
}

#[tokio::test]
async fn an_account_without_credit_gets_nothing_sent() {
    let spoki = MockSpoki::start().await;
    let mut f = spoki.fixtures();
    f.client_account_id = f.empty_account_id;
    let report = campaign::run(spoki.url(), &f).await.unwrap();
    assert_eq!(
        report.last().unwrap(),
        "not enough credit: 3 conversations short; nothing sent"
    );
    assert!(spoki.messages().is_empty());
}
