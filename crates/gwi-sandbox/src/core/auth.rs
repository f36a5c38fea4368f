//! Which API tokens the sandbox accepts.

use std::fmt;

use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

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
