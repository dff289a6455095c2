//! Billing categories and conversation kinds.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The four WhatsApp billing categories.
///
/// Marketing, utility and authentication are carried by approved templates; service is what
/// free-form (non-template) messages are billed as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Promotions, offers, invitations to act.
    Marketing = 0,
    /// Updates on an agreed request or transaction.
    Utility = 1,
    /// One-time codes to verify the user.
    Authentication = 2,
    /// Free-form answers to the customer.
    Service = 3,
}

impl Category {
    /// All four, in declaration order (the order of their indexes).
    pub const ALL: [Category; 4] = [
        Category::Marketing,
        Category::Utility,
        Category::Authentication,
        Category::Service,
    ];

    /// Position in [`Category::ALL`], for per-category arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The lowercase name used in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::Marketing => "marketing",
            Category::Utility => "utility",
            Category::Authentication => "authentication",
            Category::Service => "service",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The category an approved template carries when it is sent (service has no templates).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateCategory {
    /// A marketing template.
    Marketing,
    /// A utility template.
    Utility,
    /// An authentication template.
    Authentication,
}

impl From<TemplateCategory> for Category {
    fn from(category: TemplateCategory) -> Self {
        match category {
            TemplateCategory::Marketing => Category::Marketing,
            TemplateCategory::Utility => Category::Utility,
            TemplateCategory::Authentication => Category::Authentication,
        }
    }
}

impl fmt::Display for TemplateCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Category::from(*self).fmt(f)
    }
}

/// What kind of conversation is open: one per billing category, plus the free entry point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// Opened by a marketing template.
    Marketing,
    /// Opened by a utility template.
    Utility,
    /// Opened by an authentication template.
    Authentication,
    /// Opened by a free-form reply inside the customer-service window.
    Service,
    /// 72 free hours opened by replying to a click-to-WhatsApp ad or Page button message.
    FreeEntryPoint,
}

impl From<Category> for ConversationKind {
    fn from(category: Category) -> Self {
        match category {
            Category::Marketing => ConversationKind::Marketing,
            Category::Utility => ConversationKind::Utility,
            Category::Authentication => ConversationKind::Authentication,
            Category::Service => ConversationKind::Service,
        }
    }
}

impl fmt::Display for ConversationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConversationKind::Marketing => Category::Marketing.fmt(f),
            ConversationKind::Utility => Category::Utility.fmt(f),
            ConversationKind::Authentication => Category::Authentication.fmt(f),
            ConversationKind::Service => Category::Service.fmt(f),
            ConversationKind::FreeEntryPoint => f.write_str("free_entry_point"),
        }
    }
}

/// A set of billing categories (used for the conversations a free entry point closes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CategorySet(u8);

impl CategorySet {
    /// No category.
    pub const EMPTY: CategorySet = CategorySet(0);

    /// Adds `category`.
    pub fn insert(&mut self, category: Category) {
        self.0 |= 1 << category.index();
    }

    /// Whether `category` is in the set.
    pub const fn contains(self, category: Category) -> bool {
        self.0 & (1 << category as usize) != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The categories in the set, in [`Category::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Category> {
        Category::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

impl FromIterator<Category> for CategorySet {
    fn from_iter<I: IntoIterator<Item = Category>>(iter: I) -> Self {
        let mut set = CategorySet::EMPTY;
        for category in iter {
            set.insert(category);
        }
        set
    }
}

/// The SDK's template category (as Spoki's templates carry it) is one of the billed ones, or
/// a value this version does not know, which cannot be billed.
impl TryFrom<&spoki_models::TemplateCategory> for TemplateCategory {
    type Error = UnknownCategory;

    fn try_from(category: &spoki_models::TemplateCategory) -> Result<Self, Self::Error> {
        match category {
            spoki_models::TemplateCategory::Marketing => Ok(TemplateCategory::Marketing),
            spoki_models::TemplateCategory::Utility => Ok(TemplateCategory::Utility),
            spoki_models::TemplateCategory::Authentication => Ok(TemplateCategory::Authentication),
            other => Err(UnknownCategory(format!("{other:?}"))),
        }
    }
}

impl From<TemplateCategory> for spoki_models::TemplateCategory {
    fn from(category: TemplateCategory) -> Self {
        match category {
            TemplateCategory::Marketing => spoki_models::TemplateCategory::Marketing,
            TemplateCategory::Utility => spoki_models::TemplateCategory::Utility,
            TemplateCategory::Authentication => spoki_models::TemplateCategory::Authentication,
        }
    }
}

/// A template category the billing model does not know, so cannot price.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template category {0} is not one the billing model can price")]
pub struct UnknownCategory(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_json_spelling() {
        for category in Category::ALL {
            let json = serde_json::to_string(&category).unwrap();
            assert_eq!(json, format!("\"{category}\""));
        }
        let kind: ConversationKind = serde_json::from_str("\"free_entry_point\"").unwrap();
        assert_eq!(kind, ConversationKind::FreeEntryPoint);
        assert_eq!(kind.to_string(), "free_entry_point");
        assert!(serde_json::from_str::<TemplateCategory>("\"service\"").is_err());
    }

    #[test]
    fn category_set_keeps_members() {
        let set: CategorySet = [Category::Utility, Category::Service].into_iter().collect();
        assert!(set.contains(Category::Utility) && set.contains(Category::Service));
        assert!(!set.contains(Category::Marketing));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Category::Utility, Category::Service]
        );
        assert!(CategorySet::EMPTY.is_empty());
    }
}
