//! Request and fault counters, reported at `GET /_sandbox/stats`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

use crate::faults::FaultKind;

/// Counts the provider requests the sandbox served and the faults it injected.
///
/// `/_sandbox/*` requests are neither faulted nor counted.
#[derive(Debug, Default)]
pub struct RequestStats {
    total: AtomicU64,
    by_route: Mutex<BTreeMap<String, u64>>,
    faults: [AtomicU64; 8],
}

impl RequestStats {
    /// Counts one request to `route` (its matched path pattern).
    pub fn record_request(&self, method: &str, route: &str) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut by_route = self.by_route.lock().unwrap_or_else(PoisonError::into_inner);
        let key = format!("{method} {route}");
        *by_route.entry(key).or_insert(0) += 1;
    }

    /// Counts one injected fault.
    pub fn record_fault(&self, kind: FaultKind) {
        self.faults[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> RequestCounts {
        let by_kind: BTreeMap<String, u64> = FaultKind::ALL
            .iter()
            .map(|k| {
                (
                    k.label().to_owned(),
                    self.faults[k.index()].load(Ordering::Relaxed),
                )
            })
            .collect();
        // Latency is added on top of other faults, so it is not part of the "faulted requests" total.
        let total_faults = by_kind
            .iter()
            .filter(|(k, _)| k.as_str() != FaultKind::Latency.label())
            .map(|(_, v)| v)
            .sum();
        RequestCounts {
            requests: Requests {
                total: self.total.load(Ordering::Relaxed),
                by_route: self
                    .by_route
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone(),
            },
            faults: Faults {
                total: total_faults,
                by_kind,
            },
        }
    }
}

/// A snapshot of [`RequestStats`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RequestCounts {
    /// Requests served.
    pub requests: Requests,
    /// Faults injected.
    pub faults: Faults,
}

/// Request counters.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Requests {
    /// All provider requests.
    pub total: u64,
    /// Per `"METHOD /route/{pattern}"`.
    pub by_route: BTreeMap<String, u64>,
}

/// Fault counters.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Faults {
    /// Requests that got a status, reset or truncate fault (latency not included).
    pub total: u64,
    /// Per kind label: `500`, `502`, `503`, `429`, `403`, `reset`, `truncate`, `latency`.
    pub by_kind: BTreeMap<String, u64>,
}

impl Faults {
    /// The count for one kind.
    pub fn count(&self, kind: FaultKind) -> u64 {
        self.by_kind.get(kind.label()).copied().unwrap_or(0)
    }
}
