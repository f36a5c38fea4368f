//! `gwi serve` as a service of several processes over one PostgreSQL: each scheduled sync runs
//! in one process at a time, a process killed mid-run has its syncs taken over from their last
//! commit, webhooks are taken meanwhile, every tenant's store ends equal to the sandbox, and the
//! processes together stay within each tenant's rate budget.

use crate::free_port;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use gwi_core::store::{InboxStatus, RecordQuery, Store};
use gwi_sandbox::{FaultConfig, Sandbox, SandboxConfig};
use gwi_store::PostgresStore;
use gwi_testing::behaviour::{expected_keys, record_key};
use sqlx::Executor;

const SECRET: &str = "service-suite-webhook-secret";
const TENANTS: [&str; 3] = ["default", "globex", "initech"];
const LEASE_SECS: u64 = 3;
/// Each tenant's budget (`http.requests_per_second`, `http.burst`), shared by every process.
const RATE: f64 = 20.0;
const BURST: u32 = 5;

/// A `gwi serve` process, killed when dropped; its JSON log lines go to a file.
struct Process {
    child: Child,
    instance: String,
    addr: SocketAddr,
    log: PathBuf,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, store_url: &str, instance: &str) -> Process {
    let addr = free_port();
    let log = dir.join(format!("{instance}.log"));
    let child = Command::new(env!("CARGO_BIN_EXE_gwi"))
        .args(["serve", "--config", "gwi.toml", "--instance", instance])
        .args(["--listen", &addr.to_string(), "--store", store_url])
        .args(["--lease-secs", &LEASE_SECS.to_string()])
        .current_dir(dir)
        .env("GWI_LOG", "json,info")
        .env_remove("GWI_CONFIG")
        .env_remove("GWI_STORE")
        .env_remove("GWI_INSTANCE")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    Process {
        child,
        instance: instance.to_owned(),
        addr,
        log,
    }
}

/// A fresh database on the local PostgreSQL, dropped by the caller's guard.
async fn fresh_database() -> (String, String) {
    let admin_url = std::env::var("GWI_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("GWI_TEST_POSTGRES_URL must name the local PostgreSQL (scripts/test.sh sets it)")
    });
    let name = format!("gwi_service_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at GWI_TEST_POSTGRES_URL is unreachable: {e}"));
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    admin.close().await;
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&name);
    (url.to_string(), name)
}

/// A scheduled run as the logs tell it: which process, when it began and ended.
#[derive(Debug)]
struct Span {
    instance: String,
    tenant: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    /// It ran to the end (not stopped, failed or killed).
    finished: bool,
}

/// Every scheduled run in `process`'s log; a run still open when the process was killed ends at
/// `killed_at`.
fn spans(process: &Process, killed_at: Option<DateTime<Utc>>) -> Vec<Span> {
    let file = std::fs::File::open(&process.log).unwrap();
    let mut open: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    let mut spans = Vec::new();
    for line in BufReader::new(file).lines() {
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line.unwrap()) else {
            continue;
        };
        let fields = &entry["fields"];
        let Some(tenant) = fields["tenant"].as_str() else {
            continue;
        };
        let at: DateTime<Utc> = entry["timestamp"].as_str().unwrap().parse().unwrap();
        match fields["message"].as_str().unwrap_or_default() {
            "scheduled sync started" => {
                open.insert(tenant.to_owned(), at);
            }
            m if m.starts_with("scheduled sync") => {
                if let Some(start) = open.remove(tenant) {
                    spans.push(Span {
                        instance: process.instance.clone(),
                        tenant: tenant.to_owned(),
                        start,
                        end: at,
                        finished: m == "scheduled sync finished",
                    });
                }
            }
            _ => {}
        }
    }
    for (tenant, start) in open {
        spans.push(Span {
            instance: process.instance.clone(),
            tenant,
            start,
            end: killed_at.unwrap_or(DateTime::<Utc>::MAX_UTC),
            finished: false,
        });
    }
    spans
}

async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + within;
    loop {
        match check().await {
            Ok(()) => return,
            Err(why) if Instant::now() > deadline => panic!("{what}: {why}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// A live process that runs a scheduled sync now (waits for one, up to a minute).
async fn running_process(store: &dyn Store, killed: &BTreeMap<String, DateTime<Utc>>) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs = store.sync_runs().await.unwrap();
        if let Some(run) = runs.iter().find(|r| {
            r.finished_at.is_none() && r.error.is_none() && !killed.contains_key(&r.holder)
        }) {
            return run.holder.clone();
        }
        assert!(Instant::now() < deadline, "no sync is running: {runs:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processes_sharing_postgres_run_each_sync_once_and_take_over_a_killed_ones() {
    let (store_url, database) = fresh_database().await;
    let faults = FaultConfig {
        latency_min: Duration::from_millis(50),
        latency_max: Duration::from_millis(50),
        too_many_requests: 0.02,
        ..FaultConfig::none().with_error_rate(0.03)
    };
    let sandbox = Sandbox::start(SandboxConfig {
        faults,
        providers: vec!["github".into()],
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let table = sandbox.connector_config("github").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = format!(
        "[server]\nworkers = 2\nmax_syncs = 1\n\n[connectors.github]\nbase_url = {}\nrepositories = {}\nauth = {{ type = \"bearer\", token = {} }}\nschedule = \"every 2s\"\nwebhook_secret = \"{SECRET}\"\nhttp = {{ requests_per_second = {RATE}, burst = {BURST} }}\n",
        table["base_url"], table["repositories"], table["auth"]["token"],
    );
    for tenant in &TENANTS[1..] {
        config.push_str(&format!("\n[connectors.github.tenants.{tenant}]\n"));
    }
    std::fs::write(dir.path().join("gwi.toml"), config).unwrap();

    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&store_url).await.unwrap());
    let began = Instant::now();
    let mut processes: Vec<Process> = ["p0", "p1", "p2", "p3"]
        .iter()
        .map(|name| start(dir.path(), &store_url, name))
        .collect();
    let mut kills: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();

    // Kill one process in the middle of a run of its own, then another.
    for _ in 0..2 {
        let victim = running_process(store.as_ref(), &kills).await;
        let process = processes.iter_mut().find(|p| p.instance == victim).unwrap();
        process.child.kill().unwrap(); // SIGKILL
        process.child.wait().unwrap();
        kills.insert(victim, Utc::now());
        // Changes upstream, and their webhooks for every tenant, to the live processes in turn,
        // while the killed one's syncs are taken over.
        let report = sandbox.mutate("github", 12).unwrap();
        let live: Vec<SocketAddr> = processes
            .iter()
            .filter(|p| !kills.contains_key(&p.instance))
            .map(|p| p.addr)
            .collect();
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut turn = 0;
        for tenant in TENANTS {
            let path = match tenant {
                "default" => "/webhooks/github".to_owned(),
                other => format!("/webhooks/github/{other}"),
            };
            for delivery in sandbox.webhooks_for("github", &report.changes, SECRET) {
                let mut request = client
                    .post(format!("http://{}{path}", live[turn % live.len()]))
                    .body(delivery.body);
                turn += 1;
                for (name, value) in delivery.headers {
                    request = request.header(name, value);
                }
                let status = request.send().await.unwrap().status();
                assert!(status.is_success(), "webhook answered {status}");
            }
        }
    }
    let last_kill = *kills.values().max().unwrap();

    // Every tenant ends equal to the sandbox, through runs that began after the kills.
    let expected = expected_keys(&sandbox, "github");
    eventually(
        "every tenant equals the sandbox",
        Duration::from_secs(120),
        || async {
            // The latest run may be under way (runs follow each other every 2 s): a run that
            // began after the kills and ran to the end is what counts, as the logs tell.
            let spans: Vec<Span> = processes
                .iter()
                .flat_map(|p| spans(p, kills.get(&p.instance).copied()))
                .collect();
            for tenant in TENANTS {
                if !spans
                    .iter()
                    .any(|s| s.tenant == tenant && s.finished && s.start > last_kill)
                {
                    return Err(format!("{tenant} has not run to the end since the kills"));
                }
                let records = store
                    .query_records(&RecordQuery {
                        tenant: tenant.into(),
                        connector: Some("github".into()),
                        ..RecordQuery::default()
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                let stored: BTreeSet<_> = records.iter().map(record_key).collect();
                if stored != expected {
                    return Err(format!(
                        "{tenant}: {} stored, {} expected, {} missing",
                        stored.len(),
                        expected.len(),
                        expected.difference(&stored).count()
                    ));
                }
            }
            let pending = store.inbox_counts().await.map_err(|e| e.to_string())?;
            match pending.iter().find(|(s, _)| *s == InboxStatus::Pending) {
                Some((_, 0)) | None => Ok(()),
                Some((_, n)) => Err(format!("{n} webhook events pending")),
            }
        },
    )
    .await;
    // Together within the budgets: every tenant's requests come out of its own bucket.
    let requests = sandbox.stats().requests.total;
    let allowed = TENANTS.len() as f64 * (f64::from(BURST) + RATE * began.elapsed().as_secs_f64());
    assert!(
        requests as f64 <= allowed,
        "{requests} requests, the budgets allow {allowed:.0}"
    );
    let dead = store.inbox_counts().await.unwrap();
    assert!(
        dead.iter().all(|(s, n)| *s != InboxStatus::Dead || *n == 0),
        "{dead:?}"
    );

    // No sync ever ran in two processes at once.
    let mut all: Vec<Span> = Vec::new();
    for process in &processes {
        all.extend(spans(process, kills.get(&process.instance).copied()));
    }
    for tenant in TENANTS {
        let mut runs: Vec<&Span> = all.iter().filter(|s| s.tenant == tenant).collect();
        assert!(runs.len() >= 2, "{tenant}: {runs:?}");
        runs.sort_by_key(|s| s.start);
        for pair in runs.windows(2) {
            assert!(
                pair[0].end <= pair[1].start,
                "{tenant} ran in {} and {} at once: {pair:?}",
                pair[0].instance,
                pair[1].instance
            );
        }
    }
    let after: BTreeSet<&str> = all
        .iter()
        .filter(|s| s.start > last_kill)
        .map(|s| s.instance.as_str())
        .collect();
    assert!(
        !after.is_empty() && after.iter().all(|p| !kills.contains_key(*p)),
        "after the kills, syncs ran in {after:?} (killed: {kills:?})"
    );

    // SIGTERM hands the leases back: `gwi status` then shows nothing running.
    for survivor in processes
        .iter_mut()
        .filter(|p| !kills.contains_key(&p.instance))
    {
        let terminated = Command::new("kill")
            .args(["-TERM", &survivor.child.id().to_string()])
            .status()
            .unwrap();
        assert!(terminated.success());
        let exit = survivor.child.wait().unwrap();
        assert!(exit.success(), "{} exited {exit:?}", survivor.instance);
    }
    let status = Command::new(env!("CARGO_BIN_EXE_gwi"))
        .args(["status", "--json", "--store", &store_url])
        .current_dir(dir.path())
        .env_remove("GWI_CONFIG")
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let syncs = status["syncs"].as_array().unwrap();
    assert_eq!(syncs.len(), TENANTS.len(), "{status}");
    assert!(
        syncs.iter().all(|s| s["status"] != "running"),
        "a sync still shows running after SIGTERM: {status}"
    );
    assert!(
        syncs
            .iter()
            .all(|s| !s["streams"].as_array().unwrap().is_empty()),
        "{status}"
    );
    let leases: Vec<(String,)> = {
        let pool = sqlx::PgPool::connect(&store_url).await.unwrap();
        let leases = sqlx::query_as("SELECT name FROM leases")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        leases
    };
    assert!(leases.is_empty(), "leases left after SIGTERM: {leases:?}");

    store.close().await;
    drop(processes);
    let admin = sqlx::PgPool::connect(&std::env::var("GWI_TEST_POSTGRES_URL").unwrap())
        .await
        .unwrap();
    admin
        .execute(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)").as_str())
        .await
        .unwrap();
}
