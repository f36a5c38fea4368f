//! Stand-in for `gwi_core::pagination::{paginate, LinkHeader}`, which are being written in
//! parallel: the same signatures, so switching is an import change in `sync.rs` and deleting
//! this file.

use std::collections::HashSet;

use futures::stream::BoxStream;
use gwi_core::error::ConnectorError;
use gwi_core::http::{ApiClient, HttpRequest, HttpResponse};
use gwi_core::pagination::{Page, Paginator};

/// Follows the `rel="next"` target of RFC 8288 `Link` headers, as GitHub paginates.
#[derive(Debug, Default)]
pub(crate) struct LinkHeader;

impl LinkHeader {
    /// A Link-header paginator.
    pub(crate) fn new() -> Self {
        Self
    }
}

impl Paginator for LinkHeader {
    fn next_request(
        &mut self,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<Option<HttpRequest>, ConnectorError> {
        let Some(target) = response.header("link").and_then(next_target) else {
            return Ok(None);
        };
        let url = request.url.join(target).map_err(|e| {
            ConnectorError::validation(
                "github",
                "link",
                format!("the Link header's next URL does not parse: {e}"),
            )
        })?;
        // The credentials go to whatever URL we follow: never follow one to another origin.
        if url.origin() != request.url.origin() {
            return Err(ConnectorError::validation(
                "github",
                "link",
                format!(
                    "the Link header points to another origin ({}); refusing to send credentials there",
                    url.origin().ascii_serialization()
                ),
            ));
        }
        let mut next = request.clone();
        next.url = url;
        Ok(Some(next))
    }
}

/// The target of the link whose `rel` includes `next`.
fn next_target(header: &str) -> Option<&str> {
    let mut rest = header;
    loop {
        let start = rest.find('<')?;
        let end = start + rest[start..].find('>')?;
        let target = &rest[start + 1..end];
        let after = &rest[end + 1..];
        let params_end = after.find('<').unwrap_or(after.len());
        let is_next = after[..params_end].split(';').any(|param| {
            param
                .trim()
                .trim_end_matches(',')
                .trim()
                .strip_prefix("rel=")
                .is_some_and(|rel| {
                    rel.trim_matches('"')
                        .split_whitespace()
                        .any(|r| r == "next")
                })
        });
        if is_next {
            return Some(target);
        }
        rest = &after[params_end..];
    }
}

/// Fetches `first`, then each next page `paginator` names, as a stream of pages.
pub(crate) fn paginate<'a, P: Paginator + 'a>(
    client: &'a ApiClient,
    first: HttpRequest,
    mut paginator: P,
) -> BoxStream<'a, Result<Page, ConnectorError>> {
    Box::pin(async_stream::try_stream! {
        let mut seen = HashSet::new();
        let mut next = Some(first);
        let mut number = 0;
        while let Some(request) = next.take() {
            if !seen.insert(request.url.to_string()) {
                Err(ConnectorError::validation(
                    client.connector(),
                    "link",
                    "the API sent the same next page twice; stopping instead of looping",
                ))?;
            }
            let response = client.send(request.clone()).await?;
            number += 1;
            client.progress().add_page();
            // The page is good even when its next link is not: yield it, then fail.
            let after = paginator.next_request(&request, &response);
            yield Page { number, request, response };
            next = after?;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_next_among_several_links() {
        let header = r#"<https://api.github.com/repositories/1/issues?page=2>; rel="next", <https://api.github.com/repositories/1/issues?page=5>; rel="last""#;
        assert_eq!(
            next_target(header),
            Some("https://api.github.com/repositories/1/issues?page=2")
        );
        let last_first =
            r#"<https://x/?page=1>; rel="prev", <https://x/?a=1,2&page=3>; rel="next""#;
        assert_eq!(next_target(last_first), Some("https://x/?a=1,2&page=3"));
    }

    #[test]
    fn no_next_on_the_last_page() {
        assert_eq!(
            next_target(r#"<https://x/?page=1>; rel="first", <https://x/?page=4>; rel="prev""#),
            None
        );
        assert_eq!(next_target(""), None);
    }
}
