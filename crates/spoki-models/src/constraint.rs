//! Limits the API puts on request bodies ("at most 500 contacts", "the secret is not blank",
//! "phones are E.164"), declared in the spec and checked here, before anything is sent.
//!
//! The rules are data: each request model has its [`Rule`]s (`RULES`, checked by its
//! `validate()`), and each operation its body's ([`Operation::body_rules`]), generated from
//! the spec. This module is the one interpreter of them, used alike by typed calls, raw calls
//! and the local Spoki.
//!
//! [`Operation::body_rules`]: crate::operation::Operation::body_rules

/// The most contacts one sync request may carry (the spec's `max_items` of `contacts_sync_all`
/// and of a list sync; a test keeps them equal).
pub const MAX_CONTACTS_PER_SYNC: usize = 500;

use crate::{Phone, PhoneError, is_blank};
use serde_json::Value;
use std::fmt;

/// One limit on one field of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Where it applies: a field name, `[]` for every element of a list, joined with `.`
    /// (`contacts[].phone`); empty for the body itself.
    pub field: &'static str,
    /// What must hold there.
    pub check: Check,
}

/// What a [`Rule`] requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Check {
    /// A credential that is present and not blank.
    Secret,
    /// Text that is present and not blank.
    NotBlank,
    /// A list with `min` to `max` items (`max` of `None`: no upper limit).
    Items {
        /// The fewest items.
        min: usize,
        /// The most items.
        max: Option<usize>,
    },
    /// An E.164 phone number, when present.
    Phone,
}

/// What is wrong with a body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// A credential is missing or blank.
    BlankSecret,
    /// Text is missing or blank.
    Blank,
    /// Fewer items than allowed.
    TooFew {
        /// Items given.
        count: usize,
        /// The fewest allowed.
        min: usize,
    },
    /// More items than allowed.
    TooMany {
        /// Items given.
        count: usize,
        /// The most allowed.
        max: usize,
    },
    /// Not an E.164 phone number.
    Phone(PhoneError),
}

/// A body that breaks a [`Rule`]: which field (and which element of a list), and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstraintError {
    /// The rule's field, such as `contacts[].phone`.
    pub field: &'static str,
    /// The index of the failing element in each `[]` of `field`, outermost first.
    pub indexes: Vec<usize>,
    /// What is wrong.
    pub violation: Violation,
}

impl fmt::Display for ConstraintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `contacts[].phone` with index 3 reads `contacts[3].phone`.
        let mut indexes = self.indexes.iter();
        let field = if self.field.is_empty() {
            "the body".to_owned()
        } else {
            let mut at = String::new();
            for (i, part) in self.field.split("[]").enumerate() {
                if i > 0 {
                    match indexes.next() {
                        Some(n) => at.push_str(&format!("[{n}]")),
                        None => at.push_str("[]"),
                    }
                }
                at.push_str(part);
            }
            format!("`{at}`")
        };
        match &self.violation {
            Violation::BlankSecret => write!(f, "{field} is a credential and must not be blank"),
            Violation::Blank => write!(f, "{field} must not be blank"),
            Violation::TooFew { count, min } => {
                write!(f, "{field} has {count} items; at least {min} are needed")
            }
            Violation::TooMany { count, max } => {
                write!(f, "{field} has {count} items; at most {max} are allowed")
            }
            Violation::Phone(e) => write!(f, "{field}: {e}"),
        }
    }
}

impl std::error::Error for ConstraintError {}

/// A request model that checks its own [`Rule`]s on its typed fields (every generated
/// request model does), so that a typed call is checked without being encoded first.
pub trait Validate {
    /// The first rule the value breaks, if any.
    fn validate(&self) -> Result<(), ConstraintError>;
}

/// A credential that must be given and not blank, checked on a typed model.
#[doc(hidden)]
pub fn secret_at(
    field: &'static str,
    indexes: &[usize],
    value: Option<&crate::Secret>,
) -> Result<(), ConstraintError> {
    match value {
        Some(secret) if !secret.is_blank() => Ok(()),
        _ => Err(typed_error(field, indexes, Violation::BlankSecret)),
    }
}

/// Text that must be given and not blank, checked on a typed model.
#[doc(hidden)]
pub fn text_at(
    field: &'static str,
    indexes: &[usize],
    value: Option<&str>,
) -> Result<(), ConstraintError> {
    match value {
        Some(text) if !is_blank(text) => Ok(()),
        _ => Err(typed_error(field, indexes, Violation::Blank)),
    }
}

/// A list length within `min..=max`, checked on a typed model.
#[doc(hidden)]
pub fn items_at(
    field: &'static str,
    indexes: &[usize],
    count: usize,
    min: usize,
    max: Option<usize>,
) -> Result<(), ConstraintError> {
    let violation = match max {
        _ if count < min => Violation::TooFew { count, min },
        Some(max) if count > max => Violation::TooMany { count, max },
        _ => return Ok(()),
    };
    Err(typed_error(field, indexes, violation))
}

fn typed_error(field: &'static str, indexes: &[usize], violation: Violation) -> ConstraintError {
    ConstraintError {
        field,
        indexes: indexes.to_vec(),
        violation,
    }
}

/// Checks `body` against `rules`, in order; the first broken rule is the error.
pub fn check(rules: &[Rule], body: &Value) -> Result<(), ConstraintError> {
    for rule in rules {
        let path: Vec<&str> = if rule.field.is_empty() {
            Vec::new()
        } else {
            rule.field.split('.').collect()
        };
        visit(rule, &path, Some(body), &mut Vec::new())?;
    }
    Ok(())
}

/// Walks `path` from `value`; `[]` segments fan out over list elements.
fn visit(
    rule: &Rule,
    path: &[&str],
    value: Option<&Value>,
    indexes: &mut Vec<usize>,
) -> Result<(), ConstraintError> {
    let Some((first, rest)) = path.split_first() else {
        return apply(rule, value, indexes);
    };
    let (name, lists) = match first.find("[]") {
        Some(at) => (&first[..at], first[at..].matches("[]").count()),
        None => (*first, 0),
    };
    let mut here = if name.is_empty() {
        value
    } else {
        value.and_then(|v| v.get(name))
    };
    if lists == 0 {
        // An optional object that is absent has nothing inside to check; only the last
        // segment's absence counts (the field the rule is about).
        if here.is_none() && !rest.is_empty() {
            return Ok(());
        }
        return visit(rule, rest, here, indexes);
    }
    // One level of `[]` per segment is all the spec produces; an absent list has no items.
    let Some(items) = here.take().and_then(Value::as_array) else {
        return Ok(());
    };
    for (i, item) in items.iter().enumerate() {
        indexes.push(i);
        visit(rule, rest, Some(item), indexes)?;
        indexes.pop();
    }
    Ok(())
}

fn apply(rule: &Rule, value: Option<&Value>, indexes: &[usize]) -> Result<(), ConstraintError> {
    let fail = |violation| {
        Err(ConstraintError {
            field: rule.field,
            indexes: indexes.to_vec(),
            violation,
        })
    };
    let text = value.and_then(Value::as_str);
    match rule.check {
        Check::Secret if text.is_none_or(is_blank) => fail(Violation::BlankSecret),
        Check::NotBlank if text.is_none_or(is_blank) => fail(Violation::Blank),
        Check::Items { min, max } => {
            let count = value.and_then(Value::as_array).map_or(0, Vec::len);
            match max {
                _ if count < min => fail(Violation::TooFew { count, min }),
                Some(max) if count > max => fail(Violation::TooMany { count, max }),
                _ => Ok(()),
            }
        }
        Check::Phone => match text.map(Phone::parse) {
            Some(Err(e)) => fail(Violation::Phone(e)),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RULES: &[Rule] = &[
        Rule {
            field: "secret",
            check: Check::Secret,
        },
        Rule {
            field: "contacts",
            check: Check::Items {
                min: 1,
                max: Some(2),
            },
        },
        Rule {
            field: "contacts[].phone",
            check: Check::Phone,
        },
    ];

    fn violation(body: Value) -> Option<String> {
        check(RULES, &body).err().map(|e| e.to_string())
    }

    #[test]
    fn each_check_passes_at_its_limit_and_fails_past_it() {
        let ok = json!({"secret": "s", "contacts": [{"phone": "+393331234567"}]});
        assert_eq!(violation(ok), None);
        let two = json!({"secret": "s", "contacts": [{"phone": "+393331234567"}, {}]});
        assert_eq!(
            violation(two),
            None,
            "a missing phone is the model's business"
        );
        assert_eq!(
            violation(json!({"secret": " \u{0}", "contacts": [{}]})).as_deref(),
            Some("`secret` is a credential and must not be blank")
        );
        assert_eq!(
            violation(json!({"contacts": [{}]})).as_deref(),
            Some("`secret` is a credential and must not be blank")
        );
        assert_eq!(
            violation(json!({"secret": "s", "contacts": []})).as_deref(),
            Some("`contacts` has 0 items; at least 1 are needed")
        );
        assert_eq!(
            violation(json!({"secret": "s", "contacts": [{}, {}, {}]})).as_deref(),
            Some("`contacts` has 3 items; at most 2 are allowed")
        );
        let bad = check(
            RULES,
            &json!({"secret": "s", "contacts": [{"phone": "+393331234567"}, {"phone": "12"}]}),
        )
        .unwrap_err();
        assert_eq!(bad.indexes, [1]);
        assert!(bad.to_string().starts_with("`contacts[1].phone`"), "{bad}");
    }

    #[test]
    fn rules_inside_an_absent_optional_object_have_nothing_to_check() {
        let rules = [Rule {
            field: "header.text",
            check: Check::NotBlank,
        }];
        assert!(check(&rules, &json!({})).is_ok());
        assert!(check(&rules, &json!({"header": {"text": "Hi"}})).is_ok());
        let e = check(&rules, &json!({"header": {}})).unwrap_err();
        assert_eq!(e.violation, Violation::Blank);
    }

    #[test]
    fn a_root_list_is_the_empty_field() {
        let rules = [
            Rule {
                field: "",
                check: Check::Items {
                    min: 1,
                    max: Some(1),
                },
            },
            Rule {
                field: "[].phone",
                check: Check::Phone,
            },
        ];
        assert!(check(&rules, &json!([{"phone": "+393331234567"}])).is_ok());
        let e = check(&rules, &json!([])).unwrap_err();
        assert_eq!(e.to_string(), "the body has 0 items; at least 1 are needed");
        let e = check(&rules, &json!([{"phone": "x"}])).unwrap_err();
        assert_eq!(e.indexes, [0]);
        assert!(e.to_string().starts_with("`[0].phone`"), "{e}");
    }
}

#[cfg(test)]
mod sync_limit {
    use super::{Check, MAX_CONTACTS_PER_SYNC};
    use crate::operation::{CONTACTS_SYNC_ALL, LISTS_SYNC_CONTACTS};

    #[test]
    fn the_sync_limit_is_the_specs() {
        for op in [&CONTACTS_SYNC_ALL, &LISTS_SYNC_CONTACTS] {
            let max = op.body_rules.iter().find_map(|r| match r.check {
                Check::Items { max, .. } => max,
                _ => None,
            });
            assert_eq!(max, Some(MAX_CONTACTS_PER_SYNC), "{}", op.id);
        }
    }
}
