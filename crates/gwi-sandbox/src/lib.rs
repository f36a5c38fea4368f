//! Local simulated provider APIs with fault injection and a signed-webhook sender.
//!
//! `gwi sandbox` (and [`Sandbox::start`] in tests) serves provider APIs that behave closely enough
//! like the real ones that a connector cannot tell, given the sandbox's URL as its `base_url`:
//!
//! - **GitHub REST** at `/` and at `/api/v3` (GitHub Enterprise Server shape); see [`github`].
//! - **Data** generated from a seed, sized by a scale, and mutable over time
//!   (`POST /_sandbox/mutate`), with expected record counts at `GET /_sandbox/stats` and
//!   [`SandboxHandle::github`].
//! - **Faults** (429, 403 secondary rate limit, 500/502/503, connection reset mid-body, truncated
//!   JSON, latency), drawn per request from the seed; see [`faults`].
//! - **Tokens**: by default any token starting with `gwi-sandbox` (e.g. `gwi-sandbox-token`) is
//!   accepted; [`SandboxConfig::tokens`] can list exact tokens instead.
//! - **Webhooks**: [`send_webhooks`] sends signed deliveries built from the same data.
//!
//! ```no_run
//! # async fn demo() -> Result<(), gwi_sandbox::SandboxError> {
//! use gwi_sandbox::{Sandbox, SandboxConfig};
//! let sandbox = Sandbox::start(SandboxConfig { seed: 7, ..SandboxConfig::default() }).await?;
//! let counts = sandbox.github().counts();
//! println!("{} serves {} pull requests", sandbox.base_url(), counts.total.pulls);
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Adding a provider: implement [`Provider`] in its own module (routes at the provider's real
//! paths, a [`faults::FaultResponder`] for its error wording, counts, mutations) and list it in
//! the server's providers; the fault layer, pagination helpers, clock and caches in [`core`] are
//! shared.

pub mod config;
mod control;
pub mod core;
pub mod error;
pub mod faults;
pub mod github;
pub mod provider;
mod server;
pub mod stats;
pub mod webhook;

pub use config::SandboxConfig;
pub use core::auth::{DEFAULT_TOKEN_PREFIX, TokenPolicy};
pub use core::rate_limit::RateLimitConfig;
pub use error::SandboxError;
pub use faults::{FaultConfig, FaultKind};
pub use github::{GitHubCounts, RepoCounts};
pub use provider::{Change, ChangeAction, MutationReport, Provider};
pub use server::{Sandbox, SandboxHandle, SandboxStats};
pub use webhook::{
    DeliveryResult, SendOptions, SendReport, WebhookProvider, github_signature, send_webhooks,
};
