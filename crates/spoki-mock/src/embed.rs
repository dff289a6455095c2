//! A stand-in for Spoki's embedded app, served at the paths an iframe URL opens (`/chats`,
//! `/chats/{uuid}`, `/templates`): it lets in only a token the mock handed out for a service
//! user, and posts the documented events to its parent window as messages arrive
//! (`hasUnreadChatsChanged` on every page, `chatsChanged` on the chat list,
//! `chatMessagesChanged` in one chat).
//!
//! The page asks `/__mock/embed/state` for what its account holds every 200 ms and posts an
//! event whenever that changes.

use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The tokens handed out and the inbound messages each account received.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    /// Token → (account, uid).
    tokens: HashMap<String, (i64, String)>,
    /// Account → inbound messages, oldest first.
    inbound: HashMap<i64, Vec<Value>>,
}

impl Sessions {
    pub fn issue(&mut self, token: &str, account: i64, uid: &str) {
        self.tokens
            .insert(token.to_owned(), (account, uid.to_owned()));
    }

    pub fn inbound(&mut self, account: i64, message: &Value) {
        self.inbound
            .entry(account)
            .or_default()
            .push(message.clone());
    }

    /// What a page signed in with `token` shows: whether anything is unread, the chats with
    /// messages, and the messages of chat `uuid`.
    fn state(&self, token: &str, uid: &str, chat: Option<&str>) -> Option<Value> {
        let (account, issued_uid) = self.tokens.get(token)?;
        if issued_uid != uid {
            return None;
        }
        let messages = self
            .inbound
            .get(account)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut chats: Vec<Value> = Vec::new();
        for message in messages {
            let uuid = &message["chat_uuid"];
            if !chats.iter().any(|c| &c["uuid"] == uuid) {
                chats.push(json!({"uuid": uuid, "phone": message["from_phone"], "unread": true}));
            }
        }
        let in_chat: Vec<&Value> = chat
            .map(|uuid| messages.iter().filter(|m| m["chat_uuid"] == uuid).collect())
            .unwrap_or_default();
        Some(json!({
            "unread": !messages.is_empty(),
            "chats": chats,
            "chat": chat.map(|uuid| json!({"uuid": uuid})),
            "messages": in_chat,
        }))
    }
}

/// The page at `path`, when it is one of the embedded app's; `None` for any other path.
pub(crate) fn page(
    sessions: &Sessions,
    path: &str,
    query: &[(String, String)],
) -> Option<Response> {
    let slug = path.trim_matches('/');
    let chat = slug.strip_prefix("chats/");
    let known = matches!(slug, "chats" | "templates")
        || chat.is_some_and(|uuid| {
            !uuid.is_empty() && uuid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !known {
        return None;
    }
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let signed_in = match (param("auth_token"), param("auth_uid")) {
        (Some(token), Some(uid)) => sessions.state(token, uid, chat).is_some(),
        _ => false,
    };
    if !signed_in {
        return Some(html(401, "<!doctype html><title>Spoki</title><p id=\"status\">Not signed in: the token is missing, wrong or expired.</p>".into()));
    }
    let slug_json = serde_json::to_string(slug).unwrap_or_default();
    Some(html(200, PAGE.replace("\"{SLUG}\"", &slug_json)))
}

/// `GET /__mock/embed/state?auth_token=..&auth_uid=..&chat=..`: what the page shows.
pub(crate) fn state(sessions: &Sessions, query: &[(String, String)]) -> Response {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let answer = match (param("auth_token"), param("auth_uid")) {
        (Some(token), Some(uid)) => sessions.state(token, uid, param("chat")),
        _ => None,
    };
    match answer {
        Some(state) => respond(200, "application/json", state.to_string()),
        None => respond(
            401,
            "application/json",
            json!({"detail": "Not signed in."}).to_string(),
        ),
    }
}

type Response = hyper::Response<Full<Bytes>>;

fn html(status: u16, body: String) -> Response {
    respond(status, "text/html; charset=utf-8", body)
}

fn respond(status: u16, content_type: &str, body: String) -> Response {
    hyper::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("cache-control", "no-store")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
}

/// The stand-in page. It posts `{eventType, data}` to its parent, as Spoki's app does.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Spoki (local stand-in)</title></head>
<body>
<p id="status">signed in</p>
<ul id="chats"></ul>
<script>
const slug = "{SLUG}";
const query = new URLSearchParams(location.search);
const chat = slug.startsWith("chats/") ? slug.slice(6) : null;
const ask = new URLSearchParams({auth_token: query.get("auth_token"), auth_uid: query.get("auth_uid")});
if (chat) ask.set("chat", chat);
let last = null;
function post(eventType, data) {
  window.parent.postMessage({eventType, data}, "*");
}
async function tick() {
  try {
    const answer = await fetch("/__mock/embed/state?" + ask);
    if (answer.ok) {
      const now = await answer.json();
      if (last === null || now.unread !== last.unread) {
        post("hasUnreadChatsChanged", {hasUnreadChats: now.unread});
      }
      if (slug === "chats" && (last === null || now.chats.length !== last.chats.length)) {
        post("chatsChanged", {chats: now.chats, hasFilters: false, page: 1});
      }
      if (chat && (last === null || now.messages.length !== last.messages.length)) {
        post("chatMessagesChanged", {chat: now.chat, page: 1, messages: now.messages});
      }
      document.getElementById("chats").textContent = now.chats.map(c => c.phone).join(", ");
      last = now;
    } else {
      document.getElementById("status").textContent = "signed out";
    }
  } finally {
    setTimeout(tick, 200);
  }
}
tick();
</script>
</body>
</html>
"#;
