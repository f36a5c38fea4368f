//! The signed webhook sender: each delivery is the one the provider sends for a change the
//! sender makes to the provider's data, with the provider's headers and signature.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::Sha256;
use url::Url;

use crate::core::rng::SandboxRng;
use crate::core::time::now_secs;
use crate::error::SandboxError;
use crate::provider::{Delivery, Provider};

/// What to send, where, and how badly.
#[derive(Clone)]
pub struct SendOptions {
    /// Provider whose deliveries to send (one of [`PROVIDERS`](crate::PROVIDERS)).
    pub provider: String,
    /// Receiver URL (e.g. `http://127.0.0.1:8080/webhooks/github`).
    pub to: Url,
    /// Shared secret the signatures are made with.
    pub secret: SecretString,
    /// Only deliveries of this event (the provider's name for it: GitHub `pull_request`,
    /// GitLab `Merge Request Hook`, Slack `message`); every event the changes bring when `None`.
    pub event: Option<String>,
    /// Distinct deliveries to send.
    pub count: usize,
    /// Share of deliveries sent a second time with the same delivery id and body (after all the
    /// originals), as a provider's redelivery would.
    pub duplicate_rate: f64,
    /// Share of deliveries signed with the wrong key.
    pub bad_signature_rate: f64,
    /// Seed for the data, the changes and the choices above.
    pub seed: u64,
    /// Data scale the changes are made to (as the server's `--scale`).
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
    /// Options for `count` deliveries of `provider` to `to`, signed with `secret`: every event,
    /// no duplicates, no bad signatures, seed 1, concurrency 4, 10 s timeout.
    pub fn new(provider: &str, to: Url, secret: impl Into<String>, count: usize) -> Self {
        Self {
            provider: provider.to_owned(),
            to,
            secret: SecretString::from(secret.into()),
            event: None,
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
    /// The provider's delivery id (shared by an original and its duplicate).
    pub delivery_id: String,
    /// The provider's name for the event.
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
    delivery: Arc<Delivery>,
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

/// Records each round of changes touches.
const CHANGES_PER_ROUND: usize = 8;
/// Rounds of changes without one delivery of the wanted event before the sender gives up.
const ROUNDS_WITHOUT_A_DELIVERY: usize = 200;
/// Where the URLs inside payloads point: the sandbox's default address.
const PAYLOAD_BASE_URL: &str = "http://127.0.0.1:8787/";

/// Sends `options.count` signed deliveries (plus duplicates) and reports what came back.
///
/// The sender changes the provider's data (a sandbox's, for the same seed and scale) a few
/// records at a time, one second apart, and sends the delivery the provider sends for each
/// change. The changes, and which deliveries are duplicated or mis-signed, follow the seed; the
/// delivery ids are new in every run, as a provider's are, and with `concurrency > 1` the
/// arrival order is not fixed.
pub async fn send_webhooks(options: SendOptions) -> Result<SendReport, SandboxError> {
    check_rate("duplicate rate", options.duplicate_rate)?;
    check_rate("bad signature rate", options.bad_signature_rate)?;
    if options.concurrency == 0 {
        return Err(SandboxError::InvalidOptions(
            "concurrency must be at least 1".into(),
        ));
    }
    let provider = crate::server::provider_named(&options.provider, options.seed, options.scale)?;
    let client = reqwest::Client::builder()
        .timeout(options.timeout)
        .no_proxy()
        .build()
        .map_err(|e| SandboxError::HttpClient(e.to_string()))?;
    let plan = plan(provider.as_ref(), &options)?;

    let client = &client;
    let to = &options.to;
    let mut results: Vec<(usize, DeliveryResult)> = futures::stream::iter(plan)
        .map(|p| async move {
            let mut request = client.post(to.clone()).body(p.delivery.body.clone());
            for (name, value) in &p.delivery.headers {
                request = request.header(name.as_str(), value.as_str());
            }
            let (status, error) = match request.send().await {
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
                    delivery_id: p.delivery.id.clone(),
                    event: p.delivery.event.to_owned(),
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

/// The deliveries to send: originals in order, then the duplicates.
fn plan(provider: &dyn Provider, options: &SendOptions) -> Result<Vec<Planned>, SandboxError> {
    let secret = options.secret.expose_secret();
    let wrong_secret = format!("{secret}-not-the-secret");
    let mut rng = SandboxRng::derive(options.seed, "webhook", &[]);
    let mut at = provider.newest_timestamp().max(now_secs());
    let (mut plan, mut again) = (Vec::with_capacity(options.count), Vec::new());
    let (mut idle, mut seen) = (0, BTreeSet::new());
    while plan.len() < options.count {
        at += 1;
        let before = plan.len();
        for change in provider.mutate(CHANGES_PER_ROUND, at, &mut rng) {
            if plan.len() == options.count {
                break;
            }
            let bad_signature = rng.chance(options.bad_signature_rate);
            let duplicate = rng.chance(options.duplicate_rate);
            let key = if bad_signature { &wrong_secret } else { secret };
            let Some(delivery) = provider.webhook_for(&change, key, PAYLOAD_BASE_URL) else {
                continue;
            };
            seen.insert(delivery.event);
            if options
                .event
                .as_deref()
                .is_some_and(|e| e != delivery.event)
            {
                continue;
            }
            let delivery = Arc::new(delivery);
            if duplicate {
                again.push((Arc::clone(&delivery), bad_signature));
            }
            plan.push(Planned {
                index: plan.len(),
                delivery,
                duplicate: false,
                bad_signature,
            });
        }
        idle = if plan.len() > before { 0 } else { idle + 1 };
        if idle == ROUNDS_WITHOUT_A_DELIVERY {
            let seen: Vec<&str> = seen.into_iter().collect();
            return Err(SandboxError::InvalidOptions(format!(
                "{} sends no `{}` deliveries for the sandbox's changes (it sends: {})",
                options.provider,
                options.event.as_deref().unwrap_or("any"),
                if seen.is_empty() {
                    "none".to_owned()
                } else {
                    seen.join(", ")
                }
            )));
        }
    }
    let originals = plan.len();
    for (i, (delivery, bad_signature)) in again.into_iter().enumerate() {
        plan.push(Planned {
            index: originals + i,
            delivery,
            duplicate: true,
            bad_signature,
        });
    }
    Ok(plan)
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
        let o = SendOptions::new(
            "github",
            Url::parse("http://127.0.0.1:1/").unwrap(),
            "hunter2",
            1,
        );
        assert!(!format!("{o:?}").contains("hunter2"));
    }
}
