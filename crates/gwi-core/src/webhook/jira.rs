//! Jira / Atlassian: `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>` (WebSub style).
//!
//! Atlassian signs no timestamp; replays are caught by the dedupe key
//! (`X-Atlassian-Webhook-Identifier`, stable across Atlassian's retries).

use std::time::SystemTime;

use http::HeaderMap;
use serde::Deserialize;

use super::SignatureScheme;
use super::dedupe::{first_header, or_body_hash, or_unknown, usable};
use super::error::{VerifyError, WebhookConfigError};
use super::github::verify_sha256_prefixed;
use super::keys::HmacKeys;
use crate::config::Secret;

const SIGNATURE: &str = "x-hub-signature";
const DELIVERY: &str = "x-atlassian-webhook-identifier";

/// Verifies Jira (Atlassian) webhook deliveries.
#[derive(Debug, Clone)]
pub struct JiraScheme {
    keys: HmacKeys,
}

impl JiraScheme {
    /// Accepts deliveries signed with any of `secrets` (several while rotating).
    pub fn new(secrets: &[Secret]) -> Result<Self, WebhookConfigError> {
        Ok(Self {
            keys: HmacKeys::raw(secrets)?,
        })
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "webhookEvent")]
    webhook_event: Option<String>,
}

impl SignatureScheme for JiraScheme {
    fn name(&self) -> &'static str {
        "jira"
    }

    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        _now: SystemTime,
    ) -> Result<(), VerifyError> {
        verify_sha256_prefixed(&self.keys, headers, SIGNATURE, body)
    }

    fn dedupe_key(&self, headers: &HeaderMap, body: &[u8]) -> String {
        or_body_hash(first_header(headers, &[DELIVERY]), body)
    }

    fn event_type(&self, _headers: &HeaderMap, body: &[u8]) -> String {
        let event = serde_json::from_slice::<Envelope>(body)
            .ok()
            .and_then(|e| e.webhook_event)
            .and_then(|e| usable(&e));
        or_unknown(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::test_support::{at, headers};
    use crate::webhook::{body_hash, sign};

    const BODY: &[u8] = br#"{"timestamp":1700000000000,"webhookEvent":"jira:issue_updated","issue":{"key":"ABC-1"}}"#;

    fn scheme(secrets: &[&str]) -> JiraScheme {
        let secrets: Vec<Secret> = secrets.iter().map(|s| Secret::literal(*s)).collect();
        JiraScheme::new(&secrets).unwrap()
    }

    fn signed_with(secret: &str, body: &[u8]) -> HeaderMap {
        let mut pairs = sign::jira(&Secret::literal(secret), body);
        pairs.push(("X-Atlassian-Webhook-Identifier", "1234-abcd".to_owned()));
        headers(&pairs)
    }

    #[test]
    fn signature_is_the_websub_sha256_of_the_body() {
        // Atlassian publishes no example values; this is HMAC-SHA256("It's a Secret to
        // Everybody", "Hello, World!") from GitHub's docs, which Jira's WebSub format shares.
        let signed = sign::jira(
            &Secret::literal("It's a Secret to Everybody"),
            b"Hello, World!",
        );
        assert_eq!(
            signed,
            vec![(
                "X-Hub-Signature",
                "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
                    .to_owned()
            )]
        );
    }

    #[test]
    fn accepts_a_signed_delivery() {
        assert_eq!(
            scheme(&["s3"]).verify(&signed_with("s3", BODY), BODY, at(0)),
            Ok(())
        );
    }

    #[test]
    fn refuses_tampered_body_and_wrong_secret() {
        let headers = signed_with("s3", BODY);
        let tampered = BODY
            .to_vec()
            .into_iter()
            .map(|b| if b == b'1' { b'2' } else { b })
            .collect::<Vec<_>>();
        assert_eq!(
            scheme(&["s3"]).verify(&headers, &tampered, at(0)),
            Err(VerifyError::NoMatch { header: SIGNATURE })
        );
        assert_eq!(
            scheme(&["other"]).verify(&headers, BODY, at(0)),
            Err(VerifyError::NoMatch { header: SIGNATURE })
        );
    }

    #[test]
    fn accepts_the_second_secret_while_rotating() {
        assert_eq!(
            scheme(&["new", "s3"]).verify(&signed_with("s3", BODY), BODY, at(0)),
            Ok(())
        );
    }

    #[test]
    fn github_256_header_is_not_jiras_header() {
        let mut pairs = sign::github(&Secret::literal("s3"), BODY);
        pairs.push(("X-Atlassian-Webhook-Identifier", "x".to_owned()));
        assert_eq!(
            scheme(&["s3"]).verify(&headers(&pairs), BODY, at(0)),
            Err(VerifyError::MissingSignature { header: SIGNATURE })
        );
    }

    #[test]
    fn malformed_header_is_refused() {
        let headers = headers(&[(SIGNATURE, "sha512=abcd")]);
        assert_eq!(
            scheme(&["s3"])
                .verify(&headers, BODY, at(0))
                .unwrap_err()
                .reason(),
            "malformed"
        );
    }

    #[test]
    fn dedupes_on_atlassian_identifier_and_reads_event_from_body() {
        let s = scheme(&["s3"]);
        assert_eq!(s.dedupe_key(&signed_with("s3", BODY), BODY), "1234-abcd");
        assert_eq!(s.dedupe_key(&HeaderMap::new(), BODY), body_hash(BODY));
        assert_eq!(s.event_type(&HeaderMap::new(), BODY), "jira:issue_updated");
        assert_eq!(s.event_type(&HeaderMap::new(), b"not json"), "unknown");
    }
}
