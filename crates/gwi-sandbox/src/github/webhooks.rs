//! GitHub webhook payloads: for a mutation's change, or about a random record (`gwi sandbox
//! webhooks`).

use std::fmt;
use std::str::FromStr;

use serde_json::{Value, json};

use super::data::{Data, LOGINS, REPO_NAMES, flag, is_pull};
use super::render::View;
use crate::core::rng::SandboxRng;
use crate::core::table::Row;
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

fn pick<'d>(
    rng: &mut SandboxRng,
    rows: impl Iterator<Item = &'d Row>,
    keep: impl Fn(&Row) -> bool,
) -> Option<&'d Row> {
    let rows: Vec<&Row> = rows.filter(|r| keep(r)).collect();
    rng.pick(&rows).copied()
}

/// The `workflow_run` body for `run` with `action`; a run not yet completed shows as queued or
/// in progress.
fn run_hook(view: &View<'_>, run: &Row, action: &str, sender: u64) -> Value {
    let mut body = view.run(run);
    if action != "completed" {
        let status = if action == "requested" {
            "queued"
        } else {
            "in_progress"
        };
        body["status"] = json!(status);
        body["conclusion"] = Value::Null;
    }
    let workflow = view.workflow(run.scope, run.u64("workflow") as usize);
    view.hook(
        "workflow_run",
        run.scope,
        sender,
        [
            ("/action", json!(action)),
            ("/workflow_run", body),
            ("/workflow", workflow),
        ],
    )
}

/// Builds the payload of `event` about a random record of `data`; returns it with the id of
/// the repository it is about (for `X-GitHub-Hook-Installation-Target-ID`).
pub fn build(
    view: &View<'_>,
    data: &Data,
    event: GitHubEvent,
    rng: &mut SandboxRng,
) -> (Value, u64) {
    let scope = rng.index(REPO_NAMES.len());
    let repo_id = data.repos.get(scope).map_or(0, |r| r.id);
    let sender = 1 + rng.index(LOGINS.len() - 1) as u64;
    let in_scope = |r: &Row| r.scope == scope;
    let body = match event {
        GitHubEvent::PullRequest => pick(rng, data.issues.live(), |r| in_scope(r) && is_pull(r))
            .map(|pr| {
                let action = if flag(pr, "open") {
                    *rng.pick(&[
                        "opened",
                        "edited",
                        "synchronize",
                        "reopened",
                        "ready_for_review",
                    ])
                    .unwrap_or(&"opened")
                } else {
                    "closed"
                };
                let mut fields = vec![
                    ("/action", json!(action)),
                    ("/number", pr.field("number")),
                    ("/pull_request", view.pull(pr, true)),
                ];
                if action == "synchronize" {
                    fields.push(("/before", pr.field("base_sha")));
                    fields.push(("/after", pr.field("head_sha")));
                }
                view.hook("pull_request", scope, sender, fields)
            }),
        GitHubEvent::Issues => {
            pick(rng, data.issues.live(), |r| in_scope(r) && !is_pull(r)).map(|issue| {
                let action = if flag(issue, "open") {
                    *rng.pick(&["opened", "edited", "reopened"])
                        .unwrap_or(&"opened")
                } else {
                    "closed"
                };
                let fields = [("/action", json!(action)), ("/issue", view.issue(issue))];
                view.hook("issues", scope, sender, fields)
            })
        }
        GitHubEvent::IssueComment => {
            pick(rng, data.issue_comments.live(), in_scope).and_then(|c| {
                let issue = data.issues.get(c.parent?)?;
                let edited = c.updated > c.created;
                let mut fields = vec![
                    ("/action", json!(if edited { "edited" } else { "created" })),
                    ("/issue", view.issue(issue)),
                    ("/comment", view.issue_comment(c)),
                ];
                if edited {
                    fields.push(("/changes", json!({"body": {"from": "(earlier text)"}})));
                }
                Some(view.hook("issue_comment", scope, sender, fields))
            })
        }
        GitHubEvent::PullRequestReview => pick(rng, data.reviews.live(), in_scope).and_then(|r| {
            let pr = data.issues.get(r.parent?)?;
            let fields = [
                ("/action", json!("submitted")),
                ("/review", view.review(r, true)),
                ("/pull_request", view.pull(pr, false)),
            ];
            Some(view.hook("pull_request_review", scope, sender, fields))
        }),
        GitHubEvent::Push => {
            let commits: Vec<&Row> = data.commits.live().filter(|r| in_scope(r)).collect();
            let n = commits.len();
            let last = (1 + rng.index(n.saturating_sub(1).max(1))).min(n.saturating_sub(1));
            let first = last.saturating_sub(rng.index(3));
            commits
                .get(first..=last)
                .map(|range| view.push(scope, range))
        }
        GitHubEvent::WorkflowRun => pick(rng, data.runs.live(), in_scope).map(|run| {
            let action = if run.str("status") == "completed" {
                *rng.pick(&["requested", "in_progress", "completed"])
                    .unwrap_or(&"completed")
            } else {
                "requested"
            };
            run_hook(view, run, action, sender)
        }),
    };
    (body.unwrap_or_else(|| json!({})), repo_id)
}

/// The delivery GitHub sends for `change`: its event and payload, built from the record as it
/// is now. `None` for a record the data does not hold.
pub fn for_change(view: &View<'_>, data: &Data, change: &Change) -> Option<(&'static str, Value)> {
    let scope = REPO_NAMES
        .iter()
        .position(|n| change.scope.strip_prefix("acme/") == Some(n))?;
    let created = change.action == ChangeAction::Created;
    let hook = |event: &'static str, fields: Vec<(&str, Value)>| {
        Some((event, view.hook(event, scope, 1, fields)))
    };
    match change.kind {
        "pull" | "issue" => {
            let row = data.issue(scope, change.number?)?;
            let (event, key, object) = if change.kind == "pull" {
                ("pull_request", "/pull_request", view.pull(row, true))
            } else {
                ("issues", "/issue", view.issue(row))
            };
            let action = if created { "opened" } else { "edited" };
            let mut fields = vec![("/action", json!(action)), (key, object)];
            if change.kind == "pull" {
                fields.push(("/number", row.field("number")));
            }
            hook(event, fields)
        }
        "issue_comment" => {
            let c = data.issue_comments.get(change.id)?;
            let issue = data.issues.get(c.parent?)?;
            let action = match change.action {
                ChangeAction::Created => "created",
                ChangeAction::Updated => "edited",
                ChangeAction::Deleted => "deleted",
            };
            hook(
                "issue_comment",
                vec![
                    ("/action", json!(action)),
                    ("/issue", view.issue(issue)),
                    ("/comment", view.issue_comment(c)),
                ],
            )
        }
        "review_comment" => {
            let c = data.review_comments.get(change.id)?;
            let pr = data.issue(scope, c.u64("number"))?;
            hook(
                "pull_request_review_comment",
                vec![
                    ("/action", json!(if created { "created" } else { "edited" })),
                    ("/comment", view.review_comment(c)),
                    ("/pull_request", view.pull(pr, false)),
                ],
            )
        }
        "review" => {
            let r = data.reviews.get(change.id)?;
            let pr = data.issues.get(r.parent?)?;
            hook(
                "pull_request_review",
                vec![
                    ("/action", json!("submitted")),
                    ("/review", view.review(r, true)),
                    ("/pull_request", view.pull(pr, false)),
                ],
            )
        }
        "commit" => {
            let sha = change.sha.as_deref()?;
            let commit = data
                .commits
                .live()
                .find(|c| c.scope == scope && c.str("sha") == sha)?;
            Some(("push", view.push(scope, &[commit])))
        }
        "workflow_run" => {
            let run = data.runs.get(change.id)?;
            let action = if run.str("status") == "completed" {
                "completed"
            } else {
                "requested"
            };
            Some(("workflow_run", run_hook(view, run, action, 1)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::render::Templates;

    #[test]
    fn payloads_have_githubs_top_level_keys() {
        let t = Templates::load().unwrap_or_else(|e| panic!("{e}"));
        let data = Data::generate(2, 1);
        let view = View::new(&t, &data, "https://api.github.com", "https://github.com");
        let mut rng = SandboxRng::new(1);
        for event in GitHubEvent::ALL {
            let (v, repo_id) = build(&view, &data, event, &mut rng);
            assert!(repo_id > 0);
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
            for key in expect.iter().chain(&["repository", "sender"]) {
                assert!(v.get(*key).is_some(), "{event}: missing {key}");
            }
        }
        let (v, _) = build(
            &view,
            &data,
            GitHubEvent::PullRequest,
            &mut SandboxRng::new(3),
        );
        let pr = &v["pull_request"];
        assert!(pr["head"]["repo"]["full_name"].is_string());
        assert!(pr["head"]["sha"].as_str().is_some_and(|s| s.len() == 40));
        assert!(pr["merged"].is_boolean() && pr["_links"]["html"]["href"].is_string());
    }

    #[test]
    fn unknown_event_names_are_refused() {
        assert!("deployment".parse::<GitHubEvent>().is_err());
        assert_eq!("push".parse::<GitHubEvent>().ok(), Some(GitHubEvent::Push));
    }
}
