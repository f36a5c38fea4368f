//! Dedupe keys: the provider's delivery id when it sends a usable one, else a hash of the body.

use http::HeaderMap;
use sha2::{Digest, Sha256};

/// Longest provider id used as a dedupe key; anything longer is replaced by the body hash so a
/// sender cannot make the inbox index arbitrarily wide.
pub const MAX_ID_LEN: usize = 256;

/// Event type reported when the delivery names none.
pub const UNKNOWN_EVENT: &str = "unknown";

/// Lower-case hex SHA-256 of the body: the dedupe key when the provider sends no delivery id.
///
/// Two deliveries with identical bytes are then one event, which is what a provider's retry
/// of the same payload is.
pub fn body_hash(body: &[u8]) -> String {
    hex::encode(body_digest(body))
}

/// SHA-256 of `body`: the bytes behind [`body_hash`], which stores index to recognise a body
/// they have seen.
pub fn body_digest(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

/// `value` if it can serve as a key or label: trimmed, non-empty, at most [`MAX_ID_LEN`] bytes,
/// no control characters.
pub(crate) fn usable(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty() && value.len() <= MAX_ID_LEN && !value.chars().any(char::is_control))
        .then(|| value.to_owned())
}

/// The first of `names` present with a usable value.
pub(crate) fn first_header(headers: &HeaderMap, names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .and_then(usable)
    })
}

/// The id if usable, else the body hash: dedupe is never skipped.
pub(crate) fn or_body_hash(id: Option<String>, body: &[u8]) -> String {
    id.unwrap_or_else(|| body_hash(body))
}

/// The event type if usable, else [`UNKNOWN_EVENT`].
pub(crate) fn or_unknown(event: Option<String>) -> String {
    event.unwrap_or_else(|| UNKNOWN_EVENT.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_hash_is_sha256_hex() {
        // SHA-256 of the empty string, from FIPS 180-4's examples.
        assert_eq!(
            body_hash(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn unusable_ids_fall_back() {
        assert_eq!(usable(" abc "), Some("abc".to_owned()));
        assert_eq!(usable("   "), None);
        assert_eq!(usable("a\nb"), None);
        assert_eq!(usable(&"x".repeat(MAX_ID_LEN + 1)), None);
        assert_eq!(or_body_hash(None, b""), body_hash(b""));
        assert_eq!(or_unknown(None), "unknown");
    }
}
