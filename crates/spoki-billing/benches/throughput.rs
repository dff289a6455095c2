//! Throughput of the billing model, in memory and replaying a JSONL log, and what saving and
//! restoring a ledger costs (not a test: run it in release when you want figures).
//!
//! `cargo bench -p spoki-billing --bench throughput`
//!
//! Sizes come from `SPOKI_BENCH_CUSTOMERS` (default 1,000,000) and `SPOKI_BENCH_EVENTS`
//! (default 10,000,000). The replay part writes the log to a temporary file and deletes it.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::Instant;

use spoki_billing::synthetic::{EventGenerator, sample_rate_card};
use spoki_billing::{CustomerId, Event, Ledger, Message, PricingModel, Timestamp};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn rate(events: usize, seconds: f64) -> String {
    format!("{:.1} M events/s", events as f64 / seconds / 1e6)
}

fn main() {
    let customers = env_or("SPOKI_BENCH_CUSTOMERS", 1_000_000);
    let event_count = env_or("SPOKI_BENCH_EVENTS", 10_000_000);
    let start = Timestamp::parse("2024-07-01T00:00:00Z").expect("valid start");
    let card = sample_rate_card();
    println!("{customers} customers, {event_count} events over 30 days");

    let started = Instant::now();
    let events: Vec<Event> = EventGenerator::new(1, customers, event_count, start, 30).collect();
    println!("generated in {:.2} s", started.elapsed().as_secs_f64());

    for model in [PricingModel::Conversation2024, PricingModel::PerMessage2025] {
        // Events carrying phone numbers: one hash lookup per event.
        let mut by_number = Ledger::with_capacity(model, card.clone(), customers as usize);
        let started = Instant::now();
        for event in &events {
            by_number
                .apply(event)
                .expect("synthetic events are billable");
        }
        let by_number_seconds = started.elapsed().as_secs_f64();

        // Customers interned up front: a dense array index per event.
        let mut by_id = Ledger::with_capacity(model, card.clone(), customers as usize);
        let interned: Vec<(CustomerId, Timestamp, Message)> = events
            .iter()
            .map(|e| (by_id.intern(e.customer).expect("billable"), e.at, e.message))
            .collect();
        let started = Instant::now();
        for &(id, at, message) in &interned {
            by_id.apply_to(id, at, message).expect("in order");
        }
        let by_id_seconds = started.elapsed().as_secs_f64();
        assert_eq!(by_number.totals(), by_id.totals());
        let totals = by_id.totals();
        println!(
            "{model:<18} in memory: {} by phone number, {} by interned id; state {:.0} MiB for {} customers; \
             {} conversations, {} charged messages, {} rejected, total {}",
            rate(events.len(), by_number_seconds),
            rate(events.len(), by_id_seconds),
            by_id.state_bytes() as f64 / (1024.0 * 1024.0),
            by_id.customer_count(),
            totals.conversations,
            totals.charged_messages,
            totals.rejected,
            totals.total_cost,
        );

        // Saving and restoring it: what a restart costs.
        let started = Instant::now();
        let mut saved = Vec::with_capacity(by_id.customer_count() * 64 + 4096);
        by_id.save(&mut saved).expect("saving to memory");
        let save_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let restored = Ledger::restore(&mut &saved[..]).expect("restoring");
        let restore_seconds = started.elapsed().as_secs_f64();
        assert_eq!(restored.totals(), by_id.totals());
        println!(
            "{model:<18} save: {:.1} MiB for {} customers in {:.3} s; restore in {:.3} s",
            saved.len() as f64 / (1024.0 * 1024.0),
            restored.customer_count(),
            save_seconds,
            restore_seconds
        );
    }

    let path =
        std::env::temp_dir().join(format!("spoki-billing-bench-{}.jsonl", std::process::id()));
    {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&path).expect("temp file"));
        let mut line = String::with_capacity(160);
        for event in &events {
            line.clear();
            event.write_json(&mut line);
            line.push('\n');
            out.write_all(line.as_bytes()).expect("write temp file");
        }
        out.flush().expect("flush temp file");
    }
    drop(events);
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    for model in [PricingModel::Conversation2024, PricingModel::PerMessage2025] {
        let mut ledger = Ledger::with_capacity(model, card.clone(), customers as usize);
        let mut reader = BufReader::with_capacity(1 << 20, File::open(&path).expect("temp file"));
        let mut line = String::with_capacity(256);
        let started = Instant::now();
        let mut count = 0;
        while reader.read_line(&mut line).expect("read temp file") > 0 {
            let event = Event::from_json(line.trim_end()).expect("valid line");
            ledger.apply(&event).expect("in order");
            line.clear();
            count += 1;
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{model:<18} JSONL replay: {} ({:.0} MiB/s), total {}",
            rate(count, seconds),
            bytes as f64 / seconds / (1024.0 * 1024.0),
            ledger.totals().total_cost
        );
    }
    let _ = std::fs::remove_file(&path);
    println!(
        "peak memory (VmHWM) of this benchmark process: {:.0} MiB",
        peak_rss_mib()
    );
}
