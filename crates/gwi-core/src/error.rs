//! The one error type every connector operation returns.

use std::fmt;
use std::time::Duration;

use crate::store::StoreError;

/// A problem with one field of a config, a record or a request, named by its path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// Where the problem is, as `auth.token` or `resources[1]`; empty for the whole value.
    pub field: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl FieldError {
    /// Builds a field error from a path and a message.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

/// Several field errors shown one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  - {e}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong while a connector authenticates, syncs or handles a webhook.
///
/// Every variant names the connector and its `Display` ends with what the user can do next.
/// No variant ever holds a secret: URLs are stored with their query secrets redacted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectorError {
    /// The provider refused the credentials (invalid, expired or missing scopes).
    #[error("{connector}: authentication failed: {message}. {}", auth_hint(.required_scopes))]
    Authentication {
        /// Connector that failed.
        connector: String,
        /// The HTTP status of the refusal (401: not valid, 403: not allowed), when there was one.
        status: Option<u16>,
        /// What the provider said, without secrets.
        message: String,
        /// Scopes the operation needs, when the provider tells.
        required_scopes: Vec<String>,
    },
    /// The provider asked us to slow down and we ran out of patience.
    #[error("{connector}: rate limited by the provider (HTTP {status}){}. Wait and run again, or lower --concurrency.", retry_hint(.retry_after))]
    RateLimited {
        /// Connector that was limited.
        connector: String,
        /// HTTP status of the last answer (429, or 403 for secondary limits).
        status: u16,
        /// How long the provider asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The request never got an HTTP answer (DNS, connect, reset, timeout, truncated body).
    #[error(
        "{connector}: network error calling {url}: {message}. Check connectivity and base_url; the request is retried automatically, so this one failed every attempt."
    )]
    Network {
        /// Connector that failed.
        connector: String,
        /// The URL, query secrets redacted.
        url: String,
        /// The transport's description.
        message: String,
    },
    /// Input (a record, an event, a response) failed validation.
    #[error("{connector}: invalid data:\n{}", FieldErrors(.errors.clone()))]
    Validation {
        /// Connector that failed.
        connector: String,
        /// Every problem found, by field path.
        errors: Vec<FieldError>,
    },
    /// The provider answered with an error status that is not about auth or rate limits.
    #[error("{connector}: {url} answered HTTP {status}: {message}. {}", api_hint(*.status))]
    Api {
        /// Connector that failed.
        connector: String,
        /// HTTP status code.
        status: u16,
        /// The URL, query secrets redacted.
        url: String,
        /// The provider's message, trimmed.
        message: String,
    },
    /// The connector's configuration is invalid; every bad field is listed.
    #[error("{connector}: invalid configuration:\n{}\nFix these fields in the config file (see `gwi connectors schema {connector}`).", FieldErrors(.errors.clone()))]
    Config {
        /// Connector whose config is wrong.
        connector: String,
        /// Every problem found, by field path.
        errors: Vec<FieldError>,
    },
    /// The store failed; nothing past the last committed checkpoint was lost.
    #[error(
        "{connector}: storage error: {source}. The last committed checkpoint is intact; run again once the store is reachable."
    )]
    Storage {
        /// Connector that was syncing.
        connector: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The operation was cancelled (Ctrl-C, shutdown, or a limit).
    #[error(
        "{connector}: cancelled. Progress up to the last checkpoint is saved; run again to resume."
    )]
    Cancelled {
        /// Connector that was cancelled.
        connector: String,
    },
}

fn auth_hint(scopes: &[String]) -> String {
    if scopes.is_empty() {
        "Check the token or credentials in the config (they may be expired or revoked).".to_owned()
    } else {
        format!(
            "The credentials need these scopes: {}. Grant them and run again.",
            scopes.join(", ")
        )
    }
}

fn retry_hint(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!("; the provider asked to wait {}s", d.as_secs()),
        None => String::new(),
    }
}

fn api_hint(status: u16) -> &'static str {
    match status {
        404 => {
            "Check the resource names and base_url; private resources also answer 404 without access."
        }
        400..=499 => "The request was refused; check the config and the connector's docs.",
        _ => "The provider failed; it was retried automatically. Try again later.",
    }
}

impl ConnectorError {
    /// The connector this error belongs to.
    pub fn connector(&self) -> &str {
        match self {
            Self::Authentication { connector, .. }
            | Self::RateLimited { connector, .. }
            | Self::Network { connector, .. }
            | Self::Validation { connector, .. }
            | Self::Api { connector, .. }
            | Self::Config { connector, .. }
            | Self::Storage { connector, .. }
            | Self::Cancelled { connector } => connector,
        }
    }

    /// Whether trying the same operation again later may succeed.
    pub fn is_temporary(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Network { .. } | Self::Storage { .. } => true,
            Self::Api { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// A short machine-readable name for metrics and protocol outputs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Authentication { .. } => "authentication",
            Self::RateLimited { .. } => "rate_limited",
            Self::Network { .. } => "network",
            Self::Validation { .. } => "validation",
            Self::Api { .. } => "api",
            Self::Config { .. } => "config",
            Self::Storage { .. } => "storage",
            Self::Cancelled { .. } => "cancelled",
        }
    }

    /// Builds a `Config` error from field errors.
    pub fn config(connector: impl Into<String>, errors: Vec<FieldError>) -> Self {
        Self::Config {
            connector: connector.into(),
            errors,
        }
    }

    /// Builds a `Validation` error with a single field.
    pub fn validation(
        connector: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Validation {
            connector: connector.into(),
            errors: vec![FieldError::new(field, message)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_error_lists_every_field_and_the_next_step() {
        let err = ConnectorError::config(
            "github",
            vec![
                FieldError::new("auth.token", "missing"),
                FieldError::new("resources[1]", "not owner/name"),
            ],
        );
        let text = err.to_string();
        assert!(text.contains("auth.token: missing"), "{text}");
        assert!(text.contains("resources[1]: not owner/name"), "{text}");
        assert!(text.contains("gwi connectors schema github"), "{text}");
    }

    #[test]
    fn only_transient_errors_are_temporary() {
        let api = |status| ConnectorError::Api {
            connector: "x".into(),
            status,
            url: "u".into(),
            message: String::new(),
        };
        assert!(api(503).is_temporary());
        assert!(!api(404).is_temporary());
        assert!(
            !ConnectorError::Authentication {
                connector: "x".into(),
                status: Some(401),
                message: "bad".into(),
                required_scopes: vec![]
            }
            .is_temporary()
        );
    }

    #[test]
    fn authentication_error_lists_required_scopes() {
        let err = ConnectorError::Authentication {
            connector: "github".into(),
            status: Some(403),
            message: "insufficient permissions".into(),
            required_scopes: vec!["repo".into(), "read:org".into()],
        };
        assert!(err.to_string().contains("repo, read:org"));
    }
}
