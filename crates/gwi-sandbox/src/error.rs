//! Errors from starting the sandbox, configuring faults and sending webhooks.

use std::net::SocketAddr;

/// What went wrong in the sandbox library.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A fault spec or fault JSON did not parse or is out of range.
    #[error("invalid fault settings: {0}")]
    InvalidFaultSpec(String),
    /// Webhook sender options are inconsistent (rates out of range, zero concurrency, ...).
    #[error("invalid webhook options: {0}")]
    InvalidOptions(String),
    /// The HTTP client for sending webhooks could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
    /// A recorded payload a provider renders from is not the object it should be.
    #[error("template {name} is unusable: {reason}")]
    Template {
        /// The template file.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The sandbox was asked to serve a provider it does not have.
    #[error("no provider named {0:?}; the sandbox serves {1}")]
    UnknownProvider(String, String),
}
