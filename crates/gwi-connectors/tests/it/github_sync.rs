//! GitHub sync against wiremock: REST-shaped pages with `Link` headers, cursors and checkpoints.

use gwi_core::health::CheckStatus;
use gwi_core::stream::{StreamDescriptor, SyncOptions};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const REPO: &str = "/repos/acme/widgets";

/// A pull request list item (from a real payload) with the given identity and time.
pub fn pull(id: u64, number: u64, updated_at: &str) -> Value {
    let base = fixture("pull_request", "opened")["pull_request"].clone();
    with(
        &base,
        json!({
            "id": id,
            "number": number,
            "updated_at": updated_at,
            "url": format!("https://api.github.com/repos/acme/widgets/pulls/{number}"),
        }),
    )
}

/// An issue list item (from a real payload).
pub fn issue(id: u64, number: u64, updated_at: &str) -> Value {
    let base = fixture("issues", "opened")["issue"].clone();
    with(
        &base,
        json!({"id": id, "number": number, "updated_at": updated_at}),
    )
}

/// An issues-API item that is really a pull request.
fn pull_as_issue(id: u64, number: u64, updated_at: &str) -> Value {
    with(
        &issue(id, number, updated_at),
        json!({"pull_request": {"url": format!("https://api.github.com/repos/acme/widgets/pulls/{number}")}}),
    )
}

fn issue_comment(id: u64, updated_at: &str) -> Value {
    let base = fixture("issue_comment", "created")["comment"].clone();
    with(&base, json!({"id": id, "updated_at": updated_at}))
}

fn review_comment(id: u64, updated_at: &str) -> Value {
    let base = fixture("pull_request_review_comment", "created")["comment"].clone();
    with(&base, json!({"id": id, "updated_at": updated_at}))
}

fn review(id: u64, state: &str) -> Value {
    let base = fixture("pull_request_review", "submitted")["review"].clone();
    with(&base, json!({"id": id, "state": state}))
}

fn run(id: u64, created_at: &str, status: &str) -> Value {
    let base = fixture("workflow_run", "completed")["workflow_run"].clone();
    with(
        &base,
        json!({"id": id, "created_at": created_at, "updated_at": created_at, "status": status}),
    )
}

/// A REST commit as `GET /repos/{owner}/{repo}/commits` lists it.
pub fn commit(sha: &str, committed_at: &str) -> Value {
    json!({
        "sha": sha,
        "node_id": "C_kwDOAAAB",
        "commit": {
            "author": {"name": "Monalisa Octocat", "email": "support@github.com", "date": "2011-04-14T16:00:49Z"},
            "committer": {"name": "Monalisa Octocat", "email": "support@github.com", "date": committed_at},
            "message": "Fix all the bugs",
            "comment_count": 0,
        },
        "author": {"login": "octocat", "id": 1},
        "committer": null,
        "parents": [{"sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e"}],
        "url": format!("https://api.github.com/repos/acme/widgets/commits/{sha}"),
        "html_url": format!("https://github.com/acme/widgets/commit/{sha}"),
    })
}

/// A `Link` header pointing at `page` of `path` on `server`, GitHub style.
fn next_link(server: &MockServer, path: &str, page: u32) -> String {
    format!(
        "<{}{path}?per_page=100&page={page}>; rel=\"next\", <{}{path}?per_page=100&page=9>; rel=\"last\"",
        server.uri(),
        server.uri()
    )
}

fn json_page(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn stream(record_type: &str) -> StreamDescriptor {
    StreamDescriptor::new("acme/widgets", record_type)
}

#[tokio::test]
async fn pull_requests_follow_link_headers_and_advance_the_cursor_only_at_the_end() {
    let server = MockServer::start().await;
    let pulls = format!("{REPO}/pulls");
    Mock::given(method("GET"))
        .and(path(&pulls))
        .and(query_param_is_missing("page"))
        .and(query_param("per_page", "100"))
        .and(query_param("state", "all"))
        .and(query_param("sort", "updated"))
        .and(query_param("direction", "desc"))
        .and(header("accept", "application/vnd.github+json"))
        .and(header("x-github-api-version", "2022-11-28"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(
            json_page(json!([
                pull(3, 30, "2024-03-03T00:00:00Z"),
                pull(2, 20, "2024-03-02T00:00:00Z")
            ]))
            .insert_header("link", next_link(&server, &pulls, 2)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&pulls))
        .and(query_param("page", "2"))
        .and(header("x-github-api-version", "2022-11-28"))
        .respond_with(json_page(json!([pull(1, 10, "2024-03-01T00:00:00Z")])))
        .expect(1)
        .mount(&server)
        .await;

    let github = github(&server.uri());
    let ctx = context(&github);
    let items = drain_ok(
        github.as_ref(),
        &ctx,
        &stream("pull_request"),
        &SyncOptions::default(),
    )
    .await;

    assert_eq!(
        shape(&items),
        [
            "r:pr-3",
            "r:pr-2",
            "c:null",
            "r:pr-1",
            "c:null",
            "c:\"2024-03-03T00:00:00Z\""
        ]
    );
    let first = records(&items)[0];
    assert_eq!(first.record_type, "pull_request");
    assert_eq!(first.data.to_value()["number"], 30);
    assert_eq!(first.data.to_value()["repository"], "acme/widgets");
}

#[tokio::test]
async fn pull_requests_stop_paginating_at_the_stored_cursor() {
    let server = MockServer::start().await;
    let pulls = format!("{REPO}/pulls");
    Mock::given(method("GET"))
        .and(path(&pulls))
        .and(query_param_is_missing("page"))
        .respond_with(
            json_page(json!([
                pull(3, 30, "2024-03-03T00:00:00Z"),
                pull(2, 20, "2024-03-02T00:00:00Z"),
                pull(1, 10, "2024-03-01T00:00:00Z")
            ]))
            .insert_header("link", next_link(&server, &pulls, 2)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&pulls))
        .and(query_param("page", "2"))
        .respond_with(json_page(json!([])))
        .expect(0)
        .mount(&server)
        .await;

    let github = github(&server.uri());
    let ctx = context(&github);
    let options =
        options_with_state(&[("acme/widgets/pull_request", json!("2024-03-02T00:00:00Z"))]);
    let items = drain_ok(github.as_ref(), &ctx, &stream("pull_request"), &options).await;

    // The pull request at the cursor comes again (inclusive, like GitHub's `since`).
    assert_eq!(
        shape(&items),
        ["r:pr-3", "r:pr-2", "c:\"2024-03-03T00:00:00Z\""]
    );
}

#[tokio::test]
async fn an_interrupted_pull_request_sync_keeps_the_old_cursor() {
    let server = MockServer::start().await;
    let pulls = format!("{REPO}/pulls");
    Mock::given(method("GET"))
        .and(path(&pulls))
        .and(query_param_is_missing("page"))
        .respond_with(
            json_page(json!([
                pull(3, 30, "2024-03-03T00:00:00Z"),
                pull(2, 20, "2024-03-02T00:00:00Z")
            ]))
            .insert_header("link", next_link(&server, &pulls, 2)),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&pulls))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&server)
        .await;

    let github = github(&server.uri());
    let ctx = context(&github);
    let options =
        options_with_state(&[("acme/widgets/pull_request", json!("2024-01-01T00:00:00Z"))]);
    let (items, error) = drain(github.as_ref(), &ctx, &stream("pull_request"), &options).await;

    assert_eq!(
        shape(&items),
        ["r:pr-3", "r:pr-2", "c:\"2024-01-01T00:00:00Z\""]
    );
    assert_eq!(error.map(|e| e.kind()), Some("api"));
}

#[tokio::test]
async fn issues_resume_from_since_requery_from_each_pages_newest_and_skip_pull_requests() {
    let server = MockServer::start().await;
    let issues = format!("{REPO}/issues");
    Mock::given(method("GET"))
        .and(path(&issues))
        .and(query_param_is_missing("page"))
        .and(query_param("since", "2024-01-01T00:00:00Z"))
        .and(query_param("state", "all"))
        .and(query_param("sort", "updated"))
        .and(query_param("direction", "asc"))
        .and(query_param("per_page", "100"))
        .respond_with(
            json_page(json!([
                issue(10, 1, "2024-01-02T00:00:00Z"),
                pull_as_issue(11, 2, "2024-01-03T00:00:00Z")
            ]))
            .insert_header("link", next_link(&server, &issues, 2)),
        )
        .expect(1)
        .mount(&server)
        .await;
    // GitHub pages issues by number, so the next page is a new query from the newest time read
    // (an issue changed meanwhile cannot shift an unread one onto page 1); what that query
    // lists again at the boundary is not yielded twice.
    Mock::given(method("GET"))
        .and(path(&issues))
        .and(query_param_is_missing("page"))
        .and(query_param("since", "2024-01-03T00:00:00Z"))
        .respond_with(json_page(json!([
            pull_as_issue(11, 2, "2024-01-03T00:00:00Z"),
            issue(12, 3, "2024-01-04T00:00:00Z")
        ])))
        .expect(1)
        .mount(&server)
        .await;

    let github = github(&server.uri());
    let ctx = context(&github);
    let options = options_with_state(&[("acme/widgets/issue", json!("2024-01-01T00:00:00Z"))]);
    let items = drain_ok(github.as_ref(), &ctx, &stream("issue"), &options).await;

    assert_eq!(
        shape(&items),
        [
            "r:issue-10",
            // The pull request read at that time counts too: the listing holds both.
            "c:{\"ids\":[\"11\"],\"time\":\"2024-01-03T00:00:00Z\"}",
            "r:issue-12",
            "c:{\"ids\":[\"12\"],\"time\":\"2024-01-04T00:00:00Z\"}"
        ]
    );
}

#[tokio::test]
async fn start_cursor_applies_to_streams_without_stored_state() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/issues")))
        .and(query_param("since", "2023-06-01T00:00:00Z"))
        .respond_with(json_page(json!([])))
        .expect(1)
        .mount(&server)
        .await;

    let github = github(&server.uri());
    let ctx = context(&github);
    let options = SyncOptions {
        start_cursor: Some("2023-06-01T00:00:00Z".into()),
        ..Default::default()
    };
    let items = drain_ok(github.as_ref(), &ctx, &stream("issue"), &options).await;
    assert!(ids(&items).is_empty());
}

#[tokio::test]
async fn comments_read_both_endpoints_each_from_its_own_cursor() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/issues/comments")))
        .and(query_param("since", "2024-01-01T00:00:00Z"))
        .and(query_param("sort", "updated"))
        .and(query_param("direction", "asc"))
        .respond_with(json_page(json!([issue_comment(1, "2024-01-05T00:00:00Z")])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/pulls/comments")))
        .and(query_param("since", "2024-02-01T00:00:00Z"))
        .respond_with(json_page(json!([review_comment(
            2,
            "2024-02-03T00:00:00Z"
        )])))
        .expect(1)
        .mount(&server)
        .await;

    let github = github(&server.uri());
    let ctx = context(&github);
    let options = options_with_state(&[(
        "acme/widgets/comment",
        json!({"issue_comments": "2024-01-01T00:00:00Z", "review_comments": "2024-02-01T00:00:00Z"}),
    )]);
    let items = drain_ok(github.as_ref(), &ctx, &stream("comment"), &options).await;

    assert_eq!(ids(&items), ["issue-comment-1", "review-comment-2"]);
    assert_eq!(
        cursors(&items),
        [
            // Each mark names the comments read at its time, which the next run skips.
            json!({"issue_comments": {"time": "2024-01-05T00:00:00Z", "ids": ["1"]},
                   "review_comments": "2024-02-01T00:00:00Z"}),
            json!({"issue_comments": {"time": "2024-01-05T00:00:00Z", "ids": ["1"]},
                   "review_comments": {"time": "2024-02-03T00:00:00Z", "ids": ["2"]}}),
        ]
    );
    let rc = records(&items)[1];
    assert_eq!(rc.record_type, "comment");
    assert_eq!(rc.data.to_value()["kind"], "review_comment");
}

#[tokio::test]
async fn reviews_are_fetched_only_for_pull_requests_updated_since_the_cursor() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/pulls")))
        .and(query_param("direction", "desc"))
        .respond_with(json_page(json!([
            pull(30, 3, "2024-03-05T00:00:00Z"),
            pull(20, 2, "2024-03-01T00:00:00Z")
        ])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/pulls/3/reviews")))
        .and(query_param("per_page", "100"))
        .respond_with(json_page(json!([review(300, "APPROVED")])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/pulls/2/reviews")))
        .respond_with(json_page(json!([review(200, "APPROVED")])))
        .expect(0)
        .mount(&server)
        .await;

    let github = github(&server.uri());
    let ctx = context(&github);
    let options = options_with_state(&[("acme/widgets/review", json!("2024-03-02T00:00:00Z"))]);
    let items = drain_ok(github.as_ref(), &ctx, &stream("review"), &options).await;

    assert_eq!(
        shape(&items),
        ["r:review-300", "c:\"2024-03-05T00:00:00Z\""]
    );
    let review = records(&items)[0];
    assert_eq!(review.data.to_value()["state"], "approved");
    assert_eq!(
        review.updated_at.to_rfc3339(),
        "2024-03-05T00:00:00+00:00",
        "a review's updated_at follows its pull request"
    );
}

#[tokio::test]
async fn commits_resume_from_since_and_advance_to_the_newest_commit_date() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/commits")))
        .and(query_param("since", "2024-01-01T00:00:00Z"))
        .respond_with(json_page(json!([
            commit("bbb", "2024-01-03T00:00:00Z"),
            commit("aaa", "2024-01-02T00:00:00Z")
        ])))
        .expect(1)
        .mount(&server)
        .await;

    let github = github(&server.uri());
    let ctx = context(&github);
    let options = options_with_state(&[("acme/widgets/commit", json!("2024-01-01T00:00:00Z"))]);
    let items = drain_ok(github.as_ref(), &ctx, &stream("commit"), &options).await;

    assert_eq!(
        shape(&items),
        [
            "r:commit-bbb",
            "r:commit-aaa",
            "c:\"2024-01-01T00:00:00Z\"",
            "c:\"2024-01-03T00:00:00Z\""
        ]
    );
    let first = records(&items)[0];
    assert_eq!(first.data.to_value()["author"], "octocat");
    assert_eq!(first.data.to_value()["committer"], Value::Null);
    assert_eq!(first.created_at.to_rfc3339(), "2011-04-14T16:00:49+00:00");
}

#[tokio::test]
async fn a_commit_dated_in_the_future_does_not_move_the_cursor_past_githubs_clock() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/commits")))
        .respond_with(
            json_page(json!([
                commit("fff", "2099-01-01T00:00:00Z"),
                commit("aaa", "2024-01-02T00:00:00Z")
            ]))
            .insert_header("date", "Wed, 03 Jan 2024 00:00:00 GMT"),
        )
        .mount(&server)
        .await;

    let github = github(&server.uri());
    let ctx = context(&github);
    let items = drain_ok(
        github.as_ref(),
        &ctx,
        &stream("commit"),
        &SyncOptions::default(),
    )
    .await;
    assert_eq!(
        cursors(&items).last(),
        Some(&json!("2024-01-03T00:00:00Z")),
        "a cursor of 2099 would stop every later commit sync"
    );
}

#[tokio::test]
async fn an_empty_repository_has_no_commits() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/commits")))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_json(json!({"message": "Git Repository is empty."})),
        )
        .mount(&server)
        .await;

    let github = github(&server.uri());
    let ctx = context(&github);
    let items = drain_ok(
        github.as_ref(),
        &ctx,
        &stream("commit"),
        &SyncOptions::default(),
    )
    .await;
    assert_eq!(shape(&items), ["c:null"]);
}

#[tokio::test]
async fn workflow_runs_report_the_total_and_hold_the_cursor_at_unfinished_runs() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/runs")))
        .and(query_param("created", ">=2024-01-01T00:00:00Z"))
        .respond_with(json_page(json!({
            "total_count": 3,
            "workflow_runs": [
                run(3, "2024-01-05T00:00:00Z", "completed"),
                run(2, "2024-01-03T00:00:00Z", "in_progress"),
                run(1, "2024-01-02T00:00:00Z", "completed"),
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;

    let github = github(&server.uri());
    let ctx = context(&github);
    let options =
        options_with_state(&[("acme/widgets/workflow_run", json!("2024-01-01T00:00:00Z"))]);
    let items = drain_ok(github.as_ref(), &ctx, &stream("workflow_run"), &options).await;

    assert_eq!(
        shape(&items),
        [
            "t:3",
            "r:workflow-run-3",
            "r:workflow-run-2",
            "r:workflow-run-1",
            "c:\"2024-01-01T00:00:00Z\"",
            "c:\"2024-01-03T00:00:00Z\""
        ]
    );
}

/// GitHub lists at most 1,000 runs for a `created` filter but counts them all: a listing cut
/// short is followed by one for the window from the cursor to the oldest run it read, so none
/// is lost (here the cap is three).
#[tokio::test]
async fn workflow_runs_past_the_listing_cap_are_read_in_created_windows() {
    let server = MockServer::start().await;
    let runs = format!("{REPO}/actions/runs");
    Mock::given(method("GET"))
        .and(path(&runs))
        .and(query_param("created", ">=2024-01-01T00:00:00Z"))
        .respond_with(json_page(json!({
            "total_count": 5,
            "workflow_runs": [
                run(5, "2024-01-06T00:00:00Z", "completed"),
                run(4, "2024-01-05T00:00:00Z", "completed"),
                run(3, "2024-01-04T00:00:00Z", "completed"),
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&runs))
        .and(query_param(
            "created",
            "2024-01-01T00:00:00Z..2024-01-04T00:00:00Z",
        ))
        .respond_with(json_page(json!({
            "total_count": 3,
            "workflow_runs": [
                run(3, "2024-01-04T00:00:00Z", "completed"),
                run(2, "2024-01-03T00:00:00Z", "completed"),
                run(1, "2024-01-02T00:00:00Z", "completed"),
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;

    let github = github(&server.uri());
    let ctx = context(&github);
    let options =
        options_with_state(&[("acme/widgets/workflow_run", json!("2024-01-01T00:00:00Z"))]);
    let items = drain_ok(github.as_ref(), &ctx, &stream("workflow_run"), &options).await;
    assert_eq!(
        shape(&items),
        [
            "t:5",
            "r:workflow-run-5",
            "r:workflow-run-4",
            "r:workflow-run-3",
            "c:\"2024-01-01T00:00:00Z\"",
            "r:workflow-run-3",
            "r:workflow-run-2",
            "r:workflow-run-1",
            "c:\"2024-01-01T00:00:00Z\"",
            "c:\"2024-01-06T00:00:00Z\""
        ]
    );
}

#[tokio::test]
async fn a_rejected_token_fails_the_sync_with_an_authentication_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/issues")))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest"
        })))
        .mount(&server)
        .await;

    let github = github(&server.uri());
    let ctx = context(&github);
    let (items, error) = drain(
        github.as_ref(),
        &ctx,
        &stream("issue"),
        &SyncOptions::default(),
    )
    .await;
    assert!(items.is_empty());
    let error = error.expect("the sync must fail");
    assert_eq!(error.kind(), "authentication");
    assert!(!error.to_string().contains(TOKEN));
}

#[tokio::test]
async fn enterprise_base_path_is_kept_on_every_page() {
    let server = MockServer::start().await;
    let pulls = format!("/api/v3{REPO}/pulls");
    Mock::given(method("GET"))
        .and(path(&pulls))
        .and(query_param_is_missing("page"))
        .respond_with(
            json_page(json!([pull(2, 20, "2024-03-02T00:00:00Z")]))
                .insert_header("link", next_link(&server, &pulls, 2)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&pulls))
        .and(query_param("page", "2"))
        .respond_with(json_page(json!([pull(1, 10, "2024-03-01T00:00:00Z")])))
        .expect(1)
        .mount(&server)
        .await;

    let github = github(&format!("{}/api/v3", server.uri()));
    let ctx = context(&github);
    let items = drain_ok(
        github.as_ref(),
        &ctx,
        &stream("pull_request"),
        &SyncOptions::default(),
    )
    .await;
    assert_eq!(ids(&items), ["pr-2", "pr-1"]);
}

#[tokio::test]
async fn a_link_to_another_host_is_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/issues")))
        .respond_with(
            json_page(json!([issue(10, 1, "2024-01-02T00:00:00Z")])).insert_header(
                "link",
                "<https://evil.example.com/steal?page=2>; rel=\"next\"",
            ),
        )
        .mount(&server)
        .await;

    let github = github(&server.uri());
    let ctx = context(&github);
    let (items, error) = drain(
        github.as_ref(),
        &ctx,
        &stream("issue"),
        &SyncOptions::default(),
    )
    .await;
    // Whether the page before the bad link is yielded first is the paginator's choice; what
    // matters is that nothing is fetched from the other host and the stream fails.
    assert!(ids(&items).iter().all(|id| *id == "issue-10"), "{items:?}");
    assert_eq!(error.map(|e| e.kind()), Some("validation"));
}

#[test]
fn streams_are_repositories_times_enabled_and_selected_types() {
    let github = github_with(github_config(
        "https://api.github.com",
        &["acme/widgets", "acme/gadgets"],
        json!({"features": {"reviews": false}}),
    ));
    let all = github.streams(&SyncOptions::default()).unwrap();
    assert_eq!(all.len(), 2 * 5);
    assert!(all.iter().all(|s| s.record_type != "review"));
    assert_eq!(
        all[0],
        StreamDescriptor::new("acme/widgets", "pull_request")
    );

    let options = SyncOptions {
        types: Some(vec!["pull_request".into(), "review".into()]),
        resources: Some(vec!["acme/gadgets".into()]),
        ..Default::default()
    };
    let names: Vec<String> = github
        .streams(&options)
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["acme/gadgets/pull_request"]);
}

#[test]
fn unknown_types_and_malformed_resources_are_refused_by_name() {
    let github = github("https://api.github.com");
    let options = SyncOptions {
        types: Some(vec!["wiki".into()]),
        resources: Some(vec!["acme".into()]),
        ..Default::default()
    };
    let text = github.streams(&options).unwrap_err().to_string();
    assert!(text.contains("resources[0]"), "{text}");
    assert!(
        text.contains("types[0]: unknown record type \"wiki\""),
        "{text}"
    );
}

#[tokio::test]
async fn authenticate_reports_the_login_and_granted_scopes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .and(header("x-github-api-version", "2022-11-28"))
        .respond_with(
            json_page(json!({"login": "octocat", "id": 1}))
                .insert_header("x-oauth-scopes", "repo, read:org"),
        )
        .mount(&server)
        .await;

    let github = github(&server.uri());
    let ctx = context(&github);
    let info = github.authenticate(&ctx).await.unwrap();
    assert_eq!(info.identity.as_deref(), Some("octocat"));
    assert_eq!(info.scopes, ["repo", "read:org"]);
}

#[tokio::test]
async fn authenticate_says_an_invalid_token_is_invalid_or_expired() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"})),
        )
        .mount(&server)
        .await;

    let github = github(&server.uri());
    let ctx = context(&github);
    let error = github.authenticate(&ctx).await.unwrap_err();
    assert_eq!(error.kind(), "authentication");
    assert!(error.to_string().contains("invalid or expired"), "{error}");
}

#[tokio::test]
async fn authenticate_names_the_scopes_a_forbidden_token_lacks() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(
                json!({"message": "Resource not accessible by personal access token"}),
            ),
        )
        .mount(&server)
        .await;

    let github = github(&server.uri());
    let ctx = context(&github);
    let error = github.authenticate(&ctx).await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("insufficient permissions"), "{text}");
    assert!(text.contains("repo, read:org"), "{text}");
}

#[tokio::test]
async fn health_check_warns_when_most_of_the_rate_limit_is_used() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(json_page(json!({"login": "octocat"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rate_limit"))
        .respond_with(json_page(json!({
            "resources": {
                "core": {"limit": 5000, "remaining": 400, "reset": 1700000000, "used": 4600},
                "search": {"limit": 30, "remaining": 30, "reset": 1700000000, "used": 0}
            },
            "rate": {"limit": 5000, "remaining": 400, "reset": 1700000000, "used": 4600}
        })))
        .mount(&server)
        .await;
    // The API root is not mocked: a 404 still proves the API answers.

    let github = github(&server.uri());
    let ctx = context(&github);
    let health = github.health_check(&ctx).await;

    let status: Vec<(&str, CheckStatus)> = health
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.status))
        .collect();
    assert_eq!(
        status,
        [
            ("auth_valid", CheckStatus::Pass),
            ("api_reachable", CheckStatus::Pass),
            ("rate_limit_ok", CheckStatus::Warn)
        ]
    );
    assert!(health.healthy);
    assert_eq!(health.checks[2].metadata["remaining"], 400);
    assert_eq!(health.checks[2].metadata["used_percent"], 92.0);
}

#[tokio::test]
async fn health_check_fails_on_a_rejected_token_and_an_unreachable_api() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"})),
        )
        .mount(&server)
        .await;
    let github = github(&server.uri());
    let ctx = context(&github);
    let health = github.health_check(&ctx).await;
    assert!(!health.healthy);
    assert_eq!(health.checks[0].status, CheckStatus::Fail);
    assert!(
        health.checks[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("invalid or expired"))
    );

    // A port nothing listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let offline = github_with(github_config(
        &format!("http://127.0.0.1:{port}"),
        &["acme/widgets"],
        json!({"http": {"requests_per_second": 10000.0, "max_attempts": 1}}),
    ));
    let ctx = context(&offline);
    let health = offline.health_check(&ctx).await;
    let reachable = &health.checks[1];
    assert_eq!(reachable.name, "api_reachable");
    assert_eq!(reachable.status, CheckStatus::Fail);
    assert_eq!(health.checks[2].status, CheckStatus::Warn);
}
