//! Integration tests of the built-in connectors, compiled as one binary.

// Test helpers outside `#[test]` functions panic on purpose: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod github_contract;
mod github_sandbox;
mod github_sync;
mod github_webhook;
mod gitlab_support;
mod gitlab_sync;
mod gitlab_webhook;
mod jira;
mod linear;
mod slack;
mod support;

gwi_testing::connector_behaviour_tests!(github_behaviour, gwi_connectors::registry(), "github");
gwi_testing::connector_behaviour_tests!(gitlab_behaviour, gwi_connectors::registry(), "gitlab");
gwi_testing::connector_behaviour_tests!(slack_behaviour, gwi_connectors::registry(), "slack");
gwi_testing::connector_behaviour_tests!(linear_behaviour, gwi_connectors::registry(), "linear");
gwi_testing::connector_behaviour_tests!(jira_behaviour, gwi_connectors::registry(), "jira");
