//! What the framework hands a connector for one run: an authenticated, paced, retrying HTTP client.

use std::sync::Arc;

use crate::auth::{AuthBuild, RefreshTokenSink};
use crate::connector::Connector;
use crate::error::ConnectorError;
use crate::http::{ApiClient, HttpClient};
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
        Self::with_token_sink(connector, transport, None)
    }

    /// Like [`new`](Self::new), persisting rotated OAuth2 refresh tokens to `token_sink`.
    pub fn with_token_sink(
        connector: &dyn Connector,
        transport: Arc<dyn HttpClient>,
        token_sink: Option<Arc<dyn RefreshTokenSink>>,
    ) -> Result<Self, ConnectorError> {
        let progress = Arc::new(Progress::default());
        let common = connector.common();
        let auth = common
            .auth
            .build(AuthBuild::new(connector.name(), transport.clone()).token_sink(token_sink))?;
        let http = ApiClient::builder(connector.name(), transport)
            .auth(auth)
            .settings(&common.http)
            .rate_limits(connector.metadata().rate_limits)
            .progress(progress.clone())
            .build();
        Ok(Self {
            connector: connector.name().to_owned(),
            tenant: common.tenant_id.clone(),
            http,
            progress,
        })
    }
}
