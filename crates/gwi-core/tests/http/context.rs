//! ConnectorContext wires the HTTP client's rate-limit waits to `Connector::on_rate_limit`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use gwi_core::auth::AuthConfig;
use gwi_core::config::{CommonConfig, HttpSettings};
use gwi_core::connector::{AuthInfo, Connector, ConnectorMetadata, RateLimits};
use gwi_core::context::ConnectorContext;
use gwi_core::error::ConnectorError;
use gwi_core::health::HealthStatus;
use gwi_core::http::HttpRequest;
use gwi_core::stream::{StreamDescriptor, SyncItem, SyncOptions};
use gwi_testing::{MockHttpClient, MockResponse};

use crate::support::mock_url;

/// A connector that only remembers the rate-limit waits it is told about.
struct Listening {
    common: CommonConfig,
    waits: Mutex<Vec<Duration>>,
}

#[async_trait]
impl Connector for Listening {
    fn name(&self) -> &str {
        "context-listening-test"
    }
    fn metadata(&self) -> ConnectorMetadata {
        ConnectorMetadata {
            name: self.name().to_owned(),
            version: "0.0.0".to_owned(),
            description: "test".to_owned(),
            record_types: Vec::new(),
            auth_methods: Vec::new(),
            supports_incremental: false,
            supports_webhooks: false,
            rate_limits: RateLimits::default(),
            capabilities: Vec::new(),
            documentation_url: None,
        }
    }
    fn config_schema(&self) -> schemars::Schema {
        schemars::json_schema!({})
    }
    fn common(&self) -> &CommonConfig {
        &self.common
    }
    async fn authenticate(&self, _: &ConnectorContext) -> Result<AuthInfo, ConnectorError> {
        Ok(AuthInfo::default())
    }
    async fn health_check(&self, _: &ConnectorContext) -> HealthStatus {
        HealthStatus::from_checks(self.name(), Vec::new())
    }
    fn streams(&self, _: &SyncOptions) -> Result<Vec<StreamDescriptor>, ConnectorError> {
        Ok(Vec::new())
    }
    fn sync<'a>(
        &'a self,
        _: &'a ConnectorContext,
        _: &'a StreamDescriptor,
        _: &'a SyncOptions,
    ) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
        Box::pin(futures::stream::empty())
    }
    fn on_rate_limit(&self, wait: Duration) {
        self.waits.lock().unwrap().push(wait);
    }
}

#[tokio::test(start_paused = true)]
async fn rate_limit_waits_reach_the_connector_hook() {
    let connector = Arc::new(Listening {
        common: CommonConfig {
            tenant_id: "t".to_owned(),
            auth: AuthConfig::None,
            base_url: None,
            http: HttpSettings::default(),
        },
        waits: Mutex::new(Vec::new()),
    });
    let as_dyn: Arc<dyn Connector> = connector.clone();
    let mock = Arc::new(MockHttpClient::new());
    mock.push(MockResponse::status(429).header("retry-after", "3"))
        .push(MockResponse::status(200));
    let ctx = ConnectorContext::for_connector(&as_dyn, mock.clone()).unwrap();

    ctx.http
        .send(HttpRequest::get(mock_url("/x")))
        .await
        .unwrap();

    assert_eq!(*connector.waits.lock().unwrap(), [Duration::from_secs(3)]);
    assert_eq!(ctx.progress.snapshot().rate_limit_waits, 1);
}
