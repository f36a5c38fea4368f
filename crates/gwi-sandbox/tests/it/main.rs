//! Integration tests: a real sandbox on 127.0.0.1, driven over HTTP.

// Test helpers panic on purpose: a failed request is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod auth;
mod faults;
mod gitlab;
mod lifecycle;
mod mutate;
mod pagination;
mod since;
mod webhooks;

use std::collections::HashMap;

use gwi_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use reqwest::StatusCode;
use serde_json::Value;

pub(crate) const TOKEN: &str = "gwi-sandbox-test";

pub(crate) async fn start(config: SandboxConfig) -> SandboxHandle {
    Sandbox::start(config).await.expect("sandbox starts")
}

pub(crate) async fn start_default() -> SandboxHandle {
    start(SandboxConfig::default()).await
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

pub(crate) async fn get(client: &reqwest::Client, url: &str) -> reqwest::Response {
    client
        .get(url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("request succeeds")
}

/// Parses an RFC 8288 `Link` header into rel -> URL.
pub(crate) fn links(resp: &reqwest::Response) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if let Some(h) = resp.headers().get("link").and_then(|v| v.to_str().ok()) {
        for part in h.split(',') {
            let mut pieces = part.split(';');
            let url = pieces
                .next()
                .unwrap_or("")
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>');
            for p in pieces {
                if let Some(rel) = p.trim().strip_prefix("rel=") {
                    out.insert(rel.trim_matches('"').to_owned(), url.to_owned());
                }
            }
        }
    }
    out
}

/// Follows `next` links from `url` to the end; returns every item and the number of pages.
pub(crate) async fn walk(client: &reqwest::Client, url: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut next = Some(url.to_owned());
    let mut pages = 0;
    while let Some(u) = next {
        let resp = get(client, &u).await;
        assert_eq!(resp.status(), StatusCode::OK, "GET {u}");
        let l = links(&resp);
        let body: Value = resp.json().await.expect("json body");
        let page = match body {
            Value::Array(a) => a,
            Value::Object(mut o) => match o.remove("workflow_runs") {
                Some(Value::Array(a)) => a,
                _ => panic!("unexpected object body from {u}"),
            },
            other => panic!("unexpected body from {u}: {other}"),
        };
        items.extend(page);
        pages += 1;
        assert!(pages < 10_000, "pagination does not end");
        next = l.get("next").cloned();
    }
    (items, pages)
}

/// JSON helpers (the workspace builds reqwest without its `json` feature).
pub(crate) trait JsonResponse {
    /// Reads the body and decodes it as JSON.
    async fn json<T: serde::de::DeserializeOwned>(self) -> Result<T, String>;
}

impl JsonResponse for reqwest::Response {
    async fn json<T: serde::de::DeserializeOwned>(self) -> Result<T, String> {
        let bytes = self.bytes().await.map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    }
}

/// Sends a JSON body.
pub(crate) trait JsonRequest {
    /// Sets a JSON body and content type.
    fn json<T: serde::Serialize>(self, body: &T) -> Self;
}

impl JsonRequest for reqwest::RequestBuilder {
    fn json<T: serde::Serialize>(self, body: &T) -> Self {
        self.header("content-type", "application/json")
            .body(serde_json::to_vec(body).expect("serialisable body"))
    }
}
