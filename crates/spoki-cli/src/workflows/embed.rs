//! `spoki embed url`: a service user's key exchanged for a token, and the iframe URL.

use crate::error::{CliError, Result};
use crate::output::Output;
use crate::target::Global;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use spoki_client::EmbedPage;
use spoki_client::embed::{ChatEmbed, ChatEmbedError};
use spoki_client::models::{EmbedLanguage, Phone, Secret};

#[derive(Debug, Subcommand)]
pub enum EmbedCommand {
    /// Build the iframe URL of a chat, the chat list or the templates.
    Url(UrlArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Page {
    Chats,
    Templates,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Language {
    It,
    En,
    Es,
}

#[derive(Debug, Args)]
pub struct UrlArgs {
    /// The account the chat belongs to: the API key must act for it.
    #[arg(long, value_name = "ID")]
    pub account: i64,
    /// The service user's email [default with --mock: the demo service user].
    #[arg(long)]
    pub email: Option<String>,
    /// Environment variable holding the service user's private key [with --mock: the demo's].
    #[arg(long, value_name = "VAR")]
    pub private_key_env: Option<String>,
    /// Open the chat with this contact.
    #[arg(long, conflicts_with = "page")]
    pub phone: Option<String>,
    /// Open a page instead of one chat.
    #[arg(long, value_enum)]
    pub page: Option<Page>,
    /// Interface language.
    #[arg(long, value_enum)]
    pub language: Option<Language>,
    /// Hide the chat list.
    #[arg(long)]
    pub no_chat_list: bool,
    /// Do not let the user reply.
    #[arg(long)]
    pub no_reply: bool,
    /// Hide PayPal in the chat.
    #[arg(long)]
    pub no_paypal: bool,
}

pub async fn run(command: EmbedCommand, global: &Global, out: Output) -> Result<()> {
    let EmbedCommand::Url(args) = command;
    let target = global.connect().await?;
    let mut client = target.client.clone();
    let (email, private_key) = match (&target.fixtures, args.email, args.private_key_env) {
        (_, Some(email), Some(var)) => (email, Secret::from(crate::config::env_value(&var)?)),
        (Some(f), None, None) => {
            // The service user belongs to the client account: act with its key.
            if args.account == f.client_account_id {
                client = global.client(
                    Some(&f.client_api_key.clone().into()),
                    Some(client.base_url()),
                )?;
            }
            (f.email.clone(), Secret::from(f.private_key.clone()))
        }
        _ => {
            return Err(CliError::Usage(
                "give the service user with --email and --private-key-env".into(),
            ));
        }
    };
    let account = client.accounts().get(args.account).await?;
    if account.id != args.account {
        return Err(CliError::Failed(format!(
            "the API key does not act for account {}",
            args.account
        )));
    }
    // The same exchange a server does for its iframe: `ChatEmbed`, as `EmbedHandler` uses it.
    let mut embed = ChatEmbed::new(client, email, private_key)
        .can_view_chat_list(!args.no_chat_list)
        .can_reply_in_chat(!args.no_reply)
        .can_send_paypal_in_chat(!args.no_paypal);
    if let Some(language) = args.language {
        embed = embed.language(match language {
            Language::It => EmbedLanguage::It,
            Language::En => EmbedLanguage::En,
            Language::Es => EmbedLanguage::Es,
        });
    }
    let failed = |e: ChatEmbedError| match e {
        ChatEmbedError::Spoki(e) => CliError::Api(e),
        other => CliError::Failed(other.to_string()),
    };
    let page = match (args.phone, args.page) {
        (Some(phone), _) => {
            let phone =
                Phone::parse(&phone).map_err(|e| CliError::Usage(format!("--phone: {e}")))?;
            embed.chat_of(&phone).await.map_err(failed)?
        }
        (None, Some(Page::Templates)) => EmbedPage::Templates,
        (None, _) => EmbedPage::Chats,
    };
    let origin = embed.origin();
    let built = embed.url(&page).await.map_err(failed)?;
    // The URL logs the browser in: it is a credential like the key it came from.
    let shown = if out.reveal_secrets {
        built.expose().to_owned()
    } else {
        "[hidden: it carries a login token; add --reveal-secrets to print it]".to_owned()
    };
    out.say(format!("iframe URL for origin {origin}:\n{shown}"));
    out.summary(json!({"origin": origin, "url": shown, "characters": built.expose().len()}));
    Ok(())
}
