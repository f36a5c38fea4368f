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

/// The webhook GitHub sends when the record `row` of `kind` (a [`Change`]'s kind) sees `action`,
/// done by the user `sender`: its event and payload.
fn hook_for(
    view: &View<'_>,
    data: &Data,
    kind: &str,
    row: &Row,
    action: &str,
    sender: u64,
) -> Option<(&'static str, Value)> {
    let pull_of = |r: &Row| data.issues.get(r.parent?).map(|pr| view.pull(pr, false));
    let (event, mut fields) = match kind {
        "pull" => (
            "pull_request",
            vec![
                ("/number", row.field("number")),
                ("/pull_request", view.pull(row, true)),
            ],
        ),
        "issue" => ("issues", vec![("/issue", view.issue(row))]),
        "issue_comment" => {
            let issue = data.issues.get(row.parent?)?;
            (
                "issue_comment",
                vec![
                    ("/issue", view.issue(issue)),
                    ("/comment", view.issue_comment(row)),
                ],
            )
        }
        "review_comment" => {
            let pr = data.issue(row.scope, row.u64("number"))?;
            (
                "pull_request_review_comment",
                vec![
                    ("/comment", view.review_comment(row)),
                    ("/pull_request", view.pull(pr, false)),
                ],
            )
        }
        "review" => (
            "pull_request_review",
            vec![
                ("/review", view.review(row, true)),
                ("/pull_request", pull_of(row)?),
            ],
        ),
        "workflow_run" => {
            let mut run = view.run(row);
            if action != "completed" {
                run["status"] = json!(if action == "requested" {
                    "queued"
                } else {
                    "in_progress"
                });
                run["conclusion"] = Value::Null;
            }
            let workflow = view.workflow(row.scope, row.u64("workflow") as usize);
            (
                "workflow_run",
                vec![("/workflow_run", run), ("/workflow", workflow)],
            )
        }
        _ => return None,
    };
    match action {
        "synchronize" => fields.extend([
            ("/before", row.field("base_sha")),
            ("/after", row.field("head_sha")),
        ]),
        "edited" if kind == "issue_comment" => {
            fields.push(("/changes", json!({"body": {"from": "(earlier text)"}})))
        }
        _ => {}
    }
    fields.push(("/action", json!(action)));
    Some((event, view.hook(event, row.scope, sender, fields)))
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
    let open = |r: &Row, rng: &mut SandboxRng, actions: &[&'static str]| {
        if flag(r, "open") {
            rng.pick(actions).copied().unwrap_or("opened")
        } else {
            "closed"
        }
    };
    let chosen = match event {
        GitHubEvent::PullRequest => pick(rng, data.issues.live(), |r| in_scope(r) && is_pull(r))
            .map(|r| {
                let actions = [
                    "opened",
                    "edited",
                    "synchronize",
                    "reopened",
                    "ready_for_review",
                ];
                ("pull", r, open(r, rng, &actions))
            }),
        GitHubEvent::Issues => pick(rng, data.issues.live(), |r| in_scope(r) && !is_pull(r))
            .map(|r| ("issue", r, open(r, rng, &["opened", "edited", "reopened"]))),
        GitHubEvent::IssueComment => pick(rng, data.issue_comments.live(), in_scope).map(|c| {
            (
                "issue_comment",
                c,
                if c.updated > c.created {
                    "edited"
                } else {
                    "created"
                },
            )
        }),
        GitHubEvent::PullRequestReview => {
            pick(rng, data.reviews.live(), in_scope).map(|r| ("review", r, "submitted"))
        }
        GitHubEvent::WorkflowRun => pick(rng, data.runs.live(), in_scope).map(|r| {
            let actions = ["requested", "in_progress", "completed"];
            let action = rng.pick(&actions).copied().unwrap_or("completed");
            (
                "workflow_run",
                r,
                if r.str("status") == "completed" {
                    action
                } else {
                    "requested"
                },
            )
        }),
        GitHubEvent::Push => {
            let commits: Vec<&Row> = data.commits.live().filter(|r| in_scope(r)).collect();
            let n = commits.len();
            let last = (1 + rng.index(n.saturating_sub(1).max(1))).min(n.saturating_sub(1));
            let first = last.saturating_sub(rng.index(3));
            let body = commits
                .get(first..=last)
                .map(|range| view.push(scope, range));
            return (body.unwrap_or_else(|| json!({})), repo_id);
        }
    };
    let body =
        chosen.and_then(|(kind, row, action)| hook_for(view, data, kind, row, action, sender));
    (body.map_or_else(|| json!({}), |(_, v)| v), repo_id)
}

/// The delivery GitHub sends for `change`: its event and payload, built from the record as it
/// is now. `None` for a record the data does not hold.
pub fn for_change(view: &View<'_>, data: &Data, change: &Change) -> Option<(&'static str, Value)> {
    let scope = REPO_NAMES
        .iter()
        .position(|n| change.scope.strip_prefix("acme/") == Some(n))?;
    let row = match change.kind {
        "pull" | "issue" => data.issue(scope, change.number?),
        "issue_comment" => data.issue_comments.get(change.id),
        "review_comment" => data.review_comments.get(change.id),
        "review" => data.reviews.get(change.id),
        "workflow_run" => data.runs.get(change.id),
        "commit" => {
            let sha = change.sha.as_deref()?;
            let commit = data
                .commits
                .live()
                .find(|c| c.scope == scope && c.str("sha") == sha)?;
            return Some(("push", view.push(scope, &[commit])));
        }
        _ => None,
    }?;
    let action = match (change.kind, change.action) {
        ("review", _) => "submitted",
        ("workflow_run", _) => "completed",
        (_, ChangeAction::Deleted) => "deleted",
        ("pull" | "issue", ChangeAction::Created) => "opened",
        (_, ChangeAction::Created) => "created",
        _ => "edited",
    };
    hook_for(view, data, change.kind, row, action, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::render::Templates;

    #[test]
    fn payloads_have_githubs_top_level_keys() {
        let t = Templates::load().unwrap_or_else(|e| panic!("{e}"));
        let data = Data::generate(2, 1);
        let view = View::new(
            &t,
            &data,
            ("https://api.github.com", "https://github.com"),
            None,
        );
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
