//! Webhook deliveries to records.
//!
//! `gwi serve` verifies `X-Hub-Signature: sha256=...` (with a secret configured, an unsigned
//! delivery is refused) and deduplicates by `X-Atlassian-Webhook-Identifier`, which Jira keeps
//! across retries.
//!
//! | `webhookEvent` | records |
//! |---|---|
//! | `jira:issue_created`, `jira:issue_updated` | the issue as REST v3 gives it now, if the config's projects or JQL take it |
//! | `jira:issue_deleted` | a tombstone of the issue, stamped with the delivery's `timestamp` |
//! | `comment_created`, `comment_updated` | the comment as REST v3 gives it now, if its issue is synced |
//! | `comment_deleted` | a tombstone of the comment |
//! | anything else | nothing |
//!
//! Jira's webhooks carry REST v2 objects, whose descriptions and comment bodies are wiki text,
//! not the ADF a sync keeps; so a created or updated object is read again through the API, and
//! its row is the one the next sync writes (and the newest, whatever order deliveries come in).
//! Its changelog entry is left to the next sync. A deletion cannot be read again: its tombstone
//! is built from the delivery.

use chrono::{DateTime, Utc};
use gwi_core::error::ConnectorError;
use gwi_core::http::ApiClient;
use gwi_core::record::ConnectorRecord;
use gwi_core::webhook::WebhookEvent;
use serde::Deserialize;

use super::api::{JiraApi, SiteCache};
use super::config::{JiraConfig, RecordType};
use super::models::{Comment, Issue, SearchPage};
use super::records::{self, OnIssue, SOURCE};
use super::sync::all_scopes_jql;

/// What every delivery names.
#[derive(Deserialize)]
struct Delivery {
    issue: Option<IssueRef>,
    #[serde(default)]
    comment: Option<CommentRef>,
}

#[derive(Deserialize)]
struct IssueRef {
    id: String,
    key: String,
}

#[derive(Deserialize)]
struct CommentRef {
    id: String,
}

/// A deletion's delivery, with the object as it was.
#[derive(Deserialize)]
struct Deleted<T> {
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(flatten)]
    object: T,
}

#[derive(Deserialize)]
struct DeletedIssue {
    issue: Issue,
}

#[derive(Deserialize)]
struct DeletedComment {
    issue: IssueRef,
    comment: Comment,
}

/// What mapping a delivery reads with.
pub(crate) struct Mapper<'a> {
    pub config: &'a JiraConfig,
    pub api: &'a JiraApi,
    pub site: &'a SiteCache,
    pub client: &'a ApiClient,
}

fn stamped(timestamp: Option<i64>, fallback: DateTime<Utc>) -> DateTime<Utc> {
    timestamp
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or(fallback)
}

impl Mapper<'_> {
    /// Maps one verified delivery to records.
    pub(crate) async fn records_for(
        &self,
        event: &WebhookEvent,
    ) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        let syncs = |t| self.config.syncs_type(t);
        match event.event_type.as_str() {
            "jira:issue_created" | "jira:issue_updated" if syncs(RecordType::Issue) => {
                let delivery: Delivery = event.decode()?;
                let Some(issue) = delivery.issue else {
                    return Ok(Vec::new());
                };
                match self.current(&issue.id).await? {
                    Some((now, custom)) => Ok(vec![records::issue(&now, &custom)?]),
                    None => Ok(Vec::new()),
                }
            }
            "jira:issue_deleted" if syncs(RecordType::Issue) => {
                let deleted: Deleted<DeletedIssue> = event.decode()?;
                let issue = deleted.object.issue;
                if !self.takes_project(&issue) {
                    return Ok(Vec::new());
                }
                // A tombstone needs no request: the custom fields are those known, if any.
                let custom = self
                    .site
                    .known()
                    .map(|site| site.custom)
                    .unwrap_or_default();
                let record = records::issue(&issue, &custom)?;
                let at = stamped(deleted.timestamp, record.updated_at);
                Ok(vec![record.into_tombstone(at)])
            }
            "comment_created" | "comment_updated" if syncs(RecordType::Comment) => {
                let delivery: Delivery = event.decode()?;
                let (Some(issue), Some(comment)) = (delivery.issue, delivery.comment) else {
                    return Ok(Vec::new());
                };
                if self.current(&issue.id).await?.is_none() {
                    return Ok(Vec::new());
                }
                let request = self.api.get(&["issue", &issue.id, "comment", &comment.id]);
                let (_, now) = self.client.execute_json::<Comment>(&request).await?;
                let on = OnIssue {
                    id: &issue.id,
                    key: &issue.key,
                };
                Ok(vec![records::comment(&now, on)?])
            }
            "comment_deleted" if syncs(RecordType::Comment) => {
                let deleted: Deleted<DeletedComment> = event.decode()?;
                let DeletedComment { issue, comment } = deleted.object;
                let key_project = issue.key.split('-').next().unwrap_or_default();
                let taken = match &self.config.projects {
                    Some(projects) => projects.iter().any(|p| p == key_project),
                    None => true,
                };
                if !taken {
                    return Ok(Vec::new());
                }
                let on = OnIssue {
                    id: &issue.id,
                    key: &issue.key,
                };
                let record = records::comment(&comment, on)?;
                let at = stamped(deleted.timestamp, record.updated_at);
                Ok(vec![record.into_tombstone(at)])
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

    /// The issue `id` as REST v3 gives it now, if the config syncs it (one search, which both
    /// reads the issue and checks it against the projects or JQL).
    async fn current(
        &self,
        id: &str,
    ) -> Result<Option<(Issue, super::records::CustomFields)>, ConnectorError> {
        let site = self.site.get(self.config, self.api, self.client).await?;
        let jql = format!("({}) AND id = {id}", all_scopes_jql(self.config));
        let request = self.api.search(&jql, &site.fields());
        let (_, page) = self
            .client
            .execute_json::<SearchPage<Issue>>(&request)
            .await?;
        Ok(page.issues.into_iter().next().map(|i| (i, site.custom)))
    }

    /// Whether a deleted issue was in a configured project (a JQL filter cannot be checked
    /// against a deleted issue: its tombstone is written, matching nothing stored if the filter
    /// never took it).
    fn takes_project(&self, issue: &Issue) -> bool {
        let key = issue.fields.project.as_ref().and_then(|p| p.key.as_deref());
        match (&self.config.projects, key) {
            (Some(projects), Some(key)) => projects.iter().any(|p| p == key),
            (Some(projects), None) => projects
                .iter()
                .any(|p| issue.key.split('-').next() == Some(p.as_str())),
            (None, _) => true,
        }
    }
}
