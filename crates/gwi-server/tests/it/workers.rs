//! The background workers: events become records, failures are retried then dead-lettered,
//! and no event is processed twice at once.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use gwi_core::store::{InboundWebhook, InboxStatus, Store};
use gwi_server::ServerConfig;
use http::StatusCode;

use crate::support::*;

fn status_of(store: &TestStore, id: i64) -> Option<InboxStatus> {
    store
        .entries()
        .into_iter()
        .find(|e| e.id == id)
        .map(|e| e.status)
}

#[tokio::test]
async fn an_accepted_event_becomes_a_record_and_is_marked_done() {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github("work-map", Behaviour::Map);
    let globex = connector.configured_as("globex", GITHUB_SECRET);
    let server = server(
        vec![connector.configured(), globex],
        store.clone(),
        fast_config(),
    );
    let workers = server.start_workers();
    let router = server.router();

    let answer = send(
        &router,
        github_post(
            "/webhooks/work-map/globex",
            "d-1",
            br#"{"id":"issue-7","title":"Broken"}"#,
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let id = answer.json()["id"].as_i64().unwrap();
    eventually("the event is done", || async {
        status_of(&store, id) == Some(InboxStatus::Done)
    })
    .await;
    workers.shutdown().await;

    let records = store.records();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.id, "issue-7");
    assert_eq!(record.source, "work-map");
    assert_eq!(record.data.to_value()["title"], "Broken");
    assert_eq!(record.data.to_value()["tenant"], "globex");
    assert_eq!(record.data.to_value()["delivery_id"], "d-1");
    assert_eq!(record.data.to_value()["event_type"], "issues");
    assert_eq!(
        record.data.to_value()["signature_header_seen"],
        false,
        "the connector never sees the signature"
    );
    assert_eq!(connector.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failing_event_is_retried_then_dead_lettered_with_the_reason() {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github("work-dead", Behaviour::FailAlways);
    let server = server(vec![connector.configured()], store.clone(), fast_config());
    let workers = server.start_workers();
    let answer = send(
        &server.router(),
        github_post("/webhooks/work-dead", "d", br#"{"id":"x"}"#),
    )
    .await;
    let id = answer.json()["id"].as_i64().unwrap();

    eventually("the event is dead", || async {
        status_of(&store, id) == Some(InboxStatus::Dead)
    })
    .await;
    workers.shutdown().await;
    let entry = store.entries().remove(0);
    assert_eq!(
        entry.attempts, 3,
        "max_attempts attempts, then the dead letter"
    );
    assert!(
        entry
            .last_error
            .as_deref()
            .unwrap()
            .contains(TEMPORARY_FAILURE),
        "{:?}",
        entry.last_error
    );
    assert_eq!(connector.calls.load(Ordering::SeqCst), 3);
    assert!(store.records().is_empty());
}

#[tokio::test]
async fn a_temporary_failure_is_retried_until_it_succeeds() {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github("work-retry", Behaviour::FailTimes(2));
    let server = server(vec![connector.configured()], store.clone(), fast_config());
    let workers = server.start_workers();
    let answer = send(
        &server.router(),
        github_post("/webhooks/work-retry", "d", br#"{"id":"x"}"#),
    )
    .await;
    let id = answer.json()["id"].as_i64().unwrap();

    eventually("the event is done", || async {
        status_of(&store, id) == Some(InboxStatus::Done)
    })
    .await;
    workers.shutdown().await;
    assert_eq!(connector.calls.load(Ordering::SeqCst), 3);
    assert_eq!(store.entries()[0].attempts, 2);
    assert_eq!(store.records().len(), 1);
}

#[tokio::test]
async fn events_finished_together_share_one_commit_and_a_refused_one_fails_alone() {
    let store = Arc::new(TestStore::new());
    *store.refuse_record.lock().unwrap() = Some("poison".to_owned());
    let gate = store.hold_completions();
    let connector = TestConnector::github("work-batch", Behaviour::Map);
    let config = ServerConfig {
        workers: 8,
        ..fast_config()
    };
    let server = server(vec![connector.configured()], store.clone(), config);
    let router = server.router();
    let mut ids = Vec::new();
    for key in ["good-1", "good-2", "poison", "good-3", "good-4"] {
        let body = format!(r#"{{"id":"{key}","title":"t"}}"#);
        let answer = send(
            &router,
            github_post("/webhooks/work-batch", key, body.as_bytes()),
        )
        .await;
        ids.push((key, answer.json()["id"].as_i64().unwrap()));
    }
    let workers = server.start_workers();
    // All five are mapped while the first commit is held, so the rest queue up behind it.
    eventually("every event is mapped", || async {
        connector.calls.load(Ordering::SeqCst) >= 5
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    gate.add_permits(1000);
    eventually("the poisoned event is dead", || async {
        status_of(&store, ids[2].1) == Some(InboxStatus::Dead)
    })
    .await;
    workers.shutdown().await;

    let batches = store.completions.lock().unwrap().clone();
    assert!(
        batches.iter().any(|&n| n >= 2),
        "no commit carried several events: {batches:?}"
    );
    for (key, id) in &ids {
        let entry = store.entries().into_iter().find(|e| e.id == *id).unwrap();
        if *key == "poison" {
            assert_eq!(entry.attempts, 3);
            let error = entry.last_error.unwrap();
            assert!(error.contains("record poison refused"), "{error}");
        } else {
            assert_eq!(entry.status, InboxStatus::Done, "{key}");
            assert_eq!(
                entry.attempts, 0,
                "{key} was charged for another event's failure"
            );
        }
    }
    let mut stored: Vec<String> = store.records().into_iter().map(|r| r.id).collect();
    stored.sort();
    assert_eq!(stored, ["good-1", "good-2", "good-3", "good-4"]);
}

#[tokio::test]
async fn workers_defer_to_an_ingest_backlog_but_keep_processing() {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github("work-defer", Behaviour::Map);
    let config = ServerConfig {
        workers: 2,
        ..fast_config()
    };
    let server = server(vec![connector.configured()], store.clone(), config);
    let router = server.router();
    let mut events = Vec::new();
    for i in 0..6 {
        let body = format!(r#"{{"id":"early-{i}","title":"t"}}"#);
        let answer = send(
            &router,
            github_post(
                "/webhooks/work-defer",
                &format!("early-{i}"),
                body.as_bytes(),
            ),
        )
        .await;
        events.push(answer.json()["id"].as_i64().unwrap());
    }

    // Forty deliveries stuck in the appender: an ingest backlog.
    let gate = store.hold_appends();
    let waiting: Vec<_> = (0..40)
        .map(|i| {
            let router = router.clone();
            tokio::spawn(async move {
                let body = format!(r#"{{"id":"late-{i}","title":"t"}}"#);
                send(
                    &router,
                    github_post(
                        "/webhooks/work-defer",
                        &format!("late-{i}"),
                        body.as_bytes(),
                    ),
                )
                .await
            })
        })
        .collect();
    eventually("the appender holds a batch", || async {
        store.append_calls.load(Ordering::SeqCst) > 6
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Two workers, six events: three fetches, which the backlog spaces at least 100 ms apart.
    let started = std::time::Instant::now();
    let workers = server.start_workers();
    eventually("the earlier events are processed", || async {
        events
            .iter()
            .all(|id| status_of(&store, *id) == Some(InboxStatus::Done))
    })
    .await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(200),
        "workers did not defer to the backlog ({took:?})"
    );

    gate.add_permits(1000);
    for request in waiting {
        assert_eq!(request.await.unwrap().status, StatusCode::ACCEPTED);
    }
    eventually("the late deliveries are processed too", || async {
        store.records().len() == 46
    })
    .await;
    workers.shutdown().await;
}

#[tokio::test]
async fn a_permanent_failure_is_dead_lettered_without_retrying() {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github("work-permanent", Behaviour::FailPermanently);
    let server = server(vec![connector.configured()], store.clone(), fast_config());
    let workers = server.start_workers();
    let answer = send(
        &server.router(),
        github_post("/webhooks/work-permanent", "d", br#"{"id":"x"}"#),
    )
    .await;
    let id = answer.json()["id"].as_i64().unwrap();

    eventually("the event is dead", || async {
        status_of(&store, id) == Some(InboxStatus::Dead)
    })
    .await;
    workers.shutdown().await;
    assert_eq!(connector.calls.load(Ordering::SeqCst), 1);
    let error = store.entries()[0].last_error.clone().unwrap();
    assert!(error.contains("unknown action"), "{error}");
}

#[tokio::test]
async fn events_already_pending_at_start_are_processed() {
    let store = Arc::new(TestStore::new());
    for n in 0..3 {
        store
            .inbox_append(&InboundWebhook {
                tenant: "acme".to_owned(),
                connector: "work-leftover".to_owned(),
                dedupe_key: format!("left-{n}"),
                event_type: "issues".to_owned(),
                headers: vec![],
                body: format!(r#"{{"id":"left-{n}"}}"#).into_bytes().into(),
                received_at: Utc::now(),
            })
            .await
            .unwrap();
    }
    let connector = TestConnector::github("work-leftover", Behaviour::Map);
    // A long poll interval: only the start-up fetch can find them.
    let config = ServerConfig {
        poll_interval: Duration::from_secs(3600),
        ..fast_config()
    };
    let server = server(vec![connector.configured()], store.clone(), config);
    let workers = server.start_workers();
    eventually("all leftovers are done", || async {
        store
            .entries()
            .iter()
            .all(|e| e.status == InboxStatus::Done)
    })
    .await;
    workers.shutdown().await;
    assert_eq!(store.records().len(), 3);
}

#[tokio::test]
async fn a_new_event_wakes_idle_workers_without_waiting_for_a_poll() {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github("work-wake", Behaviour::Map);
    let config = ServerConfig {
        poll_interval: Duration::from_secs(3600),
        ..fast_config()
    };
    let server = server(vec![connector.configured()], store.clone(), config);
    let workers = server.start_workers();
    // Let the workers' start-up fetch find an empty inbox and go idle.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let answer = send(
        &server.router(),
        github_post("/webhooks/work-wake", "d", br#"{"id":"x"}"#),
    )
    .await;
    let id = answer.json()["id"].as_i64().unwrap();
    eventually("the event is done", || async {
        status_of(&store, id) == Some(InboxStatus::Done)
    })
    .await;
    workers.shutdown().await;
}

#[tokio::test]
async fn several_workers_never_process_one_event_twice_even_without_store_leases() {
    let store = Arc::new(TestStore::new());
    store.no_lease.store(true, Ordering::SeqCst);
    let connector = TestConnector::github("work-many", Behaviour::Slow(Duration::from_millis(20)));
    let config = ServerConfig {
        workers: 4,
        poll_interval: Duration::from_millis(5),
        ..fast_config()
    };
    let server = server(vec![connector.configured()], store.clone(), config);
    let workers = server.start_workers();
    let router = server.router();
    for n in 0..24 {
        let body = format!(r#"{{"id":"item-{n}"}}"#);
        let answer = send(
            &router,
            github_post("/webhooks/work-many", &format!("d-{n}"), body.as_bytes()),
        )
        .await;
        assert_eq!(answer.status, StatusCode::ACCEPTED);
    }
    eventually("all events are done", || async {
        store
            .entries()
            .iter()
            .all(|e| e.status == InboxStatus::Done)
    })
    .await;
    workers.shutdown().await;
    let mut seen = connector.seen.lock().unwrap().clone();
    assert_eq!(
        seen.len(),
        24,
        "each event processed exactly once: {seen:?}"
    );
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 24);
    assert_eq!(store.records().len(), 24);
}

#[tokio::test]
async fn shutdown_lets_the_current_event_finish() {
    let store = Arc::new(TestStore::new());
    let connector =
        TestConnector::github("work-drain", Behaviour::Slow(Duration::from_millis(200)));
    let server = server(vec![connector.configured()], store.clone(), fast_config());
    let workers = server.start_workers();
    let answer = send(
        &server.router(),
        github_post("/webhooks/work-drain", "d", br#"{"id":"x"}"#),
    )
    .await;
    let id = answer.json()["id"].as_i64().unwrap();
    eventually("processing has started", || async {
        connector.calls.load(Ordering::SeqCst) == 1
    })
    .await;
    workers.shutdown().await;
    assert_eq!(status_of(&store, id), Some(InboxStatus::Done));
    assert_eq!(store.records().len(), 1);
}

#[tokio::test]
async fn a_hung_event_times_out_and_is_retried() {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github("work-hang", Behaviour::Hang);
    let config = ServerConfig {
        processing_timeout: Duration::from_millis(50),
        ..fast_config()
    };
    let server = server(vec![connector.configured()], store.clone(), config);
    let workers = server.start_workers();
    let answer = send(
        &server.router(),
        github_post("/webhooks/work-hang", "d", br#"{"id":"x"}"#),
    )
    .await;
    let id = answer.json()["id"].as_i64().unwrap();
    eventually("the event is dead", || async {
        status_of(&store, id) == Some(InboxStatus::Dead)
    })
    .await;
    workers.shutdown().await;
    let entry = store.entries().remove(0);
    assert!(
        entry.last_error.unwrap().contains("longer than"),
        "timeout is the reason"
    );
}

#[tokio::test]
async fn an_ingest_only_server_stores_but_never_processes() {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github("work-none", Behaviour::Map);
    let config = ServerConfig {
        workers: 0,
        ..fast_config()
    };
    let server = server(vec![connector.configured()], store.clone(), config);
    let workers = server.start_workers();
    let answer = send(
        &server.router(),
        github_post("/webhooks/work-none", "d", br#"{"id":"x"}"#),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(100)).await;
    workers.shutdown().await;
    assert_eq!(store.entries()[0].status, InboxStatus::Pending);
    assert_eq!(connector.calls.load(Ordering::SeqCst), 0);
}
