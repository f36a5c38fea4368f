use axum::body::Body;
use http::{Request, StatusCode};
use tower::ServiceExt as _;

use super::data::{format_ts, parse_ts};
use super::*;

const TOKEN: &str = "gwi-sandbox-test";

fn slack() -> Arc<Slack> {
    let s = Slack::new(7, 1, TokenPolicy::default(), RateLimitConfig::default());
    Arc::new(s.unwrap())
}

async fn send(
    s: &Arc<Slack>,
    token: Option<&str>,
    uri: &str,
) -> (StatusCode, http::HeaderMap, Value) {
    let mut req = Request::get(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = Arc::clone(s)
        .router("/slack")
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, serde_json::from_slice(&bytes).unwrap())
}

async fn api(s: &Arc<Slack>, query: &str) -> Value {
    let (status, headers, body) = send(s, Some(TOKEN), &format!("/api/{query}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-oauth-scopes"], routes::SCOPES);
    body
}

/// Every item of a cursor-paged listing under `key`, following `next_cursor` to the end.
async fn all_pages(s: &Arc<Slack>, query: &str, key: &str) -> Vec<Value> {
    let (mut items, mut cursor) = (Vec::new(), String::new());
    loop {
        let page = api(s, &format!("{query}&cursor={cursor}")).await;
        assert_eq!(page["ok"], true, "{page}");
        items.extend(page[key].as_array().unwrap().iter().cloned());
        cursor = page["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap()
            .to_owned();
        if let Some(more) = page.get("has_more") {
            assert_eq!(*more, !cursor.is_empty());
        }
        if cursor.is_empty() {
            return items;
        }
    }
}

fn tss(messages: &[Value]) -> Vec<(Secs, u32)> {
    messages
        .iter()
        .map(|m| parse_ts(m["ts"].as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn history_is_newest_first_paged_and_filtered_exclusively_unless_inclusive() {
    let s = slack();
    let all = all_pages(
        &s,
        "conversations.history?channel=C0SBXGENRL&limit=7",
        "messages",
    )
    .await;
    let ts = tss(&all);
    assert!(ts.len() >= 55, "{}", ts.len());
    assert!(
        ts.windows(2).all(|w| w[0] > w[1]),
        "newest first, each once"
    );
    assert!(ts.iter().all(|t| t.0 < 1_735_689_600), "all in 2024");
    assert!(
        all.iter().all(|m| m.get("parent_user_id").is_none()),
        "no replies"
    );
    for m in &all {
        assert_eq!(
            format_ts(parse_ts(m["ts"].as_str().unwrap()).unwrap()),
            m["ts"]
        );
    }
    let oldest = format_ts(ts[10]);
    let q = format!("conversations.history?channel=C0SBXGENRL&oldest={oldest}");
    assert_eq!(
        tss(api(&s, &q).await["messages"].as_array().unwrap()),
        ts[..10]
    );
    let inclusive = api(&s, &format!("{q}&inclusive=true")).await;
    assert_eq!(tss(inclusive["messages"].as_array().unwrap()), ts[..11]);
    let latest = format_ts(ts[10]);
    let q = format!("conversations.history?channel=C0SBXGENRL&latest={latest}&inclusive=1&limit=1");
    let page = api(&s, &q).await;
    assert_eq!(tss(page["messages"].as_array().unwrap()), ts[10..11]);
    assert_eq!(page["has_more"], true);
}

#[tokio::test]
async fn replies_put_the_parent_first_then_replies_in_range() {
    let s = slack();
    let all = all_pages(
        &s,
        "conversations.history?channel=C0SBXRANDM&limit=200",
        "messages",
    )
    .await;
    let parent = all
        .iter()
        .find(|m| m["reply_count"].as_u64() >= Some(2))
        .unwrap();
    let ts = parent["ts"].as_str().unwrap();
    let q = format!("conversations.replies?channel=C0SBXRANDM&ts={ts}&limit=1");
    let thread = all_pages(&s, &q, "messages").await;
    let replies: Vec<&Value> = thread.iter().filter(|m| m["ts"] != ts).collect();
    assert_eq!(
        replies.len() as u64,
        parent["reply_count"].as_u64().unwrap()
    );
    assert!(
        thread.iter().step_by(2).all(|m| m == parent),
        "the parent leads every page"
    );
    assert!(
        replies
            .iter()
            .all(|r| r["thread_ts"] == ts && r["parent_user_id"].is_string())
    );
    assert_eq!(replies.last().unwrap()["ts"], parent["latest_reply"]);
    let first = replies[0]["ts"].as_str().unwrap();
    let q = format!("conversations.replies?channel=C0SBXRANDM&ts={ts}&oldest={first}");
    let later = api(&s, &q).await;
    let later = later["messages"].as_array().unwrap();
    assert_eq!(
        later[0], *parent,
        "the parent comes first whatever oldest says"
    );
    assert_eq!(later.len(), replies.len());
    let lone = all.iter().find(|m| m.get("reply_count").is_none()).unwrap();
    let q = format!(
        "conversations.replies?channel=C0SBXRANDM&ts={}",
        lone["ts"].as_str().unwrap()
    );
    assert_eq!(api(&s, &q).await["messages"], json!([lone]));
}

#[tokio::test]
async fn refusals_in_slacks_words() {
    let s = slack();
    let error = |v: Value| {
        (
            v["ok"].clone(),
            v["error"].as_str().unwrap_or("").to_owned(),
        )
    };
    for (query, code) in [
        ("conversations.history?channel=C0SBXMRKTG", "not_in_channel"),
        ("conversations.history?channel=CNOPE", "channel_not_found"),
        (
            "conversations.history?channel=C0SBXGENRL&oldest=12x",
            "invalid_ts_oldest",
        ),
        (
            "conversations.history?channel=C0SBXGENRL&latest=1.1234567",
            "invalid_ts_latest",
        ),
        (
            "conversations.history?channel=C0SBXGENRL&cursor=bm9wZQ==",
            "invalid_cursor",
        ),
        (
            "conversations.replies?channel=C0SBXGENRL&ts=1.000001",
            "thread_not_found",
        ),
        ("chat.postMessage", "unknown_method"),
    ] {
        assert_eq!(
            error(api(&s, query).await),
            (json!(false), code.to_owned()),
            "{query}"
        );
    }
    let uri = "/api/conversations.history?channel=C0SBXGENRL";
    let (status, _, body) = send(&s, None, uri).await;
    assert_eq!(
        (status, error(body).1.as_str()),
        (StatusCode::OK, "not_authed")
    );
    let (status, _, body) = send(&s, Some("xoxb-real"), uri).await;
    assert_eq!(
        (status, error(body).1.as_str()),
        (StatusCode::OK, "invalid_auth")
    );
    let (_, headers, body) = send(&s, Some("gwi-sandbox-missing-scope"), uri).await;
    assert_eq!(body["error"], "missing_scope", "{body}");
    assert_eq!(
        (body["needed"].as_str(), body["provided"].as_str()),
        (Some("channels:history"), Some("channels:read,users:read"))
    );
    assert_eq!(headers["x-oauth-scopes"], "channels:read,users:read");
    let (_, _, body) = send(&s, None, &format!("/api/auth.test?token={TOKEN}")).await;
    assert_eq!(body["user_id"], "U0SBXBOT");
}

#[tokio::test]
async fn lists_channels_and_users() {
    let s = slack();
    let list = all_pages(
        &s,
        "conversations.list?types=public_channel,private_channel&limit=2",
        "channels",
    )
    .await;
    let ids: Vec<&str> = list.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "C0SBXGENRL",
            "C0SBXMRKTG",
            "C0SBXOLDPR",
            "C0SBXPRIVT",
            "C0SBXRANDM"
        ]
    );
    let public = api(&s, "conversations.list?exclude_archived=true").await;
    assert_eq!(public["channels"].as_array().unwrap().len(), 3);
    let users = api(&s, "users.list").await;
    let members = users["members"].as_array().unwrap();
    assert_eq!(members.len(), 13);
    assert!(
        members.iter().any(|u| u["deleted"] == true) && members.iter().any(|u| u["is_bot"] == true)
    );
    let expected = s.expected();
    let count = |t: &str| expected.iter().filter(|e| e.record_type == t).count();
    assert_eq!((count("channel"), count("user")), (5, 13));
    assert!(!expected.iter().any(|e| e.scope == "C0SBXMRKTG"));
}

#[tokio::test]
async fn mutations_show_in_listings_expectations_and_signed_webhooks() {
    let s = slack();
    let at = s.newest_timestamp() + 1000;
    let mut changes = Vec::new();
    for seq in 0..6 {
        let now = s.mutate(15, at + seq, &mut SandboxRng::derive(3, "t", &[seq as u64]));
        check_webhooks(&s, &now, at).await;
        changes.extend(now);
    }
    let has = |kind: &str, action| changes.iter().any(|c| c.kind == kind && c.action == action);
    assert!(has("message", ChangeAction::Created) && has("message", ChangeAction::Updated));
    assert!(has("message", ChangeAction::Deleted) && has("thread", ChangeAction::Updated));
    assert!(has("user", ChangeAction::Updated));
}

/// Each change's webhook is signed and shows what the listings show now.
async fn check_webhooks(s: &Arc<Slack>, changes: &[Change], at: Secs) {
    let expected = s.expected();
    let deliveries: Vec<(Change, Delivery)> = changes
        .iter()
        .filter_map(|c| {
            s.webhook_for(c, "s3cret", "http://h")
                .map(|d| (c.clone(), d))
        })
        .collect();
    assert_eq!(
        deliveries.len(),
        changes.iter().filter(|c| c.kind != "thread").count()
    );
    for (change, delivery) in deliveries {
        let header = |n: &str| {
            delivery
                .headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        let ts: Secs = header("x-slack-request-timestamp").parse().unwrap();
        assert_eq!(
            header("x-slack-signature"),
            signature("s3cret", ts, &delivery.body)
        );
        let body: Value = serde_json::from_slice(&delivery.body).unwrap();
        assert_eq!(
            (body["type"].as_str(), body["team_id"].as_str()),
            (Some("event_callback"), Some("T0SANDBOX"))
        );
        let event = &body["event"];
        if change.kind == "user" {
            let users = api(s, "users.list").await;
            let listed = users["members"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["id"] == event["user"]["id"])
                .unwrap()
                .clone();
            assert_eq!(event["user"], listed);
            continue;
        }
        let channel = change.scope.as_str();
        let (message, ts) = match change.action {
            ChangeAction::Deleted => {
                assert_eq!(event["subtype"], "message_deleted");
                let ts = event["deleted_ts"].as_str().unwrap().to_owned();
                let id = format!("{channel}-{ts}");
                let e = expected.iter().find(|e| e.id == id).unwrap();
                assert!(e.deleted && e.updated_at == Iso(body["event_time"].as_i64().unwrap()));
                let q = format!("conversations.history?channel={channel}&oldest={ts}&inclusive=1");
                assert!(
                    !tss(api(s, &q).await["messages"].as_array().unwrap())
                        .contains(&parse_ts(&ts).unwrap())
                );
                continue;
            }
            ChangeAction::Updated => {
                assert_eq!(event["subtype"], "message_changed");
                assert_ne!(event["message"]["text"], event["previous_message"]["text"]);
                (
                    event["message"].clone(),
                    event["message"]["ts"].as_str().unwrap().to_owned(),
                )
            }
            ChangeAction::Created => {
                let mut m = event.clone();
                for k in ["channel", "event_ts", "channel_type"] {
                    m.as_object_mut().unwrap().remove(k);
                }
                (m, event["ts"].as_str().unwrap().to_owned())
            }
        };
        let listed = match message["thread_ts"].as_str().filter(|t| *t != ts) {
            Some(parent) => format!("conversations.replies?channel={channel}&ts={parent}"),
            None => format!("conversations.history?channel={channel}&oldest={ts}&inclusive=1"),
        };
        let page = api(s, &listed).await;
        let item = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["ts"] == ts.as_str());
        let item = item
            .unwrap_or_else(|| panic!("{listed}: {ts} not in {page}"))
            .clone();
        assert_eq!(item, message, "{listed}");
        let id = format!("{channel}-{ts}");
        let e = expected.iter().find(|e| e.id == id).unwrap();
        assert!(!e.deleted && e.updated_at.0 >= at, "{e:?}");
    }
}

#[tokio::test]
async fn takes_form_posts_and_words_faults_like_slack() {
    let req = Request::post("/api/auth.test")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={TOKEN}")))
        .unwrap();
    let resp = slack().router("/slack").oneshot(req).await.unwrap();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        (body["ok"].as_bool(), body["team_id"].as_str()),
        (Some(true), Some("T0SANDBOX"))
    );
    let faults = slack().fault_responder();
    let second = std::time::Duration::from_secs(2);
    for (kind, status, text) in [
        (
            crate::FaultKind::TooManyRequests,
            429,
            r#"{"error":"ratelimited","ok":false}"#,
        ),
        (
            crate::FaultKind::SecondaryRateLimit,
            429,
            r#"{"error":"ratelimited","ok":false}"#,
        ),
        (
            crate::FaultKind::Error500,
            200,
            r#"{"error":"internal_error","ok":false}"#,
        ),
        (
            crate::FaultKind::Error503,
            503,
            r#"{"error":"service_unavailable","ok":false}"#,
        ),
        (crate::FaultKind::Error502, 502, "Bad Gateway"),
    ] {
        let resp = faults.respond(kind, second);
        assert_eq!(resp.status().as_u16(), status);
        if status == 429 {
            assert_eq!(resp.headers()["retry-after"], "2");
        }
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(std::str::from_utf8(&bytes).unwrap(), text);
    }
}

#[test]
fn timestamps_parse_and_format_exactly_and_data_is_deterministic() {
    assert_eq!(parse_ts("1712345678.000216"), Some((1_712_345_678, 216)));
    assert_eq!(parse_ts("1712345678.5"), Some((1_712_345_678, 500_000)));
    assert_eq!(parse_ts("1712345678"), Some((1_712_345_678, 0)));
    for bad in ["", "x", "1.2.3", "1.1234567", "-1", ".5"] {
        assert_eq!(parse_ts(bad), None, "{bad}");
    }
    assert_eq!(format_ts((5, 42)), "5.000042");
    assert_eq!(slack().expected(), slack().expected());
    assert!(Templates::load().is_ok(), "every template parses");
}

#[tokio::test]
async fn is_served_under_slack_with_its_connector_config() {
    let config = crate::SandboxConfig {
        port: 0,
        providers: vec!["slack".into()],
        ..crate::SandboxConfig::default()
    };
    let sandbox = crate::Sandbox::start(config).await.unwrap();
    let cfg = sandbox.connector_config("slack").unwrap();
    let base = cfg["base_url"].as_str().unwrap();
    assert!(
        base.ends_with("/slack/api") && !base.contains("//slack"),
        "{base}"
    );
    assert_eq!(cfg["auth"]["token"], "gwi-sandbox-connector");
    let url = format!("{base}/conversations.history?channel=C0SBXGENRL&limit=3");
    let resp = reqwest::Client::new()
        .get(url)
        .bearer_auth("gwi-sandbox-connector")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-oauth-scopes"], routes::SCOPES);
    let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(
        (body["ok"].as_bool(), body["has_more"].as_bool()),
        (Some(true), Some(true))
    );
    let stats = sandbox.stats();
    assert!(stats.records["slack"]["C0SBXGENRL"]["message"] >= 55);
    sandbox.shutdown().await;
}
