//! Pagination: cursor, offset, page number, `Link` header and GraphQL `pageInfo`, as one stream.
//!
//! A [`Paginator`] looks at the request that produced a page and at the page's response and says
//! what to request next. [`paginate`] drives it through an [`ApiClient`], so every page gets auth,
//! pacing and retries, and yields pages as they arrive (nothing is buffered).
//!
//! Every walk stops cleanly when the paginator finds no next page (a missing cursor, an empty
//! page, a short page, no `rel="next"`), fails with a clear error when the provider sends the
//! same next page twice (a loop that would never end), and stops after
//! [`PaginateOptions::max_pages`] pages when a bound is set.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;
use url::Url;

use crate::error::{ConnectorError, FieldError};
use crate::http::{ApiClient, HttpRequest, HttpResponse};

mod cursor;
mod graphql;
pub mod json;
mod link_header;
mod next_page_header;
mod offset;
mod page_number;

pub use cursor::CursorParam;
pub use graphql::GraphQlPageInfo;
pub use json::JsonPointer;
pub use link_header::{Link, LinkHeader, Links, next_link, parse_link_header};
pub use next_page_header::NextPageHeader;
pub use offset::Offset;
pub use page_number::PageNumber;

/// One fetched page.
#[derive(Debug, Clone)]
pub struct Page {
    /// 1 for the first page.
    pub number: u32,
    /// The request that fetched it (useful as a resume point).
    pub request: HttpRequest,
    /// The response, body included.
    pub response: HttpResponse,
    /// Whether the paginator found a next page after this one.
    pub has_next: bool,
}

/// Decides the request for the next page from the current one.
///
/// Errors may leave their `connector` empty: [`paginate`] fills in the client's connector name.
pub trait Paginator: Send {
    /// The next page's request, or `None` when `response` was the last page.
    fn next_request(
        &mut self,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<Option<HttpRequest>, ConnectorError>;

    /// Completes the first request (e.g. adds the page-size parameter); by default unchanged.
    fn first_request(&mut self, request: HttpRequest) -> HttpRequest {
        request
    }

    /// Names the page `request` asks for (its cursor, offset or URL), for error messages.
    fn describe_request(&self, request: &HttpRequest) -> String {
        crate::http::redact_url(&request.url, &[])
    }
}

/// Limits and read-ahead of a [`paginate_with`] or [`paginate_json`] walk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaginateOptions {
    /// Stop after this many pages (a safety bound or a sample); `None` walks to the end.
    pub max_pages: Option<u32>,
    /// Pages fetched (and, by [`paginate_json`], decoded) ahead of the consumer on another
    /// task, so fetching and decoding overlap with what the consumer does with a page.
    ///
    /// 0 (the default) fetches a page only when asked. Use it for walks that stop early (e.g.
    /// at a cursor in a newest-first listing): read-ahead would request pages never used.
    pub read_ahead: usize,
}

/// Fetches `first`, then each next page `paginator` names, as a stream of pages.
pub fn paginate<'a, P: Paginator + 'static>(
    client: &'a ApiClient,
    first: HttpRequest,
    paginator: P,
) -> BoxStream<'a, Result<Page, ConnectorError>> {
    paginate_with(client, first, paginator, PaginateOptions::default())
}

/// [`paginate`] with limits and read-ahead.
///
/// A page is yielded before the paginator's verdict on it is acted upon, so a loop or a malformed
/// page is reported after the last good page, never instead of it.
pub fn paginate_with<'a, P: Paginator + 'static>(
    client: &'a ApiClient,
    first: HttpRequest,
    paginator: P,
    options: PaginateOptions,
) -> BoxStream<'a, Result<Page, ConnectorError>> {
    let pages = walk(
        client.clone(),
        first,
        paginator,
        options.max_pages,
        |client, request| Box::pin(async move { Ok((client.execute(&request).await?, ())) }),
    );
    Box::pin(read_ahead(pages, options.read_ahead).map_ok(|(page, ())| page))
}

/// [`paginate_with`], with each page's JSON body decoded into `T` (e.g. `Vec<Item>`).
///
/// The body is parsed once, inside the request's retries: a page cut in transit is fetched
/// again, and a page that does not match `T` fails with the field named.
pub fn paginate_json<'a, T, P>(
    client: &'a ApiClient,
    first: HttpRequest,
    paginator: P,
    options: PaginateOptions,
) -> BoxStream<'a, Result<(Page, T), ConnectorError>>
where
    T: DeserializeOwned + Send + 'static,
    P: Paginator + 'static,
{
    let pages = walk(
        client.clone(),
        first,
        paginator,
        options.max_pages,
        |client, request| Box::pin(async move { client.execute_json::<T>(&request).await }),
    );
    read_ahead(pages, options.read_ahead)
}

/// How [`walk`] fetches one page: the response and what was decoded from it.
type Fetch<T> =
    fn(
        ApiClient,
        HttpRequest,
    ) -> futures::future::BoxFuture<'static, Result<(HttpResponse, T), ConnectorError>>;

/// The walk itself; owns everything it uses, so it can run on its own task.
fn walk<T: Send + 'static, P: Paginator + 'static>(
    client: ApiClient,
    first: HttpRequest,
    mut paginator: P,
    max_pages: Option<u32>,
    fetch: Fetch<T>,
) -> BoxStream<'static, Result<(Page, T), ConnectorError>> {
    Box::pin(async_stream::try_stream! {
        let mut request = paginator.first_request(first);
        // Fingerprints of every request sent: a repeat means the provider is going round in circles.
        let mut seen = HashSet::new();
        seen.insert(fingerprint(&request));
        let mut number: u32 = 0;
        loop {
            number += 1;
            let (response, decoded) = fetch(client.clone(), request.clone()).await?;
            client.progress().add_page();
            let next = paginator
                .next_request(&request, &response)
                .map_err(|e| with_connector(e, client.connector()));
            let has_next = matches!(next, Ok(Some(_)));
            yield (Page { number, request, response, has_next }, decoded);
            let Some(next) = next? else { break };
            if max_pages.is_some_and(|max| number >= max) {
                tracing::debug!(connector = client.connector(), pages = number, "stopping at max_pages; more pages exist");
                break;
            }
            if !seen.insert(fingerprint(&next)) {
                Err::<(), _>(loop_error(client.connector(), &paginator.describe_request(&next)))?;
            }
            request = next;
        }
    })
}

/// Runs `pages` on its own task, up to `depth` pages ahead of the consumer; 0 runs it inline.
///
/// Dropping the returned stream stops the task, and with it any request in flight.
fn read_ahead<'a, T: Send + 'static>(
    mut pages: BoxStream<'static, Result<T, ConnectorError>>,
    depth: usize,
) -> BoxStream<'a, Result<T, ConnectorError>> {
    if depth == 0 {
        return pages;
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(depth);
    let task = AbortOnDropHandle::new(tokio::spawn(
        async move {
            while let Some(page) = pages.next().await {
                let failed = page.is_err();
                if tx.send(page).await.is_err() || failed {
                    break;
                }
            }
        }
        .in_current_span(),
    ));
    Box::pin(async_stream::stream! {
        // Owned here so the walk's task lives exactly as long as this stream.
        let _task = task;
        while let Some(page) = rx.recv().await {
            yield page;
        }
    })
}

fn fingerprint(request: &HttpRequest) -> u64 {
    let mut hasher = DefaultHasher::new();
    request.method.hash(&mut hasher);
    request.url.as_str().hash(&mut hasher);
    request.body.hash(&mut hasher);
    hasher.finish()
}

fn loop_error(connector: &str, page: &str) -> ConnectorError {
    ConnectorError::Validation {
        connector: connector.to_owned(),
        errors: vec![FieldError::new(
            "pagination",
            format!(
                "the provider pointed to the same next page twice ({page}); stopping instead of \
                 fetching pages forever. The provider's paging is broken or the paginator reads \
                 the wrong field"
            ),
        )],
    }
}

/// Puts `connector` into a paginator's error that left it empty.
fn with_connector(mut error: ConnectorError, name: &str) -> ConnectorError {
    if let ConnectorError::Validation { connector, .. } = &mut error
        && connector.is_empty()
    {
        name.clone_into(connector);
    }
    error
}

/// A paginator's complaint about a page, by the JSON field (or header) at fault.
/// Whether `body` is `[]` (whitespace allowed): a cheap look at the ends, not a parse.
pub(crate) fn is_empty_array(body: &[u8]) -> bool {
    body.trim_ascii()
        .strip_prefix(b"[")
        .and_then(|rest| rest.strip_suffix(b"]"))
        .is_some_and(|inside| inside.trim_ascii().is_empty())
}

pub(crate) fn page_error(field: impl Into<String>, message: impl Into<String>) -> ConnectorError {
    ConnectorError::validation(String::new(), field, message)
}

/// `url` with query parameter `name` set to `value` (replacing any earlier values).
pub(crate) fn with_query_param(url: &Url, name: &str, value: &str) -> Url {
    let mut url = url.clone();
    let others: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(others)
        .append_pair(name, value);
    url
}

/// The value of query parameter `name`, if present.
pub(crate) fn query_param<'u>(url: &'u Url, name: &str) -> Option<std::borrow::Cow<'u, str>> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// `request` for another page: same method, headers, body and rate bucket, different URL.
pub(crate) fn with_url(request: &HttpRequest, url: Url) -> HttpRequest {
    HttpRequest {
        url,
        ..request.clone()
    }
}
