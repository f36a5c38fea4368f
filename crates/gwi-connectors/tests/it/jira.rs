//! Jira: the edge cases the behaviour suite does not reach, against `wiremock` and the recorded
//! payloads in `tests/fixtures/jira/`.

use bytes::Bytes;
use gwi_core::error::ConnectorError;
use gwi_core::record::ConnectorRecord;
use gwi_core::registry::ConfiguredConnector;
use gwi_core::stream::{StreamDescriptor, SyncOptions};
use gwi_core::webhook::WebhookEvent;
use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_contains, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    SavedTokens, context, context_saving, cursors, drain, drain_ok, ids, options_with_state,
    recorded, with,
};

fn config(base_url: &str, extra: Value) -> Value {
    with(
        &json!({
            "base_url": base_url,
            "projects": ["ENG"],
            "auth": {"type": "basic", "username": "me@acme.test", "password": "jira-api-token-for-wiremock"},
            "http": {"requests_per_second": 10000.0, "initial_backoff_ms": 10, "max_backoff_secs": 1, "max_attempts": 2},
        }),
        extra,
    )
}

fn jira(config: Value) -> ConfiguredConnector {
    gwi_connectors::registry()
        .build("jira", config)
        .unwrap_or_else(|e| panic!("config refused: {e}"))
}

fn fixture(dir: &str, name: &str) -> Value {
    serde_json::from_slice(&recorded("jira", dir, name)).unwrap()
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

async fn myself(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/rest/api/3/myself"))
        .respond_with(ok(
            json!({"accountId": "a1", "emailAddress": "me@acme.test",
                                "displayName": "Me", "timeZone": "Europe/Berlin"}),
        ))
        .mount(server)
        .await;
}

fn issue(id: &str, key: &str, updated: &str) -> Value {
    json!({"id": id, "key": key, "fields": {
        "summary": format!("issue {key}"),
        "description": {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Steps in "}, {"type": "mention", "attrs": {"text": "@Ada"}}]}]},
        "status": {"name": "In Progress", "statusCategory": {"key": "indeterminate", "name": "In Progress"}},
        "issuetype": {"name": "Bug"}, "priority": {"name": "High"},
        "assignee": {"accountId": "a1", "displayName": "Ada"}, "reporter": null,
        "labels": ["api"], "components": [{"name": "Backend"}], "fixVersions": [],
        "parent": null, "resolution": null, "resolutiondate": null,
        "customfield_10020": [{"id": 7, "name": "Sprint 7", "state": "active"}],
        "created": "2024-05-01T09:00:00.000+0200", "updated": updated,
        "project": {"id": "10000", "key": "ENG"}}})
}

#[tokio::test]
async fn issues_are_searched_with_search_jql_and_followed_by_next_page_token() {
    let server = MockServer::start().await;
    myself(&server).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .and(query_param(
            "jql",
            "(project = \"ENG\") ORDER BY updated ASC, key ASC",
        ))
        .and(query_param_contains("fields", "customfield_10020"))
        .and(query_param_is_missing("nextPageToken"))
        .respond_with(ok(
            json!({"issues": [issue("10001", "ENG-1", "2024-05-01T10:00:00.000+0200")],
                                "nextPageToken": "page-2", "isLast": false}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .and(query_param("nextPageToken", "page-2"))
        .respond_with(ok(json!({"issues": [issue("10002", "ENG-2", "2024-05-01T10:00:30.000+0200")], "isLast": true})))
        .expect(1)
        .mount(&server)
        .await;
    let connector = jira(config(&server.uri(), json!({})));
    let ctx = context(&connector);
    let stream = StreamDescriptor::new("ENG", "issue");
    let items = drain_ok(
        &*connector.connector,
        &ctx,
        &stream,
        &SyncOptions::default(),
    )
    .await;
    assert_eq!(ids(&items), ["10001", "10002"]);
    let records = crate::support::records(&items);
    let data = records[0].data.to_value();
    assert_eq!(data["key"], "ENG-1");
    assert_eq!(data["description_text"], "Steps in @Ada");
    assert_eq!(data["sprints"], json!(["Sprint 7"]));
    assert_eq!(data["status_category"], "In Progress");
    assert_eq!(
        cursors(&items).last(),
        Some(&json!({"time": "2024-05-01T08:00:30Z", "ids": ["10002"]}))
    );
}

#[tokio::test]
async fn an_incremental_run_reads_from_the_window_in_the_users_minute_and_skips_the_cursors_issues()
{
    let server = MockServer::start().await;
    myself(&server).await;
    // Cursor 08:00:30 UTC = 10:00:30 Berlin; minus 5 minutes, rounded down to the minute.
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .and(query_param(
            "jql",
            "(project = \"ENG\") AND updated >= \"2024-05-01 09:55\" ORDER BY updated ASC, key ASC",
        ))
        .respond_with(ok(json!({"issues": [
            issue("10002", "ENG-2", "2024-05-01T10:00:30.000+0200"),
            // Updated in the cursor's own minute, after it: picked up.
            issue("10003", "ENG-3", "2024-05-01T10:00:45.000+0200"),
        ], "isLast": true})))
        .expect(1)
        .mount(&server)
        .await;
    let connector = jira(config(&server.uri(), json!({})));
    let ctx = context(&connector);
    let options = options_with_state(&[(
        "ENG/issue",
        json!({"time": "2024-05-01T08:00:30Z", "ids": ["10002"]}),
    )]);
    let stream = StreamDescriptor::new("ENG", "issue");
    let items = drain_ok(&*connector.connector, &ctx, &stream, &options).await;
    assert_eq!(ids(&items), ["10003"]);
}

#[tokio::test]
async fn comments_of_each_changed_issue_are_paged_by_start_at_with_their_total() {
    let server = MockServer::start().await;
    myself(&server).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .and(query_param("fields", "updated"))
        .respond_with(ok(json!({"issues": [{"id": "10001", "key": "ENG-1",
            "fields": {"updated": "2024-05-01T10:00:00.000+0200"}}], "isLast": true})))
        .mount(&server)
        .await;
    let recorded = fixture("rest", "issue_comments");
    let one = recorded["comments"][0].clone();
    let mut two = one.clone();
    two["id"] = json!("20002");
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/10001/comment"))
        .and(query_param("startAt", "0"))
        .respond_with(ok(
            json!({"startAt": 0, "maxResults": 1, "total": 2, "comments": [one]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/10001/comment"))
        .and(query_param("startAt", "1"))
        .respond_with(ok(
            json!({"startAt": 1, "maxResults": 1, "total": 2, "comments": [two]}),
        ))
        .mount(&server)
        .await;
    let connector = jira(config(&server.uri(), json!({})));
    let ctx = context(&connector);
    let stream = StreamDescriptor::new("ENG", "comment");
    let items = drain_ok(
        &*connector.connector,
        &ctx,
        &stream,
        &SyncOptions::default(),
    )
    .await;
    let ids = ids(&items);
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(ids[1], "20002");
}

#[tokio::test]
async fn refusals_and_removed_apis_say_what_to_do() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/myself"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"errorMessages":
            ["You are not authenticated. Authentication required to perform this operation."], "errors": {}})))
        .mount(&server)
        .await;
    let connector = jira(config(&server.uri(), json!({})));
    let ctx = context(&connector);
    let error = connector.connector.authenticate(&ctx).await.unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, ConnectorError::Authentication { .. }),
        "{text}"
    );
    assert!(
        text.contains("You are not authenticated") && text.contains("API token"),
        "{text}"
    );
    assert!(!text.contains("jira-api-token-for-wiremock"), "{text}");

    let removed = MockServer::start().await;
    myself(&removed).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .respond_with(ResponseTemplate::new(410).set_body_json(json!({"errorMessages":
            ["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."], "errors": {}})))
        .expect(1)
        .mount(&removed)
        .await;
    let connector = jira(config(&removed.uri(), json!({})));
    let ctx = context(&connector);
    let stream = StreamDescriptor::new("ENG", "issue");
    let (_, error) = drain(
        &*connector.connector,
        &ctx,
        &stream,
        &SyncOptions::default(),
    )
    .await;
    let text = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        text.contains("was removed") && text.contains("410"),
        "{text}"
    );
}

#[tokio::test]
async fn custom_fields_by_name_are_looked_up_and_kept_under_readable_keys() {
    let server = MockServer::start().await;
    myself(&server).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/field"))
        .respond_with(ok(
            json!([{"id": "customfield_10016", "name": "Story Points"},
                                {"id": "summary", "name": "Summary"}]),
        ))
        // Once per connector: the second one below looks up a name this site lacks.
        .expect(2)
        .mount(&server)
        .await;
    let mut found = issue("10001", "ENG-1", "2024-05-01T10:00:00.000+0200");
    found["fields"]["customfield_10016"] = json!(5);
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .and(query_param_contains("fields", "customfield_10016"))
        .respond_with(ok(json!({"issues": [found], "isLast": true})))
        .mount(&server)
        .await;
    let connector = jira(config(
        &server.uri(),
        json!({"custom_fields": {"story_points": "Story Points"}}),
    ));
    let ctx = context(&connector);
    let stream = StreamDescriptor::new("ENG", "issue");
    let items = drain_ok(
        &*connector.connector,
        &ctx,
        &stream,
        &SyncOptions::default(),
    )
    .await;
    let data = crate::support::records(&items)[0].data.to_value();
    assert_eq!(data["custom"], json!({"story_points": 5}));

    let unknown = jira(config(
        &server.uri(),
        json!({"custom_fields": {"team": "Squad"}}),
    ));
    let (_, error) = drain(
        &*unknown.connector,
        &context(&unknown),
        &stream,
        &SyncOptions::default(),
    )
    .await;
    let text = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains("custom_fields.team"), "{text}");
}

fn delivery(body: &Value) -> WebhookEvent {
    WebhookEvent {
        connector: "jira".into(),
        tenant: "default".into(),
        event_type: body["webhookEvent"]
            .as_str()
            .unwrap_or("unknown")
            .to_owned(),
        delivery_id: "jira-delivery-1".into(),
        headers: http::HeaderMap::new(),
        body: Bytes::from(body.to_string()),
    }
}

async fn mapped(
    connector: &ConfiguredConnector,
    body: &Value,
) -> Result<Vec<ConnectorRecord>, ConnectorError> {
    connector
        .connector
        .process_webhook(&context(connector), &delivery(body))
        .await
}

#[tokio::test]
async fn created_and_updated_objects_are_read_again_and_deletions_are_tombstones() {
    let server = MockServer::start().await;
    myself(&server).await;
    let updated = fixture("webhooks", "jira_issue_updated_assigned");
    let id = updated["issue"]["id"].as_str().unwrap().to_owned();
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .and(query_param_contains("jql", format!("AND id = {id}").as_str()))
        .respond_with(ok(json!({"issues": [issue(&id, "TES-41", "2024-05-01T10:00:00.000+0200")], "isLast": true})))
        .mount(&server)
        .await;
    let connector = jira(config(
        &server.uri(),
        json!({"projects": ["TES", "IDT", "KT"]}),
    ));
    let records = mapped(&connector, &updated).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].id, id);
    assert!(
        records[0].data.to_value()["description"].is_object(),
        "read again as REST v3"
    );

    let deleted = fixture("webhooks", "jira_issue_deleted");
    let tombstones = mapped(&connector, &deleted).await.unwrap();
    assert_eq!(tombstones.len(), 1);
    assert_eq!(tombstones[0].id, "10303");
    assert!(tombstones[0].is_tombstone());
    assert_eq!(
        tombstones[0].updated_at.timestamp_millis(),
        1_562_177_136_176
    );

    let comment = fixture("webhooks", "comment_deleted");
    let gone = mapped(&connector, &comment).await.unwrap();
    assert_eq!(
        (gone[0].id.as_str(), gone[0].is_tombstone()),
        ("10757", true)
    );
    assert_eq!(gone[0].data.to_value()["issue_key"], "KT-7");

    let elsewhere = jira(config(&server.uri(), json!({"projects": ["OPS"]})));
    assert!(
        mapped(&elsewhere, &deleted).await.unwrap().is_empty(),
        "another project's deletion"
    );
}

#[tokio::test]
async fn every_recorded_webhook_decodes() {
    let server = MockServer::start().await;
    myself(&server).await;
    // The issues are no longer found (outside the config, or deleted since): nothing to write.
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .respond_with(ok(json!({"issues": [], "isLast": true})))
        .mount(&server)
        .await;
    let connector = jira(config(
        &server.uri(),
        json!({"jql": "project is not EMPTY", "projects": null}),
    ));
    for name in [
        "jira_issue_created",
        "jira_issue_updated_assigned",
        "jira_issue_updated_description",
        "jira_issue_updated_resolved",
        "jira_issue_deleted",
        "comment_created",
        "comment_updated",
        "comment_deleted",
    ] {
        let body = fixture("webhooks", name);
        let records = mapped(&connector, &body)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let deletion = name.ends_with("deleted");
        assert_eq!(records.len(), usize::from(deletion), "{name}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Altered deletion deliveries (mapped without any request) give a tombstone or a typed
    /// error, never a panic.
    #[test]
    fn altered_deletions_never_panic(
        comment in any::<bool>(),
        field in prop::sample::select(vec!["id", "key", "fields", "created", "updated", "body", "timestamp", "issue", "comment"]),
        replacement in prop_oneof![Just(json!(null)), Just(json!(7)), Just(json!("x")), Just(json!([])), Just(json!({"id": 1}))],
    ) {
        let mut body = fixture("webhooks", if comment { "comment_deleted" } else { "jira_issue_deleted" });
        let target = if comment { "comment" } else { "issue" };
        if matches!(field, "timestamp" | "issue" | "comment") {
            body[field] = replacement;
        } else if let Some(object) = body.get_mut(target).and_then(Value::as_object_mut) {
            object.insert(field.to_owned(), replacement);
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let connector = jira(config("http://127.0.0.1:9", json!({"projects": ["IDT", "KT"]})));
        let _ = runtime.block_on(mapped(&connector, &body));
    }
}

#[tokio::test]
async fn a_full_and_an_incremental_sync_never_call_the_removed_search() {
    use gwi_sandbox::{Sandbox, SandboxConfig};
    let sandbox = Sandbox::start(SandboxConfig {
        providers: vec!["jira".into()],
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let connector = jira(sandbox.connector_config("jira").unwrap());
    let ctx = context(&connector);
    let options = SyncOptions::default();
    for _ in 0..2 {
        for stream in connector.streams(&options).unwrap() {
            drain_ok(&*connector.connector, &ctx, &stream, &options).await;
        }
    }
    let routes = sandbox.stats().requests.by_route;
    assert!(
        routes.keys().any(|r| r.ends_with("/search/jql")),
        "{routes:?}"
    );
    assert!(
        routes
            .keys()
            .all(|r| !r.ends_with("/api/3/search") && !r.ends_with("/api/2/search")),
        "the removed search was called: {routes:?}"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn oauth_refresh_tokens_rotate_and_a_refused_one_says_to_reauthorise() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(wiremock::matchers::body_string_contains("refresh_token=jira-refresh-1"))
        .respond_with(ok(json!({"access_token": "jira-access-2", "token_type": "Bearer",
                                "expires_in": 3600, "refresh_token": "jira-refresh-2", "scope": "read:jira-work"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(wiremock::matchers::body_string_contains("refresh_token=jira-refresh-revoked"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ex/jira/cloud-1/rest/api/3/myself"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer jira-access-2",
        ))
        .respond_with(ok(
            json!({"accountId": "a1", "emailAddress": "me@acme.test", "timeZone": "UTC"}),
        ))
        .mount(&server)
        .await;
    let oauth = |refresh: &str| {
        config(
            &format!("{}/ex/jira/cloud-1", server.uri()),
            json!({"auth": {"type": "oauth2", "token_url": format!("{}/oauth/token", server.uri()),
                            "client_id": "jira-app", "client_secret": "jira-app-secret",
                            "refresh_token": refresh}}),
        )
    };
    let connector = jira(oauth("jira-refresh-1"));
    let saved = std::sync::Arc::new(SavedTokens::default());
    let ctx = context_saving(&connector, saved.clone());
    let info = connector.connector.authenticate(&ctx).await.unwrap();
    assert_eq!(info.identity.as_deref(), Some("me@acme.test"));
    assert_eq!(
        *saved.0.lock().unwrap(),
        ["jira-refresh-2"],
        "saved before it is used"
    );

    let revoked = jira(oauth("jira-refresh-revoked"));
    let error = revoked
        .connector
        .authenticate(&context(&revoked))
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("invalid_grant") && text.contains("re-authorise"),
        "{text}"
    );
    assert!(
        !text.contains("jira-refresh-revoked") && !text.contains("jira-app-secret"),
        "{text}"
    );
}

/// Two processes sharing one store refresh a rotating token in turns: the second waits for the
/// first's lease, reads the token the first rotated to, and sends that one, so the provider
/// (which accepts each refresh token once) refuses neither.
#[tokio::test]
async fn processes_sharing_a_store_refresh_a_rotating_token_in_turns() {
    use std::sync::Arc;
    use std::time::Duration;

    use gwi_core::auth::RefreshTokenSink;
    use gwi_core::context::ConnectorContext;
    use gwi_core::http::ReqwestClient;
    use gwi_core::store::{Store, StoreTokenSink};
    use secrecy::ExposeSecret;

    let server = MockServer::start().await;
    for (n, next) in [(1, 2), (2, 3)] {
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .and(wiremock::matchers::body_string_contains(format!(
                "refresh_token=jira-refresh-{n}"
            )))
            .respond_with(
                ok(
                    json!({"access_token": format!("jira-access-{next}"), "token_type": "Bearer",
                          "expires_in": 3600, "refresh_token": format!("jira-refresh-{next}")}),
                )
                // Long enough that, unlocked, both processes would send the same token.
                .set_delay(Duration::from_millis(300)),
            )
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ex/jira/cloud-1/rest/api/3/myself"))
        .respond_with(ok(
            json!({"accountId": "a1", "emailAddress": "me@acme.test", "timeZone": "UTC"}),
        ))
        .mount(&server)
        .await;
    let config = config(
        &format!("{}/ex/jira/cloud-1", server.uri()),
        json!({"auth": {"type": "oauth2", "token_url": format!("{}/oauth/token", server.uri()),
                        "client_id": "jira-app", "client_secret": "jira-app-secret",
                        "refresh_token": "jira-refresh-1"}}),
    );
    let store: Arc<dyn Store> = Arc::new(gwi_testing::MemoryStore::new());
    let process = || {
        let connector = jira(config.clone());
        let sink = Arc::new(StoreTokenSink::for_connector(store.clone(), &connector));
        let transport = ReqwestClient::new(Duration::from_secs(10)).unwrap();
        let ctx =
            ConnectorContext::with_token_sink(&connector, Arc::new(transport), Some(sink)).unwrap();
        (connector, ctx)
    };
    let (first, first_ctx) = process();
    let (second, second_ctx) = process();
    let (a, b) = tokio::join!(
        first.connector.authenticate(&first_ctx),
        second.connector.authenticate(&second_ctx),
    );
    a.unwrap();
    b.unwrap();
    let connector = jira(config.clone());
    let latest = StoreTokenSink::for_connector(store.clone(), &connector)
        .load()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.expose_secret(), "jira-refresh-3");
}
