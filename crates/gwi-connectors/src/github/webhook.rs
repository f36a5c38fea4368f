//! Webhook events to records, through the same transforms a sync uses.
//!
//! Which events map, and to what:
//!
//! | `X-GitHub-Event`              | records                                                        |
//! |-------------------------------|----------------------------------------------------------------|
//! | `pull_request`                | the pull request                                               |
//! | `issues`                      | the issue; `deleted`: a tombstone; `transferred`: a tombstone for the old issue and the new issue |
//! | `issue_comment`               | the comment; `deleted`: a tombstone                            |
//! | `pull_request_review_comment` | the comment; `deleted`: a tombstone                            |
//! | `pull_request_review`         | the review                                                     |
//! | `push`                        | one `commit` per pushed commit, for the default branch only (what a sync reads) |
//! | `workflow_run`                | the run                                                        |
//! | `ping`, anything else         | nothing                                                        |
//!
//! A tombstone is the record as a sync last saw it plus `data.deleted = true` (and
//! `data.transferred_to` for transfers), stamped with the time it was processed so it replaces
//! the stored copy: a sync never sees a deleted object again, so without it the store would
//! keep the object forever.
//!
//! Events for repositories not in the config, or of record types the config turns off, give no
//! records: the webhook and the sync keep the same set.

use chrono::{DateTime, Utc};
use gwi_core::error::ConnectorError;
use gwi_core::record::ConnectorRecord;
use gwi_core::webhook::WebhookEvent;

use super::config::{GithubConfig, RecordType, Repository};
use super::core::GithubApi;
use super::models::{
    IssueCommentEvent, IssuesEvent, PullRequestEvent, PushEvent, ReviewCommentEvent, ReviewEvent,
    WorkflowRunEvent,
};
use super::records::{self, SOURCE};

/// Maps one verified event to records, as of `now` (the time tombstones carry).
pub(crate) fn records_for(
    config: &GithubConfig,
    api: &GithubApi,
    event: &WebhookEvent,
    now: DateTime<Utc>,
) -> Result<Vec<ConnectorRecord>, ConnectorError> {
    let mapper = Mapper {
        config,
        api,
        enabled: config.enabled_types(),
        now,
    };
    match event.event_type.as_str() {
        "pull_request" => mapper.pull_request(event.decode()?),
        "issues" => mapper.issues(event.decode()?),
        "issue_comment" => mapper.issue_comment(event.decode()?),
        "pull_request_review_comment" => mapper.review_comment(event.decode()?),
        "pull_request_review" => mapper.review(event.decode()?),
        "push" => mapper.push(event.decode()?),
        "workflow_run" => mapper.workflow_run(event.decode()?),
        other => {
            tracing::debug!(
                connector = SOURCE,
                event = other,
                "webhook event maps to no records"
            );
            Ok(Vec::new())
        }
    }
}

struct Mapper<'a> {
    config: &'a GithubConfig,
    api: &'a GithubApi,
    enabled: Vec<RecordType>,
    now: DateTime<Utc>,
}

impl Mapper<'_> {
    /// The configured spelling of `full_name` if it is configured and `record_type` is enabled.
    fn target(&self, full_name: &str, record_type: RecordType) -> Option<&Repository> {
        if !self.enabled.contains(&record_type) {
            return None;
        }
        self.config
            .repositories
            .iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(full_name))
    }

    fn pull_request(&self, e: PullRequestEvent) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        let Some(repo) = self.target(&e.repository.full_name, RecordType::PullRequest) else {
            return Ok(Vec::new());
        };
        Ok(vec![records::pull_request(&e.pull_request, repo.as_str())?])
    }

    fn issues(&self, e: IssuesEvent) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        let mut out = Vec::new();
        if let Some(repo) = self.target(&e.repository.full_name, RecordType::Issue)
            && !e.issue.is_pull_request()
        {
            let record = records::issue(&e.issue, repo.as_str())?;
            out.push(match e.action.as_str() {
                "deleted" => record.into_tombstone(self.now),
                "transferred" => {
                    let mut dead = record.into_tombstone(self.now);
                    let new_home = e
                        .changes
                        .as_ref()
                        .and_then(|c| c.new_repository.as_ref())
                        .map(|r| r.full_name.clone());
                    dead.set_field("transferred_to", new_home.into());
                    dead
                }
                _ => record,
            });
        }
        // A transfer creates a new issue (new id) in the new repository.
        if e.action == "transferred"
            && let Some(changes) = &e.changes
            && let (Some(issue), Some(new_repo)) = (&changes.new_issue, &changes.new_repository)
            && let Some(repo) = self.target(&new_repo.full_name, RecordType::Issue)
            && !issue.is_pull_request()
        {
            out.push(records::issue(issue, repo.as_str())?);
        }
        Ok(out)
    }

    fn issue_comment(&self, e: IssueCommentEvent) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        let Some(repo) = self.target(&e.repository.full_name, RecordType::Comment) else {
            return Ok(Vec::new());
        };
        let record = records::issue_comment(&e.comment, repo.as_str())?;
        Ok(vec![self.maybe_tombstone(&e.action, record)])
    }

    fn review_comment(
        &self,
        e: ReviewCommentEvent,
    ) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        let Some(repo) = self.target(&e.repository.full_name, RecordType::Comment) else {
            return Ok(Vec::new());
        };
        let record = records::review_comment(&e.comment, repo.as_str())?;
        Ok(vec![self.maybe_tombstone(&e.action, record)])
    }

    fn review(&self, e: ReviewEvent) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        let Some(repo) = self.target(&e.repository.full_name, RecordType::Review) else {
            return Ok(Vec::new());
        };
        Ok(vec![records::review(
            &e.review,
            e.pull_request.updated_at,
            repo.as_str(),
        )?])
    }

    /// Commits pushed to the default branch; tags, other branches and branch deletions map to
    /// nothing, because a sync reads only the default branch.
    fn push(&self, e: PushEvent) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        let Some(repo) = self.target(&e.repository.full_name, RecordType::Commit) else {
            return Ok(Vec::new());
        };
        let on_default_branch = e.git_ref.strip_prefix("refs/heads/").is_some_and(|branch| {
            e.repository
                .default_branch
                .as_deref()
                .is_none_or(|default| default == branch)
        });
        if e.deleted || !on_default_branch {
            return Ok(Vec::new());
        }
        e.commits
            .iter()
            .map(|c| {
                let api_url = self.api.repo_url(repo, &["commits", &c.id]);
                records::push_commit(c, repo.as_str(), api_url.as_str())
            })
            .collect()
    }

    fn workflow_run(&self, e: WorkflowRunEvent) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        let Some(repo) = self.target(&e.repository.full_name, RecordType::WorkflowRun) else {
            return Ok(Vec::new());
        };
        Ok(vec![records::workflow_run(&e.workflow_run, repo.as_str())?])
    }

    fn maybe_tombstone(&self, action: &str, record: ConnectorRecord) -> ConnectorRecord {
        if action == "deleted" {
            record.into_tombstone(self.now)
        } else {
            record
        }
    }
}
