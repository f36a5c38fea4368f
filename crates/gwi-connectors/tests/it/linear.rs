//! Linear: the edge cases the behaviour suite does not reach, against `wiremock` and the recorded
//! webhook bodies in `tests/fixtures/linear/`.

use bytes::Bytes;
use gwi_core::error::ConnectorError;
use gwi_core::record::ConnectorRecord;
use gwi_core::registry::ConfiguredConnector;
use gwi_core::stream::{StreamDescriptor, SyncOptions};
use gwi_core::webhook::WebhookEvent;
use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    context, cursors, drain, drain_ok, ids, options_with_state, recorded, records, with,
};

const KEY: &str = "lin_api_test_key_for_wiremock";

fn config(base_url: &str, extra: Value) -> Value {
    with(
        &json!({
            "base_url": base_url,
            "auth": {"type": "api_key", "key": KEY},
            "http": {"requests_per_second": 10000.0, "initial_backoff_ms": 10, "max_backoff_secs": 1},
        }),
        extra,
    )
}

fn linear(config: Value) -> ConfiguredConnector {
    gwi_connectors::registry()
        .build("linear", config)
        .unwrap_or_else(|e| panic!("config refused: {e}"))
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    recorded("linear", "webhooks", name)
}

fn user(id: &str, updated: &str) -> Value {
    json!({"id": id, "name": format!("user {id}"), "displayName": id, "email": format!("{id}@acme.test"),
           "active": true, "admin": false, "createdAt": "2024-01-01T00:00:00.000Z",
           "updatedAt": updated, "archivedAt": null})
}

fn page(field: &str, nodes: Vec<Value>, next: Option<&str>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"data": {field: {
        "nodes": nodes,
        "pageInfo": {"hasNextPage": next.is_some(), "endCursor": next},
    }}}))
}

fn users_stream() -> StreamDescriptor {
    StreamDescriptor::new("workspace", "user")
}

#[tokio::test]
async fn a_listing_is_followed_by_end_cursor_with_the_key_as_it_is() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(header("authorization", KEY))
        .and(body_partial_json(
            json!({"variables": {"first": 100, "filter": null}}),
        ))
        .and(body_string_contains("users(first: $first, after: $after"))
        .respond_with(page(
            "users",
            vec![
                user("u3", "2024-03-03T00:00:00.000Z"),
                user("u2", "2024-02-02T00:00:00.250Z"),
            ],
            Some("c-2"),
        ))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_partial_json(json!({"variables": {"after": "c-2"}})))
        .respond_with(page(
            "users",
            vec![user("u1", "2024-01-01T00:00:00.000Z")],
            None,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let connector = linear(config(&server.uri(), json!({})));
    let ctx = context(&connector);
    let items = drain_ok(
        &*connector.connector,
        &ctx,
        &users_stream(),
        &SyncOptions::default(),
    )
    .await;
    assert_eq!(ids(&items), ["u3", "u2", "u1"]);
    assert_eq!(cursors(&items).last(), Some(&json!("2024-03-03T00:00:00Z")));
}

#[tokio::test]
async fn an_incremental_run_filters_from_the_cursor_and_keeps_it_when_nothing_is_newer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_partial_json(json!({"variables": {"filter": {
            "updatedAt": {"gte": "2024-03-03T00:00:00.500Z"},
            "issue": {"team": {"key": {"in": ["ENG"]}}}}}})))
        .respond_with(page("comments", Vec::new(), None))
        .expect(1)
        .mount(&server)
        .await;
    let connector = linear(config(&server.uri(), json!({"teams": ["ENG"]})));
    let ctx = context(&connector);
    let stored = json!("2024-03-03T00:00:00.500Z");
    let options = options_with_state(&[("workspace/comment", stored.clone())]);
    let stream = StreamDescriptor::new("workspace", "comment");
    let items = drain_ok(&*connector.connector, &ctx, &stream, &options).await;
    assert_eq!(cursors(&items).last(), Some(&stored));
}

#[tokio::test]
async fn a_rate_limited_query_waits_for_the_reset_header_then_succeeds() {
    let server = MockServer::start().await;
    let reset_ms = (chrono::Utc::now().timestamp_millis() + 1_000).to_string();
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"errors": [{"message": "Rate limit exceeded",
                    "extensions": {"code": "RATELIMITED", "type": "ratelimited", "userError": true}}]}))
                .insert_header("x-ratelimit-requests-remaining", "0")
                .insert_header("x-ratelimit-requests-limit", "5000")
                .insert_header("x-ratelimit-requests-reset", reset_ms.as_str()),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(page(
            "users",
            vec![user("u1", "2024-01-01T00:00:00.000Z")],
            None,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let connector = linear(config(&server.uri(), json!({})));
    let ctx = context(&connector);
    let started = std::time::Instant::now();
    let items = drain_ok(
        &*connector.connector,
        &ctx,
        &users_stream(),
        &SyncOptions::default(),
    )
    .await;
    assert_eq!(ids(&items), ["u1"]);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn errors_name_their_path_and_refused_keys_say_how_to_send_one() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains("query Users"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"errors": [{
            "message": "first must be between 0 and 250", "path": ["users"],
            "extensions": {"type": "invalid input", "code": "INPUT_ERROR", "userError": true}}]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains("query Viewer"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"errors": [{
            "message": "Authentication required, not authenticated",
            "extensions": {"type": "authentication error", "code": "AUTHENTICATION_ERROR"}}]})))
        .mount(&server)
        .await;
    let connector = linear(config(&server.uri(), json!({})));
    let ctx = context(&connector);
    let (_, error) = drain(
        &*connector.connector,
        &ctx,
        &users_stream(),
        &SyncOptions::default(),
    )
    .await;
    let text = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        text.contains("`users`") && text.contains("invalid input") && text.contains("250"),
        "{text}"
    );
    let error = connector.connector.authenticate(&ctx).await.unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, ConnectorError::Authentication { .. }),
        "{text}"
    );
    assert!(
        text.contains("without `Bearer`") && !text.contains(KEY),
        "{text}"
    );
}

#[tokio::test]
async fn partial_data_is_kept_and_the_error_beside_it_does_not_fail_the_stream() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"users": {"nodes": [user("u1", "2024-01-01T00:00:00.000Z")],
                               "pageInfo": {"hasNextPage": false, "endCursor": null}}},
            "errors": [{"message": "email hidden", "path": ["users", "nodes", 0, "email"]}]})))
        .mount(&server)
        .await;
    let connector = linear(config(&server.uri(), json!({})));
    let ctx = context(&connector);
    let items = drain_ok(
        &*connector.connector,
        &ctx,
        &users_stream(),
        &SyncOptions::default(),
    )
    .await;
    assert_eq!(ids(&items), ["u1"]);
}

/// A verified delivery of `body`, as `gwi serve` hands it over.
fn delivery(body: &[u8]) -> WebhookEvent {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    WebhookEvent {
        connector: "linear".into(),
        tenant: "default".into(),
        event_type: value["type"].as_str().unwrap_or("unknown").to_owned(),
        delivery_id: "3b1e1c4a-delivery".into(),
        headers: http::HeaderMap::new(),
        body: Bytes::copy_from_slice(body),
    }
}

async fn mapped(
    connector: &ConfiguredConnector,
    body: &[u8],
) -> Result<Vec<ConnectorRecord>, ConnectorError> {
    connector
        .connector
        .process_webhook(&context(connector), &delivery(body))
        .await
}

#[tokio::test]
async fn every_recorded_webhook_maps_to_its_record_and_removes_are_tombstones() {
    let connector = linear(config("https://api.linear.app", json!({})));
    for (name, record_type, tombstone) in [
        ("issue_create", "issue", false),
        ("issue_update", "issue", false),
        ("issue_remove", "issue", true),
        ("comment_create", "comment", false),
        ("comment_update", "comment", false),
        ("comment_remove", "comment", true),
        ("project_update", "project", false),
        ("cycle_update", "cycle", false),
    ] {
        let body = fixture_bytes(name);
        let recorded: Value = serde_json::from_slice(&body).unwrap();
        let records = mapped(&connector, &body)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(records.len(), 1, "{name}");
        assert_eq!(
            records[0].id,
            recorded["data"]["id"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(records[0].record_type, record_type, "{name}");
        assert_eq!(records[0].is_tombstone(), tombstone, "{name}");
    }
    let update = mapped(&connector, &fixture_bytes("issue_update"))
        .await
        .unwrap();
    let data = update[0].data.to_value();
    assert_eq!(data["identifier"], "TRI-1");
    assert_eq!(data["state"]["type"], "unstarted");
    let project = mapped(&connector, &fixture_bytes("project_update"))
        .await
        .unwrap();
    assert_eq!(project[0].data.to_value()["target_date"], "2024-02-14");
}

#[tokio::test]
async fn with_teams_configured_webhooks_of_other_teams_write_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains("query IssueTeam"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"issue": {"team": {"key": "TRI"}}}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains("query TeamIds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": {"teams": {"nodes": [{"id": "eng-team-id", "key": "ENG"}]}}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let eng = linear(config(&server.uri(), json!({"teams": ["ENG"]})));
    for name in [
        "issue_update",
        "comment_create",
        "cycle_update",
        "project_update",
    ] {
        let records = mapped(&eng, &fixture_bytes(name))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(records.is_empty(), "{name}: {records:?}");
    }
    let tri = linear(config(
        "https://api.linear.app",
        json!({"teams": ["TRI"], "types": ["issue"]}),
    ));
    assert_eq!(
        mapped(&tri, &fixture_bytes("issue_update"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        mapped(&tri, &fixture_bytes("comment_create"))
            .await
            .unwrap()
            .is_empty(),
        "type off"
    );
}

#[tokio::test]
async fn a_webhook_and_a_query_of_one_issue_give_one_row() {
    let body = fixture_bytes("issue_update");
    let hook: Value = serde_json::from_slice(&body).unwrap();
    let d = &hook["data"];
    let node = json!({
        "id": d["id"], "number": d["number"], "title": d["title"], "description": d["description"],
        "priority": d["priority"], "estimate": null, "dueDate": null, "createdAt": d["createdAt"],
        "updatedAt": d["updatedAt"], "archivedAt": null, "canceledAt": null, "completedAt": null,
        "startedAt": null, "state": {"id": d["state"]["id"], "name": d["state"]["name"], "type": d["state"]["type"]},
        "team": {"id": d["team"]["id"], "key": d["team"]["key"]}, "assignee": null, "creator": null,
        "project": null, "cycle": null, "parent": null, "labels": {"nodes": []}});
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(page("issues", vec![node], None))
        .mount(&server)
        .await;
    let connector = linear(config(&server.uri(), json!({})));
    let ctx = context(&connector);
    let stream = StreamDescriptor::new("workspace", "issue");
    let items = drain_ok(
        &*connector.connector,
        &ctx,
        &stream,
        &SyncOptions::default(),
    )
    .await;
    let hooked = mapped(&connector, &body).await.unwrap();
    assert_eq!(records(&items), hooked.iter().collect::<Vec<_>>());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Altered webhook bodies give records or a typed error, never a panic.
    #[test]
    fn altered_webhooks_never_panic(
        which in 0usize..8,
        field in prop::sample::select(vec!["id", "number", "team", "state", "labels", "createdAt", "updatedAt", "issueId", "teamIds", "targetDate", "action"]),
        replacement in prop_oneof![Just(json!(null)), Just(json!(7)), Just(json!("x")), Just(json!([])), Just(json!({"id": 1}))],
        flip in prop::option::of((any::<prop::sample::Index>(), any::<u8>())),
    ) {
        let names = ["issue_create", "issue_update", "issue_remove", "comment_create",
                     "comment_update", "comment_remove", "project_update", "cycle_update"];
        let mut value: Value = serde_json::from_slice(&fixture_bytes(names[which])).unwrap();
        if field == "action" {
            value["action"] = replacement;
        } else if let Some(data) = value.get_mut("data").and_then(Value::as_object_mut) {
            data.insert(field.to_owned(), replacement);
        }
        let mut body = value.to_string().into_bytes();
        if let Some((at, byte)) = flip {
            let i = at.index(body.len());
            body[i] = byte;
        }
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let connector = linear(config("https://api.linear.app", json!({})));
        if let Err(e) = runtime.block_on(mapped(&connector, &body)) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}

#[tokio::test]
async fn oauth_tokens_are_refreshed_and_sent_as_bearer_and_health_reports_the_tighter_budget() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("refresh_token=lin_refresh_granted"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            // About a day, and each refresh rotates the refresh token.
            "access_token": "lin_oauth_access", "token_type": "Bearer", "expires_in": 86399,
            "refresh_token": "lin_refresh_rotated", "scope": "read"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(header("authorization", "Bearer lin_oauth_access"))
        .and(body_string_contains("query Viewer"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"viewer": {"id": "u1", "name": "Ada", "email": "ada@acme.test"}}}))
                .insert_header("x-ratelimit-requests-limit", "5000")
                .insert_header("x-ratelimit-requests-remaining", "4900")
                .insert_header("x-ratelimit-complexity-limit", "250000")
                .insert_header("x-ratelimit-complexity-remaining", "20000"),
        )
        .mount(&server)
        .await;
    let connector = linear(config(
        &server.uri(),
        json!({"auth": {"type": "oauth2", "token_url": format!("{}/oauth/token", server.uri()),
                        "client_id": "lin-client", "client_secret": "lin-secret",
                        "refresh_token": "lin_refresh_granted"}}),
    ));
    let ctx = context(&connector);
    let info = connector.connector.authenticate(&ctx).await.unwrap();
    assert_eq!(info.identity.as_deref(), Some("ada@acme.test"));
    let health = serde_json::to_value(connector.connector.health_check(&ctx).await).unwrap();
    let text = health.to_string();
    assert!(text.contains("\"budget\":\"complexity\""), "{text}");
    assert!(text.contains("\"remaining\":20000"), "{text}");
}
