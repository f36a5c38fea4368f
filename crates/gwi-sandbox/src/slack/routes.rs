//! HTTP handlers of the simulated Slack Web API (`/api/<method>`), and Slack's wording of errors.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::Slack;
use super::data::{BOT_ID, BOT_NAME, BOT_USER, CHANNELS, Data, TEAM_ID, TEAM_NAME, Ts};
use super::data::{parse_ts, row_ts};
use super::render::Templates;
use crate::core::auth::{Refusal, bearer_token};
use crate::core::cursor::cursor_page;
use crate::core::page::{QueryPairs, parse_query, query_value};
use crate::core::table::Row;
use crate::core::time::now_secs;
use crate::faults::{FaultKind, FaultResponder};

/// The scopes every answer names in `x-oauth-scopes`.
pub const SCOPES: &str =
    "channels:read,groups:read,channels:history,groups:history,users:read,users:read.email";
/// The scopes of a token containing `missing-scope`, which may not read history.
const FEW_SCOPES: &str = "channels:read,users:read";

/// The routes under the mount (`/slack`).
pub fn router(slack: Arc<Slack>) -> Router {
    Router::new()
        .route("/api/{method}", get(call).post(call))
        .fallback(unknown)
        .with_state(slack)
}

/// A JSON answer carrying `x-oauth-scopes`.
fn answer(status: StatusCode, body: &Value, scopes: &str) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut().insert(
        "x-oauth-scopes",
        HeaderValue::from_str(scopes).unwrap_or(HeaderValue::from_static("")),
    );
    r
}

/// Slack's 429: `Retry-After` and `{"ok":false,"error":"ratelimited"}`.
fn ratelimited(t: &Templates, retry_after: Duration) -> Response {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let mut r = answer(
        StatusCode::TOO_MANY_REQUESTS,
        &t.error("ratelimited", &[]),
        SCOPES,
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    r
}

async fn unknown(State(slack): State<Arc<Slack>>) -> Response {
    answer(
        StatusCode::OK,
        &slack.templates.error("unknown_method", &[]),
        SCOPES,
    )
}

/// Words injected faults the way Slack words the real ones.
pub struct SlackFaults(pub(super) Arc<Templates>);

impl FaultResponder for SlackFaults {
    fn respond(&self, kind: FaultKind, retry_after: Duration) -> Response {
        let t = &self.0;
        match kind {
            FaultKind::TooManyRequests | FaultKind::SecondaryRateLimit => {
                ratelimited(t, retry_after)
            }
            FaultKind::Error502 => (StatusCode::BAD_GATEWAY, "Bad Gateway").into_response(),
            FaultKind::Error503 => answer(
                StatusCode::SERVICE_UNAVAILABLE,
                &t.error("service_unavailable", &[]),
                SCOPES,
            ),
            _ => answer(StatusCode::OK, &t.error("internal_error", &[]), SCOPES),
        }
    }
}

/// A refusal in Slack's words: the `error` code and any extra keys.
struct Failure(&'static str, Vec<(&'static str, &'static str)>);

impl From<&'static str> for Failure {
    fn from(error: &'static str) -> Self {
        Self(error, Vec::new())
    }
}

async fn call(
    State(slack): State<Arc<Slack>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let mut pairs = parse_query(uri.query());
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form {
        pairs.extend(parse_query(std::str::from_utf8(&body).ok()));
    }
    let token = bearer_token(&headers).or_else(|| query_value(&pairs, "token"));
    let t = &slack.templates;
    match slack.gate.admit(token, true) {
        Ok(_) => {}
        Err(Refusal::NoToken) => {
            return answer(StatusCode::OK, &t.error("not_authed", &[]), SCOPES);
        }
        Err(Refusal::BadToken) => {
            return answer(StatusCode::OK, &t.error("invalid_auth", &[]), SCOPES);
        }
        Err(Refusal::RateLimited(rl)) => {
            let secs = rl.reset.saturating_sub(now_secs()).max(1);
            return ratelimited(t, Duration::from_secs(secs.unsigned_abs()));
        }
    }
    let limited = token.is_some_and(|t| t.contains("missing-scope"));
    let scopes = if limited { FEW_SCOPES } else { SCOPES };
    let data = slack.data.read();
    let api = Api {
        t,
        data: &data,
        pairs: &pairs,
    };
    let history = matches!(
        method.as_str(),
        "conversations.history" | "conversations.replies"
    );
    let result = if limited && history {
        Err(Failure(
            "missing_scope",
            vec![("needed", "channels:history"), ("provided", FEW_SCOPES)],
        ))
    } else {
        match method.as_str() {
            "auth.test" => Ok(auth_test()),
            "api.test" => Ok(json!({"ok": true, "args": {}})),
            "conversations.list" => api.list(),
            "conversations.history" => api.history(),
            "conversations.replies" => api.replies(),
            "users.list" => api.users(),
            _ => Err("unknown_method".into()),
        }
    };
    let body = result.unwrap_or_else(|Failure(error, extra)| t.error(error, &extra));
    answer(StatusCode::OK, &body, scopes)
}

/// `auth.test`'s answer (no recorded payload: the shape of Slack's docs).
fn auth_test() -> Value {
    json!({
        "ok": true, "url": "https://acme.slack.com/", "team": TEAM_NAME, "user": BOT_NAME,
        "team_id": TEAM_ID, "user_id": BOT_USER, "bot_id": BOT_ID, "is_enterprise_install": false,
    })
}

struct Api<'a> {
    t: &'a Templates,
    data: &'a Data,
    pairs: &'a QueryPairs,
}

fn truthy(v: Option<&str>) -> bool {
    matches!(v, Some("1" | "true"))
}

impl Api<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        query_value(self.pairs, name).filter(|v| !v.is_empty())
    }

    fn limit(&self) -> Option<usize> {
        self.param("limit").and_then(|v| v.trim().parse().ok())
    }

    /// The slice of `items` this request's `limit` and `cursor` ask for, and the next cursor.
    fn page<T>(
        &self,
        items: Vec<T>,
        default: usize,
        max: usize,
    ) -> Result<(Vec<T>, String), Failure> {
        let page = cursor_page(
            items.len(),
            self.limit(),
            default,
            max,
            self.param("cursor"),
        )
        .map_err(|_| Failure::from("invalid_cursor"))?;
        let taken = items
            .into_iter()
            .skip(page.range.start)
            .take(page.range.len())
            .collect();
        Ok((taken, page.next_cursor))
    }

    /// The channel named by `channel`, which the bot must be a member of.
    fn channel(&self) -> Result<usize, Failure> {
        let id = self.param("channel").unwrap_or_default();
        let scope = CHANNELS
            .iter()
            .position(|c| c.id == id)
            .ok_or("channel_not_found")?;
        if CHANNELS[scope].member {
            Ok(scope)
        } else {
            Err("not_in_channel".into())
        }
    }

    /// Whether `oldest`/`latest`/`inclusive` keep a message at `ts`.
    fn ts_filter(&self) -> Result<impl Fn(Ts) -> bool, Failure> {
        let bound = |name, error: &'static str| match self.param(name) {
            None => Ok(None),
            Some(v) => parse_ts(v.trim()).map(Some).ok_or(Failure::from(error)),
        };
        let oldest = bound("oldest", "invalid_ts_oldest")?;
        let latest = bound("latest", "invalid_ts_latest")?;
        let inclusive = truthy(self.param("inclusive"));
        Ok(move |ts: Ts| {
            let after = oldest.is_none_or(|o| ts > o || (inclusive && ts == o));
            let before = latest.is_none_or(|l| ts < l || (inclusive && ts == l));
            after && before
        })
    }

    fn list(&self) -> Result<Value, Failure> {
        let types = self.param("types").unwrap_or("public_channel");
        let wanted = |t: &str| types.split(',').any(|x| x.trim() == t);
        let exclude_archived = truthy(self.param("exclude_archived"));
        let mut channels: Vec<_> = CHANNELS
            .iter()
            .filter(|c| {
                if c.private {
                    wanted("private_channel") && c.member
                } else {
                    wanted("public_channel")
                }
            })
            .filter(|c| !(exclude_archived && c.archived))
            .collect();
        channels.sort_by_key(|c| c.id);
        let (channels, next) = self.page(channels, 100, 1000)?;
        Ok(self.t.list.render([
            (
                "/channels",
                channels.into_iter().map(|c| self.t.channel(c)).collect(),
            ),
            ("/response_metadata/next_cursor", json!(next)),
        ]))
    }

    fn history(&self) -> Result<Value, Failure> {
        let scope = self.channel()?;
        let keep = self.ts_filter()?;
        let mut rows: Vec<&Row> = self
            .data
            .messages
            .live()
            .filter(|r| r.scope == scope && r.parent.is_none() && keep(row_ts(r)))
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(row_ts(r)));
        let (rows, next) = self.page(rows, 100, 999)?;
        Ok(self.t.history.render([
            (
                "/messages",
                rows.into_iter().map(|r| self.t.message(r)).collect(),
            ),
            ("/has_more", json!(!next.is_empty())),
            ("/pin_count", json!(0)),
            ("/response_metadata/next_cursor", json!(next)),
        ]))
    }

    /// The thread parent first on every page, then the page's replies, oldest first.
    fn replies(&self) -> Result<Value, Failure> {
        let scope = self.channel()?;
        let ts = self
            .param("ts")
            .and_then(parse_ts)
            .ok_or("thread_not_found")?;
        let parent = self
            .data
            .messages
            .live()
            .find(|r| r.scope == scope && r.parent.is_none() && row_ts(r) == ts)
            .ok_or("thread_not_found")?;
        let keep = self.ts_filter()?;
        let mut rows: Vec<&Row> = self
            .data
            .messages
            .live()
            .filter(|r| r.parent == Some(parent.id) && keep(row_ts(r)))
            .collect();
        rows.sort_by_key(|r| row_ts(r));
        let (rows, next) = self.page(rows, 1000, 1000)?;
        let messages = std::iter::once(parent)
            .chain(rows)
            .map(|r| self.t.message(r))
            .collect();
        Ok(self.t.replies.render([
            ("/messages", messages),
            ("/has_more", json!(!next.is_empty())),
            ("/response_metadata/next_cursor", json!(next)),
        ]))
    }

    fn users(&self) -> Result<Value, Failure> {
        let users: Vec<&Row> = self.data.users.all().collect();
        let (users, next) = self.page(users, 0, 1000)?;
        Ok(self.t.users.render([
            (
                "/members",
                users.into_iter().map(|r| self.t.user(r)).collect(),
            ),
            ("/cache_ts", json!(now_secs())),
            ("/response_metadata/next_cursor", json!(next)),
        ]))
    }
}
