//! `TestConnector`: takes webhooks with a given scheme and maps `{"id": ..}` bodies to `item`
//! records, or fails / hangs as a test asks.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use futures::stream::BoxStream;
use gwi_core::auth::{AuthConfig, AuthKind};
use gwi_core::config::{CommonConfig, Secret};
use gwi_core::connector::{AuthInfo, Capabilities, Connector, ConnectorMetadata, RateLimits};
use gwi_core::context::ConnectorContext;
use gwi_core::error::ConnectorError;
use gwi_core::health::HealthStatus;
use gwi_core::record::ConnectorRecord;
use gwi_core::registry::ConfiguredConnector;
use gwi_core::stream::{StreamDescriptor, SyncItem, SyncOptions};
use gwi_core::webhook::{GitHubScheme, SignatureScheme, WebhookEvent};
use serde_json::json;

/// What `process_webhook` does.
#[derive(Debug, Clone, Copy)]
pub enum Behaviour {
    /// Maps the body's `id` to one `item` record.
    Map,
    /// Fails with a temporary error this many times, then maps.
    FailTimes(u32),
    /// Always fails with a temporary error.
    FailAlways,
    /// Fails with a permanent (validation) error.
    FailPermanently,
    /// Never returns.
    Hang,
    /// Sleeps this long, then maps.
    Slow(Duration),
}

/// Message of the temporary failure, to find it as the dead letter's reason.
pub const TEMPORARY_FAILURE: &str = "provider exploded (test)";

/// A connector for server tests.
pub struct TestConnector {
    name: String,
    common: CommonConfig,
    scheme: Option<Arc<dyn SignatureScheme>>,
    behaviour: Behaviour,
    /// `process_webhook` calls so far.
    pub calls: AtomicU32,
    /// Delivery ids `process_webhook` was called with, in order.
    pub seen: Mutex<Vec<String>>,
}

impl TestConnector {
    /// A connector named `name` verifying with `scheme` (`None`: takes no webhooks).
    pub fn new(name: &str, scheme: Option<Arc<dyn SignatureScheme>>, behaviour: Behaviour) -> Self {
        Self {
            name: name.to_owned(),
            common: CommonConfig {
                tenant_id: "acme".to_owned(),
                ..CommonConfig::new(AuthConfig::None)
            },
            scheme,
            behaviour,
            calls: AtomicU32::new(0),
            seen: Mutex::new(Vec::new()),
        }
    }

    /// A connector named `name` taking GitHub-signed webhooks with [`GITHUB_SECRET`].
    pub fn github(name: &str, behaviour: Behaviour) -> Arc<Self> {
        let scheme = GitHubScheme::new(&[Secret::literal(GITHUB_SECRET)]).unwrap();
        Arc::new(Self::new(name, Some(Arc::new(scheme)), behaviour))
    }

    /// The connector configured for `tenant`, its GitHub-signed webhooks verified with `secret`.
    pub fn configured_as(self: &Arc<Self>, tenant: &str, secret: &str) -> ConfiguredConnector {
        let mut configured = self.configured();
        let mut common = (*configured.common).clone();
        tenant.clone_into(&mut common.tenant_id);
        configured.common = Arc::new(common);
        let scheme = GitHubScheme::new(&[Secret::literal(secret)]).unwrap();
        configured.webhook = Some(Arc::new(scheme));
        configured
    }

    /// The connector as the server takes it, with its ready-built scheme.
    pub fn configured(self: &Arc<Self>) -> ConfiguredConnector {
        ConfiguredConnector {
            connector: self.clone(),
            metadata: Arc::new(ConnectorMetadata {
                name: self.name.clone(),
                version: "0.1.0".to_owned(),
                description: "server test connector".to_owned(),
                record_types: vec!["item".to_owned()],
                capabilities: Capabilities {
                    auth: vec![AuthKind::None],
                    incremental: false,
                    // The scheme comes ready-built (any provider's), not from settings.
                    webhooks: None,
                },
                rate_limits: RateLimits::default(),
                documentation_url: None,
            }),
            common: Arc::new(self.common.clone()),
            webhook: self.scheme.clone(),
        }
    }

    fn map(&self, event: &WebhookEvent) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        let body: serde_json::Value = event.decode()?;
        let Some(id) = body.get("id").and_then(|v| v.as_str()) else {
            return Ok(Vec::new());
        };
        let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let mut record = ConnectorRecord::new(id, "item", &self.name, at, at);
        record.data = json!({
            "title": body.get("title"),
            "event_type": event.event_type,
            "delivery_id": event.delivery_id,
            "tenant": event.tenant,
            "signature_header_seen": event.headers.contains_key("x-hub-signature-256"),
        })
        .into();
        Ok(vec![record])
    }
}

/// The secret [`TestConnector::github`] verifies with.
pub const GITHUB_SECRET: &str = "it's a test secret";

fn temporary(connector: &str) -> ConnectorError {
    ConnectorError::Network {
        connector: connector.to_owned(),
        url: "http://127.0.0.1/".to_owned(),
        message: TEMPORARY_FAILURE.to_owned(),
    }
}

#[async_trait]
impl Connector for TestConnector {
    async fn authenticate(&self, _ctx: &ConnectorContext) -> Result<AuthInfo, ConnectorError> {
        Ok(AuthInfo::default())
    }

    async fn health_check(&self, _ctx: &ConnectorContext) -> HealthStatus {
        HealthStatus::from_checks(&self.name, Vec::new())
    }

    fn streams(&self, _options: &SyncOptions) -> Result<Vec<StreamDescriptor>, ConnectorError> {
        Ok(Vec::new())
    }

    fn sync<'a>(
        &'a self,
        _ctx: &'a ConnectorContext,
        _stream: &'a StreamDescriptor,
        _options: &'a SyncOptions,
    ) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
        Box::pin(futures::stream::empty())
    }

    async fn process_webhook(
        &self,
        _ctx: &ConnectorContext,
        event: &WebhookEvent,
    ) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.seen.lock().unwrap().push(event.delivery_id.clone());
        match self.behaviour {
            Behaviour::Map => self.map(event),
            Behaviour::FailTimes(n) if call <= n => Err(temporary(&self.name)),
            Behaviour::FailTimes(_) => self.map(event),
            Behaviour::FailAlways => Err(temporary(&self.name)),
            Behaviour::FailPermanently => Err(ConnectorError::validation(
                &self.name,
                "action",
                "unknown action (test)",
            )),
            Behaviour::Hang => std::future::pending().await,
            Behaviour::Slow(wait) => {
                tokio::time::sleep(wait).await;
                self.map(event)
            }
        }
    }
}
