//! GitHub's REST routes, its listing rules and its wording of errors and injected faults.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::GitHub;
use super::data::{Data, flag, is_pull};
use super::render::View;
use crate::core::auth::{Refusal, bearer_token};
use crate::core::page::{PageParams, link_header, origin, parse_query, query_value};
use crate::core::rate_limit::RateLimitStatus;
use crate::core::table::{Direction, OrderKey, Range, Row, Select};
use crate::core::time::{Secs, parse_iso};
use crate::faults::{FaultKind, FaultResponder};

const DOCS: &str = "https://docs.github.com/rest";
const SECONDARY_DOCS: &str = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";

/// GitHub's secondary rate limit message.
const SECONDARY_RATE_LIMIT_MESSAGE: &str = "You have exceeded a secondary rate limit. Please \
     wait a few minutes before you try again. If you reach out to GitHub Support for help, \
     please include the request ID 0000:SANDBOX.";

/// A list endpoint under `/repos/{owner}/{repo}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `/issues` (issues and pull requests).
    Issues,
    /// `/pulls`.
    Pulls,
    /// `/issues/comments`.
    IssueComments,
    /// `/pulls/comments`.
    ReviewComments,
    /// `/pulls/{number}/reviews`.
    Reviews(u64),
    /// `/commits`.
    Commits,
    /// `/actions/runs`.
    Runs,
}

/// The filters and order of one list request, normalised (so equal requests share a cache
/// entry).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListQuery {
    state: Option<bool>,
    sort: &'static str,
    desc: bool,
    updated: Bounds,
    created: Bounds,
}

impl ListQuery {
    /// How many of `total` matching rows GitHub lists: at most [`SEARCH_CAP`] workflow runs
    /// when a `created` filter is given (its `total_count` still counts all).
    pub fn listed(&self, endpoint: Endpoint, total: usize) -> usize {
        let filtered = self.created != (None, None);
        if endpoint == Endpoint::Runs && filtered {
            total.min(SEARCH_CAP)
        } else {
            total
        }
    }
}

/// Most workflow runs GitHub lists for one query with a `created` filter.
pub const SEARCH_CAP: usize = 1000;

/// A parameter GitHub would refuse with 422.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidParam(&'static str);

fn timestamp(pairs: &[(String, String)], name: &'static str) -> Result<Option<Secs>, InvalidParam> {
    match query_value(pairs, name).map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => parse_iso(v).map(Some).ok_or(InvalidParam(name)),
    }
}

/// An inclusive time range; `None` ends are open.
type Bounds = (Option<Secs>, Option<Secs>);

/// GitHub's `created` qualifier: `>=T`, `>T`, `<=T`, `<T`, `A..B`, or a bare date (that day).
fn created_range(v: &str) -> Option<Bounds> {
    let v = v.trim();
    let after = |t: &str, by: Secs| parse_iso(t).map(|t| (Some(t + by), None));
    let before = |t: &str, by: Secs| parse_iso(t).map(|t| (None, Some(t - by)));
    if let Some(t) = v.strip_prefix(">=") {
        return after(t, 0);
    }
    if let Some(t) = v.strip_prefix('>') {
        return after(t, 1);
    }
    if let Some(t) = v.strip_prefix("<=") {
        return before(t, 0);
    }
    if let Some(t) = v.strip_prefix('<') {
        return before(t, 1);
    }
    if let Some((a, b)) = v.split_once("..") {
        let end = |s: &str| {
            if s == "*" {
                Some(None)
            } else {
                parse_iso(s).map(Some)
            }
        };
        return Some((end(a)?, end(b)?));
    }
    let t = parse_iso(v)?;
    Some((Some(t), Some(if v.len() == 10 { t + 86_399 } else { t })))
}

impl ListQuery {
    /// Reads the parameters `endpoint` understands, with GitHub's defaults.
    pub fn parse(endpoint: Endpoint, pairs: &[(String, String)]) -> Result<Self, InvalidParam> {
        use Endpoint::*;
        let sort_param = query_value(pairs, "sort");
        let sort = match sort_param {
            Some("updated") => "updated",
            Some("comments" | "popularity") => "comments",
            _ => "created",
        };
        let direction = query_value(pairs, "direction");
        let desc = match endpoint {
            // Issues: newest first unless asked otherwise.
            Issues => direction != Some("asc"),
            // Pulls: desc for `created` (the default sort), asc for the other sorts.
            Pulls => direction.map_or(sort == "created", |d| d == "desc"),
            // Comments: ascending by id; `direction` only applies together with `sort`.
            IssueComments | ReviewComments => sort_param.is_some() && direction == Some("desc"),
            Reviews(_) => false,
            Commits | Runs => true,
        };
        let state = match (endpoint, query_value(pairs, "state")) {
            (Issues | Pulls, Some("closed")) => Some(false),
            (Issues | Pulls, Some("all")) => None,
            (Issues | Pulls, _) => Some(true),
            _ => None,
        };
        let since = match endpoint {
            Issues | IssueComments | ReviewComments | Commits => timestamp(pairs, "since")?,
            _ => None,
        };
        // Commits filter by their date, runs by `created`, the others by their last change.
        let (updated, created) = match (endpoint, query_value(pairs, "created")) {
            (Commits, _) => ((None, None), (since, timestamp(pairs, "until")?)),
            (Runs, Some(v)) if !v.trim().is_empty() => (
                (None, None),
                created_range(v).ok_or(InvalidParam("created"))?,
            ),
            _ => ((since, None), (None, None)),
        };
        Ok(Self {
            state,
            sort,
            desc,
            updated,
            created,
        })
    }

    /// The rows of repository `scope` that match, in response order.
    pub fn select<'d>(&self, endpoint: Endpoint, data: &'d Data, scope: usize) -> Vec<&'d Row> {
        use Endpoint::*;
        let table = match endpoint {
            Issues | Pulls => &data.issues,
            IssueComments => &data.issue_comments,
            ReviewComments => &data.review_comments,
            Reviews(_) => &data.reviews,
            Commits => &data.commits,
            Runs => &data.runs,
        };
        let key = match endpoint {
            Reviews(_) => OrderKey::Id,
            Commits | Runs => OrderKey::Created,
            _ if self.sort == "updated" => OrderKey::Updated,
            _ => OrderKey::Created,
        };
        let parent = match endpoint {
            Reviews(n) => Some(data.issue(scope, n).map_or(0, |r| r.id)),
            _ => None,
        };
        let keep = |r: &Row| {
            self.state.is_none_or(|open| flag(r, "open") == open)
                && (endpoint != Pulls || is_pull(r))
        };
        let range = |(from, to): Bounds| Range { from, to };
        let direction = if self.desc {
            Direction::Desc
        } else {
            Direction::Asc
        };
        let mut rows = table.select(&Select {
            scope: Some(scope),
            parent,
            updated: range(self.updated),
            created: range(self.created),
            include_deleted: false,
            filter: Some(&keep),
            order: Some((key, direction)),
        });
        if self.sort == "comments" && matches!(endpoint, Issues | Pulls) {
            rows.sort_by_key(|r| (r.u64("comments"), r.id));
            if self.desc {
                rows.reverse();
            }
        }
        rows
    }
}

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
    let routes = |prefix: &'static str| {
        let list = |endpoint: Endpoint| {
            get(
                move |State(ctx): State<Ctx>,
                      headers: HeaderMap,
                      OriginalUri(uri): OriginalUri,
                      Path((owner, name)): Path<(String, String)>| async move {
                    list(&ctx, &headers, &uri, &owner, &name, endpoint)
                },
            )
        };
        Router::new()
            .route("/user", get(user))
            .route("/rate_limit", get(rate_limit))
            .route("/repos/{owner}/{repo}", get(repo))
            .route("/repos/{owner}/{repo}/pulls", list(Endpoint::Pulls))
            .route(
                "/repos/{owner}/{repo}/pulls/comments",
                list(Endpoint::ReviewComments),
            )
            .route("/repos/{owner}/{repo}/pulls/{number}", get(pull))
            .route("/repos/{owner}/{repo}/pulls/{number}/reviews", get(reviews))
            .route("/repos/{owner}/{repo}/issues", list(Endpoint::Issues))
            .route(
                "/repos/{owner}/{repo}/issues/comments",
                list(Endpoint::IssueComments),
            )
            .route("/repos/{owner}/{repo}/issues/{number}", get(issue))
            .route("/repos/{owner}/{repo}/commits", list(Endpoint::Commits))
            .route("/repos/{owner}/{repo}/actions/runs", list(Endpoint::Runs))
            .with_state(Ctx {
                gh: Arc::clone(&gh),
                mount: Arc::clone(&mount_path),
                prefix,
            })
    };
    routes("").nest("/api/v3", routes("/api/v3"))
}

/// GitHub's error body: `{"message", "documentation_url", "status"}`.
pub fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({
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
    let body = json!({
        "message": "Validation Failed",
        "errors": [{ "resource": "Search", "field": field, "code": "invalid" }],
        "documentation_url": DOCS,
        "status": "422",
    });
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}

fn rate_headers(headers: &mut HeaderMap, rl: &RateLimitStatus) {
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
            rate_headers(r.headers_mut(), &rl);
            r
        }
    }
}

/// Words injected faults the way GitHub words the real ones.
pub struct GitHubFaults;

impl FaultResponder for GitHubFaults {
    fn respond(&self, kind: FaultKind, retry_after: Duration) -> Response {
        let (status, message, docs) = match kind {
            FaultKind::Error502 => (StatusCode::BAD_GATEWAY, "Server Error", None),
            FaultKind::Error503 => (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable", None),
            FaultKind::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                SECONDARY_RATE_LIMIT_MESSAGE,
                Some(SECONDARY_DOCS),
            ),
            FaultKind::SecondaryRateLimit => (
                StatusCode::FORBIDDEN,
                SECONDARY_RATE_LIMIT_MESSAGE,
                Some(SECONDARY_DOCS),
            ),
            FaultKind::Error500 | FaultKind::Reset | FaultKind::Truncate | FaultKind::Latency => {
                (StatusCode::INTERNAL_SERVER_ERROR, "Server Error", None)
            }
        };
        let mut body = json!({ "message": message, "status": status.as_u16().to_string() });
        if let (Some(docs), Some(obj)) = (docs, body.as_object_mut()) {
            obj.insert("documentation_url".into(), docs.into());
        }
        let mut response = (status, axum::Json(body)).into_response();
        if docs.is_some() {
            // Retry-After is whole seconds; round up so a sub-second setting still waits.
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl Ctx {
    /// Checks the token and counts the request against the rate limit (unless `count` is off).
    fn gate(&self, headers: &HeaderMap, count: bool) -> Result<RateLimitStatus, Refusal> {
        self.gh.gate.admit(bearer_token(headers), count)
    }

    /// The API root and the web root the client addressed.
    fn roots(&self, headers: &HeaderMap) -> (String, String) {
        let html = format!("{}{}", origin(headers, "127.0.0.1"), self.mount);
        (format!("{html}{}", self.prefix), html)
    }

    /// Renders `one` with a view of the data for this request, or 404 when it gives nothing.
    fn one(
        &self,
        headers: &HeaderMap,
        (owner, name): (&str, &str),
        one: impl FnOnce(&View<'_>, &Data, usize) -> Option<Value>,
    ) -> Response {
        let rl = match self.gate(headers, true) {
            Ok(rl) => rl,
            Err(r) => return refused(r),
        };
        let data = self.gh.data.read();
        let Some(scope) = data.repo_index(owner, name) else {
            return not_found();
        };
        let (api, html) = self.roots(headers);
        let view = self.gh.view(&data, (&api, &html));
        match one(&view, &data, scope) {
            Some(v) => ok_json(Body::from(v.to_string()), &rl),
            None => not_found(),
        }
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
    rate_headers(h, rl);
    r
}

async fn user(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    let rl = match ctx.gate(&headers, true) {
        Ok(rl) => rl,
        Err(r) => return refused(r),
    };
    let data = ctx.gh.data.read();
    let (api, html) = ctx.roots(&headers);
    let me = ctx.gh.view(&data, (&api, &html)).me();
    ok_json(Body::from(me.to_string()), &rl)
}

async fn rate_limit(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    // Asking for the rate limit does not count against it, as on GitHub.
    let rl = match ctx.gate(&headers, false) {
        Ok(rl) => rl,
        Err(r) => return refused(r),
    };
    let core = json!({
        "limit": rl.limit, "remaining": rl.remaining, "reset": rl.reset, "used": rl.used,
        "resource": "core",
    });
    let other = |limit: u64, resource: &str| json!({"limit": limit, "remaining": limit, "reset": rl.reset, "used": 0, "resource": resource});
    let body = json!({
        "resources": {
            "core": core,
            "search": other(30, "search"),
            "graphql": other(5000, "graphql"),
            "integration_manifest": other(5000, "integration_manifest"),
            "code_search": other(10, "code_search"),
        },
        "rate": core,
    });
    ok_json(Body::from(body.to_string()), &rl)
}

async fn repo(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Path((owner, name)): Path<(String, String)>,
) -> Response {
    ctx.one(&headers, (&owner, &name), |view, _, scope| {
        Some(view.repo(scope))
    })
}

async fn issue(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Path((owner, name, number)): Path<(String, String, u64)>,
) -> Response {
    ctx.one(&headers, (&owner, &name), |view, data, scope| {
        data.issue(scope, number).map(|r| view.issue(r))
    })
}

async fn pull(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Path((owner, name, number)): Path<(String, String, u64)>,
) -> Response {
    ctx.one(&headers, (&owner, &name), |view, data, scope| {
        data.issue(scope, number)
            .filter(|r| is_pull(r))
            .map(|r| view.pull(r, true))
    })
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
    let scope = {
        let data = ctx.gh.data.read();
        let Some(scope) = data.repo_index(owner, name) else {
            return not_found();
        };
        if let Endpoint::Reviews(number) = endpoint
            && !data.issue(scope, number).is_some_and(is_pull)
        {
            return not_found();
        }
        scope
    };
    let (body, total) = ctx
        .gh
        .list_page(ctx.roots(headers), scope, endpoint, query, params);
    let mut response = ok_json(Body::from(body), &rl);
    let last = params.last_page(total);
    let origin = origin(headers, "127.0.0.1");
    if let Some(link) = link_header(&origin, uri.path(), &pairs, params.page, last, true)
        .and_then(|l| HeaderValue::from_str(&l).ok())
    {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

/// Renders `rows` of `endpoint` as the JSON body GitHub would send; `total` counts every row the
/// listing holds.
pub fn render_page(view: &View<'_>, endpoint: Endpoint, rows: &[&Row], total: usize) -> Bytes {
    let items: Vec<Value> = rows
        .iter()
        .map(|r| match endpoint {
            Endpoint::Issues => view.issue(r),
            Endpoint::Pulls => view.pull(r, false),
            Endpoint::IssueComments => view.issue_comment(r),
            Endpoint::ReviewComments => view.review_comment(r),
            Endpoint::Reviews(_) => view.review(r, false),
            Endpoint::Commits => view.commit(r),
            Endpoint::Runs => view.run(r),
        })
        .collect();
    let body = match endpoint {
        Endpoint::Runs => json!({"total_count": total, "workflow_runs": items}),
        _ => Value::Array(items),
    };
    Bytes::from(view.finish(&body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(endpoint: Endpoint, q: &str, data: &Data, scope: usize) -> Vec<u64> {
        ListQuery::parse(endpoint, &parse_query(Some(q)))
            .map(|query| query.select(endpoint, data, scope))
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.id)
            .collect()
    }

    #[test]
    fn issues_default_to_open_newest_first_and_include_pulls() {
        let data = Data::generate(3, 1);
        let in_repo = |r: &&Row| r.scope == 0;
        let open = select(Endpoint::Issues, "", &data, 0);
        let want = data
            .issues
            .live()
            .filter(in_repo)
            .filter(|r| flag(r, "open"));
        assert_eq!(open.len(), want.count());
        assert!(open.windows(2).all(|w| w[0] > w[1]));
        let all = select(Endpoint::Issues, "state=all&direction=asc", &data, 0);
        assert_eq!(all.len(), data.issues.live().filter(in_repo).count());
        assert!(
            all.iter()
                .any(|id| data.issues.get(*id).is_some_and(is_pull))
        );
    }

    #[test]
    fn since_keeps_records_updated_at_or_after_it() {
        let data = Data::generate(3, 1);
        let comments: Vec<&Row> = data
            .issue_comments
            .live()
            .filter(|r| r.scope == 1)
            .collect();
        let cut = comments[comments.len() / 2].updated;
        let q = format!("since={}", crate::core::time::Iso(cut));
        let got = select(Endpoint::IssueComments, &q, &data, 1);
        assert_eq!(
            got.len(),
            comments.iter().filter(|c| c.updated >= cut).count()
        );
        assert_eq!(
            ListQuery::parse(Endpoint::Issues, &parse_query(Some("since=nope"))),
            Err(InvalidParam("since"))
        );
    }

    #[test]
    fn filtered_workflow_runs_are_listed_up_to_the_cap_and_counted_whole() {
        let query = |q: &str| ListQuery::parse(Endpoint::Runs, &parse_query(Some(q))).unwrap();
        let filtered = query("created=>=1970-01-02");
        assert_eq!(filtered.listed(Endpoint::Runs, 1500), SEARCH_CAP);
        assert_eq!(filtered.listed(Endpoint::Runs, 20), 20);
        assert_eq!(query("per_page=100").listed(Endpoint::Runs, 1500), 1500);
    }

    #[test]
    fn created_qualifier_forms() {
        assert_eq!(created_range(">=1970-01-02"), Some((Some(86_400), None)));
        assert_eq!(
            created_range("<1970-01-02T00:00:00Z"),
            Some((None, Some(86_399)))
        );
        assert_eq!(
            created_range("1970-01-02"),
            Some((Some(86_400), Some(172_799)))
        );
        assert_eq!(created_range("1970-01-02..*"), Some((Some(86_400), None)));
        assert_eq!(created_range("soon"), None);
    }
}
