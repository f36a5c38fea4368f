//! The primary rate limit a simulated API reports (and enforces) in its `X-RateLimit-*` headers.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::time::{Secs, now_secs};

/// How many requests a token may make per window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateLimitConfig {
    /// Requests allowed per window (GitHub: 5000 per hour for a user token).
    pub limit: u64,
    /// Window length; the count resets when it ends.
    #[serde(with = "secs")]
    pub window: Duration,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            limit: 5000,
            window: Duration::from_secs(3600),
        }
    }
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

/// The numbers behind the `X-RateLimit-*` headers at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RateLimitStatus {
    /// Requests allowed per window.
    pub limit: u64,
    /// Requests left in this window.
    pub remaining: u64,
    /// Requests used in this window.
    pub used: u64,
    /// When the window resets (Unix seconds).
    pub reset: Secs,
}

/// Counts requests per window.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    state: Mutex<(Secs, u64)>,
}

impl RateLimiter {
    /// A limiter whose first window starts now.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            config,
            state: Mutex::new((now_secs(), 0)),
        }
    }

    /// Counts one request: `Ok` with the status after it, or `Err` when the window is used up.
    pub fn consume(&self) -> Result<RateLimitStatus, RateLimitStatus> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.roll(&mut state);
        if state.1 >= self.config.limit {
            return Err(self.status(&state));
        }
        state.1 += 1;
        Ok(self.status(&state))
    }

    /// The status without counting a request (what `/rate_limit` reports).
    pub fn peek(&self) -> RateLimitStatus {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.roll(&mut state);
        self.status(&state)
    }

    fn roll(&self, state: &mut (Secs, u64)) {
        let window = self.config.window.as_secs().max(1) as Secs;
        let now = now_secs();
        if now >= state.0 + window {
            *state = (now, 0);
        }
    }

    fn status(&self, state: &(Secs, u64)) -> RateLimitStatus {
        RateLimitStatus {
            limit: self.config.limit,
            remaining: self.config.limit.saturating_sub(state.1),
            used: state.1,
            reset: state.0 + self.config.window.as_secs().max(1) as Secs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_once_the_window_is_used_up() {
        let rl = RateLimiter::new(RateLimitConfig {
            limit: 2,
            window: Duration::from_secs(3600),
        });
        assert_eq!(rl.consume().map(|s| s.remaining), Ok(1));
        assert_eq!(rl.consume().map(|s| s.remaining), Ok(0));
        let refused = rl.consume();
        assert!(matches!(refused, Err(s) if s.remaining == 0 && s.used == 2));
        assert_eq!(rl.peek().used, 2);
    }
}
