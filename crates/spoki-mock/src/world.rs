//! Spoki's behaviour: authentication, validation, records, sends and their billing.
//!
//! Every operation goes through [`World::handle`]. The operations the seed workflows touch
//! (accounts, agencies, contact sync, automation starts, message sends, the iframe token,
//! webhooks, service users) have their own rules here; every other operation is served from
//! the route table by one generic record store per resource group.

use crate::answer::Answer;
use crate::route::{Matched, Reply};
use crate::state::{Account, SentMessage, ServiceUser, State};
use serde_json::{Map, Value, json};
use spoki_billing::{
    Category, Currency, Customer, Event, Ledger, Message, Money, Outcome, PricingModel, RateCard,
    Timestamp,
};
use spoki_models::constraint::Violation;
use spoki_models::operation::{AuthKind, Method, Operation};
use std::collections::HashMap;

/// The rate card the mock bills with unless told otherwise: EUR prices per conversation
/// category for a few markets, Italy being the business's own.
pub const DEFAULT_RATE_CARD: &str = r#"{
  "currency": "EUR", "business_country": "IT",
  "calling_codes": {"39": "IT", "49": "DE", "33": "FR", "34": "ES", "44": "GB", "1": "US"},
  "markets": {
    "IT": {"marketing": 0.14, "utility": 0.10, "authentication": 0.12, "service": 0.11},
    "DE": {"marketing": 0.18, "utility": 0.11, "authentication": 0.13, "service": 0.12},
    "FR": {"marketing": 0.16, "utility": 0.08, "authentication": 0.09, "service": 0.10},
    "ES": {"marketing": 0.08, "utility": 0.04, "authentication": 0.04, "service": 0.05},
    "GB": {"marketing": 0.09, "utility": 0.05, "authentication": 0.05, "service": 0.06},
    "US": {"marketing": 0.03, "utility": 0.01, "authentication": 0.02, "service": 0.01},
    "Other": {"marketing": 0.12, "utility": 0.06, "authentication": 0.07, "service": 0.08}
  }
}"#;

/// A webhook event to deliver: which account it is about, its name and its data.
#[derive(Debug, Clone)]
pub(crate) struct Notice {
    pub account_id: i64,
    pub event: String,
    pub data: Value,
}

/// A request as the world sees it: matched, authenticated by the server loop's caller.
pub(crate) struct Call<'a> {
    pub matched: &'a Matched,
    pub query: &'a [(String, String)],
    pub api_key: Option<&'a str>,
    pub body: Option<Value>,
    pub base_url: &'a str,
}

/// Who is calling.
#[derive(Debug, Clone, Copy)]
struct Caller {
    account: i64,
    agency: bool,
}

/// The state and the ledgers rebuilt from it.
pub(crate) struct World {
    pub state: State,
    ledgers: HashMap<i64, Ledger>,
    rate_card: RateCard,
    clock: i64,
    /// Contact ids by account and phone: sync upserts by phone, and a scan would make each
    /// sync cost as much as the contact book is long.
    phones: HashMap<(i64, String), i64>,
    pub notices: Vec<Notice>,
}

impl World {
    /// Wraps `state`, replaying each account's billing events into its ledger.
    pub fn new(state: State, rate_card: RateCard) -> Result<World, String> {
        let mut world = World {
            state,
            ledgers: HashMap::new(),
            rate_card,
            clock: 0,
            phones: HashMap::new(),
            notices: Vec::new(),
        };
        for account in world.state.accounts.values() {
            for (id, contact) in account.records.get("contacts").into_iter().flatten() {
                if let Some(phone) = contact["phone"].as_str() {
                    world.phones.insert((account.id, phone.to_owned()), *id);
                }
            }
        }
        let accounts: Vec<(i64, Vec<String>)> = world
            .state
            .accounts
            .values()
            .map(|a| (a.id, a.billing_events.clone()))
            .collect();
        for (id, events) in accounts {
            for line in events {
                let event = Event::from_json(&line).map_err(|e| e.to_string())?;
                world.clock = world.clock.max(event.at.unix_seconds());
                world.ledger(id).apply(&event).map_err(|e| e.to_string())?;
            }
        }
        Ok(world)
    }

    fn ledger(&mut self, account: i64) -> &mut Ledger {
        let card = &self.rate_card;
        self.ledgers
            .entry(account)
            .or_insert_with(|| Ledger::new(PricingModel::Conversation2024, card.clone()))
    }

    /// Now, in Unix seconds, never earlier than an event already billed.
    fn now(&mut self) -> i64 {
        self.clock = self.clock.max(Timestamp::now().unix_seconds());
        self.clock
    }

    /// Which credential a request counts against for rate limiting.
    pub fn credential(&self, call: &Call<'_>) -> String {
        match call.matched.route.operation.auth {
            AuthKind::AutomationSecret => format!(
                "automation:{}",
                call.matched.params.get("uuid").map_or("", String::as_str)
            ),
            _ => format!("key:{}", call.api_key.unwrap_or("")),
        }
    }

    /// Checks the caller's credentials: `Err` is the 401 or 403 to answer.
    pub fn authenticate(&self, call: &Call<'_>) -> Result<(), Answer> {
        self.caller(call).map(drop)
    }

    fn caller(&self, call: &Call<'_>) -> Result<Caller, Answer> {
        match call.matched.route.operation.auth {
            AuthKind::ApiKey => {
                let key = call.api_key.ok_or_else(Answer::missing_key)?;
                let account = self
                    .state
                    .account_of_key(key)
                    .ok_or_else(Answer::wrong_key)?;
                Ok(Caller {
                    account,
                    agency: account == self.state.agency.account_id,
                })
            }
            _ => Ok(Caller {
                account: 0,
                agency: false,
            }),
        }
    }

    /// Serves one authenticated, decoded request.
    pub fn handle(&mut self, call: Call<'_>) -> Answer {
        let caller = match self.caller(&call) {
            Ok(caller) => caller,
            Err(answer) => return answer,
        };
        if let Err(answer) = extra_checks(call.matched.route.operation, call.body.as_ref()) {
            return answer;
        }
        let op = call.matched.route.operation;
        match op.id {
            "accounts_list" | "partners_accounts" => self.accounts_list(caller, &call),
            "accounts_get" => match call.matched.id("id") {
                Some(id) if self.can_read(caller, id) => Answer::ok(self.account_json(id)),
                _ => Answer::not_found(),
            },
            "accounts_get_by_phone" => {
                let phone = call
                    .matched
                    .params
                    .get("phone")
                    .cloned()
                    .unwrap_or_default();
                let found = self
                    .state
                    .accounts
                    .values()
                    .find(|a| a.phone == phone && self.can_read(caller, a.id))
                    .map(|a| a.id);
                match found {
                    Some(id) => Answer::ok(self.account_json(id)),
                    None => Answer::not_found(),
                }
            }
            "accounts_current_report" => match call.matched.id("id") {
                Some(id) if self.can_read(caller, id) => Answer::ok(self.report(id)),
                _ => Answer::not_found(),
            },
            "accounts_create_onboarding_link" => Answer::error(
                404,
                "Not found",
                "This endpoint was removed; create a channel with platform 1 instead.",
                "spoki::1004",
            ),
            "agencies_list" if caller.agency => {
                page(vec![self.agency_json()], call.query, call.base_url, op.path)
            }
            "agencies_get"
                if caller.agency && call.matched.id("id") == Some(self.state.agency.id) =>
            {
                Answer::ok(self.agency_json())
            }
            "agencies_list" | "agencies_get" => Answer::not_found(),
            "automations_start" | "automations_start_bulk" => self.start_automation(&call),
            "contacts_sync" => {
                let body = call.body.unwrap_or_default();
                let (contact, _) = self.upsert_contact(caller.account, &body);
                Answer::ok(contact)
            }
            "contacts_sync_all" => {
                let (mut created, mut updated) = (0, 0);
                for item in call
                    .body
                    .unwrap_or_default()
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    match self.upsert_contact(caller.account, item).1 {
                        true => created += 1,
                        false => updated += 1,
                    }
                }
                Answer::ok(json!({"created": created, "updated": updated}))
            }
            "lists_sync_contacts" => self.sync_list(caller.account, &call),
            id if id.starts_with("messages_send") => self.send(caller.account, &call),
            "auth_get_authentication_token" => self.token(caller.account, &call),
            "roles_add_service_user" => self.add_service_user(caller.account, &call),
            "roles_generate_private_key" | "partner_roles_generate_private_key" => {
                self.generate_private_key(caller.account, &call)
            }
            "roles_has_private_key" | "partner_roles_has_private_key" => {
                let role = call.matched.id("id");
                match self.record(caller.account, op.group, role) {
                    None => Answer::not_found(),
                    Some(_) => Answer::ok(json!({"has_private_key": self
                        .state
                        .service_users
                        .iter()
                        .any(|u| u.account_id == caller.account
                            && Some(u.role_id) == role
                            && u.private_key.is_some())})),
                }
            }
            "webhooks_rotate_secret" => {
                let secret = format!("whsec_{}", uuid::Uuid::new_v4().simple());
                match self.record_mut(caller.account, op.group, call.matched.id("id")) {
                    Some(record) => {
                        record["secret"] = json!(secret);
                        Answer::ok(json!({ "secret": secret }))
                    }
                    None => Answer::not_found(),
                }
            }
            "webhooks_test" => match self.record(caller.account, op.group, call.matched.id("id")) {
                Some(hook) => {
                    let event = hook["event"]
                        .as_str()
                        .unwrap_or("message.inbound")
                        .to_owned();
                    self.notices.push(Notice {
                        account_id: caller.account,
                        event,
                        data: json!({"test": true}),
                    });
                    Answer::ok(json!({"success": true}))
                }
                None => Answer::not_found(),
            },
            "templates_clone" => {
                let id = call.matched.id("id");
                let Some(mut copy) = self.record(caller.account, "templates", id).cloned() else {
                    return Answer::not_found();
                };
                let new_id = self.state.new_id();
                copy["id"] = json!(new_id);
                copy["is_approved"] = json!(false);
                let name = copy["name"].as_str().unwrap_or("template").to_owned();
                copy["name"] = json!(format!("{name}_copy"));
                self.records(caller.account, "templates")
                    .insert(new_id, copy.clone());
                Answer::ok(copy)
            }
            _ => self.generic(caller.account, &call),
        }
    }

    /// A customer writes: the service window opens, the contact exists, `message.inbound` fires.
    pub fn inbound(&mut self, account_id: i64, phone: &str, text: &str) -> Result<Value, Answer> {
        if !self.state.accounts.contains_key(&account_id) {
            return Err(Answer::not_found());
        }
        let customer = Customer::parse(phone).map_err(|e| Answer::field("phone", e.to_string()))?;
        let at = self.now();
        self.bill(
            account_id,
            Event::new(Timestamp::from_unix_seconds(at), customer, Message::Inbound),
        )
        .map_err(|e| Answer::field("phone", e))?;
        let (contact, _) = self.upsert_contact(account_id, &json!({ "phone": phone }));
        let data = json!({
            "uuid": uuid::Uuid::new_v4().to_string(),
            "from_phone": phone,
            "text": text,
            "chat_uuid": chat_uuid(&contact),
            "contact": contact,
            "mediamessage_set": [],
        });
        self.notices.push(Notice {
            account_id,
            event: "message.inbound".into(),
            data: data.clone(),
        });
        Ok(data)
    }

    fn can_read(&self, caller: Caller, account: i64) -> bool {
        self.state.accounts.contains_key(&account) && (caller.agency || caller.account == account)
    }

    fn accounts_list(&self, caller: Caller, call: &Call<'_>) -> Answer {
        let ids: Vec<i64> = if caller.agency {
            self.state.clients().map(|a| a.id).collect()
        } else {
            vec![caller.account]
        };
        let items = ids.into_iter().map(|id| self.account_json(id)).collect();
        page(
            items,
            call.query,
            call.base_url,
            call.matched.route.operation.path,
        )
    }

    /// An account as Spoki shows it: credit in thousandths of EUR, and how many marketing
    /// conversations that credit still opens at the business country's price.
    fn account_json(&self, id: i64) -> Value {
        let account = &self.state.accounts[&id];
        json!({
            "id": account.id,
            "name": account.name,
            "current_credit": account.credit_micros / 1000,
            "estimated_available_conversations": self.conversations_left(account),
            "status": "Active",
            "phone": account.phone,
            "phone_status": "Connected",
            "account_type": if id == self.state.agency.account_id { 4 } else { 2 },
            "is_active": true,
            "default_country_code": "IT",
            "default_prefix": "+39",
            "timezone": "Europe/Rome",
            "channels": [],
        })
    }

    /// Today's usage of an account, counted from the messages it sent.
    fn report(&self, id: i64) -> Value {
        let now = Timestamp::now().unix_seconds();
        let day_start = now - now.rem_euclid(86_400);
        let today: Vec<&SentMessage> = self
            .state
            .messages
            .iter()
            .filter(|m| m.account_id == id && m.at >= day_start)
            .collect();
        let templates = today.iter().filter(|m| m.kind == "template").count();
        let mut contacted: Vec<&str> = today.iter().map(|m| m.phone.as_str()).collect();
        contacted.sort_unstable();
        contacted.dedup();
        json!({
            "account": id,
            "granularity": "Day",
            "period_start": rfc3339(day_start).get(..10),
            "contacted_contacts": contacted.len(),
            "template_message_count": templates,
            "free_message_count": today.len() - templates,
            "sent_message_count": today.len(),
        })
    }

    fn conversations_left(&self, account: &Account) -> i64 {
        let price = self
            .rate_card
            .business_country()
            .and_then(|c| self.rate_card.market_id(c))
            .map(|m| self.rate_card.price(m, Category::Marketing).micros())
            .unwrap_or(0);
        if price <= 0 {
            return 0;
        }
        account.credit_micros.max(0) / price
    }

    fn agency_json(&self) -> Value {
        let clients: Vec<Value> = self
            .state
            .clients()
            .map(|a| a.id)
            .collect::<Vec<_>>()
            .into_iter()
            .map(|id| self.account_json(id))
            .collect();
        json!({
            "id": self.state.agency.id,
            "account": self.state.agency.account_id,
            "name": self.state.agency.name,
            "clients": clients,
        })
    }

    fn records(
        &mut self,
        account: i64,
        group: &str,
    ) -> &mut std::collections::BTreeMap<i64, Value> {
        self.state
            .accounts
            .get_mut(&account)
            .expect("callers are authenticated accounts")
            .records
            .entry(group.to_owned())
            .or_default()
    }

    fn record(&self, account: i64, group: &str, id: Option<i64>) -> Option<&Value> {
        self.state
            .accounts
            .get(&account)?
            .records
            .get(group)?
            .get(&id?)
    }

    fn record_mut(&mut self, account: i64, group: &str, id: Option<i64>) -> Option<&mut Value> {
        self.state
            .accounts
            .get_mut(&account)?
            .records
            .get_mut(group)?
            .get_mut(&id?)
    }

    /// Creates or updates the contact with this phone; returns it and whether it is new.
    fn upsert_contact(&mut self, account: i64, fields: &Value) -> (Value, bool) {
        let phone = fields["phone"].as_str().unwrap_or_default().to_owned();
        let existing = self.phones.get(&(account, phone.clone())).copied();
        let id = match existing {
            Some(id) => id,
            None => {
                let id = self.state.new_id();
                self.phones.insert((account, phone.clone()), id);
                id
            }
        };
        let contacts = self.records(account, "contacts");
        let contact = contacts.entry(id).or_insert_with(|| {
            json!({
                "id": id, "phone": phone, "status": "Not Declared", "is_blocked": false,
                "chat_link": format!("https://spoki.app/chats/{}/", uuid::Uuid::new_v4()),
                "contactfield_set": [], "list_set": [], "tag_set": [],
            })
        });
        for key in ["first_name", "last_name", "email", "language", "status"] {
            if let Some(value) = fields.get(key).filter(|v| !v.is_null()) {
                contact[key] = value.clone();
            }
        }
        if let Some(custom) = fields.get("custom_fields").and_then(Value::as_object) {
            let set: Vec<Value> = custom
                .iter()
                .map(|(code, value)| json!({"visual_code": code, "value": value}))
                .collect();
            contact["contactfield_set"] = Value::Array(set);
        }
        let contact = contact.clone();
        self.notices.push(Notice {
            account_id: account,
            event: if existing.is_some() {
                "contact.updated"
            } else {
                "contact.created"
            }
            .into(),
            data: contact.clone(),
        });
        (contact, existing.is_none())
    }

    fn sync_list(&mut self, account: i64, call: &Call<'_>) -> Answer {
        let list = call.matched.id("id");
        if self.record(account, "lists", list).is_none() {
            return Answer::not_found();
        }
        let body = call.body.clone().unwrap_or_default();
        let mut synced = 0;
        for item in body["contacts"].as_array().into_iter().flatten() {
            let (contact, _) = self.upsert_contact(account, item);
            let id = contact["id"].as_i64();
            if let Some(record) = self.record_mut(account, "contacts", id) {
                let entry = json!({ "id": list });
                if let Some(lists) = record["list_set"].as_array_mut()
                    && !lists.iter().any(|l| l["id"] == entry["id"])
                {
                    lists.push(entry);
                }
            }
            synced += 1;
        }
        Answer::ok(json!({ "synced": synced }))
    }

    fn start_automation(&mut self, call: &Call<'_>) -> Answer {
        let uuid = call.matched.params.get("uuid").cloned().unwrap_or_default();
        let Some(automation) = self
            .state
            .automations
            .iter()
            .find(|a| a.uuid == uuid)
            .cloned()
        else {
            return Answer::not_found();
        };
        let body = call.body.clone().unwrap_or_default();
        let given = spoki_models::Secret::new(body["secret"].as_str().unwrap_or_default());
        if given != spoki_models::Secret::new(automation.secret.as_str()) {
            return Answer::wrong_secret();
        }
        let contacts: Vec<Value> = match call.matched.route.operation.id {
            "automations_start_bulk" => body["contacts"].as_array().cloned().unwrap_or_default(),
            _ => vec![body.clone()],
        };
        for contact in &contacts {
            let (contact, _) = self.upsert_contact(automation.account_id, contact);
            let phone = contact["phone"].as_str().unwrap_or_default().to_owned();
            // Spoki accepts the start and sends later: a send that fails (no credit left)
            // shows up as an `Error` status in `message.outbound`, not in this answer.
            let _ = self.deliver_template(
                automation.account_id,
                &format!("automation:{}", automation.uuid),
                &phone,
                automation.template_id,
            );
        }
        Answer::empty()
    }

    fn send(&mut self, account: i64, call: &Call<'_>) -> Answer {
        let body = call.body.clone().unwrap_or_default();
        let phone = body["phone"].as_str().unwrap_or_default().to_owned();
        let op = call.matched.route.operation.id;
        if body["type"] == "Template" {
            let Some(template) = body["template"].as_i64() else {
                return Answer::field("template", "A valid integer is required.");
            };
            return match self.deliver_template(account, op, &phone, template) {
                Ok(message) => Answer::ok(send_result(&message)),
                Err(answer) => answer,
            };
        }
        // Whether free-form may go out now is the ledger's to say, in `record_send`.
        let kind = match body["content_type"].as_str() {
            Some("Text") | None => "text",
            Some("Image" | "Document" | "Video" | "Audio") => "media",
            Some(_) => "interactive",
        };
        match self.record_send(account, op, &phone, kind, None, Message::FreeForm) {
            Ok(message) => Answer::ok(send_result(&message)),
            Err(answer) => answer,
        }
    }

    /// Sends a template: billed by its category, refused when the credit does not cover it.
    fn deliver_template(
        &mut self,
        account: i64,
        origin: &str,
        phone: &str,
        template: i64,
    ) -> Result<SentMessage, Answer> {
        let Some(record) = self.record(account, "templates", Some(template)) else {
            return Err(Answer::field(
                "template",
                format!("Invalid pk \"{template}\" - object does not exist."),
            ));
        };
        // Read as the API's category; one the billing model cannot price is billed as marketing.
        let category =
            serde_json::from_value::<spoki_models::TemplateCategory>(record["category"].clone())
                .ok()
                .and_then(|category| Category::try_from(&category).ok())
                .unwrap_or(Category::Marketing);
        self.record_send(
            account,
            origin,
            phone,
            "template",
            Some(template),
            Message::Template(category),
        )
    }

    /// Bills and records one outbound message, and queues its `message.outbound` events.
    fn record_send(
        &mut self,
        account: i64,
        origin: &str,
        phone: &str,
        kind: &str,
        template: Option<i64>,
        message: Message,
    ) -> Result<SentMessage, Answer> {
        let customer = Customer::parse(phone).map_err(|e| Answer::field("phone", e.to_string()))?;
        let at = self.now();
        let event = Event::new(Timestamp::from_unix_seconds(at), customer, message);
        let outcome = self
            .ledger(account)
            .preview(&event)
            .map_err(|e| Answer::field("phone", e.to_string()))?;
        let cost = outcome.cost().map_or(0, Money::micros);
        let credit = self.state.accounts[&account].credit_micros;
        let mut sent = SentMessage {
            uuid: uuid::Uuid::new_v4().to_string(),
            account_id: account,
            operation: origin.to_owned(),
            phone: phone.to_owned(),
            kind: kind.to_owned(),
            template_id: template,
            send_status: "Sent".into(),
            error_code: None,
            cost: 0,
            at,
        };
        if let Outcome::Rejected { reason } = outcome {
            // Only free-form meets a closed window, and only direct sends are free-form: the
            // send is refused outright and leaves no record.
            return Err(Answer::error(
                400,
                "Outside the customer service window",
                reason.to_string(),
                "whatsapp::131047",
            ));
        }
        let refused = if cost > credit {
            Some(Answer::no_credit(format!(
                "This message costs {} and the account has {} of credit left.",
                Money::from_micros(cost, Currency::EUR),
                Money::from_micros(credit, Currency::EUR)
            )))
        } else {
            None
        };
        if let Some(answer) = refused {
            sent.send_status = "Error".into();
            sent.error_code = answer
                .body
                .as_ref()
                .and_then(|b| b["code"].as_str())
                .map(str::to_owned);
            // An automation start was accepted before the send failed: the failure is part
            // of the record. A direct send is refused outright and leaves none.
            if origin.starts_with("automation:") {
                self.state.messages.push(sent.clone());
            }
            self.notices.push(Notice {
                account_id: account,
                event: "message.outbound".into(),
                data: outbound_data(&sent),
            });
            return Err(answer);
        }
        self.bill(account, event)
            .map_err(|e| Answer::field("phone", e))?;
        let account_state = self
            .state
            .accounts
            .get_mut(&account)
            .expect("authenticated");
        account_state.credit_micros -= cost;
        sent.cost = (cost + 999) / 1000;
        self.state.messages.push(sent.clone());
        for status in ["Sent", "Delivered"] {
            let mut data = outbound_data(&sent);
            data["send_status"] = json!(status);
            self.notices.push(Notice {
                account_id: account,
                event: "message.outbound".into(),
                data,
            });
        }
        Ok(sent)
    }

    fn bill(&mut self, account: i64, event: Event) -> Result<(), String> {
        self.ledger(account)
            .apply(&event)
            .map_err(|e| e.to_string())?;
        if let Some(a) = self.state.accounts.get_mut(&account) {
            a.billing_events.push(event.to_json());
        }
        Ok(())
    }

    fn token(&mut self, account: i64, call: &Call<'_>) -> Answer {
        let body = call.body.clone().unwrap_or_default();
        let email = body["email"].as_str().unwrap_or_default();
        let key = spoki_models::Secret::new(body["private_key"].as_str().unwrap_or_default());
        let user = self.state.service_users.iter().find(|u| {
            u.account_id == account
                && u.email == email
                && u.private_key
                    .as_deref()
                    .is_some_and(|k| spoki_models::Secret::new(k) == key)
        });
        match user {
            Some(user) => Answer::ok(json!({
                "token": uuid::Uuid::new_v4().simple().to_string(),
                "uid": format!("svc-{}", user.role_id),
            })),
            None => Answer::wrong_secret(),
        }
    }

    fn add_service_user(&mut self, account: i64, call: &Call<'_>) -> Answer {
        let body = call.body.clone().unwrap_or_default();
        let id = self.state.new_id();
        let name = body["name"].as_str().unwrap_or("service").to_owned();
        let slug: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let email = format!("{slug}-{id}@service.spoki.example");
        let role = json!({"id": id, "name": name, "email": email, "role": body["role"],
                          "is_service_user": true});
        self.records(account, "roles").insert(id, role.clone());
        self.state.service_users.push(ServiceUser {
            account_id: account,
            role_id: id,
            email,
            private_key: None,
        });
        Answer::ok(role)
    }

    fn generate_private_key(&mut self, account: i64, call: &Call<'_>) -> Answer {
        let group = call.matched.route.operation.group;
        let role = call.matched.id("id");
        let Some(record) = self.record(account, group, role).cloned() else {
            return Answer::not_found();
        };
        let key = format!("pk_{}", uuid::Uuid::new_v4().simple());
        let role_id = role.expect("the record was found by id");
        match self
            .state
            .service_users
            .iter_mut()
            .find(|u| u.account_id == account && u.role_id == role_id)
        {
            Some(user) => user.private_key = Some(key.clone()),
            None => self.state.service_users.push(ServiceUser {
                account_id: account,
                role_id,
                email: record["email"].as_str().unwrap_or_default().to_owned(),
                private_key: Some(key.clone()),
            }),
        }
        Answer::ok(json!({ "private_key": key }))
    }

    /// Every other operation, from its route: list, create, get, update, delete, or an action.
    fn generic(&mut self, account: i64, call: &Call<'_>) -> Answer {
        let route = call.matched.route;
        let op = route.operation;
        let group = op.group;
        let id_name = call.matched.params.keys().next().copied();
        let id = id_name.and_then(|n| call.matched.id(n));
        // The record's own path ends with its id: `/tags/{id}/`, not `/tags/{id}/clone/`.
        let on_record = id_name.is_some_and(|n| op.path.ends_with(&format!("{{{n}}}/")));
        let body = call.body.clone();
        match (op.method, &route.reply) {
            (Method::Get, Reply::Page { check }) => {
                let items = self
                    .records(account, group)
                    .values()
                    .filter(|r| check(r).is_ok() && matches_query(r, call.query))
                    .cloned()
                    .collect();
                page(items, call.query, call.base_url, op.path)
            }
            (Method::Get, Reply::Model { .. }) if on_record => {
                match self.record(account, group, id) {
                    Some(record) => Answer::ok(record.clone()),
                    None => Answer::not_found(),
                }
            }
            (Method::Post, Reply::Model { sample, check }) if id_name.is_none() => {
                let new_id = self.state.new_id();
                let mut record: Value = serde_json::from_str(sample).unwrap_or_default();
                merge(&mut record, body.as_ref(), *check);
                if record.get("id").is_some() || record.as_object().is_some() {
                    record["id"] = json!(new_id);
                }
                if group == "webhooks" {
                    record["secret"] = json!(self.state.fixtures.webhook_secret);
                    if record.get("is_active").is_none_or(Value::is_null) {
                        record["is_active"] = json!(true);
                    }
                }
                self.records(account, group).insert(new_id, record.clone());
                self.notify(account, group, "created", &record);
                Answer::created(record)
            }
            (Method::Patch | Method::Put, Reply::Model { check, .. }) if on_record => {
                let Some(record) = self.record_mut(account, group, id) else {
                    return Answer::not_found();
                };
                let before = record["phone"].as_str().map(str::to_owned);
                merge(record, body.as_ref(), *check);
                let record = record.clone();
                if group == "contacts" {
                    self.reindex(account, before, &record);
                }
                self.notify(account, group, "updated", &record);
                Answer::ok(record)
            }
            (Method::Delete, _) if on_record => {
                match self.records(account, group).remove(&id.unwrap_or_default()) {
                    Some(record) => {
                        if group == "contacts"
                            && let Some(phone) = record["phone"].as_str()
                        {
                            self.phones.remove(&(account, phone.to_owned()));
                        }
                        self.notify(account, group, "deleted", &record);
                        Answer::no_content()
                    }
                    None => Answer::not_found(),
                }
            }
            _ => {
                if id.is_some()
                    && !self
                        .records(account, group)
                        .contains_key(&id.unwrap_or_default())
                {
                    return Answer::not_found();
                }
                match &route.reply {
                    Reply::Empty => Answer::empty(),
                    Reply::Json if op.method == Method::Get => Answer::ok(json!({})),
                    Reply::Json => Answer::ok(json!({"success": true})),
                    Reply::Model { sample, .. } => {
                        let record = self.record(account, group, id).cloned();
                        Answer::ok(
                            record.unwrap_or_else(|| {
                                serde_json::from_str(sample).unwrap_or_default()
                            }),
                        )
                    }
                    Reply::Page { .. } => page(Vec::new(), call.query, call.base_url, op.path),
                }
            }
        }
    }

    /// Moves a contact in the phone index after its phone changed.
    fn reindex(&mut self, account: i64, before: Option<String>, contact: &Value) {
        if let Some(old) = before {
            self.phones.remove(&(account, old));
        }
        if let (Some(phone), Some(id)) = (contact["phone"].as_str(), contact["id"].as_i64()) {
            self.phones.insert((account, phone.to_owned()), id);
        }
    }

    /// Queues the webhook event for a record change, where Spoki has one.
    fn notify(&mut self, account: i64, group: &str, change: &str, record: &Value) {
        let event = match (group, change) {
            ("contacts", "created") => "contact.created",
            ("contacts", "updated") => "contact.updated",
            ("contacts", "deleted") => "contact.deleted",
            ("tags", "created") => "contact_tag.created",
            ("tags", "deleted") => "contact_tag.deleted",
            ("lists", "created") => "contact_list.created",
            ("lists", "deleted") => "contact_list.deleted",
            _ => return,
        };
        self.notices.push(Notice {
            account_id: account,
            event: event.into(),
            data: record.clone(),
        });
    }

    /// The active webhooks of an account subscribed to `event`: (id, url, secret).
    pub fn subscribers(&self, account: i64, event: &str) -> Vec<(i64, String, String)> {
        let Some(hooks) = self
            .state
            .accounts
            .get(&account)
            .and_then(|a| a.records.get("webhooks"))
        else {
            return Vec::new();
        };
        hooks
            .iter()
            .filter(|(_, h)| h["event"] == event && h["is_active"] != false)
            .filter_map(|(id, h)| {
                Some((
                    *id,
                    h["url"].as_str()?.to_owned(),
                    h["secret"].as_str()?.to_owned(),
                ))
            })
            .collect()
    }
}

/// Rules a body must follow beyond its type (batch sizes, non-blank secrets, E.164 phones):
/// the operation's rules from the spec, answered as Spoki's field errors.
fn extra_checks(op: &Operation, body: Option<&Value>) -> Result<(), Answer> {
    let Some(body) = body else { return Ok(()) };
    let Err(e) = spoki_models::constraint::check(op.body_rules, body) else {
        return Ok(());
    };
    // DRF names a list's own errors `non_field_errors` when the list is the whole body.
    let field = match e.field.split("[]").next() {
        Some("") | None => "non_field_errors",
        Some(name) => name.trim_end_matches('.'),
    };
    let message = match &e.violation {
        Violation::BlankSecret | Violation::Blank => "This field may not be blank.".to_owned(),
        Violation::TooFew { .. } => "This list may not be empty.".to_owned(),
        Violation::TooMany { count, max } => {
            format!("Ensure this list has at most {max} elements (it has {count}).")
        }
        Violation::Phone(problem) => format!("Enter a valid phone number: {problem}."),
        _ => e.to_string(),
    };
    Err(Answer::field(field, message))
}

/// Copies the body's fields into `record` where the result still decodes as the model.
fn merge(record: &mut Value, body: Option<&Value>, check: crate::route::Check) {
    let (Some(Value::Object(fields)), Value::Object(_)) = (body, &*record) else {
        return;
    };
    for (key, value) in fields {
        if key == "id" {
            continue;
        }
        let before = record.get(key).cloned();
        record[key.as_str()] = value.clone();
        if check(record).is_err() {
            match before {
                Some(old) => record[key.as_str()] = old,
                None => {
                    if let Some(map) = record.as_object_mut() {
                        map.remove(key);
                    }
                }
            }
        }
    }
}

/// Whether a record matches a list's filters: `search` anywhere in its text fields, every
/// other parameter equal to the field of that name.
fn matches_query(record: &Value, query: &[(String, String)]) -> bool {
    query.iter().all(|(key, wanted)| match key.as_str() {
        "page" | "page_size" => true,
        "search" => {
            let needle = wanted.to_lowercase();
            record.as_object().is_some_and(|fields| {
                fields.values().any(|v| {
                    v.as_str()
                        .is_some_and(|text| text.to_lowercase().contains(&needle))
                })
            })
        }
        field => match record.get(field) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.eq_ignore_ascii_case(wanted),
            Some(other) => *other.to_string() == **wanted,
        },
    })
}

/// One page of `items`, with `count`, `next`, `previous`, `page` and `page_size`.
fn page(items: Vec<Value>, query: &[(String, String)], base_url: &str, path: &str) -> Answer {
    let number = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let page_size = number("page_size").unwrap_or(20).clamp(1, 1000);
    let page_number = number("page").unwrap_or(1).max(1);
    let count = items.len();
    let pages = count.div_ceil(page_size).max(1);
    if page_number > pages {
        return Answer::error(404, "Not found", "Invalid page.", "spoki::1004");
    }
    let link = |n: usize| {
        let mut url = url::Url::parse(&format!("{base_url}{path}")).expect("the base URL is valid");
        {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query.iter().filter(|(k, _)| k != "page") {
                pairs.append_pair(k, v);
            }
            pairs.append_pair("page", &n.to_string());
        }
        Value::String(url.into())
    };
    let results: Vec<Value> = items
        .into_iter()
        .skip((page_number - 1) * page_size)
        .take(page_size)
        .collect();
    Answer::ok(json!({
        "count": count,
        "next": if page_number < pages { link(page_number + 1) } else { Value::Null },
        "previous": if page_number > 1 { link(page_number - 1) } else { Value::Null },
        "page": page_number,
        "page_size": page_size,
        "results": results,
    }))
}

fn send_result(message: &SentMessage) -> Value {
    json!({"accepted": true, "id": message.uuid, "uuid": message.uuid})
}

fn outbound_data(message: &SentMessage) -> Value {
    let mut data = Map::new();
    data.insert("uuid".into(), json!(message.uuid));
    data.insert("send_status".into(), json!(message.send_status));
    data.insert("to_phone".into(), json!(message.phone));
    data.insert("sent_datetime".into(), json!(rfc3339(message.at)));
    data.insert("created_at".into(), json!(rfc3339(message.at)));
    data.insert("direction".into(), json!("outbound"));
    // What a real delivery says of its kind, so a receiver can bill it: a template carries
    // its id, anything else its content type.
    data.insert("content_type".into(), json!(message.kind));
    if let Some(template) = message.template_id {
        data.insert("template".into(), json!({ "id": template }));
    }
    if let Some(code) = &message.error_code {
        data.insert("error_code".into(), json!(code));
    }
    Value::Object(data)
}

fn chat_uuid(contact: &Value) -> Value {
    contact["chat_link"]
        .as_str()
        .and_then(|link| link.trim_end_matches('/').rsplit('/').next())
        .map_or(Value::Null, |uuid| json!(uuid))
}

fn rfc3339(unix: i64) -> String {
    Timestamp::from_unix_seconds(unix).to_string()
}
