//! Every provider's scheme through the HTTP route: valid deliveries are stored (202); forged,
//! unsigned, tampered and expired ones are refused with 401, a reason, and nothing stored.

use std::sync::Arc;

use chrono::Utc;
use gwi_core::config::Secret;
use gwi_core::webhook::{SchemeKind, SignatureScheme, WebhookSettings, sign};
use http::StatusCode;
use serde_json::json;

use crate::support::*;

/// Signs `body`-to-be at Unix time `at`; returns the headers and the (possibly stamped) body.
type Signer = fn(&Secret, i64) -> (Vec<(&'static str, String)>, Vec<u8>);

struct Provider {
    scheme: &'static str,
    secret: &'static str,
    wrong_secret: &'static str,
    sign: Signer,
    /// Whether the scheme signs a timestamp (and so refuses old deliveries).
    windowed: bool,
    /// Whether the signature covers the body (GitLab's plain token does not).
    covers_body: bool,
}

fn body() -> Vec<u8> {
    br#"{"id":"evt-1","title":"hello","type":"event_callback","event_id":"Ev1","event":{"type":"message"}}"#.to_vec()
}

fn built(scheme: &str, secret: &str) -> Arc<dyn SignatureScheme> {
    let kind: SchemeKind = serde_json::from_value(json!(scheme)).unwrap();
    let settings = WebhookSettings {
        secrets: vec![Secret::literal(secret)],
        tolerance_secs: None,
    };
    Arc::from(settings.build(kind).unwrap())
}

async fn check(provider: Provider) {
    let name = format!("sig-{}-{}", provider.scheme, provider.covers_body);
    let connector = Arc::new(TestConnector::new(
        &name,
        Some(built(provider.scheme, provider.secret)),
        Behaviour::Map,
    ));
    let store = Arc::new(TestStore::new());
    let router = server(vec![connector.configured()], store.clone(), fast_config()).router();
    let path = format!("/webhooks/{name}");
    let now = Utc::now().timestamp();
    let secret = Secret::literal(provider.secret);
    let json = ("content-type", "application/json".to_owned());

    // Forged: signed with a secret the server does not know.
    let (mut headers, body) = (provider.sign)(&Secret::literal(provider.wrong_secret), now);
    let leaked: Vec<String> = headers.iter().map(|(_, v)| v.clone()).collect();
    headers.push(json.clone());
    let answer = send(&router, post(&path, &headers, body)).await;
    assert_eq!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "{}: forged",
        provider.scheme
    );
    assert_eq!(answer.json()["reason"], "bad_signature", "{}", answer.text);
    for value in leaked.iter().filter(|v| v.len() > 16) {
        assert!(
            !answer.text.contains(value.as_str()),
            "401 echoes a signature: {}",
            answer.text
        );
    }

    // Missing: no signature headers at all.
    let (_, body) = (provider.sign)(&secret, now);
    let answer = send(&router, post(&path, std::slice::from_ref(&json), body)).await;
    assert_eq!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "{}: unsigned",
        provider.scheme
    );
    assert_eq!(
        answer.json()["reason"],
        "missing_signature",
        "{}",
        answer.text
    );

    // Tampered: the right signature over other bytes.
    if provider.covers_body {
        let (mut headers, body) = (provider.sign)(&secret, now);
        headers.push(json.clone());
        let tampered = String::from_utf8(body).unwrap().replace("hello", "HELLO");
        let answer = send(&router, post(&path, &headers, tampered)).await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{}: tampered",
            provider.scheme
        );
        assert_eq!(answer.json()["reason"], "bad_signature");
    }

    // Expired: authentic, but signed an hour ago.
    if provider.windowed {
        let (mut headers, body) = (provider.sign)(&secret, now - 3600);
        headers.push(json.clone());
        let answer = send(&router, post(&path, &headers, body)).await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{}: expired",
            provider.scheme
        );
        assert_eq!(answer.json()["reason"], "expired", "{}", answer.text);
    }
    assert!(
        store.entries().is_empty(),
        "{}: a refused delivery was stored",
        provider.scheme
    );

    // Valid: stored, answered 202 with its inbox id.
    let (mut headers, body) = (provider.sign)(&secret, now);
    headers.push(json);
    let answer = send(&router, post(&path, &headers, body.clone())).await;
    assert_eq!(
        answer.status,
        StatusCode::ACCEPTED,
        "{}: {}",
        provider.scheme,
        answer.text
    );
    assert_eq!(answer.json()["status"], "accepted");
    let entries = store.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(answer.json()["id"], entries[0].id);
    assert_eq!(entries[0].webhook.body, body, "the raw bytes are stored");
    assert_eq!(entries[0].webhook.tenant, "acme");
    let kept: Vec<&str> = entries[0]
        .webhook
        .headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    for sensitive in [
        "x-hub-signature-256",
        "x-hub-signature",
        "x-gitlab-token",
        "webhook-signature",
        "x-slack-signature",
        "linear-signature",
    ] {
        assert!(!kept.contains(&sensitive), "{sensitive} was stored");
    }
}

#[tokio::test]
async fn github_deliveries_are_verified() {
    check(Provider {
        scheme: "github",
        secret: "gh-secret",
        wrong_secret: "not-the-gh-secret",
        sign: |secret, _| {
            let body = body();
            let mut headers = sign::github(secret, &body);
            headers.push(("x-github-delivery", "d-1".to_owned()));
            (headers, body)
        },
        windowed: false,
        covers_body: true,
    })
    .await;
}

#[tokio::test]
async fn gitlab_secret_tokens_are_verified() {
    check(Provider {
        scheme: "gitlab",
        secret: "gl-token-1234567890",
        wrong_secret: "gl-token-guessed-0000",
        sign: |secret, _| (sign::gitlab_token(secret), body()),
        windowed: false,
        covers_body: false,
    })
    .await;
}

#[tokio::test]
async fn gitlab_signing_tokens_are_verified() {
    check(Provider {
        scheme: "gitlab",
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        wrong_secret: "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxw=",
        sign: |secret, at| {
            let body = body();
            (
                sign::standard_webhooks(secret, "msg_1", at, &body).unwrap(),
                body,
            )
        },
        windowed: true,
        covers_body: true,
    })
    .await;
}

#[tokio::test]
async fn slack_requests_are_verified() {
    check(Provider {
        scheme: "slack",
        secret: "slack-signing-secret",
        wrong_secret: "slack-other-secret",
        sign: |secret, at| {
            let body = body();
            (sign::slack(secret, at, &body), body)
        },
        windowed: true,
        covers_body: true,
    })
    .await;
}

#[tokio::test]
async fn linear_deliveries_are_verified_with_the_body_timestamp() {
    check(Provider {
        scheme: "linear",
        secret: "lin_wh_secret",
        wrong_secret: "lin_wh_other",
        sign: |secret, at| {
            let body = serde_json::to_vec(&json!({
                "id": "evt-1", "title": "hello", "type": "Issue", "action": "create",
                "webhookTimestamp": at * 1000,
            }))
            .unwrap();
            (sign::linear(secret, &body), body)
        },
        windowed: true,
        covers_body: true,
    })
    .await;
}

#[tokio::test]
async fn jira_deliveries_are_verified() {
    check(Provider {
        scheme: "jira",
        secret: "jira-secret",
        wrong_secret: "jira-other",
        sign: |secret, _| {
            let body = body();
            (sign::jira(secret, &body), body)
        },
        windowed: false,
        covers_body: true,
    })
    .await;
}

#[tokio::test]
async fn standard_webhooks_are_verified() {
    check(Provider {
        scheme: "standard_webhooks",
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        wrong_secret: "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxw=",
        sign: |secret, at| {
            let body = body();
            (
                sign::standard_webhooks(secret, "msg_2", at, &body).unwrap(),
                body,
            )
        },
        windowed: true,
        covers_body: true,
    })
    .await;
}

#[tokio::test]
async fn slack_url_verification_is_answered_and_not_stored() {
    let connector = Arc::new(TestConnector::new(
        "sig-slack-challenge",
        Some(built("slack", "slack-secret")),
        Behaviour::Map,
    ));
    let store = Arc::new(TestStore::new());
    let router = server(vec![connector.configured()], store.clone(), fast_config()).router();
    let body = br#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let now = Utc::now().timestamp();

    let unsigned = send(
        &router,
        post("/webhooks/sig-slack-challenge", &[], body.to_vec()),
    )
    .await;
    assert_eq!(
        unsigned.status,
        StatusCode::UNAUTHORIZED,
        "the challenge is answered only when signed"
    );

    let headers = sign::slack(&Secret::literal("slack-secret"), now, body);
    let answer = send(
        &router,
        post("/webhooks/sig-slack-challenge", &headers, body.to_vec()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json(),
        json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    );
    assert_eq!(answer.headers["content-type"], "application/json");
    assert!(store.entries().is_empty());
    assert_eq!(
        store.append_calls.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

#[tokio::test]
async fn slack_slash_commands_are_stored_as_form_posts() {
    let connector = Arc::new(TestConnector::new(
        "sig-slack-form",
        Some(built("slack", "slack-secret")),
        Behaviour::Map,
    ));
    let store = Arc::new(TestStore::new());
    let router = server(vec![connector.configured()], store.clone(), fast_config()).router();
    let body = b"token=x&command=%2Fdeploy&text=now";
    let mut headers = sign::slack(
        &Secret::literal("slack-secret"),
        Utc::now().timestamp(),
        body,
    );
    headers.push((
        "content-type",
        "application/x-www-form-urlencoded".to_owned(),
    ));
    let answer = send(
        &router,
        post("/webhooks/sig-slack-form", &headers, body.to_vec()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(store.entries()[0].webhook.event_type, "slash_command");
}
