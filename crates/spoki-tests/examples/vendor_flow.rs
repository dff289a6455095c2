//! The software-vendor workflow of Spoki's integration guide (seed 000):
//!
//! 1. with the agency's API key, read the agency and each client account's
//!    `estimated_available_conversations` and credit;
//! 2. send only what the client's credit covers, through the client's automation: a bulk start
//!    authenticated by the automation's secret (no API key), so the messages go out from the
//!    client's number and on the client's credit.
//!
//! Runs against the local Spoki (`spoki-mock`) on 127.0.0.1, with its demo agency:
//!
//! ```text
//! cargo run -p spoki-client --example vendor_flow
//! ```

use spoki_client::Client;
use spoki_client::models::{AutomationContact, AutomationStartBulk, Phone};
use spoki_mock::{Fixtures, MockSpoki};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spoki = MockSpoki::start().await;
    println!("running against the local Spoki at {}", spoki.url());
    let report = run(spoki.url(), &spoki.fixtures()).await?;
    println!("{report}");
    Ok(())
}

/// The workflow with the agency's credentials; returns what it did, one line per step.
pub async fn run(base_url: &str, agency: &Fixtures) -> Result<String, Box<dyn std::error::Error>> {
    let mut report = Vec::new();
    let agency_api = Client::builder()
        .base_url(base_url)
        .api_key(agency.agency_api_key.as_str())
        .build()?;
    let credentials = agency;
    let agency = agency_api.agencies().get(credentials.agency_id).await?;
    for account in &agency.clients {
        report.push(format!(
            "client {} {:?}: credit {}, {} conversations available",
            account.id,
            account.name.as_deref().unwrap_or("?"),
            account
                .current_credit
                .map_or_else(|| "unknown".to_owned(), |credit| credit.to_string()),
            account.estimated_available_conversations.unwrap_or(0)
        ));
    }

    // The vendor's own customers of client 101 whose subscription expires.
    let expiring = [
        ("+393331234567", "Mario", "Rossi"),
        ("+39333123461234", "John", "Bianchi"),
        ("+393470000001", "Anna", "Verdi"),
        ("+393470000002", "Luca", "Neri"),
    ];
    let account = agency_api
        .accounts()
        .get(credentials.client_account_id)
        .await?;
    let capacity = account
        .estimated_available_conversations
        .unwrap_or(0)
        .max(0) as usize;
    let (now, later) = expiring.split_at(capacity.min(expiring.len()));

    let contacts = now
        .iter()
        .map(|(phone, first, last)| {
            Ok(AutomationContact::new(Phone::parse(phone)?)
                .first_name(*first)
                .last_name(*last)
                .custom_fields([
                    ("DATA_SCADENZA_ABBONAMENTO", "2022-11-10T18:00:00.000Z"),
                    // What the template's %%DATE_EXPIRE_SCRIPTION%% needs.
                    ("DATE_EXPIRE_SCRIPTION", "2022-11-10"),
                ]))
        })
        .collect::<Result<Vec<_>, spoki_client::models::PhoneError>>()?;
    // Automation starts authenticate with the secret alone: this client has no API key.
    let starter = Client::builder().base_url(base_url).build()?;
    let body = AutomationStartBulk::new(credentials.automation_secret.as_str(), contacts);
    starter
        .automations()
        .start_bulk(&credentials.automation_uuid, &body)
        .await?;
    report.push(format!(
        "started automation for {} contacts; {} deferred until the client tops up",
        now.len(),
        later.len()
    ));
    Ok(report.join("\n"))
}
