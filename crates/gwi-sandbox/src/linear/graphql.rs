//! Linear's schema for the sandbox's GraphQL executor ([`crate::core::graphql`]): the fields of
//! each type, how each is read from the workspace's rows, and what connection filters mean.

use serde_json::{Map, Value, json};

use super::data::{Data, Kind, ORG_NAME, TEAMS, URL_KEY, archived, ids, reference, time, uuid};
use crate::core::graphql::{GqlError, Resolved, Schema, Ty, comparators, string_cmp, time_cmp};
use crate::core::table::Row;
use crate::core::time::{Iso, Secs};

/// Linear's object types: the workspace's tables, and its organization (which has no row).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Node {
    /// `Organization`.
    Org,
    /// A table's type.
    Of(Kind),
}

/// The schema over one workspace's data.
pub struct LinearSchema<'a> {
    /// The workspace.
    pub data: &'a Data,
    /// The seed its ids derive from.
    pub seed: u64,
}

/// How an object field is read from its row.
#[derive(Debug, Clone, Copy)]
enum F {
    /// The UUID.
    Id,
    /// A stored value as it is.
    V(&'static str),
    /// A stored time (Unix seconds or null), as RFC 3339 with milliseconds.
    T(&'static str),
    /// A stored time as a date.
    D(&'static str),
    Created,
    Updated,
    /// `ENG-12`.
    Identifier,
    /// The row a stored id names.
    R(Kind, &'static str),
    /// The row's parent row.
    Parent(Kind),
    /// The row's team (by scope).
    Team,
    /// A connection of the rows a stored id list names.
    Ids(Kind, &'static str),
    /// A connection of the rows whose parent is this row.
    Children(Kind),
}

use F::*;

const COMMON: [(&str, F); 4] = [
    ("id", Id),
    ("createdAt", Created),
    ("updatedAt", Updated),
    ("archivedAt", T("archivedAt")),
];

fn fields(kind: Kind) -> &'static [(&'static str, F)] {
    match kind {
        Kind::Team => &[
            ("key", V("key")),
            ("name", V("name")),
            ("description", V("description")),
            ("private", V("private")),
        ],
        Kind::User => &[
            ("name", V("name")),
            ("displayName", V("displayName")),
            ("email", V("email")),
            ("active", V("active")),
            ("admin", V("admin")),
        ],
        Kind::State => &[
            ("name", V("name")),
            ("type", V("type")),
            ("color", V("color")),
            ("team", Team),
        ],
        Kind::Label => &[("name", V("name")), ("color", V("color"))],
        Kind::Project => &[
            ("name", V("name")),
            ("description", V("description")),
            ("state", V("state")),
            ("startDate", D("startDate")),
            ("targetDate", D("targetDate")),
            ("canceledAt", T("canceledAt")),
            ("completedAt", T("completedAt")),
            ("startedAt", T("startedAt")),
            ("lead", R(Kind::User, "lead")),
            ("creator", R(Kind::User, "creator")),
            ("teams", Ids(Kind::Team, "teams")),
        ],
        Kind::Cycle => &[
            ("number", V("number")),
            ("name", V("name")),
            ("startsAt", T("startsAt")),
            ("endsAt", T("endsAt")),
            ("completedAt", T("completedAt")),
            ("team", Team),
        ],
        Kind::Issue => &[
            ("identifier", Identifier),
            ("number", V("number")),
            ("title", V("title")),
            ("description", V("description")),
            ("priority", V("priority")),
            ("estimate", V("estimate")),
            ("dueDate", D("dueDate")),
            ("canceledAt", T("canceledAt")),
            ("completedAt", T("completedAt")),
            ("startedAt", T("startedAt")),
            ("state", R(Kind::State, "state")),
            ("team", Team),
            ("assignee", R(Kind::User, "assignee")),
            ("creator", R(Kind::User, "creator")),
            ("project", R(Kind::Project, "project")),
            ("cycle", R(Kind::Cycle, "cycle")),
            ("parent", Parent(Kind::Issue)),
            ("labels", Ids(Kind::Label, "labels")),
            ("comments", Children(Kind::Comment)),
            ("children", Children(Kind::Issue)),
        ],
        Kind::Comment => &[
            ("body", V("body")),
            ("editedAt", T("editedAt")),
            ("issue", Parent(Kind::Issue)),
            ("user", R(Kind::User, "user")),
        ],
    }
}

fn object_field(kind: Kind, name: &str) -> Option<F> {
    COMMON
        .iter()
        .chain(fields(kind))
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}

/// The root fields that fetch one object by `id`.
fn single_kind(name: &str) -> Option<Kind> {
    Some(match name {
        "team" => Kind::Team,
        "user" => Kind::User,
        "project" => Kind::Project,
        "cycle" => Kind::Cycle,
        "issue" => Kind::Issue,
        "comment" => Kind::Comment,
        _ => return None,
    })
}

fn root_kind(name: &str) -> Option<Kind> {
    Some(match name {
        "teams" => Kind::Team,
        "users" => Kind::User,
        "projects" => Kind::Project,
        "cycles" => Kind::Cycle,
        "issues" => Kind::Issue,
        "comments" => Kind::Comment,
        _ => return None,
    })
}

/// `2024-05-01T10:00:00.000Z`.
pub fn iso_ms(t: Secs) -> String {
    let s = Iso(t).to_string();
    format!("{}.000Z", s.trim_end_matches('Z'))
}

/// `2024-05-01`.
pub fn date(t: Secs) -> String {
    Iso(t).to_string().chars().take(10).collect()
}

impl<'a> LinearSchema<'a> {
    /// `row` as an object of `kind`, or null when it is missing or deleted.
    fn live(kind: Kind, row: Option<&'a Row>) -> Resolved<'a, Node> {
        match row.filter(|r| r.deleted.is_none()) {
            Some(r) => Resolved::Object(Node::Of(kind), Some(r)),
            None => Resolved::Value(Value::Null),
        }
    }
}

impl<'a> Schema<'a> for LinearSchema<'a> {
    type Kind = Node;

    fn type_name(&self, kind: Node) -> &'static str {
        match kind {
            Node::Org => "Organization",
            Node::Of(k) => k.type_name(),
        }
    }

    fn field_type(&self, on: Option<Node>, name: &str) -> Option<Ty<Node>> {
        match on {
            None => match name {
                "viewer" => Some(Ty::Obj(Node::Of(Kind::User))),
                "organization" => Some(Ty::Obj(Node::Org)),
                _ => root_kind(name)
                    .map(|k| Ty::Conn(Node::Of(k)))
                    .or_else(|| single_kind(name).map(|k| Ty::Obj(Node::Of(k)))),
            },
            Some(Node::Org) => {
                matches!(name, "id" | "name" | "urlKey" | "createdAt").then_some(Ty::Scalar)
            }
            Some(Node::Of(kind)) => object_field(kind, name).map(|f| match f {
                R(k, _) | Parent(k) => Ty::Obj(Node::Of(k)),
                Team => Ty::Obj(Node::Of(Kind::Team)),
                Ids(k, _) | Children(k) => Ty::Conn(Node::Of(k)),
                _ => Ty::Scalar,
            }),
        }
    }

    fn resolve(
        &self,
        on: Option<(Node, Option<&'a Row>)>,
        name: &str,
        key: &str,
        args: &Map<String, Value>,
    ) -> Result<Resolved<'a, Node>, GqlError> {
        let d = self.data;
        let (row, spec) = match on {
            None => {
                if let Some(kind) = root_kind(name) {
                    let rows = d.table(kind).live().collect();
                    return Ok(Resolved::Connection(Node::Of(kind), rows));
                }
                let Some(kind) = single_kind(name) else {
                    return Ok(match name {
                        "viewer" => Self::live(Kind::User, d.table(Kind::User).all().next()),
                        _ => Resolved::Object(Node::Org, None),
                    });
                };
                let id = args.get("id").and_then(Value::as_str).unwrap_or_default();
                let row = d
                    .table(kind)
                    .live()
                    .find(|r| r.str("id") == id || (kind == Kind::Issue && identifier(r) == id));
                let missing = || GqlError::NotFound(kind.type_name(), key.to_owned());
                return Ok(Self::live(kind, Some(row.ok_or_else(missing)?)));
            }
            Some((Node::Org, _)) => {
                return Ok(Resolved::Value(match name {
                    "id" => json!(uuid(self.seed, 0)),
                    "name" => json!(ORG_NAME),
                    "urlKey" => json!(URL_KEY),
                    _ => json!(iso_ms(1_703_980_800)),
                }));
            }
            Some((Node::Of(kind), Some(row))) => match object_field(kind, name) {
                Some(spec) => (row, spec),
                None => return Ok(Resolved::Value(Value::Null)),
            },
            Some((Node::Of(_), None)) => return Ok(Resolved::Value(Value::Null)),
        };
        Ok(match spec {
            Id => Resolved::Value(json!(row.str("id"))),
            V(k) => Resolved::Value(row.field(k)),
            T(k) => Resolved::Value(time(row, k).map_or(Value::Null, |t| json!(iso_ms(t)))),
            D(k) => Resolved::Value(time(row, k).map_or(Value::Null, |t| json!(date(t)))),
            Created => Resolved::Value(json!(iso_ms(row.created))),
            Updated => Resolved::Value(json!(iso_ms(row.updated))),
            Identifier => Resolved::Value(json!(identifier(row))),
            R(k, field) => Self::live(k, reference(row, field).and_then(|id| d.get(k, id))),
            Parent(k) => Self::live(k, row.parent.and_then(|id| d.get(k, id))),
            Team => Self::live(Kind::Team, d.team(row.scope)),
            Ids(k, field) => {
                let rows = ids(row, field)
                    .into_iter()
                    .filter_map(|id| d.get(k, id))
                    .filter(|r| r.deleted.is_none());
                Resolved::Connection(Node::Of(k), rows.collect())
            }
            Children(k) => {
                let rows = d.table(k).live().filter(|r| r.parent == Some(row.id));
                Resolved::Connection(Node::Of(k), rows.collect())
            }
        })
    }

    fn archived(&self, row: &Row) -> bool {
        archived(row)
    }

    fn matches(&self, node: Node, row: &Row, filter: &Map<String, Value>) -> Result<bool, String> {
        let Node::Of(kind) = node else {
            return Err("Organization has no filter".into());
        };
        let team_key = || TEAMS.get(row.scope).map_or("", |t| t.0);
        for (k, cond) in filter {
            let ok = match (kind, k.as_str()) {
                (_, "id") => string_cmp(cond, row.str("id"), "id")?,
                (_, "createdAt") => time_cmp(cond, row.created, k)?,
                (_, "updatedAt") => time_cmp(cond, row.updated, k)?,
                (Kind::Issue | Kind::Cycle, "team") => key_cmp(cond, team_key(), "team")?,
                (Kind::Team, "key") => string_cmp(cond, row.str("key"), "key")?,
                (Kind::Comment, "issue") => {
                    let team = cond.get("team").ok_or("issue filter supports only team")?;
                    key_cmp(team, team_key(), "issue.team")?
                }
                (Kind::Project, "accessibleTeams") => {
                    let some = cond
                        .get("some")
                        .ok_or("accessibleTeams filter supports only some")?;
                    let keys: Vec<&str> = ids(row, "teams")
                        .into_iter()
                        .filter_map(|id| self.data.get(Kind::Team, id))
                        .map(|t| t.str("key"))
                        .collect();
                    let mut any = false;
                    for key in keys {
                        any |= key_cmp(some, key, "accessibleTeams.some")?;
                    }
                    any
                }
                _ => {
                    return Err(format!(
                        "Unknown filter field \"{k}\" on {}Filter",
                        kind.type_name()
                    ));
                }
            };
            if !ok {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// `ENG-12`.
pub fn identifier(row: &Row) -> String {
    format!(
        "{}-{}",
        TEAMS.get(row.scope).map_or("", |t| t.0),
        row.u64("number")
    )
}

/// `{key: {eq|in|...}}` against a team key.
fn key_cmp(cond: &Value, key: &str, what: &str) -> Result<bool, String> {
    let inner = comparators(cond, what)?;
    let mut ok = true;
    for (k, v) in inner {
        match k.as_str() {
            "key" => ok &= string_cmp(v, key, &format!("{what}.key"))?,
            other => return Err(format!("Unknown filter field \"{other}\" on {what}")),
        }
    }
    Ok(ok)
}
