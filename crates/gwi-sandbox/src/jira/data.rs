//! Jira's objects as sandbox tables: issues, comments and changelog histories, generated from the
//! seed and changed by mutations.

use serde_json::{Value, json};

use crate::core::rng::SandboxRng;
use crate::core::table::{Row, Table};
use crate::core::time::Secs;
use crate::provider::ChangeAction;

const DATA_START: Secs = 1_704_067_200;
const DATA_END: Secs = 1_735_689_600;
const DAY: Secs = 86_400;

/// `(id, key, name, lead user)` of each project; the connector config syncs the first two.
pub const PROJECTS: [(&str, &str, &str, usize); 3] = [
    ("10000", "ENG", "Engineering", 1),
    ("10001", "OPS", "Operations", 2),
    ("10002", "DES", "Design", 3),
];

/// Projects mutations touch and the connector config lists.
pub const SYNCED: usize = 2;

/// `(accountId, displayName)`; user 0 owns the sandbox's credentials.
pub const USERS: [(&str, &str); 7] = [
    ("712020:0d1f5c2e-9a7b-4c1e-8f3a-000000000001", "gwi sandbox"),
    ("5b10a2844c20165700ede21g", "Ada Lovelace"),
    ("5b10a2844c20165700ede22h", "Grace Hopper"),
    ("5b10ac8d82e05b22cc7d4ef5", "Linus Torvalds"),
    ("5c5f880629be9642ba529340", "Margaret Hamilton"),
    ("5d53f3cbc6b9320d9ea5bdc2", "Ken Thompson"),
    ("60a7b1c2d3e4f5a6b7c8d9e0", "Barbara Liskov"),
];

/// The site user's email and time zone (JQL dates are read in it).
pub const SITE_EMAIL: &str = "gwi@acme.test";
/// The site user's time zone.
pub const SITE_TZ: &str = "Europe/Berlin";

/// `(id, name, category id, category key, category name)`.
pub const STATUSES: [(&str, &str, u64, &str, &str); 3] = [
    ("10000", "To Do", 2, "new", "To Do"),
    ("3", "In Progress", 4, "indeterminate", "In Progress"),
    ("10001", "Done", 3, "done", "Done"),
];
/// `(id, name, subtask)`.
pub const ISSUE_TYPES: [(&str, &str, bool); 4] = [
    ("10001", "Task", false),
    ("10002", "Story", false),
    ("10004", "Bug", false),
    ("10003", "Sub-task", true),
];
/// `(id, name)`.
pub const PRIORITIES: [(&str, &str); 4] = [
    ("2", "High"),
    ("3", "Medium"),
    ("4", "Low"),
    ("1", "Highest"),
];
/// `(id, name)`.
pub const COMPONENTS: [(&str, &str); 3] = [
    ("10100", "Backend"),
    ("10101", "Frontend"),
    ("10102", "API"),
];
/// `(id, name)`.
pub const VERSIONS: [(&str, &str); 2] = [("10200", "1.0"), ("10201", "1.1")];
/// `(id, name, state)`.
pub const SPRINTS: [(u64, &str, &str); 3] = [
    (1, "Sprint 1", "closed"),
    (2, "Sprint 2", "active"),
    (3, "Sprint 3", "future"),
];
const LABELS: [&str; 5] = ["backend", "customer", "regression", "security", "tech-debt"];
const VERBS: [&str; 5] = ["Fix", "Add", "Refactor", "Investigate", "Document"];
const NOUNS: [&str; 6] = [
    "login flow",
    "billing export",
    "search index",
    "API client",
    "cache",
    "audit log",
];
const REMARKS: [&str; 5] = [
    "I can reproduce this on staging.",
    "Fixed in the latest build, please verify.",
    "Needs a decision from product.",
    "Adding the logs from last night.",
    "Looks good to me.",
];

/// The UTC second at 2024-05-01T08:00:00Z (10:00 in Berlin); a few issues of each project are
/// created in the minute starting `day` days later, so JQL's minute granularity matters.
pub const SHARED_MINUTE: Secs = 1_714_550_400;

/// Everything the simulated Jira site holds.
#[derive(Debug, Clone, Default)]
pub struct Data {
    /// Issues (scope: project index; `num` is the key's number).
    pub issues: Table,
    /// Comments (parent: the issue id).
    pub comments: Table,
    /// Changelog histories (parent: the issue id; `items` holds the changed fields).
    pub histories: Table,
    /// Mutations applied, so each one draws different contents.
    pub generation: u64,
}

/// A change drawn by a mutation: (table kind, action, id).
pub type Touched = (&'static str, ChangeAction, u64);

fn user(rng: &mut SandboxRng) -> usize {
    1 + rng.index(USERS.len() - 1)
}

fn text(t: &str) -> Value {
    json!({"type": "text", "text": t})
}

fn paragraph(content: Vec<Value>) -> Value {
    json!({"type": "paragraph", "content": content})
}

/// An Atlassian Document Format document: paragraphs, and on some a bullet list, a mention,
/// inline code and a link.
fn adf(rng: &mut SandboxRng, lead: &str, rich: bool) -> Value {
    let mut content = vec![paragraph(vec![text(lead)])];
    if rich {
        let (id, name) = USERS[user(rng)];
        content.push(paragraph(vec![
            text("Assigning to "),
            json!({"type": "mention", "attrs": {"id": id, "text": format!("@{name}"), "accessLevel": ""}}),
            text(", see "),
            json!({"type": "text", "text": "config.yaml", "marks": [{"type": "code"}]}),
            text(" and the "),
            json!({"type": "text", "text": "runbook", "marks": [{"type": "link", "attrs": {"href": "https://example.com/runbook"}}]}),
            text("."),
        ]));
        let item = |t: &str| json!({"type": "listItem", "content": [paragraph(vec![text(t)])]});
        content.push(json!({"type": "bulletList", "content": [item("Check the logs"), item("Write a test")]}));
    }
    json!({"type": "doc", "version": 1, "content": content})
}

/// The plain text of an ADF document, as REST v2 and webhooks show it.
pub fn plain(doc: &Value) -> Value {
    fn walk(node: &Value, out: &mut String) {
        match node.get("type").and_then(Value::as_str) {
            Some("text") => out.push_str(node.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("mention") => {
                let id = node
                    .pointer("/attrs/id")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                out.push_str(&format!("[~accountid:{id}]"));
            }
            Some(kind) => {
                if kind == "listItem" {
                    out.push_str("* ");
                }
                for child in node
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    walk(child, out);
                }
                if matches!(kind, "paragraph") && !out.ends_with('\n') {
                    out.push('\n');
                }
            }
            None => {}
        }
    }
    if doc.is_null() {
        return Value::Null;
    }
    let mut out = String::new();
    walk(doc, &mut out);
    Value::String(out.trim_end().to_owned())
}

/// One changelog item: `(field, from, fromString, to, toString)`.
fn item(field: &str, from: Value, from_s: Value, to: Value, to_s: Value) -> Value {
    json!({"field": field, "fieldtype": "jira", "fieldId": field, "from": from, "fromString": from_s, "to": to, "toString": to_s})
}

impl Data {
    /// The site for `seed`, each project holding about `scale` times 25 issues.
    pub fn generate(seed: u64, scale: u32) -> Self {
        let mut data = Self::default();
        let scale = u64::from(scale.max(1));
        for scope in 0..PROJECTS.len() {
            let mut rng = SandboxRng::derive(seed, "jira", &[scope as u64]);
            let shared = SHARED_MINUTE + scope as Secs * DAY;
            for n in 0..(22 + rng.below(6)) * scale {
                if n < 3 {
                    // Several issues in one minute, different seconds, nothing changed since.
                    let at = shared + [7, 31, 59][n as usize];
                    data.add_issue(&mut rng, scope, at);
                    continue;
                }
                let created = rng.time_between(DATA_START, DATA_END - 40 * DAY);
                let id = data.add_issue(&mut rng, scope, created);
                let mut times: Vec<Secs> = (0..rng.below(6))
                    .map(|_| rng.time_between(created + 60, created + 30 * DAY))
                    .collect();
                times.sort_unstable();
                for at in times {
                    data.add_history(&mut rng, id, at);
                }
                for _ in 0..rng.below(5) {
                    let at = rng.time_between(created + 60, created + 30 * DAY);
                    let c = data.add_comment(&mut rng, id, at);
                    if rng.chance(0.2) {
                        let edited = at + 1 + rng.below(3 * DAY as u64) as Secs;
                        data.comments.update(c, edited, |_| {});
                    }
                }
                data.touch_from_children(id);
            }
        }
        data
    }

    /// Sets an issue's `updated` to the newest of its own, its comments' and its histories'.
    fn touch_from_children(&mut self, id: u64) {
        let newest = self
            .comments
            .all()
            .chain(self.histories.all())
            .filter(|r| r.parent == Some(id))
            .map(|r| r.updated)
            .max();
        if let (Some(row), Some(t)) = (self.issues.get_mut(id), newest) {
            row.updated = row.updated.max(t);
        }
    }

    fn add_issue(&mut self, rng: &mut SandboxRng, scope: usize, at: Secs) -> u64 {
        let id = 10_000 + self.issues.max_id().saturating_sub(10_000) + 1;
        let num = self.issues.all().filter(|r| r.scope == scope).count() as u64 + 1;
        let verb = rng.pick(&VERBS).copied().unwrap_or("Fix");
        let noun = rng.pick(&NOUNS).copied().unwrap_or("cache");
        let summary = format!("{verb} the {noun}");
        let description = if rng.chance(0.2) {
            Value::Null
        } else {
            let rich = rng.chance(0.4);
            adf(rng, &format!("{summary}: details below."), rich)
        };
        let mut itype = rng.index(ISSUE_TYPES.len() - 1);
        let parent = self
            .issues
            .live()
            .filter(|r| r.scope == scope && !ISSUE_TYPES[r.u64("type") as usize].2)
            .map(|r| r.id)
            .last()
            .filter(|_| rng.chance(0.15));
        if parent.is_some() {
            itype = ISSUE_TYPES.len() - 1;
        }
        let mut labels: Vec<&str> = (0..rng.below(3))
            .filter_map(|_| rng.pick(&LABELS).copied())
            .collect();
        labels.sort_unstable();
        labels.dedup();
        let components: Vec<usize> = (0..rng.below(2))
            .map(|_| rng.index(COMPONENTS.len()))
            .collect();
        let versions: Vec<usize> = rng
            .chance(0.3)
            .then(|| rng.index(VERSIONS.len()))
            .into_iter()
            .collect();
        let sprint = rng.chance(0.5).then(|| rng.index(SPRINTS.len()));
        let assignee = rng.chance(0.8).then(|| user(rng));
        self.issues.insert(
            Row::new(id, scope, at)
                .with("num", num)
                .with("summary", summary)
                .with("description", description)
                .with("status", 0)
                .with("type", itype)
                .with("priority", rng.index(3))
                .with("assignee", assignee)
                .with("reporter", user(rng))
                .with("labels", labels)
                .with("components", components)
                .with("versions", versions)
                .with("sprint", sprint)
                .with("parent", parent)
                .with("resolved", Value::Null),
        );
        id
    }

    /// Adds a comment on `issue` at `at` (the issue's `updated` is left to the caller).
    fn add_comment(&mut self, rng: &mut SandboxRng, issue: u64, at: Secs) -> u64 {
        let Some(scope) = self.issues.get(issue).map(|r| r.scope) else {
            return 0;
        };
        let id = 20_000 + self.comments.max_id().saturating_sub(20_000) + 1;
        let remark = rng.pick(&REMARKS).copied().unwrap_or("");
        let rich = rng.chance(0.2);
        let author = user(rng);
        self.comments.insert(
            Row::new(id, scope, at)
                .child_of(issue)
                .with("body", adf(rng, remark, rich))
                .with("author", author)
                .with("update_author", author),
        );
        id
    }

    /// Changes the status, assignee or priority of `issue` at `at` and records the history.
    fn add_history(&mut self, rng: &mut SandboxRng, issue: u64, at: Secs) -> u64 {
        let Some(row) = self.issues.get(issue).cloned() else {
            return 0;
        };
        let author = user(rng);
        let mut row = row;
        let item = match rng.below(3) {
            0 => {
                let from = row.u64("status") as usize;
                let to = (from + 1 + rng.index(2)) % STATUSES.len();
                row.fields.insert("status".into(), to.into());
                let done = to == STATUSES.len() - 1;
                row.fields.insert(
                    "resolved".into(),
                    if done { at.into() } else { Value::Null },
                );
                let (f, t) = (STATUSES[from], STATUSES[to]);
                item("status", json!(f.0), json!(f.1), json!(t.0), json!(t.1))
            }
            1 => {
                let from = row.field("assignee").as_u64().map(|u| u as usize);
                let to = user(rng);
                row.fields.insert("assignee".into(), to.into());
                let who = |u: Option<usize>| {
                    u.map_or((Value::Null, Value::Null), |u| {
                        (json!(USERS[u].0), json!(USERS[u].1))
                    })
                };
                let ((fa, fs), (ta, ts)) = (who(from), who(Some(to)));
                item("assignee", fa, fs, ta, ts)
            }
            _ => {
                let from = row.u64("priority") as usize;
                let to = (from + 1 + rng.index(PRIORITIES.len() - 1)) % PRIORITIES.len();
                row.fields.insert("priority".into(), to.into());
                let (f, t) = (PRIORITIES[from], PRIORITIES[to]);
                item("priority", json!(f.0), json!(f.1), json!(t.0), json!(t.1))
            }
        };
        row.updated = row.updated.max(at);
        let scope = row.scope;
        self.issues.insert(row);
        let id = 30_000 + self.histories.max_id().saturating_sub(30_000) + 1;
        self.histories.insert(
            Row::new(id, scope, at)
                .child_of(issue)
                .with("author", author)
                .with("items", vec![item]),
        );
        id
    }

    /// The newest time anything was created, changed or deleted.
    pub fn newest(&self) -> Secs {
        [&self.issues, &self.comments, &self.histories]
            .iter()
            .map(|t| t.newest())
            .max()
            .unwrap_or(DATA_START)
    }

    /// The table holding `kind` (`issue`, `comment`, `changelog`).
    pub fn table(&self, kind: &str) -> Option<&Table> {
        match kind {
            "issue" => Some(&self.issues),
            "comment" => Some(&self.comments),
            "changelog" => Some(&self.histories),
            _ => None,
        }
    }

    /// The issue with numeric id or key `id_or_key`, live or not.
    pub fn issue_by(&self, id_or_key: &str) -> Option<&Row> {
        if let Ok(id) = id_or_key.parse::<u64>() {
            return self.issues.get(id);
        }
        let (project, num) = id_or_key.split_once('-')?;
        let scope = PROJECTS
            .iter()
            .position(|p| p.1.eq_ignore_ascii_case(project))?;
        let num: u64 = num.parse().ok()?;
        self.issues
            .all()
            .find(|r| r.scope == scope && r.u64("num") == num)
    }

    /// The newest change of any issue of project `scope`, deletions included.
    pub fn last_issue_update(&self, scope: usize) -> Option<Secs> {
        self.issues
            .all()
            .filter(|r| r.scope == scope)
            .map(|r| r.deleted.unwrap_or(r.updated).max(r.updated))
            .max()
    }

    /// Applies `count` changes stamped `at` to ENG and OPS; every record touched is reported
    /// once, with its strongest action.
    pub fn mutate(&mut self, count: usize, at: Secs, rng: &mut SandboxRng) -> Vec<Touched> {
        self.generation += 1;
        let mut changes: Vec<Touched> = Vec::new();
        for _ in 0..count {
            let scope = rng.index(SYNCED);
            let in_scope = |r: &Row| r.scope == scope;
            let draw = rng.below(100);
            let Some(issue) = self.issues.pick(rng, in_scope) else {
                let id = self.add_issue(rng, scope, at);
                changes.push(("issue", ChangeAction::Created, id));
                continue;
            };
            let live_comment = |d: &Data, rng: &mut SandboxRng| {
                d.comments.pick(rng, |c| {
                    c.scope == scope
                        && c.parent
                            .and_then(|p| d.issues.get(p))
                            .is_some_and(|i| i.deleted.is_none())
                })
            };
            match draw {
                0..40 => {
                    let h = self.add_history(rng, issue, at);
                    self.issues.update(issue, at, |_| {});
                    changes.push(("changelog", ChangeAction::Created, h));
                    changes.push(("issue", ChangeAction::Updated, issue));
                }
                40..55 => {
                    let id = self.add_issue(rng, scope, at);
                    changes.push(("issue", ChangeAction::Created, id));
                }
                55..75 => {
                    let c = self.add_comment(rng, issue, at);
                    self.issues.update(issue, at, |_| {});
                    changes.push(("comment", ChangeAction::Created, c));
                    changes.push(("issue", ChangeAction::Updated, issue));
                }
                75..90 => {
                    let Some(c) = live_comment(self, rng) else {
                        continue;
                    };
                    let parent = self.comments.get(c).and_then(|r| r.parent).unwrap_or(0);
                    let remark = rng.pick(&REMARKS).copied().unwrap_or("");
                    let body = adf(rng, &format!("{remark} (edited)"), false);
                    let editor = user(rng);
                    if draw < 85 {
                        self.comments.update(c, at, |r| {
                            r.fields.insert("body".into(), body);
                            r.fields.insert("update_author".into(), editor.into());
                        });
                        changes.push(("comment", ChangeAction::Updated, c));
                    } else {
                        self.comments.delete(c, at);
                        changes.push(("comment", ChangeAction::Deleted, c));
                    }
                    self.issues.update(parent, at, |_| {});
                    changes.push(("issue", ChangeAction::Updated, parent));
                }
                _ => {
                    self.issues.delete(issue, at);
                    changes.push(("issue", ChangeAction::Deleted, issue));
                    for (kind, table) in [
                        ("comment", &mut self.comments),
                        ("changelog", &mut self.histories),
                    ] {
                        let ids: Vec<u64> = table
                            .live()
                            .filter(|r| r.parent == Some(issue))
                            .map(|r| r.id)
                            .collect();
                        for id in ids {
                            table.delete(id, at);
                            changes.push((kind, ChangeAction::Deleted, id));
                        }
                    }
                }
            }
        }
        ChangeAction::strongest(changes)
    }
}
