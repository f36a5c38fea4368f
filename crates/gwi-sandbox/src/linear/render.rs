//! Linear's webhook payloads, rendered from the recorded ones in `templates/linear/`.

use serde_json::{Value, json};

use super::data::{Data, Kind, TEAMS, URL_KEY, ids, reference, time};
use super::graphql::{identifier, iso_ms};
use crate::core::table::Row;
use crate::core::template::Template;
use crate::core::time::Secs;
use crate::error::SandboxError;
use crate::provider::ChangeAction;

/// The recorded webhook envelopes, per type and action.
#[derive(Debug)]
pub struct Templates {
    issue: [Template; 3],
    comment: [Template; 3],
    project: Template,
    cycle: Template,
}

macro_rules! template {
    ($file:literal) => {
        Template::parse(
            concat!("linear/", $file),
            include_str!(concat!("../../templates/linear/", $file)),
            "",
        )
    };
}

fn slot(action: ChangeAction) -> usize {
    match action {
        ChangeAction::Created => 0,
        ChangeAction::Updated => 1,
        ChangeAction::Deleted => 2,
    }
}

/// `create`, `update` or `remove`.
pub fn action_word(action: ChangeAction) -> &'static str {
    ["create", "update", "remove"][slot(action)]
}

const PRIORITY: [&str; 5] = ["No priority", "Urgent", "High", "Medium", "Low"];

fn t(row: &Row, key: &str) -> Value {
    time(row, key).map_or(Value::Null, |t| json!(iso_ms(t)))
}

fn uuid_of(d: &Data, kind: Kind, id: Option<u64>) -> Value {
    id.and_then(|id| d.get(kind, id))
        .map_or(Value::Null, |r| json!(r.str("id")))
}

fn slug(title: &str) -> String {
    let s: String = title
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// The `data` fields of a row of `kind`, valued as the GraphQL answer values them.
pub fn data_fields(d: &Data, kind: Kind, row: &Row) -> Vec<(&'static str, Value)> {
    let mut out = vec![
        ("id", json!(row.str("id"))),
        ("createdAt", json!(iso_ms(row.created))),
        ("updatedAt", json!(iso_ms(row.updated))),
        ("archivedAt", t(row, "archivedAt")),
    ];
    let team = d.team(row.scope);
    let team_id = json!(team.map(|r| r.str("id")));
    match kind {
        Kind::Issue => {
            let state = reference(row, "state").and_then(|id| d.get(Kind::State, id));
            let labels: Vec<&Row> = ids(row, "labels")
                .into_iter()
                .filter_map(|id| d.get(Kind::Label, id))
                .collect();
            let priority = row.u64("priority") as usize;
            out.extend([
                ("identifier", json!(identifier(row))),
                ("number", row.field("number")),
                ("title", row.field("title")),
                ("description", row.field("description")),
                ("priority", row.field("priority")),
                ("priorityLabel", json!(PRIORITY.get(priority).copied().unwrap_or(""))),
                ("estimate", row.field("estimate")),
                ("dueDate", time(row, "dueDate").map_or(Value::Null, |t| json!(super::graphql::date(t)))),
                ("canceledAt", t(row, "canceledAt")),
                ("completedAt", t(row, "completedAt")),
                ("startedAt", t(row, "startedAt")),
                ("team", json!({"id": team_id, "key": team.map(|r| r.str("key")), "name": team.map(|r| r.str("name"))})),
                ("teamId", team_id.clone()),
                ("state", state.map_or(Value::Null, |s| json!({"id": s.str("id"), "name": s.str("name"), "type": s.str("type"), "color": s.str("color")}))),
                ("stateId", json!(state.map(|s| s.str("id")))),
                ("assigneeId", uuid_of(d, Kind::User, reference(row, "assignee"))),
                ("creatorId", uuid_of(d, Kind::User, reference(row, "creator"))),
                ("projectId", uuid_of(d, Kind::Project, reference(row, "project"))),
                ("cycleId", uuid_of(d, Kind::Cycle, reference(row, "cycle"))),
                ("parentId", uuid_of(d, Kind::Issue, row.parent)),
                ("labelIds", json!(labels.iter().map(|l| l.str("id")).collect::<Vec<_>>())),
                ("labels", json!(labels.iter().map(|l| json!({"id": l.str("id"), "name": l.str("name"), "color": l.str("color")})).collect::<Vec<_>>())),
                ("subscriberIds", json!([])),
            ]);
        }
        Kind::Comment => {
            let issue = row.parent.and_then(|id| d.get(Kind::Issue, id));
            out.extend([
                ("body", row.field("body")),
                ("issueId", json!(issue.map(|i| i.str("id")))),
                ("issue", json!({"id": issue.map(|i| i.str("id")), "title": issue.map(|i| i.str("title"))})),
                ("userId", uuid_of(d, Kind::User, reference(row, "user"))),
                ("editedAt", t(row, "editedAt")),
            ]);
        }
        Kind::Project => {
            let teams: Vec<Value> = ids(row, "teams")
                .into_iter()
                .map(|id| uuid_of(d, Kind::Team, Some(id)))
                .collect();
            out.extend([
                ("name", row.field("name")),
                ("description", row.field("description")),
                ("state", row.field("state")),
                ("leadId", uuid_of(d, Kind::User, reference(row, "lead"))),
                (
                    "creatorId",
                    uuid_of(d, Kind::User, reference(row, "creator")),
                ),
                ("teamIds", json!(teams)),
                ("memberIds", json!([])),
                ("startDate", t(row, "startDate")),
                ("targetDate", t(row, "targetDate")),
                ("canceledAt", t(row, "canceledAt")),
                ("completedAt", t(row, "completedAt")),
                ("startedAt", t(row, "startedAt")),
            ]);
        }
        Kind::Cycle => out.extend([
            ("number", row.field("number")),
            ("name", row.field("name")),
            ("teamId", team_id),
            ("startsAt", t(row, "startsAt")),
            ("endsAt", t(row, "endsAt")),
            ("completedAt", t(row, "completedAt")),
        ]),
        _ => {}
    }
    out
}

/// What a delivery is about.
pub struct Event<'a> {
    /// The record's kind.
    pub kind: Kind,
    /// What happened.
    pub action: ChangeAction,
    /// The record now (as it was, for a removal).
    pub row: &'a Row,
    /// The record before an update.
    pub before: Option<&'a Row>,
    /// When it happened.
    pub at: Secs,
}

impl Templates {
    /// Parses every template (they are compiled in; a failure means a broken build).
    pub fn load() -> Result<Self, SandboxError> {
        Ok(Self {
            issue: [
                template!("issue_create.json")?,
                template!("issue_update.json")?,
                template!("issue_remove.json")?,
            ],
            comment: [
                template!("comment_create.json")?,
                template!("comment_update.json")?,
                template!("comment_remove.json")?,
            ],
            project: template!("project_update.json")?,
            cycle: template!("cycle_update.json")?,
        })
    }

    /// The webhook body for `e` (no `webhookTimestamp`, `webhookId`: the caller sets them).
    pub fn body(&self, d: &Data, e: &Event<'_>, organization: &str) -> Option<Value> {
        let (template, type_name) = match e.kind {
            Kind::Issue => (&self.issue[slot(e.action)], "Issue"),
            Kind::Comment => (&self.comment[slot(e.action)], "Comment"),
            Kind::Project => (&self.project, "Project"),
            Kind::Cycle => (&self.cycle, "Cycle"),
            _ => return None,
        };
        let mut fields = data_fields(d, e.kind, e.row);
        if e.action == ChangeAction::Deleted {
            for (k, v) in &mut fields {
                if *k == "archivedAt" {
                    *v = json!(iso_ms(e.at));
                }
            }
            if e.kind == Kind::Issue {
                fields.push(("trashed", json!(true)));
            }
        }
        let mut doc = template.render([
            ("/action", json!(action_word(e.action))),
            ("/type", json!(type_name)),
            ("/createdAt", json!(iso_ms(e.at))),
            ("/organizationId", json!(organization)),
        ]);
        let data = doc.get_mut("data")?.as_object_mut()?;
        for (k, v) in &fields {
            data.insert((*k).to_owned(), v.clone());
        }
        let root = doc.as_object_mut()?;
        if let Some(url) = url(d, e.kind, e.row) {
            root.insert("url".into(), json!(url));
        }
        if e.action == ChangeAction::Updated {
            let before = e
                .before
                .map(|b| data_fields(d, e.kind, b))
                .unwrap_or_default();
            let mut from = serde_json::Map::new();
            for (k, v) in before {
                let now = fields.iter().find(|(n, _)| *n == k).map(|(_, v)| v);
                if now != Some(&v) {
                    from.insert(k.to_owned(), v);
                }
            }
            root.insert("updatedFrom".into(), json!(from));
        } else {
            root.remove("updatedFrom");
        }
        Some(doc)
    }
}

/// The record's page in the Linear app.
fn url(d: &Data, kind: Kind, row: &Row) -> Option<String> {
    let issue_url = |r: &Row| {
        format!(
            "https://linear.app/{URL_KEY}/issue/{}/{}",
            identifier(r),
            slug(r.str("title"))
        )
    };
    match kind {
        Kind::Issue => Some(issue_url(row)),
        Kind::Comment => {
            let issue = d.get(Kind::Issue, row.parent?)?;
            Some(format!(
                "{}#comment-{}",
                issue_url(issue),
                &row.str("id")[..8]
            ))
        }
        Kind::Project => {
            let tail: String = row
                .str("id")
                .chars()
                .filter(|c| *c != '-')
                .take(12)
                .collect();
            Some(format!(
                "https://linear.app/{URL_KEY}/project/{}-{tail}",
                slug(row.str("name"))
            ))
        }
        Kind::Cycle => {
            let team = TEAMS.get(row.scope)?.0;
            Some(format!(
                "https://linear.app/{URL_KEY}/team/{team}/cycle/{}",
                row.u64("number")
            ))
        }
        _ => None,
    }
}
