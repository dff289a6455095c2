//! [`EmbedHandler`]: the endpoint a vendor mounts for the iframe's `src`.
//!
//! The host page points its iframe at the handler (`<iframe src="/spoki/chat">`). For each
//! request the vendor's own callback says who is asking and what they may open; the handler
//! then exchanges the service user's private key for a token and redirects the iframe to
//! Spoki's app, signed in. The API key and the private key never leave the server; the
//! answer is never cached and sends no referrer on.

use super::{ChatEmbed, EmbedPage};
use http::{HeaderValue, Request, Response, StatusCode, header};
use spoki_models::Phone;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// What the vendor's user may open, as the vendor's own authentication decides.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// This page.
    Page(EmbedPage),
    /// The chat with this contact.
    Chat(Phone),
    /// Nothing: the request is answered 403.
    Denied,
}

/// A tower service answering the iframe's `src`: `303 See Other` to Spoki's app signed in, or,
/// for a request that accepts `application/json`, `{"url": .., "origin": ..}`.
///
/// `authorize` gets the request's head (its cookies, headers and URI) and answers with the
/// [`Access`] of the vendor's user. Clones share the embed and the callback.
pub struct EmbedHandler<F> {
    embed: Arc<ChatEmbed>,
    authorize: F,
}

impl<F: Clone> Clone for EmbedHandler<F> {
    fn clone(&self) -> Self {
        EmbedHandler {
            embed: Arc::clone(&self.embed),
            authorize: self.authorize.clone(),
        }
    }
}

impl<F> std::fmt::Debug for EmbedHandler<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbedHandler")
            .field("embed", &self.embed)
            .finish_non_exhaustive()
    }
}

impl<F, Fut> EmbedHandler<F>
where
    F: Fn(http::request::Parts) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Access> + Send + 'static,
{
    /// A handler for `embed`, letting in whom `authorize` lets in.
    pub fn new(embed: ChatEmbed, authorize: F) -> Self {
        EmbedHandler {
            embed: Arc::new(embed),
            authorize,
        }
    }

    /// The origin the iframe's events come from, for the host page's `event.origin` check.
    pub fn origin(&self) -> String {
        self.embed.origin()
    }

    /// Answers one request.
    pub async fn answer(&self, head: http::request::Parts) -> Response<String> {
        let wants_json = head
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"));
        let page = match (self.authorize)(head).await {
            Access::Denied => return plain(StatusCode::FORBIDDEN, "not allowed"),
            Access::Page(page) => page,
            Access::Chat(phone) => match self.embed.chat_of(&phone).await {
                Ok(page) => page,
                Err(super::ChatEmbedError::NoChat(_)) => {
                    return plain(StatusCode::NOT_FOUND, "no chat with this contact");
                }
                Err(error) => return unavailable(&error),
            },
        };
        let url = match self.embed.url(&page).await {
            Ok(url) => url,
            Err(error) => return unavailable(&error),
        };
        let mut response = if wants_json {
            let body = serde_json::json!({"url": url.expose(), "origin": self.embed.origin()});
            let mut response = Response::new(body.to_string());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        } else {
            let Ok(location) = HeaderValue::from_str(url.expose()) else {
                return plain(StatusCode::BAD_GATEWAY, "the chat is unavailable");
            };
            let mut response = Response::new(String::new());
            *response.status_mut() = StatusCode::SEE_OTHER;
            response.headers_mut().insert(header::LOCATION, location);
            response
        };
        private(&mut response);
        response
    }
}

/// The token is in the answer: no cache keeps it, no referrer carries it on.
fn private<B>(response: &mut Response<B>) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

fn plain(status: StatusCode, text: &str) -> Response<String> {
    let mut response = Response::new(text.to_owned());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    private(&mut response);
    response
}

/// Spoki refused or failed: the browser learns only that; the server's log gets the error,
/// which never holds a credential.
fn unavailable(error: &super::ChatEmbedError) -> Response<String> {
    tracing::warn!(%error, "embed: no iframe URL");
    plain(StatusCode::BAD_GATEWAY, "the chat is unavailable")
}

impl<F, Fut, B> tower_service::Service<Request<B>> for EmbedHandler<F>
where
    F: Fn(http::request::Parts) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Access> + Send + 'static,
    B: Send + 'static,
{
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<String>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let handler = self.clone();
        let (head, _) = request.into_parts();
        Box::pin(async move { Ok(handler.answer(head).await) })
    }
}

#[cfg(feature = "axum")]
impl<F, Fut> EmbedHandler<F>
where
    F: Fn(http::request::Parts) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Access> + Send + 'static,
{
    /// An axum `Router` serving the handler on GET `path`.
    pub fn route<S: Clone + Send + Sync + 'static>(self, path: &str) -> axum::Router<S> {
        axum::Router::new().route_service(path, axum::routing::get_service(self))
    }
}
