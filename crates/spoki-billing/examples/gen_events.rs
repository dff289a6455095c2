//! Writes a synthetic JSONL event log (and optionally the matching rate card) for `replay`.
//!
//! `cargo run --release -p spoki-billing --example gen_events -- OUT.jsonl [--customers N]
//!  [--events N] [--days N] [--seed N] [--start RFC3339] [--rate-card RATE_CARD.json]`

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use clap::Parser;
use spoki_billing::Timestamp;
use spoki_billing::synthetic::{EventGenerator, SAMPLE_RATE_CARD};

/// Writes a reproducible synthetic event log, one event per line, in time order.
#[derive(Parser)]
struct Options {
    /// Where to write the log.
    out: PathBuf,
    /// Distinct customers.
    #[arg(long, default_value_t = 1_000_000)]
    customers: u64,
    /// Events to write.
    #[arg(long, default_value_t = 10_000_000)]
    events: u64,
    /// Days the events are spread over.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Seed of the generator: the same seed writes the same log.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Instant of the first event.
    #[arg(long, default_value = "2024-07-01T00:00:00Z")]
    start: Timestamp,
    /// Also write the rate card covering every generated number here.
    #[arg(long)]
    rate_card: Option<PathBuf>,
}

fn main() -> std::io::Result<()> {
    let options = Options::parse();
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
    eprintln!(
        "wrote {} events for up to {} customers over {} days to {}",
        options.events,
        options.customers,
        options.days,
        options.out.display()
    );
    Ok(())
}
