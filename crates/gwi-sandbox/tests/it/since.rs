#[allow(unused_imports)]
use crate::{JsonRequest as _, JsonResponse as _};
use serde_json::Value;

use crate::{client, get, start_default, walk};

fn stamp(v: &Value, key: &str) -> String {
    v[key].as_str().expect("timestamp").to_owned()
}

#[tokio::test]
async fn since_returns_exactly_the_records_updated_at_or_after_it() {
    let sb = start_default().await;
    let c = client();
    let base = sb.base_url();
    for (path, key) in [
        ("issues?state=all", "updated_at"),
        ("issues/comments", "updated_at"),
        ("pulls/comments", "updated_at"),
    ] {
        let sep = if path.contains('?') { '&' } else { '?' };
        let (all, _) = walk(
            &c,
            &format!("{base}repos/acme/widgets/{path}{sep}per_page=100"),
        )
        .await;
        let mut stamps: Vec<String> = all.iter().map(|v| stamp(v, key)).collect();
        stamps.sort();
        let cut = stamps[stamps.len() * 2 / 3].clone();
        // ISO 8601 UTC strings of equal length order like the instants they name.
        let want = stamps.iter().filter(|s| **s >= cut).count();
        let (got, _) = walk(
            &c,
            &format!("{base}repos/acme/widgets/{path}{sep}per_page=100&since={cut}"),
        )
        .await;
        assert_eq!(got.len(), want, "{path}");
        assert!(got.iter().all(|v| stamp(v, key) >= cut), "{path}");
    }
}

#[tokio::test]
async fn commits_since_filters_on_the_commit_date() {
    let sb = start_default().await;
    let c = client();
    let base = sb.base_url();
    let (all, _) = walk(
        &c,
        &format!("{base}repos/acme/gadgets/commits?per_page=100"),
    )
    .await;
    let dates: Vec<String> = all
        .iter()
        .map(|v| {
            v["commit"]["committer"]["date"]
                .as_str()
                .expect("date")
                .to_owned()
        })
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let cut = dates[dates.len() / 4].clone();
    let (got, _) = walk(
        &c,
        &format!("{base}repos/acme/gadgets/commits?per_page=100&since={cut}"),
    )
    .await;
    assert_eq!(got.len(), dates.iter().filter(|d| **d >= cut).count());
}

#[tokio::test]
async fn workflow_runs_created_filter_takes_a_lower_bound() {
    let sb = start_default().await;
    let c = client();
    let base = sb.base_url();
    let (all, _) = walk(
        &c,
        &format!("{base}repos/acme/widgets/actions/runs?per_page=100"),
    )
    .await;
    let created: Vec<String> = all.iter().map(|v| stamp(v, "created_at")).collect();
    let cut = created[created.len() / 3].clone();
    let url = format!("{base}repos/acme/widgets/actions/runs?per_page=100&created=%3E%3D{cut}");
    let first: Value = get(&c, &url).await.json().await.expect("json");
    let want = created.iter().filter(|c| **c >= cut).count();
    assert_eq!(first["total_count"], want);
    let (got, _) = walk(&c, &url).await;
    assert_eq!(got.len(), want);
}

#[tokio::test]
async fn a_malformed_since_is_refused_with_422() {
    let sb = start_default().await;
    let resp = get(
        &client(),
        &format!(
            "{}repos/acme/widgets/issues?since=last-tuesday",
            sb.base_url()
        ),
    )
    .await;
    assert_eq!(resp.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
}
