//! A small GraphQL executor over the Linear schema the sandbox knows: parses the document,
//! validates the operation's selection against the schema, then answers exactly the fields asked
//! for, with Relay connections (`first`, `after`, `orderBy`, `includeArchived`, `filter`).

use std::collections::HashMap;

use graphql_parser::Pos;
use graphql_parser::query::{
    Definition, Document, Field, FragmentDefinition, OperationDefinition, Selection, SelectionSet,
    Value as GqlValue,
};
use serde_json::{Map, Value, json};

use super::data::{Data, Kind, ORG_NAME, TEAMS, URL_KEY, archived, ids, reference, time, uuid};
use crate::core::cursor::{cursor_page, encode_cursor};
use crate::core::table::Row;
use crate::core::time::{Iso, Secs, parse_iso};

/// Why a query has no data.
#[derive(Debug, Clone, PartialEq)]
pub enum GqlError {
    /// The document does not parse.
    Parse(String, Pos),
    /// It asks for something the schema does not have.
    Validation(String, Pos),
    /// An argument is refused (`path`: the field's response key).
    Input(String, String),
    /// No object of the type has the `id` asked for.
    NotFound(&'static str, String),
}

impl GqlError {
    /// The `errors` document Linear answers with (HTTP 400).
    pub fn body(&self) -> Value {
        let at = |p: &Pos| json!([{"line": p.line, "column": p.column}]);
        let error = match self {
            Self::Parse(m, p) => json!({"message": m, "locations": at(p), "extensions":
                {"code": "GRAPHQL_PARSE_FAILED", "type": "graphql error", "userError": true}}),
            Self::Validation(m, p) => json!({"message": m, "locations": at(p), "extensions":
                {"code": "GRAPHQL_VALIDATION_FAILED", "type": "graphql error", "userError": true}}),
            Self::Input(m, path) => json!({"message": "Argument Validation Error", "path": [path],
                "extensions": {"code": "INPUT_ERROR", "type": "invalid input", "userError": true,
                "userPresentableMessage": m}}),
            Self::NotFound(ty, path) => json!({"message": format!("Entity not found: {ty}"),
                "path": [path], "extensions": {"code": "INPUT_ERROR", "type": "invalid input",
                "userError": true,
                "userPresentableMessage": format!("Could not find referenced {ty}.")}}),
        };
        json!({"errors": [error]})
    }
}

/// A field's type in the schema.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ty {
    Scalar,
    Query,
    Org,
    Obj(Kind),
    Conn(Kind),
    Edge(Kind),
    PageInfo,
}

impl Ty {
    fn name(self) -> String {
        match self {
            Self::Scalar => "String".into(),
            Self::Query => "Query".into(),
            Self::Org => "Organization".into(),
            Self::Obj(k) => k.type_name().into(),
            Self::Conn(k) => format!("{}Connection", k.type_name()),
            Self::Edge(k) => format!("{}Edge", k.type_name()),
            Self::PageInfo => "PageInfo".into(),
        }
    }
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

/// The type of field `name` of type `ty`, if it has one.
fn field_ty(ty: Ty, name: &str) -> Option<Ty> {
    if name == "__typename" {
        return Some(Ty::Scalar);
    }
    match ty {
        Ty::Scalar => None,
        Ty::Query => match name {
            "viewer" => Some(Ty::Obj(Kind::User)),
            "organization" => Some(Ty::Org),
            _ => root_kind(name)
                .map(Ty::Conn)
                .or_else(|| single_kind(name).map(Ty::Obj)),
        },
        Ty::Org => matches!(name, "id" | "name" | "urlKey" | "createdAt").then_some(Ty::Scalar),
        Ty::Obj(kind) => object_field(kind, name).map(|f| match f {
            R(k, _) | Parent(k) => Ty::Obj(k),
            Team => Ty::Obj(Kind::Team),
            Ids(k, _) | Children(k) => Ty::Conn(k),
            _ => Ty::Scalar,
        }),
        Ty::Conn(k) => match name {
            "nodes" => Some(Ty::Obj(k)),
            "edges" => Some(Ty::Edge(k)),
            "pageInfo" => Some(Ty::PageInfo),
            _ => None,
        },
        Ty::Edge(k) => match name {
            "node" => Some(Ty::Obj(k)),
            "cursor" => Some(Ty::Scalar),
            _ => None,
        },
        Ty::PageInfo => matches!(
            name,
            "hasNextPage" | "hasPreviousPage" | "startCursor" | "endCursor"
        )
        .then_some(Ty::Scalar),
    }
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

/// A successful answer: `data` and the query's complexity.
#[derive(Debug)]
pub struct Answer {
    /// The `data` object.
    pub data: Value,
    /// The query's cost.
    pub complexity: u64,
}

type Doc<'q> = Document<'q, &'q str>;
type Sel<'q> = SelectionSet<'q, &'q str>;
type Fld<'q> = Field<'q, &'q str>;

/// Runs the request body `{"query", "variables", "operationName"}` against `data`.
pub fn execute(data: &Data, seed: u64, body: &Value) -> Result<Answer, GqlError> {
    let start = Pos { line: 1, column: 1 };
    let query = body
        .get("query")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let doc: Doc<'_> =
        graphql_parser::parse_query(query).map_err(|e| parse_error(&e.to_string()))?;
    let mut frags = HashMap::new();
    let mut ops = Vec::new();
    for def in &doc.definitions {
        match def {
            Definition::Fragment(f) => {
                frags.insert(f.name, f);
            }
            Definition::Operation(op) => ops.push(op),
        }
    }
    let wanted = body.get("operationName").and_then(Value::as_str);
    let op = ops
        .iter()
        .find(|op| wanted.is_none() || op_name(op) == wanted)
        .filter(|_| wanted.is_some() || ops.len() == 1)
        .ok_or_else(|| {
            GqlError::Validation(
                "Must provide operation name if query contains multiple operations.".into(),
                start,
            )
        })?;
    let given = body
        .get("variables")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut vars = Map::new();
    let selection = match op {
        OperationDefinition::SelectionSet(s) => s,
        OperationDefinition::Query(q) => {
            for v in &q.variable_definitions {
                let value = match given.get(v.name) {
                    Some(x) => x.clone(),
                    None => v
                        .default_value
                        .as_ref()
                        .map_or(Value::Null, |d| to_json(d, &Map::new())),
                };
                vars.insert(v.name.to_owned(), value);
            }
            &q.selection_set
        }
        OperationDefinition::Mutation(m) => {
            return Err(GqlError::Validation(
                "The sandbox serves no mutations.".into(),
                m.position,
            ));
        }
        OperationDefinition::Subscription(s) => {
            return Err(GqlError::Validation(
                "The sandbox serves no subscriptions.".into(),
                s.position,
            ));
        }
    };
    let ex = Exec {
        data,
        seed,
        frags,
        vars,
    };
    let complexity = 1 + ex.check(selection, Ty::Query)?;
    let data = ex.object(selection, Ty::Query, None)?;
    Ok(Answer { data, complexity })
}

fn op_name<'q>(op: &OperationDefinition<'q, &'q str>) -> Option<&'q str> {
    match op {
        OperationDefinition::Query(q) => q.name,
        OperationDefinition::Mutation(m) => m.name,
        OperationDefinition::Subscription(s) => s.name,
        OperationDefinition::SelectionSet(_) => None,
    }
}

/// graphql-parser's message (`query parse error: Parse error at 1:5\n...`) in GraphQL's words.
fn parse_error(message: &str) -> GqlError {
    let mut pos = Pos { line: 1, column: 1 };
    if let Some(at) = message.split("error at ").nth(1) {
        let loc: String = at
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ':')
            .collect();
        if let Some((l, c)) = loc.split_once(':') {
            pos = Pos {
                line: l.parse().unwrap_or(1),
                column: c.parse().unwrap_or(1),
            };
        }
    }
    let detail = message
        .lines()
        .skip(1)
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    GqlError::Parse(format!("Syntax Error: {detail}"), pos)
}

/// A literal or variable as JSON.
fn to_json<'q>(v: &GqlValue<'q, &'q str>, vars: &Map<String, Value>) -> Value {
    match v {
        GqlValue::Variable(name) => vars.get(*name).cloned().unwrap_or(Value::Null),
        GqlValue::Int(n) => n.as_i64().map_or(Value::Null, Value::from),
        GqlValue::Float(f) => json!(f),
        GqlValue::String(s) => json!(s),
        GqlValue::Boolean(b) => json!(b),
        GqlValue::Null => Value::Null,
        GqlValue::Enum(e) => json!(e),
        GqlValue::List(items) => Value::Array(items.iter().map(|i| to_json(i, vars)).collect()),
        GqlValue::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| ((*k).to_owned(), to_json(v, vars)))
                .collect(),
        ),
    }
}

struct Exec<'a, 'q> {
    data: &'a Data,
    seed: u64,
    frags: HashMap<&'q str, &'q FragmentDefinition<'q, &'q str>>,
    vars: Map<String, Value>,
}

/// The arguments of a connection field.
struct ConnArgs {
    first: usize,
    after: Option<String>,
    by_update: bool,
    archived: bool,
    filter: Map<String, Value>,
}

impl<'a, 'q> Exec<'a, 'q> {
    /// The fields of a selection set, fragments spread in.
    fn flatten(&self, sel: &'q Sel<'q>, out: &mut Vec<&'q Fld<'q>>) {
        for item in &sel.items {
            match item {
                Selection::Field(f) => out.push(f),
                Selection::InlineFragment(f) => self.flatten(&f.selection_set, out),
                Selection::FragmentSpread(s) => {
                    if let Some(f) = self.frags.get(s.fragment_name) {
                        self.flatten(&f.selection_set, out);
                    }
                }
            }
        }
    }

    fn fields(&self, sel: &'q Sel<'q>) -> Vec<&'q Fld<'q>> {
        let mut out = Vec::new();
        self.flatten(sel, &mut out);
        out
    }

    fn args(&self, f: &Fld<'q>) -> Map<String, Value> {
        f.arguments
            .iter()
            .map(|(k, v)| ((*k).to_owned(), to_json(v, &self.vars)))
            .collect()
    }

    /// Validates `sel` on `ty` and returns its cost.
    fn check(&self, sel: &'q Sel<'q>, ty: Ty) -> Result<u64, GqlError> {
        let mut cost = 0;
        for f in self.fields(sel) {
            let Some(sub) = field_ty(ty, f.name) else {
                let m = format!(
                    "Cannot query field \"{}\" on type \"{}\".",
                    f.name,
                    ty.name()
                );
                return Err(GqlError::Validation(m, f.position));
            };
            let leaf = sub == Ty::Scalar;
            if leaf != f.selection_set.items.is_empty() {
                let m = if leaf {
                    format!(
                        "Field \"{}\" must not have a selection since type \"String\" has no subfields.",
                        f.name
                    )
                } else {
                    format!(
                        "Field \"{}\" of type \"{}\" must have a selection of subfields.",
                        f.name,
                        sub.name()
                    )
                };
                return Err(GqlError::Validation(m, f.position));
            }
            let inner = self.check(&f.selection_set, sub)?;
            cost += match sub {
                Ty::Conn(_) => {
                    let first = self
                        .args(f)
                        .get("first")
                        .and_then(Value::as_u64)
                        .unwrap_or(50);
                    first * (1 + inner)
                }
                Ty::Obj(_) | Ty::Org => 1 + inner,
                _ => inner,
            };
        }
        Ok(cost)
    }

    /// The answer for `sel` on `ty` (`row`: the object, for `Obj`).
    fn object(&self, sel: &'q Sel<'q>, ty: Ty, row: Option<&'a Row>) -> Result<Value, GqlError> {
        let mut out = Map::new();
        for f in self.fields(sel) {
            let key = f.alias.unwrap_or(f.name);
            let value = if f.name == "__typename" {
                json!(ty.name())
            } else {
                self.field(f, key, ty, row)?
            };
            out.insert(key.to_owned(), value);
        }
        Ok(Value::Object(out))
    }

    fn sub(&self, f: &'q Fld<'q>, kind: Kind, row: Option<&'a Row>) -> Result<Value, GqlError> {
        match row.filter(|r| r.deleted.is_none()) {
            Some(r) => self.object(&f.selection_set, Ty::Obj(kind), Some(r)),
            None => Ok(Value::Null),
        }
    }

    fn field(
        &self,
        f: &'q Fld<'q>,
        key: &str,
        ty: Ty,
        row: Option<&'a Row>,
    ) -> Result<Value, GqlError> {
        let d = self.data;
        match ty {
            Ty::Query => match f.name {
                "viewer" => {
                    let user = d.table(Kind::User).all().next();
                    self.sub(f, Kind::User, user)
                }
                "organization" => self.object(&f.selection_set, Ty::Org, None),
                name if single_kind(name).is_some() => {
                    let kind = single_kind(name).unwrap_or(Kind::Issue);
                    let id = self
                        .args(f)
                        .get("id")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    let id = id.unwrap_or_default();
                    let row = d.table(kind).live().find(|r| {
                        r.str("id") == id || (kind == Kind::Issue && identifier(r) == id)
                    });
                    let missing = || GqlError::NotFound(kind.type_name(), key.to_owned());
                    self.sub(f, kind, Some(row.ok_or_else(missing)?))
                }
                name => {
                    let kind = root_kind(name).unwrap_or(Kind::Issue);
                    self.connection(f, key, kind, d.table(kind).live().collect())
                }
            },
            Ty::Org => Ok(match f.name {
                "id" => json!(uuid(self.seed, 0)),
                "name" => json!(ORG_NAME),
                "urlKey" => json!(URL_KEY),
                _ => json!(iso_ms(1_703_980_800)),
            }),
            Ty::Obj(kind) => {
                let Some(row) = row else {
                    return Ok(Value::Null);
                };
                let Some(spec) = object_field(kind, f.name) else {
                    return Ok(Value::Null);
                };
                self.resolve(f, key, row, spec)
            }
            _ => Ok(Value::Null),
        }
    }

    fn resolve(&self, f: &'q Fld<'q>, key: &str, row: &'a Row, spec: F) -> Result<Value, GqlError> {
        let d = self.data;
        Ok(match spec {
            Id => json!(row.str("id")),
            V(k) => row.field(k),
            T(k) => time(row, k).map_or(Value::Null, |t| json!(iso_ms(t))),
            D(k) => time(row, k).map_or(Value::Null, |t| json!(date(t))),
            Created => json!(iso_ms(row.created)),
            Updated => json!(iso_ms(row.updated)),
            Identifier => json!(identifier(row)),
            R(k, field) => {
                return self.sub(f, k, reference(row, field).and_then(|id| d.get(k, id)));
            }
            Parent(k) => return self.sub(f, k, row.parent.and_then(|id| d.get(k, id))),
            Team => return self.sub(f, Kind::Team, d.team(row.scope)),
            Ids(k, field) => {
                let rows = ids(row, field)
                    .into_iter()
                    .filter_map(|id| d.get(k, id))
                    .filter(|r| r.deleted.is_none());
                return self.connection(f, key, k, rows.collect());
            }
            Children(k) => {
                let rows = d.table(k).live().filter(|r| r.parent == Some(row.id));
                return self.connection(f, key, k, rows.collect());
            }
        })
    }

    fn conn_args(&self, f: &Fld<'q>, key: &str) -> Result<ConnArgs, GqlError> {
        let args = self.args(f);
        let bad = |m: String| GqlError::Input(m, key.to_owned());
        let first = match args.get("first") {
            None | Some(Value::Null) => 50,
            Some(v) => v
                .as_u64()
                .filter(|n| (1..=250).contains(n))
                .ok_or_else(|| bad(format!("first must be between 1 and 250, got {v}")))?,
        };
        let after = args.get("after").and_then(Value::as_str).map(str::to_owned);
        let by_update = match args.get("orderBy") {
            None | Some(Value::Null) => false,
            Some(v) if v == "createdAt" => false,
            Some(v) if v == "updatedAt" => true,
            Some(v) => {
                return Err(bad(format!(
                    "orderBy must be createdAt or updatedAt, got {v}"
                )));
            }
        };
        let archived = args
            .get("includeArchived")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let filter = match args.get("filter") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(v) => return Err(bad(format!("filter must be an object, got {v}"))),
        };
        Ok(ConnArgs {
            first: first as usize,
            after,
            by_update,
            archived,
            filter,
        })
    }

    fn connection(
        &self,
        f: &'q Fld<'q>,
        key: &str,
        kind: Kind,
        rows: Vec<&'a Row>,
    ) -> Result<Value, GqlError> {
        let a = self.conn_args(f, key)?;
        let bad = |m: String| GqlError::Input(m, key.to_owned());
        let mut kept = Vec::new();
        for r in rows {
            if (a.archived || !archived(r)) && self.matches(kind, r, &a.filter).map_err(bad)? {
                kept.push(r);
            }
        }
        if a.by_update {
            kept.sort_by_key(|r| std::cmp::Reverse((r.updated, r.id)));
        } else {
            kept.sort_by_key(|r| (r.created, r.id));
        }
        let page =
            cursor_page(kept.len(), Some(a.first), 50, 250, a.after.as_deref()).map_err(|_| {
                bad(format!(
                    "Invalid cursor: {}",
                    a.after.as_deref().unwrap_or_default()
                ))
            })?;
        let start = page.range.start;
        let nodes = &kept[page.range.clone()];
        let mut out = Map::new();
        for sub in self.fields(&f.selection_set) {
            let k = sub.alias.unwrap_or(sub.name);
            let value = match sub.name {
                "__typename" => json!(Ty::Conn(kind).name()),
                "nodes" => Value::Array(
                    nodes
                        .iter()
                        .map(|r| self.object(&sub.selection_set, Ty::Obj(kind), Some(r)))
                        .collect::<Result<_, _>>()?,
                ),
                "edges" => {
                    let mut edges = Vec::new();
                    for (i, r) in nodes.iter().enumerate() {
                        let mut edge = Map::new();
                        for e in self.fields(&sub.selection_set) {
                            let ek = e.alias.unwrap_or(e.name);
                            let v = match e.name {
                                "node" => self.object(&e.selection_set, Ty::Obj(kind), Some(r))?,
                                "cursor" => json!(encode_cursor(start + i + 1)),
                                _ => json!(Ty::Edge(kind).name()),
                            };
                            edge.insert(ek.to_owned(), v);
                        }
                        edges.push(Value::Object(edge));
                    }
                    Value::Array(edges)
                }
                _ => {
                    let empty = nodes.is_empty();
                    let mut info = Map::new();
                    for p in self.fields(&sub.selection_set) {
                        let v = match p.name {
                            "hasNextPage" => json!(page.has_more()),
                            "hasPreviousPage" => json!(start > 0),
                            "startCursor" if !empty => json!(encode_cursor(start + 1)),
                            "endCursor" if !empty => json!(encode_cursor(page.range.end)),
                            "__typename" => json!("PageInfo"),
                            _ => Value::Null,
                        };
                        info.insert(p.alias.unwrap_or(p.name).to_owned(), v);
                    }
                    Value::Object(info)
                }
            };
            out.insert(k.to_owned(), value);
        }
        Ok(Value::Object(out))
    }

    /// Whether `row` passes `filter`; `Err` names what the filter got wrong.
    fn matches(&self, kind: Kind, row: &Row, filter: &Map<String, Value>) -> Result<bool, String> {
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

fn ops<'v>(cond: &'v Value, what: &str) -> Result<&'v Map<String, Value>, String> {
    cond.as_object()
        .ok_or_else(|| format!("{what} filter must be an object"))
}

/// `{key: {eq|in|...}}` against a team key.
fn key_cmp(cond: &Value, key: &str, what: &str) -> Result<bool, String> {
    let inner = ops(cond, what)?;
    let mut ok = true;
    for (k, v) in inner {
        match k.as_str() {
            "key" => ok &= string_cmp(v, key, &format!("{what}.key"))?,
            other => return Err(format!("Unknown filter field \"{other}\" on {what}")),
        }
    }
    Ok(ok)
}

fn string_cmp(cond: &Value, actual: &str, what: &str) -> Result<bool, String> {
    let mut ok = true;
    for (op, v) in ops(cond, what)? {
        let list = || {
            v.as_array()
                .map(|a| a.iter().any(|x| x.as_str() == Some(actual)))
        };
        ok &= match (op.as_str(), v) {
            (_, Value::Null) => true,
            ("eq", _) => v.as_str() == Some(actual),
            ("neq", _) => v.as_str() != Some(actual),
            ("in", _) => list().ok_or_else(|| format!("{what}.in must be a list"))?,
            ("nin", _) => !list().ok_or_else(|| format!("{what}.nin must be a list"))?,
            _ => return Err(format!("Unknown comparator \"{op}\" on {what}")),
        };
    }
    Ok(ok)
}

fn time_cmp(cond: &Value, actual: Secs, what: &str) -> Result<bool, String> {
    let mut ok = true;
    for (op, v) in ops(cond, what)? {
        if v.is_null() {
            continue;
        }
        let t = v
            .as_str()
            .and_then(parse_ms)
            .ok_or_else(|| format!("{what}.{op}: {v} is not a valid date-time"))?;
        let actual = actual * 1000;
        ok &= match op.as_str() {
            "gt" => actual > t,
            "gte" => actual >= t,
            "lt" => actual < t,
            "lte" => actual <= t,
            "eq" => actual == t,
            "neq" => actual != t,
            _ => return Err(format!("Unknown comparator \"{op}\" on {what}")),
        };
    }
    Ok(ok)
}

/// An ISO time in milliseconds (the sandbox's own times are whole seconds).
fn parse_ms(s: &str) -> Option<i64> {
    match chrono::DateTime::parse_from_rfc3339(s.trim()) {
        Ok(t) => Some(t.timestamp_millis()),
        Err(_) => parse_iso(s).map(|t| t * 1000),
    }
}
