//! How fast a client can page through the simulated GitHub API: records/s and MB/s per endpoint,
//! first with cold page caches (render on demand), then warm (pre-rendered pages).
//!
//! `cargo bench -p gwi-sandbox --bench serve [-- SCALE [IN_FLIGHT]]` (defaults: scale 20, 8 requests
//! in flight).

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::time::Instant;

use futures::StreamExt as _;
use gwi_sandbox::{RateLimitConfig, Sandbox, SandboxConfig};

/// Picks one endpoint's record count out of a repository's counts.
type CountOf = fn(&gwi_sandbox::RepoCounts) -> usize;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let scale: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let in_flight: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(8);
    let started = Instant::now();
    let sb = Sandbox::start(SandboxConfig {
        scale,
        rate_limit: RateLimitConfig {
            limit: u64::MAX / 2,
            ..RateLimitConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    println!(
        "scale {scale}: data generated and server up in {:.2?}",
        started.elapsed()
    );
    let counts = sb.github().counts();
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let endpoints: [(&str, CountOf); 6] = [
        ("issues?state=all", |c| c.issues_and_pulls),
        ("pulls?state=all", |c| c.pulls),
        ("issues/comments?x=1", |c| c.issue_comments),
        ("pulls/comments?x=1", |c| c.review_comments),
        ("commits?x=1", |c| c.commits),
        ("actions/runs?x=1", |c| c.workflow_runs),
    ];
    for (path, count_of) in endpoints {
        let mut urls = Vec::new();
        let mut records = 0;
        for (repo, c) in &counts.repos {
            let n = count_of(c);
            records += n;
            for page in 1..=n.div_ceil(100) {
                urls.push(format!(
                    "{}repos/{repo}/{path}&per_page=100&page={page}",
                    sb.base_url()
                ));
            }
        }
        for pass in ["cold", "warm"] {
            let t = Instant::now();
            let bytes: usize = futures::stream::iter(urls.iter())
                .map(|u| {
                    let client = &client;
                    async move {
                        let r = client
                            .get(u)
                            .bearer_auth("gwi-sandbox")
                            .send()
                            .await
                            .expect("send");
                        assert!(r.status().is_success(), "{u}: {}", r.status());
                        r.bytes().await.expect("body").len()
                    }
                })
                .buffer_unordered(in_flight)
                .fold(0, |acc, n| async move { acc + n })
                .await;
            let secs = t.elapsed().as_secs_f64();
            println!(
                "{path:<22} {pass}: {records:>7} records in {:>4} pages, {:>9.0} records/s, {:>7.1} MB/s ({:.0} B/record)",
                urls.len(),
                records as f64 / secs,
                bytes as f64 / secs / 1e6,
                bytes as f64 / records.max(1) as f64,
            );
        }
    }
    sb.shutdown().await;
}
