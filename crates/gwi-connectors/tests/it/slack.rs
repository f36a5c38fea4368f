//! Slack: the edge cases the behaviour suite does not reach, against `wiremock` and the recorded
//! payloads in `tests/fixtures/slack/`.

use std::sync::Arc;

use bytes::Bytes;
use gwi_core::error::ConnectorError;
use gwi_core::registry::ConfiguredConnector;
use gwi_core::stream::{StreamDescriptor, SyncOptions};
use gwi_core::webhook::WebhookEvent;
use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    SavedTokens, context, context_saving, cursors, drain, drain_ok, ids, options_with_state,
    recorded, with,
};

const TOKEN: &str = "xoxb-test-token-for-wiremock";
const CHANNEL: &str = "C0123456789";

/// A Slack config against `base_url` with `extra` merged in.
fn config(base_url: &str, extra: Value) -> Value {
    with(
        &json!({
            "base_url": base_url,
            "channels": [CHANNEL],
            "auth": {"type": "bearer", "token": TOKEN},
            "http": {"requests_per_second": 10000.0, "initial_backoff_ms": 10, "max_backoff_secs": 1},
        }),
        extra,
    )
}

fn slack(config: Value) -> ConfiguredConnector {
    gwi_connectors::registry()
        .build("slack", config)
        .unwrap_or_else(|e| panic!("config refused: {e}"))
}

fn fixture_bytes(dir: &str, name: &str) -> Vec<u8> {
    recorded("slack", dir, name)
}

/// Serves the recorded answer of `method` as its first page (its `next_cursor` included) and an
/// empty last page for that cursor, each once.
async fn serve_fixture(server: &MockServer, slack_method: &str, items: &str) {
    let body = fixture_bytes("rest", slack_method);
    let recorded: Value = serde_json::from_slice(&body).unwrap();
    let next = recorded["response_metadata"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    Mock::given(method("GET"))
        .and(path(format!("/{slack_method}")))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{slack_method}")))
        .and(query_param("cursor", next.as_str()))
        .respond_with(ok(
            json!({"ok": true, items: [], "response_metadata": {"next_cursor": ""}}),
        ))
        .expect(1)
        .mount(server)
        .await;
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn message(ts: &str, extra: Value) -> Value {
    let mut m = json!({"type": "message", "user": "U1", "text": format!("at {ts}"), "ts": ts});
    if let (Value::Object(m), Value::Object(extra)) = (&mut m, extra) {
        m.extend(extra);
    }
    m
}

fn page(messages: Vec<Value>, next: &str) -> Value {
    json!({"ok": true, "messages": messages, "has_more": !next.is_empty(),
           "response_metadata": {"next_cursor": next}})
}

fn messages_stream() -> StreamDescriptor {
    StreamDescriptor::new(CHANNEL, "message")
}

fn thread_parent(ts: &str, latest: &str, count: u64) -> Value {
    message(
        ts,
        json!({"thread_ts": ts, "reply_count": count, "latest_reply": latest, "reply_users": ["U2"]}),
    )
}

#[tokio::test]
async fn a_full_read_follows_body_cursors_and_reads_every_thread_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/conversations.history"))
        .and(query_param("channel", CHANNEL))
        .and(query_param_is_missing("cursor"))
        .and(query_param_is_missing("oldest"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ok(page(
            vec![
                message("1700000300.000300", json!({})),
                thread_parent("1700000200.000200", "1700000250.000002", 2),
            ],
            "bmV4dA==",
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/conversations.history"))
        .and(query_param("cursor", "bmV4dA=="))
        .respond_with(ok(page(vec![message("1700000100.000100", json!({}))], "")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/conversations.replies"))
        .and(query_param("ts", "1700000200.000200"))
        .respond_with(ok(page(
            vec![
                thread_parent("1700000200.000200", "1700000250.000002", 2),
                message(
                    "1700000210.000001",
                    json!({"thread_ts": "1700000200.000200"}),
                ),
                message(
                    "1700000250.000002",
                    json!({"thread_ts": "1700000200.000200"}),
                ),
            ],
            "",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let connector = slack(config(&server.uri(), json!({})));
    let ctx = context(&connector);
    let items = drain_ok(
        &*connector.connector,
        &ctx,
        &messages_stream(),
        &SyncOptions::default(),
    )
    .await;
    assert_eq!(
        ids(&items),
        [
            "C0123456789-1700000300.000300",
            "C0123456789-1700000200.000200",
            "C0123456789-1700000210.000001",
            "C0123456789-1700000250.000002",
            "C0123456789-1700000100.000100",
        ],
        "the parent once, then its replies"
    );
    // The cursor is the newest message of the channel listing, exact to the microsecond.
    assert_eq!(
        cursors(&items).last(),
        Some(&json!("2023-11-14T22:18:20.000300Z"))
    );
}

#[tokio::test]
async fn an_incremental_run_reads_back_the_look_back_window_and_only_threads_with_new_replies() {
    let server = MockServer::start().await;
    // Cursor 1700000300.000300 minus one day.
    Mock::given(method("GET"))
        .and(path("/conversations.history"))
        .and(query_param("oldest", "1699913900.000300"))
        .respond_with(ok(page(
            vec![
                message("1700000400.000001", json!({})),
                // Edited since the last run: written again.
                message(
                    "1700000300.000300",
                    json!({"edited": {"user": "U1", "ts": "1700000350.000000"}}),
                ),
                thread_parent("1700000200.000200", "1700000380.000005", 3),
                thread_parent("1700000100.000100", "1700000150.000000", 1),
            ],
            "",
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/conversations.replies"))
        .and(query_param("ts", "1700000200.000200"))
        .and(query_param("oldest", "1700000300.000300"))
        .respond_with(ok(page(
            vec![
                thread_parent("1700000200.000200", "1700000380.000005", 3),
                message(
                    "1700000380.000005",
                    json!({"thread_ts": "1700000200.000200"}),
                ),
            ],
            "",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let connector = slack(config(&server.uri(), json!({"lookback_days": 1})));
    let ctx = context(&connector);
    let options =
        options_with_state(&[("C0123456789/message", json!("2023-11-14T22:18:20.000300Z"))]);
    let items = drain_ok(&*connector.connector, &ctx, &messages_stream(), &options).await;
    let ids = ids(&items);
    assert!(ids.contains(&"C0123456789-1700000380.000005"), "{ids:?}");
    assert_eq!(ids.len(), 5, "{ids:?}");
    let edited = crate::support::records(&items)
        .into_iter()
        .find(|r| r.id == "C0123456789-1700000300.000300")
        .unwrap();
    assert_eq!(edited.data.to_value()["edited_at"], "1700000350.000000");
    assert_eq!(edited.updated_at.timestamp(), 1_700_000_350);
    // The replies of 1700000100.000100 were all read before: no request (expect(1) above).
    let cursors = cursors(&items);
    assert!(
        cursors
            .iter()
            .all(|c| c.as_str() >= Some("2023-11-14T22:18:20.000300Z")),
        "the look-back never moves the cursor back: {cursors:?}"
    );
}

#[tokio::test]
async fn replies_newer_than_every_message_move_the_cursor_up_to_the_history_date() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/conversations.history"))
        .respond_with(
            ok(page(
                vec![thread_parent("1700000000.000100", "1700000900.000009", 1)],
                "",
            ))
            // Read at 1700000500: the reply at ...900 came in after the listing.
            .insert_header("date", "Tue, 14 Nov 2023 22:21:40 GMT"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/conversations.replies"))
        .respond_with(ok(page(
            vec![
                thread_parent("1700000000.000100", "1700000900.000009", 1),
                message(
                    "1700000400.000001",
                    json!({"thread_ts": "1700000000.000100"}),
                ),
                message(
                    "1700000900.000009",
                    json!({"thread_ts": "1700000000.000100"}),
                ),
            ],
            "",
        )))
        .mount(&server)
        .await;
    let connector = slack(config(&server.uri(), json!({})));
    let ctx = context(&connector);
    let items = drain_ok(
        &*connector.connector,
        &ctx,
        &messages_stream(),
        &SyncOptions::default(),
    )
    .await;
    assert_eq!(ids(&items).len(), 3);
    assert_eq!(
        cursors(&items).last(),
        Some(&json!("2023-11-14T22:21:40Z")),
        "past the thread's parent, held to the history's Date"
    );
}

#[tokio::test]
async fn a_quiet_channel_keeps_its_cursor() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/conversations.history"))
        .respond_with(ok(page(Vec::new(), "")))
        .mount(&server)
        .await;
    let connector = slack(config(&server.uri(), json!({})));
    let ctx = context(&connector);
    let stored = json!("2023-11-14T22:18:20.000300Z");
    let options = options_with_state(&[("C0123456789/message", stored.clone())]);
    let items = drain_ok(&*connector.connector, &ctx, &messages_stream(), &options).await;
    assert_eq!(cursors(&items).last(), Some(&stored));
}

#[tokio::test]
async fn a_channel_the_bot_is_not_in_is_skipped_and_an_unknown_one_fails_by_name() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/conversations.history"))
        .and(query_param("channel", CHANNEL))
        .respond_with(ok(json!({"ok": false, "error": "not_in_channel"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/conversations.history"))
        .and(query_param("channel", "C0NOSUCHCH"))
        .respond_with(ok(json!({"ok": false, "error": "channel_not_found"})))
        .mount(&server)
        .await;
    let connector = slack(config(&server.uri(), json!({})));
    let ctx = context(&connector);
    let (items, error) = drain(
        &*connector.connector,
        &ctx,
        &messages_stream(),
        &SyncOptions::default(),
    )
    .await;
    assert!(error.is_none() && items.is_empty(), "{error:?} {items:?}");
    let (_, error) = drain(
        &*connector.connector,
        &ctx,
        &StreamDescriptor::new("C0NOSUCHCH", "message"),
        &SyncOptions::default(),
    )
    .await;
    let text = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains("channel_not_found"), "{text}");
}

#[tokio::test]
async fn ratelimited_answers_wait_for_retry_after_then_succeed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users.list"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_raw(
                    fixture_bytes("rest", "error_ratelimited"),
                    "application/json",
                ),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    serve_fixture(&server, "users.list", "members").await;
    let connector = slack(config(&server.uri(), json!({})));
    let ctx = context(&connector);
    let started = std::time::Instant::now();
    let items = drain_ok(
        &*connector.connector,
        &ctx,
        &StreamDescriptor::new("workspace", "user"),
        &SyncOptions::default(),
    )
    .await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    assert!(ids(&items).contains(&"W012A3CDE"), "{:?}", ids(&items));
}

#[tokio::test]
async fn refused_tokens_and_missing_scopes_say_what_to_fix_without_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/auth.test"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            fixture_bytes("rest", "error_invalid_auth"),
            "application/json",
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/conversations.history"))
        .respond_with(ok(json!({"ok": false, "error": "missing_scope",
            "needed": "channels:history", "provided": "channels:read,users:read"})))
        .mount(&server)
        .await;
    let connector = slack(config(&server.uri(), json!({})));
    let ctx = context(&connector);
    let error = connector.connector.authenticate(&ctx).await.unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, ConnectorError::Authentication { .. }),
        "{text}"
    );
    assert!(
        text.contains("invalid_auth") && text.contains("revoked"),
        "{text}"
    );
    assert!(!text.contains(TOKEN), "{text}");
    let (_, error) = drain(
        &*connector.connector,
        &ctx,
        &messages_stream(),
        &SyncOptions::default(),
    )
    .await;
    let Some(ConnectorError::Authentication {
        required_scopes, ..
    }) = error
    else {
        panic!("not an authentication error: {error:?}");
    };
    assert_eq!(required_scopes, ["channels:history"]);
}

#[tokio::test]
async fn without_configured_channels_the_bots_channels_are_synced_and_listed_once() {
    let server = MockServer::start().await;
    serve_fixture(&server, "conversations.list", "channels").await;
    let mut config = config(&server.uri(), json!({}));
    config.as_object_mut().unwrap().remove("channels");
    let connector = slack(config);
    let ctx = context(&connector);
    let options = SyncOptions::default();
    connector
        .connector
        .on_before_sync(&ctx, &options)
        .await
        .unwrap();
    let streams: Vec<String> = connector
        .streams(&options)
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(
        streams,
        [
            "workspace/channel",
            "workspace/user",
            "C012AB3CD/message",
            "C061EG9T2/message"
        ]
    );
    let channels = drain_ok(
        &*connector.connector,
        &ctx,
        &StreamDescriptor::new("workspace", "channel"),
        &options,
    )
    .await;
    assert_eq!(
        ids(&channels),
        ["C012AB3CD", "C061EG9T2"],
        "from the listing made at start"
    );
}

#[tokio::test]
async fn resources_name_channels_by_id_and_the_workspace() {
    let connector = slack(config("https://slack.com/api", json!({})));
    let options = SyncOptions {
        resources: Some(vec!["workspace".into(), "#general".into()]),
        ..SyncOptions::default()
    };
    let text = connector.streams(&options).unwrap_err().to_string();
    assert!(
        text.contains("resources[1]") && text.contains("give its id"),
        "{text}"
    );
}

#[tokio::test]
async fn token_rotation_refreshes_at_oauth_v2_access_and_saves_the_new_refresh_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth.v2.access"))
        .and(wiremock::matchers::body_string_contains(
            "grant_type=refresh_token",
        ))
        .and(wiremock::matchers::body_string_contains(
            "refresh_token=xoxe-1-granted",
        ))
        .respond_with(ok(json!({
            "ok": true, "app_id": "A0SBX", "token_type": "bot", "scope": "channels:history",
            "access_token": "xoxe.xoxb-1-rotated-access",
            // Rotated access tokens last twelve hours, and each refresh rotates the refresh token.
            "expires_in": 43200, "refresh_token": "xoxe-1-rotated",
            "team": {"id": "T0SBX", "name": "Acme"}, "bot_user_id": "U0BOT"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/auth.test"))
        .and(header("authorization", "Bearer xoxe.xoxb-1-rotated-access"))
        .respond_with(
            ok(json!({"ok": true, "user": "gwi-bot", "team": "Acme",
                                "user_id": "U0BOT", "team_id": "T0SBX"}))
            .insert_header("x-oauth-scopes", "channels:history,users:read"),
        )
        .expect(2)
        .mount(&server)
        .await;
    let connector = slack(config(
        &server.uri(),
        json!({"auth": {
            "type": "oauth2",
            "token_url": format!("{}/oauth.v2.access", server.uri()),
            "client_id": "1234.5678",
            "client_secret": "slack-app-secret",
            "refresh_token": "xoxe-1-granted",
        }}),
    ));
    let saved = Arc::new(SavedTokens::default());
    let ctx = context_saving(&connector, saved.clone());
    for _ in 0..2 {
        let info = connector.connector.authenticate(&ctx).await.unwrap();
        assert_eq!(info.identity.as_deref(), Some("gwi-bot@Acme"));
        assert_eq!(info.scopes, ["channels:history", "users:read"]);
    }
    assert_eq!(*saved.0.lock().unwrap(), ["xoxe-1-rotated"]);
}

/// A verified delivery of `body` with its inner event's type, as `gwi serve` hands it over.
fn delivery(body: &[u8]) -> WebhookEvent {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let event_type = value
        .pointer("/event/type")
        .or_else(|| value.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    WebhookEvent {
        connector: "slack".into(),
        tenant: "default".into(),
        event_type,
        delivery_id: "Ev111".into(),
        headers: http::HeaderMap::new(),
        body: Bytes::copy_from_slice(body),
    }
}

/// The connector taking every channel's events.
fn events_connector() -> ConfiguredConnector {
    let mut config = config("https://slack.com/api", json!({}));
    config.as_object_mut().unwrap().remove("channels");
    slack(config)
}

async fn records_of(
    connector: &ConfiguredConnector,
    body: &[u8],
) -> Vec<gwi_core::record::ConnectorRecord> {
    connector
        .connector
        .process_webhook(&context(connector), &delivery(body))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn every_recorded_event_maps_to_the_records_it_describes() {
    let connector = events_connector();
    let posted = records_of(
        &connector,
        &fixture_bytes("webhooks", "event_callback_message"),
    )
    .await;
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].id, "C111-1606810819.000800");
    assert_eq!(posted[0].data.to_value()["text"], "<@W222>");

    let changed = records_of(
        &connector,
        &fixture_bytes("webhooks", "event_callback_message_changed"),
    )
    .await;
    // Slack left the edited message's `ts` out: the previous message's names it.
    assert_eq!(changed[0].id, "C111-1665102338.901939");
    let data = changed[0].data.to_value();
    assert_eq!(
        (data["text"].as_str(), data["edited_at"].as_str()),
        (Some("updated message"), Some("1665102362.000000"))
    );
    assert_eq!(changed[0].updated_at.timestamp(), 1_665_102_362);

    let deleted = records_of(
        &connector,
        &fixture_bytes("webhooks", "event_callback_message_deleted"),
    )
    .await;
    assert_eq!(deleted[0].id, "C111-1665368619.804829");
    assert!(deleted[0].is_tombstone());
    assert_eq!(
        deleted[0].updated_at.timestamp(),
        1_665_368_629,
        "stamped when it was deleted"
    );

    let inner: Value =
        serde_json::from_slice(&fixture_bytes("webhooks", "channel_created_inner_event")).unwrap();
    let envelope = json!({"type": "event_callback", "event_id": "Ev1", "event": inner});
    let created = records_of(&connector, envelope.to_string().as_bytes()).await;
    assert_eq!(created[0].id, "C024BE91L");
    assert_eq!(created[0].data.to_value()["name"], "fun");

    for quiet in ["event_callback_reaction_added", "url_verification"] {
        assert!(
            records_of(&connector, &fixture_bytes("webhooks", quiet))
                .await
                .is_empty(),
            "{quiet}"
        );
    }
}

#[tokio::test]
async fn events_of_channels_and_types_the_config_leaves_out_write_nothing() {
    let body = fixture_bytes("webhooks", "event_callback_message");
    let other_channel = slack(config("https://slack.com/api", json!({})));
    assert!(records_of(&other_channel, &body).await.is_empty());
    let mut no_messages = config("https://slack.com/api", json!({"types": ["user"]}));
    no_messages.as_object_mut().unwrap().remove("channels");
    assert!(records_of(&slack(no_messages), &body).await.is_empty());
    let mut direct: Value = serde_json::from_slice(&body).unwrap();
    direct["event"]["channel_type"] = json!("im");
    assert!(
        records_of(&events_connector(), direct.to_string().as_bytes())
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn an_event_and_a_listing_of_one_message_give_one_row() {
    let listed = json!({"type": "message", "user": "U1", "text": "hi", "ts": "1700000000.000100",
                        "team": "T1", "reactions": [{"name": "eyes", "count": 1, "users": ["U2"]}],
                        "edited": {"user": "U1", "ts": "1700000005.000000"}});
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/conversations.history"))
        .respond_with(ok(page(vec![listed.clone()], "")))
        .mount(&server)
        .await;
    let connector = slack(config(&server.uri(), json!({})));
    let ctx = context(&connector);
    let items = drain_ok(
        &*connector.connector,
        &ctx,
        &messages_stream(),
        &SyncOptions::default(),
    )
    .await;
    let synced = crate::support::records(&items)[0].clone();
    let envelope = json!({"type": "event_callback", "event_id": "Ev2", "event": {
        "type": "message", "subtype": "message_changed", "channel": CHANNEL, "hidden": true,
        "message": listed, "ts": "1700000005.000100", "event_ts": "1700000005.000100"}});
    let hooked = records_of(&connector, envelope.to_string().as_bytes()).await;
    assert_eq!(hooked, vec![synced]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Altered event bodies (a field's value replaced, then maybe a byte flipped) give records
    /// or a typed error, never a panic.
    #[test]
    fn altered_events_never_panic(
        which in 0usize..5,
        field in prop::sample::select(vec!["ts", "channel", "subtype", "message", "previous_message", "deleted_ts", "user", "thread_ts", "edited"]),
        replacement in prop_oneof![Just(json!(null)), Just(json!(7)), Just(json!("x")), Just(json!([])), Just(json!({"ts": 1}))],
        flip in prop::option::of((any::<prop::sample::Index>(), any::<u8>())),
    ) {
        let names = ["event_callback_message", "event_callback_message_changed",
                     "event_callback_message_deleted", "event_callback_reaction_added", "url_verification"];
        let mut value: Value = serde_json::from_slice(&fixture_bytes("webhooks", names[which])).unwrap();
        if let Some(event) = value.get_mut("event").and_then(Value::as_object_mut) {
            event.insert(field.to_owned(), replacement);
        }
        let mut body = value.to_string().into_bytes();
        if let Some((at, byte)) = flip {
            let i = at.index(body.len());
            body[i] = byte;
        }
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let connector = events_connector();
        if let Err(e) = runtime.block_on(connector.connector.process_webhook(&context(&connector), &delivery(&body))) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}

#[tokio::test]
async fn a_refused_rotation_says_why_in_slacks_words() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth.v2.access"))
        .respond_with(ok(json!({"ok": false, "error": "invalid_refresh_token"})))
        .mount(&server)
        .await;
    let connector = slack(config(
        &server.uri(),
        json!({"auth": {
            "type": "oauth2",
            "token_url": format!("{}/oauth.v2.access", server.uri()),
            "client_id": "1234.5678",
            "client_secret": "slack-app-secret",
            "refresh_token": "xoxe-1-revoked",
        }}),
    ));
    let ctx = context(&connector);
    let error = connector.connector.authenticate(&ctx).await.unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, ConnectorError::Authentication { .. }),
        "{text}"
    );
    assert!(text.contains("invalid_refresh_token"), "{text}");
    assert!(
        !text.contains("xoxe-1-revoked") && !text.contains("slack-app-secret"),
        "{text}"
    );
}

#[tokio::test]
async fn channel_renames_and_archives_are_read_whole_from_conversations_info() {
    let server = MockServer::start().await;
    let recorded: Value =
        serde_json::from_slice(&fixture_bytes("rest", "conversations.list")).unwrap();
    let mut general = recorded["channels"][0].clone();
    general["name"] = json!("announcements");
    general["is_archived"] = json!(true);
    Mock::given(method("GET"))
        .and(path("/conversations.info"))
        .and(query_param("channel", "C012AB3CD"))
        .respond_with(ok(json!({"ok": true, "channel": general})))
        .expect(2)
        .mount(&server)
        .await;
    let mut config = config(&server.uri(), json!({}));
    config.as_object_mut().unwrap().remove("channels");
    let connector = slack(config);
    for event in [
        json!({"type": "channel_rename", "channel": {"id": "C012AB3CD", "name": "announcements", "created": 1449252889}}),
        json!({"type": "channel_archive", "channel": "C012AB3CD", "user": "U012A3CDE"}),
    ] {
        let envelope = json!({"type": "event_callback", "event_id": "Ev3", "event": event});
        let records = records_of(&connector, envelope.to_string().as_bytes()).await;
        assert_eq!(records.len(), 1, "{event}");
        let data = records[0].data.to_value();
        assert_eq!(
            (records[0].id.as_str(), data["name"].as_str()),
            ("C012AB3CD", Some("announcements"))
        );
        assert_eq!(data["is_archived"], true);
        // What the event leaves out comes from the channel as Slack has it.
        assert_eq!(
            data["topic"],
            "Company-wide announcements and work-based matters"
        );
    }
}
