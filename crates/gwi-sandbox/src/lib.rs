//! Local simulated provider APIs with fault injection and a signed-webhook sender.
//!
//! `gwi sandbox` (and [`Sandbox::start`] in tests) serves provider APIs that behave closely enough
//! like the real ones that a connector cannot tell, given the sandbox's URL as its `base_url`:
//!
//! - **Providers**, each under its own prefix: **GitHub REST** at `/github` (and, as before, at
//!   `/`; each also under `/api/v3`, the GitHub Enterprise Server shape), see [`github`];
//!   **GitLab REST v4** at `/gitlab/api/v4`, see [`gitlab`]; the **Slack Web API** at
//!   `/slack/api/<method>` (`auth.test`, `conversations.list`, `conversations.history`,
//!   `conversations.replies`, `users.list`), see [`slack`]; the **Linear GraphQL API** at
//!   `POST /linear/graphql`, see [`linear`]; **Jira Cloud REST v3** at `/jira/rest/api/3`, see
//!   [`jira`]. [`SandboxConfig::providers`] (`gwi sandbox
//!   --provider`) serves a subset.
//! - **Data** generated from a seed, sized by a scale, and mutable over time
//!   (`POST /_sandbox/mutate`), with expected record counts at `GET /_sandbox/stats` and
//!   [`SandboxHandle::github`].
//! - **Faults** (429, 403 secondary rate limit, 500/502/503, connection reset mid-body, truncated
//!   JSON, latency), drawn per request from the seed; see [`faults`].
//! - **Tokens**: by default any token starting with `gwi-sandbox` (e.g. `gwi-sandbox-token`) is
//!   accepted; [`SandboxConfig::tokens`] can list exact tokens instead.
//! - **Webhooks**: [`send_webhooks`] changes the same data and sends each provider's signed
//!   delivery for every change; [`SandboxHandle::webhooks_for`] builds them for a running sandbox.
//!
//! ```no_run
//! # async fn demo() -> Result<(), gwi_sandbox::SandboxError> {
//! use gwi_sandbox::{Sandbox, SandboxConfig};
//! let sandbox = Sandbox::start(SandboxConfig { seed: 7, ..SandboxConfig::default() }).await?;
//! let counts = sandbox.github().counts();
//! println!("{} serves {} pull requests", sandbox.base_url(), counts.total.pulls);
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Routes
//!
//! GitHub (each also under `/api/v3`): `GET /user`, `/rate_limit`, `/repos/{o}/{r}`,
//! `/repos/{o}/{r}/pulls` (`state`, `sort=created|updated|popularity`, `direction`),
//! `/repos/{o}/{r}/pulls/{n}`, `/repos/{o}/{r}/pulls/{n}/reviews`, `/repos/{o}/{r}/pulls/comments`
//! (`since`, `sort`, `direction`), `/repos/{o}/{r}/issues` (issues *and* pull requests, the latter
//! with a `pull_request` key; `state`, `since`, `sort=created|updated|comments`, `direction`),
//! `/repos/{o}/{r}/issues/{n}`, `/repos/{o}/{r}/issues/comments` (`since`, `sort`, `direction`),
//! `/repos/{o}/{r}/commits` (`since`, `until`), `/repos/{o}/{r}/actions/runs`
//! (`{"total_count", "workflow_runs"}`; `created=>=2024-05-01T00:00:00Z`, `<=`, `>`, `<`, `a..b`,
//! or a date). Lists take `per_page` (default 30, max 100) and `page` and answer with RFC 8288
//! `Link` headers (`prev`, `next`, `last`, `first`; absolute URLs built from the request's `Host`).
//! Every answer carries `X-RateLimit-Limit/Remaining/Used/Reset/Resource` (one window shared by all
//! tokens; `/rate_limit` does not count). A missing token gets 401 `Requires authentication`, a
//! wrong one 401 `Bad credentials`, both as `{"message", "documentation_url", "status"}`; an unknown
//! repository or path gets 404 `Not Found`; a malformed `since` gets 422.
//!
//! Slack: `GET` or form `POST` `/slack/api/<method>` for `auth.test`, `api.test`,
//! `conversations.list` (`types`, `exclude_archived`), `conversations.history` and
//! `conversations.replies` (`channel`, `ts`, `oldest`, `latest`, `inclusive`) and `users.list`,
//! paged by `limit` and `cursor` (`response_metadata.next_cursor`, `""` at the end, see
//! [`core::cursor`]). Refusals are HTTP 200 `{"ok": false, "error": ...}` (`not_authed`,
//! `invalid_auth`, `channel_not_found`, `not_in_channel`, `missing_scope` for a token containing
//! `missing-scope`), except rate limits: 429 with `Retry-After` and `ratelimited`.
//!
//! Linear: `POST /linear/graphql` with `{"query", "variables", "operationName"}`; the key as
//! `Authorization: <key>` (personal API key) or `Authorization: Bearer <token>` (OAuth). Queries
//! are parsed and answered with exactly the fields they select; root fields `viewer`,
//! `organization`, `teams`, `users`, `projects`, `cycles`, `issues`, `comments`, the lists being
//! Relay connections (`first`, `after`, `orderBy`, `includeArchived`, `filter`; `nodes`, `edges`,
//! `pageInfo { hasNextPage endCursor }`). Every answer carries `x-ratelimit-requests-*`,
//! `x-ratelimit-complexity-*` (resets in epoch milliseconds) and `x-complexity`. Errors are HTTP
//! 400 `{"errors": [...]}` with `extensions.code` (`GRAPHQL_PARSE_FAILED`,
//! `GRAPHQL_VALIDATION_FAILED`, `INPUT_ERROR`, `AUTHENTICATION_ERROR`, `RATELIMITED`: no
//! `Retry-After`, wait for `x-ratelimit-requests-reset`).
//!
//! Jira: the site root is `/jira` (a connector's `base_url`), the API `/jira/rest/api/3`:
//! `GET /myself` (the site user, time zone `Europe/Berlin`), `/serverInfo`, `/project/search`
//! (`keys`, `expand=insight`, `startAt`, `maxResults`; projects `ENG`, `OPS`, `DES`),
//! `/search/jql` (`jql`, `fields`, `expand=changelog`, `maxResults` default 50 max 100,
//! `nextPageToken`; `{"issues", "nextPageToken", "isLast"}` with no total; JQL `project = K`,
//! `project in (A, B)`, `updated >= "yyyy-MM-dd HH:mm"` read in `Europe/Berlin`, `AND`, `ORDER BY
//! updated ASC, key ASC`, anything else 400), `/issue/{idOrKey}` (`fields`),
//! `/issue/{idOrKey}/comment` (`startAt`, `maxResults`, `orderBy`), `/issue/{idOrKey}/comment/{id}`,
//! `/issue/{idOrKey}/changelog` (`startAt`, `maxResults`). Credentials as `Authorization: Basic
//! base64(email:token)` (any email) or `Authorization: Bearer <token>`. The removed
//! `/rest/api/{2,3}/search` answers 410. Errors are `{"errorMessages": [...], "errors": {}}`
//! (401, 404, 400); rate limits 429 with `Retry-After`, `X-RateLimit-*` and `RateLimit-Reason`.
//!
//! Control (never faulted, never counted): `GET /_sandbox/stats`, `GET|POST /_sandbox/faults`
//! (`{"spec": "error=0.05,429=0.01"}` or `{"429": 0.01, "latency": "20ms"}`), `POST
//! /_sandbox/mutate` (`{"count": N, "provider": "github"}`, answers with a [`MutationReport`]),
//! `GET /_sandbox/expected?provider=github` (every record a full sync should store, as
//! [`Expected`]: scope, record type, id, `updated_at`, deleted, in the connector's words).
//! [`SandboxHandle::webhooks_for`] builds the provider's signed delivery for each change.
//!
//! `GET /_sandbox/stats` ([`SandboxStats`]):
//!
//! ```json
//! {
//!   "seed": 1, "scale": 1,
//!   "requests": { "total": 1, "by_route": { "GET /repos/{owner}/{repo}/pulls": 1 } },
//!   "faults": { "total": 0, "by_kind": { "403": 0, "429": 0, "500": 0, "502": 0, "503": 0,
//!                                        "latency": 0, "reset": 0, "truncate": 0 } },
//!   "fault_config": { "500": 0.0, "502": 0.0, "503": 0.0, "429": 0.0, "403": 0.0, "reset": 0.0,
//!                     "truncate": 0.0, "latency": "0s", "retry_after": "1s",
//!                     "spec": "none,retry-after=1s" },
//!   "mutations": 0,
//!   "records": { "github": { "acme/widgets": { "pull_request": 121, "issue": 148,
//!                                              "comment": 676, "review": 109, "commit": 301,
//!                                              "workflow_run": 201 },
//!                            "acme/gadgets": { "...": 0 } } }
//! }
//! ```
//!
//! # Data and time
//!
//! Generated records span 2024 (before 2025-01-01T00:00:00Z). A mutation stamps every record it
//! touches with one timestamp, `max(wall clock, previous mutation + 1 s)`: strictly later than
//! anything served before, so `since=<that timestamp>` returns exactly the changed records. The
//! record *contents* of a mutation are fixed by the seed and how many mutations came before; only
//! the timestamps follow the wall clock.
//!
//! Adding a provider: implement [`Provider`] in its own module and list it in [`PROVIDERS`] and
//! the server's providers. The module keeps its objects in [`core::table::Table`]s (listing with
//! filters and order, updates and deletions), renders them with [`core::template::Template`]s
//! made from recorded real payloads kept in `templates/<provider>/` with their attribution,
//! admits requests through a [`core::auth::Gate`] and words refusals and injected faults its
//! own way ([`faults::FaultResponder`]). [`gitlab`] is the model.

pub mod config;
mod control;
pub mod core;
pub mod error;
pub mod faults;
pub mod github;
pub mod gitlab;
pub mod jira;
pub mod linear;
pub mod provider;
mod server;
pub mod slack;
pub mod stats;
pub mod webhook;

pub use config::SandboxConfig;
pub use core::auth::{DEFAULT_TOKEN_PREFIX, TokenPolicy};
pub use core::rate_limit::RateLimitConfig;
pub use error::SandboxError;
pub use faults::{FaultConfig, FaultKind};
pub use github::{GitHubCounts, RepoCounts};
pub use provider::{Change, ChangeAction, Delivery, Expected, MutationReport, Provider};
pub use server::{PROVIDERS, RecordCounts, Sandbox, SandboxHandle, SandboxStats, webhook_events};
pub use webhook::{DeliveryResult, SendOptions, SendReport, github_signature, send_webhooks};
