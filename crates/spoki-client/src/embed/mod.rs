//! Embedding the Spoki web app in an iframe.
//!
//! Exchange a service user's credentials for an [`AuthToken`] (`POST
//! /api/1/auth/get_authentication_token/`), then point an iframe at the URL an [`IframeUrl`]
//! builds: `https://spoki.app/{page}?auth_token=..&auth_uid=..&language=..`, plus the
//! `can_*=false` switches. The iframe reports what happens in it with `postMessage`; decode
//! those messages with [`spoki_models::IframeEvent`].
//!
//! The URL logs the user in, so it is returned as a [`Secret`]: hand it to the browser that
//! shows the iframe, keep it out of logs and caches.
//!
//! [`ChatEmbed`] does the exchange on the server, and `EmbedHandler` (feature
//! `embed-handler`; `route` for axum with `axum`) is the endpoint the iframe's `src` points
//! at, so that neither the API key nor the private key ever reaches a browser.
//!
//! ```
//! use spoki_client::embed::{EmbedPage, IframeUrl};
//! use spoki_models::{AuthToken, EmbedLanguage};
//!
//! let token = AuthToken::new("tok", "uid-1");
//! let url = IframeUrl::new(&token, EmbedPage::Chats)
//!     .language(EmbedLanguage::En)
//!     .can_send_paypal_in_chat(false)
//!     .build();
//! assert_eq!(
//!     url.expose(),
//!     "https://spoki.app/chats?auth_token=tok&auth_uid=uid-1&language=en&can_send_paypal_in_chat=false"
//! );
//! ```

mod chat;
#[cfg(feature = "embed-handler")]
mod handler;

pub use chat::{ChatEmbed, ChatEmbedError};
#[cfg(feature = "embed-handler")]
pub use handler::{Access, EmbedHandler};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use spoki_models::{AuthToken, EmbedLanguage, Secret};
use std::fmt;
use std::str::FromStr;
use url::Url;

/// Where the iframe is served from unless [`IframeUrl::base_url`] says otherwise.
pub const EMBED_BASE_URL: &str = "https://spoki.app";

/// Everything but RFC 3986 unreserved characters is escaped, so `+`, `&`, `=` and spaces in a
/// token survive both `decodeURIComponent` and form decoding unchanged.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A page of the Spoki app that can be embedded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EmbedPage {
    /// `chats`: the list of chats (sends `chatsChanged`).
    Chats,
    /// `chats/{uuid}`: one chat (sends `chatMessagesChanged`).
    Chat(ChatUuid),
    /// `templates`: the message templates.
    Templates,
}

impl EmbedPage {
    /// The page of the chat with this uuid.
    pub fn chat(uuid: &str) -> Result<EmbedPage, EmbedError> {
        uuid.parse().map(EmbedPage::Chat)
    }

    /// The page of the chat a contact's `chat_link` points to: its uuid is the last non-empty
    /// path segment. Absolute and relative links are accepted; query and fragment are ignored.
    pub fn from_chat_link(chat_link: &str) -> Result<EmbedPage, EmbedError> {
        // Joining onto a base accepts relative links; an absolute link replaces the base.
        let base = Url::parse(EMBED_BASE_URL).expect("the default base URL parses");
        let url = base
            .join(chat_link.trim())
            .map_err(|_| EmbedError::InvalidChatLink)?;
        let last = url
            .path_segments()
            .and_then(|mut segments| segments.rfind(|s| !s.is_empty()))
            .ok_or(EmbedError::InvalidChatLink)?;
        EmbedPage::chat(last)
    }

    /// The path of the page after the base URL: `chats`, `chats/{uuid}` or `templates`.
    pub fn slug(&self) -> String {
        match self {
            EmbedPage::Chats => "chats".to_owned(),
            EmbedPage::Chat(uuid) => format!("chats/{uuid}"),
            EmbedPage::Templates => "templates".to_owned(),
        }
    }
}

/// The uuid of a chat: non-empty, ASCII letters, digits and `-` only.
///
/// The check keeps the value a single path segment, so it cannot point the iframe elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChatUuid(String);

impl ChatUuid {
    /// The uuid as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ChatUuid {
    type Err = EmbedError;

    fn from_str(uuid: &str) -> Result<ChatUuid, EmbedError> {
        if uuid.is_empty() {
            return Err(EmbedError::EmptyChatUuid);
        }
        if let Some(character) = uuid
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(EmbedError::InvalidChatUuid { character });
        }
        Ok(ChatUuid(uuid.to_owned()))
    }
}

impl fmt::Display for ChatUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ChatUuid {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Builds the `src` of the Spoki iframe.
///
/// The `can_*` switches default to `true`, which is also what the iframe does without them, so
/// only switches set to `false` are written into the URL. `language` is written only when set;
/// otherwise the iframe picks its own. `Debug` redacts the token.
#[derive(Clone)]
pub struct IframeUrl {
    base_url: String,
    page: EmbedPage,
    token: Secret,
    uid: String,
    language: Option<EmbedLanguage>,
    can_view_chat_list: bool,
    can_reply_in_chat: bool,
    can_send_paypal_in_chat: bool,
}

impl IframeUrl {
    /// A URL opening `page`, logged in with `token`.
    pub fn new(token: &AuthToken, page: EmbedPage) -> IframeUrl {
        IframeUrl {
            base_url: EMBED_BASE_URL.to_owned(),
            page,
            token: token.token.clone(),
            uid: token.uid.clone(),
            language: None,
            can_view_chat_list: true,
            can_reply_in_chat: true,
            can_send_paypal_in_chat: true,
        }
    }

    /// Sets the interface language (`language=`).
    pub fn language(mut self, language: EmbedLanguage) -> IframeUrl {
        self.language = Some(language);
        self
    }

    /// Whether the user may see the list of chats (`can_view_chat_list=false` when not).
    pub fn can_view_chat_list(mut self, allowed: bool) -> IframeUrl {
        self.can_view_chat_list = allowed;
        self
    }

    /// Whether the user may reply in a chat (`can_reply_in_chat=false` when not).
    pub fn can_reply_in_chat(mut self, allowed: bool) -> IframeUrl {
        self.can_reply_in_chat = allowed;
        self
    }

    /// Whether the user may send PayPal payment requests in a chat
    /// (`can_send_paypal_in_chat=false` when not).
    pub fn can_send_paypal_in_chat(mut self, allowed: bool) -> IframeUrl {
        self.can_send_paypal_in_chat = allowed;
        self
    }

    /// Serves the iframe from `base_url` instead of [`EMBED_BASE_URL`]; the page path is
    /// appended to its path. It must be an `http` or `https` URL without query or fragment.
    pub fn base_url(mut self, base_url: &str) -> Result<IframeUrl, EmbedError> {
        let url = Url::parse(base_url).map_err(|_| EmbedError::InvalidBaseUrl)?;
        let usable = matches!(url.scheme(), "http" | "https")
            && url.has_host()
            && url.query().is_none()
            && url.fragment().is_none();
        if !usable {
            return Err(EmbedError::InvalidBaseUrl);
        }
        self.base_url = url.as_str().trim_end_matches('/').to_owned();
        Ok(self)
    }

    /// The origin the iframe posts its events from, e.g. `https://spoki.app`: check
    /// `event.origin` against it before trusting a message.
    pub fn origin(&self) -> String {
        Url::parse(&self.base_url)
            .map(|url| url.origin().ascii_serialization())
            .unwrap_or_default()
    }

    /// The base URL the page paths are appended to.
    pub(crate) fn base(&self) -> String {
        self.base_url.clone()
    }

    /// The URL. It carries the login token: treat it as a credential.
    pub fn build(&self) -> Secret {
        let mut url = format!("{}/{}", self.base_url, self.page.slug());
        let mut param = |name: &str, value: &str| {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(name);
            url.push('=');
            url.extend(utf8_percent_encode(value, QUERY_VALUE));
        };
        param("auth_token", self.token.expose());
        param("auth_uid", &self.uid);
        if let Some(language) = &self.language {
            param("language", language.as_str());
        }
        for (name, allowed) in [
            ("can_view_chat_list", self.can_view_chat_list),
            ("can_reply_in_chat", self.can_reply_in_chat),
            ("can_send_paypal_in_chat", self.can_send_paypal_in_chat),
        ] {
            if !allowed {
                param(name, "false");
            }
        }
        Secret::new(url)
    }
}

impl fmt::Debug for IframeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IframeUrl")
            .field("base_url", &self.base_url)
            .field("page", &self.page)
            .field("token", &self.token)
            .field("uid", &self.uid)
            .field("language", &self.language)
            .field("can_view_chat_list", &self.can_view_chat_list)
            .field("can_reply_in_chat", &self.can_reply_in_chat)
            .field("can_send_paypal_in_chat", &self.can_send_paypal_in_chat)
            .finish()
    }
}

/// Why an embed page or URL could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    /// The chat uuid is empty.
    #[error("the chat uuid is empty")]
    EmptyChatUuid,
    /// The chat uuid has a character other than ASCII letters, digits and `-`.
    #[error("the chat uuid contains {character:?}; only ASCII letters, digits and - are allowed")]
    InvalidChatUuid {
        /// The first offending character.
        character: char,
    },
    /// The chat link is not a URL with a path segment.
    #[error("the chat link is not a URL ending in a chat uuid")]
    InvalidChatLink,
    /// The base URL is not an absolute `http(s)` URL without query or fragment.
    #[error("the base URL must be an absolute http(s) URL without query or fragment")]
    InvalidBaseUrl,
}
