//! The signed webhook sender: realistic deliveries with the provider's headers and signature.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use futures::StreamExt as _;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::Sha256;
use url::Url;

use crate::core::rng::SandboxRng;
use crate::error::SandboxError;
use crate::github::webhooks::{GitHubEvent, build};
use crate::github::{Data, Templates, View};

/// Which provider's webhook format to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookProvider {
    /// GitHub: `X-GitHub-Event`, `X-GitHub-Delivery`, `X-Hub-Signature-256`.
    GitHub,
}

impl FromStr for WebhookProvider {
    type Err = SandboxError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "github" => Ok(Self::GitHub),
            other => Err(SandboxError::InvalidOptions(format!(
                "unknown webhook provider `{other}` (known: github)"
            ))),
        }
    }
}

impl fmt::Display for WebhookProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("github")
    }
}

/// What to send, where, and how badly.
#[derive(Clone)]
pub struct SendOptions {
    /// Provider format.
    pub provider: WebhookProvider,
    /// Receiver URL (e.g. `http://127.0.0.1:8080/webhooks/github`).
    pub to: Url,
    /// Shared secret the signatures are made with.
    pub secret: SecretString,
    /// Event type (GitHub: `pull_request`, `issues`, `issue_comment`, `pull_request_review`,
    /// `push`, `workflow_run`).
    pub event: String,
    /// Distinct deliveries to send.
    pub count: usize,
    /// Share of deliveries sent a second time with the same delivery id and body (after all the
    /// originals), as a provider's redelivery would.
    pub duplicate_rate: f64,
    /// Share of deliveries signed with the wrong key.
    pub bad_signature_rate: f64,
    /// Seed for the payload data and the choices above (same seed, same deliveries).
    pub seed: u64,
    /// Data scale the payloads are drawn from (as the server's `--scale`).
    pub scale: u32,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl fmt::Debug for SendOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendOptions")
            .field("provider", &self.provider)
            .field("to", &self.to.as_str())
            .field("secret", &"[redacted]")
            .field("event", &self.event)
            .field("count", &self.count)
            .field("duplicate_rate", &self.duplicate_rate)
            .field("bad_signature_rate", &self.bad_signature_rate)
            .field("seed", &self.seed)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl SendOptions {
    /// Options for `count` GitHub `event` deliveries to `to`, signed with `secret`; no duplicates,
    /// no bad signatures, seed 1, concurrency 4, 10 s timeout.
    pub fn github(to: Url, secret: impl Into<String>, event: &str, count: usize) -> Self {
        Self {
            provider: WebhookProvider::GitHub,
            to,
            secret: SecretString::from(secret.into()),
            event: event.to_owned(),
            count,
            duplicate_rate: 0.0,
            bad_signature_rate: 0.0,
            seed: 1,
            scale: 1,
            concurrency: 4,
            timeout: Duration::from_secs(10),
        }
    }
}

/// The outcome of one HTTP request the sender made.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryResult {
    /// The `X-GitHub-Delivery` id (shared by an original and its duplicate).
    pub delivery_id: String,
    /// Event type.
    pub event: String,
    /// This request re-sent an earlier delivery.
    pub duplicate: bool,
    /// The signature was made with the wrong key.
    pub bad_signature: bool,
    /// HTTP status, when a response came back.
    pub status: Option<u16>,
    /// Transport error, when none did.
    pub error: Option<String>,
}

/// What [`send_webhooks`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SendReport {
    /// HTTP requests made (originals plus duplicates).
    pub sent: usize,
    /// Distinct deliveries.
    pub deliveries: usize,
    /// Duplicate requests.
    pub duplicates: usize,
    /// Requests with a bad signature (duplicates of a badly signed delivery count again).
    pub bad_signatures: usize,
    /// Requests that got no response.
    pub transport_errors: usize,
    /// Responses per HTTP status.
    pub status_counts: BTreeMap<u16, usize>,
    /// Every request, in send-plan order.
    pub results: Vec<DeliveryResult>,
}

/// `sha256=<hex HMAC-SHA256 of body with secret>`: GitHub's `X-Hub-Signature-256`.
pub fn github_signature(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hmac_sha256_hex(secret, &[body]))
}

/// Hex HMAC-SHA256 of `parts` in turn under `secret`: what every provider's signature is made of.
pub fn hmac_sha256_hex(secret: &[u8], parts: &[&[u8]]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

struct Planned {
    index: usize,
    delivery_id: String,
    event: String,
    body: bytes::Bytes,
    signature: String,
    target_id: u64,
    duplicate: bool,
    bad_signature: bool,
}

fn check_rate(name: &str, r: f64) -> Result<(), SandboxError> {
    if (0.0..=1.0).contains(&r) {
        Ok(())
    } else {
        Err(SandboxError::InvalidOptions(format!(
            "{name} must be between 0 and 1, got {r}"
        )))
    }
}

/// Payloads drawn at most per delivery in search of a body not sent before.
const DISTINCT_BODY_DRAWS: usize = 16;

/// Sends `options.count` signed deliveries (plus duplicates) and reports what came back.
///
/// Payloads are built from the same data a sandbox with the same seed and scale serves. The plan
/// (payloads, ids, which are duplicated or mis-signed) is fully determined by the seed; with
/// `concurrency > 1` the arrival order is not.
pub async fn send_webhooks(options: SendOptions) -> Result<SendReport, SandboxError> {
    check_rate("duplicate rate", options.duplicate_rate)?;
    check_rate("bad signature rate", options.bad_signature_rate)?;
    if options.concurrency == 0 {
        return Err(SandboxError::InvalidOptions(
            "concurrency must be at least 1".into(),
        ));
    }
    let WebhookProvider::GitHub = options.provider;
    let event: GitHubEvent = options.event.parse()?;
    let client = reqwest::Client::builder()
        .timeout(options.timeout)
        .no_proxy()
        .build()
        .map_err(|e| SandboxError::HttpClient(e.to_string()))?;

    let data = Data::generate(options.seed, options.scale);
    let templates = Templates::load()?;
    let roots = ("https://api.github.com", "https://github.com");
    let view = View::new(&templates, &data, roots, None);
    let secret = options.secret.expose_secret().as_bytes();
    let wrong_secret = [secret, b"-not-the-secret"].concat();
    let hook_id = 400_000_000 + options.seed % 100_000_000;
    let user_agent = format!(
        "GitHub-Hookshot/{:07x}",
        SandboxRng::derive(options.seed, "hookshot", &[]).next_u64() & 0xfff_ffff
    );

    let mut plan = Vec::with_capacity(options.count);
    let mut again = Vec::new();
    let mut bodies = std::collections::HashSet::new();
    for k in 0..options.count {
        let mut rng = SandboxRng::derive(options.seed, "webhook", &[k as u64]);
        // Each original carries a body no earlier one had, as GitHub's do (each describes one
        // change): a receiver rightly treats a repeated body as a replay. A few draws find one.
        let (mut body, mut target_id) = (bytes::Bytes::new(), 0);
        for _ in 0..DISTINCT_BODY_DRAWS {
            let (payload, target) = build(&view, &data, event, &mut rng);
            body = bytes::Bytes::from(serde_json::to_vec(&payload).unwrap_or_default());
            target_id = target;
            if !bodies.contains(&body) {
                break;
            }
        }
        bodies.insert(body.clone());
        // Payloads and fault draws follow the seed, but every run's deliveries are new ones
        // (as GitHub's are): a seeded id would make a second run, or another event type, look
        // like redeliveries and be deduplicated away.
        let delivery_id = uuid::Uuid::new_v4().to_string();
        let bad_signature = rng.chance(options.bad_signature_rate);
        let duplicate = rng.chance(options.duplicate_rate);
        let signature = github_signature(if bad_signature { &wrong_secret } else { secret }, &body);
        let p = Planned {
            index: k,
            delivery_id,
            event: event.name().to_owned(),
            body,
            signature,
            target_id,
            duplicate: false,
            bad_signature,
        };
        if duplicate {
            again.push(Planned {
                index: options.count + again.len(),
                delivery_id: p.delivery_id.clone(),
                event: p.event.clone(),
                body: p.body.clone(),
                signature: p.signature.clone(),
                target_id,
                duplicate: true,
                bad_signature,
            });
        }
        plan.push(p);
    }
    plan.extend(again);

    let client = &client;
    let to = &options.to;
    let user_agent = user_agent.as_str();
    let mut results: Vec<(usize, DeliveryResult)> = futures::stream::iter(plan)
        .map(|p| async move {
            let response = client
                .post(to.clone())
                .header("content-type", "application/json")
                .header("user-agent", user_agent)
                .header("x-github-event", p.event.as_str())
                .header("x-github-delivery", p.delivery_id.as_str())
                .header("x-github-hook-id", hook_id.to_string())
                .header("x-github-hook-installation-target-type", "repository")
                .header(
                    "x-github-hook-installation-target-id",
                    p.target_id.to_string(),
                )
                .header("x-hub-signature-256", p.signature.as_str())
                .body(p.body.clone())
                .send()
                .await;
            let (status, error) = match response {
                Ok(r) => {
                    let status = r.status().as_u16();
                    // Drain the body so the connection can be reused.
                    let _ = r.bytes().await;
                    (Some(status), None)
                }
                Err(e) => (None, Some(e.to_string())),
            };
            (
                p.index,
                DeliveryResult {
                    delivery_id: p.delivery_id,
                    event: p.event,
                    duplicate: p.duplicate,
                    bad_signature: p.bad_signature,
                    status,
                    error,
                },
            )
        })
        .buffer_unordered(options.concurrency)
        .collect()
        .await;
    results.sort_by_key(|(i, _)| *i);

    let mut report = SendReport {
        deliveries: options.count,
        ..SendReport::default()
    };
    for (_, r) in results {
        report.sent += 1;
        report.duplicates += usize::from(r.duplicate);
        report.bad_signatures += usize::from(r.bad_signature);
        match r.status {
            Some(s) => *report.status_counts.entry(s).or_insert(0) += 1,
            None => report.transport_errors += 1,
        }
        report.results.push(r);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_githubs_documented_example() {
        // From GitHub's "Validating webhook deliveries" guide.
        assert_eq!(
            github_signature(b"It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let o = SendOptions::github(
            Url::parse("http://127.0.0.1:1/").unwrap(),
            "hunter2",
            "push",
            1,
        );
        assert!(!format!("{o:?}").contains("hunter2"));
    }
}
