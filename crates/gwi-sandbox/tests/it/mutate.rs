#[allow(unused_imports)]
use crate::{JsonRequest as _, JsonResponse as _};
use std::collections::BTreeSet;

use serde_json::Value;

use crate::{client, get, start_default, walk};

async fn post_mutate(c: &reqwest::Client, sb: &gwi_sandbox::SandboxHandle, count: usize) -> Value {
    c.post(format!("{}_sandbox/mutate", sb.base_url()))
        .json(&serde_json::json!({ "count": count, "provider": "github" }))
        .send()
        .await
        .expect("mutate")
        .json()
        .await
        .expect("report")
}

fn changed(report: &Value, repo: &str, kinds: &[&str], field: &str) -> BTreeSet<u64> {
    report["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["scope"] == repo && kinds.contains(&c["kind"].as_str().unwrap_or("")))
        .filter(|c| c["action"] != "deleted")
        .map(|c| c[field].as_u64().expect("number"))
        .collect()
}

#[tokio::test]
async fn mutate_makes_exactly_the_changed_records_appear_in_since_queries() {
    let sb = start_default().await;
    let c = client();
    let base = sb.base_url();
    let (before, _) = walk(
        &c,
        &format!("{base}repos/acme/widgets/issues?state=all&per_page=100"),
    )
    .await;
    let newest_before = before
        .iter()
        .map(|v| v["updated_at"].as_str().unwrap_or("").to_owned())
        .max()
        .unwrap_or_default();

    let report = post_mutate(&c, &sb, 60).await;
    let at = report["at"].as_str().expect("at").to_owned();
    assert!(at > newest_before, "{at} should be after {newest_before}");
    assert!(report["changes"].as_array().is_some_and(|a| !a.is_empty()));

    for repo in ["acme/widgets", "acme/gadgets"] {
        let (issues, _) = walk(
            &c,
            &format!("{base}repos/{repo}/issues?state=all&per_page=100&since={at}"),
        )
        .await;
        let got: BTreeSet<u64> = issues
            .iter()
            .map(|v| v["number"].as_u64().expect("number"))
            .collect();
        assert_eq!(
            got,
            changed(&report, repo, &["issue", "pull"], "number"),
            "{repo} issues"
        );
        assert!(issues.iter().all(|v| v["updated_at"] == at.as_str()));

        let (comments, _) = walk(
            &c,
            &format!("{base}repos/{repo}/issues/comments?per_page=100&since={at}"),
        )
        .await;
        let got: BTreeSet<u64> = comments
            .iter()
            .map(|v| v["id"].as_u64().expect("id"))
            .collect();
        assert_eq!(
            got,
            changed(&report, repo, &["issue_comment"], "id"),
            "{repo} comments"
        );

        let (rc, _) = walk(
            &c,
            &format!("{base}repos/{repo}/pulls/comments?per_page=100&since={at}"),
        )
        .await;
        let got: BTreeSet<u64> = rc.iter().map(|v| v["id"].as_u64().expect("id")).collect();
        assert_eq!(
            got,
            changed(&report, repo, &["review_comment"], "id"),
            "{repo} review comments"
        );
    }

    // Counts follow the created records, and a full walk still sees every record once.
    let counts = sb.github().counts();
    let (all, _) = walk(
        &c,
        &format!("{base}repos/acme/widgets/issues?state=all&per_page=100"),
    )
    .await;
    assert_eq!(all.len(), counts.repos["acme/widgets"].issues_and_pulls);
    let created_issues = report["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| {
            c["scope"] == "acme/widgets"
                && c["action"] == "created"
                && (c["kind"] == "issue" || c["kind"] == "pull")
        })
        .count();
    assert_eq!(all.len(), before.len() + created_issues);
}

#[tokio::test]
async fn each_mutation_is_stamped_strictly_later_than_the_last() {
    let sb = start_default().await;
    let a = sb.mutate("github", 3).unwrap();
    let b = sb.mutate("github", 3).unwrap();
    let c = sb.mutate("github", 3).unwrap();
    assert!(a.at_unix < b.at_unix && b.at_unix < c.at_unix);
    let stats: Value = get(&client(), &format!("{}_sandbox/stats", sb.base_url()))
        .await
        .json()
        .await
        .expect("stats");
    assert_eq!(stats["mutations"], 3);
}

#[tokio::test]
async fn cached_pages_are_refreshed_after_a_mutation() {
    let sb = start_default().await;
    let c = client();
    let url = format!(
        "{}repos/acme/gadgets/issues?state=all&sort=updated&per_page=5",
        sb.base_url()
    );
    let before: Vec<Value> = get(&c, &url).await.json().await.expect("json");
    let report = sb.mutate("github", 20).unwrap();
    let after: Vec<Value> = get(&c, &url).await.json().await.expect("json");
    let touched_gadgets = report
        .changes
        .iter()
        .any(|ch| ch.scope == "acme/gadgets" && (ch.kind == "issue" || ch.kind == "pull"));
    assert!(
        touched_gadgets,
        "seed 1 touches acme/gadgets issues in 20 changes"
    );
    assert_ne!(before, after);
    assert_eq!(after[0]["updated_at"], report.at.to_string());
}

#[tokio::test]
async fn mutate_rejects_a_malformed_body() {
    let sb = start_default().await;
    let resp = client()
        .post(format!("{}_sandbox/mutate", sb.base_url()))
        .body("{\"count\": \"many\"}")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), reqwest::StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_expected_set_agrees_with_the_counts_and_the_http_endpoint() {
    let sb = start_default().await;
    let expected = sb.expected("github");
    let total = sb.github().counts().total;
    let of = |t: &str| expected.iter().filter(|e| e.record_type == t).count();
    assert_eq!(of("pull_request"), total.pulls);
    assert_eq!(of("issue"), total.issues);
    assert_eq!(of("comment"), total.issue_comments + total.review_comments);
    assert_eq!(of("review"), total.reviews);
    assert_eq!(of("commit"), total.commits);
    assert_eq!(of("workflow_run"), total.workflow_runs);
    let ids: BTreeSet<(&str, &str)> = expected
        .iter()
        .map(|e| (e.record_type, e.id.as_str()))
        .collect();
    assert_eq!(ids.len(), expected.len(), "an id appears twice");
    let served: Value = get(
        &client(),
        &format!("{}_sandbox/expected?provider=github", sb.base_url()),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(served.as_array().map(Vec::len), Some(expected.len()));
    let unknown = client()
        .get(format!(
            "{}_sandbox/expected?provider=gitlub",
            sb.base_url()
        ))
        .send()
        .await
        .expect("answer");
    assert_eq!(unknown.status(), 400);
}

#[tokio::test]
async fn every_change_kind_has_a_signed_webhook_about_that_record() {
    let sb = start_default().await;
    let report = sb.mutate("github", 60).unwrap();
    let kinds: BTreeSet<&str> = report.changes.iter().map(|c| c.kind).collect();
    assert!(kinds.len() >= 5, "too few kinds to test: {kinds:?}");
    for change in &report.changes {
        let deliveries = sb.webhooks_for("github", std::slice::from_ref(change), "s3cret");
        let [delivery] = deliveries.as_slice() else {
            panic!("no single delivery for {change:?}");
        };
        let header = |name: &str| {
            delivery
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(
            header("x-hub-signature-256"),
            gwi_sandbox::github_signature(b"s3cret", &delivery.body)
        );
        let body: Value = serde_json::from_slice(&delivery.body).expect("json body");
        assert_eq!(body["repository"]["full_name"], change.scope.as_str());
        let text = String::from_utf8_lossy(&delivery.body);
        let needle = change.sha.clone().unwrap_or_else(|| change.id.to_string());
        assert!(
            text.contains(&needle),
            "{} delivery does not name {needle}",
            header("x-github-event")
        );
        assert!(
            text.contains(sb.base_url().as_str().trim_end_matches('/')),
            "URLs are not the sandbox's"
        );
    }
}

#[tokio::test]
async fn a_change_keeps_its_delivery_id_and_later_changes_get_new_ones() {
    let sb = start_default().await;
    let ids = |changes: &[gwi_sandbox::Change], provider: &str| -> Vec<String> {
        let deliveries = sb.webhooks_for(provider, changes, "s3cret");
        deliveries.into_iter().map(|d| d.id).collect()
    };
    for provider in gwi_sandbox::PROVIDERS {
        let first = sb.mutate(provider, 30).expect("mutate");
        let then = ids(&first.changes, provider);
        assert!(!then.is_empty(), "{provider}: no deliveries");
        let mut later = BTreeSet::new();
        for _ in 0..5 {
            let report = sb.mutate(provider, 30).expect("mutate");
            later.extend(ids(&report.changes, provider));
        }
        // Built again after later mutations (some to the same records), the first changes'
        // deliveries keep their ids, and no later change reuses one.
        assert_eq!(ids(&first.changes, provider), then, "{provider}");
        assert!(then.iter().all(|id| !later.contains(id)), "{provider}");
        assert_eq!(then.iter().collect::<BTreeSet<_>>().len(), then.len());
    }
}
