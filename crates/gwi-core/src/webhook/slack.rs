//! Slack: `X-Slack-Signature: v0=<hex>` over `v0:{X-Slack-Request-Timestamp}:{body}`, within
//! five minutes; the Events API's `url_verification` challenge is answered after verification.

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde::Deserialize;

use super::dedupe::{or_body_hash, or_unknown, usable};
use super::error::{VerifyError, WebhookConfigError};
use super::headers::{decode_hex, required_header, signature_header, unix_seconds};
use super::keys::HmacKeys;
use super::window::check_window_secs;
use super::{Handshake, SignatureScheme};
use crate::config::Secret;

const SIGNATURE: &str = "x-slack-signature";
const TIMESTAMP: &str = "x-slack-request-timestamp";

/// Slack's documented replay window.
pub const SLACK_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// Verifies Slack requests (Events API, slash commands, interactivity).
#[derive(Debug, Clone)]
pub struct SlackScheme {
    keys: HmacKeys,
    tolerance: Duration,
}

impl SlackScheme {
    /// Accepts requests signed with any of the app's signing `secrets`, within [`SLACK_TOLERANCE`].
    pub fn new(secrets: &[Secret]) -> Result<Self, WebhookConfigError> {
        Ok(Self {
            keys: HmacKeys::raw(secrets)?,
            tolerance: SLACK_TOLERANCE,
        })
    }

    /// Replaces the replay window.
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The `challenge` of an Events API `url_verification` request, which Slack expects echoed
    /// back as `{"challenge": ...}`. Call only on a verified body.
    pub fn url_verification_challenge(body: &[u8]) -> Option<String> {
        let envelope: Envelope = serde_json::from_slice(body).ok()?;
        match (envelope.kind.as_deref(), envelope.challenge) {
            (Some("url_verification"), Some(challenge)) => Some(challenge),
            _ => None,
        }
    }
}

/// The fields of an Events API body gwi reads; everything else is skipped unparsed.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: Option<String>,
    event_id: Option<String>,
    event: Option<InnerEvent>,
    challenge: Option<String>,
}

#[derive(Deserialize)]
struct InnerEvent {
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl SignatureScheme for SlackScheme {
    fn name(&self) -> &'static str {
        "slack"
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<(), VerifyError> {
        let value = signature_header(headers, SIGNATURE)?;
        let timestamp = required_header(headers, TIMESTAMP)?;
        let signed_at = unix_seconds(TIMESTAMP, timestamp)?;
        let hex = value
            .strip_prefix("v0=")
            .ok_or(VerifyError::MalformedHeader {
                header: SIGNATURE,
                problem: "expected v0=<hex>",
            })?;
        let signature = decode_hex(SIGNATURE, hex)?;
        // The timestamp is signed as the exact text Slack sent.
        let parts: [&[u8]; 4] = [b"v0:", timestamp.as_bytes(), b":", body];
        if !self.keys.any_matches(&parts, &[signature]) {
            return Err(VerifyError::NoMatch { header: SIGNATURE });
        }
        check_window_secs(signed_at, now, self.tolerance)
    }

    /// The Events API's `event_id` (the same on Slack's retries), else the body hash (slash
    /// commands and interactivity payloads carry no delivery id).
    fn dedupe_key(&self, _headers: &HeaderMap, body: &[u8]) -> String {
        let id = serde_json::from_slice::<Envelope>(body)
            .ok()
            .and_then(|e| e.event_id)
            .and_then(|id| usable(&id));
        or_body_hash(id, body)
    }

    /// `event.type` (e.g. `message`), else the envelope's `type` (`url_verification`,
    /// `event_callback`); for form posts, the interactivity payload's `type` or `slash_command`.
    fn event_type(&self, _headers: &HeaderMap, body: &[u8]) -> String {
        or_unknown(json_event_type(body).or_else(|| form_event_type(body)))
    }

    fn handshake(&self, _headers: &HeaderMap, body: &[u8]) -> Option<Handshake> {
        let challenge = Self::url_verification_challenge(body)?;
        Some(Handshake {
            content_type: "application/json",
            body: serde_json::json!({ "challenge": challenge }).to_string(),
        })
    }
}

fn json_event_type(body: &[u8]) -> Option<String> {
    let envelope: Envelope = serde_json::from_slice(body).ok()?;
    envelope
        .event
        .and_then(|e| e.kind)
        .or(envelope.kind)
        .and_then(|t| usable(&t))
}

fn form_event_type(body: &[u8]) -> Option<String> {
    let mut command = false;
    for (key, value) in url::form_urlencoded::parse(body) {
        match key.as_ref() {
            "payload" => return json_event_type(value.as_bytes()),
            "command" => command = true,
            _ => {}
        }
    }
    command.then(|| "slash_command".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::test_support::{at, flipped, headers};
    use crate::webhook::{body_hash, sign};

    // The worked example on Slack's "Verifying requests from Slack" page.
    const DOC_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const DOC_TIMESTAMP: u64 = 1_531_420_618;
    const DOC_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const DOC_SIGNATURE: &str =
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn scheme(secrets: &[&str]) -> SlackScheme {
        let secrets: Vec<Secret> = secrets.iter().map(|s| Secret::literal(*s)).collect();
        SlackScheme::new(&secrets).unwrap()
    }

    fn doc_headers() -> HeaderMap {
        headers(&[
            (
                "X-Slack-Request-Timestamp",
                DOC_TIMESTAMP.to_string().as_str(),
            ),
            ("X-Slack-Signature", DOC_SIGNATURE),
        ])
    }

    #[test]
    fn accepts_slacks_published_example() {
        let result = scheme(&[DOC_SECRET]).verify(
            &doc_headers(),
            DOC_BODY.as_bytes(),
            at(DOC_TIMESTAMP + 10),
        );
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn signing_helper_reproduces_the_published_signature() {
        let pairs = sign::slack(
            &Secret::literal(DOC_SECRET),
            DOC_TIMESTAMP as i64,
            DOC_BODY.as_bytes(),
        );
        assert_eq!(pairs[1], ("X-Slack-Signature", DOC_SIGNATURE.to_owned()));
    }

    #[test]
    fn refuses_a_changed_body_byte_or_timestamp() {
        let s = scheme(&[DOC_SECRET]);
        let now = at(DOC_TIMESTAMP);
        assert_eq!(
            s.verify(&doc_headers(), &flipped(DOC_BODY.as_bytes(), 0), now),
            Err(VerifyError::NoMatch { header: SIGNATURE })
        );
        let moved = headers(&[
            (
                "X-Slack-Request-Timestamp",
                (DOC_TIMESTAMP + 1).to_string().as_str(),
            ),
            ("X-Slack-Signature", DOC_SIGNATURE),
        ]);
        assert_eq!(
            s.verify(&moved, DOC_BODY.as_bytes(), now),
            Err(VerifyError::NoMatch { header: SIGNATURE })
        );
    }

    #[test]
    fn refuses_the_wrong_secret_and_accepts_a_rotated_one() {
        let now = at(DOC_TIMESTAMP);
        assert_eq!(
            scheme(&["other"])
                .verify(&doc_headers(), DOC_BODY.as_bytes(), now)
                .unwrap_err()
                .reason(),
            "bad_signature"
        );
        assert_eq!(
            scheme(&["other", DOC_SECRET]).verify(&doc_headers(), DOC_BODY.as_bytes(), now),
            Ok(())
        );
    }

    #[test]
    fn refuses_outside_the_five_minute_window() {
        let s = scheme(&[DOC_SECRET]);
        assert_eq!(
            s.verify(&doc_headers(), DOC_BODY.as_bytes(), at(DOC_TIMESTAMP + 301)),
            Err(VerifyError::Expired {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        assert_eq!(
            s.verify(&doc_headers(), DOC_BODY.as_bytes(), at(DOC_TIMESTAMP - 301)),
            Err(VerifyError::FromFuture {
                ahead_secs: 301,
                tolerance_secs: 300
            })
        );
        assert_eq!(
            s.verify(&doc_headers(), DOC_BODY.as_bytes(), at(DOC_TIMESTAMP + 300)),
            Ok(())
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_named() {
        let s = scheme(&[DOC_SECRET]);
        let now = at(DOC_TIMESTAMP);
        let only_sig = headers(&[("X-Slack-Signature", DOC_SIGNATURE)]);
        assert_eq!(
            s.verify(&only_sig, DOC_BODY.as_bytes(), now),
            Err(VerifyError::MissingHeader { header: TIMESTAMP })
        );
        let only_ts = headers(&[("X-Slack-Request-Timestamp", "1531420618")]);
        assert_eq!(
            s.verify(&only_ts, DOC_BODY.as_bytes(), now),
            Err(VerifyError::MissingSignature { header: SIGNATURE })
        );
        for (ts, sig) in [
            ("yesterday", DOC_SIGNATURE),
            ("1531420618", "v1=a2114d57"),
            ("1531420618", "v0=not-hex"),
        ] {
            let bad = headers(&[
                ("X-Slack-Request-Timestamp", ts),
                ("X-Slack-Signature", sig),
            ]);
            let err = s.verify(&bad, DOC_BODY.as_bytes(), now).unwrap_err();
            assert_eq!(err.reason(), "malformed", "{ts} {sig}");
        }
    }

    #[test]
    fn url_verification_is_answered_with_its_challenge() {
        let body = br#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
        let s = scheme(&["k"]);
        let pairs = sign::slack(&Secret::literal("k"), 1_700_000_000, body);
        assert_eq!(s.verify(&headers(&pairs), body, at(1_700_000_000)), Ok(()));
        let reply = s.handshake(&headers(&pairs), body).unwrap();
        assert_eq!(reply.content_type, "application/json");
        let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
        );
        assert_eq!(s.event_type(&HeaderMap::new(), body), "url_verification");
    }

    #[test]
    fn ordinary_events_are_not_handshakes() {
        let body = br#"{"type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"message"},"challenge":"x"}"#;
        assert_eq!(scheme(&["k"]).handshake(&HeaderMap::new(), body), None);
        assert_eq!(
            SlackScheme::url_verification_challenge(DOC_BODY.as_bytes()),
            None
        );
    }

    #[test]
    fn dedupes_on_event_id_else_body_hash() {
        let s = scheme(&["k"]);
        let event =
            br#"{"type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"message"}}"#;
        assert_eq!(s.dedupe_key(&HeaderMap::new(), event), "Ev08MFMKH6");
        assert_eq!(
            s.dedupe_key(&HeaderMap::new(), DOC_BODY.as_bytes()),
            body_hash(DOC_BODY.as_bytes())
        );
    }

    #[test]
    fn event_type_reads_inner_event_then_envelope_then_form() {
        let s = scheme(&["k"]);
        let h = HeaderMap::new();
        let event = br#"{"type":"event_callback","event":{"type":"app_mention"}}"#;
        assert_eq!(s.event_type(&h, event), "app_mention");
        assert_eq!(
            s.event_type(&h, br#"{"type":"app_rate_limited"}"#),
            "app_rate_limited"
        );
        assert_eq!(s.event_type(&h, DOC_BODY.as_bytes()), "slash_command");
        let interactive = b"payload=%7B%22type%22%3A%22block_actions%22%7D";
        assert_eq!(s.event_type(&h, interactive), "block_actions");
        assert_eq!(s.event_type(&h, b"nothing=here"), "unknown");
    }
}
