//! Which API tokens the sandbox accepts.

use std::fmt;

use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::rate_limit::{RateLimitConfig, RateLimitStatus, RateLimiter};

/// The prefix every token must start with under the default policy.
pub const DEFAULT_TOKEN_PREFIX: &str = "gwi-sandbox";

/// Which bearer tokens the simulated APIs accept.
#[derive(Clone)]
pub enum TokenPolicy {
    /// Any token starting with this prefix (default: `gwi-sandbox`, e.g. `gwi-sandbox-token`).
    Prefix(String),
    /// Exactly these tokens.
    Exact(Vec<SecretString>),
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self::Prefix(DEFAULT_TOKEN_PREFIX.to_owned())
    }
}

impl fmt::Debug for TokenPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Prefix(p) => f.debug_tuple("Prefix").field(p).finish(),
            Self::Exact(t) => write!(f, "Exact([{} redacted])", t.len()),
        }
    }
}

impl TokenPolicy {
    /// A policy accepting exactly `tokens`.
    pub fn exact<I, S>(tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::Exact(
            tokens
                .into_iter()
                .map(|t| SecretString::from(t.into()))
                .collect(),
        )
    }

    /// Whether `token` is accepted (compared in constant time for exact tokens).
    pub fn accepts(&self, token: &str) -> bool {
        match self {
            Self::Prefix(p) => token.starts_with(p.as_str()) && !token.is_empty(),
            Self::Exact(tokens) => tokens.iter().fold(false, |ok, t| {
                ok | bool::from(t.expose_secret().as_bytes().ct_eq(token.as_bytes()))
            }),
        }
    }

    /// A token this policy accepts, to show a user (`None` when the tokens are secret).
    pub fn example(&self) -> Option<String> {
        match self {
            Self::Prefix(p) => Some(format!("{p}-token")),
            Self::Exact(_) => None,
        }
    }
}

/// The token from `Authorization: Bearer <t>` or GitHub's older `Authorization: token <t>`.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
        Some(token.trim())
    } else {
        None
    }
}

/// Why a provider refuses a request before its handler runs; each provider words it its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No credentials were sent.
    NoToken,
    /// The credentials are not accepted.
    BadToken,
    /// The rate-limit window is used up.
    RateLimited(RateLimitStatus),
}

/// The token check and rate-limit accounting in front of every provider's handlers.
#[derive(Debug)]
pub struct Gate {
    /// Accepted tokens.
    pub tokens: TokenPolicy,
    /// The provider's rate-limit window.
    pub rate: RateLimiter,
}

impl Gate {
    /// A gate accepting `tokens` within `rate_limit`.
    pub fn new(tokens: TokenPolicy, rate_limit: RateLimitConfig) -> Self {
        Self {
            tokens,
            rate: RateLimiter::new(rate_limit),
        }
    }

    /// Admits a request carrying `token`, counting it against the window when `count`.
    pub fn admit(&self, token: Option<&str>, count: bool) -> Result<RateLimitStatus, Refusal> {
        match token {
            None => return Err(Refusal::NoToken),
            Some(t) if !self.tokens.accepts(t) => return Err(Refusal::BadToken),
            Some(_) => {}
        }
        if !count {
            return Ok(self.rate.peek());
        }
        self.rate.consume().map_err(Refusal::RateLimited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_accepts_the_sandbox_prefix_only() {
        let p = TokenPolicy::default();
        assert!(p.accepts("gwi-sandbox"));
        assert!(p.accepts("gwi-sandbox-abc"));
        assert!(!p.accepts("ghp_real"));
        assert!(!p.accepts(""));
    }

    #[test]
    fn exact_policy_accepts_listed_tokens_and_hides_them_in_debug() {
        let p = TokenPolicy::exact(["s3cret", "other"]);
        assert!(p.accepts("s3cret"));
        assert!(!p.accepts("s3cre"));
        assert!(!format!("{p:?}").contains("s3cret"));
    }

    #[test]
    fn reads_bearer_and_token_schemes() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            http::HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer_token(&h), Some("abc"));
        h.insert("authorization", http::HeaderValue::from_static("token xyz"));
        assert_eq!(bearer_token(&h), Some("xyz"));
        h.insert(
            "authorization",
            http::HeaderValue::from_static("Basic Zm9v"),
        );
        assert_eq!(bearer_token(&h), None);
    }
}
