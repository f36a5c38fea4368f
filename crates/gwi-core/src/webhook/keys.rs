//! The HMAC keys a scheme accepts (several while a secret rotates), and the constant-time check.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

use super::error::WebhookConfigError;
use crate::config::Secret;

type HmacSha256 = Hmac<Sha256>;

/// Prefix of Standard Webhooks / Svix / GitLab signing secrets; base64 follows it.
pub(crate) const WHSEC_PREFIX: &str = "whsec_";

/// HMAC-SHA256 keys, any of which may have signed a delivery. Zeroized on drop.
#[derive(Clone)]
pub(crate) struct HmacKeys(Vec<SecretSlice<u8>>);

impl fmt::Debug for HmacKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} redacted key(s)]", self.0.len())
    }
}

/// Secrets shorter than this are accepted with a warning: they can be guessed.
const WEAK_SECRET_BYTES: usize = 16;

/// Refuses secrets that are empty or only whitespace (an HMAC under an empty key, or an empty
/// token compared with an empty header, is forgeable by anyone) and warns of short ones.
pub(crate) fn check_secrets(secrets: &[Secret]) -> Result<(), WebhookConfigError> {
    if secrets.is_empty() {
        return Err(WebhookConfigError::NoSecrets);
    }
    for (index, secret) in secrets.iter().enumerate() {
        let value = secret.expose().expose_secret();
        if value.trim().is_empty() {
            return Err(WebhookConfigError::InvalidSecret {
                index,
                problem: "is empty or only whitespace, which anyone could sign with",
            });
        }
        if value.len() < WEAK_SECRET_BYTES {
            tracing::warn!(
                index,
                origin = %secret.origin(),
                "webhook secret is shorter than 16 bytes and could be guessed; use a random one of 32 bytes or more"
            );
        }
    }
    Ok(())
}

impl HmacKeys {
    /// Keys that are the secrets' own bytes (GitHub, Slack, Linear, Jira).
    pub(crate) fn raw(secrets: &[Secret]) -> Result<Self, WebhookConfigError> {
        check_secrets(secrets)?;
        Ok(Self(
            secrets
                .iter()
                .map(|s| SecretSlice::from(s.expose().expose_secret().as_bytes().to_vec()))
                .collect(),
        ))
    }

    /// Keys given as `whsec_<base64>` (Standard Webhooks, Svix, GitLab signing tokens).
    pub(crate) fn whsec(secrets: &[Secret]) -> Result<Self, WebhookConfigError> {
        if secrets.is_empty() {
            return Err(WebhookConfigError::NoSecrets);
        }
        secrets
            .iter()
            .enumerate()
            .map(|(index, s)| {
                decode_whsec(s.expose().expose_secret())
                    .map_err(|problem| WebhookConfigError::InvalidSecret { index, problem })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self::from_bytes)
    }

    /// Builds from already-decoded key bytes.
    pub(crate) fn from_bytes(keys: Vec<Vec<u8>>) -> Self {
        Self(keys.into_iter().map(SecretSlice::from).collect())
    }

    /// Whether the HMAC of `parts` (concatenated) under any key equals any of `candidates`.
    ///
    /// Each comparison is constant-time (`verify_slice`); which key matched is not secret.
    pub(crate) fn any_matches(&self, parts: &[&[u8]], candidates: &[Vec<u8>]) -> bool {
        self.0.iter().any(|key| {
            // HMAC accepts keys of any length, so this never fails in practice.
            let Ok(mut mac) = HmacSha256::new_from_slice(key.expose_secret()) else {
                return false;
            };
            for part in parts {
                mac.update(part);
            }
            candidates
                .iter()
                .any(|candidate| mac.clone().verify_slice(candidate).is_ok())
        })
    }
}

/// Decodes `whsec_<base64>` to key bytes; the error says what is wrong, never the value.
pub(crate) fn decode_whsec(secret: &str) -> Result<Vec<u8>, &'static str> {
    let encoded = secret
        .strip_prefix(WHSEC_PREFIX)
        .ok_or("unknown secret format: expected whsec_<base64>")?;
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| "unknown secret format: the part after whsec_ is not base64")?;
    if key.is_empty() {
        return Err("unknown secret format: the key after whsec_ is empty");
    }
    Ok(key)
}

/// HMAC-SHA256 of the concatenated parts (the sending side, for signing helpers and tests).
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            for part in parts {
                mac.update(part);
            }
            mac.finalize().into_bytes().to_vec()
        }
        // Unreachable: HMAC takes keys of any length.
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn empty_or_blank_secrets_are_refused_from_every_scheme() {
        for blank in ["", " ", "\n", "\t \r\n"] {
            let secrets = [
                Secret::literal("a-real-secret-of-some-length"),
                Secret::literal(blank),
            ];
            let raw = HmacKeys::raw(&secrets)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                raw.contains("secrets[1]") && raw.contains("empty"),
                "{blank:?}: {raw}"
            );
            let gitlab = crate::webhook::GitLabScheme::new(&secrets)
                .err()
                .map(|e| e.field());
            assert_eq!(gitlab.as_deref(), Some("secrets[1]"), "{blank:?}");
        }
        assert!(
            HmacKeys::raw(&[Secret::literal("short")]).is_ok(),
            "short is a warning only"
        );
    }
    use super::*;

    #[test]
    fn matches_when_any_key_and_any_candidate_agree() {
        let keys = HmacKeys::from_bytes(vec![b"old".to_vec(), b"new".to_vec()]);
        let good = hmac_sha256(b"new", &[b"a", b"b"]);
        let bad = hmac_sha256(b"other", &[b"ab"]);
        assert!(keys.any_matches(&[b"ab"], &[bad.clone(), good.clone()]));
        assert!(!keys.any_matches(&[b"ab"], &[bad]));
        assert!(!keys.any_matches(&[b"ab"], &[good[..16].to_vec()]));
        assert!(!keys.any_matches(&[b"ab"], &[]));
    }

    #[test]
    fn whsec_secrets_must_have_the_prefix_and_base64() {
        assert_eq!(decode_whsec("whsec_AAEC").unwrap(), vec![0, 1, 2]);
        assert!(decode_whsec("AAEC").unwrap_err().contains("whsec_"));
        assert!(decode_whsec("whsec_!!!").unwrap_err().contains("base64"));
        assert!(decode_whsec("whsec_").unwrap_err().contains("empty"));
    }

    #[test]
    fn debug_shows_no_key_material() {
        let keys = HmacKeys::raw(&[Secret::literal("hunter2")]).unwrap();
        assert_eq!(format!("{keys:?}"), "[1 redacted key(s)]");
    }

    #[test]
    fn bad_whsec_error_names_the_index_only() {
        let err = HmacKeys::whsec(&[
            Secret::literal("whsec_AAEC"),
            Secret::literal("hunter2-plain"),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            WebhookConfigError::InvalidSecret {
                index: 1,
                problem: "unknown secret format: expected whsec_<base64>"
            }
        );
        assert!(!err.to_string().contains("hunter2"));
    }
}
