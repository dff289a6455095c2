//! The main job of a vendor integration, end to end: predict what a renewal campaign costs,
//! check that the client's Spoki credit covers it, then start the client's automation for the
//! recipients, through the rate-limit and retry layers.
//!
//! It runs against the local Spoki (`spoki-mock`) on 127.0.0.1, with its demo agency, so it
//! needs no account and sends nothing anywhere:
//!
//! ```text
//! cargo run -p spoki --example campaign
//! ```

use spoki::billing::{self, Customer, Event, Ledger, Message, PricingModel, RateCard};
use spoki::models::{AutomationContact, AutomationStartBulk, FillsPlaceholders};
use spoki::{Client, Phone};
use spoki_mock::{Fixtures, MockSpoki};

const RATE_CARD: &str = r#"{"currency": "EUR", "calling_codes": {"39": "IT", "49": "DE"},
    "markets": {"IT": {"marketing": 0.14, "utility": 0.10, "authentication": 0.12, "service": 0.11},
                "DE": {"marketing": 0.18, "utility": 0.11, "authentication": 0.13, "service": 0.12}}}"#;

/// The renewal campaign's recipients.
pub const RECIPIENTS: [(&str, &str); 3] = [
    ("+393331234567", "Mario"),
    ("+39333123461234", "John"),
    ("+393470000002", "Luca"),
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spoki = MockSpoki::start().await;
    println!(
        "running against the local Spoki (spoki-mock) at {}: nothing leaves this machine",
        spoki.url()
    );
    for line in run(spoki.url(), &spoki.fixtures(), &RECIPIENTS).await? {
        println!("{line}");
    }
    let sent = spoki.messages();
    let failed: Vec<_> = sent
        .iter()
        .filter(|m| m.send_status == spoki::models::SendStatus::Error)
        .collect();
    println!(
        "the local Spoki sent {} messages; {} failed{}",
        sent.len() - failed.len(),
        failed.len(),
        failed
            .iter()
            .map(|m| format!(" ({}: {})", m.phone, m.error_code.as_deref().unwrap_or("?")))
            .collect::<String>()
    );
    Ok(())
}

/// The campaign to `recipients` with the agency's credentials; returns what it did, one line
/// per step.
pub async fn run(
    base_url: &str,
    credentials: &Fixtures,
    recipients: &[(&str, &str)],
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut report = Vec::new();
    let now = billing::Timestamp::parse("2024-07-15T18:00:00Z")?;

    // 1. What the campaign costs, given what was already sent today: Mario got a marketing
    //    template this morning, so his conversation is still open and joining it is free.
    let mut ledger = Ledger::new(
        PricingModel::Conversation2024,
        RateCard::from_json(RATE_CARD)?,
    );
    let morning = billing::Timestamp::parse("2024-07-15T09:00:00Z")?;
    let marketing = Message::Template(billing::Category::Marketing);
    ledger.apply(&Event::new(
        morning,
        Customer::parse(recipients[0].0)?,
        marketing,
    ))?;
    let customers = recipients
        .iter()
        .map(|(p, _)| Customer::parse(p))
        .collect::<Result<Vec<_>, _>>()?;
    let estimate = ledger.estimate_campaign(customers, billing::Category::Marketing, now)?;
    report.push(format!(
        "campaign to {} recipients: {} new paid conversations, {} free, {}",
        estimate.recipients,
        estimate.new_paid_conversations,
        estimate.free_sends,
        estimate.total_cost
    ));

    // 2. A client whose every call is paced to Spoki's limits and retried only when safe.
    // The default client paces every call to Spoki's limits and retries only when safe.
    let agency = Client::builder()
        .base_url(base_url)
        .api_key(credentials.agency_api_key.as_str())
        .build()?;
    let account = agency.accounts().get(credentials.client_account_id).await?;
    let credit = account
        .current_credit
        .ok_or("the account did not say its credit")?;
    let cover = ledger.coverage(estimate, &account)?;
    report.push(format!(
        "client {:?}: credit {credit}, {} conversations available",
        account.name.as_deref().unwrap_or("?"),
        cover.available_conversations.unwrap_or(0)
    ));
    // The sender's question, in money (the cost against the credit, one money type) and in
    // conversations: both must hold.
    if !(estimate.total_cost <= credit && cover.covered()) {
        report.push(format!(
            "not covered: the campaign costs {} against a credit of {credit}; nothing sent",
            estimate.total_cost
        ));
        return Ok(report);
    }

    // 3. Start the client's automation for everyone, authenticated by its secret, once the
    //    body fills every placeholder of the template it sends (read with the client
    //    account's key, on the agency's connections).
    let contacts = recipients
        .iter()
        .map(|(phone, name)| {
            Ok(AutomationContact::new(Phone::parse(phone)?)
                .first_name(*name)
                .custom_fields([("DATE_EXPIRE_SCRIPTION", "2026-12-31")]))
        })
        .collect::<Result<Vec<_>, spoki::models::PhoneError>>()?;
    let body = AutomationStartBulk::new(credentials.automation_secret.as_str(), contacts);
    let needed = agency
        .with_api_key(credentials.client_api_key.as_str())?
        .template_placeholders(credentials.marketing_template_id)
        .await?;
    body.check_placeholders(&needed)?;
    let starter = Client::builder().base_url(base_url).build()?;
    starter
        .automations()
        .start_bulk(&credentials.automation_uuid, &body)
        .await?;
    report.push(format!(
        "automation started for {} contacts in one request",
        recipients.len()
    ));
    Ok(report)
}
