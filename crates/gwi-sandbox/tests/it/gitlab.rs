//! The GitLab module: its paths, paging headers, filters, auth wording, webhooks and the
//! expected set, as a GitLab client sees them.

use std::collections::BTreeSet;

use gwi_sandbox::{ChangeAction, FaultConfig, Sandbox, SandboxConfig, SandboxError};
use reqwest::StatusCode;
use serde_json::Value;

use super::{JsonResponse, client, get, start_default, walk};

fn api(sandbox: &gwi_sandbox::SandboxHandle, path: &str) -> String {
    format!("{}gitlab/api/v4/{path}", sandbox.base_url())
}

#[tokio::test]
async fn pages_carry_link_and_x_headers_and_cover_every_item_once() {
    let sandbox = start_default().await;
    let c = client();
    let url = api(
        &sandbox,
        "projects/acme%2Fwidgets/merge_requests?per_page=7&order_by=updated_at&sort=asc",
    );
    let first = get(&c, &url).await;
    assert_eq!(first.status(), StatusCode::OK);
    let h = first.headers().clone();
    let header = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(
        (
            header("x-page"),
            header("x-per-page"),
            header("x-next-page")
        ),
        ("1".into(), "7".into(), "2".into())
    );
    assert_eq!(header("x-prev-page"), "");
    assert_eq!(header("ratelimit-name"), "throttle_authenticated_api");
    assert!(!header("ratelimit-remaining").is_empty());
    let total: usize = header("x-total").parse().unwrap();

    let (items, pages) = walk(&c, &url).await;
    assert_eq!(items.len(), total);
    assert_eq!(pages, total.div_ceil(7));
    let ids: BTreeSet<u64> = items.iter().filter_map(|i| i["id"].as_u64()).collect();
    assert_eq!(ids.len(), total, "no item twice");
    let times: Vec<&str> = items
        .iter()
        .filter_map(|i| i["updated_at"].as_str())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "ascending by updated_at"
    );
    assert!(
        times.iter().all(|t| t.ends_with(".000Z")),
        "GitLab's millisecond form"
    );
    let numeric = get(
        &c,
        &api(&sandbox, "projects/101/merge_requests?per_page=100"),
    )
    .await;
    assert_eq!(
        numeric.headers()["x-total"].to_str().unwrap(),
        total.to_string(),
        "by id or by path"
    );
}

#[tokio::test]
async fn issues_page_by_keyset_when_asked_and_other_listings_ignore_it() {
    let sandbox = start_default().await;
    let c = client();
    let query = "per_page=7&order_by=updated_at&sort=asc&state=all";
    let offset = api(&sandbox, &format!("projects/acme%2Fwidgets/issues?{query}"));
    let keyset = format!("{offset}&pagination=keyset");
    let first = get(&c, &keyset).await;
    assert!(first.headers().get("x-page").is_none(), "no page numbers");
    assert!(first.headers().get("x-total").is_none());
    let next = first.headers()["link"].to_str().unwrap().to_owned();
    assert!(
        next.contains("cursor=") && next.contains("rel=\"next\""),
        "{next}"
    );

    let (by_offset, _) = walk(&c, &offset).await;
    let (by_keyset, pages) = walk(&c, &keyset).await;
    assert_eq!(by_keyset, by_offset, "the same items in the same order");
    assert_eq!(pages, by_offset.len().div_ceil(7));
    let keys: Vec<(String, u64)> = by_keyset
        .iter()
        .map(|i| {
            (
                i["updated_at"].as_str().unwrap().to_owned(),
                i["id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "ordered by time, then id"
    );

    let bad = get(&c, &format!("{keyset}&cursor=not-ours")).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let mrs = api(
        &sandbox,
        &format!("projects/acme%2Fwidgets/merge_requests?{query}&pagination=keyset"),
    );
    assert_eq!(get(&c, &mrs).await.headers()["x-page"], "1");
}

#[tokio::test]
async fn updated_after_lists_exactly_what_changed_at_or_after_it() {
    let sandbox = start_default().await;
    let c = client();
    let report = sandbox.mutate("gitlab", 30).unwrap();
    let at = report.at.to_string();
    let url = api(
        &sandbox,
        &format!("projects/acme%2Fwidgets/issues?updated_after={at}&per_page=100"),
    );
    let (issues, _) = walk(&c, &url).await;
    let changed: BTreeSet<u64> = report
        .changes
        .iter()
        .filter(|ch| ch.kind == "issue" && ch.scope == "acme/widgets")
        .map(|ch| ch.id)
        .collect();
    let listed: BTreeSet<u64> = issues.iter().filter_map(|i| i["id"].as_u64()).collect();
    assert_eq!(listed, changed, "exactly the issues changed at {at}");
    for note in report.changes.iter().filter(|ch| ch.kind == "note") {
        let parent_kind = if report
            .changes
            .iter()
            .any(|p| p.kind == "issue" && p.scope == note.scope)
        {
            "issue"
        } else {
            "merge_request"
        };
        assert!(
            report
                .changes
                .iter()
                .any(|p| p.scope == note.scope && (p.kind == "issue" || p.kind == "merge_request")),
            "a new note's {parent_kind} is reported changed too"
        );
    }
    let bad = get(
        &c,
        &api(&sandbox, "projects/101/issues?updated_after=yesterday"),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn groups_list_their_subgroups_projects_only_when_asked() {
    let sandbox = start_default().await;
    let c = client();
    let paths = |items: Vec<Value>| -> Vec<String> {
        items
            .iter()
            .filter_map(|p| p["path_with_namespace"].as_str().map(str::to_owned))
            .collect()
    };
    let (direct, _) = walk(&c, &api(&sandbox, "groups/acme-platform/projects")).await;
    assert_eq!(paths(direct), vec!["acme-platform/api"]);
    let (all, _) = walk(
        &c,
        &api(&sandbox, "groups/200/projects?include_subgroups=true"),
    )
    .await;
    assert_eq!(
        paths(all),
        vec!["acme-platform/api", "acme-platform/tools/cli"]
    );
    let missing = get(&c, &api(&sandbox, "groups/nobody/projects")).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["message"], "404 Group Not Found");
}

#[tokio::test]
async fn tokens_go_in_private_token_or_bearer_and_refusals_use_gitlabs_words() {
    let sandbox = start_default().await;
    let c = client();
    let url = api(&sandbox, "user");
    let by_header = c
        .get(&url)
        .header("PRIVATE-TOKEN", "gwi-sandbox-x")
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), StatusCode::OK);
    let me: Value = by_header.json().await.unwrap();
    assert_eq!(me["id"], 1);
    for request in [
        c.get(&url),
        c.get(&url).header("PRIVATE-TOKEN", "glpat-wrong"),
    ] {
        let refused = request.send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"message": "401 Unauthorized"}));
    }
}

#[tokio::test]
async fn injected_rate_limits_answer_retry_later_in_plain_text() {
    let sandbox = start_default().await;
    sandbox
        .set_faults("429=1.0".parse::<FaultConfig>().unwrap())
        .unwrap();
    let resp = get(&client(), &api(&sandbox, "projects/101/pipelines")).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "1");
    assert!(resp.headers().contains_key("ratelimit-resettime"));
    assert_eq!(resp.text().await.unwrap().trim(), "Retry later");
}

#[tokio::test]
async fn the_expected_set_is_what_the_listings_serve() {
    let sandbox = start_default().await;
    let c = client();
    let expected = sandbox.expected("gitlab");
    let mut served = BTreeSet::new();
    for (id, path) in [
        (101, "acme/widgets"),
        (102, "acme-platform/api"),
        (103, "acme-platform/tools/cli"),
    ] {
        for (kind, prefix) in [
            ("merge_requests", "mr"),
            ("issues", "issue"),
            ("pipelines", "pipeline"),
        ] {
            let (items, _) = walk(
                &c,
                &api(&sandbox, &format!("projects/{id}/{kind}?per_page=100")),
            )
            .await;
            for item in items {
                served.insert((
                    path.to_owned(),
                    format!("{prefix}-{}", item["id"]),
                    item["updated_at"].as_str().unwrap().replace(".000Z", "Z"),
                ));
                if kind == "pipelines" {
                    continue;
                }
                let notes = format!("projects/{id}/{kind}/{}/notes?per_page=100", item["iid"]);
                for note in walk(&c, &api(&sandbox, &notes)).await.0 {
                    assert!(
                        note["updated_at"].as_str() <= item["updated_at"].as_str(),
                        "a parent is as new as its notes"
                    );
                    served.insert((
                        path.to_owned(),
                        format!("note-{}", note["id"]),
                        note["updated_at"].as_str().unwrap().replace(".000Z", "Z"),
                    ));
                }
            }
        }
        let (commits, _) = walk(
            &c,
            &api(
                &sandbox,
                &format!("projects/{id}/repository/commits?per_page=100"),
            ),
        )
        .await;
        for commit in commits {
            served.insert((
                path.to_owned(),
                format!("commit-{id}-{}", commit["id"].as_str().unwrap()),
                commit["committed_date"]
                    .as_str()
                    .unwrap()
                    .replace(".000Z", "Z"),
            ));
        }
    }
    let wanted: BTreeSet<(String, String, String)> = expected
        .iter()
        .map(|e| (e.scope.clone(), e.id.clone(), e.updated_at.to_string()))
        .collect();
    assert_eq!(served, wanted);
    assert!(expected.iter().any(|e| e.record_type == "note"));
}

#[tokio::test]
async fn every_change_but_pipelines_and_deletions_has_a_hook_with_the_token_and_a_stable_id() {
    let sandbox = start_default().await;
    let report = sandbox.mutate("gitlab", 40).unwrap();
    assert!(report.deleted > 0, "40 changes include deletions");
    let hooks = sandbox.webhooks_for("gitlab", &report.changes, "s3cret");
    let sent = report
        .changes
        .iter()
        .filter(|c| c.kind != "pipeline" && c.action != ChangeAction::Deleted)
        .count();
    assert_eq!(hooks.len(), sent);
    let mut events = BTreeSet::new();
    for hook in &hooks {
        let header = |name: &str| {
            hook.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(header("x-gitlab-token").as_deref(), Some("s3cret"));
        assert_eq!(header("idempotency-key"), header("x-gitlab-event-uuid"));
        let body: Value = serde_json::from_slice(&hook.body).unwrap();
        let event = header("x-gitlab-event").unwrap();
        let kind = body["object_kind"].as_str().unwrap().to_owned();
        assert_eq!(
            event,
            format!(
                "{} Hook",
                match kind.as_str() {
                    "merge_request" => "Merge Request",
                    "issue" => "Issue",
                    "note" => "Note",
                    _ => "Push",
                }
            )
        );
        if kind != "push" {
            let updated = body["object_attributes"]["updated_at"].as_str().unwrap();
            assert!(updated.ends_with(" UTC"), "hook time form: {updated}");
        }
        events.insert(event);
    }
    assert!(events.len() >= 3, "{events:?}");
    let again = sandbox.webhooks_for("gitlab", &report.changes, "s3cret");
    assert_eq!(
        again, hooks,
        "the same change, the same delivery (ids included)"
    );
}

#[tokio::test]
async fn one_provider_can_be_served_alone_and_unknown_ones_are_refused() {
    let sandbox = Sandbox::start(SandboxConfig {
        providers: vec!["gitlab".into()],
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let c = client();
    assert_eq!(
        get(&c, &api(&sandbox, "version")).await.status(),
        StatusCode::OK
    );
    let github = get(&c, &format!("{}repos/acme/widgets", sandbox.base_url())).await;
    assert_eq!(github.status(), StatusCode::NOT_FOUND);
    assert!(sandbox.expected("github").is_empty());
    let Err(SandboxError::UnknownProvider(name, known)) = Sandbox::start(SandboxConfig {
        providers: vec!["gitlub".into()],
        ..SandboxConfig::default()
    })
    .await
    else {
        panic!("an unknown provider was accepted");
    };
    assert_eq!(
        (name.as_str(), known.as_str()),
        ("gitlub", "github, gitlab, slack, linear, jira")
    );
}

#[tokio::test]
async fn github_is_served_under_its_prefix_too_with_links_that_stay_there() {
    let sandbox = start_default().await;
    let c = client();
    let url = format!(
        "{}github/repos/acme/widgets/issues?per_page=5",
        sandbox.base_url()
    );
    let first = get(&c, &url).await;
    assert_eq!(first.status(), StatusCode::OK);
    let next = super::links(&first).remove("next").unwrap_or_default();
    assert!(
        next.starts_with(&format!("{}github/repos/", sandbox.base_url())),
        "{next}"
    );
    let body: Vec<Value> = first.json().await.unwrap();
    let api_url = body[0]["url"].as_str().unwrap_or_default();
    assert!(
        api_url.contains("/github/repos/acme/widgets/issues/"),
        "{api_url}"
    );
}

#[tokio::test]
async fn deleted_objects_vanish_from_listings_unannounced_and_are_expected_as_tombstones() {
    let sandbox = start_default().await;
    assert!(!sandbox.announces_deletions("gitlab"));
    assert!(sandbox.announces_deletions("github"));
    let mut deleted = Vec::new();
    while deleted.is_empty() {
        let report = sandbox.mutate("gitlab", 20).unwrap();
        deleted.extend(
            report
                .changes
                .into_iter()
                .filter(|c| c.action == ChangeAction::Deleted),
        );
    }
    let c = client();
    let expected = sandbox.expected("gitlab");
    for change in &deleted {
        let (path, id) = (change.scope.replace('/', "%2F"), change.id);
        let listing = match change.kind {
            "merge_request" => "merge_requests",
            "issue" => "issues",
            _ => "notes",
        };
        if listing != "notes" {
            let (items, _) = walk(
                &c,
                &api(&sandbox, &format!("projects/{path}/{listing}?per_page=100")),
            )
            .await;
            assert!(
                !items.iter().any(|i| i["id"].as_u64() == Some(id)),
                "deleted {} {id} is still listed",
                change.kind
            );
        }
        let prefix = match change.kind {
            "merge_request" => "mr",
            other => other,
        };
        let tombstone = expected
            .iter()
            .find(|e| e.id == format!("{prefix}-{id}"))
            .unwrap_or_else(|| panic!("{} {id} is not in the expected set", change.kind));
        assert!(tombstone.deleted, "{} {id} is expected live", change.kind);
    }
    assert!(
        sandbox
            .webhooks_for("gitlab", &deleted, "s3cret")
            .is_empty(),
        "GitLab sends no hook for a deletion"
    );
}
