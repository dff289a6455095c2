//! The spoki-rs tests that take several layers at once: the typed client against the local
//! Spoki, the middleware's layers over the real transport, the local Spoki checked through
//! the typed client, with the benchmarks and examples that need them too. Nothing here is
//! published; the crates under test keep the tests that need only themselves.
