//! A connector's reading of its provider's answers, for the failures a status does not tell.
//!
//! Most providers say what went wrong with the status (401, 403, 429, 5xx) and `ApiClient`'s
//! default mapping handles them. Some do not: Slack answers every call with HTTP 200 and
//! `{"ok": false, "error": "ratelimited"}`, GraphQL APIs report `errors` (with
//! `extensions.code = "RATELIMITED"`) in a 200 or a 400, Google says `rateLimitExceeded` in a
//! 403, Jira answers 410 for an endpoint it removed. A connector supplies a [`Classifier`]
//! that reads such answers into a [`Verdict`]; `ApiClient` asks it about every answer, inside
//! its retry loop and before its default mapping, so a classified rate limit is waited out and
//! retried like a 429.

use std::sync::Arc;
use std::time::Duration;

use crate::http::HttpResponse;

/// What an answer means, when its status alone does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The credentials were refused: invalid, expired or revoked (like a 401). The provider's
    /// reason is kept (e.g. Slack's `invalid_auth`); one token refresh is tried first.
    Unauthorized {
        /// The provider's reason.
        reason: String,
    },
    /// The credentials work but may not do this (like a 403): not retried.
    Forbidden {
        /// The provider's reason.
        reason: String,
        /// The scopes the provider says the request needs (Slack's `needed`, GitLab's
        /// `scope`), which the error lists for the user; empty when it does not say.
        scopes: Vec<String>,
    },
    /// The provider asks to slow down: waited out (its wait, else the backoff) and retried.
    RateLimited {
        /// How long the provider asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// A transient failure: retried with backoff.
    Temporary {
        /// The provider's reason.
        reason: String,
    },
    /// A failure retrying cannot fix (a removed endpoint, a malformed query): not retried.
    Permanent {
        /// The provider's reason.
        reason: String,
    },
}

/// Reads an answer into a [`Verdict`], or `None` to let the status decide.
pub type Classifier = Arc<dyn Fn(&HttpResponse) -> Option<Verdict> + Send + Sync>;
