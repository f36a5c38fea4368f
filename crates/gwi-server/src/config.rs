//! How the webhook service listens, limits requests and retries processing.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Default largest accepted webhook body: 25 MiB (GitHub's own cap on payloads).
pub const DEFAULT_BODY_LIMIT: usize = 25 * 1024 * 1024;

/// Default cap on the body bytes of all requests being read or stored at once: 64 MiB.
pub const DEFAULT_BODY_BYTES_IN_FLIGHT: usize = 64 * 1024 * 1024;

const DAY: u64 = 24 * 3600;

/// Settings of a [`Server`](crate::Server); `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Address `gwi serve` binds (tests bind their own listener and ignore it).
    pub listen: SocketAddr,
    /// Largest accepted body in bytes; larger deliveries are answered 413 before being read whole.
    pub body_limit: usize,
    /// Longest a webhook request may take, waiting for a slot included; then it is answered 503
    /// (not 408) so the provider retries.
    pub request_timeout: Duration,
    /// Verified webhook requests being stored at once; more wait for a slot (within
    /// `request_timeout`). A request takes its slot only once its signature checks out, so
    /// clients sending slowly hold no slot.
    pub concurrency_limit: usize,
    /// Open connections at once; further clients wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// Longest a client may take to send a request head, and longest an idle keep-alive
    /// connection stays open; then the connection is closed.
    pub header_read_timeout: Duration,
    /// Body bytes of all requests being read or stored at once; a request that would pass it
    /// is answered 503 with `Retry-After`, so forged bodies cannot exhaust memory.
    pub body_bytes_in_flight: usize,
    /// Inbox events processed at once. `0` runs an ingest-only server that stores but never
    /// processes (another process drains the shared store).
    pub workers: usize,
    /// How failed processing is retried and when it is given up.
    pub retry: RetryPolicy,
    /// How often workers look for due events when nothing wakes them (events left by a crash,
    /// retries, events appended by another process).
    pub poll_interval: Duration,
    /// Longest one event's `process_webhook` + commit may take before it counts as a failure.
    pub processing_timeout: Duration,
    /// `Retry-After` sent with a 503 when the store fails.
    pub retry_after: Duration,
    /// On shutdown, how long to wait for in-flight events before abandoning them (they stay
    /// pending in the store and are processed on the next start).
    pub shutdown_timeout: Duration,
    /// How long the bodies of processed and dead-lettered deliveries are kept.
    pub body_retention: Duration,
    /// How long a settled delivery's dedupe key and body hash are kept: within it, a provider's
    /// redelivery or a replayed body is answered as a duplicate.
    pub dedupe_window: Duration,
    /// How often the inbox is pruned by those two.
    pub prune_interval: Duration,
    /// Key that rotated OAuth2 refresh tokens are sealed with in the store, if configured.
    pub token_key: Option<gwi_core::store::TokenKey>,
    /// Whether `/webhooks/{connector}/{tenant}` is served; a single-tenant deployment turns it
    /// off, leaving `/webhooks/{connector}` (and installation routing) only.
    pub tenant_routes: bool,
    /// This process's name in the leases it takes in the store: distinct for each process
    /// sharing a store, and the same across restarts of one, so a restart hands back at once
    /// what the process held when it stopped. Default: [`default_instance`].
    pub instance: String,
    /// How long a lease (a fetched webhook event, a running scheduled sync) lasts unless this
    /// process renews it: how long the work of a process that died waits for another.
    pub lease_ttl: Duration,
    /// How often the scheduler looks for due syncs when none is due sooner (it also learns
    /// here of syncs another process left unfinished).
    pub schedule_tick: Duration,
    /// Scheduled syncs this process runs at once; further due syncs wait for one to end, or
    /// are taken by another process sharing the store.
    pub max_syncs: usize,
}

/// The default instance name for a process listening on `listen`: the host's name and the
/// port, distinct for processes on one host and across hosts.
pub fn default_instance(listen: SocketAddr) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "gwi".to_owned());
    format!("{host}:{}", listen.port())
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            body_limit: DEFAULT_BODY_LIMIT,
            request_timeout: Duration::from_secs(30),
            concurrency_limit: 256,
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            body_bytes_in_flight: DEFAULT_BODY_BYTES_IN_FLIGHT,
            workers: 16,
            retry: RetryPolicy::default(),
            poll_interval: Duration::from_secs(5),
            processing_timeout: Duration::from_secs(60),
            retry_after: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(30),
            body_retention: Duration::from_secs(7 * DAY),
            dedupe_window: Duration::from_secs(30 * DAY),
            prune_interval: Duration::from_secs(3600),
            token_key: None,
            tenant_routes: true,
            instance: default_instance(SocketAddr::from((Ipv4Addr::LOCALHOST, 8080))),
            lease_ttl: gwi_core::store::LEASE_TTL,
            schedule_tick: Duration::from_secs(5),
            max_syncs: 4,
        }
    }
}

/// Exponential backoff for events whose processing failed, then the dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per event, the first included; the last failure dead-letters it.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubled for each further one.
    pub initial_backoff: Duration,
    /// Cap on any single wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(15 * 60),
        }
    }
}

impl RetryPolicy {
    /// The wait after the `failures`-th failed attempt, or `None` when the event should be
    /// dead-lettered instead.
    pub fn backoff_after(&self, failures: u32) -> Option<Duration> {
        if failures == 0 || failures >= self.max_attempts {
            return None;
        }
        let doublings = (failures - 1).min(31);
        let wait = self
            .initial_backoff
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max_backoff);
        Some(wait.min(self.max_backoff))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_then_gives_up() {
        let policy = RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5),
        };
        let waits: Vec<_> = (1..=5).map(|n| policy.backoff_after(n)).collect();
        assert_eq!(
            waits,
            vec![
                Some(Duration::from_secs(1)),
                Some(Duration::from_secs(2)),
                Some(Duration::from_secs(4)),
                Some(Duration::from_secs(5)),
                None,
            ]
        );
    }

    #[test]
    fn one_attempt_means_no_retry() {
        let policy = RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        };
        assert_eq!(policy.backoff_after(1), None);
    }

    #[test]
    fn huge_failure_counts_do_not_overflow() {
        let policy = RetryPolicy {
            max_attempts: u32::MAX,
            initial_backoff: Duration::from_secs(u64::MAX / 2),
            max_backoff: Duration::from_secs(60),
        };
        assert_eq!(policy.backoff_after(40), Some(Duration::from_secs(60)));
    }

    #[test]
    fn defaults_match_the_documentation() {
        let config = ServerConfig::default();
        assert_eq!(config.body_limit, 25 * 1024 * 1024);
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    }
}
