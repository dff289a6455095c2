//! A vendor's page with the Spoki chat embedded, against the local Spoki: the host page, and
//! the handler its iframe points at. The handler lets in the vendor's own signed-in users
//! (here a session cookie) and exchanges the service user's private key for a token on the
//! server, so the page never holds a key.
//!
//! ```text
//! cargo run -p spoki-tests --example embed_host    # then open the URL it prints
//! ```

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use http::header::{COOKIE, SET_COOKIE};
use spoki_client::embed::{Access, ChatEmbed, EmbedHandler};
use spoki_client::{Client, EmbedPage};
use spoki_mock::{Fixtures, MockSpoki};

/// The host page; `{SPOKI_ORIGIN}` is replaced with the app's origin.
pub const HOST_PAGE: &str = include_str!("embed_host.html");

/// The vendor's session cookie, as its login would set it.
pub const SESSION: &str = "session=demo-user";

/// The vendor's app: the host page on `/` and the iframe's handler on `/spoki/chat`.
pub fn app(spoki_url: &str, f: &Fixtures) -> Result<Router, Box<dyn std::error::Error>> {
    let client = Client::builder()
        .base_url(spoki_url)
        .api_key(f.client_api_key.as_str())
        .build()?;
    let embed =
        ChatEmbed::new(client, f.email.clone(), f.private_key.clone()).app_url(spoki_url)?;
    // The vendor's own authentication: its session, not Spoki's.
    let handler = EmbedHandler::new(embed, |head: http::request::Parts| async move {
        let signed_in = head
            .headers
            .get(COOKIE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|cookies| cookies.split(';').any(|c| c.trim() == SESSION));
        if signed_in {
            Access::Page(EmbedPage::Chats)
        } else {
            Access::Denied
        }
    });
    let page = HOST_PAGE.replace("{SPOKI_ORIGIN}", &handler.origin());
    let host = get(move || {
        let page = page.clone();
        async move {
            let cookie = format!("{SESSION}; HttpOnly; SameSite=Strict; Path=/");
            ([(SET_COOKIE, cookie)], Html(page))
        }
    });
    Ok(Router::new()
        .route("/", host)
        .merge(handler.route("/spoki/chat")))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spoki = MockSpoki::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("the vendor's page: http://{}/", listener.local_addr()?);
    println!(
        "write to it: spoki --base-url {} (or MockSpoki::inbound)",
        spoki.url()
    );
    axum::serve(listener, app(spoki.url(), &spoki.fixtures())?).await?;
    Ok(())
}
