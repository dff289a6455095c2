//! The commands that are more than one call.

pub mod billing;
pub mod bulk;
pub mod campaign;
pub mod config_cmd;
pub mod demo;
pub mod embed;
pub mod import;
pub mod mcp;
pub mod mock;
pub mod webhooks;
