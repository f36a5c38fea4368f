//! Tables of provider objects and the listing every provider module serves from them.
//!
//! A provider module keeps one [`Table`] per kind of object (merge requests, notes, ...). A row
//! carries what every listing filters and sorts on (scope, parent, times, deletion) and the
//! provider's own fields as JSON, which the module's templates render into the provider's shape.
//! Filters, ordering and the mutator's create/update/delete live here once.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::rng::SandboxRng;
use super::time::Secs;

/// One object of a simulated provider.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The provider's id, unique in its table.
    pub id: u64,
    /// Where the object lives (a project, a channel, a team): the index of the scope in the
    /// provider's list of scopes.
    pub scope: usize,
    /// The object it belongs to, for children such as comments (the parent's id).
    pub parent: Option<u64>,
    /// When it was created.
    pub created: Secs,
    /// When it last changed.
    pub updated: Secs,
    /// When it was deleted; deleted rows stay in the table so expectations can report them.
    pub deleted: Option<Secs>,
    /// The provider's own fields, rendered by its templates.
    pub fields: Map<String, Value>,
}

impl Row {
    /// A live row created and last updated at `created`.
    pub fn new(id: u64, scope: usize, created: Secs) -> Self {
        Self {
            id,
            scope,
            parent: None,
            created,
            updated: created,
            deleted: None,
            fields: Map::new(),
        }
    }

    /// The same row under `parent`.
    pub fn child_of(mut self, parent: u64) -> Self {
        self.parent = Some(parent);
        self
    }

    /// Sets one provider field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    /// A provider field as a string (`""` when absent or not a string).
    pub fn str(&self, key: &str) -> &str {
        self.fields.get(key).and_then(Value::as_str).unwrap_or("")
    }

    /// A provider field as an unsigned integer (0 when absent).
    pub fn u64(&self, key: &str) -> u64 {
        self.fields.get(key).and_then(Value::as_u64).unwrap_or(0)
    }

    /// A provider field (`null` when absent).
    pub fn field(&self, key: &str) -> Value {
        self.fields.get(key).cloned().unwrap_or(Value::Null)
    }
}

/// Which time a listing orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKey {
    /// The id (creation order).
    Id,
    /// Creation time, then id.
    Created,
    /// Last change, then id.
    Updated,
}

/// A closed-or-open time range; `None` ends are unbounded. Both ends are inclusive, as the
/// `since`/`updated_after` filters of the providers gwi serves are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Range {
    /// Earliest time kept.
    pub from: Option<Secs>,
    /// Latest time kept.
    pub to: Option<Secs>,
}

impl Range {
    fn holds(&self, t: Secs) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|u| t <= u)
    }
}

/// What a listing asks of a table.
#[derive(Default)]
pub struct Select<'a> {
    /// Only rows of this scope.
    pub scope: Option<usize>,
    /// Only children of this parent.
    pub parent: Option<u64>,
    /// Only rows changed in this range.
    pub updated: Range,
    /// Only rows created in this range.
    pub created: Range,
    /// Keep deleted rows (providers that list archived objects).
    pub include_deleted: bool,
    /// The provider's own filter (`state=opened`, ...).
    pub filter: Option<&'a dyn Fn(&Row) -> bool>,
    /// Order; `None` keeps insertion order.
    pub order: Option<(OrderKey, Direction)>,
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Oldest (smallest) first.
    Asc,
    /// Newest (largest) first.
    Desc,
}

impl Direction {
    /// `asc`/`desc` as providers spell it, any case; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("asc") {
            Some(Self::Asc)
        } else if s.eq_ignore_ascii_case("desc") {
            Some(Self::Desc)
        } else {
            None
        }
    }
}

/// Rows of one kind of object, in creation order, with an index by id.
#[derive(Debug, Clone, Default)]
pub struct Table {
    rows: Vec<Row>,
    by_id: HashMap<u64, usize>,
}

impl Table {
    /// Adds `row`, replacing a row with the same id.
    pub fn insert(&mut self, row: Row) {
        match self.by_id.get(&row.id) {
            Some(&i) => {
                if let Some(slot) = self.rows.get_mut(i) {
                    *slot = row;
                }
            }
            None => {
                self.by_id.insert(row.id, self.rows.len());
                self.rows.push(row);
            }
        }
    }

    /// The row with `id`, deleted or not.
    pub fn get(&self, id: u64) -> Option<&Row> {
        self.by_id.get(&id).and_then(|&i| self.rows.get(i))
    }

    /// The row with `id`, to change it.
    pub fn get_mut(&mut self, id: u64) -> Option<&mut Row> {
        self.by_id.get(&id).and_then(|&i| self.rows.get_mut(i))
    }

    /// Every row, deleted ones included, in creation order.
    pub fn all(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter()
    }

    /// Rows not deleted.
    pub fn live(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.deleted.is_none())
    }

    /// How many rows are not deleted.
    pub fn live_count(&self) -> usize {
        self.live().count()
    }

    /// The largest id, 0 for an empty table (new rows take the next one).
    pub fn max_id(&self) -> u64 {
        self.rows.iter().map(|r| r.id).max().unwrap_or(0)
    }

    /// The newest creation or change time of any row.
    pub fn newest(&self) -> Secs {
        self.rows
            .iter()
            .map(|r| r.updated.max(r.deleted.unwrap_or(0)))
            .max()
            .unwrap_or(0)
    }

    /// The rows `select` asks for, in its order.
    pub fn select(&self, select: &Select<'_>) -> Vec<&Row> {
        let mut rows: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| select.include_deleted || r.deleted.is_none())
            .filter(|r| select.scope.is_none_or(|s| r.scope == s))
            .filter(|r| select.parent.is_none_or(|p| r.parent == Some(p)))
            .filter(|r| select.updated.holds(r.updated) && select.created.holds(r.created))
            .filter(|r| select.filter.is_none_or(|f| f(r)))
            .collect();
        if let Some((key, direction)) = select.order {
            rows.sort_by(|a, b| {
                let ord = match key {
                    OrderKey::Id => a.id.cmp(&b.id),
                    OrderKey::Created => (a.created, a.id).cmp(&(b.created, b.id)),
                    OrderKey::Updated => (a.updated, a.id).cmp(&(b.updated, b.id)),
                };
                match direction {
                    Direction::Asc => ord,
                    Direction::Desc => ord.reverse(),
                }
            });
        }
        rows
    }

    /// Stamps the live row `id` as changed `at`, letting `edit` change its fields; `false` when
    /// there is no such live row.
    pub fn update(&mut self, id: u64, at: Secs, edit: impl FnOnce(&mut Row)) -> bool {
        match self.get_mut(id) {
            Some(row) if row.deleted.is_none() => {
                row.updated = at;
                edit(row);
                true
            }
            _ => false,
        }
    }

    /// Marks the live row `id` deleted `at`; `false` when there is no such live row.
    pub fn delete(&mut self, id: u64, at: Secs) -> bool {
        match self.get_mut(id) {
            Some(row) if row.deleted.is_none() => {
                row.deleted = Some(at);
                true
            }
            _ => false,
        }
    }

    /// A live row picked by `rng` among those `keep` accepts; `None` when there is none.
    pub fn pick(&self, rng: &mut SandboxRng, keep: impl Fn(&Row) -> bool) -> Option<u64> {
        let ids: Vec<u64> = self.live().filter(|r| keep(r)).map(|r| r.id).collect();
        rng.pick(&ids).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut t = Table::default();
        for (id, scope, created, updated) in [(1, 0, 10, 50), (2, 0, 20, 30), (3, 1, 30, 30)] {
            let mut row = Row::new(id, scope, created);
            row.updated = updated;
            t.insert(row.with("state", if id == 2 { "closed" } else { "opened" }));
        }
        t
    }

    fn ids(rows: Vec<&Row>) -> Vec<u64> {
        rows.into_iter().map(|r| r.id).collect()
    }

    #[test]
    fn selects_by_scope_time_and_filter_in_order_with_id_ties() {
        let t = table();
        let by_update = Select {
            order: Some((OrderKey::Updated, Direction::Asc)),
            ..Select::default()
        };
        assert_eq!(ids(t.select(&by_update)), vec![2, 3, 1]);
        let newest_first = Select {
            order: Some((OrderKey::Updated, Direction::Desc)),
            ..Select::default()
        };
        assert_eq!(ids(t.select(&newest_first)), vec![1, 3, 2]);
        let since = Select {
            scope: Some(0),
            updated: Range {
                from: Some(30),
                to: None,
            },
            ..Select::default()
        };
        assert_eq!(ids(t.select(&since)), vec![1, 2], "the bound is inclusive");
        let open = |r: &Row| r.str("state") == "opened";
        let filtered = Select {
            filter: Some(&open),
            ..Select::default()
        };
        assert_eq!(ids(t.select(&filtered)), vec![1, 3]);
    }

    #[test]
    fn updates_and_deletes_only_live_rows_and_keeps_deleted_ones_for_reports() {
        let mut t = table();
        assert!(t.update(2, 99, |r| {
            r.fields.insert("state".into(), "opened".into());
        }));
        assert_eq!(
            t.get(2).map(|r| (r.updated, r.str("state"))),
            Some((99, "opened"))
        );
        assert!(t.delete(2, 100));
        assert!(!t.delete(2, 101), "a row is deleted once");
        assert!(!t.update(2, 102, |_| {}), "a deleted row does not change");
        assert_eq!(ids(t.select(&Select::default())), vec![1, 3]);
        let archived = Select {
            include_deleted: true,
            ..Select::default()
        };
        assert_eq!(ids(t.select(&archived)), vec![1, 2, 3]);
        assert_eq!((t.live_count(), t.max_id(), t.newest()), (2, 3, 100));
    }

    #[test]
    fn insert_replaces_a_row_with_the_same_id() {
        let mut t = table();
        t.insert(Row::new(1, 5, 1));
        assert_eq!(t.get(1).map(|r| r.scope), Some(5));
        assert_eq!(t.all().count(), 3);
    }
}
