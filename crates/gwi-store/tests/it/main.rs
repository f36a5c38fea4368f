//! gwi-store integration tests, compiled into one binary.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crash_safety;
mod open;
mod postgres_conformance;
mod sqlite_conformance;
mod sqlite_inbox;
mod support;
