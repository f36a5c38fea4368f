//! The GitLab connector's typed config.

use std::fmt;

use gwi_core::config::{ValidateConfig, check_types, repeated};
use gwi_core::error::FieldError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// gitlab.com; a self-managed instance is its root URL (`https://gitlab.example.com`), and the
/// API is under it at `/api/v4`.
pub const DEFAULT_BASE_URL: &str = "https://gitlab.com";

/// The GitLab connector's own settings in `[connectors.gitlab]`, beside the common ones
/// (`auth`: `bearer` for personal, project and group access tokens, `oauth2` with
/// `token_url = "{base_url}/oauth/token"`, or `api_key` with `header = "PRIVATE-TOKEN"`;
/// `base_url`, the instance root, by default `https://gitlab.com`; `webhook_secret` or
/// `webhook`, the hook's secret token).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct GitlabConfig {
    /// Projects to sync, by path (`group/subgroup/project`) or numeric id (`"4217"`).
    #[serde(default)]
    pub projects: Vec<ProjectRef>,
    /// Groups (path or numeric id) whose projects, subgroups included, are all synced; the
    /// projects are listed again at the start of every sync.
    #[serde(default)]
    pub groups: Vec<GroupRef>,
    /// Record types to sync; omit for all of them.
    #[serde(default)]
    pub types: Option<Vec<RecordType>>,
}

impl ValidateConfig for GitlabConfig {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.projects.is_empty() && self.groups.is_empty() {
            errors.push(FieldError::new(
                "projects",
                "name at least one project (or a group in `groups`)",
            ));
        }
        errors.extend(repeated("projects", &self.projects, |p| {
            p.as_str().to_ascii_lowercase()
        }));
        errors.extend(check_types(self.types.as_deref()));
        errors
    }
}

impl GitlabConfig {
    /// The record types this config enables, in sync order.
    pub fn enabled_types(&self) -> Vec<RecordType> {
        RecordType::enabled(self.types.as_deref())
    }

    /// Whether this config syncs the project `id` at `path`, as a webhook names it: a configured
    /// project (by path or id), or one in a configured group (given by path: a config with
    /// webhooks refuses a group's numeric id, which a hook body never names).
    pub(crate) fn syncs(&self, id: u64, path: &str) -> bool {
        self.projects
            .iter()
            .any(|p| p.id() == Some(id) || p.as_str().eq_ignore_ascii_case(path))
            || self.groups.iter().any(|g| g.contains_path(path))
    }
}

/// Whether `text` is a GitLab path: `/`-separated segments of letters, digits, `_`, `-` and `.`,
/// none starting with `-` or `.`; at least `min_segments` of them.
fn is_path(text: &str, min_segments: usize) -> bool {
    let segments: Vec<&str> = text.split('/').collect();
    segments.len() >= min_segments
        && segments.iter().all(|s| {
            s.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        })
}

/// Whether `text` is a numeric GitLab id.
fn is_id(text: &str) -> bool {
    !text.is_empty() && text.len() <= 20 && text.chars().all(|c| c.is_ascii_digit())
}

/// A project as `namespace/project` (any depth of subgroups) or its numeric id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct ProjectRef(
    #[schemars(regex(
        pattern = r"^([0-9]{1,20}|[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)+)$"
    ))]
    String,
);

impl ProjectRef {
    /// Parses a project path or numeric id, refusing anything else.
    pub fn parse(text: &str) -> Result<Self, String> {
        if is_id(text) || is_path(text, 2) {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "{text:?} is not a project as group/project (subgroups allowed) or a numeric id"
            ))
        }
    }

    /// The path or id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The numeric id, when the project is given by id.
    pub fn id(&self) -> Option<u64> {
        is_id(&self.0).then(|| self.0.parse().ok()).flatten()
    }
}

impl fmt::Display for ProjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A group as its full path (`acme`, `acme/platform`) or its numeric id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct GroupRef(
    #[schemars(regex(
        pattern = r"^([0-9]{1,20}|[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*)$"
    ))]
    String,
);

impl GroupRef {
    /// Parses a group path or numeric id, refusing anything else.
    pub fn parse(text: &str) -> Result<Self, String> {
        if is_id(text) || is_path(text, 1) {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!("{text:?} is not a group path or a numeric id"))
        }
    }

    /// The path or id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the group is given by numeric id (a webhook body cannot be matched to it).
    pub fn is_id(&self) -> bool {
        is_id(&self.0)
    }

    /// Whether the project at `path` lies in this group or one of its subgroups.
    pub fn contains_path(&self, path: &str) -> bool {
        !self.is_id()
            && path.len() > self.0.len()
            && path.as_bytes().get(self.0.len()) == Some(&b'/')
            && path
                .get(..self.0.len())
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case(&self.0))
    }
}

impl fmt::Display for GroupRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

gwi_core::record_types! {
    /// A record type the GitLab connector produces.
    pub enum RecordType {
        /// Merge requests (`mr-<id>`, the global id).
        MergeRequest = "merge_request",
        /// Issues (`issue-<id>`).
        Issue = "issue",
        /// Notes on merge requests and issues, system notes included (`note-<id>`).
        Note = "note",
        /// CI pipelines (`pipeline-<id>`).
        Pipeline = "pipeline",
        /// Commits of the default branch (`commit-<project id>-<sha>`).
        Commit = "commit",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gwi_core::auth::AuthKind;
    use gwi_core::config::{ConnectorConfig, parse_connector};
    use gwi_core::error::ConnectorError;
    use gwi_core::registry::ConnectorDefinition;
    use serde_json::json;

    use crate::gitlab::GitlabConnector;

    fn parse_all(
        value: serde_json::Value,
    ) -> Result<ConnectorConfig<GitlabConfig>, ConnectorError> {
        parse_connector(&GitlabConnector::metadata(), value)
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
    fn webhooks_match_configured_projects_by_path_or_id_and_groups_by_path() {
        let config = parse_all(json!({
            "projects": ["acme/widgets", "4217"],
            "groups": ["acme-platform"],
            "auth": {"type": "bearer", "token": "t"},
        }))
        .unwrap()
        .own;
        assert!(config.syncs(1, "ACME/widgets"));
        assert!(config.syncs(4217, "elsewhere/x"));
        assert!(config.syncs(2, "acme-platform/tools/cli"));
        assert!(!config.syncs(3, "acme/other"));
        assert!(!config.syncs(4, "acme-platform-two/x"));
    }

    #[test]
    fn the_issue_example_toml_parses_as_written() {
        let table: serde_json::Value = toml::from_str(
            r#"
base_url = "https://gitlab.example.com"
projects = ["acme/widgets", "4217"]
groups = ["acme-platform"]
types = ["merge_request", "issue"]
auth = { type = "bearer", token = "env:PATH" }
webhook_secret = "env:PATH"
"#,
        )
        .unwrap();
        let ConnectorConfig { common, own } = parse_all(table).unwrap();
        assert_eq!(
            own.enabled_types(),
            [RecordType::MergeRequest, RecordType::Issue]
        );
        assert_eq!(own.projects[0].id(), None);
        assert_eq!(own.projects[1].id(), Some(4217));
        assert_eq!(own.groups[0].as_str(), "acme-platform");
        assert_eq!(common.auth.kind(), AuthKind::Bearer);
        assert_eq!(common.webhook_settings().unwrap().secrets.len(), 1);
    }

    #[test]
    fn a_groups_only_config_is_enough_and_nothing_at_all_is_refused_naming_projects() {
        let config = parse_all(json!({
            "groups": ["acme-platform"],
            "auth": {"type": "bearer", "token": "t"},
        }))
        .unwrap()
        .own;
        assert_eq!(config.enabled_types(), RecordType::ALL);
        let err = parse_all(json!({"auth": {"type": "bearer", "token": "t"}})).unwrap_err();
        assert!(field_errors(err)[0].starts_with("projects:"));
    }

    #[test]
    fn malformed_projects_groups_and_types_are_named_by_index() {
        let err = parse_all(json!({
            "projects": ["acme/widgets", "widgets", "acme//x"],
            "groups": ["ok", "-bad"],
            "types": ["issue", "wiki"],
            "auth": {"type": "bearer", "token": "t"},
        }))
        .unwrap_err();
        let text = field_errors(err).join("\n");
        for field in ["projects[1]", "projects[2]", "groups[1]", "types[1]"] {
            assert!(text.contains(field), "{field} missing: {text}");
        }
        assert!(!text.contains("projects[0]"), "{text}");
    }

    #[test]
    fn repeated_projects_and_types_and_an_empty_types_list_are_refused() {
        let err = parse_all(json!({
            "projects": ["acme/widgets", "ACME/widgets"],
            "types": ["issue", "issue"],
            "auth": {"type": "bearer", "token": "t"},
        }))
        .unwrap_err();
        let text = field_errors(err).join("\n");
        assert!(
            text.contains("projects[1]: ACME/widgets is listed twice"),
            "{text}"
        );
        assert!(text.contains("types[1]: issue is listed twice"), "{text}");
        let err = parse_all(json!({
            "projects": ["a/b"], "types": [], "auth": {"type": "bearer", "token": "t"},
        }))
        .unwrap_err();
        assert!(field_errors(err)[0].starts_with("types:"));
    }

    #[test]
    fn only_bearer_oauth2_and_api_key_are_accepted() {
        let err = parse_all(json!({
            "projects": ["a/b"],
            "auth": {"type": "basic", "username": "u", "password": "p"},
        }))
        .unwrap_err();
        let errors = field_errors(err);
        assert!(errors[0].starts_with("auth.type:"), "{errors:?}");
        assert!(errors[0].contains("bearer, oauth2, api_key"), "{errors:?}");
        let oauth = parse_all(json!({
            "projects": ["a/b"],
            "auth": {"type": "oauth2", "token_url": "https://gitlab.example.com/oauth/token",
                     "client_id": "app", "client_secret": "s", "refresh_token": "r"},
        }))
        .unwrap();
        assert_eq!(oauth.common.auth.kind(), AuthKind::OAuth2);
    }

    #[test]
    fn parse_agrees_with_the_schema_patterns() {
        for good in ["a/b", "acme/sub/x.y_z-1", "4217", "_a/b"] {
            assert!(ProjectRef::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "a", "/a", "a/", "a//b", "-a/b", "a/.b", "a b/c", "a/b?c", "",
        ] {
            assert!(ProjectRef::parse(bad).is_err(), "{bad}");
        }
        for good in ["acme", "acme/platform", "200"] {
            assert!(GroupRef::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "acme/", "-acme", "a b"] {
            assert!(GroupRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_group_contains_its_subgroups_projects_only() {
        let group = GroupRef::parse("acme-platform").unwrap();
        assert!(group.contains_path("acme-platform/api"));
        assert!(group.contains_path("ACME-platform/tools/cli"));
        assert!(!group.contains_path("acme-platform"));
        assert!(!group.contains_path("acme-platformer/x"));
        assert!(!GroupRef::parse("200").unwrap().contains_path("200/x"));
    }
}
