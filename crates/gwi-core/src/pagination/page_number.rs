//! Page-number pagination: `page`/`per_page` parameters, last page when one comes back short.

use crate::error::ConnectorError;
use crate::http::{HttpRequest, HttpResponse};
use crate::pagination::json::{Found, JsonPointer, Want, pick};
use crate::pagination::{Paginator, page_error, query_param, with_query_param, with_url};

/// Asks for page 1, 2, 3, ... and stops on an empty page or one shorter than `per_page`.
///
/// By default the body *is* the item array (GitHub, GitLab); point [`items_at`](Self::items_at)
/// elsewhere for wrapped lists.
///
/// ```
/// use gwi_core::pagination::PageNumber;
/// let paginator = PageNumber::new(100).items_at("/data");
/// ```
#[derive(Debug, Clone)]
pub struct PageNumber {
    per_page: u64,
    page_param: String,
    per_page_param: String,
    first_page: u64,
    items_at: JsonPointer,
}

impl PageNumber {
    /// Pages of `per_page` items, numbered from 1, as `page` and `per_page`, items at the root.
    pub fn new(per_page: u64) -> Self {
        Self {
            per_page: per_page.max(1),
            page_param: "page".to_owned(),
            per_page_param: "per_page".to_owned(),
            first_page: 1,
            items_at: JsonPointer::new(""),
        }
    }

    /// Names the page query parameter.
    pub fn page_param(mut self, name: &str) -> Self {
        name.clone_into(&mut self.page_param);
        self
    }

    /// Names the page-size query parameter (e.g. `limit`, `pageSize`).
    pub fn per_page_param(mut self, name: &str) -> Self {
        name.clone_into(&mut self.per_page_param);
        self
    }

    /// The number of the first page (some APIs count from 0).
    pub fn first_page(mut self, number: u64) -> Self {
        self.first_page = number;
        self
    }

    /// Where the body holds the page's items.
    pub fn items_at(mut self, pointer: impl Into<JsonPointer>) -> Self {
        self.items_at = pointer.into();
        self
    }
}

impl Paginator for PageNumber {
    fn first_request(&mut self, request: HttpRequest) -> HttpRequest {
        let mut url = request.url.clone();
        if query_param(&url, &self.per_page_param).is_none() {
            url = with_query_param(&url, &self.per_page_param, &self.per_page.to_string());
        }
        if query_param(&url, &self.page_param).is_none() {
            url = with_query_param(&url, &self.page_param, &self.first_page.to_string());
        }
        HttpRequest { url, ..request }
    }

    fn next_request(
        &mut self,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<Option<HttpRequest>, ConnectorError> {
        let [items] = pick(&response.body, [Some(Want::Len(&self.items_at))])
            .map_err(|e| page_error("", format!("page is not valid JSON: {e}")))?;
        let count = match items {
            None => 0,
            Some(Found::Len(n)) => n,
            Some(_) => {
                return Err(page_error(
                    self.items_at.to_string(),
                    "expected the page's items (an array)",
                ));
            }
        };
        let per_page = query_param(&request.url, &self.per_page_param)
            .and_then(|v| v.parse().ok())
            .unwrap_or(self.per_page);
        if count == 0 || (count as u64) < per_page {
            return Ok(None);
        }
        let page = match query_param(&request.url, &self.page_param) {
            None => self.first_page,
            Some(v) => v.parse::<u64>().map_err(|_| {
                page_error(
                    self.page_param.as_str(),
                    format!("the request's page {v:?} is not a number"),
                )
            })?,
        };
        Ok(Some(with_url(
            request,
            with_query_param(&request.url, &self.page_param, &(page + 1).to_string()),
        )))
    }

    fn describe_request(&self, request: &HttpRequest) -> String {
        let page = query_param(&request.url, &self.page_param).unwrap_or_default();
        format!("{}={page}", self.page_param)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};
    use url::Url;

    fn step(p: &mut PageNumber, query: &str, body: &str) -> Option<String> {
        let url = Url::parse(&format!("http://127.0.0.1/issues?{query}")).unwrap();
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
    fn a_full_page_leads_to_the_next_number() {
        let mut p = PageNumber::new(2);
        assert_eq!(
            step(&mut p, "per_page=2&page=3", "[1,2]").as_deref(),
            Some("per_page=2&page=4")
        );
    }

    #[test]
    fn short_and_empty_pages_are_the_last() {
        let mut p = PageNumber::new(2);
        assert_eq!(step(&mut p, "per_page=2&page=3", "[1]"), None);
        assert_eq!(step(&mut p, "per_page=2&page=3", "[]"), None);
    }

    #[test]
    fn wrapped_items_and_custom_names_work() {
        let mut p = PageNumber::new(2)
            .page_param("p")
            .per_page_param("size")
            .first_page(0)
            .items_at("/data");
        let first = p.first_request(HttpRequest::get(
            Url::parse("http://127.0.0.1/issues").unwrap(),
        ));
        assert_eq!(first.url.query(), Some("size=2&p=0"));
        assert_eq!(
            step(&mut p, "size=2&p=0", r#"{"data":[1,2]}"#).as_deref(),
            Some("size=2&p=1")
        );
    }
}
