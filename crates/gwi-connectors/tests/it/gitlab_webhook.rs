//! GitLab webhooks: every recorded payload maps to the right records, and a hook's record is the
//! very row a sync writes for the same object.

use gwi_core::stream::StreamDescriptor;
use proptest::prelude::Strategy as _;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::gitlab_support::*;
use crate::support::{context, drain_ok, records, replace_nth, with};

/// The records each recorded payload gives, for a config syncing its project.
const EXPECTED: &[(&str, &[&str])] = &[
    ("issue_close", &["issue-8131350"]),
    ("issue_open", &["issue-8131350"]),
    ("merge_request_close", &["mr-6632669"]),
    ("merge_request_merge", &["mr-6632669"]),
    ("merge_request_open", &["mr-6632669"]),
    // A note on a commit: a sync reads no commit notes.
    ("note_commit", &[]),
    ("note_issue", &["note-50771783"]),
    ("note_merge_request", &["note-50772616"]),
    ("pipeline", &["pipeline-31"]),
    (
        "push",
        &["commit-4861503-2adc9465c4edfc33834e173fe89436a7cb899a1d"],
    ),
    // The branch was deleted: nothing to store.
    ("push_branch_deleted", &[]),
];

async fn map(
    connector: &gwi_core::registry::ConfiguredConnector,
    event: &str,
    body: Vec<u8>,
) -> Vec<gwi_core::record::ConnectorRecord> {
    connector
        .process_webhook(&crate::support::context(connector), &delivery(event, body))
        .await
        .unwrap_or_else(|e| panic!("{event} not mapped: {e}"))
}

#[tokio::test]
async fn every_recorded_payload_maps_to_its_records() {
    let connector = fixture_projects(json!({}));
    let names = fixture_names("webhooks");
    let listed: Vec<&str> = EXPECTED.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, listed, "every fixture needs its expected records");
    for (name, ids) in EXPECTED {
        let body = fixture_bytes("webhooks", name);
        let event = event_of(&fixture("webhooks", name));
        let records = map(&connector, event, body).await;
        let got: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(&got, ids, "{name}");
        for record in &records {
            assert!(record.validate().is_ok(), "{name}: {:?}", record.validate());
            assert_eq!(record.source, "gitlab");
        }
    }
}

#[tokio::test]
async fn merge_request_hooks_read_old_times_states_and_labels() {
    let connector = fixture_projects(json!({}));
    let merged = map(
        &connector,
        "Merge Request Hook",
        fixture_bytes("webhooks", "merge_request_merge"),
    )
    .await;
    let record = &merged[0];
    let data = record.data.to_value();
    assert_eq!(record.record_type, "merge_request");
    assert_eq!(
        record.updated_at,
        gwi_core::time::parse("2017-12-10T17:08:07Z").unwrap()
    );
    assert_eq!(data["state"], "merged");
    assert_eq!(data["iid"], 1);
    assert_eq!(data["draft"], false);
    assert_eq!(data["author_id"], 51764);
    assert_eq!(data["project"], "gitlab-org/hello-world");
    assert_eq!(
        data["web_url"],
        "https://gitlab.com/gitlab-org/hello-world/merge_requests/1"
    );
    assert_eq!(record.metadata.to_value(), json!({"project_id": 4861503}));

    let closed = map(
        &connector,
        "Issue Hook",
        fixture_bytes("webhooks", "issue_close"),
    )
    .await;
    let data = closed[0].data.to_value();
    assert_eq!(data["state"], "closed");
    assert_eq!(data["labels"], json!(["critical"]));
}

#[tokio::test]
async fn newer_iso_times_and_top_level_people_are_read_too() {
    let connector = fixture_projects(json!({}));
    let mut body = fixture("webhooks", "merge_request_open");
    body["object_attributes"]["updated_at"] = json!("2024-03-01T10:00:00Z");
    body["object_attributes"]["draft"] = json!(true);
    body["assignees"] = json!([{"id": 2, "username": "zoe"}, {"id": 3, "username": "amy"}]);
    body["reviewers"] = json!([{"id": 4, "username": "rev"}]);
    body["labels"] = json!([{"id": 1, "title": "b"}, {"id": 2, "title": "a"}]);
    let records = map(
        &connector,
        "Merge Request Hook",
        serde_json::to_vec(&body).unwrap(),
    )
    .await;
    let data = records[0].data.to_value();
    assert_eq!(
        records[0].updated_at,
        gwi_core::time::parse("2024-03-01T10:00:00Z").unwrap()
    );
    assert_eq!(data["draft"], true);
    assert_eq!(data["assignees"], json!(["amy", "zoe"]));
    assert_eq!(data["reviewers"], json!(["rev"]));
    assert_eq!(data["labels"], json!(["a", "b"]));
}

#[tokio::test]
async fn notes_keep_the_system_flag_and_their_parent() {
    let connector = fixture_projects(json!({}));
    let mut body = fixture("webhooks", "note_merge_request");
    body["object_attributes"]["system"] = json!(true);
    let records = map(&connector, "Note Hook", serde_json::to_vec(&body).unwrap()).await;
    let data = records[0].data.to_value();
    assert_eq!(data["system"], true);
    assert_eq!(data["noteable_type"], "MergeRequest");
    assert_eq!(data["noteable_iid"], 1);
    assert_eq!(data["noteable_id"], 6632669);
    assert_eq!(data["body"], "lgtm");

    let mut snippet = fixture("webhooks", "note_commit");
    snippet["object_attributes"]["noteable_type"] = json!("Snippet");
    assert!(
        map(
            &connector,
            "Note Hook",
            serde_json::to_vec(&snippet).unwrap()
        )
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn a_pipeline_hook_is_stamped_finished_at_else_created_at() {
    let connector = fixture_projects(json!({}));
    let records = map(
        &connector,
        "Pipeline Hook",
        fixture_bytes("webhooks", "pipeline"),
    )
    .await;
    assert_eq!(
        records[0].updated_at,
        gwi_core::time::parse("2016-08-12T15:26:29Z").unwrap()
    );
    let data = records[0].data.to_value();
    assert_eq!(data["status"], "success");
    assert_eq!(data["ref"], "master");
    assert_eq!(data["duration"], 63);
    assert_eq!(data["project"], "gitlab-org/gitlab-test");

    let mut running = fixture("webhooks", "pipeline");
    running["object_attributes"]["finished_at"] = Value::Null;
    let records = map(
        &connector,
        "Pipeline Hook",
        serde_json::to_vec(&running).unwrap(),
    )
    .await;
    assert_eq!(
        records[0].updated_at,
        gwi_core::time::parse("2016-08-12T15:23:28Z").unwrap()
    );
}

#[tokio::test]
async fn pushes_to_other_branches_and_tags_give_nothing() {
    let connector = fixture_projects(json!({}));
    for git_ref in ["refs/heads/feature", "refs/tags/v1.0"] {
        let body = with(&fixture("webhooks", "push"), json!({"ref": git_ref}));
        assert!(
            map(&connector, "Push Hook", serde_json::to_vec(&body).unwrap())
                .await
                .is_empty(),
            "{git_ref}"
        );
    }
}

#[tokio::test]
async fn projects_and_types_the_config_does_not_sync_give_nothing() {
    let other = gitlab_with(gitlab_config(
        "https://gitlab.com",
        &["acme/widgets"],
        json!({}),
    ));
    let in_group = gitlab_with(gitlab_config(
        "https://gitlab.com",
        &[],
        json!({"groups": ["gitlab-org"]}),
    ));
    let issues_only = fixture_projects(json!({"types": ["issue"]}));
    for (name, _) in EXPECTED {
        let body = fixture_bytes("webhooks", name);
        let event = event_of(&fixture("webhooks", name));
        assert!(map(&other, event, body.clone()).await.is_empty(), "{name}");
        let kept = map(&issues_only, event, body.clone()).await;
        assert!(kept.iter().all(|r| r.record_type == "issue"), "{name}");
        // The group's projects are synced, subgroups included; gitlabhq's are not.
        let grouped = map(&in_group, event, body).await;
        let expected = map(
            &fixture_projects(json!({})),
            event,
            fixture_bytes("webhooks", name),
        )
        .await;
        let in_gitlab_org = fixture("webhooks", name)["project"]["path_with_namespace"]
            .as_str()
            .is_some_and(|p| p.starts_with("gitlab-org/"));
        assert_eq!(
            grouped.len(),
            if in_gitlab_org { expected.len() } else { 0 },
            "{name}"
        );
    }
}

#[tokio::test]
async fn unknown_events_give_nothing_and_malformed_bodies_a_typed_error() {
    let connector = fixture_projects(json!({}));
    for event in ["Job Hook", "Release Hook", "System Hook"] {
        assert!(
            map(&connector, event, b"{\"object_kind\":\"x\"}".to_vec())
                .await
                .is_empty()
        );
    }
    let mut body = fixture("webhooks", "merge_request_open");
    body["object_attributes"]["updated_at"] = json!("sometime in 2017");
    let error = connector
        .process_webhook(
            &crate::support::context(&connector),
            &delivery("Merge Request Hook", serde_json::to_vec(&body).unwrap()),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "validation");
    let text = error.to_string();
    assert!(text.contains("object_attributes.updated_at"), "{text}");
    assert!(!text.contains("sometime"), "the body leaked: {text}");
    for garbage in [&b"not json"[..], b"", b"[]", b"{\"project\": 5}"] {
        let error = connector
            .process_webhook(
                &crate::support::context(&connector),
                &delivery("Push Hook", garbage.to_vec()),
            )
            .await
            .unwrap_err();
        assert_eq!(error.kind(), "validation");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// A hook body from anywhere (a recorded one with any value swapped for another kind, or
    /// cut short) maps to records or to a validation error, never to a panic.
    #[test]
    fn any_altered_hook_body_maps_or_fails_as_validation(
        fixture_index in 0usize..EXPECTED.len(),
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
        let (name, _) = EXPECTED[fixture_index];
        let mut body = fixture("webhooks", name);
        let event = event_of(&body).to_owned();
        let mut place = place;
        replace_nth(&mut body, &mut place, &replacement);
        let mut bytes = serde_json::to_vec(&body).unwrap();
        if let Some(cut) = cut {
            bytes.truncate(cut.min(bytes.len()));
        }
        let connector = fixture_projects(json!({}));
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        if let Err(error) = rt.block_on(connector.process_webhook(&crate::support::context(&connector), &delivery(&event, bytes))) {
            proptest::prop_assert_eq!(error.kind(), "validation", "{}", error);
        }
    }
}

/// A REST answer with GitLab's headers.
fn json_page(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(body)
        .insert_header("ratelimit-remaining", "1999")
        .insert_header("ratelimit-limit", "2000")
}

/// The merge request, issue, note and commit of the recorded hooks as GitLab's REST API lists
/// them (same object, REST shape, times with milliseconds as REST gives them).
async fn serve_rest_twins(server: &MockServer) {
    let project = json!({"id": 4861503, "path_with_namespace": "gitlab-org/hello-world",
                         "default_branch": "master", "web_url": "https://gitlab.com/gitlab-org/hello-world"});
    let base = "/api/v4/projects/4861503";
    let author = json!({"id": 51764, "username": "sytses", "name": "Sid Sijbrandij"});
    let mr = json!({
        "id": 6632669, "iid": 1, "project_id": 4861503, "title": "update readme",
        "description": "adding build instructions to readme", "state": "merged",
        "work_in_progress": false, "author": author, "assignees": [], "reviewers": [],
        "labels": [], "milestone": null, "source_branch": "feature", "target_branch": "master",
        "merge_status": "can_be_merged", "detailed_merge_status": "mergeable",
        "web_url": "https://gitlab.com/gitlab-org/hello-world/merge_requests/1",
        "created_at": "2017-12-10T17:01:11.000Z", "updated_at": "2017-12-10T17:08:07.481Z",
    });
    let issue = json!({
        "id": 8131350, "iid": 1, "project_id": 4861503, "title": "found a bug",
        "description": "website is broken", "state": "closed", "author": author,
        "assignees": [], "labels": ["critical"], "milestone": null, "confidential": false,
        "web_url": "https://gitlab.com/gitlab-org/hello-world/issues/1",
        "created_at": "2017-12-10T16:37:38.000Z", "updated_at": "2017-12-10T16:41:28.902Z",
    });
    let note = json!({
        "id": 50771783, "body": "bump", "author": author, "system": false,
        "noteable_type": "Issue", "noteable_id": 8131350, "noteable_iid": 1,
        "created_at": "2017-12-10T16:43:38.120Z", "updated_at": "2017-12-10T16:43:38.120Z",
    });
    let commit = json!({
        "id": "2adc9465c4edfc33834e173fe89436a7cb899a1d", "short_id": "2adc9465",
        "title": "added readme", "message": "added readme\n", "author_name": "Sid Sijbrandij",
        "author_email": "noreply@gitlab.com", "authored_date": "2017-12-10T08:26:38.000+00:00",
        "committed_date": "2017-12-10T08:26:38.000+00:00",
        "web_url": "https://gitlab.com/gitlab-org/hello-world/commit/2adc9465c4edfc33834e173fe89436a7cb899a1d",
    });
    let routes = [
        (
            "/api/v4/projects/gitlab-org%2Fhello-world".to_owned(),
            project,
        ),
        (format!("{base}/merge_requests"), json!([mr])),
        (format!("{base}/issues"), json!([issue])),
        (format!("{base}/issues/1/notes"), json!([note])),
        (format!("{base}/merge_requests/1/notes"), json!([])),
        (format!("{base}/repository/commits"), json!([commit])),
    ];
    for (route, body) in routes {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(json_page(body))
            .mount(server)
            .await;
    }
}

#[tokio::test]
async fn a_hooks_record_is_the_row_the_next_sync_writes() {
    let server = MockServer::start().await;
    serve_rest_twins(&server).await;
    let connector = gitlab_with(gitlab_config(
        &server.uri(),
        &["gitlab-org/hello-world"],
        json!({}),
    ));
    let ctx = context(&connector);
    let cases = [
        ("merge_request_merge", "merge_request"),
        ("issue_close", "issue"),
        ("note_issue", "note"),
        ("push", "commit"),
    ];
    for (hook, record_type) in cases {
        let hooked = map(
            &connector,
            event_of(&fixture("webhooks", hook)),
            fixture_bytes("webhooks", hook),
        )
        .await;
        let stream = StreamDescriptor::new("gitlab-org/hello-world", record_type);
        let items = drain_ok(
            connector.connector.as_ref(),
            &ctx,
            &stream,
            &Default::default(),
        )
        .await;
        let synced = records(&items);
        assert_eq!(hooked.len(), 1, "{hook}");
        let row = synced
            .iter()
            .find(|r| r.id == hooked[0].id)
            .unwrap_or_else(|| panic!("{hook}: the sync has no {}", hooked[0].id));
        assert_eq!(**row, hooked[0], "{hook}: webhook and sync disagree");
    }
}
