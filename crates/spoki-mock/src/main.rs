//! `spoki-mock`: the local Spoki in the foreground. Prints the URL it serves on its first line.

use clap::Parser;
use spoki_mock::{MockSpoki, RateLimits};
use std::path::PathBuf;
use std::process::ExitCode;

/// A stateful local Spoki API on 127.0.0.1, for development and tests.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Keep state in this file across restarts (loaded at start, saved after every change).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Do not enforce Spoki's rate limits.
    #[arg(long)]
    no_rate_limits: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut builder = MockSpoki::builder().port(args.port);
    if let Some(state) = args.state {
        builder = builder.state_file(state);
    }
    if args.no_rate_limits {
        builder = builder.rate_limits(RateLimits::off());
    }
    let mock = match builder.start().await {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("spoki-mock: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", mock.url());
    eprintln!(
        "spoki-mock: demo credentials at {}/__mock/fixtures; Ctrl-C stops",
        mock.url()
    );
    let _ = tokio::signal::ctrl_c().await;
    match mock.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spoki-mock: cannot save state: {e}");
            ExitCode::FAILURE
        }
    }
}
