//! Requests to the GitLab REST API: URLs under `{base_url}/api/v4`, page size, query times.

use chrono::{DateTime, SecondsFormat, Utc};
use gwi_core::http::{ApiRoot, HttpRequest};
use gwi_core::pagination::NextPageHeader;
use url::Url;

/// The REST API's path under the instance root.
const API: [&str; 2] = ["api", "v4"];

/// Page size for list endpoints: GitLab's maximum, so a sync costs as few requests as possible.
const PER_PAGE: &str = "100";

/// Builds requests under the instance root (`https://gitlab.com`, a self-managed host, the
/// sandbox's `/gitlab`), each one under `/api/v4`.
#[derive(Debug, Clone)]
pub(crate) struct GitlabApi {
    root: ApiRoot,
}

impl GitlabApi {
    /// An API under the instance `root`.
    pub(crate) fn new(root: ApiRoot) -> Self {
        Self { root }
    }

    /// `{root}/api/v4/{segments...}`, each segment encoded on its own (a project path such as
    /// `acme/widgets` is one segment, `acme%2Fwidgets`).
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut all = API.to_vec();
        all.extend_from_slice(segments);
        self.root.url(&all)
    }

    /// A GET of `{root}/api/v4/{segments...}`.
    pub(crate) fn get(&self, segments: &[&str]) -> HttpRequest {
        HttpRequest::get(self.url(segments))
    }

    /// A first-page request for a listing at the maximum page size.
    pub(crate) fn list(&self, segments: &[&str], params: &[(&str, &str)]) -> HttpRequest {
        paged(self.get(segments), params)
    }
}

/// How listings are paged: by the page number in `x-next-page`, which holds wherever gwi reaches
/// the instance, where the `Link` header's URLs use the instance's configured external URL (often
/// another host behind a proxy or in a container, which gwi refuses to send credentials to).
/// Keyset pages name no page number: their `rel="next"` link's `cursor` is asked of the same
/// address instead.
pub(crate) fn next_page() -> NextPageHeader {
    NextPageHeader::new("x-next-page", "page").or_link_param("cursor")
}

/// `request` as the first page of a listing at the maximum page size, with `params`.
pub(crate) fn paged(request: HttpRequest, params: &[(&str, &str)]) -> HttpRequest {
    request.query(&[("per_page", PER_PAGE)]).query(params)
}

/// A time as GitLab's `updated_after` and `since` take it: RFC 3339 in UTC (a `Z`, never a `+`
/// that a query would have to encode), with the fraction only when there is one.
pub(crate) fn query_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(base: &str) -> GitlabApi {
        GitlabApi::new(ApiRoot::new(Url::parse(base).unwrap()).unwrap())
    }

    #[test]
    fn urls_keep_the_instance_path_and_encode_project_paths_as_one_segment() {
        assert_eq!(
            api("https://gitlab.com")
                .url(&["projects", "acme/sub/widgets"])
                .as_str(),
            "https://gitlab.com/api/v4/projects/acme%2Fsub%2Fwidgets"
        );
        for base in ["http://127.0.0.1:9/gitlab", "http://127.0.0.1:9/gitlab/"] {
            assert_eq!(
                api(base).url(&["version"]).as_str(),
                "http://127.0.0.1:9/gitlab/api/v4/version"
            );
        }
    }

    #[test]
    fn listings_ask_for_full_pages_and_times_need_no_encoding() {
        let request = api("https://gitlab.com").list(&["projects", "1", "issues"], &[("a", "b")]);
        assert_eq!(request.url.query(), Some("per_page=100&a=b"));
        let at = gwi_core::time::parse("2024-05-06T07:08:09.250+02:00").unwrap();
        assert_eq!(query_time(at), "2024-05-06T05:08:09.250Z");
        let whole = gwi_core::time::parse("2024-05-06T07:08:09Z").unwrap();
        assert_eq!(query_time(whole), "2024-05-06T07:08:09Z");
    }
}
