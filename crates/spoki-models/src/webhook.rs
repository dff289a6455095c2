use crate::{InboundMessageEvent, OutboundMessageEvent, WebhookDelivery, WebhookEvent};

/// The `data` of a webhook delivery, typed by its event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WebhookEventData {
    /// `message.outbound`: a status change of a message you sent.
    MessageOutbound(OutboundMessageEvent),
    /// `message.inbound`: a message from a customer.
    MessageInbound(InboundMessageEvent),
    /// Any other event; its data kept as sent.
    Other(serde_json::Value),
}

impl WebhookDelivery {
    /// Decodes `data` according to `event`. A message event without `data` is an error that
    /// says so.
    pub fn event_data(&self) -> Result<WebhookEventData, serde_json::Error> {
        let missing = || {
            <serde_json::Error as serde::de::Error>::custom(format!(
                "the `{}` delivery {} has no `data`",
                self.event.as_ref().map_or("(no event)", |e| e.as_str()),
                self.event_uuid.as_deref().unwrap_or("(no event_uuid)")
            ))
        };
        let data = match (&self.data, &self.event) {
            (Some(serde_json::Value::Null) | None, Some(WebhookEvent::MessageOutbound))
            | (Some(serde_json::Value::Null) | None, Some(WebhookEvent::MessageInbound)) => {
                return Err(missing());
            }
            (data, _) => data.clone().unwrap_or(serde_json::Value::Null),
        };
        Ok(match &self.event {
            Some(WebhookEvent::MessageOutbound) => {
                WebhookEventData::MessageOutbound(serde_json::from_value(data)?)
            }
            Some(WebhookEvent::MessageInbound) => {
                WebhookEventData::MessageInbound(serde_json::from_value(data)?)
            }
            _ => WebhookEventData::Other(data),
        })
    }
}
