//! Live billing shared through a real `redis-server`: random streams split across four
//! workers in any interleaving give the answers of one in-process ledger fed everything.

use spoki::billing::{
    BillingEffect, Category, Customer, Event, FreeFormStatus, Ledger, Message, PricingModel,
    RateCard, SharedBilling, Timestamp,
};
use spoki_mock::RedisServer;

/// A small xorshift generator: the streams are random but repeatable from their seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const START: i64 = 1_721_030_400; // 2024-07-15T08:00:00Z

/// Events of `customers` over three days, each customer's at distinct instants.
fn stream(rng: &mut Rng, customers: &[Customer], len: usize) -> Vec<Event> {
    let mut at = vec![START; customers.len()];
    (0..len)
        .map(|_| {
            let c = rng.below(customers.len() as u64) as usize;
            at[c] += 1 + rng.below(6 * 3600) as i64;
            let message = match rng.below(7) {
                0 | 1 => Message::Inbound,
                2 => Message::InboundViaFreeEntryPoint,
                3 => Message::Template(Category::Marketing),
                4 => Message::Template(Category::Utility),
                5 => Message::Template(Category::Authentication),
                _ => Message::FreeForm,
            };
            let nanos = rng.below(1_000_000_000) as u32;
            let instant = Timestamp::from_unix_seconds(at[c]);
            let instant = Timestamp::parse(&format!(
                "{}.{nanos:09}Z",
                instant.to_string().trim_end_matches('Z')
            ))
            .unwrap();
            Event::new(instant, customers[c], message)
        })
        .collect()
}

/// Every answer the shared billing gives about `customer` at `now`, as text to compare.
fn answers_of(ledger: &Ledger, customer: Customer, now: Timestamp) -> String {
    let quotes: Vec<Result<BillingEffect, String>> = [
        Category::Marketing,
        Category::Utility,
        Category::Authentication,
    ]
    .into_iter()
    .map(|c| {
        ledger
            .quote_template(customer, c, now)
            .map_err(|e| e.to_string())
    })
    .collect();
    format!("{:?} {quotes:?}", ledger.free_form_status(customer, now))
}

async fn shared_answers(shared: &SharedBilling, customer: Customer, now: Timestamp) -> String {
    let status: FreeFormStatus = shared.free_form_status(customer, now).await.unwrap();
    let mut quotes = Vec::new();
    for c in [
        Category::Marketing,
        Category::Utility,
        Category::Authentication,
    ] {
        quotes.push(
            shared
                .quote_template(customer, c, now)
                .await
                .map_err(|e| e.to_string()),
        );
    }
    format!("{status:?} {quotes:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_workers_answer_as_one_ledger_fed_everything() {
    let redis = RedisServer::start();
    let card = RateCard::from_json(spoki_mock::DEFAULT_RATE_CARD).unwrap();
    let customers: Vec<Customer> = (0..6)
        .map(|i| Customer::parse(&format!("+39333100{i:04}")).unwrap())
        .collect();
    for (round, model) in [PricingModel::Conversation2024, PricingModel::PerMessage2025]
        .into_iter()
        .enumerate()
    {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 + round as u64);
        let client = redis::Client::open(redis.url()).unwrap();
        let mut workers = Vec::new();
        for _ in 0..4 {
            let conn = client.get_connection_manager().await.unwrap();
            workers.push(
                SharedBilling::new(conn, model, card.clone()).prefix(format!("round{round}")),
            );
        }
        let events = stream(&mut rng, &customers, 120);
        // Any interleaving: shuffled, each event to a random worker.
        let mut order: Vec<usize> = (0..events.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        for &i in &order {
            let worker = &workers[rng.below(4) as usize];
            assert!(worker.record(&events[i], None).await.unwrap());
        }

        let end = events.iter().map(|e| e.at).max().unwrap();
        let mut checked = 0;
        for step in 0..6 {
            let now =
                Timestamp::from_unix_seconds(START + (end.unix_seconds() - START) * step / 5 + 1);
            let mut reference = Ledger::new(model, card.clone());
            let mut sorted: Vec<&Event> = events.iter().filter(|e| e.at <= now).collect();
            sorted.sort_by_key(|e| e.at);
            for event in sorted {
                let _ = reference.apply(event);
            }
            let expected = reference
                .estimate_campaign(customers.iter().copied(), Category::Marketing, now)
                .unwrap();
            for worker in &workers {
                let shared = worker
                    .estimate_campaign(&customers, Category::Marketing, now)
                    .await
                    .unwrap();
                assert_eq!(shared, expected, "{model:?} campaign at {now}");
            }
            for &customer in &customers {
                let expected = answers_of(&reference, customer, now);
                for worker in &workers {
                    assert_eq!(
                        shared_answers(worker, customer, now).await,
                        expected,
                        "{model:?}, {customer} at {now}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 6 * customers.len() * 4);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_reported_twice_is_recorded_once() {
    let redis = RedisServer::start();
    let card = RateCard::from_json(spoki_mock::DEFAULT_RATE_CARD).unwrap();
    // Two workers, each with a connection of its own.
    let a = SharedBilling::open(&redis.url(), PricingModel::Conversation2024, card.clone())
        .await
        .unwrap();
    let b = SharedBilling::open(&redis.url(), PricingModel::Conversation2024, card)
        .await
        .unwrap();
    let phone = spoki::Phone::parse("+393331234567").unwrap();
    let at = Timestamp::from_unix_seconds(START);
    let marketing = spoki::models::TemplateCategory::Marketing;
    assert!(
        a.record_send(Some("m-1"), at, &phone, Some(&marketing))
            .await
            .unwrap()
    );
    assert!(
        !b.record_send(Some("m-1"), at, &phone, Some(&marketing))
            .await
            .unwrap()
    );
    // The second marketing template within the conversation is free; had the first been
    // counted twice, the state would be the same, so check the count of recorded events.
    let quote = b
        .quote_template(
            Customer::from(&phone),
            Category::Marketing,
            at.plus_seconds(60),
        )
        .await
        .unwrap();
    assert_eq!(
        quote.cost().map(|m| m.micros()).unwrap_or(0),
        0,
        "{quote:?}"
    );
}
