//! HTTP handlers of the simulated GitLab REST API (`/api/v4`), and GitLab's wording of errors.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRequestParts, OriginalUri, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::GitLab;
use super::data::{Data, GROUPS, PROJECTS};
use super::render::View;
use crate::core::auth::{Refusal, bearer_token};
use crate::core::page::{
    PageParams, link_header, origin, page_number_headers, parse_query, query_value,
};
use crate::core::rate_limit::RateLimitStatus;
use crate::core::table::{Direction, OrderKey, Range, Row, Select, Table};
use crate::core::time::parse_iso;
use crate::faults::{FaultKind, FaultResponder};

/// GitLab leaves totals out of listings longer than this.
const COUNT_LIMIT: usize = 10_000;

/// The routes under `mount` (`/gitlab`): state carries the mount for absolute URLs.
pub fn router(gl: Arc<GitLab>, mount: String) -> Router {
    Router::new()
        .route("/api/v4/user", get(user))
        .route("/api/v4/version", get(version))
        .route("/api/v4/projects/{id}", get(project))
        .route("/api/v4/groups/{id}/projects", get(group_projects))
        .route("/api/v4/projects/{id}/{kind}", get(list))
        .route("/api/v4/projects/{id}/repository/commits", get(commits))
        .route("/api/v4/projects/{id}/{kind}/{iid}/notes", get(notes))
        .route("/api/v4/projects/{id}/pipelines/{pipeline}", get(pipeline))
        .fallback(|| async { message(StatusCode::NOT_FOUND, "404 Not Found") })
        .with_state(Ctx { gl, mount })
}

#[derive(Clone)]
struct Ctx {
    gl: Arc<GitLab>,
    mount: String,
}

/// GitLab's error body: `{"message": "..."}`.
fn message(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({ "message": text }))).into_response()
}

fn rate_headers(headers: &mut HeaderMap, rl: &RateLimitStatus) {
    headers.insert("ratelimit-limit", HeaderValue::from(rl.limit));
    headers.insert("ratelimit-observed", HeaderValue::from(rl.used));
    headers.insert("ratelimit-remaining", HeaderValue::from(rl.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(rl.reset));
    headers.insert(
        "ratelimit-name",
        HeaderValue::from_static("throttle_authenticated_api"),
    );
}

/// GitLab's 429: a plain-text `Retry later`, `Retry-After` and the reset as an HTTP date.
fn retry_later(retry_after: Duration) -> Response {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let mut r = (StatusCode::TOO_MANY_REQUESTS, "Retry later\n").into_response();
    let reset = std::time::SystemTime::now() + Duration::from_secs(secs);
    let h = r.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    if let Ok(v) = HeaderValue::from_str(&httpdate(reset)) {
        h.insert("ratelimit-resettime", v);
    }
    r
}

fn httpdate(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::NoToken | Refusal::BadToken => {
            message(StatusCode::UNAUTHORIZED, "401 Unauthorized")
        }
        Refusal::RateLimited(rl) => {
            let mut r = retry_later(Duration::from_secs(
                rl.reset
                    .saturating_sub(crate::core::time::now_secs())
                    .max(1) as u64,
            ));
            rate_headers(r.headers_mut(), &rl);
            r
        }
    }
}

/// Words injected faults the way GitLab words the real ones.
pub struct GitLabFaults;

impl FaultResponder for GitLabFaults {
    fn respond(&self, kind: FaultKind, retry_after: Duration) -> Response {
        match kind {
            FaultKind::TooManyRequests | FaultKind::SecondaryRateLimit => retry_later(retry_after),
            FaultKind::Error502 => message(StatusCode::BAD_GATEWAY, "502 Bad Gateway"),
            FaultKind::Error503 => {
                message(StatusCode::SERVICE_UNAVAILABLE, "503 Service Unavailable")
            }
            _ => message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "500 Internal Server Error",
            ),
        }
    }
}

/// A request GitLab let through: its rate-limit status, the instance root it addressed (for
/// the URLs in bodies) and its query.
struct Admitted {
    rl: RateLimitStatus,
    origin: String,
    root: String,
    pairs: Vec<(String, String)>,
    /// The path and query as the client sent them, mount included.
    uri: http::Uri,
}

impl FromRequestParts<Ctx> for Admitted {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, Response> {
        let token = (parts.headers.get("private-token"))
            .and_then(|v| v.to_str().ok())
            .or_else(|| bearer_token(&parts.headers));
        let rl = ctx.gl.gate.admit(token, true).map_err(refused)?;
        let origin = origin(&parts.headers, "127.0.0.1");
        Ok(Self {
            rl,
            root: format!("{origin}{}", ctx.mount),
            origin,
            pairs: parse_query(parts.uri.query()),
            uri: (parts.extensions.get::<OriginalUri>())
                .map_or_else(|| parts.uri.clone(), |u| u.0.clone()),
        })
    }
}

impl Admitted {
    /// A view rendering `data` for this request's instance root.
    fn view<'a>(&'a self, ctx: &'a Ctx, data: &'a Data) -> View<'a> {
        View {
            root: &self.root,
            t: &ctx.gl.templates,
            data,
        }
    }

    fn ok(&self, body: Value) -> Response {
        let mut r = axum::Json(body).into_response();
        rate_headers(r.headers_mut(), &self.rl);
        r
    }

    /// The page the query asks for of `values`, with GitLab's `Link` and `x-*` headers.
    fn page(&self, values: Vec<Value>) -> Response {
        let params = PageParams::from_query(&self.pairs, 20, 100);
        let total = values.len();
        let range = params.range(total);
        let items = values.into_iter().skip(range.start).take(range.len());
        let mut r = self.ok(Value::Array(items.collect()));
        let counted = total <= COUNT_LIMIT;
        let last = params.last_page(total);
        let link = link_header(
            &self.origin,
            self.uri.path(),
            &self.pairs,
            params.page,
            last,
            counted,
        );
        let h = r.headers_mut();
        if let Some(link) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
            h.insert(header::LINK, link);
        }
        for (name, value) in page_number_headers(&params, total, counted) {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(name, v);
            }
        }
        r
    }
}

/// A project by numeric id or by its (already decoded) path.
fn project_scope(id: &str) -> Option<usize> {
    PROJECTS
        .iter()
        .position(|(pid, path, _)| pid.to_string() == id || *path == id)
}

async fn user(State(ctx): State<Ctx>, req: Admitted) -> Response {
    let data = ctx.gl.data.read();
    let view = req.view(&ctx, &data);
    req.ok(view.user(1))
}

async fn version(req: Admitted) -> Response {
    req.ok(json!({"version": "17.6.0", "revision": "gwi-sandbox", "enterprise": false}))
}

async fn project(State(ctx): State<Ctx>, req: Admitted, Path(id): Path<String>) -> Response {
    let Some(scope) = project_scope(&id) else {
        return message(StatusCode::NOT_FOUND, "404 Project Not Found");
    };
    let data = ctx.gl.data.read();
    let view = req.view(&ctx, &data);
    req.ok(view.project(scope))
}

/// One pipeline, with what listings leave out (`duration`, `started_at`, `user` ...).
async fn pipeline(
    State(ctx): State<Ctx>,
    req: Admitted,
    Path((id, pipeline)): Path<(String, u64)>,
) -> Response {
    let Some(scope) = project_scope(&id) else {
        return message(StatusCode::NOT_FOUND, "404 Project Not Found");
    };
    let data = ctx.gl.data.read();
    let Some(row) = data
        .pipelines
        .get(pipeline)
        .filter(|r| r.scope == scope && r.deleted.is_none())
    else {
        return message(StatusCode::NOT_FOUND, "404 Not found");
    };
    let view = req.view(&ctx, &data);
    req.ok(view.pipeline(row))
}

async fn group_projects(State(ctx): State<Ctx>, req: Admitted, Path(id): Path<String>) -> Response {
    let Some(&(group, path, _)) = GROUPS
        .iter()
        .find(|(gid, path, _)| gid.to_string() == id || *path == id)
    else {
        return message(StatusCode::NOT_FOUND, "404 Group Not Found");
    };
    let pairs = &req.pairs;
    let nested = query_value(pairs, "include_subgroups") == Some("true");
    let prefix = format!("{path}/");
    let data = ctx.gl.data.read();
    let view = req.view(&ctx, &data);
    let values = PROJECTS
        .iter()
        .enumerate()
        .filter(|(_, (_, p, g))| *g == group || (nested && p.starts_with(&prefix)))
        .map(|(scope, _)| view.project(scope))
        .collect();
    req.page(values)
}

/// A time parameter; `Err` names it when it does not parse.
/// A query parameter GitLab would refuse with a 400, worded as GitLab words it.
struct BadParam(String);

fn bad_request(BadParam(text): BadParam) -> Response {
    message(StatusCode::BAD_REQUEST, &text)
}

/// A time parameter; `Err` names it when it does not parse.
fn time_param(pairs: &[(String, String)], name: &'static str) -> Result<Option<i64>, BadParam> {
    match query_value(pairs, name) {
        None | Some("") => Ok(None),
        Some(v) => parse_iso(v)
            .map(Some)
            .ok_or_else(|| BadParam(format!("400 Bad request - {name} is invalid"))),
    }
}

/// A time range from the `{from}` and `{to}` parameters.
fn range(
    pairs: &[(String, String)],
    from: &'static str,
    to: &'static str,
) -> Result<Range, BadParam> {
    Ok(Range {
        from: time_param(pairs, from)?,
        to: time_param(pairs, to)?,
    })
}

fn order(
    pairs: &[(String, String)],
    default_key: OrderKey,
    keys: &[(&str, OrderKey)],
) -> Result<(OrderKey, Direction), BadParam> {
    let invalid = |name: &str| {
        BadParam(format!(
            "400 Bad request - {name} does not have a valid value"
        ))
    };
    let key = match query_value(pairs, "order_by") {
        None => default_key,
        Some(v) => keys
            .iter()
            .find(|(name, _)| *name == v)
            .map(|(_, k)| *k)
            .ok_or_else(|| invalid("order_by"))?,
    };
    let direction = match query_value(pairs, "sort") {
        None => Direction::Desc,
        Some(v) => Direction::parse(v).ok_or_else(|| invalid("sort"))?,
    };
    Ok((key, direction))
}

/// Merge requests, issues and pipelines of a project.
async fn list(
    State(ctx): State<Ctx>,
    req: Admitted,
    Path((id, kind)): Path<(String, String)>,
) -> Response {
    let Some(scope) = project_scope(&id) else {
        return message(StatusCode::NOT_FOUND, "404 Project Not Found");
    };
    let pairs = &req.pairs;
    let pipelines = kind == "pipelines";
    let keys: &[(&str, OrderKey)] = if pipelines {
        &[("id", OrderKey::Id), ("updated_at", OrderKey::Updated)]
    } else {
        &[
            ("created_at", OrderKey::Created),
            ("updated_at", OrderKey::Updated),
        ]
    };
    let default_key = if pipelines {
        OrderKey::Id
    } else {
        OrderKey::Created
    };
    let parsed = range(pairs, "updated_after", "updated_before").and_then(|updated| {
        let created = range(pairs, "created_after", "created_before")?;
        Ok((updated, created, order(pairs, default_key, keys)?))
    });
    let (updated, created, ordering) = match parsed {
        Ok(p) => p,
        Err(e) => return bad_request(e),
    };
    let state = query_value(pairs, "state")
        .filter(|s| *s != "all")
        .map(str::to_owned);
    let status = query_value(pairs, "status").map(str::to_owned);
    let keep = |r: &Row| {
        state.as_deref().is_none_or(|s| r.str("state") == s)
            && status.as_deref().is_none_or(|s| r.str("status") == s)
    };
    let data = ctx.gl.data.read();
    let view = req.view(&ctx, &data);
    let (table, render): (&Table, for<'v> fn(&View<'v>, &Row) -> Value) = match kind.as_str() {
        "merge_requests" => (&data.merge_requests, |v, r| v.merge_request(r)),
        "issues" => (&data.issues, |v, r| v.issue(r)),
        "pipelines" => (&data.pipelines, |v, r| v.listed_pipeline(r)),
        _ => return message(StatusCode::NOT_FOUND, "404 Not Found"),
    };
    let select = Select {
        scope: Some(scope),
        updated,
        created,
        filter: Some(&keep),
        order: Some(ordering),
        ..Select::default()
    };
    let rows = table.select(&select);
    // GitLab pages project issues by keyset when asked (18.3+); other listings ignore it.
    if kind == "issues" && query_value(pairs, "pagination") == Some("keyset") {
        let Ok(rows) = after_cursor(rows, pairs, ordering) else {
            return bad_request(BadParam("400 Bad request - cursor is invalid".to_owned()));
        };
        let per_page = PageParams::from_query(pairs, 20, 100).per_page;
        let next = rows.get(per_page).map(|_| rows[per_page - 1]);
        let values = rows.iter().take(per_page).map(|r| render(&view, r));
        let mut r = req.ok(Value::Array(values.collect()));
        if let Some(last) = next
            && let Ok(link) = HeaderValue::from_str(&keyset_link(&req, last, ordering.0))
        {
            r.headers_mut().insert(header::LINK, link);
        }
        return r;
    }
    let values = rows.into_iter().map(|r| render(&view, r)).collect();
    req.page(values)
}

/// A row's keyset position in a listing ordered by `key`: that value, then the id.
fn position(row: &Row, key: OrderKey) -> (i64, u64) {
    let value = match key {
        OrderKey::Id => i64::try_from(row.id).unwrap_or(i64::MAX),
        OrderKey::Created => row.created,
        OrderKey::Updated => row.updated,
    };
    (value, row.id)
}

/// The rows after the request's `cursor` (all of them without one), in the listing's order.
fn after_cursor<'r>(
    rows: Vec<&'r Row>,
    pairs: &[(String, String)],
    (key, direction): (OrderKey, Direction),
) -> Result<Vec<&'r Row>, ()> {
    let Some(cursor) = query_value(pairs, "cursor") else {
        return Ok(rows);
    };
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(cursor)
        .map_err(drop)?;
    let at: (i64, u64) = serde_json::from_slice(&raw).map_err(drop)?;
    Ok(rows
        .into_iter()
        .filter(|r| match direction {
            Direction::Asc => position(r, key) > at,
            Direction::Desc => position(r, key) < at,
        })
        .collect())
}

/// The `Link` to the keyset page after `last`: the request's own query with its `cursor`.
fn keyset_link(req: &Admitted, last: &Row, key: OrderKey) -> String {
    let cursor = base64::engine::general_purpose::URL_SAFE
        .encode(serde_json::to_vec(&position(last, key)).unwrap_or_default());
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in (req.pairs.iter()).filter(|(k, _)| k != "cursor" && k != "page") {
        query.append_pair(k, v);
    }
    query.append_pair("cursor", &cursor);
    let (origin, path) = (&req.origin, req.uri.path());
    format!("<{origin}{path}?{}>; rel=\"next\"", query.finish())
}

async fn notes(
    State(ctx): State<Ctx>,
    req: Admitted,
    Path((id, kind, iid)): Path<(String, String, u64)>,
) -> Response {
    let Some(scope) = project_scope(&id) else {
        return message(StatusCode::NOT_FOUND, "404 Project Not Found");
    };
    let data = ctx.gl.data.read();
    let (parents, noteable, missing) = match kind.as_str() {
        "merge_requests" => (
            &data.merge_requests,
            "MergeRequest",
            "404 Merge Request Not Found",
        ),
        "issues" => (&data.issues, "Issue", "404 Issue Not Found"),
        _ => return message(StatusCode::NOT_FOUND, "404 Not Found"),
    };
    let Some(parent) = parents
        .live()
        .find(|r| r.scope == scope && r.u64("iid") == iid)
        .map(|r| r.id)
    else {
        return message(StatusCode::NOT_FOUND, missing);
    };
    let pairs = &req.pairs;
    let ordering = match order(
        pairs,
        OrderKey::Created,
        &[
            ("created_at", OrderKey::Created),
            ("updated_at", OrderKey::Updated),
        ],
    ) {
        Ok(o) => o,
        Err(e) => return bad_request(e),
    };
    let is_kind = |r: &Row| r.str("noteable_type") == noteable;
    let select = Select {
        parent: Some(parent),
        filter: Some(&is_kind),
        order: Some(ordering),
        ..Select::default()
    };
    let view = req.view(&ctx, &data);
    let values = data
        .notes
        .select(&select)
        .into_iter()
        .map(|r| view.note(r))
        .collect();
    req.page(values)
}

async fn commits(State(ctx): State<Ctx>, req: Admitted, Path(id): Path<String>) -> Response {
    let Some(scope) = project_scope(&id) else {
        return message(StatusCode::NOT_FOUND, "404 Project Not Found");
    };
    let pairs = &req.pairs;
    if query_value(pairs, "ref_name").is_some_and(|r| r != "main") {
        return req.ok(json!([]));
    }
    let committed = match range(pairs, "since", "until") {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    let data = ctx.gl.data.read();
    let view = req.view(&ctx, &data);
    let select = Select {
        scope: Some(scope),
        created: committed,
        order: Some((OrderKey::Created, Direction::Desc)),
        ..Select::default()
    };
    let values = data
        .commits
        .select(&select)
        .into_iter()
        .map(|r| view.commit(r))
        .collect();
    req.page(values)
}
