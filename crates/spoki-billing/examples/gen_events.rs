//! Writes a synthetic JSONL event log (and optionally the matching rate card) for `replay`.
//!
//! Usage:
//! `cargo run --release -p spoki-billing --example gen_events -- OUT.jsonl
//!      [--customers 1000000] [--events 10000000] [--days 30] [--seed 1]
//!      [--start 2024-07-01T00:00:00Z] [--rate-card RATE_CARD.json]`

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use spoki_billing::Timestamp;
use spoki_billing::synthetic::{EventGenerator, SAMPLE_RATE_CARD};

struct Options {
    out: String,
    customers: u64,
    events: u64,
    days: u32,
    seed: u64,
    start: Timestamp,
    rate_card: Option<String>,
}

fn parse_options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        out: String::new(),
        customers: 1_000_000,
        events: 10_000_000,
        days: 30,
        seed: 1,
        start: Timestamp::parse("2024-07-01T00:00:00Z").map_err(|e| e.to_string())?,
        rate_card: None,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--customers" => {
                options.customers = value("--customers")?
                    .parse()
                    .map_err(|e| format!("--customers: {e}"))?
            }
            "--events" => {
                options.events = value("--events")?
                    .parse()
                    .map_err(|e| format!("--events: {e}"))?
            }
            "--days" => {
                options.days = value("--days")?
                    .parse()
                    .map_err(|e| format!("--days: {e}"))?
            }
            "--seed" => {
                options.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "--start" => {
                options.start = value("--start")?
                    .parse()
                    .map_err(|e| format!("--start: {e}"))?
            }
            "--rate-card" => options.rate_card = Some(value("--rate-card")?),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            path if options.out.is_empty() => options.out = path.to_owned(),
            extra => return Err(format!("unexpected argument {extra}")),
        }
    }
    if options.out.is_empty() {
        return Err("missing output path".into());
    }
    Ok(options)
}

fn run(options: &Options) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&options.out)?);
    let mut line = String::with_capacity(160);
    let generator = EventGenerator::new(
        options.seed,
        options.customers,
        options.events,
        options.start,
        options.days,
    );
    for event in generator {
        line.clear();
        event.write_json(&mut line);
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    out.flush()?;
    if let Some(path) = &options.rate_card {
        std::fs::write(path, SAMPLE_RATE_CARD)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("{problem}");
            eprintln!(
                "usage: gen_events OUT.jsonl [--customers N] [--events N] [--days N] [--seed N] [--start RFC3339] [--rate-card PATH]"
            );
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => {
            eprintln!(
                "wrote {} events for up to {} customers over {} days to {}",
                options.events, options.customers, options.days, options.out
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen_events: {e}");
            ExitCode::FAILURE
        }
    }
}
