//! The registry: connector names to factories that build connectors from config.

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::config::{self, ValidateConfig};
use crate::connector::{Connector, ConnectorMetadata};
use crate::error::{ConnectorError, FieldError};

/// A connector type that can be registered: its config type, static metadata and constructor.
pub trait ConnectorDefinition: Connector + Sized + 'static {
    /// The typed config (embeds [`CommonConfig`](crate::config::CommonConfig) with `#[serde(flatten)]`).
    type Config: DeserializeOwned + JsonSchema + ValidateConfig;
    /// Unique name.
    const NAME: &'static str;
    /// Metadata, available without a config.
    fn static_metadata() -> ConnectorMetadata;
    /// Builds the connector from a validated config.
    fn from_config(config: Self::Config) -> Result<Self, ConnectorError>;
}

/// Builds connectors of one type from untyped config.
pub trait ConnectorFactory: Send + Sync {
    /// The connector's name.
    fn name(&self) -> &'static str;
    /// The connector's metadata.
    fn metadata(&self) -> ConnectorMetadata;
    /// The config's JSON Schema.
    fn config_schema(&self) -> schemars::Schema;
    /// Parses and validates `config`, then builds the connector.
    fn build(&self, config: serde_json::Value) -> Result<Arc<dyn Connector>, ConnectorError>;
}

struct DefinitionFactory<C>(std::marker::PhantomData<fn() -> C>);

impl<C: ConnectorDefinition> ConnectorFactory for DefinitionFactory<C> {
    fn name(&self) -> &'static str {
        C::NAME
    }
    fn metadata(&self) -> ConnectorMetadata {
        C::static_metadata()
    }
    fn config_schema(&self) -> schemars::Schema {
        config::config_schema::<C::Config>()
    }
    fn build(&self, config: serde_json::Value) -> Result<Arc<dyn Connector>, ConnectorError> {
        let config = config::from_value::<C::Config>(C::NAME, config)?;
        Ok(Arc::new(C::from_config(config)?))
    }
}

/// Name -> factory. The CLI and the server look connectors up here.
#[derive(Default, Clone)]
pub struct Registry {
    factories: BTreeMap<&'static str, Arc<dyn ConnectorFactory>>,
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
        self.factories.insert(factory.name(), factory);
        self
    }

    /// The factory for `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn ConnectorFactory>> {
        self.factories.get(name)
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
    ) -> Result<Arc<dyn Connector>, ConnectorError> {
        match self.get(name) {
            Some(factory) => factory.build(config),
            None => Err(ConnectorError::config(
                name,
                vec![FieldError::new(
                    "",
                    format!(
                        "no connector named {name:?}; known connectors: {}",
                        self.factories
                            .keys()
                            .copied()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )],
            )),
        }
    }
}
