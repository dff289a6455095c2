//! Event logs in JSON lines (one [`Event::from_json`] object per line), parsed on several
//! threads and delivered in file order.
//!
//! Parsing costs about ten times what applying does, so a replay on one thread waits on the
//! parser. Here one thread cuts the input into blocks at line ends, `parsers` threads parse
//! blocks in turn, and the caller's thread applies each block's events as soon as the blocks
//! before it are applied. The order of the file is kept exactly.

use std::io::{self, Read};
use std::num::NonZeroUsize;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use crate::event::{Event, EventError};
use crate::ledger::{BillingError, Ledger};

/// Bytes read per block; a block then ends at its last complete line. Tests use blocks shorter
/// than a line, so that every line crosses a block's end.
const BLOCK_BYTES: usize = if cfg!(test) { 64 } else { 1 << 20 };
/// Blocks queued per parser, each way: enough to keep every thread busy, and memory bounded.
const QUEUE: usize = 2;

/// Why a log could not be read or replayed. Events before the line named stay applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The input could not be read.
    #[error("reading the log: {0}")]
    Io(#[from] io::Error),
    /// A line is not a valid event (or not UTF-8).
    #[error("line {line}: {error}")]
    Event {
        /// Its number, from 1.
        line: u64,
        /// Why.
        #[source]
        error: EventError,
    },
    /// The ledger refused a line's event (for instance, earlier than its customer's last).
    #[error("line {line}: {error}")]
    Billing {
        /// Its number, from 1.
        line: u64,
        /// Why.
        #[source]
        error: BillingError,
    },
}

/// The parsers to use: one per core the machine offers.
pub fn default_parsers() -> NonZeroUsize {
    thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

/// Applies every event of `input` to `ledger`, in file order, parsing on `parsers` threads.
/// Blank lines are skipped. Returns how many events were applied; stops at the first line that
/// is not an event or whose event the ledger refuses.
pub fn replay(
    ledger: &mut Ledger,
    input: impl Read + Send,
    parsers: NonZeroUsize,
) -> Result<u64, LogError> {
    let mut applied = 0;
    for_each_block(input, parsers, |block, first_line| {
        ledger
            .apply_batch(&block.events, |_, _| {})
            .map_err(|refused| LogError::Billing {
                line: first_line + block.lines[refused.index],
                error: refused.error,
            })?;
        applied += block.events.len() as u64;
        Ok(())
    })?;
    Ok(applied)
}

/// Every event of `input`, in file order, parsed on `parsers` threads; blank lines skipped.
pub fn read(input: impl Read + Send, parsers: NonZeroUsize) -> Result<Vec<Event>, LogError> {
    let mut events = Vec::new();
    for_each_block(input, parsers, |block, _| {
        events.extend_from_slice(&block.events);
        Ok(())
    })?;
    Ok(events)
}

/// One block's events, with the line (from 0 within the block) each came from.
struct Parsed {
    events: Vec<Event>,
    lines: Vec<u64>,
    line_count: u64,
    /// The first bad line (within the block) and why; the events before it are kept.
    error: Option<(u64, EventError)>,
}

/// Runs the pipeline, handing each block to `apply` in file order with its first line number.
fn for_each_block(
    input: impl Read + Send,
    parsers: NonZeroUsize,
    mut apply: impl FnMut(&Parsed, u64) -> Result<(), LogError>,
) -> Result<(), LogError> {
    thread::scope(|scope| {
        let mut to_parsers = Vec::with_capacity(parsers.get());
        let mut from_parsers: Vec<Receiver<Parsed>> = Vec::with_capacity(parsers.get());
        for _ in 0..parsers.get() {
            let (block_out, block_in) = sync_channel::<Vec<u8>>(QUEUE);
            let (parsed_out, parsed_in) = sync_channel(QUEUE);
            scope.spawn(move || {
                for block in block_in {
                    // A closed channel means the caller stopped: so does this parser.
                    if parsed_out.send(parse(&block)).is_err() {
                        break;
                    }
                }
            });
            to_parsers.push(block_out);
            from_parsers.push(parsed_in);
        }
        let reader = scope.spawn(move || cut_blocks(input, &to_parsers));

        // Blocks went to the parsers in turn, so taking them back in turn keeps file order; the
        // first parser with nothing more to give marks the end.
        let mut line = 1;
        for turn in (0..parsers.get()).cycle() {
            let Ok(block) = from_parsers[turn].recv() else {
                break;
            };
            apply(&block, line)?;
            if let Some((at, error)) = block.error {
                return Err(LogError::Event {
                    line: line + at,
                    error,
                });
            }
            line += block.line_count;
        }
        reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok(())
    })
}

/// Reads `input` into blocks that end at a line's end and deals them to the parsers in turn.
fn cut_blocks(mut input: impl Read, parsers: &[SyncSender<Vec<u8>>]) -> io::Result<()> {
    let mut carry = Vec::new();
    let mut turn = 0;
    loop {
        let mut block = std::mem::take(&mut carry);
        let end = fill(&mut input, &mut block)?;
        if !end {
            match memchr::memrchr(b'\n', &block) {
                Some(last) => carry = block.split_off(last + 1),
                // One line longer than a block: it is carried whole into the next read.
                None => {
                    carry = block;
                    continue;
                }
            }
        }
        if !block.is_empty() {
            if parsers[turn].send(block).is_err() {
                return Ok(()); // the caller stopped
            }
            turn = (turn + 1) % parsers.len();
        }
        if end {
            return Ok(());
        }
    }
}

/// Reads once, up to [`BLOCK_BYTES`] more, into `block`; `true` at the end of the input. One
/// read rather than a full block: from a pipe, lines move on as soon as they arrive.
fn fill(input: &mut impl Read, block: &mut Vec<u8>) -> io::Result<bool> {
    let start = block.len();
    block.resize(start + BLOCK_BYTES, 0);
    let read = loop {
        match input.read(&mut block[start..]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => break other,
        }
    };
    block.truncate(start + *read.as_ref().unwrap_or(&0));
    Ok(read? == 0)
}

fn parse(block: &[u8]) -> Parsed {
    let mut parsed = Parsed {
        // Events in the vectors' shape take about 150 bytes a line.
        events: Vec::with_capacity(block.len() / 128),
        lines: Vec::with_capacity(block.len() / 128),
        line_count: 0,
        error: None,
    };
    let mut pieces = 0;
    let mut start = 0;
    // memchr finds line ends a word at a time, several times faster than a byte loop.
    let ends = memchr::memchr_iter(b'\n', block).chain(std::iter::once(block.len()));
    for (index, end) in ends.enumerate() {
        let index = index as u64;
        pieces = index + 1;
        let raw = block[start..end].trim_ascii();
        start = end + 1;
        if raw.is_empty() {
            continue;
        }
        match Event::from_json_bytes(raw) {
            Ok(event) => {
                parsed.events.push(event);
                parsed.lines.push(index);
            }
            Err(error) => {
                parsed.error = Some((index, error));
                break;
            }
        }
    }
    // After a final newline, `split` yields one more, empty, piece: not a line.
    parsed.line_count = pieces - u64::from(block.last() == Some(&b'\n'));
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::PricingModel;
    use crate::synthetic::{EventGenerator, sample_rate_card};
    use crate::time::Timestamp;

    fn events() -> Vec<Event> {
        let start = Timestamp::parse("2024-07-01T00:00:00Z").unwrap();
        EventGenerator::new(5, 40, 400, start, 2).collect()
    }

    /// The events as a log, with blank lines, CRLF endings and no final newline.
    fn log(events: &[Event]) -> Vec<u8> {
        let mut text = String::new();
        for (i, event) in events.iter().enumerate() {
            if i % 7 == 0 {
                text.push_str("\n   \n");
            }
            event.write_json(&mut text);
            text.push_str(if i % 5 == 0 { "\r\n" } else { "\n" });
        }
        text.truncate(text.trim_end().len());
        text.into_bytes()
    }

    fn ledger() -> Ledger {
        Ledger::new(PricingModel::Conversation2024, sample_rate_card())
    }

    fn parsers(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).unwrap()
    }

    #[test]
    fn replays_in_file_order_on_any_number_of_parsers() {
        let events = events();
        let mut one_by_one = ledger();
        for event in &events {
            one_by_one.apply(event).unwrap();
        }
        let bytes = log(&events);
        for n in [1, 2, 3] {
            let mut replayed = ledger();
            let applied = replay(&mut replayed, &bytes[..], parsers(n)).unwrap();
            assert_eq!(applied, events.len() as u64);
            assert_eq!(replayed.totals(), one_by_one.totals());
            assert_eq!(read(&bytes[..], parsers(n)).unwrap(), events);
        }
        assert_eq!(read(&b""[..], parsers(2)).unwrap(), []);
    }

    /// The line number of event `index` in [`log`].
    fn line_of(bytes: &[u8], index: usize) -> u64 {
        let mut seen = 0;
        for (number, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if !line.trim_ascii().is_empty() {
                if seen == index {
                    return number as u64 + 1;
                }
                seen += 1;
            }
        }
        unreachable!("the log has event {index}")
    }

    #[test]
    fn a_bad_line_stops_the_replay_at_its_number() {
        let events = events();
        let good = log(&events);
        let target = line_of(&good, 250);
        let mut lines: Vec<&[u8]> = good.split(|&b| b == b'\n').collect();
        lines[target as usize - 1] = br#"{"at": "yesterday"}"#;
        let bad = lines.join(&b'\n');
        let mut ledger = ledger();
        match replay(&mut ledger, &bad[..], parsers(2)) {
            Err(LogError::Event { line, .. }) => assert_eq!(line, target),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            ledger.totals().events,
            250,
            "the events before it stay applied"
        );

        lines[target as usize - 1] = b"\xff\xfe";
        let not_utf8 = lines.join(&b'\n');
        assert!(matches!(
            read(&not_utf8[..], parsers(3)),
            Err(LogError::Event { line, .. }) if line == target
        ));
    }

    #[test]
    fn an_event_the_ledger_refuses_is_reported_with_its_line() {
        let mut events = events();
        // The last event of a customer, moved a day back: earlier than that customer's others.
        let last = events.len() - 1;
        events[last].at = events[last].at.plus_seconds(-3 * 86_400);
        let bytes = log(&events);
        let mut ledger = ledger();
        match replay(&mut ledger, &bytes[..], parsers(2)) {
            Err(LogError::Billing { line, error }) => {
                assert_eq!(line, line_of(&bytes, last));
                assert!(matches!(error, BillingError::OutOfOrder { .. }));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(ledger.totals().events, last as u64);
    }

    #[test]
    fn a_reader_that_gives_a_byte_at_a_time_loses_nothing() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some((&first, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                buf[0] = first;
                self.0 = rest;
                Ok(1)
            }
        }
        let events = events();
        let bytes = log(&events);
        assert_eq!(read(Trickle(&bytes), parsers(2)).unwrap(), events);
    }

    #[test]
    fn a_failing_reader_is_reported() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        assert!(matches!(read(Broken, parsers(2)), Err(LogError::Io(_))));
    }

    #[test]
    fn counts_lines_with_and_without_a_final_newline() {
        assert_eq!(parse(b"\n\n").line_count, 2);
        assert_eq!(parse(b"\n \n").line_count, 2);
        let line = br#"{"at":"2024-07-15T10:00:00Z","direction":"inbound","customer":"+393331112222","kind":"free_form"}"#;
        let mut two = line.to_vec();
        two.push(b'\n');
        two.extend_from_slice(line);
        assert_eq!(parse(&two).line_count, 2);
        assert_eq!(parse(&two).lines, [0, 1]);
        two.push(b'\n');
        assert_eq!(parse(&two).line_count, 2);
    }
}
