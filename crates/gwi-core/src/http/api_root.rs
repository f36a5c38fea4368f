//! `ApiRoot`: a provider's API root, under which every request URL is built.

use url::Url;

use crate::http::HttpRequest;

/// A provider's API root (`https://api.github.com`, `https://HOST/api/v3`,
/// `https://gitlab.example.com/api/v4`, the sandbox). Requests are built *under* it: its path is
/// kept, which `Url::join` does not do (`/api/v4` joined with `projects` is `/api/projects`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRoot(Url);

impl ApiRoot {
    /// Checks that `base` can be an API root: http or https, with a host, no query or fragment.
    /// The error says what is wrong, for the `base_url` field.
    pub fn new(base: Url) -> Result<Self, String> {
        if !matches!(base.scheme(), "http" | "https") {
            return Err(format!("{base} must be an http or https URL"));
        }
        if base.cannot_be_a_base() || base.host_str().is_none() {
            return Err(format!("{base} is not a URL requests can be built under"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(format!(
                "{base} must not have a query or fragment (e.g. https://git.example.com/api/v4)"
            ));
        }
        Ok(Self(base))
    }

    /// The root followed by `segments`, each percent-encoded on its own (so `acme/widgets` as
    /// one segment becomes `acme%2Fwidgets`, as GitLab's project paths need).
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.0.clone();
        // `new` refused URLs that cannot be a base, so this always applies.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// A GET of the root followed by `segments`.
    pub fn get(&self, segments: &[&str]) -> HttpRequest {
        HttpRequest::get(self.url(segments))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(base: &str) -> ApiRoot {
        ApiRoot::new(Url::parse(base).unwrap()).unwrap()
    }

    #[test]
    fn the_roots_path_prefix_is_kept_with_or_without_a_trailing_slash() {
        for base in [
            "https://git.example.com/api/v4",
            "https://git.example.com/api/v4/",
        ] {
            assert_eq!(
                root(base).url(&["projects", "7", "issues"]).as_str(),
                "https://git.example.com/api/v4/projects/7/issues"
            );
        }
        assert_eq!(
            root("https://api.github.com").get(&["user"]).url.as_str(),
            "https://api.github.com/user"
        );
    }

    #[test]
    fn each_segment_is_encoded_on_its_own() {
        assert_eq!(
            root("https://gitlab.com/api/v4")
                .url(&["projects", "acme/widgets"])
                .as_str(),
            "https://gitlab.com/api/v4/projects/acme%2Fwidgets"
        );
    }

    #[test]
    fn unusable_roots_are_refused_with_the_reason() {
        for (base, reason) in [
            ("mailto:ops@example.com", "http or https"),
            ("ftp://example.com/", "http or https"),
            ("https://example.com/api?token=x", "query or fragment"),
            ("https://example.com/api#top", "query or fragment"),
        ] {
            let err = ApiRoot::new(Url::parse(base).unwrap()).unwrap_err();
            assert!(err.contains(reason), "{base}: {err}");
        }
    }
}
