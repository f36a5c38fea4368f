//! Proactive rate limiting: pacing per connector and credential, plus the provider's own signals.
//!
//! A [`RateLimiter`] combines three gates, checked before every attempt:
//! 1. a *pause*: nobody sends until a `Retry-After` or rate-limit reset has passed;
//! 2. a *spread*: when `X-RateLimit-Remaining` runs low, the requests left are spread evenly over
//!    the time until the reset, so a long sync slows down instead of hitting the wall;
//! 3. *pacing* with `governor`, sized from the connector's documented budget or the config.
//!
//! One limiter is shared by every clone of an [`ApiClient`](crate::http::ApiClient) and by every
//! client built for the same connector and credential in this process (see [`RateLimiter::shared`]),
//! so concurrent streams draw from one budget, as the provider counts them.
//!
//! Processes that share a store share one budget too, once a limiter is told to
//! ([`RateLimiter::share_through`]): pacing then draws requests from a token bucket in the store
//! (a few at a time, so a request rarely waits on the store), and a pause the provider demands
//! is written there for every process to honour. If the store stops answering, the process paces
//! alone until it answers again.
//!
//! Time is read from tokio's clock, so tests with paused time drive the limiter virtually.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{NotUntil, Quota};
use http::HeaderMap;

use serde::Serialize;

use crate::config::HttpSettings;
use crate::connector::RateLimits;
use crate::http::headers;
use crate::store::Store;

/// How long requests drawn from a shared budget may wait to be sent, and the most a process
/// draws at a time: this long at the budget's rate, or a 64th of its burst if more (at least
/// one, at most the burst), so a busy process pays a store round trip per several requests.
const SHARED_DRAW: Duration = Duration::from_millis(250);
/// A shared budget whose store failed is left alone this long before it is tried again.
const SHARED_RETRY: Duration = Duration::from_secs(5);
/// Longest a draw from the shared budget may take; a store slower than this counts as failing.
const SHARED_TIMEOUT: Duration = Duration::from_secs(1);

/// With no `X-RateLimit-Limit` to take a fraction of, this many remaining requests counts as low.
const LOW_REMAINING_WITHOUT_LIMIT: u64 = 10;

/// governor's clock, reading tokio's time so paused-time tests advance it.
#[derive(Debug, Clone, Copy, Default)]
struct TokioClock;

impl Clock for TokioClock {
    type Instant = std::time::Instant;
    fn now(&self) -> std::time::Instant {
        tokio::time::Instant::now().into_std()
    }
}

type Pacer =
    governor::RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<std::time::Instant>>;

/// How a [`RateLimiter`] paces; built from [`HttpSettings`] and the connector's [`RateLimits`].
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitConfig {
    /// Sustained requests per second; `None` sends as fast as the provider allows.
    pub requests_per_second: Option<f64>,
    /// Requests allowed back to back before pacing starts.
    pub burst: u32,
    /// Fraction of the window's limit below which the remaining requests are spread out.
    pub slow_down_below: f64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            requests_per_second: None,
            burst: 1,
            slow_down_below: 0.1,
        }
    }
}

impl RateLimitConfig {
    /// The config's rate if set, else the connector's documented budget.
    ///
    /// An hourly budget is a window, not a pace: the limiter lets the whole budget go back to back
    /// and refills it at budget/3600 per second, so a 5000/hour provider is not throttled to
    /// 1.4 requests/s while it still has 5000 requests left. The provider's remaining/reset headers
    /// spread the tail of the window.
    pub fn from_settings(settings: &HttpSettings, limits: &RateLimits) -> Self {
        let burst = settings.burst.max(1);
        // With both a pace and an hourly budget, the pace is enforced here and the window by the
        // provider's remaining/reset headers.
        let (requests_per_second, burst) = match (settings.requests_per_second, limits) {
            (Some(rate), _) => (Some(rate), burst),
            (
                None,
                RateLimits {
                    requests_per_second: Some(rate),
                    ..
                },
            ) => (Some(*rate), burst),
            (
                None,
                RateLimits {
                    requests_per_hour: Some(hourly),
                    ..
                },
            ) => (Some(f64::from(*hourly) / 3600.0), burst.max(*hourly)),
            (None, _) => (None, burst),
        };
        Self {
            requests_per_second,
            burst,
            slow_down_below: settings.slow_down_below,
        }
    }

    fn quota(&self) -> Option<Quota> {
        let rate = self
            .requests_per_second
            .filter(|r| r.is_finite() && *r > 0.0)?;
        let period = Duration::try_from_secs_f64(1.0 / rate).ok()?;
        let burst = NonZeroU32::new(self.burst.max(1))?;
        Some(Quota::with_period(period)?.allow_burst(burst))
    }
}

/// A budget of its own for one group of a provider's endpoints, paced beside the connector's
/// budget: Slack counts each Web API method apart, in tiers (`conversations.history` at about 50
/// requests a minute, `users.list` at about 20).
///
/// A request joins a bucket with [`HttpRequest::in_bucket`](crate::http::HttpRequest::in_bucket).
/// The whole minute's budget may go back to back and refills evenly, as the provider counts a
/// window; a `Retry-After` on a bucket's request pauses that bucket only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateBucket {
    /// The bucket's name, as requests name it (`conversations.history`).
    pub name: &'static str,
    /// Requests a minute the provider allows this bucket.
    pub requests_per_minute: u32,
}

impl RateBucket {
    /// A bucket of `requests_per_minute`.
    pub fn per_minute(name: &'static str, requests_per_minute: u32) -> Self {
        Self {
            name,
            requests_per_minute,
        }
    }

    /// The pacing of this bucket: its minute as a window.
    pub(crate) fn config(&self) -> RateLimitConfig {
        let per_minute = self.requests_per_minute.max(1);
        RateLimitConfig {
            requests_per_second: Some(f64::from(per_minute) / 60.0),
            burst: per_minute,
            ..RateLimitConfig::default()
        }
    }
}

/// Identifies whose budget a limiter guards: a connector and one credential.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateLimitKey {
    /// Connector name.
    pub connector: String,
    /// [`credential_fingerprint`] of the credential (never the credential itself).
    pub credential: u64,
}

/// A non-secret, per-process fingerprint of a credential, to key rate limiters by it.
///
/// Keyed with a random per-process seed, so it cannot be compared across processes or used to
/// guess a low-entropy secret; it is never logged or stored.
pub fn credential_fingerprint(secret: &[u8]) -> u64 {
    static SEED: LazyLock<std::collections::hash_map::RandomState> =
        LazyLock::new(std::collections::hash_map::RandomState::new);
    SEED.hash_one(secret)
}

/// How long [`RateLimiter::acquire`] waited, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Waited {
    /// Proactive pacing (our budget, or spreading a low remaining budget).
    pub paced: Duration,
    /// A pause the provider demanded (`Retry-After`, reset with nothing left).
    pub paused: Duration,
}

/// Paces requests for one connector+credential; see the [module docs](self).
#[derive(Debug)]
pub struct RateLimiter {
    pacer: Option<Pacer>,
    slow_down_below: f64,
    /// The zero of the nanosecond timestamps below.
    base: tokio::time::Instant,
    /// Nobody sends before this (nanos since `base`; 0 = no pause).
    paused_until: AtomicU64,
    /// Minimum gap between requests while the remaining budget is low (nanos; 0 = off).
    spread_interval: AtomicU64,
    /// The spread ends here: the provider's window resets.
    spread_until: AtomicU64,
    /// The next free send slot while spreading.
    next_slot: AtomicU64,
    /// The pace it was built with, for a shared budget to use.
    config: RateLimitConfig,
    /// The budget in a store that other processes draw from too, once set.
    shared: OnceLock<SharedBudget>,
}

/// A limiter's budget kept in a store, shared by every process using the same key.
struct SharedBudget {
    store: Arc<dyn Store>,
    key: String,
    rate: f64,
    burst: u32,
    /// The most requests to draw at a time.
    draw: u32,
    /// What this process drew last; held while drawing more, so one task of this process asks
    /// the store at a time.
    drawn: tokio::sync::Mutex<Drawn>,
    /// While the store fails: when to try it again (nanos since the limiter's base; 0 = fine).
    failing_until: AtomicU64,
}

/// Requests drawn from a shared budget and not yet sent.
///
/// They last [`SHARED_DRAW`]: kept longer, they would be sent through a pause another process
/// has since written, or on top of a refilled bucket. What expires unsent is lost to every
/// process, so a draw is sized by what the last one used: it doubles (up to the most) when the
/// last was used up in time and shrinks to what was used when it was not.
struct Drawn {
    left: u32,
    at: tokio::time::Instant,
    size: u32,
}

impl std::fmt::Debug for SharedBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedBudget")
            .field("key", &self.key)
            .field("rate", &self.rate)
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(&RateLimitConfig::default())
    }
}

impl RateLimiter {
    /// A limiter pacing to `config`; with no rate it only honours the provider's signals.
    pub fn new(config: &RateLimitConfig) -> Self {
        Self {
            pacer: config
                .quota()
                .map(|quota| governor::RateLimiter::direct_with_clock(quota, TokioClock)),
            slow_down_below: config.slow_down_below.clamp(0.0, 1.0),
            base: tokio::time::Instant::now(),
            paused_until: AtomicU64::new(0),
            spread_interval: AtomicU64::new(0),
            spread_until: AtomicU64::new(0),
            next_slot: AtomicU64::new(0),
            config: config.clone(),
            shared: OnceLock::new(),
        }
    }

    /// Draws this limiter's pace from the budget `key` in `store`, which every process sharing
    /// the store and key draws from too, and shares the provider's pauses through it. Only a
    /// limiter with a rate has a budget to share (else only pauses would be, and they are not
    /// worth a store read per request); the first call wins. Returns whether the budget is shared.
    pub fn share_through(&self, store: Arc<dyn Store>, key: impl Into<String>) -> bool {
        let Some(rate) = self
            .config
            .requests_per_second
            .filter(|r| r.is_finite() && *r > 0.0)
        else {
            return false;
        };
        let burst = self.config.burst.max(1);
        // A large burst (an hourly budget) is drawn in larger steps, so a fast sync does not
        // wait on the store for every request of it.
        let draw = (rate * SHARED_DRAW.as_secs_f64())
            .max(f64::from(burst) / 64.0)
            .ceil()
            .clamp(1.0, f64::from(burst)) as u32;
        let budget = SharedBudget {
            store,
            key: key.into(),
            rate,
            burst,
            draw,
            drawn: tokio::sync::Mutex::new(Drawn {
                left: 0,
                at: tokio::time::Instant::now(),
                size: 0,
            }),
            failing_until: AtomicU64::new(0),
        };
        // A second call keeps the first budget: one limiter has one.
        let _ = self.shared.set(budget);
        true
    }

    /// The process-wide limiter for `key`, created from `config` if none is alive.
    ///
    /// The first client for a key sets its pace; later ones share it as it is.
    pub fn shared(key: RateLimitKey, config: &RateLimitConfig) -> Arc<Self> {
        static SHARED: LazyLock<Mutex<HashMap<RateLimitKey, Weak<RateLimiter>>>> =
            LazyLock::new(Default::default);
        let mut map = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(limiter) = map.get(&key).and_then(Weak::upgrade) {
            return limiter;
        }
        map.retain(|_, limiter| limiter.strong_count() > 0);
        let limiter = Arc::new(Self::new(config));
        map.insert(key, Arc::downgrade(&limiter));
        limiter
    }

    /// Whether this limiter paces proactively (a rate is configured).
    pub fn is_pacing(&self) -> bool {
        self.pacer.is_some()
    }

    /// Waits until a request may be sent.
    ///
    /// Fails with the wait it would need when a provider pause or spread slot lies further than
    /// `max_wait` ahead: the caller reports that instead of sleeping for it.
    pub async fn acquire(&self, max_wait: Duration) -> Result<Waited, Duration> {
        let mut waited = Waited::default();
        loop {
            let until = self.paused_until.load(Ordering::Acquire);
            if until == 0 {
                break;
            }
            let now = self.now_nanos();
            if until <= now {
                break;
            }
            let wait = Duration::from_nanos(until - now);
            if wait > max_wait {
                return Err(wait);
            }
            tokio::time::sleep(wait).await;
            waited.paused += wait;
        }

        let interval = self.spread_interval.load(Ordering::Acquire);
        if interval != 0 {
            let now = self.now_nanos();
            if now >= self.spread_until.load(Ordering::Acquire) {
                // The window has reset: the budget is full again.
                let _ = self.spread_interval.compare_exchange(
                    interval,
                    0,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                );
            } else {
                let previous = self
                    .next_slot
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |slot| {
                        Some(slot.max(now).saturating_add(interval))
                    })
                    .unwrap_or_else(|slot| slot);
                let slot = previous.max(now);
                if slot > now {
                    let wait = Duration::from_nanos(slot - now);
                    if wait > max_wait {
                        return Err(wait);
                    }
                    tokio::time::sleep(wait).await;
                    waited.paced += wait;
                }
            }
        }

        if let Some(shared) = self.shared.get()
            && self.draw_shared(shared, max_wait, &mut waited).await?
        {
            return Ok(waited);
        }
        if let Some(pacer) = &self.pacer {
            loop {
                match pacer.check() {
                    Ok(()) => break,
                    Err(not_until) => {
                        let wait = wait_time(&not_until);
                        tokio::time::sleep(wait).await;
                        waited.paced += wait;
                    }
                }
            }
        }
        Ok(waited)
    }

    /// Takes one request from the shared budget, waiting for it (or for a shared pause);
    /// `Ok(false)` when the store cannot be used now, so the process paces alone.
    async fn draw_shared(
        &self,
        shared: &SharedBudget,
        max_wait: Duration,
        waited: &mut Waited,
    ) -> Result<bool, Duration> {
        let mut drawn = shared.drawn.lock().await;
        loop {
            if drawn.left > 0 && drawn.at.elapsed() < SHARED_DRAW {
                drawn.left -= 1;
                return Ok(true);
            }
            let want = if drawn.left > 0 {
                (drawn.size - drawn.left).max(1)
            } else {
                drawn.size.saturating_mul(2).clamp(1, shared.draw)
            };
            let retry_at = shared.failing_until.load(Ordering::Acquire);
            if retry_at != 0 && self.now_nanos() < retry_at {
                return Ok(false);
            }
            let draw = shared
                .store
                .take_budget(&shared.key, want, shared.rate, shared.burst);
            let grant = match tokio::time::timeout(SHARED_TIMEOUT, draw).await {
                Ok(Ok(grant)) => {
                    shared.failing_until.store(0, Ordering::Release);
                    grant
                }
                failed => {
                    if retry_at == 0 {
                        let why = match failed {
                            Ok(Err(e)) => e.to_string(),
                            _ => format!("no answer within {SHARED_TIMEOUT:?}"),
                        };
                        tracing::warn!(
                            budget = %shared.key,
                            "cannot draw from the shared rate budget, pacing this process alone: {why}"
                        );
                    }
                    let again = self.now_nanos().saturating_add(nanos(SHARED_RETRY));
                    shared.failing_until.store(again.max(1), Ordering::Release);
                    return Ok(false);
                }
            };
            if grant.granted > 0 {
                *drawn = Drawn {
                    left: grant.granted,
                    at: tokio::time::Instant::now(),
                    size: grant.granted,
                };
                continue;
            }
            let (wait, paused) = if grant.paused_for.is_zero() {
                (grant.wait, false)
            } else {
                (grant.paused_for, true)
            };
            if paused {
                // Another process saw the provider's pause: hold this process's other budgets'
                // requests too.
                self.hold_for(wait);
                if wait > max_wait {
                    return Err(wait);
                }
            }
            tokio::time::sleep(wait).await;
            if paused {
                waited.paused += wait;
            } else {
                waited.paced += wait;
            }
        }
    }

    /// Holds every caller until `wait` from now has passed (a pause is only ever lengthened),
    /// in every process sharing this limiter's budget.
    pub fn pause_for(&self, wait: Duration) {
        if wait.is_zero() {
            return;
        }
        self.hold_for(wait);
        if let Some(shared) = self.shared.get()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let store = shared.store.clone();
            let key = shared.key.clone();
            runtime.spawn(async move {
                if let Err(e) = store.pause_budget(&key, wait).await {
                    tracing::warn!(budget = %key, "cannot share the provider's pause with other processes: {e}");
                }
            });
        }
    }

    /// Holds this process's callers until `wait` from now has passed.
    fn hold_for(&self, wait: Duration) {
        let until = self.now_nanos().saturating_add(nanos(wait));
        self.paused_until.fetch_max(until, Ordering::AcqRel);
    }

    /// Learns from a response's rate-limit headers: spread a low budget, pause when none is left.
    /// With a query-cost budget beside the request budget (Linear's complexity points), the one
    /// nearer its end governs.
    pub fn observe(&self, headers: &HeaderMap) {
        let now = SystemTime::now();
        let requests = headers::remaining(headers).map(|remaining| headers::CostWindow {
            remaining,
            limit: headers::limit(headers),
            reset_in: headers::reset_in(headers, now),
        });
        let fraction = |w: &headers::CostWindow| {
            w.limit
                .filter(|l| *l > 0)
                .map_or(f64::INFINITY, |l| w.remaining as f64 / l as f64)
        };
        let window = match (requests, headers::cost_window(headers, now)) {
            (Some(r), Some(c)) if fraction(&c) < fraction(&r) => c,
            (Some(r), _) => r,
            (None, Some(c)) => c,
            (None, None) => return,
        };
        self.follow(window);
    }

    fn follow(&self, window: headers::CostWindow) {
        let remaining = window.remaining;
        let low = match window.limit {
            Some(limit) => (remaining as f64) <= (limit as f64) * self.slow_down_below,
            None => remaining <= LOW_REMAINING_WITHOUT_LIMIT,
        };
        if !low {
            if self.spread_interval.load(Ordering::Relaxed) != 0 {
                self.spread_interval.store(0, Ordering::Release);
            }
            return;
        }
        let Some(reset_in) = window.reset_in else {
            return;
        };
        if remaining == 0 {
            self.pause_for(reset_in);
            return;
        }
        let interval = nanos(reset_in) / remaining;
        self.spread_until.store(
            self.now_nanos().saturating_add(nanos(reset_in)),
            Ordering::Release,
        );
        self.spread_interval.store(interval, Ordering::Release);
    }

    fn now_nanos(&self) -> u64 {
        nanos(tokio::time::Instant::now().saturating_duration_since(self.base))
    }
}

fn wait_time(not_until: &NotUntil<std::time::Instant>) -> Duration {
    not_until.wait_time_from(TokioClock.now())
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use tokio::time::Instant;

    #[test]
    fn an_hourly_budget_may_be_spent_back_to_back() {
        let hourly = RateLimits {
            requests_per_second: None,
            requests_per_hour: Some(5000),
        };
        let config = RateLimitConfig::from_settings(&HttpSettings::default(), &hourly);
        assert_eq!(config.burst, 5000);
        let rate = config.requests_per_second.unwrap();
        assert!((rate - 5000.0 / 3600.0).abs() < 1e-9);
        let per_second = RateLimits {
            requests_per_second: Some(10.0),
            requests_per_hour: Some(5000),
        };
        let config = RateLimitConfig::from_settings(&HttpSettings::default(), &per_second);
        assert_eq!((config.requests_per_second, config.burst), (Some(10.0), 1));
    }

    fn config(rps: f64) -> RateLimitConfig {
        RateLimitConfig {
            requests_per_second: Some(rps),
            ..RateLimitConfig::default()
        }
    }

    /// The most requests any window of `window` length (starting at a request) contains.
    fn max_in_window(times: &mut [Instant], window: Duration) -> usize {
        times.sort();
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| **t - times[i] < window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[tokio::test(start_paused = true)]
    async fn paces_concurrent_callers_to_the_configured_rate() {
        let limiter = Arc::new(RateLimiter::new(&config(10.0)));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let limiter = limiter.clone();
            tasks.push(tokio::spawn(async move {
                let mut times = Vec::new();
                for _ in 0..25 {
                    limiter.acquire(Duration::from_secs(60)).await.unwrap();
                    times.push(Instant::now());
                }
                times
            }));
        }
        let mut times = Vec::new();
        for task in tasks {
            times.extend(task.await.unwrap());
        }
        assert_eq!(times.len(), 100);
        assert!(max_in_window(&mut times, Duration::from_secs(1)) <= 10);
        assert!(Instant::now() - start >= Duration::from_millis(9_900));
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_rate_nothing_waits() {
        let limiter = RateLimiter::default();
        let start = Instant::now();
        for _ in 0..1000 {
            let waited = limiter.acquire(Duration::ZERO).await.unwrap();
            assert_eq!(waited, Waited::default());
        }
        assert_eq!(Instant::now(), start);
        assert!(!limiter.is_pacing());
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_callers_until_it_ends() {
        let limiter = RateLimiter::default();
        limiter.pause_for(Duration::from_secs(3));
        let start = Instant::now();
        let waited = limiter.acquire(Duration::from_secs(60)).await.unwrap();
        assert_eq!(waited.paused, Duration::from_secs(3));
        assert!(Instant::now() - start >= Duration::from_secs(3));
        // Once over, the pause costs nothing.
        let waited = limiter.acquire(Duration::from_secs(60)).await.unwrap();
        assert_eq!(waited, Waited::default());
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_is_never_shortened() {
        let limiter = RateLimiter::default();
        limiter.pause_for(Duration::from_secs(10));
        limiter.pause_for(Duration::from_secs(1));
        let waited = limiter.acquire(Duration::from_secs(60)).await.unwrap();
        assert_eq!(waited.paused, Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_longer_than_max_wait_fails_at_once() {
        let limiter = RateLimiter::default();
        limiter.pause_for(Duration::from_secs(3600));
        let start = Instant::now();
        let err = limiter.acquire(Duration::from_secs(60)).await.unwrap_err();
        assert_eq!(err, Duration::from_secs(3600));
        assert_eq!(Instant::now(), start);
    }

    fn rate_headers(remaining: u64, limit: u64, reset_in_secs: u64) -> HeaderMap {
        let reset = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + reset_in_secs;
        let mut map = HeaderMap::new();
        map.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
        map.insert("x-ratelimit-limit", HeaderValue::from(limit));
        map.insert("x-ratelimit-reset", HeaderValue::from(reset));
        map
    }

    #[tokio::test(start_paused = true)]
    async fn low_remaining_spreads_requests_until_the_reset() {
        let limiter = RateLimiter::default();
        // 5 left of 100 with ~100s to go: about one request every 20s.
        limiter.observe(&rate_headers(5, 100, 100));
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire(Duration::from_secs(600)).await.unwrap();
        }
        let elapsed = Instant::now() - start;
        assert!(elapsed >= Duration::from_secs(30), "{elapsed:?}");
        assert!(elapsed <= Duration::from_secs(41), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn plenty_remaining_does_not_slow_down() {
        let limiter = RateLimiter::default();
        limiter.observe(&rate_headers(5, 100, 100));
        limiter.observe(&rate_headers(90, 100, 100));
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire(Duration::from_secs(600)).await.unwrap();
        }
        assert_eq!(Instant::now(), start);
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_remaining_pauses_until_the_reset() {
        let limiter = RateLimiter::default();
        limiter.observe(&rate_headers(0, 100, 30));
        let waited = limiter.acquire(Duration::from_secs(600)).await.unwrap();
        assert!(waited.paused >= Duration::from_secs(29), "{waited:?}");
        assert!(waited.paused <= Duration::from_secs(31), "{waited:?}");
    }

    #[tokio::test]
    async fn the_same_key_shares_one_limiter() {
        let key = |credential| RateLimitKey {
            connector: "rate-limit-share-test".into(),
            credential,
        };
        let a = RateLimiter::shared(key(1), &config(5.0));
        let b = RateLimiter::shared(key(1), &config(5.0));
        let c = RateLimiter::shared(key(2), &config(5.0));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }

    #[test]
    fn fingerprints_tell_credentials_apart() {
        assert_eq!(credential_fingerprint(b"a"), credential_fingerprint(b"a"));
        assert_ne!(credential_fingerprint(b"a"), credential_fingerprint(b"b"));
    }

    #[test]
    fn config_prefers_settings_over_metadata() {
        let limits = RateLimits {
            requests_per_second: Some(2.0),
            requests_per_hour: None,
        };
        let from_metadata = RateLimitConfig::from_settings(&HttpSettings::default(), &limits);
        assert_eq!(from_metadata.requests_per_second, Some(2.0));
        let settings = HttpSettings {
            requests_per_second: Some(7.0),
            ..HttpSettings::default()
        };
        let from_settings = RateLimitConfig::from_settings(&settings, &limits);
        assert_eq!(from_settings.requests_per_second, Some(7.0));
    }

    #[test]
    fn a_zero_or_invalid_rate_means_no_pacing() {
        assert!(!RateLimiter::new(&config(0.0)).is_pacing());
        assert!(!RateLimiter::new(&config(f64::NAN)).is_pacing());
        assert!(RateLimiter::new(&config(0.5)).is_pacing());
    }
}
