//! Body-token paging: an opaque `cursor` in the request and a `next_cursor` in the answer, as
//! Slack (`response_metadata.next_cursor`) and GraphQL APIs (`pageInfo.endCursor`) page.
//!
//! The cursor is base64 of `offset:<n>` (the shape of Slack's `dXNlcjpVMEc5V0ZYTlo=`), so it
//! names a position in the listing; an empty `next_cursor` means the listing is done.

use std::ops::Range;

use base64::Engine as _;

/// A cursor the sandbox did not hand out (or one past the end of the listing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadCursor;

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorPage {
    /// The item indices this page covers.
    pub range: Range<usize>,
    /// The cursor of the next page; `""` on the last page.
    pub next_cursor: String,
}

impl CursorPage {
    /// Whether more pages follow.
    pub fn has_more(&self) -> bool {
        !self.next_cursor.is_empty()
    }
}

/// The opaque cursor of the page starting at item `offset`.
pub fn encode_cursor(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("offset:{offset}"))
}

/// The offset an opaque cursor names, if it is one of ours.
pub fn decode_cursor(cursor: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(cursor.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.strip_prefix("offset:")?.parse().ok()
}

/// The page of a listing of `total` items that `cursor` (absent or `""`: the first page) and
/// `limit` ask for. A missing or zero `limit` takes `default`; a `default` of 0 means every
/// remaining item; anything above `max` is clamped to it.
pub fn cursor_page(
    total: usize,
    limit: Option<usize>,
    default: usize,
    max: usize,
    cursor: Option<&str>,
) -> Result<CursorPage, BadCursor> {
    let start = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => decode_cursor(c).filter(|n| *n <= total).ok_or(BadCursor)?,
    };
    let size = match limit.filter(|n| *n > 0).unwrap_or(default) {
        0 => total - start,
        n => n.min(max.max(1)),
    };
    let end = start.saturating_add(size).min(total);
    let next_cursor = if end < total {
        encode_cursor(end)
    } else {
        String::new()
    };
    Ok(CursorPage {
        range: start..end,
        next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_every_item_once_and_end_with_an_empty_cursor() {
        for (total, limit) in [
            (0, Some(3)),
            (10, Some(3)),
            (9, Some(3)),
            (5, None),
            (7, Some(500)),
        ] {
            let mut seen = Vec::new();
            let mut cursor = String::new();
            loop {
                let page = cursor_page(total, limit, 4, 6, Some(&cursor)).unwrap();
                assert!(page.range.len() <= 6);
                seen.extend(page.range.clone());
                if !page.has_more() {
                    break;
                }
                cursor = page.next_cursor;
            }
            assert_eq!(seen, (0..total).collect::<Vec<_>>(), "{total} {limit:?}");
        }
    }

    #[test]
    fn zero_default_means_everything_and_the_cursor_looks_like_slacks() {
        let page = cursor_page(2000, None, 0, 1000, None).unwrap();
        assert_eq!((page.range, page.next_cursor.as_str()), (0..2000, ""));
        assert_eq!(encode_cursor(7), "b2Zmc2V0Ojc=");
        assert_eq!(decode_cursor("b2Zmc2V0Ojc="), Some(7));
    }

    #[test]
    fn refuses_cursors_it_did_not_hand_out() {
        for bad in ["nope", "dXNlcjpVMEc5V0ZYTlo=", &encode_cursor(11)] {
            assert_eq!(
                cursor_page(10, None, 5, 5, Some(bad)),
                Err(BadCursor),
                "{bad}"
            );
        }
    }
}
