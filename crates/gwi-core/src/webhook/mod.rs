//! Webhooks: the verified event a connector maps to records, signature schemes, dedupe keys.
//!
//! The server receives a delivery and, before anything is stored:
//!
//! 1. builds the connector's [`SignatureScheme`] once at start-up from its [`WebhookSettings`];
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
mod window;

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use http::HeaderMap;

use crate::error::ConnectorError;

pub use config::{SchemeKind, WebhookSettings};
pub use dedupe::{MAX_ID_LEN, UNKNOWN_EVENT, body_digest, body_hash};
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

/// A provider's way of signing deliveries, naming them and identifying their retries.
///
/// Built once per connector (from [`WebhookSettings::build`]) and shared across requests as
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

    /// The installation a verified body says it is for (a GitHub App's `installation.id`), so
    /// the server can route it to the tenant configured with that installation; `None` when the
    /// provider names none.
    fn installation(&self, headers: &HeaderMap, body: &[u8]) -> Option<String> {
        let _ = (headers, body);
        None
    }

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
    /// Decodes the body as `T`. The error names the event, the delivery and the path of the
    /// field at fault, and never quotes the body: a sender may have put anything there.
    ///
    /// A form-encoded delivery (GitHub's `application/x-www-form-urlencoded` option, Slack's
    /// interactivity) is decoded from its `payload` field, the JSON the provider put there.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        let json = self.json_body();
        let de = &mut serde_json::Deserializer::from_slice(&json);
        serde_path_to_error::deserialize(de).map_err(|e| self.invalid("", &e))
    }

    /// Decodes `part`, a piece of the event taken out at `path` (e.g. `event.message`, which
    /// the connector adjusted), with the same value-free errors as [`decode`](Self::decode).
    pub fn decode_part<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        part: serde_json::Value,
    ) -> Result<T, ConnectorError> {
        serde_path_to_error::deserialize(part).map_err(|e| self.invalid(path, &e))
    }

    /// The error for a field the event lacks.
    pub fn missing(&self, path: &str) -> ConnectorError {
        ConnectorError::validation(
            self.connector.clone(),
            path,
            format!(
                "{} event (delivery {}) lacks this field",
                self.event_type, self.delivery_id
            ),
        )
    }

    fn invalid<E: std::fmt::Display>(
        &self,
        prefix: &str,
        e: &serde_path_to_error::Error<E>,
    ) -> ConnectorError {
        let path = match (prefix, e.path().to_string()) {
            ("", path) => path,
            (prefix, path) if path == "." => prefix.to_owned(),
            (prefix, path) => format!("{prefix}.{path}"),
        };
        ConnectorError::validation(
            self.connector.clone(),
            path,
            format!(
                "{} event (delivery {}) is not the payload the connector expects: {}",
                self.event_type,
                self.delivery_id,
                without_values(&e.inner().to_string())
            ),
        )
    }
}

impl WebhookEvent {
    /// The JSON document of the delivery: the body, or a form post's `payload` field.
    pub fn json_body(&self) -> std::borrow::Cow<'_, [u8]> {
        let form = self
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if form
            && let Some((_, payload)) =
                url::form_urlencoded::parse(&self.body).find(|(key, _)| key == "payload")
        {
            return std::borrow::Cow::Owned(payload.into_owned().into_bytes());
        }
        std::borrow::Cow::Borrowed(&self.body)
    }
}

/// A serde message with the values it quotes (`string "..."`, ``integer `5` ``) blanked out;
/// what it expected, which comes from the connector's types, is kept.
fn without_values(message: &str) -> String {
    let (found, expected) = message.split_at(message.find(", expected").unwrap_or(message.len()));
    let mut out = String::with_capacity(message.len());
    let mut open: Option<char> = None;
    for c in found.chars() {
        match open {
            Some(quote) if c == quote => {
                out.push('…');
                out.push(c);
                open = None;
            }
            Some(_) => {}
            None => {
                out.push(c);
                if c == '"' || c == '`' {
                    open = Some(c);
                }
            }
        }
    }
    out.push_str(expected);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(body: &'static [u8]) -> WebhookEvent {
        WebhookEvent {
            connector: "demo".into(),
            tenant: "default".into(),
            event_type: "issue".into(),
            delivery_id: "d-1".into(),
            headers: HeaderMap::new(),
            body: Bytes::from_static(body),
        }
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Issue {
        id: u64,
        title: String,
    }

    #[test]
    fn a_decode_error_names_the_path_and_never_quotes_the_body() {
        let err = event(br#"{"id": "ghp_secret_token", "title": "t"}"#)
            .decode::<Issue>()
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("id"), "{text}");
        assert!(text.contains("delivery d-1"), "{text}");
        assert!(text.contains("expected u64"), "{text}");
        assert!(!text.contains("ghp_secret_token"), "{text}");
        let err = event(br#"{"id": 1, "title": 12345678}"#)
            .decode::<Issue>()
            .unwrap_err();
        assert!(!err.to_string().contains("12345678"), "{err}");
    }

    #[test]
    fn a_good_body_decodes() {
        let issue: Issue = event(br#"{"id": 7, "title": "t"}"#).decode().unwrap();
        assert_eq!(issue.id, 7);
    }

    /// Every scheme, with a plain and (where it takes one) a `whsec_` secret.
    fn every_scheme() -> Vec<Box<dyn SignatureScheme>> {
        let plain = [crate::config::Secret::literal(
            "a-webhook-secret-of-some-length",
        )];
        let signing = [
            crate::config::Secret::literal("a-webhook-secret-of-some-length"),
            crate::config::Secret::literal("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"),
        ];
        vec![
            Box::new(GitHubScheme::new(&plain).unwrap()),
            Box::new(GitLabScheme::new(&signing).unwrap()),
            Box::new(JiraScheme::new(&plain).unwrap()),
            Box::new(LinearScheme::new(&plain).unwrap()),
            Box::new(SlackScheme::new(&plain).unwrap()),
            Box::new(StandardWebhooksScheme::new(&signing[1..]).unwrap()),
        ]
    }

    /// The headers any scheme reads.
    const HEADERS: [&str; 15] = [
        "x-hub-signature-256",
        "x-hub-signature",
        "x-github-event",
        "x-github-delivery",
        "x-gitlab-token",
        "x-gitlab-event",
        "idempotency-key",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "x-atlassian-webhook-identifier",
        "linear-signature",
        "linear-delivery",
        "x-slack-signature",
        "x-slack-request-timestamp",
    ];

    proptest::proptest! {
        /// Whatever a stranger sends, every scheme answers (no panic) and accepts nothing.
        #[test]
        fn no_scheme_panics_on_or_accepts_forged_headers(
            values in proptest::collection::vec(
                proptest::prop_oneof![
                    "[ -~]{0,120}",
                    "(sha256|sha1|v0|v1)[=,][0-9a-fA-F+/=]{0,80}",
                    "v1,[A-Za-z0-9+/=]{0,60}( v1,[A-Za-z0-9+/=]{0,60}){0,20}",
                    "[0-9]{0,12}",
                ],
                HEADERS.len(),
            ),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
            now in 0u64..4_000_000_000,
        ) {
            let mut headers = HeaderMap::new();
            for (name, value) in HEADERS.iter().zip(&values) {
                if let Ok(value) = http::HeaderValue::from_str(value) {
                    headers.insert(*name, value);
                }
            }
            let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(now);
            for scheme in every_scheme() {
                proptest::prop_assert!(
                    scheme.verify(&headers, &body, now).is_err(),
                    "{} accepted a forged delivery",
                    scheme.name()
                );
                let _ = (scheme.dedupe_key(&headers, &body), scheme.event_type(&headers, &body));
                let _ = scheme.handshake(&headers, &body);
            }
        }
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
