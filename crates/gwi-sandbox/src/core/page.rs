//! Page-number pagination with RFC 8288 `Link` headers, as GitHub (and others) serve it.

use std::ops::Range;

use http::HeaderMap;

/// The query string as decoded `(name, value)` pairs, in order.
pub type QueryPairs = Vec<(String, String)>;

/// Decodes a raw query string.
pub fn parse_query(raw: Option<&str>) -> QueryPairs {
    match raw {
        Some(q) => url::form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        None => Vec::new(),
    }
}

/// The last value given for `name`, if any.
pub fn query_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `scheme://host[:port]` as the client addressed this server, so links work behind any base URL.
pub fn origin(headers: &HeaderMap, fallback_host: &str) -> String {
    let host = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or(fallback_host);
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

/// Which slice of a listing a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageParams {
    /// Items per page, already clamped to the provider's bounds.
    pub per_page: usize,
    /// 1-based page number.
    pub page: usize,
}

impl PageParams {
    /// Reads `per_page` and `page`; missing, zero or malformed values fall back to the defaults, and
    /// `per_page` above `max` is clamped (what GitHub does).
    pub fn from_query(pairs: &[(String, String)], default_per_page: usize, max: usize) -> Self {
        let per_page = query_value(pairs, "per_page")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
            .map_or(default_per_page, |n| n.min(max));
        let page = query_value(pairs, "page")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(1);
        Self { per_page, page }
    }

    /// The item indices this page covers within `total` items (empty past the end).
    pub fn range(&self, total: usize) -> Range<usize> {
        let start = self.per_page.saturating_mul(self.page - 1).min(total);
        let end = start.saturating_add(self.per_page).min(total);
        start..end
    }

    /// The number of the last page (1 for an empty listing).
    pub fn last_page(&self, total: usize) -> usize {
        total.div_ceil(self.per_page).max(1)
    }
}

/// The `Link` header for `page` of a listing with `last` pages, or `None` when there is only one
/// page. URLs are absolute: `origin` + `path` + the request's own query with `page` replaced.
/// Without `show_last` the `last` relation is left out, as providers do for listings they will
/// not count.
pub fn link_header(
    origin: &str,
    path: &str,
    query: &[(String, String)],
    page: usize,
    last: usize,
    show_last: bool,
) -> Option<String> {
    if last <= 1 && page <= 1 {
        return None;
    }
    let url_for = |n: usize| {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in query.iter().filter(|(k, _)| k != "page") {
            ser.append_pair(k, v);
        }
        ser.append_pair("page", &n.to_string());
        format!("<{origin}{path}?{}>", ser.finish())
    };
    let mut parts = Vec::with_capacity(4);
    if page > 1 {
        parts.push(format!("{}; rel=\"prev\"", url_for((page - 1).min(last))));
    }
    if page < last {
        parts.push(format!("{}; rel=\"next\"", url_for(page + 1)));
        if show_last {
            parts.push(format!("{}; rel=\"last\"", url_for(last)));
        }
    }
    if page > 1 {
        parts.push(format!("{}; rel=\"first\"", url_for(1)));
    }
    Some(parts.join(", "))
}

/// The page-number headers GitLab-style APIs send beside `Link`: `x-page`, `x-per-page`,
/// `x-next-page` and `x-prev-page` (empty at either end), and, when `count_known`, `x-total` and
/// `x-total-pages`.
pub fn page_number_headers(
    params: &PageParams,
    total: usize,
    count_known: bool,
) -> Vec<(&'static str, String)> {
    let last = params.last_page(total);
    let neighbour = |n: usize, exists: bool| if exists { n.to_string() } else { String::new() };
    let mut headers = vec![
        ("x-page", params.page.to_string()),
        ("x-per-page", params.per_page.to_string()),
        (
            "x-next-page",
            neighbour(params.page + 1, params.page < last),
        ),
        ("x-prev-page", neighbour(params.page - 1, params.page > 1)),
    ];
    if count_known {
        headers.push(("x-total", total.to_string()));
        headers.push(("x-total-pages", last.to_string()));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> QueryPairs {
        parse_query(Some(s))
    }

    #[test]
    fn per_page_defaults_and_clamps() {
        assert_eq!(PageParams::from_query(&q(""), 30, 100).per_page, 30);
        assert_eq!(
            PageParams::from_query(&q("per_page=500"), 30, 100).per_page,
            100
        );
        assert_eq!(
            PageParams::from_query(&q("per_page=0&page=0"), 30, 100),
            PageParams {
                per_page: 30,
                page: 1
            }
        );
        assert_eq!(
            PageParams::from_query(&q("per_page=x&page=3"), 30, 100).page,
            3
        );
    }

    #[test]
    fn ranges_cover_every_item_once() {
        let p = |page| PageParams { per_page: 7, page };
        let total = 20;
        let covered: Vec<usize> = (1..=p(1).last_page(total))
            .flat_map(|n| p(n).range(total))
            .collect();
        assert_eq!(covered, (0..total).collect::<Vec<_>>());
        assert!(p(9).range(total).is_empty());
    }

    #[test]
    fn link_header_has_github_relations_and_keeps_other_params() {
        let query = q("state=all&per_page=2&page=2");
        let link = link_header("http://h:1", "/repos/a/b/issues", &query, 2, 3, true);
        assert_eq!(
            link.as_deref(),
            Some(
                "<http://h:1/repos/a/b/issues?state=all&per_page=2&page=1>; rel=\"prev\", \
                 <http://h:1/repos/a/b/issues?state=all&per_page=2&page=3>; rel=\"next\", \
                 <http://h:1/repos/a/b/issues?state=all&per_page=2&page=3>; rel=\"last\", \
                 <http://h:1/repos/a/b/issues?state=all&per_page=2&page=1>; rel=\"first\""
            )
        );
        assert_eq!(link_header("http://h", "/x", &q(""), 1, 1, true), None);
        let first = link_header("http://h", "/x", &q(""), 1, 2, true).unwrap_or_default();
        assert!(!first.contains("prev") && first.contains("next"));
    }

    #[test]
    fn page_number_headers_name_the_neighbours_and_hide_uncounted_totals() {
        let p = PageParams {
            per_page: 10,
            page: 2,
        };
        let h = page_number_headers(&p, 25, true);
        let get =
            |h: &[(&str, String)], k: &str| h.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        assert_eq!(get(&h, "x-next-page").as_deref(), Some("3"));
        assert_eq!(get(&h, "x-prev-page").as_deref(), Some("1"));
        assert_eq!(get(&h, "x-total-pages").as_deref(), Some("3"));
        let last = page_number_headers(
            &PageParams {
                per_page: 10,
                page: 3,
            },
            25,
            false,
        );
        assert_eq!(get(&last, "x-next-page").as_deref(), Some(""));
        assert_eq!(get(&last, "x-total"), None);
        let link = link_header("http://h", "/x", &q(""), 1, 3, false).unwrap_or_default();
        assert!(link.contains("next") && !link.contains("last"), "{link}");
    }
}
