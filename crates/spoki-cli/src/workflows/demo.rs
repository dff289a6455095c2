//! `spoki demo`: the seeds' story end to end against an embedded local Spoki, in a few lines.
//!
//! A vendor checks its client's credit, estimates a renewal campaign, starts the client's
//! automation for the recipients, and then a customer answers: the reply arrives as a signed
//! webhook, which opens the 24-hour service window, so a free-form answer can go out.

use super::billing::{Category, Pricing};
use super::webhooks::{describe, serve};
use crate::error::{CliError, Result};
use crate::output::Output;
use crate::recipients::Recipient;
use crate::target::Global;
use serde_json::json;
use spoki_client::WebhookVerifier;
use spoki_client::models::{
    AutomationStartBulk, Currency, Money, Phone, SendText, WebhookEvent, WebhookVersion,
    WebhookWrite,
};
use spoki_mock::MockSpoki;
use spoki_webhook::{BoxError, Delivery, Receiver};
use std::sync::Arc;
use std::time::Duration;

const RECIPIENTS: [(&str, &str); 2] = [("+393331234567", "Mario"), ("+393470000002", "Luca")];

fn recipient(line: u64, phone: &str, name: &str) -> Result<Recipient> {
    Ok(Recipient {
        line,
        phone: Phone::parse(phone).map_err(|e| CliError::Failed(e.to_string()))?,
        first_name: Some(name.to_owned()),
        last_name: None,
        email: None,
        language: None,
        // The value the demo automation's template needs beside the contact's name.
        custom_fields: [("DATE_EXPIRE_SCRIPTION".to_owned(), "2026-12-31".to_owned())].into(),
    })
}

// Kept whole: the demo is one story told in order, each step using what the last one made.
pub async fn run(global: &Global, out: Output) -> Result<()> {
    let mock = MockSpoki::start().await;
    let f = mock.fixtures();
    let say = |n: u32, text: String| out.say(format!("{n}. {text}"));
    out.say(format!(
        "local Spoki at {} (spoki-mock): no account needed, nothing leaves this machine",
        mock.url()
    ));
    let agency = global.client(Some(&f.agency_api_key.clone().into()), Some(mock.url()))?;
    let account_client = global.client(Some(&f.client_api_key.clone().into()), Some(mock.url()))?;
    let starter = global.client(None, Some(mock.url()))?;

    // 1. The credit.
    let account = agency.accounts().get(f.client_account_id).await?;
    let credit = account.current_credit.unwrap_or(Money::zero(Currency::EUR));
    let available = account
        .estimated_available_conversations
        .unwrap_or(0)
        .max(0) as u64;
    say(
        1,
        format!(
            "credit check: {:?} has {credit}, about {available} marketing conversations",
            account.name.as_deref().unwrap_or("the client")
        ),
    );

    // 2. The estimate, in money and conversations.
    let recipients = RECIPIENTS
        .iter()
        .zip(2..)
        .map(|((phone, name), line)| recipient(line, phone, name))
        .collect::<Result<Vec<_>>>()?;
    let pricing = Pricing {
        rate_card: None,
        model: spoki_billing::PricingModel::Conversation2024,
    };
    let ledger = pricing.ledger()?;
    let estimate = super::billing::estimate(&ledger, &recipients, Category::Marketing)?;
    let cover = ledger
        .coverage(estimate, &account)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    say(
        2,
        format!(
            "campaign estimate: {} recipients, {} paid conversations, {}: {}",
            cover.estimate.recipients,
            cover.estimate.new_paid_conversations,
            cover.estimate.total_cost,
            if cover.covered() {
                "the credit covers it"
            } else {
                "NOT covered"
            }
        ),
    );
    if !cover.covered() {
        return Err(CliError::Failed(
            "the demo's credit does not cover its campaign".into(),
        ));
    }

    // 3. The automation, for everyone at once, authenticated by its secret.
    let contacts: Vec<_> = recipients
        .iter()
        .map(Recipient::to_automation_contact)
        .collect();
    starter
        .automations()
        .start_bulk(
            &f.automation_uuid,
            &AutomationStartBulk::new(f.automation_secret.as_str(), contacts),
        )
        .await?;
    say(
        3,
        format!(
            "automation started for {} contacts in one bulk request",
            recipients.len()
        ),
    );

    // 4. A free-form message is refused until the customer writes.
    let mario = recipients[0].phone.clone();
    let reply = SendText::new(mario.clone(), "Certo! Ecco il link per rinnovare.");
    let refused = account_client.messages().send_text(&reply).await;
    let code = match &refused {
        Err(e) => e
            .api_error()
            .and_then(|a| a.code.clone())
            .unwrap_or_else(|| e.to_string()),
        Ok(_) => {
            return Err(CliError::Failed(
                "a free-form message went out of the service window".into(),
            ));
        }
    };
    say(
        4,
        format!(
            "free-form reply to {mario} refused before he writes ({code}: no open service window)"
        ),
    );

    // 5. Mario answers; the reply arrives as a signed webhook.
    let socket = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| CliError::Failed(format!("cannot listen: {e}")))?;
    let url = format!("http://{}/", socket.local_addr().expect("bound"));
    let hook = account_client
        .webhooks()
        .create(
            &WebhookWrite::default()
                .event(WebhookEvent::MessageInbound)
                .version(WebhookVersion::V2)
                .url(url.as_str()),
        )
        .await?;
    let secret = hook
        .secret
        .ok_or_else(|| CliError::Failed("the new webhook has no secret".into()))?;
    let verifier = WebhookVerifier::new(secret).map_err(|e| CliError::Failed(e.to_string()))?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let hooks = Receiver::new(verifier, move |delivery: Arc<Delivery>| {
        let _ = tx.send(describe(&delivery));
        async { Ok::<(), BoxError>(()) }
    });
    let receiver = tokio::spawn(serve(socket, move |request| {
        let hooks = hooks.clone();
        async move { hooks.receive(request).await.into_response() }
    }));
    mock.inbound(mario.as_str(), "Vorrei rinnovare")
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let delivery = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .ok()
        .flatten()
        .ok_or_else(|| CliError::Failed("no verified webhook delivery arrived".into()))?;
    receiver.abort();
    say(
        5,
        format!("webhook received, signature verified: {delivery}"),
    );

    // 6. The service window is open: the same reply goes out.
    account_client.messages().send_text(&reply).await?;
    let after = agency.accounts().get(f.client_account_id).await?;
    say(
        6,
        format!(
            "service window open for 24 hours: free-form reply sent; credit left {}",
            after.current_credit.unwrap_or(Money::zero(Currency::EUR))
        ),
    );
    out.summary(json!({
        "credit_before": credit.to_string(),
        "estimate": {
            "recipients": cover.estimate.recipients,
            "paid_conversations": cover.estimate.new_paid_conversations,
            "total_cost": cover.estimate.total_cost.to_string(),
            "covered": cover.covered(),
        },
        "automation_contacts": recipients.len(),
        "refused_before_reply": code,
        "webhook": delivery,
        "credit_after": after.current_credit.unwrap_or(Money::zero(Currency::EUR)).to_string(),
        "messages_recorded": mock.messages().len(),
    }));
    Ok(())
}
