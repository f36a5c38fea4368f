//! Cursor pagination: the body names the next page's cursor, sent back as a query parameter.

use crate::error::ConnectorError;
use crate::http::{HttpRequest, HttpResponse};
use crate::pagination::json::{Found, JsonPointer, Want, is_empty_array, is_null, pick};
use crate::pagination::{Paginator, page_error, query_param, with_query_param, with_url};

/// Reads the next cursor at a JSON pointer and sends it as a query parameter (Slack, many REST APIs).
///
/// Stops when the cursor is missing, `null` or empty, or (with [`items_at`](Self::items_at)) when
/// a page has no items.
///
/// ```
/// use gwi_core::pagination::CursorParam;
/// // Slack: {"messages": [...], "response_metadata": {"next_cursor": "dGVhbTpD..."}}
/// let paginator = CursorParam::new("/response_metadata/next_cursor", "cursor").items_at("/messages");
/// ```
#[derive(Debug, Clone)]
pub struct CursorParam {
    cursor_at: JsonPointer,
    param: String,
    items_at: Option<JsonPointer>,
}

impl CursorParam {
    /// Reads the cursor at `cursor_at` (RFC 6901 or dotted) and sends it as `param`.
    pub fn new(cursor_at: impl Into<JsonPointer>, param: &str) -> Self {
        Self {
            cursor_at: cursor_at.into(),
            param: param.to_owned(),
            items_at: None,
        }
    }

    /// Also stops on a page whose item array at `pointer` is empty.
    pub fn items_at(mut self, pointer: impl Into<JsonPointer>) -> Self {
        self.items_at = Some(pointer.into());
        self
    }
}

impl Paginator for CursorParam {
    fn next_request(
        &mut self,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<Option<HttpRequest>, ConnectorError> {
        let [cursor, items] = pick(
            &response.body,
            [
                Some(Want::Raw(&self.cursor_at)),
                self.items_at.as_ref().map(Want::Raw),
            ],
        )
        .map_err(|e| page_error("", format!("page is not valid JSON: {e}")))?;
        if items.and_then(Found::raw).is_some_and(is_empty_array) {
            return Ok(None);
        }
        let Some(cursor) = cursor.and_then(Found::raw).filter(|c| !is_null(c)) else {
            return Ok(None);
        };
        let token = match serde_json::from_str::<serde_json::Value>(cursor.get()) {
            Ok(serde_json::Value::String(s)) => s,
            Ok(serde_json::Value::Number(n)) => n.to_string(),
            Ok(serde_json::Value::Bool(false)) => return Ok(None),
            _ => {
                return Err(page_error(
                    self.cursor_at.as_str(),
                    format!(
                        "expected the next cursor (a string), found {}",
                        cursor.get()
                    ),
                ));
            }
        };
        if token.is_empty() {
            return Ok(None);
        }
        Ok(Some(with_url(
            request,
            with_query_param(&request.url, &self.param, &token),
        )))
    }

    fn describe_request(&self, request: &HttpRequest) -> String {
        match query_param(&request.url, &self.param) {
            Some(cursor) => format!("{}={cursor:?}", self.param),
            None => format!("first page ({} absent)", self.param),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};
    use url::Url;

    fn page(body: &str) -> HttpResponse {
        HttpResponse {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
            url: Url::parse("http://127.0.0.1/x").unwrap(),
        }
    }

    fn next(p: &mut CursorParam, body: &str) -> Option<String> {
        let request =
            HttpRequest::get(Url::parse("http://127.0.0.1/x?limit=2&cursor=old").unwrap());
        p.next_request(&request, &page(body))
            .unwrap()
            .map(|r| r.url.query().unwrap_or_default().to_owned())
    }

    #[test]
    fn sends_the_cursor_replacing_the_previous_one() {
        let mut p = CursorParam::new("meta.next", "cursor");
        assert_eq!(
            next(&mut p, r#"{"meta":{"next":"abc"}}"#).as_deref(),
            Some("limit=2&cursor=abc")
        );
    }

    #[test]
    fn stops_on_missing_null_or_empty_cursor() {
        let mut p = CursorParam::new("/meta/next", "cursor");
        assert_eq!(next(&mut p, r#"{"meta":{}}"#), None);
        assert_eq!(next(&mut p, r#"{"meta":{"next":null}}"#), None);
        assert_eq!(next(&mut p, r#"{"meta":{"next":""}}"#), None);
    }

    #[test]
    fn stops_on_an_empty_page_even_with_a_cursor() {
        let mut p = CursorParam::new("/next", "cursor").items_at("/items");
        assert_eq!(next(&mut p, r#"{"items":[],"next":"abc"}"#), None);
        assert!(next(&mut p, r#"{"items":[1],"next":"abc"}"#).is_some());
    }

    #[test]
    fn a_cursor_of_the_wrong_type_names_the_field() {
        let mut p = CursorParam::new("/next", "cursor");
        let request = HttpRequest::get(Url::parse("http://127.0.0.1/x").unwrap());
        let err = p
            .next_request(&request, &page(r#"{"next":{"a":1}}"#))
            .unwrap_err();
        assert!(
            err.to_string().contains("/next: expected the next cursor"),
            "{err}"
        );
    }
}
