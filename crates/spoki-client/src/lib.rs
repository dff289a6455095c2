//! spoki-client
