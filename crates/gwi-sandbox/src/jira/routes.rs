//! HTTP handlers of the simulated Jira Cloud REST API (`/rest/api/3`), and Jira's wording of
//! errors.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRequestParts, OriginalUri, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use base64::Engine as _;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::Jira;
use super::data::{Data, PROJECTS, SITE_TZ};
use super::jql;
use super::render::{FIELDS, View, jira_time};
use crate::core::auth::{Refusal, bearer_token};
use crate::core::cursor::cursor_page;
use crate::core::page::{origin, parse_query, query_value};
use crate::core::table::{Direction, Row};
use crate::core::time::{Iso, now_secs};
use crate::faults::{FaultKind, FaultResponder};

/// What `/rest/api/{2,3}/search` answers since Atlassian removed it.
pub const REMOVED: &str = "The requested API has been removed. Please migrate to the \
/rest/api/3/search/jql API. A full migration guideline is available at \
https://developer.atlassian.com/changelog/#CHANGE-2046";
const UNAUTHENTICATED: &str =
    "You are not authenticated. Authentication required to perform this operation.";
const NO_ISSUE: &str = "Issue does not exist or you do not have permission to see it.";

/// The routes under `mount` (`/jira`): state carries the mount for absolute URLs.
pub fn router(jira: Arc<Jira>, mount: String) -> Router {
    Router::new()
        .route("/rest/api/3/myself", get(myself))
        .route("/rest/api/3/serverInfo", get(server_info))
        .route("/rest/api/3/project/search", get(projects))
        .route("/rest/api/3/search/jql", get(search))
        .route("/rest/api/2/search", any(removed))
        .route("/rest/api/3/search", any(removed))
        .route("/rest/api/3/issue/{id}", get(issue))
        .route("/rest/api/3/issue/{id}/comment", get(comments))
        .route("/rest/api/3/issue/{id}/comment/{comment}", get(comment))
        .route("/rest/api/3/issue/{id}/changelog", get(changelog))
        .fallback(|| async { errors(StatusCode::NOT_FOUND, "Not Found") })
        .with_state(Ctx { jira, mount })
}

#[derive(Clone)]
struct Ctx {
    jira: Arc<Jira>,
    mount: String,
}

/// Jira's error body: `{"errorMessages": [...], "errors": {}}`.
pub fn errors(status: StatusCode, text: &str) -> Response {
    (
        status,
        axum::Json(json!({ "errorMessages": [text], "errors": {} })),
    )
        .into_response()
}

/// Jira's 429: `Retry-After`, `X-RateLimit-*` and `RateLimit-Reason`.
fn rate_limited(retry_after: Duration, limit: u64) -> Response {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let mut r = errors(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded.");
    let reset = Iso(now_secs() + secs as i64).to_string();
    let reset = format!("{}Z", &reset[..16]);
    let h = r.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    h.insert("x-ratelimit-limit", HeaderValue::from(limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(0));
    if let Ok(v) = HeaderValue::from_str(&reset) {
        h.insert("x-ratelimit-reset", v);
    }
    h.insert(
        "ratelimit-reason",
        HeaderValue::from_static("jira-burst-based"),
    );
    r
}

fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::NoToken | Refusal::BadToken => errors(StatusCode::UNAUTHORIZED, UNAUTHENTICATED),
        Refusal::RateLimited(rl) => rate_limited(
            Duration::from_secs(rl.reset.saturating_sub(now_secs()).max(1) as u64),
            rl.limit,
        ),
    }
}

/// Words injected faults the way Jira words the real ones.
pub struct JiraFaults {
    /// The burst limit reported in `X-RateLimit-Limit`.
    pub limit: u64,
}

impl FaultResponder for JiraFaults {
    fn respond(&self, kind: FaultKind, retry_after: Duration) -> Response {
        match kind {
            FaultKind::TooManyRequests | FaultKind::SecondaryRateLimit => {
                rate_limited(retry_after, self.limit)
            }
            FaultKind::Error503 => {
                let mut r = errors(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service unavailable. Please try again later.",
                );
                let secs = retry_after.as_secs().max(1);
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                r
            }
            FaultKind::Error502 => errors(StatusCode::BAD_GATEWAY, "Bad gateway."),
            _ => errors(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error."),
        }
    }
}

/// The token of `Authorization: Basic base64(email:token)` or `Bearer <token>`.
fn credentials(headers: &HeaderMap) -> Option<String> {
    if let Some(t) = bearer_token(headers) {
        return Some(t.to_owned());
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.split_once(':').map(|(_, token)| token.to_owned())
}

/// A request Jira let through: the site root it addressed (for the URLs in bodies) and its
/// query.
struct Admitted {
    root: String,
    pairs: Vec<(String, String)>,
}

impl FromRequestParts<Ctx> for Admitted {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, Response> {
        let token = credentials(&parts.headers);
        let gate = &ctx.jira.gate;
        gate.admit(token.as_deref(), true).map_err(refused)?;
        Ok(Self {
            root: format!("{}{}", origin(&parts.headers, "127.0.0.1"), ctx.mount),
            pairs: parse_query(parts.uri.query()),
        })
    }
}

impl Admitted {
    /// A view rendering `data` for this request's site root, in REST API v3's shapes.
    fn view<'a>(&'a self, ctx: &'a Ctx, data: &'a Data) -> View<'a> {
        View {
            root: &self.root,
            t: &ctx.jira.templates,
            data,
            api: 3,
        }
    }
}

fn ok(body: Value) -> Response {
    axum::Json(body).into_response()
}

/// A numeric parameter; missing or malformed ones take `default`, large ones `max`.
fn number(pairs: &[(String, String)], name: &str, default: usize, max: usize) -> usize {
    query_value(pairs, name)
        .and_then(|v| v.trim().parse::<usize>().ok())
        .map_or(default, |n| n.min(max))
}

async fn myself(State(ctx): State<Ctx>, req: Admitted) -> Response {
    let data = ctx.jira.data.read();
    let view = req.view(&ctx, &data);
    ok(view.myself())
}

async fn server_info(req: Admitted) -> Response {
    ok(json!({
        "baseUrl": req.root, "version": "1001.0.0", "versionNumbers": [1001, 0, 0],
        "deploymentType": "Cloud", "buildNumber": 100_001, "scmInfo": "gwi-sandbox",
        "serverTime": jira_time(now_secs()), "serverTitle": "Jira",
    }))
}

async fn removed() -> Response {
    errors(StatusCode::GONE, REMOVED)
}

async fn projects(
    State(ctx): State<Ctx>,
    req: Admitted,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let pairs = &req.pairs;
    let keys: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "keys")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .collect();
    let insight =
        query_value(pairs, "expand").is_some_and(|e| e.split(',').any(|x| x == "insight"));
    let start = number(pairs, "startAt", 0, usize::MAX);
    let max = number(pairs, "maxResults", 50, 100).max(1);
    let data = ctx.jira.data.read();
    let view = req.view(&ctx, &data);
    let all: Vec<usize> = (0..PROJECTS.len())
        .filter(|s| {
            keys.is_empty()
                || keys
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(PROJECTS[*s].1) || *k == PROJECTS[*s].0)
        })
        .collect();
    let total = all.len();
    let values: Vec<Value> = all
        .into_iter()
        .skip(start)
        .take(max)
        .map(|s| view.project(s, insight, true))
        .collect();
    let q = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    ok(json!({
        "self": format!("{}/rest/api/3/project/search{q}", view.root),
        "maxResults": max, "startAt": start, "total": total,
        "isLast": start + values.len() >= total, "values": values,
    }))
}

/// The field names `fields=` asks for (`*all`/`*navigable`: every one; `-x` leaves `x` out).
fn requested_fields(pairs: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut minus: Vec<String> = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "fields") {
        for f in v.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            if f == "*all" || f == "*navigable" {
                out.extend(FIELDS.iter().map(|s| (*s).to_owned()));
            } else if let Some(rest) = f.strip_prefix('-') {
                minus.push(rest.to_owned());
            } else {
                out.push(f.to_owned());
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| !minus.contains(f) && seen.insert(f.clone()));
    out
}

fn key_order(a: &Row, b: &Row) -> std::cmp::Ordering {
    (PROJECTS[a.scope].1, a.u64("num")).cmp(&(PROJECTS[b.scope].1, b.u64("num")))
}

async fn search(State(ctx): State<Ctx>, req: Admitted) -> Response {
    let pairs = &req.pairs;
    let text = query_value(pairs, "jql").unwrap_or("");
    let tz: chrono_tz::Tz = SITE_TZ.parse().unwrap_or(chrono_tz::UTC);
    let query = match jql::parse(text, tz) {
        Ok(q) => q,
        Err(e) => {
            return errors(
                StatusCode::BAD_REQUEST,
                &format!("Error in the JQL Query: {e}"),
            );
        }
    };
    if query.projects.is_none() && query.times.is_empty() && query.ids.is_none() {
        return errors(
            StatusCode::BAD_REQUEST,
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
        );
    }
    let fields = requested_fields(pairs);
    let changelog =
        query_value(pairs, "expand").is_some_and(|e| e.split(',').any(|x| x == "changelog"));
    let data = ctx.jira.data.read();
    let view = req.view(&ctx, &data);
    let mut rows: Vec<&Row> = data
        .issues
        .live()
        .filter(|r| query.projects.as_ref().is_none_or(|p| p.contains(&r.scope)))
        .filter(|r| query.ids.as_ref().is_none_or(|ids| ids.contains(&r.id)))
        .filter(|r| {
            query.times.iter().all(|(field, op, t)| {
                let v = if *field == "updated" {
                    r.updated
                } else {
                    r.created
                };
                op.holds(v, *t)
            })
        })
        .collect();
    let mut order = query.order.clone();
    if order.is_empty() {
        order.push(("created", Direction::Desc));
    }
    rows.sort_by(|a, b| {
        for (key, dir) in &order {
            let o = match *key {
                "updated" => a.updated.cmp(&b.updated),
                "created" => a.created.cmp(&b.created),
                "id" => a.id.cmp(&b.id),
                _ => key_order(a, b),
            };
            let o = if *dir == Direction::Desc {
                o.reverse()
            } else {
                o
            };
            if o.is_ne() {
                return o;
            }
        }
        key_order(a, b)
    });
    let max = query_value(pairs, "maxResults").and_then(|v| v.trim().parse().ok());
    let page = match cursor_page(
        rows.len(),
        max,
        50,
        100,
        query_value(pairs, "nextPageToken"),
    ) {
        Ok(p) => p,
        Err(_) => {
            return errors(
                StatusCode::BAD_REQUEST,
                "The provided next page token is invalid or expired.",
            );
        }
    };
    let issues: Vec<Value> = rows[page.range.clone()]
        .iter()
        .map(|r| view.issue(r, &fields, changelog))
        .collect();
    let mut body = json!({ "issues": issues, "isLast": !page.has_more() });
    if page.has_more() {
        body["nextPageToken"] = json!(page.next_cursor);
    }
    ok(body)
}

/// The live issue `id_or_key`.
fn find<'d>(data: &'d super::data::Data, id_or_key: &str) -> Option<&'d Row> {
    data.issue_by(id_or_key).filter(|r| r.deleted.is_none())
}

async fn issue(State(ctx): State<Ctx>, req: Admitted, Path(id): Path<String>) -> Response {
    let pairs = &req.pairs;
    let data = ctx.jira.data.read();
    let view = req.view(&ctx, &data);
    let Some(row) = find(&data, &id) else {
        return errors(StatusCode::NOT_FOUND, NO_ISSUE);
    };
    let mut fields = requested_fields(pairs);
    if !pairs.iter().any(|(k, _)| k == "fields") {
        fields = FIELDS.iter().map(|f| (*f).to_owned()).collect();
    }
    let changelog =
        query_value(pairs, "expand").is_some_and(|e| e.split(',').any(|x| x == "changelog"));
    ok(view.issue(row, &fields, changelog))
}

async fn comments(State(ctx): State<Ctx>, req: Admitted, Path(id): Path<String>) -> Response {
    let pairs = &req.pairs;
    let data = ctx.jira.data.read();
    let view = req.view(&ctx, &data);
    let Some(row) = find(&data, &id) else {
        return errors(StatusCode::NOT_FOUND, NO_ISSUE);
    };
    let start = number(pairs, "startAt", 0, usize::MAX);
    let max = number(pairs, "maxResults", 50, 100);
    let mut rows: Vec<&Row> = data
        .comments
        .live()
        .filter(|c| c.parent == Some(row.id))
        .collect();
    rows.sort_by_key(|c| (c.created, c.id));
    if query_value(pairs, "orderBy").is_some_and(|o| o.starts_with('-')) {
        rows.reverse();
    }
    let total = rows.len();
    let values: Vec<Value> = rows
        .into_iter()
        .skip(start)
        .take(max)
        .map(|c| view.comment(c))
        .collect();
    ok(json!({"startAt": start, "maxResults": max, "total": total, "comments": values}))
}

async fn comment(
    State(ctx): State<Ctx>,
    req: Admitted,
    Path((id, comment)): Path<(String, u64)>,
) -> Response {
    let data = ctx.jira.data.read();
    let view = req.view(&ctx, &data);
    let Some(row) = find(&data, &id) else {
        return errors(StatusCode::NOT_FOUND, NO_ISSUE);
    };
    match data
        .comments
        .get(comment)
        .filter(|c| c.parent == Some(row.id) && c.deleted.is_none())
    {
        Some(c) => ok(view.comment(c)),
        None => errors(StatusCode::NOT_FOUND, "Can not find a comment for the id."),
    }
}

async fn changelog(State(ctx): State<Ctx>, req: Admitted, Path(id): Path<String>) -> Response {
    let pairs = &req.pairs;
    let data = ctx.jira.data.read();
    let view = req.view(&ctx, &data);
    let Some(row) = find(&data, &id) else {
        return errors(StatusCode::NOT_FOUND, NO_ISSUE);
    };
    let start = number(pairs, "startAt", 0, usize::MAX);
    let max = number(pairs, "maxResults", 100, 100);
    let all = view.histories(row.id);
    let total = all.len();
    let values: Vec<Value> = all.into_iter().skip(start).take(max).collect();
    let start = start.min(total);
    ok(view.changelog_page(row, values, start, max, total))
}
