//! The GitHub connector's typed config.

use std::fmt;

use gwi_core::config::ValidateConfig;
use gwi_core::error::FieldError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The public GitHub API; GitHub Enterprise Server lives at `https://HOST/api/v3`.
pub const DEFAULT_BASE_URL: &str = "https://api.github.com";

/// The GitHub connector's own settings in `[connectors.github]`, beside the common ones
/// (`auth`: `bearer`, `github_app` or `none`; `base_url`, by default `https://api.github.com`,
/// for GitHub Enterprise Server `https://HOST/api/v3`; `webhook_secret` or `webhook`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct GithubConfig {
    /// Repositories to sync, as `owner/name`.
    #[schemars(length(min = 1))]
    pub repositories: Vec<Repository>,
    /// Record types to sync; omit for every type the `features` allow.
    #[serde(default)]
    pub types: Option<Vec<RecordType>>,
    /// Optional record families (all on by default).
    #[serde(default)]
    pub features: Features,
}

impl ValidateConfig for GithubConfig {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(types) = &self.types {
            for (i, t) in types.iter().enumerate() {
                if !self.features.allows(*t) {
                    errors.push(FieldError::new(
                        format!("types[{i}]"),
                        format!(
                            "{t} is listed but features.{} is false; enable the feature or drop the type",
                            t.feature().unwrap_or("?")
                        ),
                    ));
                }
            }
        }
        errors
    }
}

impl GithubConfig {
    /// The record types this config enables, in sync order.
    pub fn enabled_types(&self) -> Vec<RecordType> {
        RecordType::ALL
            .iter()
            .copied()
            .filter(|t| self.features.allows(*t))
            .filter(|t| self.types.as_ref().is_none_or(|types| types.contains(t)))
            .collect()
    }
}

/// A repository as `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Repository(
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$"))] String,
);

impl Repository {
    /// Parses `owner/name`, refusing anything else.
    pub fn parse(text: &str) -> Result<Self, String> {
        let valid = text.split_once('/').is_some_and(|(owner, name)| {
            !owner.is_empty()
                && !name.is_empty()
                && owner.starts_with(|c: char| c.is_ascii_alphanumeric())
                && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                && name != "."
                && name != ".."
        });
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!("{text:?} is not a repository as owner/name"))
        }
    }

    /// `owner/name`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The owner (user or organization).
    pub fn owner(&self) -> &str {
        self.0.split_once('/').map_or("", |(owner, _)| owner)
    }

    /// The repository name.
    pub fn name(&self) -> &str {
        self.0.split_once('/').map_or("", |(_, name)| name)
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

gwi_core::record_types! {
    /// A record type the GitHub connector produces.
    pub enum RecordType {
        /// Pull requests (`pr-<id>`).
        PullRequest = "pull_request",
        /// Issues that are not pull requests (`issue-<id>`).
        Issue = "issue",
        /// Issue comments and pull request review comments (`issue-comment-<id>`, `review-comment-<id>`).
        Comment = "comment",
        /// Pull request reviews (`review-<id>`); one request per updated pull request.
        Review = "review",
        /// Commits of the default branch (`commit-<sha>`).
        Commit = "commit",
        /// GitHub Actions workflow runs (`workflow-run-<id>`).
        WorkflowRun = "workflow_run",
    }
}

impl RecordType {
    /// The `features` flag that gates this type, if any.
    fn feature(self) -> Option<&'static str> {
        match self {
            Self::PullRequest | Self::Issue => None,
            Self::Comment => Some("comments"),
            Self::Review => Some("reviews"),
            Self::Commit => Some("commits"),
            Self::WorkflowRun => Some("workflow_runs"),
        }
    }
}

/// Optional record families; each costs requests, so each can be turned off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Features {
    /// Sync issue comments and pull request review comments.
    pub comments: bool,
    /// Sync pull request reviews (one extra request per pull request updated since the last run).
    pub reviews: bool,
    /// Sync commits of each repository's default branch.
    pub commits: bool,
    /// Sync GitHub Actions workflow runs.
    pub workflow_runs: bool,
}

impl Default for Features {
    fn default() -> Self {
        Self {
            comments: true,
            reviews: true,
            commits: true,
            workflow_runs: true,
        }
    }
}

impl Features {
    /// Whether the flags allow `record_type`.
    pub fn allows(&self, record_type: RecordType) -> bool {
        match record_type {
            RecordType::PullRequest | RecordType::Issue => true,
            RecordType::Comment => self.comments,
            RecordType::Review => self.reviews,
            RecordType::Commit => self.commits,
            RecordType::WorkflowRun => self.workflow_runs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gwi_core::config::{ConnectorConfig, parse_connector};
    use gwi_core::error::ConnectorError;
    use gwi_core::registry::ConnectorDefinition;
    use serde_json::json;

    use crate::github::GithubConnector;

    fn parse_all(
        value: serde_json::Value,
    ) -> Result<ConnectorConfig<GithubConfig>, ConnectorError> {
        parse_connector(&GithubConnector::metadata(), value)
    }

    fn parse(value: serde_json::Value) -> Result<GithubConfig, ConnectorError> {
        parse_all(value).map(|config| config.own)
    }

    fn field_errors(err: ConnectorError) -> Vec<String> {
        match err {
            ConnectorError::Config { errors, .. } => {
                errors.iter().map(ToString::to_string).collect()
            }
            other => panic!("expected a config error, got {other}"),
        }
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let ConnectorConfig {
            common,
            own: config,
        } = parse_all(json!({
            "repositories": ["acme/widgets"],
            "auth": {"type": "bearer", "token": "literal-token"},
        }))
        .unwrap();
        assert_eq!(common.tenant_id, "default");
        assert!(common.base_url.is_none());
        assert!(common.webhook_settings().is_none());
        assert_eq!(config.features, Features::default());
        assert_eq!(config.enabled_types(), RecordType::ALL);
        assert_eq!(config.repositories[0].owner(), "acme");
        assert_eq!(config.repositories[0].name(), "widgets");
    }

    #[test]
    fn the_readme_example_toml_parses() {
        let table: serde_json::Value = toml::from_str(
            r#"
base_url = "http://127.0.0.1:8787"
repositories = ["acme/widgets"]
types = ["pull_request", "issue"]
auth = { type = "bearer", token = "env:PATH" }
webhook_secret = "env:PATH"
"#,
        )
        .unwrap();
        let ConnectorConfig {
            common,
            own: config,
        } = parse_all(table).unwrap();
        assert_eq!(
            config.enabled_types(),
            [RecordType::PullRequest, RecordType::Issue]
        );
        assert_eq!(
            common.base_url.as_ref().unwrap().as_str(),
            "http://127.0.0.1:8787/"
        );
        assert_eq!(common.webhook_settings().unwrap().secrets.len(), 1);
    }

    #[test]
    fn rotating_webhook_secrets_parse_with_their_window() {
        let common = parse_all(json!({
            "repositories": ["a/b"],
            "auth": {"type": "none"},
            "webhook": {"secrets": ["env:PATH", "env:HOME"], "tolerance_secs": 300},
        }))
        .unwrap()
        .common;
        let settings = common.webhook_settings().unwrap();
        assert_eq!(settings.secrets.len(), 2);
        assert_eq!(settings.tolerance_secs, Some(300));
    }

    #[test]
    fn webhook_secret_and_webhook_together_are_refused() {
        let err = parse(json!({
            "repositories": ["a/b"],
            "auth": {"type": "none"},
            "webhook_secret": "s",
            "webhook": {"secrets": ["s"]},
        }))
        .unwrap_err();
        assert!(field_errors(err)[0].starts_with("webhook_secret:"));
    }

    #[test]
    fn an_auth_kind_github_does_not_accept_is_refused_naming_auth() {
        let err = parse(json!({
            "repositories": ["a/b"],
            "auth": {"type": "service_account", "key": "{}", "scopes": ["x"]},
        }))
        .unwrap_err();
        let errors = field_errors(err);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("auth.type:"), "{errors:?}");
        assert!(errors[0].contains("none, bearer, github_app"), "{errors:?}");
    }

    #[test]
    fn the_schema_offers_only_the_accepted_auth_kinds() {
        let schema =
            gwi_core::config::connector_schema::<GithubConfig>(&GithubConnector::metadata());
        let text = serde_json::to_string(&schema).unwrap();
        assert!(text.contains("github_app"), "{text}");
        assert!(!text.contains("service_account"), "{text}");
        assert!(text.contains("webhook_secret"), "{text}");
    }

    #[test]
    fn a_malformed_repository_is_named_by_index() {
        let err = parse(json!({
            "repositories": ["acme/widgets", "not-a-repo"],
            "auth": {"type": "none"},
        }))
        .unwrap_err();
        let errors = field_errors(err);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("repositories[1]: \"not-a-repo\" does not match"),
            "{errors:?}"
        );
    }

    #[test]
    fn unknown_types_and_feature_keys_are_refused() {
        let err = parse(json!({
            "repositories": ["a/b"],
            "auth": {"type": "none"},
            "types": ["pull_request", "wiki"],
            "features": {"comments": true, "emoji": true},
        }))
        .unwrap_err();
        let text = field_errors(err).join("\n");
        assert!(text.contains("types[1]"), "{text}");
        assert!(text.contains("features"), "{text}");
    }

    #[test]
    fn a_type_whose_feature_is_off_is_refused() {
        let err = parse(json!({
            "repositories": ["a/b"],
            "auth": {"type": "none"},
            "types": ["issue", "review"],
            "features": {"reviews": false},
        }))
        .unwrap_err();
        let errors = field_errors(err);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("types[1]: review"), "{errors:?}");
        assert!(errors[0].contains("features.reviews"), "{errors:?}");
    }

    #[test]
    fn features_switch_types_off() {
        let config = parse(json!({
            "repositories": ["a/b"],
            "auth": {"type": "none"},
            "features": {"reviews": false, "commits": false},
        }))
        .unwrap();
        assert_eq!(
            config.enabled_types(),
            [
                RecordType::PullRequest,
                RecordType::Issue,
                RecordType::Comment,
                RecordType::WorkflowRun
            ]
        );
    }

    #[test]
    fn base_url_must_be_http() {
        let err = parse(json!({
            "repositories": ["a/b"],
            "auth": {"type": "none"},
            "base_url": "ftp://github.example.com/api/v3",
        }))
        .unwrap_err();
        assert!(field_errors(err)[0].starts_with("base_url:"));
    }

    #[test]
    fn repository_parse_agrees_with_the_schema_pattern() {
        for good in ["acme/widgets", "a-b/c.d_e", "A1/x"] {
            assert!(Repository::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "acme", "/x", "a/", "a/b/c", "a b/c", "-a/b", "a/..", "a/b?c",
        ] {
            assert!(Repository::parse(bad).is_err(), "{bad}");
        }
    }
}
