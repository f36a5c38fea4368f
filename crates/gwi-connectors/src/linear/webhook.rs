//! Webhook deliveries to records, through the same transforms a sync uses.
//!
//! `gwi serve` verifies `Linear-Signature` (hex HMAC-SHA256 of the raw body), refuses a signed
//! `webhookTimestamp` more than 60 s from its clock, and deduplicates by `Linear-Delivery`.
//!
//! | `type` | `create`, `update` | `remove` |
//! |---|---|---|
//! | `Issue`, `Comment`, `Project`, `Cycle` | the object, as a query gives it | a tombstone of it, stamped when it was removed |
//! | anything else (`IssueLabel`, `Reaction`, ...) | nothing | nothing |
//!
//! With `teams` in the config, objects of other teams give nothing, as a sync would not read
//! them: an issue names its team's key; a comment names only its issue, a cycle or project only
//! team ids, so those are looked up (once per process for the teams' ids).

use std::sync::{PoisonError, RwLock};

use chrono::{DateTime, Utc};
use gwi_core::error::ConnectorError;
use gwi_core::graphql::GraphQl;
use gwi_core::http::ApiClient;
use gwi_core::record::ConnectorRecord;
use gwi_core::webhook::WebhookEvent;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::config::{LinearConfig, RecordType};
use super::models::{Comment, Cycle, Issue, Project};
use super::queries;
use super::records::{self, RecordResult, SOURCE};

/// A delivery's body: what happened to which object.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delivery<T> {
    action: String,
    data: T,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
}

/// What mapping a delivery may need to look up.
#[derive(Debug, Default)]
pub(crate) struct TeamIds {
    /// The ids of the configured teams, once looked up.
    ids: RwLock<Option<Vec<String>>>,
}

/// Maps one verified delivery to records.
pub(crate) async fn records_for(
    config: &LinearConfig,
    api: &GraphQl,
    client: &ApiClient,
    team_ids: &TeamIds,
    event: &WebhookEvent,
) -> Result<Vec<ConnectorRecord>, ConnectorError> {
    let lookup = Lookup {
        config,
        api,
        client,
        team_ids,
    };
    match event.event_type.as_str() {
        "Issue" if config.syncs_type(RecordType::Issue) => {
            let delivery: Delivery<Issue> = event.decode()?;
            let ours = match delivery.data.team.key.as_deref() {
                Some(key) => config.syncs_team(key),
                None => lookup.issue_in_teams(&delivery.data.id).await?,
            };
            mapped(ours, &delivery, records::issue(&delivery.data))
        }
        "Comment" if config.syncs_type(RecordType::Comment) => {
            let delivery: Delivery<Comment> = event.decode()?;
            let ours = match delivery.data.issue_id() {
                Some(issue) => lookup.issue_in_teams(&issue).await?,
                None => config.teams.is_none(),
            };
            mapped(ours, &delivery, records::comment(&delivery.data))
        }
        "Project" if config.syncs_type(RecordType::Project) => {
            let delivery: Delivery<Project> = event.decode()?;
            let ours = lookup.any_ours(&delivery.data.team_ids()).await?;
            mapped(ours, &delivery, records::project(&delivery.data))
        }
        "Cycle" if config.syncs_type(RecordType::Cycle) => {
            let delivery: Delivery<Cycle> = event.decode()?;
            let team: Vec<String> = delivery.data.team_id().into_iter().collect();
            let ours = lookup.any_ours(&team).await?;
            mapped(ours, &delivery, records::cycle(&delivery.data))
        }
        other => {
            tracing::debug!(
                connector = SOURCE,
                event = other,
                "webhook maps to no records"
            );
            Ok(Vec::new())
        }
    }
}

/// The delivery's record (a tombstone for `remove`), if the config syncs its team.
fn mapped<T>(
    ours: bool,
    delivery: &Delivery<T>,
    record: RecordResult,
) -> Result<Vec<ConnectorRecord>, ConnectorError> {
    if !ours {
        return Ok(Vec::new());
    }
    let record = record?;
    Ok(vec![if delivery.action == "remove" {
        let at = delivery.created_at.unwrap_or(record.updated_at);
        record.into_tombstone(at)
    } else {
        record
    }])
}

struct Lookup<'a> {
    config: &'a LinearConfig,
    api: &'a GraphQl,
    client: &'a ApiClient,
    team_ids: &'a TeamIds,
}

#[derive(Deserialize)]
struct IssueTeam {
    issue: IssueTeamIssue,
}

#[derive(Deserialize)]
struct IssueTeamIssue {
    team: KeyOnly,
}

#[derive(Deserialize)]
struct KeyOnly {
    key: String,
}

#[derive(Deserialize)]
struct TeamList {
    teams: gwi_core::graphql::Connection<TeamId>,
}

#[derive(Deserialize)]
struct TeamId {
    id: String,
}

impl Lookup<'_> {
    async fn query<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: serde_json::Value,
    ) -> Result<T, ConnectorError> {
        self.api.query(self.client, query, variables).await
    }

    /// Whether the issue `id` belongs to a configured team (always, without `teams`).
    async fn issue_in_teams(&self, id: &str) -> Result<bool, ConnectorError> {
        if self.config.teams.is_none() {
            return Ok(true);
        }
        let found: IssueTeam = self.query(queries::ISSUE_TEAM, json!({ "id": id })).await?;
        Ok(self.config.syncs_team(&found.issue.team.key))
    }

    /// Whether any of `teams` (ids) is configured (always, without `teams`).
    async fn any_ours(&self, teams: &[String]) -> Result<bool, ConnectorError> {
        let Some(keys) = &self.config.teams else {
            return Ok(true);
        };
        let known = self
            .team_ids
            .ids
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let ids = match known {
            Some(ids) => ids,
            None => {
                let filter = json!({ "filter": { "key": { "in": keys } } });
                let list: TeamList = self.query(queries::TEAM_IDS, filter).await?;
                let ids: Vec<String> = list.teams.nodes.into_iter().map(|t| t.id).collect();
                *self
                    .team_ids
                    .ids
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Some(ids.clone());
                ids
            }
        };
        Ok(teams.iter().any(|t| ids.contains(t)))
    }
}
