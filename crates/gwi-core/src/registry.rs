//! The registry: connector names to factories that build connectors from config.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::config::{self, CommonConfig, ValidateConfig};
use crate::connector::{Connector, ConnectorMetadata};
use crate::error::{ConnectorError, FieldError};
use crate::schema::{SchemaError, StreamSchema};
use crate::webhook::SignatureScheme;

/// A connector type that can be registered: what it is, its own config and its constructor.
pub trait ConnectorDefinition: Connector + Sized + 'static {
    /// The connector's own settings; the framework splits the common ones (tenant, auth,
    /// base URL, HTTP, webhook) off before they reach it.
    type Config: DeserializeOwned + JsonSchema + ValidateConfig;

    /// What the connector is and can do, available without a config.
    fn metadata() -> ConnectorMetadata;

    /// Builds the connector from its validated config. `common` is the framework's part, for
    /// what the connector reads of it (the API root, which auth kind is in use).
    fn from_config(config: Self::Config, common: &CommonConfig) -> Result<Self, ConnectorError>;

    /// The JSON Schema of each record type's `data`, generated from the struct it is
    /// serialized from (`schemars::schema_for!`); Singer and Airbyte streams are typed by it.
    fn data_schemas() -> Vec<(&'static str, schemars::Schema)>;

    /// The header an `api_key` goes in when the config names neither a header nor a query
    /// parameter (Linear: `Authorization`, the key alone); `None` keeps the framework's
    /// `X-API-Key`.
    fn api_key_header() -> Option<&'static str> {
        None
    }
}

/// A connector built from its config, with the settings the framework applies for it.
#[derive(Clone)]
pub struct ConfiguredConnector {
    /// The connector.
    pub connector: Arc<dyn Connector>,
    /// What it is and can do.
    pub metadata: Arc<ConnectorMetadata>,
    /// Tenant, auth, base URL, HTTP and webhook settings.
    pub common: Arc<CommonConfig>,
    /// How its webhooks are verified: built from the webhook settings with the scheme its
    /// metadata names; `None` when it takes no webhooks or none are configured.
    pub webhook: Option<Arc<dyn SignatureScheme>>,
}

impl ConfiguredConnector {
    /// Puts a connector together with its metadata and common settings, building its webhook
    /// scheme; settings for a scheme it does not have are a config error.
    pub fn new(
        connector: Arc<dyn Connector>,
        metadata: ConnectorMetadata,
        common: CommonConfig,
    ) -> Result<Self, ConnectorError> {
        let webhook = match metadata.capabilities.webhooks {
            Some(kind) => common.webhook_scheme(&metadata.name, kind)?,
            None if common.webhook_settings().is_some() => {
                let field = if common.webhook.is_some() {
                    "webhook"
                } else {
                    "webhook_secret"
                };
                return Err(ConnectorError::config(
                    metadata.name.clone(),
                    vec![FieldError::new(
                        field,
                        format!("{} takes no webhooks; remove it", metadata.name),
                    )],
                ));
            }
            None => None,
        };
        Ok(Self {
            connector,
            metadata: Arc::new(metadata),
            common: Arc::new(common),
            webhook,
        })
    }

    /// The connector's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }
}

/// A configured connector is used as its connector.
impl std::ops::Deref for ConfiguredConnector {
    type Target = dyn Connector;

    fn deref(&self) -> &Self::Target {
        self.connector.as_ref()
    }
}

impl AsRef<dyn Connector> for ConfiguredConnector {
    fn as_ref(&self) -> &(dyn Connector + 'static) {
        self.connector.as_ref()
    }
}

impl fmt::Debug for ConfiguredConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfiguredConnector")
            .field("name", &self.metadata.name)
            .field("tenant", &self.common.tenant_id)
            .field("auth", &self.common.auth.kind())
            .field("webhook", &self.webhook.as_ref().map(|s| s.name()))
            .finish_non_exhaustive()
    }
}

/// Builds connectors of one type from untyped config.
pub trait ConnectorFactory: Send + Sync {
    /// The connector's metadata.
    fn metadata(&self) -> ConnectorMetadata;
    /// The JSON Schema of its whole config table.
    fn config_schema(&self) -> schemars::Schema;
    /// One typed stream per record type, in the order of the metadata's record types.
    fn stream_schemas(&self) -> Result<Vec<StreamSchema>, SchemaError>;
    /// Parses and validates `config`, then builds the connector.
    fn build(&self, config: serde_json::Value) -> Result<ConfiguredConnector, ConnectorError>;
}

struct DefinitionFactory<C>(std::marker::PhantomData<fn() -> C>);

impl<C: ConnectorDefinition> ConnectorFactory for DefinitionFactory<C> {
    fn metadata(&self) -> ConnectorMetadata {
        C::metadata()
    }
    fn config_schema(&self) -> schemars::Schema {
        config::connector_schema::<C::Config>(&C::metadata())
    }
    fn stream_schemas(&self) -> Result<Vec<StreamSchema>, SchemaError> {
        let data = C::data_schemas();
        C::metadata()
            .record_types
            .iter()
            .map(|record_type| {
                let (_, schema) = data
                    .iter()
                    .find(|(name, _)| name == record_type)
                    .ok_or_else(|| SchemaError::Missing(record_type.clone()))?;
                StreamSchema::new(record_type, schema)
            })
            .collect()
    }
    fn build(&self, config: serde_json::Value) -> Result<ConfiguredConnector, ConnectorError> {
        let metadata = C::metadata();
        let mut parsed = config::parse_connector::<C::Config>(&metadata, config)?;
        if let crate::auth::AuthConfig::ApiKey {
            header: header @ None,
            query_param: None,
            ..
        } = &mut parsed.common.auth
        {
            *header = C::api_key_header().map(str::to_owned);
        }
        let connector = C::from_config(parsed.own, &parsed.common)?;
        ConfiguredConnector::new(Arc::new(connector), metadata, parsed.common)
    }
}

/// Name -> factory. The CLI and the server look connectors up here.
#[derive(Default, Clone)]
pub struct Registry {
    factories: BTreeMap<String, Arc<dyn ConnectorFactory>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers connector type `C` under its name (replacing any earlier one).
    pub fn register<C: ConnectorDefinition>(&mut self) -> &mut Self {
        self.register_factory(Arc::new(DefinitionFactory::<C>(std::marker::PhantomData)))
    }

    /// Registers a hand-written factory (e.g. a declarative connector).
    pub fn register_factory(&mut self, factory: Arc<dyn ConnectorFactory>) -> &mut Self {
        self.factories.insert(factory.metadata().name, factory);
        self
    }

    /// The factory for `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn ConnectorFactory>> {
        self.factories.get(name)
    }

    /// The registered names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.factories.keys().map(String::as_str)
    }

    /// All factories, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn ConnectorFactory>> {
        self.factories.values()
    }

    /// Builds connector `name` from `config`; an unknown name lists the known ones.
    pub fn build(
        &self,
        name: &str,
        config: serde_json::Value,
    ) -> Result<ConfiguredConnector, ConnectorError> {
        match self.get(name) {
            Some(factory) => factory.build(config),
            None => Err(ConnectorError::config(
                name,
                vec![FieldError::new(
                    "",
                    format!(
                        "no connector named {name:?}; known connectors: {}",
                        self.names().collect::<Vec<_>>().join(", ")
                    ),
                )],
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use futures::stream::BoxStream;
    use schemars::JsonSchema;
    use serde::Deserialize;
    use serde_json::json;

    use super::*;
    use crate::auth::AuthKind;
    use crate::connector::{AuthInfo, Capabilities};
    use crate::context::ConnectorContext;
    use crate::health::HealthStatus;
    use crate::stream::{StreamDescriptor, SyncItem, SyncOptions};

    #[derive(Debug, Deserialize, JsonSchema)]
    struct PollConfig {
        /// Where to poll.
        feed: String,
    }

    impl ValidateConfig for PollConfig {}

    /// A connector that takes no webhooks and only bearer tokens.
    struct Poll;

    #[async_trait]
    impl Connector for Poll {
        async fn authenticate(&self, _: &ConnectorContext) -> Result<AuthInfo, ConnectorError> {
            Ok(AuthInfo::default())
        }
        async fn health_check(&self, _: &ConnectorContext) -> HealthStatus {
            HealthStatus::from_checks("poll", Vec::new())
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
    }

    impl ConnectorDefinition for Poll {
        type Config = PollConfig;
        fn metadata() -> ConnectorMetadata {
            ConnectorMetadata {
                name: "poll".into(),
                version: "1.0.0".into(),
                description: "polls a feed".into(),
                record_types: vec!["entry".into()],
                capabilities: Capabilities {
                    auth: vec![AuthKind::Bearer],
                    incremental: false,
                    webhooks: None,
                },
                rate_limits: Default::default(),
                documentation_url: None,
            }
        }
        fn from_config(config: PollConfig, _: &CommonConfig) -> Result<Self, ConnectorError> {
            assert_eq!(config.feed, "news");
            Ok(Poll)
        }
        fn data_schemas() -> Vec<(&'static str, schemars::Schema)> {
            /// A feed entry.
            #[derive(JsonSchema)]
            #[allow(dead_code)]
            struct Entry {
                title: String,
            }
            vec![("entry", schemars::schema_for!(Entry))]
        }
    }

    fn registry() -> Registry {
        let mut registry = Registry::new();
        registry.register::<Poll>();
        registry
    }

    fn fields(error: ConnectorError) -> Vec<String> {
        match error {
            ConnectorError::Config { errors, .. } => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a config error, got {other}"),
        }
    }

    #[test]
    fn the_common_settings_are_split_off_and_kept_by_the_framework() {
        let built = registry()
            .build(
                "poll",
                json!({"feed": "news", "tenant_id": "acme", "auth": {"type": "bearer", "token": "t"}}),
            )
            .unwrap();
        assert_eq!(built.name(), "poll");
        assert_eq!(built.common.tenant_id, "acme");
        assert_eq!(built.common.auth.kind(), AuthKind::Bearer);
        assert!(built.webhook.is_none());
    }

    #[test]
    fn each_record_type_gets_a_stream_typed_by_its_data_struct() {
        let streams = registry().get("poll").unwrap().stream_schemas().unwrap();
        assert_eq!(streams.len(), 1);
        assert_eq!(streams[0].name, "entry");
        assert_eq!(
            streams[0].schema["properties"]["title"]["type"],
            json!(["string", "null"])
        );
    }

    #[test]
    fn webhook_settings_for_a_connector_without_webhooks_are_unknown_fields() {
        let err = registry()
            .build(
                "poll",
                json!({"feed": "news", "auth": {"type": "bearer", "token": "t"}, "webhook_secret": "s"}),
            )
            .unwrap_err();
        assert_eq!(fields(err), ["webhook_secret"]);
        let schema =
            serde_json::to_string(&registry().get("poll").unwrap().config_schema()).unwrap();
        assert!(!schema.contains("webhook"), "{schema}");
    }

    #[test]
    fn an_auth_kind_not_accepted_is_named_with_the_accepted_ones() {
        let err = registry()
            .build(
                "poll",
                json!({"feed": "news", "auth": {"type": "none"}, "extra": 1}),
            )
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("poll does not accept \"none\" credentials; use one of: bearer"),
            "{text}"
        );
        assert_eq!(
            fields(err),
            ["auth.type", "extra"],
            "other problems are still reported"
        );
    }

    #[test]
    fn an_unknown_connector_lists_the_known_ones() {
        let text = registry().build("nope", json!({})).unwrap_err().to_string();
        assert!(text.contains("known connectors: poll"), "{text}");
    }
}
