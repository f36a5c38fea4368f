//! Behaviour of the HTTP layer and pagination, against wiremock on 127.0.0.1 or a scripted
//! transport with paused tokio time (so waits cost no real time).

// Helpers outside `#[test]` functions panic on purpose: a broken fixture should fail the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_client;
mod classify;
mod context;
mod pagination;
mod rate_limit;
mod redaction;
mod support;
