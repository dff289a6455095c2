//! One operation tool called: its arguments checked and turned into the call, the call sent
//! through the client (paced and retried as every call is), and the answer masked.

use crate::schema::{self, IDEMPOTENCY_KEY, ITEMS, LIMIT};
use crate::{Config, ToolError};
use futures::{StreamExt, TryStreamExt};
use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use serde_json::{Map, Value, json};
use spoki_client::Client;
use spoki_models::operation::{AuthKind, Body, FieldType, Operation};
use spoki_models::redact_credentials;

/// A call built from a tool's arguments: everything checked, nothing sent yet.
#[derive(Debug)]
pub struct Prepared {
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// For a list: how many items to return.
    pub limit: Option<usize>,
    /// The idempotency key, for a send.
    pub key: Option<String>,
}

/// Checks `arguments` against `op`'s schema and builds the call.
pub fn prepare(
    op: &Operation,
    mut args: JsonObject,
    config: &Config,
) -> Result<Prepared, ToolError> {
    let key = match args.remove(IDEMPOTENCY_KEY) {
        None => None,
        Some(Value::String(k)) if op.recipients.is_some() && !k.trim().is_empty() => Some(k),
        Some(_) if op.recipients.is_none() => {
            return Err(ToolError::UnknownArgument(IDEMPOTENCY_KEY.into()));
        }
        Some(_) => return Err(argument(IDEMPOTENCY_KEY, "must be non-empty text")),
    };
    let limit = match args.remove(LIMIT) {
        Some(v) if schema::pages(op) => {
            let n = v.as_u64().filter(|n| (1..=schema::MAX_LIMIT).contains(n));
            Some(n.ok_or_else(|| argument(LIMIT, "must be an integer from 1 to 1000"))? as usize)
        }
        Some(_) => return Err(ToolError::UnknownArgument(LIMIT.into())),
        None => schema::pages(op).then_some(schema::DEFAULT_LIMIT as usize),
    };
    let path = spoki_client::api::fill_path(op, |name| args.remove(name).map(text)).map_err(
        |e| match e {
            spoki_client::Error::InvalidInput(spoki_client::InputError::MissingParameter(p)) => {
                argument(p, "is required")
            }
            other => ToolError::Spoki(other),
        },
    )?;
    let mut query = Vec::new();
    for q in op.query {
        if let Some(value) = args.remove(q.name) {
            query.push((q.name.to_owned(), text(value)));
        }
    }
    let body = body(op, &mut args, config)?;
    if let Some(name) = args.keys().next() {
        return Err(ToolError::UnknownArgument(name.clone()));
    }
    if let (Some(path), Some(body)) = (op.recipients, &body) {
        config.recipients.check(path, body)?;
    }
    Ok(Prepared {
        path,
        query,
        body,
        limit,
        key,
    })
}

fn argument(name: &str, problem: &str) -> ToolError {
    ToolError::Argument {
        name: name.to_owned(),
        problem: problem.to_owned(),
    }
}

/// A path or query value as text: strings as they are, anything else as JSON.
fn text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// The body: the tool's body arguments, the operation's constants and the server's secret.
fn body(
    op: &Operation,
    args: &mut JsonObject,
    config: &Config,
) -> Result<Option<Value>, ToolError> {
    let body = match op.body {
        Body::None => return Ok(None),
        Body::Array { .. } => args
            .remove(ITEMS)
            .ok_or_else(|| argument(ITEMS, "is required: the body, a JSON array"))?,
        Body::Object { fields, .. } => {
            let mut map = op.body.constants();
            for f in fields {
                let name = schema::body_argument(op, f);
                if f.ty == FieldType::Secret {
                    if args.contains_key(&name) {
                        return Err(ToolError::SecretGiven(name));
                    }
                    if let Some(secret) = server_secret(op, config) {
                        map.insert(f.name.to_owned(), Value::String(secret.to_owned()));
                    } else if op.requires_field(f.name) {
                        return Err(ToolError::NoSecret(f.name));
                    }
                } else if let Some(value) = args.remove(&name) {
                    map.insert(f.name.to_owned(), value);
                } else if op.requires_field(f.name) {
                    return Err(argument(&name, "is required"));
                }
            }
            Value::Object(map)
        }
    };
    op.body.decode(&body).map_err(|e| ToolError::Argument {
        name: e.field().unwrap_or("arguments").to_owned(),
        problem: e.unquoted(),
    })?;
    Ok(Some(body))
}

/// The secret the server holds for `op`: the automation's, for an automation start.
fn server_secret<'c>(op: &Operation, config: &'c Config) -> Option<&'c str> {
    match op.auth {
        AuthKind::AutomationSecret => config.automation_secret.as_ref().map(|s| s.expose()),
        _ => None,
    }
}

/// Sends the prepared call and shapes the answer.
pub async fn send(
    client: &Client,
    op: &'static Operation,
    call: &Prepared,
) -> Result<CallToolResult, ToolError> {
    let query: Vec<(&str, &str)> = call
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let answer = match call.limit {
        Some(limit) => {
            let items: Vec<Value> = client
                .call_raw_items(op, &call.path, &query)?
                .take(limit)
                .try_collect()
                .await?;
            json!({"count": items.len(), "limit": limit, "items": items})
        }
        None => {
            client
                .call_raw(op, &call.path, &query, call.body.as_ref())
                .await?
        }
    };
    Ok(answer_result(answer))
}

/// An answer as a tool result: JSON text and structured content, credentials masked.
pub fn answer_result(mut answer: Value) -> CallToolResult {
    redact_credentials(&mut answer);
    let structured = match answer {
        Value::Object(map) => Value::Object(map),
        Value::Null => json!({"done": true}),
        other => Value::Object(Map::from_iter([("result".to_owned(), other)])),
    };
    let text = serde_json::to_string_pretty(&structured).expect("JSON values encode");
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    result
}
