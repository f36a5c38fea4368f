//! A small typed GraphQL client over [`ApiClient`]: a query's text written once, its variables
//! as JSON, its answer decoded into the caller's type, `errors` read with their paths, and
//! partial data kept.
//!
//! GraphQL answers failures inside the body, often with a 200: [`classifier`] reads them into a
//! [`Verdict`] (the provider decides which codes are rate limits or refused credentials), so
//! `ApiClient` retries, refreshes or fails as it does for statuses, and every other error names
//! the path it happened at. An answer with `data` *and* `errors` is partial: its data is used
//! and each error is logged with its path.
//!
//! ```
//! use gwi_core::graphql::GraphQl;
//! const ISSUES: &str = "query Issues($first: Int!, $after: String) {
//!   issues(first: $first, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }";
//! let api = GraphQl::new("https://api.linear.app/graphql".parse().unwrap());
//! let first = api.request(ISSUES, serde_json::json!({"first": 100}));
//! assert_eq!(first.method, http::Method::POST);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::error::ConnectorError;
use crate::http::{ApiClient, Classifier, HttpRequest, HttpResponse, Verdict};
use crate::pagination::{GraphQlPageInfo, Page, PaginateOptions, paginate_json};

/// A GraphQL endpoint.
#[derive(Debug, Clone)]
pub struct GraphQl {
    url: Url,
}

/// A GraphQL answer: `data` (absent or `null` when the query failed as a whole) and `errors`.
#[derive(Debug, Deserialize)]
pub struct Answer<T> {
    /// What the query selected.
    #[serde(default = "Option::default")]
    pub data: Option<T>,
    /// What went wrong, with where.
    #[serde(default)]
    pub errors: Vec<GraphQlError>,
}

/// One entry of a GraphQL answer's `errors`.
#[derive(Debug, Clone, Deserialize)]
pub struct GraphQlError {
    /// What the server said.
    #[serde(default)]
    pub message: String,
    /// Where in the answer it happened (`["issues", "nodes", 3, "assignee"]`).
    #[serde(default)]
    pub path: Vec<PathSegment>,
    /// The server's classification (`code`, `type`, ...).
    #[serde(default)]
    pub extensions: BTreeMap<String, Value>,
}

/// A field name or a list index in an error's path.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum PathSegment {
    /// A field.
    Field(String),
    /// A position in a list.
    Index(u64),
}

impl GraphQlError {
    /// The path as `issues.nodes.3.assignee` (empty for a whole-query error).
    pub fn path_text(&self) -> String {
        self.path
            .iter()
            .map(|segment| match segment {
                PathSegment::Field(name) => name.clone(),
                PathSegment::Index(i) => i.to_string(),
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    /// `extensions.<key>` as text, when it is a string.
    pub fn extension(&self, key: &str) -> Option<&str> {
        self.extensions.get(key).and_then(Value::as_str)
    }
}

impl fmt::Display for GraphQlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path_text();
        let at = if path.is_empty() {
            "the query".to_owned()
        } else {
            format!("`{path}`")
        };
        let kinds: Vec<&str> = [self.extension("type"), self.extension("code")]
            .into_iter()
            .flatten()
            .collect();
        let kind = if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        };
        let message: String = self.message.chars().take(300).collect();
        write!(f, "at {at}{kind}: {message}")
    }
}

/// Every error of an answer in one line.
pub fn describe(errors: &[GraphQlError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A Relay connection: a page of `nodes` and where the next one starts.
#[derive(Debug, Deserialize)]
pub struct Connection<T> {
    /// The items of this page.
    #[serde(default = "Vec::new")]
    pub nodes: Vec<T>,
}

impl GraphQl {
    /// The endpoint at `url`.
    pub fn new(url: Url) -> Self {
        Self { url }
    }

    /// A POST of `{"query": query, "variables": variables}`.
    pub fn request(&self, query: &str, variables: Value) -> HttpRequest {
        GraphQlPageInfo::request(self.url.clone(), query, variables)
    }

    /// Runs `query` and decodes its `data` as `T`; errors beside data are logged with their
    /// paths, errors without data fail with them.
    pub async fn query<T: DeserializeOwned>(
        &self,
        client: &ApiClient,
        query: &str,
        variables: Value,
    ) -> Result<T, ConnectorError> {
        let (response, answer) = client
            .execute_json::<Answer<T>>(&self.request(query, variables))
            .await?;
        data_of(client, &response, answer)
    }

    /// Every page of the connection at the root field `field` of `query`, which must take an
    /// `$after: String` variable and select `nodes { ... }` and `pageInfo { hasNextPage
    /// endCursor }` there.
    pub fn connection<'a, T: DeserializeOwned + Send + 'static>(
        &self,
        client: &'a ApiClient,
        query: &str,
        field: &'static str,
        variables: Value,
        options: PaginateOptions,
    ) -> BoxStream<'a, Result<(Page, Vec<T>), ConnectorError>> {
        let paginator = GraphQlPageInfo::new(format!("/data/{field}/pageInfo"))
            .items_at(format!("/data/{field}/nodes"));
        let first = self.request(query, variables);
        Box::pin(
            paginate_json::<Answer<BTreeMap<String, Connection<T>>>, _>(
                client, first, paginator, options,
            )
            .map(move |page| {
                let (page, answer) = page?;
                let mut data = data_of(client, &page.response, answer)?;
                let nodes = data.remove(field).map(|c| c.nodes).ok_or_else(|| {
                    ConnectorError::validation(
                        client.connector(),
                        format!("data.{field}"),
                        "the answer has no such connection; check the query selects it",
                    )
                })?;
                Ok((page, nodes))
            }),
        )
    }
}

/// An answer's data, or its errors as one error naming their paths.
fn data_of<T>(
    client: &ApiClient,
    response: &HttpResponse,
    answer: Answer<T>,
) -> Result<T, ConnectorError> {
    match answer.data {
        Some(data) => {
            for error in &answer.errors {
                tracing::warn!(
                    connector = client.connector(),
                    path = %error.path_text(),
                    error = %error,
                    "partial GraphQL answer: this part is missing, the rest is kept"
                );
            }
            Ok(data)
        }
        None => Err(ConnectorError::Api {
            connector: client.connector().to_owned(),
            status: response.status.as_u16(),
            url: client.redact(&response.url),
            message: if answer.errors.is_empty() {
                "the GraphQL answer has neither data nor errors".to_owned()
            } else {
                describe(&answer.errors)
            },
        }),
    }
}

/// What a provider's GraphQL error code means, for [`classifier`].
pub type ErrorReader = fn(&GraphQlError) -> Option<Verdict>;

/// Reads GraphQL answers whose `errors` decide what happens: `read` maps the provider's codes
/// (rate limits, refused credentials) to verdicts; any other failed query is
/// [`Verdict::Permanent`] with every error and its path. An answer that has data is left alone
/// (partial data is used, its errors logged), as is anything that is not a GraphQL answer.
pub fn classifier(read: ErrorReader) -> Classifier {
    Arc::new(move |response: &HttpResponse| {
        let answer: Answer<serde::de::IgnoredAny> = serde_json::from_slice(&response.body).ok()?;
        if answer.errors.is_empty() || (answer.data.is_some() && response.status.is_success()) {
            return None;
        }
        answer.errors.iter().find_map(read).or_else(|| {
            // A 5xx with errors is the server's trouble: let the status retry it.
            (!response.status.is_server_error()).then(|| Verdict::Permanent {
                reason: describe(&answer.errors),
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};

    fn answer(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
            url: Url::parse("https://api.example.com/graphql").unwrap_or_else(|_| unreachable!()),
        }
    }

    fn ratelimited(error: &GraphQlError) -> Option<Verdict> {
        (error.extension("code") == Some("RATELIMITED"))
            .then_some(Verdict::RateLimited { retry_after: None })
    }

    #[test]
    fn errors_name_their_path_and_code() {
        let answer: Answer<Value> = serde_json::from_str(
            r#"{"data":null,"errors":[{"message":"first must be at most 250","path":["issues",0,"x"],"extensions":{"type":"invalid input"}}]}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(answer.data.is_none());
        assert_eq!(
            describe(&answer.errors),
            "at `issues.0.x` (invalid input): first must be at most 250"
        );
    }

    #[test]
    fn the_classifier_maps_codes_and_leaves_partial_data_alone() {
        let classify = classifier(ratelimited);
        assert!(matches!(
            classify(&answer(
                400,
                r#"{"errors":[{"message":"slow down","extensions":{"code":"RATELIMITED"}}]}"#
            )),
            Some(Verdict::RateLimited { .. })
        ));
        let Some(Verdict::Permanent { reason }) = classify(&answer(
            200,
            r#"{"data":null,"errors":[{"message":"bad","path":["issues"],"extensions":{"code":"INPUT_ERROR"}}]}"#,
        )) else {
            panic!("not permanent");
        };
        assert!(
            reason.contains("`issues`") && reason.contains("INPUT_ERROR"),
            "{reason}"
        );
        assert_eq!(
            classify(&answer(
                200,
                r#"{"data":{"issues":null},"errors":[{"message":"partial"}]}"#
            )),
            None
        );
        assert_eq!(classify(&answer(200, r#"{"data":{"a":1}}"#)), None);
        assert_eq!(classify(&answer(502, "Bad Gateway")), None);
        assert_eq!(
            classify(&answer(
                500,
                r#"{"errors":[{"message":"Internal server error"}]}"#
            )),
            None,
            "a server error is retried by its status"
        );
    }
}
