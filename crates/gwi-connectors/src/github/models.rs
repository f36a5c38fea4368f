//! The GitHub REST objects the connector reads: only the fields it uses.
//!
//! Webhook payloads nest the same objects, so one set of structs decodes both. `Option` marks
//! what GitHub sends as `null` (a missing body, a deleted user, an unmerged pull request).
//!
//! Free text that is only passed through (titles, bodies, commit messages) stays as the JSON
//! string it came as (`RawValue`): copied into the record's text as is, never unescaped and
//! escaped again. That is most of the bytes of a pull request or an issue.
//!
//! Timestamps are read with `gwi_core::time` (strict RFC 3339 first, as GitHub sends them),
//! several times faster than chrono's own lenient parser.

use chrono::{DateTime, Utc};
use gwi_core::time;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

/// A user or bot; deleted accounts show as `ghost` or as `null`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct User {
    pub login: String,
}

/// An issue or pull request label.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Label {
    pub name: String,
}

/// A milestone an issue or pull request belongs to.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Milestone {
    pub title: String,
}

/// One side (head or base) of a pull request.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BranchRef {
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: String,
}

/// `GET /repos/{owner}/{repo}/pulls` items and the `pull_request` of webhook payloads.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PullRequest {
    pub id: u64,
    pub number: u64,
    pub title: Box<RawValue>,
    pub body: Option<Box<RawValue>>,
    pub state: String,
    /// Absent on old GitHub Enterprise Server versions.
    #[serde(default)]
    pub draft: Option<bool>,
    #[serde(default)]
    pub locked: bool,
    pub user: Option<User>,
    #[serde(default)]
    pub assignees: Vec<User>,
    #[serde(default)]
    pub requested_reviewers: Vec<User>,
    #[serde(default)]
    pub labels: Vec<Label>,
    pub milestone: Option<Milestone>,
    pub head: BranchRef,
    pub base: BranchRef,
    /// The list endpoint has no `merged` flag; `merged_at` is set exactly when merged.
    #[serde(default, deserialize_with = "time::deserialize_option")]
    pub merged_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "time::deserialize_option")]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "time::deserialize")]
    pub created_at: DateTime<Utc>,
    #[serde(deserialize_with = "time::deserialize")]
    pub updated_at: DateTime<Utc>,
    pub html_url: String,
    pub url: String,
}

/// `GET /repos/{owner}/{repo}/issues` items and the `issue` of webhook payloads.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Issue {
    pub id: u64,
    pub number: u64,
    pub title: Box<RawValue>,
    pub body: Option<Box<RawValue>>,
    pub state: String,
    #[serde(default)]
    pub state_reason: Option<String>,
    #[serde(default)]
    pub locked: bool,
    pub user: Option<User>,
    #[serde(default)]
    pub assignees: Vec<User>,
    #[serde(default)]
    pub labels: Vec<Label>,
    pub milestone: Option<Milestone>,
    #[serde(default)]
    pub comments: u64,
    #[serde(default, deserialize_with = "time::deserialize_option")]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "time::deserialize")]
    pub created_at: DateTime<Utc>,
    #[serde(deserialize_with = "time::deserialize")]
    pub updated_at: DateTime<Utc>,
    pub html_url: String,
    pub url: String,
    /// Present when the "issue" is a pull request (the issues API lists both).
    #[serde(default)]
    pub pull_request: Option<IgnoredAny>,
}

impl Issue {
    /// Whether this item of the issues API is really a pull request.
    pub(crate) fn is_pull_request(&self) -> bool {
        self.pull_request.is_some()
    }
}

/// `GET /repos/{owner}/{repo}/issues/comments` items and `issue_comment` payloads' `comment`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IssueComment {
    pub id: u64,
    pub body: Option<Box<RawValue>>,
    pub user: Option<User>,
    pub issue_url: String,
    #[serde(deserialize_with = "time::deserialize")]
    pub created_at: DateTime<Utc>,
    #[serde(deserialize_with = "time::deserialize")]
    pub updated_at: DateTime<Utc>,
    pub html_url: String,
    pub url: String,
}

/// `GET /repos/{owner}/{repo}/pulls/comments` items and `pull_request_review_comment` payloads'
/// `comment`: a comment on a line of a pull request's diff.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ReviewComment {
    pub id: u64,
    pub body: Option<Box<RawValue>>,
    pub user: Option<User>,
    pub pull_request_url: String,
    pub pull_request_review_id: Option<u64>,
    #[serde(default)]
    pub in_reply_to_id: Option<u64>,
    pub path: String,
    #[serde(default)]
    pub line: Option<u64>,
    pub commit_id: String,
    #[serde(deserialize_with = "time::deserialize")]
    pub created_at: DateTime<Utc>,
    #[serde(deserialize_with = "time::deserialize")]
    pub updated_at: DateTime<Utc>,
    pub html_url: String,
    pub url: String,
}

/// `GET /repos/{owner}/{repo}/pulls/{number}/reviews` items and `pull_request_review` payloads'
/// `review`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Review {
    pub id: u64,
    pub body: Option<Box<RawValue>>,
    pub user: Option<User>,
    /// `APPROVED` from the REST API, `approved` in webhooks.
    pub state: String,
    pub commit_id: Option<String>,
    /// `null` while the review is pending (visible only to its author).
    #[serde(default, deserialize_with = "time::deserialize_option")]
    pub submitted_at: Option<DateTime<Utc>>,
    pub pull_request_url: String,
    pub html_url: String,
}

/// Name, email and date of a git author or committer.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct GitSignature {
    pub name: Option<String>,
    #[serde(deserialize_with = "time::deserialize")]
    pub date: DateTime<Utc>,
}

/// The git part of a REST commit.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct GitCommit {
    pub message: Box<RawValue>,
    pub author: GitSignature,
    pub committer: GitSignature,
}

/// `GET /repos/{owner}/{repo}/commits` items.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Commit {
    pub sha: String,
    pub commit: GitCommit,
    /// The GitHub account of the git author, when GitHub could match the email.
    pub author: Option<User>,
    pub committer: Option<User>,
    pub html_url: String,
    pub url: String,
}

/// A git identity in a push payload.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PushPerson {
    pub name: Option<String>,
    /// The GitHub login, when GitHub could match the email.
    #[serde(default)]
    pub username: Option<String>,
}

/// A commit in a `push` payload: a different shape from the REST commit.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PushCommit {
    /// The sha.
    pub id: String,
    pub message: Box<RawValue>,
    #[serde(deserialize_with = "time::deserialize")]
    pub timestamp: DateTime<Utc>,
    pub author: PushPerson,
    pub committer: PushPerson,
    /// The web URL.
    pub url: String,
}

/// A pull request a workflow run belongs to.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RunPullRequest {
    pub number: u64,
}

/// `GET /repos/{owner}/{repo}/actions/runs` items and `workflow_run` payloads' `workflow_run`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WorkflowRun {
    pub id: u64,
    pub name: Option<String>,
    #[serde(default)]
    pub display_title: Option<String>,
    pub workflow_id: u64,
    pub run_number: u64,
    #[serde(default)]
    pub run_attempt: Option<u64>,
    pub event: String,
    pub status: Option<String>,
    pub conclusion: Option<String>,
    pub head_branch: Option<String>,
    pub head_sha: String,
    #[serde(default)]
    pub actor: Option<User>,
    #[serde(default)]
    pub pull_requests: Vec<RunPullRequest>,
    #[serde(default, deserialize_with = "time::deserialize_option")]
    pub run_started_at: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "time::deserialize")]
    pub created_at: DateTime<Utc>,
    #[serde(deserialize_with = "time::deserialize")]
    pub updated_at: DateTime<Utc>,
    pub html_url: String,
    pub url: String,
}

/// The body of `GET /repos/{owner}/{repo}/actions/runs`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WorkflowRunsPage {
    pub total_count: u64,
    pub workflow_runs: Vec<WorkflowRun>,
}

/// The authenticated user, `GET /user`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AuthenticatedUser {
    pub login: String,
}

/// The body of `GET /rate_limit`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RateLimitStatus {
    pub resources: RateLimitResources,
}

/// Budgets per API family; `core` is the REST budget the connector spends.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RateLimitResources {
    pub core: RateLimitBudget,
}

/// One rate-limit budget.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RateLimitBudget {
    pub limit: u64,
    pub remaining: u64,
    /// Unix time the budget refills.
    pub reset: i64,
}

/// The repository of a webhook payload.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct EventRepository {
    pub full_name: String,
    /// Only push payloads are read for it.
    #[serde(default)]
    pub default_branch: Option<String>,
}

/// A `pull_request` event.
#[derive(Debug, Deserialize)]
pub(crate) struct PullRequestEvent {
    pub pull_request: PullRequest,
    pub repository: EventRepository,
}

/// What an `issues.transferred` event says about the issue's new home.
#[derive(Debug, Deserialize)]
pub(crate) struct IssueChanges {
    #[serde(default)]
    pub new_issue: Option<Issue>,
    #[serde(default)]
    pub new_repository: Option<EventRepository>,
}

/// An `issues` event.
#[derive(Debug, Deserialize)]
pub(crate) struct IssuesEvent {
    pub action: String,
    pub issue: Issue,
    pub repository: EventRepository,
    #[serde(default)]
    pub changes: Option<IssueChanges>,
}

/// An `issue_comment` event.
#[derive(Debug, Deserialize)]
pub(crate) struct IssueCommentEvent {
    pub action: String,
    pub comment: IssueComment,
    pub repository: EventRepository,
}

/// A `pull_request_review` event.
#[derive(Debug, Deserialize)]
pub(crate) struct ReviewEvent {
    pub review: Review,
    pub pull_request: PullRequest,
    pub repository: EventRepository,
}

/// A `pull_request_review_comment` event.
#[derive(Debug, Deserialize)]
pub(crate) struct ReviewCommentEvent {
    pub action: String,
    pub comment: ReviewComment,
    pub repository: EventRepository,
}

/// A `push` event.
#[derive(Debug, Deserialize)]
pub(crate) struct PushEvent {
    #[serde(rename = "ref")]
    pub git_ref: String,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub commits: Vec<PushCommit>,
    pub repository: EventRepository,
}

/// A `workflow_run` event.
#[derive(Debug, Deserialize)]
pub(crate) struct WorkflowRunEvent {
    pub workflow_run: WorkflowRun,
    pub repository: EventRepository,
}
