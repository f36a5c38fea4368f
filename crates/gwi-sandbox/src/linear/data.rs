//! The seeded Linear workspace: teams, users, workflow states, labels, projects, cycles, issues
//! and comments, kept in [`Table`]s, and the mutations that change them.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use crate::core::rng::SandboxRng;
use crate::core::table::{Row, Table};
use crate::core::time::Secs;
use crate::provider::ChangeAction;

/// The organization.
pub const ORG_NAME: &str = "Acme";
/// Its URL key (`https://linear.app/acme/...`).
pub const URL_KEY: &str = "acme";
/// The teams: key, name, description.
pub const TEAMS: [(&str, &str, &str); 3] = [
    ("ENG", "Engineering", "Builds the product"),
    ("OPS", "Operations", "Keeps it running"),
    ("DES", "Design", "Makes it usable"),
];
/// Every team's workflow states: name, type, color.
const STATES: [(&str, &str, &str); 5] = [
    ("Backlog", "backlog", "#bec2c8"),
    ("Todo", "unstarted", "#e2e2e2"),
    ("In Progress", "started", "#f2c94c"),
    ("Done", "completed", "#5e6ad2"),
    ("Canceled", "canceled", "#95a2b3"),
];
const LABELS: [(&str, &str); 6] = [
    ("Bug", "#eb5757"),
    ("Feature", "#bb87fc"),
    ("Improvement", "#4ea7fc"),
    ("Docs", "#0f783c"),
    ("Security", "#f2994a"),
    ("Performance", "#26b5ce"),
];
const USERS: [&str; 10] = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Barbara Liskov",
    "Donald Knuth",
    "Edsger Dijkstra",
    "Frances Allen",
    "Ken Thompson",
    "Margaret Hamilton",
    "Dennis Ritchie",
];
/// Projects: name, team indices, state.
const PROJECTS: [(&str, &[usize], &str); 4] = [
    ("Website relaunch", &[0, 2], "started"),
    ("Ops automation", &[1], "planned"),
    ("Design system", &[2, 0], "started"),
    ("Legacy cleanup", &[0], "completed"),
];
const WORDS: [&str; 12] = [
    "login",
    "billing",
    "export",
    "search",
    "cache",
    "alerts",
    "onboarding",
    "deploys",
    "reports",
    "sync",
    "invoices",
    "dashboard",
];
const VERBS: [&str; 6] = [
    "Fix", "Speed up", "Redesign", "Document", "Refactor", "Test",
];

/// 2024-01-01T00:00:00Z.
const T0: Secs = 1_704_067_200;
const DAY: Secs = 86_400;

/// What a table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `Team`.
    Team,
    /// `User`.
    User,
    /// `WorkflowState`.
    State,
    /// `IssueLabel`.
    Label,
    /// `Project`.
    Project,
    /// `Cycle`.
    Cycle,
    /// `Issue`.
    Issue,
    /// `Comment`.
    Comment,
}

impl Kind {
    /// The GraphQL type name.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::Team => "Team",
            Self::User => "User",
            Self::State => "WorkflowState",
            Self::Label => "IssueLabel",
            Self::Project => "Project",
            Self::Cycle => "Cycle",
            Self::Issue => "Issue",
            Self::Comment => "Comment",
        }
    }

    /// The `Change.kind` and expected record type.
    pub fn record(self) -> &'static str {
        match self {
            Self::Team => "team",
            Self::User => "user",
            Self::State => "state",
            Self::Label => "label",
            Self::Project => "project",
            Self::Cycle => "cycle",
            Self::Issue => "issue",
            Self::Comment => "comment",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The whole workspace.
#[derive(Debug)]
pub struct Data {
    seed: u64,
    tables: [Table; 8],
    /// Rows as they were before their latest update (for `updatedFrom`).
    pub previous: HashMap<u64, Row>,
    /// Mutations applied so far.
    pub generation: u64,
    next_id: u64,
}

/// A UUID derived from the seed and a row id.
pub fn uuid(seed: u64, id: u64) -> String {
    SandboxRng::derive(seed, "linear-id", &[id]).uuid()
}

fn secs(v: Option<Secs>) -> Value {
    v.map_or(Value::Null, |t| json!(t))
}

/// A row's time field (`archivedAt`, ...), if set.
pub fn time(row: &Row, key: &str) -> Option<Secs> {
    row.fields.get(key).and_then(Value::as_i64)
}

/// Whether a row is archived.
pub fn archived(row: &Row) -> bool {
    time(row, "archivedAt").is_some()
}

/// The row ids a list field holds.
pub fn ids(row: &Row, key: &str) -> Vec<u64> {
    row.fields
        .get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// The row id a reference field holds.
pub fn reference(row: &Row, key: &str) -> Option<u64> {
    row.fields.get(key).and_then(Value::as_u64)
}

impl Data {
    /// The workspace for `seed` at `scale`.
    pub fn generate(seed: u64, scale: u32) -> Self {
        let mut d = Self {
            seed,
            tables: Default::default(),
            previous: HashMap::new(),
            generation: 0,
            next_id: 1,
        };
        let mut rng = SandboxRng::derive(seed, "linear-data", &[]);
        for (i, (key, name, description)) in TEAMS.iter().enumerate() {
            let created = T0 + i as Secs * 3600;
            let mut row = d.row(i, created).with("key", *key).with("name", *name);
            row = row.with("description", *description).with("private", false);
            row.updated = created + 30 * DAY;
            d.put(Kind::Team, row.with("archivedAt", Value::Null));
            for (name, ty, color) in STATES {
                let row = d.row(i, created).with("name", name).with("type", ty);
                d.put(Kind::State, row.with("color", color));
            }
        }
        for (i, name) in USERS.iter().enumerate() {
            let created = T0 - DAY + i as Secs * 600;
            let first = name.split(' ').next().unwrap_or(name).to_lowercase();
            let gone = i == USERS.len() - 1;
            let mut row = d.row(0, created).with("name", *name);
            row = row.with("displayName", first.clone());
            row = row.with("email", format!("{first}@acme.test"));
            row = row.with("active", !gone).with("admin", i == 0);
            row.updated = created + (2 + i as Secs) * DAY;
            let archived_at = gone.then_some(row.updated);
            d.put(Kind::User, row.with("archivedAt", secs(archived_at)));
        }
        for (name, color) in LABELS {
            let row = d.row(0, T0).with("name", name).with("color", color);
            d.put(Kind::Label, row);
        }
        let users: Vec<u64> = d.table(Kind::User).all().map(|r| r.id).collect();
        let teams: Vec<u64> = d.table(Kind::Team).all().map(|r| r.id).collect();
        for (i, (name, on, state)) in PROJECTS.iter().enumerate() {
            let created = T0 + (5 + 20 * i as Secs) * DAY;
            let mut row = d.row(0, created).with("name", *name);
            row = row.with("description", format!("{name} for {ORG_NAME}"));
            row = row.with("state", *state).with("lead", users[i + 1]);
            row = row.with("creator", users[0]);
            let team_ids: Vec<u64> = on.iter().map(|t| teams[*t]).collect();
            row = row.with("teams", json!(team_ids));
            let start = (created + 7 * DAY) / DAY * DAY;
            row = row
                .with("startDate", start)
                .with("targetDate", start + 90 * DAY);
            let started = (*state != "planned").then_some(start);
            let done = (*state == "completed").then_some(start + 80 * DAY);
            row = row
                .with("startedAt", secs(started))
                .with("completedAt", secs(done));
            row = row.with("canceledAt", Value::Null);
            row.updated = done.unwrap_or(created + 100 * DAY);
            d.put(Kind::Project, row.with("archivedAt", secs(done)));
        }
        for team in 0..TEAMS.len() {
            for n in 1..=5u64 {
                let starts = T0 + 60 * DAY + (n as Secs - 1) * 14 * DAY;
                let mut row = d.row(team, starts - 7 * DAY).with("number", n);
                row = row
                    .with("name", format!("Cycle {n}"))
                    .with("startsAt", starts);
                let ends = starts + 14 * DAY;
                let done = (n <= 3).then_some(ends);
                row = row.with("endsAt", ends).with("completedAt", secs(done));
                row.updated = done.unwrap_or(row.created);
                d.put(Kind::Cycle, row.with("archivedAt", Value::Null));
            }
        }
        let per_team = 40 * scale.max(1) as usize;
        for team in 0..TEAMS.len() {
            for n in 1..=per_team {
                let created = T0 + 30 * DAY + rng.below(250 * DAY as u64) as Secs;
                let id = d.issue(&mut rng, team, n as u64, created);
                let end = T0 + 330 * DAY;
                let state = rng.index(STATES.len());
                let mut row = d
                    .table(Kind::Issue)
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| Row::new(id, team, created));
                d.set_state(
                    &mut row,
                    state,
                    (created + rng.below(20 * DAY as u64) as Secs).min(end),
                );
                row.updated = row.updated.max(created + rng.below(DAY as u64) as Secs);
                if matches!(state, 3 | 4) && rng.chance(0.15) {
                    row.updated += DAY;
                    row.fields.insert("archivedAt".into(), json!(row.updated));
                }
                if rng.chance(0.15) {
                    let earlier = d
                        .table(Kind::Issue)
                        .pick(&mut rng, |r| r.scope == team && r.id != id);
                    row.parent = earlier;
                }
                d.put(Kind::Issue, row);
                for _ in 0..rng.below(4) {
                    let at = created + 1 + rng.below(10 * DAY as u64) as Secs;
                    let c = d.comment(&mut rng, id, at);
                    if rng.chance(0.2) {
                        let edited = at + rng.below(DAY as u64) as Secs + 1;
                        d.edit_comment(c, edited, &mut rng);
                    }
                }
            }
        }
        d
    }

    /// The table of `kind`.
    pub fn table(&self, kind: Kind) -> &Table {
        &self.tables[kind.index()]
    }

    fn table_mut(&mut self, kind: Kind) -> &mut Table {
        &mut self.tables[kind.index()]
    }

    /// The row `id` of `kind` (deleted ones too).
    pub fn get(&self, kind: Kind, id: u64) -> Option<&Row> {
        self.table(kind).get(id)
    }

    /// The team row of scope `team`.
    pub fn team(&self, team: usize) -> Option<&Row> {
        self.table(Kind::Team).all().find(|r| r.scope == team)
    }

    /// The newest time anywhere.
    pub fn newest(&self) -> Secs {
        self.tables.iter().map(Table::newest).max().unwrap_or(0)
    }

    fn row(&mut self, scope: usize, created: Secs) -> Row {
        let id = self.next_id;
        self.next_id += 1;
        Row::new(id, scope, created).with("id", uuid(self.seed, id))
    }

    fn put(&mut self, kind: Kind, row: Row) {
        self.table_mut(kind).insert(row);
    }

    fn issue(&mut self, rng: &mut SandboxRng, team: usize, number: u64, at: Secs) -> u64 {
        let title = format!(
            "{} {}",
            rng.pick(&VERBS).copied().unwrap_or("Fix"),
            rng.pick(&WORDS).copied().unwrap_or("login")
        );
        let users = self.pickable(Kind::User, rng, 1.0);
        let assignee = self.pickable(Kind::User, rng, 0.8);
        let project = self.table(Kind::Project).pick(rng, |r| {
            !archived(r)
                && ids(r, "teams")
                    .iter()
                    .any(|t| self.team(team).is_some_and(|x| x.id == *t))
        });
        let project = project.filter(|_| rng.chance(0.4));
        let cycle = self.table(Kind::Cycle).pick(rng, |r| r.scope == team);
        let cycle = cycle.filter(|_| rng.chance(0.4));
        let labels: Vec<u64> = self
            .table(Kind::Label)
            .all()
            .filter(|_| rng.chance(0.2))
            .map(|r| r.id)
            .collect();
        let estimate = rng
            .pick(&[None, Some(1), Some(2), Some(3), Some(5), Some(8)])
            .copied()
            .flatten();
        let due = rng.chance(0.3).then(|| (at + 20 * DAY) / DAY * DAY);
        let mut row = self
            .row(team, at)
            .with("number", number)
            .with("title", title.clone());
        row = row.with(
            "description",
            format!("{title}: details for {}", TEAMS[team].1),
        );
        row = row
            .with("priority", rng.below(5))
            .with("estimate", json!(estimate));
        row = row
            .with("dueDate", secs(due))
            .with("archivedAt", Value::Null);
        row = row
            .with("creator", json!(users))
            .with("assignee", json!(assignee));
        row = row
            .with("project", json!(project))
            .with("cycle", json!(cycle));
        let id = row.id;
        self.put(Kind::Issue, row.with("labels", json!(labels)));
        let mut row = self
            .get(Kind::Issue, id)
            .cloned()
            .unwrap_or_else(|| Row::new(id, team, at));
        self.set_state(&mut row, rng.index(2), at);
        self.put(Kind::Issue, row);
        id
    }

    fn pickable(&self, kind: Kind, rng: &mut SandboxRng, p: f64) -> Option<u64> {
        let id = self.table(kind).pick(rng, |r| !archived(r));
        id.filter(|_| rng.chance(p))
    }

    /// Moves `row` to its team's state `state` at `at`, with times that agree.
    fn set_state(&self, row: &mut Row, state: usize, at: Secs) {
        let state_id = self
            .table(Kind::State)
            .all()
            .filter(|r| r.scope == row.scope)
            .nth(state)
            .map(|r| r.id);
        let f = &mut row.fields;
        f.insert("state".into(), json!(state_id));
        let started = f.get("startedAt").and_then(Value::as_i64);
        let (s, c, x) = match STATES[state].1 {
            "started" => (Some(started.unwrap_or(at)), None, None),
            "completed" => (Some(started.unwrap_or(at)), Some(at), None),
            "canceled" => (started, None, Some(at)),
            _ => (None, None, None),
        };
        f.insert("startedAt".into(), secs(s));
        f.insert("completedAt".into(), secs(c));
        f.insert("canceledAt".into(), secs(x));
        row.updated = at;
    }

    fn comment(&mut self, rng: &mut SandboxRng, issue: u64, at: Secs) -> u64 {
        let scope = self.get(Kind::Issue, issue).map_or(0, |r| r.scope);
        let user = self.pickable(Kind::User, rng, 1.0);
        let body = format!(
            "Looked into {}: {}",
            rng.pick(&WORDS).copied().unwrap_or("it"),
            rng.below(1000)
        );
        let row = self.row(scope, at).child_of(issue).with("body", body);
        let row = row.with("user", json!(user)).with("editedAt", Value::Null);
        let id = row.id;
        self.put(Kind::Comment, row.with("archivedAt", Value::Null));
        id
    }

    fn edit_comment(&mut self, id: u64, at: Secs, rng: &mut SandboxRng) {
        let body = format!("Edited: {}", rng.pick(&WORDS).copied().unwrap_or("it"));
        self.table_mut(Kind::Comment).update(id, at, |r| {
            r.fields.insert("body".into(), json!(body));
            r.fields.insert("editedAt".into(), json!(at));
        });
    }

    /// Applies `count` changes stamped `at`: the (kind, action, row id) of each record touched.
    pub fn mutate(
        &mut self,
        count: usize,
        at: Secs,
        rng: &mut SandboxRng,
    ) -> Vec<(Kind, ChangeAction, u64)> {
        self.generation += 1;
        let mut touched = Vec::new();
        let mut saved: HashSet<u64> = HashSet::new();
        let open = |r: &Row| !archived(r);
        for step in 0..count {
            // Every tenth change is a deletion, so a mutation of ten or more always has one
            // for the `remove` webhook to announce.
            let roll = if step % 10 == 9 { 85 } else { rng.below(100) };
            let (kind, action, id) = if roll < 35 {
                let Some(id) = self.table(Kind::Issue).pick(rng, open) else {
                    continue;
                };
                self.save(Kind::Issue, id, &mut saved);
                let Some(mut row) = self.get(Kind::Issue, id).cloned() else {
                    continue;
                };
                match rng.below(3) {
                    0 => {
                        let state = rng.index(STATES.len());
                        self.set_state(&mut row, state, at);
                    }
                    1 => {
                        row.fields.insert("priority".into(), json!(rng.below(5)));
                        let title = format!(
                            "{} (revised)",
                            row.str("title").trim_end_matches(" (revised)")
                        );
                        row.fields.insert("title".into(), json!(title));
                    }
                    _ => {
                        let user = self.pickable(Kind::User, rng, 0.9);
                        row.fields.insert("assignee".into(), json!(user));
                    }
                }
                row.updated = at;
                self.put(Kind::Issue, row);
                (Kind::Issue, ChangeAction::Updated, id)
            } else if roll < 55 {
                let team = rng.index(TEAMS.len());
                let number = self
                    .table(Kind::Issue)
                    .all()
                    .filter(|r| r.scope == team)
                    .map(|r| r.u64("number"))
                    .max()
                    .unwrap_or(0)
                    + 1;
                (
                    Kind::Issue,
                    ChangeAction::Created,
                    self.issue(rng, team, number, at),
                )
            } else if roll < 70 {
                let Some(issue) = self.table(Kind::Issue).pick(rng, open) else {
                    continue;
                };
                (
                    Kind::Comment,
                    ChangeAction::Created,
                    self.comment(rng, issue, at),
                )
            } else if roll < 75 {
                let Some(id) = self.table(Kind::Comment).pick(rng, open) else {
                    continue;
                };
                self.save(Kind::Comment, id, &mut saved);
                self.edit_comment(id, at, rng);
                (Kind::Comment, ChangeAction::Updated, id)
            } else if roll < 80 {
                let Some(id) = self.table(Kind::Issue).pick(rng, open) else {
                    continue;
                };
                self.save(Kind::Issue, id, &mut saved);
                self.table_mut(Kind::Issue).update(id, at, |r| {
                    r.fields.insert("archivedAt".into(), json!(at));
                });
                (Kind::Issue, ChangeAction::Updated, id)
            } else if roll < 90 {
                let issue = rng.chance(0.5);
                let id = if issue {
                    let busy: HashSet<u64> = self
                        .table(Kind::Comment)
                        .live()
                        .filter_map(|r| r.parent)
                        .chain(self.table(Kind::Issue).live().filter_map(|r| r.parent))
                        .collect();
                    self.table(Kind::Issue).pick(rng, |r| !busy.contains(&r.id))
                } else {
                    self.table(Kind::Comment).pick(rng, |_| true)
                };
                let Some(id) = id else { continue };
                let kind = if issue { Kind::Issue } else { Kind::Comment };
                self.table_mut(kind).delete(id, at);
                (kind, ChangeAction::Deleted, id)
            } else if roll < 95 {
                let Some(id) = self.table(Kind::Project).pick(rng, open) else {
                    continue;
                };
                self.save(Kind::Project, id, &mut saved);
                let state = rng
                    .pick(&["planned", "started", "started"])
                    .copied()
                    .unwrap_or("started");
                let shift = rng.below(30) as Secs * DAY;
                self.table_mut(Kind::Project).update(id, at, |r| {
                    let target = r
                        .fields
                        .get("targetDate")
                        .and_then(Value::as_i64)
                        .unwrap_or(T0)
                        + shift;
                    r.fields.insert("targetDate".into(), json!(target));
                    let started = (state == "started").then(|| time(r, "startedAt").unwrap_or(at));
                    r.fields.insert("startedAt".into(), secs(started));
                    r.fields.insert("state".into(), json!(state));
                });
                (Kind::Project, ChangeAction::Updated, id)
            } else {
                let Some(id) = self.table(Kind::Cycle).pick(rng, open) else {
                    continue;
                };
                self.save(Kind::Cycle, id, &mut saved);
                let days = (1 + rng.below(3)) as Secs * DAY;
                self.table_mut(Kind::Cycle).update(id, at, |r| {
                    let ends = time(r, "endsAt").unwrap_or(T0) + days;
                    r.fields.insert("endsAt".into(), json!(ends));
                });
                (Kind::Cycle, ChangeAction::Updated, id)
            };
            touched.push((kind, action, id));
        }
        ChangeAction::strongest(touched)
    }

    /// Keeps the row as it was before this mutation's first change to it.
    fn save(&mut self, kind: Kind, id: u64, saved: &mut HashSet<u64>) {
        if saved.insert(id)
            && let Some(row) = self.get(kind, id).cloned()
        {
            self.previous.insert(id, row);
        }
    }
}
