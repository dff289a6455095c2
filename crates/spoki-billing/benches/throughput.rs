//! Throughput of the billing model, in memory and replaying a JSONL log, and what saving and
//! restoring a ledger costs (not a test: run it in release when you want figures).
//!
//! `cargo bench -p spoki-billing --bench throughput`
//!
//! Sizes come from `SPOKI_BENCH_CUSTOMERS` (default 1,000,000) and `SPOKI_BENCH_EVENTS`
//! (default 10,000,000). The replay part writes the log to a temporary file and deletes it.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::{Duration, Instant};

use spoki_billing::synthetic::{EventGenerator, sample_rate_card};
use spoki_billing::{
    BillingEffect, CustomerId, Event, Ledger, Message, PricingModel, Timestamp, jsonl,
};

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

/// Runs of each in-memory measurement; the median is reported (a shared machine is noisy).
const RUNS: usize = 5;

/// The median of [`RUNS`] runs of `run`, each returning the time it measured itself (so that
/// setting up its ledger stays off the clock), in seconds.
fn median_seconds(mut run: impl FnMut() -> Duration) -> f64 {
    let mut seconds: Vec<f64> = (0..RUNS).map(|_| run().as_secs_f64()).collect();
    median(&mut seconds)
}

fn median(seconds: &mut [f64]) -> f64 {
    seconds.sort_by(f64::total_cmp);
    seconds[seconds.len() / 2]
}

/// An event line with every field borrowed as text: what parsing costs before any checking.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct BareEvent<'a> {
    at: &'a str,
    direction: &'a str,
    customer: &'a str,
    kind: &'a str,
    category: Option<&'a str>,
    entry_point: Option<&'a str>,
}

/// Consumes every effect, as a caller would, so that none is optimised away.
#[derive(Default)]
struct Sink {
    effects: u64,
}

impl Sink {
    fn take(&mut self, effect: &BillingEffect) {
        self.effects += u64::from(!effect.is_rejected());
    }
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
        let fresh = || Ledger::with_capacity(model, card.clone(), customers as usize);
        let mut sink = Sink::default();
        // Events carrying phone numbers: one hash lookup per event, customers added as met.
        let mut by_number = fresh();
        // (Each run starts from an empty ledger made before its clock starts.)
        let batched_by_number = median_seconds(|| {
            by_number = fresh();
            let started = Instant::now();
            by_number
                .apply_batch(&events, |_, effect| sink.take(&effect))
                .expect("synthetic events are billable");
            started.elapsed()
        });
        let one_by_one_by_number = median_seconds(|| {
            let mut ledger = fresh();
            let started = Instant::now();
            for event in &events {
                sink.take(&ledger.apply(event).expect("synthetic events are billable"));
            }
            let elapsed = started.elapsed();
            assert_eq!(ledger.totals(), by_number.totals());
            elapsed
        });

        // Customers interned up front, before the clock starts: a dense index per event. (A
        // clone would refuse the ids, so each run interns into its own ledger.)
        let interned = || {
            let mut ledger = fresh();
            let ids: Vec<(CustomerId, Timestamp, Message)> = events
                .iter()
                .map(|e| {
                    (
                        ledger.intern(e.customer).expect("billable"),
                        e.at,
                        e.message,
                    )
                })
                .collect();
            (ledger, ids)
        };
        let mut by_id = fresh();
        let batched_by_id = median_seconds(|| {
            let (mut ledger, ids) = interned();
            let started = Instant::now();
            ledger
                .apply_batch_to(&ids, |_, effect| sink.take(&effect))
                .expect("in order");
            let elapsed = started.elapsed();
            by_id = ledger;
            elapsed
        });
        let one_by_one_by_id = median_seconds(|| {
            let (mut ledger, ids) = interned();
            let started = Instant::now();
            for &(id, at, message) in &ids {
                sink.take(&ledger.apply_to(id, at, message).expect("in order"));
            }
            started.elapsed()
        });
        assert_eq!(by_number.totals(), by_id.totals());
        let totals = by_id.totals();
        println!(
            "{model:<18} in memory by phone number: {} batched, {} one by one",
            rate(events.len(), batched_by_number),
            rate(events.len(), one_by_one_by_number),
        );
        println!(
            "{model:<18} in memory by interned id:  {} batched, {} one by one",
            rate(events.len(), batched_by_id),
            rate(events.len(), one_by_one_by_id),
        );
        println!(
            "{model:<18} state {:.0} MiB for {} customers; {} conversations, {} charged messages, \
             {} rejected, total {} ({} effects seen)",
            by_id.state_bytes() as f64 / (1024.0 * 1024.0),
            by_id.customer_count(),
            totals.conversations,
            totals.charged_messages,
            totals.rejected,
            totals.total_cost,
            sink.effects,
        );

        // Saving and restoring it: what a restart costs.
        let started = Instant::now();
        let mut saved = Vec::with_capacity(by_id.customer_count() * 72 + 4096);
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
    // The floor to beat: serde_json borrowing each line (read into one reused buffer) into
    // string fields, on one thread. Runs alternate with the replays, medians are compared.
    let bare_parse = || {
        let started = Instant::now();
        let mut reader = BufReader::with_capacity(1 << 20, File::open(&path).expect("temp file"));
        let mut line = Vec::with_capacity(256);
        let mut lines = 0;
        while reader.read_until(b'\n', &mut line).expect("read temp file") > 0 {
            let bare: BareEvent<'_> = serde_json::from_slice(&line).expect("valid line");
            std::hint::black_box(&bare);
            line.clear();
            lines += 1;
        }
        assert_eq!(lines, event_count);
        started.elapsed().as_secs_f64()
    };
    let parsers = jsonl::default_parsers();
    let replay = |model| {
        let mut ledger = Ledger::with_capacity(model, card.clone(), customers as usize);
        let started = Instant::now();
        let file = File::open(&path).expect("temp file");
        let count = jsonl::replay(&mut ledger, file, parsers).expect("valid log");
        assert_eq!(count, event_count);
        (started.elapsed().as_secs_f64(), ledger.totals().total_cost)
    };
    let mut bare_runs = Vec::new();
    let mut replay_runs = [Vec::new(), Vec::new()];
    let mut totals = [None, None];
    for _ in 0..RUNS {
        bare_runs.push(bare_parse());
        for (i, model) in [PricingModel::Conversation2024, PricingModel::PerMessage2025]
            .into_iter()
            .enumerate()
        {
            let (seconds, total) = replay(model);
            replay_runs[i].push(seconds);
            totals[i] = Some(total);
        }
    }
    let bare_seconds = median(&mut bare_runs);
    println!(
        "bare serde_json borrow-parse, one thread: {} ({:.0} MiB/s)",
        rate(event_count as usize, bare_seconds),
        bytes as f64 / bare_seconds / (1024.0 * 1024.0),
    );
    for (i, model) in [PricingModel::Conversation2024, PricingModel::PerMessage2025]
        .into_iter()
        .enumerate()
    {
        let seconds = median(&mut replay_runs[i]);
        println!(
            "{model:<18} JSONL replay ({parsers} parsers): {} ({:.0} MiB/s), {:.2}x the bare parse; total {}",
            rate(event_count as usize, seconds),
            bytes as f64 / seconds / (1024.0 * 1024.0),
            bare_seconds / seconds,
            totals[i].expect("replayed"),
        );
    }
    let _ = std::fs::remove_file(&path);
    println!(
        "peak memory (VmHWM) of this benchmark process: {:.0} MiB",
        peak_rss_mib()
    );
}
