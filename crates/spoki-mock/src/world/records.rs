//! The record store: one per resource group and account, served from the operation table,
//! and the contact book that sync and sends upsert into.

use super::*;

impl World {
    pub(super) fn sync_all(&mut self, account: i64, call: &Call<'_>) -> Answer {
        let (mut created, mut updated) = (0, 0);
        for item in call.body.iter().flat_map(|b| b.as_array()).flatten() {
            match self.upsert_contact(account, item).1 {
                true => created += 1,
                false => updated += 1,
            }
        }
        Answer::ok(json!({"created": created, "updated": updated}))
    }

    pub(super) fn rotate_secret(&mut self, account: i64, call: &Call<'_>) -> Answer {
        let secret = format!("whsec_{}", uuid::Uuid::new_v4().simple());
        match self.record_mut(account, "webhooks", call.matched.id("id")) {
            Some(record) => {
                record["secret"] = json!(secret);
                Answer::ok(json!({ "secret": secret }))
            }
            None => Answer::not_found(),
        }
    }

    pub(super) fn test_webhook(&mut self, account: i64, call: &Call<'_>) -> Answer {
        let Some(hook) = self.record(account, "webhooks", call.matched.id("id")) else {
            return Answer::not_found();
        };
        let event = hook["event"]
            .as_str()
            .unwrap_or("message.inbound")
            .to_owned();
        self.notices.push(Notice {
            account_id: account,
            event,
            data: json!({"test": true}),
        });
        Answer::ok(json!({"success": true}))
    }

    pub(super) fn clone_template(&mut self, account: i64, call: &Call<'_>) -> Answer {
        let id = call.matched.id("id");
        let Some(mut copy) = self.record(account, "templates", id).cloned() else {
            return Answer::not_found();
        };
        let new_id = self.state.new_id();
        copy["id"] = json!(new_id);
        copy["is_approved"] = json!(false);
        let name = copy["name"].as_str().unwrap_or("template").to_owned();
        copy["name"] = json!(format!("{name}_copy"));
        self.records(account, "templates")
            .insert(new_id, copy.clone());
        Answer::ok(copy)
    }

    pub(super) fn records(
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

    pub(super) fn record(&self, account: i64, group: &str, id: Option<i64>) -> Option<&Value> {
        self.state
            .accounts
            .get(&account)?
            .records
            .get(group)?
            .get(&id?)
    }

    pub(super) fn record_mut(
        &mut self,
        account: i64,
        group: &str,
        id: Option<i64>,
    ) -> Option<&mut Value> {
        self.state
            .accounts
            .get_mut(&account)?
            .records
            .get_mut(group)?
            .get_mut(&id?)
    }

    /// Creates or updates the contact with this phone; returns it and whether it is new.
    pub(super) fn upsert_contact(&mut self, account: i64, fields: &Value) -> (Value, bool) {
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

    pub(super) fn sync_list(&mut self, account: i64, call: &Call<'_>) -> Answer {
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

    /// Every other operation, from its route: list, create, get, update, delete, or an action.
    pub(super) fn generic(&mut self, account: i64, call: &Call<'_>) -> Answer {
        let op = call.matched.operation;
        let group = op.group.as_str();
        let id_name = call.matched.params.keys().next().copied();
        let id = id_name.and_then(|n| call.matched.id(n));
        // The record's own path ends with its id: `/tags/{id}/`, not `/tags/{id}/clone/`.
        let on_record = id_name.is_some_and(|n| op.path.ends_with(&format!("{{{n}}}/")));
        let body = call.body.clone();
        match (op.method, op.response) {
            (Method::Get, Response::Page { decode, .. }) => {
                let items = self
                    .records(account, group)
                    .values()
                    .filter(|r| decode(r).is_ok() && matches_query(r, call.query))
                    .cloned()
                    .collect();
                page(items, call.query, call.base_url, op.path)
            }
            (Method::Get, Response::Model { .. }) if on_record => {
                match self.record(account, group, id) {
                    Some(record) => Answer::ok(record.clone()),
                    None => Answer::not_found(),
                }
            }
            (Method::Post, Response::Model { sample, decode, .. }) if id_name.is_none() => {
                self.create(account, group, sample, decode, body.as_ref())
            }
            (Method::Patch | Method::Put, Response::Model { decode, .. }) if on_record => {
                let Some(record) = self.record_mut(account, group, id) else {
                    return Answer::not_found();
                };
                let before = record["phone"].as_str().map(str::to_owned);
                merge(record, body.as_ref(), decode);
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
            _ => self.action(account, call, id),
        }
    }

    /// A new record of `group` from the model's sample and the body, under a new id.
    fn create(
        &mut self,
        account: i64,
        group: &str,
        sample: &str,
        decode: Decode,
        body: Option<&Value>,
    ) -> Answer {
        let new_id = self.state.new_id();
        let mut record: Value = serde_json::from_str(sample).unwrap_or_default();
        merge(&mut record, body, decode);
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

    /// An action on a record (or on none): acknowledged in the shape its operation answers.
    fn action(&mut self, account: i64, call: &Call<'_>, id: Option<i64>) -> Answer {
        let op = call.matched.operation;
        let group = op.group.as_str();
        if id.is_some()
            && !self
                .records(account, group)
                .contains_key(&id.unwrap_or_default())
        {
            return Answer::not_found();
        }
        match op.response {
            Response::Empty => Answer::empty(),
            Response::Json if op.method == Method::Get => Answer::ok(json!({})),
            Response::Json => Answer::ok(json!({"success": true})),
            Response::Model { sample, .. } => {
                let record = self.record(account, group, id).cloned();
                Answer::ok(
                    record.unwrap_or_else(|| serde_json::from_str(sample).unwrap_or_default()),
                )
            }
            Response::Page { .. } => page(Vec::new(), call.query, call.base_url, op.path),
        }
    }

    /// Moves a contact in the phone index after its phone changed.
    pub(super) fn reindex(&mut self, account: i64, before: Option<String>, contact: &Value) {
        if let Some(old) = before {
            self.phones.remove(&(account, old));
        }
        if let (Some(phone), Some(id)) = (contact["phone"].as_str(), contact["id"].as_i64()) {
            self.phones.insert((account, phone.to_owned()), id);
        }
    }

    /// Queues the webhook event for a record change, where Spoki has one.
    pub(super) fn notify(&mut self, account: i64, group: &str, change: &str, record: &Value) {
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
}

/// Rules a body must follow beyond its type (batch sizes, non-blank secrets, E.164 phones):
/// the operation's rules from the spec, answered as Spoki's field errors.
pub(super) fn extra_checks(op: &Operation, body: Option<&Value>) -> Result<(), Answer> {
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
pub(super) fn merge(record: &mut Value, body: Option<&Value>, check: Decode) {
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
pub(super) fn matches_query(record: &Value, query: &[(String, String)]) -> bool {
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
