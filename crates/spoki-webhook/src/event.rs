//! Deliveries decoded into one typed event per kind, in one pass over the raw body.
//!
//! The envelope is read first with its `data` left as raw JSON text (borrowed from the body),
//! then that text is decoded straight into the event's own type: no `serde_json::Value` is
//! built on the way, except for an event kind this SDK does not know, whose data is kept as
//! sent.

use serde::de::DeserializeOwned;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use spoki_models::{
    ChatUnreadEvent, Contact, ContactList, InboundMessageEvent, MessageNoteEvent,
    OutboundMessageEvent, Tag, WebhookEvent,
};
use std::borrow::Cow;

/// One webhook delivery: its envelope and its typed event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Delivery {
    /// Format version (`2` for signed deliveries); absent from some older envelopes.
    pub version: Option<i64>,
    /// Unique id of the event. Spoki may deliver an event more than once; the receiver
    /// deduplicates on this id, or on a hash of the signed body when there is none.
    pub event_uuid: Option<String>,
    /// Unix seconds when Spoki emitted the delivery, possibly with a fraction.
    pub timestamp: Option<f64>,
    /// The account the event is about.
    pub account_id: Option<i64>,
    /// What happened.
    pub event: Event,
}

/// What a delivery reports, one arm per event kind Spoki documents.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `message.outbound`: a status change of a message the business sent. The same message
    /// uuid comes again as the status moves (Sent, Delivered, Read, or Error).
    MessageOutbound(OutboundMessageEvent),
    /// `message.inbound`: a customer wrote; the 24-hour service window opens.
    MessageInbound(InboundMessageEvent),
    /// `message.note`: an operator wrote an internal note in a chat.
    MessageNote(MessageNoteEvent),
    /// `chat.has_unread_messages`: a chat gained or lost unread messages.
    ChatHasUnreadMessages(ChatUnreadEvent),
    /// `contact.created`.
    ContactCreated(Contact),
    /// `contact.updated`.
    ContactUpdated(Contact),
    /// `contact.deleted`.
    ContactDeleted(Contact),
    /// `contact_tag.created`.
    ContactTagCreated(Tag),
    /// `contact_tag.deleted`.
    ContactTagDeleted(Tag),
    /// `contact_list.created`.
    ContactListCreated(ContactList),
    /// `contact_list.deleted`.
    ContactListDeleted(ContactList),
    /// An event kind this SDK does not know, with its data as sent (`Null` when absent).
    Unknown {
        /// The event's name, as sent.
        event: String,
        /// Its data, as sent.
        data: serde_json::Value,
    },
}

/// The envelope's shape, data typed: what `--json` output and logs show.
impl Serialize for Delivery {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_struct("Delivery", 6)?;
        map.serialize_field("version", &self.version)?;
        map.serialize_field("event", &self.event.kind())?;
        map.serialize_field("event_uuid", &self.event_uuid)?;
        map.serialize_field("timestamp", &self.timestamp)?;
        map.serialize_field("account_id", &self.account_id)?;
        map.serialize_field("data", &self.event)?;
        map.end()
    }
}

/// The event's data, in its wire shape.
impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Event::MessageOutbound(d) => d.serialize(serializer),
            Event::MessageInbound(d) => d.serialize(serializer),
            Event::MessageNote(d) => d.serialize(serializer),
            Event::ChatHasUnreadMessages(d) => d.serialize(serializer),
            Event::ContactCreated(d) | Event::ContactUpdated(d) | Event::ContactDeleted(d) => {
                d.serialize(serializer)
            }
            Event::ContactTagCreated(d) | Event::ContactTagDeleted(d) => d.serialize(serializer),
            Event::ContactListCreated(d) | Event::ContactListDeleted(d) => d.serialize(serializer),
            Event::Unknown { data, .. } => data.serialize(serializer),
        }
    }
}

impl Event {
    /// The event's kind, as a webhook subscribes to it.
    pub fn kind(&self) -> WebhookEvent {
        match self {
            Event::MessageOutbound(_) => WebhookEvent::MessageOutbound,
            Event::MessageInbound(_) => WebhookEvent::MessageInbound,
            Event::MessageNote(_) => WebhookEvent::MessageNote,
            Event::ChatHasUnreadMessages(_) => WebhookEvent::ChatHasUnreadMessages,
            Event::ContactCreated(_) => WebhookEvent::ContactCreated,
            Event::ContactUpdated(_) => WebhookEvent::ContactUpdated,
            Event::ContactDeleted(_) => WebhookEvent::ContactDeleted,
            Event::ContactTagCreated(_) => WebhookEvent::ContactTagCreated,
            Event::ContactTagDeleted(_) => WebhookEvent::ContactTagDeleted,
            Event::ContactListCreated(_) => WebhookEvent::ContactListCreated,
            Event::ContactListDeleted(_) => WebhookEvent::ContactListDeleted,
            Event::Unknown { event, .. } => WebhookEvent::Unknown(event.clone()),
        }
    }
}

/// Why a body is not a delivery. Messages name the field that is missing or wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The body is not a JSON object of the envelope's shape.
    #[error("the body is not a webhook envelope: {0}")]
    Envelope(#[source] serde_json::Error),
    /// The envelope names no event.
    #[error("the delivery names no event (neither `event` nor `type`)")]
    NoEvent,
    /// A known event came without its data.
    #[error("the `{event}` delivery has no data (none of `data`, `message`, `payload`, `result`)")]
    NoData {
        /// The event's name.
        event: WebhookEvent,
    },
    /// The data does not decode as the event's type.
    #[error("the data of the `{event}` delivery does not decode: {source}")]
    Data {
        /// The event's name.
        event: WebhookEvent,
        /// What serde found wrong, with its path.
        #[source]
        source: serde_path_to_error::Error<serde_json::Error>,
    },
}

/// The envelope as sent, V2 or one of the shapes seen in the wild (`type` for `event`;
/// `message`, `payload` or `result` for `data`).
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    version: Option<i64>,
    #[serde(default, borrow, alias = "type")]
    event: Option<Cow<'a, str>>,
    #[serde(default)]
    event_uuid: Option<String>,
    #[serde(default)]
    timestamp: Option<f64>,
    #[serde(default)]
    account_id: Option<i64>,
    #[serde(
        default,
        borrow,
        alias = "message",
        alias = "payload",
        alias = "result"
    )]
    data: Option<&'a RawValue>,
}

impl Delivery {
    /// Decodes a delivery from its raw body.
    pub fn from_slice(body: &[u8]) -> Result<Delivery, DecodeError> {
        match one_pass(body) {
            Some(delivery) => Ok(delivery),
            None => two_passes(body),
        }
    }
}

/// The envelope with its data as raw text, then the data into its type: for every shape, and
/// for the error that names what is wrong.
fn two_passes(body: &[u8]) -> Result<Delivery, DecodeError> {
    {
        let envelope: Envelope<'_> = serde_json::from_slice(body).map_err(DecodeError::Envelope)?;
        let name = envelope
            .event
            .filter(|e| !e.trim().is_empty())
            .ok_or(DecodeError::NoEvent)?;
        let kind = WebhookEvent::from(name.as_ref());
        // `"data": null` is no data.
        let data = envelope.data.filter(|d| d.get() != "null");
        let event = match &kind {
            WebhookEvent::Unknown(_) => Event::Unknown {
                event: name.into_owned(),
                data: match data {
                    Some(raw) => serde_json::from_str(raw.get()).map_err(DecodeError::Envelope)?,
                    None => serde_json::Value::Null,
                },
            },
            known => {
                let raw = data.ok_or_else(|| DecodeError::NoData {
                    event: known.clone(),
                })?;
                decode_known(known, raw.get())?
            }
        };
        Ok(Delivery {
            version: envelope.version,
            event_uuid: envelope.event_uuid.filter(|u| !u.is_empty()),
            timestamp: envelope.timestamp,
            account_id: envelope.account_id,
            event,
        })
    }
}

/// One pass over the body, when its event is known and named before its data, as Spoki
/// writes it: the data is decoded into its type as the envelope is read. `None` sends every
/// other shape, and every error, to [`two_passes`].
fn one_pass(body: &[u8]) -> Option<Delivery> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let delivery = de.deserialize_map(OnePass).ok()??;
    de.end().ok()?;
    Some(delivery)
}

struct OnePass;

impl<'de> Visitor<'de> for OnePass {
    type Value = Option<Delivery>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a webhook envelope")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Delivery>, A::Error> {
        let (mut version, mut kind, mut event_uuid, mut timestamp, mut account_id, mut event) =
            (None, None::<WebhookEvent>, None::<String>, None, None, None);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "version" => version = map.next_value()?,
                "event" | "type" if kind.is_none() => {
                    let name: Option<Cow<'de, str>> = map.next_value()?;
                    match name.filter(|n| !n.trim().is_empty()) {
                        Some(name) => kind = Some(WebhookEvent::from(name.as_ref())),
                        None => return Ok(None),
                    }
                }
                "event_uuid" => event_uuid = map.next_value()?,
                "timestamp" => timestamp = map.next_value()?,
                "account_id" => account_id = map.next_value()?,
                "data" | "message" | "payload" | "result" if event.is_none() => {
                    // `Typed` answers `None` for an unknown kind, as for `null`.
                    let typed = match &kind {
                        Some(kind) => map.next_value_seed(Typed(kind))?,
                        None => None,
                    };
                    match typed {
                        Some(typed) => event = Some(typed),
                        None => return Ok(None),
                    }
                }
                "event" | "type" | "data" | "message" | "payload" | "result" => return Ok(None),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(event.map(|event| Delivery {
            version,
            event_uuid: event_uuid.filter(|u| !u.is_empty()),
            timestamp,
            account_id,
            event,
        }))
    }
}

/// The data of a known event, straight into its type; `None` for `null`.
struct Typed<'k>(&'k WebhookEvent);

impl<'de> DeserializeSeed<'de> for Typed<'_> {
    type Value = Option<Event>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Option<Event>, D::Error> {
        fn arm<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
            de: D,
            wrap: fn(T) -> Event,
        ) -> Result<Option<Event>, D::Error> {
            Ok(Option::<T>::deserialize(de)?.map(wrap))
        }
        match self.0 {
            WebhookEvent::MessageOutbound => arm(de, Event::MessageOutbound),
            WebhookEvent::MessageInbound => arm(de, Event::MessageInbound),
            WebhookEvent::MessageNote => arm(de, Event::MessageNote),
            WebhookEvent::ChatHasUnreadMessages => arm(de, Event::ChatHasUnreadMessages),
            WebhookEvent::ContactCreated => arm(de, Event::ContactCreated),
            WebhookEvent::ContactUpdated => arm(de, Event::ContactUpdated),
            WebhookEvent::ContactDeleted => arm(de, Event::ContactDeleted),
            WebhookEvent::ContactTagCreated => arm(de, Event::ContactTagCreated),
            WebhookEvent::ContactTagDeleted => arm(de, Event::ContactTagDeleted),
            WebhookEvent::ContactListCreated => arm(de, Event::ContactListCreated),
            WebhookEvent::ContactListDeleted => arm(de, Event::ContactListDeleted),
            _ => {
                IgnoredAny::deserialize(de)?;
                Ok(None)
            }
        }
    }
}

fn decode_known(kind: &WebhookEvent, raw: &str) -> Result<Event, DecodeError> {
    fn data<T: DeserializeOwned>(kind: &WebhookEvent, raw: &str) -> Result<T, DecodeError> {
        if let Ok(data) = serde_json::from_str(raw) {
            return Ok(data);
        }
        // Only a refusal pays for tracking the path, to name the field that is wrong.
        let mut de = serde_json::Deserializer::from_str(raw);
        serde_path_to_error::deserialize(&mut de).map_err(|source| DecodeError::Data {
            event: kind.clone(),
            source,
        })
    }
    Ok(match kind {
        WebhookEvent::MessageOutbound => Event::MessageOutbound(data(kind, raw)?),
        WebhookEvent::MessageInbound => Event::MessageInbound(data(kind, raw)?),
        WebhookEvent::MessageNote => Event::MessageNote(data(kind, raw)?),
        WebhookEvent::ChatHasUnreadMessages => Event::ChatHasUnreadMessages(data(kind, raw)?),
        WebhookEvent::ContactCreated => Event::ContactCreated(data(kind, raw)?),
        WebhookEvent::ContactUpdated => Event::ContactUpdated(data(kind, raw)?),
        WebhookEvent::ContactDeleted => Event::ContactDeleted(data(kind, raw)?),
        WebhookEvent::ContactTagCreated => Event::ContactTagCreated(data(kind, raw)?),
        WebhookEvent::ContactTagDeleted => Event::ContactTagDeleted(data(kind, raw)?),
        WebhookEvent::ContactListCreated => Event::ContactListCreated(data(kind, raw)?),
        WebhookEvent::ContactListDeleted => Event::ContactListDeleted(data(kind, raw)?),
        // `WebhookEvent` is non-exhaustive: a kind added to the spec but not here is kept raw.
        other => Event::Unknown {
            event: other.to_string(),
            data: serde_json::from_str(raw).map_err(DecodeError::Envelope)?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::{one_pass, two_passes};

    #[test]
    fn one_pass_reads_what_two_passes_read() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/samples");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let body = std::fs::read(entry.unwrap().path()).unwrap();
            assert_eq!(one_pass(&body), Some(two_passes(&body).unwrap()));
            seen += 1;
        }
        assert_eq!(seen, 11);
        // Shapes the one pass leaves to the two: data before event, unknown kinds, null data,
        // a field twice.
        for body in [
            &br#"{"data":{"id":1},"event":"contact_tag.created"}"#[..],
            br#"{"event":"x.y","data":{"id":1}}"#,
            br#"{"event":"message.inbound","data":null}"#,
            br#"{"event":"contact.created","data":{"id":1},"payload":{"id":2}}"#,
            br#"{"event":"message.inbound","type":"contact.created","data":{"id":1}}"#,
        ] {
            assert_eq!(one_pass(body), None);
        }
        let late = br#"{"data":{"id":1},"event":"contact_tag.created"}"#;
        assert!(two_passes(late).is_ok());
    }
}
