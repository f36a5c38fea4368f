//! `gwi.toml`: the store URL, the server settings and each connector's config.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// Where the config file is looked for when neither `--config` nor `GWI_CONFIG` names one.
pub const DEFAULT_CONFIG_PATH: &str = "gwi.toml";
/// The store used when neither the config, `--store` nor `GWI_STORE` names one.
pub const DEFAULT_STORE_URL: &str = "sqlite://gwi.db";

/// The parsed config file. Connector tables stay untyped here: each connector parses its own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[store]`.
    #[serde(default)]
    pub store: StoreSection,
    /// `[server]`.
    #[serde(default)]
    pub server: ServerSection,
    /// `[connectors.NAME]` tables.
    #[serde(default)]
    pub connectors: BTreeMap<String, toml::Table>,
    /// The directory of the file it was read from: relative `file:` secrets are found there.
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
}

/// `[store]`: where records and state live.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`.
    pub url: Option<String>,
    /// Key that refresh tokens are encrypted with at rest: `env:NAME` or `file:PATH` holding 32
    /// random bytes, base64-encoded.
    pub token_key: Option<String>,
}

/// `[server]`: the webhook service.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Address to listen on, e.g. `127.0.0.1:8080`.
    pub listen: Option<String>,
    /// Largest accepted webhook body in bytes.
    pub body_limit_bytes: Option<usize>,
    /// Seconds a request may take before it is answered 503.
    pub request_timeout_secs: Option<u64>,
    /// Verified requests being stored at once; more wait.
    pub concurrency_limit: Option<usize>,
    /// Open connections at once; more wait to be accepted.
    pub max_connections: Option<usize>,
    /// Seconds a client may take to send a request head (and an idle connection stays open).
    pub header_read_timeout_secs: Option<u64>,
    /// Body bytes of all requests being read or stored at once; past it, 503.
    pub body_bytes_in_flight: Option<usize>,
    /// Days the bodies of processed and dead-lettered deliveries are kept.
    pub body_retention_days: Option<u64>,
    /// Days a settled delivery's key and body hash are kept to answer replays as duplicates.
    pub dedupe_window_days: Option<u64>,
    /// Serve `/webhooks/NAME/TENANT` (default true); false for a single-tenant deployment.
    pub tenant_routes: Option<bool>,
    /// Background workers draining the inbox.
    pub workers: Option<usize>,
    /// Processing attempts per webhook event before it is dead-lettered.
    pub max_attempts: Option<u32>,
    /// This process's name in the store's leases (default: host name and port); each process
    /// sharing a store needs its own, kept across restarts.
    pub instance: Option<String>,
    /// Seconds a lease lasts unless renewed: how long the work of a process that died waits.
    pub lease_secs: Option<u64>,
    /// Scheduled syncs one process runs at once.
    pub max_syncs: Option<usize>,
}

impl ConfigFile {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let mut file =
            Self::parse(&text).with_context(|| format!("in config file {}", path.display()))?;
        file.base_dir = path.parent().map(Path::to_owned);
        Ok(file)
    }

    /// Parses config text.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        Ok(toml::from_str(text)?)
    }

    /// Loads the file named by `--config`/`GWI_CONFIG`, or `./gwi.toml` if present, or nothing.
    pub fn discover(explicit: Option<&Path>) -> anyhow::Result<(Self, Option<PathBuf>)> {
        match explicit {
            Some(path) => Ok((Self::load(path)?, Some(path.to_owned()))),
            None => {
                let default = Path::new(DEFAULT_CONFIG_PATH);
                if default.exists() {
                    Ok((Self::load(default)?, Some(default.to_owned())))
                } else {
                    Ok((Self::default(), None))
                }
            }
        }
    }

    /// The store URL: `--store`/`GWI_STORE` first, then `[store] url`, then the default.
    pub fn store_url(&self, explicit: Option<&str>) -> String {
        explicit
            .map(str::to_owned)
            .or_else(|| self.store.url.clone())
            .unwrap_or_else(|| DEFAULT_STORE_URL.to_owned())
    }

    /// The key of `[store] token_key`, if one is configured.
    pub fn token_key(&self) -> anyhow::Result<Option<gwi_core::store::TokenKey>> {
        let Some(reference) = &self.store.token_key else {
            return Ok(None);
        };
        let mut reference = serde_json::Value::String(reference.clone());
        self.anchor(&mut reference);
        let reference = reference.as_str().unwrap_or_default();
        let secret = gwi_core::config::Secret::resolve(reference)
            .map_err(|problem| anyhow::anyhow!("[store] token_key: {problem}"))?;
        gwi_core::store::TokenKey::from_secret(&secret)
            .map(Some)
            .map_err(|problem| anyhow::anyhow!("[store] token_key {problem}"))
    }

    /// The `[connectors.NAME]` table as JSON (its `tenants` left out), for the connector's own
    /// parser.
    pub fn connector_config(&self, name: &str) -> anyhow::Result<serde_json::Value> {
        match self.connectors.get(name) {
            Some(table) => {
                let mut table = table.clone();
                table.remove(TENANTS);
                let mut config = serde_json::to_value(table)?;
                self.anchor(&mut config);
                Ok(config)
            }
            None if self.connectors.is_empty() => bail!(
                "no [connectors.{name}] table: pass --config FILE (or set GWI_CONFIG) naming a gwi.toml that configures {name}"
            ),
            None => bail!(
                "the config has no [connectors.{name}] table (it configures: {})",
                self.connectors
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl ConfigFile {
    /// The tenants `[connectors.NAME.tenants.TENANT]` configures, beside the connector's own.
    pub fn tenants(&self, name: &str) -> Vec<String> {
        self.connectors
            .get(name)
            .and_then(|t| t.get(TENANTS))
            .and_then(toml::Value::as_table)
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Tenant `tenant`'s config of connector `name`: the connector's table with the tenant's
    /// keys in place of its own (keys the tenant leaves out fall back to the connector's), and
    /// `tenant_id = TENANT`.
    pub fn tenant_config(&self, name: &str, tenant: &str) -> anyhow::Result<serde_json::Value> {
        let overrides = self
            .connectors
            .get(name)
            .and_then(|t| t.get(TENANTS))
            .and_then(toml::Value::as_table)
            .and_then(|t| t.get(tenant))
            .and_then(toml::Value::as_table)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no [connectors.{name}.tenants.{tenant}] table (configured tenants: {})",
                    self.tenants(name).join(", ")
                )
            })?;
        let mut config = self.connector_config(name)?;
        if let serde_json::Value::Object(config) = &mut config {
            for (key, value) in overrides {
                let mut value = serde_json::to_value(value)?;
                self.anchor(&mut value);
                config.insert(key.clone(), value);
            }
            config.insert(
                "tenant_id".into(),
                serde_json::Value::String(tenant.to_owned()),
            );
        }
        Ok(config)
    }
}

impl ConfigFile {
    fn anchor(&self, value: &mut serde_json::Value) {
        if let Some(dir) = &self.base_dir {
            anchor_secret_files(value, dir);
        }
    }
}

/// Makes every relative `file:PATH` in `value` relative to `dir`, the directory of the config
/// that holds it, so a config means the same whichever directory gwi runs from (Meltano and
/// Airbyte run taps from directories of their own).
pub fn anchor_secret_files(value: &mut serde_json::Value, dir: &Path) {
    match value {
        serde_json::Value::String(text) => {
            if let Some(path) = text.strip_prefix("file:")
                && Path::new(path).is_relative()
            {
                *text = format!("file:{}", dir.join(path).display());
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                anchor_secret_files(item, dir);
            }
        }
        serde_json::Value::Object(map) => {
            for item in map.values_mut() {
                anchor_secret_files(item, dir);
            }
        }
        _ => {}
    }
}

/// The key of a connector's tenant tables.
const TENANTS: &str = "tenants";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_key_is_read_beside_the_config_and_a_bad_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gwi.toml");
        std::fs::write(
            dir.path().join("token.key"),
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        )
        .unwrap();
        std::fs::write(&path, "[store]\ntoken_key = \"file:token.key\"\n").unwrap();
        assert!(
            ConfigFile::load(&path)
                .unwrap()
                .token_key()
                .unwrap()
                .is_some()
        );
        std::fs::write(dir.path().join("token.key"), "c2hvcnQ=").unwrap();
        let error = ConfigFile::load(&path).unwrap().token_key().unwrap_err();
        assert!(error.to_string().contains("[store] token_key"), "{error}");
        assert!(
            ConfigFile::parse("")
                .unwrap()
                .token_key()
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn relative_secret_files_are_found_beside_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gwi.toml");
        std::fs::write(
            &path,
            r#"
[connectors.github]
webhook_secret = "file:secrets/hook"
auth = { type = "bearer", token = "file:/etc/gwi/token" }
[connectors.github.tenants.globex]
webhook_secret = "file:globex.secret"
"#,
        )
        .unwrap();
        let file = ConfigFile::load(&path).unwrap();
        let config = file.connector_config("github").unwrap();
        let beside = |name: &str| format!("file:{}", dir.path().join(name).display());
        assert_eq!(config["webhook_secret"], beside("secrets/hook"));
        assert_eq!(
            config["auth"]["token"], "file:/etc/gwi/token",
            "absolute stays"
        );
        let tenant = file.tenant_config("github", "globex").unwrap();
        assert_eq!(tenant["webhook_secret"], beside("globex.secret"));
    }

    const EXAMPLE: &str = r#"
[store]
url = "sqlite://gwi.db"

[connectors.github]
base_url = "http://127.0.0.1:8787"          # omit for api.github.com
repositories = ["acme/widgets"]
types = ["pull_request", "issue"]          # omit for all
auth = { type = "bearer", token = "env:GITHUB_TOKEN" }
webhook_secret = "env:GITHUB_WEBHOOK_SECRET"
"#;

    #[test]
    fn the_documented_example_parses() {
        let config = ConfigFile::parse(EXAMPLE).unwrap();
        assert_eq!(config.store_url(None), "sqlite://gwi.db");
        assert_eq!(config.store_url(Some("postgres://x/y")), "postgres://x/y");
        let github = config.connector_config("github").unwrap();
        assert_eq!(github["repositories"][0], "acme/widgets");
        assert_eq!(github["auth"]["token"], "env:GITHUB_TOKEN");
    }

    #[test]
    fn a_tenant_overrides_the_connectors_keys_and_falls_back_to_the_rest() {
        let file = ConfigFile::parse(
            r#"
[connectors.github]
repositories = ["acme/widgets"]
auth = { type = "bearer", token = "env:ACME_GITHUB_TOKEN" }
webhook_secret = "env:ACME_WEBHOOK_SECRET"
types = ["issue"]

[connectors.github.tenants.globex]
repositories = ["globex/app"]
auth = { type = "bearer", token = "env:GLOBEX_GITHUB_TOKEN" }
webhook_secret = "env:GLOBEX_WEBHOOK_SECRET"
"#,
        )
        .unwrap();
        assert_eq!(file.tenants("github"), ["globex"]);
        let own = file.connector_config("github").unwrap();
        assert!(own.get("tenants").is_none(), "{own}");
        let globex = file.tenant_config("github", "globex").unwrap();
        assert_eq!(globex["repositories"], serde_json::json!(["globex/app"]));
        assert_eq!(globex["webhook_secret"], "env:GLOBEX_WEBHOOK_SECRET");
        assert_eq!(globex["types"], serde_json::json!(["issue"]), "falls back");
        assert_eq!(globex["tenant_id"], "globex");
        let err = file
            .tenant_config("github", "initech")
            .unwrap_err()
            .to_string();
        assert!(err.contains("configured tenants: globex"), "{err}");
    }

    #[test]
    fn an_unconfigured_connector_names_the_configured_ones() {
        let config = ConfigFile::parse(EXAMPLE).unwrap();
        let err = config.connector_config("jira").unwrap_err().to_string();
        assert!(
            err.contains("[connectors.jira]") && err.contains("github"),
            "{err}"
        );
    }

    #[test]
    fn unknown_top_level_sections_are_refused() {
        let err = ConfigFile::parse("[stroe]\nurl = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("stroe"), "{err}");
    }
}
