//! GitHub's objects as sandbox tables: generated from the seed, changed by mutations.
//!
//! Issues and pull requests share one table (a pull request is an issue with a `pull_id`), as
//! they share GitHub's number space. Scopes are indices into [`REPO_NAMES`]; people are indices
//! into [`LOGINS`] (0 is the token's owner).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::core::rng::SandboxRng;
use crate::core::table::{Row, Table};
use crate::core::time::Secs;
use crate::provider::ChangeAction;

/// 2024-01-01T00:00:00Z: the generated history starts here.
pub const DATA_START: Secs = 1_704_067_200;
/// 2025-01-01T00:00:00Z: every generated timestamp is before this.
pub const DATA_END: Secs = 1_735_689_600;
const DAY: Secs = 86_400;

/// The organisation that owns the repositories.
pub const OWNER: &str = "acme";
/// Repository names, in order.
pub const REPO_NAMES: [&str; 2] = ["widgets", "gadgets"];
/// The organisation's id.
pub const ORG_ID: u64 = 9_001;

/// Logins of the users; user `i` has id `10_001 + i`.
pub const LOGINS: [&str; 12] = [
    "gwi-sandbox-user",
    "ada-l",
    "grace-h",
    "linus-t",
    "margaret-h",
    "ken-t",
    "barbara-l",
    "dennis-r",
    "radia-p",
    "edsger-d",
    "frances-a",
    "hedy-l",
];

/// `(name, colour, description, one of GitHub's default labels)` of each label.
pub const LABELS: [(&str, &str, &str, bool); 8] = [
    ("bug", "d73a4a", "Something isn't working", true),
    (
        "documentation",
        "0075ca",
        "Improvements or additions to documentation",
        true,
    ),
    (
        "duplicate",
        "cfd3d7",
        "This issue or pull request already exists",
        true,
    ),
    ("enhancement", "a2eeef", "New feature or request", true),
    ("good first issue", "7057ff", "Good for newcomers", true),
    ("help wanted", "008672", "Extra attention is needed", true),
    ("performance", "fbca04", "Makes something faster", false),
    ("wontfix", "ffffff", "This will not be worked on", true),
];

/// `(name, path)` of each repository's workflows.
pub const WORKFLOWS: [(&str, &str); 3] = [
    ("CI", ".github/workflows/ci.yml"),
    ("Lint", ".github/workflows/lint.yml"),
    ("Release", ".github/workflows/release.yml"),
];

// The wording generated records draw from, `|`-separated.
const NOUNS: &str = "parser|cache|retry loop|config loader|CLI flags|README|webhook handler|\
    rate limiter|pagination|logger|test suite|build script|error messages|metrics|scheduler|exporter";
const PR_VERBS: &str = "Fix|Refactor|Speed up|Document|Add tests for|Simplify|Harden|Rework";
const ISSUE_TITLES: &str = "Crash in the {} on empty input|{} ignores its timeout|\
    Support for streaming in the {}|{} is slow on large inputs|Unclear error from the {}|\
    Flaky behaviour in the {}";
const COMMENTS: &str = "I can reproduce this on main.|Thanks! Looks good to me.|\
    Could you add a test for this case?|This seems related to an earlier report.|\
    I'll take a look this week.|Fixed in the latest release, please confirm.|\
    Can you share the logs?|+1, we hit this too.";
const REVIEW_BODIES: &str = "|Looks good.|A few nits inline.|Please split this up.";
const REVIEW_STATES: &str = "APPROVED|CHANGES_REQUESTED|COMMENTED";
const PATHS: &str = "src/lib.rs|src/main.rs|src/parser.rs|src/cache.rs|README.md|\
    tests/integration.rs|Cargo.toml|.github/workflows/ci.yml";

/// One of the `|`-separated `words`, drawn as a pick from a list of them is.
fn word(rng: &mut SandboxRng, words: &'static str) -> &'static str {
    let words: Vec<&'static str> = words.split('|').collect();
    rng.pick(&words).copied().unwrap_or("")
}

/// A repository's own facts (its objects live in the tables).
#[derive(Debug, Clone)]
pub struct Repo {
    /// Numeric id.
    pub id: u64,
    /// `owner/name`.
    pub full_name: String,
    /// Last push, which is also its last change.
    pub pushed_at: Secs,
}

/// Repositories are created 60 days before the data starts.
pub const REPO_CREATED: Secs = DATA_START - 60 * DAY;

/// Next ids per kind; ids grow with creation time, as GitHub's do.
#[derive(Debug, Clone)]
struct Ids {
    issue: u64,
    pull: u64,
    issue_comment: u64,
    review: u64,
    review_comment: u64,
    run: u64,
}

fn take(counter: &mut u64) -> u64 {
    *counter += 1;
    *counter - 1
}

/// Everything the simulated GitHub holds.
#[derive(Debug, Clone)]
pub struct Data {
    /// The repositories; a row's scope indexes this.
    pub repos: Vec<Repo>,
    /// When each user's account was created (index: user).
    pub user_created: Vec<Secs>,
    /// Issues and pull requests (a pull request carries `pull_id`).
    pub issues: Table,
    /// Issue comments (parent: the issue's id); deletions stay as deleted rows.
    pub issue_comments: Table,
    /// Pull request reviews (parent: the pull request's issue id).
    pub reviews: Table,
    /// Review comments on diffs (parent: the review's id).
    pub review_comments: Table,
    /// Commits of the default branch, oldest first (the row id is internal; `sha` is the
    /// identity).
    pub commits: Table,
    /// Workflow runs (`commit`: the commit row's id).
    pub runs: Table,
    ids: Ids,
    /// Bumped by every mutation; keys the response caches.
    pub generation: u64,
}

/// Whether a row's boolean field is set.
pub fn flag(row: &Row, key: &str) -> bool {
    row.fields
        .get(key)
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// A row's list of indices (labels, people).
pub fn indices(row: &Row, key: &str) -> Vec<usize> {
    row.fields
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_u64())
                .map(|v| v as usize)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the issue row is a pull request.
pub fn is_pull(row: &Row) -> bool {
    row.fields.contains_key("pull_id")
}

/// Roughly `base * scale`, give or take 5 %, from the RNG.
fn about(rng: &mut SandboxRng, base: u64, scale: u32) -> usize {
    let x = base * u64::from(scale.max(1));
    (x - x / 20 + rng.below(x / 10 + 1)) as usize
}

fn title_for(rng: &mut SandboxRng, is_pr: bool) -> String {
    let noun = word(rng, NOUNS);
    if is_pr {
        return format!("{} {noun}", word(rng, PR_VERBS));
    }
    let text = word(rng, ISSUE_TITLES).replacen("{}", noun, 1);
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

/// A random user other than the token's owner.
fn some_user(rng: &mut SandboxRng) -> usize {
    1 + rng.index(LOGINS.len() - 1)
}

fn comment_body(rng: &mut SandboxRng) -> String {
    word(rng, COMMENTS).to_owned()
}

/// Adds a new pull request's branch and commit fields to `row`.
fn make_pull(rng: &mut SandboxRng, row: Row, pull_id: u64, base_sha: String) -> Row {
    let number = row.u64("number");
    let slug = word(rng, NOUNS).replace(' ', "-");
    let reviewers: Vec<usize> = if rng.chance(0.4) {
        vec![some_user(rng)]
    } else {
        vec![]
    };
    row.with("pull_id", pull_id)
        .with("head_ref", format!("feature/{slug}-{number}"))
        .with("head_sha", rng.sha())
        .with("base_sha", base_sha)
        .with("merged_at", Value::Null)
        .with("merged_by", Value::Null)
        .with("merge_commit_sha", rng.sha())
        .with("draft", rng.chance(0.1))
        .with("requested_reviewers", reviewers)
        .with("review_comments", 0)
        .with("commits", 1 + rng.below(8))
        .with("additions", 1 + rng.below(400))
        .with("deletions", rng.below(200))
        .with("changed_files", 1 + rng.below(12))
}

/// A new open issue, or pull request when `pull` gives its id and base, created at `at`.
fn make_issue(
    rng: &mut SandboxRng,
    id: u64,
    scope: usize,
    number: u64,
    at: Secs,
    pull: Option<(u64, String)>,
) -> Row {
    let row = Row::new(id, scope, at).with("number", number);
    let row = match pull {
        Some((pull_id, base_sha)) => make_pull(rng, row, pull_id, base_sha),
        None => row,
    };
    let mut labels: Vec<usize> = (0..rng.below(3)).map(|_| rng.index(LABELS.len())).collect();
    labels.sort_unstable();
    labels.dedup();
    let assignees: Vec<usize> = if rng.chance(0.5) {
        vec![some_user(rng)]
    } else {
        vec![]
    };
    let title = title_for(rng, is_pull(&row));
    let body = rng
        .chance(0.9)
        .then(|| format!("{}\n\nDetails for #{number}.", comment_body(rng)));
    row.with("title", title)
        .with("body", body)
        .with("user", some_user(rng))
        .with("labels", labels)
        .with("assignees", assignees)
        .with("open", true)
        .with("locked", false)
        .with("comments", 0)
        .with("closed_at", Value::Null)
}

/// A new comment `id` on `issue` at `at`.
fn comment(rng: &mut SandboxRng, id: u64, issue: &Row, at: Secs) -> Row {
    Row::new(id, issue.scope, at)
        .child_of(issue.id)
        .with("number", issue.u64("number"))
        .with("on_pull", is_pull(issue))
        .with("user", some_user(rng))
        .with("body", comment_body(rng))
}

fn set(row: &mut Row, key: &str, value: impl Into<Value>) {
    row.fields.insert(key.to_owned(), value.into());
}

impl Data {
    /// The data for `seed` at `scale`: two repositories (`acme/widgets`, `acme/gadgets`), each
    /// with about 120×scale pull requests, 150×scale issues, 2 comments per issue, 1 review per
    /// pull request with about 1 diff comment each, 300×scale commits and 200×scale workflow runs.
    pub fn generate(seed: u64, scale: u32) -> Self {
        let mut rng = SandboxRng::derive(seed, "github-accounts", &[]);
        let user_created = LOGINS
            .iter()
            .map(|_| DATA_START - 400 * DAY + rng.below(300 * DAY as u64) as Secs)
            .collect();
        let mut data = Self {
            repos: Vec::new(),
            user_created,
            issues: Table::default(),
            issue_comments: Table::default(),
            reviews: Table::default(),
            review_comments: Table::default(),
            commits: Table::default(),
            runs: Table::default(),
            ids: Ids {
                issue: 1_000_000_001,
                pull: 2_000_000_001,
                issue_comment: 3_000_000_001,
                review: 4_000_000_001,
                review_comment: 5_000_000_001,
                run: 6_000_000_001,
            },
            generation: 0,
        };
        for (scope, name) in REPO_NAMES.iter().enumerate() {
            data.generate_repo(seed, scale, scope, name);
        }
        data
    }

    fn generate_repo(&mut self, seed: u64, scale: u32, scope: usize, name: &str) {
        let mut rng = SandboxRng::derive(seed, "github-repo", &[scope as u64]);
        let rng = &mut rng;
        let last = DATA_END - 1;
        let span = DATA_END - DATA_START;

        // Commits first: pull requests and runs point at them.
        let n_commits = about(rng, 300, scale);
        let cstep = (span / (n_commits as Secs + 1)).max(2);
        let mut commit_ids = Vec::with_capacity(n_commits);
        let mut shas: Vec<String> = Vec::with_capacity(n_commits);
        for i in 0..n_commits {
            let date = DATA_START + i as Secs * cstep + rng.below(cstep as u64 / 2) as Secs;
            let noun = word(rng, NOUNS);
            let verb = word(rng, PR_VERBS);
            let sha = rng.sha();
            let id = self.commits.max_id() + 1;
            self.commits.insert(
                Row::new(id, scope, date)
                    .with("sha", sha.clone())
                    .with("tree_sha", rng.sha())
                    .with("parent", shas.last().cloned())
                    .with("message", format!("{verb} {noun}"))
                    .with("author", some_user(rng)),
            );
            commit_ids.push(id);
            shas.push(sha);
        }
        let commit_near = |t: Secs| -> usize {
            (((t - DATA_START).max(0) / cstep) as usize).min(n_commits.saturating_sub(1))
        };

        // Issues and pull requests share one number space, interleaved at random.
        let n_prs = about(rng, 120, scale);
        let n_issues = about(rng, 150, scale);
        let total = n_prs + n_issues;
        let mut kinds: Vec<bool> = (0..total).map(|i| i < n_prs).collect();
        rng.shuffle(&mut kinds);
        let step = (span / (total as Secs + 1)).max(2);
        let mut issues = Vec::with_capacity(total);
        for (k, is_pr) in kinds.iter().enumerate() {
            let number = k as u64 + 1;
            let created = DATA_START + k as Secs * step + rng.below(step as u64 / 2) as Secs;
            let pull = if *is_pr {
                let base_sha = shas
                    .get(commit_near(created))
                    .cloned()
                    .unwrap_or_else(|| rng.sha());
                Some((take(&mut self.ids.pull), base_sha))
            } else {
                None
            };
            let id = take(&mut self.ids.issue);
            let mut issue = make_issue(rng, id, scope, number, created, pull);
            set(&mut issue, "locked", rng.chance(0.02));
            // Times past the end of the data are pulled back by an amount of their own rather
            // than all onto its last second: real listings rarely hold many changes in one second.
            let end = (last - (number as Secs * 7_919) % DAY).max(created);
            let mut updated = (created + rng.below(30 * DAY as u64) as Secs).min(end);
            if rng.chance(0.45) {
                let closed = (created + 1 + rng.below(20 * DAY as u64) as Secs).min(end);
                set(&mut issue, "open", false);
                set(&mut issue, "closed_at", closed);
                updated = updated.max(closed);
                if is_pull(&issue) {
                    set(&mut issue, "draft", false);
                    if rng.chance(0.75) {
                        set(&mut issue, "merged_at", closed);
                        set(&mut issue, "merged_by", some_user(rng));
                    }
                }
            }
            issue.updated = updated;
            issues.push(issue);
        }

        // Issue comments: generated per issue, then numbered in time order.
        let mut comments = Vec::new();
        for issue in &mut issues {
            for _ in 0..rng.below(5) {
                let window = (last - issue.created).clamp(1, 20 * DAY);
                let created = (issue.created + 60 + rng.below(window as u64) as Secs).min(last);
                let updated = if rng.chance(0.2) {
                    (created + rng.below(DAY as u64) as Secs).min(last)
                } else {
                    created
                };
                set(issue, "comments", issue.u64("comments") + 1);
                issue.updated = issue.updated.max(updated);
                let mut c = comment(rng, 0, issue, created);
                c.updated = updated;
                comments.push(c);
            }
        }
        comments.sort_by_key(|c| (c.created, c.u64("number")));
        for mut c in comments {
            c.id = take(&mut self.ids.issue_comment);
            self.issue_comments.insert(c);
        }

        // Reviews, then their diff comments.
        let mut reviews = Vec::new();
        for issue in issues.iter_mut().filter(|i| is_pull(i)) {
            for _ in 0..rng.below(3) {
                let window = (last - issue.created).clamp(1, 10 * DAY);
                let at = (issue.created + 3600 + rng.below(window as u64) as Secs).min(last);
                issue.updated = issue.updated.max(at);
                reviews.push(
                    Row::new(0, scope, at)
                        .child_of(issue.id)
                        .with("number", issue.u64("number"))
                        .with("user", some_user(rng))
                        .with("body", word(rng, REVIEW_BODIES))
                        .with("state", word(rng, REVIEW_STATES))
                        .with("commit_id", issue.str("head_sha")),
                );
            }
        }
        reviews.sort_by_key(|r| (r.created, r.u64("number")));
        let mut review_comments = Vec::new();
        for r in &mut reviews {
            r.id = take(&mut self.ids.review);
            for _ in 0..rng.below(3) {
                let created = (r.created - rng.below(600) as Secs).max(DATA_START);
                let updated = if rng.chance(0.2) {
                    (created + rng.below(DAY as u64) as Secs).min(last)
                } else {
                    created
                };
                let mut c = Row::new(0, scope, created)
                    .child_of(r.id)
                    .with("number", r.u64("number"))
                    .with("user", r.u64("user"))
                    .with("body", comment_body(rng))
                    .with("path", word(rng, PATHS))
                    .with("line", 1 + rng.below(300))
                    .with("commit_id", r.str("commit_id"));
                c.updated = updated;
                review_comments.push(c);
                if let Some(pr) = issues.iter_mut().find(|i| i.id == r.parent.unwrap_or(0)) {
                    set(pr, "review_comments", pr.u64("review_comments") + 1);
                }
            }
        }
        for r in reviews {
            self.reviews.insert(r);
        }
        review_comments.sort_by_key(|c| (c.created, c.parent));
        for mut c in review_comments {
            c.id = take(&mut self.ids.review_comment);
            self.review_comments.insert(c);
        }
        for issue in issues {
            self.issues.insert(issue);
        }

        // Workflow runs, spread over the year.
        let n_runs = about(rng, 200, scale);
        let rstep = (span / (n_runs as Secs + 1)).max(2);
        let mut run_numbers = [0u64; WORKFLOWS.len()];
        for i in 0..n_runs {
            let created = DATA_START + i as Secs * rstep + rng.below(rstep as u64 / 2) as Secs;
            let workflow = rng.index(WORKFLOWS.len());
            run_numbers[workflow] += 1;
            let started = created + rng.below(30) as Secs;
            let event = *rng
                .pick(&["push", "pull_request", "schedule", "workflow_dispatch"])
                .unwrap_or(&"push");
            let branch = if event == "pull_request" {
                format!("feature/run-{i}")
            } else {
                "main".to_owned()
            };
            let id = take(&mut self.ids.run);
            let commit = commit_ids.get(commit_near(created)).copied().unwrap_or(0);
            let mut run = Row::new(id, scope, created)
                .with("run_number", run_numbers[workflow])
                .with("workflow", workflow)
                .with("head_branch", branch)
                .with("commit", commit)
                .with("event", event)
                .with("status", "completed")
                .with(
                    "conclusion",
                    *rng.pick(&["success", "success", "success", "failure", "cancelled"])
                        .unwrap_or(&"success"),
                )
                .with("actor", some_user(rng))
                .with("run_attempt", 1 + u64::from(rng.chance(0.05)))
                .with("run_started_at", started);
            run.updated = (started + rng.below(1800) as Secs).min(last);
            self.runs.insert(run);
        }

        let pushed_at = commit_ids
            .last()
            .and_then(|id| self.commits.get(*id))
            .map_or(DATA_START, |c| c.created);
        self.repos.push(Repo {
            id: 100_000_001 + scope as u64,
            full_name: format!("{OWNER}/{name}"),
            pushed_at,
        });
    }

    /// The repository named `owner/name` (case-insensitive, as GitHub matches).
    pub fn repo_index(&self, owner: &str, name: &str) -> Option<usize> {
        if !owner.eq_ignore_ascii_case(OWNER) {
            return None;
        }
        REPO_NAMES.iter().position(|r| r.eq_ignore_ascii_case(name))
    }

    /// The issue or pull request `number` of repository `scope`.
    pub fn issue(&self, scope: usize, number: u64) -> Option<&Row> {
        self.issues
            .live()
            .find(|r| r.scope == scope && r.u64("number") == number)
    }

    /// The newest commit of repository `scope`.
    pub fn head(&self, scope: usize) -> Option<&Row> {
        self.commits.live().filter(|r| r.scope == scope).last()
    }

    fn tables(&self) -> [&Table; 6] {
        [
            &self.issues,
            &self.issue_comments,
            &self.reviews,
            &self.review_comments,
            &self.commits,
            &self.runs,
        ]
    }

    /// The newest timestamp anywhere in the data.
    pub fn newest(&self) -> Secs {
        self.tables()
            .iter()
            .map(|t| t.newest())
            .max()
            .unwrap_or(DATA_START)
    }

    /// Applies `count` random changes stamped `at`, and lists the records touched as
    /// `(scope, kind, action, id)`, once each with the strongest action (deleted over created
    /// over updated). Pull requests are reported with the id `/pulls` shows, issues with the
    /// issue id; commits by their row id (the caller reports the sha).
    ///
    /// Mix: 45 % edit an issue or pull request (title, close/reopen/merge, label), 15 % edit an
    /// issue comment, 5 % delete one, 10 % add an issue comment (its issue is updated too), 5 %
    /// edit a review comment, 5 % add a review (its pull request is updated too), 7 % open a new
    /// issue or pull request, 4 % push a commit, 4 % add a workflow run.
    pub fn mutate(
        &mut self,
        count: usize,
        at: Secs,
        rng: &mut SandboxRng,
    ) -> Vec<(usize, &'static str, ChangeAction, u64)> {
        self.generation += 1;
        let mut changes = Vec::new();
        for _ in 0..count {
            let scope = rng.index(REPO_NAMES.len());
            let in_scope = |r: &Row| r.scope == scope;
            let issue_kind = |r: &Row| match r.fields.get("pull_id").and_then(Value::as_u64) {
                Some(pull) => ("pull", pull),
                None => ("issue", r.id),
            };
            let has_comments = self.issue_comments.live().any(in_scope);
            let roll = rng.below(100);
            match roll {
                0..=44 if self.issues.live().any(in_scope) => {
                    let Some(id) = self.issues.pick(rng, in_scope) else {
                        continue;
                    };
                    self.issues.update(id, at, |i| edit_issue(rng, i, at));
                    if let Some((kind, id)) = self.issues.get(id).map(issue_kind) {
                        changes.push((scope, kind, ChangeAction::Updated, id));
                    }
                }
                60..=64 if has_comments => {
                    let Some(id) = self.issue_comments.pick(rng, in_scope) else {
                        continue;
                    };
                    self.issue_comments.delete(id, at);
                    let parent = self.issue_comments.get(id).and_then(|c| c.parent);
                    if let Some(issue) = parent.and_then(|p| self.issues.get_mut(p)) {
                        set(issue, "comments", issue.u64("comments").saturating_sub(1));
                    }
                    changes.push((scope, "issue_comment", ChangeAction::Deleted, id));
                }
                45..=64 if has_comments => {
                    let Some(id) = self.issue_comments.pick(rng, in_scope) else {
                        continue;
                    };
                    self.issue_comments.update(id, at, |c| {
                        set(c, "body", format!("{} (edited)", comment_body(rng)));
                    });
                    changes.push((scope, "issue_comment", ChangeAction::Updated, id));
                }
                65..=74 if self.issues.live().any(in_scope) => {
                    let Some(parent) = self.issues.pick(rng, in_scope) else {
                        continue;
                    };
                    let id = take(&mut self.ids.issue_comment);
                    self.issues.update(parent, at, |i| {
                        set(i, "comments", i.u64("comments") + 1);
                    });
                    let Some(issue) = self.issues.get(parent) else {
                        continue;
                    };
                    let (kind, issue_id) = issue_kind(issue);
                    self.issue_comments.insert(comment(rng, id, issue, at));
                    changes.push((scope, "issue_comment", ChangeAction::Created, id));
                    changes.push((scope, kind, ChangeAction::Updated, issue_id));
                }
                75..=79 if self.review_comments.live().any(in_scope) => {
                    let Some(id) = self.review_comments.pick(rng, in_scope) else {
                        continue;
                    };
                    self.review_comments.update(id, at, |c| {
                        set(c, "body", format!("{} (edited)", comment_body(rng)));
                    });
                    changes.push((scope, "review_comment", ChangeAction::Updated, id));
                }
                80..=84 => {
                    let Some(parent) = self.issues.pick(rng, |r| in_scope(r) && is_pull(r)) else {
                        continue;
                    };
                    let id = take(&mut self.ids.review);
                    self.issues.update(parent, at, |_| {});
                    let Some(pr) = self.issues.get(parent) else {
                        continue;
                    };
                    let row = Row::new(id, scope, at)
                        .child_of(parent)
                        .with("number", pr.u64("number"))
                        .with("user", some_user(rng))
                        .with("body", "Looks good.")
                        .with("state", "APPROVED")
                        .with("commit_id", pr.str("head_sha"));
                    let (kind, pull_id) = issue_kind(pr);
                    self.reviews.insert(row);
                    changes.push((scope, "review", ChangeAction::Created, id));
                    changes.push((scope, kind, ChangeAction::Updated, pull_id));
                }
                85..=91 => {
                    let number = self.issues.all().filter(|r| in_scope(r)).count() as u64 + 1;
                    let pull = if rng.chance(0.45) {
                        let base_sha = match self.head(scope) {
                            Some(c) => c.str("sha").to_owned(),
                            None => rng.sha(),
                        };
                        Some((take(&mut self.ids.pull), base_sha))
                    } else {
                        None
                    };
                    let id = take(&mut self.ids.issue);
                    let row = make_issue(rng, id, scope, number, at, pull);
                    let (kind, id) = issue_kind(&row);
                    self.issues.insert(row);
                    changes.push((scope, kind, ChangeAction::Created, id));
                }
                92..=95 => {
                    let sha = rng.sha();
                    let parent = self.head(scope).map(|c| c.str("sha").to_owned());
                    let id = self.commits.max_id() + 1;
                    let row = Row::new(id, scope, at)
                        .with("sha", sha)
                        .with("tree_sha", rng.sha())
                        .with("parent", parent)
                        .with("message", format!("Sandbox change {}", rng.below(100_000)))
                        .with("author", some_user(rng));
                    self.commits.insert(row);
                    if let Some(repo) = self.repos.get_mut(scope) {
                        repo.pushed_at = at;
                    }
                    changes.push((scope, "commit", ChangeAction::Created, id));
                }
                _ => {
                    let id = take(&mut self.ids.run);
                    let workflow = rng.index(WORKFLOWS.len());
                    let run_number = self
                        .runs
                        .all()
                        .filter(|r| in_scope(r) && r.u64("workflow") == workflow as u64)
                        .count()
                        + 1;
                    let commit = self.head(scope).map_or(0, |c| c.id);
                    let row = Row::new(id, scope, at)
                        .with("run_number", run_number)
                        .with("workflow", workflow)
                        .with("head_branch", "main")
                        .with("commit", commit)
                        .with("event", "push")
                        .with("status", "completed")
                        .with("conclusion", "success")
                        .with("actor", some_user(rng))
                        .with("run_attempt", 1)
                        .with("run_started_at", at);
                    self.runs.insert(row);
                    changes.push((scope, "workflow_run", ChangeAction::Created, id));
                }
            }
        }
        let mut strongest = BTreeMap::new();
        for (scope, kind, action, id) in changes {
            let held = strongest.entry((scope, kind, id)).or_insert(action);
            *held = (*held).max(action);
        }
        strongest
            .into_iter()
            .map(|((scope, kind, id), action)| (scope, kind, action, id))
            .collect()
    }
}

/// Retitles, closes, reopens, merges or relabels the issue or pull request `row`.
fn edit_issue(rng: &mut SandboxRng, row: &mut Row, at: Secs) {
    match rng.below(3) {
        0 => {
            let base = row
                .str("title")
                .split(" (rev ")
                .next()
                .unwrap_or("")
                .to_owned();
            set(row, "title", format!("{base} (rev {})", rng.below(1000)));
        }
        1 => {
            if flag(row, "open") {
                set(row, "open", false);
                set(row, "closed_at", at);
                if is_pull(row) && rng.chance(0.6) {
                    set(row, "merged_at", at);
                    set(row, "merged_by", some_user(rng));
                    set(row, "draft", false);
                }
            } else if row.field("merged_at").is_null() {
                set(row, "open", true);
                set(row, "closed_at", Value::Null);
            }
        }
        _ => {
            let label = rng.index(LABELS.len());
            let mut labels = indices(row, "labels");
            match labels.iter().position(|l| *l == label) {
                Some(pos) => {
                    labels.remove(pos);
                }
                None => {
                    labels.push(label);
                    labels.sort_unstable();
                }
            }
            set(row, "labels", labels);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_generates_the_same_data_and_another_seed_differs() {
        let sig = |d: &Data| {
            (
                d.issues.live_count(),
                d.issue_comments.live_count(),
                d.commits.get(1).map(|c| c.str("sha").to_owned()),
            )
        };
        assert_eq!(sig(&Data::generate(5, 1)), sig(&Data::generate(5, 1)));
        assert_ne!(sig(&Data::generate(5, 1)), sig(&Data::generate(6, 1)));
    }

    #[test]
    fn scale_one_has_about_the_documented_sizes_and_consistent_times() {
        let d = Data::generate(1, 1);
        for scope in 0..REPO_NAMES.len() {
            let issues: Vec<&Row> = d.issues.live().filter(|r| r.scope == scope).collect();
            let prs = issues.iter().filter(|i| is_pull(i)).count();
            assert!((114..=126).contains(&prs), "{prs}");
            assert!((142..=158).contains(&(issues.len() - prs)));
            for (k, i) in issues.iter().enumerate() {
                assert_eq!(i.u64("number"), k as u64 + 1);
                assert!(i.created <= i.updated && i.updated < DATA_END);
            }
        }
        for c in d.issue_comments.live() {
            let issue = c.parent.and_then(|p| d.issues.get(p));
            assert!(issue.is_some_and(|i| c.updated <= i.updated));
        }
        assert!(Data::generate(1, 3).issues.live_count() > 2 * 3 * 250);
    }

    #[test]
    fn mutations_follow_the_rng_and_stamp_every_record_they_report() {
        let at = DATA_END + 100;
        let run = || {
            let mut data = Data::generate(4, 1);
            let changes = data.mutate(50, at, &mut SandboxRng::new(11));
            (data, changes)
        };
        let (data, changes) = run();
        assert_eq!(changes, run().1);
        assert!(changes.iter().any(|c| c.2 == ChangeAction::Deleted));
        for (_, kind, action, id) in &changes {
            let table = match *kind {
                "pull" | "issue" => &data.issues,
                "issue_comment" => &data.issue_comments,
                "review_comment" => &data.review_comments,
                "review" => &data.reviews,
                "commit" => &data.commits,
                _ => &data.runs,
            };
            let row = match *kind {
                "pull" => table.all().find(|r| r.u64("pull_id") == *id),
                _ => table.get(*id),
            };
            let stamp = row.map(|r| match action {
                ChangeAction::Deleted => r.deleted.unwrap_or(0),
                _ => r.updated,
            });
            assert_eq!(stamp, Some(at), "{kind} {id}");
        }
    }
}
