//! GitLab: the shared secret token (`X-Gitlab-Token`, compared in constant time) and GitLab's
//! signing tokens (Standard Webhooks headers, `whsec_<base64>` secrets).
//!
//! One `secrets` list holds both kinds: a secret starting with `whsec_` is a signing token,
//! anything else a secret token. When both kinds are configured a delivery must pass both
//! checks, as GitLab sends both headers when a hook has both.

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use secrecy::{ExposeSecret, SecretSlice};
use subtle::{Choice, ConstantTimeEq};

use super::SignatureScheme;
use super::dedupe::{first_header, or_body_hash, or_unknown};
use super::error::{VerifyError, WebhookConfigError};
use super::headers::signature_header;
use super::keys::{HmacKeys, WHSEC_PREFIX, decode_whsec};
use super::standard::{self, verify_standard};
use crate::config::Secret;

const TOKEN: &str = "x-gitlab-token";
const EVENT: &str = "x-gitlab-event";
const IDEMPOTENCY_KEY: &str = "idempotency-key";
const EVENT_UUID: &str = "x-gitlab-event-uuid";

/// Replay window for GitLab's signed deliveries (the Standard Webhooks default).
pub const GITLAB_TOLERANCE: Duration = Duration::from_secs(300);

/// Verifies GitLab webhook deliveries.
#[derive(Clone)]
pub struct GitLabScheme {
    tokens: Vec<SecretSlice<u8>>,
    signing: Option<HmacKeys>,
    tolerance: Duration,
}

impl std::fmt::Debug for GitLabScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitLabScheme")
            .field("tokens", &format_args!("[{} redacted]", self.tokens.len()))
            .field("signing", &self.signing)
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl GitLabScheme {
    /// Accepts any of the secret tokens and any of the `whsec_` signing tokens in `secrets`.
    pub fn new(secrets: &[Secret]) -> Result<Self, WebhookConfigError> {
        super::keys::check_secrets(secrets)?;
        let mut tokens = Vec::new();
        let mut signing = Vec::new();
        for (index, secret) in secrets.iter().enumerate() {
            let value = secret.expose().expose_secret();
            if value.starts_with(WHSEC_PREFIX) {
                let key = decode_whsec(value)
                    .map_err(|problem| WebhookConfigError::InvalidSecret { index, problem })?;
                signing.push(key);
            } else {
                tokens.push(SecretSlice::from(value.as_bytes().to_vec()));
            }
        }
        Ok(Self {
            tokens,
            signing: (!signing.is_empty()).then(|| HmacKeys::from_bytes(signing)),
            tolerance: GITLAB_TOLERANCE,
        })
    }

    /// Replaces the replay window of signed deliveries.
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    fn verify_token(&self, headers: &HeaderMap) -> Result<(), VerifyError> {
        let sent = signature_header(headers, TOKEN)?.as_bytes();
        // Every token is compared so the time taken does not say which one came close.
        let matched = self.tokens.iter().fold(Choice::from(0), |acc, token| {
            acc | token.expose_secret().ct_eq(sent)
        });
        if bool::from(matched) {
            Ok(())
        } else {
            Err(VerifyError::NoMatch { header: TOKEN })
        }
    }
}

impl SignatureScheme for GitLabScheme {
    fn name(&self) -> &'static str {
        "gitlab"
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<(), VerifyError> {
        if !self.tokens.is_empty() {
            self.verify_token(headers)?;
        }
        if let Some(keys) = &self.signing {
            verify_standard(keys, headers, body, now, self.tolerance)?;
        }
        Ok(())
    }

    /// With a signing token, the signed `webhook-id` (stable across GitLab's retries, and no
    /// replayer can change it); otherwise `Idempotency-Key` (also stable across retries), then
    /// `X-Gitlab-Event-UUID`, then `webhook-id`; else the body hash.
    fn dedupe_key(&self, headers: &HeaderMap, body: &[u8]) -> String {
        let order: &[&str] = if self.signing.is_some() {
            &[standard::ID, IDEMPOTENCY_KEY, EVENT_UUID]
        } else {
            &[IDEMPOTENCY_KEY, EVENT_UUID, standard::ID]
        };
        or_body_hash(first_header(headers, order), body)
    }

    /// `X-Gitlab-Event`, e.g. `Push Hook`, `Merge Request Hook`.
    fn event_type(&self, headers: &HeaderMap, _body: &[u8]) -> String {
        or_unknown(first_header(headers, &[EVENT]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::test_support::{at, flipped, headers};
    use crate::webhook::{body_hash, sign};

    const TOKEN_VALUE: &str = "gitlab-shared-token";
    const SIGNING: &str = "whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q=";
    const T: u64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"object_kind":"push","ref":"refs/heads/main"}"#;
    const KEY: &str = "7f1e2bd5-2b49-4a43-9f2b-6d1b8a0e3c11";

    fn scheme(secrets: &[&str]) -> GitLabScheme {
        let secrets: Vec<Secret> = secrets.iter().map(|s| Secret::literal(*s)).collect();
        GitLabScheme::new(&secrets).unwrap()
    }

    /// What GitLab sends for a hook with a secret token and a signing token.
    fn delivery(token: Option<&str>, signing: Option<&str>, body: &[u8]) -> HeaderMap {
        let mut pairs = vec![
            ("X-Gitlab-Event", "Push Hook".to_owned()),
            ("X-Gitlab-Event-UUID", "e1f2".to_owned()),
            ("Idempotency-Key", KEY.to_owned()),
        ];
        if let Some(token) = token {
            pairs.extend(sign::gitlab_token(&Secret::literal(token)));
        }
        if let Some(signing) = signing {
            pairs.extend(
                sign::standard_webhooks(&Secret::literal(signing), KEY, T as i64, body).unwrap(),
            );
        }
        headers(&pairs)
    }

    #[test]
    fn accepts_the_secret_token() {
        let h = delivery(Some(TOKEN_VALUE), None, BODY);
        assert_eq!(scheme(&[TOKEN_VALUE]).verify(&h, BODY, at(T)), Ok(()));
    }

    #[test]
    fn refuses_a_wrong_or_missing_token() {
        let s = scheme(&[TOKEN_VALUE]);
        for wrong in ["gitlab-shared-tokeN", "gitlab-shared-token-", ""] {
            let h = headers(&[("X-Gitlab-Token", wrong)]);
            assert_eq!(
                s.verify(&h, BODY, at(T)),
                Err(VerifyError::NoMatch { header: TOKEN }),
                "{wrong:?}"
            );
        }
        assert_eq!(
            s.verify(&delivery(None, None, BODY), BODY, at(T)),
            Err(VerifyError::MissingSignature { header: TOKEN })
        );
    }

    #[test]
    fn accepts_a_rotated_token() {
        let h = delivery(Some(TOKEN_VALUE), None, BODY);
        assert_eq!(
            scheme(&["next-token", TOKEN_VALUE]).verify(&h, BODY, at(T)),
            Ok(())
        );
    }

    #[test]
    fn accepts_a_signed_delivery_and_refuses_tampering() {
        let s = scheme(&[SIGNING]);
        let h = delivery(None, Some(SIGNING), BODY);
        assert_eq!(s.verify(&h, BODY, at(T)), Ok(()));
        assert_eq!(
            s.verify(&h, &flipped(BODY, 4), at(T)),
            Err(VerifyError::NoMatch {
                header: "webhook-signature"
            })
        );
        assert_eq!(
            s.verify(&h, BODY, at(T + 301)).unwrap_err().reason(),
            "expired"
        );
        assert_eq!(
            s.verify(&h, BODY, at(T - 301)).unwrap_err().reason(),
            "future_timestamp"
        );
        assert_eq!(
            s.verify(&delivery(None, None, BODY), BODY, at(T))
                .unwrap_err()
                .reason(),
            "missing_signature"
        );
    }

    #[test]
    fn signing_token_rotation_accepts_the_second_key() {
        let h = delivery(None, Some(SIGNING), BODY);
        let other = "whsec_b3RoZXJvdGhlcm90aGVyb3RoZXJvdGhlcm90aGVyb3RoZXI=";
        assert_eq!(scheme(&[other, SIGNING]).verify(&h, BODY, at(T)), Ok(()));
        assert_eq!(
            scheme(&[other])
                .verify(&h, BODY, at(T))
                .unwrap_err()
                .reason(),
            "bad_signature"
        );
    }

    #[test]
    fn with_both_kinds_configured_both_must_pass() {
        let s = scheme(&[TOKEN_VALUE, SIGNING]);
        assert_eq!(
            s.verify(
                &delivery(Some(TOKEN_VALUE), Some(SIGNING), BODY),
                BODY,
                at(T)
            ),
            Ok(())
        );
        assert_eq!(
            s.verify(&delivery(None, Some(SIGNING), BODY), BODY, at(T)),
            Err(VerifyError::MissingSignature { header: TOKEN })
        );
        assert_eq!(
            s.verify(&delivery(Some(TOKEN_VALUE), None, BODY), BODY, at(T)),
            Err(VerifyError::MissingSignature {
                header: "webhook-signature"
            })
        );
        assert_eq!(
            s.verify(&delivery(Some("wrong"), Some(SIGNING), BODY), BODY, at(T)),
            Err(VerifyError::NoMatch { header: TOKEN })
        );
    }

    #[test]
    fn undecodable_signing_token_is_refused_at_build() {
        let err = GitLabScheme::new(&[Secret::literal("whsec_***")]).unwrap_err();
        assert_eq!(err.field(), "secrets[0]");
        assert_eq!(
            GitLabScheme::new(&[]).unwrap_err(),
            WebhookConfigError::NoSecrets
        );
    }

    #[test]
    fn debug_hides_tokens() {
        let shown = format!("{:?}", scheme(&[TOKEN_VALUE, SIGNING]));
        assert!(!shown.contains(TOKEN_VALUE), "{shown}");
        assert!(!shown.contains("dGVzd"), "{shown}");
    }

    #[test]
    fn dedupe_prefers_idempotency_key_then_event_uuid_then_webhook_id() {
        let s = scheme(&[TOKEN_VALUE]);
        assert_eq!(s.dedupe_key(&delivery(None, None, BODY), BODY), KEY);
        let uuid_only = headers(&[("X-Gitlab-Event-UUID", "e1f2"), ("webhook-id", "w1")]);
        assert_eq!(s.dedupe_key(&uuid_only, BODY), "e1f2");
        assert_eq!(s.dedupe_key(&headers(&[("webhook-id", "w1")]), BODY), "w1");
        assert_eq!(s.dedupe_key(&HeaderMap::new(), BODY), body_hash(BODY));
        assert_eq!(s.event_type(&delivery(None, None, BODY), BODY), "Push Hook");
    }

    #[test]
    fn with_a_signing_token_the_signed_webhook_id_is_the_key() {
        let s = scheme(&[TOKEN_VALUE, SIGNING]);
        let both = headers(&[("Idempotency-Key", KEY), ("webhook-id", "msg_signed")]);
        assert_eq!(s.dedupe_key(&both, BODY), "msg_signed");
        assert_eq!(
            s.dedupe_key(&headers(&[("Idempotency-Key", KEY)]), BODY),
            KEY
        );
    }
}
