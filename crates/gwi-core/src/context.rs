//! What the framework hands a connector for one run: an authenticated, paced, retrying HTTP client.

use std::sync::Arc;

use crate::auth::{AuthBuild, RefreshTokenSink};
use crate::connector::Connector;
use crate::error::ConnectorError;
use crate::http::{ApiClient, HttpClient, RateLimitListener};
use crate::progress::Progress;

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
    /// Builds the context for `connector` from its common config and metadata over `transport`.
    pub fn new(
        connector: &dyn Connector,
        transport: Arc<dyn HttpClient>,
    ) -> Result<Self, ConnectorError> {
        Self::build(connector, transport, None, None)
    }

    /// Like [`Self::new`], and forwards every rate-limit wait to `connector.on_rate_limit`.
    pub fn for_connector(
        connector: &Arc<dyn Connector>,
        transport: Arc<dyn HttpClient>,
    ) -> Result<Self, ConnectorError> {
        Self::with_token_sink(connector, transport, None)
    }

    /// Like [`Self::for_connector`], persisting rotated OAuth2 refresh tokens to `token_sink`.
    pub fn with_token_sink(
        connector: &Arc<dyn Connector>,
        transport: Arc<dyn HttpClient>,
        token_sink: Option<Arc<dyn RefreshTokenSink>>,
    ) -> Result<Self, ConnectorError> {
        let hook = Arc::clone(connector);
        let listener: RateLimitListener = Arc::new(move |wait| hook.on_rate_limit(wait));
        Self::build(connector.as_ref(), transport, Some(listener), token_sink)
    }

    fn build(
        connector: &dyn Connector,
        transport: Arc<dyn HttpClient>,
        listener: Option<RateLimitListener>,
        token_sink: Option<Arc<dyn RefreshTokenSink>>,
    ) -> Result<Self, ConnectorError> {
        let progress = Arc::new(Progress::default());
        let common = connector.common();
        let auth = common
            .auth
            .build(AuthBuild::new(connector.name(), transport.clone()).token_sink(token_sink))?;
        let mut builder = ApiClient::builder(connector.name(), transport)
            .auth(auth)
            .settings(&common.http)
            .rate_limits(connector.metadata().rate_limits)
            .progress(progress.clone());
        if let Some(listener) = listener {
            builder = builder.on_rate_limit(listener);
        }
        Ok(Self {
            connector: connector.name().to_owned(),
            tenant: common.tenant_id.clone(),
            http: builder.build(),
            progress,
        })
    }
}
