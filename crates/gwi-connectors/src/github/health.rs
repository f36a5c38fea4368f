//! `health_check`: credentials accepted, API reachable, rate-limit headroom.

use chrono::DateTime;
use gwi_core::error::ConnectorError;
use gwi_core::health::{CheckStatus, HealthCheck, HealthStatus, rate_limit_headroom as headroom};
use gwi_core::http::ApiClient;
use serde_json::json;

use super::auth::authenticate;
use super::core::GithubApi;
use super::models::RateLimitStatus;
use super::records::SOURCE;

/// Runs `auth_valid`, `api_reachable` and `rate_limit_ok`.
pub(crate) async fn health_check(
    app_installation: bool,
    api: &GithubApi,
    client: &ApiClient,
) -> HealthStatus {
    let auth = HealthCheck::auth_valid(authenticate(app_installation, api, client)).await;
    let reachable = HealthCheck::api_reachable(client, api.get(&[])).await;
    let rate_limit = HealthCheck::run("rate_limit_ok", || async {
        Ok(rate_limit_headroom(api, client).await)
    })
    .await;
    HealthStatus::from_checks(SOURCE, vec![auth, reachable, rate_limit])
}

/// The REST (`core`) budget; not knowing it is a warning, never a failure.
async fn rate_limit_headroom(
    api: &GithubApi,
    client: &ApiClient,
) -> (CheckStatus, serde_json::Value) {
    let response = match client.send(api.get(&["rate_limit"])).await {
        Ok(response) => response,
        // GitHub Enterprise Server answers 404 when rate limiting is turned off.
        Err(ConnectorError::Api { status: 404, .. }) => {
            return (CheckStatus::Pass, json!({ "enabled": false }));
        }
        Err(e) => return (CheckStatus::Warn, json!({ "error": e.to_string() })),
    };
    let status: RateLimitStatus = match client.decode(&response) {
        Ok(status) => status,
        Err(e) => return (CheckStatus::Warn, json!({ "error": e.to_string() })),
    };
    let core = status.resources.core;
    let (check, used_percent) = headroom(core.limit, core.remaining);
    (
        check,
        json!({
            "limit": core.limit,
            "remaining": core.remaining,
            "used_percent": used_percent,
            "resets_at": DateTime::from_timestamp(core.reset, 0),
        }),
    )
}
