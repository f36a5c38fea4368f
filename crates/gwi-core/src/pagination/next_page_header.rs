//! A next page number named by a response header (GitLab's `x-next-page`), or a keyset cursor
//! taken from the `rel="next"` link.

use url::Url;

use crate::error::ConnectorError;
use crate::http::{HttpRequest, HttpResponse};
use crate::pagination::{
    Paginator, is_empty_array, next_link, page_error, query_param, with_query_param, with_url,
};

/// Asks for the page number a response header names, on the same request, until the header is
/// empty or missing.
///
/// Unlike a `Link` URL, the number says nothing of the host: a self-managed GitLab whose
/// configured external URL differs from the address gwi reaches it at (a proxy, a container)
/// writes `Link` URLs gwi must not follow, while `x-next-page` works wherever it is reached.
///
/// ```
/// use gwi_core::pagination::NextPageHeader;
/// let paginator = NextPageHeader::new("x-next-page", "page");
/// ```
#[derive(Debug, Clone)]
pub struct NextPageHeader {
    header: String,
    page_param: String,
    link_param: Option<String>,
}

impl NextPageHeader {
    /// Follows the page number in `header` into the `page_param` query parameter.
    pub fn new(header: &str, page_param: &str) -> Self {
        Self {
            header: header.to_ascii_lowercase(),
            page_param: page_param.to_owned(),
            link_param: None,
        }
    }

    /// Where the header is missing, follows the `param` query parameter of the `rel="next"`
    /// link instead, set on this request (GitLab's keyset pages name their next page only as
    /// `Link: <…&cursor=…>; rel="next"`, whose host may be one gwi must not send credentials
    /// to).
    pub fn or_link_param(mut self, param: &str) -> Self {
        self.link_param = Some(param.to_owned());
        self
    }

    /// The next request by the `rel="next"` link's `link_param`, if both are there.
    fn by_link(
        &self,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<Option<HttpRequest>, ConnectorError> {
        let (Some(param), Some(target)) = (&self.link_param, next_link(&response.headers)) else {
            return Ok(None);
        };
        if is_empty_array(&response.body) {
            return Ok(None);
        }
        let next = request
            .url
            .join(target)
            .map_err(|e| page_error("link", format!("the next link is not a URL: {e}")))?;
        let value = query_param(&next, param)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| page_error("link", format!("the next link has no {param}")))?;
        let url: Url = with_query_param(&request.url, param, &value);
        Ok(Some(with_url(request, url)))
    }
}

impl Paginator for NextPageHeader {
    fn next_request(
        &mut self,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<Option<HttpRequest>, ConnectorError> {
        let Some(value) = response.headers.get(self.header.as_str()) else {
            return self.by_link(request, response);
        };
        let text = value
            .to_str()
            .map_err(|_| page_error(&self.header, "the header is not text"))?
            .trim();
        if text.is_empty() || is_empty_array(&response.body) {
            return Ok(None);
        }
        let page: u64 = text.parse().map_err(|_| {
            page_error(
                &self.header,
                format!("expected a page number, found {text:?}"),
            )
        })?;
        let url = with_query_param(&request.url, &self.page_param, &page.to_string());
        Ok(Some(with_url(request, url)))
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue, StatusCode};
    use url::Url;

    use super::*;

    fn response(next: Option<&str>, body: &str) -> HttpResponse {
        let mut headers = HeaderMap::new();
        if let Some(next) = next {
            headers.insert("X-Next-Page", HeaderValue::from_str(next).unwrap());
        }
        HttpResponse {
            status: StatusCode::OK,
            headers,
            body: body.as_bytes().to_vec().into(),
            url: Url::parse("https://gitlab.example.com/api/v4/projects/1/issues?page=1").unwrap(),
        }
    }

    fn first() -> HttpRequest {
        HttpRequest::get(
            Url::parse("http://127.0.0.1:8080/api/v4/projects/1/issues?per_page=100&page=1")
                .unwrap(),
        )
    }

    #[test]
    fn the_named_page_is_asked_of_the_same_host_with_the_same_query() {
        let next = NextPageHeader::new("X-Next-Page", "page")
            .next_request(&first(), &response(Some("2"), "[1]"))
            .unwrap()
            .unwrap();
        assert_eq!(
            next.url.as_str(),
            "http://127.0.0.1:8080/api/v4/projects/1/issues?per_page=100&page=2"
        );
    }

    #[test]
    fn an_empty_or_missing_header_or_an_empty_page_is_the_end() {
        let mut paginator = NextPageHeader::new("x-next-page", "page");
        for (next, body) in [(Some(""), "[1]"), (None, "[1]"), (Some("3"), " [ ] ")] {
            let request = paginator.next_request(&first(), &response(next, body));
            assert!(request.unwrap().is_none(), "{next:?} {body:?}");
        }
    }

    proptest::proptest! {
        /// Any header text ends the walk, names a page of the same request, or is an error.
        #[test]
        fn any_header_text_gives_the_end_a_page_or_an_error(text in "[ -~]{0,24}") {
            let mut headers = HeaderMap::new();
            let Ok(value) = HeaderValue::from_str(&text) else { return Ok(()) };
            headers.insert("x-next-page", value);
            let answer = HttpResponse { headers, ..response(None, "[1]") };
            match NextPageHeader::new("x-next-page", "page").next_request(&first(), &answer) {
                Ok(None) => proptest::prop_assert!(text.trim().is_empty()),
                Ok(Some(next)) => {
                    let page: u64 = text.trim().parse().unwrap();
                    let want = format!("page={page}");
                    proptest::prop_assert!(next.url.query().unwrap().ends_with(&want));
                    proptest::prop_assert_eq!(next.url.host_str(), Some("127.0.0.1"));
                }
                Err(error) => proptest::prop_assert!(error.to_string().contains("x-next-page")),
            }
        }
    }

    #[test]
    fn a_header_that_is_no_page_number_is_a_clear_error() {
        let error = NextPageHeader::new("x-next-page", "page")
            .next_request(&first(), &response(Some("next"), "[1]"))
            .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("x-next-page"), "{text}");
        assert!(text.contains("\"next\""), "{text}");
    }

    fn keyset_answer(link: &str, body: &str) -> HttpResponse {
        let mut answer = response(None, body);
        answer
            .headers
            .insert("link", HeaderValue::from_str(link).unwrap());
        answer
    }

    #[test]
    fn a_keyset_cursor_in_the_next_link_is_asked_of_the_same_host() {
        let link = r#"<https://gitlab.example.com/api/v4/projects/1/issues?cursor=eyJpZCI6NX0%3D&per_page=100>; rel="next""#;
        let mut paginator = NextPageHeader::new("x-next-page", "page").or_link_param("cursor");
        let next = paginator
            .next_request(&first(), &keyset_answer(link, "[1]"))
            .unwrap()
            .unwrap();
        assert_eq!(next.url.host_str(), Some("127.0.0.1"));
        assert_eq!(
            query_param(&next.url, "cursor").as_deref(),
            Some("eyJpZCI6NX0=")
        );
        // The page number wins where both are given; an empty page is the end.
        let mut both = keyset_answer(link, "[1]");
        both.headers
            .insert("x-next-page", HeaderValue::from_static("2"));
        let next = paginator.next_request(&first(), &both).unwrap().unwrap();
        assert_eq!(query_param(&next.url, "page").as_deref(), Some("2"));
        assert!(
            paginator
                .next_request(&first(), &keyset_answer(link, "[]"))
                .unwrap()
                .is_none()
        );
        // Without `or_link_param` the link is not followed.
        let mut plain = NextPageHeader::new("x-next-page", "page");
        let answer = keyset_answer(link, "[1]");
        assert!(plain.next_request(&first(), &answer).unwrap().is_none());
    }

    #[test]
    fn a_next_link_without_the_cursor_is_a_clear_error() {
        let link = r#"<https://gitlab.example.com/api/v4/projects/1/issues?page=2>; rel="next""#;
        let error = NextPageHeader::new("x-next-page", "page")
            .or_link_param("cursor")
            .next_request(&first(), &keyset_answer(link, "[1]"))
            .unwrap_err();
        assert!(error.to_string().contains("cursor"), "{error}");
    }

    proptest::proptest! {
        /// Any `Link` text ends the walk, names a page on the same host, or is an error.
        #[test]
        fn any_link_text_gives_the_end_a_page_on_the_same_host_or_an_error(text in "[ -~]{0,60}") {
            let Ok(value) = HeaderValue::from_str(&text) else { return Ok(()) };
            let mut answer = response(None, "[1]");
            answer.headers.insert("link", value);
            let result = NextPageHeader::new("x-next-page", "page")
                .or_link_param("cursor")
                .next_request(&first(), &answer);
            if let Ok(Some(next)) = result {
                proptest::prop_assert_eq!(next.url.host_str(), Some("127.0.0.1"));
                proptest::prop_assert!(query_param(&next.url, "cursor").is_some());
            }
        }
    }
}
