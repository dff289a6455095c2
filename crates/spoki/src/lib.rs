//! spoki
