//! What a sandbox serves and how it misbehaves.

use std::net::{IpAddr, Ipv4Addr};

use crate::core::auth::TokenPolicy;
use crate::core::rate_limit::RateLimitConfig;
use crate::faults::FaultConfig;

/// Settings for [`Sandbox::start`](crate::Sandbox::start).
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Address to listen on (default 127.0.0.1: the sandbox is a local tool).
    pub bind: IpAddr,
    /// Port to listen on; 0 picks a free one (read it back from the handle).
    pub port: u16,
    /// Seed for the generated data, mutations and fault draws.
    pub seed: u64,
    /// Data size multiplier: at scale N each repository holds about N times the scale-1 records.
    pub scale: u32,
    /// Fault rates and latency at start (changeable at runtime via `POST /_sandbox/faults`).
    pub faults: FaultConfig,
    /// Accepted API tokens (default: any token starting with `gwi-sandbox`).
    pub tokens: TokenPolicy,
    /// The primary rate limit reported in `X-RateLimit-*` and enforced (default 5000 per hour).
    pub rate_limit: RateLimitConfig,
    /// The providers to serve, by name (see [`PROVIDERS`](crate::PROVIDERS)); empty serves all.
    pub providers: Vec<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            seed: 1,
            scale: 1,
            faults: FaultConfig::none(),
            tokens: TokenPolicy::default(),
            rate_limit: RateLimitConfig::default(),
            providers: Vec::new(),
        }
    }
}
