//! Embedding the Spoki chat in your own software (seed 003):
//!
//! 1. exchange a service user's email and private key for an authentication token
//!    (with the client account's API key);
//! 2. find the contact's chat and build the iframe URL for `chats/{uuid}`, in Italian,
//!    without the chat list and without PayPal;
//! 3. decode the events the iframe posts to its parent window.
//!
//! Runs against the local Spoki (`spoki-mock`) on 127.0.0.1, with its demo account:
//!
//! ```text
//! cargo run -p spoki-client --example iframe_embed
//! ```

use spoki_client::models::{AuthTokenRequest, EmbedLanguage, IframeEvent};
use spoki_client::{Client, EmbedPage, IframeUrl};
use spoki_mock::{Fixtures, MockSpoki};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spoki = MockSpoki::start().await;
    println!("running against the local Spoki at {}", spoki.url());
    let url = iframe_url(spoki.url(), &spoki.fixtures()).await?;
    // The URL carries the login token: hand it to the browser, never to a log.
    println!(
        "iframe URL built ({} characters) for origin https://spoki.app",
        url.len()
    );

    // What the front end forwards from `window.addEventListener("message", ...)`.
    for posted in [
        r#"{"eventType": "hasUnreadChatsChanged", "data": {"hasUnreadChats": true}}"#,
        r#"{"eventType": "chatMessagesChanged", "data": {"chat": {"uuid": "5f1c"}, "page": 1, "messages": [{"text": "Ciao"}]}}"#,
    ] {
        match serde_json::from_str::<IframeEvent>(posted)? {
            IframeEvent::HasUnreadChatsChanged(e) => {
                println!("unread chats: {}", e.has_unread_chats)
            }
            IframeEvent::ChatMessagesChanged(e) => {
                println!("chat now shows {} messages", e.messages.len())
            }
            other => println!("event {}", other.event_type()),
        }
    }
    Ok(())
}

/// Steps 1 and 2: the iframe `src` for the chat of `+393331234567`.
pub async fn iframe_url(
    base_url: &str,
    account: &Fixtures,
) -> Result<String, Box<dyn std::error::Error>> {
    let client = Client::builder()
        .base_url(base_url)
        .api_key(account.client_api_key.as_str())
        .build()?;
    let token = client
        .embedding()
        .get_authentication_token(&AuthTokenRequest::new(
            account.email.as_str(),
            account.private_key.as_str(),
        ))
        .await?;
    let contacts = client
        .contacts()
        .list()
        .phone("+393331234567")
        .send()
        .await?;
    let chat_link = contacts
        .results
        .first()
        .and_then(|c| c.chat_link.as_deref())
        .ok_or("contact has no chat")?;
    let url = IframeUrl::new(&token, EmbedPage::from_chat_link(chat_link)?)
        .language(EmbedLanguage::It)
        .can_view_chat_list(false)
        .can_send_paypal_in_chat(false)
        .build();
    Ok(url.expose().to_owned())
}
