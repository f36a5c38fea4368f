//! The sending side of each scheme: the headers a provider would attach to a body.
//!
//! For the sandbox's webhook sender and for tests. Each function returns `(header, value)`
//! pairs to add to a request whose body is exactly `body`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::ExposeSecret;

use super::error::WebhookConfigError;
use super::keys::{decode_whsec, hmac_sha256};
use crate::config::Secret;

fn key(secret: &Secret) -> &[u8] {
    secret.expose().expose_secret().as_bytes()
}

/// GitHub: `X-Hub-Signature-256: sha256=<hex>`.
pub fn github(secret: &Secret, body: &[u8]) -> Vec<(&'static str, String)> {
    let mac = hmac_sha256(key(secret), &[body]);
    vec![(
        "X-Hub-Signature-256",
        format!("sha256={}", hex::encode(mac)),
    )]
}

/// Jira / Atlassian: `X-Hub-Signature: sha256=<hex>`.
pub fn jira(secret: &Secret, body: &[u8]) -> Vec<(&'static str, String)> {
    let mac = hmac_sha256(key(secret), &[body]);
    vec![("X-Hub-Signature", format!("sha256={}", hex::encode(mac)))]
}

/// Linear: `Linear-Signature: <hex>`. The body must carry `webhookTimestamp` (ms) itself.
pub fn linear(secret: &Secret, body: &[u8]) -> Vec<(&'static str, String)> {
    let mac = hmac_sha256(key(secret), &[body]);
    vec![("Linear-Signature", hex::encode(mac))]
}

/// Slack: `X-Slack-Request-Timestamp` and `X-Slack-Signature: v0=<hex>` over `v0:{ts}:{body}`.
pub fn slack(secret: &Secret, timestamp: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    let ts = timestamp.to_string();
    let mac = hmac_sha256(key(secret), &[b"v0:", ts.as_bytes(), b":", body]);
    vec![
        ("X-Slack-Request-Timestamp", ts),
        ("X-Slack-Signature", format!("v0={}", hex::encode(mac))),
    ]
}

/// Standard Webhooks / Svix / GitLab signing: `webhook-id`, `webhook-timestamp` and
/// `webhook-signature: v1,<base64>` over `{id}.{timestamp}.{body}`, keyed by a `whsec_` secret.
pub fn standard_webhooks(
    secret: &Secret,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<Vec<(&'static str, String)>, WebhookConfigError> {
    let key = decode_whsec(secret.expose().expose_secret())
        .map_err(|problem| WebhookConfigError::InvalidSecret { index: 0, problem })?;
    let ts = timestamp.to_string();
    let mac = hmac_sha256(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    Ok(vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", ts),
        ("webhook-signature", format!("v1,{}", STANDARD.encode(mac))),
    ])
}

/// GitLab's shared token: `X-Gitlab-Token: <token>`.
pub fn gitlab_token(token: &Secret) -> Vec<(&'static str, String)> {
    vec![("X-Gitlab-Token", token.expose().expose_secret().to_owned())]
}
