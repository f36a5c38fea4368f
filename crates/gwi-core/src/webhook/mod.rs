//! Webhooks: the verified event a connector maps to records, signature schemes, dedupe keys.
//!
//! The server receives a delivery and, before anything is stored:
//!
//! 1. builds the connector's [`SignatureScheme`] once at start-up from its [`WebhookConfig`];
//! 2. calls [`SignatureScheme::verify`] on the *raw* body bytes and the request headers
//!    (refusing with 401 and counting [`VerifyError::reason`] on failure);
//! 3. answers a provider handshake if [`SignatureScheme::handshake`] returns one (Slack's
//!    `url_verification`), without storing anything;
//! 4. stores the delivery under [`SignatureScheme::dedupe_key`] with
//!    [`SignatureScheme::event_type`] and [`headers_to_keep`].

mod config;
mod dedupe;
mod error;
mod github;
mod gitlab;
mod headers;
mod jira;
mod keys;
mod linear;
pub mod sign;
mod slack;
mod standard;
mod stripe;
mod window;

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use http::HeaderMap;

pub use config::{SchemeKind, WebhookConfig};
pub use dedupe::{MAX_ID_LEN, UNKNOWN_EVENT, body_hash};
pub use error::{VerifyError, WebhookConfigError};
pub use github::GitHubScheme;
pub use gitlab::{GITLAB_TOLERANCE, GitLabScheme};
pub use headers::{
    SENSITIVE_HEADERS, headers_from_pairs, headers_to_keep, is_sensitive_header,
    strip_sensitive_headers,
};
pub use jira::JiraScheme;
pub use linear::{LINEAR_TOLERANCE, LinearScheme};
pub use slack::{SLACK_TOLERANCE, SlackScheme};
pub use standard::{STANDARD_WEBHOOKS_TOLERANCE, StandardWebhooksScheme};
pub use stripe::{STRIPE_TOLERANCE, StripeScheme};

/// A provider's way of signing deliveries, naming them and identifying their retries.
///
/// Built once per connector (from [`WebhookConfig::build`]) and shared across requests as
/// `Arc<dyn SignatureScheme>` / `Box<dyn SignatureScheme>`. Every method is pure and cheap
/// enough to call on the request path; none performs I/O.
pub trait SignatureScheme: Send + Sync + fmt::Debug {
    /// The scheme's config name (`github`, `standard_webhooks`, ...), for logs and metrics.
    fn name(&self) -> &'static str;

    /// Checks that the delivery was signed by a configured secret, over exactly these body
    /// bytes, within the replay window around `now` (pass `SystemTime::now()`).
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<(), VerifyError>;

    /// The key under which the delivery is deduplicated: the provider's delivery id, or
    /// [`body_hash`] when it sends none. Never empty. Not namespaced: the store keys it per
    /// connector.
    fn dedupe_key(&self, headers: &HeaderMap, body: &[u8]) -> String;

    /// The provider's event type (`pull_request`, `Merge Request Hook`, `message`, ...), or
    /// [`UNKNOWN_EVENT`].
    fn event_type(&self, headers: &HeaderMap, body: &[u8]) -> String;

    /// A reply the provider expects instead of processing, for a delivery that has already
    /// passed [`verify`](Self::verify) (Slack's `url_verification` challenge). When `Some`, the
    /// server answers `200` with it and stores nothing.
    fn handshake(&self, headers: &HeaderMap, body: &[u8]) -> Option<Handshake> {
        let _ = (headers, body);
        None
    }
}

/// A verified handshake's reply: status 200 with this body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// `Content-Type` of the reply.
    pub content_type: &'static str,
    /// The reply body.
    pub body: String,
}

/// A webhook delivery that the framework has already verified and deduplicated.
#[derive(Debug, Clone)]
pub struct WebhookEvent {
    /// Connector it is for.
    pub connector: String,
    /// Tenant it is for.
    pub tenant: String,
    /// Provider's event type (e.g. GitHub's `X-GitHub-Event`).
    pub event_type: String,
    /// The dedupe key the delivery was stored under.
    pub delivery_id: String,
    /// Headers as received, minus signatures.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: Bytes,
}

impl WebhookEvent {
    /// Decodes the body as JSON; the error names the offending path.
    pub fn json<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
        let de = &mut serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(de)
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers shared by the schemes' tests.

    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use http::{HeaderMap, HeaderName, HeaderValue};

    /// A header map from `(name, value)` pairs.
    pub fn headers<N: AsRef<str>, V: AsRef<str>>(pairs: &[(N, V)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::try_from(name.as_ref()).unwrap(),
                HeaderValue::try_from(value.as_ref()).unwrap(),
            );
        }
        map
    }

    /// The instant `secs` after the Unix epoch.
    pub fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// A copy of `body` with one bit flipped at `index`.
    pub fn flipped(body: &[u8], index: usize) -> Vec<u8> {
        let mut copy = body.to_vec();
        copy[index] ^= 0x01;
        copy
    }
}
