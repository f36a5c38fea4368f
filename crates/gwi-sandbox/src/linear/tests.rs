use std::collections::BTreeSet;
use std::time::Duration;

use axum::body::Body;
use http::{HeaderMap, Request, StatusCode};
use tower::ServiceExt as _;

use super::graphql::iso_ms;
use super::*;
use crate::faults::FaultKind;

const TOKEN: &str = "gwi-sandbox-test";

fn linear_with(limit: u64) -> Arc<Linear> {
    let rate = RateLimitConfig {
        limit,
        window: Duration::from_secs(3600),
    };
    Arc::new(Linear::new(7, 1, TokenPolicy::default(), rate).unwrap())
}

fn linear() -> Arc<Linear> {
    linear_with(5000)
}

async fn send(l: &Arc<Linear>, auth: Option<&str>, body: Value) -> (StatusCode, HeaderMap, Value) {
    let mut req = Request::post("/graphql").header("content-type", "application/json");
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = Arc::clone(l)
        .router("/linear")
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, serde_json::from_slice(&bytes).unwrap())
}

/// `data` of a successful query.
async fn query(l: &Arc<Linear>, q: &str, variables: Value) -> Value {
    let (status, _, body) = send(l, Some(TOKEN), json!({"query": q, "variables": variables})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

/// The error document of a refused query.
async fn refused(l: &Arc<Linear>, q: &str, variables: Value) -> Value {
    let (status, _, body) = send(l, Some(TOKEN), json!({"query": q, "variables": variables})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    body["errors"][0].clone()
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

/// Every node of `issues` (or another root connection) with `args`, page by page.
async fn all_nodes(
    l: &Arc<Linear>,
    root: &str,
    args: &str,
    fields: &str,
    first: u64,
) -> Vec<Value> {
    let q = format!(
        "query($after: String) {{ {root}(first: {first}, after: $after{args}) {{ nodes {{ {fields} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    );
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = query(l, &q, json!({"after": after})).await;
        let conn = &data[root];
        let nodes = conn["nodes"].as_array().unwrap();
        assert!(nodes.len() as u64 <= first);
        out.extend(nodes.iter().cloned());
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    out
}

#[tokio::test]
async fn answers_exactly_the_selected_fields_with_aliases_and_typename() {
    let l = linear();
    let data = query(
        &l,
        "query Q { viewer { id name } organization { name urlKey } \
         issues(first: 3) { __typename nodes { id key: identifier state { type } labels { nodes { name } } } \
         pageInfo { hasNextPage } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        keys(&data),
        BTreeSet::from(["viewer", "organization", "issues"])
    );
    assert_eq!(keys(&data["viewer"]), BTreeSet::from(["id", "name"]));
    assert_eq!(
        data["organization"],
        json!({"name": "Acme", "urlKey": "acme"})
    );
    assert_eq!(data["issues"]["__typename"], "IssueConnection");
    let nodes = data["issues"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    for n in nodes {
        assert_eq!(keys(n), BTreeSet::from(["id", "key", "state", "labels"]));
        assert_eq!(keys(&n["state"]), BTreeSet::from(["type"]));
        assert!(n["key"].as_str().unwrap().contains('-'));
        assert_eq!(n["id"].as_str().unwrap().len(), 36);
    }
    assert_eq!(
        keys(&data["issues"]["pageInfo"]),
        BTreeSet::from(["hasNextPage"])
    );
}

#[tokio::test]
async fn fragments_and_edges_are_answered() {
    let l = linear();
    let data = query(
        &l,
        "query { teams { edges { cursor node { ...T } } } } fragment T on Team { key name }",
        json!({}),
    )
    .await;
    let edges = data["teams"]["edges"].as_array().unwrap();
    let got: Vec<&str> = edges
        .iter()
        .map(|e| e["node"]["key"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["ENG", "OPS", "DES"]);
    assert!(edges.iter().all(|e| e["cursor"].is_string()));
}

#[tokio::test]
async fn variables_and_nested_filters_select_by_team() {
    let l = linear();
    let vars = json!({"keys": ["OPS", "DES"], "f": {"team": {"key": {"in": ["OPS", "DES"]}}}});
    let by_literal = all_nodes(
        &l,
        "issues",
        ", filter: {team: {key: {in: [\"OPS\", \"DES\"]}}}",
        "identifier",
        250,
    )
    .await;
    let q = "query($f: IssueFilter) { issues(first: 250, filter: $f) { nodes { identifier } } }";
    let by_var = query(&l, q, vars.clone()).await["issues"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(by_literal, by_var);
    assert!(!by_var.is_empty());
    assert!(
        by_var
            .iter()
            .all(|n| !n["identifier"].as_str().unwrap().starts_with("ENG"))
    );
    let q = "query($keys: [String!]) { comments(first: 250, filter: {issue: {team: {key: {in: $keys}}}}) \
             { nodes { issue { identifier } } } cycles(filter: {team: {key: {eq: \"OPS\"}}}) { nodes { team { key } } } \
             teams(filter: {key: {eq: \"DES\"}}) { nodes { key } } \
             projects(filter: {accessibleTeams: {some: {key: {in: $keys}}}}) { nodes { teams { nodes { key } } } } }";
    let data = query(&l, q, vars).await;
    let comments = data["comments"]["nodes"].as_array().unwrap();
    assert!(!comments.is_empty());
    assert!(comments.iter().all(|c| {
        !c["issue"]["identifier"]
            .as_str()
            .unwrap()
            .starts_with("ENG")
    }));
    let cycles = data["cycles"]["nodes"].as_array().unwrap();
    assert_eq!(cycles.len(), 5);
    assert!(cycles.iter().all(|c| c["team"]["key"] == "OPS"));
    assert_eq!(data["teams"]["nodes"], json!([{"key": "DES"}]));
    let projects = data["projects"]["nodes"].as_array().unwrap();
    assert!(!projects.is_empty());
    for p in projects {
        let teams = p["teams"]["nodes"].as_array().unwrap();
        assert!(teams.iter().any(|t| t["key"] == "OPS" || t["key"] == "DES"));
    }
}

#[tokio::test]
async fn paging_lists_every_node_once_within_first() {
    let l = linear();
    let total = l.data.read().table(Kind::Issue).live_count();
    let ids = all_nodes(&l, "issues", ", includeArchived: true", "id", 17).await;
    let unique: BTreeSet<&str> = ids.iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!((ids.len(), unique.len()), (total, total));
    let page = query(&l, "{ issues { nodes { id } } }", json!({})).await;
    assert_eq!(
        page["issues"]["nodes"].as_array().unwrap().len(),
        50,
        "default page"
    );
    for bad in [0, 251] {
        let e = refused(
            &l,
            &format!("{{ issues(first: {bad}) {{ nodes {{ id }} }} }}"),
            json!({}),
        )
        .await;
        assert_eq!(e["path"], json!(["issues"]));
        assert_eq!(e["extensions"]["code"], "INPUT_ERROR");
        assert_eq!(e["extensions"]["type"], "invalid input");
    }
    let e = refused(
        &l,
        "{ issues(after: \"bm9wZQ==\") { nodes { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        (e["extensions"]["code"].as_str(), e["path"].clone()),
        (Some("INPUT_ERROR"), json!(["issues"]))
    );
    let empty = query(&l, "{ teams(filter: {key: {eq: \"NOPE\"}}) { nodes { id } pageInfo { hasNextPage endCursor } } }", json!({})).await;
    assert_eq!(
        empty["teams"]["pageInfo"],
        json!({"hasNextPage": false, "endCursor": null})
    );
}

#[tokio::test]
async fn order_by_updated_is_newest_first_and_archived_rows_need_include_archived() {
    let l = linear();
    let nodes = all_nodes(
        &l,
        "issues",
        ", orderBy: updatedAt, includeArchived: true",
        "updatedAt archivedAt",
        100,
    )
    .await;
    let times: Vec<&str> = nodes
        .iter()
        .map(|n| n["updatedAt"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert!(times[0].ends_with(".000Z") && times[0].starts_with("2024-"));
    let archived = nodes.iter().filter(|n| !n["archivedAt"].is_null()).count();
    assert!(archived > 0);
    let live = all_nodes(&l, "issues", "", "archivedAt createdAt", 250).await;
    assert_eq!(live.len(), nodes.len() - archived);
    assert!(live.iter().all(|n| n["archivedAt"].is_null()));
    let created: Vec<&str> = live
        .iter()
        .map(|n| n["createdAt"].as_str().unwrap())
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] <= w[1]),
        "createdAt ascending by default"
    );
    let users = all_nodes(
        &l,
        "users",
        ", includeArchived: true",
        "active archivedAt",
        50,
    )
    .await;
    assert_eq!(users.len(), 10);
    assert_eq!(all_nodes(&l, "users", "", "id", 50).await.len(), 9);
}

#[tokio::test]
async fn updated_at_filters_compare_times() {
    let l = linear();
    let q = "query($since: DateTimeOrDuration) { issues(first: 250, includeArchived: true, filter: {updatedAt: {gt: $since}}) { nodes { updatedAt } } }";
    let all = query(&l, q, json!({"since": null})).await;
    let all = all["issues"]["nodes"].as_array().unwrap().len();
    let since = "2024-09-01T00:00:00.000Z";
    let some = query(&l, q, json!({"since": since})).await;
    let some = some["issues"]["nodes"].as_array().unwrap().clone();
    assert!(!some.is_empty() && some.len() < all);
    assert!(
        some.iter()
            .all(|n| n["updatedAt"].as_str().unwrap() > since)
    );
    let e = refused(
        &l,
        "{ issues(filter: {color: {eq: \"x\"}}) { nodes { id } } }",
        json!({}),
    )
    .await;
    assert!(
        e["extensions"]["userPresentableMessage"]
            .as_str()
            .unwrap()
            .contains("color"),
        "{e}"
    );
    assert_eq!(e["extensions"]["code"], "INPUT_ERROR");
}

#[tokio::test]
async fn unknown_fields_and_syntax_errors_are_refused_in_graphqls_words() {
    let l = linear();
    let e = refused(&l, "{\n  issues { nodes { id\n    bogus } } }", json!({})).await;
    assert_eq!(
        e["message"],
        "Cannot query field \"bogus\" on type \"Issue\"."
    );
    assert_eq!(e["locations"], json!([{"line": 3, "column": 5}]));
    assert_eq!(
        e["extensions"],
        json!({"code": "GRAPHQL_VALIDATION_FAILED", "type": "graphql error", "userError": true})
    );
    let e = refused(&l, "{ issues { nodes { id } }", json!({})).await;
    assert_eq!(e["extensions"]["code"], "GRAPHQL_PARSE_FAILED");
    assert!(e["message"].as_str().unwrap().starts_with("Syntax Error"));
    let e = refused(&l, "{ issues { nodes { state } } }", json!({})).await;
    assert_eq!(e["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
}

#[tokio::test]
async fn auth_takes_an_api_key_or_a_bearer_token_and_answers_carry_limits() {
    let l = linear();
    let body = json!({"query": "{ viewer { id } }"});
    for auth in [None, Some("lin_api_real"), Some("Bearer nope")] {
        let (status, _, b) = send(&l, auth, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            b["errors"][0]["message"],
            "Authentication required, not authenticated"
        );
        assert_eq!(b["errors"][0]["extensions"]["code"], "AUTHENTICATION_ERROR");
        assert_eq!(b["errors"][0]["extensions"]["type"], "authentication error");
    }
    for auth in [TOKEN.to_owned(), format!("Bearer {TOKEN}")] {
        let (status, h, _) = send(&l, Some(&auth), body.clone()).await;
        assert_eq!(status, StatusCode::OK);
        let reset: i64 = h["x-ratelimit-requests-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(reset > now_secs() * 1000 - 10_000, "epoch ms");
        assert_eq!(h["x-ratelimit-requests-limit"], "5000");
        assert_eq!(h["x-complexity"], "2");
        assert!(h.contains_key("x-ratelimit-complexity-remaining"));
        assert!(h.contains_key("x-ratelimit-complexity-reset"));
    }
}

#[tokio::test]
async fn a_used_up_window_and_injected_limits_answer_ratelimited() {
    let l = linear_with(1);
    let body = json!({"query": "{ viewer { id } }"});
    assert_eq!(send(&l, Some(TOKEN), body.clone()).await.0, StatusCode::OK);
    let (status, h, b) = send(&l, Some(TOKEN), body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["errors"][0]["extensions"]["code"], "RATELIMITED");
    assert_eq!(b["errors"][0]["extensions"]["type"], "ratelimited");
    assert_eq!(h["x-ratelimit-requests-remaining"], "0");
    assert!(!h.contains_key("retry-after"));
    let faults = l.fault_responder();
    let r = faults.respond(FaultKind::TooManyRequests, Duration::from_secs(2));
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let reset: i64 = r.headers()["x-ratelimit-requests-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset >= now_secs() * 1000 + 1000);
    assert_eq!(
        faults.respond(FaultKind::Error500, Duration::ZERO).status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        faults.respond(FaultKind::Error503, Duration::ZERO).status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn issue_states_agree_with_their_times() {
    let l = linear();
    let nodes = all_nodes(
        &l,
        "issues",
        ", includeArchived: true",
        "state { type } startedAt completedAt canceledAt",
        250,
    )
    .await;
    for n in nodes {
        let set = |k: &str| !n[k].is_null();
        match n["state"]["type"].as_str().unwrap() {
            "completed" => assert!(set("completedAt") && set("startedAt") && !set("canceledAt")),
            "canceled" => assert!(set("canceledAt") && !set("completedAt")),
            "started" => assert!(set("startedAt") && !set("completedAt") && !set("canceledAt")),
            _ => assert!(!set("startedAt") && !set("completedAt") && !set("canceledAt")),
        }
    }
}

const ISSUE_FIELDS: &str = "id number title description priority estimate dueDate createdAt \
    updatedAt archivedAt canceledAt completedAt startedAt team { id key name } \
    state { id name type color } assignee { id } creator { id } project { id } cycle { id } \
    parent { id } labels { nodes { id name color } }";

#[tokio::test]
async fn mutations_show_in_listings_expected_and_webhooks_that_agree() {
    let l = linear();
    let before = l.expected();
    assert!(before.iter().all(|e| !e.deleted));
    assert!(
        before
            .iter()
            .any(|e| e.record_type == "team" && e.scope == "workspace")
    );
    let mut rng = SandboxRng::new(3);
    let at = l.newest_timestamp() + 10;
    let changes = l.mutate(80, at, &mut rng);
    assert!(changes.iter().any(|c| c.action == ChangeAction::Created));
    assert!(changes.iter().any(|c| c.action == ChangeAction::Deleted));
    let expected = l.expected();
    let since = iso_ms(at - 1);
    let q = format!(
        "query($s: DateTimeOrDuration) {{ issues(first: 250, includeArchived: true, orderBy: updatedAt, filter: {{updatedAt: {{gt: $s}}}}) {{ nodes {{ {ISSUE_FIELDS} }} }} }}"
    );
    let listed = query(&l, &q, json!({"s": since})).await["issues"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let mut checked = 0;
    for c in &changes {
        let row = l
            .data
            .read()
            .get(kind_of(c.kind).unwrap(), c.id)
            .cloned()
            .unwrap();
        let id = row.str("id").to_owned();
        let e = expected.iter().find(|e| e.id == id).unwrap();
        assert_eq!(e.deleted, c.action == ChangeAction::Deleted);
        assert_eq!(e.updated_at, Iso(at));
        let delivery = l.webhook_for(c, "s3cret", "http://x").unwrap();
        let header = |name: &str| {
            delivery
                .headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(
            header("linear-signature"),
            signature("s3cret", &delivery.body)
        );
        let body: Value = serde_json::from_slice(&delivery.body).unwrap();
        assert!(body["webhookTimestamp"].is_u64());
        assert_eq!(body["action"], render::action_word(c.action));
        assert_eq!(header("linear-event"), body["type"].as_str().unwrap());
        if c.kind != "issue" {
            continue;
        }
        let node = listed.iter().find(|n| n["id"] == id.as_str());
        assert_eq!(node.is_none(), c.action == ChangeAction::Deleted, "{c:?}");
        let Some(node) = node else {
            assert_eq!(body["data"]["trashed"], true);
            continue;
        };
        let data = &body["data"];
        for k in [
            "id",
            "number",
            "title",
            "description",
            "priority",
            "estimate",
            "dueDate",
            "createdAt",
            "updatedAt",
            "archivedAt",
            "canceledAt",
            "completedAt",
            "startedAt",
            "team",
            "state",
        ] {
            assert_eq!(data[k], node[k], "{k}");
        }
        for (k, obj) in [
            ("assigneeId", "assignee"),
            ("creatorId", "creator"),
            ("projectId", "project"),
            ("cycleId", "cycle"),
            ("parentId", "parent"),
        ] {
            assert_eq!(
                data[k],
                node[obj].get("id").cloned().unwrap_or(Value::Null),
                "{k}"
            );
        }
        assert_eq!(data["labels"], node["labels"]["nodes"]);
        if c.action == ChangeAction::Updated {
            assert!(body["updatedFrom"]["updatedAt"].is_string(), "{body}");
        }
        checked += 1;
    }
    assert!(checked > 5, "{checked}");
    let deleted: Vec<&Expected> = expected.iter().filter(|e| e.deleted).collect();
    assert!(!deleted.is_empty());
    let all = all_nodes(&l, "comments", ", includeArchived: true", "id", 250).await;
    let all: BTreeSet<&str> = all.iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert!(deleted.iter().all(|e| !all.contains(e.id.as_str())));
    let deliveries: BTreeSet<String> = changes
        .iter()
        .filter_map(|c| l.webhook_for(c, "s", "http://x"))
        .map(|d| {
            d.headers
                .iter()
                .find(|(k, _)| k == "linear-delivery")
                .unwrap()
                .1
                .clone()
        })
        .collect();
    assert_eq!(deliveries.len(), changes.len(), "a delivery id per change");
}

#[tokio::test]
async fn comment_and_project_webhooks_carry_the_graphql_values() {
    let l = linear();
    let mut rng = SandboxRng::new(11);
    let changes = l.mutate(120, l.newest_timestamp() + 5, &mut rng);
    for kind in ["comment", "project", "cycle"] {
        let c = changes
            .iter()
            .find(|c| c.kind == kind && c.action != ChangeAction::Deleted)
            .unwrap();
        let body: Value = serde_json::from_slice(&l.webhook_for(c, "s", "").unwrap().body).unwrap();
        let id = body["data"]["id"].as_str().unwrap().to_owned();
        let (root, fields) = match kind {
            "comment" => (
                "comments",
                "id body createdAt updatedAt editedAt archivedAt issue { id } user { id }",
            ),
            "project" => (
                "projects",
                "id name state createdAt updatedAt archivedAt startedAt completedAt canceledAt lead { id }",
            ),
            _ => (
                "cycles",
                "id number name startsAt endsAt completedAt createdAt updatedAt archivedAt team { id }",
            ),
        };
        let q = format!(
            "query($id: ID) {{ {root}(includeArchived: true, filter: {{id: {{eq: $id}}}}) {{ nodes {{ {fields} }} }} }}"
        );
        let node = query(&l, &q, json!({"id": id})).await[root]["nodes"][0].clone();
        for (k, v) in node.as_object().unwrap() {
            let (wk, want) = match v {
                Value::Object(o) => (format!("{k}Id"), o["id"].clone()),
                _ => (k.clone(), v.clone()),
            };
            assert_eq!(body["data"][&wk], want, "{kind} {wk}");
        }
    }
}

#[test]
fn every_template_parses_and_config_points_at_the_mount() {
    assert!(Templates::load().is_ok());
    let l = linear();
    assert_eq!(
        l.connector_config("http://127.0.0.1:1/"),
        json!({"base_url": "http://127.0.0.1:1/linear", "auth": {"type": "api_key", "key": "gwi-sandbox-connector"}, "page_size": 20})
    );
    assert!(l.announces_deletions());
    assert_eq!(l.unchanged_extra_requests_per_scope(), 0);
}

#[tokio::test]
async fn single_objects_are_fetched_by_id_or_identifier() {
    let l = linear();
    let first = query(
        &l,
        "{ issues(first: 1) { nodes { id identifier team { key } } } }",
        json!({}),
    )
    .await;
    let issue = first["issues"]["nodes"][0].clone();
    let q = "query IssueTeam($id: String!) { issue(id: $id) { team { key } } }";
    for id in [&issue["id"], &issue["identifier"]] {
        let data = query(&l, q, json!({"id": id})).await;
        assert_eq!(data, json!({"issue": {"team": issue["team"]}}));
    }
    let e = refused(&l, q, json!({"id": "nope"})).await;
    assert_eq!(
        (e["message"].as_str(), e["path"].clone()),
        (Some("Entity not found: Issue"), json!(["issue"]))
    );
}

#[tokio::test]
async fn the_sandbox_serves_linear_under_its_mount_with_faults_in_linears_words() {
    use crate::{FaultConfig, Sandbox, SandboxConfig};
    let sandbox = Sandbox::start(SandboxConfig {
        providers: vec!["linear".into()],
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let config = sandbox.connector_config("linear").unwrap();
    let base = config["base_url"].as_str().unwrap().to_owned();
    let key = config["auth"]["key"].as_str().unwrap().to_owned();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let post = || {
        client
            .post(format!("{base}/graphql"))
            .header("authorization", &key)
            .header("content-type", "application/json")
            .body(json!({"query": "{ viewer { email } }"}).to_string())
            .send()
    };
    let r = post().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let body: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(body["data"]["viewer"]["email"], "ada@acme.test");
    let expected = sandbox.expected("linear");
    assert!(
        expected
            .iter()
            .any(|e| e.record_type == "issue" && e.scope == "ENG")
    );
    assert!(
        expected
            .iter()
            .any(|e| e.record_type == "user" && e.scope == "workspace")
    );
    let mut faults = FaultConfig::none();
    faults.set("429", "1.0").unwrap();
    sandbox.set_faults(faults).unwrap();
    let r = post().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()["x-ratelimit-requests-remaining"], "0");
    let body: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATELIMITED");
    let report = sandbox.mutate("linear", 10).unwrap();
    assert!(!report.changes.is_empty());
    assert_eq!(
        sandbox.webhooks_for("linear", &report.changes, "s").len(),
        report.changes.len()
    );
    sandbox.shutdown().await;
}
