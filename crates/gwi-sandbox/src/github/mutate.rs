//! Changing GitHub data over time, so incremental syncs have something new to fetch.

use std::collections::BTreeSet;

use super::data::{
    Commit, Dataset, IdCounters, IssueComment, Review, Run, comment_body, new_issue, new_pull,
    some_user,
};
use crate::core::rng::SandboxRng;
use crate::core::time::Secs;
use crate::provider::{Change, ChangeAction};

/// Applies `count` random changes, all stamped `at`, and lists the records touched (once each).
///
/// Mix: 45 % edit an issue or pull request (title, close/reopen/merge, label), 15 % edit an issue
/// comment, 5 % delete one, 10 % add an issue comment (its issue is updated too), 5 % edit a review comment, 5 %
/// add a review (its pull request is updated too), 7 % open a new issue or pull request, 4 % push
/// a commit, 4 % add a workflow run.
pub fn mutate(ds: &mut Dataset, count: usize, at: Secs, rng: &mut SandboxRng) -> Vec<Change> {
    let mut changes = BTreeSet::new();
    let users = ds.users.len();
    for _ in 0..count {
        let ri = rng.index(ds.repos.len());
        let Some(rd) = ds.repos.get_mut(ri) else {
            continue;
        };
        let scope = rd.repo.full_name.clone();
        let change =
            |kind: &'static str, action, id, number: Option<u64>, sha: Option<String>| Change {
                provider: "github",
                scope: scope.clone(),
                kind,
                action,
                id,
                number,
                sha,
            };
        // Pull requests are reported with the id `/pulls` shows, issues with the issue id.
        let issue_change = |i: &super::data::Issue, action| match &i.pull {
            Some(p) => change("pull", action, p.id, Some(i.number), None),
            None => change("issue", action, i.id, Some(i.number), None),
        };
        let roll = rng.below(100);
        match roll {
            0..=44 if !rd.issues.is_empty() => {
                let n = rng.index(rd.issues.len());
                let labels = rd.labels.len();
                let i = &mut rd.issues[n];
                match rng.below(3) {
                    0 => {
                        let base = i.title.split(" (rev ").next().unwrap_or("").to_owned();
                        i.title = format!("{base} (rev {})", rng.below(1000));
                    }
                    1 => {
                        if i.open {
                            i.open = false;
                            i.closed_at = Some(at);
                            if let Some(p) = i.pull.as_mut()
                                && rng.chance(0.6)
                            {
                                p.merged_at = Some(at);
                                p.merged_by = Some(some_user(rng, users));
                                p.draft = false;
                            }
                        } else if i.pull.as_ref().is_none_or(|p| p.merged_at.is_none()) {
                            i.open = true;
                            i.closed_at = None;
                        }
                    }
                    _ => {
                        let l = rng.index(labels);
                        if let Some(pos) = i.labels.iter().position(|x| *x == l) {
                            i.labels.remove(pos);
                        } else {
                            i.labels.push(l);
                            i.labels.sort_unstable();
                        }
                    }
                }
                i.updated_at = at;
                changes.insert(issue_change(i, ChangeAction::Updated));
            }
            60..=64 if !rd.issue_comments.is_empty() => {
                let c = rd.issue_comments.remove(rng.index(rd.issue_comments.len()));
                if let Some(i) = usize::try_from(c.issue_number.saturating_sub(1))
                    .ok()
                    .and_then(|k| rd.issues.get_mut(k))
                {
                    i.comments = i.comments.saturating_sub(1);
                }
                changes.insert(change(
                    "issue_comment",
                    ChangeAction::Deleted,
                    c.id,
                    Some(c.issue_number),
                    None,
                ));
                rd.deleted_issue_comments.push((c, at));
            }
            45..=64 if !rd.issue_comments.is_empty() => {
                let n = rng.index(rd.issue_comments.len());
                let c = &mut rd.issue_comments[n];
                c.body = format!("{} (edited)", comment_body(rng));
                c.updated_at = at;
                changes.insert(change(
                    "issue_comment",
                    ChangeAction::Updated,
                    c.id,
                    Some(c.issue_number),
                    None,
                ));
            }
            65..=74 if !rd.issues.is_empty() => {
                let n = rng.index(rd.issues.len());
                let id = IdCounters::take(&mut ds.ids.issue_comment);
                let i = &mut rd.issues[n];
                i.comments += 1;
                i.updated_at = at;
                rd.issue_comments.push(IssueComment {
                    id,
                    issue_number: i.number,
                    on_pull: i.pull.is_some(),
                    user: some_user(rng, users),
                    body: comment_body(rng),
                    created_at: at,
                    updated_at: at,
                });
                changes.insert(change(
                    "issue_comment",
                    ChangeAction::Created,
                    id,
                    Some(i.number),
                    None,
                ));
                changes.insert(issue_change(i, ChangeAction::Updated));
            }
            75..=79 if !rd.review_comments.is_empty() => {
                let n = rng.index(rd.review_comments.len());
                let c = &mut rd.review_comments[n];
                c.body = format!("{} (edited)", comment_body(rng));
                c.updated_at = at;
                changes.insert(change(
                    "review_comment",
                    ChangeAction::Updated,
                    c.id,
                    Some(c.pr_number),
                    None,
                ));
            }
            80..=84 => {
                let pulls: Vec<usize> = rd
                    .issues
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| i.pull.is_some())
                    .map(|(k, _)| k)
                    .collect();
                let Some(&k) = rng.pick(&pulls) else {
                    continue;
                };
                let id = IdCounters::take(&mut ds.ids.review);
                let i = &mut rd.issues[k];
                let commit_id = i
                    .pull
                    .as_ref()
                    .map(|p| p.head_sha.clone())
                    .unwrap_or_default();
                i.updated_at = at;
                rd.reviews.push(Review {
                    id,
                    pr_number: i.number,
                    user: some_user(rng, users),
                    body: "Looks good.".into(),
                    state: "APPROVED",
                    submitted_at: at,
                    commit_id,
                });
                changes.insert(change(
                    "review",
                    ChangeAction::Created,
                    id,
                    Some(i.number),
                    None,
                ));
                changes.insert(issue_change(i, ChangeAction::Updated));
            }
            85..=91 => {
                let number = rd.issues.len() as u64 + 1;
                let pull = if rng.chance(0.45) {
                    let base_sha = rd
                        .commits
                        .last()
                        .map(|c| c.sha.clone())
                        .unwrap_or_else(|| rng.sha());
                    let id = IdCounters::take(&mut ds.ids.pull);
                    Some(new_pull(rng, id, number, base_sha, users))
                } else {
                    None
                };
                let id = IdCounters::take(&mut ds.ids.issue);
                let issue = new_issue(rng, id, number, at, rd.labels.len(), users, pull);
                changes.insert(issue_change(&issue, ChangeAction::Created));
                rd.issues.push(issue);
            }
            92..=95 => {
                let sha = rng.sha();
                let parents = rd
                    .commits
                    .last()
                    .map(|c| vec![c.sha.clone()])
                    .unwrap_or_default();
                rd.commits.push(Commit {
                    sha: sha.clone(),
                    tree_sha: rng.sha(),
                    parents,
                    message: format!("Sandbox change {}", rng.below(100_000)),
                    author: some_user(rng, users),
                    date: at,
                });
                rd.repo.pushed_at = at;
                rd.repo.updated_at = at;
                changes.insert(change("commit", ChangeAction::Created, 0, None, Some(sha)));
            }
            _ => {
                let id = IdCounters::take(&mut ds.ids.run);
                let workflow = rng.index(rd.workflows.len());
                let run_number =
                    rd.runs.iter().filter(|r| r.workflow == workflow).count() as u64 + 1;
                rd.runs.push(Run {
                    id,
                    run_number,
                    workflow,
                    head_branch: "main".into(),
                    commit: rd.commits.len().saturating_sub(1),
                    event: "push",
                    status: "completed",
                    conclusion: Some("success"),
                    actor: some_user(rng, users),
                    run_attempt: 1,
                    created_at: at,
                    run_started_at: at,
                    updated_at: at,
                });
                changes.insert(change(
                    "workflow_run",
                    ChangeAction::Created,
                    id,
                    None,
                    None,
                ));
            }
        }
        rd.refresh();
    }
    // A record touched twice in one batch is reported once, by what matters most to a
    // connector: deleted over created over updated (the order `ChangeAction` declares).
    let mut strongest: std::collections::BTreeMap<
        (String, &'static str, u64, Option<String>),
        Change,
    > = std::collections::BTreeMap::new();
    for c in changes {
        let key = (c.scope.clone(), c.kind, c.id, c.sha.clone());
        match strongest.get(&key) {
            Some(kept) if kept.action >= c.action => {}
            _ => {
                strongest.insert(key, c);
            }
        }
    }
    strongest.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reported_change_carries_the_mutation_time() {
        let mut ds = Dataset::generate(4, 1);
        let at = super::super::data::DATA_END + 100;
        let mut rng = SandboxRng::new(11);
        let changes = mutate(&mut ds, 50, at, &mut rng);
        assert!(!changes.is_empty());
        for c in &changes {
            let rd = ds
                .repos
                .iter()
                .find(|r| r.repo.full_name == c.scope)
                .unwrap();
            let stamp = match c.kind {
                "issue" | "pull" => rd.issue(c.number.unwrap()).unwrap().updated_at,
                "issue_comment" if c.action == ChangeAction::Deleted => {
                    rd.deleted_issue_comments
                        .iter()
                        .find(|(x, _)| x.id == c.id)
                        .unwrap()
                        .1
                }
                "issue_comment" => rd
                    .issue_comments
                    .iter()
                    .find(|x| x.id == c.id)
                    .map_or(at, |x| x.updated_at),
                "review_comment" => {
                    rd.review_comments
                        .iter()
                        .find(|x| x.id == c.id)
                        .unwrap()
                        .updated_at
                }
                "review" => {
                    rd.reviews
                        .iter()
                        .find(|x| x.id == c.id)
                        .unwrap()
                        .submitted_at
                }
                "commit" => {
                    rd.commits
                        .iter()
                        .find(|x| Some(&x.sha) == c.sha.as_ref())
                        .unwrap()
                        .date
                }
                "workflow_run" => rd.runs.iter().find(|x| x.id == c.id).unwrap().created_at,
                other => panic!("unexpected kind {other}"),
            };
            assert_eq!(stamp, at, "{c:?}");
        }
    }

    #[test]
    fn same_rng_gives_same_changes() {
        let run = || {
            let mut ds = Dataset::generate(4, 1);
            mutate(&mut ds, 20, 2_000_000_000, &mut SandboxRng::new(5))
        };
        assert_eq!(run(), run());
    }
}
