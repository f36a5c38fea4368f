//! GitHub objects to [`ConnectorRecord`]s: the one place record ids and `data` fields are decided.
//!
//! Sync and webhooks both call these functions, so a pull request synced and the same pull
//! request received by webhook are the same record (same id, same `data` keys) and upsert one row.

use chrono::{DateTime, Utc};
use gwi_core::record::ConnectorRecord;
use serde_json::{Value, json};

use super::config::RecordType;
use super::models::{
    Commit, Issue, IssueComment, Label, PullRequest, PushCommit, Review, ReviewComment, User,
    WorkflowRun,
};

/// The `source` of every record, and the connector's name.
pub(crate) const SOURCE: &str = "github";

fn record(
    id: String,
    record_type: RecordType,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    data: Value,
    metadata: Value,
) -> ConnectorRecord {
    let mut record = ConnectorRecord::new(id, record_type.as_str(), SOURCE, created_at, updated_at);
    record.data = data;
    record.metadata = metadata;
    record
}

fn links(html_url: &str, api_url: &str) -> Value {
    json!({ "html_url": html_url, "url": api_url })
}

/// A deleted account may come as `null`; GitHub usually shows it as the `ghost` user.
fn login(user: Option<&User>) -> Option<&str> {
    user.map(|u| u.login.as_str())
}

fn logins(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.login.as_str()).collect()
}

fn label_names(labels: &[Label]) -> Vec<&str> {
    labels.iter().map(|l| l.name.as_str()).collect()
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

/// A pull request: `pr-<id>`.
pub(crate) fn pull_request(pr: &PullRequest, repository: &str) -> ConnectorRecord {
    record(
        format!("pr-{}", pr.id),
        RecordType::PullRequest,
        pr.created_at,
        pr.updated_at,
        json!({
            "number": pr.number,
            "title": pr.title,
            "body": pr.body,
            "state": pr.state,
            "draft": pr.draft.unwrap_or(false),
            "locked": pr.locked,
            // The list endpoint has no `merged`; webhooks do, but both carry `merged_at`, and
            // deriving from it keeps the two sources identical.
            "merged": pr.merged_at.is_some(),
            "merged_at": pr.merged_at,
            "closed_at": pr.closed_at,
            "author": login(pr.user.as_ref()),
            "assignees": logins(&pr.assignees),
            "requested_reviewers": logins(&pr.requested_reviewers),
            "labels": label_names(&pr.labels),
            "milestone": pr.milestone.as_ref().map(|m| &m.title),
            "head": pr.head.name,
            "head_sha": pr.head.sha,
            "base": pr.base.name,
            "base_sha": pr.base.sha,
            "repository": repository,
        }),
        links(&pr.html_url, &pr.url),
    )
}

/// An issue: `issue-<id>`. Callers skip pull requests ([`Issue::is_pull_request`]).
pub(crate) fn issue(issue: &Issue, repository: &str) -> ConnectorRecord {
    record(
        format!("issue-{}", issue.id),
        RecordType::Issue,
        issue.created_at,
        issue.updated_at,
        json!({
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "locked": issue.locked,
            "author": login(issue.user.as_ref()),
            "assignees": logins(&issue.assignees),
            "labels": label_names(&issue.labels),
            "milestone": issue.milestone.as_ref().map(|m| &m.title),
            "comments": issue.comments,
            "closed_at": issue.closed_at,
            "repository": repository,
        }),
        links(&issue.html_url, &issue.url),
    )
}

/// A comment on an issue or on a pull request's conversation: `issue-comment-<id>`.
///
/// Both comment kinds share one record type and one set of `data` keys; the review-only keys
/// are `null` here.
pub(crate) fn issue_comment(comment: &IssueComment, repository: &str) -> ConnectorRecord {
    record(
        format!("issue-comment-{}", comment.id),
        RecordType::Comment,
        comment.created_at,
        comment.updated_at,
        json!({
            "kind": "issue_comment",
            "number": trailing_number(&comment.issue_url),
            "body": comment.body,
            "author": login(comment.user.as_ref()),
            "repository": repository,
            "path": null,
            "line": null,
            "commit_id": null,
            "review_id": null,
            "in_reply_to_id": null,
        }),
        links(&comment.html_url, &comment.url),
    )
}

/// A comment on a line of a pull request's diff: `review-comment-<id>`.
pub(crate) fn review_comment(comment: &ReviewComment, repository: &str) -> ConnectorRecord {
    record(
        format!("review-comment-{}", comment.id),
        RecordType::Comment,
        comment.created_at,
        comment.updated_at,
        json!({
            "kind": "review_comment",
            "number": trailing_number(&comment.pull_request_url),
            "body": comment.body,
            "author": login(comment.user.as_ref()),
            "repository": repository,
            "path": comment.path,
            "line": comment.line,
            "commit_id": comment.commit_id,
            "review_id": comment.pull_request_review_id,
            "in_reply_to_id": comment.in_reply_to_id,
        }),
        links(&comment.html_url, &comment.url),
    )
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
) -> ConnectorRecord {
    let created_at = review.submitted_at.unwrap_or(pull_updated_at);
    record(
        format!("review-{}", review.id),
        RecordType::Review,
        created_at,
        created_at.max(pull_updated_at),
        json!({
            "number": trailing_number(&review.pull_request_url),
            // The REST API says `APPROVED`, webhooks say `approved`.
            "state": review.state.to_ascii_lowercase(),
            "body": review.body,
            "author": login(review.user.as_ref()),
            "commit_id": review.commit_id,
            "submitted_at": review.submitted_at,
            "repository": repository,
        }),
        links(
            &review.html_url,
            &format!(
                "{}/reviews/{}",
                review.pull_request_url.trim_end_matches('/'),
                review.id
            ),
        ),
    )
}

/// A commit from the REST API: `commit-<sha>`; created at its author date, updated at its
/// committer date.
pub(crate) fn commit(commit: &Commit, repository: &str) -> ConnectorRecord {
    let git = &commit.commit;
    record(
        format!("commit-{}", commit.sha),
        RecordType::Commit,
        git.author.date,
        git.committer.date,
        commit_data(
            &commit.sha,
            &git.message,
            login(commit.author.as_ref()),
            git.author.name.as_deref(),
            login(commit.committer.as_ref()),
            git.committer.name.as_deref(),
            repository,
        ),
        links(&commit.html_url, &commit.url),
    )
}

/// A commit from a `push` payload, which has one `timestamp` instead of author and committer
/// dates; `api_url` is the commit's REST URL (push payloads carry only the web URL).
pub(crate) fn push_commit(commit: &PushCommit, repository: &str, api_url: &str) -> ConnectorRecord {
    record(
        format!("commit-{}", commit.id),
        RecordType::Commit,
        commit.timestamp,
        commit.timestamp,
        commit_data(
            &commit.id,
            &commit.message,
            commit.author.username.as_deref(),
            commit.author.name.as_deref(),
            commit.committer.username.as_deref(),
            commit.committer.name.as_deref(),
            repository,
        ),
        links(&commit.url, api_url),
    )
}

fn commit_data(
    sha: &str,
    message: &str,
    author: Option<&str>,
    author_name: Option<&str>,
    committer: Option<&str>,
    committer_name: Option<&str>,
    repository: &str,
) -> Value {
    json!({
        "sha": sha,
        "message": message,
        "author": author,
        "author_name": author_name,
        "committer": committer,
        "committer_name": committer_name,
        "repository": repository,
    })
}

/// A GitHub Actions workflow run: `workflow-run-<id>`.
pub(crate) fn workflow_run(run: &WorkflowRun, repository: &str) -> ConnectorRecord {
    record(
        format!("workflow-run-{}", run.id),
        RecordType::WorkflowRun,
        run.created_at,
        run.updated_at,
        json!({
            "name": run.name,
            "display_title": run.display_title,
            "workflow_id": run.workflow_id,
            "run_number": run.run_number,
            "run_attempt": run.run_attempt,
            "event": run.event,
            "status": run.status,
            "conclusion": run.conclusion,
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "actor": login(run.actor.as_ref()),
            "pull_requests": run.pull_requests.iter().map(|p| p.number).collect::<Vec<_>>(),
            "run_started_at": run.run_started_at,
            "repository": repository,
        }),
        links(&run.html_url, &run.url),
    )
}

/// Marks `record` as deleted upstream: same id and `data`, plus `deleted: true`.
///
/// GitHub's payload carries the object as it was, with its old `updated_at`; the tombstone is
/// stamped `now` so it replaces the stored copy under the store's newer-wins upsert.
pub(crate) fn tombstone(mut record: ConnectorRecord, now: DateTime<Utc>) -> ConnectorRecord {
    if let Value::Object(data) = &mut record.data {
        data.insert("deleted".to_owned(), Value::Bool(true));
    }
    record.updated_at = record.updated_at.max(now);
    record
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let record = pull_request(&pull(json!({})), "a/b");
        assert_eq!(record.id, "pr-11");
        assert_eq!(record.data["merged"], true);
        assert_eq!(record.data["draft"], false);
        assert_eq!(record.data["author"], Value::Null);
        assert_eq!(record.data["body"], Value::Null);
        assert_eq!(record.data["head"], "feature");
        assert_eq!(record.data["base"], "main");
        assert_eq!(record.data["repository"], "a/b");
        assert_eq!(record.metadata["html_url"], "https://github.com/a/b/pull/3");
        assert!(record.validate().is_ok());
        let open = pull_request(&pull(json!({"merged_at": null, "draft": true})), "a/b");
        assert_eq!(open.data["merged"], false);
        assert_eq!(open.data["draft"], true);
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
        let record = review(&r, updated, "a/b");
        assert_eq!(record.data["state"], "pending");
        assert_eq!(record.data["number"], 3);
        assert_eq!(record.data["author"], "ghost");
        assert_eq!(record.created_at, updated);
        assert_eq!(record.updated_at, updated);
        assert_eq!(
            record.metadata["url"],
            "https://api.github.com/repos/a/b/pulls/3/reviews/5"
        );
    }

    #[test]
    fn tombstone_keeps_the_id_and_wins_the_upsert() {
        let base = pull_request(&pull(json!({})), "a/b");
        let now = "2030-01-01T00:00:00Z".parse().unwrap();
        let dead = tombstone(base.clone(), now);
        assert_eq!(dead.id, base.id);
        assert_eq!(dead.data["deleted"], true);
        assert_eq!(dead.data["title"], base.data["title"]);
        assert_eq!(dead.updated_at, now);
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
