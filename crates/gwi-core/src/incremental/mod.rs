//! Incremental strategies: how a stream walks a provider's listing from its stored cursor and
//! which checkpoints are safe to commit on the way.
//!
//! Every connector picks one strategy per stream and supplies only what is provider-specific:
//! the query for a given start time, and an item's time (and, for offset-paged listings, its
//! id). The strategy yields [`Step`]s: the items to turn into records, and the cursors that may
//! be committed once everything before them is stored. The rules that keep a sync from losing
//! or duplicating data live here once, proven by property tests, instead of in each connector.
//!
//! | strategy | listing | checkpoint |
//! |---|---|---|
//! | [`ascending`], [`Paging::Cursor`] | oldest change first, paged by an opaque cursor | each page's newest time |
//! | [`ascending`], [`Paging::Offset`] (keyset re-query) | oldest change first, paged by offset or page number | each page's newest time; the next page is a new query from it |
//! | [`newest_first`] | newest change first, no server-side filter or one by time | the old cursor on each page, the newest time once the walk ends |
//! | [`change_feed`] | changes since a sync token; everything when there is none | the old token on each page, the provider's next token at the end; an expired token reads everything again |
//!
//! Time cursors never move past the server's clock (the response's `Date` header): an item
//! dated in the future (a commit with a wrong clock) would otherwise push the cursor past every
//! change still to come.

mod ascending;
mod change_feed;
mod cursor;
mod facts;
mod newest_first;
#[cfg(test)]
mod proptests;

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use crate::error::ConnectorError;
use crate::http::HttpResponse;
use crate::pagination::Page;
use crate::record::ConnectorRecord;
use crate::stream::{Checkpoint, SyncItem};

pub use ascending::{Mark, Paging, ascending};
pub use change_feed::{Feed, FeedPage, change_feed};
pub use cursor::{Cursor, PairCursor, PairNames, read_cursor, time_value};
pub use facts::{Remembered, remember, stream_cursor};
pub use newest_first::{HoldBack, NewestFirst, Window, newest_first, newest_first_in_windows};

/// One page of a listing as a strategy sees it: its items and what the response said about time
/// and size.
#[derive(Debug, Clone)]
pub struct Listed<T> {
    /// The page's items, in the listing's order.
    pub items: Vec<T>,
    /// The server's clock when it answered (the `Date` header), if it said.
    pub server_time: Option<DateTime<Utc>>,
    /// Whether the provider has a page after this one.
    pub has_next: bool,
    /// How many items the whole listing holds, when the provider says.
    pub total: Option<u64>,
    /// How the provider paged this answer, when the connector can tell and it may differ from
    /// what the walk was told (GitLab before 18.3 answers a keyset request by offset);
    /// `None` keeps the walk's own [`Paging`].
    pub paging: Option<Paging>,
}

impl<T> Listed<T> {
    /// A page of `items` fetched as `page`: its `Date` header and whether a next page exists.
    pub fn from_page(page: &Page, items: Vec<T>) -> Self {
        Self {
            items,
            server_time: server_time(&page.response),
            has_next: page.has_next,
            total: None,
            paging: None,
        }
    }

    /// The same page, paged as `paging` says whatever the walk was told.
    pub fn paged_by(mut self, paging: Paging) -> Self {
        self.paging = Some(paging);
        self
    }

    /// The same page with the listing's total size.
    pub fn with_total(mut self, total: u64) -> Self {
        self.total = Some(total);
        self
    }
}

/// A listing as a stream of pages, the input of every strategy.
pub type Listing<'a, T> = BoxStream<'a, Result<Listed<T>, ConnectorError>>;

/// Turns decoded pages (as [`paginate_json`](crate::pagination::paginate_json) yields them)
/// into a [`Listing`].
pub fn listing<'a, T: Send + 'a>(
    pages: BoxStream<'a, Result<(Page, Vec<T>), ConnectorError>>,
) -> Listing<'a, T> {
    Box::pin(pages.map_ok(|(page, items)| Listed::from_page(&page, items)))
}

/// What a strategy yields; `C` is its cursor (a time, or a change feed's token).
#[derive(Debug, Clone, PartialEq)]
pub enum Step<T, C = Option<DateTime<Utc>>> {
    /// An item of the listing, to turn into records.
    Item(T),
    /// Everything yielded before this step is covered by this cursor: commit it with them.
    Checkpoint(C),
    /// The provider's count of items in the whole listing (for progress).
    Total(u64),
}

/// A strategy's output.
pub type Steps<'a, T, C = Option<DateTime<Utc>>> =
    BoxStream<'a, Result<Step<T, C>, ConnectorError>>;

/// A strategy's cursor as a stream stores it.
pub trait StoredCursor {
    /// The stored form (what a checkpoint carries).
    fn stored(&self) -> serde_json::Value;
}

/// A plain time cursor: an RFC 3339 string, or `null` for the beginning.
impl StoredCursor for Option<DateTime<Utc>> {
    fn stored(&self) -> serde_json::Value {
        time_value(*self)
    }
}

impl StoredCursor for Mark {
    fn stored(&self) -> serde_json::Value {
        self.value()
    }
}

/// A stream's sync items from a strategy's steps: each item through `map` (which may skip it),
/// each checkpoint as the stored cursor `cursor` makes of it ([`time_value`] for a plain time
/// cursor), each total as a progress hint.
pub fn sync_items<'a, T: Send + 'a, C: Send + 'a>(
    mut steps: Steps<'a, T, C>,
    stream: &'a str,
    map: impl Fn(T) -> Result<Option<ConnectorRecord>, ConnectorError> + Send + 'a,
    mut cursor: impl FnMut(C) -> serde_json::Value + Send + 'a,
) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
    Box::pin(async_stream::try_stream! {
        while let Some(step) = steps.next().await {
            match step? {
                Step::Item(item) => {
                    if let Some(record) = map(item)? {
                        yield SyncItem::Record(record);
                    }
                }
                Step::Checkpoint(time) => yield SyncItem::Checkpoint(Checkpoint {
                    stream: stream.to_owned(),
                    cursor: cursor(time),
                }),
                Step::Total(total) => yield SyncItem::TotalHint(total),
            }
        }
    })
}

/// The `Date` header of `response`, if present and well formed.
pub fn server_time(response: &HttpResponse) -> Option<DateTime<Utc>> {
    let text = response.header("date")?;
    httpdate::parse_http_date(text)
        .ok()
        .map(DateTime::<Utc>::from)
}

/// `time` held back to the server's clock, when the server told it.
fn clamp(time: Option<DateTime<Utc>>, server: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (time, server) {
        (Some(t), Some(s)) => Some(t.min(s)),
        (t, _) => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Option<DateTime<Utc>> {
        Some(crate::time::parse(text).unwrap())
    }

    #[test]
    fn clamp_never_moves_a_time_past_the_server_clock() {
        let server = at("2024-01-01T00:00:00Z");
        assert_eq!(clamp(at("2099-01-01T00:00:00Z"), server), server);
        assert_eq!(
            clamp(at("2023-01-01T00:00:00Z"), server),
            at("2023-01-01T00:00:00Z")
        );
        assert_eq!(clamp(None, server), None);
        assert_eq!(
            clamp(at("2099-01-01T00:00:00Z"), None),
            at("2099-01-01T00:00:00Z")
        );
    }

    #[tokio::test]
    async fn steps_become_records_checkpoints_and_hints() {
        let steps: Steps<'_, u32> = Box::pin(futures::stream::iter([
            Ok(Step::Total(2)),
            Ok(Step::Item(1)),
            Ok(Step::Item(2)),
            Ok(Step::Checkpoint(at("2024-01-01T00:00:00Z"))),
        ]));
        let time = at("2024-01-01T00:00:00Z").unwrap_or_default();
        let map = |n: u32| {
            Ok((n % 2 == 1)
                .then(|| ConnectorRecord::new(format!("n-{n}"), "n", "demo", time, time)))
        };
        let items: Vec<_> = sync_items(steps, "s", map, time_value)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(items.len(), 3, "{items:?}");
        assert_eq!(items[0], SyncItem::TotalHint(2));
        assert!(matches!(&items[1], SyncItem::Record(r) if r.id == "n-1"));
        assert_eq!(
            items[2],
            SyncItem::Checkpoint(Checkpoint {
                stream: "s".into(),
                cursor: serde_json::json!("2024-01-01T00:00:00Z")
            })
        );
    }

    #[test]
    fn server_time_reads_the_date_header() {
        let mut response = HttpResponse {
            status: http::StatusCode::OK,
            headers: http::HeaderMap::new(),
            body: bytes::Bytes::new(),
            url: url::Url::parse("https://example.com/").unwrap(),
        };
        assert_eq!(server_time(&response), None);
        response.headers.insert(
            "date",
            http::HeaderValue::from_static("Tue, 02 Jan 2024 03:04:05 GMT"),
        );
        assert_eq!(server_time(&response), at("2024-01-02T03:04:05Z"));
        response
            .headers
            .insert("date", http::HeaderValue::from_static("yesterday"));
        assert_eq!(server_time(&response), None);
    }
}
