//! The floor a log replay is measured against: a bare `serde_json` borrow-parse of every line
//! of an event log, one thread, nothing checked or billed. Timed as a whole process beside the
//! `replay` example by `scripts/replay-vs-parse.sh`.
//!
//! Run: `cargo run --release -p spoki-billing --example bare_parse -- events.jsonl`.

use std::fs::File;
use std::io::{BufRead, BufReader};

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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: bare_parse EVENTS.jsonl")?;
    let mut reader = BufReader::with_capacity(1 << 20, File::open(&path)?);
    let mut line = Vec::with_capacity(256);
    let mut events = 0u64;
    while reader.read_until(b'\n', &mut line)? > 0 {
        let event: BareEvent<'_> = serde_json::from_slice(&line)?;
        std::hint::black_box(&event);
        line.clear();
        events += 1;
    }
    println!("{{\"events\":{events}}}");
    Ok(())
}
