//! The GitHub records the sandbox serves, generated deterministically from the seed.

use crate::core::rng::SandboxRng;
use crate::core::time::Secs;

/// 2024-01-01T00:00:00Z: the generated history starts here.
pub const DATA_START: Secs = 1_704_067_200;
/// 2025-01-01T00:00:00Z: every generated timestamp is before this.
pub const DATA_END: Secs = 1_735_689_600;

const DAY: Secs = 86_400;

/// The organisation that owns the repositories.
pub const OWNER: &str = "acme";
/// Repository names, in order.
pub const REPO_NAMES: [&str; 2] = ["widgets", "gadgets"];

/// A user or organisation account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Numeric id.
    pub id: u64,
    /// Login.
    pub login: String,
    /// Display name.
    pub name: String,
    /// `User` or `Organization`.
    pub kind: &'static str,
    /// Account creation time.
    pub created_at: Secs,
}

/// A repository label.
#[derive(Debug, Clone)]
pub struct Label {
    /// Numeric id.
    pub id: u64,
    /// Name.
    pub name: &'static str,
    /// The name as it appears in label URLs.
    pub url_name: &'static str,
    /// Hex colour without `#`.
    pub color: &'static str,
    /// Description.
    pub description: &'static str,
    /// One of GitHub's default labels.
    pub default: bool,
}

/// A repository.
#[derive(Debug, Clone)]
pub struct Repo {
    /// Numeric id.
    pub id: u64,
    /// Name (`widgets`).
    pub name: String,
    /// `owner/name`.
    pub full_name: String,
    /// Description.
    pub description: String,
    /// Creation time.
    pub created_at: Secs,
    /// Last change.
    pub updated_at: Secs,
    /// Last push.
    pub pushed_at: Secs,
    /// Open issues plus open pull requests (GitHub's `open_issues_count`).
    pub open_issues: u64,
}

/// The pull-request half of an issue that is a pull request.
#[derive(Debug, Clone)]
pub struct Pull {
    /// The pull request's own id (distinct from the issue id).
    pub id: u64,
    /// Head branch.
    pub head_ref: String,
    /// Head commit.
    pub head_sha: String,
    /// Base branch.
    pub base_ref: &'static str,
    /// Base commit.
    pub base_sha: String,
    /// When it was merged.
    pub merged_at: Option<Secs>,
    /// Who merged it (account index).
    pub merged_by: Option<usize>,
    /// The test-merge or merge commit.
    pub merge_commit_sha: String,
    /// Draft pull request.
    pub draft: bool,
    /// Requested reviewers (account indices).
    pub requested_reviewers: Vec<usize>,
    /// Review comments on it.
    pub review_comments: u32,
    /// Commits in it.
    pub commits: u32,
    /// Lines added.
    pub additions: u32,
    /// Lines deleted.
    pub deletions: u32,
    /// Files changed.
    pub changed_files: u32,
}

/// An issue, or a pull request seen as an issue (then `pull` is set).
#[derive(Debug, Clone)]
pub struct Issue {
    /// Issue id.
    pub id: u64,
    /// Number, shared with pull requests.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body (may be absent, as on GitHub).
    pub body: Option<String>,
    /// Author (account index).
    pub user: usize,
    /// Label indices into the repository's labels.
    pub labels: Vec<usize>,
    /// Assignees (account indices).
    pub assignees: Vec<usize>,
    /// Open or closed.
    pub open: bool,
    /// Conversation locked.
    pub locked: bool,
    /// Issue comments on it.
    pub comments: u32,
    /// Created.
    pub created_at: Secs,
    /// Last updated.
    pub updated_at: Secs,
    /// Closed (None while open).
    pub closed_at: Option<Secs>,
    /// Set when this issue is a pull request.
    pub pull: Option<Pull>,
}

/// A comment on an issue or on a pull request's conversation.
#[derive(Debug, Clone)]
pub struct IssueComment {
    /// Comment id.
    pub id: u64,
    /// Issue or pull request number it belongs to.
    pub issue_number: u64,
    /// Whether that number is a pull request (for `html_url`).
    pub on_pull: bool,
    /// Author.
    pub user: usize,
    /// Text.
    pub body: String,
    /// Created.
    pub created_at: Secs,
    /// Last edited.
    pub updated_at: Secs,
}

/// A pull request review.
#[derive(Debug, Clone)]
pub struct Review {
    /// Review id.
    pub id: u64,
    /// Pull request number.
    pub pr_number: u64,
    /// Reviewer.
    pub user: usize,
    /// Text (empty when none, as on GitHub).
    pub body: String,
    /// `APPROVED`, `CHANGES_REQUESTED` or `COMMENTED`.
    pub state: &'static str,
    /// Submitted.
    pub submitted_at: Secs,
    /// Reviewed commit.
    pub commit_id: String,
}

/// A comment on a pull request's diff.
#[derive(Debug, Clone)]
pub struct ReviewComment {
    /// Comment id.
    pub id: u64,
    /// Review it was part of.
    pub review_id: u64,
    /// Pull request number.
    pub pr_number: u64,
    /// Author.
    pub user: usize,
    /// Text.
    pub body: String,
    /// File.
    pub path: &'static str,
    /// Line in the new file.
    pub line: u32,
    /// Commented commit.
    pub commit_id: String,
    /// Created.
    pub created_at: Secs,
    /// Last edited.
    pub updated_at: Secs,
}

/// A commit on the default branch.
#[derive(Debug, Clone)]
pub struct Commit {
    /// Object id.
    pub sha: String,
    /// Tree id.
    pub tree_sha: String,
    /// Parent ids.
    pub parents: Vec<String>,
    /// Message.
    pub message: String,
    /// Author (account index).
    pub author: usize,
    /// Author and commit date.
    pub date: Secs,
}

/// An Actions workflow.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// Workflow id.
    pub id: u64,
    /// Name.
    pub name: &'static str,
    /// File path.
    pub path: &'static str,
    /// Created.
    pub created_at: Secs,
}

/// An Actions workflow run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Run id.
    pub id: u64,
    /// Number within its workflow.
    pub run_number: u64,
    /// Workflow index.
    pub workflow: usize,
    /// Branch.
    pub head_branch: String,
    /// Commit index the run is for.
    pub commit: usize,
    /// `push`, `pull_request`, `schedule`, ...
    pub event: &'static str,
    /// `queued`, `in_progress` or `completed`.
    pub status: &'static str,
    /// Result once completed.
    pub conclusion: Option<&'static str>,
    /// Who triggered it.
    pub actor: usize,
    /// Attempt number.
    pub run_attempt: u32,
    /// Created.
    pub created_at: Secs,
    /// Started.
    pub run_started_at: Secs,
    /// Last updated.
    pub updated_at: Secs,
}

/// Everything in one repository.
#[derive(Debug, Clone)]
pub struct RepoData {
    /// The repository itself.
    pub repo: Repo,
    /// Labels.
    pub labels: Vec<Label>,
    /// Workflows.
    pub workflows: Vec<Workflow>,
    /// Issues and pull requests; index is `number - 1`.
    pub issues: Vec<Issue>,
    /// Issue comments, in id order.
    pub issue_comments: Vec<IssueComment>,
    /// Reviews, in id order.
    pub reviews: Vec<Review>,
    /// Review comments, in id order.
    pub review_comments: Vec<ReviewComment>,
    /// Commits, oldest first.
    pub commits: Vec<Commit>,
    /// Workflow runs, in id order.
    pub runs: Vec<Run>,
    /// Issue comments deleted by mutations, as they were, with when: GitHub lists them no
    /// more, but its `issue_comment` webhook reports the deletion.
    pub deleted_issue_comments: Vec<(IssueComment, Secs)>,
}

impl RepoData {
    /// Recomputes the repository's derived counters after a change.
    pub fn refresh(&mut self) {
        self.repo.open_issues = self.issues.iter().filter(|i| i.open).count() as u64;
    }

    /// The issue or pull request with this number.
    pub fn issue(&self, number: u64) -> Option<&Issue> {
        usize::try_from(number.checked_sub(1)?)
            .ok()
            .and_then(|i| self.issues.get(i))
    }
}

/// Next ids per kind; ids grow with creation time, as GitHub's do.
#[derive(Debug, Clone)]
pub struct IdCounters {
    /// Issues.
    pub issue: u64,
    /// Pull requests.
    pub pull: u64,
    /// Issue comments.
    pub issue_comment: u64,
    /// Reviews.
    pub review: u64,
    /// Review comments.
    pub review_comment: u64,
    /// Workflow runs.
    pub run: u64,
}

impl IdCounters {
    /// Returns `*counter` and advances it.
    pub fn take(counter: &mut u64) -> u64 {
        let id = *counter;
        *counter += 1;
        id
    }
}

/// All GitHub data of one sandbox.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The organisation owning the repositories.
    pub org: Account,
    /// Users; index 0 is the authenticated user.
    pub users: Vec<Account>,
    /// Repositories.
    pub repos: Vec<RepoData>,
    /// Next ids.
    pub ids: IdCounters,
    /// Bumped by every mutation; keys the response caches.
    pub generation: u64,
}

const LOGINS: [&str; 12] = [
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

const LABELS: [(&str, &str, &str, &str, bool); 8] = [
    ("bug", "bug", "d73a4a", "Something isn't working", true),
    (
        "documentation",
        "documentation",
        "0075ca",
        "Improvements or additions to documentation",
        true,
    ),
    (
        "duplicate",
        "duplicate",
        "cfd3d7",
        "This issue or pull request already exists",
        true,
    ),
    (
        "enhancement",
        "enhancement",
        "a2eeef",
        "New feature or request",
        true,
    ),
    (
        "good first issue",
        "good%20first%20issue",
        "7057ff",
        "Good for newcomers",
        true,
    ),
    (
        "help wanted",
        "help%20wanted",
        "008672",
        "Extra attention is needed",
        true,
    ),
    (
        "performance",
        "performance",
        "fbca04",
        "Makes something faster",
        false,
    ),
    (
        "wontfix",
        "wontfix",
        "ffffff",
        "This will not be worked on",
        true,
    ),
];

const NOUNS: [&str; 16] = [
    "parser",
    "cache",
    "retry loop",
    "config loader",
    "CLI flags",
    "README",
    "webhook handler",
    "rate limiter",
    "pagination",
    "logger",
    "test suite",
    "build script",
    "error messages",
    "metrics",
    "scheduler",
    "exporter",
];
const PR_VERBS: [&str; 8] = [
    "Fix",
    "Refactor",
    "Speed up",
    "Document",
    "Add tests for",
    "Simplify",
    "Harden",
    "Rework",
];
const ISSUE_TEMPLATES: [&str; 6] = [
    "Crash in the {} on empty input",
    "{} ignores its timeout",
    "Support for streaming in the {}",
    "{} is slow on large inputs",
    "Unclear error from the {}",
    "Flaky behaviour in the {}",
];
const COMMENT_BODIES: [&str; 8] = [
    "I can reproduce this on main.",
    "Thanks! Looks good to me.",
    "Could you add a test for this case?",
    "This seems related to an earlier report.",
    "I'll take a look this week.",
    "Fixed in the latest release, please confirm.",
    "Can you share the logs?",
    "+1, we hit this too.",
];
const REVIEW_BODIES: [&str; 4] = [
    "",
    "Looks good.",
    "A few nits inline.",
    "Please split this up.",
];
const REVIEW_STATES: [&str; 3] = ["APPROVED", "CHANGES_REQUESTED", "COMMENTED"];
const PATHS: [&str; 8] = [
    "src/lib.rs",
    "src/main.rs",
    "src/parser.rs",
    "src/cache.rs",
    "README.md",
    "tests/integration.rs",
    "Cargo.toml",
    ".github/workflows/ci.yml",
];
const WORKFLOWS: [(&str, &str); 3] = [
    ("CI", ".github/workflows/ci.yml"),
    ("Lint", ".github/workflows/lint.yml"),
    ("Release", ".github/workflows/release.yml"),
];

/// Roughly `base * scale`, give or take 5 %, from the RNG.
fn about(rng: &mut SandboxRng, base: u64, scale: u32) -> usize {
    let x = base * u64::from(scale.max(1));
    (x - x / 20 + rng.below(x / 10 + 1)) as usize
}

fn title_for(rng: &mut SandboxRng, is_pr: bool) -> String {
    let noun = rng.pick(&NOUNS).copied().unwrap_or("code");
    if is_pr {
        let verb = rng.pick(&PR_VERBS).copied().unwrap_or("Fix");
        format!("{verb} {noun}")
    } else {
        let t = rng.pick(&ISSUE_TEMPLATES).copied().unwrap_or("{}");
        let text = t.replacen("{}", noun, 1);
        let mut chars = text.chars();
        match chars.next() {
            Some(c) => c.to_uppercase().chain(chars).collect(),
            None => text,
        }
    }
}

/// A random user index other than the authenticated user.
pub fn some_user(rng: &mut SandboxRng, users: usize) -> usize {
    1 + rng.index(users.saturating_sub(1).max(1))
}

/// A comment body from the stock phrases.
pub fn comment_body(rng: &mut SandboxRng) -> String {
    rng.pick(&COMMENT_BODIES)
        .copied()
        .unwrap_or("ok")
        .to_owned()
}

/// A new pull request's branch/commit half.
pub fn new_pull(
    rng: &mut SandboxRng,
    id: u64,
    number: u64,
    base_sha: String,
    users: usize,
) -> Pull {
    let slug = rng
        .pick(&NOUNS)
        .copied()
        .unwrap_or("change")
        .replace(' ', "-");
    let reviewers = if rng.chance(0.4) {
        vec![some_user(rng, users)]
    } else {
        vec![]
    };
    Pull {
        id,
        head_ref: format!("feature/{slug}-{number}"),
        head_sha: rng.sha(),
        base_ref: "main",
        base_sha,
        merged_at: None,
        merged_by: None,
        merge_commit_sha: rng.sha(),
        draft: rng.chance(0.1),
        requested_reviewers: reviewers,
        review_comments: 0,
        commits: 1 + rng.below(8) as u32,
        additions: 1 + rng.below(400) as u32,
        deletions: rng.below(200) as u32,
        changed_files: 1 + rng.below(12) as u32,
    }
}

/// A new issue or pull request (unsaved), created and updated at `at`.
pub fn new_issue(
    rng: &mut SandboxRng,
    id: u64,
    number: u64,
    at: Secs,
    labels: usize,
    users: usize,
    pull: Option<Pull>,
) -> Issue {
    let is_pr = pull.is_some();
    let mut label_idx: Vec<usize> = (0..rng.below(3)).map(|_| rng.index(labels)).collect();
    label_idx.sort_unstable();
    label_idx.dedup();
    let assignees = if rng.chance(0.5) {
        vec![some_user(rng, users)]
    } else {
        vec![]
    };
    Issue {
        id,
        number,
        title: title_for(rng, is_pr),
        body: if rng.chance(0.9) {
            Some(format!("{}\n\nDetails for #{number}.", comment_body(rng)))
        } else {
            None
        },
        user: some_user(rng, users),
        labels: label_idx,
        assignees,
        open: true,
        locked: false,
        comments: 0,
        created_at: at,
        updated_at: at,
        closed_at: None,
        pull,
    }
}

impl Dataset {
    /// The data for `seed` at `scale`: two repositories (`acme/widgets`, `acme/gadgets`), each with
    /// about 120×scale pull requests, 150×scale issues, 2 comments per issue, 1 review per pull
    /// request with about 1 diff comment each, 300×scale commits and 200×scale workflow runs.
    pub fn generate(seed: u64, scale: u32) -> Self {
        let mut rng = SandboxRng::derive(seed, "github-accounts", &[]);
        let users: Vec<Account> = LOGINS
            .iter()
            .enumerate()
            .map(|(i, login)| Account {
                id: 10_001 + i as u64,
                login: (*login).to_owned(),
                name: login.replace('-', " "),
                kind: "User",
                created_at: DATA_START - 400 * DAY + rng.below(300 * DAY as u64) as Secs,
            })
            .collect();
        let org = Account {
            id: 9_001,
            login: OWNER.to_owned(),
            name: "Acme".to_owned(),
            kind: "Organization",
            created_at: DATA_START - 500 * DAY,
        };
        let mut ids = IdCounters {
            issue: 1_000_000_001,
            pull: 2_000_000_001,
            issue_comment: 3_000_000_001,
            review: 4_000_000_001,
            review_comment: 5_000_000_001,
            run: 6_000_000_001,
        };
        let repos = REPO_NAMES
            .iter()
            .enumerate()
            .map(|(ri, name)| generate_repo(seed, scale, ri, name, users.len(), &mut ids))
            .collect();
        Self {
            org,
            users,
            repos,
            ids,
            generation: 0,
        }
    }

    /// The repository named `owner/name` (case-insensitive, as GitHub matches).
    pub fn repo_index(&self, owner: &str, name: &str) -> Option<usize> {
        if !owner.eq_ignore_ascii_case(&self.org.login) {
            return None;
        }
        self.repos
            .iter()
            .position(|r| r.repo.name.eq_ignore_ascii_case(name))
    }

    /// The account at `index` (falls back to the authenticated user).
    pub fn user(&self, index: usize) -> &Account {
        self.users.get(index).unwrap_or(&self.users[0])
    }

    /// The newest timestamp anywhere in the data.
    pub fn newest_timestamp(&self) -> Secs {
        self.repos
            .iter()
            .flat_map(|r| {
                r.issues
                    .iter()
                    .map(|i| i.updated_at)
                    .chain(r.issue_comments.iter().map(|c| c.updated_at))
                    .chain(r.review_comments.iter().map(|c| c.updated_at))
                    .chain(r.reviews.iter().map(|c| c.submitted_at))
                    .chain(r.commits.iter().map(|c| c.date))
                    .chain(r.runs.iter().map(|c| c.updated_at))
            })
            .max()
            .unwrap_or(DATA_START)
    }
}

fn generate_repo(
    seed: u64,
    scale: u32,
    ri: usize,
    name: &str,
    users: usize,
    ids: &mut IdCounters,
) -> RepoData {
    let mut rng = SandboxRng::derive(seed, "github-repo", &[ri as u64]);
    let last = DATA_END - 1;
    let labels: Vec<Label> = LABELS
        .iter()
        .enumerate()
        .map(
            |(li, (name, url_name, color, description, default))| Label {
                id: 7_000_000_001 + (ri * LABELS.len() + li) as u64,
                name,
                url_name,
                color,
                description,
                default: *default,
            },
        )
        .collect();
    let workflows: Vec<Workflow> = WORKFLOWS
        .iter()
        .enumerate()
        .map(|(wi, (name, path))| Workflow {
            id: 8_000_001 + (ri * WORKFLOWS.len() + wi) as u64,
            name,
            path,
            created_at: DATA_START - 30 * DAY,
        })
        .collect();

    // Commits first: pull requests and runs point at them.
    let n_commits = about(&mut rng, 300, scale);
    let span = DATA_END - DATA_START;
    let cstep = (span / (n_commits as Secs + 1)).max(2);
    let mut commits: Vec<Commit> = Vec::with_capacity(n_commits);
    for i in 0..n_commits {
        let date = DATA_START + i as Secs * cstep + rng.below(cstep as u64 / 2) as Secs;
        let parents = commits
            .last()
            .map(|c| vec![c.sha.clone()])
            .unwrap_or_default();
        let noun = rng.pick(&NOUNS).copied().unwrap_or("code");
        let verb = rng.pick(&PR_VERBS).copied().unwrap_or("Fix");
        commits.push(Commit {
            sha: rng.sha(),
            tree_sha: rng.sha(),
            parents,
            message: format!("{verb} {noun}"),
            author: some_user(&mut rng, users),
            date,
        });
    }
    let commit_near = |t: Secs| -> usize {
        let idx = ((t - DATA_START).max(0) / cstep) as usize;
        idx.min(n_commits.saturating_sub(1))
    };

    // Issues and pull requests share one number space, interleaved at random.
    let n_prs = about(&mut rng, 120, scale);
    let n_issues = about(&mut rng, 150, scale);
    let total = n_prs + n_issues;
    let mut kinds: Vec<bool> = (0..total).map(|i| i < n_prs).collect();
    rng.shuffle(&mut kinds);
    let step = (span / (total as Secs + 1)).max(2);
    let mut issues = Vec::with_capacity(total);
    for (k, is_pr) in kinds.iter().enumerate() {
        let number = k as u64 + 1;
        let created = DATA_START + k as Secs * step + rng.below(step as u64 / 2) as Secs;
        let pull = if *is_pr {
            let base_sha = commits
                .get(commit_near(created))
                .map(|c| c.sha.clone())
                .unwrap_or_else(|| rng.sha());
            let id = IdCounters::take(&mut ids.pull);
            Some(new_pull(&mut rng, id, number, base_sha, users))
        } else {
            None
        };
        let id = IdCounters::take(&mut ids.issue);
        let mut issue = new_issue(&mut rng, id, number, created, labels.len(), users, pull);
        issue.locked = rng.chance(0.02);
        // Times past the end of the data are pulled back by an amount of their own rather than
        // all onto its last second: real listings rarely hold many changes in one second.
        let end = (last - (number as Secs * 7_919) % DAY).max(created);
        let mut updated = (created + rng.below(30 * DAY as u64) as Secs).min(end);
        if rng.chance(0.45) {
            let closed = (created + 1 + rng.below(20 * DAY as u64) as Secs).min(end);
            issue.open = false;
            issue.closed_at = Some(closed);
            updated = updated.max(closed);
            if let Some(p) = issue.pull.as_mut() {
                p.draft = false;
                if rng.chance(0.75) {
                    p.merged_at = Some(closed);
                    p.merged_by = Some(some_user(&mut rng, users));
                }
            }
        }
        issue.updated_at = updated;
        issues.push(issue);
    }

    // Issue comments: generated per issue, then numbered in time order.
    let mut issue_comments = Vec::new();
    for issue in &mut issues {
        for _ in 0..rng.below(5) {
            let window = (last - issue.created_at).clamp(1, 20 * DAY);
            let created = issue.created_at + 60 + rng.below(window as u64) as Secs;
            let created = created.min(last);
            let updated = if rng.chance(0.2) {
                (created + rng.below(DAY as u64) as Secs).min(last)
            } else {
                created
            };
            issue.comments += 1;
            issue.updated_at = issue.updated_at.max(updated);
            issue_comments.push(IssueComment {
                id: 0,
                issue_number: issue.number,
                on_pull: issue.pull.is_some(),
                user: some_user(&mut rng, users),
                body: comment_body(&mut rng),
                created_at: created,
                updated_at: updated,
            });
        }
    }
    issue_comments.sort_by_key(|c| (c.created_at, c.issue_number));
    for c in &mut issue_comments {
        c.id = IdCounters::take(&mut ids.issue_comment);
    }

    // Reviews, then their diff comments.
    let mut reviews = Vec::new();
    for issue in issues.iter_mut().filter(|i| i.pull.is_some()) {
        let head = issue
            .pull
            .as_ref()
            .map(|p| p.head_sha.clone())
            .unwrap_or_default();
        for _ in 0..rng.below(3) {
            let window = (last - issue.created_at).clamp(1, 10 * DAY);
            let submitted = (issue.created_at + 3600 + rng.below(window as u64) as Secs).min(last);
            issue.updated_at = issue.updated_at.max(submitted);
            reviews.push(Review {
                id: 0,
                pr_number: issue.number,
                user: some_user(&mut rng, users),
                body: rng.pick(&REVIEW_BODIES).copied().unwrap_or("").to_owned(),
                state: rng.pick(&REVIEW_STATES).copied().unwrap_or("COMMENTED"),
                submitted_at: submitted,
                commit_id: head.clone(),
            });
        }
    }
    reviews.sort_by_key(|r| (r.submitted_at, r.pr_number));
    for r in &mut reviews {
        r.id = IdCounters::take(&mut ids.review);
    }
    let mut review_comments = Vec::new();
    for r in &reviews {
        for _ in 0..rng.below(3) {
            let created = (r.submitted_at - rng.below(600) as Secs).max(DATA_START);
            let updated = if rng.chance(0.2) {
                (created + rng.below(DAY as u64) as Secs).min(last)
            } else {
                created
            };
            review_comments.push(ReviewComment {
                id: 0,
                review_id: r.id,
                pr_number: r.pr_number,
                user: r.user,
                body: comment_body(&mut rng),
                path: rng.pick(&PATHS).copied().unwrap_or("src/lib.rs"),
                line: 1 + rng.below(300) as u32,
                commit_id: r.commit_id.clone(),
                created_at: created,
                updated_at: updated,
            });
            if let Some(p) = usize::try_from(r.pr_number - 1)
                .ok()
                .and_then(|i| issues.get_mut(i))
                .and_then(|i| i.pull.as_mut())
            {
                p.review_comments += 1;
            }
        }
    }
    review_comments.sort_by_key(|c| (c.created_at, c.review_id));
    for c in &mut review_comments {
        c.id = IdCounters::take(&mut ids.review_comment);
    }

    // Workflow runs, spread over the year.
    let n_runs = about(&mut rng, 200, scale);
    let rstep = (span / (n_runs as Secs + 1)).max(2);
    let mut run_numbers = vec![0u64; workflows.len()];
    let mut runs = Vec::with_capacity(n_runs);
    for i in 0..n_runs {
        let created = DATA_START + i as Secs * rstep + rng.below(rstep as u64 / 2) as Secs;
        let workflow = rng.index(workflows.len());
        run_numbers[workflow] += 1;
        let started = created + rng.below(30) as Secs;
        let event = *rng
            .pick(&["push", "pull_request", "schedule", "workflow_dispatch"])
            .unwrap_or(&"push");
        runs.push(Run {
            id: IdCounters::take(&mut ids.run),
            run_number: run_numbers[workflow],
            workflow,
            head_branch: if event == "pull_request" {
                format!("feature/run-{i}")
            } else {
                "main".to_owned()
            },
            commit: commit_near(created),
            event,
            status: "completed",
            conclusion: Some(
                *rng.pick(&["success", "success", "success", "failure", "cancelled"])
                    .unwrap_or(&"success"),
            ),
            actor: some_user(&mut rng, users),
            run_attempt: 1 + u32::from(rng.chance(0.05)),
            created_at: created,
            run_started_at: started,
            updated_at: (started + rng.below(1800) as Secs).min(last),
        });
    }

    let pushed_at = commits.last().map_or(DATA_START, |c| c.date);
    let mut data = RepoData {
        repo: Repo {
            id: 100_000_001 + ri as u64,
            name: name.to_owned(),
            full_name: format!("{OWNER}/{name}"),
            description: format!("The {name} service of the gwi sandbox"),
            created_at: DATA_START - 60 * DAY,
            updated_at: pushed_at,
            pushed_at,
            open_issues: 0,
        },
        labels,
        workflows,
        issues,
        issue_comments,
        reviews,
        review_comments,
        commits,
        runs,
        deleted_issue_comments: Vec::new(),
    };
    data.refresh();
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_generates_the_same_data_and_another_seed_differs() {
        let a = Dataset::generate(5, 1);
        let b = Dataset::generate(5, 1);
        let c = Dataset::generate(6, 1);
        let sig = |d: &Dataset| {
            d.repos
                .iter()
                .map(|r| {
                    (
                        r.issues.len(),
                        r.issue_comments.len(),
                        r.commits[0].sha.clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(sig(&a), sig(&b));
        assert_ne!(sig(&a), sig(&c));
    }

    #[test]
    fn scale_one_has_about_the_documented_sizes() {
        let d = Dataset::generate(1, 1);
        for r in &d.repos {
            let prs = r.issues.iter().filter(|i| i.pull.is_some()).count();
            assert!((114..=126).contains(&prs), "{prs}");
            assert!((142..=158).contains(&(r.issues.len() - prs)));
            assert!(r.issue_comments.len() > 300);
            assert!(!r.reviews.is_empty() && !r.review_comments.is_empty());
        }
        assert!(Dataset::generate(1, 3).repos[0].issues.len() > 3 * 250);
    }

    #[test]
    fn timestamps_are_consistent() {
        let d = Dataset::generate(9, 1);
        for r in &d.repos {
            for (i, issue) in r.issues.iter().enumerate() {
                assert_eq!(issue.number, i as u64 + 1);
                assert!(issue.created_at <= issue.updated_at && issue.updated_at < DATA_END);
                if let Some(c) = issue.closed_at {
                    assert!(c <= issue.updated_at && !issue.open);
                }
            }
            for c in &r.issue_comments {
                let issue = r.issue(c.issue_number).unwrap();
                assert!(c.updated_at <= issue.updated_at);
            }
            assert!(r.issue_comments.windows(2).all(|w| w[0].id < w[1].id));
        }
    }
}
