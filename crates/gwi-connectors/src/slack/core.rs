//! Requests to the Slack Web API: one URL per method, page sizes and rate tiers.

use gwi_core::http::{ApiRoot, HttpRequest, RateBucket};
use gwi_core::pagination::CursorParam;

use super::config::RateTier;

/// `auth.test`: who the token is.
pub(crate) const AUTH_TEST: &str = "auth.test";
/// `conversations.list`: channels (Tier 2).
pub(crate) const CONVERSATIONS_LIST: &str = "conversations.list";
/// `conversations.info`: one channel as it is now (Tier 3).
pub(crate) const CONVERSATIONS_INFO: &str = "conversations.info";
/// `conversations.history`: a channel's messages and thread parents, newest first (Tier 3).
pub(crate) const HISTORY: &str = "conversations.history";
/// `conversations.replies`: a thread, its parent first (Tier 3).
pub(crate) const REPLIES: &str = "conversations.replies";
/// `users.list`: the workspace's members (Tier 2).
pub(crate) const USERS_LIST: &str = "users.list";

/// Slack's Tier 2, in requests a minute.
const TIER_2: u32 = 20;
/// Slack's Tier 3.
const TIER_3: u32 = 50;
/// History and replies for commercially distributed non-Marketplace apps since 2025.
const LIMITED_HISTORY: u32 = 1;

/// Page size Slack recommends for listings (it allows up to 1,000 but may answer fewer).
const PAGE: &str = "200";
/// The most `conversations.history`/`replies` give a `limited` app per request.
const LIMITED_PAGE: &str = "15";

/// Builds requests for Slack's methods under the API root (`https://slack.com/api`, or the
/// sandbox's `/slack/api`), each counted against its method's tier.
#[derive(Debug, Clone)]
pub(crate) struct SlackApi {
    root: ApiRoot,
    tier: RateTier,
}

impl SlackApi {
    /// Methods under `root`, paced for an app of `tier`.
    pub(crate) fn new(root: ApiRoot, tier: RateTier) -> Self {
        Self { root, tier }
    }

    /// A GET of `method` with `params`, in the method's own rate bucket.
    pub(crate) fn call(&self, method: &'static str, params: &[(&str, &str)]) -> HttpRequest {
        HttpRequest::get(self.root.url(&[method]))
            .query(params)
            .in_bucket(method)
    }

    /// The first page of a listing `method`, at the largest page the tier allows.
    pub(crate) fn list(&self, method: &'static str, params: &[(&str, &str)]) -> HttpRequest {
        let limit = match (method, self.tier) {
            (HISTORY | REPLIES, RateTier::Limited) => LIMITED_PAGE,
            _ => PAGE,
        };
        self.call(method, &[("limit", limit)]).query(params)
    }

    /// Slack's per-method limits for this app.
    pub(crate) fn buckets(&self) -> Vec<RateBucket> {
        let history = match self.tier {
            RateTier::Standard => TIER_3,
            RateTier::Limited => LIMITED_HISTORY,
        };
        vec![
            RateBucket::per_minute(CONVERSATIONS_LIST, TIER_2),
            RateBucket::per_minute(CONVERSATIONS_INFO, TIER_3),
            RateBucket::per_minute(USERS_LIST, TIER_2),
            RateBucket::per_minute(HISTORY, history),
            RateBucket::per_minute(REPLIES, history),
        ]
    }
}

/// How every listing pages: `response_metadata.next_cursor` sent back as `cursor` ("" ends).
pub(crate) fn next_cursor(items_at: &'static str) -> CursorParam {
    CursorParam::new("/response_metadata/next_cursor", "cursor").items_at(items_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn api(tier: RateTier) -> SlackApi {
        let root = ApiRoot::new(Url::parse("http://127.0.0.1:9/slack/api").unwrap()).unwrap();
        SlackApi::new(root, tier)
    }

    #[test]
    fn methods_sit_under_the_root_in_their_own_bucket_and_limited_apps_read_15() {
        let request = api(RateTier::Standard).list(HISTORY, &[("channel", "C1")]);
        assert_eq!(
            request.url.as_str(),
            "http://127.0.0.1:9/slack/api/conversations.history?limit=200&channel=C1"
        );
        assert_eq!(request.bucket, Some(HISTORY));
        let limited = api(RateTier::Limited);
        assert_eq!(limited.list(REPLIES, &[]).url.query(), Some("limit=15"));
        assert_eq!(limited.list(USERS_LIST, &[]).url.query(), Some("limit=200"));
        let history = limited
            .buckets()
            .into_iter()
            .find(|b| b.name == HISTORY)
            .map(|b| b.requests_per_minute);
        assert_eq!(history, Some(1));
        let standard = api(RateTier::Standard).buckets();
        assert!(
            standard
                .iter()
                .any(|b| b.name == HISTORY && b.requests_per_minute == 50)
        );
    }
}
