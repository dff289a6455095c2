//! Replays a JSONL event log through the billing model and summarises the bill.
//!
//! `cargo run --release -p spoki-billing --example replay -- EVENTS.jsonl RATE_CARD.json
//!  [--model conversation_2024|per_message_2025] [--sort] [--parsers N]`
//!
//! Each line of EVENTS.jsonl is one event in the vectors' shape, parsed on every core while the
//! ledger applies them in file order (see `spoki_billing::jsonl`). Each customer's events must be
//! in time order; `--sort` loads the log whole and sorts it (equal instants keep file order).
//! The last line printed is JSON for scripts:
//! `{"events":…,"conversations":…,"rejected":…,"total_cost":"…","events_per_second":…}`.

use std::fs::File;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use spoki_billing::{Ledger, PricingModel, RateCard, jsonl};

/// Bills a JSONL event log and prints the totals.
#[derive(Parser)]
struct Options {
    /// The event log, one JSON event per line.
    events: PathBuf,
    /// The rate card, as JSON.
    rate_card: PathBuf,
    /// The pricing model.
    #[arg(long, default_value = "conversation_2024")]
    model: PricingModel,
    /// Load the whole log and sort it by time first.
    #[arg(long)]
    sort: bool,
    /// Threads that parse [default: one per core].
    #[arg(long)]
    parsers: Option<NonZeroUsize>,
}

/// Peak resident memory of this process in KiB (Linux only).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn replay(options: &Options) -> Result<Ledger, String> {
    let card_json = std::fs::read_to_string(&options.rate_card)
        .map_err(|e| format!("{}: {e}", options.rate_card.display()))?;
    let card = RateCard::from_json(&card_json)
        .map_err(|e| format!("{}: {e}", options.rate_card.display()))?;
    let log = options.events.display();
    let file = File::open(&options.events).map_err(|e| format!("{log}: {e}"))?;
    let parsers = options.parsers.unwrap_or_else(jsonl::default_parsers);
    let mut ledger = Ledger::new(options.model, card);
    if options.sort {
        let mut events = jsonl::read(file, parsers).map_err(|e| format!("{log}: {e}"))?;
        events.sort_by_key(|e| e.at); // stable: equal instants keep file order
        ledger
            .apply_batch(&events, |_, _| {})
            .map_err(|e| format!("{log}: {e}"))?;
    } else {
        jsonl::replay(&mut ledger, file, parsers)
            .map_err(|e| format!("{log}: {e} (pass --sort for unsorted logs)"))?;
    }
    Ok(ledger)
}

fn main() -> ExitCode {
    let options = Options::parse();
    let started = Instant::now();
    let ledger = match replay(&options) {
        Ok(ledger) => ledger,
        Err(problem) => {
            eprintln!("replay: {problem}");
            return ExitCode::FAILURE;
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let totals = ledger.totals();
    let events_per_second = (totals.events as f64 / seconds.max(1e-9)).round() as u64;
    println!("model               {}", ledger.model());
    println!("events              {}", totals.events);
    println!("customers           {}", ledger.customer_count());
    println!(
        "conversations       {} ({} paid)",
        totals.conversations, totals.paid_conversations
    );
    println!("charged messages    {}", totals.charged_messages);
    println!("rejected free-form  {}", totals.rejected);
    println!("total cost          {}", totals.total_cost);
    println!(
        "customer state      {:.1} MiB",
        ledger.state_bytes() as f64 / (1024.0 * 1024.0)
    );
    if let Some(kib) = peak_rss_kib() {
        println!("peak memory (RSS)   {:.1} MiB", kib as f64 / 1024.0);
    }
    println!("elapsed             {seconds:.2} s ({events_per_second} events/s, parsing included)");
    // Written by hand to keep the documented key order.
    println!(
        r#"{{"events":{},"conversations":{},"rejected":{},"total_cost":"{}","events_per_second":{events_per_second}}}"#,
        totals.events,
        totals.conversations,
        totals.rejected,
        totals.total_cost.amount()
    );
    ExitCode::SUCCESS
}
