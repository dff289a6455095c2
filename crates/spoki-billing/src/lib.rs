//! spoki-billing
