//! Sends and what they cost: automation starts, direct and template sends, the iframe token
//! and the service users whose private keys it is exchanged for.

use super::*;

impl World {
    pub(super) fn has_private_key(&self, account: i64, call: &Call<'_>) -> Answer {
        let role = call.matched.id("id");
        if self
            .record(account, call.matched.operation.group.as_str(), role)
            .is_none()
        {
            return Answer::not_found();
        }
        let has =
            self.state.service_users.iter().any(|u| {
                u.account_id == account && Some(u.role_id) == role && u.private_key.is_some()
            });
        Answer::ok(json!({ "has_private_key": has }))
    }

    pub(super) fn start_automation(&mut self, call: &Call<'_>) -> Answer {
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
        let contacts: Vec<Value> = match call.matched.operation.id {
            Id::AutomationsStartBulk => body["contacts"].as_array().cloned().unwrap_or_default(),
            _ => vec![body.clone()],
        };
        for given in &contacts {
            let (contact, _) = self.upsert_contact(automation.account_id, given);
            let phone = contact["phone"].as_str().unwrap_or_default().to_owned();
            // Spoki accepts the start and sends later: a send that fails (no credit left)
            // shows up as an `Error` status in `message.outbound`, not in this answer.
            let _ = self.deliver_template(
                automation.account_id,
                &format!("automation:{}", automation.uuid),
                &phone,
                automation.template_id,
                &given["custom_fields"],
            );
        }
        Answer::empty()
    }

    pub(super) fn send(&mut self, account: i64, call: &Call<'_>) -> Answer {
        let body = call.body.clone().unwrap_or_default();
        let phone = body["phone"].as_str().unwrap_or_default().to_owned();
        let op = call.matched.operation.id.as_str();
        if body["type"] == "Template" {
            let Some(template) = body["template"].as_i64() else {
                return Answer::field("template", "A valid integer is required.");
            };
            return match self.deliver_template(
                account,
                op,
                &phone,
                template,
                &body["custom_fields"],
            ) {
                Ok(message) => Answer::ok(send_result(&message)),
                Err(answer) => answer,
            };
        }
        // Whether free-form may go out now is the ledger's to say, in `record_send`.
        // Sends name the kind capitalized, deliveries in lower case.
        let kind = match body["content_type"].as_str() {
            Some("Text") | None => MessageContentType::Text,
            Some("Image") => MessageContentType::Image,
            Some("Document") => MessageContentType::Document,
            Some("Video") => MessageContentType::Video,
            Some("Audio") => MessageContentType::Audio,
            Some("Interactive" | "List") => MessageContentType::Interactive,
            Some(other) => MessageContentType::from(other.to_ascii_lowercase().as_str()),
        };
        match self.record_send(account, op, &phone, kind, None, Message::FreeForm, None) {
            Ok(message) => Answer::ok(send_result(&message)),
            Err(answer) => answer,
        }
    }

    /// Sends a template: billed by its category, refused when the credit does not cover it
    /// or `custom_fields` leaves one of its placeholders without a value.
    pub(super) fn deliver_template(
        &mut self,
        account: i64,
        origin: &str,
        phone: &str,
        template: i64,
        custom_fields: &Value,
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
        let refusal = unfilled(record, custom_fields).map(|missing| {
            Answer::error(
                400,
                "Template parameters do not match",
                missing.to_string(),
                "whatsapp::132000",
            )
        });
        self.record_send(
            account,
            origin,
            phone,
            MessageContentType::Template,
            Some(template),
            Message::Template(category),
            refusal,
        )
    }

    /// Bills and records one outbound message, and queues its `message.outbound` events; a
    /// `refusal` (or a credit that does not cover it) fails it instead.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn record_send(
        &mut self,
        account: i64,
        origin: &str,
        phone: &str,
        kind: MessageContentType,
        template: Option<i64>,
        message: Message,
        refusal: Option<Answer>,
    ) -> Result<SentMessage, Answer> {
        let customer = Customer::parse(phone).map_err(|e| Answer::field("phone", e.to_string()))?;
        let at = self.now();
        let event = Event::new(at, customer, message);
        let effect = self
            .ledger(account)
            .preview(&event)
            .map_err(|e| Answer::field("phone", e.to_string()))?;
        let zero = Money::zero(Currency::EUR);
        let cost = effect.cost().unwrap_or(zero);
        let credit = self.state.accounts[&account].credit;
        let mut sent = SentMessage {
            uuid: uuid::Uuid::new_v4().to_string(),
            account_id: account,
            operation: origin.to_owned(),
            phone: phone.to_owned(),
            kind,
            template_id: template,
            send_status: SendStatus::Sent,
            error_code: None,
            cost: zero,
            at,
        };
        if let BillingEffect::Rejected { reason } = effect {
            // Only free-form meets a closed window, and only direct sends are free-form: the
            // send is refused outright and leaves no record.
            return Err(Answer::error(
                400,
                "Outside the customer service window",
                reason.to_string(),
                "whatsapp::131047",
            ));
        }
        let refused = if refusal.is_some() {
            refusal
        } else if cost.micros() > credit.micros() {
            Some(Answer::no_credit(format!(
                "This message costs {cost} and the account has {credit} of credit left."
            )))
        } else {
            None
        };
        if let Some(answer) = refused {
            self.record_failed(sent, &answer);
            return Err(answer);
        }
        self.bill(account, event)
            .map_err(|e| Answer::field("phone", e.to_string()))?;
        let account_state = self
            .state
            .accounts
            .get_mut(&account)
            .expect("authenticated");
        account_state.credit = credit
            .checked_sub(cost)
            .expect("the cost is within the credit");
        sent.cost = cost;
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

    /// A send that `answer` refused: its failure is announced in `message.outbound`, and kept
    /// for an automation start, which was accepted before the send failed (a direct send is
    /// refused outright and leaves no record).
    fn record_failed(&mut self, mut sent: SentMessage, answer: &Answer) {
        sent.send_status = SendStatus::Error;
        sent.error_code = answer
            .body
            .as_ref()
            .and_then(|b| b["code"].as_str())
            .map(str::to_owned);
        let account_id = sent.account_id;
        let data = outbound_data(&sent);
        if sent.operation.starts_with("automation:") {
            self.state.messages.push(sent);
        }
        self.notices.push(Notice {
            account_id,
            event: "message.outbound".into(),
            data,
        });
    }

    pub(super) fn bill(
        &mut self,
        account: i64,
        event: Event,
    ) -> Result<(), spoki_billing::BillingError> {
        self.ledger(account).apply(&event)?;
        if let Some(a) = self.state.accounts.get_mut(&account) {
            a.billing_events.push(event.to_json());
        }
        Ok(())
    }

    pub(super) fn token(&mut self, account: i64, call: &Call<'_>) -> Answer {
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
            Some(user) => {
                let token = uuid::Uuid::new_v4().simple().to_string();
                let uid = format!("svc-{}", user.role_id);
                self.embed.issue(&token, account, &uid);
                Answer::ok(json!({ "token": token, "uid": uid }))
            }
            None => Answer::wrong_secret(),
        }
    }

    pub(super) fn add_service_user(&mut self, account: i64, call: &Call<'_>) -> Answer {
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

    pub(super) fn generate_private_key(&mut self, account: i64, call: &Call<'_>) -> Answer {
        let group = call.matched.operation.group.as_str();
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
}

/// The placeholders of a template record that `custom_fields` gives no value for.
fn unfilled(record: &Value, custom_fields: &Value) -> Option<spoki_models::MissingPlaceholders> {
    let template = serde_json::from_value::<spoki_models::Template>(record.clone()).ok()?;
    spoki_models::Placeholders::of_template(&template)
        .check(&spoki_models::placeholder::given(custom_fields))
        .err()
}

pub(super) fn send_result(message: &SentMessage) -> Value {
    json!({"accepted": true, "id": message.uuid, "uuid": message.uuid})
}

pub(super) fn outbound_data(message: &SentMessage) -> Value {
    let mut data = Map::new();
    data.insert("uuid".into(), json!(message.uuid));
    data.insert("send_status".into(), json!(message.send_status));
    data.insert("to_phone".into(), json!(message.phone));
    data.insert("sent_datetime".into(), json!(message.at));
    data.insert("created_at".into(), json!(message.at));
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
