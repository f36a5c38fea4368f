//! `authenticate`, and Linear's GraphQL `errors` read for what they mean.

use gwi_core::connector::AuthInfo;
use gwi_core::error::ConnectorError;
use gwi_core::graphql::{self, GraphQl, GraphQlError};
use gwi_core::http::{ApiClient, Classifier, Verdict};
use serde_json::json;

use super::models::Viewer;
use super::queries::VIEWER;

/// Checks the credentials with the `viewer` query; the identity is the user's email or name.
pub(crate) async fn authenticate(
    api: &GraphQl,
    client: &ApiClient,
) -> Result<AuthInfo, ConnectorError> {
    let viewer: Viewer = api
        .query(client, VIEWER, json!({}))
        .await
        .map_err(explain)?;
    Ok(AuthInfo {
        identity: viewer.viewer.email.or(viewer.viewer.name),
        scopes: Vec::new(),
    })
}

/// Rewrites a refused credential into what the user must do.
pub(crate) fn explain(error: ConnectorError) -> ConnectorError {
    match error {
        ConnectorError::Authentication {
            connector,
            status,
            message,
            required_scopes,
        } if required_scopes.is_empty() => ConnectorError::Authentication {
            connector,
            status,
            message: format!(
                "the API key or token is invalid, expired or revoked (Linear said: {message}); a personal API key goes in `auth.key` as it is, without `Bearer`"
            ),
            required_scopes,
        },
        other => other,
    }
}

/// Linear's error kinds, by `extensions.code` (`RATELIMITED`) or `extensions.type`
/// (`ratelimited`, `authentication error`, `forbidden`): a rate limit waits for the reset
/// headers and retries, a refused credential tries one refresh, a forbidden one fails; anything
/// else fails the query naming each error's path (`invalid input` above all).
fn read(error: &GraphQlError) -> Option<Verdict> {
    let code = error.extension("code").unwrap_or_default();
    let kind = error.extension("type").unwrap_or_default();
    if code.eq_ignore_ascii_case("RATELIMITED") || kind.eq_ignore_ascii_case("ratelimited") {
        Some(Verdict::RateLimited { retry_after: None })
    } else if code == "AUTHENTICATION_ERROR" || kind == "authentication error" {
        Some(Verdict::Unauthorized {
            reason: error.to_string(),
        })
    } else if code == "FORBIDDEN" || kind == "forbidden" {
        Some(Verdict::Forbidden {
            reason: error.to_string(),
            scopes: Vec::new(),
        })
    } else {
        None
    }
}

/// The classifier of every answer.
pub(crate) fn classifier() -> Classifier {
    graphql::classifier(read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use gwi_core::http::HttpResponse;
    use http::{HeaderMap, StatusCode};

    fn answer(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
            url: url::Url::parse("https://api.linear.app/graphql").unwrap(),
        }
    }

    #[test]
    fn linear_error_kinds_become_verdicts_and_others_name_their_path() {
        let classify = classifier();
        let verdict = |status, body| classify(&answer(status, body));
        assert!(matches!(
            verdict(
                400,
                r#"{"errors":[{"message":"Rate limit exceeded","extensions":{"code":"RATELIMITED","type":"ratelimited"}}]}"#
            ),
            Some(Verdict::RateLimited { .. })
        ));
        assert!(matches!(
            verdict(
                400,
                r#"{"errors":[{"message":"Authentication required, not authenticated","extensions":{"type":"authentication error","code":"AUTHENTICATION_ERROR"}}]}"#
            ),
            Some(Verdict::Unauthorized { .. })
        ));
        assert!(matches!(
            verdict(
                200,
                r#"{"data":null,"errors":[{"message":"no","extensions":{"type":"forbidden"}}]}"#
            ),
            Some(Verdict::Forbidden { .. })
        ));
        let Some(Verdict::Permanent { reason }) = verdict(
            400,
            r#"{"errors":[{"message":"first must be at most 250","path":["issues"],"extensions":{"type":"invalid input","code":"INPUT_ERROR"}}]}"#,
        ) else {
            panic!("not permanent")
        };
        assert!(
            reason.contains("`issues`") && reason.contains("250"),
            "{reason}"
        );
    }
}
