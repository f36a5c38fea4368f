//! `health_check`: credentials accepted (`myself`), the site reachable (`serverInfo`).

use gwi_core::health::{HealthCheck, HealthStatus};
use gwi_core::http::ApiClient;

use super::api::JiraApi;
use super::auth::authenticate;
use super::records::SOURCE;

/// Runs `auth_valid` and `api_reachable`.
pub(crate) async fn health_check(api: &JiraApi, client: &ApiClient) -> HealthStatus {
    let auth = HealthCheck::auth_valid(authenticate(api, client)).await;
    let reachable = HealthCheck::api_reachable(client, api.get(&["serverInfo"])).await;
    HealthStatus::from_checks(SOURCE, vec![auth, reachable])
}
