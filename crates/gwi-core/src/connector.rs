//! The `Connector` trait every provider implements, and the metadata it publishes.

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::Serialize;

use crate::auth::AuthKind;
use crate::context::ConnectorContext;
use crate::error::ConnectorError;
use crate::health::HealthStatus;
use crate::http::Classifier;
use crate::record::ConnectorRecord;
use crate::stream::{StreamDescriptor, SyncItem, SyncOptions};
use crate::sync::SyncResult;
use crate::webhook::{SchemeKind, WebhookEvent};

/// Documented request budget of a provider, used to size the proactive rate limiter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RateLimits {
    /// Sustained requests per second, if the provider states one.
    pub requests_per_second: Option<f64>,
    /// Requests per hour, if the provider states one.
    pub requests_per_hour: Option<u32>,
}

impl RateLimits {
    /// The tighter of the two budgets, in requests per second.
    pub fn effective_per_second(&self) -> Option<f64> {
        let hourly = self.requests_per_hour.map(|h| f64::from(h) / 3600.0);
        match (self.requests_per_second, hourly) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// What a connector is and can do, stated once; shown by `gwi connectors info`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectorMetadata {
    /// Unique name, used in configs, URLs, records' `source` and the registry (e.g. `github`).
    pub name: String,
    /// Semantic version of the connector.
    pub version: String,
    /// One line saying what it syncs.
    pub description: String,
    /// Record types it can produce.
    pub record_types: Vec<String>,
    /// What it can do; the framework enforces it (config schema, webhook routes).
    pub capabilities: Capabilities,
    /// The provider's documented request budget.
    pub rate_limits: RateLimits,
    /// Where its user docs live.
    pub documentation_url: Option<String>,
}

/// What a connector can do. The framework acts on it: a config whose `auth.type` is not
/// listed is refused naming `auth`, and webhook settings are accepted (and `/webhooks/{name}`
/// served) only when `webhooks` names a scheme.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capabilities {
    /// The auth `type`s its config accepts.
    pub auth: Vec<AuthKind>,
    /// Whether it resumes from stored cursors (otherwise every run reads everything).
    pub incremental: bool,
    /// How its provider signs webhooks, if it maps webhook events to records.
    pub webhooks: Option<SchemeKind>,
}

/// What `authenticate` learned about the credentials.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AuthInfo {
    /// Who the credentials belong to (login, email, app), if the provider says.
    pub identity: Option<String>,
    /// Scopes granted, if the provider says.
    pub scopes: Vec<String>,
}

impl Capabilities {
    /// The accepted auth kinds as a config writes them (`bearer`, `github_app`, ...).
    pub fn auth_names(&self) -> Vec<&'static str> {
        self.auth.iter().map(|kind| kind.as_str()).collect()
    }
}

/// A source of records: a provider's API seen through gwi's framework.
///
/// A connector is built from its own typed config (see [`crate::registry`]); the framework keeps
/// the common settings (tenant, auth, base URL, HTTP, webhook) and hands the connector a
/// [`ConnectorContext`] whose HTTP client already authenticates, paces and retries. The connector
/// lists its streams, yields records and checkpoints per stream, and maps verified webhook events
/// to records. Lifecycle hooks have default bodies.
#[async_trait]
pub trait Connector: Send + Sync {
    /// Checks the credentials against the provider; errors say what to fix.
    async fn authenticate(&self, ctx: &ConnectorContext) -> Result<AuthInfo, ConnectorError>;

    /// Runs the connector's health checks.
    async fn health_check(&self, ctx: &ConnectorContext) -> HealthStatus;

    /// The streams a run with `options` reads (resources x types).
    fn streams(&self, options: &SyncOptions) -> Result<Vec<StreamDescriptor>, ConnectorError>;

    /// Reads one stream: records, with a checkpoint after each page that is safe to resume from.
    fn sync<'a>(
        &'a self,
        ctx: &'a ConnectorContext,
        stream: &'a StreamDescriptor,
        options: &'a SyncOptions,
    ) -> BoxStream<'a, Result<SyncItem, ConnectorError>>;

    /// Budgets of the provider's own for groups of endpoints (Slack's per-method tiers), which
    /// requests join with [`HttpRequest::in_bucket`](crate::http::HttpRequest::in_bucket); the
    /// default is none, every request counting only against the connector's `rate_limits`.
    fn rate_buckets(&self) -> Vec<crate::http::RateBucket> {
        Vec::new()
    }

    /// How this connector reads its provider's answers where the status does not tell (see
    /// [`Classifier`]); `None` (the default) leaves every answer to the default mapping.
    fn classifier(&self) -> Option<Classifier> {
        None
    }

    /// Maps a verified, deduplicated webhook event to the records it changes.
    ///
    /// Records must carry the same ids a sync gives, so both upsert one row.
    /// Events the connector does not map yield no records. Most events carry what their
    /// records need; for one that names an object without describing it (Slack's
    /// `channel_rename`), `ctx.http` reads the object, since a record built from the event
    /// alone would blank the fields it leaves out.
    async fn process_webhook(
        &self,
        ctx: &ConnectorContext,
        event: &WebhookEvent,
    ) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        let _ = (ctx, event);
        Ok(Vec::new())
    }

    /// Called before a sync starts; an error stops the sync.
    async fn on_before_sync(
        &self,
        ctx: &ConnectorContext,
        options: &SyncOptions,
    ) -> Result<(), ConnectorError> {
        let _ = (ctx, options);
        Ok(())
    }

    /// Called after a sync succeeded.
    async fn on_after_sync(&self, ctx: &ConnectorContext, result: &SyncResult) {
        let _ = (ctx, result);
    }

    /// Called when a sync fails, before the error is returned.
    async fn on_error(&self, ctx: &ConnectorContext, error: &ConnectorError) {
        let _ = (ctx, error);
    }

    /// Called each time a request waits for the provider's rate limit.
    fn on_rate_limit(&self, wait: Duration) {
        tracing::debug!(wait_ms = wait.as_millis() as u64, "waiting for rate limit");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_rate_is_the_tighter_budget() {
        let limits = RateLimits {
            requests_per_second: Some(30.0),
            requests_per_hour: Some(3600),
        };
        assert_eq!(limits.effective_per_second(), Some(1.0));
        assert_eq!(RateLimits::default().effective_per_second(), None);
    }
}
