//! Health reports: named checks, each pass / warn / fail.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::connector::AuthInfo;
use crate::error::ConnectorError;
use crate::http::{ApiClient, HttpRequest};

/// Outcome of one health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Working as expected.
    Pass,
    /// Working, but needs attention soon (e.g. rate limit nearly used up).
    Warn,
    /// Not working.
    Fail,
}

/// One named check in a health report.
#[derive(Debug, Clone, Serialize)]
pub struct HealthCheck {
    /// Stable name, e.g. `auth_valid`, `api_reachable`, `rate_limit_ok`.
    pub name: String,
    /// The outcome.
    pub status: CheckStatus,
    /// How long the check took.
    #[serde(serialize_with = "as_millis", rename = "duration_ms")]
    pub duration: Duration,
    /// Why it did not pass, without secrets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Extra figures (remaining quota, ...).
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub metadata: serde_json::Value,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl HealthCheck {
    /// Times `check` and records its outcome under `name`.
    pub async fn run<F, Fut>(name: &str, check: F) -> Self
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(CheckStatus, serde_json::Value), String>>,
    {
        let start = Instant::now();
        let outcome = check().await;
        let duration = start.elapsed();
        match outcome {
            Ok((status, metadata)) => Self {
                name: name.to_owned(),
                status,
                duration,
                error: None,
                metadata,
            },
            Err(error) => Self {
                name: name.to_owned(),
                status: CheckStatus::Fail,
                duration,
                error: Some(error),
                metadata: serde_json::Value::Null,
            },
        }
    }
}

impl HealthCheck {
    /// `auth_valid`: whether `authenticate` accepted the credentials, with the identity and
    /// scopes it learned.
    pub async fn auth_valid(
        authenticate: impl std::future::Future<Output = Result<AuthInfo, ConnectorError>>,
    ) -> Self {
        Self::run("auth_valid", || async {
            let info = authenticate.await.map_err(|e| e.to_string())?;
            let metadata = serde_json::json!({ "identity": info.identity, "scopes": info.scopes });
            Ok((CheckStatus::Pass, metadata))
        })
        .await
    }

    /// `api_reachable`: any HTTP answer to `request` proves the network path and `base_url`;
    /// only no answer, or a failing server, fails.
    pub async fn api_reachable(client: &ApiClient, request: HttpRequest) -> Self {
        Self::run("api_reachable", || async {
            match client.send(request).await {
                Err(e @ ConnectorError::Network { .. }) => Err(e.to_string()),
                Err(e @ ConnectorError::Api { status, .. }) if status >= 500 => Err(e.to_string()),
                Ok(_) | Err(_) => Ok((CheckStatus::Pass, serde_json::Value::Null)),
            }
        })
        .await
    }
}

/// A connector's health: healthy unless some check failed.
#[derive(Debug, Clone, Serialize)]
pub struct HealthStatus {
    /// Connector name.
    pub connector: String,
    /// False when any check failed.
    pub healthy: bool,
    /// When the report was made.
    pub timestamp: DateTime<Utc>,
    /// The checks, in the order they ran.
    pub checks: Vec<HealthCheck>,
}

impl HealthStatus {
    /// Builds a report from checks; `healthy` is derived, never set by hand.
    pub fn from_checks(connector: impl Into<String>, checks: Vec<HealthCheck>) -> Self {
        Self {
            connector: connector.into(),
            healthy: checks.iter().all(|c| c.status != CheckStatus::Fail),
            timestamp: Utc::now(),
            checks,
        }
    }
}

/// Share of a rate-limit budget used above which a `rate_limit_ok` check warns: a sync started
/// then would soon wait for the window to reset.
const RATE_LIMIT_WARN_PERCENT: f64 = 90.0;

/// A `rate_limit_ok` verdict from a budget of `limit` requests with `remaining` left: a warning
/// above 90 % used, and the share used in percent to one decimal (100 for an empty budget).
pub fn rate_limit_headroom(limit: u64, remaining: u64) -> (CheckStatus, f64) {
    #[allow(clippy::cast_precision_loss)]
    let used = if limit == 0 {
        100.0
    } else {
        limit.saturating_sub(remaining) as f64 * 100.0 / limit as f64
    };
    let status = if used > RATE_LIMIT_WARN_PERCENT {
        CheckStatus::Warn
    } else {
        CheckStatus::Pass
    };
    (status, (used * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_headroom_warns_above_ninety_percent_used() {
        assert_eq!(rate_limit_headroom(5000, 4999), (CheckStatus::Pass, 0.0));
        assert_eq!(rate_limit_headroom(5000, 500), (CheckStatus::Pass, 90.0));
        assert_eq!(rate_limit_headroom(3, 0), (CheckStatus::Warn, 100.0));
        assert_eq!(rate_limit_headroom(3, 2), (CheckStatus::Pass, 33.3));
        // More left than the limit (a window that just reset) is no use at all.
        assert_eq!(rate_limit_headroom(10, 20), (CheckStatus::Pass, 0.0));
        assert_eq!(rate_limit_headroom(0, 0), (CheckStatus::Warn, 100.0));
    }

    #[tokio::test]
    async fn a_failed_check_makes_the_report_unhealthy_but_a_warning_does_not() {
        let warn = HealthCheck::run("rate_limit_ok", || async {
            Ok((CheckStatus::Warn, serde_json::json!({"remaining": 10})))
        })
        .await;
        assert!(HealthStatus::from_checks("x", vec![warn.clone()]).healthy);
        let fail = HealthCheck::run("auth_valid", || async { Err("401".to_owned()) }).await;
        assert_eq!(fail.status, CheckStatus::Fail);
        assert!(!HealthStatus::from_checks("x", vec![warn, fail]).healthy);
    }
}
