//! Rate cards: calling-code prefixes to markets, and prices per market and category.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::category::Category;
use crate::customer::{Customer, MAX_DIGITS};
use crate::money::Amount;
use spoki_models::{Currency, Money};

/// Name of the market that catches every number no listed prefix matches, when a card has one.
pub const OTHER_MARKET: &str = "Other";

/// Prices of one market, in the card's currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketPrices {
    /// Price of a marketing conversation (or message, under per-message pricing).
    pub marketing: Money,
    /// Price of a utility conversation or message.
    pub utility: Money,
    /// Price of an authentication conversation or message.
    pub authentication: Money,
    /// Price of a service conversation (in JSON, missing means free, as Meta made it from
    /// 2024-11-01).
    pub service: Money,
    /// Authentication price for businesses based in another country, where the market has one.
    pub authentication_international: Option<Money>,
}

impl MarketPrices {
    /// The list price for `category` (authentication at the domestic rate).
    pub const fn for_category(&self, category: Category) -> Money {
        match category {
            Category::Marketing => self.marketing,
            Category::Utility => self.utility,
            Category::Authentication => self.authentication,
            Category::Service => self.service,
        }
    }
}

/// Index of a market in its [`RateCard`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MarketId(u16);

impl MarketId {
    /// The first market of a card.
    pub(crate) const FIRST: MarketId = MarketId(0);

    /// Position of the market in [`RateCard::markets`].
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// One market of a rate card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Market {
    /// The key used in the card, e.g. `IT` or `ROWE`.
    pub name: String,
    /// Its list prices.
    pub prices: MarketPrices,
}

/// Why a rate card is unusable, or a number has no market in it.
#[derive(Debug, thiserror::Error)]
pub enum RateCardError {
    /// The JSON is malformed, or a price is not an exact decimal.
    #[error("rate card JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A calling-code key is not 1 to 15 digits without a leading zero.
    #[error("calling code {code:?} must be 1 to {MAX_DIGITS} digits not starting with 0")]
    InvalidCallingCode {
        /// The offending key.
        code: String,
    },
    /// A calling code points at a market the card does not price.
    #[error("calling code {code:?} maps to market {market:?}, which has no prices")]
    UnpricedMarket {
        /// The calling code.
        code: String,
        /// The missing market.
        market: String,
    },
    /// A price is in another currency than the card.
    #[error("market {market:?} has a price in another currency than the card")]
    CurrencyMismatch {
        /// The market.
        market: String,
    },
    /// A price is below zero.
    #[error("market {market:?} has a negative price")]
    NegativePrice {
        /// The market.
        market: String,
    },
    /// More markets than a [`MarketId`] holds.
    #[error("rate card has {0} markets; at most 65536 are supported")]
    TooManyMarkets(usize),
    /// No prefix matches the number and the card has no `Other` market.
    #[error("no market of the rate card covers {customer} and it has no {OTHER_MARKET:?} market")]
    NoMarket {
        /// The customer without a market.
        customer: Customer,
    },
}

/// The JSON shape of a rate card, as in the vectors' `rate_card`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct RateCardDocument {
    currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    business_country: Option<String>,
    #[serde(deserialize_with = "unique_keys")]
    calling_codes: BTreeMap<String, String>,
    #[serde(deserialize_with = "unique_keys")]
    markets: BTreeMap<String, PricesDocument>,
}

/// One market's prices in JSON: decimals in the card's currency.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct PricesDocument {
    marketing: Amount,
    utility: Amount,
    authentication: Amount,
    #[serde(default)]
    service: Amount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    authentication_international: Option<Amount>,
}

impl PricesDocument {
    fn in_currency(self, currency: Currency) -> MarketPrices {
        MarketPrices {
            marketing: self.marketing.in_currency(currency),
            utility: self.utility.in_currency(currency),
            authentication: self.authentication.in_currency(currency),
            service: self.service.in_currency(currency),
            authentication_international: self
                .authentication_international
                .map(|a| a.in_currency(currency)),
        }
    }

    fn of(prices: MarketPrices) -> PricesDocument {
        PricesDocument {
            marketing: Amount::of(prices.marketing),
            utility: Amount::of(prices.utility),
            authentication: Amount::of(prices.authentication),
            service: Amount::of(prices.service),
            authentication_international: prices.authentication_international.map(Amount::of),
        }
    }
}

/// Reads a JSON object whose keys must be unique: a calling code or market given twice is a
/// mistake in the card, not something to settle by keeping the last one.
fn unique_keys<'de, D, V>(deserializer: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Unique<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Unique<V> {
        type Value = BTreeMap<String, V>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object with unique keys")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((key, value)) = map.next_entry::<String, V>()? {
                if out.contains_key(&key) {
                    return Err(serde::de::Error::custom(format!("{key:?} is given twice")));
                }
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(Unique(std::marker::PhantomData))
}

/// Prices per market and category, and which market each phone number belongs to.
///
/// Built from JSON of the form
/// `{"currency": "EUR", "business_country": "IT", "calling_codes": {"39": "IT"},
///   "markets": {"IT": {"marketing": 0.14, "utility": 0.1, "authentication": 0.12, "service": 0.11}}}`.
/// A number belongs to the market of the longest calling-code prefix its digits start with; if
/// none matches, to the market named `Other` when the card has one.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "RateCardDocument", into = "RateCardDocument")]
pub struct RateCard {
    currency: Currency,
    business_country: Option<String>,
    calling_codes: BTreeMap<String, String>,
    markets: Vec<Market>,
    /// Price actually billed per market and category, authentication-international applied.
    billed: Vec<[Money; 4]>,
    /// Prefix digits as an integer (unique, since prefixes cannot start with 0) to market.
    prefixes: HashMap<u64, MarketId>,
    /// Distinct prefix lengths, longest first.
    prefix_lengths: Vec<u32>,
    other: Option<MarketId>,
}

impl RateCard {
    /// Parses and validates a rate card from JSON.
    pub fn from_json(json: &str) -> Result<Self, RateCardError> {
        let document: RateCardDocument = serde_json::from_str(json)?;
        Self::try_from(document)
    }

    /// Parses and validates a rate card from an already parsed JSON value.
    pub fn from_json_value(value: serde_json::Value) -> Result<Self, RateCardError> {
        let document: RateCardDocument = serde_json::from_value(value)?;
        Self::try_from(document)
    }

    /// Builds a card from its parts: currency, the business's own country for the
    /// authentication-international rule (a market key, e.g. `IT`), calling codes and markets.
    /// Every price must be in `currency`.
    pub fn new(
        currency: Currency,
        business_country: Option<String>,
        calling_codes: impl IntoIterator<Item = (String, String)>,
        markets: impl IntoIterator<Item = (String, MarketPrices)>,
    ) -> Result<Self, RateCardError> {
        Self::build(
            currency,
            business_country,
            calling_codes.into_iter().collect(),
            markets.into_iter().collect(),
        )
    }

    /// The currency of every price, e.g. `EUR`.
    pub const fn currency(&self) -> Currency {
        self.currency
    }

    /// The business's own country (a market key), when it is eligible for
    /// authentication-international rates.
    pub fn business_country(&self) -> Option<&str> {
        self.business_country.as_deref()
    }

    /// All markets, indexed by [`MarketId::index`].
    pub fn markets(&self) -> &[Market] {
        &self.markets
    }

    /// The market with id `id`.
    pub fn market(&self, id: MarketId) -> &Market {
        &self.markets[id.index()]
    }

    /// The id of the market named `name`.
    pub fn market_id(&self, name: &str) -> Option<MarketId> {
        self.markets
            .iter()
            .position(|m| m.name == name)
            .map(|i| MarketId(i as u16))
    }

    /// The market of `customer`: longest matching calling-code prefix, else `Other`.
    pub fn market_for(&self, customer: Customer) -> Result<MarketId, RateCardError> {
        let digits = customer.digits();
        let count = customer.digit_count();
        for &length in &self.prefix_lengths {
            if length > count {
                continue;
            }
            let prefix = digits / 10_u64.pow(count - length);
            if let Some(&market) = self.prefixes.get(&prefix) {
                return Ok(market);
            }
        }
        self.other.ok_or(RateCardError::NoMarket { customer })
    }

    /// The price billed for `category` in `market`.
    ///
    /// Authentication uses the market's authentication-international rate when the card names a
    /// business country, the market is not that country and the market lists such a rate.
    pub fn price(&self, market: MarketId, category: Category) -> Money {
        self.billed[market.index()][category.index()]
    }

    /// [`RateCard::price`] for all four categories, indexed by [`Category::index`].
    pub fn billed_prices(&self, market: MarketId) -> &[Money; 4] {
        &self.billed[market.index()]
    }

    /// The price billed for `category` to `customer`.
    pub fn price_for(
        &self,
        customer: Customer,
        category: Category,
    ) -> Result<Money, RateCardError> {
        Ok(self.price(self.market_for(customer)?, category))
    }
}

impl TryFrom<RateCardDocument> for RateCard {
    type Error = RateCardError;

    fn try_from(document: RateCardDocument) -> Result<Self, Self::Error> {
        let currency = document.currency;
        let markets = document
            .markets
            .into_iter()
            .map(|(name, prices)| (name, prices.in_currency(currency)))
            .collect();
        RateCard::build(
            currency,
            document.business_country,
            document.calling_codes,
            markets,
        )
    }
}

impl RateCard {
    fn build(
        currency: Currency,
        business_country: Option<String>,
        calling_codes: BTreeMap<String, String>,
        market_prices: BTreeMap<String, MarketPrices>,
    ) -> Result<Self, RateCardError> {
        if market_prices.len() > usize::from(u16::MAX) + 1 {
            return Err(RateCardError::TooManyMarkets(market_prices.len()));
        }
        check_prices(currency, &market_prices)?;
        let markets: Vec<Market> = market_prices
            .iter()
            .map(|(name, prices)| Market {
                name: name.clone(),
                prices: *prices,
            })
            .collect();
        let id_of = |name: &str| {
            markets
                .iter()
                .position(|m| m.name == name)
                .map(|i| MarketId(i as u16))
        };
        let mut prefixes = HashMap::with_capacity(calling_codes.len());
        let mut prefix_lengths = Vec::new();
        for (code, market) in &calling_codes {
            let valid = (1..=MAX_DIGITS as usize).contains(&code.len())
                && code.bytes().all(|b| b.is_ascii_digit())
                && !code.starts_with('0');
            if !valid {
                return Err(RateCardError::InvalidCallingCode { code: code.clone() });
            }
            let id = id_of(market).ok_or_else(|| RateCardError::UnpricedMarket {
                code: code.clone(),
                market: market.clone(),
            })?;
            let value: u64 = code.parse().expect("validated as at most 15 digits");
            prefixes.insert(value, id);
            prefix_lengths.push(code.len() as u32);
        }
        prefix_lengths.sort_unstable_by(|a, b| b.cmp(a));
        prefix_lengths.dedup();
        let billed = markets
            .iter()
            .map(|market| {
                let p = &market.prices;
                let international = match (&business_country, p.authentication_international) {
                    (Some(home), Some(rate)) if *home != market.name => Some(rate),
                    _ => None,
                };
                [
                    p.marketing,
                    p.utility,
                    international.unwrap_or(p.authentication),
                    p.service,
                ]
            })
            .collect();
        let other = id_of(OTHER_MARKET);
        Ok(RateCard {
            currency,
            business_country,
            calling_codes,
            markets,
            billed,
            prefixes,
            prefix_lengths,
            other,
        })
    }
}

/// Refuses a market priced in another currency, or at a negative price.
fn check_prices(
    currency: Currency,
    market_prices: &BTreeMap<String, MarketPrices>,
) -> Result<(), RateCardError> {
    for (name, p) in market_prices {
        let prices = [p.marketing, p.utility, p.authentication, p.service];
        let mut all = prices.into_iter().chain(p.authentication_international);
        if all.clone().any(|m| m.currency() != currency) {
            return Err(RateCardError::CurrencyMismatch {
                market: name.clone(),
            });
        }
        if all.any(|m| m.micros() < 0) {
            return Err(RateCardError::NegativePrice {
                market: name.clone(),
            });
        }
    }
    Ok(())
}

impl From<RateCard> for RateCardDocument {
    fn from(card: RateCard) -> Self {
        RateCardDocument {
            currency: card.currency,
            business_country: card.business_country,
            calling_codes: card.calling_codes,
            markets: card
                .markets
                .into_iter()
                .map(|m| (m.name, PricesDocument::of(m.prices)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD: &str = r#"{
        "currency": "EUR",
        "business_country": "IT",
        "calling_codes": {"1": "US", "1809": "DO", "39": "IT", "91": "IN"},
        "markets": {
            "US": {"marketing": 0.025, "utility": 0.004, "authentication": 0.0135},
            "DO": {"marketing": 0.06, "utility": 0.01, "authentication": 0.02, "service": 0.01},
            "IT": {"marketing": 0.14, "utility": 0.1, "authentication": 0.12,
                   "service": 0.11, "authentication_international": 0.5},
            "IN": {"marketing": 0.03, "utility": 0.01, "authentication": 0.01,
                   "authentication_international": 0.03},
            "Other": {"marketing": 0.07, "utility": 0.02, "authentication": 0.03}
        }
    }"#;

    fn customer(s: &str) -> Customer {
        Customer::parse(s).unwrap()
    }

    fn money(s: &str) -> Money {
        Money::parse(s, Currency::EUR).unwrap()
    }

    #[test]
    fn longest_prefix_wins_and_other_catches_the_rest() {
        let card = RateCard::from_json(CARD).unwrap();
        let name = |number: &str| &card.market(card.market_for(customer(number)).unwrap()).name;
        assert_eq!(name("+18095551234"), "DO");
        assert_eq!(name("+12125551234"), "US");
        assert_eq!(name("+393331112222"), "IT");
        assert_eq!(name("+4915112345678"), "Other");
    }

    #[test]
    fn prices_are_exact_and_service_defaults_to_free() {
        let card = RateCard::from_json(CARD).unwrap();
        let us = card.market_id("US").unwrap();
        assert_eq!(card.price(us, Category::Authentication), money("0.0135"));
        assert_eq!(card.price(us, Category::Service), money("0"));
        assert_eq!(
            card.price_for(customer("+393331112222"), Category::Marketing)
                .unwrap(),
            money("0.14")
        );
    }

    #[test]
    fn authentication_international_applies_abroad_only() {
        let card = RateCard::from_json(CARD).unwrap();
        let auth = |number: &str| {
            card.price_for(customer(number), Category::Authentication)
                .unwrap()
        };
        assert_eq!(auth("+919812345678"), money("0.03"));
        // Home market: its own international rate never applies.
        assert_eq!(auth("+393331112222"), money("0.12"));
        // No international rate listed: the plain one.
        assert_eq!(auth("+12125551234"), money("0.0135"));
        let mut domestic_only: serde_json::Value = serde_json::from_str(CARD).unwrap();
        domestic_only
            .as_object_mut()
            .unwrap()
            .remove("business_country");
        let card = RateCard::from_json_value(domestic_only).unwrap();
        assert_eq!(
            card.price_for(customer("+919812345678"), Category::Authentication)
                .unwrap(),
            money("0.01")
        );
    }

    #[test]
    fn rejects_inconsistent_cards() {
        let no_market = r#"{"currency":"EUR","calling_codes":{"39":"IT"},"markets":{}}"#;
        assert!(matches!(
            RateCard::from_json(no_market),
            Err(RateCardError::UnpricedMarket { .. })
        ));
        let bad_code = r#"{"currency":"EUR","calling_codes":{"+39":"IT"},"markets":{"IT":{"marketing":1,"utility":1,"authentication":1}}}"#;
        assert!(matches!(
            RateCard::from_json(bad_code),
            Err(RateCardError::InvalidCallingCode { .. })
        ));
        let inexact = r#"{"currency":"EUR","calling_codes":{},"markets":{"IT":{"marketing":0.00000001,"utility":1,"authentication":1}}}"#;
        assert!(matches!(
            RateCard::from_json(inexact),
            Err(RateCardError::Json(_))
        ));
        let card = RateCard::from_json(
            r#"{"currency":"EUR","calling_codes":{"39":"IT"},"markets":{"IT":{"marketing":1,"utility":1,"authentication":1}}}"#,
        )
        .unwrap();
        assert!(matches!(
            card.market_for(customer("+4915112345678")),
            Err(RateCardError::NoMarket { .. })
        ));
    }

    #[test]
    fn round_trips_through_json() {
        let card = RateCard::from_json(CARD).unwrap();
        let json = serde_json::to_string(&card).unwrap();
        let again = RateCard::from_json(&json).unwrap();
        assert_eq!(again.markets(), card.markets());
        assert_eq!(again.business_country(), Some("IT"));
        assert_eq!(again.currency(), Currency::EUR);
    }
}
