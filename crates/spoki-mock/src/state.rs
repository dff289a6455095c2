//! What the local Spoki remembers: accounts and their records, automations, service users,
//! sent messages and webhook deliveries. All of it is plain data, saved as JSON with `--state`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use spoki_models::{Currency, MessageContentType, Money, Timestamp};
use std::collections::BTreeMap;

/// Version of the state file's layout.
pub const STATE_VERSION: u32 = 2;

/// The credentials and ids of the demo data every new mock starts with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fixtures {
    /// The agency (main account) id, for `agencies_get`.
    pub agency_id: i64,
    /// The agency's key: reads every client account.
    pub agency_api_key: String,
    /// The demo client account.
    pub client_account_id: i64,
    /// The client account's own key.
    pub client_api_key: String,
    /// A second client account, with no credit left.
    pub empty_account_id: i64,
    /// Its key.
    pub empty_account_api_key: String,
    /// The client's automation, started with its secret.
    pub automation_uuid: String,
    /// The automation's secret.
    pub automation_secret: String,
    /// A marketing template of the client account.
    pub marketing_template_id: i64,
    /// A utility template of the client account.
    pub utility_template_id: i64,
    /// A contact of the client account, with a chat link.
    pub contact_id: i64,
    /// The service user's role id.
    pub service_user_role_id: i64,
    /// The service user's email, for the iframe token exchange.
    pub email: String,
    /// The service user's private key.
    pub private_key: String,
    /// The secret new webhooks sign their deliveries with.
    pub webhook_secret: String,
}

impl Default for Fixtures {
    fn default() -> Self {
        Fixtures {
            agency_id: 1,
            agency_api_key: "demo-agency-api-key".into(),
            client_account_id: 101,
            client_api_key: "demo-client-api-key".into(),
            empty_account_id: 102,
            empty_account_api_key: "demo-empty-account-api-key".into(),
            automation_uuid: "2b8e61f4-58a1-4c1e-9b1d-0d6f1f7c3a10".into(),
            automation_secret: "demo-automation-secret".into(),
            marketing_template_id: 1,
            utility_template_id: 2,
            contact_id: 9001,
            service_user_role_id: 77,
            email: "crm-service@pizzeria.example".into(),
            private_key: "demo-private-key".into(),
            webhook_secret: "whsec_demo-webhook-secret".into(),
        }
    }
}

/// Everything the mock keeps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct State {
    pub version: u32,
    pub fixtures: Fixtures,
    pub next_id: i64,
    pub agency: Agency,
    pub accounts: BTreeMap<i64, Account>,
    pub automations: Vec<Automation>,
    pub service_users: Vec<ServiceUser>,
    pub messages: Vec<SentMessage>,
    pub deliveries: Vec<Delivery>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Agency {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub api_key: String,
}

/// One Spoki account and its records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Account {
    pub id: i64,
    pub name: String,
    pub api_key: String,
    pub phone: String,
    /// Credit, exactly (Spoki shows whole thousandths of EUR).
    #[serde(with = "spoki_models::wire::exact_money")]
    pub credit: Money,
    /// Records per resource group (`contacts`, `templates`, `webhooks`, ...), by id, as the
    /// JSON Spoki answers with.
    pub records: BTreeMap<String, BTreeMap<i64, Value>>,
    /// The billing events of this account in order, as `spoki-billing` event JSON; the ledger
    /// is rebuilt from them when state is loaded.
    pub billing_events: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Automation {
    pub id: i64,
    pub uuid: String,
    pub secret: String,
    pub account_id: i64,
    pub template_id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ServiceUser {
    pub account_id: i64,
    pub role_id: i64,
    pub email: String,
    pub private_key: Option<String>,
}

/// A message the mock accepted for sending: every successful send, and the automation sends
/// that failed after the start was accepted (no credit left).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct SentMessage {
    /// The message's uuid, as in `message.outbound` deliveries.
    pub uuid: String,
    /// The account that sent it.
    pub account_id: i64,
    /// The operation (or automation start) it came from.
    pub operation: String,
    /// The recipient.
    pub phone: String,
    /// What it carries, as its `message.outbound` deliveries name it.
    pub kind: MessageContentType,
    /// The template, for template messages.
    pub template_id: Option<i64>,
    /// `Sent`, or `Error` when it could not go out (no credit left).
    pub send_status: spoki_models::SendStatus,
    /// Why it failed, when it did.
    pub error_code: Option<String>,
    /// What it cost, exactly as the rate card prices it (zero when it did not go out).
    #[serde(with = "spoki_models::wire::exact_money")]
    pub cost: Money,
    /// When it was sent.
    pub at: Timestamp,
}

/// One webhook delivery and every attempt at it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct Delivery {
    /// Position in the delivery log.
    pub id: u64,
    /// The webhook it is for.
    pub webhook_id: i64,
    /// Where it is POSTed.
    pub url: String,
    /// The event name (`message.inbound`, ...).
    pub event: String,
    /// The body, exactly as sent (and signed).
    pub body: String,
    /// Every attempt so far.
    pub attempts: Vec<DeliveryAttempt>,
    /// Whether the receiver accepted it (answered 2xx).
    pub delivered: bool,
}

/// One attempt at a delivery.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct DeliveryAttempt {
    /// When it was made.
    pub at: Timestamp,
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// What went wrong, if it did not answer.
    pub error: Option<String>,
    /// The `X-Spoki-Signature` header it was sent with.
    #[serde(default)]
    pub signature: Option<String>,
}

impl Delivery {
    /// The body decoded as a receiver decodes it: the typed event.
    pub fn decode(&self) -> Result<spoki_webhook::Delivery, spoki_webhook::DecodeError> {
        spoki_webhook::Delivery::from_slice(self.body.as_bytes())
    }

    /// The headers of its last attempt, signature included, to replay it by hand.
    pub fn last_headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![("content-type", "application/json".to_owned())];
        if let Some(signature) = self.attempts.last().and_then(|a| a.signature.clone()) {
            headers.push((spoki_webhook::SIGNATURE_HEADER, signature));
        }
        headers
    }
}

impl State {
    /// The demo world: an agency with two client accounts; the first has credit, templates,
    /// an automation, a contact and a service user.
    // Kept whole: it is data, read top to bottom like the fixtures it lays out.
    pub fn demo(fixtures: Fixtures) -> State {
        let f = &fixtures;
        let mut accounts = BTreeMap::new();
        let agency_account = 100;
        for (id, name, key, phone, credit) in [
            (
                agency_account,
                "Mooving Agency",
                f.agency_api_key.as_str(),
                "+390212345678",
                0,
            ),
            (
                f.client_account_id,
                "Pizzeria Da Mario",
                f.client_api_key.as_str(),
                "+390612345678",
                420_000,
            ),
            (
                f.empty_account_id,
                "Hotel Bellavista",
                f.empty_account_api_key.as_str(),
                "+390554567890",
                0,
            ),
        ] {
            accounts.insert(
                id,
                Account {
                    id,
                    name: name.into(),
                    api_key: key.into(),
                    phone: phone.into(),
                    credit: Money::from_micros(credit, Currency::EUR),
                    records: BTreeMap::new(),
                    billing_events: Vec::new(),
                },
            );
        }
        let client = accounts
            .get_mut(&f.client_account_id)
            .expect("the client account was just added");
        let records = &mut client.records;
        records.entry("templates".into()).or_default().extend([
            (
                f.marketing_template_id,
                template(f.marketing_template_id, "subscription_renewal", "MARKETING",
                    "Hello %%FIRST_NAME%%, your subscription will expire on %%DATE_EXPIRE_SCRIPTION%%. Renew it now!"),
            ),
            (
                f.utility_template_id,
                template(f.utility_template_id, "order_update", "UTILITY",
                    "Hello %%FIRST_NAME%%, your order has shipped."),
            ),
        ]);
        records.entry("automations".into()).or_default().insert(
            1,
            json!({
                "id": 1, "name": "Subscription renewal", "is_active": true,
                "category": "Api",
                "webhook_set": [{"uuid": f.automation_uuid, "platform": "Api",
                    "link": format!("/wh/ap/{}/", f.automation_uuid)}],
                "steps": []
            }),
        );
        records.entry("contacts".into()).or_default().insert(
            f.contact_id,
            json!({
                "id": f.contact_id, "phone": "+393331234567", "first_name": "Mario",
                "last_name": "Rossi", "status": "Subscribed", "is_blocked": false,
                "chat_link": "https://spoki.app/chats/5f1c2a9e-7d41-4b0a-a0c2-2f0f4b1e8d33/",
                "contactfield_set": [], "list_set": [], "tag_set": []
            }),
        );
        records.entry("roles".into()).or_default().insert(
            f.service_user_role_id,
            json!({"id": f.service_user_role_id, "name": "CRM service", "email": f.email,
                   "role": "Operator", "is_service_user": true}),
        );
        // Every other resource starts with one record of its documented shape, id 1, in
        // every account, so that every typed call has something to read.
        for account in accounts.values_mut() {
            for (group, record) in crate::route::sample_records() {
                if group != "contacts" {
                    account
                        .records
                        .entry(group.to_owned())
                        .or_insert_with(|| BTreeMap::from([(1, record)]));
                }
            }
        }
        State {
            version: STATE_VERSION,
            next_id: 10_000,
            agency: Agency {
                id: f.agency_id,
                account_id: agency_account,
                name: "Mooving Agency".into(),
                api_key: f.agency_api_key.clone(),
            },
            accounts,
            automations: vec![Automation {
                id: 1,
                uuid: f.automation_uuid.clone(),
                secret: f.automation_secret.clone(),
                account_id: f.client_account_id,
                template_id: f.marketing_template_id,
            }],
            service_users: vec![ServiceUser {
                account_id: f.client_account_id,
                role_id: f.service_user_role_id,
                email: f.email.clone(),
                private_key: Some(f.private_key.clone()),
            }],
            messages: Vec::new(),
            deliveries: Vec::new(),
            fixtures,
        }
    }

    /// A fresh id for a new record.
    pub fn new_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// The account an API key belongs to.
    pub fn account_of_key(&self, key: &str) -> Option<i64> {
        self.accounts
            .values()
            .find(|a| {
                spoki_models::Secret::new(a.api_key.as_str()) == spoki_models::Secret::new(key)
            })
            .map(|a| a.id)
    }

    /// The client accounts of the agency.
    pub fn clients(&self) -> impl Iterator<Item = &Account> {
        let main = self.agency.account_id;
        self.accounts.values().filter(move |a| a.id != main)
    }
}

fn template(id: i64, name: &str, category: &str, text: &str) -> Value {
    json!({
        "id": id, "name": name, "category": category, "subcategory": "CLASSIC",
        "is_approved": true, "is_favorite": false, "customfield_set": [], "template_groups": [],
        "templatelocalization_set": [{"language": "it", "status": "APPROVED",
            "body_template_component": {"text": text}}]
    })
}
