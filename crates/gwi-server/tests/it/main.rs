//! gwi-server integration tests, compiled as one binary.

// Test helpers outside `#[test]` functions panic on purpose: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crash;
mod github;
mod gitlab;
mod ingest;
mod jira;
mod linear;
mod ops;
mod signatures;
mod slack;
mod sockets;
mod support;
mod workers;
