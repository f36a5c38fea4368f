//! `authenticate`, Jira's refusals read into what the user must fix, and the answers whose
//! status alone misleads (410 for a removed API).

use std::sync::Arc;

use gwi_core::connector::AuthInfo;
use gwi_core::error::ConnectorError;
use gwi_core::http::{ApiClient, Classifier, HttpResponse, Verdict, provider_message};
use http::StatusCode;

use super::api::JiraApi;
use super::models::Myself;

/// Checks the credentials with `myself`; the identity is the account's email or name.
pub(crate) async fn authenticate(
    api: &JiraApi,
    client: &ApiClient,
) -> Result<AuthInfo, ConnectorError> {
    let (_, me) = client
        .execute_json::<Myself>(&api.get(&["myself"]))
        .await
        .map_err(explain)?;
    Ok(AuthInfo {
        identity: me.email_address.or(me.display_name),
        scopes: Vec::new(),
    })
}

/// Rewrites a refusal into what the user must do.
pub(crate) fn explain(error: ConnectorError) -> ConnectorError {
    match error {
        ConnectorError::Authentication {
            connector,
            status: Some(403),
            message,
            required_scopes,
        } => ConnectorError::Authentication {
            connector,
            status: Some(403),
            message: format!(
                "the account may not read this (Jira said: {message}); it needs the Browse projects permission, and an OAuth 2.0 app the read:jira-work and read:jira-user scopes"
            ),
            required_scopes,
        },
        ConnectorError::Authentication {
            connector,
            status,
            message,
            required_scopes,
        } => ConnectorError::Authentication {
            connector,
            status,
            message: format!(
                "the credentials are invalid or expired (Jira said: {message}); Jira Cloud takes basic auth with the account's email as username and an API token as password"
            ),
            required_scopes,
        },
        other => other,
    }
}

/// A 410 means Atlassian removed the endpoint: no retry brings it back, and the message says
/// which API replaces it. Every other answer is read by its status (Jira's `errorMessages`
/// become the error's text).
pub(crate) fn classifier() -> Classifier {
    Arc::new(|response: &HttpResponse| {
        (response.status == StatusCode::GONE).then(|| Verdict::Permanent {
            reason: format!(
                "this Jira API was removed ({}); update gwi, which reads issues through /rest/api/3/search/jql",
                provider_message(&response.body)
            ),
        })
    })
}
