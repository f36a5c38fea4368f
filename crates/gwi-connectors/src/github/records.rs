//! GitHub objects to [`ConnectorRecord`]s: the one place record ids and `data` fields are decided.
//!
//! Sync and webhooks both call these functions, so a pull request synced and the same pull
//! request received by webhook are the same record (same id, same `data` keys) and upsert one row.
//!
//! Each record's `data` is a struct of fields borrowed from the decoded object, serialized once
//! into the record's JSON text: nothing is copied into an intermediate map.

use chrono::{DateTime, Utc};
use gwi_core::error::ConnectorError;
use gwi_core::record::{ConnectorRecord, Envelope};
use schemars::JsonSchema;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use super::config::RecordType;
use super::models::{
    Commit, Issue, IssueComment, Label, PullRequest, PushCommit, Review, ReviewComment, User,
    WorkflowRun,
};

/// The `source` of every record, and the connector's name.
pub(crate) const SOURCE: &str = "github";

/// What the record functions return: a record, or why its fields could not be encoded.
pub(crate) type RecordResult = Result<ConnectorRecord, ConnectorError>;

fn record(
    id: String,
    record_type: RecordType,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    data: &impl Serialize,
    links: Links<'_>,
) -> RecordResult {
    let envelope = Envelope {
        source: SOURCE,
        record_type: record_type.as_str(),
        id,
        created_at,
        updated_at,
    };
    envelope.encode(data, &links)
}

/// A record's `metadata`: where the object lives on the web and in the API.
#[derive(Serialize)]
struct Links<'a> {
    html_url: &'a str,
    url: &'a str,
}

fn links<'a>(html_url: &'a str, api_url: &'a str) -> Links<'a> {
    Links {
        html_url,
        url: api_url,
    }
}

/// A deleted account may come as `null`; GitHub usually shows it as the `ghost` user.
fn login(user: Option<&User>) -> Option<&str> {
    user.map(|u| u.login.as_str())
}

/// Users as the list of their logins.
struct Logins<'a>(&'a [User]);

impl Serialize for Logins<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|u| u.login.as_str()))
    }
}

/// Labels as the list of their names.
struct LabelNames<'a>(&'a [Label]);

impl Serialize for LabelNames<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|l| l.name.as_str()))
    }
}

/// The number at the end of an API URL such as `.../issues/12` or `.../pulls/7`.
fn trailing_number(api_url: &str) -> Option<u64> {
    api_url
        .trim_end_matches('/')
        .rsplit('/')
        .next()?
        .parse()
        .ok()
}

/// `data` of a pull request.
#[derive(Serialize, JsonSchema)]
struct PullRequestData<'a> {
    number: u64,
    #[schemars(with = "String")]
    title: &'a RawValue,
    #[schemars(with = "Option<String>")]
    body: Option<&'a RawValue>,
    state: &'a str,
    draft: bool,
    locked: bool,
    merged: bool,
    merged_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    author: Option<&'a str>,
    #[schemars(with = "Vec<String>")]
    assignees: Logins<'a>,
    #[schemars(with = "Vec<String>")]
    requested_reviewers: Logins<'a>,
    #[schemars(with = "Vec<String>")]
    labels: LabelNames<'a>,
    milestone: Option<&'a str>,
    head: &'a str,
    head_sha: &'a str,
    base: &'a str,
    base_sha: &'a str,
    repository: &'a str,
}

/// A pull request: `pr-<id>`.
pub(crate) fn pull_request(pr: &PullRequest, repository: &str) -> RecordResult {
    let data = PullRequestData {
        number: pr.number,
        title: &pr.title,
        body: pr.body.as_deref(),
        state: &pr.state,
        draft: pr.draft.unwrap_or(false),
        locked: pr.locked,
        // The list endpoint has no `merged`; webhooks do, but both carry `merged_at`, and
        // deriving from it keeps the two sources identical.
        merged: pr.merged_at.is_some(),
        merged_at: pr.merged_at,
        closed_at: pr.closed_at,
        author: login(pr.user.as_ref()),
        assignees: Logins(&pr.assignees),
        requested_reviewers: Logins(&pr.requested_reviewers),
        labels: LabelNames(&pr.labels),
        milestone: pr.milestone.as_ref().map(|m| m.title.as_str()),
        head: &pr.head.name,
        head_sha: &pr.head.sha,
        base: &pr.base.name,
        base_sha: &pr.base.sha,
        repository,
    };
    record(
        format!("pr-{}", pr.id),
        RecordType::PullRequest,
        pr.created_at,
        pr.updated_at,
        &data,
        links(&pr.html_url, &pr.url),
    )
}

/// `data` of an issue.
#[derive(Serialize, JsonSchema)]
struct IssueData<'a> {
    number: u64,
    #[schemars(with = "String")]
    title: &'a RawValue,
    #[schemars(with = "Option<String>")]
    body: Option<&'a RawValue>,
    state: &'a str,
    state_reason: Option<&'a str>,
    locked: bool,
    author: Option<&'a str>,
    #[schemars(with = "Vec<String>")]
    assignees: Logins<'a>,
    #[schemars(with = "Vec<String>")]
    labels: LabelNames<'a>,
    milestone: Option<&'a str>,
    comments: u64,
    closed_at: Option<DateTime<Utc>>,
    repository: &'a str,
}

/// An issue: `issue-<id>`. Callers skip pull requests ([`Issue::is_pull_request`]).
pub(crate) fn issue(issue: &Issue, repository: &str) -> RecordResult {
    let data = IssueData {
        number: issue.number,
        title: &issue.title,
        body: issue.body.as_deref(),
        state: &issue.state,
        state_reason: issue.state_reason.as_deref(),
        locked: issue.locked,
        author: login(issue.user.as_ref()),
        assignees: Logins(&issue.assignees),
        labels: LabelNames(&issue.labels),
        milestone: issue.milestone.as_ref().map(|m| m.title.as_str()),
        comments: issue.comments,
        closed_at: issue.closed_at,
        repository,
    };
    record(
        format!("issue-{}", issue.id),
        RecordType::Issue,
        issue.created_at,
        issue.updated_at,
        &data,
        links(&issue.html_url, &issue.url),
    )
}

/// `data` of both comment kinds: one record type, one set of keys.
#[derive(Serialize, JsonSchema)]
struct CommentData<'a> {
    kind: &'static str,
    number: Option<u64>,
    #[schemars(with = "Option<String>")]
    body: Option<&'a RawValue>,
    author: Option<&'a str>,
    repository: &'a str,
    path: Option<&'a str>,
    line: Option<u64>,
    commit_id: Option<&'a str>,
    review_id: Option<u64>,
    in_reply_to_id: Option<u64>,
}

/// A comment on an issue or on a pull request's conversation: `issue-comment-<id>`.
///
/// The review-only keys are `null` here.
pub(crate) fn issue_comment(comment: &IssueComment, repository: &str) -> RecordResult {
    let data = CommentData {
        kind: "issue_comment",
        number: trailing_number(&comment.issue_url),
        body: comment.body.as_deref(),
        author: login(comment.user.as_ref()),
        repository,
        path: None,
        line: None,
        commit_id: None,
        review_id: None,
        in_reply_to_id: None,
    };
    record(
        format!("issue-comment-{}", comment.id),
        RecordType::Comment,
        comment.created_at,
        comment.updated_at,
        &data,
        links(&comment.html_url, &comment.url),
    )
}

/// A comment on a line of a pull request's diff: `review-comment-<id>`.
pub(crate) fn review_comment(comment: &ReviewComment, repository: &str) -> RecordResult {
    let data = CommentData {
        kind: "review_comment",
        number: trailing_number(&comment.pull_request_url),
        body: comment.body.as_deref(),
        author: login(comment.user.as_ref()),
        repository,
        path: Some(&comment.path),
        line: comment.line,
        commit_id: Some(&comment.commit_id),
        review_id: comment.pull_request_review_id,
        in_reply_to_id: comment.in_reply_to_id,
    };
    record(
        format!("review-comment-{}", comment.id),
        RecordType::Comment,
        comment.created_at,
        comment.updated_at,
        &data,
        links(&comment.html_url, &comment.url),
    )
}

/// `data` of a pull request review.
#[derive(Serialize, JsonSchema)]
struct ReviewData<'a> {
    number: Option<u64>,
    state: String,
    #[schemars(with = "Option<String>")]
    body: Option<&'a RawValue>,
    author: Option<&'a str>,
    commit_id: Option<&'a str>,
    submitted_at: Option<DateTime<Utc>>,
    repository: &'a str,
}

/// A pull request review: `review-<id>`.
///
/// Reviews have no `updated_at`, yet they change (dismissed, edited). Their pull request's
/// `updated_at` moves when they do, so the record's `updated_at` is the later of the two: a
/// changed review then wins the store's newer-wins upsert.
pub(crate) fn review(
    review: &Review,
    pull_updated_at: DateTime<Utc>,
    repository: &str,
) -> RecordResult {
    let created_at = review.submitted_at.unwrap_or(pull_updated_at);
    let data = ReviewData {
        number: trailing_number(&review.pull_request_url),
        // The REST API says `APPROVED`, webhooks say `approved`.
        state: review.state.to_ascii_lowercase(),
        body: review.body.as_deref(),
        author: login(review.user.as_ref()),
        commit_id: review.commit_id.as_deref(),
        submitted_at: review.submitted_at,
        repository,
    };
    let api_url = format!(
        "{}/reviews/{}",
        review.pull_request_url.trim_end_matches('/'),
        review.id
    );
    record(
        format!("review-{}", review.id),
        RecordType::Review,
        created_at,
        created_at.max(pull_updated_at),
        &data,
        links(&review.html_url, &api_url),
    )
}

/// `data` of a commit, from the REST API or from a `push` payload.
#[derive(Serialize, JsonSchema)]
struct CommitData<'a> {
    sha: &'a str,
    #[schemars(with = "String")]
    message: &'a RawValue,
    author: Option<&'a str>,
    author_name: Option<&'a str>,
    committer: Option<&'a str>,
    committer_name: Option<&'a str>,
    repository: &'a str,
}

/// A commit from the REST API: `commit-<sha>`; created at its author date, updated at its
/// committer date.
pub(crate) fn commit(commit: &Commit, repository: &str) -> RecordResult {
    let git = &commit.commit;
    let data = CommitData {
        sha: &commit.sha,
        message: &git.message,
        author: login(commit.author.as_ref()),
        author_name: git.author.name.as_deref(),
        committer: login(commit.committer.as_ref()),
        committer_name: git.committer.name.as_deref(),
        repository,
    };
    record(
        format!("commit-{}", commit.sha),
        RecordType::Commit,
        git.author.date,
        git.committer.date,
        &data,
        links(&commit.html_url, &commit.url),
    )
}

/// A commit from a `push` payload, which has one `timestamp` instead of author and committer
/// dates; `api_url` is the commit's REST URL (push payloads carry only the web URL).
pub(crate) fn push_commit(commit: &PushCommit, repository: &str, api_url: &str) -> RecordResult {
    let data = CommitData {
        sha: &commit.id,
        message: &commit.message,
        author: commit.author.username.as_deref(),
        author_name: commit.author.name.as_deref(),
        committer: commit.committer.username.as_deref(),
        committer_name: commit.committer.name.as_deref(),
        repository,
    };
    record(
        format!("commit-{}", commit.id),
        RecordType::Commit,
        commit.timestamp,
        commit.timestamp,
        &data,
        links(&commit.url, api_url),
    )
}

/// `data` of a workflow run.
#[derive(Serialize, JsonSchema)]
struct WorkflowRunData<'a> {
    name: Option<&'a str>,
    display_title: Option<&'a str>,
    workflow_id: u64,
    run_number: u64,
    run_attempt: Option<u64>,
    event: &'a str,
    status: Option<&'a str>,
    conclusion: Option<&'a str>,
    head_branch: Option<&'a str>,
    head_sha: &'a str,
    actor: Option<&'a str>,
    pull_requests: Vec<u64>,
    run_started_at: Option<DateTime<Utc>>,
    repository: &'a str,
}

/// A GitHub Actions workflow run: `workflow-run-<id>`.
pub(crate) fn workflow_run(run: &WorkflowRun, repository: &str) -> RecordResult {
    let data = WorkflowRunData {
        name: run.name.as_deref(),
        display_title: run.display_title.as_deref(),
        workflow_id: run.workflow_id,
        run_number: run.run_number,
        run_attempt: run.run_attempt,
        event: &run.event,
        status: run.status.as_deref(),
        conclusion: run.conclusion.as_deref(),
        head_branch: run.head_branch.as_deref(),
        head_sha: &run.head_sha,
        actor: login(run.actor.as_ref()),
        pull_requests: run.pull_requests.iter().map(|p| p.number).collect(),
        run_started_at: run.run_started_at,
        repository,
    };
    record(
        format!("workflow-run-{}", run.id),
        RecordType::WorkflowRun,
        run.created_at,
        run.updated_at,
        &data,
        links(&run.html_url, &run.url),
    )
}

/// Each record type's `data` schema, generated from the struct its records are serialized from.
pub(crate) fn data_schemas() -> Vec<(&'static str, schemars::Schema)> {
    use gwi_core::schema::data_schema;
    vec![
        (
            RecordType::PullRequest.as_str(),
            data_schema::<PullRequestData<'static>>(),
        ),
        (
            RecordType::Issue.as_str(),
            data_schema::<IssueData<'static>>(),
        ),
        (
            RecordType::Comment.as_str(),
            data_schema::<CommentData<'static>>(),
        ),
        (
            RecordType::Review.as_str(),
            data_schema::<ReviewData<'static>>(),
        ),
        (
            RecordType::Commit.as_str(),
            data_schema::<CommitData<'static>>(),
        ),
        (
            RecordType::WorkflowRun.as_str(),
            data_schema::<WorkflowRunData<'static>>(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn pull(extra: Value) -> PullRequest {
        let mut value = json!({
            "id": 11, "number": 3, "title": "t", "body": null, "state": "closed",
            "user": null, "head": {"ref": "feature", "sha": "aaa"},
            "base": {"ref": "main", "sha": "bbb"}, "merged_at": "2024-01-03T00:00:00Z",
            "closed_at": "2024-01-03T00:00:00Z", "milestone": null,
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-03T00:00:00Z",
            "html_url": "https://github.com/a/b/pull/3",
            "url": "https://api.github.com/repos/a/b/pulls/3",
        });
        if let (Value::Object(base), Value::Object(extra)) = (&mut value, extra) {
            base.extend(extra);
        }
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn pull_request_merged_comes_from_merged_at_and_missing_fields_are_null() {
        let record = pull_request(&pull(json!({})), "a/b").unwrap();
        let data = record.data.to_value();
        assert_eq!(record.id, "pr-11");
        assert_eq!(data["merged"], true);
        assert_eq!(data["draft"], false);
        assert_eq!(data["author"], Value::Null);
        assert_eq!(data["body"], Value::Null);
        assert_eq!(data["head"], "feature");
        assert_eq!(data["base"], "main");
        assert_eq!(data["repository"], "a/b");
        assert_eq!(
            record.metadata.to_value()["html_url"],
            "https://github.com/a/b/pull/3"
        );
        assert!(record.validate().is_ok());
        let open = pull_request(&pull(json!({"merged_at": null, "draft": true})), "a/b").unwrap();
        assert_eq!(open.data.to_value()["merged"], false);
        assert_eq!(open.data.to_value()["draft"], true);
    }

    #[test]
    fn review_state_is_lower_case_and_pending_reviews_take_the_pull_times() {
        let review_json = json!({
            "id": 5, "body": "", "user": {"login": "ghost"}, "state": "PENDING",
            "commit_id": null, "submitted_at": null,
            "pull_request_url": "https://api.github.com/repos/a/b/pulls/3",
            "html_url": "https://github.com/a/b/pull/3#pullrequestreview-5",
        });
        let r: Review = serde_json::from_value(review_json).unwrap();
        let updated = "2024-02-01T00:00:00Z".parse().unwrap();
        let record = review(&r, updated, "a/b").unwrap();
        assert_eq!(record.data.to_value()["state"], "pending");
        assert_eq!(record.data.to_value()["number"], 3);
        assert_eq!(record.data.to_value()["author"], "ghost");
        assert_eq!(record.created_at, updated);
        assert_eq!(record.updated_at, updated);
        assert_eq!(
            record.metadata.to_value()["url"],
            "https://api.github.com/repos/a/b/pulls/3/reviews/5"
        );
    }

    #[test]
    fn trailing_number_reads_api_urls() {
        assert_eq!(
            trailing_number("https://api.github.com/repos/a/b/issues/12"),
            Some(12)
        );
        assert_eq!(trailing_number("https://x/pulls/7/"), Some(7));
        assert_eq!(trailing_number("https://x/pulls/latest"), None);
    }
}
