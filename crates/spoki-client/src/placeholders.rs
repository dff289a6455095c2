//! The placeholder check of template sends: a send whose `custom_fields` leave one of its
//! template's `%%CODE%%` placeholders without a value is refused before it is sent, since
//! WhatsApp would refuse it later (`whatsapp::132000`).
//!
//! The template's placeholders are read once per credential and template and kept for
//! [`FRESH_FOR`]; clients made with [`Client::with_api_key`] share what was read.

use crate::client::{Call, Client};
use crate::error::{Error, InputError};
use crate::transport::CredentialId;
use spoki_models::operation::{self, Body, Operation};
use spoki_models::{Placeholders, Template};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a template's placeholders are trusted before they are read again (an edited
/// template is approved again before it can be sent, which takes longer).
pub const FRESH_FOR: Duration = Duration::from_secs(10 * 60);

/// A template of one credential's account.
type TemplateKey = (CredentialId, i64);

/// The placeholders read so far, by credential and template, with when each was read.
#[derive(Debug, Default)]
pub(crate) struct PlaceholderCache {
    entries: Mutex<HashMap<TemplateKey, (Instant, Arc<Placeholders>)>>,
}

impl PlaceholderCache {
    fn get(&self, key: TemplateKey) -> Option<Arc<Placeholders>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&key)
            .filter(|(read, _)| read.elapsed() < FRESH_FOR)
            .map(|(_, found)| Arc::clone(found))
    }

    fn put(&self, key: TemplateKey, found: Arc<Placeholders>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(key, (Instant::now(), found));
    }
}

/// The template a send names and the `custom_fields` it gives, read from its body.
#[derive(Clone, Debug)]
pub(crate) struct TemplateFill {
    pub template: i64,
    pub given: BTreeMap<String, String>,
}

impl TemplateFill {
    /// What `body` of `operation` fills, when the operation sends a template by id.
    pub(crate) fn of(operation: &Operation, body: &serde_json::Value) -> Option<TemplateFill> {
        if !fills_template(operation) {
            return None;
        }
        Some(TemplateFill {
            template: body["template"].as_i64()?,
            given: spoki_models::placeholder::given(&body["custom_fields"]),
        })
    }
}

/// Whether `operation` sends a template by id with `custom_fields`, as its schema says.
pub(crate) fn fills_template(operation: &Operation) -> bool {
    let Body::Object { fields, .. } = operation.body else {
        return false;
    };
    let has = |name: &str| fields.iter().any(|f| f.name == name);
    has("template") && has("custom_fields")
}

impl Client {
    /// The `%%CODE%%` placeholders of template `id`, read from Spoki now: the values a
    /// template send or an automation start that sends it must give in `custom_fields`
    /// (check a body with [`FillsPlaceholders`](spoki_models::FillsPlaceholders)).
    pub async fn template_placeholders(&self, id: i64) -> Result<Placeholders, Error> {
        let op = &operation::TEMPLATES_GET;
        let call = Call::new(op, crate::api::fill_path(op, |_| Some(id.to_string()))?);
        // A boxed future: this runs inside `send`, for the send it checks.
        let template: Template = Box::pin(self.json(call)).await.map_err(|e| match e {
            Error::Api(api) if api.status == 404 => InputError::UnknownTemplate(id).into(),
            other => other,
        })?;
        Ok(Placeholders::of_template(&template))
    }

    /// Refuses a template send whose `custom_fields` do not cover its template's
    /// placeholders; other calls pass.
    pub(crate) async fn check_placeholders(&self, call: &Call) -> Result<(), Error> {
        let Some(fill) = call
            .template
            .as_ref()
            .filter(|_| self.inner.check_placeholders)
        else {
            return Ok(());
        };
        let id = fill.template;
        let key = (self.inner.credential, id);
        let needed = match self.inner.placeholders.get(key) {
            Some(needed) => needed,
            None => {
                let found = Arc::new(self.template_placeholders(id).await?);
                self.inner.placeholders.put(key, Arc::clone(&found));
                found
            }
        };
        needed.check(&fill.given).map_err(|missing| {
            InputError::Placeholders {
                template: id,
                missing,
            }
            .into()
        })
    }
}
