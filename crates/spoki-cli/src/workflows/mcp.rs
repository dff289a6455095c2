//! `spoki mcp`: the Spoki tools for AI agents (the `spoki-mcp` server), over stdio or
//! Streamable HTTP, with the command line's connection options and guardrails from flags.

use super::billing::Pricing;
use crate::error::{CliError, Result};
use crate::target::Global;
use clap::Args;
use spoki_client::models::Secret;
use spoki_mcp::{Config, Recipients, SpokiMcp};
use std::net::IpAddr;

#[derive(Debug, Args)]
pub struct McpArgs {
    /// Serve Streamable HTTP at http://ADDR:PORT/mcp instead of stdio.
    #[arg(long, value_name = "PORT")]
    pub http: Option<u16>,
    /// The address `--http` binds.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1",
        requires = "http"
    )]
    pub bind: IpAddr,
    /// List and run only the tools that read.
    #[arg(long)]
    pub read_only: bool,
    /// The only recipients sends and automation starts may reach: E.164 phones separated by
    /// commas, or @FILE with one per line.
    #[arg(long, value_name = "PHONES|@FILE")]
    pub allow_recipients: Option<String>,
    /// Environment variable holding the automation's secret, for automation starts and
    /// campaign_start [with --mock: the demo's].
    #[arg(long, value_name = "VAR")]
    pub automation_secret_env: Option<String>,
    /// The automation campaign_start starts [with --mock: the demo automation].
    #[arg(long, value_name = "UUID")]
    pub automation: Option<String>,
    /// The paying account, for spoki://account and the estimates [with --mock: the demo
    /// client account].
    #[arg(long, value_name = "ID")]
    pub account: Option<i64>,
    #[command(flatten)]
    pub pricing: Pricing,
}

pub async fn run(args: McpArgs, global: &Global) -> Result<()> {
    let target = global.connect().await?;
    let fixtures = target.fixtures.as_ref();
    let recipients = match &args.allow_recipients {
        None => Recipients::Any,
        Some(list) => {
            let text = match list.strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path).map_err(CliError::io(path))?,
                None => list.clone(),
            };
            Recipients::parse(&text)
                .map_err(|e| CliError::Usage(format!("--allow-recipients: {e}")))?
        }
    };
    let secret = match (&args.automation_secret_env, fixtures) {
        (Some(var), _) => Some(crate::config::env_value(var)?),
        (None, Some(f)) => Some(f.automation_secret.clone()),
        (None, None) => None,
    };
    let automation = args
        .automation
        .clone()
        .or_else(|| fixtures.map(|f| f.automation_uuid.clone()));
    let account = args.account.or(fixtures.map(|f| f.client_account_id));
    let config = Config::new(args.pricing.ledger()?)
        .read_only(args.read_only)
        .recipients(recipients)
        .automation(automation, secret.map(Secret::from))
        .account(account);
    let server = SpokiMcp::new(target.client.clone(), config);
    let served = match args.http {
        // Stdout is the protocol's: nothing else may be written to it.
        None => server.serve_stdio().await,
        Some(port) => {
            let listener = tokio::net::TcpListener::bind((args.bind, port))
                .await
                .map_err(CliError::io(format!("{}:{port}", args.bind)))?;
            let addr = listener
                .local_addr()
                .map_err(CliError::io("the listener"))?;
            eprintln!("spoki mcp: serving http://{addr}/mcp");
            server.serve_http(listener).await
        }
    };
    drop(target);
    served.map_err(|e| CliError::Usage(e.to_string()))
}
