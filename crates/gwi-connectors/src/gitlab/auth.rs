//! `authenticate`, GitLab's refusals read into what the user must fix, and the classifier that
//! keeps the scope GitLab names.

use std::sync::Arc;

use gwi_core::connector::AuthInfo;
use gwi_core::error::ConnectorError;
use gwi_core::http::{ApiClient, Classifier, HttpResponse, Verdict};
use http::StatusCode;
use serde::Deserialize;

use super::core::GitlabApi;
use super::models::AuthenticatedUser;

/// The token scope a read-only sync needs (`api` also covers it).
pub(crate) const REQUIRED_SCOPE: &str = "read_api";

/// Checks the credentials with `GET /user`; the identity is the username.
pub(crate) async fn authenticate(
    api: &GitlabApi,
    client: &ApiClient,
) -> Result<AuthInfo, ConnectorError> {
    let (_, user) = client
        .execute_json::<AuthenticatedUser>(&api.get(&["user"]))
        .await
        .map_err(explain)?;
    Ok(AuthInfo {
        identity: Some(user.username),
        scopes: Vec::new(),
    })
}

/// Rewrites a refusal into what the user must do: a 401 means the token is not valid, a 403
/// that it works but may not read this (usually a missing `read_api` scope).
pub(crate) fn explain(error: ConnectorError) -> ConnectorError {
    match error {
        ConnectorError::Authentication {
            connector,
            status: Some(403),
            message,
            ..
        } => ConnectorError::Authentication {
            connector,
            status: Some(403),
            message: format!("the token may not read this (GitLab said: {message})"),
            required_scopes: vec![REQUIRED_SCOPE.to_owned()],
        },
        ConnectorError::Authentication {
            connector,
            status,
            message,
            ..
        } => ConnectorError::Authentication {
            connector,
            status,
            message: format!("the token is invalid, expired or revoked (GitLab said: {message})"),
            required_scopes: Vec::new(),
        },
        other => other,
    }
}

/// The OAuth error body GitLab answers a token without the needed scope with.
#[derive(Deserialize)]
struct ScopeRefusal {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

/// Reads a 403 `insufficient_scope` answer as a refusal that names the scope GitLab asks for,
/// which the default reading drops (it keeps `error_description` only). Every other answer is
/// left to its status: a plain-text `Retry later` 429 is a rate limit by status alone.
pub(crate) fn classifier() -> Classifier {
    Arc::new(|response: &HttpResponse| {
        if response.status != StatusCode::FORBIDDEN {
            return None;
        }
        let refusal: ScopeRefusal = serde_json::from_slice(&response.body).ok()?;
        if refusal.error != "insufficient_scope" {
            return None;
        }
        let scope = refusal.scope.as_deref().unwrap_or(REQUIRED_SCOPE);
        let description = refusal
            .error_description
            .as_deref()
            .unwrap_or("the token's scopes do not allow this request");
        Some(Verdict::Forbidden {
            reason: format!(
                "insufficient_scope: the token needs the {scope} scope ({description})"
            ),
            scopes: vec![scope.to_owned()],
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gitlab::records::SOURCE;
    use bytes::Bytes;
    use http::HeaderMap;

    fn refused(status: u16, message: &str) -> ConnectorError {
        ConnectorError::Authentication {
            connector: SOURCE.to_owned(),
            status: Some(status),
            message: message.to_owned(),
            required_scopes: Vec::new(),
        }
    }

    fn answer(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
            url: url::Url::parse("https://gitlab.com/api/v4/user").unwrap(),
        }
    }

    #[test]
    fn a_401_reads_as_invalid_and_a_403_names_read_api() {
        let text = explain(refused(401, "401 Unauthorized")).to_string();
        assert!(text.contains("invalid, expired or revoked"), "{text}");
        let text = explain(refused(403, "403 Forbidden")).to_string();
        assert!(text.contains("may not read this"), "{text}");
        assert!(text.contains("need these scopes: read_api"), "{text}");
    }

    #[test]
    fn insufficient_scope_keeps_the_scope_gitlab_names() {
        let classify = classifier();
        let body = r#"{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"read_api"}"#;
        let Some(Verdict::Forbidden { reason, .. }) = classify(&answer(403, body)) else {
            panic!("not read as forbidden");
        };
        assert!(reason.contains("needs the read_api scope"), "{reason}");
        assert!(reason.contains("higher privileges"), "{reason}");
        assert_eq!(
            classify(&answer(403, r#"{"message":"403 Forbidden"}"#)),
            None
        );
        assert_eq!(classify(&answer(429, "Retry later\n")), None);
        assert_eq!(
            classify(&answer(401, r#"{"message":"401 Unauthorized"}"#)),
            None
        );
    }
}
