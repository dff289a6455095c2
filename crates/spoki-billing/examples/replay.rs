//! Replays a JSONL event log through the billing model and summarises the bill.
//!
//! Usage: `cargo run --release -p spoki-billing --example replay -- EVENTS.jsonl RATE_CARD.json
//!          [--model conversation_2024|per_message_2025] [--sort]`
//!
//! Each line of EVENTS.jsonl is one event in the vectors' shape. The log is streamed, so it must
//! be in time order; `--sort` loads it whole and sorts it (equal instants keep file order).
//! The last line printed is JSON for scripts:
//! `{"events":…,"conversations":…,"rejected":…,"total_cost":"…","events_per_second":…}`.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::ExitCode;
use std::time::Instant;

use spoki_billing::{Event, Ledger, PricingModel, RateCard};

struct Options {
    events: String,
    rate_card: String,
    model: PricingModel,
    sort: bool,
}

fn parse_options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut paths = Vec::new();
    let mut model = PricingModel::Conversation2024;
    let mut sort = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--model" => {
                let name = args.next().ok_or("--model needs a value")?;
                model = name.parse().map_err(|e| format!("{e}"))?;
            }
            "--sort" => sort = true,
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            path => paths.push(path.to_owned()),
        }
    }
    let [events, rate_card] =
        <[String; 2]>::try_from(paths).map_err(|_| "expected EVENTS.jsonl and RATE_CARD.json")?;
    Ok(Options {
        events,
        rate_card,
        model,
        sort,
    })
}

/// Peak resident memory of this process in KiB (Linux only).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn replay(options: &Options) -> Result<Ledger, String> {
    let card_json = std::fs::read_to_string(&options.rate_card)
        .map_err(|e| format!("{}: {e}", options.rate_card))?;
    let card =
        RateCard::from_json(&card_json).map_err(|e| format!("{}: {e}", options.rate_card))?;
    let file = File::open(&options.events).map_err(|e| format!("{}: {e}", options.events))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut ledger = Ledger::new(options.model, card);
    let mut line = String::with_capacity(256);
    let mut line_number = 0_u64;
    let mut pending = Vec::new();
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|e| format!("{}: {e}", options.events))?;
        if read == 0 {
            break;
        }
        line_number += 1;
        let text = line.trim_end();
        if text.is_empty() {
            continue;
        }
        let event =
            Event::from_json(text).map_err(|e| format!("{}:{line_number}: {e}", options.events))?;
        if options.sort {
            pending.push(event);
        } else {
            ledger.apply(&event).map_err(|e| {
                format!(
                    "{}:{line_number}: {e} (pass --sort for unsorted logs)",
                    options.events
                )
            })?;
        }
    }
    pending.sort_by_key(|e| e.at); // stable: equal instants keep file order
    for event in &pending {
        ledger
            .apply(event)
            .map_err(|e| format!("{}: {e}", options.events))?;
    }
    Ok(ledger)
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("{problem}");
            eprintln!(
                "usage: replay EVENTS.jsonl RATE_CARD.json [--model conversation_2024|per_message_2025] [--sort]"
            );
            return ExitCode::from(2);
        }
    };
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
