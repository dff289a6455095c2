//! Spoki as [Model Context Protocol](https://modelcontextprotocol.io) tools for AI agents.
//!
//! [`SpokiMcp`] serves one tool per operation of the Spoki API (named after the operation:
//! `accounts_get`, `messages_send_text`, …), built from the operation table of
//! `spoki-models`, plus `campaign_estimate` and `campaign_start`, and two resources:
//! `spoki://account` and `spoki://templates`. Every call goes through the [`Client`] it is
//! given, so it is paced to Spoki's limits and retried only when that is safe.
//!
//! The guardrails, set in [`Config`]:
//! - a read-only server lists and runs only the tools that read;
//! - a recipient allowlist refuses, before anything is sent, a send or automation start to
//!   any other number;
//! - send and start tools take an `idempotency_key`: the same key again returns the first
//!   answer and sends nothing, and a first call whose outcome is unknown is reported, never
//!   sent again;
//! - `campaign_start` needs the confirmation token of an estimate the credit covers, and the
//!   automation's secret comes from the configuration, never from the model;
//! - credentials in answers are masked.
//!
//! Errors are tool results with `isError` and a text that says what to do; a bad argument is
//! never a protocol error. `spoki mcp` (the command line) runs this server over stdio or
//! Streamable HTTP; see `docs/mcp.md`.

#![deny(missing_docs)]

mod call;
mod error;
mod guard;
mod resources;
pub mod schema;
mod workflow;

pub use error::ToolError;
pub use guard::Recipients;

use guard::{Claim, Keys};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, JsonObject,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ServerCapabilities,
    ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::Value;
use spoki_billing::Ledger;
use spoki_client::Client;
use spoki_client::models::Secret;
use spoki_models::operation::{self, Operation};
use std::sync::Arc;

/// How the server behaves: its guardrails and what it knows that the model must not supply.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// List and run only the tools that read.
    pub read_only: bool,
    /// Who sends and automation starts may reach.
    pub recipients: Recipients,
    /// The automation's secret, for automation starts and `campaign_start`.
    pub automation_secret: Option<Secret>,
    /// The automation `campaign_start` starts unless told another.
    pub automation: Option<String>,
    /// The paying account: the `spoki://account` resource and the estimates' default.
    pub account: Option<i64>,
    /// The rate card and pricing model campaign estimates use.
    pub ledger: Ledger,
}

impl Config {
    /// A server that may write, message anyone and holds no secret, pricing with `ledger`.
    pub fn new(ledger: Ledger) -> Config {
        Config {
            read_only: false,
            recipients: Recipients::Any,
            automation_secret: None,
            automation: None,
            account: None,
            ledger,
        }
    }

    /// Only the tools that read.
    pub fn read_only(mut self, read_only: bool) -> Config {
        self.read_only = read_only;
        self
    }

    /// Who may be messaged.
    pub fn recipients(mut self, recipients: Recipients) -> Config {
        self.recipients = recipients;
        self
    }

    /// The automation (its uuid, and its secret) that starts use.
    pub fn automation(mut self, uuid: Option<String>, secret: Option<Secret>) -> Config {
        self.automation = uuid;
        self.automation_secret = secret;
        self
    }

    /// The paying account.
    pub fn account(mut self, account: Option<i64>) -> Config {
        self.account = account;
        self
    }
}

/// The MCP server: cheap to clone, one per process.
#[derive(Clone)]
pub struct SpokiMcp {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    config: Config,
    tools: Vec<Tool>,
    keys: Keys,
    tokens: workflow::Tokens,
}

/// Why the server stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The client never completed the MCP handshake.
    #[error("MCP handshake failed: {0}")]
    Handshake(String),
    /// Reading or writing the transport failed.
    #[error("MCP transport: {0}")]
    Io(#[from] std::io::Error),
}

impl SpokiMcp {
    /// A server calling Spoki through `client`.
    pub fn new(client: Client, config: Config) -> SpokiMcp {
        let mut tools: Vec<Tool> = operation::ALL
            .iter()
            .filter(|op| !config.read_only || schema::reads_only(op))
            .map(schema::tool)
            .collect();
        tools.extend(workflow::tools(config.read_only));
        SpokiMcp {
            inner: Arc::new(Inner {
                client,
                config,
                tools,
                keys: Keys::default(),
                tokens: workflow::Tokens::default(),
            }),
        }
    }

    /// The tools it lists.
    pub fn tools(&self) -> &[Tool] {
        &self.inner.tools
    }

    /// Runs the tool `name` with `arguments`; every failure is a tool error.
    pub async fn call(&self, name: &str, arguments: JsonObject) -> CallToolResult {
        let inner = &*self.inner;
        let result = match name {
            workflow::ESTIMATE => {
                workflow::estimate(&inner.client, &inner.config, &inner.tokens, arguments).await
            }
            workflow::START if inner.config.read_only => Err(ToolError::ReadOnly(name.into())),
            workflow::START => {
                workflow::start(&inner.client, &inner.config, &inner.tokens, arguments).await
            }
            _ => match Operation::find(name) {
                None => {
                    return ToolError::UnknownArgument(format!("tool {name}")).into_result();
                }
                Some(op) if inner.config.read_only && !schema::reads_only(op) => {
                    Err(ToolError::ReadOnly(name.into()))
                }
                Some(op) => self.operation(op, arguments).await,
            },
        };
        result.unwrap_or_else(ToolError::into_result)
    }

    async fn operation(
        &self,
        op: &'static Operation,
        arguments: JsonObject,
    ) -> Result<CallToolResult, ToolError> {
        let inner = &*self.inner;
        let original = Value::Object(arguments.clone());
        let prepared = call::prepare(op, arguments, &inner.config)?;
        let Some(key) = prepared.key.clone() else {
            return call::send(&inner.client, op, &prepared).await;
        };
        let tool = op.id.as_str();
        match inner.keys.claim(tool, &key, &original)? {
            Claim::Repeat(first) => Ok(first),
            Claim::Send => {
                let result = call::send(&inner.client, op, &prepared).await;
                inner.keys.settle(tool, &key, &result);
                result
            }
        }
    }

    /// Serves one client over stdin and stdout until it leaves.
    pub async fn serve_stdio(self) -> Result<(), ServeError> {
        let running = self
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| ServeError::Handshake(e.to_string()))?;
        running
            .waiting()
            .await
            .map_err(|e| ServeError::Io(std::io::Error::other(e)))?;
        Ok(())
    }

    /// Serves MCP's Streamable HTTP at `/mcp` on `listener` until the process ends. On a
    /// loopback address only requests naming a loopback host are served, against DNS
    /// rebinding; on another address (asked for explicitly) any host is.
    pub async fn serve_http(self, listener: tokio::net::TcpListener) -> Result<(), ServeError> {
        use rmcp::transport::streamable_http_server::{
            StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
        };
        let mut config = StreamableHttpServerConfig::default();
        if !listener.local_addr()?.ip().is_loopback() {
            config = config.disable_allowed_hosts();
        }
        let service = StreamableHttpService::new(
            move || Ok(self.clone()),
            Arc::new(LocalSessionManager::default()),
            config,
        );
        let app = axum::Router::new().nest_service("/mcp", service);
        axum::serve(listener, app).await?;
        Ok(())
    }
}

impl ServerHandler for SpokiMcp {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(
                Implementation::new("spoki", env!("CARGO_PKG_VERSION"))
                    .with_title("Spoki (WhatsApp Business)"),
            )
            .with_instructions(
                "Spoki sends WhatsApp messages to real people. Read spoki://account and \
                 spoki://templates before acting; give every send an idempotency_key; price a \
                 campaign with campaign_estimate before campaign_start.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.inner.tools.clone()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.inner.tools.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.unwrap_or_default();
        Ok(self.call(&request.name, arguments).await.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let resources = resources::ALL
            .iter()
            .map(|(uri, name, description)| {
                Resource::new(*uri, *name)
                    .with_description(*description)
                    .with_mime_type("application/json")
            })
            .collect();
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let inner = &*self.inner;
        let value = resources::read(&inner.client, &inner.config, &request.uri)
            .await
            .ok_or_else(|| {
                ErrorData::resource_not_found(format!("no resource {}", request.uri), None)
            })?
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let text = serde_json::to_string_pretty(&value).expect("JSON values encode");
        let contents = ResourceContents::text(text, request.uri).with_mime_type("application/json");
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_blocks_are_text() {
        let result = call::answer_result(serde_json::json!([1, 2]));
        assert_eq!(
            result.structured_content.unwrap()["result"],
            serde_json::json!([1, 2])
        );
        assert!(matches!(
            &result.content[0],
            rmcp::model::ContentBlock::Text(_)
        ));
    }
}
