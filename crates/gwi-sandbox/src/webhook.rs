//! The signed webhook sender: each delivery is the one the provider sends for a change the
//! sender makes to the provider's data, with the provider's headers and signature.

use std::collections::{BTreeMap, VecDeque};
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
use crate::core::time::{Secs, now_secs};
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

/// Records each round of changes touches; rounds are stamped one second apart.
const CHANGES_PER_ROUND: usize = 32;
/// Rounds of changes without one delivery of the wanted event before the sender gives up.
const ROUNDS_WITHOUT_A_DELIVERY: usize = 200;
/// Where the URLs inside payloads point: the sandbox's default address.
const PAYLOAD_BASE_URL: &str = "http://127.0.0.1:8787/";

/// Sends `options.count` signed deliveries (plus duplicates) and reports what came back.
///
/// The sender changes its own copy of the provider's data (what a sandbox with the same seed
/// and scale serves) a few records at a time, and sends the delivery the provider sends for each
/// change as soon as it is made, so timestamps that receivers bound (Slack's, Linear's) are
/// fresh. Rounds of changes are stamped one second apart from now, so a long run stamps its last
/// changes ahead of the clock (about `count / 32` seconds). A duplicate follows its original one
/// round later. The changes, and which deliveries are duplicated or mis-signed, follow the seed;
/// the delivery ids are new in every run, as a provider's are, and with `concurrency > 1` the
/// arrival order is not fixed.
pub async fn send_webhooks(options: SendOptions) -> Result<SendReport, SandboxError> {
    check_rate("duplicate rate", options.duplicate_rate)?;
    check_rate("bad signature rate", options.bad_signature_rate)?;
    if options.concurrency == 0 {
        return Err(SandboxError::InvalidOptions(
            "concurrency must be at least 1".into(),
        ));
    }
    let events = crate::server::webhook_events(&options.provider).ok_or_else(|| {
        SandboxError::UnknownProvider(options.provider.clone(), crate::PROVIDERS.join(", "))
    })?;
    if let Some(event) = options.event.as_deref().filter(|e| !events.contains(e)) {
        return Err(SandboxError::InvalidOptions(format!(
            "{} sends no `{event}` deliveries (its events: {})",
            options.provider,
            events.join(", ")
        )));
    }
    let provider = crate::server::provider_named(
        &options.provider,
        (options.seed, options.scale),
        crate::TokenPolicy::default(),
        crate::RateLimitConfig::default(),
    )?;
    let client = reqwest::Client::builder()
        .timeout(options.timeout)
        .no_proxy()
        .build()
        .map_err(|e| SandboxError::HttpClient(e.to_string()))?;
    let mut plan = Plan::new(provider.as_ref(), &options);

    let client = &client;
    let to = &options.to;
    let mut results: Vec<(usize, DeliveryResult)> = futures::stream::iter(plan.by_ref())
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

    if plan.idle == ROUNDS_WITHOUT_A_DELIVERY {
        return Err(SandboxError::InvalidOptions(format!(
            "{} stopped bringing `{}` deliveries after {} of {}",
            options.provider,
            options.event.as_deref().unwrap_or("any"),
            plan.made,
            options.count
        )));
    }
    let mut report = SendReport {
        deliveries: plan.made,
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

/// The deliveries to send, made a round of changes at a time as the sender asks for them:
/// each round's originals, then the previous round's duplicates.
struct Plan<'a> {
    provider: &'a dyn Provider,
    options: &'a SendOptions,
    wrong_secret: String,
    rng: SandboxRng,
    at: Secs,
    /// Originals made so far.
    made: usize,
    /// Deliveries handed out so far (originals and duplicates).
    sent: usize,
    /// Rounds in a row that brought no delivery of the wanted event.
    idle: usize,
    ready: VecDeque<Planned>,
    /// This round's deliveries to send again, with whether they are mis-signed.
    again: Vec<(Arc<Delivery>, bool)>,
}

impl<'a> Plan<'a> {
    fn new(provider: &'a dyn Provider, options: &'a SendOptions) -> Self {
        Self {
            provider,
            options,
            wrong_secret: format!("{}-not-the-secret", options.secret.expose_secret()),
            rng: SandboxRng::derive(options.seed, "webhook", &[]),
            at: provider.newest_timestamp().max(now_secs()),
            made: 0,
            sent: 0,
            idle: 0,
            ready: VecDeque::new(),
            again: Vec::new(),
        }
    }

    fn push(&mut self, delivery: Arc<Delivery>, duplicate: bool, bad_signature: bool) {
        self.ready.push_back(Planned {
            index: self.sent,
            delivery,
            duplicate,
            bad_signature,
        });
        self.sent += 1;
    }

    /// Makes one round of changes: queues its deliveries, then the last round's duplicates.
    fn round(&mut self) {
        let earlier = std::mem::take(&mut self.again);
        self.at += 1;
        let (options, before) = (self.options, self.made);
        for change in self
            .provider
            .mutate(CHANGES_PER_ROUND, self.at, &mut self.rng)
        {
            if self.made == options.count {
                break;
            }
            let bad_signature = self.rng.chance(options.bad_signature_rate);
            let duplicate = self.rng.chance(options.duplicate_rate);
            let secret = if bad_signature {
                self.wrong_secret.as_str()
            } else {
                options.secret.expose_secret()
            };
            let Some(delivery) = self.provider.webhook_for(&change, secret, PAYLOAD_BASE_URL)
            else {
                continue;
            };
            if options
                .event
                .as_deref()
                .is_some_and(|e| e != delivery.event)
            {
                continue;
            }
            let delivery = Arc::new(delivery);
            if duplicate {
                self.again.push((Arc::clone(&delivery), bad_signature));
            }
            self.push(delivery, false, bad_signature);
            self.made += 1;
        }
        for (delivery, bad_signature) in earlier {
            self.push(delivery, true, bad_signature);
        }
        self.idle = if self.made > before { 0 } else { self.idle + 1 };
    }
}

impl Iterator for Plan<'_> {
    type Item = Planned;

    fn next(&mut self) -> Option<Planned> {
        loop {
            if let Some(next) = self.ready.pop_front() {
                return Some(next);
            }
            let done = self.made == self.options.count || self.idle == ROUNDS_WITHOUT_A_DELIVERY;
            if done {
                let last = std::mem::take(&mut self.again);
                if last.is_empty() {
                    return None;
                }
                for (delivery, bad_signature) in last {
                    self.push(delivery, true, bad_signature);
                }
            } else {
                self.round();
            }
        }
    }
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
