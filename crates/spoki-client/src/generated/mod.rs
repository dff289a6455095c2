//! Code generated from `spec/spoki.toml`; see `cargo xtask codegen`.

pub mod api;
