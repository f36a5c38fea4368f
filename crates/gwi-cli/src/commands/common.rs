//! Pieces every command shares: config and store flags, building connectors, exit codes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use gwi_core::auth::RefreshTokenSink;
use gwi_core::context::ConnectorContext;
use gwi_core::error::ConnectorError;
use gwi_core::http::ReqwestClient;
use gwi_core::registry::ConfiguredConnector;
use gwi_core::store::{Store, StoreTokenSink};

use crate::config_file::ConfigFile;

/// `--config` and `--store`, accepted by every command that reads them.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// Config file (default: ./gwi.toml when present).
    #[arg(long, short = 'c', env = "GWI_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Store URL: sqlite://PATH or postgres://USER@HOST/DB (default: the config's [store] url,
    /// else sqlite://gwi.db).
    #[arg(long, env = "GWI_STORE", value_name = "URL")]
    pub store: Option<String>,
}

impl ConfigArgs {
    /// Loads the config file these flags name.
    pub fn load(&self) -> anyhow::Result<ConfigFile> {
        let (file, _) = ConfigFile::discover(self.config.as_deref()).map_err(bad_usage)?;
        Ok(file)
    }
}

/// An error that is the user's input (flags, config): `gwi` exits with code 2.
#[derive(Debug)]
pub struct BadUsage(pub anyhow::Error);

impl std::fmt::Display for BadUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for BadUsage {}

/// Marks `error` as bad usage (exit code 2).
pub fn bad_usage(error: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(BadUsage(error.into()))
}

/// The exit code for an error: 2 for bad usage or config, 1 otherwise.
pub fn exit_code_for(error: &anyhow::Error) -> u8 {
    let usage = error.chain().any(|e| {
        e.downcast_ref::<BadUsage>().is_some()
            || matches!(
                e.downcast_ref::<ConnectorError>(),
                Some(ConnectorError::Config { .. })
            )
    });
    if usage { 2 } else { 1 }
}

/// Builds connector `name` from its `[connectors.NAME]` table.
pub fn build_connector(config: &ConfigFile, name: &str) -> anyhow::Result<ConfiguredConnector> {
    build_for_tenant(config, name, None)
}

/// Builds connector `name` for `tenant`: from its `[connectors.NAME.tenants.TENANT]` table over
/// the connector's, or from the connector's own table when `tenant` is `None` or is the
/// connector's own `tenant_id`.
pub fn build_for_tenant(
    config: &ConfigFile,
    name: &str,
    tenant: Option<&str>,
) -> anyhow::Result<ConfiguredConnector> {
    let registry = gwi_connectors::registry();
    if registry.get(name).is_none() {
        let known: Vec<_> = registry.names().collect();
        return Err(bad_usage(anyhow::anyhow!(
            "no connector named {name:?}; known: {}",
            known.join(", ")
        )));
    }
    let table = match tenant {
        Some(tenant) if config.tenants(name).iter().any(|t| t == tenant) => {
            config.tenant_config(name, tenant)
        }
        Some(tenant) if tenant != tenant_for(config, name, None) => {
            return Err(bad_usage(anyhow::anyhow!(
                "connector {name} has no tenant {tenant:?}: add a [connectors.{name}.tenants.{tenant}] table (configured: {})",
                config.tenants(name).join(", ")
            )));
        }
        _ => config.connector_config(name),
    }
    .map_err(bad_usage)?;
    registry.build(name, table).map_err(bad_usage)
}

/// The per-run context for `connector`, over the real HTTP transport; rotated OAuth2 refresh
/// tokens are saved in `store` when there is one, sealed with `key` when one is configured.
pub fn context_for(
    connector: &ConfiguredConnector,
    store: Option<&Arc<dyn Store>>,
    key: Option<&gwi_core::store::TokenKey>,
) -> anyhow::Result<ConnectorContext> {
    let timeout = Duration::from_secs(connector.common.http.timeout_secs);
    let transport = Arc::new(ReqwestClient::new(timeout).context("cannot set up HTTP")?);
    let sink = store.map(|store| {
        Arc::new(StoreTokenSink::for_connector(store.clone(), connector).sealed_with(key.cloned()))
            as Arc<dyn RefreshTokenSink>
    });
    Ok(ConnectorContext::with_token_sink(
        connector, transport, sink,
    )?)
}

/// Opens the store at `url` (running its migrations); errors name the URL without its password.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn gwi_core::store::Store>> {
    gwi_store::open(url)
        .await
        .with_context(|| format!("cannot open store {}", gwi_store::store_url::redact(url)))
}

/// The tenant a command is about: `--tenant`, else the connector's configured `tenant_id`.
pub fn tenant_for(config: &ConfigFile, connector: &str, explicit: Option<String>) -> String {
    explicit
        .or_else(|| {
            config
                .connectors
                .get(connector)
                .and_then(|t| t.get("tenant_id"))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "default".to_owned())
}

/// Builds connector `name` from a JSON file holding the keys of its `[connectors.NAME]` table:
/// the config Singer and Airbyte runners hand a tap or source.
pub fn build_from_json_file(name: &str, path: &Path) -> anyhow::Result<ConfiguredConnector> {
    let registry = gwi_connectors::registry();
    if registry.get(name).is_none() {
        let known: Vec<_> = registry.names().collect();
        return Err(bad_usage(anyhow::anyhow!(
            "no connector named {name:?}; known: {}",
            known.join(", ")
        )));
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))
        .map_err(bad_usage)?;
    let mut table: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| {
            format!(
                "config {} is not JSON (it holds the keys of a [connectors.{name}] table as a JSON object)",
                path.display()
            )
        })
        .map_err(bad_usage)?;
    if let Some(dir) = path.parent() {
        crate::config_file::anchor_secret_files(&mut table, dir);
    }
    registry.build(name, table).map_err(bad_usage)
}

/// The typed streams of connector `name` (see `gwi_core::schema`).
pub fn stream_schemas(name: &str) -> anyhow::Result<Vec<gwi_core::schema::StreamSchema>> {
    let registry = gwi_connectors::registry();
    let factory = registry.get(name).ok_or_else(|| {
        let known: Vec<_> = registry.names().collect();
        bad_usage(anyhow::anyhow!(
            "no connector named {name:?}; known: {}",
            known.join(", ")
        ))
    })?;
    Ok(factory.stream_schemas()?)
}
