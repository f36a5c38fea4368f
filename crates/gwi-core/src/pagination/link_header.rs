//! RFC 8288 `Link` header pagination (GitHub, GitLab): follow `rel="next"`.

use std::borrow::Cow;

use http::HeaderMap;
use http::header::LINK;

use crate::error::ConnectorError;
use crate::http::{HttpRequest, HttpResponse, redact_url};
use crate::pagination::{Paginator, is_empty_array, page_error, with_url};

/// Follows the `Link` header's `rel="next"` URL, resolved against the page's URL.
///
/// Never parses the body: the only look at it is whether it is literally `[]` (an empty page).
/// Refuses a next URL on another origin, because auth is applied to every page.
#[derive(Debug, Clone, Default)]
pub struct LinkHeader {
    _private: (),
}

impl LinkHeader {
    /// A `Link` header paginator.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Paginator for LinkHeader {
    fn next_request(
        &mut self,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<Option<HttpRequest>, ConnectorError> {
        let Some(target) = next_link(&response.headers) else {
            return Ok(None);
        };
        if is_empty_array(&response.body) {
            return Ok(None);
        }
        let next = response.url.join(target).map_err(|e| {
            page_error(
                "Link",
                format!("rel=\"next\" is not a usable URL ({e}): {target:?}"),
            )
        })?;
        if next.origin() != request.url.origin() {
            return Err(page_error(
                "Link",
                format!(
                    "rel=\"next\" points to another host ({}); refusing to send credentials there",
                    redact_url(&next, &[])
                ),
            ));
        }
        Ok(Some(with_url(request, next)))
    }
}

/// The first `rel="next"` target among all `Link` headers, unresolved.
pub fn next_link(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(parse_link_header)
        .find(|link| link.has_rel("next"))
        .map(|link| link.target)
}

/// One link of a `Link` header: a target and its relation types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link<'a> {
    /// The URI between `<` and `>`, as written (may be relative).
    pub target: &'a str,
    /// The first `rel` parameter's value: space-separated relation types (empty when absent).
    pub rel: Cow<'a, str>,
}

impl Link<'_> {
    /// Whether `rel` lists `relation` (relation types compare case-insensitively).
    pub fn has_rel(&self, relation: &str) -> bool {
        self.rel
            .split_ascii_whitespace()
            .any(|r| r.eq_ignore_ascii_case(relation))
    }
}

/// Parses one `Link` header value into its links; malformed links are skipped, never fatal.
pub fn parse_link_header(value: &str) -> Links<'_> {
    Links {
        text: value,
        pos: 0,
    }
}

/// Iterator over the links of a `Link` header value; see [`parse_link_header`].
#[derive(Debug, Clone)]
pub struct Links<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Links<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Moves past the current link-value to the next top-level comma (or the end).
    fn skip_to_next_link(&mut self) {
        let bytes = self.text.as_bytes();
        let mut quoted = false;
        let mut in_target = false;
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b'\\' if quoted => self.pos += 1,
                b'"' if !in_target => quoted = !quoted,
                b'<' if !quoted => in_target = true,
                b'>' if !quoted => in_target = false,
                b',' if !quoted && !in_target => return,
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// A token: up to whitespace or a delimiter.
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if matches!(b, b' ' | b'\t' | b';' | b',' | b'=' | b'"') {
                break;
            }
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    /// A quoted string, the opening quote already consumed; unescapes `\x`.
    fn quoted(&mut self) -> Cow<'a, str> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let mut owned: Option<String> = None;
        let mut run = start;
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b'"' => {
                    let value = match owned {
                        Some(mut s) => {
                            s.push_str(&self.text[run..self.pos]);
                            Cow::Owned(s)
                        }
                        None => Cow::Borrowed(&self.text[start..self.pos]),
                    };
                    self.pos += 1;
                    return value;
                }
                b'\\' => {
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(&self.text[run..self.pos]);
                    self.pos += 1;
                    // The escaped character may be multi-byte: copy the whole char.
                    if let Some(c) = self.text[self.pos..].chars().next() {
                        s.push(c);
                        self.pos += c.len_utf8();
                    }
                    run = self.pos;
                }
                _ => self.pos += 1,
            }
        }
        // Unterminated: take the rest.
        match owned {
            Some(mut s) => {
                s.push_str(&self.text[run..]);
                Cow::Owned(s)
            }
            None => Cow::Borrowed(&self.text[start..]),
        }
    }
}

impl<'a> Iterator for Links<'a> {
    type Item = Link<'a>;

    fn next(&mut self) -> Option<Link<'a>> {
        loop {
            while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
                self.pos += 1;
            }
            let first = self.peek()?;
            if first != b'<' {
                self.skip_to_next_link();
                continue;
            }
            let start = self.pos + 1;
            let Some(len) = self.text[start..].find('>') else {
                self.pos = self.text.len();
                return None;
            };
            let target = self.text[start..start + len].trim();
            self.pos = start + len + 1;
            let mut rel: Option<Cow<'a, str>> = None;
            loop {
                self.skip_whitespace();
                match self.peek() {
                    None | Some(b',') => break,
                    Some(b';') => self.pos += 1,
                    Some(_) => {
                        // Garbage after the target or a parameter: ignore the rest of this link.
                        self.skip_to_next_link();
                        break;
                    }
                }
                self.skip_whitespace();
                let name = self.token();
                self.skip_whitespace();
                let mut value = Cow::Borrowed("");
                if self.peek() == Some(b'=') {
                    self.pos += 1;
                    self.skip_whitespace();
                    if self.peek() == Some(b'"') {
                        self.pos += 1;
                        value = self.quoted();
                    } else {
                        value = Cow::Borrowed(self.token());
                    }
                }
                // RFC 8288 §3.3: only the first `rel` counts.
                if rel.is_none() && name.eq_ignore_ascii_case("rel") {
                    rel = Some(value);
                }
            }
            return Some(Link {
                target,
                rel: rel.unwrap_or(Cow::Borrowed("")),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::{HeaderValue, StatusCode};
    use proptest::prelude::*;
    use url::Url;

    fn links(value: &str) -> Vec<(String, String)> {
        parse_link_header(value)
            .map(|l| (l.target.to_owned(), l.rel.into_owned()))
            .collect()
    }

    #[test]
    fn parses_github_style_links() {
        let value = r#"<https://api.github.com/repositories/1/issues?page=2>; rel="next", <https://api.github.com/repositories/1/issues?page=5>; rel="last""#;
        assert_eq!(
            links(value),
            [
                (
                    "https://api.github.com/repositories/1/issues?page=2".to_owned(),
                    "next".to_owned()
                ),
                (
                    "https://api.github.com/repositories/1/issues?page=5".to_owned(),
                    "last".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn accepts_unquoted_rel_and_several_relation_types() {
        let value = "</p2>;rel=next, </p9>; title=\"a, b; c\"; rel=\"last  Next\"";
        let parsed: Vec<Link<'_>> = parse_link_header(value).collect();
        assert!(parsed[0].has_rel("next"));
        assert_eq!(parsed[1].target, "/p9");
        assert!(parsed[1].has_rel("next"));
        assert!(parsed[1].has_rel("LAST"));
    }

    #[test]
    fn commas_inside_targets_and_quotes_do_not_split_links() {
        let value =
            r#"<https://h/x?fields=a,b>; rel="prev"; title="x, \"y\"", <https://h/y>; rel=next"#;
        assert_eq!(
            links(value),
            [
                ("https://h/x?fields=a,b".to_owned(), "prev".to_owned()),
                ("https://h/y".to_owned(), "next".to_owned()),
            ]
        );
    }

    #[test]
    fn only_the_first_rel_counts_and_garbage_is_skipped() {
        let value = r#"junk, <https://h/a>; rel=prev; rel=next, <https://h/b> junk; rel=last, <https://h/c>; rel=next"#;
        let targets: Vec<String> = links(value)
            .into_iter()
            .filter(|(_, rel)| rel == "next")
            .map(|(t, _)| t)
            .collect();
        assert_eq!(targets, ["https://h/c"]);
    }

    fn response(url: &str, links: &[&str], body: &str) -> HttpResponse {
        let mut headers = HeaderMap::new();
        for link in links {
            headers.append(LINK, HeaderValue::from_str(link).unwrap());
        }
        HttpResponse {
            status: StatusCode::OK,
            headers,
            body: Bytes::from(body.to_owned()),
            url: Url::parse(url).unwrap(),
        }
    }

    fn next_url(request_url: &str, response: &HttpResponse) -> Result<Option<String>, String> {
        let request = HttpRequest::get(Url::parse(request_url).unwrap());
        LinkHeader::new()
            .next_request(&request, response)
            .map(|r| r.map(|r| r.url.to_string()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn next_is_found_across_several_link_headers_and_resolved() {
        let page = response(
            "https://h/api/items?page=1",
            &[
                r#"</api/items?page=9>; rel="last""#,
                r#"<items?page=2>; rel="next""#,
            ],
            "[1]",
        );
        assert_eq!(
            next_url("https://h/api/items?page=1", &page).unwrap(),
            Some("https://h/api/items?page=2".to_owned())
        );
    }

    #[test]
    fn no_next_or_an_empty_page_ends_the_walk() {
        let last = response("https://h/i", &[r#"</i?page=1>; rel="first""#], "[1]");
        assert_eq!(next_url("https://h/i", &last).unwrap(), None);
        let empty = response("https://h/i", &[r#"</i?page=2>; rel="next""#], " [ ]\n");
        assert_eq!(next_url("https://h/i", &empty).unwrap(), None);
    }

    #[test]
    fn a_next_link_to_another_host_is_refused() {
        let page = response(
            "https://h/i",
            &[r#"<https://evil.example/i?page=2&token=abc>; rel="next""#],
            "[1]",
        );
        let err = next_url("https://h/i", &page).unwrap_err();
        assert!(err.contains("another host"), "{err}");
        assert!(!err.contains("token=abc"), "{err}");
    }

    /// A link as a generator builds it, with how to write it.
    #[derive(Debug, Clone)]
    struct GenLink {
        target: String,
        rels: Vec<&'static str>,
        quote_rel: bool,
        params_before: Vec<(String, String)>,
        params_after: Vec<(String, String)>,
    }

    fn quote(value: &str) -> String {
        let mut s = String::from("\"");
        for c in value.chars() {
            if c == '"' || c == '\\' {
                s.push('\\');
            }
            s.push(c);
        }
        s.push('"');
        s
    }

    impl GenLink {
        fn render(&self, ws: &str) -> String {
            let mut s = format!("<{}>", self.target);
            let param = |(k, v): &(String, String)| format!("{ws};{ws}{k}={ws}{}", quote(v));
            for p in &self.params_before {
                s.push_str(&param(p));
            }
            let rel = self.rels.join(" ");
            if self.quote_rel || self.rels.len() != 1 {
                s.push_str(&format!("{ws};{ws}rel={}", quote(&rel)));
            } else {
                s.push_str(&format!("{ws};{ws}rel={rel}"));
            }
            for p in &self.params_after {
                s.push_str(&param(p));
            }
            s
        }
    }

    fn gen_link() -> impl Strategy<Value = GenLink> {
        let rel = prop::sample::select(vec!["next", "prev", "last", "first", "NEXT", "alternate"]);
        let param = (
            "(title|type|hreflang|anchor)",
            "[ -~]{0,12}", // printable ASCII, including , ; = " and \
        );
        (
            "(https://h/|/|\\.\\./)?[a-zA-Z0-9/?=&.,;_%-]{0,30}",
            prop::collection::vec(rel, 1..3),
            any::<bool>(),
            prop::collection::vec(param, 0..3),
            prop::collection::vec(param, 0..3),
        )
            .prop_map(
                |(target, rels, quote_rel, params_before, params_after)| GenLink {
                    target,
                    rels,
                    quote_rel,
                    params_before,
                    params_after,
                },
            )
    }

    proptest! {
        #[test]
        fn every_generated_link_is_parsed_back(
            generated in prop::collection::vec(gen_link(), 0..6),
            ws in "[ \t]{0,2}",
            splits in prop::collection::vec(any::<bool>(), 6),
        ) {
            // Spread the links over one or several header values, as servers do.
            let mut headers = HeaderMap::new();
            let mut current: Vec<String> = Vec::new();
            for (i, link) in generated.iter().enumerate() {
                current.push(link.render(&ws));
                if splits[i] {
                    headers.append(LINK, HeaderValue::from_str(&current.join(&format!(",{ws}"))).unwrap());
                    current.clear();
                }
            }
            if !current.is_empty() {
                headers.append(LINK, HeaderValue::from_str(&current.join(&format!(",{ws}"))).unwrap());
            }
            let parsed: Vec<(String, String)> = headers
                .get_all(LINK)
                .iter()
                .flat_map(|v| parse_link_header(v.to_str().unwrap()))
                .map(|l| (l.target.to_owned(), l.rel.into_owned()))
                .collect();
            let expected: Vec<(String, String)> = generated
                .iter()
                .map(|l| (l.target.trim().to_owned(), l.rels.join(" ")))
                .collect();
            prop_assert_eq!(&parsed, &expected);
            let expected_next = generated
                .iter()
                .find(|l| l.rels.iter().any(|r| r.eq_ignore_ascii_case("next")))
                .map(|l| l.target.trim());
            prop_assert_eq!(next_link(&headers), expected_next);
        }

        #[test]
        fn any_input_parses_without_panicking(value in "\\PC{0,80}") {
            for link in parse_link_header(&value) {
                prop_assert!(value.contains(link.target));
            }
        }
    }
}
