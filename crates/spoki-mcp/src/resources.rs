//! What an agent should read before it acts: the paying account (credit, conversations left)
//! and the approved templates with the placeholders each needs.

use crate::{Config, ToolError};
use futures::TryStreamExt;
use serde_json::{Value, json};
use spoki_client::Client;
use spoki_client::models::operation;
use spoki_models::redact_credentials;

/// The account resource.
pub const ACCOUNT: &str = "spoki://account";
/// The templates resource.
pub const TEMPLATES: &str = "spoki://templates";

/// The resources: `(uri, name, description)`.
pub const ALL: [(&str, &str, &str); 2] = [
    (
        ACCOUNT,
        "account",
        "The paying account: its credit and the conversations it still opens. Read it before a send or a campaign.",
    ),
    (
        TEMPLATES,
        "templates",
        "The approved templates, each with the placeholders a send must fill.",
    ),
];

/// The JSON text of the resource at `uri`, or `None` for an unknown one.
pub async fn read(client: &Client, config: &Config, uri: &str) -> Option<Result<Value, ToolError>> {
    let mut value = match uri {
        ACCOUNT => account(client, config).await,
        TEMPLATES => templates(client).await,
        _ => return None,
    };
    if let Ok(v) = &mut value {
        redact_credentials(v);
    }
    Some(value)
}

async fn account(client: &Client, config: &Config) -> Result<Value, ToolError> {
    Ok(match config.account {
        Some(id) => serde_json::to_value(client.accounts().get(id).await?).expect("models encode"),
        None => {
            let accounts: Vec<Value> = client
                .call_raw_items(
                    &operation::ACCOUNTS_LIST,
                    operation::ACCOUNTS_LIST.path,
                    &[],
                )?
                .try_collect()
                .await?;
            json!({ "accounts": accounts })
        }
    })
}

async fn templates(client: &Client) -> Result<Value, ToolError> {
    let op = &operation::TEMPLATES_LIST;
    let templates: Vec<Value> = client
        .call_raw_items(op, op.path, &[])?
        .try_collect()
        .await?;
    let approved: Vec<Value> = templates
        .into_iter()
        .filter(|t| t["is_approved"] == true)
        .map(|t| {
            json!({
                "id": t["id"],
                "name": t["name"],
                "category": t["category"],
                "languages": t["templatelocalization_set"].as_array().map(|l| {
                    l.iter().map(|l| l["language"].clone()).collect::<Vec<_>>()
                }),
                "placeholders": placeholders(&t),
            })
        })
        .collect();
    Ok(json!({ "templates": approved }))
}

/// The placeholders a template's texts use: Spoki's `%%NAME%%` custom fields and WhatsApp's
/// `{{1}}` parameters, each once, in order of appearance.
pub fn placeholders(template: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect(template, &mut found);
    found
}

fn collect(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            for name in between(text, "%%", "%%").chain(between(text, "{{", "}}")) {
                if !found.contains(&name) {
                    found.push(name);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, found)),
        Value::Object(map) => map.values().for_each(|v| collect(v, found)),
        _ => {}
    }
}

/// Every `open…close` in `text` whose inside is a placeholder name (letters, digits, `_`),
/// written with its delimiters.
fn between<'t>(text: &'t str, open: &'t str, close: &'t str) -> impl Iterator<Item = String> + 't {
    let mut rest = text;
    std::iter::from_fn(move || {
        loop {
            let start = rest.find(open)? + open.len();
            let Some(len) = rest[start..].find(close) else {
                rest = "";
                return None;
            };
            let name = &rest[start..start + len];
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if valid {
                rest = &rest[start + len + close.len()..];
                return Some(format!("{open}{name}{close}"));
            }
            rest = &rest[start..];
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_of_every_text_in_order() {
        let template = json!({"templatelocalization_set": [{
            "body_template_component": {"text": "Hello %%FIRST_NAME%%, it expires on %%DATE_EXPIRE_SCRIPTION%%. 100%% sure {{1}}"},
            "header_template_component": {"text": "%%FIRST_NAME%% {{ x }}"},
        }]});
        assert_eq!(
            placeholders(&template),
            ["%%FIRST_NAME%%", "%%DATE_EXPIRE_SCRIPTION%%", "{{1}}"]
        );
    }
}
