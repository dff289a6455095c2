//! A saved and restored ledger answers every question, and bills every later event, exactly as
//! the original does: checked on random event streams.

use spoki_billing::synthetic::{EventGenerator, customer, sample_rate_card};
use spoki_billing::{Category, Event, Ledger, PricingModel, RestoreError, Timestamp};

fn saved(ledger: &Ledger) -> Vec<u8> {
    let mut bytes = Vec::new();
    ledger.save(&mut bytes).unwrap();
    bytes
}

fn restored(bytes: &[u8]) -> Ledger {
    Ledger::restore(&mut &bytes[..]).unwrap()
}

#[test]
fn a_restored_ledger_behaves_as_the_original_on_random_streams() {
    let start = Timestamp::parse("2024-07-01T00:00:00Z").unwrap();
    for (seed, model) in [
        (1, PricingModel::Conversation2024),
        (2, PricingModel::PerMessage2025),
        (3, PricingModel::Conversation2024),
    ] {
        let events: Vec<Event> = EventGenerator::new(seed, 300, 6_000, start, 5).collect();
        let (before, after) = events.split_at(3_000);
        let mut original = Ledger::new(model, sample_rate_card());
        for e in before {
            original.apply(e).unwrap();
        }
        let bytes = saved(&original);
        let mut copy = restored(&bytes);
        assert_eq!(copy.totals(), original.totals());
        assert_eq!(copy.customer_count(), original.customer_count());
        assert!(
            saved(&copy) == bytes,
            "a restored ledger saves to the same bytes"
        );

        // The questions a sender asks, at the moment of the save and later.
        let at = after[0].at;
        let everyone: Vec<_> = (0..300).map(customer).collect();
        for &c in &everyone {
            assert_eq!(
                copy.free_form_status(c, at),
                original.free_form_status(c, at)
            );
        }
        for category in [Category::Marketing, Category::Utility] {
            assert_eq!(
                copy.estimate_campaign(everyone.iter().copied(), category, at)
                    .unwrap(),
                original
                    .estimate_campaign(everyone.iter().copied(), category, at)
                    .unwrap()
            );
        }
        // Every later event is billed the same.
        for e in after {
            assert_eq!(copy.apply(e).unwrap(), original.apply(e).unwrap(), "{e:?}");
        }
        assert_eq!(copy.totals(), original.totals());
        // Out-of-order events are refused by both, as the last instant is kept.
        let late = Event::new(start, customer(1), spoki_billing::Message::Inbound);
        assert!(copy.apply(&late).is_err() && original.apply(&late).is_err());
    }
}

#[test]
fn an_empty_ledger_round_trips() {
    let empty = Ledger::new(PricingModel::PerMessage2025, sample_rate_card());
    let copy = restored(&saved(&empty));
    assert_eq!(copy.model(), PricingModel::PerMessage2025);
    assert_eq!(copy.customer_count(), 0);
    assert_eq!(copy.totals(), empty.totals());
}

#[test]
fn damaged_or_foreign_bytes_are_refused() {
    let start = Timestamp::parse("2024-07-01T00:00:00Z").unwrap();
    let mut ledger = Ledger::new(PricingModel::Conversation2024, sample_rate_card());
    for e in EventGenerator::new(7, 20, 100, start, 2) {
        ledger.apply(&e).unwrap();
    }
    let bytes = saved(&ledger);

    let not_ours = b"PK\x03\x04 not a ledger at all".to_vec();
    assert!(matches!(
        Ledger::restore(&mut &not_ours[..]),
        Err(RestoreError::NotALedger)
    ));
    let mut newer = bytes.clone();
    newer[8] = 9;
    assert!(matches!(
        Ledger::restore(&mut &newer[..]),
        Err(RestoreError::Version(9))
    ));
    let truncated = &bytes[..bytes.len() - 10];
    assert!(matches!(
        Ledger::restore(&mut &truncated[..]),
        Err(RestoreError::Io(_))
    ));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(matches!(
        Ledger::restore(&mut &trailing[..]),
        Err(RestoreError::Damaged(_))
    ));
    let mut bad_model = bytes.clone();
    bad_model[10] = 7;
    assert!(matches!(
        Ledger::restore(&mut &bad_model[..]),
        Err(RestoreError::Damaged(_))
    ));
}

#[test]
fn every_flipped_bit_is_refused() {
    let start = Timestamp::parse("2024-07-01T00:00:00Z").unwrap();
    let mut ledger = Ledger::new(PricingModel::Conversation2024, sample_rate_card());
    for e in EventGenerator::new(11, 40, 200, start, 2) {
        ledger.apply(&e).unwrap();
    }
    let bytes = saved(&ledger);
    // A fixed xorshift: the same 1,000 flips on every run, spread over the whole file.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..1000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let bit = (state % (bytes.len() as u64 * 8)) as usize;
        let mut damaged = bytes.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        assert!(
            Ledger::restore(&mut &damaged[..]).is_err(),
            "bit {bit} of {} flipped, and the ledger restored",
            bytes.len() * 8
        );
    }
    // The checksum is what refuses a flip that still parses: a customer's time.
    let mut time = bytes.clone();
    let last_customer_time = bytes.len() - 32 - 64;
    time[last_customer_time] ^= 1;
    assert!(matches!(
        Ledger::restore(&mut &time[..]),
        Err(RestoreError::Checksum)
    ));
}
