//! A cache of rendered responses that empties itself when the data changes.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

/// Values computed from the data at one generation; a newer generation drops them all.
///
/// Writers bump the generation under the data's write lock; readers compute under the read lock and
/// insert with the generation they read, so a value computed from old data is never served as new.
#[derive(Debug)]
pub struct GenerationCache<K, V> {
    inner: Mutex<Inner<K, V>>,
    capacity: usize,
}

#[derive(Debug)]
struct Inner<K, V> {
    generation: u64,
    map: HashMap<K, V>,
}

impl<K: Eq + Hash, V: Clone> GenerationCache<K, V> {
    /// An empty cache holding at most `capacity` entries (it empties itself when full: simple, and
    /// the working set of a sync is small).
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                generation: 0,
                map: HashMap::new(),
            }),
            capacity,
        }
    }

    /// The value for `key` computed at `generation`, if any.
    pub fn get(&self, generation: u64, key: &K) -> Option<V> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.generation != generation {
            return None;
        }
        inner.map.get(key).cloned()
    }

    /// Stores `value` computed at `generation`; ignored if the cache has already seen newer data.
    pub fn insert(&self, generation: u64, key: K, value: V) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if generation < inner.generation {
            return;
        }
        if generation > inner.generation {
            inner.generation = generation;
            inner.map.clear();
        }
        if inner.map.len() >= self.capacity {
            inner.map.clear();
        }
        inner.map.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_generation_hides_older_values() {
        let c = GenerationCache::new(10);
        c.insert(0, "a", 1);
        assert_eq!(c.get(0, &"a"), Some(1));
        assert_eq!(c.get(1, &"a"), None);
        c.insert(1, "b", 2);
        c.insert(0, "a", 3);
        assert_eq!(c.get(1, &"a"), None);
        assert_eq!(c.get(1, &"b"), Some(2));
    }

    #[test]
    fn stays_within_capacity() {
        let c = GenerationCache::new(2);
        c.insert(0, 1, 1);
        c.insert(0, 2, 2);
        c.insert(0, 3, 3);
        assert_eq!(c.get(0, &3), Some(3));
        assert_eq!(c.get(0, &1), None);
    }
}
