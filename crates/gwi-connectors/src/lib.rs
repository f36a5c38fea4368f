//! Built-in gwi connectors, one module per provider, each behind a cargo feature.

#[cfg(feature = "github")]
pub mod github;
#[cfg(feature = "gitlab")]
pub mod gitlab;
#[cfg(feature = "jira")]
pub mod jira;
#[cfg(feature = "linear")]
pub mod linear;
#[cfg(feature = "slack")]
pub mod slack;

use gwi_core::registry::Registry;

/// A registry holding every connector this build includes.
pub fn registry() -> Registry {
    #[allow(unused_mut)]
    let mut registry = Registry::new();
    #[cfg(feature = "github")]
    registry.register::<github::GithubConnector>();
    #[cfg(feature = "gitlab")]
    registry.register::<gitlab::GitlabConnector>();
    #[cfg(feature = "jira")]
    registry.register::<jira::JiraConnector>();
    #[cfg(feature = "linear")]
    registry.register::<linear::LinearConnector>();
    #[cfg(feature = "slack")]
    registry.register::<slack::SlackConnector>();
    registry
}
