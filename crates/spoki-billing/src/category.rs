//! Billing categories and conversation kinds.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The four WhatsApp billing categories.
///
/// Marketing, utility and authentication are the categories of approved templates (the SDK's
/// [`spoki_models::TemplateCategory`] converts to them); service is what free-form
/// (non-template) messages are billed as, and no template carries it.
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

/// The SDK's template category (as Spoki's templates carry it) is billed under the category of
/// the same name; a value this version does not know cannot be priced.
impl TryFrom<&spoki_models::TemplateCategory> for Category {
    type Error = UnknownCategory;

    fn try_from(category: &spoki_models::TemplateCategory) -> Result<Self, Self::Error> {
        match category {
            spoki_models::TemplateCategory::Marketing => Ok(Category::Marketing),
            spoki_models::TemplateCategory::Utility => Ok(Category::Utility),
            spoki_models::TemplateCategory::Authentication => Ok(Category::Authentication),
            other => Err(UnknownCategory(other.as_str().to_owned())),
        }
    }
}

/// The template category billed under `category`; service has no templates.
impl TryFrom<Category> for spoki_models::TemplateCategory {
    type Error = UnknownCategory;

    fn try_from(category: Category) -> Result<Self, Self::Error> {
        match category {
            Category::Marketing => Ok(spoki_models::TemplateCategory::Marketing),
            Category::Utility => Ok(spoki_models::TemplateCategory::Utility),
            Category::Authentication => Ok(spoki_models::TemplateCategory::Authentication),
            Category::Service => Err(UnknownCategory(Category::Service.to_string())),
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
        for category in spoki_models::TemplateCategory::KNOWN {
            let billed = Category::try_from(category).unwrap();
            assert_eq!(
                spoki_models::TemplateCategory::try_from(billed).as_ref(),
                Ok(category)
            );
        }
        assert!(spoki_models::TemplateCategory::try_from(Category::Service).is_err());
        let unknown = spoki_models::TemplateCategory::Unknown("ACCOUNT_UPDATE".into());
        assert_eq!(
            Category::try_from(&unknown),
            Err(UnknownCategory("ACCOUNT_UPDATE".into()))
        );
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
