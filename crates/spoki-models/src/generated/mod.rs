//! Code generated from `spec/spoki.toml`; see `cargo xtask codegen`.

pub mod enums;
pub mod models;
pub mod operations;
