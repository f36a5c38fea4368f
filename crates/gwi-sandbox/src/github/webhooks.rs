//! GitHub webhook payloads for a mutation's change.

use serde_json::{Value, json};

use super::data::{Data, REPO_NAMES};
use super::render::View;
use crate::core::table::Row;
use crate::provider::{Change, ChangeAction};

/// The webhook GitHub sends when the record `row` of `kind` (a [`Change`]'s kind) sees `action`: its
/// event and payload.
fn hook_for(
    view: &View<'_>,
    data: &Data,
    kind: &str,
    row: &Row,
    action: &str,
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
            let run = view.run(row);
            let workflow = view.workflow(row.scope, row.u64("workflow") as usize);
            (
                "workflow_run",
                vec![("/workflow_run", run), ("/workflow", workflow)],
            )
        }
        _ => return None,
    };
    if action == "edited" && kind == "issue_comment" {
        fields.push(("/changes", json!({"body": {"from": "(earlier text)"}})));
    }
    fields.push(("/action", json!(action)));
    Some((event, view.hook(event, row.scope, fields)))
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
    hook_for(view, data, change.kind, row, action)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use crate::core::rng::SandboxRng;
    use crate::github::GitHub;
    use crate::provider::Provider;

    #[test]
    fn each_changes_delivery_has_githubs_top_level_keys() {
        let gh = GitHub::new(2, 1, Default::default(), Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let mut rng = SandboxRng::new(1);
        let mut events = BTreeSet::new();
        for _ in 0..30 {
            let at = gh.newest_timestamp() + 1;
            for change in gh.mutate(10, at, &mut rng) {
                let Some(d) = gh.webhook_for(&change, "s", "http://h/") else {
                    continue;
                };
                let v: Value = serde_json::from_slice(&d.body).unwrap_or_default();
                let expect: &[&str] = match d.event {
                    "pull_request" => &["action", "number", "pull_request"],
                    "issues" => &["action", "issue"],
                    "issue_comment" => &["action", "issue", "comment"],
                    "pull_request_review" => &["action", "review", "pull_request"],
                    "pull_request_review_comment" => &["action", "comment", "pull_request"],
                    "push" => &["ref", "before", "after", "commits", "head_commit", "pusher"],
                    "workflow_run" => &["action", "workflow_run", "workflow"],
                    other => panic!("unexpected event {other}"),
                };
                for key in expect.iter().chain(&["repository", "sender"]) {
                    assert!(v.get(*key).is_some(), "{}: missing {key}", d.event);
                }
                if d.event == "pull_request" {
                    let pr = &v["pull_request"];
                    assert!(pr["head"]["repo"]["full_name"].is_string());
                    assert!(pr["head"]["sha"].as_str().is_some_and(|s| s.len() == 40));
                    assert!(pr["merged"].is_boolean() && pr["_links"]["html"]["href"].is_string());
                }
                events.insert(d.event);
            }
        }
        assert!(events.len() >= 6, "{events:?}");
    }
}
