//! Spoki's behaviour: authentication, validation, records, sends and their billing.
//!
//! Every operation goes through [`World::handle`], one `match` on its id that names every
//! operation, so one added to the spec does not build until it is handled. The operations the
//! seed workflows touch (accounts, agencies, contact sync, automation starts, message sends,
//! the iframe token, webhooks, service users) have their own rules; every other one is served
//! from its schema by one record store per resource group.

mod accounts;
mod records;
mod sends;

use crate::answer::Answer;
use crate::route::Matched;
use crate::state::{Account, SentMessage, ServiceUser, State};
use accounts::page;
use records::extra_checks;
use serde_json::{Map, Value, json};
use spoki_billing::{
    BillingEffect, Category, Currency, Customer, Event, Ledger, Message, Money, PricingModel,
    RateCard, Timestamp,
};
use spoki_models::constraint::Violation;
use spoki_models::operation::{AuthKind, Decode, Method, Operation, OperationId as Id, Response};
use spoki_models::{MessageContentType, SendStatus};
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

/// A state whose billing events do not replay.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReplayError {
    /// An event that does not read.
    #[error("a billing event of the state does not read: {0}")]
    Event(#[from] spoki_billing::EventError),
    /// An event the ledger refuses.
    #[error("a billing event of the state does not apply: {0}")]
    Billing(#[from] spoki_billing::BillingError),
}

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
    clock: Timestamp,
    /// Contact ids by account and phone: sync upserts by phone, and a scan would make each
    /// sync cost as much as the contact book is long.
    phones: HashMap<(i64, String), i64>,
    pub notices: Vec<Notice>,
    /// What the stand-in embedded app shows: the tokens handed out and the inbound messages.
    pub embed: crate::embed::Sessions,
}

impl World {
    /// Wraps `state`, replaying each account's billing events into its ledger.
    pub fn new(state: State, rate_card: RateCard) -> Result<World, ReplayError> {
        let mut world = World {
            state,
            ledgers: HashMap::new(),
            rate_card,
            clock: Timestamp::from_unix_seconds(0),
            phones: HashMap::new(),
            notices: Vec::new(),
            embed: Default::default(),
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
                let event = Event::from_json(&line)?;
                world.clock = world.clock.max(event.at);
                world.ledger(id).apply(&event)?;
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

    /// Now, to the second, never earlier than an event already billed.
    fn now(&mut self) -> Timestamp {
        let now = Timestamp::now().whole_seconds();
        self.clock = self.clock.max(now);
        self.clock
    }

    /// Which credential a request counts against for rate limiting.
    pub fn credential(&self, call: &Call<'_>) -> String {
        match call.matched.operation.auth {
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
        match call.matched.operation.auth {
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
    // One match over every operation, kept whole: split up, it would need a wildcard, and a
    // new operation would then compile without being handled.
    pub fn handle(&mut self, call: Call<'_>) -> Answer {
        let caller = match self.caller(&call) {
            Ok(caller) => caller,
            Err(answer) => return answer,
        };
        if let Err(answer) = extra_checks(call.matched.operation, call.body.as_ref()) {
            return answer;
        }
        let op = call.matched.operation;
        match op.id {
            Id::AccountsList | Id::PartnersAccounts => self.accounts_list(caller, &call),
            Id::AccountsGet => match call.matched.id("id") {
                Some(id) if self.can_read(caller, id) => Answer::ok(self.account_json(id)),
                _ => Answer::not_found(),
            },
            Id::AccountsGetByPhone => self.account_by_phone(caller, &call),
            Id::AccountsCurrentReport => match call.matched.id("id") {
                Some(id) if self.can_read(caller, id) => Answer::ok(self.report(id)),
                _ => Answer::not_found(),
            },
            Id::AccountsCreateOnboardingLink => Answer::refused(
                404,
                "Not found",
                "This endpoint was removed; create a channel with platform 1 instead.",
            ),
            Id::AgenciesList if caller.agency => {
                page(vec![self.agency_json()], call.query, call.base_url, op.path)
            }
            Id::AgenciesGet
                if caller.agency && call.matched.id("id") == Some(self.state.agency.id) =>
            {
                Answer::ok(self.agency_json())
            }
            Id::AgenciesList | Id::AgenciesGet => Answer::not_found(),
            Id::AutomationsStart | Id::AutomationsStartBulk => self.start_automation(&call),
            Id::ContactsSync => {
                let body = call.body.unwrap_or_default();
                let (contact, _) = self.upsert_contact(caller.account, &body);
                Answer::ok(contact)
            }
            Id::ContactsSyncAll => self.sync_all(caller.account, &call),
            Id::ListsSyncContacts => self.sync_list(caller.account, &call),
            Id::MessagesSendTemplate
            | Id::MessagesSendTemplateHeaderMedia
            | Id::MessagesSendTemplateCarousel
            | Id::MessagesSendTemplateCarouselMultilanguage
            | Id::MessagesSendText
            | Id::MessagesSendButtons
            | Id::MessagesSendList => self.send(caller.account, &call),
            Id::AuthGetAuthenticationToken => self.token(caller.account, &call),
            Id::RolesAddServiceUser => self.add_service_user(caller.account, &call),
            Id::RolesGeneratePrivateKey | Id::PartnerRolesGeneratePrivateKey => {
                self.generate_private_key(caller.account, &call)
            }
            Id::RolesHasPrivateKey | Id::PartnerRolesHasPrivateKey => {
                self.has_private_key(caller.account, &call)
            }
            Id::WebhooksRotateSecret => self.rotate_secret(caller.account, &call),
            Id::WebhooksTest => self.test_webhook(caller.account, &call),
            Id::TemplatesClone => self.clone_template(caller.account, &call),
            // Served from the operation table by the group's record store.
            Id::AutomationsList
            | Id::AutomationsGet
            | Id::AutomationsCreate
            | Id::AutomationsCustomFieldsUsed
            | Id::CampaignsList
            | Id::CampaignsCreate
            | Id::CampaignsGet
            | Id::CampaignsUpdate
            | Id::CampaignsDelete
            | Id::ContactsList
            | Id::ContactsAddOperator
            | Id::ContactsRemoveOperator
            | Id::ContactsGet
            | Id::ContactsUpdate
            | Id::ContactsDelete
            | Id::ContactsBlock
            | Id::ContactsUnblock
            | Id::CustomFieldsList
            | Id::CustomFieldsCreate
            | Id::CustomFieldsGet
            | Id::CustomFieldsUpdate
            | Id::CustomFieldsDelete
            | Id::InvitationsList
            | Id::InvitationsGet
            | Id::InvitationsCreate
            | Id::InvitationsResend
            | Id::InvitationsUpdateRole
            | Id::InvitationsDelete
            | Id::ListsList
            | Id::ListsCreate
            | Id::ListsGet
            | Id::ListsRemoveAllContacts
            | Id::ListsDelete
            | Id::ListsRemoveContacts
            | Id::ReportsList
            | Id::ReportsDetailed
            | Id::RolesList
            | Id::RolesGet
            | Id::RolesUpdateRole
            | Id::RolesDelete
            | Id::TagsList
            | Id::TagsGet
            | Id::TemplatesList
            | Id::TemplatesCreate
            | Id::TemplatesUpdate
            | Id::TemplatesSubmit
            | Id::TemplatesBackToDraft
            | Id::TemplatesGet
            | Id::TemplatesDelete
            | Id::TicketsList
            | Id::TicketsCreate
            | Id::TicketsGet
            | Id::TicketsUpdate
            | Id::TicketsDelete
            | Id::MediaList
            | Id::MediaCreate
            | Id::MediaGet
            | Id::MediaUpdate
            | Id::MediaDelete
            | Id::WebhooksList
            | Id::WebhooksCreate
            | Id::WebhooksGet
            | Id::WebhooksUpdate
            | Id::WebhooksDelete
            | Id::WebhooksGetExpands
            | Id::WebhooksSetExpands
            | Id::PartnersCreateConversationsSubrecharge
            | Id::PartnersList
            | Id::PartnersOnboarding
            | Id::PartnersCreateApiKeyForAccount
            | Id::PartnersRevokeApiKeyForAccount
            | Id::PartnersAddSvClients
            | Id::PartnersCreateSubrecharge
            | Id::PartnersSetProfits
            | Id::PartnersMoveCreditFromAccount
            | Id::PartnersGetAccountReport
            | Id::PartnersGetAccountForecasts
            | Id::PartnerRolesList
            | Id::PartnerRolesGet
            | Id::PartnerRolesUpdateRole
            | Id::PartnerRolesDelete
            | Id::PartnerInvitationsList
            | Id::PartnerInvitationsGet
            | Id::PartnerInvitationsCreate
            | Id::PartnerInvitationsResend
            | Id::PartnerInvitationsUpdateRole
            | Id::PartnerInvitationsDelete
            | Id::ChannelsList
            | Id::ChannelsGet
            | Id::ChannelsCreate
            | Id::ChannelsRename
            | Id::ChannelsSetPrimary
            | Id::ChannelsRefreshWaStatus
            | Id::ChannelsLookupByPhone => self.generic(caller.account, &call),
        }
    }

    /// A customer writes: the service window opens, the contact exists, `message.inbound` fires.
    pub fn inbound(&mut self, account_id: i64, phone: &str, text: &str) -> Result<Value, Answer> {
        if !self.state.accounts.contains_key(&account_id) {
            return Err(Answer::not_found());
        }
        let customer = Customer::parse(phone).map_err(|e| Answer::field("phone", e.to_string()))?;
        let at = self.now();
        self.bill(account_id, Event::new(at, customer, Message::Inbound))
            .map_err(|e| Answer::field("phone", e.to_string()))?;
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
        self.embed.inbound(account_id, &data);
        Ok(data)
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

pub(super) fn chat_uuid(contact: &Value) -> Value {
    contact["chat_link"]
        .as_str()
        .and_then(|link| link.trim_end_matches('/').rsplit('/').next())
        .map_or(Value::Null, |uuid| json!(uuid))
}
