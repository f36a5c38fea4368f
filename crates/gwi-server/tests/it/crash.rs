//! Durable before acknowledged: an event answered 202 survives a SIGKILL of the server process
//! and is processed by the next one.
//!
//! The server runs as a child process over a SQLite file: this test binary re-executed with
//! only [`crash_child_server`] selected and `GWI_IT_CHILD_STORE` naming the database.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use gwi_core::store::InboxStatus;
use gwi_server::ServerConfig;
use gwi_store::SqliteStore;
use http::StatusCode;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::*;

const CHILD_STORE: &str = "GWI_IT_CHILD_STORE";
const CHILD_WORKERS: &str = "GWI_IT_CHILD_WORKERS";
const CONNECTOR: &str = "crashy";

/// The child side: serves a SQLite store until killed. Does nothing unless started by
/// [`start_child`] (the environment variable is unset in a normal run).
#[test]
#[ignore = "child process of the crash test; started by it with GWI_IT_CHILD_STORE set"]
fn crash_child_server() {
    let Ok(path) = std::env::var(CHILD_STORE) else {
        return;
    };
    let workers = std::env::var(CHILD_WORKERS)
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(1);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let store = Arc::new(
            SqliteStore::connect(&sqlite_url(Path::new(&path)))
                .await
                .unwrap(),
        );
        let connector = TestConnector::github(CONNECTOR, Behaviour::Map);
        let config = ServerConfig {
            workers,
            ..fast_config()
        };
        let server = server(vec![connector.configured()], store, config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("LISTENING {}", listener.local_addr().unwrap());
        server
            .serve(listener, std::future::pending())
            .await
            .unwrap();
    });
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Starts a server process over the store at `path`; returns it and its address.
async fn start_child(path: &Path, workers: usize) -> (Child, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash::crash_child_server",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_STORE, path)
        .env(CHILD_WORKERS, workers.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            // libtest prints "test NAME ... " without a newline before the test's own output.
            if let Some((_, addr)) = line.split_once("LISTENING ") {
                return addr.trim().to_owned();
            }
        }
        panic!("the child server exited before listening");
    })
    .await
    .expect("the child server did not start in time");
    (child, addr)
}

#[tokio::test]
async fn an_event_acknowledged_before_sigkill_is_processed_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gwi.db");

    // First server: accepts the event and is killed before processing it (no workers, so the
    // kill cannot race the processing; an event killed mid-processing is picked up again when
    // the store's lease on it runs out, minutes later).
    let (mut first, addr) = start_child(&path, 0).await;
    let body = br#"{"id":"survivor","title":"acknowledged then killed"}"#.to_vec();
    let mut request = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("http://{addr}/webhooks/{CONNECTOR}"))
        .header("content-type", "application/json")
        .body(body.clone());
    for (name, value) in github_headers("crash-1", &body) {
        request = request.header(name, value);
    }
    let answer = request.send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    first.kill().await.unwrap(); // SIGKILL: no shutdown code runs.

    let after_kill = SqliteStore::connect(&sqlite_url(&path)).await.unwrap();
    assert_eq!(
        inbox_count(&after_kill, InboxStatus::Pending).await,
        1,
        "the acknowledged event is in the store"
    );
    assert!(records_of(&after_kill, "acme").await.is_empty());

    // Second server over the same store: finds the event and processes it.
    let (mut second, _) = start_child(&path, 1).await;
    eventually("the restarted server processed the event", || async {
        inbox_count(&after_kill, InboxStatus::Done).await == 1
    })
    .await;
    second.kill().await.unwrap();
    let records = records_of(&after_kill, "acme").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].id, "survivor");
    assert_eq!(
        records[0].data.to_value()["title"],
        "acknowledged then killed"
    );
}

/// Events a killed process had leased are handed back when it starts again under the same
/// instance name, at once; a process with another name waits for the lease to run out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_instance_takes_back_at_once_what_it_held_when_killed() {
    use gwi_core::store::{InboundWebhook, Lease};

    for (restarted_as, at_once) in [("web-1", true), ("web-2", false)] {
        let opened = Engine::Sqlite.open().await;
        let store = opened.store.clone();
        for n in 0..3 {
            store
                .inbox_append(&InboundWebhook {
                    tenant: "acme".to_owned(),
                    connector: CONNECTOR.to_owned(),
                    dedupe_key: format!("held-{n}"),
                    event_type: "issues".to_owned(),
                    headers: vec![],
                    body: format!(r#"{{"id":"held-{n}"}}"#).into_bytes().into(),
                    received_at: chrono::Utc::now(),
                })
                .await
                .unwrap();
        }
        // What web-1 leased before it was killed: nobody else may take it for a minute.
        let held = store
            .inbox_fetch_pending(
                10,
                &Lease {
                    holder: "web-1".to_owned(),
                    ttl: std::time::Duration::from_secs(60),
                },
            )
            .await
            .unwrap();
        assert_eq!(held.len(), 3);

        let connector = TestConnector::github(CONNECTOR, Behaviour::Map);
        let config = ServerConfig {
            instance: restarted_as.to_owned(),
            ..fast_config()
        };
        let running = spawn(server(vec![connector.configured()], store.clone(), config)).await;
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let done = inbox_count(store.as_ref(), InboxStatus::Done).await;
        running.stop().await;
        if at_once {
            assert_eq!(
                done, 3,
                "{restarted_as} should have taken its own events back"
            );
        } else {
            assert_eq!(done, 0, "{restarted_as} took events another instance holds");
        }
    }
}
