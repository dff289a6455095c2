//! `spoki campaign estimate` and `spoki campaign run`: what a template campaign costs against
//! the account's credit, and the automation started for every recipient, resumably.

use super::billing::{Category, Pricing, apply_log, estimate};
use super::bulk::{BulkArgs, Planned, finish};
use crate::error::{CliError, Result};
use crate::journal::{self, Departures};
use crate::output::{Output, table};
use crate::recipients::{self, Recipients};
use crate::target::{Global, Target};
use clap::{Args, Subcommand};
use serde_json::json;
use spoki_billing::Coverage;
use spoki_client::MAX_CONTACTS_PER_SYNC;
use spoki_client::models::{AutomationStartBulk, Secret};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// What the campaign costs, in money and conversations, against the account's credit.
    Estimate(EstimateArgs),
    /// Check the credit, then start the automation for every recipient in chunks of 500,
    /// resuming where a stopped run left off.
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct Plan {
    /// CSV of recipients: phone,first_name,last_name,email and custom field columns.
    #[arg(long, value_name = "FILE")]
    pub recipients: PathBuf,
    /// The template's category.
    #[arg(long, value_enum, default_value = "marketing")]
    pub category: Category,
    /// The account that pays [default with --mock: the demo client account].
    #[arg(long, value_name = "ID")]
    pub account: Option<i64>,
    #[command(flatten)]
    pub pricing: Pricing,
    /// A billing log of past traffic (JSONL events, as `spoki webhooks listen --billing-log`
    /// writes): recipients whose conversation it shows open are counted as free.
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EstimateArgs {
    #[command(flatten)]
    pub plan: Plan,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub plan: Plan,
    /// The automation's uuid [default with --mock: the demo automation].
    #[arg(long, value_name = "UUID")]
    pub automation: Option<String>,
    /// The template the automation sends [default with --mock: the demo automation's]: rows
    /// without a value for one of its `%%CODE%%` placeholders go to the rejects file.
    #[arg(long, value_name = "ID")]
    pub template: Option<i64>,
    /// Environment variable holding the automation's secret [with --mock: the demo's].
    #[arg(long, value_name = "VAR")]
    pub secret_env: Option<String>,
    /// Start even when the credit does not cover the estimate.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub bulk: BulkArgs,
}

/// Prints the billing model's [`Coverage`]: a table, or its JSON with `--json`.
pub fn print(cover: &Coverage, out: Output) {
    let e = &cover.estimate;
    // Spoki's credit is in EUR, so is every coverage (`Ledger::coverage` checks the card).
    let currency = spoki_billing::Currency::EUR;
    out.summary(json!({
        "recipients": e.recipients,
        "paid_conversations": e.new_paid_conversations,
        "free_sends": e.free_sends,
        "total_cost": e.total_cost.amount().to_string(),
        "currency": currency,
        "credit": cover.credit.map(|c| c.amount().to_string()),
        "available_conversations": cover.available_conversations,
        "covered": cover.covered(),
    }));
    let yes_no = |v: Option<bool>| match v {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "unknown",
    };
    let mut t = table(&["", "campaign", "account", "covered"]);
    t.add_row(vec![
        "money".to_owned(),
        e.total_cost.to_string(),
        cover
            .credit
            .map(|c| c.to_string())
            .unwrap_or_else(|| "unknown".into()),
        yes_no(cover.money_covered()).to_owned(),
    ]);
    t.add_row(vec![
        "conversations".to_owned(),
        format!("{} paid, {} free", e.new_paid_conversations, e.free_sends),
        cover
            .available_conversations
            .map(|a| format!("{a} available"))
            .unwrap_or_else(|| "unknown".into()),
        yes_no(cover.conversations_covered()).to_owned(),
    ]);
    out.say(t.to_string());
}
async fn coverage(plan: &Plan, target: &Target, checked: &Recipients) -> Result<Coverage> {
    let mut ledger = plan.pricing.ledger()?;
    if let Some(history) = &plan.history {
        apply_log(&mut ledger, history)?;
    }
    let estimate = estimate(&ledger, &checked.valid, plan.category)?;
    let account_id = plan
        .account
        .or(target.fixtures.as_ref().map(|f| f.client_account_id))
        .ok_or_else(|| CliError::Usage("give the paying account with --account ID".into()))?;
    let account = target.client.accounts().get(account_id).await?;
    ledger
        .coverage(estimate, &account)
        .map_err(|e| CliError::Usage(e.to_string()))
}

fn read_plan(plan: &Plan) -> Result<Recipients> {
    let checked = recipients::read(&plan.recipients)?;
    checked.print_rejected();
    Ok(checked)
}

pub async fn run(command: CampaignCommand, global: &Global, out: Output) -> Result<()> {
    match command {
        CampaignCommand::Estimate(args) => {
            let checked = read_plan(&args.plan)?;
            let departures = Departures::default();
            let target = global.connect_gated(Some(&departures)).await?;
            let cover = coverage(&args.plan, &target, &checked).await?;
            print(&cover, out);
            if cover.covered() {
                Ok(())
            } else {
                Err(CliError::Failed(
                    "the account's credit does not cover this campaign".into(),
                ))
            }
        }
        CampaignCommand::Run(args) => start(args, global, out).await,
    }
}

/// Recipients per `start-bulk` call: the size of a contact sync, which the spec caps; bulk
/// starts have no published cap, and a smaller call keeps an unknown outcome small.
const CHUNK: usize = MAX_CONTACTS_PER_SYNC;

/// Refuses a campaign with chunks still to send that the account's credit does not cover,
/// unless `--force`. A resumed run pays only for what is left, but the estimate of the whole
/// file is the conservative check: the credit already spent is gone from the account.
async fn check_credit(
    args: &RunArgs,
    target: &Target,
    planned: &Planned,
    out: Output,
) -> Result<()> {
    let pending = planned
        .journal
        .states()
        .iter()
        .filter(|s| **s != journal::ChunkState::Done)
        .count();
    let cover = coverage(&args.plan, target, &planned.checked).await?;
    print(&cover, out);
    if pending > 0 && !cover.covered() && !args.force {
        return Err(CliError::Failed(
            "the account's credit does not cover this campaign: nothing sent (--force to \
             start anyway)"
                .into(),
        ));
    }
    Ok(())
}

/// The automation to start and its secret: from the arguments, or the local Spoki's demo.
fn automation(args: &RunArgs, fixtures: Option<&spoki_mock::Fixtures>) -> Result<(String, Secret)> {
    let uuid = args
        .automation
        .clone()
        .or_else(|| fixtures.map(|f| f.automation_uuid.clone()))
        .ok_or_else(|| CliError::Usage("give the automation with --automation UUID".into()))?;
    let secret = match (&args.secret_env, fixtures) {
        (Some(var), _) => crate::config::env_value(var)?,
        (None, Some(f)) => f.automation_secret.clone(),
        (None, None) => {
            return Err(CliError::Usage(
                "give the automation's secret with --secret-env VAR".into(),
            ));
        }
    };
    let secret = Secret::from(secret);
    if secret.is_blank() {
        return Err(CliError::Usage("the automation's secret is blank".into()));
    }
    Ok((uuid, secret))
}

async fn start(args: RunArgs, global: &Global, out: Output) -> Result<()> {
    let departures = Departures::default();
    let target = global.connect_gated(Some(&departures)).await?;
    let fixtures = target.fixtures.as_ref();
    let (uuid, secret) = automation(&args, fixtures)?;
    let tag: String = uuid
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    let template = args
        .template
        .or_else(|| fixtures.map(|f| f.marketing_template_id));
    let needed = match template {
        Some(id) => Some(target.client.template_placeholders(id).await?),
        None => {
            eprintln!("note: without --template, no row is checked against its placeholders");
            None
        }
    };
    let planned = Planned::open(
        &args.bulk,
        &args.plan.recipients,
        &format!("automation_start_bulk:{uuid}"),
        &format!("campaign-{tag}"),
        CHUNK,
        needed.as_ref(),
    )?;
    let chunks: Vec<_> = planned.checked.valid.chunks(CHUNK).collect();
    check_credit(&args, &target, &planned, out).await?;
    if args.bulk.check {
        return finish(
            &planned.journal_path,
            &planned.checked,
            &planned.rejects,
            &chunks,
            &journal::Report::default(),
            out,
            true,
        );
    }
    let automations = target.client.automations();
    let report = journal::run(
        planned.journal,
        &departures,
        args.bulk.limits(),
        out,
        "recipients",
        |k| {
            let body = AutomationStartBulk::new(
                secret.clone(),
                chunks[k]
                    .iter()
                    .map(|r| r.to_automation_contact())
                    .collect::<Vec<_>>(),
            );
            let uuid = uuid.clone();
            async move { automations.start_bulk(&uuid, &body).await }
        },
    )
    .await?;
    finish(
        &planned.journal_path,
        &planned.checked,
        &planned.rejects,
        &chunks,
        &report,
        out,
        false,
    )
}
