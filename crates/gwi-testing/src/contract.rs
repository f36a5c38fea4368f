//! The connector contract: what every connector must satisfy, checked the same way for all.

use std::sync::Arc;

use futures::StreamExt;
use gwi_core::context::ConnectorContext;
use gwi_core::http::HttpClient;
use gwi_core::record::ConnectorRecord;
use gwi_core::registry::ConnectorFactory;
use gwi_core::stream::{SyncItem, SyncOptions};

/// What a contract run saw, for further assertions by the caller.
#[derive(Debug, Default)]
pub struct ContractReport {
    /// Every record synced, in stream order.
    pub records: Vec<ConnectorRecord>,
    /// Number of checkpoints seen.
    pub checkpoints: usize,
    /// Streams that were read.
    pub streams: Vec<String>,
}

/// Checks metadata, config schema, and that every record of every stream is valid.
///
/// Builds the connector from `config` through `factory`, then syncs each stream `options`
/// selects (capped at `per_stream_limit` records) over `transport`. Panics with a message
/// naming the broken rule, as a test assertion does.
pub async fn assert_connector_contract(
    factory: &dyn ConnectorFactory,
    config: serde_json::Value,
    transport: Arc<dyn HttpClient>,
    options: &SyncOptions,
    per_stream_limit: usize,
) -> ContractReport {
    let meta = factory.metadata();
    let name = meta.name.clone();
    assert!(!name.is_empty(), "a connector needs a name");
    let configured = factory
        .build(config)
        .unwrap_or_else(|e| panic!("{name}: the config does not build: {e}"));
    let ctx = ConnectorContext::new(&configured, transport)
        .unwrap_or_else(|e| panic!("{name}: no context: {e}"));
    let connector = configured.connector.as_ref();
    assert!(
        meta.version.split('.').count() == 3
            && meta.version.split('.').all(|p| p.parse::<u64>().is_ok()),
        "{name}: version {:?} is not semantic (MAJOR.MINOR.PATCH)",
        meta.version
    );
    assert!(
        !meta.record_types.is_empty(),
        "{name}: declares no record types"
    );
    assert!(
        !meta.capabilities.auth.is_empty(),
        "{name}: accepts no auth kind"
    );
    assert!(
        !meta.description.is_empty(),
        "{name}: needs a one-line description"
    );

    let schema = serde_json::to_value(factory.config_schema())
        .unwrap_or_else(|e| panic!("{name}: config schema does not serialize: {e}"));
    assert_eq!(
        schema.get("type").and_then(|t| t.as_str()),
        Some("object"),
        "{name}: config schema must describe an object"
    );
    let props = schema
        .get("properties")
        .and_then(|p| p.as_object())
        .unwrap_or_else(|| panic!("{name}: config schema has no properties"));
    assert!(
        props.contains_key("auth"),
        "{name}: config schema lacks the common `auth` field"
    );

    let streams = connector
        .streams(options)
        .unwrap_or_else(|e| panic!("{name}: streams() failed: {e}"));
    assert!(!streams.is_empty(), "{name}: the options select no stream");
    let mut report = ContractReport::default();
    for stream in &streams {
        assert!(
            meta.record_types.contains(&stream.record_type),
            "{name}: stream {} yields undeclared type {}",
            stream.name,
            stream.record_type
        );
        report.streams.push(stream.name.clone());
        let mut items = connector.sync(&ctx, stream, options);
        let mut count = 0;
        while let Some(item) = items.next().await {
            match item.unwrap_or_else(|e| panic!("{name}: stream {} failed: {e}", stream.name)) {
                SyncItem::Record(record) => {
                    if let Err(errors) = record.validate() {
                        panic!("{name}: record {} is invalid: {errors:?}", record.id);
                    }
                    assert_eq!(
                        record.source, name,
                        "record {} has the wrong source",
                        record.id
                    );
                    assert_eq!(
                        record.record_type, stream.record_type,
                        "{name}: stream {} yielded a {} record",
                        stream.name, record.record_type
                    );
                    report.records.push(record);
                    count += 1;
                    if count >= per_stream_limit {
                        break;
                    }
                }
                SyncItem::Checkpoint(checkpoint) => {
                    assert_eq!(
                        checkpoint.stream, stream.name,
                        "{name}: a checkpoint names another stream"
                    );
                    report.checkpoints += 1;
                }
                SyncItem::TotalHint(_) => {}
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use chrono::Utc;
    use futures::stream::BoxStream;
    use gwi_core::auth::AuthKind;
    use gwi_core::config::{CommonConfig, ValidateConfig};
    use gwi_core::connector::{AuthInfo, Capabilities, Connector, ConnectorMetadata};
    use gwi_core::error::ConnectorError;
    use gwi_core::health::HealthStatus;
    use gwi_core::http::{HttpError, HttpRequest, HttpResponse};
    use gwi_core::registry::{ConnectorDefinition, Registry};
    use gwi_core::stream::{Checkpoint, StreamDescriptor};
    use schemars::JsonSchema;
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug)]
    struct NoNetwork;

    #[async_trait]
    impl HttpClient for NoNetwork {
        async fn send(&self, _: HttpRequest) -> Result<HttpResponse, HttpError> {
            Err(HttpError::Connect {
                message: "no network in this test".into(),
            })
        }
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    struct FakeConfig {
        /// The type of record the fake yields.
        record_type: String,
    }

    impl ValidateConfig for FakeConfig {}

    struct Fake {
        record_type: String,
    }

    #[async_trait]
    impl Connector for Fake {
        async fn authenticate(&self, _: &ConnectorContext) -> Result<AuthInfo, ConnectorError> {
            Ok(AuthInfo::default())
        }
        async fn health_check(&self, _: &ConnectorContext) -> HealthStatus {
            HealthStatus::from_checks("fake", vec![])
        }
        fn streams(&self, _: &SyncOptions) -> Result<Vec<StreamDescriptor>, ConnectorError> {
            Ok(vec![StreamDescriptor::new("r", "thing")])
        }
        fn sync<'a>(
            &'a self,
            _: &'a ConnectorContext,
            stream: &'a StreamDescriptor,
            _: &'a SyncOptions,
        ) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
            let now = Utc::now();
            let record = ConnectorRecord::new("t-1", &self.record_type, "fake", now, now);
            Box::pin(futures::stream::iter(vec![
                Ok(SyncItem::Record(record)),
                Ok(SyncItem::Checkpoint(Checkpoint {
                    stream: stream.name.clone(),
                    cursor: json!(1),
                })),
            ]))
        }
    }

    impl ConnectorDefinition for Fake {
        type Config = FakeConfig;
        fn metadata() -> ConnectorMetadata {
            ConnectorMetadata {
                name: "fake".into(),
                version: "1.0.0".into(),
                description: "a fake".into(),
                record_types: vec!["thing".into()],
                capabilities: Capabilities {
                    auth: vec![AuthKind::None],
                    incremental: true,
                    webhooks: None,
                },
                rate_limits: Default::default(),
                documentation_url: None,
            }
        }
        fn from_config(config: FakeConfig, _: &CommonConfig) -> Result<Self, ConnectorError> {
            Ok(Self {
                record_type: config.record_type,
            })
        }
        fn data_schemas() -> Vec<(&'static str, schemars::Schema)> {
            #[derive(schemars::JsonSchema)]
            #[allow(dead_code)]
            struct Thing {
                n: Option<u32>,
            }
            vec![("thing", schemars::schema_for!(Thing))]
        }
    }

    async fn contract(record_type: &str) -> ContractReport {
        let mut registry = Registry::new();
        registry.register::<Fake>();
        let factory = registry.get("fake").unwrap().as_ref();
        let config = json!({"auth": {"type": "none"}, "record_type": record_type});
        assert_connector_contract(
            factory,
            config,
            Arc::new(NoNetwork),
            &SyncOptions::default(),
            10,
        )
        .await
    }

    #[tokio::test]
    async fn a_conforming_connector_passes_and_reports_what_it_saw() {
        let report = contract("thing").await;
        assert_eq!(report.records.len(), 1);
        assert_eq!(report.checkpoints, 1);
        assert_eq!(report.streams, ["r/thing"]);
    }

    #[tokio::test]
    #[should_panic(expected = "yielded a other record")]
    async fn a_record_of_the_wrong_type_breaks_the_contract() {
        contract("other").await;
    }
}
