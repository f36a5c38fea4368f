//! The simulated GitHub REST API.
//!
//! Routes (also under `/api/v3`, GitHub Enterprise Server's base URL shape):
//! `GET /user`, `/rate_limit`, `/repos/{o}/{r}`, `/repos/{o}/{r}/pulls`, `/pulls/{n}`,
//! `/pulls/{n}/reviews`, `/pulls/comments`, `/issues`, `/issues/{n}`, `/issues/comments`,
//! `/commits`, `/actions/runs`. Lists take `per_page` (default 30, max 100) and `page` and answer
//! with RFC 8288 `Link` headers; every answer carries `X-RateLimit-*` headers.

mod data;
mod faults;
mod listing;
mod mutate;
mod routes;
mod views;
pub mod webhooks;

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use axum::Router;
use bytes::Bytes;
use serde::Serialize;

pub(crate) use self::data::Dataset;
pub use self::data::{DATA_END, DATA_START, OWNER, REPO_NAMES};
use self::listing::{Endpoint, ListQuery};
use self::views::{
    Base, CommitView, IssueCommentView, IssueView, Prerendered, PullView, ReviewCommentView,
    ReviewView, RunView,
};
use crate::core::auth::{Gate, TokenPolicy};
use crate::core::cache::GenerationCache;
use crate::core::rate_limit::RateLimitConfig;
use crate::core::rng::SandboxRng;
use crate::core::time::{Iso, Secs};
use crate::faults::FaultResponder;
use crate::provider::{Change, Delivery, Expected, Provider};

/// Records in one repository (or in all of them), as the list endpoints return them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GitHubCounts {
    /// Per repository.
    pub repos: BTreeMap<String, RepoCounts>,
    /// Sum over repositories.
    pub total: RepoCounts,
}

/// One rendered list page.
#[derive(Debug, Clone)]
struct RenderedPage {
    body: Bytes,
    total: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PageKey {
    api: String,
    html: String,
    repo: usize,
    endpoint: Endpoint,
    query: ListQuery,
    per_page: usize,
    page: usize,
}

/// The simulated GitHub: data, auth, rate limit and response caches.
pub struct GitHub {
    data: RwLock<Dataset>,
    gate: Gate,
    listings: GenerationCache<(usize, Endpoint, ListQuery), Arc<Vec<u32>>>,
    pages: GenerationCache<PageKey, RenderedPage>,
    prerendered: GenerationCache<(String, String), Arc<Prerendered>>,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}

impl GitHub {
    /// GitHub data for `seed` at `scale`, accepting `tokens`, limited by `rate_limit`.
    pub fn new(seed: u64, scale: u32, tokens: TokenPolicy, rate_limit: RateLimitConfig) -> Self {
        Self {
            data: RwLock::new(Dataset::generate(seed, scale)),
            gate: Gate::new(tokens, rate_limit),
            listings: GenerationCache::new(4096),
            pages: GenerationCache::new(16_384),
            prerendered: GenerationCache::new(64),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Dataset> {
        self.data.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The repositories served, as `owner/name`.
    pub fn repo_names(&self) -> Vec<String> {
        self.read()
            .repos
            .iter()
            .map(|r| r.repo.full_name.clone())
            .collect()
    }

    /// Pull request numbers of `owner/name` (to walk `/pulls/{n}/reviews`).
    pub fn pull_numbers(&self, full_name: &str) -> Vec<u64> {
        let ds = self.read();
        ds.repos
            .iter()
            .filter(|r| r.repo.full_name == full_name)
            .flat_map(|r| {
                r.issues
                    .iter()
                    .filter(|i| i.pull.is_some())
                    .map(|i| i.number)
            })
            .collect()
    }

    /// The records served right now, per repository and in total.
    pub fn counts(&self) -> GitHubCounts {
        let ds = self.read();
        let mut out = GitHubCounts::default();
        for rd in &ds.repos {
            let pulls = rd.issues.iter().filter(|i| i.pull.is_some()).count();
            let pulls_open = rd
                .issues
                .iter()
                .filter(|i| i.pull.is_some() && i.open)
                .count();
            let open = rd.issues.iter().filter(|i| i.open).count();
            let c = RepoCounts {
                pulls,
                pulls_open,
                issues: rd.issues.len() - pulls,
                issues_open: open - pulls_open,
                issues_and_pulls: rd.issues.len(),
                issues_and_pulls_open: open,
                issue_comments: rd.issue_comments.len(),
                review_comments: rd.review_comments.len(),
                reviews: rd.reviews.len(),
                commits: rd.commits.len(),
                workflow_runs: rd.runs.len(),
            };
            out.total.add(&c);
            out.repos.insert(rd.repo.full_name.clone(), c);
        }
        out
    }

    /// One list page: from the cache, or filtered, sorted and rendered now.
    fn list_page(
        &self,
        base: &Base,
        repo: usize,
        endpoint: Endpoint,
        query: &ListQuery,
        per_page: usize,
        page: usize,
    ) -> Result<RenderedPage, serde_json::Error> {
        let ds = self.read();
        let generation = ds.generation;
        let key = PageKey {
            api: base.api.clone(),
            html: base.html.clone(),
            repo,
            endpoint,
            query: query.clone(),
            per_page,
            page,
        };
        if let Some(hit) = self.pages.get(generation, &key) {
            return Ok(hit);
        }
        let Some(rd) = ds.repos.get(repo) else {
            return Ok(RenderedPage {
                body: Bytes::from_static(b"[]"),
                total: 0,
            });
        };
        let lkey = (repo, endpoint, query.clone());
        let listing = match self.listings.get(generation, &lkey) {
            Some(l) => l,
            None => {
                let l = Arc::new(query.select(endpoint, rd));
                self.listings.insert(generation, lkey, Arc::clone(&l));
                l
            }
        };
        let params = crate::core::page::PageParams { per_page, page };
        let slice = listing.get(params.range(listing.len())).unwrap_or(&[]);
        let roots = (base.api.clone(), base.html.clone());
        let pre = match self.prerendered.get(generation, &roots) {
            Some(p) => p,
            None => {
                let p = Arc::new(Prerendered::build(base, &ds));
                self.prerendered.insert(generation, roots, Arc::clone(&p));
                p
            }
        };
        let base = Base {
            pre: Some(pre),
            ..base.clone()
        };
        let body = render(&ds, rd, endpoint, slice, &base, listing.len())?;
        let rendered = RenderedPage {
            body: Bytes::from(body),
            total: listing.len(),
        };
        self.pages.insert(generation, key, rendered.clone());
        Ok(rendered)
    }
}

/// Renders records `idx` of `endpoint` as the JSON body GitHub would send.
fn render(
    ds: &Dataset,
    rd: &data::RepoData,
    endpoint: Endpoint,
    idx: &[u32],
    b: &Base,
    total: usize,
) -> Result<Vec<u8>, serde_json::Error> {
    // Typical record sizes, so a page's buffer is allocated once.
    let per_record = match endpoint {
        Endpoint::Pulls => 16_384,
        Endpoint::Runs => 11_776,
        Endpoint::Issues | Endpoint::Commits => 3_584,
        Endpoint::ReviewComments => 2_304,
        Endpoint::IssueComments | Endpoint::Reviews(_) => 1_664,
    };
    let mut out: Vec<u8> = Vec::with_capacity(64 + idx.len() * per_record);
    if endpoint == Endpoint::Runs {
        out.extend_from_slice(format!("{{\"total_count\":{total},\"workflow_runs\":").as_bytes());
    }
    out.push(b'[');
    for (k, n) in idx.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        let n = *n as usize;
        match endpoint {
            Endpoint::Issues => {
                serde_json::to_writer(
                    &mut out,
                    &IssueView {
                        b,
                        ds,
                        rd,
                        i: &rd.issues[n],
                    },
                )?;
            }
            Endpoint::Pulls => {
                let i = &rd.issues[n];
                if let Some(p) = &i.pull {
                    serde_json::to_writer(
                        &mut out,
                        &PullView {
                            b,
                            ds,
                            rd,
                            i,
                            p,
                            full: false,
                        },
                    )?;
                }
            }
            Endpoint::IssueComments => {
                let c = &rd.issue_comments[n];
                serde_json::to_writer(&mut out, &IssueCommentView { b, ds, rd, c })?;
            }
            Endpoint::ReviewComments => {
                let c = &rd.review_comments[n];
                serde_json::to_writer(&mut out, &ReviewCommentView { b, ds, rd, c })?;
            }
            Endpoint::Reviews(_) => {
                let r = &rd.reviews[n];
                serde_json::to_writer(
                    &mut out,
                    &ReviewView {
                        b,
                        ds,
                        rd,
                        r,
                        webhook: false,
                    },
                )?;
            }
            Endpoint::Commits => {
                serde_json::to_writer(
                    &mut out,
                    &CommitView {
                        b,
                        ds,
                        rd,
                        c: &rd.commits[n],
                    },
                )?;
            }
            Endpoint::Runs => {
                serde_json::to_writer(
                    &mut out,
                    &RunView {
                        b,
                        ds,
                        rd,
                        r: &rd.runs[n],
                    },
                )?;
            }
        }
    }
    out.push(b']');
    if endpoint == Endpoint::Runs {
        out.push(b'}');
    }
    Ok(out)
}

impl Provider for GitHub {
    fn name(&self) -> &'static str {
        "github"
    }

    fn router(self: Arc<Self>, mount: &str) -> Router {
        routes::router(self, mount)
    }

    fn fault_responder(&self) -> Arc<dyn FaultResponder> {
        Arc::new(faults::GitHubFaults)
    }

    fn counts_json(&self) -> serde_json::Value {
        serde_json::to_value(self.counts()).unwrap_or(serde_json::Value::Null)
    }

    fn newest_timestamp(&self) -> Secs {
        self.read().newest_timestamp()
    }

    fn mutate(&self, count: usize, at: Secs, rng: &mut SandboxRng) -> Vec<Change> {
        let mut ds = self.data.write().unwrap_or_else(PoisonError::into_inner);
        let changes = mutate::mutate(&mut ds, count, at, rng);
        ds.generation += 1;
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
        let origin = base_url.trim_end_matches('/').to_owned();
        let base = Base::new(origin.clone(), origin);
        let (event, body, repo_id) = webhooks::for_change(&self.read(), change, &base)?;
        let body = serde_json::to_vec(&body).ok()?;
        let signature = crate::webhook::github_signature(secret.as_bytes(), &body);
        let delivery = format!(
            "{}-{}-{}-{}",
            change.kind,
            change.id,
            change.sha.as_deref().unwrap_or(""),
            change.number.unwrap_or(0)
        );
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("x-github-event", event.to_owned()),
            ("x-github-delivery", delivery),
            (
                "x-github-hook-installation-target-type",
                "repository".to_owned(),
            ),
            ("x-github-hook-installation-target-id", repo_id.to_string()),
            ("x-hub-signature-256", signature),
        ];
        Some(Delivery {
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            body,
        })
    }

    fn expected(&self) -> Vec<Expected> {
        let ds = self.read();
        let mut out = Vec::new();
        for repo in &ds.repos {
            let scope = &repo.repo.full_name;
            let mut record = |record_type: &'static str, id: String, updated_at: Secs, deleted| {
                out.push(Expected {
                    scope: scope.clone(),
                    record_type,
                    id,
                    updated_at: Iso(updated_at),
                    deleted,
                });
            };
            let mut add = |record_type, id, updated_at| record(record_type, id, updated_at, false);
            for issue in &repo.issues {
                match &issue.pull {
                    Some(pull) => add("pull_request", format!("pr-{}", pull.id), issue.updated_at),
                    None => add("issue", format!("issue-{}", issue.id), issue.updated_at),
                }
            }
            for c in &repo.issue_comments {
                add("comment", format!("issue-comment-{}", c.id), c.updated_at);
            }
            for c in &repo.review_comments {
                add("comment", format!("review-comment-{}", c.id), c.updated_at);
            }
            for r in &repo.reviews {
                // A review record moves with its pull request, which is when reviews change.
                let pull_updated = repo
                    .issue(r.pr_number)
                    .map_or(r.submitted_at, |i| i.updated_at);
                add(
                    "review",
                    format!("review-{}", r.id),
                    r.submitted_at.max(pull_updated),
                );
            }
            for c in &repo.commits {
                add("commit", format!("commit-{}", c.sha), c.date);
            }
            for r in &repo.runs {
                add(
                    "workflow_run",
                    format!("workflow-run-{}", r.id),
                    r.updated_at,
                );
            }
            for (c, at) in &repo.deleted_issue_comments {
                record("comment", format!("issue-comment-{}", c.id), *at, true);
            }
        }
        out.sort();
        out
    }
}

/// GitHub's 404 body, for paths no route matches.
pub(crate) fn not_found_response() -> axum::response::Response {
    routes::error(http::StatusCode::NOT_FOUND, "Not Found")
}
