//! Embedding the Spoki chat in your own software (seed 003):
//!
//! 1. exchange a service user's email and private key for an authentication token
//!    (with the client account's API key);
//! 2. find the contact's chat and build the iframe URL for `chats/{uuid}`, in Italian,
//!    without the chat list and without PayPal;
//! 3. decode the events the iframe posts to its parent window.
//!
//! Runs against an embedded stand-in for the Spoki API on 127.0.0.1 by default:
//!
//! ```text
//! cargo run -p spoki-client --example iframe_embed
//! ```

#[path = "../tests/support/fake_spoki.rs"]
#[allow(dead_code)]
pub mod fake_spoki;
#[path = "../tests/support/server.rs"]
#[allow(dead_code)]
pub mod server;

use spoki_client::models::{AuthTokenRequest, EmbedLanguage, IframeEvent};
use spoki_client::{Client, EmbedPage, IframeUrl};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spoki = fake_spoki::start().await;
    let url = iframe_url(&spoki.url).await?;
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
pub async fn iframe_url(base_url: &str) -> Result<String, Box<dyn std::error::Error>> {
    let client = Client::builder()
        .base_url(base_url)
        .api_key(fake_spoki::CLIENT_API_KEY)
        .build()?;
    let token = client
        .embedding()
        .get_authentication_token(&AuthTokenRequest::new(
            fake_spoki::SERVICE_EMAIL,
            fake_spoki::SERVICE_PRIVATE_KEY,
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
