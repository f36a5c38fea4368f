//! GitHub webhook events (real payloads) to records, and their agreement with sync.

use chrono::Utc;
use gwi_core::record::ConnectorRecord;
use gwi_core::registry::ConfiguredConnector;
use gwi_core::stream::{StreamDescriptor, SyncOptions};
use proptest::prelude::Strategy as _;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::github_sync::commit;
use crate::support::*;

/// The repositories the fixtures come from.
const FIXTURE_REPOS: [&str; 2] = ["Codertocat/Hello-World", "octo-org/octo-repo"];

fn connector(extra: Value) -> ConfiguredConnector {
    github_with(github_config(
        "https://api.github.com",
        &FIXTURE_REPOS,
        extra,
    ))
}

async fn map(event: &str, body: &Value) -> Vec<ConnectorRecord> {
    map_with(&connector(json!({})), event, body).await
}

async fn map_with(github: &ConfiguredConnector, event: &str, body: &Value) -> Vec<ConnectorRecord> {
    github
        .process_webhook(
            &crate::support::context(github),
            &webhook(event, serde_json::to_vec(body).unwrap()),
        )
        .await
        .unwrap_or_else(|e| panic!("{event}: {e}"))
}

async fn one(event: &str, name: &str) -> ConnectorRecord {
    let mut records = map(event, &fixture(event, name)).await;
    assert_eq!(records.len(), 1, "{event}/{name}: {records:?}");
    records.remove(0)
}

#[tokio::test]
async fn every_fixture_maps_to_valid_records() {
    let github = connector(json!({}));
    for (event, name) in all_fixtures() {
        let records = github
            .process_webhook(
                &crate::support::context(&github),
                &webhook(&event, fixture_bytes(&event, &name)),
            )
            .await
            .unwrap_or_else(|e| panic!("{event}/{name}: {e}"));
        for record in records {
            record
                .validate()
                .unwrap_or_else(|e| panic!("{event}/{name}: {e:?}"));
            assert_eq!(record.source, "github");
        }
    }
}

#[tokio::test]
async fn pull_request_opened_maps_every_useful_field() {
    let pr = one("pull_request", "opened").await;
    assert_eq!(pr.id, "pr-279147437");
    assert_eq!(pr.record_type, "pull_request");
    assert_eq!(pr.created_at.to_rfc3339(), "2019-05-15T15:20:33+00:00");
    let data = pr.data.to_value();
    assert_eq!(data["number"], 2);
    assert_eq!(data["title"], "Update the README with new information.");
    assert_eq!(
        data["body"],
        "This is a pretty simple change that we need to pull into master."
    );
    assert_eq!(data["state"], "open");
    assert_eq!(data["draft"], false);
    assert_eq!(data["merged"], false);
    assert_eq!(data["author"], "Codertocat");
    assert_eq!(data["head"], "changes");
    assert_eq!(data["base"], "master");
    assert_eq!(data["repository"], "Codertocat/Hello-World");
    assert_eq!(
        pr.metadata,
        json!({
            "html_url": "https://github.com/Codertocat/Hello-World/pull/2",
            "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2"
        })
    );
}

#[tokio::test]
async fn pull_request_with_a_null_body_keeps_it_null() {
    let pr = one("pull_request", "opened.with-null-body").await;
    assert_eq!(pr.data.to_value()["body"], Value::Null);
}

#[tokio::test]
async fn pull_request_draft_state_follows_the_payload() {
    assert_eq!(
        one("pull_request", "converted_to_draft")
            .await
            .data
            .to_value()["draft"],
        true
    );
    assert_eq!(
        one("pull_request", "ready_for_review")
            .await
            .data
            .to_value()["draft"],
        false
    );
}

#[tokio::test]
async fn pull_request_closed_without_merge_is_not_merged() {
    let pr = one("pull_request", "closed").await;
    assert_eq!(pr.data.to_value()["state"], "closed");
    assert_eq!(pr.data.to_value()["merged"], false);
    assert_eq!(pr.data.to_value()["merged_at"], Value::Null);
    assert_eq!(pr.updated_at.to_rfc3339(), "2019-05-15T15:21:18+00:00");
}

#[tokio::test]
async fn pull_request_merged_reads_merged_at() {
    let mut body = fixture("pull_request", "closed");
    body["pull_request"]["merged_at"] = json!("2019-05-15T15:21:18Z");
    body["pull_request"]["merged"] = json!(true);
    let pr = map("pull_request", &body).await.remove(0);
    assert_eq!(pr.data.to_value()["merged"], true);
}

#[tokio::test]
async fn labels_and_assignees_are_names_and_logins() {
    let pr = one("pull_request", "labeled").await;
    assert_eq!(pr.data.to_value()["labels"], json!(["bug"]));
    assert_eq!(pr.data.to_value()["assignees"], json!(["Codertocat"]));
    let issue = one("issues", "assigned").await;
    assert_eq!(issue.data.to_value()["assignees"], json!(["Codertocat"]));
}

#[tokio::test]
async fn a_deleted_author_is_null_or_ghost() {
    let mut body = fixture("pull_request", "opened");
    body["pull_request"]["user"] = Value::Null;
    assert_eq!(
        map("pull_request", &body).await[0].data.to_value()["author"],
        Value::Null
    );

    let mut body = fixture("issue_comment", "created");
    body["comment"]["user"] = json!({"login": "ghost", "id": 10137, "type": "User"});
    assert_eq!(
        map("issue_comment", &body).await[0].data.to_value()["author"],
        "ghost"
    );
}

#[tokio::test]
async fn issue_opened_maps_the_issue() {
    let issue = one("issues", "opened").await;
    assert_eq!(issue.id, "issue-444500041");
    assert_eq!(issue.record_type, "issue");
    assert_eq!(issue.data.to_value()["number"], 1);
    assert_eq!(
        issue.data.to_value()["title"],
        "Spelling error in the README file"
    );
    assert_eq!(issue.data.to_value()["state"], "open");
    assert_eq!(
        issue.data.to_value()["repository"],
        "Codertocat/Hello-World"
    );
    assert!(issue.data.get("deleted").is_none());
}

#[tokio::test]
async fn issue_with_an_empty_body_keeps_the_body_as_sent() {
    // The real payload sends `null` for an empty body.
    assert_eq!(
        one("issues", "opened.with-empty-body")
            .await
            .data
            .to_value()["body"],
        Value::Null
    );
    let mut body = fixture("issues", "opened");
    body["issue"]["body"] = json!("");
    assert_eq!(map("issues", &body).await[0].data.to_value()["body"], "");
}

#[tokio::test]
async fn issue_opened_by_a_transfer_maps_the_new_issue() {
    let issue = one("issues", "opened.with-transfer").await;
    assert_eq!(
        issue.data.to_value()["repository"],
        "Codertocat/Hello-World"
    );
    assert!(issue.data.get("deleted").is_none());
}

#[tokio::test]
async fn issue_deleted_is_a_tombstone_that_wins_the_upsert() {
    let before = Utc::now();
    let dead = one("issues", "deleted").await;
    assert_eq!(dead.id, "issue-444500041");
    assert_eq!(dead.data.to_value()["deleted"], true);
    assert_eq!(
        dead.data.to_value()["title"],
        "Spelling error in the README file"
    );
    assert!(dead.updated_at >= before, "stamped when processed");
}

#[tokio::test]
async fn issue_transferred_retires_the_old_issue_and_adds_the_new_one() {
    let records = map("issues", &fixture("issues", "transferred")).await;
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["issue-512748900", "issue-444500041"]);
    assert_eq!(records[0].data.to_value()["deleted"], true);
    assert_eq!(
        records[0].data.to_value()["transferred_to"],
        "Codertocat/Hello-World"
    );
    assert_eq!(
        records[0].data.to_value()["repository"],
        "octo-org/octo-repo"
    );
    assert_eq!(
        records[1].data.to_value()["repository"],
        "Codertocat/Hello-World"
    );
    assert!(records[1].data.get("deleted").is_none());

    // The new home is not configured: only the tombstone.
    let only_old = github_with(github_config(
        "https://api.github.com",
        &["octo-org/octo-repo"],
        json!({}),
    ));
    let records = map_with(&only_old, "issues", &fixture("issues", "transferred")).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].id, "issue-512748900");
}

#[tokio::test]
async fn issue_comments_map_and_deletions_are_tombstones() {
    for name in ["created", "created.1", "edited"] {
        let comment = one("issue_comment", name).await;
        assert_eq!(comment.id, "issue-comment-492700400", "{name}");
        assert_eq!(comment.record_type, "comment");
        assert_eq!(comment.data.to_value()["kind"], "issue_comment");
        assert_eq!(comment.data.to_value()["number"], 1);
        assert!(comment.data.get("deleted").is_none());
    }
    let dead = one("issue_comment", "deleted").await;
    assert_eq!(dead.id, "issue-comment-492700400");
    assert_eq!(dead.data.to_value()["deleted"], true);
}

#[tokio::test]
async fn review_comments_map_with_their_diff_position() {
    let comment = one("pull_request_review_comment", "created").await;
    assert_eq!(comment.id, "review-comment-284312630");
    assert_eq!(comment.record_type, "comment");
    assert_eq!(comment.data.to_value()["kind"], "review_comment");
    assert_eq!(comment.data.to_value()["number"], 2);
    assert_eq!(comment.data.to_value()["path"], "README.md");
    assert_eq!(comment.data.to_value()["line"], 265);
    assert_eq!(comment.data.to_value()["review_id"], 237895671);
    assert_eq!(
        one("pull_request_review_comment", "edited").await.id,
        comment.id
    );
    let dead = one("pull_request_review_comment", "deleted").await;
    assert_eq!(dead.data.to_value()["deleted"], true);
}

#[tokio::test]
async fn reviews_map_with_a_lower_case_state() {
    let review = one("pull_request_review", "submitted").await;
    assert_eq!(review.id, "review-237895671");
    assert_eq!(review.record_type, "review");
    assert_eq!(review.data.to_value()["state"], "commented");
    assert_eq!(review.data.to_value()["number"], 2);
    assert_eq!(review.data.to_value()["body"], Value::Null);
    let dismissed = one("pull_request_review", "dismissed").await;
    assert_eq!(dismissed.id, review.id);
    assert_eq!(dismissed.data.to_value()["state"], "dismissed");
}

#[tokio::test]
async fn push_to_the_default_branch_maps_each_commit() {
    let commit = one("push", "with-new-branch").await;
    assert_eq!(commit.id, "commit-6113728f27ae82c7b1a177c8d03f9e96e0adf246");
    assert_eq!(commit.record_type, "commit");
    assert_eq!(commit.data.to_value()["message"], "Initial commit");
    assert_eq!(commit.data.to_value()["author"], "Codertocat");
    assert_eq!(
        commit.metadata.to_value()["url"],
        "https://api.github.com/repos/Codertocat/Hello-World/commits/6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    );

    let no_username = one("push", "with-no-username-committer").await;
    assert_eq!(no_username.data.to_value()["committer"], Value::Null);
    assert_eq!(no_username.data.to_value()["committer_name"], "Codertocat");
}

#[tokio::test]
async fn pushes_of_tags_other_branches_and_deletions_map_to_nothing() {
    assert!(map("push", &fixture("push", "payload")).await.is_empty());
    let mut other_branch = fixture("push", "with-new-branch");
    other_branch["ref"] = json!("refs/heads/feature");
    assert!(map("push", &other_branch).await.is_empty());
}

#[tokio::test]
async fn workflow_runs_map_with_status_and_pull_requests() {
    let run = one("workflow_run", "completed").await;
    assert_eq!(run.id, "workflow-run-289782451");
    assert_eq!(run.record_type, "workflow_run");
    assert_eq!(run.data.to_value()["status"], "completed");
    assert_eq!(run.data.to_value()["conclusion"], "success");
    assert_eq!(run.data.to_value()["run_number"], 163);
    assert_eq!(run.data.to_value()["actor"], "Codertocat");
    assert_eq!(run.data.to_value()["repository"], "octo-org/octo-repo");
    let with_prs = one("workflow_run", "completed.with-pull-requests").await;
    assert_eq!(with_prs.data.to_value()["pull_requests"], json!([2]));
    let requested = one("workflow_run", "requested").await;
    assert_eq!(requested.data.to_value()["status"], "queued");
    assert_eq!(requested.data.to_value()["conclusion"], Value::Null);
}

#[tokio::test]
async fn ping_and_unknown_events_map_to_nothing() {
    assert!(map("ping", &fixture("ping", "payload")).await.is_empty());
    assert!(map("star", &json!({"action": "created"})).await.is_empty());
}

#[tokio::test]
async fn events_for_other_repositories_or_disabled_types_map_to_nothing() {
    let elsewhere = github_with(github_config(
        "https://api.github.com",
        &["acme/widgets"],
        json!({}),
    ));
    assert!(
        map_with(
            &elsewhere,
            "pull_request",
            &fixture("pull_request", "opened")
        )
        .await
        .is_empty()
    );
    let no_comments = connector(json!({"features": {"comments": false}}));
    assert!(
        map_with(
            &no_comments,
            "issue_comment",
            &fixture("issue_comment", "created")
        )
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn repository_names_match_case_insensitively_and_keep_the_configured_spelling() {
    let github = github_with(github_config(
        "https://api.github.com",
        &["codertocat/hello-world"],
        json!({}),
    ));
    let records = map_with(&github, "issues", &fixture("issues", "opened")).await;
    assert_eq!(
        records[0].data.to_value()["repository"],
        "codertocat/hello-world"
    );
}

#[tokio::test]
async fn a_payload_missing_its_object_is_a_validation_error_naming_the_field() {
    let github = connector(json!({}));
    let error = github
        .process_webhook(
            &crate::support::context(&github),
            &webhook(
                "pull_request",
                br#"{"action": "opened", "repository": {"full_name": "Codertocat/Hello-World"}}"#
                    .to_vec(),
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "validation");
    assert!(error.to_string().contains("pull_request"), "{error}");
}

/// Serves each fixture's nested object as the only item of its REST list, so a sync reads
/// exactly what the webhook carried.
#[tokio::test]
async fn a_webhook_and_a_sync_give_the_same_records() {
    let server = MockServer::start().await;
    let repo = "/repos/Codertocat/Hello-World";
    let issue_event = fixture("issues", "opened");
    let comment_event = fixture("issue_comment", "created");
    let review_comment_event = fixture("pull_request_review_comment", "created");
    let review_event = fixture("pull_request_review", "submitted");
    let mut run_event = fixture("workflow_run", "completed");
    run_event["repository"]["full_name"] = json!("Codertocat/Hello-World");
    let sha = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
    let mut rest_commit = commit(sha, "2019-05-15T15:19:25Z");
    rest_commit["commit"]["message"] = json!("Initial commit");
    rest_commit["commit"]["author"]["name"] = json!("Codertocat");
    rest_commit["commit"]["author"]["date"] = json!("2019-05-15T15:19:25Z");
    rest_commit["commit"]["committer"]["name"] = json!("Codertocat");
    rest_commit["author"] = json!({"login": "Codertocat"});
    rest_commit["committer"] = json!({"login": "Codertocat"});
    // Push payloads carry no API URL: the connector builds it from its base URL.
    rest_commit["url"] = json!(format!(
        "{}/repos/Codertocat/Hello-World/commits/{sha}",
        server.uri()
    ));
    rest_commit["html_url"] = json!(format!(
        "https://github.com/Codertocat/Hello-World/commit/{sha}"
    ));

    // The review's pull request, listed as the review webhook saw it, is also the pull request
    // the `pull_request` webhook carries.
    let pulls = json!([review_event["pull_request"]]);
    let pr_event = json!({
        "action": "edited",
        "number": 2,
        "pull_request": review_event["pull_request"],
        "repository": review_event["repository"],
    });
    let lists = [
        (format!("{repo}/issues"), json!([issue_event["issue"]])),
        (
            format!("{repo}/issues/comments"),
            json!([comment_event["comment"]]),
        ),
        (
            format!("{repo}/pulls/comments"),
            json!([review_comment_event["comment"]]),
        ),
        (
            format!("{repo}/pulls/2/reviews"),
            json!([review_event["review"]]),
        ),
        (format!("{repo}/commits"), json!([rest_commit])),
        (
            format!("{repo}/actions/runs"),
            json!({"total_count": 1, "workflow_runs": [run_event["workflow_run"]]}),
        ),
    ];
    for (list, body) in lists {
        Mock::given(method("GET"))
            .and(path(list))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(format!("{repo}/pulls")))
        .respond_with(ResponseTemplate::new(200).set_body_json(pulls))
        .mount(&server)
        .await;

    let github = github_with(github_config(
        &server.uri(),
        &["Codertocat/Hello-World"],
        json!({}),
    ));
    let synced = |connector: ConfiguredConnector, record_type: &'static str| async move {
        let ctx = context(&connector);
        let stream = StreamDescriptor::new("Codertocat/Hello-World", record_type);
        let items = drain_ok(connector.as_ref(), &ctx, &stream, &SyncOptions::default()).await;
        records(&items).into_iter().cloned().collect::<Vec<_>>()
    };
    let hooked = |connector: ConfiguredConnector, event: &'static str, body: Value| async move {
        map_with(&connector, event, &body).await
    };

    let pairs = [
        (
            synced(github.clone(), "pull_request").await,
            hooked(github.clone(), "pull_request", pr_event).await,
        ),
        (
            synced(github.clone(), "issue").await,
            hooked(github.clone(), "issues", issue_event).await,
        ),
        (
            synced(github.clone(), "review").await,
            hooked(github.clone(), "pull_request_review", review_event).await,
        ),
        (
            synced(github.clone(), "workflow_run").await,
            hooked(github.clone(), "workflow_run", run_event).await,
        ),
    ];
    for (from_sync, from_webhook) in pairs {
        assert_eq!(from_sync, from_webhook);
    }

    let comments = synced(github.clone(), "comment").await;
    assert_eq!(
        comments[0],
        hooked(github.clone(), "issue_comment", comment_event).await[0]
    );
    assert_eq!(
        comments[1],
        hooked(
            github.clone(),
            "pull_request_review_comment",
            review_comment_event
        )
        .await[0]
    );

    // Push payloads have one timestamp and a web-only URL; the id and data still agree.
    let from_sync = synced(github.clone(), "commit").await.remove(0);
    let from_push = hooked(github.clone(), "push", fixture("push", "with-new-branch"))
        .await
        .remove(0);
    assert_eq!(from_sync.id, from_push.id);
    assert_eq!(from_sync.data, from_push.data);
    assert_eq!(from_sync.metadata, from_push.metadata);
}

#[tokio::test]
async fn the_configured_webhook_secret_verifies_githubs_signature() {
    let github = github_with(github_config(
        "http://127.0.0.1:1",
        &["acme/widgets"],
        json!({"webhook_secret": "hook-secret-literal"}),
    ));
    let scheme = github.webhook.clone().expect("a secret is configured");
    let body = br#"{"zen":"Design for failure."}"#;
    let secret = gwi_core::config::Secret::literal("hook-secret-literal");
    let mut headers = http::HeaderMap::new();
    for (name, value) in gwi_core::webhook::sign::github(&secret, body) {
        headers.insert(name, value.parse().unwrap());
    }
    assert!(
        scheme
            .verify(&headers, body, std::time::SystemTime::now())
            .is_ok()
    );
    assert!(
        scheme
            .verify(&headers, b"{}", std::time::SystemTime::now())
            .is_err()
    );
}

#[tokio::test]
async fn while_rotating_both_webhook_secrets_verify_and_no_other() {
    let github = github_with(github_config(
        "http://127.0.0.1:1",
        &["acme/widgets"],
        json!({"webhook": {"secrets": ["hook-secret-new", "hook-secret-old"]}}),
    ));
    let scheme = github.webhook.clone().expect("secrets are configured");
    let body = br#"{"zen":"Keep it logically awesome."}"#;
    let verifies = |secret: &str| {
        let mut headers = http::HeaderMap::new();
        for (name, value) in
            gwi_core::webhook::sign::github(&gwi_core::config::Secret::literal(secret), body)
        {
            headers.insert(name, value.parse().unwrap());
        }
        scheme
            .verify(&headers, body, std::time::SystemTime::now())
            .is_ok()
    };
    assert!(verifies("hook-secret-new"));
    assert!(verifies("hook-secret-old"));
    assert!(!verifies("hook-secret-other"));
}

#[tokio::test]
async fn without_a_webhook_secret_the_connector_takes_no_webhooks() {
    let github = github_with(github_config(
        "http://127.0.0.1:1",
        &["acme/widgets"],
        json!({}),
    ));
    assert!(github.webhook.is_none());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(100))]

    /// A delivery body from anywhere (a recorded one with any value swapped for another kind,
    /// or cut short) maps to records or to an error, never to a panic, and fast: the API it
    /// might read is a closed local port.
    #[test]
    fn any_altered_delivery_maps_or_fails_without_panicking(
        fixture_index in proptest::prelude::any::<proptest::sample::Index>(),
        place in 0usize..400,
        replacement in proptest::prop_oneof![
            proptest::prelude::Just(Value::Null),
            proptest::prelude::any::<i64>().prop_map(Value::from),
            proptest::prelude::any::<bool>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
            proptest::prelude::Just(json!([])),
            proptest::prelude::Just(json!({})),
        ],
        cut in proptest::option::of(0usize..4000),
    ) {
        let fixtures = all_fixtures();
        let (event, name) = &fixtures[fixture_index.index(fixtures.len())];
        let mut body = fixture(event, name);
        let mut place = place;
        replace_nth(&mut body, &mut place, &replacement);
        let mut bytes = serde_json::to_vec(&body).unwrap();
        if let Some(cut) = cut {
            bytes.truncate(cut.min(bytes.len()));
        }
        let github = github_with(github_config(
            "http://127.0.0.1:9",
            &FIXTURE_REPOS,
            json!({"http": {"max_attempts": 1}}),
        ));
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let _ = rt.block_on(github.process_webhook(&crate::support::context(&github), &webhook(event, bytes)));
    }
}
