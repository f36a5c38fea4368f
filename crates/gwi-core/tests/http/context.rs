//! ConnectorContext wires the connector's hooks into its HTTP client: rate-limit waits reach
//! `Connector::on_rate_limit`, every answer goes through `Connector::classifier`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use gwi_core::auth::{AuthConfig, AuthKind};
use gwi_core::config::CommonConfig;
use gwi_core::connector::{AuthInfo, Capabilities, Connector, ConnectorMetadata, RateLimits};
use gwi_core::context::ConnectorContext;
use gwi_core::error::ConnectorError;
use gwi_core::health::HealthStatus;
use gwi_core::http::{Classifier, HttpRequest, HttpResponse, Verdict};
use gwi_core::registry::ConfiguredConnector;
use gwi_core::stream::{StreamDescriptor, SyncItem, SyncOptions};
use gwi_testing::{MockHttpClient, MockResponse};

use crate::support::mock_url;

/// A connector that only remembers the rate-limit waits it is told about.
struct Listening {
    waits: Mutex<Vec<Duration>>,
}

#[async_trait]
impl Connector for Listening {
    async fn authenticate(&self, _: &ConnectorContext) -> Result<AuthInfo, ConnectorError> {
        Ok(AuthInfo::default())
    }
    async fn health_check(&self, _: &ConnectorContext) -> HealthStatus {
        HealthStatus::from_checks("listening", Vec::new())
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
    fn classifier(&self) -> Option<Classifier> {
        Some(Arc::new(|response: &HttpResponse| {
            (response.status == 418).then(|| Verdict::Permanent {
                reason: "a teapot".to_owned(),
            })
        }))
    }
    fn on_rate_limit(&self, wait: Duration) {
        self.waits.lock().unwrap().push(wait);
    }
}

fn metadata() -> ConnectorMetadata {
    ConnectorMetadata {
        name: "context-listening-test".to_owned(),
        version: "0.0.0".to_owned(),
        description: "test".to_owned(),
        record_types: Vec::new(),
        capabilities: Capabilities {
            auth: vec![AuthKind::None],
            incremental: false,
            webhooks: None,
        },
        rate_limits: RateLimits::default(),
        documentation_url: None,
    }
}

fn configured() -> (Arc<Listening>, ConfiguredConnector) {
    let connector = Arc::new(Listening {
        waits: Mutex::new(Vec::new()),
    });
    let common = CommonConfig {
        tenant_id: "t".to_owned(),
        ..CommonConfig::new(AuthConfig::None)
    };
    let configured = ConfiguredConnector::new(connector.clone(), metadata(), common).unwrap();
    (connector, configured)
}

#[tokio::test(start_paused = true)]
async fn rate_limit_waits_reach_the_connector_hook() {
    let (connector, configured) = configured();
    let mock = Arc::new(MockHttpClient::new());
    mock.push(MockResponse::status(429).header("retry-after", "3"))
        .push(MockResponse::status(200));
    let ctx = ConnectorContext::new(&configured, mock.clone()).unwrap();

    ctx.http
        .send(HttpRequest::get(mock_url("/x")))
        .await
        .unwrap();

    assert_eq!(*connector.waits.lock().unwrap(), [Duration::from_secs(3)]);
    assert_eq!(ctx.progress.snapshot().rate_limit_waits, 1);
    assert_eq!(
        (ctx.connector.as_str(), ctx.tenant.as_str()),
        ("context-listening-test", "t")
    );
}

#[tokio::test(start_paused = true)]
async fn the_connectors_classifier_reads_every_answer() {
    let (_, configured) = configured();
    let mock = Arc::new(MockHttpClient::new());
    mock.push(MockResponse::status(418));
    let ctx = ConnectorContext::new(&configured, mock.clone()).unwrap();

    match ctx
        .http
        .send(HttpRequest::get(mock_url("/x")))
        .await
        .unwrap_err()
    {
        ConnectorError::Api {
            status, message, ..
        } => {
            assert_eq!((status, message.as_str()), (418, "a teapot"));
        }
        other => panic!("expected the classified error, got {other:?}"),
    }
}
