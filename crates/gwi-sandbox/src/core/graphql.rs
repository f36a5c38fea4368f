//! A GraphQL executor over sandbox tables, for providers whose API is GraphQL: it parses the
//! document, picks the operation, binds variables, spreads fragments, validates the selection
//! against the provider's [`Schema`] and answers exactly the fields asked for.
//!
//! Lists are Relay connections (`nodes`, `edges { node cursor }`, `pageInfo`) over rows, paged
//! with the opaque cursors of [`crate::core::cursor`]. A connection takes `first` (1..=250,
//! default 50), `after`, `orderBy` (`createdAt`, oldest first, the default; or `updatedAt`,
//! newest first), `includeArchived` and `filter`, the arguments Linear's connections take; the
//! schema decides what `filter` means and what is archived. Errors are `errors` documents
//! with the codes Linear answers with (`GRAPHQL_PARSE_FAILED`, `INPUT_ERROR`, ...).

use std::collections::HashMap;

use graphql_parser::Pos;
use graphql_parser::query::{
    Definition, Document, Field, FragmentDefinition, OperationDefinition, Selection, SelectionSet,
    Value as GqlValue,
};
use serde_json::{Map, Value, json};

use crate::core::cursor::{cursor_page, encode_cursor};
use crate::core::table::Row;
use crate::core::time::{Secs, parse_iso};

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
    /// The `errors` document answered with (HTTP 400).
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

/// A type in a schema; `K` names the provider's object types.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ty<K> {
    /// A leaf (every scalar is answered as JSON, so one leaf type serves).
    Scalar,
    /// The root query type.
    Query,
    /// An object type.
    Obj(K),
    /// A connection of objects.
    Conn(K),
    /// An edge of a connection.
    Edge(K),
    /// A connection's `pageInfo`.
    PageInfo,
}

/// What a field of an object (or of the root) holds.
#[derive(Debug)]
pub enum Resolved<'a, K> {
    /// A leaf value, or null.
    Value(Value),
    /// An object, with its row (`None` for an object that has no row, like a workspace's
    /// organization).
    Object(K, Option<&'a Row>),
    /// A connection over these rows, before its arguments filter, sort and page them.
    Connection(K, Vec<&'a Row>),
}

/// What a provider tells the executor about its API: the fields of each type and how each is
/// read from the provider's rows.
pub trait Schema<'a> {
    /// Names the object types.
    type Kind: Copy + PartialEq;

    /// The GraphQL name of an object type.
    fn type_name(&self, kind: Self::Kind) -> &'static str;

    /// The type of field `name` of object type `on` (`None`: the root query type), if it has one.
    fn field_type(&self, on: Option<Self::Kind>, name: &str) -> Option<Ty<Self::Kind>>;

    /// Field `name` of object `on` (`None`: the root), given its arguments; `key` is the
    /// field's response key, for errors.
    fn resolve(
        &self,
        on: Option<(Self::Kind, Option<&'a Row>)>,
        name: &str,
        key: &str,
        args: &Map<String, Value>,
    ) -> Result<Resolved<'a, Self::Kind>, GqlError>;

    /// Whether `row` passes a connection's `filter`; `Err` names what the filter got wrong.
    fn matches(
        &self,
        kind: Self::Kind,
        row: &Row,
        filter: &Map<String, Value>,
    ) -> Result<bool, String>;

    /// Whether `row` is archived (listed only with `includeArchived: true`).
    fn archived(&self, row: &Row) -> bool;
}

/// A successful answer: `data` and the query's complexity.
#[derive(Debug)]
pub struct Answer {
    /// The `data` object.
    pub data: Value,
    /// The query's cost: each object asked for costs 1, times `first` inside a connection.
    pub complexity: u64,
}

type Doc<'q> = Document<'q, &'q str>;
type Sel<'q> = SelectionSet<'q, &'q str>;
type Fld<'q> = Field<'q, &'q str>;

/// Runs the request body `{"query", "variables", "operationName"}` against `schema`.
pub fn execute<'a, S: Schema<'a>>(schema: &S, body: &Value) -> Result<Answer, GqlError> {
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
    let given = body.get("variables").and_then(Value::as_object);
    let mut vars = Map::new();
    let selection = match op {
        OperationDefinition::SelectionSet(s) => s,
        OperationDefinition::Query(q) => {
            for v in &q.variable_definitions {
                let value = match given.and_then(|g| g.get(v.name)) {
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
        schema,
        frags,
        vars,
    };
    let complexity = 1 + ex.check(selection, Ty::Query)?;
    let data = ex.object(selection, None)?;
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

struct Exec<'s, 'q, S> {
    schema: &'s S,
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

impl<'a, 'q, S: Schema<'a>> Exec<'_, 'q, S> {
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

    fn type_name(&self, ty: Ty<S::Kind>) -> String {
        match ty {
            Ty::Scalar => "String".into(),
            Ty::Query => "Query".into(),
            Ty::Obj(k) => self.schema.type_name(k).into(),
            Ty::Conn(k) => format!("{}Connection", self.schema.type_name(k)),
            Ty::Edge(k) => format!("{}Edge", self.schema.type_name(k)),
            Ty::PageInfo => "PageInfo".into(),
        }
    }

    /// The type of field `name` of type `ty`, if it has one.
    fn field_type(&self, ty: Ty<S::Kind>, name: &str) -> Option<Ty<S::Kind>> {
        if name == "__typename" {
            return Some(Ty::Scalar);
        }
        match ty {
            Ty::Scalar => None,
            Ty::Query => self.schema.field_type(None, name),
            Ty::Obj(k) => self.schema.field_type(Some(k), name),
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

    /// Validates `sel` on `ty` and returns its cost.
    fn check(&self, sel: &'q Sel<'q>, ty: Ty<S::Kind>) -> Result<u64, GqlError> {
        let mut cost = 0;
        for f in self.fields(sel) {
            let Some(sub) = self.field_type(ty, f.name) else {
                let m = format!(
                    "Cannot query field \"{}\" on type \"{}\".",
                    f.name,
                    self.type_name(ty)
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
                        self.type_name(sub)
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
                Ty::Obj(_) => 1 + inner,
                _ => inner,
            };
        }
        Ok(cost)
    }

    /// The answer for `sel` on object `on` (`None`: the root).
    fn object(
        &self,
        sel: &'q Sel<'q>,
        on: Option<(S::Kind, Option<&'a Row>)>,
    ) -> Result<Value, GqlError> {
        let ty = on.map_or(Ty::Query, |(k, _)| Ty::Obj(k));
        let mut out = Map::new();
        for f in self.fields(sel) {
            let key = f.alias.unwrap_or(f.name);
            let value = if f.name == "__typename" {
                json!(self.type_name(ty))
            } else {
                let args = self.args(f);
                match self.schema.resolve(on, f.name, key, &args)? {
                    Resolved::Value(v) => v,
                    Resolved::Object(k, row) => self.object(&f.selection_set, Some((k, row)))?,
                    Resolved::Connection(k, rows) => self.connection(f, key, k, rows, &args)?,
                }
            };
            out.insert(key.to_owned(), value);
        }
        Ok(Value::Object(out))
    }

    fn conn_args(&self, args: &Map<String, Value>, key: &str) -> Result<ConnArgs, GqlError> {
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
        kind: S::Kind,
        rows: Vec<&'a Row>,
        args: &Map<String, Value>,
    ) -> Result<Value, GqlError> {
        let a = self.conn_args(args, key)?;
        let bad = |m: String| GqlError::Input(m, key.to_owned());
        let mut kept = Vec::new();
        for r in rows {
            if (a.archived || !self.schema.archived(r))
                && self.schema.matches(kind, r, &a.filter).map_err(bad)?
            {
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
        let node = |sel, r: &'a Row| self.object(sel, Some((kind, Some(r))));
        let mut out = Map::new();
        for sub in self.fields(&f.selection_set) {
            let value = match sub.name {
                "__typename" => json!(self.type_name(Ty::Conn(kind))),
                "nodes" => Value::Array(
                    nodes
                        .iter()
                        .map(|r| node(&sub.selection_set, r))
                        .collect::<Result<_, _>>()?,
                ),
                "edges" => {
                    let mut edges = Vec::new();
                    for (i, r) in nodes.iter().enumerate() {
                        let mut edge = Map::new();
                        for e in self.fields(&sub.selection_set) {
                            let v = match e.name {
                                "node" => node(&e.selection_set, r)?,
                                "cursor" => json!(encode_cursor(start + i + 1)),
                                _ => json!(self.type_name(Ty::Edge(kind))),
                            };
                            edge.insert(e.alias.unwrap_or(e.name).to_owned(), v);
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
            out.insert(sub.alias.unwrap_or(sub.name).to_owned(), value);
        }
        Ok(Value::Object(out))
    }
}

/// The comparators of a filter condition (`{eq: ..., in: [...]}`); `what` names the field.
pub fn comparators<'v>(cond: &'v Value, what: &str) -> Result<&'v Map<String, Value>, String> {
    cond.as_object()
        .ok_or_else(|| format!("{what} filter must be an object"))
}

/// Whether `actual` passes a string condition (`eq`, `neq`, `in`, `nin`; null ignored).
pub fn string_cmp(cond: &Value, actual: &str, what: &str) -> Result<bool, String> {
    let mut ok = true;
    for (op, v) in comparators(cond, what)? {
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

/// Whether `actual` passes a date-time condition (`gt`, `gte`, `lt`, `lte`, `eq`, `neq`;
/// null ignored), compared in milliseconds.
pub fn time_cmp(cond: &Value, actual: Secs, what: &str) -> Result<bool, String> {
    let mut ok = true;
    for (op, v) in comparators(cond, what)? {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A schema of one type, `Item { id name }`, listed by the root connection `items`.
    struct Items(Vec<Row>);

    impl<'a> Schema<'a> for &'a Items {
        type Kind = ();

        fn type_name(&self, (): ()) -> &'static str {
            "Item"
        }

        fn field_type(&self, on: Option<()>, name: &str) -> Option<Ty<()>> {
            match (on, name) {
                (None, "items") => Some(Ty::Conn(())),
                (Some(()), "id" | "name") => Some(Ty::Scalar),
                _ => None,
            }
        }

        fn resolve(
            &self,
            on: Option<((), Option<&'a Row>)>,
            name: &str,
            _: &str,
            _: &Map<String, Value>,
        ) -> Result<Resolved<'a, ()>, GqlError> {
            Ok(match on {
                None => Resolved::Connection((), self.0.iter().collect()),
                Some((_, row)) => Resolved::Value(row.map_or(Value::Null, |r| r.field(name))),
            })
        }

        fn matches(&self, (): (), row: &Row, filter: &Map<String, Value>) -> Result<bool, String> {
            match filter.get("name") {
                None => Ok(true),
                Some(cond) => string_cmp(cond, row.str("name"), "name"),
            }
        }

        fn archived(&self, row: &Row) -> bool {
            row.fields.contains_key("archived")
        }
    }

    fn items() -> Items {
        Items(
            (1..=5)
                .map(|i| {
                    let row = Row::new(i, 0, 1_000 - i as Secs).with("name", format!("n{i}"));
                    if i == 3 {
                        row.with("archived", true)
                    } else {
                        row
                    }
                })
                .collect(),
        )
    }

    fn run(items: &Items, query: &str, variables: Value) -> Result<Answer, GqlError> {
        execute(&items, &json!({"query": query, "variables": variables}))
    }

    #[test]
    fn a_connection_pages_with_fragments_variables_and_the_schemas_filter_and_archive() {
        let items = items();
        let q = "query($n: Int, $after: String) { items(first: $n, after: $after) \
                 { edges { cursor node { ...F } } pageInfo { hasNextPage endCursor } } } \
                 fragment F on Item { name }";
        let mut names = Vec::new();
        let mut after = Value::Null;
        loop {
            let answer = run(&items, q, json!({"n": 2, "after": after})).unwrap();
            let conn = &answer.data["items"];
            for e in conn["edges"].as_array().unwrap() {
                names.push(e["node"]["name"].as_str().unwrap().to_owned());
            }
            if conn["pageInfo"]["hasNextPage"] != json!(true) {
                break;
            }
            after = conn["pageInfo"]["endCursor"].clone();
        }
        // Oldest first; the archived item is left out.
        assert_eq!(names, ["n5", "n4", "n2", "n1"]);
        let q = "{ items(filter: {name: {in: [\"n1\", \"n3\"]}}, includeArchived: true) \
                 { nodes { id: name } } }";
        let answer = run(&items, q, Value::Null).unwrap();
        assert_eq!(
            answer.data,
            json!({"items": {"nodes": [{"id": "n3"}, {"id": "n1"}]}})
        );
        assert_eq!(answer.complexity, 1 + 50 * 2);
    }

    #[test]
    fn refusals_name_the_field_and_the_argument() {
        let items = items();
        let cases = [
            ("{ items { nodes { nope } } }", "GRAPHQL_VALIDATION_FAILED"),
            ("{ items { nodes } }", "GRAPHQL_VALIDATION_FAILED"),
            ("{ items(first: 0) { nodes { id } } }", "INPUT_ERROR"),
            ("{ items(after: \"x\") { nodes { id } } }", "INPUT_ERROR"),
            (
                "{ items(filter: {name: {like: 1}}) { nodes { id } } }",
                "INPUT_ERROR",
            ),
            ("{ items { ", "GRAPHQL_PARSE_FAILED"),
            (
                "mutation { items { nodes { id } } }",
                "GRAPHQL_VALIDATION_FAILED",
            ),
        ];
        for (q, code) in cases {
            let err = run(&items, q, Value::Null).unwrap_err();
            assert_eq!(err.body()["errors"][0]["extensions"]["code"], code, "{q}");
        }
        let err = run(&items, "{ items { nodes { nope } } }", Value::Null).unwrap_err();
        assert!(
            matches!(err, GqlError::Validation(m, _) if m.contains("\"nope\" on type \"Item\""))
        );
    }
}
