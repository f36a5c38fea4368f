//! The Jira connector's typed config.

use std::collections::BTreeMap;

use gwi_core::config::{ValidateConfig, check_types, repeated};
use gwi_core::error::FieldError;
use schemars::JsonSchema;
use serde::Deserialize;

/// Minutes each incremental run reads back before its cursor unless configured: Jira's search
/// is eventually consistent, and JQL dates have minute granularity.
const DEFAULT_SAFETY_WINDOW_MINUTES: u16 = 5;

/// The Sprint field's id on Jira Cloud sites, unless `custom_fields.sprint` names another.
pub(crate) const SPRINT_FIELD: &str = "customfield_10020";

/// The Jira connector's own settings in `[connectors.jira]`, beside the common ones
/// (`base_url`: the site, `https://acme.atlassian.net`, or for OAuth 2.0
/// `https://api.atlassian.com/ex/jira/{cloudid}`; `auth`: `basic` with the account's email and
/// an API token, `bearer` with a Data Center personal access token, or `oauth2` with
/// `token_url = "https://auth.atlassian.com/oauth/token"`, whose refresh tokens rotate;
/// `webhook_secret`: the webhook's secret, whose `X-Hub-Signature` every delivery must then carry).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct JiraConfig {
    /// Projects to sync, by key (`ENG`). Give this or `jql`.
    #[serde(default)]
    pub projects: Option<Vec<String>>,
    /// A JQL filter choosing the issues to sync instead of `projects`, without `ORDER BY`
    /// (gwi orders by `updated` itself), e.g. `project in (ENG, OPS) AND type != Epic`.
    #[serde(default)]
    pub jql: Option<String>,
    /// Record types to sync; omit for all of them.
    #[serde(default)]
    pub types: Option<Vec<RecordType>>,
    /// Custom fields to keep, as `readable_key = "field"`, the field by id (`customfield_10016`)
    /// or by name (`Story Points`, looked up once per sync). `sprint` replaces the Sprint field
    /// gwi reads by default (`customfield_10020`).
    #[serde(default)]
    pub custom_fields: BTreeMap<String, String>,
    /// Minutes before its cursor each incremental run reads again, since Jira's search is
    /// eventually consistent: an issue updated just before the last run may only now be found.
    #[serde(default = "default_safety_window")]
    #[schemars(range(max = 1440))]
    pub safety_window_minutes: u16,
}

fn default_safety_window() -> u16 {
    DEFAULT_SAFETY_WINDOW_MINUTES
}

/// Whether `text` is a Jira project key: a capital letter, then capitals, digits or `_`.
pub(crate) fn is_project_key(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && (2..=10).contains(&text.len())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

impl ValidateConfig for JiraConfig {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        match (&self.projects, &self.jql) {
            (None, None) => errors.push(FieldError::new(
                "projects",
                "name the projects to sync (projects = [\"ENG\"]) or a JQL filter (jql = \"...\")",
            )),
            (Some(_), Some(_)) => errors.push(FieldError::new(
                "jql",
                "give `projects` or `jql`, not both (a JQL filter can name projects itself)",
            )),
            _ => {}
        }
        if let Some(projects) = &self.projects {
            if projects.is_empty() {
                errors.push(FieldError::new("projects", "list at least one project key"));
            }
            for (i, key) in projects.iter().enumerate() {
                if !is_project_key(key) {
                    errors.push(FieldError::new(
                        format!("projects[{i}]"),
                        format!("{key:?} is not a project key; give the key issue keys start with (ENG for ENG-123)"),
                    ));
                }
            }
            errors.extend(repeated("projects", projects, Clone::clone));
        }
        if let Some(jql) = &self.jql {
            if jql.trim().is_empty() {
                errors.push(FieldError::new("jql", "must not be empty"));
            } else if jql.to_ascii_lowercase().contains("order by") {
                errors.push(FieldError::new(
                    "jql",
                    "leave out ORDER BY: gwi reads issues by `updated` to resume where it stopped",
                ));
            }
        }
        errors.extend(check_types(self.types.as_deref()));
        for (key, field) in &self.custom_fields {
            let readable = key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if key.is_empty() || !readable {
                errors.push(FieldError::new(
                    format!("custom_fields.{key}"),
                    "the key names the field in records: use snake_case (story_points)",
                ));
            }
            if field.trim().is_empty() {
                errors.push(FieldError::new(
                    format!("custom_fields.{key}"),
                    "name a field by id (customfield_10016) or by its name",
                ));
            }
        }
        if self.safety_window_minutes > 1440 {
            errors.push(FieldError::new(
                "safety_window_minutes",
                "at most 1440 (a day); use `gwi sync --full-refresh` to read everything again",
            ));
        }
        errors
    }
}

impl JiraConfig {
    /// The record types this config enables, in sync order.
    pub fn enabled_types(&self) -> Vec<RecordType> {
        RecordType::enabled(self.types.as_deref())
    }

    /// Whether this config syncs `record_type`.
    pub(crate) fn syncs_type(&self, record_type: RecordType) -> bool {
        self.enabled_types().contains(&record_type)
    }
}

gwi_core::record_types! {
    /// A record type the Jira connector produces.
    pub enum RecordType {
        /// Projects (`<project id>`).
        Project = "project",
        /// Issues (`<issue id>`; `data.key` is `ENG-123`).
        Issue = "issue",
        /// Comments on issues (`<comment id>`).
        Comment = "comment",
        /// One entry of an issue's history: who changed what, from what to what (`<history id>`).
        Changelog = "changelog",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gwi_core::config::parse_connector;
    use gwi_core::registry::ConnectorDefinition;
    use serde_json::json;

    use crate::jira::JiraConnector;

    fn parse(config: serde_json::Value) -> Result<JiraConfig, String> {
        parse_connector::<JiraConfig>(&JiraConnector::metadata(), config)
            .map(|c| c.own)
            .map_err(|e| e.to_string())
    }

    fn auth() -> serde_json::Value {
        json!({"type": "basic", "username": "me@acme.com", "password": "env:PATH"})
    }

    #[test]
    fn the_documented_config_parses_and_refusals_name_the_field() {
        let config = parse(json!({
            "base_url": "https://acme.atlassian.net", "projects": ["ENG", "OPS"],
            "auth": auth(), "webhook_secret": "env:HOME",
        }))
        .unwrap();
        assert_eq!(config.enabled_types(), RecordType::ALL);
        assert_eq!(config.safety_window_minutes, DEFAULT_SAFETY_WINDOW_MINUTES);
        assert!(
            parse(json!({"jql": "project in (ENG, OPS) AND type != Epic", "auth": auth()})).is_ok()
        );
        for (bad, field) in [
            (json!({}), "projects"),
            (json!({"projects": ["ENG"], "jql": "project = ENG"}), "jql"),
            (json!({"projects": ["eng"]}), "projects[0]"),
            (json!({"jql": "project = ENG ORDER BY created"}), "jql"),
            (
                json!({"projects": ["ENG"], "custom_fields": {"Story Points": "customfield_1"}}),
                "custom_fields.Story Points",
            ),
            (json!({"projects": ["ENG"], "types": ["sprint"]}), "types"),
        ] {
            let mut config = bad.clone();
            config["auth"] = auth();
            let err = parse(config).expect_err(&bad.to_string());
            assert!(err.contains(field), "{bad}: {err}");
        }
    }
}
