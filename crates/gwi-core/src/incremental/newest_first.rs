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
    Box::pin(async_stream::try_stream! {
        let mut newest = since;
        let mut held: Option<DateTime<Utc>> = None;
        let mut server: Option<DateTime<Utc>> = None;
        let mut first = true;
        let mut pages = query(since);
        while let Some(page) = pages.next().await {
            let page = page?;
            if first {
                first = false;
                if let Some(total) = page.total {
                    yield Step::Total(total);
                }
            }
            server = server.max(page.server_time);
            let mut reached_cursor = false;
            for item in page.items {
                let time = (walk.time)(&item);
                if since.is_some_and(|since| time < since) {
                    reached_cursor = true;
                    break;
                }
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
}
