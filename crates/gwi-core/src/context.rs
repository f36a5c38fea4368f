//! What the framework hands a connector for one run: an authenticated, paced, retrying HTTP client.

use std::sync::Arc;

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
        let progress = Arc::new(Progress::default());
        let common = connector.common();
        let auth = common.auth.build(connector.name())?;
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
