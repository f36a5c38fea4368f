//! Fault injection shared by every simulated provider: what to inject, decided per request from
//! the seed, and the tower middleware that injects it.
//!
//! # Determinism
//!
//! Each request's draw comes from an RNG derived from the seed, the request's method, path and
//! query, and how many times that exact request has been seen before. So a sequential client
//! gets the same faults on every run with the same seed, and a retry of a faulted request gets a
//! fresh draw. Concurrent clients keep that property as long as no two of them send the *same*
//! request at the same time (then which of the two gets which draw depends on arrival order).
//! Changing the fault settings at runtime changes the outcome of later draws, not the draws.

mod config;
mod layer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use axum::response::Response;

pub use self::config::{FaultConfig, parse_duration};
pub use self::layer::FaultLayer;
use crate::core::rng::{SandboxRng, hash_str};
use crate::stats::RequestStats;

/// A kind of injected misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// 500 Internal Server Error.
    Error500,
    /// 502 Bad Gateway.
    Error502,
    /// 503 Service Unavailable.
    Error503,
    /// 429 Too Many Requests with `Retry-After`.
    TooManyRequests,
    /// 403 secondary rate limit with `Retry-After`.
    SecondaryRateLimit,
    /// Connection dropped half-way through the body.
    Reset,
    /// Body cut short, framed as complete.
    Truncate,
    /// Delay before handling.
    Latency,
}

impl FaultKind {
    /// Every kind, in counter order.
    pub const ALL: [FaultKind; 8] = [
        Self::Error500,
        Self::Error502,
        Self::Error503,
        Self::TooManyRequests,
        Self::SecondaryRateLimit,
        Self::Reset,
        Self::Truncate,
        Self::Latency,
    ];

    /// The name used in specs and in `/_sandbox/stats` (`"500"`, `"429"`, `"reset"`, ...).
    pub fn label(self) -> &'static str {
        match self {
            Self::Error500 => "500",
            Self::Error502 => "502",
            Self::Error503 => "503",
            Self::TooManyRequests => "429",
            Self::SecondaryRateLimit => "403",
            Self::Reset => "reset",
            Self::Truncate => "truncate",
            Self::Latency => "latency",
        }
    }

    /// Position in [`FaultKind::ALL`].
    pub fn index(self) -> usize {
        match self {
            Self::Error500 => 0,
            Self::Error502 => 1,
            Self::Error503 => 2,
            Self::TooManyRequests => 3,
            Self::SecondaryRateLimit => 4,
            Self::Reset => 5,
            Self::Truncate => 6,
            Self::Latency => 7,
        }
    }
}

/// How a provider words the error answers the fault layer sends in its name.
pub trait FaultResponder: Send + Sync + 'static {
    /// The complete response for an injected status fault (500/502/503/429/403).
    fn respond(&self, kind: FaultKind, retry_after: Duration) -> Response;
}

/// What the fault layer does to one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultDecision {
    /// The fault to inject, if any (never [`FaultKind::Latency`]).
    pub kind: Option<FaultKind>,
    /// Delay before handling.
    pub latency: Option<Duration>,
    /// Where to cut the body for reset/truncate, as a share of its length in `(0, 1)`.
    pub cut: f64,
}

impl FaultDecision {
    const NONE: Self = Self {
        kind: None,
        latency: None,
        cut: 0.5,
    };
}

/// The current fault settings and the per-request draws; shared by every provider's router.
#[derive(Debug)]
pub struct FaultInjector {
    seed: u64,
    config: RwLock<FaultConfig>,
    seen: Mutex<HashMap<u64, u64>>,
    stats: Arc<RequestStats>,
}

/// Distinct requests remembered for the per-request occurrence count before it starts over.
const MAX_REMEMBERED_REQUESTS: usize = 1 << 20;

impl FaultInjector {
    /// An injector drawing from `seed`, counting into `stats`.
    pub fn new(seed: u64, config: FaultConfig, stats: Arc<RequestStats>) -> Self {
        Self {
            seed,
            config: RwLock::new(config),
            seen: Mutex::new(HashMap::new()),
            stats,
        }
    }

    /// The current settings.
    pub fn config(&self) -> FaultConfig {
        *self.config.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the settings (already validated).
    pub fn set_config(&self, config: FaultConfig) {
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = config;
    }

    /// The counters this injector reports into.
    pub fn stats(&self) -> &RequestStats {
        &self.stats
    }

    /// Draws the fault for a request identified by `method` and `path_and_query`.
    pub fn decide(&self, method: &str, path_and_query: &str) -> FaultDecision {
        let cfg = self.config();
        if cfg.is_quiet() {
            return FaultDecision::NONE;
        }
        let key = hash_str(method) ^ hash_str(path_and_query).rotate_left(17);
        let occurrence = {
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            if seen.len() >= MAX_REMEMBERED_REQUESTS {
                seen.clear();
            }
            let n = seen.entry(key).or_insert(0);
            *n += 1;
            *n - 1
        };
        let mut rng = SandboxRng::derive(self.seed, "fault", &[key, occurrence]);
        let draw = rng.unit();
        let cut = 0.1 + 0.8 * rng.unit();
        let latency = if cfg.latency_max.is_zero() {
            None
        } else {
            let span = cfg.latency_max.saturating_sub(cfg.latency_min).as_micros() as u64;
            Some(cfg.latency_min + Duration::from_micros(rng.below(span + 1)))
        };
        let mut acc = 0.0;
        let mut kind = None;
        for (k, (_, rate)) in FaultKind::ALL.iter().zip(cfg.rates()) {
            acc += rate;
            if draw < acc {
                kind = Some(*k);
                break;
            }
        }
        FaultDecision { kind, latency, cut }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn injector(spec: &str) -> FaultInjector {
        FaultInjector::new(42, spec.parse().unwrap(), Arc::new(RequestStats::default()))
    }

    #[test]
    fn quiet_config_never_faults() {
        let inj = injector("none");
        for _ in 0..100 {
            assert_eq!(inj.decide("GET", "/x"), FaultDecision::NONE);
        }
    }

    #[test]
    fn same_seed_and_requests_give_same_decisions() {
        let a = injector("error=0.3,reset=0.1");
        let b = injector("error=0.3,reset=0.1");
        let da: Vec<_> = (0..200)
            .map(|i| a.decide("GET", &format!("/p?page={}", i % 7)))
            .collect();
        let db: Vec<_> = (0..200)
            .map(|i| b.decide("GET", &format!("/p?page={}", i % 7)))
            .collect();
        assert_eq!(da, db);
        assert!(da.iter().any(|d| d.kind.is_some()) && da.iter().any(|d| d.kind.is_none()));
    }

    #[test]
    fn rates_are_respected_roughly() {
        let inj = injector("429=0.2");
        let n = 5000;
        let hits = (0..n)
            .filter(|_| inj.decide("GET", "/same").kind == Some(FaultKind::TooManyRequests))
            .count();
        let share = hits as f64 / n as f64;
        assert!((0.17..0.23).contains(&share), "share {share}");
    }
}
