//! `spoki-mock`: the local Spoki in the foreground. Prints the URL it serves on its first line.

use clap::Parser;
use spoki_mock::{MockSpoki, RateLimits};
use spoki_models::RateClass;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
    /// Replace a rate class's quota, as CLASS=REQUESTS/SECONDS (`default=20/1`); repeatable.
    #[arg(long, value_parser = parse_quota)]
    quota: Vec<(RateClass, u32, Duration)>,
}

/// A `--quota` that does not read.
#[derive(Debug, thiserror::Error)]
enum QuotaError {
    #[error("expected CLASS=REQUESTS/SECONDS, such as default=20/1")]
    Shape,
    #[error("no rate class is called {0:?}")]
    Class(String),
}

fn parse_quota(text: &str) -> Result<(RateClass, u32, Duration), QuotaError> {
    let (class, rate) = text.split_once('=').ok_or(QuotaError::Shape)?;
    let (requests, seconds) = rate.split_once('/').ok_or(QuotaError::Shape)?;
    let class = RateClass::ALL
        .into_iter()
        .find(|c| c.as_str() == class)
        .ok_or_else(|| QuotaError::Class(class.to_owned()))?;
    let requests: u32 = requests.parse().map_err(|_| QuotaError::Shape)?;
    let seconds: f64 = seconds.parse().map_err(|_| QuotaError::Shape)?;
    if requests == 0 || !(seconds > 0.0 && seconds.is_finite()) {
        return Err(QuotaError::Shape);
    }
    Ok((class, requests, Duration::from_secs_f64(seconds)))
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
    } else if !args.quota.is_empty() {
        let limits = args.quota.into_iter().fold(
            RateLimits::default(),
            |limits, (class, requests, period)| limits.quota(class, requests, period),
        );
        builder = builder.rate_limits(limits);
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
