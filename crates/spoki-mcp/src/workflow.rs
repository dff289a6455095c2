//! The campaign tools: `campaign_estimate` prices a template campaign against the account's
//! credit and, when the credit covers it, hands out a confirmation token; `campaign_start`
//! takes that token and starts the automation for the estimated recipients, in bulk, with the
//! automation's secret from the server's configuration.

use crate::{Config, ToolError, call::answer_result};
use rmcp::model::{CallToolResult, JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};
use spoki_billing::{Category, Customer, Timestamp};
use spoki_client::models::{AutomationContact, AutomationStartBulk, Phone};
use spoki_client::{Client, MAX_CONTACTS_PER_SYNC};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The estimate tool's name.
pub const ESTIMATE: &str = "campaign_estimate";
/// The start tool's name.
pub const START: &str = "campaign_start";
/// How long a confirmation token stays valid.
const TOKEN_LIFETIME: Duration = Duration::from_secs(600);

/// An estimate waiting for its start.
#[derive(Debug)]
struct Estimated {
    recipients: Vec<Phone>,
    /// Why the credit does not cover it, if it does not.
    shortfall: Option<String>,
    at: Instant,
}

/// The confirmation tokens handed out and not yet used.
#[derive(Debug, Default)]
pub struct Tokens(Mutex<HashMap<String, Estimated>>);

impl Tokens {
    fn take(&self, token: &str) -> Option<Estimated> {
        let mut tokens = self.0.lock().unwrap_or_else(|e| e.into_inner());
        tokens.retain(|_, e| e.at.elapsed() < TOKEN_LIFETIME);
        tokens.remove(token)
    }

    fn give(&self, recipients: Vec<Phone>, shortfall: Option<String>) -> String {
        let token = uuid::Uuid::new_v4().to_string();
        let estimated = Estimated {
            recipients,
            shortfall,
            at: Instant::now(),
        };
        let mut tokens = self.0.lock().unwrap_or_else(|e| e.into_inner());
        tokens.insert(token.clone(), estimated);
        token
    }
}

/// The two campaign tools; `campaign_start` only when the server may write.
pub fn tools(read_only: bool) -> Vec<Tool> {
    let estimate = Tool::new(
        ESTIMATE,
        "What a template campaign costs, in money and paid conversations, against the paying account's credit. \
         Give the recipients and the template (its category is read from it) or the category. \
         The answer has a `confirmation`: campaign_start takes it, and starts the campaign only if the credit covered it.",
        object(json!({
            "recipients": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$"},
                           "description": "E.164 phones of the recipients."},
            "template": {"type": "integer", "description": "The template to send; its category prices the campaign."},
            "category": {"type": "string", "enum": ["marketing", "utility", "authentication"],
                         "description": "The template category, when no template is given."},
            "account": {"type": "integer", "description": "The paying account [default: the server's]."},
        }), &["recipients"]),
    )
    .with_annotations(ToolAnnotations::new().read_only(true).destructive(false).idempotent(true).open_world(true));
    let start = Tool::new(
        START,
        "Starts the automation for every recipient of an estimate the credit covers, in bulk (500 per call), with the automation's \
         secret from the server's configuration. Needs the `confirmation` of campaign_estimate; each token starts once.",
        object(json!({
            "confirmation": {"type": "string", "description": "From a campaign_estimate the credit covers."},
            "automation": {"type": "string", "description": "The automation's uuid [default: the server's]."},
        }), &["confirmation"]),
    )
    .with_annotations(ToolAnnotations::new().read_only(false).destructive(false).idempotent(false).open_world(true));
    if read_only {
        vec![estimate]
    } else {
        vec![estimate, start]
    }
}

fn object(properties: Value, required: &[&str]) -> JsonObject {
    let schema = json!({"type": "object", "properties": properties, "required": required,
                        "additionalProperties": false});
    match schema {
        Value::Object(map) => map,
        _ => unreachable!("built as an object"),
    }
}

/// `campaign_estimate`.
pub async fn estimate(
    client: &Client,
    config: &Config,
    tokens: &Tokens,
    args: JsonObject,
) -> Result<CallToolResult, ToolError> {
    let recipients = phones(&args)?;
    let category = match (args.get("template"), args.get("category")) {
        (Some(template), _) => {
            let id = template
                .as_i64()
                .ok_or_else(|| bad("template", "must be an integer"))?;
            let template = client.templates().get(id).send().await?;
            template
                .category
                .as_ref()
                .and_then(|c| Category::try_from(c).ok())
                .ok_or_else(|| bad("template", "has no category the billing model can price"))?
        }
        (None, Some(Value::String(c))) => category(c)?,
        _ => return Err(bad("category", "give a template or a category")),
    };
    let account = match args.get("account") {
        Some(v) => v
            .as_i64()
            .ok_or_else(|| bad("account", "must be an integer"))?,
        None => config
            .account
            .ok_or_else(|| bad("account", "is required: the server has none"))?,
    };
    let customers = recipients
        .iter()
        .map(|p| Customer::parse(p.as_str()).map_err(|e| bad("recipients", &e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let estimate = config
        .ledger
        .estimate_campaign(customers, category, Timestamp::now())?;
    let account = client.accounts().get(account).await?;
    let coverage = config.ledger.coverage(estimate, &account)?;
    let mut answer = serde_json::to_value(coverage).expect("a coverage encodes");
    answer["covered"] = json!(coverage.covered());
    let shortfall = (!coverage.covered()).then(|| {
        let credit = coverage.credit.map_or("unknown".into(), |c| c.to_string());
        let available = coverage
            .available_conversations
            .map_or("unknown".into(), |a| a.to_string());
        format!(
            "it costs {} and {} paid conversations; the account has {credit} and {available} conversations",
            coverage.estimate.total_cost, coverage.estimate.new_paid_conversations
        )
    });
    answer["confirmation"] = json!(tokens.give(recipients, shortfall));
    answer["expires_in_seconds"] = json!(TOKEN_LIFETIME.as_secs());
    Ok(answer_result(answer))
}

/// `campaign_start`.
pub async fn start(
    client: &Client,
    config: &Config,
    tokens: &Tokens,
    args: JsonObject,
) -> Result<CallToolResult, ToolError> {
    let token = args
        .get("confirmation")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("confirmation", "is required"))?;
    let automation = match args.get("automation") {
        Some(Value::String(uuid)) => uuid.clone(),
        Some(_) => return Err(bad("automation", "must be the automation's uuid")),
        None => config
            .automation
            .clone()
            .ok_or_else(|| bad("automation", "is required: the server has none"))?,
    };
    let secret = config
        .automation_secret
        .as_ref()
        .ok_or(ToolError::NoSecret("secret"))?;
    let estimated = tokens.take(token).ok_or(ToolError::UnknownToken)?;
    if let Some(shortfall) = estimated.shortfall {
        return Err(ToolError::NotCovered(shortfall));
    }
    for (i, phone) in estimated.recipients.iter().enumerate() {
        config
            .recipients
            .check("phone", &json!({ "phone": phone.as_str() }))
            .map_err(|_| ToolError::NotAllowed {
                at: format!("recipients[{i}]"),
            })?;
    }
    let mut started = 0;
    for chunk in estimated.recipients.chunks(MAX_CONTACTS_PER_SYNC) {
        let contacts = chunk.iter().cloned().map(AutomationContact::new);
        let body = AutomationStartBulk::new(secret.expose(), contacts);
        if let Err(error) = client.automations().start_bulk(&automation, &body).await {
            return Err(ToolError::CampaignStopped {
                started,
                error: Box::new(error),
            });
        }
        started += chunk.len();
    }
    Ok(answer_result(
        json!({"started": started, "automation": automation}),
    ))
}

fn phones(args: &JsonObject) -> Result<Vec<Phone>, ToolError> {
    let list = args
        .get("recipients")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| bad("recipients", "must be a non-empty list of E.164 phones"))?;
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            Phone::parse(v.as_str().unwrap_or_default())
                .map_err(|e| bad(&format!("recipients[{i}]"), &e.to_string()))
        })
        .collect()
}

fn category(name: &str) -> Result<Category, ToolError> {
    match name {
        "marketing" => Ok(Category::Marketing),
        "utility" => Ok(Category::Utility),
        "authentication" => Ok(Category::Authentication),
        _ => Err(bad(
            "category",
            "must be marketing, utility or authentication",
        )),
    }
}

fn bad(name: &str, problem: &str) -> ToolError {
    ToolError::Argument {
        name: name.to_owned(),
        problem: problem.to_owned(),
    }
}
