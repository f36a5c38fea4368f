//! GitLab's objects as sandbox tables: generated from the seed, changed by mutations.

use crate::core::rng::SandboxRng;
use crate::core::table::{Row, Table};
use crate::core::time::Secs;
use crate::provider::{Change, ChangeAction};

/// Generated data spans 2024, as GitHub's does.
const DATA_START: Secs = 1_704_067_200;
const DATA_END: Secs = 1_735_689_600;
const DAY: Secs = 86_400;

/// `(id, full path, parent group id)` of each group.
pub const GROUPS: [(u64, &str, Option<u64>); 3] = [
    (150, "acme", None),
    (200, "acme-platform", None),
    (201, "acme-platform/tools", Some(200)),
];

/// `(id, path with namespace, group id)` of each project.
pub const PROJECTS: [(u64, &str, u64); 3] = [
    (101, "acme/widgets", 150),
    (102, "acme-platform/api", 200),
    (103, "acme-platform/tools/cli", 201),
];

/// Usernames of the instance's users; user `i` has id `i + 1`, and user 1 owns the token.
pub const USERNAMES: [&str; 12] = [
    "sandbox-bot",
    "ada",
    "grace",
    "linus",
    "margaret",
    "ken",
    "barbara",
    "dennis",
    "frances",
    "edsger",
    "radia",
    "hedy",
];

const LABELS: [&str; 6] = ["bug", "feature", "backend", "frontend", "security", "docs"];
const NOUNS: [&str; 8] = [
    "cache",
    "importer",
    "login page",
    "scheduler",
    "API client",
    "billing",
    "search",
    "exports",
];
const VERBS: [&str; 6] = ["Fix", "Add", "Refactor", "Speed up", "Document", "Remove"];
const NOTES: [&str; 5] = [
    "Looks good to me.",
    "Can we add a test for the empty case?",
    "Rebased on main.",
    "I see the same on staging.",
    "Thanks, merging once the pipeline is green.",
];
const SYSTEM_NOTES: [&str; 3] = [
    "added 1 commit",
    "changed the description",
    "mentioned in !1",
];
const PIPELINE_END: [&str; 3] = ["success", "failed", "canceled"];

/// Everything the simulated GitLab instance holds.
#[derive(Debug, Clone, Default)]
pub struct Data {
    /// Merge requests (scope: project index).
    pub merge_requests: Table,
    /// Issues.
    pub issues: Table,
    /// Notes on merge requests and issues (parent: the noteable's id).
    pub notes: Table,
    /// Pipelines.
    pub pipelines: Table,
    /// Commits of each project's default branch (the row id is internal; `sha` is the identity).
    pub commits: Table,
    /// Mutations applied, so each one draws different contents.
    pub generation: u64,
}

fn title(rng: &mut SandboxRng) -> String {
    let verb = rng.pick(&VERBS).copied().unwrap_or("Fix");
    let noun = rng.pick(&NOUNS).copied().unwrap_or("cache");
    format!("{verb} the {noun}")
}

fn user(rng: &mut SandboxRng) -> u64 {
    1 + rng.below(USERNAMES.len() as u64)
}

fn users(rng: &mut SandboxRng, max: u64) -> Vec<u64> {
    let mut ids: Vec<u64> = (0..rng.below(max + 1)).map(|_| user(rng)).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn labels(rng: &mut SandboxRng) -> Vec<&'static str> {
    let mut picked: Vec<&str> = (0..rng.below(3))
        .filter_map(|_| rng.pick(&LABELS).copied())
        .collect();
    picked.sort_unstable();
    picked.dedup();
    picked
}

/// A time in `[from, to)`, or `from` when the range is empty.
fn merge_request(rng: &mut SandboxRng, id: u64, iid: u64, scope: usize, created: Secs) -> Row {
    let branch = format!("feature/{iid}-{}", rng.below(1000));
    Row::new(id, scope, created)
        .with("iid", iid)
        .with("title", title(rng))
        .with(
            "description",
            format!("Closes #{}.", 1 + rng.below(iid.max(1))),
        )
        .with("state", "opened")
        .with("draft", rng.chance(0.15))
        .with("source_branch", branch)
        .with("target_branch", "main")
        .with("merge_status", "can_be_merged")
        .with("author", user(rng))
        .with("assignees", users(rng, 2))
        .with("reviewers", users(rng, 2))
        .with("labels", labels(rng))
        .with("milestone_id", rng.chance(0.3).then_some(1 + rng.below(3)))
        .with("sha", rng.sha())
}

fn issue(rng: &mut SandboxRng, id: u64, iid: u64, scope: usize, created: Secs) -> Row {
    Row::new(id, scope, created)
        .with("iid", iid)
        .with("title", title(rng))
        .with("description", "Steps to reproduce are in the thread.")
        .with("state", "opened")
        .with("author", user(rng))
        .with("assignees", users(rng, 2))
        .with("labels", labels(rng))
        .with("milestone_id", rng.chance(0.3).then_some(1 + rng.below(3)))
        .with("confidential", rng.chance(0.1))
}

/// Moves `row` to a final or reopened state at `at`, as merges, closes and reopens do.
fn transition(rng: &mut SandboxRng, row: &mut Row, at: Secs, can_merge: bool) {
    let next = match (row.str("state"), rng.below(3)) {
        ("opened", 0) if can_merge => "merged",
        ("opened", _) => "closed",
        (_, _) if row.str("state") == "merged" => "merged",
        _ => "opened",
    };
    let closed = (next != "opened").then_some(at);
    row.fields.insert("state".into(), next.into());
    row.fields.insert("closed_at".into(), closed.into());
    if next == "merged" {
        row.fields.insert("merged_at".into(), at.into());
    }
}

impl Data {
    /// The instance for `seed`, each project holding about `scale` times the scale-1 records.
    pub fn generate(seed: u64, scale: u32) -> Self {
        let mut data = Self::default();
        let scale = u64::from(scale.max(1));
        for scope in 0..PROJECTS.len() {
            let mut rng = SandboxRng::derive(seed, "gitlab", &[scope as u64]);
            for n in 0..(25 + rng.below(10)) * scale {
                let created = rng.time_between(DATA_START, DATA_END - 40 * DAY);
                let id = 10_000 + data.merge_requests.max_id().saturating_sub(10_000) + 1;
                let mut row = merge_request(&mut rng, id, n + 1, scope, created);
                row.updated = created + rng.below(20) as Secs * DAY;
                if rng.chance(0.6) {
                    let at = row.updated;
                    transition(&mut rng, &mut row, at, true);
                }
                data.merge_requests.insert(row);
                data.seed_notes(&mut rng, id, "MergeRequest");
            }
            for n in 0..(30 + rng.below(10)) * scale {
                let created = rng.time_between(DATA_START, DATA_END - 40 * DAY);
                let id = 50_000 + data.issues.max_id().saturating_sub(50_000) + 1;
                let mut row = issue(&mut rng, id, n + 1, scope, created);
                row.updated = created + rng.below(20) as Secs * DAY;
                if rng.chance(0.4) {
                    let at = row.updated;
                    transition(&mut rng, &mut row, at, false);
                }
                data.issues.insert(row);
                data.seed_notes(&mut rng, id, "Issue");
            }
            for _ in 0..(30 + rng.below(10)) * scale {
                let created = rng.time_between(DATA_START, DATA_END - DAY);
                data.add_pipeline(&mut rng, scope, created, true);
            }
            for _ in 0..(40 + rng.below(10)) * scale {
                let at = rng.time_between(DATA_START, DATA_END);
                data.add_commit(&mut rng, scope, at);
            }
        }
        data
    }

    /// Up to three notes on the noteable `parent`, which moves its `updated` to the newest.
    fn seed_notes(&mut self, rng: &mut SandboxRng, parent: u64, kind: &'static str) {
        let table = if kind == "Issue" {
            &self.issues
        } else {
            &self.merge_requests
        };
        let Some((scope, created, updated)) =
            table.get(parent).map(|r| (r.scope, r.created, r.updated))
        else {
            return;
        };
        let mut newest = updated;
        for _ in 0..rng.below(4) {
            let at = rng.time_between(created, updated + 1);
            self.add_note(rng, scope, parent, kind, at);
            newest = newest.max(at);
        }
        let table = if kind == "Issue" {
            &mut self.issues
        } else {
            &mut self.merge_requests
        };
        if let Some(row) = table.get_mut(parent) {
            row.updated = newest;
        }
    }

    fn add_note(
        &mut self,
        rng: &mut SandboxRng,
        scope: usize,
        parent: u64,
        kind: &'static str,
        at: Secs,
    ) -> u64 {
        let id = 300_000 + self.notes.max_id().saturating_sub(300_000) + 1;
        let system = rng.chance(0.2);
        let body = if system {
            rng.pick(&SYSTEM_NOTES).copied()
        } else {
            rng.pick(&NOTES).copied()
        };
        self.notes.insert(
            Row::new(id, scope, at)
                .child_of(parent)
                .with("noteable_type", kind)
                .with("body", body.unwrap_or(""))
                .with("author", user(rng))
                .with("system", system),
        );
        id
    }

    fn add_pipeline(
        &mut self,
        rng: &mut SandboxRng,
        scope: usize,
        created: Secs,
        finished: bool,
    ) -> u64 {
        let id = 700 + self.pipelines.max_id().saturating_sub(700) + 1;
        let iid = self.pipelines.all().filter(|r| r.scope == scope).count() as u64 + 1;
        let mut row = Row::new(id, scope, created)
            .with("iid", iid)
            .with("ref", "main")
            .with("sha", rng.sha())
            .with("source", "push")
            .with("user", user(rng))
            .with("status", "running");
        if finished {
            let end = created + 30 + rng.below(900) as Secs;
            finish(rng, &mut row, end);
        }
        self.pipelines.insert(row);
        id
    }

    fn add_commit(&mut self, rng: &mut SandboxRng, scope: usize, at: Secs) -> u64 {
        let id = self.commits.max_id() + 1;
        let author = user(rng);
        self.commits.insert(
            Row::new(id, scope, at)
                .with("sha", rng.sha())
                .with("title", title(rng))
                .with("author", author),
        );
        id
    }

    /// The newest time anything was created or changed.
    pub fn newest(&self) -> Secs {
        [
            &self.merge_requests,
            &self.issues,
            &self.notes,
            &self.pipelines,
            &self.commits,
        ]
        .iter()
        .map(|t| t.newest())
        .max()
        .unwrap_or(DATA_START)
    }

    /// Applies `count` changes stamped `at`; every record touched is reported once, with its
    /// strongest action. Now and then a merge request or issue (with its notes) or a single note
    /// is deleted: GitLab announces none of that (no webhook, and listings just stop showing
    /// it), so a connector learns of it only by reconciling.
    pub fn mutate(
        &mut self,
        count: usize,
        at: Secs,
        rng: &mut SandboxRng,
    ) -> Vec<(&'static str, ChangeAction, u64)> {
        self.generation += 1;
        let mut changes = Vec::new();
        for _ in 0..count {
            let scope = rng.index(PROJECTS.len());
            let in_scope = |r: &Row| r.scope == scope;
            if rng.chance(0.1) {
                changes.extend(self.delete_one(rng, scope, at));
                continue;
            }
            match rng.below(8) {
                0 => {
                    if let Some(id) = self.merge_requests.pick(rng, in_scope) {
                        self.merge_requests
                            .update(id, at, |row| transition(rng, row, at, true));
                        changes.push(("merge_request", ChangeAction::Updated, id));
                    }
                }
                1 => {
                    if let Some(id) = self.issues.pick(rng, in_scope) {
                        self.issues
                            .update(id, at, |row| transition(rng, row, at, false));
                        changes.push(("issue", ChangeAction::Updated, id));
                    }
                }
                2 | 3 => {
                    let on_issue = rng.chance(0.5);
                    let (table, kind, parent_kind) = if on_issue {
                        (&mut self.issues, "Issue", "issue")
                    } else {
                        (&mut self.merge_requests, "MergeRequest", "merge_request")
                    };
                    if let Some(parent) = table.pick(rng, in_scope) {
                        table.update(parent, at, |_| {});
                        let note = self.add_note(rng, scope, parent, kind, at);
                        changes.push(("note", ChangeAction::Created, note));
                        changes.push((parent_kind, ChangeAction::Updated, parent));
                    }
                }
                4 => {
                    let id = 10_000 + self.merge_requests.max_id().saturating_sub(10_000) + 1;
                    let iid = self.merge_requests.all().filter(|r| in_scope(r)).count() as u64 + 1;
                    self.merge_requests
                        .insert(merge_request(rng, id, iid, scope, at));
                    changes.push(("merge_request", ChangeAction::Created, id));
                }
                5 => {
                    let id = 50_000 + self.issues.max_id().saturating_sub(50_000) + 1;
                    let iid = self.issues.all().filter(|r| in_scope(r)).count() as u64 + 1;
                    self.issues.insert(issue(rng, id, iid, scope, at));
                    changes.push(("issue", ChangeAction::Created, id));
                }
                6 => {
                    let running = |r: &Row| r.scope == scope && r.str("status") == "running";
                    match self.pipelines.pick(rng, running) {
                        Some(id) => {
                            self.pipelines.update(id, at, |row| finish(rng, row, at));
                            changes.push(("pipeline", ChangeAction::Updated, id));
                        }
                        None => {
                            let id = self.add_pipeline(rng, scope, at, false);
                            changes.push(("pipeline", ChangeAction::Created, id));
                        }
                    }
                }
                _ => {
                    let id = self.add_commit(rng, scope, at);
                    changes.push(("commit", ChangeAction::Created, id));
                }
            }
        }
        ChangeAction::strongest(changes)
    }

    /// Deletes a note, or a merge request or issue of project `scope` with its notes, at `at`.
    fn delete_one(
        &mut self,
        rng: &mut SandboxRng,
        scope: usize,
        at: Secs,
    ) -> Vec<(&'static str, ChangeAction, u64)> {
        let in_scope = |r: &Row| r.scope == scope;
        let mut deleted = Vec::new();
        let (table, kind, noteable) = match rng.below(3) {
            0 => {
                if let Some(id) = self.notes.pick(rng, in_scope) {
                    self.notes.delete(id, at);
                    deleted.push(("note", ChangeAction::Deleted, id));
                }
                return deleted;
            }
            1 => (&mut self.merge_requests, "merge_request", "MergeRequest"),
            _ => (&mut self.issues, "issue", "Issue"),
        };
        let Some(parent) = table.pick(rng, in_scope) else {
            return deleted;
        };
        table.delete(parent, at);
        deleted.push((kind, ChangeAction::Deleted, parent));
        let notes: Vec<u64> = self
            .notes
            .live()
            .filter(|n| n.parent == Some(parent) && n.str("noteable_type") == noteable)
            .map(|n| n.id)
            .collect();
        for note in notes {
            self.notes.delete(note, at);
            deleted.push(("note", ChangeAction::Deleted, note));
        }
        deleted
    }

    /// The table holding `kind` (`merge_request`, `issue`, `note`, `pipeline`, `commit`).
    pub fn table(&self, kind: &str) -> Option<&Table> {
        match kind {
            "merge_request" => Some(&self.merge_requests),
            "issue" => Some(&self.issues),
            "note" => Some(&self.notes),
            "pipeline" => Some(&self.pipelines),
            "commit" => Some(&self.commits),
            _ => None,
        }
    }
}

/// Ends a running pipeline at `at` with a drawn outcome.
fn finish(rng: &mut SandboxRng, row: &mut Row, at: Secs) {
    let status = rng.pick(&PIPELINE_END).copied().unwrap_or("success");
    let started = row.created + 5;
    row.updated = at;
    row.fields.insert("status".into(), status.into());
    row.fields.insert("started_at".into(), started.into());
    row.fields.insert("finished_at".into(), at.into());
    row.fields
        .insert("duration".into(), (at - started).max(0).into());
}

/// A change as the sandbox reports it.
pub fn change(data: &Data, kind: &'static str, action: ChangeAction, id: u64) -> Option<Change> {
    let row = data.table(kind)?.get(id)?;
    let (_, path, _) = PROJECTS.get(row.scope)?;
    Some(Change {
        provider: "gitlab",
        generation: data.generation,
        scope: (*path).to_owned(),
        kind,
        action,
        id,
        number: row.fields.get("iid").and_then(serde_json::Value::as_u64),
        sha: (kind == "commit").then(|| row.str("sha").to_owned()),
    })
}
