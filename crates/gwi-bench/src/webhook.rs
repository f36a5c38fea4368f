//! GitHub webhook deliveries for the load generator: payloads and their signatures.

use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::github::{Detail, RepoContext, pull_request, repository, user};

/// The `X-Hub-Signature-256` value GitHub sends: `sha256=` + hex HMAC-SHA256 of the raw body.
pub fn github_signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail; the fallback keeps clippy happy
    // without a panic path.
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::from("sha256="),
    }
}

const ACTIONS: [&str; 6] = [
    "opened",
    "synchronize",
    "edited",
    "labeled",
    "review_requested",
    "closed",
];

/// A `pull_request` event body for PR `number`, shaped like GitHub's (full nested objects).
pub fn pull_request_event(number: u64, ctx: &RepoContext) -> Vec<u8> {
    let action = ACTIONS[(number % ACTIONS.len() as u64) as usize];
    let body = json!({
        "action": action,
        "number": number,
        "pull_request": pull_request(number, 0, ctx, Detail::Webhook),
        "repository": repository(ctx, Detail::Webhook),
        "organization": {
            "login": ctx.owner,
            "id": 9_001,
            "node_id": "O_kgDObench",
            "url": format!("{}/orgs/{}", ctx.api_base, ctx.owner),
            "description": "",
        },
        "sender": user("octocat", 583_231, ctx, Detail::Webhook),
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// A pre-signed delivery body.
#[derive(Debug, Clone)]
pub struct SignedBody {
    /// The raw JSON body.
    pub body: Bytes,
    /// Its `X-Hub-Signature-256` header value.
    pub signature: String,
}

/// `count` distinct `pull_request` bodies (PR numbers 1..=count), rendered before the load
/// starts so the generator spends its CPU on sending, not on JSON.
pub fn body_pool(count: usize, ctx: &RepoContext) -> Vec<Bytes> {
    (1..=count.max(1) as u64)
        .map(|n| Bytes::from(pull_request_event(n, ctx)))
        .collect()
}

/// Delivery `seq` of run `run`: `template` with both as its first field, and its signature.
/// Every delivery differs, across runs too, as GitHub's do, so a receiver that recognises a
/// replayed body (gwi does) stores each one.
pub fn unique_delivery(template: &[u8], run: &str, seq: u64, secret: &[u8]) -> SignedBody {
    let rest = template.strip_prefix(b"{").unwrap_or(template);
    let mut body = Vec::with_capacity(template.len() + 64);
    body.extend_from_slice(format!("{{\"gwi_bench_delivery\":\"{run}-{seq}\",").as_bytes());
    body.extend_from_slice(rest);
    let signature = github_signature(secret, &body);
    SignedBody {
        body: Bytes::from(body),
        signature,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_githubs_documented_example() {
        // From GitHub's "Validating webhook deliveries" documentation.
        assert_eq!(
            github_signature(b"It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }

    #[test]
    fn event_body_is_a_realistic_size() {
        let ctx = RepoContext::new("acme", "widgets", "https://api.github.com");
        for n in 1..20 {
            let len = pull_request_event(n, &ctx).len();
            assert!((5_000..=25_000).contains(&len), "PR {n}: {len} bytes");
        }
    }

    #[test]
    fn event_body_names_action_number_and_repository() {
        let ctx = RepoContext::new("acme", "widgets", "https://api.github.com");
        let v: serde_json::Value =
            serde_json::from_slice(&pull_request_event(12, &ctx)).unwrap_or_default();
        assert_eq!(v["number"], 12);
        assert_eq!(v["pull_request"]["number"], 12);
        assert_eq!(v["repository"]["full_name"], "acme/widgets");
        assert!(v["action"].is_string());
    }

    #[test]
    fn each_delivery_is_distinct_valid_json_and_signed() {
        let ctx = RepoContext::new("acme", "widgets", "https://api.github.com");
        let pool = body_pool(3, &ctx);
        assert_eq!(pool.len(), 3);
        assert_ne!(pool[0], pool[1]);
        let (a, b) = (
            unique_delivery(&pool[0], "r1", 1, b"s3cret"),
            unique_delivery(&pool[0], "r1", 2, b"s3cret"),
        );
        assert_ne!(a.body, b.body);
        assert_ne!(a.body, unique_delivery(&pool[0], "r2", 1, b"s3cret").body);
        for item in [a, b] {
            assert_eq!(item.signature, github_signature(b"s3cret", &item.body));
            let v: serde_json::Value = serde_json::from_slice(&item.body).unwrap_or_default();
            assert_eq!(v["pull_request"]["number"], 1);
        }
    }
}
