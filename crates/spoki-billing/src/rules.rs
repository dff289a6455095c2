//! The rules: what one event does to one customer's windows, and so to the bill. A pure state
//! machine, with no storage: a customer's whole history is its 64-byte `CustomerState`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::category::{Category, CategorySet, ConversationKind};
use crate::event::Message;
use crate::time::{DAY_SECONDS, Timestamp, Window};
use spoki_models::Money;

/// How long a conversation stays open.
pub const CONVERSATION_SECONDS: i64 = DAY_SECONDS;
/// How long each inbound message keeps the customer-service window open.
pub const SERVICE_WINDOW_SECONDS: i64 = DAY_SECONDS;
/// How long after an ad / Page-button message a reply still opens a free entry point.
pub const ENTRY_POINT_OFFER_SECONDS: i64 = DAY_SECONDS;
/// How long a free entry point stays open.
pub const ENTRY_POINT_SECONDS: i64 = 3 * DAY_SECONDS;

/// "Not open": earlier than any instant, so `at < NEVER` is always false.
const NEVER: i64 = i64::MIN;

/// Which of Meta's pricing schemes bills the events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum PricingModel {
    /// Conversation-based pricing (2023-06-01 to 2025-06-30, the Spoki seed's rules): each
    /// 24-hour conversation of a category is charged once when it opens.
    #[serde(rename = "conversation_2024")]
    Conversation2024,
    /// Per-message pricing (from 2025-07-01): each delivered template is charged on its own,
    /// utility templates inside the service window and free-form messages are free.
    #[serde(rename = "per_message_2025")]
    PerMessage2025,
}

impl PricingModel {
    /// The name used in vectors and on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            PricingModel::Conversation2024 => "conversation_2024",
            PricingModel::PerMessage2025 => "per_message_2025",
        }
    }
}

impl fmt::Display for PricingModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pricing-model name that is not one of the two known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown pricing model {0:?}; expected conversation_2024 or per_message_2025")]
pub struct UnknownPricingModel(pub String);

impl FromStr for PricingModel {
    type Err = UnknownPricingModel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "conversation_2024" => Ok(PricingModel::Conversation2024),
            "per_message_2025" => Ok(PricingModel::PerMessage2025),
            other => Err(UnknownPricingModel(other.to_owned())),
        }
    }
}

/// A conversation that an event opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenedConversation {
    /// Its kind.
    pub kind: ConversationKind,
    /// When it is open: 24 hours, or 72 for a free entry point.
    pub window: Window,
    /// What it costs, charged once now. Zero means opened but not charged.
    pub price: Money,
    /// Conversations a free entry point closed early (they keep their price and end now).
    pub closed: CategorySet,
}

/// Why an outbound message costs nothing under per-message pricing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FreeReason {
    /// Inside an open free entry point.
    FreeEntryPoint,
    /// Free-form messages are not charged.
    FreeForm,
    /// A utility template while the customer-service window is open.
    UtilityInServiceWindow,
}

/// Why an outbound message may not be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// Free-form needs the customer to have written first, and they never have.
    NoServiceWindow,
    /// Free-form needs a customer message in the last 24 hours; the window closed at `closed_at`.
    ServiceWindowClosed {
        /// 24 hours after the customer's last message.
        closed_at: Timestamp,
    },
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::NoServiceWindow => f.write_str(
                "free-form message rejected: the customer has not written, so only templates may be sent",
            ),
            RejectReason::ServiceWindowClosed { closed_at } => write!(
                f,
                "free-form message rejected: the 24-hour service window closed at {closed_at}; send a template"
            ),
        }
    }
}

/// What one event does to the bill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BillingEffect {
    /// An inbound message (re)opened the customer-service window; inbound never costs anything.
    InboundRecorded {
        /// The window during which free-form messages may be sent.
        service_window: Window,
        /// When the reply that would open a free entry point must be sent by, if it came through one.
        entry_point_offer_until: Option<Timestamp>,
    },
    /// The message opened a conversation (also a free entry point under per-message pricing).
    Opened(OpenedConversation),
    /// Conversation pricing: the message falls inside an already open conversation, no extra cost.
    Joined {
        /// The open conversation it belongs to.
        kind: ConversationKind,
        /// That conversation's window.
        window: Window,
    },
    /// Per-message pricing: the message is charged on its own.
    Charged {
        /// Its billing category.
        category: Category,
        /// Its price (can be zero if the rate card says so).
        price: Money,
    },
    /// Per-message pricing: the message is free.
    Free {
        /// Why.
        reason: FreeReason,
    },
    /// The message may not be sent; it has no effect.
    Rejected {
        /// Why.
        reason: RejectReason,
    },
}

impl BillingEffect {
    /// What the event adds to the bill: the price of the conversation it opened or of the
    /// message charged (which can be zero), `None` when it charges nothing.
    pub const fn cost(&self) -> Option<Money> {
        match self {
            BillingEffect::Opened(opened) => Some(opened.price),
            BillingEffect::Charged { price, .. } => Some(*price),
            _ => None,
        }
    }

    /// Whether the event adds a non-zero amount to the bill.
    pub const fn is_charged(&self) -> bool {
        match self.cost() {
            Some(cost) => !cost.is_zero(),
            None => false,
        }
    }

    /// Whether the message was refused.
    pub const fn is_rejected(&self) -> bool {
        matches!(self, BillingEffect::Rejected { .. })
    }
}

/// Everything the model remembers about one customer: 64 bytes (one cache line), whatever the
/// history length. The customer's market is kept beside it by the ledger.
///
/// Only the ends of the windows are kept, as exclusive bounds in Unix seconds; a window that has
/// ended is simply a bound in the past, so expired history takes no room. `last_at` keeps each
/// customer's events in order while different customers' interleave freely.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(align(64))]
pub(crate) struct CustomerState {
    /// The instant of the latest event applied (`NEVER` before the first).
    pub(crate) last_at: i64,
    pub(crate) service_window_until: i64,
    pub(crate) entry_point_offer_until: i64,
    pub(crate) entry_point_until: i64,
    /// Per [`Category::index`]: end of the open conversation of that category.
    pub(crate) conversation_until: [i64; 4],
}

impl CustomerState {
    /// A customer with no history.
    pub(crate) const NEW: CustomerState = CustomerState {
        last_at: NEVER,
        service_window_until: NEVER,
        entry_point_offer_until: NEVER,
        entry_point_until: NEVER,
        conversation_until: [NEVER; 4],
    };

    /// The latest event's instant, if any.
    pub(crate) fn last_at(&self) -> Option<Timestamp> {
        (self.last_at != NEVER).then(|| Timestamp::from_unix_seconds(self.last_at))
    }

    pub(crate) fn is_idle(&self, now: i64) -> bool {
        self.service_window_until <= now
            && self.entry_point_offer_until <= now
            && self.entry_point_until <= now
            && self.conversation_until.iter().all(|&until| until <= now)
    }

    pub(crate) fn free_form_status(&self, now: i64) -> FreeFormStatus {
        if now < self.service_window_until {
            FreeFormStatus::Open {
                until: Timestamp::from_unix_seconds(self.service_window_until),
            }
        } else {
            FreeFormStatus::Closed {
                reason: self.rejection(),
            }
        }
    }

    fn rejection(&self) -> RejectReason {
        if self.service_window_until == NEVER {
            RejectReason::NoServiceWindow
        } else {
            RejectReason::ServiceWindowClosed {
                closed_at: Timestamp::from_unix_seconds(self.service_window_until),
            }
        }
    }

    /// Applies one message at `at` (Unix seconds); `prices` are the customer's billed prices.
    pub(crate) fn step(
        &mut self,
        model: PricingModel,
        prices: &[Money; 4],
        at: i64,
        message: Message,
    ) -> BillingEffect {
        self.last_at = at;
        let category = match message {
            Message::Inbound => return self.inbound(at, false),
            Message::InboundViaFreeEntryPoint => return self.inbound(at, true),
            Message::Template(category) => category,
            Message::FreeForm => Category::Service,
        };
        // R4/P4: free-form only inside the service window, whatever else is open.
        if category == Category::Service && at >= self.service_window_until {
            return BillingEffect::Rejected {
                reason: self.rejection(),
            };
        }
        // R11: the first message sent inside the offer uses it up, whether or not it opens.
        let offered = at < self.entry_point_offer_until;
        if offered {
            self.entry_point_offer_until = NEVER;
        }
        // R12/P5: while a free entry point is open everything is free and nothing opens.
        if at < self.entry_point_until {
            return match model {
                PricingModel::Conversation2024 => BillingEffect::Joined {
                    kind: ConversationKind::FreeEntryPoint,
                    window: window_ending(self.entry_point_until, ENTRY_POINT_SECONDS),
                },
                PricingModel::PerMessage2025 => BillingEffect::Free {
                    reason: FreeReason::FreeEntryPoint,
                },
            };
        }
        if offered {
            return self.open_entry_point(prices, at);
        }
        match model {
            PricingModel::Conversation2024 => self.step_conversation(prices, at, category),
            PricingModel::PerMessage2025 => self.step_per_message(prices, at, category),
        }
    }

    /// R3: every inbound message restarts the service window; R11: one through a free entry
    /// point anchors the offer.
    fn inbound(&mut self, at: i64, via_entry_point: bool) -> BillingEffect {
        self.service_window_until = at.saturating_add(SERVICE_WINDOW_SECONDS);
        let offer = via_entry_point.then(|| {
            self.entry_point_offer_until = at.saturating_add(ENTRY_POINT_OFFER_SECONDS);
            Timestamp::from_unix_seconds(self.entry_point_offer_until)
        });
        BillingEffect::InboundRecorded {
            service_window: window_ending(self.service_window_until, SERVICE_WINDOW_SECONDS),
            entry_point_offer_until: offer,
        }
    }

    /// R12: the reply that uses up the offer opens a free entry point, which closes every
    /// open conversation.
    fn open_entry_point(&mut self, prices: &[Money; 4], at: i64) -> BillingEffect {
        let mut closed = CategorySet::EMPTY;
        for category in Category::ALL {
            let until = &mut self.conversation_until[category.index()];
            if at < *until {
                *until = at;
                closed.insert(category);
            }
        }
        self.entry_point_until = at.saturating_add(ENTRY_POINT_SECONDS);
        BillingEffect::Opened(OpenedConversation {
            kind: ConversationKind::FreeEntryPoint,
            window: window_ending(self.entry_point_until, ENTRY_POINT_SECONDS),
            price: Money::zero(prices[0].currency()),
            closed,
        })
    }

    /// Per-message pricing: free-form is free, utility is free inside the service window,
    /// anything else is charged at its price.
    fn step_per_message(&self, prices: &[Money; 4], at: i64, category: Category) -> BillingEffect {
        if category == Category::Service {
            BillingEffect::Free {
                reason: FreeReason::FreeForm,
            }
        } else if category == Category::Utility && at < self.service_window_until {
            BillingEffect::Free {
                reason: FreeReason::UtilityInServiceWindow,
            }
        } else {
            BillingEffect::Charged {
                category,
                price: prices[category.index()],
            }
        }
    }

    fn step_conversation(
        &mut self,
        prices: &[Money; 4],
        at: i64,
        category: Category,
    ) -> BillingEffect {
        // R5: a template joins an open conversation of its own category only.
        // R8: free-form joins any open conversation, preferring service.
        let joined = if category == Category::Service {
            [
                Category::Service,
                Category::Marketing,
                Category::Utility,
                Category::Authentication,
            ]
            .into_iter()
            .find(|c| at < self.conversation_until[c.index()])
        } else {
            Some(category).filter(|c| at < self.conversation_until[c.index()])
        };
        if let Some(open) = joined {
            return BillingEffect::Joined {
                kind: open.into(),
                window: window_ending(self.conversation_until[open.index()], CONVERSATION_SECONDS),
            };
        }
        // R7/R10: fixed 24 hours from now, priced once at opening.
        self.conversation_until[category.index()] = at.saturating_add(CONVERSATION_SECONDS);
        BillingEffect::Opened(OpenedConversation {
            kind: category.into(),
            window: Window::starting_at(Timestamp::from_unix_seconds(at), CONVERSATION_SECONDS),
            price: prices[category.index()],
            closed: CategorySet::EMPTY,
        })
    }
}

fn window_ending(end: i64, length: i64) -> Window {
    Window {
        start: Timestamp::from_unix_seconds(end.saturating_sub(length)),
        end: Timestamp::from_unix_seconds(end),
    }
}

/// Whether the business may send free-form messages to a customer now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeFormStatus {
    /// Yes, until `until` (exclusive), unless the customer writes again and extends it.
    Open {
        /// The instant the service window closes.
        until: Timestamp,
    },
    /// No: only templates may be sent.
    Closed {
        /// Why.
        reason: RejectReason,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_state_fills_one_cache_line() {
        assert_eq!(size_of::<CustomerState>(), 64);
        assert_eq!(align_of::<CustomerState>(), 64);
    }

    #[test]
    fn instants_at_the_end_of_time_do_not_overflow() {
        let mut state = CustomerState::NEW;
        let prices = [Money::from_micros(1, spoki_models::Currency::EUR); 4];
        let late = i64::MAX - 10;
        let inbound = state.step(
            PricingModel::Conversation2024,
            &prices,
            late,
            Message::Inbound,
        );
        assert!(matches!(inbound, BillingEffect::InboundRecorded { .. }));
        let reply = state.step(
            PricingModel::Conversation2024,
            &prices,
            late,
            Message::FreeForm,
        );
        assert!(matches!(
            reply,
            BillingEffect::Opened(OpenedConversation {
                kind: ConversationKind::Service,
                ..
            })
        ));
    }
}
