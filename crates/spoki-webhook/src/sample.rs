//! A realistic delivery of every documented event kind, for tests and `spoki webhooks trigger`.
//!
//! The bodies are this crate's fixtures (`samples/*.json`), written from the shapes public
//! sources document; each is given the event id, account and time asked for.

use spoki_models::WebhookEvent;

/// The fixture of each documented event kind.
const SAMPLES: [(&str, &str); 11] = [
    (
        "message.outbound",
        include_str!("../samples/message.outbound.json"),
    ),
    (
        "message.inbound",
        include_str!("../samples/message.inbound.json"),
    ),
    ("message.note", include_str!("../samples/message.note.json")),
    (
        "chat.has_unread_messages",
        include_str!("../samples/chat.has_unread_messages.json"),
    ),
    (
        "contact.created",
        include_str!("../samples/contact.created.json"),
    ),
    (
        "contact.updated",
        include_str!("../samples/contact.updated.json"),
    ),
    (
        "contact.deleted",
        include_str!("../samples/contact.deleted.json"),
    ),
    (
        "contact_tag.created",
        include_str!("../samples/contact_tag.created.json"),
    ),
    (
        "contact_tag.deleted",
        include_str!("../samples/contact_tag.deleted.json"),
    ),
    (
        "contact_list.created",
        include_str!("../samples/contact_list.created.json"),
    ),
    (
        "contact_list.deleted",
        include_str!("../samples/contact_list.deleted.json"),
    ),
];

/// The body of a V2 delivery of `event`, as Spoki would send it, with `event_uuid`,
/// `account_id` and `timestamp` (Unix seconds) set; `None` for a kind with no sample.
pub fn sample_body(
    event: &WebhookEvent,
    event_uuid: &str,
    account_id: i64,
    timestamp: i64,
) -> Option<String> {
    let (_, fixture) = SAMPLES.iter().find(|(name, _)| *name == event.as_str())?;
    let mut body: serde_json::Value =
        serde_json::from_str(fixture).expect("the samples are valid JSON");
    body["event_uuid"] = event_uuid.into();
    body["account_id"] = account_id.into();
    body["timestamp"] = timestamp.into();
    Some(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Delivery;

    #[test]
    fn every_known_kind_has_a_sample_that_decodes_as_it() {
        for kind in WebhookEvent::KNOWN {
            let body = sample_body(kind, "e-7", 42, 1_700_000_000)
                .unwrap_or_else(|| panic!("{kind} has a sample"));
            let delivery = Delivery::from_slice(body.as_bytes()).unwrap();
            assert_eq!(&delivery.event.kind(), kind);
            assert_eq!(delivery.event_uuid.as_deref(), Some("e-7"));
            assert_eq!(delivery.account_id, Some(42));
        }
        assert_eq!(sample_body(&WebhookEvent::from("x.y"), "e", 1, 1), None);
    }
}
