//! The benchmark upstream: a GitHub-shaped REST API serving pre-rendered pull request pages.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde::Serialize;

use crate::github::{Detail, RepoContext, repository, user};
use crate::pages::{ListQuery, PullPages};
use crate::shape::Shape;

/// The rate-limit budget advertised, large enough that no client ever waits.
pub const RATE_LIMIT: u64 = 1_000_000_000;

/// Request counters, read by the benchmark script through `GET /__bench/stats`.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    pull_pages: AtomicU64,
    pull_records: AtomicU64,
    body_bytes: AtomicU64,
    not_found: AtomicU64,
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Requests answered, of any kind (stats requests excluded).
    pub requests: u64,
    /// Pull request list pages answered.
    pub pull_pages: u64,
    /// Pull request records in those pages.
    pub pull_records: u64,
    /// Body bytes sent.
    pub body_bytes: u64,
    /// Requests answered 404 (a client asking for something this upstream does not serve).
    pub not_found: u64,
}

impl Stats {
    /// The current counter values.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            pull_pages: self.pull_pages.load(Ordering::Relaxed),
            pull_records: self.pull_records.load(Ordering::Relaxed),
            body_bytes: self.body_bytes.load(Ordering::Relaxed),
            not_found: self.not_found.load(Ordering::Relaxed),
        }
    }
}

/// Everything the upstream serves, built once before it listens.
#[derive(Debug)]
pub struct Upstream {
    base_url: String,
    owner: String,
    name: String,
    pulls: PullPages,
    user: Bytes,
    repo: Bytes,
    reset_epoch: String,
    stats: Stats,
}

impl Upstream {
    /// Renders `records` pull requests of `owner/name` in `shape`; `base_url` is where clients
    /// reach us (links and `url` fields are absolute, as GitHub's are).
    pub fn new(base_url: &str, owner: &str, name: &str, records: usize, shape: &Shape) -> Self {
        let base_url = base_url.trim_end_matches('/').to_owned();
        let ctx = RepoContext::new(owner, name, &base_url);
        let pulls = PullPages::render(records, &ctx, shape);
        let user = serde_json::to_vec(&user("bench-bot", 4_242, &ctx, Detail::Webhook))
            .unwrap_or_default();
        let repo = serde_json::to_vec(&repository(&ctx, Detail::Webhook)).unwrap_or_default();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Self {
            base_url,
            owner: owner.to_owned(),
            name: name.to_owned(),
            pulls,
            user: Bytes::from(user),
            repo: Bytes::from(repo),
            reset_epoch: (now + 3_600).to_string(),
            stats: Stats::default(),
        }
    }

    /// The pre-rendered pull request pages.
    pub fn pulls(&self) -> &PullPages {
        &self.pulls
    }

    /// The request counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    fn is_repo(&self, owner: &str, name: &str) -> bool {
        owner.eq_ignore_ascii_case(&self.owner) && name.eq_ignore_ascii_case(&self.name)
    }

    fn headers(&self) -> HeaderMap {
        let used = self.stats.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let mut h = HeaderMap::with_capacity(10);
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        h.insert(
            HeaderName::from_static("x-github-media-type"),
            HeaderValue::from_static("github.v3; format=json"),
        );
        h.insert(
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderValue::from(RATE_LIMIT),
        );
        h.insert(
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderValue::from(RATE_LIMIT.saturating_sub(used)),
        );
        h.insert(
            HeaderName::from_static("x-ratelimit-used"),
            HeaderValue::from(used),
        );
        if let Ok(v) = HeaderValue::from_str(&self.reset_epoch) {
            h.insert(HeaderName::from_static("x-ratelimit-reset"), v);
        }
        h.insert(
            HeaderName::from_static("x-ratelimit-resource"),
            HeaderValue::from_static("core"),
        );
        h
    }

    fn json(&self, status: StatusCode, mut headers: HeaderMap, body: Bytes) -> Response {
        self.stats
            .body_bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        if let Ok(v) = HeaderValue::from_str(&body.len().to_string()) {
            headers.insert(header::CONTENT_LENGTH, v);
        }
        (status, headers, body).into_response()
    }

    fn not_found(&self) -> Response {
        self.stats.not_found.fetch_add(1, Ordering::Relaxed);
        self.json(
            StatusCode::NOT_FOUND,
            self.headers(),
            Bytes::from_static(
                br#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest","status":"404"}"#,
            ),
        )
    }
}

type Shared = State<Arc<Upstream>>;

/// The upstream's routes: `/user`, `/rate_limit`, `/repos/{owner}/{repo}` and its list
/// endpoints, plus `/__bench/stats` for the benchmark script and `POST /__bench/sink`, a
/// receiver that reads the body and answers 202 (the webhook load generator's ceiling).
pub fn router(upstream: Arc<Upstream>) -> Router {
    Router::new()
        .route("/user", get(get_user))
        .route("/rate_limit", get(rate_limit))
        .route("/repos/{owner}/{repo}", get(get_repo))
        .route("/repos/{owner}/{repo}/pulls", get(list_pulls))
        .route("/repos/{owner}/{repo}/issues", get(empty_list))
        .route("/repos/{owner}/{repo}/issues/comments", get(empty_list))
        .route("/repos/{owner}/{repo}/pulls/comments", get(empty_list))
        .route("/repos/{owner}/{repo}/commits", get(empty_list))
        .route(
            "/repos/{owner}/{repo}/pulls/{number}/reviews",
            get(empty_nested),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{number}/comments",
            get(empty_nested),
        )
        .route(
            "/repos/{owner}/{repo}/issues/{number}/comments",
            get(empty_nested),
        )
        .route("/repos/{owner}/{repo}/actions/runs", get(workflow_runs))
        .route("/__bench/stats", get(stats))
        .route("/__bench/sink", axum::routing::post(sink))
        .fallback(fallback)
        .with_state(upstream)
}

async fn get_user(State(up): Shared) -> Response {
    up.json(StatusCode::OK, up.headers(), up.user.clone())
}

async fn rate_limit(State(up): Shared) -> Response {
    let core = serde_json::json!({
        "limit": RATE_LIMIT, "remaining": RATE_LIMIT, "used": 0,
        "reset": up.reset_epoch.parse::<u64>().unwrap_or(0), "resource": "core",
    });
    let body = serde_json::json!({ "resources": { "core": core }, "rate": core });
    up.json(StatusCode::OK, up.headers(), Bytes::from(body.to_string()))
}

async fn get_repo(State(up): Shared, Path((owner, repo)): Path<(String, String)>) -> Response {
    if !up.is_repo(&owner, &repo) {
        return up.not_found();
    }
    up.json(StatusCode::OK, up.headers(), up.repo.clone())
}

async fn list_pulls(
    State(up): Shared,
    Path((owner, repo)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    uri: Uri,
) -> Response {
    if !up.is_repo(&owner, &repo) {
        return up.not_found();
    }
    let q = ListQuery::parse(query.as_deref());
    let last = up.pulls.last_page(q.per_page);
    let body = up.pulls.page(q.page, q.per_page);
    let served = up
        .pulls
        .records()
        .saturating_sub((q.page - 1).saturating_mul(q.per_page))
        .min(q.per_page);
    up.stats.pull_pages.fetch_add(1, Ordering::Relaxed);
    up.stats
        .pull_records
        .fetch_add(served as u64, Ordering::Relaxed);
    let mut headers = up.headers();
    if let Some(link) = q.link_header(&up.base_url, uri.path(), last)
        && let Ok(v) = HeaderValue::from_str(&link)
    {
        headers.insert(header::LINK, v);
    }
    up.json(StatusCode::OK, headers, body)
}

async fn empty_list(State(up): Shared, Path((owner, repo)): Path<(String, String)>) -> Response {
    if !up.is_repo(&owner, &repo) {
        return up.not_found();
    }
    up.json(StatusCode::OK, up.headers(), Bytes::from_static(b"[]"))
}

async fn empty_nested(
    State(up): Shared,
    Path((owner, repo, _number)): Path<(String, String, u64)>,
) -> Response {
    if !up.is_repo(&owner, &repo) {
        return up.not_found();
    }
    up.json(StatusCode::OK, up.headers(), Bytes::from_static(b"[]"))
}

async fn workflow_runs(State(up): Shared, Path((owner, repo)): Path<(String, String)>) -> Response {
    if !up.is_repo(&owner, &repo) {
        return up.not_found();
    }
    up.json(
        StatusCode::OK,
        up.headers(),
        Bytes::from_static(br#"{"total_count":0,"workflow_runs":[]}"#),
    )
}

async fn stats(State(up): Shared) -> Response {
    let body = serde_json::to_vec(&up.stats.snapshot()).unwrap_or_default();
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (StatusCode::OK, h, body).into_response()
}

async fn sink(body: Bytes) -> StatusCode {
    // Reading the whole body is all a receiver must do at least; nothing else happens here.
    std::hint::black_box(body.len());
    StatusCode::ACCEPTED
}

async fn fallback(State(up): Shared, uri: Uri) -> Response {
    // Seeing which path a client wanted is the quickest way to fix a mismatch; the first few
    // are enough, and logging every one would make the upstream slow.
    if up.stats.not_found.load(Ordering::Relaxed) < 20 {
        eprintln!("gwi-bench-upstream: 404 for {uri}");
    }
    up.not_found()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn app(records: usize) -> (Arc<Upstream>, Router) {
        let up = Arc::new(Upstream::new(
            "http://127.0.0.1:9",
            "acme",
            "widgets",
            records,
            &Shape::default(),
        ));
        (up.clone(), router(up))
    }

    async fn get_path(app: Router, path: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let res = app
            .oneshot(Request::get(path).body(Body::empty()).unwrap_or_default())
            .await;
        let Ok(res) = res;
        let status = res.status();
        let headers = res.headers().clone();
        let body = res
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        (status, headers, body)
    }

    #[tokio::test]
    async fn pulls_page_carries_absolute_next_and_last_links() {
        let (_, app) = app(250);
        let (status, headers, body) = get_path(
            app,
            "/repos/acme/widgets/pulls?state=all&sort=updated&direction=desc&per_page=100",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let link = headers
            .get(header::LINK)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(
            link,
            "<http://127.0.0.1:9/repos/acme/widgets/pulls?state=all&sort=updated&direction=desc&per_page=100&page=2>; rel=\"next\", \
             <http://127.0.0.1:9/repos/acme/widgets/pulls?state=all&sort=updated&direction=desc&per_page=100&page=3>; rel=\"last\""
        );
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(v.as_array().map(Vec::len), Some(100));
        assert_eq!(
            headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()),
            Some(body.len().to_string().as_str())
        );
    }

    #[tokio::test]
    async fn responses_advertise_a_huge_rate_limit() {
        let (_, app) = app(1);
        let (_, headers, _) = get_path(app, "/user").await;
        let remaining: u64 = headers
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        assert!(remaining > 1_000_000);
        assert!(headers.contains_key("x-ratelimit-reset"));
    }

    #[tokio::test]
    async fn user_answers_a_login() {
        let (_, app) = app(1);
        let (status, _, body) = get_path(app, "/user").await;
        assert_eq!(status, StatusCode::OK);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(v["login"], "bench-bot");
    }

    #[tokio::test]
    async fn other_list_endpoints_are_empty() {
        let (_, app) = app(5);
        for path in [
            "/repos/acme/widgets/issues?state=all&per_page=100",
            "/repos/acme/widgets/issues/comments",
            "/repos/acme/widgets/pulls/comments",
            "/repos/acme/widgets/commits",
            "/repos/acme/widgets/pulls/3/reviews",
        ] {
            let (status, _, body) = get_path(app.clone(), path).await;
            assert_eq!(
                (status, body.as_slice()),
                (StatusCode::OK, &b"[]"[..]),
                "{path}"
            );
        }
        let (status, _, body) = get_path(app, "/repos/acme/widgets/actions/runs").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, br#"{"total_count":0,"workflow_runs":[]}"#);
    }

    #[tokio::test]
    async fn unknown_repository_is_not_found() {
        let (up, app) = app(5);
        let (status, _, _) = get_path(app, "/repos/other/repo/pulls").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(up.stats().snapshot().not_found, 1);
    }

    #[tokio::test]
    async fn sink_accepts_posted_bodies() {
        let (_, app) = app(1);
        let res = app
            .oneshot(
                Request::post("/__bench/sink")
                    .body(Body::from("{}"))
                    .unwrap_or_default(),
            )
            .await;
        let Ok(res) = res;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }

    #[tokio::test]
    async fn stats_count_records_served() {
        let (up, app) = app(150);
        get_path(app.clone(), "/repos/acme/widgets/pulls?per_page=100").await;
        get_path(app, "/repos/acme/widgets/pulls?per_page=100&page=2").await;
        let s = up.stats().snapshot();
        assert_eq!((s.pull_pages, s.pull_records), (2, 150));
    }
}
