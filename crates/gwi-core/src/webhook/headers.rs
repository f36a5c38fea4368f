//! Reading the headers a scheme needs, and dropping the ones that must never be stored or logged.

use http::{HeaderMap, HeaderName};

use super::error::VerifyError;

/// Headers that carry a signature, a shared token or credentials, across every scheme.
///
/// [`headers_to_keep`] drops them; the server should also mark them sensitive in its trace
/// layer (`tower_http::sensitive_headers`) so they never reach a log line:
/// `SetSensitiveRequestHeadersLayer::new(SENSITIVE_HEADERS.iter().cloned())`.
pub static SENSITIVE_HEADERS: [HeaderName; 9] = [
    HeaderName::from_static("x-hub-signature"),
    HeaderName::from_static("x-hub-signature-256"),
    HeaderName::from_static("x-gitlab-token"),
    HeaderName::from_static("webhook-signature"),
    HeaderName::from_static("x-slack-signature"),
    HeaderName::from_static("linear-signature"),
    HeaderName::from_static("authorization"),
    HeaderName::from_static("proxy-authorization"),
    HeaderName::from_static("cookie"),
];

/// Whether a header must be dropped before a delivery is stored or logged.
pub fn is_sensitive_header(name: &HeaderName) -> bool {
    SENSITIVE_HEADERS.contains(name)
}

/// The headers worth storing with a delivery, as `(name, value)` pairs: every header except
/// [`SENSITIVE_HEADERS`]. Names are lower case; non-UTF-8 values are converted lossily.
pub fn headers_to_keep(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| !is_sensitive_header(name))
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// A copy of `headers` without [`SENSITIVE_HEADERS`], for [`WebhookEvent::headers`](super::WebhookEvent).
pub fn strip_sensitive_headers(headers: &HeaderMap) -> HeaderMap {
    let mut kept = headers.clone();
    for name in &SENSITIVE_HEADERS {
        kept.remove(name);
    }
    kept
}

/// Rebuilds a header map from stored pairs (the inbox's form), for
/// [`WebhookEvent::headers`](super::WebhookEvent). Sensitive headers and pairs that are not
/// valid HTTP are skipped.
pub fn headers_from_pairs(pairs: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            http::HeaderValue::try_from(value.as_str()),
        ) && !is_sensitive_header(&name)
        {
            map.append(name, value);
        }
    }
    map
}

/// The header carrying the signature or token; absent is `MissingSignature`.
pub(crate) fn signature_header<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> Result<&'h str, VerifyError> {
    match headers.get(name) {
        None => Err(VerifyError::MissingSignature { header: name }),
        Some(value) => visible_ascii(name, value),
    }
}

/// Another header the scheme signs over; absent is `MissingHeader`.
pub(crate) fn required_header<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> Result<&'h str, VerifyError> {
    match headers.get(name) {
        None => Err(VerifyError::MissingHeader { header: name }),
        Some(value) => visible_ascii(name, value),
    }
}

fn visible_ascii<'h>(
    name: &'static str,
    value: &'h http::HeaderValue,
) -> Result<&'h str, VerifyError> {
    value
        .to_str()
        .map(str::trim)
        .map_err(|_| VerifyError::MalformedHeader {
            header: name,
            problem: "not visible ASCII",
        })
}

/// Parses a Unix timestamp in seconds from a header.
pub(crate) fn unix_seconds(name: &'static str, value: &str) -> Result<i64, VerifyError> {
    value.parse().map_err(|_| VerifyError::MalformedHeader {
        header: name,
        problem: "not an integer Unix timestamp",
    })
}

/// Decodes a hex signature; the error never echoes it.
pub(crate) fn decode_hex(name: &'static str, value: &str) -> Result<Vec<u8>, VerifyError> {
    hex::decode(value).map_err(|_| VerifyError::MalformedHeader {
        header: name,
        problem: "signature is not hex",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn keeps_delivery_headers_and_drops_signatures_and_tokens() {
        let mut headers = HeaderMap::new();
        headers.insert("X-GitHub-Delivery", HeaderValue::from_static("abc"));
        headers.insert("X-Hub-Signature-256", HeaderValue::from_static("sha256=00"));
        headers.insert("X-Gitlab-Token", HeaderValue::from_static("hunter2"));
        headers.insert("X-Slack-Signature", HeaderValue::from_static("v0=00"));
        headers.insert("webhook-signature", HeaderValue::from_static("v1,AA=="));
        headers.insert("webhook-id", HeaderValue::from_static("msg_1"));
        headers.insert("authorization", HeaderValue::from_static("Bearer x"));
        let kept = headers_to_keep(&headers);
        let names: Vec<&str> = kept.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.contains(&"x-github-delivery"));
        assert!(names.contains(&"webhook-id"));
        let stripped = strip_sensitive_headers(&headers);
        assert_eq!(stripped.len(), 2);
        assert_eq!(stripped["x-github-delivery"], "abc");
    }

    #[test]
    fn stored_pairs_round_trip_to_a_header_map() {
        let mut headers = HeaderMap::new();
        headers.insert("X-GitHub-Event", HeaderValue::from_static("push"));
        headers.append("x-custom", HeaderValue::from_static("a"));
        headers.append("x-custom", HeaderValue::from_static("b"));
        headers.insert("X-Hub-Signature-256", HeaderValue::from_static("sha256=00"));
        let mut pairs = headers_to_keep(&headers);
        assert_eq!(
            headers_from_pairs(&pairs),
            strip_sensitive_headers(&headers)
        );
        pairs.push(("bad name".to_owned(), "v".to_owned()));
        pairs.push(("x-gitlab-token".to_owned(), "hunter2".to_owned()));
        assert_eq!(headers_from_pairs(&pairs).len(), 3);
    }

    #[test]
    fn header_lookup_ignores_case_and_surrounding_space() {
        let mut headers = HeaderMap::new();
        headers.insert("X-Slack-Signature", HeaderValue::from_static(" v0=ab "));
        assert_eq!(
            signature_header(&headers, "x-slack-signature").unwrap(),
            "v0=ab"
        );
        assert_eq!(
            required_header(&headers, "x-slack-request-timestamp"),
            Err(VerifyError::MissingHeader {
                header: "x-slack-request-timestamp"
            })
        );
    }

    #[test]
    fn non_ascii_header_is_malformed() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "linear-signature",
            HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        );
        assert_eq!(
            signature_header(&headers, "linear-signature")
                .unwrap_err()
                .reason(),
            "malformed"
        );
    }
}
