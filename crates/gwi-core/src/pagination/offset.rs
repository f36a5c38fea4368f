//! Offset pagination: `startAt`/`maxResults` parameters and a `total` in the body (Jira style).

use crate::error::ConnectorError;
use crate::http::{HttpRequest, HttpResponse};
use crate::pagination::json::{Found, JsonPointer, Want, is_null, pick};
use crate::pagination::{Paginator, page_error, query_param, with_query_param, with_url};

/// Advances an offset parameter by the items each page returned, until the `total` is reached.
///
/// The next offset is the current one plus the number of items on the page (so a provider that
/// caps the page size below what was asked still gets walked without gaps). Stops when the next
/// offset reaches `total`, on an empty page, and, when the body has no total, on a short page.
/// Parameter names and pointers are configurable; the defaults fit Jira.
///
/// ```
/// use gwi_core::pagination::Offset;
/// // Jira: {"startAt": 0, "maxResults": 50, "total": 120, "issues": [...]}
/// let paginator = Offset::new(50).items_at("/issues");
/// ```
#[derive(Debug, Clone)]
pub struct Offset {
    page_size: u64,
    offset_param: String,
    limit_param: String,
    total_at: Option<JsonPointer>,
    items_at: Option<JsonPointer>,
}

impl Offset {
    /// Pages of `page_size` items, with `startAt`, `maxResults` and a `/total` in the body.
    pub fn new(page_size: u64) -> Self {
        Self {
            page_size: page_size.max(1),
            offset_param: "startAt".to_owned(),
            limit_param: "maxResults".to_owned(),
            total_at: Some(JsonPointer::new("/total")),
            items_at: None,
        }
    }

    /// Names the offset query parameter (e.g. `offset`, `start`).
    pub fn offset_param(mut self, name: &str) -> Self {
        name.clone_into(&mut self.offset_param);
        self
    }

    /// Names the page-size query parameter (e.g. `limit`).
    pub fn limit_param(mut self, name: &str) -> Self {
        name.clone_into(&mut self.limit_param);
        self
    }

    /// Where the body gives the total number of items.
    pub fn total_at(mut self, pointer: impl Into<JsonPointer>) -> Self {
        self.total_at = Some(pointer.into());
        self
    }

    /// The body gives no total: stop on a short or empty page instead (needs [`items_at`](Self::items_at)).
    pub fn without_total(mut self) -> Self {
        self.total_at = None;
        self
    }

    /// Where the body holds the page's items (counted to advance the offset).
    pub fn items_at(mut self, pointer: impl Into<JsonPointer>) -> Self {
        self.items_at = Some(pointer.into());
        self
    }

    fn offset_of(&self, request: &HttpRequest) -> Result<u64, ConnectorError> {
        match query_param(&request.url, &self.offset_param) {
            None => Ok(0),
            Some(v) => v.parse().map_err(|_| {
                page_error(
                    self.offset_param.as_str(),
                    format!("the request's offset {v:?} is not a number"),
                )
            }),
        }
    }

    fn limit_of(&self, request: &HttpRequest) -> u64 {
        query_param(&request.url, &self.limit_param)
            .and_then(|v| v.parse().ok())
            .unwrap_or(self.page_size)
    }
}

impl Paginator for Offset {
    fn first_request(&mut self, request: HttpRequest) -> HttpRequest {
        let mut url = request.url.clone();
        if query_param(&url, &self.limit_param).is_none() {
            url = with_query_param(&url, &self.limit_param, &self.page_size.to_string());
        }
        if query_param(&url, &self.offset_param).is_none() {
            url = with_query_param(&url, &self.offset_param, "0");
        }
        HttpRequest { url, ..request }
    }

    fn next_request(
        &mut self,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<Option<HttpRequest>, ConnectorError> {
        let [total, items] = pick(
            &response.body,
            [
                self.total_at.as_ref().map(Want::Raw),
                self.items_at.as_ref().map(Want::Len),
            ],
        )
        .map_err(|e| page_error("", format!("page is not valid JSON: {e}")))?;
        let total = match total.and_then(Found::raw).filter(|t| !is_null(t)) {
            None => None,
            Some(raw) => Some(raw.get().trim().parse::<u64>().map_err(|_| {
                page_error(
                    self.total_at.as_ref().map_or("", JsonPointer::as_str),
                    format!("expected the total (a number), found {}", raw.get()),
                )
            })?),
        };
        let count = match (&self.items_at, items) {
            (None, _) => None,
            // No item array at all: nothing on this page.
            (Some(_), None) => Some(0),
            (Some(_), Some(Found::Len(n))) => Some(n),
            (Some(pointer), Some(_)) => {
                return Err(page_error(
                    pointer.as_str(),
                    "expected the page's items (an array)",
                ));
            }
        };
        if count == Some(0) {
            return Ok(None);
        }
        let limit = self.limit_of(request);
        let offset = self.offset_of(request)?;
        let next = offset + count.map_or(limit, |c| c as u64);
        match (total, count) {
            (Some(total), _) if next >= total => return Ok(None),
            (Some(_), _) => {}
            (None, Some(count)) if (count as u64) < limit => return Ok(None),
            (None, Some(_)) => {}
            (None, None) => {
                return Err(page_error(
                    self.total_at.as_ref().map_or("", JsonPointer::as_str),
                    "offset pagination found no total in the page and has no items pointer to \
                     count; set `total_at` to where the body gives the total, or `items_at`",
                ));
            }
        }
        Ok(Some(with_url(
            request,
            with_query_param(&request.url, &self.offset_param, &next.to_string()),
        )))
    }

    fn describe_request(&self, request: &HttpRequest) -> String {
        let offset = query_param(&request.url, &self.offset_param).unwrap_or_default();
        format!("{}={offset}", self.offset_param)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};
    use url::Url;

    fn step(p: &mut Offset, query: &str, body: &str) -> Option<String> {
        let url = Url::parse(&format!("http://127.0.0.1/search?{query}")).unwrap();
        let response = HttpResponse {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
            url: url.clone(),
        };
        p.next_request(&HttpRequest::get(url), &response)
            .unwrap()
            .map(|r| r.url.query().unwrap_or_default().to_owned())
    }

    #[test]
    fn the_first_request_gets_offset_and_limit() {
        let mut p = Offset::new(50);
        let first = p.first_request(HttpRequest::get(
            Url::parse("http://127.0.0.1/search?jql=x").unwrap(),
        ));
        assert_eq!(first.url.query(), Some("jql=x&maxResults=50&startAt=0"));
    }

    #[test]
    fn advances_by_the_items_returned_until_the_total() {
        let mut p = Offset::new(50).items_at("/issues");
        // The provider capped the page at 2 items although 50 were asked for.
        let next = step(
            &mut p,
            "startAt=0&maxResults=50",
            r#"{"total":5,"issues":[1,2]}"#,
        );
        assert_eq!(next.as_deref(), Some("maxResults=50&startAt=2"));
        assert_eq!(
            step(
                &mut p,
                "startAt=4&maxResults=50",
                r#"{"total":5,"issues":[5]}"#
            ),
            None
        );
    }

    #[test]
    fn without_items_it_advances_by_the_limit() {
        let mut p = Offset::new(10);
        let next = step(&mut p, "startAt=10&maxResults=10", r#"{"total":25}"#);
        assert_eq!(next.as_deref(), Some("maxResults=10&startAt=20"));
        assert_eq!(
            step(&mut p, "startAt=20&maxResults=10", r#"{"total":25}"#),
            None
        );
    }

    #[test]
    fn without_a_total_a_short_page_is_the_last() {
        let mut p = Offset::new(2)
            .offset_param("offset")
            .limit_param("limit")
            .without_total()
            .items_at("/values");
        assert!(step(&mut p, "offset=0&limit=2", r#"{"values":[1,2]}"#).is_some());
        assert_eq!(step(&mut p, "offset=2&limit=2", r#"{"values":[3]}"#), None);
    }

    #[test]
    fn an_empty_page_is_the_last() {
        let mut p = Offset::new(10).items_at("/issues");
        assert_eq!(
            step(&mut p, "startAt=0", r#"{"total":100,"issues":[]}"#),
            None
        );
    }
}
