//! Integration tests of the built-in connectors, compiled as one binary.

// Test helpers outside `#[test]` functions panic on purpose: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod github_contract;
mod github_sandbox;
mod github_sync;
mod github_webhook;
mod support;

// GitHub's comment stream reads two listings, and its review stream asks for the reviews of the
// pull requests at the cursor's own second again (GitHub's filters include the cursor).
gwi_testing::connector_behaviour_tests!(
    github_behaviour,
    gwi_testing::behaviour::Subject {
        extra_requests_per_resource: 2,
        ..gwi_testing::behaviour::Subject::new(gwi_connectors::registry(), "github")
    }
);
