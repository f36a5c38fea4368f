//! GitLab sync against wiremock: the recorded REST answers, queries and cursors, notes through
//! their parents, groups, the cost of an unchanged upstream, refusals and rate limits.

use std::sync::Arc;

use gwi_core::health::CheckStatus;
use gwi_core::incremental::stream_cursor;
use gwi_core::store::Store;
use gwi_core::stream::{StreamDescriptor, SyncItem, SyncOptions};
use gwi_core::sync::SyncEngine;
use gwi_testing::MemoryStore;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::gitlab_support::*;
use crate::support::{context, cursors, drain, drain_ok, ids, options_with_state, shape, with};

/// `acme/widgets` as `GET /projects/:id` answers it.
fn widgets() -> Value {
    json!({"id": 101, "path_with_namespace": "acme/widgets", "default_branch": "main",
           "web_url": "https://gitlab.example.com/acme/widgets"})
}

const BASE: &str = "/api/v4/projects/101";

fn json_page(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(body)
        .insert_header("date", "Tue, 01 Jan 2030 00:00:00 GMT")
}

async fn serve(server: &MockServer, route: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(json_page(body))
        .mount(server)
        .await;
}

/// A server answering the project read of `acme/widgets`.
async fn server_with_project() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/projects/acme%2Fwidgets"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(json_page(widgets()))
        .mount(&server)
        .await;
    server
}

fn stream(record_type: &str) -> StreamDescriptor {
    StreamDescriptor::new("acme/widgets", record_type)
}

/// A merge request of the recorded listing with the given identity and time.
fn mr(id: u64, iid: u64, updated_at: &str) -> Value {
    with(
        &fixture("rest", "merge_requests_list")[0],
        json!({"id": id, "iid": iid, "updated_at": updated_at,
               "web_url": format!("https://gitlab.example.com/acme/widgets/-/merge_requests/{iid}")}),
    )
}

/// An issue of the recorded listing with the given identity and time.
fn issue(id: u64, iid: u64, updated_at: &str) -> Value {
    with(
        &fixture("rest", "issues_list")[0],
        json!({"id": id, "iid": iid, "updated_at": updated_at,
               "web_url": format!("https://gitlab.example.com/acme/widgets/-/issues/{iid}")}),
    )
}

/// A note of the recorded merge request notes with the given identity and time.
fn note(id: u64, updated_at: &str) -> Value {
    with(
        &fixture("rest", "merge_request_notes_list")[0],
        json!({"id": id, "updated_at": updated_at}),
    )
}

#[tokio::test]
async fn every_recorded_rest_listing_maps_to_records() {
    let server = server_with_project().await;
    serve(
        &server,
        &format!("{BASE}/merge_requests"),
        fixture("rest", "merge_requests_list"),
    )
    .await;
    serve(
        &server,
        &format!("{BASE}/issues"),
        fixture("rest", "issues_list"),
    )
    .await;
    serve(
        &server,
        &format!("{BASE}/pipelines"),
        fixture("rest", "pipelines_list"),
    )
    .await;
    // The note stream reaches the recorded notes through their parents.
    serve(
        &server,
        &format!("{BASE}/issues/1/notes"),
        fixture("rest", "issue_notes_list"),
    )
    .await;
    serve(
        &server,
        &format!("{BASE}/merge_requests/15442/notes"),
        fixture("rest", "merge_request_notes_list"),
    )
    .await;
    for iid in [15441, 15440] {
        serve(
            &server,
            &format!("{BASE}/merge_requests/{iid}/notes"),
            json!([]),
        )
        .await;
    }
    let connector = gitlab(&server.uri());
    let ctx = context(&connector);
    let cases: [(&str, &[&str]); 4] = [
        (
            "merge_request",
            &["mr-35385049", "mr-35384461", "mr-35368820"],
        ),
        ("issue", &["issue-41"]),
        ("pipeline", &["pipeline-47", "pipeline-48"]),
        ("note", &["note-301", "note-302"]),
    ];
    for (record_type, expected) in cases {
        let items = drain_ok(
            connector.connector.as_ref(),
            &ctx,
            &stream(record_type),
            &SyncOptions::default(),
        )
        .await;
        let mut got = ids(&items);
        got.sort_unstable();
        let mut want = expected.to_vec();
        want.sort_unstable();
        assert_eq!(got, want, "{record_type}");
        for record in crate::support::records(&items) {
            assert!(record.validate().is_ok(), "{}", record.id);
            assert_eq!(record.record_type, record_type);
            assert_eq!(record.data.to_value()["project"], "acme/widgets");
            assert_eq!(record.metadata.to_value(), json!({"project_id": 101}));
        }
    }
    let items = drain_ok(
        connector.connector.as_ref(),
        &ctx,
        &stream("note"),
        &SyncOptions::default(),
    )
    .await;
    let records = crate::support::records(&items);
    let system = records.iter().find(|r| r.id == "note-302").unwrap();
    assert_eq!(system.data.to_value()["system"], true);
    assert_eq!(system.data.to_value()["noteable_type"], "Issue");
    assert_eq!(
        system.data.to_value()["web_url"],
        "http://example.com/example/example/issues/1#note_302"
    );
    let mr = crate::support::records(
        &drain_ok(
            connector.connector.as_ref(),
            &ctx,
            &stream("merge_request"),
            &SyncOptions::default(),
        )
        .await,
    )[1]
    .data
    .to_value();
    assert_eq!(mr["milestone_id"], 731038);
    assert_eq!(mr["assignees"], json!(["patrickbajao"]));
    assert_eq!(mr["draft"], true);
    // The project is read once however many streams need it.
    let reads = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/api/v4/projects/acme%2Fwidgets")
        .count();
    assert_eq!(reads, 1);
}

#[tokio::test]
async fn merge_requests_resume_from_the_cursor_oldest_change_first() {
    let server = server_with_project().await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/merge_requests")))
        .and(query_param("per_page", "100"))
        .and(query_param("state", "all"))
        .and(query_param("order_by", "updated_at"))
        .and(query_param("sort", "asc"))
        .and(query_param("updated_after", "2024-03-01T10:00:00Z"))
        .respond_with(json_page(json!([
            mr(1, 1, "2024-03-01T10:00:00.000Z"),
            mr(2, 2, "2024-03-02T11:00:00.250Z"),
        ])))
        .mount(&server)
        .await;
    let connector = gitlab(&server.uri());
    let ctx = context(&connector);
    let options =
        options_with_state(&[("acme/widgets/merge_request", json!("2024-03-01T10:00:00Z"))]);
    let items = drain_ok(
        connector.connector.as_ref(),
        &ctx,
        &stream("merge_request"),
        &options,
    )
    .await;
    assert_eq!(
        shape(&items),
        [
            "r:mr-1",
            "r:mr-2",
            "c:{\"ids\":[\"2\"],\"time\":\"2024-03-02T11:00:00.250Z\"}"
        ]
    );
}

/// An offset-paged answer, as GitLab gives it: page numbers beside `Link`.
fn offset_page(body: Value, page: u32, next: Option<u32>) -> ResponseTemplate {
    json_page(body)
        .insert_header("x-page", page.to_string().as_str())
        .insert_header(
            "x-next-page",
            next.map(|n| n.to_string()).unwrap_or_default().as_str(),
        )
}

#[tokio::test]
async fn an_offset_answer_to_a_keyset_request_is_requeried_from_its_newest_time() {
    // GitLab before 18.3 ignores `pagination=keyset` on issues and pages by offset.
    let server = server_with_project().await;
    let listing = format!("{BASE}/issues");
    Mock::given(method("GET"))
        .and(path(&listing))
        .and(query_param("pagination", "keyset"))
        .and(query_param_is_missing("updated_after"))
        .respond_with(offset_page(
            json!([
                issue(1, 1, "2024-03-01T00:00:00Z"),
                issue(2, 2, "2024-03-02T00:00:00Z")
            ]),
            1,
            Some(2),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&listing))
        .and(query_param("updated_after", "2024-03-02T00:00:00Z"))
        .respond_with(offset_page(
            json!([
                issue(2, 2, "2024-03-02T00:00:00Z"),
                issue(3, 3, "2024-03-03T00:00:00Z")
            ]),
            1,
            None,
        ))
        .mount(&server)
        .await;
    let items = issue_stream(&server, &SyncOptions::default()).await;
    assert_eq!(shape(&items), THREE_ISSUES_IN_TWO_PAGES);
}

#[tokio::test]
async fn keyset_pages_of_issues_are_followed_by_their_cursor_without_requerying() {
    let server = server_with_project().await;
    let listing = format!("{BASE}/issues");
    // The next link names the instance's external host; its cursor is asked of gwi's own.
    Mock::given(method("GET"))
        .and(path(&listing))
        .and(query_param("pagination", "keyset"))
        .and(query_param("order_by", "updated_at"))
        .and(query_param("sort", "asc"))
        .and(query_param("updated_after", "2024-03-01T00:00:00Z"))
        .and(query_param_is_missing("cursor"))
        .respond_with(
            json_page(json!([
                issue(1, 1, "2024-03-01T00:00:00Z"),
                issue(2, 2, "2024-03-02T00:00:00Z")
            ]))
            .insert_header(
                "link",
                r#"<https://gitlab.internal/api/v4/projects/101/issues?cursor=c2Vjb25k&pagination=keyset>; rel="next""#,
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&listing))
        .and(query_param("cursor", "c2Vjb25k"))
        .and(query_param("updated_after", "2024-03-01T00:00:00Z"))
        .respond_with(json_page(json!([issue(3, 3, "2024-03-03T00:00:00Z")])))
        .expect(1)
        .mount(&server)
        .await;
    let options = options_with_state(&[("acme/widgets/issue", json!("2024-03-01T00:00:00Z"))]);
    let items = issue_stream(&server, &options).await;
    assert_eq!(shape(&items), THREE_ISSUES_IN_TWO_PAGES);
}

/// Issues 1 to 3 over two pages, each page checkpointed at its newest time.
const THREE_ISSUES_IN_TWO_PAGES: [&str; 5] = [
    "r:issue-1",
    "r:issue-2",
    "c:{\"ids\":[\"2\"],\"time\":\"2024-03-02T00:00:00Z\"}",
    "r:issue-3",
    "c:{\"ids\":[\"3\"],\"time\":\"2024-03-03T00:00:00Z\"}",
];

/// The `issue` stream of acme/widgets, read from `server`.
async fn issue_stream(server: &MockServer, options: &SyncOptions) -> Vec<SyncItem> {
    let connector = gitlab(&server.uri());
    drain_ok(
        connector.connector.as_ref(),
        &context(&connector),
        &stream("issue"),
        options,
    )
    .await
}

#[tokio::test]
async fn an_instance_refusing_keyset_pages_with_405_is_read_by_offset() {
    // GitLab 12.7 to 13.x answer a keyset request on a listing without keyset support so.
    let server = server_with_project().await;
    let listing = format!("{BASE}/issues");
    Mock::given(method("GET"))
        .and(path(&listing))
        .and(query_param("pagination", "keyset"))
        .respond_with(ResponseTemplate::new(405).set_body_json(
            json!({"error": "Keyset pagination is not yet available for this type of request"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&listing))
        .and(query_param_is_missing("pagination"))
        .respond_with(offset_page(
            json!([issue(1, 1, "2024-03-01T00:00:00Z")]),
            1,
            None,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let items = issue_stream(&server, &SyncOptions::default()).await;
    assert_eq!(ids(&items), ["issue-1"]);
}

#[tokio::test]
async fn a_feature_turned_off_since_the_facts_were_stored_is_walked_around() {
    // The note stream's facts say merge requests are on; they have been turned off since.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/merge_requests")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "403 Forbidden"})))
        .expect(1)
        .mount(&server)
        .await;
    serve(&server, &format!("{BASE}/issues"), json!([])).await;
    serve(
        &server,
        "/api/v4/projects/acme%2Fwidgets",
        with(
            &widgets(),
            json!({"merge_requests_access_level": "disabled"}),
        ),
    )
    .await;
    let connector = gitlab(&server.uri());
    let options = options_with_state(&[(
        "acme/widgets/note",
        json!({"cursor": "2024-03-01T00:00:00Z", "facts": widgets(),
               "facts_read_at": chrono::Utc::now().to_rfc3339()}),
    )]);
    let items = drain_ok(
        connector.connector.as_ref(),
        &context(&connector),
        &stream("note"),
        &options,
    )
    .await;
    let SyncItem::Checkpoint(kept) = items.last().expect("a checkpoint") else {
        panic!("{:?}", shape(&items))
    };
    assert_eq!(
        kept.cursor["facts"]["merge_requests_access_level"],
        "disabled"
    );
}

#[tokio::test]
async fn notes_come_through_changed_parents_and_each_kind_keeps_its_cursor() {
    let server = server_with_project().await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/merge_requests")))
        .and(query_param("updated_after", "2024-03-01T00:00:00Z"))
        .and(query_param("order_by", "updated_at"))
        .respond_with(json_page(json!([mr(10, 1, "2024-03-05T00:00:00Z")])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/merge_requests/1/notes")))
        .and(query_param("order_by", "updated_at"))
        .and(query_param("sort", "desc"))
        .respond_with(json_page(json!([
            note(101, "2024-03-05T00:00:00Z"),
            note(100, "2024-02-01T00:00:00Z")
        ])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/issues")))
        .and(query_param("updated_after", "2024-03-04T00:00:00Z"))
        .respond_with(json_page(json!([])))
        .mount(&server)
        .await;
    let connector = gitlab(&server.uri());
    let options = options_with_state(&[(
        "acme/widgets/note",
        json!({"merge_requests": "2024-03-01T00:00:00Z", "issues": "2024-03-04T00:00:00Z"}),
    )]);
    let items = drain_ok(
        connector.connector.as_ref(),
        &context(&connector),
        &stream("note"),
        &options,
    )
    .await;
    // The note older than the cursor was stored by an earlier run; the checkpoint follows the
    // notes of its parent.
    assert_eq!(ids(&items), ["note-101"]);
    assert!(matches!(items[0], SyncItem::Record(_)));
    assert_eq!(
        cursors(&items),
        [
            json!({"merge_requests": {"time": "2024-03-05T00:00:00Z", "ids": ["10"]},
                   "issues": "2024-03-04T00:00:00Z"}),
            json!({"merge_requests": {"time": "2024-03-05T00:00:00Z", "ids": ["10"]},
                   "issues": "2024-03-04T00:00:00Z"}),
        ]
    );
    let note = crate::support::records(&items)[0].data.to_value();
    assert_eq!(note["noteable_iid"], 1);
    assert_eq!(
        note["web_url"],
        "https://gitlab.example.com/acme/widgets/-/merge_requests/1#note_101"
    );
}

#[tokio::test]
async fn a_note_stream_that_fails_on_a_parents_notes_keeps_the_old_cursor() {
    let server = server_with_project().await;
    serve(
        &server,
        &format!("{BASE}/merge_requests"),
        json!([mr(10, 1, "2024-03-05T00:00:00Z")]),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/merge_requests/1/notes")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "404 Not found"})))
        .mount(&server)
        .await;
    let connector = gitlab(&server.uri());
    let (items, error) = drain(
        connector.connector.as_ref(),
        &context(&connector),
        &stream("note"),
        &SyncOptions::default(),
    )
    .await;
    assert!(error.is_some());
    assert!(cursors(&items).is_empty(), "{:?}", shape(&items));
}

#[tokio::test]
async fn commits_of_the_default_branch_are_read_newest_first_from_the_cursor() {
    let server = server_with_project().await;
    let commit = |sha: &str, at: &str| {
        json!({"id": sha, "short_id": &sha[..3], "title": "t", "message": "t\n", "author_name": "A",
               "author_email": "a@example.com", "authored_date": at, "committed_date": at,
               "created_at": at, "web_url": format!("https://gitlab.example.com/acme/widgets/-/commit/{sha}")})
    };
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/repository/commits")))
        .and(query_param("ref_name", "main"))
        .and(query_param("since", "2024-03-01T00:00:00Z"))
        .respond_with(json_page(json!([
            commit("bbb", "2024-03-03T00:00:00.000+02:00"),
            commit("aaa", "2024-03-01T00:00:00.000Z")
        ])))
        .mount(&server)
        .await;
    let connector = gitlab(&server.uri());
    let options = options_with_state(&[("acme/widgets/commit", json!("2024-03-01T00:00:00Z"))]);
    let items = drain_ok(
        connector.connector.as_ref(),
        &context(&connector),
        &stream("commit"),
        &options,
    )
    .await;
    assert_eq!(
        shape(&items),
        [
            "r:commit-101-bbb",
            "r:commit-101-aaa",
            "c:\"2024-03-01T00:00:00Z\"",
            "c:\"2024-03-02T22:00:00Z\""
        ]
    );
}

#[tokio::test]
async fn a_project_with_an_empty_repository_has_no_commits() {
    let server = MockServer::start().await;
    serve(
        &server,
        "/api/v4/projects/acme%2Fwidgets",
        with(&widgets(), json!({"default_branch": null})),
    )
    .await;
    let connector = gitlab(&server.uri());
    let items = drain_ok(
        connector.connector.as_ref(),
        &context(&connector),
        &stream("commit"),
        &SyncOptions::default(),
    )
    .await;
    // No commit, no cursor: only what was learned of the project is kept.
    assert_eq!(shape(&items), ["c:null"]);
    let SyncItem::Checkpoint(kept) = &items[0] else {
        panic!("{:?}", shape(&items))
    };
    assert_eq!(kept.cursor["facts"]["default_branch"], Value::Null);
}

/// Every listing of a project answering nothing new.
async fn serve_unchanged(server: &MockServer, base: &str) {
    for listing in [
        "merge_requests",
        "issues",
        "pipelines",
        "repository/commits",
    ] {
        serve(server, &format!("{base}/{listing}"), json!([])).await;
    }
}

#[tokio::test]
async fn groups_are_listed_with_their_subgroups_at_sync_start_and_each_project_synced() {
    let server = server_with_project().await;
    serve_unchanged(&server, BASE).await;
    let group_projects = json!([
        {"id": 102, "path_with_namespace": "acme-platform/api", "default_branch": "main"},
        {"id": 103, "path_with_namespace": "acme-platform/tools/cli", "default_branch": "main"},
        // Also configured on its own: synced once, under its configured name.
        {"id": 101, "path_with_namespace": "acme/widgets", "default_branch": "main"},
    ]);
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/acme-platform/projects"))
        .and(query_param("include_subgroups", "true"))
        .and(query_param("per_page", "100"))
        .respond_with(json_page(group_projects))
        .mount(&server)
        .await;
    for id in [102, 103] {
        serve_unchanged(&server, &format!("/api/v4/projects/{id}")).await;
    }
    let connector = gitlab_with(gitlab_config(
        &server.uri(),
        &["acme/widgets"],
        json!({"groups": ["acme-platform"], "types": ["merge_request", "commit"]}),
    ));
    assert_eq!(
        connector.streams(&SyncOptions::default()).unwrap().len(),
        2,
        "before a sync only the configured projects are known"
    );
    serve(
        &server,
        "/api/v4/user",
        json!({"id": 1, "username": "root"}),
    )
    .await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let result = SyncEngine::new(connector.connector.clone(), context(&connector), store)
        .run(SyncOptions::default())
        .await
        .unwrap();
    let streams: Vec<&str> = result.streams.keys().map(String::as_str).collect();
    assert_eq!(
        streams,
        [
            "acme-platform/api/commit",
            "acme-platform/api/merge_request",
            "acme-platform/tools/cli/commit",
            "acme-platform/tools/cli/merge_request",
            "acme/widgets/commit",
            "acme/widgets/merge_request",
        ]
    );
    // Group projects come with their id and default branch: no project read for them.
    let requests = server.received_requests().await.unwrap();
    assert!(
        !requests
            .iter()
            .any(|r| r.url.path().starts_with("/api/v4/projects/acme-platform"))
    );
}

#[tokio::test]
async fn an_unchanged_project_costs_one_request_per_stream() {
    let server = server_with_project().await;
    serve_unchanged(&server, BASE).await;
    serve(
        &server,
        "/api/v4/user",
        json!({"id": 1, "username": "root"}),
    )
    .await;
    let connector = gitlab(&server.uri());
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let engine = SyncEngine::new(connector.connector.clone(), context(&connector), store);
    let first = engine.run(SyncOptions::default()).await.unwrap();
    assert_eq!(first.streams.len(), 5);
    // `/user`, the project and four listings: the note stream's merge request and issue
    // listings are the answers those streams got.
    assert_eq!(server.received_requests().await.unwrap().len(), 1 + 1 + 4);
    server.reset().await;
    serve_unchanged(&server, BASE).await;
    serve(
        &server,
        "/api/v4/user",
        json!({"id": 1, "username": "root"}),
    )
    .await;
    engine.run(SyncOptions::default()).await.unwrap();
    // The project's settings come from the stored cursors now.
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(paths.len(), 1 + 4, "{paths:?}");
    assert!(
        !paths.iter().any(|p| p.ends_with("acme%2Fwidgets")),
        "{paths:?}"
    );
}

/// A `commit` stream's stored cursor with facts about acme/widgets read `read_at`.
fn with_facts(cursor: Value, facts: Value, read_at: &str) -> SyncOptions {
    options_with_state(&[(
        "acme/widgets/commit",
        json!({"cursor": cursor, "facts": facts, "facts_read_at": read_at}),
    )])
}

#[tokio::test]
async fn stored_project_facts_are_used_until_an_hour_old() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/repository/commits")))
        .and(query_param("ref_name", "trunk"))
        .respond_with(json_page(json!([])))
        .mount(&server)
        .await;
    let connector = gitlab(&server.uri());
    let facts = with(&widgets(), json!({"default_branch": "trunk"}));
    let recent = (chrono::Utc::now() - chrono::TimeDelta::minutes(59)).to_rfc3339();
    let options = with_facts(json!("2024-03-01T00:00:00Z"), facts.clone(), &recent);
    let items = drain_ok(
        connector.connector.as_ref(),
        &context(&connector),
        &stream("commit"),
        &options,
    )
    .await;
    // One request, on the stored branch; the facts keep their age.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    for item in &items {
        let SyncItem::Checkpoint(kept) = item else {
            panic!("{:?}", shape(&items))
        };
        assert_eq!(kept.cursor["facts"]["default_branch"], "trunk");
        assert_eq!(
            chrono::DateTime::parse_from_rfc3339(kept.cursor["facts_read_at"].as_str().unwrap())
                .unwrap(),
            chrono::DateTime::parse_from_rfc3339(&recent).unwrap()
        );
    }

    // An hour later they are read again (the branch is `main` now) and stored anew.
    serve(&server, "/api/v4/projects/acme%2Fwidgets", widgets()).await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/repository/commits")))
        .and(query_param("ref_name", "main"))
        .respond_with(json_page(json!([])))
        .mount(&server)
        .await;
    let stale = (chrono::Utc::now() - chrono::TimeDelta::minutes(61)).to_rfc3339();
    let options = with_facts(json!("2024-03-01T00:00:00Z"), facts, &stale);
    let connector = gitlab(&server.uri());
    let items = drain_ok(
        connector.connector.as_ref(),
        &context(&connector),
        &stream("commit"),
        &options,
    )
    .await;
    let SyncItem::Checkpoint(kept) = items.last().expect("a checkpoint") else {
        panic!("{:?}", shape(&items))
    };
    assert_eq!(stream_cursor(&kept.cursor), "2024-03-01T00:00:00Z");
    assert_eq!(kept.cursor["facts"]["default_branch"], "main");
}

#[tokio::test]
async fn a_feature_turned_off_since_the_facts_were_stored_ends_the_stream_quietly() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/repository/commits")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "403 Forbidden"})))
        .mount(&server)
        .await;
    serve(
        &server,
        "/api/v4/projects/acme%2Fwidgets",
        with(&widgets(), json!({"repository_access_level": "disabled"})),
    )
    .await;
    let connector = gitlab(&server.uri());
    let now = chrono::Utc::now().to_rfc3339();
    let options = with_facts(json!("2024-03-01T00:00:00Z"), widgets(), &now);
    let items = drain_ok(
        connector.connector.as_ref(),
        &context(&connector),
        &stream("commit"),
        &options,
    )
    .await;
    assert_eq!(shape(&items), ["c:\"2024-03-01T00:00:00Z\""]);
    let SyncItem::Checkpoint(kept) = &items[0] else {
        unreachable!()
    };
    assert_eq!(kept.cursor["facts"]["repository_access_level"], "disabled");

    // A 403 the project's settings do not explain stays an error.
    let connector = gitlab(&server.uri());
    let options = with_facts(json!(null), widgets(), &now);
    server.reset().await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/repository/commits")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "403 Forbidden"})))
        .mount(&server)
        .await;
    serve(&server, "/api/v4/projects/acme%2Fwidgets", widgets()).await;
    let (_, error) = drain(
        connector.connector.as_ref(),
        &context(&connector),
        &stream("commit"),
        &options,
    )
    .await;
    let error = error.expect("an error");
    assert!(error.to_string().contains("403"), "{error}");
}

#[tokio::test]
async fn an_insufficient_scope_refusal_names_read_api() {
    let server = server_with_project().await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/pipelines")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error": "insufficient_scope",
            "error_description": "The request requires higher privileges than provided by the access token.",
            "scope": "read_api",
        })))
        .mount(&server)
        .await;
    let connector = gitlab(&server.uri());
    let (_, error) = drain(
        connector.connector.as_ref(),
        &context(&connector),
        &stream("pipeline"),
        &SyncOptions::default(),
    )
    .await;
    let error = error.expect("a 403 fails the stream");
    assert_eq!(error.kind(), "authentication");
    let text = error.to_string();
    assert!(
        text.contains("the token needs the read_api scope"),
        "{text}"
    );
    assert!(text.contains("need these scopes: read_api"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
}

#[tokio::test]
async fn a_refused_token_is_called_invalid_and_not_shown() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "401 Unauthorized"})),
        )
        .mount(&server)
        .await;
    let connector = gitlab(&server.uri());
    let error = connector
        .authenticate(&context(&connector))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "authentication");
    let text = error.to_string();
    assert!(text.contains("invalid, expired or revoked"), "{text}");
    assert!(text.contains("401 Unauthorized"), "{text}");
    assert!(!format!("{text} {error:?}").contains(TOKEN));
}

#[tokio::test]
async fn a_missing_project_or_group_is_named() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/projects/acme%2Fwidgets"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"message": "404 Project Not Found"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/ghosts/projects"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"message": "404 Group Not Found"})),
        )
        .mount(&server)
        .await;
    let connector = gitlab(&server.uri());
    let ctx = context(&connector);
    let (_, error) = drain(
        connector.connector.as_ref(),
        &ctx,
        &stream("issue"),
        &SyncOptions::default(),
    )
    .await;
    let text = error.expect("a 404 fails the stream").to_string();
    assert!(
        text.contains("project acme/widgets does not exist"),
        "{text}"
    );
    assert!(text.contains("404 Project Not Found"), "{text}");

    let grouped = gitlab_with(gitlab_config(
        &server.uri(),
        &[],
        json!({"groups": ["ghosts"]}),
    ));
    let text = grouped
        .on_before_sync(&context(&grouped), &SyncOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("group ghosts (groups[0]) does not exist"),
        "{text}"
    );
}

#[tokio::test]
async fn a_plain_text_429_is_waited_out_and_retried() {
    let server = server_with_project().await;
    let listing = format!("{BASE}/pipelines");
    Mock::given(method("GET"))
        .and(path(&listing))
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_string("Retry later\n")
                .insert_header("content-type", "text/plain")
                .insert_header("retry-after", "1")
                .insert_header("ratelimit-remaining", "0")
                .insert_header("ratelimit-limit", "2000"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    serve(&server, &listing, fixture("rest", "pipelines_list")).await;
    let connector = gitlab(&server.uri());
    let started = std::time::Instant::now();
    let items = drain_ok(
        connector.connector.as_ref(),
        &context(&connector),
        &stream("pipeline"),
        &SyncOptions::default(),
    )
    .await;
    assert_eq!(ids(&items), ["pipeline-47", "pipeline-48"]);
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
}

#[tokio::test]
async fn the_health_check_reads_user_version_and_rate_limit_headroom() {
    let server = MockServer::start().await;
    serve(
        &server,
        "/api/v4/user",
        json!({"id": 1, "username": "root"}),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/version"))
        .respond_with(
            json_page(json!({"version": "17.6.0", "revision": "abc"}))
                .insert_header("ratelimit-limit", "2000")
                .insert_header("ratelimit-remaining", "1500"),
        )
        .mount(&server)
        .await;
    let connector = gitlab(&server.uri());
    let health = connector.health_check(&context(&connector)).await;
    let names: Vec<&str> = health.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["auth_valid", "api_reachable", "rate_limit_ok"]);
    assert!(health.checks.iter().all(|c| c.status == CheckStatus::Pass));
    assert_eq!(health.checks[0].metadata["identity"], "root");
    assert_eq!(health.checks[2].metadata["used_percent"], 25.0);
}

#[test]
fn config_errors_name_the_field() {
    let registry = gwi_connectors::registry();
    let bad = [
        (
            gitlab_config("https://gitlab.example.com/api/v4", &["a/b"], json!({})),
            "base_url",
        ),
        (
            gitlab_config("https://gitlab.com", &["widgets"], json!({})),
            "projects[0]",
        ),
        (
            gitlab_config("https://gitlab.com", &["a/b"], json!({"groups": ["a b"]})),
            "groups[0]",
        ),
        (
            gitlab_config("https://gitlab.com", &["a/b"], json!({"types": ["wiki"]})),
            "types[0]",
        ),
        (
            gitlab_config(
                "https://gitlab.com",
                &["a/b"],
                json!({"repositories": ["a/b"]}),
            ),
            "repositories",
        ),
        (
            gitlab_config(
                "https://gitlab.com",
                &["a/b"],
                json!({"auth": {"type": "api_key", "key": "glpat-x"}}),
            ),
            "auth.header: GitLab reads an API key from the PRIVATE-TOKEN header",
        ),
        (
            gitlab_config(
                "https://gitlab.com",
                &["a/b"],
                json!({"auth": {"type": "api_key", "key": "glpat-x", "query_param": "token"}}),
            ),
            "auth.query_param",
        ),
        (
            gitlab_config(
                "https://gitlab.com",
                &["a/b"],
                json!({"groups": ["acme", "4711"], "webhook_secret": "hook-token"}),
            ),
            "groups[1]: webhooks name a project by its path only",
        ),
    ];
    for (config, field) in bad {
        let Err(error) = registry.build("gitlab", config) else {
            panic!("a config with a bad {field} was accepted");
        };
        assert_eq!(error.kind(), "config", "{field}");
        assert!(error.to_string().contains(field), "{field}: {error}");
        assert!(!error.to_string().contains("glpat-x"), "{error}");
    }
    let good = [
        json!({"auth": {"type": "api_key", "key": "glpat-x", "header": "PRIVATE-TOKEN"}}),
        json!({"auth": {"type": "api_key", "key": "glpat-x", "query_param": "private_token"}}),
        // Without webhooks a group's numeric id is fine: a sync lists its projects.
        json!({"groups": ["4711"]}),
    ];
    for extra in good {
        let config = gitlab_config("https://gitlab.com", &["a/b"], extra.clone());
        assert!(registry.build("gitlab", config).is_ok(), "{extra}");
    }
}

#[tokio::test]
async fn oauth2_refreshes_at_the_instances_token_endpoint_and_sends_the_new_access_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(wiremock::matchers::body_string_contains(
            "grant_type=refresh_token",
        ))
        .and(wiremock::matchers::body_string_contains(
            "refresh_token=glrt-granted-by-the-user",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "gloas-access-from-refresh",
            "token_type": "Bearer",
            // GitLab's access tokens last two hours, and each refresh rotates the refresh token.
            "expires_in": 7200,
            "refresh_token": "glrt-rotated",
            "created_at": 1_700_000_000,
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/user"))
        .and(header("authorization", "Bearer gloas-access-from-refresh"))
        .respond_with(json_page(json!({"id": 1, "username": "root"})))
        .expect(2)
        .mount(&server)
        .await;
    let config = gitlab_config(
        &server.uri(),
        &["acme/widgets"],
        json!({"auth": {
            "type": "oauth2",
            "token_url": format!("{}/oauth/token", server.uri()),
            "client_id": "gwi-app",
            "client_secret": "gloas-app-secret",
            "refresh_token": "glrt-granted-by-the-user",
        }}),
    );
    let connector = gitlab_with(config);
    let ctx = context(&connector);
    // Twice: the second call reuses the access token, which is good for two hours.
    for _ in 0..2 {
        let info = connector.authenticate(&ctx).await.unwrap();
        assert!(
            !format!("{info:?}").contains("gloas-access-from-refresh"),
            "{info:?}"
        );
    }
}

#[tokio::test]
async fn a_finished_pipeline_is_read_once_more_for_the_duration_listings_leave_out() {
    let server = server_with_project().await;
    let listed = |id: u64, status: &str| {
        json!({"id": id, "iid": id - 40, "project_id": 101, "status": status, "source": "push",
               "ref": "main", "sha": "a91957a858320c0e17f3a0eca7cfacbff50ea29a",
               "web_url": format!("https://gitlab.example.com/acme/widgets/-/pipelines/{id}"),
               "created_at": "2024-03-01T10:00:00.000Z", "updated_at": "2024-03-01T10:05:00.000Z"})
    };
    serve(
        &server,
        &format!("{BASE}/pipelines"),
        json!([listed(47, "success"), listed(48, "running")]),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/pipelines/47")))
        .respond_with(json_page(with(
            &listed(47, "success"),
            json!({"duration": 63, "started_at": "2024-03-01T10:01:00.000Z",
                   "finished_at": "2024-03-01T10:02:03.000Z"}),
        )))
        .expect(1)
        .mount(&server)
        .await;
    // A running pipeline has no duration yet: no request for it.
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/pipelines/48")))
        .respond_with(json_page(listed(48, "running")))
        .expect(0)
        .mount(&server)
        .await;
    let connector = gitlab(&server.uri());
    let items = drain_ok(
        connector.connector.as_ref(),
        &context(&connector),
        &stream("pipeline"),
        &SyncOptions::default(),
    )
    .await;
    let records = crate::support::records(&items);
    assert_eq!(ids(&items), ["pipeline-47", "pipeline-48"]);
    assert_eq!(records[0].data.to_value()["duration"], 63);
    assert_eq!(records[1].data.to_value()["duration"], Value::Null);
    assert_eq!(
        cursors(&items).last(),
        Some(&json!({"time": "2024-03-01T10:05:00Z", "ids": ["47", "48"]}))
    );
}

#[tokio::test]
async fn pages_follow_x_next_page_on_the_address_gwi_uses_whatever_link_says() {
    let server = server_with_project().await;
    let listing = format!("{BASE}/pipelines");
    // The instance's configured external URL, which gwi does not reach it at.
    let elsewhere =
        format!("<https://gitlab.internal.example{listing}?page=2&per_page=100>; rel=\"next\"");
    let pipeline = |id: u64, updated: &str| {
        json!({"id": id, "status": "running", "ref": "main", "sha": "a91957a8",
               "created_at": updated, "updated_at": updated})
    };
    Mock::given(method("GET"))
        .and(path(&listing))
        .and(query_param("page", "2"))
        .respond_with(
            json_page(json!([pipeline(2, "2024-03-02T00:00:00Z")]))
                .insert_header("x-next-page", ""),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&listing))
        .respond_with(
            json_page(json!([pipeline(1, "2024-03-01T00:00:00Z")]))
                .insert_header("x-next-page", "2")
                .insert_header("link", elsewhere.as_str()),
        )
        .mount(&server)
        .await;
    let connector = gitlab(&server.uri());
    let items = drain_ok(
        connector.connector.as_ref(),
        &context(&connector),
        &stream("pipeline"),
        &SyncOptions::default(),
    )
    .await;
    assert_eq!(ids(&items), ["pipeline-1", "pipeline-2"]);
}

#[tokio::test]
async fn features_a_project_turned_off_are_not_read() {
    let server = MockServer::start().await;
    serve(
        &server,
        "/api/v4/projects/acme%2Fwidgets",
        with(
            &widgets(),
            json!({"merge_requests_access_level": "disabled", "builds_access_level": "disabled",
                   "issues_access_level": "private"}),
        ),
    )
    .await;
    // GitLab answers 403 for the listings of a feature that is off.
    for listing in ["merge_requests", "pipelines"] {
        Mock::given(method("GET"))
            .and(path(format!("{BASE}/{listing}")))
            .respond_with(
                ResponseTemplate::new(403).set_body_json(json!({"message": "403 Forbidden"})),
            )
            .expect(0)
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/issues")))
        .respond_with(json_page(json!([issue(5, 1, "2024-03-01T00:00:00Z")])))
        .mount(&server)
        .await;
    serve(
        &server,
        &format!("{BASE}/issues/1/notes"),
        json!([note(50, "2024-03-01T00:00:00Z")]),
    )
    .await;
    let connector = gitlab(&server.uri());
    let ctx = context(&connector);
    for (record_type, expected) in [
        ("merge_request", &[][..]),
        ("pipeline", &[][..]),
        ("issue", &["issue-5"][..]),
        ("note", &["note-50"][..]),
    ] {
        let items = drain_ok(
            connector.connector.as_ref(),
            &ctx,
            &stream(record_type),
            &SyncOptions::default(),
        )
        .await;
        assert_eq!(ids(&items), expected, "{record_type}");
    }
}
