//! The connector contract, for GitHub: metadata, config schema, and a full sync whose every
//! record validates.

use std::collections::HashSet;

use gwi_connectors::github::GithubConnector;
use gwi_core::auth::AuthKind;
use gwi_core::connector::Capabilities;
use gwi_core::registry::ConnectorDefinition;
use gwi_core::stream::{SyncItem, SyncOptions};
use gwi_core::webhook::SchemeKind;
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::github_sync::{commit, issue, pull};
use crate::support::*;

#[test]
fn metadata_describes_the_connector() {
    let metadata = GithubConnector::metadata();
    assert_eq!(metadata.name, "github");
    assert_eq!(
        metadata.record_types,
        [
            "pull_request",
            "issue",
            "comment",
            "review",
            "commit",
            "workflow_run"
        ]
    );
    assert_eq!(
        metadata.capabilities,
        Capabilities {
            auth: vec![AuthKind::None, AuthKind::Bearer, AuthKind::GithubApp],
            incremental: true,
            webhooks: Some(SchemeKind::GitHub),
        }
    );
    assert_eq!(metadata.rate_limits.requests_per_hour, Some(5000));
    assert!(!metadata.version.is_empty());
    let built = github("https://api.github.com");
    assert_eq!(built.name(), "github");
    assert_eq!(*built.metadata, metadata);
}

#[test]
fn the_registry_lists_github_with_its_schema() {
    let registry = gwi_connectors::registry();
    let factory = registry.get("github").expect("github is registered");
    let schema = serde_json::to_value(factory.config_schema()).unwrap();
    let properties = &schema["properties"];
    for field in [
        "repositories",
        "types",
        "features",
        "webhook_secret",
        "auth",
        "base_url",
        "tenant_id",
        "http",
    ] {
        assert!(
            properties.get(field).is_some(),
            "schema lacks {field}: {schema}"
        );
    }
    assert_eq!(schema["additionalProperties"], false);
    assert!(
        schema.to_string().contains("\"pattern\""),
        "repositories carry a pattern"
    );
}

#[test]
fn a_bad_config_is_refused_with_every_field_named() {
    let error = gwi_connectors::registry()
        .build(
            "github",
            json!({
                "repositories": ["acme/widgets", "widgets"],
                "auth": {"type": "bearer", "token": "env:GWI_TEST_SURELY_UNSET_GITHUB_TOKEN"},
            }),
        )
        .expect_err("refused");
    let text = error.to_string();
    assert!(
        text.contains("repositories[1]: \"widgets\" does not match"),
        "{text}"
    );
}

/// A server that answers every list the connector reads with one realistic item.
async fn one_of_everything() -> MockServer {
    let server = MockServer::start().await;
    let repo = "/repos/acme/widgets";
    let bodies = [
        (
            format!("{repo}/pulls"),
            json!([pull(1, 1, "2024-03-01T00:00:00Z")]),
        ),
        (
            format!("{repo}/issues"),
            json!([issue(2, 2, "2024-03-01T00:00:00Z")]),
        ),
        (
            format!("{repo}/issues/comments"),
            json!([fixture("issue_comment", "created")["comment"]]),
        ),
        (
            format!("{repo}/pulls/comments"),
            json!([fixture("pull_request_review_comment", "created")["comment"]]),
        ),
        (
            format!("{repo}/commits"),
            json!([commit("abc", "2024-03-01T00:00:00Z")]),
        ),
        (
            format!("{repo}/actions/runs"),
            json!({"total_count": 1, "workflow_runs": [fixture("workflow_run", "completed")["workflow_run"]]}),
        ),
    ];
    for (list, body) in bodies {
        Mock::given(method("GET"))
            .and(path(list))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path_regex(r"^/repos/acme/widgets/pulls/\d+/reviews$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([
                    fixture("pull_request_review", "submitted")["review"]
                ])),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn every_stream_yields_valid_records_and_ends_with_a_checkpoint() {
    let server = one_of_everything().await;
    let github = github(&server.uri());
    let ctx = context(&github);
    let options = SyncOptions::default();
    let metadata = github.metadata.clone();
    let mut types_seen = HashSet::new();
    for stream in github.streams(&options).unwrap() {
        let items = drain_ok(github.as_ref(), &ctx, &stream, &options).await;
        assert!(
            matches!(items.last(), Some(SyncItem::Checkpoint(c)) if c.stream == stream.name),
            "{} must end with its checkpoint",
            stream.name
        );
        let mut ids = HashSet::new();
        for record in records(&items) {
            record
                .validate()
                .unwrap_or_else(|e| panic!("{}: {e:?}", stream.name));
            assert_eq!(record.source, "github");
            assert_eq!(record.record_type, stream.record_type);
            assert!(metadata.record_types.contains(&record.record_type));
            assert!(ids.insert(record.id.clone()), "duplicate id {}", record.id);
            assert!(
                record.metadata.to_value()["html_url"].is_string(),
                "{}",
                record.id
            );
            assert!(
                record.metadata.to_value()["url"].is_string(),
                "{}",
                record.id
            );
            types_seen.insert(record.record_type.clone());
        }
    }
    assert_eq!(
        types_seen.len(),
        metadata.record_types.len(),
        "{types_seen:?}"
    );
}

#[tokio::test]
async fn github_passes_the_shared_connector_contract() {
    let server = one_of_everything().await;
    let registry = gwi_connectors::registry();
    let factory = registry.get("github").expect("github is registered");
    let transport = std::sync::Arc::new(
        gwi_core::http::ReqwestClient::new(std::time::Duration::from_secs(10)).unwrap(),
    );
    let config = github_config(&server.uri(), &["acme/widgets"], json!({}));
    let report = gwi_testing::assert_connector_contract(
        factory.as_ref(),
        config,
        transport,
        &SyncOptions::default(),
        100,
    )
    .await;
    assert_eq!(report.streams.len(), 6, "{:?}", report.streams);
    let types: HashSet<&str> = report
        .records
        .iter()
        .map(|r| r.record_type.as_str())
        .collect();
    assert_eq!(types.len(), 6, "{types:?}");
    assert!(report.checkpoints >= report.streams.len());
}
