//! Requests to the GitHub REST API: URLs under the configured root, and the headers GitHub asks for.

use gwi_core::http::{ApiRoot, HttpRequest};
use http::HeaderValue;
use http::header::{ACCEPT, HeaderName};
use url::Url;

use super::config::Repository;

/// The REST API version every request pins, so GitHub's changes do not reach us unannounced.
pub(crate) const API_VERSION: &str = "2022-11-28";

/// GitHub's media type for REST v3 JSON.
const MEDIA_TYPE: &str = "application/vnd.github+json";

/// Page size for list endpoints: GitHub's maximum, so a sync costs as few requests as possible.
pub(crate) const PER_PAGE: &str = "100";

/// Builds requests under the API root (`https://api.github.com`, `https://HOST/api/v3`, the sandbox).
#[derive(Debug, Clone)]
pub(crate) struct GithubApi {
    root: ApiRoot,
}

impl GithubApi {
    /// An API rooted at `root`.
    pub(crate) fn new(root: ApiRoot) -> Self {
        Self { root }
    }

    /// `base/repos/{owner}/{name}/{rest...}`.
    pub(crate) fn repo_url(&self, repo: &Repository, rest: &[&str]) -> Url {
        let mut segments = vec!["repos", repo.owner(), repo.name()];
        segments.extend_from_slice(rest);
        self.root.url(&segments)
    }

    /// A GET of `base/{segments...}` with GitHub's headers.
    pub(crate) fn get(&self, segments: &[&str]) -> HttpRequest {
        request(self.root.url(segments))
    }
}

/// A GET of `url` with the headers GitHub asks every client to send.
pub(crate) fn request(url: Url) -> HttpRequest {
    let mut request = HttpRequest::get(url);
    request
        .headers
        .insert(ACCEPT, HeaderValue::from_static(MEDIA_TYPE));
    request.headers.insert(
        HeaderName::from_static("x-github-api-version"),
        HeaderValue::from_static(API_VERSION),
    );
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(base: &str) -> GithubApi {
        GithubApi::new(ApiRoot::new(Url::parse(base).unwrap()).unwrap())
    }

    #[test]
    fn enterprise_base_path_is_kept() {
        let repo = Repository::parse("acme/widgets").unwrap();
        for base in [
            "https://github.example.com/api/v3",
            "https://github.example.com/api/v3/",
        ] {
            assert_eq!(
                api(base).repo_url(&repo, &["pulls"]).as_str(),
                "https://github.example.com/api/v3/repos/acme/widgets/pulls"
            );
        }
        assert_eq!(
            api("https://api.github.com").get(&["user"]).url.as_str(),
            "https://api.github.com/user"
        );
    }

    #[test]
    fn every_request_carries_the_media_type_and_api_version() {
        let request = api("https://api.github.com").get(&["rate_limit"]);
        assert_eq!(request.headers[ACCEPT], MEDIA_TYPE);
        assert_eq!(request.headers["x-github-api-version"], API_VERSION);
    }
}
