//! `authenticate`, and Slack's answers read for what they mean: every Web API answer is HTTP 200
//! (or 429), and failure is `{"ok": false, "error": "<code>"}` in the body.

use std::sync::Arc;

use gwi_core::connector::AuthInfo;
use gwi_core::error::ConnectorError;
use gwi_core::http::{ApiClient, Classifier, HttpResponse, Verdict};
use serde::Deserialize;

use super::core::{AUTH_TEST, SlackApi};
use super::models::AuthTest;

/// Checks the token with `auth.test`; the identity is `user@team`, the scopes Slack's
/// `x-oauth-scopes` header.
pub(crate) async fn authenticate(
    api: &SlackApi,
    client: &ApiClient,
) -> Result<AuthInfo, ConnectorError> {
    let (response, who) = client
        .execute_json::<AuthTest>(&api.call(AUTH_TEST, &[]))
        .await
        .map_err(explain)?;
    let scopes = response
        .header("x-oauth-scopes")
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let user = who.user.or(who.user_id).unwrap_or_default();
    let team = who.team.or(who.team_id).or(who.url).unwrap_or_default();
    Ok(AuthInfo {
        identity: Some(format!("{user}@{team}")),
        scopes,
    })
}

/// Rewrites a refused token into what the user must do.
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
                "the token is invalid, expired or revoked, or the app was uninstalled (Slack said: {message})"
            ),
            required_scopes,
        },
        other => other,
    }
}

/// The code of a Slack failure gwi reported as an API error (`channel_not_found`, ...).
pub(crate) fn error_code(error: &ConnectorError) -> Option<&str> {
    match error {
        ConnectorError::Api { message, .. } => message.split(':').next().map(str::trim),
        _ => None,
    }
}

/// Slack's failure body.
#[derive(Deserialize)]
struct Failure {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    needed: Option<String>,
    #[serde(default)]
    provided: Option<String>,
}

/// Reads `ok: false` answers: `ratelimited` waits for `Retry-After`, refused tokens try one
/// refresh then fail, `missing_scope` names the scopes needed, Slack's own transient failures
/// are retried, anything else fails the request with its code (the code first, so
/// [`error_code`] finds it).
pub(crate) fn classifier() -> Classifier {
    Arc::new(|response: &HttpResponse| {
        let failure: Failure = serde_json::from_slice(&response.body).ok()?;
        if failure.ok {
            return None;
        }
        let code = failure.error.unwrap_or_else(|| "unknown_error".to_owned());
        Some(match code.as_str() {
            "ratelimited" | "rate_limited" => Verdict::RateLimited { retry_after: None },
            "invalid_auth" | "not_authed" | "token_revoked" | "token_expired"
            | "account_inactive" => Verdict::Unauthorized { reason: code },
            "missing_scope" => {
                let scopes: Vec<String> = failure
                    .needed
                    .iter()
                    .flat_map(|n| n.split(','))
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                let provided = failure.provided.unwrap_or_default();
                Verdict::Forbidden {
                    reason: format!(
                        "missing_scope: the app's token lacks a scope this needs (it has: {provided}); add the scope to the app and reinstall it"
                    ),
                    scopes,
                }
            }
            "no_permission" | "not_allowed_token_type" | "ekm_access_denied" | "access_denied" => {
                Verdict::Forbidden {
                    reason: code,
                    scopes: Vec::new(),
                }
            }
            "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
                Verdict::Temporary { reason: code }
            }
            "not_in_channel" => Verdict::Permanent {
                reason: format!(
                    "{code}: the bot is not a member of this channel; invite it with /invite @<app>"
                ),
            },
            "channel_not_found" => Verdict::Permanent {
                reason: format!("{code}: no such channel, or the token may not see it"),
            },
            _ => Verdict::Permanent { reason: code },
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
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
            url: url::Url::parse("https://slack.com/api/conversations.history").unwrap(),
        }
    }

    #[test]
    fn every_recorded_failure_is_classified() {
        let classify = classifier();
        for (file, expected) in [
            (
                include_str!("../../tests/fixtures/slack/rest/error_invalid_auth.json"),
                "unauthorized",
            ),
            (
                include_str!("../../tests/fixtures/slack/rest/error_channel_not_found.json"),
                "permanent",
            ),
            (
                include_str!("../../tests/fixtures/slack/rest/error_ratelimited.json"),
                "rate",
            ),
        ] {
            let verdict = classify(&answer(200, file));
            let kind = match verdict {
                Some(Verdict::Unauthorized { .. }) => "unauthorized",
                Some(Verdict::Permanent { .. }) => "permanent",
                Some(Verdict::RateLimited { .. }) => "rate",
                other => panic!("{file}: {other:?}"),
            };
            assert_eq!(kind, expected, "{file}");
        }
        assert_eq!(classify(&answer(200, r#"{"ok":true,"messages":[]}"#)), None);
        assert_eq!(classify(&answer(502, "Bad Gateway")), None);
        assert!(matches!(
            classify(&answer(200, r#"{"ok":false,"error":"internal_error"}"#)),
            Some(Verdict::Temporary { .. })
        ));
    }

    #[test]
    fn missing_scope_names_the_scopes_slack_asks_for() {
        let body = r#"{"ok":false,"error":"missing_scope","needed":"channels:history,groups:history","provided":"channels:read"}"#;
        let Some(Verdict::Forbidden { reason, scopes }) = classifier()(&answer(200, body)) else {
            panic!("not forbidden");
        };
        assert_eq!(scopes, ["channels:history", "groups:history"]);
        assert!(reason.contains("it has: channels:read"), "{reason}");
    }

    #[test]
    fn not_in_channel_keeps_its_code_first() {
        let Some(Verdict::Permanent { reason }) =
            classifier()(&answer(200, r#"{"ok":false,"error":"not_in_channel"}"#))
        else {
            panic!("not permanent");
        };
        let error = ConnectorError::Api {
            connector: "slack".into(),
            status: 200,
            url: "u".into(),
            message: reason,
        };
        assert_eq!(error_code(&error), Some("not_in_channel"));
    }
}
