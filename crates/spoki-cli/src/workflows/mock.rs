//! `spoki mock`: the local Spoki in the foreground.

use crate::error::{CliError, Result};
use clap::Args;
use spoki_mock::{MockSpoki, RateLimits};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct MockArgs {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Keep state in this file across restarts.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Do not enforce Spoki's rate limits.
    #[arg(long)]
    pub no_rate_limits: bool,
}

pub async fn run(args: MockArgs) -> Result<()> {
    let mut builder = MockSpoki::builder().port(args.port);
    if let Some(state) = args.state {
        builder = builder.state_file(state);
    }
    if args.no_rate_limits {
        builder = builder.rate_limits(RateLimits::off());
    }
    let mock = builder
        .start()
        .await
        .map_err(|e| CliError::Failed(format!("cannot start the local Spoki: {e}")))?;
    let f = mock.fixtures();
    // The URL alone on the first line, for scripts.
    println!("{}", mock.url());
    eprintln!(
        "local Spoki ready: agency {} and client account {}; credentials at {}/__mock/fixtures. \
         Ctrl-C stops.",
        f.agency_id,
        f.client_account_id,
        mock.url()
    );
    let _ = tokio::signal::ctrl_c().await;
    mock.shutdown()
        .await
        .map_err(|e| CliError::Failed(format!("cannot save the state: {e}")))
}
