//! GraphQL cursor pagination: `pageInfo { hasNextPage endCursor }`, cursor sent as a variable.

use serde::Deserialize;
use url::Url;

use crate::error::ConnectorError;
use crate::http::{HttpRequest, HttpResponse};
use crate::pagination::json::{Found, JsonPointer, Want, is_empty_array, pick};
use crate::pagination::{Paginator, page_error};

/// Reads `pageInfo` at a pointer and re-sends the query with `variables.after` set to `endCursor`.
///
/// Stops when `hasNextPage` is false, `endCursor` is null, or (with
/// [`items_at`](Self::items_at)) a page has no nodes. A missing `pageInfo` is an error: GraphQL
/// returns what was asked for, so its absence means the query or the pointer is wrong.
///
/// ```
/// use gwi_core::pagination::GraphQlPageInfo;
/// let query = "query($after: String) { issues(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { id } } }";
/// let first = GraphQlPageInfo::request(
///     "https://api.linear.app/graphql".parse().unwrap(),
///     query,
///     serde_json::json!({}),
/// );
/// let paginator = GraphQlPageInfo::new("/data/issues/pageInfo").items_at("/data/issues/nodes");
/// ```
#[derive(Debug, Clone)]
pub struct GraphQlPageInfo {
    page_info_at: JsonPointer,
    items_at: Option<JsonPointer>,
    variable: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

impl GraphQlPageInfo {
    /// Reads `pageInfo` at `page_info_at` and sends the cursor as variable `after`.
    pub fn new(page_info_at: impl Into<JsonPointer>) -> Self {
        Self {
            page_info_at: page_info_at.into(),
            items_at: None,
            variable: "after".to_owned(),
        }
    }

    /// Also stops on a page whose nodes at `pointer` are empty.
    pub fn items_at(mut self, pointer: impl Into<JsonPointer>) -> Self {
        self.items_at = Some(pointer.into());
        self
    }

    /// Names the cursor variable (default `after`).
    pub fn cursor_variable(mut self, name: &str) -> Self {
        name.clone_into(&mut self.variable);
        self
    }

    /// The first request: a POST of `{"query": query, "variables": variables}` to `url`.
    pub fn request(url: Url, query: &str, variables: serde_json::Value) -> HttpRequest {
        HttpRequest::new(http::Method::POST, url)
            .json_body(&serde_json::json!({ "query": query, "variables": variables }))
    }

    fn cursor_of(&self, request: &HttpRequest) -> Option<serde_json::Value> {
        let body: serde_json::Value = serde_json::from_slice(request.body.as_deref()?).ok()?;
        body.get("variables")?.get(&self.variable).cloned()
    }
}

impl Paginator for GraphQlPageInfo {
    fn next_request(
        &mut self,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<Option<HttpRequest>, ConnectorError> {
        let [page_info, items] = pick(
            &response.body,
            [
                Some(Want::Raw(&self.page_info_at)),
                self.items_at.as_ref().map(Want::Raw),
            ],
        )
        .map_err(|e| page_error("", format!("page is not valid JSON: {e}")))?;
        let Some(page_info) = page_info.and_then(Found::raw) else {
            return Err(page_error(
                self.page_info_at.as_str(),
                "no pageInfo in the response; check the query asks for `pageInfo { hasNextPage \
                 endCursor }` and the pointer, and look for GraphQL `errors` in the body",
            ));
        };
        let info: PageInfo = serde_json::from_str(page_info.get()).map_err(|e| {
            page_error(
                self.page_info_at.as_str(),
                format!("pageInfo is not {{hasNextPage, endCursor}}: {e}"),
            )
        })?;
        if items.and_then(Found::raw).is_some_and(is_empty_array) {
            return Ok(None);
        }
        let (true, Some(cursor)) = (info.has_next_page, info.end_cursor) else {
            return Ok(None);
        };
        let mut body: serde_json::Value = match request.body.as_deref() {
            Some(bytes) => serde_json::from_slice(bytes).map_err(|e| {
                page_error(
                    "",
                    format!("the GraphQL request body is not JSON, cannot set the cursor: {e}"),
                )
            })?,
            None => serde_json::json!({}),
        };
        let Some(object) = body.as_object_mut() else {
            return Err(page_error(
                "",
                "the GraphQL request body is not a JSON object, cannot set the cursor",
            ));
        };
        let variables = object
            .entry("variables")
            .or_insert_with(|| serde_json::json!({}));
        if !variables.is_object() {
            *variables = serde_json::json!({});
        }
        if let Some(variables) = variables.as_object_mut() {
            variables.insert(self.variable.clone(), serde_json::Value::String(cursor));
        }
        // The same request (headers, timeout, rate bucket) with the cursor in its body.
        Ok(Some(request.clone().json_body(&body)))
    }

    fn describe_request(&self, request: &HttpRequest) -> String {
        match self.cursor_of(request) {
            Some(cursor) => format!("{}={cursor}", self.variable),
            None => format!("first page ({} unset)", self.variable),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};
    use serde_json::json;

    fn step(
        p: &mut GraphQlPageInfo,
        request: &HttpRequest,
        body: &serde_json::Value,
    ) -> Option<HttpRequest> {
        let response = HttpResponse {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_string()),
            url: request.url.clone(),
        };
        p.next_request(request, &response).unwrap()
    }

    fn first() -> HttpRequest {
        GraphQlPageInfo::request(
            "http://127.0.0.1/graphql".parse().unwrap(),
            "query($after: String) { x }",
            json!({"team": "ENG"}),
        )
    }

    #[test]
    fn sets_the_cursor_variable_and_keeps_the_rest() {
        let mut p = GraphQlPageInfo::new("/data/issues/pageInfo");
        let body = json!({"data": {"issues": {"pageInfo": {"hasNextPage": true, "endCursor": "c1"}, "nodes": [1]}}});
        let next = step(&mut p, &first(), &body).unwrap();
        assert_eq!(next.method, http::Method::POST);
        let sent: serde_json::Value =
            serde_json::from_slice(next.body.as_deref().unwrap()).unwrap();
        assert_eq!(sent["variables"], json!({"team": "ENG", "after": "c1"}));
        assert_eq!(sent["query"], "query($after: String) { x }");
        assert_eq!(p.describe_request(&next), "after=\"c1\"");
    }

    #[test]
    fn stops_when_there_is_no_next_page() {
        let mut p = GraphQlPageInfo::new("data.issues.pageInfo");
        let done =
            json!({"data": {"issues": {"pageInfo": {"hasNextPage": false, "endCursor": "c9"}}}});
        assert!(step(&mut p, &first(), &done).is_none());
        let null_cursor =
            json!({"data": {"issues": {"pageInfo": {"hasNextPage": true, "endCursor": null}}}});
        assert!(step(&mut p, &first(), &null_cursor).is_none());
    }

    #[test]
    fn stops_on_empty_nodes() {
        let mut p = GraphQlPageInfo::new("/data/i/pageInfo").items_at("/data/i/nodes");
        let body = json!({"data": {"i": {"pageInfo": {"hasNextPage": true, "endCursor": "c"}, "nodes": []}}});
        assert!(step(&mut p, &first(), &body).is_none());
    }

    #[test]
    fn a_missing_page_info_is_an_error_naming_the_pointer() {
        let mut p = GraphQlPageInfo::new("/data/issues/pageInfo");
        let response = HttpResponse {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from(json!({"errors": [{"message": "bad"}], "data": null}).to_string()),
            url: first().url,
        };
        let err = p.next_request(&first(), &response).unwrap_err();
        assert!(
            err.to_string()
                .contains("/data/issues/pageInfo: no pageInfo"),
            "{err}"
        );
    }
}
