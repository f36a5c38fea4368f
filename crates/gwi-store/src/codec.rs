//! How an inbox body is kept: LZ4-compressed when that makes it smaller, as is otherwise.
//!
//! Webhook bodies are JSON and shrink about 7x, and what an SQLite writer spends its time on is
//! bytes (the WAL append, then the checkpoint copying them again). LZ4 rather than zstd: a
//! 20 KB body costs a few tens of microseconds to compress and a few to expand, against about
//! 3x that for zstd for a 30% smaller result. The codec is stored beside the body, so rows
//! written before compression (codec 0) stay readable.

use std::borrow::Cow;

use gwi_core::store::StoreError;

/// Stored as given.
pub(crate) const RAW: i16 = 0;
/// An LZ4 block, prefixed with the original length (`lz4_flex::compress_prepend_size`).
pub(crate) const LZ4: i16 = 1;

/// Bodies smaller than this are kept raw: compressing them saves too little to pay.
const MIN_COMPRESS: usize = 256;
/// LZ4 cannot expand a byte into more than 255; a larger claimed length is corruption.
const MAX_RATIO: usize = 255;

/// The codec and bytes to store for `body`.
pub(crate) fn encode(body: &[u8]) -> (i16, Cow<'_, [u8]>) {
    if body.len() >= MIN_COMPRESS {
        let packed = lz4_flex::compress_prepend_size(body);
        if packed.len() < body.len() {
            return (LZ4, Cow::Owned(packed));
        }
    }
    (RAW, Cow::Borrowed(body))
}

/// The original body from what [`encode`] stored.
pub(crate) fn decode(codec: i64, stored: Vec<u8>) -> Result<Vec<u8>, StoreError> {
    match i16::try_from(codec) {
        Ok(RAW) => Ok(stored),
        Ok(LZ4) => {
            let claimed = stored
                .get(..4)
                .and_then(|prefix| <[u8; 4]>::try_from(prefix).ok())
                .map(|prefix| u32::from_le_bytes(prefix) as usize)
                .ok_or_else(|| StoreError::Corrupt("inbox body is too short for LZ4".into()))?;
            // Checked before decompressing, which allocates the claimed length up front.
            if claimed > stored.len().saturating_mul(MAX_RATIO) {
                return Err(StoreError::Corrupt(format!(
                    "inbox body claims {claimed} bytes from {} compressed",
                    stored.len()
                )));
            }
            lz4_flex::decompress_size_prepended(&stored)
                .map_err(|e| StoreError::Corrupt(format!("inbox body does not decompress: {e}")))
        }
        _ => Err(StoreError::Corrupt(format!(
            "unknown inbox body codec {codec}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(body: &[u8]) -> i16 {
        let (codec, stored) = encode(body);
        let back = decode(i64::from(codec), stored.into_owned()).unwrap();
        assert_eq!(back, body);
        codec
    }

    #[test]
    fn json_is_compressed_and_comes_back_byte_for_byte() {
        let body = serde_json::json!({
            "action": "opened",
            "items": (0..200).map(|i| format!("item number {i}")).collect::<Vec<_>>(),
        })
        .to_string();
        assert_eq!(round_trip(body.as_bytes()), LZ4);
    }

    #[test]
    fn uncompressible_and_small_bodies_are_kept_raw() {
        let noise = gwi_testing::store_conformance::incompressible(20_000);
        assert_eq!(round_trip(&noise), RAW);
        assert_eq!(round_trip(b"{}"), RAW);
        assert_eq!(round_trip(b""), RAW);
    }

    #[test]
    fn corrupt_bodies_are_errors_not_panics() {
        assert!(decode(i64::from(LZ4), vec![1, 2]).is_err());
        assert!(decode(i64::from(LZ4), vec![0xff, 0xff, 0xff, 0x7f, 0, 0]).is_err());
        assert!(decode(i64::from(LZ4), vec![8, 0, 0, 0, 0xf0, 1]).is_err());
        assert!(decode(7, vec![]).is_err());
    }
}
