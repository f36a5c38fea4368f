//! Ingest throughput: signed deliveries verified, deduplicated and appended to the inbox,
//! through the real router in-process (no sockets), and their latency at that load.
//!
//! `cargo bench -p gwi-server --bench ingest` (env: `GWI_BENCH_N` deliveries, default 20000;
//! `GWI_BENCH_CONCURRENCY` requests in flight, default 64; `GWI_BENCH_BODY` bytes, default 2048;
//! `GWI_BENCH_STORES` a comma list of `test`, `memory`, `sqlite`, default all three).
//! The in-memory stores show the server's own cost; `sqlite` (a file, default options) is the
//! durable figure.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/it/support/connector.rs"]
#[allow(dead_code)]
mod connector;
#[path = "../tests/it/support/store.rs"]
#[allow(dead_code)]
mod store;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use gwi_core::config::Secret;
use gwi_core::store::Store;
use gwi_core::webhook::sign;
use gwi_server::{Server, ServerConfig};
use http::{Request, StatusCode};
use tower::ServiceExt;

use connector::{Behaviour, GITHUB_SECRET, TestConnector};
use store::TestStore;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One signed delivery: its headers and body.
type Delivery = (Vec<(&'static str, String)>, Vec<u8>);

/// Pre-signed deliveries: signing is the provider's cost, not ours.
fn deliveries(n: usize, body_size: usize, prefix: &str) -> Vec<Delivery> {
    (0..n)
        .map(|i| {
            let pad = "x".repeat(body_size.saturating_sub(80));
            let body = format!(r#"{{"id":"item-{i}","title":"bench","pad":"{pad}"}}"#).into_bytes();
            let mut headers = sign::github(&Secret::literal(GITHUB_SECRET), &body);
            headers.push(("x-github-delivery", format!("{prefix}-{i}")));
            headers.push(("x-github-event", "issues".to_owned()));
            headers.push(("content-type", "application/json".to_owned()));
            (headers, body)
        })
        .collect()
}

/// Sends every delivery from `concurrency` client tasks (spread over the runtime's threads);
/// returns elapsed time and sorted latencies.
async fn run(
    router: &axum::Router,
    batch: Vec<Delivery>,
    concurrency: usize,
    expect: StatusCode,
) -> (Duration, Vec<Duration>) {
    let mut lanes: Vec<Vec<Delivery>> = vec![Vec::new(); concurrency];
    for (i, delivery) in batch.into_iter().enumerate() {
        lanes[i % concurrency].push(delivery);
    }
    let started = Instant::now();
    let clients: Vec<_> = lanes
        .into_iter()
        .map(|lane| {
            let router = router.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(lane.len());
                for (headers, body) in lane {
                    let mut request = Request::post("/webhooks/bench");
                    for (name, value) in headers {
                        request = request.header(name, value);
                    }
                    let request = request.body(Body::from(body)).unwrap();
                    let sent = Instant::now();
                    let response = router.clone().oneshot(request).await.unwrap();
                    assert_eq!(response.status(), expect);
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for client in futures::future::join_all(clients).await {
        latencies.extend(client.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    (elapsed, latencies)
}

fn report(label: &str, n: usize, elapsed: Duration, latencies: &[Duration]) {
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{label:<34} {n:>7} in {:>7.3} s = {:>9.0}/s   p50 {:>8.3} ms   p99 {:>8.3} ms",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this once as a smoke test.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n = if quick {
        200
    } else {
        env_or("GWI_BENCH_N", 20_000)
    };
    let concurrency = env_or("GWI_BENCH_CONCURRENCY", 64);
    let body_size = env_or("GWI_BENCH_BODY", 2048);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stores = std::env::var("GWI_BENCH_STORES").unwrap_or_else(|_| "test,memory,sqlite".into());
    let dir = tempfile::tempdir().unwrap();
    runtime.block_on(async {
        println!(
            "gwi-server ingest, in-process, {concurrency} in flight, {body_size}-byte bodies, {n} deliveries"
        );
        for kind in stores.split(',').map(str::trim) {
            let store: Arc<dyn Store> = match kind {
                "test" => Arc::new(TestStore::new()),
                "memory" => Arc::new(gwi_testing::MemoryStore::new()),
                "sqlite" => {
                    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                    Arc::new(gwi_store::SqliteStore::connect(&url).await.unwrap())
                }
                other => panic!("unknown store {other:?}: use test, memory or sqlite"),
            };
            bench_store(kind, store, n, concurrency, body_size).await;
        }
    });
}

async fn bench_store(
    kind: &str,
    store: Arc<dyn Store>,
    n: usize,
    concurrency: usize,
    body_size: usize,
) {
    let connector = TestConnector::github("bench", Behaviour::Map);
    // Ingest only: processing would compete for the same two cores.
    let config = ServerConfig {
        workers: 0,
        concurrency_limit: 1024,
        ..ServerConfig::default()
    };
    let server = Server::new(vec![connector.configured()], store.clone(), config).unwrap();
    let router = server.router();

    let batch = deliveries(n, body_size, "new");
    let (elapsed, latencies) = run(&router, batch.clone(), concurrency, StatusCode::ACCEPTED).await;
    report(&format!("{kind}: new (202)"), n, elapsed, &latencies);
    let stored: u64 = store
        .inbox_counts()
        .await
        .unwrap()
        .iter()
        .map(|(_, c)| c)
        .sum();
    assert_eq!(stored, n as u64);

    let (elapsed, latencies) = run(&router, batch, concurrency, StatusCode::OK).await;
    report(
        &format!("{kind}: repeated (200 duplicate)"),
        n,
        elapsed,
        &latencies,
    );

    let mut forged = deliveries(n, body_size, "forged");
    for (headers, _) in &mut forged {
        headers[0].1 = format!("sha256={}", "0".repeat(64));
    }
    let (elapsed, latencies) = run(&router, forged, concurrency, StatusCode::UNAUTHORIZED).await;
    report(&format!("{kind}: forged (401)"), n, elapsed, &latencies);
}
