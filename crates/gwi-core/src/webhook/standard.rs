//! Standard Webhooks (Svix and the providers built on it): `webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64> [v1,<base64> ...]` over `{id}.{timestamp}.{body}`, keyed by
//! `whsec_<base64>` secrets, within 300 s.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use serde::Deserialize;

use super::SignatureScheme;
use super::dedupe::{first_header, or_body_hash, or_unknown, usable};
use super::error::{VerifyError, WebhookConfigError};
use super::headers::{required_header, signature_header, unix_seconds};
use super::keys::HmacKeys;
use super::window::check_window_secs;
use crate::config::Secret;

pub(crate) const SIGNATURE: &str = "webhook-signature";
pub(crate) const ID: &str = "webhook-id";
pub(crate) const TIMESTAMP: &str = "webhook-timestamp";

/// The most `webhook-signature` entries read; later ones are ignored.
const MAX_SIGNATURES: usize = 8;

/// The specification's recommended replay window.
pub const STANDARD_WEBHOOKS_TOLERANCE: Duration = Duration::from_secs(300);

/// Verifies Standard Webhooks / Svix deliveries (symmetric `v1` signatures).
#[derive(Debug, Clone)]
pub struct StandardWebhooksScheme {
    keys: HmacKeys,
    tolerance: Duration,
}

impl StandardWebhooksScheme {
    /// Accepts deliveries signed with any of `secrets` (each `whsec_<base64>`), within
    /// [`STANDARD_WEBHOOKS_TOLERANCE`].
    pub fn new(secrets: &[Secret]) -> Result<Self, WebhookConfigError> {
        Ok(Self {
            keys: HmacKeys::whsec(secrets)?,
            tolerance: STANDARD_WEBHOOKS_TOLERANCE,
        })
    }

    /// Replaces the replay window.
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }
}

/// Verifies the three Standard Webhooks headers (shared with GitLab's signing tokens).
pub(crate) fn verify_standard(
    keys: &HmacKeys,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let value = signature_header(headers, SIGNATURE)?;
    let id = required_header(headers, ID)?;
    let timestamp = required_header(headers, TIMESTAMP)?;
    let signed_at = unix_seconds(TIMESTAMP, timestamp)?;
    // Space-separated `version,base64` entries; only symmetric v1 is ours (v1a is ed25519).
    // A sender lists one signature per key it signs with (two or three while rotating); more
    // than a few is no sender's, and each one costs an HMAC per configured key.
    let signatures: Vec<Vec<u8>> = value
        .split_ascii_whitespace()
        .take(MAX_SIGNATURES)
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, encoded)| STANDARD.decode(encoded).ok())
        .collect();
    if signatures.is_empty() {
        return Err(VerifyError::MalformedHeader {
            header: SIGNATURE,
            problem: "no v1,<base64> signature",
        });
    }
    let parts: [&[u8]; 5] = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body];
    if !keys.any_matches(&parts, &signatures) {
        return Err(VerifyError::NoMatch { header: SIGNATURE });
    }
    check_window_secs(signed_at, now, tolerance)
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl SignatureScheme for StandardWebhooksScheme {
    fn name(&self) -> &'static str {
        "standard_webhooks"
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<(), VerifyError> {
        verify_standard(&self.keys, headers, body, now, self.tolerance)
    }

    /// `webhook-id` (the same on the sender's retries), else the body hash.
    fn dedupe_key(&self, headers: &HeaderMap, body: &[u8]) -> String {
        or_body_hash(first_header(headers, &[ID]), body)
    }

    /// The payload's `type` field, as the specification's payload structure recommends.
    fn event_type(&self, _headers: &HeaderMap, body: &[u8]) -> String {
        let kind = serde_json::from_slice::<Envelope>(body)
            .ok()
            .and_then(|e| e.kind)
            .and_then(|k| usable(&k));
        or_unknown(kind)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::webhook::test_support::{at, flipped, headers};
    use crate::webhook::{body_hash, sign};

    /// A published vector: secret, id, timestamp, body, signature.
    struct Vector {
        secret: &'static str,
        id: &'static str,
        timestamp: u64,
        body: &'static [u8],
        signature: &'static str,
    }

    // From the Standard Webhooks specification repository's reference library tests.
    const SPEC: Vector = Vector {
        secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        id: "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
        timestamp: 1_649_367_553,
        body: br#"{"email":"test@example.com","username":"test_user"}"#,
        signature: "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
    };

    // From Svix's libraries' tests.
    const SVIX: Vector = Vector {
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp: 1_614_265_330,
        body: br#"{"test": 2432232314}"#,
        signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    };

    fn scheme(secrets: &[&str]) -> StandardWebhooksScheme {
        let secrets: Vec<Secret> = secrets.iter().map(|s| Secret::literal(*s)).collect();
        StandardWebhooksScheme::new(&secrets).unwrap()
    }

    fn vector_headers(v: &Vector, signature: &str, timestamp: u64) -> HeaderMap {
        headers(&[
            ("webhook-id", v.id),
            ("webhook-timestamp", timestamp.to_string().as_str()),
            ("webhook-signature", signature),
        ])
    }

    #[test]
    fn only_the_first_signatures_of_a_long_list_are_read() {
        let v = SPEC;
        let padding = ["v1,AAAA"; MAX_SIGNATURES].join(" ");
        let late = format!("{padding} {}", v.signature);
        let h = vector_headers(&v, &late, v.timestamp);
        assert!(
            scheme(&[v.secret])
                .verify(&h, v.body, at(v.timestamp))
                .is_err()
        );
        let early = format!("{} {padding}", v.signature);
        let h = vector_headers(&v, &early, v.timestamp);
        assert_eq!(
            scheme(&[v.secret]).verify(&h, v.body, at(v.timestamp)),
            Ok(())
        );
    }

    #[test]
    fn accepts_the_published_vectors() {
        for v in [SPEC, SVIX] {
            let h = vector_headers(&v, v.signature, v.timestamp);
            assert_eq!(
                scheme(&[v.secret]).verify(&h, v.body, at(v.timestamp)),
                Ok(()),
                "{}",
                v.id
            );
        }
    }

    #[test]
    fn signing_helper_reproduces_the_published_signatures() {
        for v in [SPEC, SVIX] {
            let pairs = sign::standard_webhooks(
                &Secret::literal(v.secret),
                v.id,
                v.timestamp as i64,
                v.body,
            )
            .unwrap();
            assert_eq!(pairs[2], ("webhook-signature", v.signature.to_owned()));
        }
    }

    #[test]
    fn accepts_one_valid_among_several_signatures() {
        // The specification's own multi-signature case: the valid one third of four.
        let multi = format!(
            "v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ= v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q= {} v1,9DfC1c3eeOrXB6w/5dIDydLNQaEyww5KalE5jLBZucE=",
            SPEC.signature
        );
        let h = vector_headers(&SPEC, &multi, SPEC.timestamp);
        assert_eq!(
            scheme(&[SPEC.secret]).verify(&h, SPEC.body, at(SPEC.timestamp)),
            Ok(())
        );
        let without = "v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ= v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q=";
        let h = vector_headers(&SPEC, without, SPEC.timestamp);
        assert_eq!(
            scheme(&[SPEC.secret]).verify(&h, SPEC.body, at(SPEC.timestamp)),
            Err(VerifyError::NoMatch { header: SIGNATURE })
        );
    }

    #[test]
    fn refuses_tampered_body_id_and_timestamp() {
        let s = scheme(&[SPEC.secret]);
        let now = at(SPEC.timestamp);
        let h = vector_headers(&SPEC, SPEC.signature, SPEC.timestamp);
        assert_eq!(
            s.verify(&h, &flipped(SPEC.body, 2), now)
                .unwrap_err()
                .reason(),
            "bad_signature"
        );
        let other_id = headers(&[
            ("webhook-id", "msg_other"),
            ("webhook-timestamp", SPEC.timestamp.to_string().as_str()),
            ("webhook-signature", SPEC.signature),
        ]);
        assert_eq!(
            s.verify(&other_id, SPEC.body, now).unwrap_err().reason(),
            "bad_signature"
        );
        let moved = vector_headers(&SPEC, SPEC.signature, SPEC.timestamp + 1);
        assert_eq!(
            s.verify(&moved, SPEC.body, now).unwrap_err().reason(),
            "bad_signature"
        );
    }

    #[test]
    fn refuses_the_wrong_secret_and_accepts_a_rotated_one() {
        let h = vector_headers(&SPEC, SPEC.signature, SPEC.timestamp);
        let now = at(SPEC.timestamp);
        assert_eq!(
            scheme(&[SVIX.secret]).verify(&h, SPEC.body, now),
            Err(VerifyError::NoMatch { header: SIGNATURE })
        );
        assert_eq!(
            scheme(&[SVIX.secret, SPEC.secret]).verify(&h, SPEC.body, now),
            Ok(())
        );
    }

    #[test]
    fn refuses_outside_the_window() {
        let s = scheme(&[SPEC.secret]);
        let h = vector_headers(&SPEC, SPEC.signature, SPEC.timestamp);
        assert_eq!(
            s.verify(&h, SPEC.body, at(SPEC.timestamp + 301)),
            Err(VerifyError::Expired {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        assert_eq!(
            s.verify(&h, SPEC.body, at(SPEC.timestamp - 301)),
            Err(VerifyError::FromFuture {
                ahead_secs: 301,
                tolerance_secs: 300
            })
        );
    }

    #[test]
    fn each_missing_header_is_named() {
        let s = scheme(&[SPEC.secret]);
        let now = at(SPEC.timestamp);
        let full = vector_headers(&SPEC, SPEC.signature, SPEC.timestamp);
        for (name, expected) in [
            (
                SIGNATURE,
                VerifyError::MissingSignature { header: SIGNATURE },
            ),
            (ID, VerifyError::MissingHeader { header: ID }),
            (TIMESTAMP, VerifyError::MissingHeader { header: TIMESTAMP }),
        ] {
            let mut h = full.clone();
            h.remove(name);
            assert_eq!(s.verify(&h, SPEC.body, now), Err(expected));
        }
    }

    #[test]
    fn malformed_headers_are_refused() {
        let s = scheme(&[SPEC.secret]);
        let now = at(SPEC.timestamp);
        for sig in [
            "tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
            "v1a,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
            "v1,not*base64",
        ] {
            let h = vector_headers(&SPEC, sig, SPEC.timestamp);
            assert_eq!(
                s.verify(&h, SPEC.body, now).unwrap_err().reason(),
                "malformed",
                "{sig}"
            );
        }
        let h = headers(&[
            ("webhook-id", SPEC.id),
            ("webhook-timestamp", "2022-04-07T21:39:13Z"),
            ("webhook-signature", SPEC.signature),
        ]);
        assert_eq!(
            s.verify(&h, SPEC.body, now).unwrap_err().reason(),
            "malformed"
        );
    }

    #[test]
    fn secrets_without_whsec_prefix_are_refused_at_build() {
        let err =
            StandardWebhooksScheme::new(&[Secret::literal("C2FVsBQIhrscChlQIMV+b5sSYspob7oD")])
                .unwrap_err();
        assert_eq!(err.field(), "secrets[0]");
        assert!(!err.to_string().contains("C2FV"));
        assert_eq!(
            StandardWebhooksScheme::new(&[]).unwrap_err(),
            WebhookConfigError::NoSecrets
        );
    }

    #[test]
    fn dedupes_on_webhook_id_and_reads_payload_type() {
        let s = scheme(&[SPEC.secret]);
        let h = vector_headers(&SPEC, SPEC.signature, SPEC.timestamp);
        assert_eq!(s.dedupe_key(&h, SPEC.body), SPEC.id);
        assert_eq!(
            s.dedupe_key(&HeaderMap::new(), SPEC.body),
            body_hash(SPEC.body)
        );
        let typed =
            br#"{"type":"invoice.paid","timestamp":"2022-11-03T20:26:10.344522Z","data":{}}"#;
        assert_eq!(s.event_type(&h, typed), "invoice.paid");
        assert_eq!(s.event_type(&h, SPEC.body), "unknown");
    }

    proptest! {
        #[test]
        fn any_single_byte_change_fails(
            body in proptest::collection::vec(any::<u8>(), 1..256),
            index in any::<prop::sample::Index>(),
            xor in 1u8..=255,
        ) {
            let secret = Secret::literal(SPEC.secret);
            let s = StandardWebhooksScheme::new(std::slice::from_ref(&secret)).unwrap();
            let h = headers(&sign::standard_webhooks(&secret, "msg_prop", 1_700_000_000, &body).unwrap());
            let now = at(1_700_000_000);
            prop_assert_eq!(s.verify(&h, &body, now), Ok(()));
            let mut tampered = body.clone();
            tampered[index.index(body.len())] ^= xor;
            prop_assert_eq!(
                s.verify(&h, &tampered, now),
                Err(VerifyError::NoMatch { header: SIGNATURE })
            );
        }
    }
}
