#[allow(unused_imports)]
use crate::{JsonRequest as _, JsonResponse as _};
use gwi_sandbox::{RateLimitConfig, SandboxConfig, TokenPolicy};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{client, get, start, start_default};

#[tokio::test]
async fn bad_token_gets_githubs_401_json() {
    let sb = start_default().await;
    let resp = client()
        .get(format!("{}repos/acme/widgets/pulls", sb.base_url()))
        .bearer_auth("ghp_not_a_sandbox_token")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        body,
        json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})
    );
}

#[tokio::test]
async fn missing_token_gets_401() {
    let sb = start_default().await;
    let resp = client()
        .get(format!("{}user", sb.base_url()))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status"], "401");
    assert_eq!(body["documentation_url"], "https://docs.github.com/rest");
}

#[tokio::test]
async fn configured_tokens_replace_the_default_prefix() {
    let sb = start(SandboxConfig {
        tokens: TokenPolicy::exact(["letmein"]),
        ..SandboxConfig::default()
    })
    .await;
    let c = client();
    let url = format!("{}user", sb.base_url());
    let ok = c
        .get(&url)
        .header("authorization", "token letmein")
        .send()
        .await
        .expect("request");
    assert_eq!(ok.status(), StatusCode::OK);
    let body: Value = ok.json().await.expect("json");
    assert_eq!(body["login"], "gwi-sandbox-user");
    assert_eq!(get(&c, &url).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sb.token(), None);
}

#[tokio::test]
async fn rate_limit_headers_count_down_and_the_limit_is_enforced() {
    let sb = start(SandboxConfig {
        rate_limit: RateLimitConfig {
            limit: 3,
            ..RateLimitConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let c = client();
    let url = format!("{}repos/acme/widgets/commits", sb.base_url());
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = get(&c, &url).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["x-ratelimit-limit"], "3");
        assert_eq!(r.headers()["x-ratelimit-resource"], "core");
        assert!(
            r.headers().contains_key("x-ratelimit-reset")
                && r.headers().contains_key("x-ratelimit-used")
        );
        remaining.push(
            r.headers()["x-ratelimit-remaining"]
                .to_str()
                .expect("ascii")
                .to_owned(),
        );
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let refused = get(&c, &url).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.headers()["x-ratelimit-remaining"], "0");
    // /rate_limit does not count against the limit, so it still answers.
    let rl: Value = get(&c, &format!("{}rate_limit", sb.base_url()))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(rl["resources"]["core"]["remaining"], 0);
    assert_eq!(rl["resources"]["core"]["limit"], 3);
}
