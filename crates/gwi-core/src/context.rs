//! What the framework hands a connector for one run: an authenticated, paced, retrying HTTP client.

use std::sync::Arc;

use crate::auth::{AuthBuild, RefreshTokenSink};
use crate::error::ConnectorError;
use crate::http::{ApiClient, HttpClient, RateLimitListener};
use crate::progress::Progress;
use crate::registry::ConfiguredConnector;

/// Per-run services for a connector: HTTP (auth, retry, rate limit), progress counters.
#[derive(Clone, Debug)]
pub struct ConnectorContext {
    /// Connector name, for logs and errors.
    pub connector: String,
    /// Tenant the run is for.
    pub tenant: String,
    /// HTTP client with auth, pacing and retries applied.
    pub http: ApiClient,
    /// Live counters of the run.
    pub progress: Arc<Progress>,
}

impl ConnectorContext {
    /// Builds the context for `configured` over `transport`: auth from its common settings,
    /// pacing from its metadata, its classifier, and every rate-limit wait forwarded to its
    /// `on_rate_limit`.
    pub fn new(
        configured: &ConfiguredConnector,
        transport: Arc<dyn HttpClient>,
    ) -> Result<Self, ConnectorError> {
        Self::with_token_sink(configured, transport, None)
    }

    /// Like [`Self::new`], persisting rotated OAuth2 refresh tokens to `token_sink`.
    pub fn with_token_sink(
        configured: &ConfiguredConnector,
        transport: Arc<dyn HttpClient>,
        token_sink: Option<Arc<dyn RefreshTokenSink>>,
    ) -> Result<Self, ConnectorError> {
        let name = configured.name();
        let common = &configured.common;
        let progress = Arc::new(Progress::default());
        let auth = common
            .auth
            .build(AuthBuild::new(name, transport.clone()).token_sink(token_sink))?;
        let hook = Arc::clone(&configured.connector);
        let listener: RateLimitListener = Arc::new(move |wait| hook.on_rate_limit(wait));
        let http = ApiClient::builder(name, transport)
            .auth(auth)
            .settings(&common.http)
            .rate_limits(configured.metadata.rate_limits)
            .rate_buckets(configured.connector.rate_buckets())
            .classifier(configured.connector.classifier())
            .progress(progress.clone())
            .on_rate_limit(listener)
            .build();
        Ok(Self {
            connector: name.to_owned(),
            tenant: common.tenant_id.clone(),
            http,
            progress,
        })
    }
}
