//! The `spoki` binary, run as a user would, against a local Spoki on 127.0.0.1.

mod support;

mod bulk;
mod commands;
mod edges;
mod manners;
mod mcp;
mod webhooks;
mod workflows;
