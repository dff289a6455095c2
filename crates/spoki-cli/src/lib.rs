//! The `spoki` command line: one subcommand per API operation (generated from the spec) and
//! the workflows operators run from a terminal: contact imports and campaigns that resume
//! where they stopped, webhook checks, the iframe URL, billing replays and a local demo.
//!
//! The binary is a thin `main` over [`run`]; everything is here so tests can reach it.

pub mod api;
pub mod config;
pub mod error;
pub mod journal;
pub mod output;
pub mod recipients;
pub mod target;
mod workflows;

use clap::{ArgMatches, Args, Command, FromArgMatches, Subcommand};
use error::{CliError, Result};
use output::Output;
use spoki_client::models::operation::Group;
use std::process::ExitCode;
use target::Global;
use workflows::{billing, campaign, config_cmd, demo, embed, import, mcp, mock, webhooks};

// Workflows that are commands of their own. (A doc comment here would become the help's
// first line.)
#[derive(Debug, Subcommand)]
enum Workflow {
    /// Manage the profiles of the config file.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Estimate a campaign's cost against the account's credit, then run it.
    #[command(subcommand)]
    Campaign(campaign::CampaignCommand),
    /// The embedded chat: exchange a service user's key for a token and build the iframe URL.
    #[command(subcommand)]
    Embed(embed::EmbedCommand),
    /// Replay billing events or estimate a send, offline.
    #[command(subcommand)]
    Billing(billing::BillingCommand),
    /// Run the local Spoki in the foreground.
    Mock(mock::MockArgs),
    /// Serve Spoki to AI agents as MCP tools (stdio, or Streamable HTTP with --http).
    Mcp(mcp::McpArgs),
    /// Tell the story of a campaign end to end against an embedded local Spoki.
    Demo,
    /// Print the shell completion script: `spoki completions bash > /etc/bash_completion.d/spoki`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

// Workflows beside the generated `contacts` commands.
#[derive(Debug, Subcommand)]
enum ContactsWorkflow {
    /// Import a CSV of contacts in chunks of 500, resuming where a stopped run left off.
    Import(import::ImportArgs),
}

// Workflows beside the generated `webhooks` commands.
#[derive(Debug, Subcommand)]
enum WebhooksWorkflow {
    /// Check a delivery's signature (exit 0 when valid, 1 otherwise).
    Verify(webhooks::VerifyArgs),
    /// Receive deliveries on 127.0.0.1, verify and print each, optionally forward them.
    Listen(webhooks::ListenArgs),
    /// Post a realistic, signed delivery of an event to a local endpoint.
    Trigger(webhooks::TriggerArgs),
}

/// The whole command tree.
pub fn command() -> Command {
    let root = Command::new("spoki")
        .version(env!("CARGO_PKG_VERSION"))
        .after_help(
            "Exit codes: 0 done, 1 a check failed, 2 wrong usage or input (nothing sent), \
             3 the call failed (nothing done), 4 outcome unknown (check before sending again), \
             130 stopped by Ctrl-C.",
        )
        .subcommand_required(true)
        .arg_required_else_help(true);
    let mut root = Workflow::augment_subcommands(Global::augment_args(root))
        .about("Spoki from the terminal: every API operation, imports, campaigns, webhooks.");
    for &group in api::groups() {
        let names: Vec<String> = api::commands_of(group).map(api::command_name).collect();
        let mut cmd = Command::new(api::run::kebab(group.as_str()))
            .about(group_about(group, &names))
            .subcommand_required(true)
            .subcommands(api::commands_of(group).map(api::run::command));
        cmd = match group {
            Group::Contacts => ContactsWorkflow::augment_subcommands(cmd),
            Group::Webhooks => WebhooksWorkflow::augment_subcommands(cmd),
            _ => cmd,
        };
        root = root.subcommand(cmd);
    }
    root
}

/// One line for a group in `--help`: its name and what it holds.
fn group_about(group: Group, names: &[String]) -> String {
    let mut title = group.as_str().replace('_', " ");
    title[..1].make_ascii_uppercase();
    let extra = match group {
        Group::Contacts => ", and import",
        Group::Webhooks => ", and verify, listen, trigger",
        _ => "",
    };
    match names {
        [one] => format!("{title}: {one}{extra}"),
        [a, b] => format!("{title}: {a}, {b}{extra}"),
        [a, b, c] => format!("{title}: {a}, {b}, {c}{extra}"),
        [a, b, ..] => format!("{title}: {a}, {b} and {} more{extra}", names.len() - 2),
        [] => title,
    }
}

/// Runs the command line `args` (the program name first) and returns the exit code.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = match command().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                error::exit::USAGE
            } else {
                0
            });
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    match runtime.block_on(dispatch(&matches)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("spoki: {e}");
            if let Some(hint) = e.hint() {
                eprintln!("hint: {hint}");
            }
            e.exit_code()
        }
    }
}

async fn dispatch(matches: &ArgMatches) -> Result<ExitCode> {
    let mut global = Global::from_arg_matches(matches).map_err(usage)?;
    global.api_key_source = match matches.value_source("api_key") {
        Some(clap::parser::ValueSource::CommandLine) => target::KeySource::CommandLine,
        Some(_) => target::KeySource::Environment,
        None => target::KeySource::None,
    };
    let out = Output {
        format: match (global.output, global.json) {
            (Some(format), _) => format,
            (None, true) => output::Format::Json,
            (None, false) => output::Format::Table,
        },
        reveal_secrets: global.reveal_secrets,
    };
    let (name, sub) = matches.subcommand().expect("a subcommand is required");
    if Workflow::has_subcommand(name) {
        let ok = ExitCode::SUCCESS;
        return match Workflow::from_arg_matches(matches).map_err(usage)? {
            Workflow::Config(c) => config_cmd::run(c, &global, out).map(|()| ok),
            Workflow::Campaign(c) => campaign::run(c, &global, out).await.map(|()| ok),
            Workflow::Embed(c) => embed::run(c, &global, out).await.map(|()| ok),
            Workflow::Billing(c) => billing::run(c, out).map(|()| ok),
            Workflow::Mock(args) => mock::run(args).await.map(|()| ok),
            Workflow::Mcp(args) => mcp::run(args, &global).await.map(|()| ok),
            Workflow::Demo => demo::run(&global, out).await.map(|()| ok),
            Workflow::Completions { shell } => completions(shell).map(|()| ok),
        };
    }
    let (op_name, op_matches) = sub.subcommand().expect("a subcommand is required");
    if name == "contacts" && ContactsWorkflow::has_subcommand(op_name) {
        let ContactsWorkflow::Import(args) =
            ContactsWorkflow::from_arg_matches(sub).map_err(usage)?;
        return import::run(args, &global, out)
            .await
            .map(|()| ExitCode::SUCCESS);
    }
    if name == "webhooks" && WebhooksWorkflow::has_subcommand(op_name) {
        return match WebhooksWorkflow::from_arg_matches(sub).map_err(usage)? {
            WebhooksWorkflow::Verify(args) => webhooks::verify(args, out),
            WebhooksWorkflow::Listen(args) => webhooks::listen(args, &global, out)
                .await
                .map(|()| ExitCode::SUCCESS),
            WebhooksWorkflow::Trigger(args) => webhooks::trigger(args, out).await,
        };
    }
    let op = api::find(name, op_name).expect("every subcommand comes from the table");
    let target = global.connect().await?;
    api::run::run(op, op_matches, &target.client, out).await?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the completion script; a reader that stops early (`| head`) is not an error.
fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), "spoki", &mut script);
    match std::io::Write::write_all(&mut std::io::stdout(), &script) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::io("stdout")(e)),
        _ => Ok(()),
    }
}

fn usage(e: clap::Error) -> CliError {
    CliError::Usage(e.to_string())
}
