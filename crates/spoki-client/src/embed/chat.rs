//! The iframe flow kept on the server: the service user's private key is exchanged for a
//! token here, and only the iframe URL it signs in leaves for the browser.

use super::{EMBED_BASE_URL, EmbedError, EmbedPage, IframeUrl};
use crate::{Client, Error};
use spoki_models::{AuthTokenRequest, EmbedLanguage, Phone, Secret};
use std::fmt;

/// Builds iframe URLs for one account's service user.
///
/// Each [`url`](ChatEmbed::url) exchanges the private key for a fresh token with the
/// client's API key; the key and the private key stay in this process. `Debug` shows neither.
///
/// ```no_run
/// # async fn run(client: spoki_client::Client) -> Result<(), spoki_client::embed::ChatEmbedError> {
/// use spoki_client::embed::{ChatEmbed, EmbedPage};
///
/// let embed = ChatEmbed::new(client, "crm@pizzeria.it", std::env::var("SPOKI_PRIVATE_KEY").unwrap());
/// let src = embed.url(&EmbedPage::Chats).await?; // hand `src.expose()` to the iframe
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ChatEmbed {
    client: Client,
    email: String,
    private_key: Secret,
    app_url: String,
    language: Option<EmbedLanguage>,
    can_view_chat_list: bool,
    can_reply_in_chat: bool,
    can_send_paypal_in_chat: bool,
}

impl ChatEmbed {
    /// The embed of the service user `email` with `private_key`, through `client` (whose API
    /// key acts for the service user's account).
    pub fn new(client: Client, email: impl Into<String>, private_key: impl Into<Secret>) -> Self {
        ChatEmbed {
            client,
            email: email.into(),
            private_key: private_key.into(),
            app_url: EMBED_BASE_URL.to_owned(),
            language: None,
            can_view_chat_list: true,
            can_reply_in_chat: true,
            can_send_paypal_in_chat: true,
        }
    }

    /// Serves the iframe from `app_url` instead of [`EMBED_BASE_URL`] (the local Spoki's URL,
    /// in tests); the rules of [`IframeUrl::base_url`] apply.
    pub fn app_url(mut self, app_url: &str) -> Result<Self, EmbedError> {
        let checked = IframeUrl::new(&spoki_models::AuthToken::new("", ""), EmbedPage::Chats)
            .base_url(app_url)?;
        self.app_url = checked.base();
        Ok(self)
    }

    /// The interface language.
    pub fn language(mut self, language: EmbedLanguage) -> Self {
        self.language = Some(language);
        self
    }

    /// Whether the user may see the list of chats (default yes).
    pub fn can_view_chat_list(mut self, allowed: bool) -> Self {
        self.can_view_chat_list = allowed;
        self
    }

    /// Whether the user may reply (default yes).
    pub fn can_reply_in_chat(mut self, allowed: bool) -> Self {
        self.can_reply_in_chat = allowed;
        self
    }

    /// Whether the user may send PayPal payment requests (default yes).
    pub fn can_send_paypal_in_chat(mut self, allowed: bool) -> Self {
        self.can_send_paypal_in_chat = allowed;
        self
    }

    /// The origin the iframe posts its events from: the host page checks `event.origin`
    /// against it.
    pub fn origin(&self) -> String {
        url::Url::parse(&self.app_url)
            .map(|url| url.origin().ascii_serialization())
            .unwrap_or_default()
    }

    /// The page of the chat with `phone`, from its contact's `chat_link`.
    pub async fn chat_of(&self, phone: &Phone) -> Result<EmbedPage, ChatEmbedError> {
        let contacts = self
            .client
            .contacts()
            .list()
            .phone(phone.as_str())
            .send()
            .await?;
        let link = contacts
            .results
            .iter()
            .find_map(|c| c.chat_link.as_deref())
            .ok_or_else(|| ChatEmbedError::NoChat(phone.clone()))?;
        Ok(EmbedPage::from_chat_link(link)?)
    }

    /// A fresh token for the service user, and the iframe URL of `page` it signs in. The URL
    /// logs the browser in: answer it to that browser alone, never cache or log it.
    pub async fn url(&self, page: &EmbedPage) -> Result<Secret, ChatEmbedError> {
        let request = AuthTokenRequest::new(self.email.clone(), self.private_key.clone());
        let token = self
            .client
            .embedding()
            .get_authentication_token(&request)
            .await?;
        let mut url = IframeUrl::new(&token, page.clone())
            .base_url(&self.app_url)?
            .can_view_chat_list(self.can_view_chat_list)
            .can_reply_in_chat(self.can_reply_in_chat)
            .can_send_paypal_in_chat(self.can_send_paypal_in_chat);
        if let Some(language) = self.language.clone() {
            url = url.language(language);
        }
        Ok(url.build())
    }
}

impl fmt::Debug for ChatEmbed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatEmbed")
            .field("email", &self.email)
            .field("private_key", &self.private_key)
            .field("app_url", &self.app_url)
            .finish_non_exhaustive()
    }
}

/// Why no iframe URL could be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChatEmbedError {
    /// Spoki refused the token exchange or the contact lookup, or could not be reached.
    #[error(transparent)]
    Spoki(#[from] Error),
    /// The page or the app URL is not usable.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// The contact has no chat in the account.
    #[error("{0} has no chat in this account")]
    NoChat(Phone),
}
