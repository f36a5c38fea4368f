//! Listings ordered oldest change first: checkpoint at each page's newest time.

use std::collections::HashSet;
use std::hash::Hash;

use chrono::{DateTime, Utc};
use futures::StreamExt;

use super::{Listing, Step, Steps, clamp};

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
/// drops the items a re-query lists again at the boundary time, so each version is yielded once.
/// After each page the walk yields a checkpoint at the newest time read, held back to the
/// server's clock.
///
/// Known limit: with [`Paging::Offset`], when a whole page of items shares one change time, the
/// walk has no newer time to re-query from and follows the next page instead; a change during
/// that one step can still shift an unread item onto the page just read. (GitHub and GitLab list
/// 100 items a page, with times in whole seconds.)
pub fn ascending<'a, T, K, Q>(
    since: Option<DateTime<Utc>>,
    paging: Paging,
    key: fn(&T) -> (DateTime<Utc>, K),
    mut query: Q,
) -> Steps<'a, T>
where
    T: Send + 'a,
    K: Eq + Hash + Send + 'a,
    Q: FnMut(Option<DateTime<Utc>>) -> Listing<'a, T> + Send + 'a,
{
    Box::pin(async_stream::try_stream! {
        let mut cursor = since;
        let mut query_since = since;
        // The newest time yielded, and the ids yielded at exactly that time.
        let mut boundary: Option<DateTime<Utc>> = None;
        let mut at_boundary: HashSet<K> = HashSet::new();
        let mut pages = query(since);
        while let Some(page) = pages.next().await {
            let page = page?;
            for item in page.items {
                let (time, id) = key(&item);
                let time = Some(time);
                if time > boundary {
                    boundary = time;
                    at_boundary.clear();
                    at_boundary.insert(id);
                } else if time == boundary && !at_boundary.insert(id) {
                    continue;
                }
                yield Step::Item(item);
            }
            cursor = cursor.max(clamp(boundary, page.server_time));
            yield Step::Checkpoint(cursor);
            if paging == Paging::Offset && page.has_next && cursor > query_since {
                query_since = cursor;
                pages = query(query_since);
            }
        }
    })
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
        }
    }

    fn key(item: &(u32, i64)) -> (DateTime<Utc>, u32) {
        (at(item.1), item.0)
    }

    #[tokio::test]
    async fn a_future_dated_item_does_not_move_the_cursor_past_the_server_clock() {
        let steps: Vec<_> = ascending(Some(at(10)), Paging::Cursor, key, |_| {
            Box::pin(futures::stream::iter([Ok(page(
                &[(1, 20), (2, 4_000_000_000)],
                false,
                100,
            ))]))
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(steps.last(), Some(&Step::Checkpoint(Some(at(100)))));
    }

    #[tokio::test]
    async fn offset_paging_requeries_from_the_newest_time_and_skips_what_it_already_yielded() {
        let mut queries = Vec::new();
        let steps: Vec<_> = ascending(None, Paging::Offset, key, |since| {
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
                Step::Checkpoint(Some(at(7))),
                Step::Item((3, 9)),
                Step::Checkpoint(Some(at(9))),
            ]
        );
    }
}
