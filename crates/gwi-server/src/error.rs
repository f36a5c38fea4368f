//! What can keep the webhook service from starting or serving.

/// A failure to build or run a [`Server`](crate::Server).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// Two connectors share a name and tenant, so their webhook route would be ambiguous.
    #[error(
        "two connectors are configured as {0:?} (name/tenant); each tenant of a connector needs its own tenant id"
    )]
    DuplicateConnector(String),
    /// Two tenants of a connector act as one installation, so its deliveries have no one owner.
    #[error(
        "tenants {tenants:?} of connector {connector} are both configured with installation {installation}; each installation belongs to one tenant"
    )]
    DuplicateInstallation {
        /// The connector.
        connector: String,
        /// The installation both name.
        installation: String,
        /// The two tenants.
        tenants: [String; 2],
    },
    /// A setting cannot work (e.g. a zero body limit).
    #[error("invalid server setting {field}: {problem}")]
    InvalidConfig {
        /// The `ServerConfig` field.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The server was built outside a Tokio runtime, so it cannot start its tasks.
    #[error("the webhook server must be built within a Tokio runtime")]
    NoRuntime,
    /// A connector's HTTP client (for what its webhook mapping reads) could not be set up.
    #[error("cannot set up HTTP for connector {connector}: {message}")]
    Http {
        /// The connector.
        connector: String,
        /// Why.
        message: String,
    },
    /// The listener failed.
    #[error("server I/O error: {0}")]
    Io(#[from] std::io::Error),
}
