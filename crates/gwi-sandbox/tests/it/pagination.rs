#[allow(unused_imports)]
use crate::{JsonRequest as _, JsonResponse as _};
use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::{client, get, links, start_default, walk};

fn ids(items: &[Value], key: &str) -> Vec<String> {
    items.iter().map(|v| v[key].to_string()).collect()
}

fn assert_unique(ids: &[String], what: &str) {
    let set: HashSet<&String> = ids.iter().collect();
    assert_eq!(set.len(), ids.len(), "{what}: a record was served twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_endpoint_walks_each_record_exactly_once() {
    let sb = start_default().await;
    let c = client();
    let base = sb.base_url().as_str().trim_end_matches('/').to_owned();
    let counts = sb.github().counts();
    assert_eq!(counts.repos.len(), 2);
    for (repo, want) in &counts.repos {
        let cases = [
            ("issues?state=all", "id", want.issues_and_pulls),
            ("issues", "id", want.issues_and_pulls_open),
            ("pulls?state=all", "id", want.pulls),
            (
                "pulls?state=closed&sort=updated",
                "id",
                want.pulls - want.pulls_open,
            ),
            ("issues/comments", "id", want.issue_comments),
            ("pulls/comments", "id", want.review_comments),
            ("commits", "sha", want.commits),
            ("actions/runs", "id", want.workflow_runs),
        ];
        for (path, key, expected) in cases {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = format!("{base}/repos/{repo}/{path}{sep}per_page=37");
            let (items, pages) = walk(&c, &url).await;
            let got = ids(&items, key);
            assert_unique(&got, path);
            assert_eq!(got.len(), expected, "{repo} {path}");
            assert_eq!(pages, expected.div_ceil(37).max(1), "{repo} {path}");
        }
        if repo != "acme/widgets" {
            // One repository is enough for the per-pull-request endpoint (and keeps this fast).
            continue;
        }
        let mut reviews = 0;
        for n in sb.github().pull_numbers(repo) {
            let (items, _) = walk(&c, &format!("{base}/repos/{repo}/pulls/{n}/reviews")).await;
            assert!(items.iter().all(|r| {
                r["pull_request_url"]
                    .as_str()
                    .is_some_and(|u| u.ends_with(&format!("/pulls/{n}")))
            }));
            reviews += items.len();
        }
        assert_eq!(reviews, want.reviews, "{repo} reviews");
    }
}

#[tokio::test]
async fn issues_include_pull_requests_marked_with_a_pull_request_key() {
    let sb = start_default().await;
    let c = client();
    let url = format!(
        "{}repos/acme/widgets/issues?state=all&per_page=100",
        sb.base_url()
    );
    let (items, _) = walk(&c, &url).await;
    let prs = items
        .iter()
        .filter(|i| i.get("pull_request").is_some())
        .count();
    assert_eq!(prs, sb.github().counts().repos["acme/widgets"].pulls);
    let pr = items
        .iter()
        .find(|i| i.get("pull_request").is_some())
        .expect("a pull request");
    assert!(
        pr["pull_request"]["url"]
            .as_str()
            .is_some_and(|u| u.contains("/pulls/"))
    );
    assert!(pr["draft"].is_boolean());
}

#[tokio::test]
async fn objects_have_githubs_nested_shapes() {
    let sb = start_default().await;
    let c = client();
    let resp = get(
        &c,
        &format!(
            "{}repos/acme/gadgets/pulls?state=all&per_page=5",
            sb.base_url()
        ),
    )
    .await;
    let pulls: Vec<Value> = resp.json().await.expect("json");
    let pr = &pulls[0];
    for key in [
        "url",
        "html_url",
        "node_id",
        "number",
        "state",
        "title",
        "user",
        "labels",
        "assignees",
        "head",
        "base",
        "created_at",
        "updated_at",
        "closed_at",
        "merged_at",
        "draft",
        "_links",
    ] {
        assert!(pr.get(key).is_some(), "pull missing {key}");
    }
    assert!(pr["user"]["login"].is_string() && pr["user"]["id"].is_u64());
    assert!(pr["head"]["ref"].is_string() && pr["head"]["sha"].is_string());
    assert_eq!(pr["base"]["repo"]["full_name"], "acme/gadgets");
    assert!(
        pr["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(sb.base_url().as_str().trim_end_matches('/')))
    );
    let ts = pr["created_at"].as_str().expect("timestamp");
    assert_eq!(ts.len(), 20, "{ts}");
    assert!(ts.ends_with('Z'));

    let resp = get(
        &c,
        &format!(
            "{}repos/acme/gadgets/actions/runs?per_page=2",
            sb.base_url()
        ),
    )
    .await;
    let runs: Value = resp.json().await.expect("json");
    assert_eq!(
        runs["total_count"],
        sb.github().counts().repos["acme/gadgets"].workflow_runs
    );
    assert_eq!(runs["workflow_runs"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn link_header_names_first_prev_next_last_with_absolute_urls() {
    let sb = start_default().await;
    let c = client();
    let url = format!(
        "{}repos/acme/widgets/issues?state=all&per_page=10&page=2",
        sb.base_url()
    );
    let resp = get(&c, &url).await;
    let l = links(&resp);
    let host = format!("http://{}", sb.addr());
    for rel in ["first", "prev", "next", "last"] {
        let u = l.get(rel).unwrap_or_else(|| panic!("missing rel={rel}"));
        assert!(u.starts_with(&host), "{u}");
        assert!(u.contains("state=all") && u.contains("per_page=10"), "{u}");
    }
    assert!(l["prev"].ends_with("page=1") && l["next"].ends_with("page=3"));
    let first = get(
        &c,
        &format!(
            "{}repos/acme/widgets/issues?state=all&per_page=10",
            sb.base_url()
        ),
    )
    .await;
    let l = links(&first);
    assert!(l.contains_key("next") && l.contains_key("last"));
    assert!(!l.contains_key("prev") && !l.contains_key("first"));
}

#[tokio::test]
async fn enterprise_prefix_serves_the_same_records() {
    let sb = start_default().await;
    let c = client();
    let url = format!(
        "{}repos/acme/widgets/pulls?state=all&per_page=50",
        sb.enterprise_base_url()
    );
    let first = get(&c, &url).await;
    assert!(links(&first)["next"].contains("/api/v3/repos/acme/widgets/pulls"));
    let body: Vec<Value> = first.json().await.expect("json");
    assert!(
        body[0]["url"]
            .as_str()
            .is_some_and(|u| u.contains("/api/v3/repos/"))
    );
    let (items, _) = walk(&c, &url).await;
    assert_eq!(
        items.len(),
        sb.github().counts().repos["acme/widgets"].pulls
    );
    let user = get(&c, &format!("{}user", sb.enterprise_base_url())).await;
    assert_eq!(user.status(), StatusCode::OK);
}

#[tokio::test]
async fn per_page_is_capped_at_100_and_defaults_to_30() {
    let sb = start_default().await;
    let c = client();
    let big: Vec<Value> = get(
        &c,
        &format!(
            "{}repos/acme/widgets/issues?state=all&per_page=500",
            sb.base_url()
        ),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(big.len(), 100);
    let default: Vec<Value> = get(
        &c,
        &format!("{}repos/acme/widgets/issues?state=all", sb.base_url()),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(default.len(), 30);
}

#[tokio::test]
async fn unknown_repositories_and_paths_are_404_with_githubs_json() {
    let sb = start_default().await;
    let c = client();
    for path in [
        "repos/acme/nope/issues",
        "repos/other/widgets/pulls",
        "repos/acme/widgets/pulls/99999/reviews",
        "nothing/here",
    ] {
        let resp = get(&c, &format!("{}{path}", sb.base_url())).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["message"], "Not Found");
    }
}

#[tokio::test]
async fn same_seed_serves_identical_pages_and_another_seed_does_not() {
    use gwi_sandbox::SandboxConfig;
    let a = crate::start(SandboxConfig {
        seed: 11,
        ..SandboxConfig::default()
    })
    .await;
    let b = crate::start(SandboxConfig {
        seed: 11,
        ..SandboxConfig::default()
    })
    .await;
    let d = crate::start(SandboxConfig {
        seed: 12,
        ..SandboxConfig::default()
    })
    .await;
    let c = client();
    let page = |sb: &gwi_sandbox::SandboxHandle| {
        format!("{}repos/acme/widgets/commits?per_page=5", sb.base_url())
    };
    let shas = |v: Vec<Value>| v.iter().map(|x| x["sha"].to_string()).collect::<Vec<_>>();
    let pa = shas(get(&c, &page(&a)).await.json().await.expect("json"));
    let pb = shas(get(&c, &page(&b)).await.json().await.expect("json"));
    let pd = shas(get(&c, &page(&d)).await.json().await.expect("json"));
    assert_eq!(pa, pb);
    assert_ne!(pa, pd);
}
