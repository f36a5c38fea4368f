//! Reading a few values out of a page body without building the whole document.
//!
//! Paginators need a cursor, a total or the length of the items, never the records themselves.
//! [`pick`] walks the body once, skipping everything not on the way to the wanted pointers, and
//! hands back the wanted values as borrowed raw JSON: no tree, no copies of the records.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// A location in a JSON document: RFC 6901 (`/data/items/0`) or dotted (`data.items`); empty is the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPointer {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    key: String,
    index: Option<usize>,
}

impl Segment {
    fn new(key: String) -> Self {
        // RFC 6901 array indices have no leading zeros ("01" is an object key only).
        let index = if key == "0" || (!key.starts_with('0') && !key.starts_with('+')) {
            key.parse().ok()
        } else {
            None
        };
        Self { key, index }
    }
}

impl JsonPointer {
    /// Parses `text`: a leading `/` means RFC 6901 (with `~0`/`~1` escapes), otherwise dots separate keys.
    pub fn new(text: &str) -> Self {
        let segments = if text.is_empty() {
            Vec::new()
        } else if let Some(rest) = text.strip_prefix('/') {
            rest.split('/')
                .map(|s| Segment::new(s.replace("~1", "/").replace("~0", "~")))
                .collect()
        } else {
            text.split('.')
                .map(|s| Segment::new(s.to_owned()))
                .collect()
        };
        Self {
            text: text.to_owned(),
            segments,
        }
    }

    /// The pointer as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl From<&str> for JsonPointer {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl From<String> for JsonPointer {
    fn from(text: String) -> Self {
        Self::new(&text)
    }
}

impl fmt::Display for JsonPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.text.is_empty() {
            f.write_str("(the whole body)")
        } else {
            f.write_str(&self.text)
        }
    }
}

/// What [`pick`] should bring back from one pointer.
#[derive(Debug, Clone, Copy)]
pub enum Want<'a> {
    /// The value, as raw JSON text borrowed from the body.
    Raw(&'a JsonPointer),
    /// The length of the array there, counted while passing over it (nothing is kept).
    Len(&'a JsonPointer),
}

impl Want<'_> {
    fn pointer(&self) -> &JsonPointer {
        match self {
            Self::Raw(p) | Self::Len(p) => p,
        }
    }
}

/// What [`pick`] found at one pointer.
#[derive(Debug, Clone, Copy)]
pub enum Found<'de> {
    /// The value at a [`Want::Raw`] pointer.
    Raw(&'de RawValue),
    /// The array length at a [`Want::Len`] pointer.
    Len(usize),
    /// A [`Want::Len`] pointer found something that is not an array.
    NotArray,
}

impl<'de> Found<'de> {
    /// The raw value, if this was a [`Want::Raw`].
    pub fn raw(self) -> Option<&'de RawValue> {
        match self {
            Self::Raw(raw) => Some(raw),
            _ => None,
        }
    }
}

/// What each pointer holds (`None` where absent), found in one pass over `body`.
///
/// At most 32 wants; `None` entries are skipped.
pub fn pick<'de, const N: usize>(
    body: &'de [u8],
    wants: [Option<Want<'_>>; N],
) -> Result<[Option<Found<'de>>; N], serde_json::Error> {
    const { assert!(N <= 32, "pick takes at most 32 pointers") };
    let mut out = [None; N];
    let active = (0..N)
        .filter(|&i| wants[i].is_some())
        .fold(0u32, |mask, i| mask | (1 << i));
    if active == 0 {
        return Ok(out);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    Pick {
        wants: &wants,
        active,
        depth: 0,
        out: &mut out,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(out)
}

/// Whether `raw` is an empty array: a look at its ends, not a pass over it.
pub fn is_empty_array(raw: &RawValue) -> bool {
    raw.get()
        .trim()
        .strip_prefix('[')
        .is_some_and(|rest| rest.trim_start().starts_with(']'))
}

/// The number of elements when `raw` is an array, else `None`.
pub fn array_len(raw: &RawValue) -> Option<usize> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    de.deserialize_any(Count).ok().flatten()
}

/// Counts an array's elements while skipping them; anything else counts as `None`.
struct Count;

impl<'de> Visitor<'de> for Count {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut n = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            n += 1;
        }
        Ok(Some(n))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Whether `raw` is JSON `null` (which providers use for "no more").
pub fn is_null(raw: &RawValue) -> bool {
    raw.get().trim() == "null"
}

struct Pick<'p, 'o, 'de, const N: usize> {
    wants: &'p [Option<Want<'p>>; N],
    active: u32,
    depth: usize,
    out: &'o mut [Option<Found<'de>>; N],
}

impl<const N: usize> Pick<'_, '_, '_, N> {
    fn matching(&self, test: impl Fn(&Want<'_>) -> bool) -> u32 {
        let mut mask = 0;
        for (i, want) in self.wants.iter().enumerate() {
            if self.active & (1 << i) != 0 && want.as_ref().is_some_and(&test) {
                mask |= 1 << i;
            }
        }
        mask
    }

    fn child_mask(&self, test: impl Fn(&Segment) -> bool) -> u32 {
        let depth = self.depth;
        self.matching(|w| w.pointer().segments.get(depth).is_some_and(&test))
    }
}

impl<'de, const N: usize> DeserializeSeed<'de> for Pick<'_, '_, 'de, N> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let depth = self.depth;
        let ending = self.matching(|w| w.pointer().segments.len() == depth);
        if ending == 0 {
            return deserializer.deserialize_any(PickVisitor(self));
        }
        let wants_raw = self.matching(|w| matches!(w, Want::Raw(_))) & ending;
        let deeper = self.active & !ending;
        if wants_raw == 0 && deeper == 0 {
            // Only lengths end here: count in this same pass, keep nothing.
            let len = deserializer.deserialize_any(Count)?;
            let found = len.map_or(Found::NotArray, Found::Len);
            for i in 0..N {
                if ending & (1 << i) != 0 {
                    self.out[i] = Some(found);
                }
            }
            return Ok(());
        }
        let raw = <&'de RawValue as de::Deserialize<'de>>::deserialize(deserializer)?;
        for i in 0..N {
            if ending & (1 << i) != 0 {
                self.out[i] = Some(match self.wants[i] {
                    Some(Want::Len(_)) => array_len(raw).map_or(Found::NotArray, Found::Len),
                    _ => Found::Raw(raw),
                });
            }
        }
        // A pointer nested inside one that ends here: walk the captured value for it.
        if deeper != 0 {
            let mut inner = serde_json::Deserializer::from_str(raw.get());
            Pick {
                wants: self.wants,
                active: deeper,
                depth,
                out: self.out,
            }
            .deserialize(&mut inner)
            .map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

struct PickVisitor<'p, 'o, 'de, const N: usize>(Pick<'p, 'o, 'de, N>);

impl<'de, const N: usize> Visitor<'de> for PickVisitor<'_, '_, 'de, N> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let pick = self.0;
        while let Some(matched) = map.next_key_seed(KeyMatch(&pick))? {
            if matched == 0 {
                map.next_value::<IgnoredAny>()?;
            } else {
                map.next_value_seed(Pick {
                    wants: pick.wants,
                    active: matched,
                    depth: pick.depth + 1,
                    out: &mut *pick.out,
                })?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let pick = self.0;
        let mut index = 0usize;
        loop {
            let matched = pick.child_mask(|s| s.index == Some(index));
            let more = if matched == 0 {
                seq.next_element::<IgnoredAny>()?.is_some()
            } else {
                seq.next_element_seed(Pick {
                    wants: pick.wants,
                    active: matched,
                    depth: pick.depth + 1,
                    out: &mut *pick.out,
                })?
                .is_some()
            };
            if !more {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Reads an object key and says which pointers continue through it, without allocating it.
struct KeyMatch<'a, 'p, 'o, 'de, const N: usize>(&'a Pick<'p, 'o, 'de, N>);

impl<'de, const N: usize> DeserializeSeed<'de> for KeyMatch<'_, '_, '_, '_, N> {
    type Value = u32;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<u32, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for KeyMatch<'_, '_, '_, '_, N> {
    type Value = u32;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E>(self, key: &str) -> Result<u32, E> {
        Ok(self.0.child_mask(|s| s.key == key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_text<const N: usize>(body: &str, pointers: [&str; N]) -> [Option<String>; N] {
        let pointers: Vec<JsonPointer> = pointers.iter().map(|p| JsonPointer::new(p)).collect();
        let wants: [Option<Want<'_>>; N] = std::array::from_fn(|i| Some(Want::Raw(&pointers[i])));
        pick(body.as_bytes(), wants)
            .unwrap()
            .map(|found| found.and_then(Found::raw).map(|r| r.get().to_owned()))
    }

    #[test]
    fn finds_nested_values_in_one_pass() {
        let body = r#"{"items":[{"id":1},{"id":2}],"meta":{"next":"abc","total":7}}"#;
        let [next, total, second_id, missing] = raw_text(
            body,
            ["/meta/next", "meta.total", "/items/1/id", "/meta/nope"],
        );
        assert_eq!(next.as_deref(), Some(r#""abc""#));
        assert_eq!(total.as_deref(), Some("7"));
        assert_eq!(second_id.as_deref(), Some("2"));
        assert_eq!(missing, None);
    }

    #[test]
    fn the_empty_pointer_is_the_whole_body() {
        let [whole] = raw_text("[1,2,3]", [""]);
        assert_eq!(whole.as_deref(), Some("[1,2,3]"));
    }

    #[test]
    fn nested_pointers_under_a_captured_value_are_found() {
        let body = r#"{"data":{"pageInfo":{"hasNextPage":true,"endCursor":"c2"}}}"#;
        let [info, cursor] = raw_text(body, ["/data/pageInfo", "/data/pageInfo/endCursor"]);
        assert!(info.unwrap().contains("hasNextPage"));
        assert_eq!(cursor.as_deref(), Some(r#""c2""#));
    }

    #[test]
    fn escaped_keys_and_rfc6901_escapes_match() {
        let body = r#"{"a/b":{"m~n":1},"q\"uote":2}"#;
        let [slash, quote] = raw_text(body, ["/a~1b/m~0n", "/q\"uote"]);
        assert_eq!(slash.as_deref(), Some("1"));
        assert_eq!(quote.as_deref(), Some("2"));
    }

    #[test]
    fn invalid_json_is_an_error() {
        let pointer = JsonPointer::new("/a");
        assert!(pick(br#"{"a": 1"#, [Some(Want::Raw(&pointer))]).is_err());
        assert!(pick(br#"{"a": 1} trailing"#, [Some(Want::Raw(&pointer))]).is_err());
        assert!(pick(br#"{"a": [1,}"#, [Some(Want::Len(&pointer))]).is_err());
    }

    fn lens<const N: usize>(body: &str, pointers: [&str; N]) -> [Option<Option<usize>>; N] {
        let pointers: Vec<JsonPointer> = pointers.iter().map(|p| JsonPointer::new(p)).collect();
        let wants: [Option<Want<'_>>; N] = std::array::from_fn(|i| Some(Want::Len(&pointers[i])));
        pick(body.as_bytes(), wants).unwrap().map(|found| {
            found.map(|f| match f {
                Found::Len(n) => Some(n),
                Found::NotArray => None,
                Found::Raw(_) => panic!("asked for a length"),
            })
        })
    }

    #[test]
    fn lengths_are_counted_and_non_arrays_said() {
        let body = r#"{"a":[1,[2,3],{"x":[]}],"b":{"c":1},"e":[]}"#;
        assert_eq!(
            lens(body, ["/a", "/b", "/e", "/zzz"]),
            [Some(Some(3)), Some(None), Some(Some(0)), None]
        );
    }

    #[test]
    fn a_length_and_a_value_inside_the_same_array_are_both_found() {
        let body = r#"{"items":[{"id":7},{"id":8}]}"#;
        let items = JsonPointer::new("/items");
        let first_id = JsonPointer::new("/items/0/id");
        let [len, id] = pick(
            body.as_bytes(),
            [Some(Want::Len(&items)), Some(Want::Raw(&first_id))],
        )
        .unwrap();
        assert!(matches!(len, Some(Found::Len(2))));
        assert_eq!(id.and_then(Found::raw).map(|r| r.get()), Some("7"));
    }

    #[test]
    fn empty_arrays_are_recognised_without_a_pass() {
        let [empty, spaced, full, object] = raw_text(
            "{\"a\":[],\"b\":[ \n\t ],\"c\":[1],\"d\":{}}",
            ["/a", "/b", "/c", "/d"],
        );
        let check = |text: Option<String>| {
            let raw = RawValue::from_string(text.unwrap()).unwrap();
            is_empty_array(&raw)
        };
        assert!(check(empty));
        assert!(check(spaced));
        assert!(!check(full));
        assert!(!check(object));
    }

    #[test]
    fn leading_zero_segments_are_not_indices() {
        let [zero, padded] = raw_text("[10, 20]", ["/0", "/01"]);
        assert_eq!(zero.as_deref(), Some("10"));
        assert_eq!(padded, None);
    }
}
