//! Saving a ledger and restoring it, so that a restart forgets no open window.
//!
//! The format is compact, versioned binary, little-endian:
//!
//! | bytes | what |
//! |---|---|
//! | 8 | magic `SPOKILDG` |
//! | 2 | version (3) |
//! | 1 | pricing model (0 conversation 2024, 1 per message 2025) |
//! | 4 + n | the rate card as JSON (its length, then the text) |
//! | 5 × 8 + 8 | the totals: events, conversations, paid, charged, rejected; total cost in millionths |
//! | 8 | the number of customers |
//! | 72 each | per customer: its digits, its last event, then the ends of its service window, entry-point offer, entry point and four conversations (Unix seconds; `i64::MIN`: never) |
//! | 32 | SHA-256 of every byte before it |
//!
//! The checksum makes any damage a refusal: a flipped bit in a time or a price would otherwise
//! restore as a ledger that looks sound and bills wrong.
//!
//! A customer's market is not stored: it follows from its number and the card, and is found
//! again on restore. Customers are written in number order, so a ledger always saves to the
//! same bytes. Customer ids issued before saving do not carry over.

use crate::ledger::{Ledger, LedgerTotals, NumberMap, Slot};
use crate::rules::{CustomerState, PricingModel};
use crate::{Currency, Customer, Money, RateCard};
use sha2::{Digest, Sha256};
use std::io::{self, Read, Write};

const MAGIC: &[u8; 8] = b"SPOKILDG";
const VERSION: u16 = 3;
/// Bytes per customer: nine `i64`s.
const RECORD: usize = 72;

/// Why a saved ledger cannot be restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// The bytes could not be read.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Not a saved ledger.
    #[error("not a saved spoki ledger")]
    NotALedger,
    /// The bytes are not the ones saved: the checksum does not match.
    #[error("saved ledger is damaged: its checksum does not match its content")]
    Checksum,
    /// Saved by a version of this crate that used another format.
    #[error("saved ledger format {0} is not supported (this version reads {VERSION})")]
    Version(u16),
    /// The content does not hold together (a bad rate card, customer or model).
    #[error("saved ledger is damaged: {0}")]
    Damaged(String),
}

impl Ledger {
    /// Writes everything the ledger knows to `out` (see the module's format): 72 bytes a
    /// customer, plus the rate card.
    pub fn save(&self, out: &mut impl Write) -> io::Result<()> {
        let mut out = Hashing {
            inner: out,
            hash: Sha256::new(),
        };
        self.save_body(&mut out)?;
        let digest = out.hash.finalize();
        out.inner.write_all(&digest)
    }

    fn save_body(&self, out: &mut Hashing<&mut impl Write>) -> io::Result<()> {
        let card = serde_json::to_vec(&self.rate_card).map_err(io::Error::other)?;
        out.write_all(MAGIC)?;
        out.write_all(&VERSION.to_le_bytes())?;
        out.write_all(&[match self.model {
            PricingModel::Conversation2024 => 0,
            PricingModel::PerMessage2025 => 1,
        }])?;
        let card_len = u32::try_from(card.len()).map_err(io::Error::other)?;
        out.write_all(&card_len.to_le_bytes())?;
        out.write_all(&card)?;
        let t = &self.totals;
        for n in [
            t.events,
            t.conversations,
            t.paid_conversations,
            t.charged_messages,
            t.rejected,
        ] {
            out.write_all(&n.to_le_bytes())?;
        }
        out.write_all(&t.total_cost.micros().to_le_bytes())?;
        out.write_all(&(self.index.len() as u64).to_le_bytes())?;
        // In number order: the same ledger always saves to the same bytes.
        let mut customers: Vec<(u64, u32)> =
            self.index.iter().map(|(&d, s)| (d, s.index)).collect();
        customers.sort_unstable();
        let mut record = [0_u8; RECORD];
        for (digits, slot) in customers {
            let s = &self.states[slot as usize];
            let fields = [
                digits as i64,
                s.last_at,
                s.service_window_until,
                s.entry_point_offer_until,
                s.entry_point_until,
                s.conversation_until[0],
                s.conversation_until[1],
                s.conversation_until[2],
                s.conversation_until[3],
            ];
            for (chunk, value) in record.chunks_exact_mut(8).zip(fields) {
                chunk.copy_from_slice(&value.to_le_bytes());
            }
            out.write_all(&record)?;
        }
        Ok(())
    }

    /// A ledger as [`save`](Self::save) wrote it: it answers every question, and bills every
    /// later event, as the saved one would have.
    pub fn restore(input: &mut impl Read) -> Result<Ledger, RestoreError> {
        let mut input = Hashing {
            inner: input,
            hash: Sha256::new(),
        };
        let ledger = Ledger::restore_body(&mut input)?;
        let expected = input.hash.finalize();
        let mut saved = [0_u8; 32];
        input.inner.read_exact(&mut saved)?;
        if saved[..] != expected[..] {
            return Err(RestoreError::Checksum);
        }
        let mut rest = [0_u8; 1];
        if input.inner.read(&mut rest)? != 0 {
            return Err(damaged("bytes after the checksum"));
        }
        Ok(ledger)
    }

    /// The magic bytes, the format's version and the pricing model.
    fn restore_header(input: &mut Hashing<&mut impl Read>) -> Result<PricingModel, RestoreError> {
        let mut magic = [0_u8; 8];
        input.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(RestoreError::NotALedger);
        }
        let version = u16::from_le_bytes(read(input)?);
        if version != VERSION {
            return Err(RestoreError::Version(version));
        }
        match read::<1>(input)?[0] {
            0 => Ok(PricingModel::Conversation2024),
            1 => Ok(PricingModel::PerMessage2025),
            other => Err(damaged(format!("unknown pricing model {other}"))),
        }
    }

    /// The ledger's counters and its total cost, in `currency`.
    fn restore_totals(
        input: &mut Hashing<&mut impl Read>,
        currency: Currency,
    ) -> Result<LedgerTotals, RestoreError> {
        let mut counts = [0_u64; 5];
        for n in &mut counts {
            *n = u64::from_le_bytes(read(input)?);
        }
        let [
            events,
            conversations,
            paid_conversations,
            charged_messages,
            rejected,
        ] = counts;
        Ok(LedgerTotals {
            events,
            conversations,
            paid_conversations,
            charged_messages,
            rejected,
            total_cost: Money::from_micros(i64::from_le_bytes(read(input)?), currency),
        })
    }

    fn restore_body(input: &mut Hashing<&mut impl Read>) -> Result<Ledger, RestoreError> {
        let model = Self::restore_header(input)?;
        let card_len = u32::from_le_bytes(read(input)?) as usize;
        let mut card = vec![0_u8; card_len];
        input.read_exact(&mut card)?;
        let card: RateCard =
            serde_json::from_slice(&card).map_err(|e| damaged(format!("rate card: {e}")))?;
        let totals = Self::restore_totals(input, card.currency())?;
        let customers = u64::from_le_bytes(read(input)?);
        let customers = usize::try_from(customers).map_err(|_| damaged("customer count"))?;
        // Capacity from the file is trusted only up to what a read can back.
        // The index and states are built below and moved in: nothing to reserve here.
        let mut ledger = Ledger::new(model, card);
        let mut index = NumberMap::default();
        index.reserve(customers.min(1 << 24));
        let mut states = Vec::with_capacity(customers.min(1 << 24));
        let mut record = [0_u8; RECORD];
        for _ in 0..customers {
            input.read_exact(&mut record)?;
            let mut fields = record
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")));
            let mut next = || fields.next().expect("9 fields in 72 bytes");
            let digits = next() as u64;
            let customer =
                Customer::from_digits(digits).map_err(|e| damaged(format!("customer: {e}")))?;
            let market = ledger
                .rate_card
                .market_for(customer)
                .map_err(|e| damaged(format!("{customer}: {e}")))?;
            let mut state = CustomerState::NEW;
            state.last_at = next();
            state.service_window_until = next();
            state.entry_point_offer_until = next();
            state.entry_point_until = next();
            state.conversation_until = [next(), next(), next(), next()];
            let slot = Slot {
                index: states.len() as u32,
                market,
            };
            if index.insert(digits, slot).is_some() {
                return Err(damaged(format!("{customer} is saved twice")));
            }
            states.push(state);
        }
        ledger.index = index;
        ledger.states = states;
        ledger.totals = totals;
        Ok(ledger)
    }
}

/// A reader or writer that hashes every byte that passes through it.
struct Hashing<T> {
    inner: T,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.hash.update(&bytes[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, bytes: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(bytes)?;
        self.hash.update(&bytes[..n]);
        Ok(n)
    }
}

fn read<const N: usize>(input: &mut impl Read) -> io::Result<[u8; N]> {
    let mut bytes = [0_u8; N];
    input.read_exact(&mut bytes)?;
    Ok(bytes)
}

fn damaged(what: impl Into<String>) -> RestoreError {
    RestoreError::Damaged(what.into())
}
