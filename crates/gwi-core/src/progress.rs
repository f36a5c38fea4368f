//! Live counters of a running sync, shared by the HTTP layer, the paginator and the engine.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters a sync updates as it goes; the CLI reads a [`ProgressSnapshot`] to draw progress.
#[derive(Debug, Default)]
pub struct Progress {
    records: AtomicU64,
    pages: AtomicU64,
    requests: AtomicU64,
    retries: AtomicU64,
    rate_limit_waits: AtomicU64,
    rate_limit_wait_ms: AtomicU64,
    total_hint: AtomicU64,
}

/// A point-in-time copy of [`Progress`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProgressSnapshot {
    /// Records committed or emitted.
    pub records: u64,
    /// Pages fetched.
    pub pages: u64,
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Requests that were retries.
    pub retries: u64,
    /// Times a request waited for a rate limit.
    pub rate_limit_waits: u64,
    /// Total milliseconds spent waiting for rate limits.
    pub rate_limit_wait_ms: u64,
    /// Records the provider says exist (0 when unknown), for an ETA.
    pub total_hint: u64,
}

impl Progress {
    /// Adds `n` records.
    pub fn add_records(&self, n: u64) {
        self.records.fetch_add(n, Ordering::Relaxed);
    }
    /// Counts one fetched page.
    pub fn add_page(&self) {
        self.pages.fetch_add(1, Ordering::Relaxed);
    }
    /// Counts one request sent; `retry` when it repeats an earlier attempt.
    pub fn add_request(&self, retry: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if retry {
            self.retries.fetch_add(1, Ordering::Relaxed);
        }
    }
    /// Counts one wait for a rate limit.
    pub fn add_rate_limit_wait(&self, wait: std::time::Duration) {
        self.rate_limit_waits.fetch_add(1, Ordering::Relaxed);
        self.rate_limit_wait_ms.fetch_add(
            u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
    /// Adds to the expected total of records.
    pub fn add_total_hint(&self, n: u64) {
        self.total_hint.fetch_add(n, Ordering::Relaxed);
    }
    /// Reads all counters.
    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            records: self.records.load(Ordering::Relaxed),
            pages: self.pages.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            rate_limit_waits: self.rate_limit_waits.load(Ordering::Relaxed),
            rate_limit_wait_ms: self.rate_limit_wait_ms.load(Ordering::Relaxed),
            total_hint: self.total_hint.load(Ordering::Relaxed),
        }
    }
}
