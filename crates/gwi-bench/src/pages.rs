//! Pre-rendered list pages and the RFC 8288 `Link` headers that chain them.

use std::ops::Range;

use bytes::{Bytes, BytesMut};

use crate::github::RepoContext;
use crate::shape::Shape;

/// GitHub's largest page size, and the size pages are pre-rendered at.
pub const MAX_PER_PAGE: usize = 100;
/// GitHub's page size when the request names none.
pub const DEFAULT_PER_PAGE: usize = 30;

/// All pull requests of one repository, rendered once into JSON array pages of
/// [`MAX_PER_PAGE`] records in the order a [`Shape`] lays them out.
///
/// Pages at the default size are served by cloning a [`Bytes`] (no copy); any other
/// `per_page` is assembled from the recorded byte spans of each record.
#[derive(Debug, Clone)]
pub struct PullPages {
    pages: Vec<Bytes>,
    /// Where record `i` (in served order) sits: page index and byte range in that page.
    spans: Vec<(u32, Range<u32>)>,
}

impl PullPages {
    /// Renders `records` pull requests numbered `1..=records`, in the order and at the size
    /// `shape` says.
    pub fn render(records: usize, ctx: &RepoContext, shape: &Shape) -> Self {
        let layout = shape.layout(records);
        let mut pages = Vec::with_capacity(records.div_ceil(MAX_PER_PAGE));
        let mut spans = Vec::with_capacity(records);
        let mut per_record = 2_300;
        for chunk in layout.chunks(MAX_PER_PAGE) {
            let mut buf = Vec::with_capacity(chunk.len() * per_record + 2);
            buf.push(b'[');
            for (i, &(number, age)) in chunk.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                let start = buf.len();
                // Serialising a Value we built ourselves cannot fail.
                let _ = serde_json::to_writer(&mut buf, &shape.pull_request(number, age, ctx));
                spans.push((pages.len() as u32, start as u32..buf.len() as u32));
            }
            buf.push(b']');
            per_record = buf.len() / chunk.len() + 16;
            pages.push(Bytes::from(buf));
        }
        Self { pages, spans }
    }

    /// Number of records held.
    pub fn records(&self) -> usize {
        self.spans.len()
    }

    /// Total bytes held in memory.
    pub fn bytes(&self) -> usize {
        self.pages.iter().map(Bytes::len).sum()
    }

    /// The last page number for a page size (at least 1, as GitHub answers `[]` for page 1 of nothing).
    pub fn last_page(&self, per_page: usize) -> usize {
        self.records().div_ceil(per_page.max(1)).max(1)
    }

    /// The body of 1-based `page` at `per_page` records per page: `[]` past the end.
    pub fn page(&self, page: usize, per_page: usize) -> Bytes {
        let per_page = per_page.clamp(1, MAX_PER_PAGE);
        let page = page.max(1);
        if per_page == MAX_PER_PAGE {
            return self
                .pages
                .get(page - 1)
                .cloned()
                .unwrap_or_else(|| Bytes::from_static(b"[]"));
        }
        let first = (page - 1).saturating_mul(per_page);
        let last = first.saturating_add(per_page).min(self.records());
        if first >= last {
            return Bytes::from_static(b"[]");
        }
        let mut out =
            BytesMut::with_capacity(self.bytes() / self.records().max(1) * (last - first) + 2);
        out.extend_from_slice(b"[");
        for (i, (p, range)) in self.spans[first..last].iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b",");
            }
            if let Some(bytes) = self.pages.get(*p as usize) {
                out.extend_from_slice(&bytes[range.start as usize..range.end as usize]);
            }
        }
        out.extend_from_slice(b"]");
        out.freeze()
    }
}

/// The `page` and `per_page` a list request asks for, and its other query pairs in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery<'a> {
    /// 1-based page number (`page`, default 1).
    pub page: usize,
    /// Page size (`per_page`, default [`DEFAULT_PER_PAGE`], at most [`MAX_PER_PAGE`]).
    pub per_page: usize,
    /// Every pair except `page`, raw, in the order received: links repeat them verbatim.
    pub rest: Vec<&'a str>,
}

impl<'a> ListQuery<'a> {
    /// Parses a raw query string (without `?`); malformed numbers fall back to the defaults.
    pub fn parse(raw: Option<&'a str>) -> Self {
        let mut q = Self {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
            rest: Vec::new(),
        };
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "page" => q.page = value.parse().unwrap_or(1).max(1),
                "per_page" => {
                    q.per_page = value
                        .parse()
                        .unwrap_or(DEFAULT_PER_PAGE)
                        .clamp(1, MAX_PER_PAGE);
                    q.rest.push(pair);
                }
                _ => q.rest.push(pair),
            }
        }
        q
    }

    /// The absolute URL of `page` for the same list: `base` + `path` + the same query.
    pub fn url(&self, base: &str, path: &str, page: usize) -> String {
        let mut url = String::with_capacity(base.len() + path.len() + 96);
        url.push_str(base);
        url.push_str(path);
        url.push('?');
        for pair in &self.rest {
            url.push_str(pair);
            url.push('&');
        }
        url.push_str("page=");
        url.push_str(&page.to_string());
        url
    }

    /// The `Link` header GitHub sends for this page (`prev`, `next`, `last`, `first` as they
    /// apply), or `None` when everything fits on one page.
    pub fn link_header(&self, base: &str, path: &str, last_page: usize) -> Option<String> {
        if last_page <= 1 && self.page <= 1 {
            return None;
        }
        let mut parts = Vec::with_capacity(4);
        if self.page > 1 {
            let prev = (self.page - 1).min(last_page);
            parts.push(format!("<{}>; rel=\"prev\"", self.url(base, path, prev)));
        }
        if self.page < last_page {
            parts.push(format!(
                "<{}>; rel=\"next\"",
                self.url(base, path, self.page + 1)
            ));
            parts.push(format!(
                "<{}>; rel=\"last\"",
                self.url(base, path, last_page)
            ));
        }
        if self.page > 1 {
            parts.push(format!("<{}>; rel=\"first\"", self.url(base, path, 1)));
        }
        Some(parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RepoContext {
        RepoContext::new("acme", "widgets", "http://127.0.0.1:1")
    }

    fn numbers(body: &[u8]) -> Vec<u64> {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        v.as_array()
            .map(|a| a.iter().filter_map(|pr| pr["number"].as_u64()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn renders_full_pages_of_one_hundred_newest_first() {
        let pages = PullPages::render(250, &ctx(), &Shape::default());
        assert_eq!(pages.last_page(100), 3);
        let first = numbers(&pages.page(1, 100));
        assert_eq!(first.len(), 100);
        assert_eq!(first[0], 250);
        assert_eq!(
            numbers(&pages.page(3, 100)),
            (1..=50).rev().collect::<Vec<_>>()
        );
    }

    #[test]
    fn page_past_the_end_is_an_empty_array() {
        let pages = PullPages::render(10, &ctx(), &Shape::default());
        assert_eq!(&pages.page(2, 100)[..], b"[]");
        assert_eq!(&pages.page(9, 3)[..], b"[]");
    }

    #[test]
    fn other_page_sizes_slice_the_same_records() {
        let pages = PullPages::render(250, &ctx(), &Shape::default());
        let all: Vec<u64> = (1..=pages.last_page(30))
            .flat_map(|p| numbers(&pages.page(p, 30)))
            .collect();
        assert_eq!(all, (1..=250).rev().collect::<Vec<_>>());
    }

    #[test]
    fn query_keeps_other_pairs_and_replaces_page() {
        let q = ListQuery::parse(Some(
            "state=all&sort=updated&direction=desc&per_page=100&page=2",
        ));
        assert_eq!(q.page, 2);
        assert_eq!(q.per_page, 100);
        assert_eq!(
            q.url("http://h", "/repos/a/b/pulls", 3),
            "http://h/repos/a/b/pulls?state=all&sort=updated&direction=desc&per_page=100&page=3"
        );
    }

    #[test]
    fn query_defaults_like_github() {
        let q = ListQuery::parse(None);
        assert_eq!((q.page, q.per_page), (1, DEFAULT_PER_PAGE));
        let q = ListQuery::parse(Some("per_page=500&page=x"));
        assert_eq!((q.page, q.per_page), (1, MAX_PER_PAGE));
    }

    #[test]
    fn first_page_links_next_and_last() {
        let q = ListQuery::parse(Some("per_page=100"));
        let link = q.link_header("http://h", "/p", 5).unwrap_or_default();
        assert_eq!(
            link,
            "<http://h/p?per_page=100&page=2>; rel=\"next\", <http://h/p?per_page=100&page=5>; rel=\"last\""
        );
    }

    #[test]
    fn middle_page_links_all_four() {
        let q = ListQuery::parse(Some("per_page=100&page=3"));
        let link = q.link_header("http://h", "/p", 5).unwrap_or_default();
        assert!(link.starts_with("<http://h/p?per_page=100&page=2>; rel=\"prev\""));
        assert!(link.contains("page=4>; rel=\"next\""));
        assert!(link.contains("page=5>; rel=\"last\""));
        assert!(link.ends_with("page=1>; rel=\"first\""));
    }

    #[test]
    fn last_page_has_no_next() {
        let q = ListQuery::parse(Some("page=5"));
        let link = q.link_header("http://h", "/p", 5).unwrap_or_default();
        assert!(!link.contains("rel=\"next\""));
        assert!(link.contains("rel=\"prev\""));
    }

    #[test]
    fn single_page_has_no_link_header() {
        let q = ListQuery::parse(Some("per_page=100"));
        assert_eq!(q.link_header("http://h", "/p", 1), None);
    }
}
