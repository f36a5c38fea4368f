//! Listings ordered oldest change first: checkpoint at each page's newest time.

use std::collections::HashSet;
use std::fmt::Display;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::{Value, json};

use super::cursor::{Cursor, time_value};
use super::{Listing, Step, Steps, clamp};

/// At most this many ids ride in a [`Mark`]; past it the mark keeps none, which costs the next
/// walk a second look at those items but never skips one.
const MARK_IDS: usize = 100;

/// Where an oldest-first walk stands: the newest change time read, and the ids read at exactly
/// that time. The next walk lists those items again (time filters are inclusive) and skips
/// them, so an unchanged upstream costs no per-item work (GitLab reads each changed parent's
/// notes and each finished pipeline's detail).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mark {
    /// The newest change time read; `None` starts from the beginning.
    pub time: Option<DateTime<Utc>>,
    /// The ids read at exactly `time`, sorted.
    pub ids: Vec<String>,
}

impl Mark {
    /// A mark at `time` that knows of no item read there.
    pub fn at(time: DateTime<Utc>) -> Self {
        Self {
            time: Some(time),
            ids: Vec::new(),
        }
    }

    /// The mark as stored: its time alone (as a plain time cursor is) when it holds no ids.
    pub fn value(&self) -> Value {
        if self.ids.is_empty() {
            time_value(self.time)
        } else {
            json!({"time": time_value(self.time), "ids": self.ids})
        }
    }
}

impl Cursor for Mark {
    fn from_stored(value: &Value) -> Result<Self, String> {
        let Value::Object(parts) = value else {
            return DateTime::<Utc>::from_stored(value).map(Self::at);
        };
        let time = match parts.get("time") {
            None | Some(Value::Null) => None,
            Some(time) => {
                Some(DateTime::<Utc>::from_stored(time).map_err(|e| format!("time: {e}"))?)
            }
        };
        let ids = match parts.get("ids") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(ids)) => ids
                .iter()
                .map(|id| match id {
                    Value::String(id) => Ok(id.clone()),
                    other => Err(format!("ids: expected strings, found {other}")),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(format!("ids: expected a list, found {other}")),
        };
        Ok(Self { time, ids })
    }

    fn from_start(text: &str) -> Result<Self, String> {
        DateTime::<Utc>::from_start(text).map(Self::at)
    }
}

/// How an oldest-first listing addresses its pages, which decides how the walk moves on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// By an opaque cursor or keyset the provider hands out: the next page starts after the
    /// last item read, whatever changes meanwhile, so the walk follows it.
    Cursor,
    /// By offset or page number: an item changed mid-walk moves to the end of the listing and
    /// shifts an unread item onto a page already read. Each next page is therefore a new query
    /// from the newest time read so far (a keyset re-query), and the next page is followed only
    /// while a whole page shares one time (no newer time to re-query from).
    Offset,
}

/// Walks a listing ordered by change time, oldest first, from `since`.
///
/// `query(since)` lists the items changed at or after `since` (inclusive, as GitHub's and
/// GitLab's filters are), oldest first. `key` gives an item's change time and its id; the id
/// drops the items a re-query lists again at the boundary time, and those the mark says an
/// earlier walk read there, so each version is yielded once. After each page the walk yields a
/// checkpoint: a mark at the newest time read, held back to the server's clock (a held-back mark
/// keeps no ids, since items at its time may be unread).
///
/// Known limit: with [`Paging::Offset`], when a whole page of items shares one change time, the
/// walk has no newer time to re-query from and follows the next page instead; a change during
/// that one step can still shift an unread item onto the page just read. (GitHub and GitLab list
/// 100 items a page, with times in whole seconds.)
pub fn ascending<'a, T, K, Q>(
    since: Mark,
    paging: Paging,
    key: fn(&T) -> (DateTime<Utc>, K),
    mut query: Q,
) -> Steps<'a, T, Mark>
where
    T: Send + 'a,
    K: Display + Send + 'a,
    Q: FnMut(Option<DateTime<Utc>>) -> Listing<'a, T> + Send + 'a,
{
    Box::pin(async_stream::try_stream! {
        let mut cursor = since.time;
        let mut query_since = since.time;
        // The newest time read, and the ids read at exactly that time (by this walk, or by the
        // one the mark comes from).
        let mut boundary: Option<DateTime<Utc>> = since.time;
        let mut at_boundary: HashSet<String> = since.ids.into_iter().collect();
        let mut pages = query(query_since);
        while let Some(page) = pages.next().await {
            let page = page?;
            let paged_by = page.paging.unwrap_or(paging);
            for item in page.items {
                let (time, id) = key(&item);
                let time = Some(time);
                if time > boundary {
                    boundary = time;
                    at_boundary.clear();
                    at_boundary.insert(id.to_string());
                } else if time == boundary && !at_boundary.insert(id.to_string()) {
                    continue;
                }
                yield Step::Item(item);
            }
            cursor = cursor.max(clamp(boundary, page.server_time));
            yield Step::Checkpoint(mark(cursor, boundary, &at_boundary, page.server_time));
            if paged_by == Paging::Offset && page.has_next && cursor > query_since {
                query_since = cursor;
                pages = query(query_since);
            }
        }
    })
}

/// The mark at `cursor`: with the ids read there when it is the newest time read itself and
/// the server's clock had passed it. An item changed again within the second it was read keeps
/// that time (GitHub's are whole seconds); skipping it by id would lose the change, so a mark
/// names ids only at a time before the server's own.
fn mark(
    cursor: Option<DateTime<Utc>>,
    boundary: Option<DateTime<Utc>>,
    at_boundary: &HashSet<String>,
    server: Option<DateTime<Utc>>,
) -> Mark {
    let mut ids = Vec::new();
    let settled = cursor.is_some_and(|c| server.is_some_and(|s| c < s));
    if settled && cursor == boundary && at_boundary.len() <= MARK_IDS {
        ids.extend(at_boundary.iter().cloned());
        ids.sort_unstable();
    }
    Mark { time: cursor, ids }
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::super::Listed;
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn page(items: &[(u32, i64)], has_next: bool, server: i64) -> Listed<(u32, i64)> {
        Listed {
            items: items.to_vec(),
            server_time: Some(at(server)),
            has_next,
            total: None,
            paging: None,
        }
    }

    fn key(item: &(u32, i64)) -> (DateTime<Utc>, u32) {
        (at(item.1), item.0)
    }

    #[tokio::test]
    async fn a_future_dated_item_does_not_move_the_cursor_past_the_server_clock() {
        let steps: Vec<_> = ascending(Mark::at(at(10)), Paging::Cursor, key, |_| {
            Box::pin(futures::stream::iter([Ok(page(
                &[(1, 20), (2, 4_000_000_000)],
                false,
                100,
            ))]))
        })
        .try_collect()
        .await
        .unwrap();
        // Held back to the server's clock, the mark can name no item read at its time.
        assert_eq!(steps.last(), Some(&Step::Checkpoint(Mark::at(at(100)))));
    }

    fn marked(secs: i64, ids: &[&str]) -> Mark {
        Mark {
            time: Some(at(secs)),
            ids: ids.iter().map(|id| (*id).to_owned()).collect(),
        }
    }

    #[tokio::test]
    async fn the_items_a_mark_names_are_skipped_and_others_at_its_time_are_not() {
        let steps: Vec<_> = ascending(marked(7, &["2"]), Paging::Cursor, key, |since| {
            assert_eq!(since, Some(at(7)));
            Box::pin(futures::stream::iter([Ok(page(
                &[(2, 7), (4, 7), (3, 9), (5, 9)],
                false,
                100,
            ))]))
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(
            steps,
            [
                Step::Item((4, 7)),
                Step::Item((3, 9)),
                Step::Item((5, 9)),
                Step::Checkpoint(marked(9, &["3", "5"])),
            ]
        );
        // Nothing new: the next walk yields nothing and keeps the mark.
        let again: Vec<_> = ascending(marked(9, &["3", "5"]), Paging::Cursor, key, |_| {
            Box::pin(futures::stream::iter([Ok(page(
                &[(3, 9), (5, 9)],
                false,
                100,
            ))]))
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(again, [Step::Checkpoint(marked(9, &["3", "5"]))]);
    }

    #[tokio::test]
    async fn an_item_read_in_the_servers_own_second_is_read_again_next_time() {
        let walk = |since: Mark, server: i64| {
            ascending(since, Paging::Cursor, key, move |_| {
                Box::pin(futures::stream::iter([Ok(page(&[(1, 9)], false, server))]))
            })
            .try_collect::<Vec<_>>()
        };
        // Read at second 9 while the server's clock said 9: the item may change again within
        // that second and keep its time, so the mark names no id and the next walk reads it.
        let first = walk(Mark::default(), 9).await.unwrap();
        assert_eq!(first.last(), Some(&Step::Checkpoint(Mark::at(at(9)))));
        let again = walk(Mark::at(at(9)), 10).await.unwrap();
        assert_eq!(again[0], Step::Item((1, 9)));
        // Read once the clock had moved on: a change would carry a later time, so it is skipped.
        let settled = walk(marked(9, &["1"]), 10).await.unwrap();
        assert_eq!(settled, [Step::Checkpoint(marked(9, &["1"]))]);
    }

    #[test]
    fn a_mark_is_stored_as_a_plain_time_without_ids_and_reads_old_plain_cursors() {
        assert_eq!(Mark::at(at(9)).value(), json!("1970-01-01T00:00:09Z"));
        let stored = json!({"time": "1970-01-01T00:00:09Z", "ids": ["3", "5"]});
        assert_eq!(marked(9, &["3", "5"]).value(), stored);
        assert_eq!(Mark::from_stored(&stored).unwrap(), marked(9, &["3", "5"]));
        assert_eq!(
            Mark::from_stored(&json!("1970-01-01T00:00:09Z")).unwrap(),
            Mark::at(at(9))
        );
        assert!(
            Mark::from_stored(&json!({"time": "x"}))
                .unwrap_err()
                .starts_with("time:")
        );
        assert!(
            Mark::from_stored(&json!({"ids": [1]}))
                .unwrap_err()
                .starts_with("ids:")
        );
        assert_eq!(Mark::from_stored(&json!({})).unwrap(), Mark::default());
    }

    #[test]
    fn a_mark_with_too_many_ids_keeps_none() {
        let server = Some(at(100));
        let many: HashSet<String> = (0..=MARK_IDS).map(|i| i.to_string()).collect();
        assert!(mark(Some(at(9)), Some(at(9)), &many, server).ids.is_empty());
        let few: HashSet<String> = HashSet::from(["1".to_owned()]);
        assert_eq!(mark(Some(at(9)), Some(at(9)), &few, server).ids, ["1"]);
        assert!(mark(Some(at(8)), Some(at(9)), &few, server).ids.is_empty());
    }

    #[test]
    fn a_mark_at_the_servers_own_second_or_without_its_clock_names_no_ids() {
        // An item read at 9 may change again within second 9 and still say 9.
        let few: HashSet<String> = HashSet::from(["1".to_owned()]);
        assert!(
            mark(Some(at(9)), Some(at(9)), &few, Some(at(9)))
                .ids
                .is_empty()
        );
        assert!(mark(Some(at(9)), Some(at(9)), &few, None).ids.is_empty());
    }

    #[tokio::test]
    async fn offset_paging_requeries_from_the_newest_time_and_skips_what_it_already_yielded() {
        let mut queries = Vec::new();
        let steps: Vec<_> = ascending(Mark::default(), Paging::Offset, key, |since| {
            queries.push(since);
            let listed = match since {
                None => page(&[(1, 5), (2, 7)], true, 100),
                Some(_) => page(&[(2, 7), (3, 9)], false, 100),
            };
            Box::pin(futures::stream::iter([Ok(listed)]))
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(queries, [None, Some(at(7))]);
        assert_eq!(
            steps,
            [
                Step::Item((1, 5)),
                Step::Item((2, 7)),
                Step::Checkpoint(marked(7, &["2"])),
                Step::Item((3, 9)),
                Step::Checkpoint(marked(9, &["3"])),
            ]
        );
    }
}
