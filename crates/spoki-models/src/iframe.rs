use crate::{ChatMessagesChanged, ChatsChanged, HasUnreadChatsChanged};
use serde::{Deserialize, Serialize};

/// An event posted by the embedded Spoki iframe to its parent window.
///
/// The iframe posts `{eventType, data}` objects from the origin `https://spoki.app`; decode
/// the message data your front end forwards with `serde_json::from_str::<IframeEvent>`.
/// Event types this SDK does not know decode as [`IframeEvent::Unknown`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum IframeEvent {
    /// `hasUnreadChatsChanged`, on every page.
    HasUnreadChatsChanged(HasUnreadChatsChanged),
    /// `chatsChanged`, on the `chats` page.
    ChatsChanged(ChatsChanged),
    /// `chatMessagesChanged`, on a `chats/{uuid}` page.
    ChatMessagesChanged(ChatMessagesChanged),
    /// Any other event, kept as sent.
    Unknown {
        /// The `eventType`.
        event_type: String,
        /// The `data`.
        data: serde_json::Value,
    },
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    #[serde(rename = "eventType")]
    event_type: String,
    #[serde(default)]
    data: serde_json::Value,
}

impl IframeEvent {
    /// The `eventType` of the event.
    pub fn event_type(&self) -> &str {
        match self {
            IframeEvent::HasUnreadChatsChanged(_) => "hasUnreadChatsChanged",
            IframeEvent::ChatsChanged(_) => "chatsChanged",
            IframeEvent::ChatMessagesChanged(_) => "chatMessagesChanged",
            IframeEvent::Unknown { event_type, .. } => event_type,
        }
    }
}

impl<'de> Deserialize<'de> for IframeEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let Envelope { event_type, data } = Envelope::deserialize(deserializer)?;
        Ok(match event_type.as_str() {
            "hasUnreadChatsChanged" => IframeEvent::HasUnreadChatsChanged(
                serde_json::from_value(data).map_err(D::Error::custom)?,
            ),
            "chatsChanged" => {
                IframeEvent::ChatsChanged(serde_json::from_value(data).map_err(D::Error::custom)?)
            }
            "chatMessagesChanged" => IframeEvent::ChatMessagesChanged(
                serde_json::from_value(data).map_err(D::Error::custom)?,
            ),
            _ => IframeEvent::Unknown { event_type, data },
        })
    }
}

impl Serialize for IframeEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let data = match self {
            IframeEvent::HasUnreadChatsChanged(d) => serde_json::to_value(d),
            IframeEvent::ChatsChanged(d) => serde_json::to_value(d),
            IframeEvent::ChatMessagesChanged(d) => serde_json::to_value(d),
            IframeEvent::Unknown { data, .. } => Ok(data.clone()),
        }
        .map_err(S::Error::custom)?;
        Envelope {
            event_type: self.event_type().to_owned(),
            data,
        }
        .serialize(serializer)
    }
}
