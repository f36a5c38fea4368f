//! `health_check`: credentials accepted, and the headroom of Linear's request and complexity
//! budgets.

use std::time::SystemTime;

use gwi_core::health::{CheckStatus, HealthCheck, HealthStatus, rate_limit_headroom as headroom};
use gwi_core::http::{ApiClient, headers};
use serde_json::json;

use super::auth::authenticate;
use super::queries::VIEWER;
use super::records::SOURCE;
use gwi_core::graphql::GraphQl;

/// Runs `auth_valid` (the `viewer` query) and `rate_limit_ok`.
pub(crate) async fn health_check(api: &GraphQl, client: &ApiClient) -> HealthStatus {
    let auth = HealthCheck::auth_valid(authenticate(api, client)).await;
    let rate_limit = HealthCheck::run("rate_limit_ok", || async {
        Ok(rate_limit_headroom(api, client).await)
    })
    .await;
    HealthStatus::from_checks(SOURCE, vec![auth, rate_limit])
}

/// The headroom of the tighter of Linear's two budgets, from the headers of a `viewer` query.
/// Not knowing is a warning, never a failure.
async fn rate_limit_headroom(
    api: &GraphQl,
    client: &ApiClient,
) -> (CheckStatus, serde_json::Value) {
    let request = api.request(VIEWER, json!({}));
    let response = match client.execute(&request).await {
        Ok(response) => response,
        Err(e) => return (CheckStatus::Warn, json!({ "error": e.to_string() })),
    };
    let h = &response.headers;
    let now = SystemTime::now();
    let mut budgets = Vec::new();
    if let (Some(limit), Some(remaining)) = (headers::limit(h), headers::remaining(h)) {
        budgets.push(("requests", limit, remaining));
    }
    if let Some(cost) = headers::cost_window(h, now)
        && let Some(limit) = cost.limit
    {
        budgets.push(("complexity", limit, cost.remaining));
    }
    let Some((tightest, limit, remaining)) = budgets.iter().copied().min_by(|a, b| {
        (a.2 as f64 / a.1.max(1) as f64).total_cmp(&(b.2 as f64 / b.1.max(1) as f64))
    }) else {
        return (
            CheckStatus::Warn,
            json!({ "reason": "no rate-limit headers" }),
        );
    };
    let (check, used_percent) = headroom(limit, remaining);
    (
        check,
        json!({
            "budget": tightest,
            "limit": limit,
            "remaining": remaining,
            "used_percent": used_percent,
            "resets_in_secs": headers::reset_in(h, now).map(|d| d.as_secs()),
        }),
    )
}
