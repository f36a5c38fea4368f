//! The Linear connector's typed config.

use gwi_core::config::{ValidateConfig, check_types, repeated};
use gwi_core::error::FieldError;
use schemars::JsonSchema;
use serde::Deserialize;

/// Linear's API host; the GraphQL endpoint is `{base_url}/graphql`.
pub const DEFAULT_BASE_URL: &str = "https://api.linear.app";

/// Nodes per page unless configured.
const DEFAULT_PAGE_SIZE: u16 = 100;
/// Linear's largest page.
pub(crate) const MAX_PAGE_SIZE: u16 = 250;

/// The Linear connector's own settings in `[connectors.linear]`, beside the common ones
/// (`auth`: `api_key` with a personal API key, sent as `Authorization: <key>`, or `oauth2` with
/// `token_url = "https://api.linear.app/oauth/token"`, whose refresh tokens rotate;
/// `webhook_secret` or `webhook`, the webhook's signing secret).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct LinearConfig {
    /// Teams to sync, by key (`ENG`); omit for every team the credentials can see. Issues,
    /// comments and cycles of other teams are left out, and projects none of these teams work on.
    #[serde(default)]
    pub teams: Option<Vec<String>>,
    /// Record types to sync; omit for all of them.
    #[serde(default)]
    pub types: Option<Vec<RecordType>>,
    /// Nodes per query, at most 250 (Linear's largest page). A page of issues with their labels
    /// costs more of Linear's complexity budget than one of users: lower this if Linear refuses
    /// a query as too complex.
    #[serde(default = "default_page_size")]
    #[schemars(range(min = 1, max = 250))]
    pub page_size: u16,
}

fn default_page_size() -> u16 {
    DEFAULT_PAGE_SIZE
}

/// Whether `text` is a Linear team key: upper-case letters and digits, starting with a letter.
fn is_team_key(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && text.len() <= 16
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

impl ValidateConfig for LinearConfig {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(teams) = &self.teams {
            if teams.is_empty() {
                errors.push(FieldError::new(
                    "teams",
                    "list at least one team key, or omit `teams` for every team",
                ));
            }
            for (i, team) in teams.iter().enumerate() {
                if !is_team_key(team) {
                    errors.push(FieldError::new(
                        format!("teams[{i}]"),
                        format!(
                            "{team:?} is not a team key; give the key issue identifiers start with (ENG for ENG-123)"
                        ),
                    ));
                }
            }
            errors.extend(repeated("teams", teams, Clone::clone));
        }
        errors.extend(check_types(self.types.as_deref()));
        if !(1..=MAX_PAGE_SIZE).contains(&self.page_size) {
            errors.push(FieldError::new(
                "page_size",
                format!("must be between 1 and {MAX_PAGE_SIZE} (Linear's largest page)"),
            ));
        }
        errors
    }
}

impl LinearConfig {
    /// The record types this config enables, in sync order.
    pub fn enabled_types(&self) -> Vec<RecordType> {
        RecordType::enabled(self.types.as_deref())
    }

    /// Whether this config syncs `record_type`.
    pub(crate) fn syncs_type(&self, record_type: RecordType) -> bool {
        self.enabled_types().contains(&record_type)
    }

    /// Whether this config syncs the team with `key` (every team when it names none).
    pub(crate) fn syncs_team(&self, key: &str) -> bool {
        self.teams
            .as_ref()
            .is_none_or(|teams| teams.iter().any(|t| t == key))
    }
}

gwi_core::record_types! {
    /// A record type the Linear connector produces.
    pub enum RecordType {
        /// Teams (`<uuid>`).
        Team = "team",
        /// Users of the workspace (`<uuid>`), deactivated ones flagged.
        User = "user",
        /// Projects (`<uuid>`).
        Project = "project",
        /// Cycles (`<uuid>`).
        Cycle = "cycle",
        /// Issues (`<uuid>`; `data.identifier` is `ENG-123`).
        Issue = "issue",
        /// Comments on issues (`<uuid>`).
        Comment = "comment",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gwi_core::config::parse_connector;
    use gwi_core::registry::ConnectorDefinition;
    use serde_json::json;

    use crate::linear::LinearConnector;

    fn parse(config: serde_json::Value) -> Result<LinearConfig, String> {
        parse_connector::<LinearConfig>(&LinearConnector::metadata(), config)
            .map(|c| c.own)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_documented_config_parses_and_refusals_name_the_field() {
        let config = parse(json!({
            "teams": ["ENG"], "types": ["issue", "comment"],
            "auth": {"type": "api_key", "key": "env:PATH"}, "webhook_secret": "env:HOME",
        }))
        .unwrap();
        assert_eq!(
            config.enabled_types(),
            [RecordType::Issue, RecordType::Comment]
        );
        assert!(config.syncs_team("ENG") && !config.syncs_team("OPS"));
        assert_eq!(config.page_size, DEFAULT_PAGE_SIZE);
        for (bad, field) in [
            (json!({"teams": ["eng"]}), "teams[0]"),
            (json!({"teams": []}), "teams"),
            (json!({"teams": ["ENG", "ENG"]}), "teams[1]"),
            (json!({"types": ["label"]}), "types"),
            (json!({"page_size": 500}), "page_size"),
        ] {
            let mut config = bad.clone();
            config["auth"] = json!({"type": "api_key", "key": "env:PATH"});
            let err = parse(config).expect_err(&bad.to_string());
            assert!(err.contains(field), "{bad}: {err}");
        }
    }
}
