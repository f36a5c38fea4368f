//! Helpers for connectors' `authenticate()`: read a probe endpoint's answer as a verdict on the
//! credentials, with errors that say whether they are invalid, expired, or short of scopes.
//!
//! A connector calls a cheap endpoint that needs the same access as its sync (GitHub `GET /user`,
//! Slack `auth.test`) and hands the answer to [`check_probe_response`], or lets [`probe`] do both.

use crate::connector::AuthInfo;
use crate::error::ConnectorError;
use crate::http::{ApiClient, HttpRequest, HttpResponse, provider_message, redact_url};

/// Header listing the scopes the credentials were granted (GitHub, Slack).
const GRANTED_HEADER: &str = "x-oauth-scopes";
/// Header listing the scopes the endpoint accepts (GitHub).
const ACCEPTED_HEADER: &str = "x-accepted-oauth-scopes";

/// Scopes the credentials were granted, when the provider says (`X-OAuth-Scopes`).
pub fn granted_scopes(response: &HttpResponse) -> Option<Vec<String>> {
    response.header(GRANTED_HEADER).map(split_scopes)
}

/// Scopes the endpoint accepts, when the provider says (`X-Accepted-OAuth-Scopes`).
pub fn accepted_scopes(response: &HttpResponse) -> Vec<String> {
    response
        .header(ACCEPTED_HEADER)
        .map(split_scopes)
        .unwrap_or_default()
}

fn split_scopes(value: &str) -> Vec<String> {
    value
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The `required` scopes that `granted` does not cover, in order.
///
/// A granted scope covers itself and the scopes GitHub nests under it: `repo` covers `repo:status`
/// and `public_repo`, `admin:org` covers `write:org` and `read:org`, `write:org` covers `read:org`.
pub fn missing_scopes(granted: &[String], required: &[&str]) -> Vec<String> {
    required
        .iter()
        .filter(|needed| !granted.iter().any(|g| covers(g, needed)))
        .map(|s| (*s).to_owned())
        .collect()
}

fn covers(granted: &str, required: &str) -> bool {
    if granted == required {
        return true;
    }
    if required
        .strip_prefix(granted)
        .is_some_and(|rest| rest.starts_with(':'))
    {
        return true;
    }
    if granted == "repo" && required == "public_repo" {
        return true;
    }
    let level = |scope: &str| -> Option<(u8, String)> {
        let (verb, object) = scope.split_once(':')?;
        let rank = match verb {
            "read" => 1,
            "write" => 2,
            "admin" => 3,
            _ => return None,
        };
        Some((rank, object.to_owned()))
    };
    match (level(granted), level(required)) {
        (Some((g, go)), Some((r, ro))) => go == ro && g >= r,
        _ => false,
    }
}

/// The error for a 401 or 403 from a probe: invalid or expired credentials (401), or valid
/// credentials without the access needed (403), listing the scopes required when known.
pub fn auth_error(
    connector: &str,
    response: &HttpResponse,
    required_scopes: &[&str],
) -> ConnectorError {
    let status = response.status.as_u16();
    let said = provider_message(&response.body);
    let said = if said.trim().is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {}", said.trim())
    };
    if status == 403 && is_rate_limited(response) {
        return ConnectorError::RateLimited {
            connector: connector.to_owned(),
            status,
            retry_after: response
                .header("retry-after")
                .and_then(|v| v.trim().parse().ok())
                .map(std::time::Duration::from_secs),
        };
    }
    if status == 401 {
        return ConnectorError::Authentication {
            connector: connector.to_owned(),
            message: format!("the credentials are invalid or expired ({said})"),
            required_scopes: Vec::new(),
        };
    }
    let granted = granted_scopes(response);
    let accepted = accepted_scopes(response);
    let (message, required) = match &granted {
        Some(granted) => {
            let missing = missing_scopes(granted, required_scopes);
            let shown = if granted.is_empty() {
                "none".to_owned()
            } else {
                granted.join(", ")
            };
            if missing.is_empty() && !accepted.is_empty() {
                (
                    format!(
                        "the credentials lack a scope this endpoint accepts ({said}); granted: {shown}"
                    ),
                    accepted,
                )
            } else if missing.is_empty() {
                (
                    format!(
                        "the credentials are valid but not allowed to do this ({said}); check the account's access to the resources"
                    ),
                    Vec::new(),
                )
            } else {
                (
                    format!("the credentials lack required scopes ({said}); granted: {shown}"),
                    missing,
                )
            }
        }
        None => {
            let required = if accepted.is_empty() {
                required_scopes.iter().map(|s| (*s).to_owned()).collect()
            } else {
                accepted
            };
            (
                format!("the credentials are valid but not allowed to do this ({said})"),
                required,
            )
        }
    };
    ConnectorError::Authentication {
        connector: connector.to_owned(),
        message,
        required_scopes: required,
    }
}

fn is_rate_limited(response: &HttpResponse) -> bool {
    response.header("x-ratelimit-remaining").map(str::trim) == Some("0")
        || response.header("retry-after").is_some()
}

/// Reads a probe endpoint's answer: success yields what it says about the credentials (and fails if
/// they lack a required scope the provider reports); 401/403 become [`auth_error`]s.
pub fn check_probe_response(
    connector: &str,
    response: &HttpResponse,
    required_scopes: &[&str],
) -> Result<AuthInfo, ConnectorError> {
    let status = response.status.as_u16();
    if matches!(status, 401 | 403) {
        return Err(auth_error(connector, response, required_scopes));
    }
    if !response.status.is_success() {
        return Err(ConnectorError::Api {
            connector: connector.to_owned(),
            status,
            url: redact_url(&response.url, &[]),
            message: provider_message(&response.body),
        });
    }
    let granted = granted_scopes(response).unwrap_or_default();
    if response.header(GRANTED_HEADER).is_some() {
        let missing = missing_scopes(&granted, required_scopes);
        if !missing.is_empty() {
            let shown = if granted.is_empty() {
                "none".to_owned()
            } else {
                granted.join(", ")
            };
            return Err(ConnectorError::Authentication {
                connector: connector.to_owned(),
                message: format!("the credentials lack required scopes (granted: {shown})"),
                required_scopes: missing,
            });
        }
    }
    Ok(AuthInfo {
        identity: None,
        scopes: granted,
    })
}

/// Sends `request` (a cheap endpoint needing the sync's access) and checks the answer with
/// [`check_probe_response`]; the response is returned so the connector can read the identity.
pub async fn probe(
    client: &ApiClient,
    request: HttpRequest,
    required_scopes: &[&str],
) -> Result<(AuthInfo, HttpResponse), ConnectorError> {
    let response = client.send(request).await?;
    let info = check_probe_response(client.connector(), &response, required_scopes)?;
    Ok((info, response))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};
    use url::Url;

    use super::*;

    fn response(status: u16, headers: &[(&'static str, &str)], body: &str) -> HttpResponse {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        HttpResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: Bytes::from(body.to_owned()),
            url: Url::parse("https://api.example.com/user?access_token=sekrit").unwrap(),
        }
    }

    fn scopes_of(err: &ConnectorError) -> Vec<String> {
        match err {
            ConnectorError::Authentication {
                required_scopes, ..
            } => required_scopes.clone(),
            other => panic!("not an authentication error: {other:?}"),
        }
    }

    #[test]
    fn probe_401_says_invalid_or_expired() {
        let err = auth_error(
            "github",
            &response(401, &[], r#"{"message": "Bad credentials"}"#),
            &["repo"],
        );
        let text = err.to_string();
        assert!(text.contains("invalid or expired"), "{text}");
        assert!(text.contains("Bad credentials"), "{text}");
        assert!(scopes_of(&err).is_empty());
    }

    #[test]
    fn probe_403_lists_missing_scopes_from_granted_header() {
        let err = auth_error(
            "github",
            &response(
                403,
                &[("x-oauth-scopes", "read:user, public_repo")],
                r#"{"message": "Forbidden"}"#,
            ),
            &["repo", "read:org"],
        );
        assert_eq!(scopes_of(&err), ["repo", "read:org"]);
        let text = err.to_string();
        assert!(text.contains("lack required scopes"), "{text}");
        assert!(text.contains("granted: read:user, public_repo"), "{text}");
        assert!(text.contains("repo, read:org"), "{text}");
    }

    #[test]
    fn probe_403_uses_accepted_scopes_header_when_granted_is_unknown() {
        let err = auth_error(
            "github",
            &response(
                403,
                &[("x-accepted-oauth-scopes", "admin:org, read:org")],
                "",
            ),
            &[],
        );
        assert_eq!(scopes_of(&err), ["admin:org", "read:org"]);
    }

    #[test]
    fn probe_403_without_headers_lists_the_connectors_required_scopes() {
        let err = auth_error("jira", &response(403, &[], "nope"), &["read:jira-work"]);
        assert_eq!(scopes_of(&err), ["read:jira-work"]);
        assert!(err.to_string().contains("not allowed"), "{err}");
    }

    #[test]
    fn probe_403_with_exhausted_rate_limit_is_not_an_auth_error() {
        let err = auth_error(
            "github",
            &response(403, &[("x-ratelimit-remaining", "0")], ""),
            &[],
        );
        assert!(matches!(err, ConnectorError::RateLimited { .. }), "{err:?}");
    }

    #[test]
    fn probe_success_reports_granted_scopes_and_refuses_missing_ones() {
        let ok = response(200, &[("x-oauth-scopes", "repo, admin:org")], "{}");
        let info = check_probe_response("github", &ok, &["repo:status", "read:org"]).unwrap();
        assert_eq!(info.scopes, ["repo", "admin:org"]);
        let short = response(200, &[("x-oauth-scopes", "public_repo")], "{}");
        let err = check_probe_response("github", &short, &["repo"]).unwrap_err();
        assert_eq!(scopes_of(&err), ["repo"]);
        // Providers that do not report scopes are taken at their word.
        assert!(check_probe_response("jira", &response(200, &[], "{}"), &["x"]).is_ok());
    }

    #[test]
    fn probe_other_failure_is_an_api_error_with_redacted_url() {
        let err = check_probe_response("github", &response(500, &[], "boom"), &[]).unwrap_err();
        assert!(err.is_temporary());
        assert!(!err.to_string().contains("sekrit"), "{err}");
    }

    #[test]
    fn scope_hierarchy_follows_github() {
        let granted = vec!["write:org".to_owned(), "user".to_owned()];
        assert!(missing_scopes(&granted, &["read:org", "user:email"]).is_empty());
        assert_eq!(missing_scopes(&granted, &["admin:org"]), ["admin:org"]);
    }

    #[tokio::test]
    async fn probe_through_api_client_reports_scopes() {
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/user"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("x-oauth-scopes", "repo, read:org")
                    .set_body_json(serde_json::json!({"login": "octocat"})),
            )
            .mount(&server)
            .await;
        let client = crate::auth::test_support::api_client(Arc::new(crate::auth::BearerAuth::new(
            "github",
            crate::config::Secret::literal("t"),
        )));
        let url = Url::parse(&format!("{}/user", server.uri())).unwrap();
        let (info, response) = probe(&client, HttpRequest::get(url.clone()), &["repo"])
            .await
            .unwrap();
        assert_eq!(info.scopes, ["repo", "read:org"]);
        assert_eq!(response.status, 200);
        let err = probe(&client, HttpRequest::get(url), &["admin:org"])
            .await
            .unwrap_err();
        assert_eq!(scopes_of(&err), ["admin:org"]);
    }
}
