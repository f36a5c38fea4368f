//! GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
//!
//! GitHub signs no timestamp, so there is no replay window: replays are caught by the dedupe
//! key (`X-GitHub-Delivery`, stable across GitHub's redeliveries).

use std::time::SystemTime;

use http::HeaderMap;

use super::SignatureScheme;
use super::dedupe::{first_header, or_body_hash, or_unknown};
use super::error::{VerifyError, WebhookConfigError};
use super::headers::{decode_hex, signature_header};
use super::keys::HmacKeys;
use crate::config::Secret;

pub(crate) const SIGNATURE: &str = "x-hub-signature-256";
const EVENT: &str = "x-github-event";
const DELIVERY: &str = "x-github-delivery";

/// Verifies GitHub webhook deliveries.
#[derive(Debug, Clone)]
pub struct GitHubScheme {
    keys: HmacKeys,
}

impl GitHubScheme {
    /// Accepts deliveries signed with any of `secrets` (several while rotating).
    pub fn new(secrets: &[Secret]) -> Result<Self, WebhookConfigError> {
        Ok(Self {
            keys: HmacKeys::raw(secrets)?,
        })
    }
}

impl SignatureScheme for GitHubScheme {
    fn name(&self) -> &'static str {
        "github"
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

    fn event_type(&self, headers: &HeaderMap, _body: &[u8]) -> String {
        or_unknown(first_header(headers, &[EVENT]))
    }

    /// `installation.id` of a GitHub App's delivery (always JSON); repository and organisation
    /// webhooks carry none.
    fn installation(&self, _headers: &HeaderMap, body: &[u8]) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Delivery {
            installation: Option<Installation>,
        }
        #[derive(serde::Deserialize)]
        struct Installation {
            id: u64,
        }
        let delivery: Delivery = serde_json::from_slice(body).ok()?;
        delivery.installation.map(|i| i.id.to_string())
    }
}

/// Checks a WebSub-style `sha256=<hex>` header over the body (GitHub, Jira).
pub(crate) fn verify_sha256_prefixed(
    keys: &HmacKeys,
    headers: &HeaderMap,
    header: &'static str,
    body: &[u8],
) -> Result<(), VerifyError> {
    let value = signature_header(headers, header)?;
    let hex = value
        .strip_prefix("sha256=")
        .ok_or(VerifyError::MalformedHeader {
            header,
            problem: "expected sha256=<hex>",
        })?;
    let signature = decode_hex(header, hex)?;
    if keys.any_matches(&[body], &[signature]) {
        Ok(())
    } else {
        Err(VerifyError::NoMatch { header })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::webhook::body_hash;
    use crate::webhook::sign;
    use crate::webhook::test_support::{at, flipped, headers};

    // Published test values from GitHub's "Validating webhook deliveries" page.
    const DOC_SECRET: &str = "It's a Secret to Everybody";
    const DOC_BODY: &[u8] = b"Hello, World!";
    const DOC_SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn an_app_delivery_names_its_installation_and_others_none() {
        let s = scheme(&["x"]);
        let h = HeaderMap::new();
        let app = br#"{"action":"opened","installation":{"id":4242,"node_id":"MDIz"}}"#;
        assert_eq!(s.installation(&h, app).as_deref(), Some("4242"));
        assert_eq!(s.installation(&h, br#"{"action":"opened"}"#), None);
        assert_eq!(s.installation(&h, b"payload=%7B%7D"), None);
        assert_eq!(s.installation(&h, br#"{"installation":{"id":"x"}}"#), None);
    }

    fn scheme(secrets: &[&str]) -> GitHubScheme {
        let secrets: Vec<Secret> = secrets.iter().map(|s| Secret::literal(*s)).collect();
        GitHubScheme::new(&secrets).unwrap()
    }

    fn signed(signature: &str) -> HeaderMap {
        headers(&[
            (SIGNATURE, signature),
            (EVENT, "push"),
            (DELIVERY, "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ])
    }

    #[test]
    fn accepts_githubs_published_example() {
        let result = scheme(&[DOC_SECRET]).verify(&signed(DOC_SIGNATURE), DOC_BODY, at(0));
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn signing_helper_reproduces_the_published_signature() {
        let signed = sign::github(&Secret::literal(DOC_SECRET), DOC_BODY);
        assert_eq!(
            signed,
            vec![("X-Hub-Signature-256", DOC_SIGNATURE.to_owned())]
        );
    }

    #[test]
    fn refuses_a_changed_body_byte() {
        let result = scheme(&[DOC_SECRET]).verify(&signed(DOC_SIGNATURE), b"Hello, World?", at(0));
        assert_eq!(result, Err(VerifyError::NoMatch { header: SIGNATURE }));
    }

    #[test]
    fn refuses_the_wrong_secret() {
        let result = scheme(&["not it"]).verify(&signed(DOC_SIGNATURE), DOC_BODY, at(0));
        assert_eq!(result.unwrap_err().reason(), "bad_signature");
    }

    #[test]
    fn accepts_the_second_secret_while_rotating() {
        let result =
            scheme(&["new secret", DOC_SECRET]).verify(&signed(DOC_SIGNATURE), DOC_BODY, at(0));
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn missing_header_is_missing_signature() {
        let result = scheme(&[DOC_SECRET]).verify(&headers(&[(EVENT, "push")]), DOC_BODY, at(0));
        assert_eq!(
            result,
            Err(VerifyError::MissingSignature { header: SIGNATURE })
        );
    }

    #[test]
    fn malformed_headers_are_named_without_their_value() {
        let s = scheme(&[DOC_SECRET]);
        for bad in [
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d",
            "sha256=zz7107ea",
        ] {
            let err = s.verify(&signed(bad), DOC_BODY, at(0)).unwrap_err();
            assert_eq!(err.reason(), "malformed", "{bad}");
            assert!(!err.to_string().contains("757107"), "{err}");
        }
    }

    #[test]
    fn truncated_signature_does_not_match() {
        let result = scheme(&[DOC_SECRET]).verify(&signed(&DOC_SIGNATURE[..41]), DOC_BODY, at(0));
        assert_eq!(result.unwrap_err().reason(), "bad_signature");
    }

    #[test]
    fn uppercase_hex_is_accepted() {
        let upper = format!("sha256={}", DOC_SIGNATURE[7..].to_uppercase());
        assert_eq!(
            scheme(&[DOC_SECRET]).verify(&signed(&upper), DOC_BODY, at(0)),
            Ok(())
        );
    }

    #[test]
    fn dedupes_on_delivery_id_else_body_hash() {
        let s = scheme(&[DOC_SECRET]);
        assert_eq!(
            s.dedupe_key(&signed(DOC_SIGNATURE), DOC_BODY),
            "72d3162e-cc78-11e3-81ab-4c9367dc0958"
        );
        assert_eq!(
            s.dedupe_key(&HeaderMap::new(), DOC_BODY),
            body_hash(DOC_BODY)
        );
        assert_eq!(s.event_type(&signed(DOC_SIGNATURE), DOC_BODY), "push");
        assert_eq!(s.event_type(&HeaderMap::new(), DOC_BODY), "unknown");
    }

    proptest! {
        #[test]
        fn any_single_byte_change_fails(
            body in proptest::collection::vec(any::<u8>(), 1..256),
            index in any::<prop::sample::Index>(),
            xor in 1u8..=255,
        ) {
            let secret = Secret::literal("prop secret");
            let s = GitHubScheme::new(std::slice::from_ref(&secret)).unwrap();
            let headers = headers(&sign::github(&secret, &body));
            prop_assert_eq!(s.verify(&headers, &body, at(0)), Ok(()));
            let mut tampered = body.clone();
            tampered[index.index(body.len())] ^= xor;
            prop_assert_eq!(
                s.verify(&headers, &tampered, at(0)),
                Err(VerifyError::NoMatch { header: SIGNATURE })
            );
        }
    }

    #[test]
    fn flipping_a_bit_of_the_published_body_fails() {
        let s = scheme(&[DOC_SECRET]);
        for i in 0..DOC_BODY.len() {
            assert!(
                s.verify(&signed(DOC_SIGNATURE), &flipped(DOC_BODY, i), at(0))
                    .is_err()
            );
        }
    }
}
