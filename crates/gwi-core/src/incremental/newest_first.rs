//! Listings ordered newest change first: stop at the stored cursor, move it only at the end.

use chrono::{DateTime, Utc};
use futures::StreamExt;

use super::{Listing, Step, Steps, clamp};

/// For an item that may still change: the time the next walk must start from at the latest.
pub type HoldBack<T> = fn(&T) -> Option<DateTime<Utc>>;

/// What a newest-first walk needs to know about an item.
#[derive(Debug, Clone, Copy)]
pub struct NewestFirst<T> {
    /// The time the listing is ordered by, newest first.
    pub time: fn(&T) -> DateTime<Utc>,
    /// For items that still change after the listing's time (a workflow run that is not
    /// finished yet): the time the next walk must start from at the latest to see them again.
    pub hold_back: Option<HoldBack<T>>,
}

impl<T> NewestFirst<T> {
    /// A walk ordered by `time`, with no item held back.
    pub fn by(time: fn(&T) -> DateTime<Utc>) -> Self {
        Self {
            time,
            hold_back: None,
        }
    }
}

/// Walks a listing ordered newest change first, down to `since`.
///
/// `query(since)` lists the items, newest first; it may filter by `since` or not (the walk
/// stops at the first item older than `since` either way, and stops fetching there). Until the
/// walk ends, the items not yet read are *older* than those yielded, so a checkpoint at the
/// newest time seen would skip them if the run stopped: each page's checkpoint repeats `since`
/// (it only lets the engine commit the page), and the newest time, held back to the server's
/// clock and to [`NewestFirst::hold_back`], is yielded once, at the end. The first page's
/// total, when the provider gives one, is yielded as [`Step::Total`].
///
/// Known limit: in an offset-paged listing, an item *removed* during the walk shifts an
/// unread item onto a page already read; changes and additions are safe (they move to the
/// front).
pub fn newest_first<'a, T, Q>(
    since: Option<DateTime<Utc>>,
    walk: NewestFirst<T>,
    query: Q,
) -> Steps<'a, T>
where
    T: Send + 'a,
    Q: FnOnce(Option<DateTime<Utc>>) -> Listing<'a, T> + Send + 'a,
{
    let mut query = Some(query);
    // One query, read whole: this listing has no cap that would call for another window.
    walk_windows(since, walk, move |window: Window| {
        if window.until.is_some() {
            return None;
        }
        query.take().map(|query| query(window.since))
    })
}

/// The span one query of a windowed walk lists: items from `since` (when set) up to and
/// including `until` (when set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The oldest time wanted: the walk's cursor.
    pub since: Option<DateTime<Utc>>,
    /// The newest time wanted: `None` for the first query, then the oldest time already read.
    pub until: Option<DateTime<Utc>>,
}

/// [`newest_first`] over a provider that lists at most so many items per query but counts
/// them all (GitHub lists 1,000 workflow runs for a `created` filter and reports the true
/// `total_count`).
///
/// When a query ends short of its own total before reaching `since`, the rest is older than
/// what it read, so the walk queries again for the window from `since` to the oldest time it
/// read, inclusive (items sharing that time are read again, never skipped), until a query ends
/// complete. If more items than one query lists share a single time, no narrower window
/// exists: the walk logs a warning naming the time and ends there.
pub fn newest_first_in_windows<'a, T, Q>(
    since: Option<DateTime<Utc>>,
    walk: NewestFirst<T>,
    mut query: Q,
) -> Steps<'a, T>
where
    T: Send + 'a,
    Q: FnMut(Window) -> Listing<'a, T> + Send + 'a,
{
    walk_windows(since, walk, move |window| Some(query(window)))
}

/// The walk behind both: `query` gives each window's listing, `None` when there is no other.
fn walk_windows<'a, T, Q>(
    since: Option<DateTime<Utc>>,
    walk: NewestFirst<T>,
    mut query: Q,
) -> Steps<'a, T>
where
    T: Send + 'a,
    Q: FnMut(Window) -> Option<Listing<'a, T>> + Send + 'a,
{
    Box::pin(async_stream::try_stream! {
        let mut newest = since;
        let mut held: Option<DateTime<Utc>> = None;
        let mut server: Option<DateTime<Utc>> = None;
        let mut first = true;
        let mut until = None;
        while let Some(mut pages) = query(Window { since, until }) {
            let mut total = None;
            let mut read: u64 = 0;
            let mut oldest = None;
            let mut reached_cursor = false;
            let mut first_page = true;
            while let Some(page) = pages.next().await {
                let page = page?;
                if first_page {
                    first_page = false;
                    total = page.total;
                    if first {
                        first = false;
                        if let Some(total) = page.total {
                            yield Step::Total(total);
                        }
                    }
                }
                server = server.max(page.server_time);
                for item in page.items {
                    let time = (walk.time)(&item);
                    if since.is_some_and(|since| time < since) {
                        reached_cursor = true;
                        break;
                    }
                    read += 1;
                    oldest = Some(time);
                    newest = newest.max(Some(time));
                    if let Some(hold) = walk.hold_back.and_then(|hold_back| hold_back(&item)) {
                        held = Some(held.map_or(hold, |h| h.min(hold)));
                    }
                    yield Step::Item(item);
                }
                if reached_cursor {
                    // Older pages hold nothing new; dropping the listing stops fetching.
                    break;
                }
                yield Step::Checkpoint(since);
            }
            // Ended short of its own total without reaching the cursor: cut by a cap.
            let cut = !reached_cursor && total.is_some_and(|total| read < total);
            match oldest {
                Some(oldest) if cut && until != Some(oldest) => until = Some(oldest),
                Some(oldest) if cut => {
                    tracing::warn!(
                        time = %oldest,
                        "more items share one time than the provider lists per query; those past its cap cannot be read"
                    );
                    break;
                }
                _ => break,
            }
        }
        let end = match (clamp(newest, server), held) {
            (Some(end), Some(held)) => Some(end.min(held)),
            (end, _) => end,
        };
        yield Step::Checkpoint(end.max(since));
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

    fn listing<'a>(pages: Vec<Vec<(u32, i64, bool)>>) -> Listing<'a, (u32, i64, bool)> {
        let last = pages.len().saturating_sub(1);
        Box::pin(futures::stream::iter(pages.into_iter().enumerate().map(
            move |(i, items)| {
                Ok(Listed {
                    items,
                    server_time: Some(at(1_000)),
                    has_next: i < last,
                    total: Some(7),
                    paging: None,
                })
            },
        )))
    }

    fn walk() -> NewestFirst<(u32, i64, bool)> {
        NewestFirst {
            time: |item| at(item.1),
            hold_back: Some(|item| (!item.2).then(|| at(item.1))),
        }
    }

    #[tokio::test]
    async fn stops_at_the_cursor_and_saves_the_newest_only_at_the_end() {
        let steps: Vec<_> = newest_first(Some(at(5)), walk(), |_| {
            listing(vec![
                vec![(1, 9, true), (2, 8, true)],
                vec![(3, 6, true), (4, 4, true)],
                vec![(5, 3, true)],
            ])
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(
            steps,
            [
                Step::Total(7),
                Step::Item((1, 9, true)),
                Step::Item((2, 8, true)),
                Step::Checkpoint(Some(at(5))),
                Step::Item((3, 6, true)),
                Step::Checkpoint(Some(at(9))),
            ]
        );
    }

    #[tokio::test]
    async fn an_unfinished_item_holds_the_end_cursor_back_but_never_before_since() {
        let steps: Vec<_> = newest_first(Some(at(5)), walk(), |_| {
            listing(vec![vec![(1, 9, true), (2, 7, false), (3, 6, true)]])
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(steps.last(), Some(&Step::Checkpoint(Some(at(7)))));

        let steps: Vec<_> = newest_first(None, walk(), |_| listing(vec![vec![]]))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(steps.last(), Some(&Step::Checkpoint(None)));
    }

    /// A listing of `items` (newest first) within `window`, cut at `cap` items, counting all.
    fn capped<'a>(
        items: &[(u32, i64, bool)],
        window: Window,
        cap: usize,
    ) -> Listing<'a, (u32, i64, bool)> {
        let within: Vec<_> = items
            .iter()
            .copied()
            .filter(|i| window.since.is_none_or(|s| at(i.1) >= s))
            .filter(|i| window.until.is_none_or(|u| at(i.1) <= u))
            .collect();
        let total = within.len() as u64;
        let shown: Vec<_> = within.into_iter().take(cap).collect();
        Box::pin(futures::stream::iter([Ok(Listed {
            items: shown,
            server_time: Some(at(1_000)),
            has_next: false,
            total: Some(total),
            paging: None,
        })]))
    }

    #[tokio::test]
    async fn a_capped_listing_is_read_in_windows_down_to_the_cursor() {
        // Eight items after the cursor, three per query: nothing is lost, the oldest time of
        // each window is read again, and the end cursor is the newest.
        let items: Vec<_> = (1..=9)
            .rev()
            .map(|n| (n as u32, i64::from(n) + 10, true))
            .collect();
        let mut windows = Vec::new();
        let steps: Vec<_> = newest_first_in_windows(Some(at(12)), walk(), |window| {
            windows.push(window);
            capped(&items, window, 3)
        })
        .try_collect()
        .await
        .unwrap();
        let read: std::collections::BTreeSet<u32> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Item(item) => Some(item.0),
                _ => None,
            })
            .collect();
        assert_eq!(read, (2..=9).collect(), "every item from the cursor on");
        assert_eq!(steps.first(), Some(&Step::Total(8)));
        assert_eq!(steps.last(), Some(&Step::Checkpoint(Some(at(19)))));
        let untils: Vec<_> = windows.iter().map(|w| w.until).collect();
        assert_eq!(untils, [None, Some(at(17)), Some(at(15)), Some(at(13))]);
    }

    #[tokio::test]
    async fn more_items_at_one_time_than_the_cap_end_the_walk_instead_of_looping() {
        let items: Vec<_> = (1..=5).map(|n| (n, 20, true)).collect();
        let mut queries = 0;
        let steps: Vec<_> = newest_first_in_windows(Some(at(10)), walk(), |window| {
            queries += 1;
            capped(&items, window, 2)
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(queries, 2);
        assert_eq!(steps.last(), Some(&Step::Checkpoint(Some(at(20)))));
    }
}
