//! Linear: `Linear-Signature: <hex HMAC-SHA256 of the body>`, and the signed body's
//! `webhookTimestamp` (Unix milliseconds) within 60 seconds of our clock.

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde::Deserialize;

use super::SignatureScheme;
use super::dedupe::{first_header, or_body_hash, or_unknown, usable};
use super::error::{VerifyError, WebhookConfigError};
use super::headers::{decode_hex, signature_header};
use super::keys::HmacKeys;
use super::window::check_window_ms;
use crate::config::Secret;

const SIGNATURE: &str = "linear-signature";
const EVENT: &str = "linear-event";
const DELIVERY: &str = "linear-delivery";

/// Linear's documented replay window.
pub const LINEAR_TOLERANCE: Duration = Duration::from_secs(60);

/// Verifies Linear webhook deliveries.
#[derive(Debug, Clone)]
pub struct LinearScheme {
    keys: HmacKeys,
    tolerance: Duration,
}

impl LinearScheme {
    /// Accepts deliveries signed with any of `secrets`, within [`LINEAR_TOLERANCE`].
    pub fn new(secrets: &[Secret]) -> Result<Self, WebhookConfigError> {
        Ok(Self {
            keys: HmacKeys::raw(secrets)?,
            tolerance: LINEAR_TOLERANCE,
        })
    }

    /// Replaces the replay window.
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }
}

#[derive(Deserialize)]
struct TimestampField {
    #[serde(rename = "webhookTimestamp")]
    webhook_timestamp: Option<serde_json::Number>,
}

#[derive(Deserialize)]
struct TypeField {
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl SignatureScheme for LinearScheme {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<(), VerifyError> {
        let signature = decode_hex(SIGNATURE, signature_header(headers, SIGNATURE)?)?;
        if !self.keys.any_matches(&[body], &[signature]) {
            return Err(VerifyError::NoMatch { header: SIGNATURE });
        }
        // Only read the body once it is known to be Linear's: the timestamp is signed with it.
        let field = "webhookTimestamp";
        let number = serde_json::from_slice::<TimestampField>(body)
            .map_err(|_| VerifyError::MalformedBody {
                field,
                problem: "cannot be read: the body is not a JSON object",
            })?
            .webhook_timestamp
            .ok_or(VerifyError::MalformedBody {
                field,
                problem: "is missing",
            })?;
        let ms = number
            .as_i64()
            .map(i128::from)
            // Some encoders write integral floats (`1.7e12`); whole milliseconds are enough.
            .or_else(|| number.as_f64().filter(|f| f.is_finite()).map(|f| f as i128))
            .ok_or(VerifyError::MalformedBody {
                field,
                problem: "is not a number of milliseconds",
            })?;
        check_window_ms(ms, now, self.tolerance)
    }

    fn dedupe_key(&self, headers: &HeaderMap, body: &[u8]) -> String {
        or_body_hash(first_header(headers, &[DELIVERY]), body)
    }

    fn event_type(&self, headers: &HeaderMap, body: &[u8]) -> String {
        let event = first_header(headers, &[EVENT]).or_else(|| {
            serde_json::from_slice::<TypeField>(body)
                .ok()
                .and_then(|t| t.kind)
                .and_then(|t| usable(&t))
        });
        or_unknown(event)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::webhook::test_support::{flipped, headers};
    use crate::webhook::{body_hash, sign};

    const SENT_MS: u64 = 1_700_000_000_123;

    fn body_at(ms: u64) -> Vec<u8> {
        format!(
            r#"{{"action":"create","type":"Issue","data":{{"id":"i1"}},"webhookTimestamp":{ms}}}"#
        )
        .into_bytes()
    }

    fn now_plus(ms: i64) -> SystemTime {
        let base = UNIX_EPOCH + Duration::from_millis(SENT_MS);
        if ms >= 0 {
            base + Duration::from_millis(ms as u64)
        } else {
            base - Duration::from_millis((-ms) as u64)
        }
    }

    fn scheme(secrets: &[&str]) -> LinearScheme {
        let secrets: Vec<Secret> = secrets.iter().map(|s| Secret::literal(*s)).collect();
        LinearScheme::new(&secrets).unwrap()
    }

    fn signed(secret: &str, body: &[u8]) -> HeaderMap {
        let mut pairs = sign::linear(&Secret::literal(secret), body);
        pairs.push((
            "Linear-Delivery",
            "234d1a4e-b617-4388-90fe-adc3633d6b72".to_owned(),
        ));
        pairs.push(("Linear-Event", "Issue".to_owned()));
        headers(&pairs)
    }

    #[test]
    fn signature_is_hex_hmac_of_the_body() {
        // Linear publishes no example values; cross-checked with
        // `printf '{"a":1}' | openssl dgst -sha256 -hmac lin_wh_secret`.
        assert_eq!(
            sign::linear(&Secret::literal("lin_wh_secret"), br#"{"a":1}"#)[0].1,
            "dbb59f00518dbda900e3d97f59470d684430ded880b445c8014b0fbb5cd531d1"
        );
    }

    #[test]
    fn accepts_a_fresh_signed_delivery() {
        let body = body_at(SENT_MS);
        assert_eq!(
            scheme(&["k"]).verify(&signed("k", &body), &body, now_plus(59_000)),
            Ok(())
        );
    }

    #[test]
    fn refuses_tampered_body_and_wrong_secret() {
        let body = body_at(SENT_MS);
        let headers = signed("k", &body);
        assert_eq!(
            scheme(&["k"]).verify(&headers, &flipped(&body, 3), now_plus(0)),
            Err(VerifyError::NoMatch { header: SIGNATURE })
        );
        assert_eq!(
            scheme(&["x"])
                .verify(&headers, &body, now_plus(0))
                .unwrap_err()
                .reason(),
            "bad_signature"
        );
    }

    #[test]
    fn accepts_the_second_secret_while_rotating() {
        let body = body_at(SENT_MS);
        assert_eq!(
            scheme(&["new", "k"]).verify(&signed("k", &body), &body, now_plus(0)),
            Ok(())
        );
    }

    #[test]
    fn refuses_deliveries_outside_sixty_seconds() {
        let body = body_at(SENT_MS);
        let headers = signed("k", &body);
        assert_eq!(
            scheme(&["k"]).verify(&headers, &body, now_plus(61_000)),
            Err(VerifyError::Expired {
                age_secs: 61,
                tolerance_secs: 60
            })
        );
        assert_eq!(
            scheme(&["k"])
                .verify(&headers, &body, now_plus(-120_000))
                .unwrap_err()
                .reason(),
            "future_timestamp"
        );
        let wider = scheme(&["k"]).with_tolerance(Duration::from_secs(300));
        assert_eq!(wider.verify(&headers, &body, now_plus(61_000)), Ok(()));
    }

    #[test]
    fn signed_body_without_timestamp_is_malformed() {
        let body = br#"{"type":"Issue"}"#;
        let err = scheme(&["k"])
            .verify(&signed("k", body), body, now_plus(0))
            .unwrap_err();
        assert_eq!(
            err,
            VerifyError::MalformedBody {
                field: "webhookTimestamp",
                problem: "is missing"
            }
        );
        let body = b"[1,2]";
        let err = scheme(&["k"])
            .verify(&signed("k", body), body, now_plus(0))
            .unwrap_err();
        assert_eq!(err.reason(), "malformed");
    }

    #[test]
    fn missing_and_malformed_signature_headers() {
        let body = body_at(SENT_MS);
        assert_eq!(
            scheme(&["k"]).verify(&HeaderMap::new(), &body, now_plus(0)),
            Err(VerifyError::MissingSignature { header: SIGNATURE })
        );
        let headers = headers(&[(SIGNATURE, "sha256=abc")]);
        assert_eq!(
            scheme(&["k"])
                .verify(&headers, &body, now_plus(0))
                .unwrap_err()
                .reason(),
            "malformed"
        );
    }

    #[test]
    fn dedupes_on_linear_delivery_and_reads_linear_event() {
        let body = body_at(SENT_MS);
        let s = scheme(&["k"]);
        assert_eq!(
            s.dedupe_key(&signed("k", &body), &body),
            "234d1a4e-b617-4388-90fe-adc3633d6b72"
        );
        assert_eq!(s.dedupe_key(&HeaderMap::new(), &body), body_hash(&body));
        assert_eq!(s.event_type(&signed("k", &body), &body), "Issue");
        assert_eq!(s.event_type(&HeaderMap::new(), &body), "Issue");
        assert_eq!(s.event_type(&HeaderMap::new(), b"{}"), "unknown");
    }
}
