//! `health_check`: the token accepted, the Web API reachable.

use gwi_core::health::{HealthCheck, HealthStatus};
use gwi_core::http::ApiClient;

use super::auth::authenticate;
use super::core::SlackApi;
use super::records::SOURCE;

/// `api.test` needs no token: it tells Slack is reachable apart from whether the token works.
const API_TEST: &str = "api.test";

/// Runs `auth_valid` (`auth.test`) and `api_reachable` (`api.test`).
pub(crate) async fn health_check(api: &SlackApi, client: &ApiClient) -> HealthStatus {
    let auth = HealthCheck::auth_valid(authenticate(api, client)).await;
    let reachable = HealthCheck::api_reachable(client, api.call(API_TEST, &[])).await;
    HealthStatus::from_checks(SOURCE, vec![auth, reachable])
}
