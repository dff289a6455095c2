//! `spoki billing replay` and `spoki billing estimate`: the billing model, offline.

use crate::error::{CliError, Result};
use crate::output::{Output, table};
use crate::recipients::{self, Recipient};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use spoki_billing::{CampaignEstimate, Customer, Ledger, PricingModel, RateCard, Timestamp, jsonl};
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum BillingCommand {
    /// Replay a JSON-lines log of billing events and print the bill.
    Replay {
        /// One event per line: {"at": RFC 3339, "direction": "inbound"|"outbound",
        /// "customer": phone, "kind": "template"|"free_form", "category": …}, in any order.
        events: PathBuf,
        #[command(flatten)]
        pricing: Pricing,
    },
    /// Estimate what a template campaign to a CSV of recipients costs, with no open
    /// conversations assumed.
    Estimate(EstimateArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Category {
    Marketing,
    Utility,
    Authentication,
}

impl From<Category> for spoki_billing::Category {
    fn from(c: Category) -> spoki_billing::Category {
        match c {
            Category::Marketing => spoki_billing::Category::Marketing,
            Category::Utility => spoki_billing::Category::Utility,
            Category::Authentication => spoki_billing::Category::Authentication,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct Pricing {
    /// Rate card JSON ({"currency", "calling_codes", "markets"}) [default: a built-in sample
    /// card for IT, DE, FR, ES, GB and US].
    #[arg(long, value_name = "FILE")]
    pub rate_card: Option<PathBuf>,
    /// Pricing model.
    #[arg(long, default_value = "conversation_2024", value_parser = str::parse::<PricingModel>)]
    pub model: PricingModel,
}

impl Pricing {
    pub fn ledger(&self) -> Result<Ledger> {
        let json = match &self.rate_card {
            Some(path) => std::fs::read_to_string(path).map_err(CliError::io(path))?,
            None => spoki_mock::DEFAULT_RATE_CARD.to_owned(),
        };
        let card =
            RateCard::from_json(&json).map_err(|e| CliError::Usage(format!("rate card: {e}")))?;
        Ok(Ledger::new(self.model, card))
    }
}

#[derive(Debug, Args)]
pub struct EstimateArgs {
    /// CSV of recipients (a `phone` column, other columns ignored).
    #[arg(long, value_name = "FILE")]
    pub recipients: PathBuf,
    /// The template's category.
    #[arg(long, value_enum, default_value = "marketing")]
    pub category: Category,
    #[command(flatten)]
    pub pricing: Pricing,
}

/// The estimate of sending one template of `category` to each recipient now, given what
/// `ledger` already knows.
pub fn estimate(
    ledger: &Ledger,
    recipients: &[Recipient],
    category: Category,
) -> Result<CampaignEstimate> {
    let customers = recipients
        .iter()
        .map(|r| {
            Customer::parse(r.phone.as_str())
                .map_err(|e| CliError::Usage(format!("line {}: {e}", r.line)))
        })
        .collect::<Result<Vec<_>>>()?;
    ledger
        .estimate_campaign(customers, category.into(), Timestamp::now())
        .map_err(|e| CliError::Usage(format!("cannot estimate: {e}")))
}

pub fn run(command: BillingCommand, out: Output) -> Result<()> {
    match command {
        BillingCommand::Replay { events, pricing } => replay(&events, &pricing, out),
        BillingCommand::Estimate(args) => {
            let ledger = args.pricing.ledger()?;
            let checked = recipients::read(&args.recipients)?;
            for r in &checked.rejected {
                eprintln!("line {}: {} (left out)", r.line, r.reason);
            }
            let e = estimate(&ledger, &checked.valid, args.category)?;
            let currency = ledger.rate_card().currency();
            out.summary(json!({
                "recipients": e.recipients,
                "paid_conversations": e.new_paid_conversations,
                "free_sends": e.free_sends,
                "total_cost": e.total_cost.amount().to_string(),
                "currency": currency,
                "rejected_rows": checked.rejected.len(),
            }));
            let mut t = table(&["recipients", "paid", "free", "cost"]);
            t.add_row(vec![
                e.recipients.to_string(),
                e.new_paid_conversations.to_string(),
                e.free_sends.to_string(),
                e.total_cost.to_string(),
            ]);
            out.say(t.to_string());
            Ok(())
        }
    }
}

/// Applies the billing log at `path` (JSONL events, in any order) to `ledger`.
pub fn apply_log(ledger: &mut Ledger, path: &Path) -> Result<()> {
    let file = std::fs::File::open(path).map_err(CliError::io(path))?;
    // Parsed on every core; a bad line is reported with its number.
    let mut events = jsonl::read(file, jsonl::default_parsers()).map_err(|e| match e {
        jsonl::LogError::Io(e) => CliError::io(path)(e),
        e => CliError::Usage(format!("{}: {e}", path.display())),
    })?;
    // Logs are rarely in order; equal instants keep the file's order.
    events.sort_by_key(|e| e.at);
    ledger
        .apply_batch(&events, |_, _| {})
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}

fn replay(path: &Path, pricing: &Pricing, out: Output) -> Result<()> {
    let mut ledger = pricing.ledger()?;
    apply_log(&mut ledger, path)?;
    let totals = ledger.totals();
    let currency = ledger.rate_card().currency();
    out.summary(json!({
        "model": ledger.model().to_string(),
        "events": totals.events,
        "customers": ledger.customer_count(),
        "conversations": totals.conversations,
        "paid_conversations": totals.paid_conversations,
        "charged_messages": totals.charged_messages,
        "rejected": totals.rejected,
        "total_cost": totals.total_cost.amount().to_string(),
        "currency": currency,
    }));
    let mut t = table(&["bill", "value"]);
    t.add_row(vec!["model".to_owned(), ledger.model().to_string()]);
    t.add_row(vec!["events".to_owned(), totals.events.to_string()]);
    t.add_row(vec![
        "customers".to_owned(),
        ledger.customer_count().to_string(),
    ]);
    t.add_row(vec![
        "conversations".to_owned(),
        format!(
            "{} ({} paid)",
            totals.conversations, totals.paid_conversations
        ),
    ]);
    t.add_row(vec![
        "charged messages".to_owned(),
        totals.charged_messages.to_string(),
    ]);
    t.add_row(vec![
        "refused free-form".to_owned(),
        totals.rejected.to_string(),
    ]);
    t.add_row(vec!["total cost".to_owned(), totals.total_cost.to_string()]);
    out.say(t.to_string());
    Ok(())
}
