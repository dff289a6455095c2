//! spoki-middleware
