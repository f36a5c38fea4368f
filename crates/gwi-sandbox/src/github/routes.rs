//! HTTP handlers for the simulated GitHub REST API.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Serialize;

use super::GitHub;
use super::listing::{Endpoint, InvalidParam, ListQuery};
use super::views::{AuthenticatedUserView, Base, IssueView, PullView, RepoView};
use crate::core::auth::{Refusal, bearer_token};
use crate::core::page::{PageParams, link_header, origin, parse_query};
use crate::core::rate_limit::RateLimitStatus;

const DOCS: &str = "https://docs.github.com/rest";

/// State for one mounting of the routes: `mount` is where the provider is served (`""` or
/// `"/github"`), `prefix` the API's path under it (`""` or `"/api/v3"`).
#[derive(Clone)]
struct Ctx {
    gh: Arc<GitHub>,
    mount: Arc<str>,
    prefix: &'static str,
}

/// The GitHub routes under `mount`, at its root and again under `/api/v3`.
pub fn router(gh: Arc<GitHub>, mount: &str) -> Router {
    let mount_path: Arc<str> = Arc::from(mount);
    let mount = |prefix: &'static str| {
        Router::new()
            .route("/user", get(user))
            .route("/rate_limit", get(rate_limit))
            .route("/repos/{owner}/{repo}", get(repo))
            .route("/repos/{owner}/{repo}/pulls", repo_list(Endpoint::Pulls))
            .route(
                "/repos/{owner}/{repo}/pulls/comments",
                repo_list(Endpoint::ReviewComments),
            )
            .route("/repos/{owner}/{repo}/pulls/{number}", get(pull))
            .route("/repos/{owner}/{repo}/pulls/{number}/reviews", get(reviews))
            .route("/repos/{owner}/{repo}/issues", repo_list(Endpoint::Issues))
            .route(
                "/repos/{owner}/{repo}/issues/comments",
                repo_list(Endpoint::IssueComments),
            )
            .route("/repos/{owner}/{repo}/issues/{number}", get(issue))
            .route(
                "/repos/{owner}/{repo}/commits",
                repo_list(Endpoint::Commits),
            )
            .route(
                "/repos/{owner}/{repo}/actions/runs",
                repo_list(Endpoint::Runs),
            )
            .with_state(Ctx {
                gh: Arc::clone(&gh),
                mount: Arc::clone(&mount_path),
                prefix,
            })
    };
    mount("").nest("/api/v3", mount("/api/v3"))
}

/// GitHub's error body: `{"message", "documentation_url", "status"}`.
pub fn error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({
        "message": message,
        "documentation_url": DOCS,
        "status": status.as_u16().to_string(),
    });
    (status, axum::Json(body)).into_response()
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found")
}

fn validation_failed(InvalidParam(field): InvalidParam) -> Response {
    let body = serde_json::json!({
        "message": "Validation Failed",
        "errors": [{ "resource": "Search", "field": field, "code": "invalid" }],
        "documentation_url": DOCS,
        "status": "422",
    });
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}

fn add_rate_headers(headers: &mut HeaderMap, rl: &RateLimitStatus) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(rl.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(rl.remaining));
    headers.insert("x-ratelimit-used", HeaderValue::from(rl.used));
    headers.insert("x-ratelimit-reset", HeaderValue::from(rl.reset));
    headers.insert("x-ratelimit-resource", HeaderValue::from_static("core"));
}

/// GitHub's wording of a refusal.
fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::NoToken => error(StatusCode::UNAUTHORIZED, "Requires authentication"),
        Refusal::BadToken => error(StatusCode::UNAUTHORIZED, "Bad credentials"),
        Refusal::RateLimited(rl) => {
            let mut r = error(
                StatusCode::FORBIDDEN,
                "API rate limit exceeded for user ID 10001. If you reach out to GitHub Support \
                     for help, please include the request ID 0000:SANDBOX.",
            );
            add_rate_headers(r.headers_mut(), &rl);
            r
        }
    }
}

impl Ctx {
    /// Checks the token and counts the request against the rate limit.
    fn gate(&self, headers: &HeaderMap, count: bool) -> Result<RateLimitStatus, Refusal> {
        self.gh.gate.admit(bearer_token(headers), count)
    }

    fn base(&self, headers: &HeaderMap) -> Base {
        let html = origin(headers, "127.0.0.1");
        let html = format!("{html}{}", self.mount);
        Base::new(format!("{html}{}", self.prefix), html)
    }
}

fn ok_json(body: Body, rl: &RateLimitStatus) -> Response {
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert(
        "x-github-media-type",
        HeaderValue::from_static("github.v3; format=json"),
    );
    h.insert(
        "x-github-api-version-selected",
        HeaderValue::from_static("2022-11-28"),
    );
    add_rate_headers(h, rl);
    r
}

fn ok_value<T: Serialize>(value: &T, rl: &RateLimitStatus) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => ok_json(Body::from(bytes), rl),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "Server Error"),
    }
}

async fn user(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    let rl = match ctx.gate(&headers, true) {
        Ok(rl) => rl,
        Err(r) => return refused(r),
    };
    let b = ctx.base(&headers);
    let ds = ctx.gh.read();
    ok_value(&AuthenticatedUserView { b: &b, ds: &ds }, &rl)
}

async fn rate_limit(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    // Asking for the rate limit does not count against it, as on GitHub.
    let rl = match ctx.gate(&headers, false) {
        Ok(rl) => rl,
        Err(r) => return refused(r),
    };
    let core = serde_json::json!({
        "limit": rl.limit, "remaining": rl.remaining, "reset": rl.reset, "used": rl.used,
        "resource": "core",
    });
    let other = |limit: u64, resource: &str| {
        serde_json::json!({
            "limit": limit, "remaining": limit, "reset": rl.reset, "used": 0, "resource": resource,
        })
    };
    let body = serde_json::json!({
        "resources": {
            "core": core,
            "search": other(30, "search"),
            "graphql": other(5000, "graphql"),
            "integration_manifest": other(5000, "integration_manifest"),
            "code_search": other(10, "code_search"),
        },
        "rate": core,
    });
    ok_value(&body, &rl)
}

async fn repo(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Path((owner, name)): Path<(String, String)>,
) -> Response {
    let rl = match ctx.gate(&headers, true) {
        Ok(rl) => rl,
        Err(r) => return refused(r),
    };
    let b = ctx.base(&headers);
    let ds = ctx.gh.read();
    let Some(rd) = ds.repo_index(&owner, &name).and_then(|i| ds.repos.get(i)) else {
        return not_found();
    };
    ok_value(
        &RepoView {
            b: &b,
            ds: &ds,
            rd,
            full: true,
        },
        &rl,
    )
}

async fn issue(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Path((owner, name, number)): Path<(String, String, u64)>,
) -> Response {
    let rl = match ctx.gate(&headers, true) {
        Ok(rl) => rl,
        Err(r) => return refused(r),
    };
    let b = ctx.base(&headers);
    let ds = ctx.gh.read();
    let Some(rd) = ds.repo_index(&owner, &name).and_then(|i| ds.repos.get(i)) else {
        return not_found();
    };
    let Some(i) = rd.issue(number) else {
        return not_found();
    };
    ok_value(
        &IssueView {
            b: &b,
            ds: &ds,
            rd,
            i,
        },
        &rl,
    )
}

async fn pull(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Path((owner, name, number)): Path<(String, String, u64)>,
) -> Response {
    let rl = match ctx.gate(&headers, true) {
        Ok(rl) => rl,
        Err(r) => return refused(r),
    };
    let b = ctx.base(&headers);
    let ds = ctx.gh.read();
    let Some(rd) = ds.repo_index(&owner, &name).and_then(|i| ds.repos.get(i)) else {
        return not_found();
    };
    let Some((i, p)) = rd
        .issue(number)
        .and_then(|i| i.pull.as_ref().map(|p| (i, p)))
    else {
        return not_found();
    };
    ok_value(
        &PullView {
            b: &b,
            ds: &ds,
            rd,
            i,
            p,
            full: true,
        },
        &rl,
    )
}

/// The handler of a list endpoint directly under `/repos/{owner}/{repo}`.
fn repo_list(endpoint: Endpoint) -> MethodRouter<Ctx> {
    get(
        move |State(ctx): State<Ctx>,
              headers: HeaderMap,
              OriginalUri(uri): OriginalUri,
              Path((owner, name)): Path<(String, String)>| async move {
            list(&ctx, &headers, &uri, &owner, &name, endpoint)
        },
    )
}

/// Serves one page of a list endpoint.
fn list(
    ctx: &Ctx,
    headers: &HeaderMap,
    uri: &http::Uri,
    owner: &str,
    name: &str,
    endpoint: Endpoint,
) -> Response {
    let rl = match ctx.gate(headers, true) {
        Ok(rl) => rl,
        Err(r) => return refused(r),
    };
    let pairs = parse_query(uri.query());
    let query = match ListQuery::parse(endpoint, &pairs) {
        Ok(q) => q,
        Err(e) => return validation_failed(e),
    };
    let params = PageParams::from_query(&pairs, 30, 100);
    let repo = {
        let ds = ctx.gh.read();
        let Some(repo) = ds.repo_index(owner, name) else {
            return not_found();
        };
        if let Endpoint::Reviews(number) = endpoint {
            let is_pull = ds
                .repos
                .get(repo)
                .and_then(|rd| rd.issue(number))
                .is_some_and(|i| i.pull.is_some());
            if !is_pull {
                return not_found();
            }
        }
        repo
    };
    let base = ctx.base(headers);
    let page = match ctx
        .gh
        .list_page(&base, repo, endpoint, &query, params.per_page, params.page)
    {
        Ok(p) => p,
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "Server Error"),
    };
    let mut response = ok_json(Body::from(page.body), &rl);
    let last = params.last_page(page.total);
    if let Some(link) = link_header(
        &origin(headers, "127.0.0.1"),
        uri.path(),
        &pairs,
        params.page,
        last,
        true,
    )
    .and_then(|l| HeaderValue::from_str(&l).ok())
    {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

async fn reviews(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path((owner, name, number)): Path<(String, String, u64)>,
) -> Response {
    list(
        &ctx,
        &headers,
        &uri,
        &owner,
        &name,
        Endpoint::Reviews(number),
    )
}
