//! The simulated GitHub REST API.
//!
//! Routes (also under `/api/v3`, GitHub Enterprise Server's base URL shape):
//! `GET /user`, `/rate_limit`, `/repos/{o}/{r}`, `/repos/{o}/{r}/pulls`, `/pulls/{n}`,
//! `/pulls/{n}/reviews`, `/pulls/comments`, `/issues`, `/issues/{n}`, `/issues/comments`,
//! `/commits`, `/actions/runs`. Lists take `per_page` (default 30, max 100) and `page` and answer
//! with RFC 8288 `Link` headers; every answer carries `X-RateLimit-*` headers.
//!
//! Behaviour worth knowing: a new comment or review moves its issue's or pull request's
//! `updated_at`, `since` is inclusive, and a deleted issue comment leaves the listings but is
//! announced by an `issue_comment` webhook with action `deleted`.

mod data;
mod render;
mod routes;
pub mod webhooks;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use bytes::Bytes;

use self::data::Data;
pub use self::data::{DATA_END, DATA_START, OWNER, REPO_NAMES};
use self::data::{flag, is_pull};
use self::render::Parts;
use self::render::{Templates, View};
use self::routes::{Endpoint, ListQuery};
use crate::core::auth::{Gate, TokenPolicy};
use crate::core::cache::GenerationCache;
use crate::core::page::PageParams;
use crate::core::rate_limit::RateLimitConfig;
use crate::core::rng::{SandboxRng, delivery_seed};
use crate::core::shared::Shared;
use crate::core::table::Row;
use crate::core::time::{Iso, Secs};
use crate::error::SandboxError;
use crate::faults::FaultResponder;
use crate::provider::{Change, Delivery, Expected, Provider};

/// Records in one repository (or in all of them), as the list endpoints return them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RepoCounts {
    /// Pull requests (`/pulls?state=all`).
    pub pulls: usize,
    /// Open pull requests (`/pulls`).
    pub pulls_open: usize,
    /// Issues that are not pull requests.
    pub issues: usize,
    /// Open issues that are not pull requests.
    pub issues_open: usize,
    /// Issues plus pull requests (`/issues?state=all`).
    pub issues_and_pulls: usize,
    /// Open issues plus open pull requests (`/issues`).
    pub issues_and_pulls_open: usize,
    /// Issue comments (`/issues/comments`).
    pub issue_comments: usize,
    /// Review comments (`/pulls/comments`).
    pub review_comments: usize,
    /// Reviews over all pull requests (sum of `/pulls/{n}/reviews`).
    pub reviews: usize,
    /// Commits (`/commits`).
    pub commits: usize,
    /// Workflow runs (`/actions/runs`).
    pub workflow_runs: usize,
}

impl RepoCounts {
    fn add(&mut self, o: &RepoCounts) {
        self.pulls += o.pulls;
        self.pulls_open += o.pulls_open;
        self.issues += o.issues;
        self.issues_open += o.issues_open;
        self.issues_and_pulls += o.issues_and_pulls;
        self.issues_and_pulls_open += o.issues_and_pulls_open;
        self.issue_comments += o.issue_comments;
        self.review_comments += o.review_comments;
        self.reviews += o.reviews;
        self.commits += o.commits;
        self.workflow_runs += o.workflow_runs;
    }
}

/// Expected record counts per repository (`owner/name`) and in total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitHubCounts {
    /// Per repository.
    pub repos: BTreeMap<String, RepoCounts>,
    /// Sum over repositories.
    pub total: RepoCounts,
}

/// What identifies one rendered list page: the roots its URLs use, the repository, the
/// listing and the slice.
type PageKey = ((String, String), usize, Endpoint, ListQuery, PageParams);

/// The simulated GitHub: data, auth, rate limit, templates and a cache of rendered pages.
pub struct GitHub {
    data: Shared<Data>,
    gate: Gate,
    templates: Templates,
    pages: GenerationCache<PageKey, (Bytes, usize)>,
    parts: GenerationCache<(String, String), Arc<Parts>>,
    /// Seeds delivery ids (see [`delivery_seed`]).
    deliveries: u64,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}

fn full_name(scope: usize) -> String {
    format!("{OWNER}/{}", REPO_NAMES.get(scope).copied().unwrap_or(""))
}

impl GitHub {
    /// GitHub data for `seed` at `scale`, accepting `tokens`, limited by `rate_limit`.
    pub fn new(
        seed: u64,
        scale: u32,
        tokens: TokenPolicy,
        rate_limit: RateLimitConfig,
    ) -> Result<Self, SandboxError> {
        Ok(Self {
            data: Shared::new(Data::generate(seed, scale)),
            gate: Gate::new(tokens, rate_limit),
            templates: Templates::load()?,
            pages: GenerationCache::new(16_384),
            parts: GenerationCache::new(64),
            deliveries: delivery_seed(),
        })
    }

    /// The repositories served, as `owner/name`.
    pub fn repo_names(&self) -> Vec<String> {
        (0..REPO_NAMES.len()).map(full_name).collect()
    }

    /// Pull request numbers of `owner/name` (to walk `/pulls/{n}/reviews`).
    pub fn pull_numbers(&self, full_name: &str) -> Vec<u64> {
        let data = self.data.read();
        let Some((owner, name)) = full_name.split_once('/') else {
            return Vec::new();
        };
        let Some(scope) = data.repo_index(owner, name) else {
            return Vec::new();
        };
        data.issues
            .live()
            .filter(|r| r.scope == scope && is_pull(r))
            .map(|r| r.u64("number"))
            .collect()
    }

    /// The records served right now, per repository and in total.
    pub fn counts(&self) -> GitHubCounts {
        let data = self.data.read();
        let mut out = GitHubCounts::default();
        for scope in 0..REPO_NAMES.len() {
            let issues: Vec<&Row> = data.issues.live().filter(|r| r.scope == scope).collect();
            let count = |pull: bool, open: bool| {
                issues
                    .iter()
                    .filter(|r| is_pull(r) == pull && (!open || flag(r, "open")))
                    .count()
            };
            let live =
                |t: &crate::core::table::Table| t.live().filter(|r| r.scope == scope).count();
            let c = RepoCounts {
                pulls: count(true, false),
                pulls_open: count(true, true),
                issues: count(false, false),
                issues_open: count(false, true),
                issues_and_pulls: issues.len(),
                issues_and_pulls_open: count(true, true) + count(false, true),
                issue_comments: live(&data.issue_comments),
                review_comments: live(&data.review_comments),
                reviews: live(&data.reviews),
                commits: live(&data.commits),
                workflow_runs: live(&data.runs),
            };
            out.total.add(&c);
            out.repos.insert(full_name(scope), c);
        }
        out
    }

    /// A view of `data` for the roots `(api, html)`, with the people and repositories rendered
    /// once per data generation and roots.
    fn view<'a>(&'a self, data: &'a Data, (api, html): (&'a str, &'a str)) -> View<'a> {
        let key = (api.to_owned(), html.to_owned());
        let cached = self.parts.get(data.generation, &key);
        let hit = cached.is_some();
        let view = View::new(&self.templates, data, (api, html), cached);
        if !hit {
            self.parts.insert(data.generation, key, view.parts());
        }
        view
    }

    /// One list page and how many rows the listing pages through (GitHub's cap on filtered
    /// workflow runs applied): from the cache, or selected and rendered now.
    fn list_page(
        &self,
        roots: (String, String),
        scope: usize,
        endpoint: Endpoint,
        query: ListQuery,
        params: PageParams,
    ) -> (Bytes, usize) {
        let data = self.data.read();
        let key = (roots, scope, endpoint, query, params);
        if let Some(hit) = self.pages.get(data.generation, &key) {
            return hit;
        }
        let rows = key.3.select(endpoint, &data, scope);
        let listed = key.3.listed(endpoint, rows.len());
        let slice = rows[..listed].get(params.range(listed)).unwrap_or(&[]);
        let view = self.view(&data, (&key.0.0, &key.0.1)).spliced();
        let page = (
            routes::render_page(&view, endpoint, slice, rows.len()),
            listed,
        );
        self.pages.insert(data.generation, key, page.clone());
        page
    }
}

/// The events GitHub's deliveries are for here (what `webhook_for` sends).
pub const WEBHOOK_EVENTS: [&str; 7] = [
    "pull_request",
    "issues",
    "issue_comment",
    "pull_request_review",
    "pull_request_review_comment",
    "push",
    "workflow_run",
];

impl Provider for GitHub {
    fn name(&self) -> &'static str {
        "github"
    }

    fn router(self: Arc<Self>, mount: &str) -> Router {
        routes::router(self, mount)
    }

    fn fault_responder(&self) -> Arc<dyn FaultResponder> {
        Arc::new(routes::GitHubFaults)
    }

    fn newest_timestamp(&self) -> Secs {
        self.data.read().newest()
    }

    fn mutate(&self, count: usize, at: Secs, rng: &mut SandboxRng) -> Vec<Change> {
        let mut data = self.data.write();
        let touched = data.mutate(count, at, rng);
        // Reported as GitHub shows them: pull requests by their `/pulls` id, commits by sha.
        let mut changes: Vec<Change> = touched
            .into_iter()
            .map(|(scope, kind, action, id)| {
                let row = match kind {
                    "issue_comment" => data.issue_comments.get(id),
                    "review_comment" => data.review_comments.get(id),
                    "review" => data.reviews.get(id),
                    "commit" => data.commits.get(id),
                    _ => None,
                };
                let number = match kind {
                    "pull" => data
                        .issues
                        .live()
                        .find(|r| r.scope == scope && r.u64("pull_id") == id),
                    "issue" => data.issues.get(id),
                    "commit" => None,
                    _ => row,
                }
                .map(|r| r.u64("number"));
                let sha = (kind == "commit").then(|| row.map_or("", |r| r.str("sha")).to_owned());
                Change {
                    provider: "github",
                    generation: data.generation,
                    scope: full_name(scope),
                    kind,
                    action,
                    id: if kind == "commit" { 0 } else { id },
                    number,
                    sha,
                }
            })
            .collect();
        changes.sort_by(|a, b| {
            (&a.scope, a.kind, a.id, &a.sha).cmp(&(&b.scope, b.kind, b.id, &b.sha))
        });
        changes
    }

    /// The `comment` stream reads issue and review comments, and the `review` stream asks again
    /// for the reviews of the pull request at the cursor's own second (`since` is inclusive).
    fn unchanged_extra_requests_per_scope(&self) -> u64 {
        2
    }

    fn connector_config(&self, base_url: &str) -> serde_json::Value {
        serde_json::json!({
            "base_url": base_url,
            "repositories": self.repo_names(),
            "auth": {"type": "bearer", "token": format!("{}-connector", crate::DEFAULT_TOKEN_PREFIX)},
        })
    }

    fn webhook_for(&self, change: &Change, secret: &str, base_url: &str) -> Option<Delivery> {
        let root = base_url.trim_end_matches('/');
        let data = self.data.read();
        let view = self.view(&data, (root, root));
        let (event, body) = webhooks::for_change(&view, &data, change)?;
        let repo_id = body["repository"]["id"].as_u64().unwrap_or(0);
        let body = serde_json::to_vec(&body).ok()?;
        let signature = crate::webhook::github_signature(secret.as_bytes(), &body);
        let delivery = change.delivery_rng(self.deliveries).uuid();
        let headers = [
            ("user-agent", "GitHub-Hookshot/044aadd".to_owned()),
            ("x-github-hook-id", "400000001".to_owned()),
            ("x-github-event", event.to_owned()),
            ("x-github-delivery", delivery.clone()),
            (
                "x-github-hook-installation-target-type",
                "repository".to_owned(),
            ),
            ("x-github-hook-installation-target-id", repo_id.to_string()),
            ("x-hub-signature-256", signature),
        ];
        Some(Delivery::json((event, delivery), body, headers))
    }

    fn expected(&self) -> Vec<Expected> {
        let data = self.data.read();
        let mut out = Vec::new();
        let mut add = |row: &Row, record_type: &'static str, id: String, updated: Secs| {
            out.push(Expected {
                scope: full_name(row.scope),
                record_type,
                id,
                updated_at: Iso(row.deleted.unwrap_or(updated)),
                deleted: row.deleted.is_some(),
            });
        };
        for r in data.issues.all() {
            match r.fields.get("pull_id").and_then(serde_json::Value::as_u64) {
                Some(pull) => add(r, "pull_request", format!("pr-{pull}"), r.updated),
                None => add(r, "issue", format!("issue-{}", r.id), r.updated),
            }
        }
        for r in data.issue_comments.all() {
            add(r, "comment", format!("issue-comment-{}", r.id), r.updated);
        }
        for r in data.review_comments.all() {
            add(r, "comment", format!("review-comment-{}", r.id), r.updated);
        }
        for r in data.reviews.all() {
            // A review record moves with its pull request, which is when reviews change.
            let pull = r
                .parent
                .and_then(|p| data.issues.get(p))
                .map_or(0, |p| p.updated);
            add(r, "review", format!("review-{}", r.id), r.created.max(pull));
        }
        for r in data.commits.all() {
            add(r, "commit", format!("commit-{}", r.str("sha")), r.created);
        }
        for r in data.runs.all() {
            add(
                r,
                "workflow_run",
                format!("workflow-run-{}", r.id),
                r.updated,
            );
        }
        out.sort();
        out
    }
}

/// GitHub's 404 body, for paths no route matches.
pub(crate) fn not_found_response() -> axum::response::Response {
    routes::error(http::StatusCode::NOT_FOUND, "Not Found")
}
