//! spoki-models
