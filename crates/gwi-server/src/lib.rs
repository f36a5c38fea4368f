//! The gwi webhook service: verified, deduplicated, durable-before-ack.
//!
//! A [`Server`] holds the configured connectors and a [`Store`](gwi_core::store::Store):
//!
//! - `POST /webhooks/{connector}` and `/webhooks/{connector}/{tenant}` verify a delivery over its
//!   raw bytes with the connector's [`SignatureScheme`](gwi_core::webhook::SignatureScheme),
//!   answer provider handshakes, append it to the store's inbox under its dedupe key, and only
//!   then answer `202` (`200 {"duplicate":true}` for a repeat). A store failure answers `503`
//!   with `Retry-After`, never a 4xx, so providers retry instead of disabling the hook.
//! - [`Workers`] drain the inbox in the background: the connector maps each event to records,
//!   the store upserts them, the event is marked done; failures are retried with backoff and
//!   dead-lettered with their reason.
//! - `GET /healthz`, `GET /readyz` (store writable) and `GET /metrics` (Prometheus text).
//! - Settled deliveries are pruned in the background (bodies, then whole entries).
//! - Connectors with a `schedule` are synced in the background, each by one process at a time
//!   however many share the store (leases renewed by a heartbeat; see `scheduler`).
//!
//! [`Server::router`] gives the axum router for in-process tests; [`Server::serve`] runs it on a
//! listener with the workers and shuts both down gracefully.

mod appender;
mod background;
mod config;
mod error;
mod group_commit;
mod leases;
mod listen;
pub mod metrics;
mod ops;
mod retention;
mod scheduler;
mod server;
mod webhook;
mod worker;

pub use config::{
    DEFAULT_BODY_BYTES_IN_FLIGHT, DEFAULT_BODY_LIMIT, RetryPolicy, ServerConfig, default_instance,
};
pub use error::ServerError;
pub use server::Server;
pub use worker::Workers;
