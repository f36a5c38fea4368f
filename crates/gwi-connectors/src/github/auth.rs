//! `authenticate`: who the credentials belong to, and what to fix when GitHub refuses them.

use gwi_core::connector::AuthInfo;
use gwi_core::error::ConnectorError;
use gwi_core::http::ApiClient;

use super::core::GithubApi;
use super::models::AuthenticatedUser;

/// Scopes a classic token needs to read what the connector syncs.
pub(crate) const REQUIRED_SCOPES: [&str; 2] = ["repo", "read:org"];

/// Checks the credentials: `GET /user` for tokens (identity = login, scopes from
/// `X-OAuth-Scopes`), `GET /installation/repositories` for GitHub App installations, which
/// cannot call `/user`.
pub(crate) async fn authenticate(
    app_installation: bool,
    api: &GithubApi,
    client: &ApiClient,
) -> Result<AuthInfo, ConnectorError> {
    if app_installation {
        let request = api
            .get(&["installation", "repositories"])
            .query(&[("per_page", "1")]);
        client.send(request).await.map_err(explain)?;
        return Ok(AuthInfo {
            identity: Some("GitHub App installation".to_owned()),
            scopes: Vec::new(),
        });
    }
    let response = client.send(api.get(&["user"])).await.map_err(explain)?;
    let user: AuthenticatedUser = client.decode(&response)?;
    let scopes = response
        .header("x-oauth-scopes")
        .map(|header| {
            header
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(AuthInfo {
        identity: Some(user.login),
        scopes,
    })
}

/// Rewrites a refusal into what the user must do: a 401 means the token is not valid, a 403
/// that it works but lacks a scope or permission.
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
            message: format!("insufficient permissions (GitHub said: {message})"),
            required_scopes: REQUIRED_SCOPES.map(str::to_owned).to_vec(),
        },
        ConnectorError::Authentication {
            connector,
            status,
            message,
            ..
        } => ConnectorError::Authentication {
            connector,
            status,
            message: format!("the token is invalid or expired (GitHub said: {message})"),
            required_scopes: Vec::new(),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::records::SOURCE;

    fn refused(status: u16, message: &str) -> ConnectorError {
        ConnectorError::Authentication {
            connector: SOURCE.to_owned(),
            status: Some(status),
            message: message.to_owned(),
            required_scopes: Vec::new(),
        }
    }

    #[test]
    fn a_401_reads_as_invalid_or_expired_whatever_github_says() {
        let text = explain(refused(401, "Something new")).to_string();
        assert!(text.contains("invalid or expired"), "{text}");
    }

    #[test]
    fn a_403_names_the_required_scopes_whatever_github_says() {
        let text = explain(refused(403, "Bad credentials")).to_string();
        assert!(text.contains("insufficient permissions"), "{text}");
        assert!(text.contains("repo, read:org"), "{text}");
    }

    #[test]
    fn other_errors_pass_through() {
        let err = explain(ConnectorError::Cancelled {
            connector: SOURCE.to_owned(),
        });
        assert_eq!(err.kind(), "cancelled");
    }
}
