//! GitHub webhook payloads built from the sandbox data, shaped like GitHub's deliveries.

use std::fmt;
use std::str::FromStr;

use serde_json::{Value, json};

use super::data::{Dataset, RepoData};
use super::views::{
    AccountView, Base, IssueCommentView, IssueView, PullView, RepoView, ReviewCommentView,
    ReviewView, RunView, WorkflowView, node_id,
};
use crate::core::rng::SandboxRng;
use crate::core::time::Iso;
use crate::error::SandboxError;
use crate::provider::{Change, ChangeAction};

/// A GitHub webhook event the sender can produce (the `X-GitHub-Event` value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GitHubEvent {
    /// `pull_request`
    PullRequest,
    /// `issues`
    Issues,
    /// `issue_comment`
    IssueComment,
    /// `pull_request_review`
    PullRequestReview,
    /// `push`
    Push,
    /// `workflow_run`
    WorkflowRun,
}

impl GitHubEvent {
    /// Every supported event.
    pub const ALL: [GitHubEvent; 6] = [
        Self::PullRequest,
        Self::Issues,
        Self::IssueComment,
        Self::PullRequestReview,
        Self::Push,
        Self::WorkflowRun,
    ];

    /// The `X-GitHub-Event` header value.
    pub fn name(self) -> &'static str {
        match self {
            Self::PullRequest => "pull_request",
            Self::Issues => "issues",
            Self::IssueComment => "issue_comment",
            Self::PullRequestReview => "pull_request_review",
            Self::Push => "push",
            Self::WorkflowRun => "workflow_run",
        }
    }
}

impl fmt::Display for GitHubEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for GitHubEvent {
    type Err = SandboxError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|e| e.name()).collect();
                SandboxError::InvalidOptions(format!(
                    "unknown GitHub event `{s}` (known: {})",
                    known.join(", ")
                ))
            })
    }
}

fn to_value<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn org(b: &Base, ds: &Dataset) -> Value {
    let login = &ds.org.login;
    json!({
        "login": login,
        "id": ds.org.id,
        "node_id": node_id("Organization", ds.org.id),
        "url": format!("{}/orgs/{login}", b.api),
        "repos_url": format!("{}/orgs/{login}/repos", b.api),
        "events_url": format!("{}/orgs/{login}/events", b.api),
        "hooks_url": format!("{}/orgs/{login}/hooks", b.api),
        "issues_url": format!("{}/orgs/{login}/issues", b.api),
        "members_url": format!("{}/orgs/{login}/members{{/member}}", b.api),
        "public_members_url": format!("{}/orgs/{login}/public_members{{/member}}", b.api),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", ds.org.id),
        "description": "",
    })
}

/// Builds one payload for `event` from a random record of `ds`; returns the payload and the id of
/// the repository it is about (for `X-GitHub-Hook-Installation-Target-ID`).
pub fn payload(ds: &Dataset, event: GitHubEvent, rng: &mut SandboxRng) -> (Value, u64) {
    let b = &Base::github_com();
    let rd: &RepoData = match rng.pick(&ds.repos) {
        Some(rd) => rd,
        None => return (json!({}), 0),
    };
    let sender_idx = 1 + rng.index(ds.users.len().saturating_sub(1).max(1));
    let sender = to_value(AccountView {
        b,
        a: ds.user(sender_idx),
    });
    let repository = to_value(RepoView {
        b,
        ds,
        rd,
        full: true,
    });
    let organization = org(b, ds);
    let mut body = match event {
        GitHubEvent::PullRequest => {
            let pulls: Vec<_> = rd.issues.iter().filter(|i| i.pull.is_some()).collect();
            let Some(i) = rng.pick(&pulls).copied() else {
                return (json!({}), rd.repo.id);
            };
            let Some(p) = i.pull.as_ref() else {
                return (json!({}), rd.repo.id);
            };
            let action = if !i.open {
                "closed"
            } else {
                *rng.pick(&[
                    "opened",
                    "edited",
                    "synchronize",
                    "reopened",
                    "ready_for_review",
                ])
                .unwrap_or(&"opened")
            };
            let mut v = json!({
                "action": action,
                "number": i.number,
                "pull_request": to_value(PullView { b, ds, rd, i, p, full: true }),
            });
            if action == "synchronize" {
                v["before"] = json!(p.base_sha);
                v["after"] = json!(p.head_sha);
            }
            v
        }
        GitHubEvent::Issues => {
            let plain: Vec<_> = rd.issues.iter().filter(|i| i.pull.is_none()).collect();
            let Some(i) = rng.pick(&plain).copied() else {
                return (json!({}), rd.repo.id);
            };
            let action = if i.open {
                *rng.pick(&["opened", "edited", "reopened"])
                    .unwrap_or(&"opened")
            } else {
                "closed"
            };
            json!({ "action": action, "issue": to_value(IssueView { b, ds, rd, i }) })
        }
        GitHubEvent::IssueComment => {
            let Some(c) = rng.pick(&rd.issue_comments) else {
                return (json!({}), rd.repo.id);
            };
            let Some(i) = rd.issue(c.issue_number) else {
                return (json!({}), rd.repo.id);
            };
            let action = if c.updated_at > c.created_at {
                "edited"
            } else {
                "created"
            };
            let mut v = json!({
                "action": action,
                "issue": to_value(IssueView { b, ds, rd, i }),
                "comment": to_value(IssueCommentView { b, ds, rd, c }),
            });
            if action == "edited" {
                v["changes"] = json!({ "body": { "from": "(earlier text)" } });
            }
            v
        }
        GitHubEvent::PullRequestReview => {
            let Some(r) = rng.pick(&rd.reviews) else {
                return (json!({}), rd.repo.id);
            };
            let Some((i, p)) = rd
                .issue(r.pr_number)
                .and_then(|i| i.pull.as_ref().map(|p| (i, p)))
            else {
                return (json!({}), rd.repo.id);
            };
            json!({
                "action": "submitted",
                "review": to_value(ReviewView { b, ds, rd, r, webhook: true }),
                "pull_request": to_value(PullView { b, ds, rd, i, p, full: false }),
            })
        }
        GitHubEvent::Push => push(b, ds, rd, rng),
        GitHubEvent::WorkflowRun => {
            let Some(r) = rng.pick(&rd.runs) else {
                return (json!({}), rd.repo.id);
            };
            let action = if r.status == "completed" {
                *rng.pick(&["requested", "in_progress", "completed"])
                    .unwrap_or(&"completed")
            } else {
                "requested"
            };
            let mut run = to_value(RunView { b, ds, rd, r });
            if action != "completed" {
                run["status"] = json!(if action == "requested" {
                    "queued"
                } else {
                    "in_progress"
                });
                run["conclusion"] = Value::Null;
            }
            let workflow = rd
                .workflows
                .get(r.workflow)
                .map(|w| to_value(WorkflowView { b, rd, w }))
                .unwrap_or(Value::Null);
            json!({ "action": action, "workflow_run": run, "workflow": workflow })
        }
    };
    if let Some(obj) = body.as_object_mut() {
        obj.insert("repository".into(), repository);
        obj.insert("organization".into(), organization);
        obj.insert("sender".into(), sender);
    }
    (body, rd.repo.id)
}

fn push(b: &Base, ds: &Dataset, rd: &RepoData, rng: &mut SandboxRng) -> Value {
    let n = rd.commits.len();
    if n == 0 {
        return json!({});
    }
    let last = 1 + rng.index(n.saturating_sub(1).max(1)).min(n - 1);
    let first = last.saturating_sub(rng.index(3));
    push_range(b, ds, rd, first.min(last), last)
}

/// A push of the commits `first..=last` of the default branch.
fn push_range(b: &Base, ds: &Dataset, rd: &RepoData, first: usize, last: usize) -> Value {
    if last >= rd.commits.len() {
        return json!({});
    }
    let full = &rd.repo.full_name;
    let commits: Vec<Value> = rd.commits[first..=last]
        .iter()
        .map(|c| {
            let a = ds.user(c.author);
            let person = json!({
                "name": a.name,
                "email": format!("{}@users.noreply.github.com", a.login),
                "username": a.login,
            });
            json!({
                "id": c.sha,
                "tree_id": c.tree_sha,
                "distinct": true,
                "message": c.message,
                "timestamp": Iso(c.date).to_string(),
                "url": format!("{}/{full}/commit/{}", b.html, c.sha),
                "author": person,
                "committer": person,
                "added": [],
                "removed": [],
                "modified": ["src/lib.rs"],
            })
        })
        .collect();
    let before = rd.commits[first]
        .parents
        .first()
        .cloned()
        .unwrap_or_else(|| "0".repeat(40));
    let after = rd.commits[last].sha.clone();
    let pusher = ds.user(rd.commits[last].author);
    let head = commits.last().cloned().unwrap_or(Value::Null);
    json!({
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "created": false,
        "deleted": false,
        "forced": false,
        "base_ref": null,
        "compare": format!(
            "{}/{full}/compare/{}...{}",
            b.html,
            before.get(..12).unwrap_or(&before),
            after.get(..12).unwrap_or(&after)
        ),
        "commits": commits,
        "head_commit": head,
        "pusher": { "name": pusher.login, "email": format!("{}@users.noreply.github.com", pusher.login) },
    })
}

/// The delivery GitHub sends for `change`: its event and payload, built from the record as it
/// is now, and the id of its repository. `None` for a record the data no longer holds.
pub fn for_change(ds: &Dataset, change: &Change, b: &Base) -> Option<(&'static str, Value, u64)> {
    let rd = ds.repos.iter().find(|r| r.repo.full_name == change.scope)?;
    let created = change.action == ChangeAction::Created;
    let issue_by_number = || change.number.and_then(|n| rd.issue(n));
    let (event, mut body) = match change.kind {
        "pull" => {
            let i = issue_by_number()?;
            let p = i.pull.as_ref()?;
            let action = if created { "opened" } else { "edited" };
            let pull = to_value(PullView {
                b,
                ds,
                rd,
                i,
                p,
                full: true,
            });
            (
                "pull_request",
                json!({ "action": action, "number": i.number, "pull_request": pull }),
            )
        }
        "issue" => {
            let i = issue_by_number()?;
            let action = if created { "opened" } else { "edited" };
            (
                "issues",
                json!({ "action": action, "issue": to_value(IssueView { b, ds, rd, i }) }),
            )
        }
        "issue_comment" => {
            let deleted = change.action == ChangeAction::Deleted;
            let c = if deleted {
                rd.deleted_issue_comments
                    .iter()
                    .map(|(c, _)| c)
                    .find(|c| c.id == change.id)?
            } else {
                rd.issue_comments.iter().find(|c| c.id == change.id)?
            };
            let i = rd.issue(c.issue_number)?;
            let action = match change.action {
                ChangeAction::Created => "created",
                ChangeAction::Updated => "edited",
                ChangeAction::Deleted => "deleted",
            };
            let comment = to_value(IssueCommentView { b, ds, rd, c });
            let issue = to_value(IssueView { b, ds, rd, i });
            (
                "issue_comment",
                json!({ "action": action, "issue": issue, "comment": comment }),
            )
        }
        "review_comment" => {
            let c = rd.review_comments.iter().find(|c| c.id == change.id)?;
            let i = rd.issue(c.pr_number)?;
            let p = i.pull.as_ref()?;
            let action = if created { "created" } else { "edited" };
            let comment = to_value(ReviewCommentView { b, ds, rd, c });
            let pull = to_value(PullView {
                b,
                ds,
                rd,
                i,
                p,
                full: false,
            });
            (
                "pull_request_review_comment",
                json!({ "action": action, "comment": comment, "pull_request": pull }),
            )
        }
        "review" => {
            let r = rd.reviews.iter().find(|r| r.id == change.id)?;
            let i = rd.issue(r.pr_number)?;
            let p = i.pull.as_ref()?;
            let review = to_value(ReviewView {
                b,
                ds,
                rd,
                r,
                webhook: true,
            });
            let pull = to_value(PullView {
                b,
                ds,
                rd,
                i,
                p,
                full: false,
            });
            (
                "pull_request_review",
                json!({ "action": "submitted", "review": review, "pull_request": pull }),
            )
        }
        "commit" => {
            let sha = change.sha.as_deref()?;
            let at = rd.commits.iter().position(|c| c.sha == sha)?;
            ("push", push_range(b, ds, rd, at, at))
        }
        "workflow_run" => {
            let r = rd.runs.iter().find(|r| r.id == change.id)?;
            let workflow = rd
                .workflows
                .get(r.workflow)
                .map(|w| to_value(WorkflowView { b, rd, w }))
                .unwrap_or(Value::Null);
            let action = if r.status == "completed" {
                "completed"
            } else {
                "requested"
            };
            let run = to_value(RunView { b, ds, rd, r });
            (
                "workflow_run",
                json!({ "action": action, "workflow_run": run, "workflow": workflow }),
            )
        }
        _ => return None,
    };
    if let Some(obj) = body.as_object_mut() {
        obj.insert(
            "repository".into(),
            to_value(RepoView {
                b,
                ds,
                rd,
                full: true,
            }),
        );
        obj.insert("organization".into(), org(b, ds));
        obj.insert("sender".into(), to_value(AccountView { b, a: ds.user(1) }));
    }
    if event == "push" {
        fix_push_repository(&mut body, rd.repo.created_at, rd.repo.pushed_at);
    }
    Some((event, body, rd.repo.id))
}

/// Push payloads carry the repository's `created_at`/`pushed_at` as Unix seconds, unlike every
/// other payload; match that.
pub fn fix_push_repository(body: &mut Value, rd_created: i64, rd_pushed: i64) {
    if let Some(repo) = body.get_mut("repository").and_then(Value::as_object_mut) {
        repo.insert("created_at".into(), json!(rd_created));
        repo.insert("pushed_at".into(), json!(rd_pushed));
    }
}

/// Payload for `event` with every GitHub quirk applied.
pub fn build(ds: &Dataset, event: GitHubEvent, rng: &mut SandboxRng) -> (Value, u64) {
    let (mut body, repo_id) = payload(ds, event, rng);
    if event == GitHubEvent::Push
        && let Some(rd) = ds.repos.iter().find(|r| r.repo.id == repo_id)
    {
        fix_push_repository(&mut body, rd.repo.created_at, rd.repo.pushed_at);
    }
    (body, repo_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_have_githubs_top_level_keys() {
        let ds = Dataset::generate(2, 1);
        let mut rng = SandboxRng::new(1);
        for event in GitHubEvent::ALL {
            let (v, repo_id) = build(&ds, event, &mut rng);
            assert!(repo_id > 0);
            for key in ["repository", "sender"] {
                assert!(v.get(key).is_some(), "{event}: missing {key}");
            }
            let expect: &[&str] = match event {
                GitHubEvent::PullRequest => &["action", "number", "pull_request"],
                GitHubEvent::Issues => &["action", "issue"],
                GitHubEvent::IssueComment => &["action", "issue", "comment"],
                GitHubEvent::PullRequestReview => &["action", "review", "pull_request"],
                GitHubEvent::Push => {
                    &["ref", "before", "after", "commits", "head_commit", "pusher"]
                }
                GitHubEvent::WorkflowRun => &["action", "workflow_run", "workflow"],
            };
            for key in expect {
                assert!(v.get(*key).is_some(), "{event}: missing {key}");
            }
        }
    }

    #[test]
    fn pull_request_payload_matches_the_fixture_shape() {
        let ds = Dataset::generate(2, 1);
        let (v, _) = build(&ds, GitHubEvent::PullRequest, &mut SandboxRng::new(3));
        let pr = &v["pull_request"];
        for key in [
            "url",
            "id",
            "node_id",
            "html_url",
            "number",
            "state",
            "user",
            "labels",
            "head",
            "base",
            "created_at",
            "updated_at",
            "closed_at",
            "merged_at",
            "draft",
            "merged",
            "_links",
        ] {
            assert!(pr.get(key).is_some(), "missing {key}");
        }
        assert!(pr["head"]["repo"]["full_name"].is_string());
        assert!(pr["head"]["sha"].as_str().is_some_and(|s| s.len() == 40));
    }

    #[test]
    fn unknown_event_names_are_refused() {
        assert!("deployment".parse::<GitHubEvent>().is_err());
        assert_eq!("push".parse::<GitHubEvent>().ok(), Some(GitHubEvent::Push));
    }
}
