//! The receiving route's answers: 202 once stored, 200 for a repeat, 404, 413, 400, and 503
//! (never 2xx, never 4xx) when the store fails or is too slow.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use gwi_core::config::Secret;
use gwi_core::webhook::sign;
use gwi_server::ServerConfig;
use http::{Request, StatusCode};
use serde_json::json;

use crate::support::*;

fn one_connector(name: &str, config: ServerConfig) -> (axum::Router, Arc<TestStore>) {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github(name, Behaviour::Map);
    let router = server(vec![connector.configured()], store.clone(), config).router();
    (router, store)
}

/// The same delivery id sent to two tenants is two deliveries: the second tenant's data is not
/// lost as a duplicate, on every store engine.
#[tokio::test]
async fn a_delivery_id_is_deduplicated_per_tenant() {
    for engine in [Engine::Memory, Engine::Sqlite] {
        let opened = engine.open().await;
        let connector = TestConnector::github("tenants", Behaviour::Map);
        let tenants = vec![
            connector.configured(),
            connector.configured_as("globex", GITHUB_SECRET),
        ];
        let router = server(tenants, opened.store.clone(), fast_config()).router();
        let body = br#"{"id":"issue-1"}"#;
        for (path, status) in [
            ("/webhooks/tenants", StatusCode::ACCEPTED),
            ("/webhooks/tenants/globex", StatusCode::ACCEPTED),
            ("/webhooks/tenants/globex", StatusCode::OK),
        ] {
            let answer = send(&router, github_post(path, "delivery-1", body)).await;
            assert_eq!(answer.status, status, "{engine:?} {path}");
        }
    }
}

#[tokio::test]
async fn a_repeated_delivery_is_stored_once_and_answered_duplicate() {
    let (router, store) = one_connector("dup", fast_config());
    let body = br#"{"id":"issue-1"}"#;
    let first = send(&router, github_post("/webhooks/dup", "delivery-1", body)).await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    let id = first.json()["id"].as_i64().unwrap();

    let again = send(&router, github_post("/webhooks/dup", "delivery-1", body)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json(), json!({"duplicate": true}));

    let entries = store.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].id, id);
    assert_eq!(entries[0].webhook.dedupe_key, "delivery-1");
    assert_eq!(entries[0].webhook.event_type, "issues");

    let other = send(&router, github_post("/webhooks/dup", "delivery-2", body)).await;
    assert_eq!(
        other.status,
        StatusCode::ACCEPTED,
        "another delivery id is another event"
    );
    assert_eq!(store.entries().len(), 2);
}

/// Each configured tenant is served at its own path and verified with its own secret: a
/// delivery signed for one tenant replayed to another is refused, and a tenant the config does
/// not name is not found (its deliveries are never stored under a made-up tenant).
#[tokio::test]
async fn each_tenant_has_its_own_secret_and_an_unconfigured_tenant_is_not_found() {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github("tenants", Behaviour::Map);
    let tenants = vec![
        connector.configured(),
        connector.configured_as("globex", "globex-own-webhook-secret"),
    ];
    let router = server(tenants, store.clone(), fast_config()).router();
    let body = br#"{"id":"x"}"#;
    let acme_signed = |path: &str, delivery: &str| github_post(path, delivery, body);
    assert_eq!(
        send(&router, acme_signed("/webhooks/tenants", "a"))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    // A captured acme delivery replayed to globex with a fresh id.
    let replayed = send(&router, acme_signed("/webhooks/tenants/globex", "b")).await;
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED);
    let mut headers = sign::github(&Secret::literal("globex-own-webhook-secret"), body);
    headers.push(("x-github-delivery", "c".to_owned()));
    headers.push(("x-github-event", "issues".to_owned()));
    headers.push(("content-type", "application/json".to_owned()));
    let globex = send(
        &router,
        post("/webhooks/tenants/globex", &headers, body.to_vec()),
    )
    .await;
    assert_eq!(globex.status, StatusCode::ACCEPTED);
    for unknown in [
        "/webhooks/tenants/anything",
        "/webhooks/tenants/bad%20tenant",
    ] {
        let answer = send(&router, acme_signed(unknown, "d")).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{unknown}");
    }
    let tenants: Vec<String> = store
        .entries()
        .into_iter()
        .map(|e| e.webhook.tenant)
        .collect();
    assert_eq!(tenants, vec!["acme", "globex"]);
}

#[tokio::test]
async fn unknown_connectors_and_connectors_without_webhooks_are_404() {
    let store = Arc::new(TestStore::new());
    let polling_only = Arc::new(TestConnector::new("polling-only", None, Behaviour::Map));
    let router = server(
        vec![
            TestConnector::github("known", Behaviour::Map).configured(),
            polling_only.configured(),
        ],
        store.clone(),
        fast_config(),
    )
    .router();
    let body = br#"{"id":"x"}"#;
    for path in [
        "/webhooks/nope",
        "/webhooks/polling-only",
        "/webhooks/nope/acme",
    ] {
        let answer = send(&router, github_post(path, "d", body)).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.json()["error"], "not_found");
    }
    assert!(store.entries().is_empty());
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_by_declared_length() {
    let config = ServerConfig {
        body_limit: 64,
        ..fast_config()
    };
    let (router, store) = one_connector("limit", config);
    let body = format!(r#"{{"id":"x","pad":"{}"}}"#, "a".repeat(100));
    let answer = send(
        &router,
        github_post("/webhooks/limit", "d", body.as_bytes()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.json()["limit_bytes"], 64);
    assert!(store.entries().is_empty());

    let small = send(
        &router,
        github_post("/webhooks/limit", "d", br#"{"id":"x"}"#),
    )
    .await;
    assert_eq!(
        small.status,
        StatusCode::ACCEPTED,
        "a body under the limit passes"
    );
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413_without_a_declared_length() {
    let config = ServerConfig {
        body_limit: 64,
        ..fast_config()
    };
    let (router, store) = one_connector("limit-chunked", config);
    let body = format!(r#"{{"id":"x","pad":"{}"}}"#, "a".repeat(100));
    let mut builder = Request::post("/webhooks/limit-chunked");
    for (name, value) in github_headers("d", body.as_bytes()) {
        builder = builder.header(name, value);
    }
    let chunks: Vec<Result<Bytes, std::io::Error>> = body
        .as_bytes()
        .chunks(16)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let request = builder
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    assert!(request.headers().get("content-length").is_none());
    let answer = send(&router, request).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(store.entries().is_empty());
}

#[tokio::test]
async fn a_signed_body_that_is_not_json_is_400_and_not_stored() {
    let (router, store) = one_connector("malformed", fast_config());
    let answer = send(
        &router,
        github_post("/webhooks/malformed", "d", b"{not json"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.json()["error"], "malformed_body");
    assert!(store.entries().is_empty());
}

#[tokio::test]
async fn an_unsigned_body_is_401_before_it_is_parsed() {
    let (router, _store) = one_connector("unsigned", fast_config());
    let answer = send(
        &router,
        post("/webhooks/unsigned", &[], b"{not json".to_vec()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_failing_store_answers_503_with_retry_after_and_never_2xx() {
    let (router, store) = one_connector("store-down", fast_config());
    store.fail_append.store(true, Ordering::SeqCst);
    for delivery in ["a", "b", "a"] {
        let answer = send(
            &router,
            github_post("/webhooks/store-down", delivery, br#"{"id":"x"}"#),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            answer.text
        );
        assert_eq!(answer.headers["retry-after"], "5");
        assert!(
            !answer.text.contains("switched off"),
            "store details leak: {}",
            answer.text
        );
    }
    assert!(store.entries().is_empty());

    // Once the store is back, the provider's retry is accepted.
    store.fail_append.store(false, Ordering::SeqCst);
    let answer = send(
        &router,
        github_post("/webhooks/store-down", "a", br#"{"id":"x"}"#),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn a_store_slower_than_the_request_timeout_answers_503_not_408() {
    let config = ServerConfig {
        request_timeout: Duration::from_millis(100),
        ..fast_config()
    };
    let (router, store) = one_connector("slow-store", config);
    let gate = store.hold_appends();
    let answer = send(
        &router,
        github_post("/webhooks/slow-store", "d", br#"{"id":"x"}"#),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(answer.headers.contains_key("retry-after"));

    // The append was not cancelled by the timeout: it completes, so the retry is a duplicate.
    gate.add_permits(10);
    eventually("the held append completes", || async {
        store.entries().len() == 1
    })
    .await;
    let retry = send(
        &router,
        github_post("/webhooks/slow-store", "d", br#"{"id":"x"}"#),
    )
    .await;
    assert_eq!(retry.json(), json!({"duplicate": true}));
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_wait_for_a_free_slot() {
    let config = ServerConfig {
        concurrency_limit: 1,
        ..fast_config()
    };
    let (router, store) = one_connector("busy", config);
    let gate = store.hold_appends();
    let request = |delivery: &'static str| {
        let router = router.clone();
        tokio::spawn(async move {
            send(
                &router,
                github_post("/webhooks/busy", delivery, br#"{"id":"1"}"#),
            )
            .await
        })
    };
    let first = request("first");
    eventually("the first request holds the only slot", || async {
        store.append_calls.load(Ordering::SeqCst) == 1
    })
    .await;
    let second = request("second");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        store.append_calls.load(Ordering::SeqCst),
        1,
        "the second request ran beside the first"
    );

    gate.add_permits(10);
    assert_eq!(first.await.unwrap().status, StatusCode::ACCEPTED);
    assert_eq!(second.await.unwrap().status, StatusCode::ACCEPTED);
    assert_eq!(store.entries().len(), 2);
}

#[tokio::test]
async fn stored_headers_keep_provider_metadata_but_no_signature() {
    let (router, store) = one_connector("headers", fast_config());
    let answer = send(
        &router,
        github_post("/webhooks/headers", "d-9", br#"{"id":"x"}"#),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let headers = &store.entries()[0].webhook.headers;
    let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"x-github-delivery"), "{names:?}");
    assert!(names.contains(&"x-github-event"), "{names:?}");
    assert!(!names.contains(&"x-hub-signature-256"), "{names:?}");
}

#[tokio::test]
async fn concurrent_deliveries_share_a_commit_and_are_each_answered() {
    let (router, store) = one_connector("group", fast_config());
    let gate = store.hold_appends();
    let request = |delivery: String| {
        let router = router.clone();
        tokio::spawn(async move {
            send(
                &router,
                github_post("/webhooks/group", &delivery, br#"{"id":"1"}"#),
            )
            .await
        })
    };
    // The first delivery's commit is held, so the others queue up behind it.
    let first = request("d-0".to_owned());
    eventually("the first delivery is being appended", || async {
        store.append_calls.load(Ordering::SeqCst) == 1
    })
    .await;
    let mut queued: Vec<_> = (1..=30).map(|i| request(format!("d-{i}"))).collect();
    // Repeats of a queued delivery and of the held one.
    queued.extend(["d-5", "d-0", "d-5"].map(|d| request(d.to_owned())));
    tokio::time::sleep(Duration::from_millis(200)).await;

    gate.add_permits(100);
    assert_eq!(first.await.unwrap().status, StatusCode::ACCEPTED);
    let mut accepted = 0;
    let mut duplicates = 0;
    for answer in queued {
        let answer = answer.await.unwrap();
        match answer.status {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::OK => {
                assert_eq!(answer.json(), json!({"duplicate": true}));
                duplicates += 1;
            }
            other => panic!("unexpected {other}: {}", answer.text),
        }
    }
    assert_eq!((accepted, duplicates), (30, 3));
    assert_eq!(store.entries().len(), 31);
    let batches = store.batches.lock().unwrap().clone();
    assert_eq!(batches.iter().sum::<usize>(), 34);
    assert!(
        batches.len() < 34,
        "queued deliveries were committed one by one: {batches:?}"
    );
}

#[tokio::test]
async fn a_failed_batch_answers_503_to_every_delivery_in_it() {
    let (router, store) = one_connector("group-down", fast_config());
    let gate = store.hold_appends();
    store.fail_append.store(true, Ordering::SeqCst);
    let answers: Vec<_> = (0..5)
        .map(|i| {
            let router = router.clone();
            tokio::spawn(async move {
                send(
                    &router,
                    github_post("/webhooks/group-down", &format!("f-{i}"), br#"{"id":"1"}"#),
                )
                .await
            })
        })
        .collect();
    eventually("a delivery reaches the store", || async {
        store.append_calls.load(Ordering::SeqCst) > 0
    })
    .await;
    gate.add_permits(100);
    for answer in answers {
        assert_eq!(
            answer.await.unwrap().status,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    assert!(store.entries().is_empty());
}

#[tokio::test]
async fn concurrent_deliveries_to_sqlite_are_stored_once_each() {
    let opened = Engine::Sqlite.open().await;
    let connector = TestConnector::github("group-sqlite", Behaviour::Map);
    let config = ServerConfig {
        workers: 0,
        ..fast_config()
    };
    let router = server(vec![connector.configured()], opened.store.clone(), config).router();
    let answers: Vec<_> = (0..200)
        .map(|i| {
            let router = router.clone();
            // Every delivery id is sent twice.
            let delivery = format!("s-{}", i / 2);
            tokio::spawn(async move {
                let body = format!(r#"{{"id":"{delivery}"}}"#);
                send(
                    &router,
                    github_post("/webhooks/group-sqlite", &delivery, body.as_bytes()),
                )
                .await
            })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    let mut duplicates = 0;
    for answer in answers {
        let answer = answer.await.unwrap();
        match answer.status {
            StatusCode::ACCEPTED => assert!(ids.insert(answer.json()["id"].as_i64().unwrap())),
            StatusCode::OK => duplicates += 1,
            other => panic!("unexpected {other}: {}", answer.text),
        }
    }
    assert_eq!((ids.len(), duplicates), (100, 100));
    assert_eq!(
        inbox_count(opened.store.as_ref(), gwi_core::store::InboxStatus::Pending).await,
        100
    );
}

/// A captured signed delivery replayed under fresh delivery ids (GitHub signs no id) is
/// answered as a duplicate and stored once, on every store engine; the same body sent to
/// another tenant is that tenant's own delivery.
#[tokio::test]
async fn a_replayed_body_under_fresh_delivery_ids_is_stored_once() {
    for engine in [Engine::Memory, Engine::Sqlite] {
        let opened = engine.open().await;
        let connector = TestConnector::github("replays", Behaviour::Map);
        let tenants = vec![
            connector.configured(),
            connector.configured_as("globex", GITHUB_SECRET),
        ];
        let router = server(tenants, opened.store.clone(), fast_config()).router();
        let body = br#"{"id":"issue-1","action":"opened"}"#;
        let first = send(&router, github_post("/webhooks/replays", "original", body)).await;
        assert_eq!(first.status, StatusCode::ACCEPTED, "{engine:?}");
        for n in 0..5 {
            let replay = send(
                &router,
                github_post("/webhooks/replays", &format!("fresh-{n}"), body),
            )
            .await;
            assert_eq!(replay.status, StatusCode::OK, "{engine:?} replay {n}");
            assert_eq!(replay.json(), json!({"duplicate": true}));
        }
        let other = send(
            &router,
            github_post("/webhooks/replays/globex", "fresh-x", body),
        )
        .await;
        assert_eq!(other.status, StatusCode::ACCEPTED, "{engine:?}");
        let stored = opened.store.inbox_counts().await.unwrap();
        let total: u64 = stored.iter().map(|(_, n)| n).sum();
        assert_eq!(total, 2, "{engine:?}: {stored:?}");
    }
}

/// The running service prunes settled deliveries: a processed one loses its body after the
/// retention, while one still pending keeps it.
#[tokio::test]
async fn the_service_prunes_bodies_of_settled_deliveries_only() {
    let store = Arc::new(TestStore::new());
    let processed = TestConnector::github("pruned", Behaviour::Map);
    let failing = TestConnector::github("kept", Behaviour::FailAlways);
    let mut config = ServerConfig {
        body_retention: Duration::ZERO,
        prune_interval: Duration::from_millis(50),
        ..fast_config()
    };
    // Retried for the whole test: it stays pending.
    config.retry.max_attempts = u32::MAX;
    let running = spawn(server(
        vec![processed.configured(), failing.configured()],
        store.clone(),
        config,
    ))
    .await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    for (path, delivery) in [("/webhooks/pruned", "p-1"), ("/webhooks/kept", "k-1")] {
        let body = format!(r#"{{"id":"{delivery}"}}"#).into_bytes();
        let mut request = client.post(running.url(path)).body(body.clone());
        for (name, value) in github_headers(delivery, &body) {
            request = request.header(name, value);
        }
        assert_eq!(request.send().await.unwrap().status(), StatusCode::ACCEPTED);
    }
    eventually("the processed delivery's body is pruned", || async {
        store
            .entries()
            .iter()
            .any(|e| e.webhook.dedupe_key == "p-1" && e.webhook.body.is_empty())
    })
    .await;
    let kept = store
        .entries()
        .into_iter()
        .find(|e| e.webhook.dedupe_key == "k-1")
        .unwrap();
    assert_eq!(kept.status, gwi_core::store::InboxStatus::Pending);
    assert_eq!(&kept.webhook.body[..], br#"{"id":"k-1"}"#);
    running.stop().await;
}

/// `connector` configured for `tenant` as GitHub App installation `installation`, its deliveries
/// verified with `secret`.
fn app_tenant(
    connector: &Arc<TestConnector>,
    tenant: &str,
    installation: u64,
    secret: &str,
    pem: &str,
) -> gwi_core::registry::ConfiguredConnector {
    let mut configured = connector.configured_as(tenant, secret);
    let mut common = (*configured.common).clone();
    common.auth = gwi_core::auth::AuthConfig::GithubApp {
        app_id: gwi_core::auth::GithubAppId::new("1"),
        installation_id: installation,
        private_key: Secret::literal(pem),
        base_url: None,
    };
    configured.common = Arc::new(common);
    configured
}

fn test_pem() -> String {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
    key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap()
        .to_string()
}

/// A GitHub App's delivery goes to the tenant configured with the installation its signed body
/// names, whatever path verified it, and must verify with that tenant's secret too; an unknown
/// installation is 404, and a delivery without one goes by its path.
#[tokio::test]
async fn an_app_delivery_is_stored_under_the_tenant_of_its_installation() {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github("app", Behaviour::Map);
    let pem = test_pem();
    let tenants = vec![
        connector.configured(),
        app_tenant(&connector, "initech", 11, GITHUB_SECRET, &pem),
        app_tenant(&connector, "globex", 22, "globex-own-secret", &pem),
    ];
    let router = server(tenants, store.clone(), fast_config()).router();
    let post_as = |secret: &str, delivery: &str, body: &[u8], path: &str| {
        let mut headers = sign::github(&Secret::literal(secret), body);
        headers.push(("x-github-event", "issues".to_owned()));
        headers.push(("x-github-delivery", delivery.to_owned()));
        post(path, &headers, body.to_vec())
    };
    let acme_body = br#"{"id":"a-1","installation":{"id":11}}"#;
    let answer = send(
        &router,
        post_as(GITHUB_SECRET, "a-1", acme_body, "/webhooks/app"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    // A tenant with a secret of its own takes its deliveries at its own path.
    let globex_body = br#"{"id":"g-1","installation":{"id":22}}"#;
    let answer = send(
        &router,
        post_as(
            "globex-own-secret",
            "g-1",
            globex_body,
            "/webhooks/app/globex",
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    // Acme's secret passes its path's check but cannot sign for globex's installation.
    let forged = br#"{"id":"g-2","installation":{"id":22}}"#;
    let answer = send(
        &router,
        post_as(GITHUB_SECRET, "g-2", forged, "/webhooks/app"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
    let unknown = br#"{"id":"u-1","installation":{"id":99}}"#;
    let answer = send(
        &router,
        post_as(GITHUB_SECRET, "u-1", unknown, "/webhooks/app"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text);
    let plain = br#"{"id":"p-1"}"#;
    let answer = send(
        &router,
        post_as(GITHUB_SECRET, "p-1", plain, "/webhooks/app"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);

    let mut stored: Vec<(String, String)> = store
        .entries()
        .into_iter()
        .map(|e| (e.webhook.dedupe_key, e.webhook.tenant))
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        [
            ("a-1".to_owned(), "initech".to_owned()),
            ("g-1".to_owned(), "globex".to_owned()),
            ("p-1".to_owned(), "acme".to_owned()),
        ]
    );
}

#[tokio::test]
async fn one_installation_for_two_tenants_is_refused_at_start() {
    let connector = TestConnector::github("app-twice", Behaviour::Map);
    let pem = test_pem();
    let tenants = vec![
        app_tenant(&connector, "acme", 11, GITHUB_SECRET, &pem),
        app_tenant(&connector, "globex", 11, GITHUB_SECRET, &pem),
    ];
    let refused = gwi_server::Server::new(tenants, Arc::new(TestStore::new()), fast_config());
    assert!(
        matches!(
            refused,
            Err(gwi_server::ServerError::DuplicateInstallation { .. })
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_single_tenant_deployment_serves_no_tenant_routes() {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github("single", Behaviour::Map);
    let config = ServerConfig {
        tenant_routes: false,
        ..fast_config()
    };
    let router = server(vec![connector.configured()], store.clone(), config).router();
    let body = br#"{"id":"s-1"}"#;
    let tenant_path = send(
        &router,
        github_post("/webhooks/single/default", "s-1", body),
    )
    .await;
    assert_eq!(tenant_path.status, StatusCode::NOT_FOUND);
    let own_path = send(&router, github_post("/webhooks/single", "s-1", body)).await;
    assert_eq!(own_path.status, StatusCode::ACCEPTED);
}
