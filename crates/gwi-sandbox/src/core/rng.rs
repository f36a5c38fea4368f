//! A small seeded random number generator whose output never changes between versions.
//!
//! The sandbox promises "same seed, same data, same fault sequence"; a general-purpose RNG crate is
//! free to change its algorithm between releases, so the sandbox carries its own (SplitMix64).

use super::time::Secs;

/// A seed for the delivery ids of one provider instance: new in every sandbox, as a provider's
/// ids are, so a receiver that kept an earlier sandbox's deliveries takes this one's as new.
pub fn delivery_seed() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

/// Deterministic pseudo-random numbers (SplitMix64), derived from the sandbox seed.
#[derive(Debug, Clone)]
pub struct SandboxRng {
    state: u64,
}

impl SandboxRng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator for one purpose (`label`) and position (`parts`), independent of the others.
    pub fn derive(seed: u64, label: &str, parts: &[u64]) -> Self {
        let mut h = mix(seed ^ 0x9E37_79B9_7F4A_7C15);
        h = mix(h ^ hash_str(label));
        for p in parts {
            h = mix(h ^ mix(*p));
        }
        Self { state: h }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform integer in `[0, n)`; 0 when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift: unbiased enough for test data, and branch-free.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform time in `[from, to)`; `from` when the span is empty.
    pub fn time_between(&mut self, from: Secs, to: Secs) -> Secs {
        from + self.below(u64::try_from(to - from).unwrap_or(0)) as Secs
    }

    /// A uniform index into a collection of `len` items.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.index(items.len()))
    }

    /// A random (version 4) UUID in its hyphenated form.
    pub fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    /// 40 lowercase hex digits, shaped like a git object id.
    pub fn sha(&mut self) -> String {
        let mut out = String::with_capacity(40);
        for _ in 0..3 {
            out.push_str(&format!("{:016x}", self.next_u64()));
        }
        out.truncate(40);
        out
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.index(i + 1);
            items.swap(i, j);
        }
    }
}

/// The SplitMix64 finaliser: a good 64-bit mixing function.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a over a string's bytes; stable across platforms and releases.
pub fn hash_str(s: &str) -> u64 {
    hash_bytes(s.as_bytes())
}

/// FNV-1a over bytes.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_sequence() {
        let mut a = SandboxRng::derive(7, "x", &[1, 2]);
        let mut b = SandboxRng::derive(7, "x", &[1, 2]);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        let mut c = SandboxRng::derive(7, "y", &[1, 2]);
        assert_ne!(xs[0], c.next_u64());
    }

    #[test]
    fn below_stays_in_range_and_unit_is_half_open() {
        let mut r = SandboxRng::new(1);
        for _ in 0..10_000 {
            assert!(r.below(7) < 7);
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
        assert_eq!(r.below(0), 0);
    }

    #[test]
    fn sha_is_forty_hex_digits() {
        let s = SandboxRng::new(3).sha();
        assert_eq!(s.len(), 40);
        assert!(s.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
