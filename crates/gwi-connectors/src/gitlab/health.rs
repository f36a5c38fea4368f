//! `health_check`: credentials accepted, API reachable, rate-limit headroom.

use std::time::SystemTime;

use gwi_core::health::{CheckStatus, HealthCheck, HealthStatus, rate_limit_headroom as headroom};
use gwi_core::http::{ApiClient, headers};
use serde_json::json;

use super::auth::authenticate;
use super::core::GitlabApi;
use super::models::Version;
use super::records::SOURCE;

/// Runs `auth_valid` (`/user`), `api_reachable` (`/version`) and `rate_limit_ok`.
pub(crate) async fn health_check(api: &GitlabApi, client: &ApiClient) -> HealthStatus {
    let auth = HealthCheck::auth_valid(authenticate(api, client)).await;
    let reachable = HealthCheck::api_reachable(client, api.get(&["version"])).await;
    let rate_limit = HealthCheck::run("rate_limit_ok", || async {
        Ok(rate_limit_headroom(api, client).await)
    })
    .await;
    HealthStatus::from_checks(SOURCE, vec![auth, reachable, rate_limit])
}

/// The headroom GitLab reports in the `RateLimit-*` headers of every answer (here `/version`,
/// with the instance's version); an instance without rate limits sends none, which passes.
/// Not knowing is a warning, never a failure.
async fn rate_limit_headroom(
    api: &GitlabApi,
    client: &ApiClient,
) -> (CheckStatus, serde_json::Value) {
    let (response, version) = match client.execute_json::<Version>(&api.get(&["version"])).await {
        Ok(answer) => answer,
        Err(e) => return (CheckStatus::Warn, json!({ "error": e.to_string() })),
    };
    let (Some(limit), Some(remaining)) = (
        headers::limit(&response.headers),
        headers::remaining(&response.headers),
    ) else {
        return (
            CheckStatus::Pass,
            json!({ "enabled": false, "version": version.version }),
        );
    };
    let (check, used_percent) = headroom(limit, remaining);
    let resets_in = headers::reset_in(&response.headers, SystemTime::now());
    (
        check,
        json!({
            "limit": limit,
            "remaining": remaining,
            "used_percent": used_percent,
            "resets_in_secs": resets_in.map(|d| d.as_secs()),
            "version": version.version,
        }),
    )
}
