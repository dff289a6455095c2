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
    let report = campaign::run(spoki.url(), &f, &campaign::RECIPIENTS)
        .await
        .unwrap();
    assert_eq!(
        report,
        [
            "campaign to 3 recipients: 2 new paid conversations, 1 free, 0.28 EUR",
            "client \"Pizzeria Da Mario\": credit 0.42 EUR, 3 conversations available",
            "automation started for 3 contacts in one request",
        ]
    );
    let starts: Vec<_> = spoki
        .received()
        .into_iter()
        .filter(|r| r.operation.as_deref() == Some("automations_start_bulk"))
        .collect();
    assert_eq!(starts.len(), 1);
    assert_eq!(starts[0].status, Some(200));
    assert_eq!(starts[0].body["contacts"].as_array().unwrap().len(), 3);
    // The credit covered every send.
    let sent = spoki.messages();
    assert_eq!(sent.len(), 3);
    assert!(
        sent.iter()
            .all(|m| m.send_status == spoki::models::SendStatus::Sent),
        "{sent:?}"
    );
}

#[tokio::test]
async fn a_campaign_the_credit_does_not_cover_in_money_is_refused() {
    // Three conversations are available, and the campaign opens three paid ones; but one is
    // in Germany, dearer: 0.46 EUR against 0.42 EUR. Counting conversations would send it.
    let spoki = MockSpoki::start().await;
    let f = spoki.fixtures();
    let mut recipients = campaign::RECIPIENTS.to_vec();
    recipients.push(("+491701234567", "Anna"));
    let report = campaign::run(spoki.url(), &f, &recipients).await.unwrap();
    assert_eq!(
        report.last().unwrap(),
        "not covered: the campaign costs 0.46 EUR against a credit of 0.42 EUR; nothing sent"
    );
    assert!(spoki.messages().is_empty());
}

#[tokio::test]
async fn an_account_without_credit_gets_nothing_sent() {
    let spoki = MockSpoki::start().await;
    let mut f = spoki.fixtures();
    f.client_account_id = f.empty_account_id;
    let report = campaign::run(spoki.url(), &f, &campaign::RECIPIENTS)
        .await
        .unwrap();
    assert!(
        report.last().unwrap().starts_with("not covered"),
        "{report:?}"
    );
    assert!(spoki.messages().is_empty());
}
