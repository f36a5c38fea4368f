//! Crash safety: a sync SIGKILLed at several points, then resumed, stores exactly what a clean
//! run stores, and each resumed run fetches only the pages after the last committed checkpoint.
//!
//! The sync runs in a child process: this test binary re-executed with `crash_child` selected
//! and `GWI_CRASH_*` variables set. The child reads two paginated streams from a local server in
//! the parent, which can hold the n-th request of a run so the parent kills the child exactly
//! there, or the parent kills it after a delay (anywhere, commits included).

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::{Query, State};
use axum::routing::get;
use chrono::{DateTime, TimeZone, Utc};
use futures::stream::BoxStream;
use gwi_core::auth::{AuthConfig, AuthKind};
use gwi_core::config::CommonConfig;
use gwi_core::connector::{AuthInfo, Capabilities, Connector, ConnectorMetadata, RateLimits};
use gwi_core::context::ConnectorContext;
use gwi_core::error::ConnectorError;
use gwi_core::health::HealthStatus;
use gwi_core::http::ReqwestClient;
use gwi_core::record::ConnectorRecord;
use gwi_core::registry::ConfiguredConnector;
use gwi_core::store::{RecordQuery, Scope, Store};
use gwi_core::stream::{Checkpoint, StreamDescriptor, SyncItem, SyncOptions};
use gwi_core::sync::SyncEngine;
use gwi_store::SqliteStore;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use url::Url;

const PAGES: u32 = 40;
const PER_PAGE: u32 = 25;
const RESOURCES: [&str; 2] = ["r1", "r2"];
const TENANT: &str = "crash";
const CONNECTOR: &str = "paged";
/// Smaller than a page and not a multiple of it, so commits fall mid-page and records after the
/// last checkpoint get written early (and must be fetched again without duplicates).
const BATCH: usize = 40;

fn scope() -> Scope {
    Scope::new(TENANT, CONNECTOR)
}

fn record_id(resource: &str, page: u32, i: u32) -> String {
    format!("{resource}-{page:03}-{i:02}")
}

// ---------------------------------------------------------------------------------------------
// The provider: deterministic pages, a request log, and a trap that holds the n-th request.

#[derive(Default)]
struct Provider {
    /// (resource, page) of every request of the current run, in arrival order.
    log: Mutex<Vec<(String, u32)>>,
    /// Hold the request that makes the log this long, and tell the test.
    trap: Mutex<Option<(usize, mpsc::UnboundedSender<()>)>>,
}

#[derive(serde::Deserialize)]
struct PageQuery {
    resource: String,
    page: u32,
}

async fn serve_page(
    State(provider): State<Arc<Provider>>,
    Query(q): Query<PageQuery>,
) -> axum::Json<Value> {
    let trapped = {
        let mut log = provider.log.lock().unwrap();
        log.push((q.resource.clone(), q.page));
        let trap = provider.trap.lock().unwrap();
        match &*trap {
            Some((n, tx)) if *n == log.len() => {
                let _ = tx.send(());
                true
            }
            _ => false,
        }
    };
    if trapped {
        // The child is killed while waiting for this answer.
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    // A little latency so that timed kills land mid-sync.
    tokio::time::sleep(Duration::from_millis(2)).await;
    let items: Vec<Value> = if q.page <= PAGES {
        (0..PER_PAGE)
            .map(|i| {
                json!({
                    "id": record_id(&q.resource, q.page, i),
                    "title": format!("item {i} of page {} of {}", q.page, q.resource),
                    "updated_at": Utc.timestamp_opt(1_700_000_000 + i64::from(q.page) * 100 + i64::from(i), 0).unwrap(),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let next = (q.page < PAGES).then_some(q.page + 1);
    axum::Json(json!({ "items": items, "next_page": next }))
}

async fn start_provider() -> (Arc<Provider>, String, tokio::task::JoinHandle<()>) {
    let provider = Arc::new(Provider::default());
    let app = axum::Router::new()
        .route("/items", get(serve_page))
        .with_state(provider.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (provider, format!("http://{addr}/"), server)
}

// ---------------------------------------------------------------------------------------------
// The connector the child runs: one stream per resource, a checkpoint after every page.

struct Paged {
    base: Url,
}

fn metadata() -> ConnectorMetadata {
    ConnectorMetadata {
        name: CONNECTOR.into(),
        version: "0.0.0".into(),
        description: "paginated test connector".into(),
        record_types: vec!["item".into()],
        capabilities: Capabilities {
            auth: vec![AuthKind::None],
            incremental: true,
            webhooks: None,
        },
        rate_limits: RateLimits::default(),
        documentation_url: None,
    }
}

#[async_trait]
impl Connector for Paged {
    async fn authenticate(&self, _ctx: &ConnectorContext) -> Result<AuthInfo, ConnectorError> {
        Ok(AuthInfo::default())
    }
    async fn health_check(&self, _ctx: &ConnectorContext) -> HealthStatus {
        HealthStatus::from_checks(CONNECTOR, vec![])
    }
    fn streams(&self, _options: &SyncOptions) -> Result<Vec<StreamDescriptor>, ConnectorError> {
        Ok(RESOURCES
            .iter()
            .map(|r| StreamDescriptor::new(*r, "item"))
            .collect())
    }
    fn sync<'a>(
        &'a self,
        ctx: &'a ConnectorContext,
        stream: &'a StreamDescriptor,
        options: &'a SyncOptions,
    ) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
        let mut page = options
            .cursor_for(&stream.name)
            .and_then(|c| c["next_page"].as_u64())
            .map_or(1, |p| p as u32);
        let base = self.base.clone();
        Box::pin(async_stream::try_stream! {
            loop {
                let mut url = base.join("items").unwrap();
                url.query_pairs_mut()
                    .append_pair("resource", &stream.resource)
                    .append_pair("page", &page.to_string());
                let (body, _) = ctx.http.get_json::<Value>(url).await?;
                let items = body["items"].as_array().cloned().unwrap_or_default();
                let empty = items.is_empty();
                for item in items {
                    let updated: DateTime<Utc> = item["updated_at"].as_str().unwrap().parse().unwrap();
                    let mut record = ConnectorRecord::new(
                        item["id"].as_str().unwrap(),
                        "item",
                        CONNECTOR,
                        updated,
                        updated,
                    );
                    record.data = json!({"title": item["title"], "page": page}).into();
                    yield SyncItem::Record(record);
                }
                // Everything of this page is yielded: resume from the next one. (An empty page
                // past the end moves nothing.)
                if !empty {
                    yield SyncItem::Checkpoint(Checkpoint {
                        stream: stream.name.clone(),
                        cursor: json!({"next_page": page + 1}),
                    });
                }
                if body["next_page"].is_null() {
                    break;
                }
                page += 1;
            }
        })
    }
}

/// The child process: one sync of both streams into the SQLite file, resuming from its state.
#[test]
#[ignore = "runs only as the child process of the crash-safety test"]
fn crash_child() {
    let db = std::env::var("GWI_CRASH_DB").expect("GWI_CRASH_DB");
    let base = std::env::var("GWI_CRASH_BASE_URL").expect("GWI_CRASH_BASE_URL");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Arc::new(
            SqliteStore::connect(&format!("sqlite://{db}"))
                .await
                .unwrap(),
        );
        let common = CommonConfig {
            tenant_id: TENANT.into(),
            ..CommonConfig::new(AuthConfig::None)
        };
        let paged = Arc::new(Paged {
            base: Url::parse(&base).unwrap(),
        });
        let connector = ConfiguredConnector::new(paged, metadata(), common).unwrap();
        let transport = Arc::new(ReqwestClient::new(Duration::from_secs(120)).unwrap());
        let ctx = ConnectorContext::new(&connector, transport).unwrap();
        SyncEngine::new(connector.connector.clone(), ctx, store)
            .batch_size(BATCH)
            .concurrency(2)
            .run(SyncOptions::default())
            .await
            .unwrap();
    });
}

// ---------------------------------------------------------------------------------------------
// The parent.

enum Step {
    /// Kill the child while it waits for the n-th request of its run.
    KillAtRequest(usize),
    /// Kill the child after this long, wherever it is.
    KillAfter(Duration),
    /// Let the child finish.
    Finish,
}

struct RunReport {
    /// Whether the child died of SIGKILL (false: it exited by itself).
    killed: bool,
    /// Pages requested in this run, per resource.
    requests: BTreeMap<String, Vec<u32>>,
}

async fn run_child(provider: &Provider, base: &str, db: &Path, step: &Step) -> RunReport {
    provider.log.lock().unwrap().clear();
    let (tx, mut trapped) = mpsc::unbounded_channel();
    *provider.trap.lock().unwrap() = match step {
        Step::KillAtRequest(n) => Some((*n, tx)),
        _ => None,
    };
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_safety::crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GWI_CRASH_DB", db)
        .env("GWI_CRASH_BASE_URL", base)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let status = match step {
        Step::KillAtRequest(_) => {
            tokio::select! {
                _ = trapped.recv() => {
                    child.start_kill().unwrap();
                    child.wait().await.unwrap()
                }
                status = child.wait() => status.unwrap(),
            }
        }
        Step::KillAfter(after) => {
            tokio::select! {
                _ = tokio::time::sleep(*after) => {
                    child.start_kill().unwrap();
                    child.wait().await.unwrap()
                }
                status = child.wait() => status.unwrap(),
            }
        }
        Step::Finish => child.wait().await.unwrap(),
    };
    let killed = status.signal() == Some(9);
    if !killed {
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            tokio::io::AsyncReadExt::read_to_string(&mut pipe, &mut stderr)
                .await
                .unwrap();
        }
        assert!(status.success(), "child sync failed: {status}\n{stderr}");
    }
    *provider.trap.lock().unwrap() = None;
    let mut requests: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (resource, page) in provider.log.lock().unwrap().iter() {
        requests.entry(resource.clone()).or_default().push(*page);
    }
    RunReport { killed, requests }
}

async fn open(db: &Path) -> SqliteStore {
    SqliteStore::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap()
}

/// The next page each stream resumes from (1 when it has no checkpoint).
async fn resume_points(db: &Path) -> BTreeMap<String, u32> {
    let store = open(db).await;
    let states = store.load_state(&scope()).await.unwrap();
    store.close().await;
    RESOURCES
        .iter()
        .map(|r| {
            let page = states
                .iter()
                .find(|s| s.stream == format!("{r}/item"))
                .and_then(|s| s.cursor["next_page"].as_u64())
                .map_or(1, |p| p as u32);
            ((*r).to_owned(), page)
        })
        .collect()
}

/// Every stored record as (id, updated_at, data), sorted by id.
async fn stored(db: &Path) -> Vec<(String, DateTime<Utc>, Value)> {
    let store = open(db).await;
    let records = store
        .query_records(&RecordQuery {
            tenant: TENANT.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    store.close().await;
    let mut rows: Vec<_> = records
        .into_iter()
        .map(|r| (r.id, r.updated_at, r.data.to_value()))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_syncs_resume_to_exactly_the_clean_result() {
    let (provider, base, server) = start_provider().await;
    let dir = tempfile::tempdir().unwrap();

    let clean_db = dir.path().join("clean.db");
    let clean_run = run_child(&provider, &base, &clean_db, &Step::Finish).await;
    assert!(!clean_run.killed);
    let clean = stored(&clean_db).await;
    assert_eq!(clean.len(), (2 * PAGES * PER_PAGE) as usize);

    let db = dir.path().join("crashy.db");
    let plan = [
        Step::KillAtRequest(3),
        Step::KillAtRequest(11),
        Step::KillAtRequest(2),
        Step::KillAtRequest(17),
        Step::KillAfter(Duration::from_millis(60)),
        Step::KillAfter(Duration::from_millis(120)),
        Step::Finish,
    ];
    let mut kills = 0;
    for step in &plan {
        let before = resume_points(&db).await;
        let run = run_child(&provider, &base, &db, step).await;
        if matches!(step, Step::KillAtRequest(_)) {
            assert!(run.killed, "the child was held at the trapped request");
        }
        kills += usize::from(run.killed);
        eprintln!(
            "step: killed={} before={before:?} requests={:?}",
            run.killed,
            run.requests
                .iter()
                .map(|(r, p)| (r.clone(), p.len()))
                .collect::<Vec<_>>()
        );

        // The resumed run starts exactly at each stream's last committed checkpoint: pages before
        // it are never fetched again, and no page is fetched twice.
        for (resource, pages) in &run.requests {
            let from = before[resource];
            let expected: Vec<u32> = (from..from + pages.len() as u32).collect();
            assert_eq!(
                pages, &expected,
                "{resource}: resumed from page {from}, fetched {pages:?}"
            );
        }

        // No gap: every record before each stored checkpoint is stored.
        let after = resume_points(&db).await;
        let ids: BTreeSet<String> = stored(&db).await.into_iter().map(|r| r.0).collect();
        for resource in RESOURCES {
            assert!(
                after[resource] >= before[resource],
                "checkpoints only move forward"
            );
            for page in 1..after[resource].min(PAGES + 1) {
                for i in 0..PER_PAGE {
                    let id = record_id(resource, page, i);
                    assert!(
                        ids.contains(&id),
                        "{id} missing although the checkpoint says page {} is next",
                        after[resource]
                    );
                }
            }
        }
    }
    assert!(kills >= 4, "at least the trapped runs were killed");

    // The final run completed: every page of every stream has been fetched.
    let finished = resume_points(&db).await;
    for resource in RESOURCES {
        assert_eq!(finished[resource], PAGES + 1, "{resource} completed");
    }
    let crashy = stored(&db).await;
    assert_eq!(crashy.len(), clean.len(), "no record lost or duplicated");
    assert_eq!(crashy, clean, "the stored set equals a clean run's");
    server.abort();
}
