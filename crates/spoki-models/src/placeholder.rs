//! The `%%CODE%%` placeholders of a template, and the check that a send gives each a value.
//!
//! Spoki fills a template's `%%CODE%%` placeholders from the send's `custom_fields`, and the
//! contact placeholders (`%%FIRST_NAME%%`, `%%LAST_NAME%%`, `%%EMAIL%%`, `%%PHONE%%`) from the
//! contact. WhatsApp refuses a template whose values do not match its parameters
//! (`whatsapp::132000`), and for an automation it does so after Spoki accepted the start: the
//! check here catches it before anything is sent.

use crate::{AutomationContact, AutomationStart, AutomationStartBulk, SendTemplate, Template};
use std::collections::BTreeMap;
use std::fmt;

/// The placeholders Spoki fills from the contact rather than from `custom_fields`.
pub const CONTACT_PLACEHOLDERS: [&str; 4] = ["FIRST_NAME", "LAST_NAME", "EMAIL", "PHONE"];

/// The custom-field codes a template's texts use (`DATE_EXPIRE` for `%%DATE_EXPIRE%%`), each
/// once, in order of appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placeholders {
    codes: Vec<String>,
}

impl Placeholders {
    /// The placeholders of every localization of `template`: header, body, footer and
    /// buttons, and the codes its `customfield_set` lists.
    pub fn of_template(template: &Template) -> Placeholders {
        let mut found = Placeholders::default();
        for localization in &template.templatelocalization_set {
            let components = [
                &localization.header_template_component,
                &localization.body_template_component,
                &localization.footer_template_component,
            ];
            for text in components
                .into_iter()
                .flatten()
                .filter_map(|c| c.text.as_deref())
            {
                found.add_text(text);
            }
            for button in &localization.templatebuttoncomponent_set {
                for text in [&button.text, &button.url].into_iter().flatten() {
                    found.add_text(text);
                }
            }
        }
        for listed in &template.customfield_set {
            let code = match listed {
                serde_json::Value::String(code) => Some(code.as_str()),
                serde_json::Value::Object(map) => map
                    .get("key")
                    .or_else(|| map.get("name"))
                    .and_then(|v| v.as_str()),
                _ => None,
            };
            if let Some(code) = code {
                found.add(code.trim_matches('%'));
            }
        }
        found
    }

    /// The placeholders of one text.
    pub fn in_text(text: &str) -> Placeholders {
        let mut found = Placeholders::default();
        found.add_text(text);
        found
    }

    /// The codes, in order of appearance.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.codes.iter().map(String::as_str)
    }

    /// Whether the template has none.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The codes that `custom_fields` must give: all but the contact placeholders.
    pub fn custom(&self) -> impl Iterator<Item = &str> {
        self.codes().filter(|c| !CONTACT_PLACEHOLDERS.contains(c))
    }

    /// The custom codes `custom_fields` gives no non-blank value for.
    pub fn missing(&self, custom_fields: &BTreeMap<String, String>) -> Vec<String> {
        self.custom()
            .filter(|code| custom_fields.get(*code).is_none_or(|v| v.trim().is_empty()))
            .map(str::to_owned)
            .collect()
    }

    /// Refuses `custom_fields` unless it covers every custom placeholder.
    pub fn check(
        &self,
        custom_fields: &BTreeMap<String, String>,
    ) -> Result<(), MissingPlaceholders> {
        let missing = self.missing(custom_fields);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(MissingPlaceholders {
                missing,
                contact: None,
            })
        }
    }

    fn add(&mut self, code: &str) {
        if !code.is_empty() && !self.codes.iter().any(|c| c == code) {
            self.codes.push(code.to_owned());
        }
    }

    fn add_text(&mut self, text: &str) {
        let mut rest = text;
        while let Some(start) = rest.find("%%") {
            let after = &rest[start + 2..];
            let Some(len) = after.find("%%") else { break };
            let code = &after[..len];
            if is_code(code) {
                self.add(code);
                rest = &after[len + 2..];
            } else {
                // `100%% sure %%NAME%%`: the second `%%` may open the next placeholder.
                rest = after;
            }
        }
    }
}

fn is_code(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The text values of a JSON `custom_fields` object, by code: what a send gives its
/// template's placeholders (anything else, or a value that is not text, gives nothing).
pub fn given(custom_fields: &serde_json::Value) -> BTreeMap<String, String> {
    custom_fields
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(code, value)| Some((code.clone(), value.as_str()?.to_owned())))
        .collect()
}

/// A send whose `custom_fields` leave placeholders of its template without a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingPlaceholders {
    /// The codes without a value, as the template writes them without `%%`.
    pub missing: Vec<String>,
    /// In a bulk start, the index of the first contact that lacks them.
    pub contact: Option<usize>,
}

impl fmt::Display for MissingPlaceholders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(index) = self.contact {
            write!(f, "contact {index}: ")?;
        }
        write!(f, "custom_fields lacks a value for {}", list(&self.missing))
    }
}

impl std::error::Error for MissingPlaceholders {}

fn list(codes: &[String]) -> String {
    codes
        .iter()
        .map(|c| format!("%%{c}%%"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Placeholders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&list(&self.codes))
    }
}

/// A request that fills a template's placeholders.
pub trait FillsPlaceholders {
    /// Refuses the request unless it gives a value for every custom placeholder.
    fn check_placeholders(&self, needed: &Placeholders) -> Result<(), MissingPlaceholders>;
}

impl FillsPlaceholders for SendTemplate {
    fn check_placeholders(&self, needed: &Placeholders) -> Result<(), MissingPlaceholders> {
        needed.check(&self.custom_fields)
    }
}

impl FillsPlaceholders for AutomationStart {
    fn check_placeholders(&self, needed: &Placeholders) -> Result<(), MissingPlaceholders> {
        needed.check(&self.custom_fields)
    }
}

impl FillsPlaceholders for AutomationContact {
    fn check_placeholders(&self, needed: &Placeholders) -> Result<(), MissingPlaceholders> {
        needed.check(&self.custom_fields)
    }
}

impl FillsPlaceholders for AutomationStartBulk {
    fn check_placeholders(&self, needed: &Placeholders) -> Result<(), MissingPlaceholders> {
        for (index, contact) in self.contacts.iter().enumerate() {
            contact.check_placeholders(needed).map_err(|mut e| {
                e.contact = Some(index);
                e
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_of_a_text_once_in_order() {
        let text = "Hello %%FIRST_NAME%%, it expires on %%DATE_EXPIRE_SCRIPTION%%. 100%% sure, \
                    %%FIRST_NAME%% %%not a code%% {{1}} %%";
        let found = Placeholders::in_text(text);
        assert_eq!(
            found.codes().collect::<Vec<_>>(),
            ["FIRST_NAME", "DATE_EXPIRE_SCRIPTION"]
        );
        assert_eq!(
            found.custom().collect::<Vec<_>>(),
            ["DATE_EXPIRE_SCRIPTION"]
        );
    }

    #[test]
    fn a_send_must_give_every_custom_code_a_value() {
        let needed = Placeholders::in_text("%%FIRST_NAME%% %%DATE_EXPIRE%% %%PLAN%%");
        let mut fields = BTreeMap::from([("PLAN".to_owned(), "Gold".to_owned())]);
        let error = needed.check(&fields).unwrap_err();
        assert_eq!(error.missing, ["DATE_EXPIRE"]);
        assert_eq!(
            error.to_string(),
            "custom_fields lacks a value for %%DATE_EXPIRE%%"
        );
        fields.insert("DATE_EXPIRE".into(), "  ".into());
        assert!(
            needed.check(&fields).is_err(),
            "a blank value fills nothing"
        );
        fields.insert("DATE_EXPIRE".into(), "2026-12-31".into());
        assert_eq!(needed.check(&fields), Ok(()));
    }
}
