//! Connector configuration: typed structs parsed from TOML or JSON, every bad field reported by
//! path, defaults applied, and secret references (`env:NAME`, `file:PATH`) resolved.

mod check;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use url::Url;

use crate::auth::AuthConfig;
use crate::connector::ConnectorMetadata;
use crate::error::{ConnectorError, FieldError};
use crate::http::ApiRoot;
use crate::webhook::{SchemeKind, SignatureScheme, WebhookSettings};

/// The JSON Schema `format` that marks a secret reference, so parsing can find every one.
const SECRET_FORMAT: &str = "secret-ref";

/// Where a secret's value came from; shown instead of the value.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretOrigin {
    /// An environment variable.
    Env(String),
    /// A file's contents (trailing newline trimmed).
    File(PathBuf),
    /// Written literally in the config (discouraged).
    Literal,
}

impl fmt::Display for SecretOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "env:{name}"),
            Self::File(path) => write!(f, "file:{}", path.display()),
            Self::Literal => f.write_str("literal"),
        }
    }
}

/// A resolved secret config value. `Debug` and logs show `[redacted]` and where it came from.
#[derive(Clone)]
pub struct Secret {
    value: SecretString,
    origin: SecretOrigin,
}

impl Secret {
    /// Resolves a reference: `env:NAME`, `file:PATH`, or a literal value.
    pub fn resolve(reference: &str) -> Result<Self, String> {
        if let Some(name) = reference.strip_prefix("env:") {
            let value = std::env::var(name).map_err(|e| match e {
                std::env::VarError::NotPresent => {
                    format!("environment variable {name} is not set")
                }
                std::env::VarError::NotUnicode(_) => {
                    format!("environment variable {name} is not valid UTF-8")
                }
            })?;
            if value.trim().is_empty() {
                return Err(format!(
                    "environment variable {name} is empty (or only whitespace)"
                ));
            }
            Ok(Self {
                value: SecretString::from(value),
                origin: SecretOrigin::Env(name.to_owned()),
            })
        } else if let Some(path) = reference.strip_prefix("file:") {
            let value = read_secret_file(path)?;
            if value.trim().is_empty() {
                return Err(format!("secret file {path} is empty (or only whitespace)"));
            }
            Ok(Self {
                value: SecretString::from(value.trim_end_matches(['\n', '\r']).to_owned()),
                origin: SecretOrigin::File(PathBuf::from(path)),
            })
        } else if reference.trim().is_empty() {
            Err("must not be empty or only whitespace".to_owned())
        } else {
            Ok(Self::literal(reference))
        }
    }

    /// A secret given directly by code (tests, programmatic configs).
    pub fn literal(value: impl Into<String>) -> Self {
        Self {
            value: SecretString::from(value.into()),
            origin: SecretOrigin::Literal,
        }
    }

    /// The secret value, for the one place that must send it.
    pub fn expose(&self) -> &SecretString {
        &self.value
    }

    /// Where the value came from.
    pub fn origin(&self) -> &SecretOrigin {
        &self.origin
    }
}

/// The most a secret file may hold: a secret is a line, and a larger file is the wrong one.
const SECRET_FILE_LIMIT: u64 = 64 * 1024;

/// The text of the secret file at `path`, read no further than [`SECRET_FILE_LIMIT`].
fn read_secret_file(path: &str) -> Result<String, String> {
    use std::io::Read;
    let cannot = |e: std::io::Error| format!("cannot read secret file {path}: {e}");
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut value = String::new();
    file.take(SECRET_FILE_LIMIT + 1)
        .read_to_string(&mut value)
        .map_err(cannot)?;
    if value.len() as u64 > SECRET_FILE_LIMIT {
        return Err(format!(
            "secret file {path} is larger than 64 KiB; a secret is one line (is this the right file?)"
        ));
    }
    Ok(value)
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[redacted] ({})", self.origin)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.origin == other.origin && self.value.expose_secret() == other.value.expose_secret()
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let reference = String::deserialize(deserializer)?;
        Secret::resolve(&reference).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Secret {
    /// Serializes the origin, never the value, so a config can be echoed safely.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.origin {
            SecretOrigin::Literal => serializer.serialize_str("[redacted]"),
            origin => serializer.serialize_str(&origin.to_string()),
        }
    }
}

impl JsonSchema for Secret {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Secret".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "minLength": 1,
            "format": SECRET_FORMAT,
            "description": "A secret: \"env:NAME\" reads an environment variable, \"file:PATH\" reads a file, anything else is used literally (discouraged).",
            "writeOnly": true
        })
    }
}

fn default_tenant() -> String {
    "default".to_owned()
}

/// HTTP behaviour every connector shares; all fields have defaults.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Per-request timeout in seconds.
    #[schemars(range(min = 1))]
    pub timeout_secs: u64,
    /// Attempts per request, the first included.
    #[schemars(range(min = 1, max = 20))]
    pub max_attempts: u32,
    /// Longest single wait gwi accepts from `Retry-After` or a rate-limit reset, in seconds.
    pub max_wait_secs: u64,
    /// Overrides the connector's documented request rate (requests per second); more than 0,
    /// since 0 or less would not pace at all.
    #[schemars(range(min = 0.001))]
    pub requests_per_second: Option<f64>,
    /// First retry's backoff ceiling in milliseconds; it doubles per retry (with full jitter).
    #[schemars(range(min = 1))]
    pub initial_backoff_ms: u64,
    /// Cap on one backoff between retries, in seconds.
    #[schemars(range(min = 1))]
    pub max_backoff_secs: u64,
    /// Gives up retrying one request once this many seconds have passed since its first attempt.
    #[schemars(range(min = 1))]
    pub max_elapsed_secs: u64,
    /// Requests allowed back to back before pacing starts (the limiter's burst).
    #[schemars(range(min = 1))]
    pub burst: u32,
    /// When `X-RateLimit-Remaining` falls to this fraction of `X-RateLimit-Limit`, the remaining
    /// requests are spread evenly until the reset.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub slow_down_below: f64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            timeout_secs: 30,
            max_attempts: 5,
            max_wait_secs: 900,
            requests_per_second: None,
            initial_backoff_ms: 500,
            max_backoff_secs: 30,
            max_elapsed_secs: 1800,
            burst: 1,
            slow_down_below: 0.1,
        }
    }
}

/// The part of every connector's config that the framework reads: tenant, auth, base URL, HTTP.
///
/// Connector configs embed it with `#[serde(flatten)]`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct CommonConfig {
    /// Tenant the synced data belongs to (records and state are kept per tenant).
    #[serde(default = "default_tenant")]
    pub tenant_id: String,
    /// Credentials.
    pub auth: AuthConfig,
    /// Overrides the provider's API root (self-hosted instances, the sandbox): an http or
    /// https URL without a query, e.g. `https://git.example.com/api/v4`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^https?://[^?#]+$"))]
    pub base_url: Option<Url>,
    /// Timeouts, retries and pacing.
    #[serde(default)]
    pub http: HttpSettings,
    /// The secret the provider signs webhook deliveries with: the one-secret form of
    /// `webhook.secrets`. Only for connectors that take webhooks.
    #[serde(default)]
    pub webhook_secret: Option<Secret>,
    /// Webhook verification: `secrets` (list the new one and the old one while rotating) and
    /// `tolerance_secs`. Only for connectors that take webhooks.
    #[serde(default)]
    pub webhook: Option<WebhookSettings>,
    /// When `gwi serve` runs this sync (`every 15m`, or a cron expression in UTC); none runs
    /// it only when asked (`gwi sync`).
    #[serde(default)]
    pub schedule: Option<crate::schedule::Schedule>,
}

impl CommonConfig {
    /// Settings with `auth` and every default (tenant `default`, the provider's API root, no
    /// webhooks), for configs built by code.
    pub fn new(auth: AuthConfig) -> Self {
        Self {
            tenant_id: default_tenant(),
            auth,
            base_url: None,
            http: HttpSettings::default(),
            webhook_secret: None,
            webhook: None,
            schedule: None,
        }
    }

    /// The common settings' own rules, by field: a `base_url` requests can be built under, and
    /// one way of giving webhook secrets.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(url) = &self.base_url
            && let Err(message) = ApiRoot::new(url.clone())
        {
            errors.push(FieldError::new("base_url", message));
        }
        if self.webhook_secret.is_some() && self.webhook.is_some() {
            errors.push(FieldError::new(
                "webhook_secret",
                "give either webhook_secret or webhook.secrets, not both (webhook.secrets takes several while rotating)",
            ));
        }
        errors
    }

    /// The webhook settings in force: `webhook`, or `webhook_secret` as its only secret.
    pub fn webhook_settings(&self) -> Option<WebhookSettings> {
        self.webhook.clone().or_else(|| {
            self.webhook_secret.clone().map(|secret| WebhookSettings {
                secrets: vec![secret],
                tolerance_secs: None,
            })
        })
    }

    /// Builds the `kind` webhook scheme from the settings in force; `None` when none are set.
    /// An unusable secret is a config error naming its field.
    pub fn webhook_scheme(
        &self,
        connector: &str,
        kind: SchemeKind,
    ) -> Result<Option<Arc<dyn SignatureScheme>>, ConnectorError> {
        let Some(settings) = self.webhook_settings() else {
            return Ok(None);
        };
        settings
            .build(kind)
            .map(|scheme| Some(Arc::from(scheme)))
            .map_err(|e| {
                let mut error = FieldError::from(e);
                error.field = match (&self.webhook, error.field.as_str()) {
                    (None, _) => "webhook_secret".to_owned(),
                    (Some(_), field) => format!("webhook.{field}"),
                };
                ConnectorError::config(connector, vec![error])
            })
    }

    /// The API root requests are built under: `base_url` when set, else the provider's
    /// `default`.
    pub fn api_root(&self, connector: &str, default: &str) -> Result<ApiRoot, ConnectorError> {
        let url = match &self.base_url {
            Some(url) => url.clone(),
            None => Url::parse(default).map_err(|e| {
                ConnectorError::config(
                    connector,
                    vec![FieldError::new(
                        "base_url",
                        format!("the default {default} is not a URL: {e}"),
                    )],
                )
            })?,
        };
        ApiRoot::new(url).map_err(|message| {
            ConnectorError::config(connector, vec![FieldError::new("base_url", message)])
        })
    }
}

/// A connector's config as the framework parses it: the common settings split off, and the
/// connector's own.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ConnectorConfig<C> {
    /// Tenant, auth, base URL, HTTP and webhook settings: the framework's.
    #[serde(flatten)]
    pub common: CommonConfig,
    /// The connector's own settings.
    #[serde(flatten)]
    pub own: C,
}

impl<C: ValidateConfig> ValidateConfig for ConnectorConfig<C> {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = self.common.validate();
        errors.extend(self.own.validate());
        errors
    }
}

/// The JSON Schema of connector `C`'s whole config table: the common settings and its own,
/// with `auth` limited to the kinds it accepts and the webhook settings only if it takes
/// webhooks.
pub fn connector_schema<C: JsonSchema>(metadata: &ConnectorMetadata) -> schemars::Schema {
    let mut schema = config_schema::<ConnectorConfig<C>>();
    if let Some(root) = schema.as_object_mut() {
        root.insert(
            "title".to_owned(),
            format!("{} connector config", metadata.name).into(),
        );
        if metadata.capabilities.webhooks.is_none()
            && let Some(props) = root.get_mut("properties").and_then(|p| p.as_object_mut())
        {
            props.remove("webhook_secret");
            props.remove("webhook");
        }
        let accepted = metadata.capabilities.auth_names();
        // Draft-07 schemas keep their definitions under `definitions`.
        if let Some(variants) = root
            .get_mut("definitions")
            .and_then(|d| d.get_mut("AuthConfig"))
            .and_then(|a| a.get_mut("oneOf"))
            .and_then(|o| o.as_array_mut())
        {
            variants
                .retain(|variant| variant_tag(variant).is_some_and(|tag| accepted.contains(&tag)));
        }
        root.insert(
            "description".to_owned(),
            metadata.description.clone().into(),
        );
        prune_definitions(root);
    }
    schema
}

/// Drops the definitions nothing refers to any more (the settings of auth kinds and webhook
/// settings a connector does not take), so its schema shows only what it accepts.
fn prune_definitions(root: &mut serde_json::Map<String, serde_json::Value>) {
    let Some(serde_json::Value::Object(definitions)) = root.remove("definitions") else {
        return;
    };
    let mut used = std::collections::BTreeSet::new();
    let mut pending = Vec::new();
    collect_refs(&serde_json::Value::Object(root.clone()), &mut pending);
    while let Some(name) = pending.pop() {
        if used.insert(name.clone())
            && let Some(definition) = definitions.get(&name)
        {
            collect_refs(definition, &mut pending);
        }
    }
    let kept: serde_json::Map<_, _> = definitions
        .into_iter()
        .filter(|(name, _)| used.contains(name))
        .collect();
    root.insert("definitions".to_owned(), serde_json::Value::Object(kept));
}

/// The definition names every `$ref` under `value` points to.
fn collect_refs(value: &serde_json::Value, into: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child.as_str()) {
                    ("$ref", Some(target)) => {
                        if let Some(name) = target.strip_prefix("#/definitions/") {
                            into.push(name.to_owned());
                        }
                    }
                    _ => collect_refs(child, into),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| collect_refs(item, into)),
        _ => {}
    }
}

/// The `type` constant of one tagged-enum variant's schema.
fn variant_tag(variant: &serde_json::Value) -> Option<&str> {
    let tag = variant.get("properties")?.get("type")?;
    tag.get("const")
        .and_then(|c| c.as_str())
        .or_else(|| tag.get("enum")?.as_array()?.first()?.as_str())
}

/// Parses connector `C`'s config table, splitting off the common settings. Reports every
/// problem at once, as [`from_value`] does; an `auth.type` the connector does not accept is
/// named with the kinds it does.
pub fn parse_connector<C>(
    metadata: &ConnectorMetadata,
    value: serde_json::Value,
) -> Result<ConnectorConfig<C>, ConnectorError>
where
    C: DeserializeOwned + JsonSchema + ValidateConfig,
{
    let name = metadata.name.as_str();
    let schema = connector_schema::<C>(metadata);
    let auth_type = value
        .get("auth")
        .and_then(|a| a.get("type"))
        .and_then(|t| t.as_str());
    let accepted = metadata.capabilities.auth_names();
    match auth_type.filter(|t| !accepted.contains(t)) {
        Some(kind) => {
            let mut errors = vec![FieldError::new(
                "auth.type",
                format!(
                    "{name} does not accept {kind:?} credentials; use one of: {}",
                    accepted.join(", ")
                ),
            )];
            // The schema's complaints about that `auth` table would only repeat it.
            errors.extend(
                schema_errors(&schema, &value)
                    .into_iter()
                    .filter(|e| !e.field.starts_with("auth")),
            );
            Err(ConnectorError::config(name, errors))
        }
        None => from_value_with(name, value, &schema),
    }
}

/// An error for each item of the list `field` that repeats an earlier one, as `field[i]: X is
/// listed twice`; `key` says when two items are the same (e.g. a path in any case).
pub fn repeated<T: fmt::Display, K: Eq + std::hash::Hash>(
    field: &str,
    items: &[T],
    key: impl Fn(&T) -> K,
) -> Vec<FieldError> {
    let mut seen = std::collections::HashSet::new();
    items
        .iter()
        .enumerate()
        .filter(|(_, item)| !seen.insert(key(item)))
        .map(|(i, item)| {
            FieldError::new(format!("{field}[{i}]"), format!("{item} is listed twice"))
        })
        .collect()
}

/// The errors of a connector's optional `types` list: empty, or a type listed twice.
pub fn check_types<T: fmt::Display + Eq + std::hash::Hash + Copy>(
    types: Option<&[T]>,
) -> Vec<FieldError> {
    let Some(types) = types else {
        return Vec::new();
    };
    let mut errors = Vec::new();
    if types.is_empty() {
        errors.push(FieldError::new(
            "types",
            "list at least one record type, or omit `types` for all of them",
        ));
    }
    errors.extend(repeated("types", types, |t| *t));
    errors
}

/// Rules a config must follow beyond what its JSON Schema can say.
pub trait ValidateConfig {
    /// Every violation, by field path; empty when the config is valid.
    fn validate(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

/// Parses a connector config from TOML text.
pub fn from_toml<T>(connector: &str, text: &str) -> Result<T, ConnectorError>
where
    T: DeserializeOwned + JsonSchema + ValidateConfig,
{
    let value: serde_json::Value = toml::from_str(text).map_err(|e| {
        ConnectorError::config(
            connector,
            vec![FieldError::new("", format!("not valid TOML: {e}"))],
        )
    })?;
    from_value(connector, value)
}

/// Parses a connector config from JSON text.
pub fn from_json<T>(connector: &str, text: &str) -> Result<T, ConnectorError>
where
    T: DeserializeOwned + JsonSchema + ValidateConfig,
{
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        ConnectorError::config(
            connector,
            vec![FieldError::new("", format!("not valid JSON: {e}"))],
        )
    })?;
    from_value(connector, value)
}

/// Parses a connector config from a JSON value (e.g. a table of `gwi.toml`).
///
/// Reports every problem at once: schema violations (missing, wrong type, unknown field,
/// pattern), then unresolvable secrets, then the config's own [`ValidateConfig`] rules.
pub fn from_value<T>(connector: &str, value: serde_json::Value) -> Result<T, ConnectorError>
where
    T: DeserializeOwned + JsonSchema + ValidateConfig,
{
    from_value_with(connector, value, &config_schema::<T>())
}

/// [`from_value`] against `schema` (which must describe `T`).
fn from_value_with<T>(
    connector: &str,
    value: serde_json::Value,
    schema: &schemars::Schema,
) -> Result<T, ConnectorError>
where
    T: DeserializeOwned + ValidateConfig,
{
    let mut errors = schema_errors(schema, &value);
    // Serde stops at the first error, so secrets are checked first, all of them, by path,
    // and reported together with the schema violations.
    let mut literals = Vec::new();
    check_secrets(
        schema.as_value(),
        schema.as_value(),
        &value,
        String::new(),
        &mut errors,
        &mut literals,
    );
    if !errors.is_empty() {
        return Err(ConnectorError::config(connector, errors));
    }
    for path in literals {
        tracing::warn!(
            connector,
            field = %path,
            "a secret is written literally in the config; use \"env:NAME\" or \"file:PATH\" to keep it out of files and shell history"
        );
    }
    let config: T = serde_path_to_error::deserialize(&value).map_err(|e| {
        ConnectorError::config(
            connector,
            vec![FieldError::new(
                display_path(e.path()),
                e.inner().to_string(),
            )],
        )
    })?;
    errors.extend(config.validate());
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(ConnectorError::config(connector, errors))
    }
}

/// The JSON Schema (draft-07) of a config type, with unknown top-level keys refused.
///
/// Draft-07 rather than 2020-12: every tool reads it, and the validator's compiled 2020-12
/// meta-schema alone held about 50 MB for the life of the process.
pub fn config_schema<T: JsonSchema>() -> schemars::Schema {
    let mut schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<T>();
    if let Some(obj) = schema.as_object_mut() {
        obj.entry("additionalProperties")
            .or_insert(serde_json::Value::Bool(false));
    }
    schema
}

fn schema_errors(schema: &schemars::Schema, value: &serde_json::Value) -> Vec<FieldError> {
    let mut errors = check::violations(schema.as_value(), value);
    errors.sort_by(|a, b| a.field.cmp(&b.field));
    errors.dedup();
    errors
}

fn display_path(path: &serde_path_to_error::Path) -> String {
    let text = path.to_string();
    if text == "." { String::new() } else { text }
}

/// Walks `value` alongside its schema and tries to resolve every secret reference, collecting
/// failures (with their paths) and the paths of secrets written literally.
fn check_secrets(
    root: &serde_json::Value,
    schema: &serde_json::Value,
    value: &serde_json::Value,
    path: String,
    errors: &mut Vec<FieldError>,
    literals: &mut Vec<String>,
) {
    let schema = resolve_ref(root, schema);
    if schema.get("format").and_then(|f| f.as_str()) == Some(SECRET_FORMAT) {
        if let Some(reference) = value.as_str() {
            match Secret::resolve(reference) {
                Ok(secret) if *secret.origin() == SecretOrigin::Literal => literals.push(path),
                Ok(_) => {}
                Err(message) => errors.push(FieldError::new(path, message)),
            }
        }
        return;
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(|b| b.as_array()) {
            for branch in branches {
                if branch_matches_tag(root, branch, value) {
                    check_secrets(root, branch, value, path.clone(), errors, literals);
                }
            }
        }
    }
    match value {
        serde_json::Value::Object(map) => {
            let props = schema.get("properties").and_then(|p| p.as_object());
            let extra = schema.get("additionalProperties").filter(|a| a.is_object());
            for (key, child) in map {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if let Some(sub) = props.and_then(|p| p.get(key)).or(extra) {
                    check_secrets(root, sub, child, child_path, errors, literals);
                }
            }
        }
        serde_json::Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for (i, child) in items.iter().enumerate() {
                    check_secrets(root, sub, child, format!("{path}[{i}]"), errors, literals);
                }
            }
        }
        _ => {}
    }
}

/// For tagged enums: a branch applies when its `type` constant equals the value's `type`.
fn branch_matches_tag(
    root: &serde_json::Value,
    branch: &serde_json::Value,
    value: &serde_json::Value,
) -> bool {
    let branch = resolve_ref(root, branch);
    let tag = branch
        .get("properties")
        .and_then(|p| p.get("type"))
        .and_then(|t| {
            t.get("const")
                .or_else(|| t.get("enum").and_then(|e| e.get(0)))
        });
    match tag {
        Some(tag) => value.get("type") == Some(tag),
        None => true,
    }
}

fn resolve_ref<'a>(
    root: &'a serde_json::Value,
    schema: &'a serde_json::Value,
) -> &'a serde_json::Value {
    let mut current = schema;
    for _ in 0..16 {
        match current
            .get("$ref")
            .and_then(|r| r.as_str())
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(pointer) => match root.pointer(pointer) {
                Some(target) => current = target,
                None => break,
            },
            None => break,
        }
    }
    current
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_secret_file_holding_only_a_newline_is_refused_not_read_as_an_empty_key() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("secret");
        std::fs::write(&path, "\n").unwrap_or_else(|e| panic!("{e}"));
        let err = Secret::resolve(&format!("file:{}", path.display())).unwrap_err();
        assert!(err.contains("is empty"), "{err}");
        assert!(Secret::resolve("   ").is_err());
        std::fs::write(&path, vec![b'x'; 70_000]).unwrap_or_else(|e| panic!("{e}"));
        let err = Secret::resolve(&format!("file:{}", path.display())).unwrap_err();
        assert!(err.contains("larger than 64 KiB"), "{err}");
    }
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, JsonSchema)]
    struct DemoConfig {
        #[serde(flatten)]
        common: CommonConfig,
        /// Repositories as owner/name.
        #[schemars(length(min = 1))]
        repositories: Vec<Repo>,
        #[serde(default = "default_page_size")]
        page_size: u32,
        #[serde(default)]
        webhook_secret: Option<Secret>,
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(transparent)]
    struct Repo(#[schemars(regex(pattern = r"^[^/\s]+/[^/\s]+$"))] String);

    fn default_page_size() -> u32 {
        100
    }

    impl ValidateConfig for DemoConfig {
        fn validate(&self) -> Vec<FieldError> {
            if self.page_size > 100 {
                vec![FieldError::new("page_size", "at most 100")]
            } else {
                vec![]
            }
        }
    }

    fn fields(err: ConnectorError) -> Vec<String> {
        match err {
            ConnectorError::Config { errors, .. } => {
                errors.iter().map(ToString::to_string).collect()
            }
            other => panic!("expected a config error, got {other}"),
        }
    }

    #[test]
    fn every_invalid_field_is_reported_by_path() {
        let err = from_value::<DemoConfig>(
            "demo",
            json!({"auth": {"type": "bearer"}, "repositories": ["acme/widgets", "nope"], "colour": 1}),
        )
        .unwrap_err();
        let fields = fields(err);
        let text = fields.join("\n");
        assert!(text.contains("auth"), "{text}");
        assert!(text.contains("repositories[1]"), "{text}");
        assert!(text.contains("colour: unknown field"), "{text}");
    }

    #[test]
    fn schema_violations_and_missing_secrets_are_reported_together() {
        let err = from_value::<DemoConfig>(
            "demo",
            json!({"auth": {"type": "bearer", "token": "env:GWI_TEST_SURELY_UNSET_TOKEN"}, "repositories": ["nope"]}),
        )
        .unwrap_err();
        let text = fields(err).join("\n");
        assert!(text.contains("repositories[0]"), "{text}");
        assert!(
            text.contains(
                "auth.token: environment variable GWI_TEST_SURELY_UNSET_TOKEN is not set"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_rate_of_zero_or_less_is_refused_rather_than_read_as_no_pacing() {
        for rate in [0.0, -5.0] {
            let err = from_value::<DemoConfig>(
                "demo",
                json!({"auth": {"type": "bearer", "token": "t-1234567890"}, "repositories": ["a/b"],
                       "http": {"requests_per_second": rate}}),
            )
            .unwrap_err();
            let text = fields(err).join("\n");
            assert!(text.contains("http.requests_per_second"), "{rate}: {text}");
        }
    }

    #[test]
    fn missing_required_field_is_named() {
        let err = from_value::<DemoConfig>("demo", json!({"repositories": ["a/b"]})).unwrap_err();
        assert_eq!(fields(err), ["auth: missing"]);
    }

    #[test]
    fn missing_token_inside_auth_is_named() {
        let err = from_value::<DemoConfig>(
            "demo",
            json!({"auth": {"type": "bearer"}, "repositories": ["a/b"]}),
        )
        .unwrap_err();
        let text = fields(err).join("\n");
        assert!(text.starts_with("auth"), "{text}");
    }

    #[test]
    fn defaults_apply_and_toml_parses() {
        let config: DemoConfig = from_toml(
            "demo",
            "repositories = [\"a/b\"]\nauth = { type = \"bearer\", token = \"plain\" }\n",
        )
        .unwrap();
        assert_eq!(config.page_size, 100);
        assert_eq!(config.repositories[0].0, "a/b");
        assert!(config.webhook_secret.is_none());
        assert_eq!(config.common.tenant_id, "default");
        assert_eq!(config.common.http.max_attempts, 5);
    }

    #[test]
    fn every_unresolvable_secret_is_named_without_its_value() {
        let err = from_value::<DemoConfig>(
            "demo",
            json!({
                "auth": {"type": "bearer", "token": "env:GWI_TEST_SURELY_UNSET_TOKEN"},
                "repositories": ["a/b"],
                "webhook_secret": "file:/nonexistent/gwi/secret",
            }),
        )
        .unwrap_err();
        let fields = fields(err);
        assert_eq!(fields.len(), 2, "{fields:?}");
        assert!(fields[0].starts_with(
            "auth.token: environment variable GWI_TEST_SURELY_UNSET_TOKEN is not set"
        ));
        assert!(
            fields[1]
                .starts_with("webhook_secret: cannot read secret file /nonexistent/gwi/secret")
        );
    }

    #[test]
    fn custom_rules_run_after_the_schema() {
        let err = from_value::<DemoConfig>(
            "demo",
            json!({"auth": {"type": "none"}, "repositories": ["a/b"], "page_size": 500}),
        )
        .unwrap_err();
        assert_eq!(fields(err), ["page_size: at most 100"]);
    }

    #[test]
    fn secrets_resolve_from_env_and_file_and_debug_hides_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "from-file-value\n").unwrap();
        let from_file = Secret::resolve(&format!("file:{}", path.display())).unwrap();
        assert_eq!(from_file.expose().expose_secret(), "from-file-value");
        // PATH is set in every test environment; its value must never show in Debug.
        let from_env = Secret::resolve("env:PATH").unwrap();
        let shown = format!("{from_env:?} {from_file:?}");
        assert!(shown.contains("[redacted] (env:PATH)"), "{shown}");
        assert!(!shown.contains("from-file-value"), "{shown}");
        let config: DemoConfig = from_value(
            "demo",
            json!({"auth": {"type": "bearer", "token": "hunter2-literal"}, "repositories": ["a/b"]}),
        )
        .unwrap();
        let debug = format!("{config:?}");
        assert!(debug.contains("[redacted]"), "{debug}");
        assert!(!debug.contains("hunter2-literal"), "{debug}");
    }
}
