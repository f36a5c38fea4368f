use std::collections::BTreeSet;

use axum::body::Body;
use base64::Engine as _;
use http::{Request, StatusCode};
use tower::ServiceExt as _;

use super::data::SHARED_MINUTE;
use super::*;
use crate::faults::FaultKind;

const TOKEN: &str = "gwi-sandbox-test";

fn jira() -> Arc<Jira> {
    Arc::new(Jira::new(7, 1, TokenPolicy::default(), RateLimitConfig::default()).unwrap())
}

fn basic(token: &str) -> String {
    let raw = format!("someone@example.com:{token}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

async fn send(
    j: &Arc<Jira>,
    auth: Option<String>,
    uri: &str,
) -> (StatusCode, http::HeaderMap, Value) {
    let mut req = Request::get(uri).header("host", "sandbox.test");
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = Arc::clone(j)
        .router("/jira")
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, serde_json::from_slice(&bytes).unwrap())
}

async fn api(j: &Arc<Jira>, path: &str) -> Value {
    let (status, _, body) = send(j, Some(basic(TOKEN)), &format!("/rest/api/3/{path}")).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Every issue a JQL search lists, following `nextPageToken`; checks there is never a total.
async fn search_all(j: &Arc<Jira>, jql: &str, extra: &str) -> Vec<Value> {
    let (mut out, mut token) = (Vec::new(), String::new());
    loop {
        let page = api(
            j,
            &format!(
                "search/jql?jql={}&maxResults=7{extra}&nextPageToken={token}",
                enc(jql)
            ),
        )
        .await;
        assert!(page.get("total").is_none(), "{page}");
        out.extend(page["issues"].as_array().unwrap().iter().cloned());
        match page["nextPageToken"].as_str() {
            Some(t) => {
                assert_eq!(page["isLast"], false);
                token = t.to_owned();
            }
            None => {
                assert_eq!(page["isLast"], true);
                return out;
            }
        }
    }
}

fn keys(issues: &[Value]) -> Vec<String> {
    issues
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn auth_accepts_basic_and_bearer_and_words_refusals_like_jira() {
    let j = jira();
    let me = api(&j, "myself").await;
    assert_eq!(me["timeZone"], "Europe/Berlin");
    assert_eq!(me["emailAddress"], "gwi@acme.test");
    assert_eq!(me["active"], true);
    let (status, _, _) = send(&j, Some(format!("Bearer {TOKEN}")), "/rest/api/3/myself").await;
    assert_eq!(status, StatusCode::OK);
    let info = api(&j, "serverInfo").await;
    assert_eq!(
        (info["deploymentType"].as_str(), info["version"].as_str()),
        (Some("Cloud"), Some("1001.0.0"))
    );
    assert_eq!(info["baseUrl"], "http://sandbox.test/jira");
    for auth in [
        None,
        Some(basic("wrong")),
        Some("Bearer nope".to_owned()),
        Some("Basic !!".to_owned()),
    ] {
        let (status, _, body) = send(&j, auth, "/rest/api/3/myself").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            json!({"errorMessages": ["You are not authenticated. Authentication required to perform this operation."], "errors": {}})
        );
    }
}

#[tokio::test]
async fn projects_page_with_insight_on_request() {
    let j = jira();
    let page = api(&j, "project/search?keys=ENG&keys=OPS&expand=insight").await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["isLast"], true);
    let eng = &page["values"][0];
    assert_eq!(
        (eng["id"].as_str(), eng["key"].as_str()),
        (Some("10000"), Some("ENG"))
    );
    assert!(eng["lead"]["accountId"].is_string());
    let newest = j.data.read().last_issue_update(0).unwrap();
    assert_eq!(
        eng["insight"]["lastIssueUpdateTime"],
        render::jira_time(newest)
    );
    let plain = api(&j, "project/search?maxResults=2").await;
    assert_eq!(
        (plain["total"].as_u64(), plain["isLast"].as_bool()),
        (Some(3), Some(false))
    );
    assert!(plain["values"][0].get("insight").is_none());
}

#[tokio::test]
async fn jql_filters_projects_and_pages_by_token_covering_every_issue_once() {
    let j = jira();
    let eng = search_all(&j, "project = ENG ORDER BY updated ASC, key ASC", "").await;
    let live = j.data.read().issues.live().filter(|r| r.scope == 0).count();
    assert_eq!(eng.len(), live);
    let unique: BTreeSet<String> = keys(&eng).into_iter().collect();
    assert_eq!(unique.len(), live, "every issue once");
    assert!(keys(&eng).iter().all(|k| k.starts_with("ENG-")));
    assert!(
        eng.iter()
            .all(|i| i.get("fields").is_none() && i["id"].is_string() && i["self"].is_string())
    );
    let both = search_all(&j, "project in (ENG, ops)", "").await;
    let ops = j.data.read().issues.live().filter(|r| r.scope == 1).count();
    assert_eq!(both.len(), live + ops);
}

#[tokio::test]
async fn jql_updated_is_minute_granular_in_berlin_time_and_ordered() {
    let j = jira();
    // ENG's first three issues were made at 08:00:07, :31 and :59 UTC on 2024-05-01, which is
    // 10:00 in Berlin (CEST).
    let fields = "&fields=updated,summary";
    let from_ten = search_all(
        &j,
        r#"project = ENG AND updated >= "2024-05-01 10:00" ORDER BY updated ASC, key ASC"#,
        fields,
    )
    .await;
    let first: Vec<String> = keys(&from_ten).into_iter().take(3).collect();
    assert_eq!(first, ["ENG-1", "ENG-2", "ENG-3"]);
    assert_eq!(
        from_ten[2]["fields"]["updated"],
        render::jira_time(SHARED_MINUTE + 59)
    );
    assert_eq!(
        from_ten[0]["fields"]["updated"],
        "2024-05-01T08:00:07.000+0000"
    );
    let times: Vec<&str> = from_ten
        .iter()
        .map(|i| i["fields"]["updated"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "ascending");
    let from_next = search_all(
        &j,
        r#"project = ENG AND updated >= "2024-05-01 10:01" ORDER BY updated ASC"#,
        fields,
    )
    .await;
    assert_eq!(from_next.len(), from_ten.len() - 3);
    // Read as UTC, 10:00 would leave them out; in Berlin the minute holds exactly them.
    let minute = search_all(&j, r#"project = ENG AND updated >= "2024-05-01 10:00" AND updated < "2024-05-01 10:01" ORDER BY key ASC"#, fields).await;
    assert_eq!(keys(&minute), ["ENG-1", "ENG-2", "ENG-3"]);
    let after = search_all(
        &j,
        r#"project = ENG and updated > "2024/05/01 10:00" order by updated desc"#,
        fields,
    )
    .await;
    assert_eq!(after.len(), from_ten.len());
    let desc: Vec<&str> = after
        .iter()
        .map(|i| i["fields"]["updated"].as_str().unwrap())
        .collect();
    assert!(desc.windows(2).all(|w| w[0] >= w[1]), "descending");
    let only = &from_ten[0]["fields"];
    assert_eq!(
        only.as_object().unwrap().len(),
        2,
        "only the requested fields: {only}"
    );
}

#[tokio::test]
async fn bad_jql_and_the_removed_search_are_refused_in_jiras_words() {
    let j = jira();
    for bad in [
        "status = Done",
        "project = NOPE",
        "project = ENG OR project = OPS",
        r#"updated >= "yesterday""#,
        "",
    ] {
        let (status, _, body) = send(
            &j,
            Some(basic(TOKEN)),
            &format!("/rest/api/3/search/jql?jql={}", enc(bad)),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            body["errorMessages"][0].is_string() && body["errors"] == json!({}),
            "{body}"
        );
    }
    let (_, _, body) = send(
        &j,
        Some(basic(TOKEN)),
        "/rest/api/3/search/jql?jql=status%3DDone",
    )
    .await;
    assert!(
        body["errorMessages"][0]
            .as_str()
            .unwrap()
            .starts_with("Error in the JQL Query: ")
    );
    for path in ["/rest/api/2/search?jql=project%3DENG", "/rest/api/3/search"] {
        let (status, _, body) = send(&j, Some(basic(TOKEN)), path).await;
        assert_eq!(status, StatusCode::GONE);
        assert_eq!(body["errorMessages"][0], routes::REMOVED);
    }
}

#[tokio::test]
async fn an_issue_renders_every_field_and_unknown_ones_404() {
    let j = jira();
    let all = search_all(&j, "project = ENG", "&fields=*all").await;
    let described = all
        .iter()
        .find(|i| {
            i["fields"]["description"]["content"]
                .as_array()
                .is_some_and(|c| c.len() > 1)
        })
        .unwrap();
    assert_eq!(described["fields"]["description"]["type"], "doc");
    assert!(all.iter().any(|i| i["fields"]["description"].is_null()));
    let key = described["key"].as_str().unwrap();
    let one = api(&j, &format!("issue/{key}")).await;
    assert_eq!(one["fields"]["status"], described["fields"]["status"]);
    for f in [
        "summary",
        "status",
        "issuetype",
        "priority",
        "assignee",
        "reporter",
        "labels",
        "components",
        "fixVersions",
        "parent",
        "customfield_10020",
        "resolution",
        "resolutiondate",
        "created",
        "updated",
        "project",
    ] {
        assert!(one["fields"].get(f).is_some(), "{f} missing: {one}");
    }
    assert!(one["fields"]["status"]["statusCategory"]["key"].is_string());
    assert_eq!(one["fields"]["project"]["key"], "ENG");
    let by_id = api(
        &j,
        &format!("issue/{}?fields=summary", one["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(by_id["key"], key);
    assert_eq!(by_id["fields"].as_object().unwrap().len(), 1);
    let (status, _, body) = send(&j, Some(basic(TOKEN)), "/rest/api/3/issue/ENG-9999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["errorMessages"][0],
        "Issue does not exist or you do not have permission to see it."
    );
}

#[tokio::test]
async fn comments_and_changelogs_page_with_totals() {
    let j = jira();
    let (issue, comments, histories) = {
        let d = j.data.read();
        let busy = d.issues.live().find(|i| {
            d.comments.live().filter(|c| c.parent == Some(i.id)).count() >= 2
                && d.histories
                    .live()
                    .filter(|h| h.parent == Some(i.id))
                    .count()
                    >= 2
        });
        let busy = busy.unwrap();
        let count =
            |t: &crate::core::table::Table| t.live().filter(|c| c.parent == Some(busy.id)).count();
        (View::key(busy), count(&d.comments), count(&d.histories))
    };
    let mut seen = Vec::new();
    for start in (0..comments).step_by(1) {
        let page = api(
            &j,
            &format!("issue/{issue}/comment?startAt={start}&maxResults=1&orderBy=created"),
        )
        .await;
        assert_eq!(page["total"], comments);
        let c = &page["comments"][0];
        assert_eq!(c["body"]["type"], "doc");
        assert!(c["author"]["accountId"].is_string() && c["jsdPublic"] == true);
        seen.push(c["created"].as_str().unwrap().to_owned());
        let id = c["id"].as_str().unwrap();
        assert_eq!(
            api(&j, &format!("issue/{issue}/comment/{id}")).await["id"],
            id
        );
    }
    assert!(seen.windows(2).all(|w| w[0] <= w[1]));
    let first = api(&j, &format!("issue/{issue}/changelog?maxResults=1")).await;
    assert_eq!(
        (first["total"].as_u64(), first["isLast"].as_bool()),
        (Some(histories as u64), Some(false))
    );
    assert!(first["nextPage"].as_str().unwrap().contains("startAt=1"));
    let item = &first["values"][0]["items"][0];
    assert!(
        item["field"].is_string()
            && item.get("toString").is_some()
            && item.get("fieldId").is_some()
    );
    let all = api(&j, &format!("issue/{issue}/changelog")).await;
    assert_eq!(all["values"].as_array().unwrap().len(), histories);
    assert_eq!(all["isLast"], true);
    assert!(all.get("nextPage").is_none());
    let created: Vec<&str> = all["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["created"].as_str().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "oldest first");
}

#[tokio::test]
async fn rate_limits_and_injected_faults_answer_in_jiras_headers() {
    let j = Arc::new(
        Jira::new(
            7,
            1,
            TokenPolicy::default(),
            RateLimitConfig {
                limit: 1,
                window: std::time::Duration::from_secs(60),
            },
        )
        .unwrap(),
    );
    api(&j, "myself").await;
    let (status, headers, body) = send(&j, Some(basic(TOKEN)), "/rest/api/3/myself").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["errorMessages"][0], "Rate limit exceeded.");
    assert_eq!(headers["ratelimit-reason"], "jira-burst-based");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    assert_eq!(headers["x-ratelimit-limit"], "1");
    assert!(
        headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let reset = headers["x-ratelimit-reset"].to_str().unwrap();
    assert!(
        reset.len() == 17 && reset.ends_with('Z') && reset.as_bytes()[10] == b'T',
        "{reset}"
    );
    let faults = j.fault_responder();
    for kind in [FaultKind::TooManyRequests, FaultKind::SecondaryRateLimit] {
        let r = faults.respond(kind, std::time::Duration::from_secs(3));
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "3");
        assert!(r.headers().contains_key("x-ratelimit-reset"));
    }
    let r = faults.respond(FaultKind::Error503, std::time::Duration::from_secs(2));
    assert_eq!(
        (r.status(), r.headers()["retry-after"].to_str().unwrap()),
        (StatusCode::SERVICE_UNAVAILABLE, "2")
    );
    for kind in [FaultKind::Error500, FaultKind::Error502] {
        let r = faults.respond(kind, std::time::Duration::from_secs(1));
        let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(v["errorMessages"][0].is_string());
    }
}

#[tokio::test]
async fn mutations_show_in_listings_and_expected() {
    let j = jira();
    let before = j.expected();
    assert!(before.iter().all(|e| e.scope == "ENG" || e.scope == "OPS"));
    assert_eq!(
        before.iter().filter(|e| e.record_type == "project").count(),
        2
    );
    let at = j.newest_timestamp() + 100;
    let mut rng = SandboxRng::new(3);
    let changes = j.mutate(40, at, &mut rng);
    assert!(changes.iter().all(|c| c.scope != "DES"));
    let unique: BTreeSet<(&str, u64)> = changes.iter().map(|c| (c.kind, c.id)).collect();
    assert_eq!(unique.len(), changes.len(), "each record once");
    for action in [
        ChangeAction::Created,
        ChangeAction::Updated,
        ChangeAction::Deleted,
    ] {
        assert!(
            changes
                .iter()
                .any(|c| c.action == action && c.kind == "issue"),
            "{action:?}"
        );
    }
    let expected = j.expected();
    // A deleted issue's history entries are kept as written (see `expected`).
    for c in changes
        .iter()
        .filter(|c| c.kind != "changelog" || c.action != ChangeAction::Deleted)
    {
        let record = expected
            .iter()
            .find(|e| e.id == c.id.to_string() && e.record_type == c.kind)
            .unwrap();
        assert_eq!(record.updated_at, Iso(at), "{c:?}");
        assert_eq!(record.deleted, c.action == ChangeAction::Deleted, "{c:?}");
    }
    let project = expected
        .iter()
        .find(|e| e.record_type == "project" && e.scope == "ENG")
        .unwrap();
    assert_eq!(project.updated_at, Iso(at));
    let changed = search_all(
        &j,
        &format!(
            "project in (ENG, OPS) AND updated >= \"{}\"",
            berlin_minute(at)
        ),
        "&fields=updated",
    )
    .await;
    let listed: BTreeSet<String> = changed
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    for c in changes.iter().filter(|c| c.kind == "issue") {
        assert_eq!(
            listed.contains(&c.id.to_string()),
            c.action != ChangeAction::Deleted,
            "{c:?}"
        );
    }
    let deleted = changes
        .iter()
        .find(|c| c.kind == "issue" && c.action == ChangeAction::Deleted)
        .unwrap();
    let (status, _, _) = send(
        &j,
        Some(basic(TOKEN)),
        &format!("/rest/api/3/issue/{}", deleted.id),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn berlin_minute(t: Secs) -> String {
    use chrono::TimeZone as _;
    let tz: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    tz.timestamp_opt(t, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

#[tokio::test]
async fn webhooks_are_signed_and_name_the_changed_records() {
    let j = jira();
    let at = j.newest_timestamp() + 100;
    let changes = j.mutate(40, at, &mut SandboxRng::new(5));
    let mut ids = BTreeSet::new();
    let mut events = BTreeSet::new();
    for c in &changes {
        let Some(d) = j.webhook_for(c, "s3cret", "http://h:1/") else {
            assert_eq!(c.kind, "changelog");
            continue;
        };
        let header = |name: &str| {
            d.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(
            header("x-hub-signature"),
            crate::webhook::github_signature(b"s3cret", &d.body)
        );
        assert_eq!(header("x-atlassian-webhook-retry"), "0");
        assert!(
            ids.insert(header("x-atlassian-webhook-identifier")),
            "identifiers are unique"
        );
        let body: Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(body["timestamp"], at * 1000);
        let event = body["webhookEvent"].as_str().unwrap().to_owned();
        match c.kind {
            "issue" => {
                assert_eq!(body["issue"]["id"], c.id.to_string());
                assert!(
                    body["issue"]["self"]
                        .as_str()
                        .unwrap()
                        .starts_with("http://h:1/jira/rest/api/2/issue/")
                );
                let want = match c.action {
                    ChangeAction::Created => "jira:issue_created",
                    ChangeAction::Updated => "jira:issue_updated",
                    ChangeAction::Deleted => "jira:issue_deleted",
                };
                assert_eq!(event, want);
                if c.action != ChangeAction::Deleted {
                    assert_eq!(body["issue"]["fields"]["updated"], render::jira_time(at));
                }
                let desc = &body["issue"]["fields"]["description"];
                assert!(desc.is_null() || desc.is_string(), "{desc}");
                if event == "jira:issue_updated" && body["issue_event_type_name"] == "issue_generic"
                {
                    assert!(body["changelog"]["items"][0]["field"].is_string());
                }
            }
            _ => {
                assert!(event.starts_with("comment_"), "{event}");
                assert_eq!(body["comment"]["id"], c.id.to_string());
                assert!(body["comment"]["body"].is_string());
                assert!(body["issue"]["key"].is_string());
            }
        }
        events.insert(event);
    }
    assert!(
        events.contains("jira:issue_updated") && events.contains("comment_created"),
        "{events:?}"
    );
}

#[test]
fn jql_dates_follow_berlin_summer_and_winter_time() {
    let tz: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    assert_eq!(jql::parse_date("2024-05-01 10:00", tz), Some(SHARED_MINUTE));
    assert_eq!(jql::parse_date("2024-01-01 01:00", tz), Some(1_704_067_200));
    assert_eq!(
        jql::parse_date("2024/01/01", tz),
        Some(1_704_067_200 - 3600)
    );
    let q = jql::parse(
        "project in (ENG, OPS) AND updated >= \"2024-05-01 10:00\" ORDER BY updated ASC, key ASC",
        tz,
    )
    .unwrap();
    assert_eq!(q.projects, Some(vec![0, 1]));
    assert_eq!(q.order.len(), 2);
}

#[tokio::test]
async fn a_served_sandbox_takes_the_connector_config_and_counts_calls_to_the_removed_search() {
    let sandbox = crate::Sandbox::start(crate::SandboxConfig {
        port: 0,
        providers: vec!["jira".into()],
        ..crate::SandboxConfig::default()
    })
    .await
    .unwrap();
    let config = sandbox.connector_config("jira").unwrap();
    let base = config["base_url"].as_str().unwrap().to_owned();
    assert!(base.ends_with("/jira"), "{base}");
    let (user, password) = (
        config["auth"]["username"].as_str().unwrap(),
        config["auth"]["password"].as_str().unwrap(),
    );
    let c = reqwest::Client::new();
    let me = c
        .get(format!("{base}/rest/api/3/myself"))
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let old = c
        .post(format!("{base}/rest/api/2/search"))
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::GONE);
    let by_route = sandbox.stats().requests.by_route;
    assert_eq!(
        by_route.get("POST /jira/rest/api/2/search"),
        Some(&1),
        "{by_route:?}"
    );
    assert!(!sandbox.expected("jira").is_empty());
    sandbox.shutdown().await;
}
