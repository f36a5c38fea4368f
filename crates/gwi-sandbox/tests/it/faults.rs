#[allow(unused_imports)]
use crate::{JsonRequest as _, JsonResponse as _};
use std::time::Duration;

use gwi_sandbox::{FaultConfig, SandboxConfig};
use reqwest::StatusCode;
use serde_json::Value;

use crate::{TOKEN, client, get, start};

fn config(spec: &str, seed: u64) -> SandboxConfig {
    SandboxConfig {
        seed,
        faults: spec.parse().expect("spec"),
        ..SandboxConfig::default()
    }
}

/// Status of each request (0 when the transfer failed, 1 when a 200 body is not JSON).
async fn statuses(sb: &gwi_sandbox::SandboxHandle, n: usize, path: &str) -> Vec<u16> {
    let c = client();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let url = format!("{}{path}{}", sb.base_url(), i % 13 + 1);
        let status = match c.get(&url).bearer_auth(TOKEN).send().await {
            Ok(r) => {
                let s = r.status().as_u16();
                match r.bytes().await {
                    Ok(b) if s == 200 && serde_json::from_slice::<Value>(&b).is_err() => 1,
                    Ok(_) => s,
                    Err(_) => 0,
                }
            }
            Err(_) => 0,
        };
        out.push(status);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_appear_at_the_configured_rates_and_are_counted() {
    let sb = start(config("error=0.1,429=0.05", 3)).await;
    let got = statuses(&sb, 1000, "rate_limit?n=").await;
    let errors = got
        .iter()
        .filter(|s| matches!(**s, 500 | 502 | 503))
        .count();
    let limited = got.iter().filter(|s| **s == 429).count();
    // Binomial(1000, 0.1): sd ~9.5; (1000, 0.05): sd ~6.9. Four sd either side.
    assert!((62..=138).contains(&errors), "errors {errors}");
    assert!((22..=78).contains(&limited), "429s {limited}");
    assert_eq!(
        errors + limited + got.iter().filter(|s| **s == 200).count(),
        1000
    );

    let stats = sb.stats();
    assert_eq!(stats.requests.total, 1000);
    assert_eq!(stats.requests.by_route.get("GET /rate_limit"), Some(&1000));
    let by = |k: &str| stats.faults.by_kind.get(k).copied().unwrap_or(0) as usize;
    assert_eq!(by("500") + by("502") + by("503"), errors);
    assert_eq!(by("429"), limited);
    assert_eq!(stats.faults.total as usize, errors + limited);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_gives_the_same_fault_sequence_for_a_sequential_client() {
    let spec = "error=0.15,429=0.05,403=0.05,truncate=0.05,reset=0.05";
    let a = start(config(spec, 99)).await;
    let b = start(config(spec, 99)).await;
    let d = start(config(spec, 100)).await;
    let path = "repos/acme/widgets/issues?state=all&per_page=2&page=";
    let sa = statuses(&a, 120, path).await;
    let sb_ = statuses(&b, 120, path).await;
    let sd = statuses(&d, 120, path).await;
    assert_eq!(sa, sb_);
    assert_ne!(sa, sd);
    for kind in [0u16, 1, 403, 429, 500, 200] {
        assert!(
            sa.contains(&kind) || kind == 500,
            "kind {kind} never drawn in {sa:?}"
        );
    }
}

#[tokio::test]
async fn rate_limit_faults_carry_retry_after_and_githubs_messages() {
    let sb = start(config("429=1.0", 1)).await;
    let c = client();
    let resp = get(&c, &format!("{}user", sb.base_url())).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "1");

    sb.set_faults("403=1.0,retry-after=2s".parse().expect("spec"))
        .expect("valid");
    let resp = get(&c, &format!("{}user", sb.base_url())).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(resp.headers()["retry-after"], "2");
    let body: Value = resp.json().await.expect("json");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("You have exceeded a secondary rate limit"))
    );
}

#[tokio::test]
async fn reset_drops_the_connection_after_part_of_the_body() {
    let sb = start(config("reset=1.0", 1)).await;
    let c = client();
    let resp = get(
        &c,
        &format!("{}repos/acme/widgets/issues?per_page=50", sb.base_url()),
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "headers arrive before the reset"
    );
    assert!(resp.bytes().await.is_err(), "reading the body must fail");
    assert_eq!(sb.stats().faults.by_kind["reset"], 1);
}

#[tokio::test]
async fn truncate_serves_a_cut_body_that_fails_to_parse() {
    let sb = start(config("truncate=1.0", 1)).await;
    let c = client();
    let url = format!("{}repos/acme/widgets/pulls?per_page=20", sb.base_url());
    let resp = get(&c, &url).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let cut = resp.bytes().await.expect("the transfer itself succeeds");
    assert!(serde_json::from_slice::<Value>(&cut).is_err());
    sb.set_faults(FaultConfig::none()).expect("valid");
    let full = get(&c, &url).await.bytes().await.expect("body");
    assert!(cut.len() < full.len());
    assert_eq!(&full[..cut.len()], &cut[..]);
}

#[tokio::test]
async fn faults_change_at_runtime_and_never_hit_sandbox_routes() {
    let sb = start(config("none", 1)).await;
    let c = client();
    let set = |body: Value| {
        let c = c.clone();
        let url = format!("{}_sandbox/faults", sb.base_url());
        async move { c.post(url).json(&body).send().await.expect("post") }
    };
    let resp = set(serde_json::json!({ "spec": "503=1.0" })).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        get(&c, &format!("{}rate_limit", sb.base_url()))
            .await
            .status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    for path in ["_sandbox/stats", "_sandbox/faults", "_sandbox"] {
        assert_eq!(
            c.get(format!("{}{path}", sb.base_url()))
                .send()
                .await
                .expect("get")
                .status(),
            StatusCode::OK
        );
    }
    let resp = set(serde_json::json!({ "503": 0, "latency": "1ms" })).await;
    let cfg: Value = resp.json().await.expect("json");
    assert_eq!(cfg["503"], 0.0);
    assert_eq!(
        get(&c, &format!("{}rate_limit", sb.base_url()))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(sb.stats().faults.by_kind["latency"], 1);
    let bad = set(serde_json::json!({ "spec": "error=2" })).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(sb.faults().latency_max, Duration::from_millis(1));
}
