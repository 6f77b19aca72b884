//! A small in-memory cache whose entries die by generation or age: every write that may change
//! what an entry was computed from bumps the generation (on this node, at once), and the TTL
//! bounds how stale another node's writes can leave it. Used for the slots endpoint's answers
//! and for the directory of who serves what.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct Generational<K, V> {
    generation: AtomicU64,
    ttl: Duration,
    max: usize,
    entries: Mutex<HashMap<K, Entry<V>>>,
}

struct Entry<V> {
    generation: u64,
    at: Instant,
    value: V,
}

impl<K: Eq + Hash, V: Clone> Generational<K, V> {
    pub fn new(ttl: Duration, max: usize) -> Self {
        Generational {
            generation: AtomicU64::new(0),
            ttl,
            max,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The current generation: read it before loading, store with it after.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Something the entries were computed from may have changed.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let current = self.generation();
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|e| e.generation == current && e.at.elapsed() < self.ttl)
            .map(|e| e.value.clone())
    }

    /// Stores a value loaded under `generation`; dropped if a write happened meanwhile.
    pub fn put(&self, key: K, generation: u64, value: V) {
        if generation != self.generation() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= self.max {
                let (current, ttl) = (self.generation(), self.ttl);
                entries.retain(|_, e| e.generation == current && e.at.elapsed() < ttl);
                if entries.len() >= self.max {
                    entries.clear();
                }
            }
            entries.insert(
                key,
                Entry {
                    generation,
                    at: Instant::now(),
                    value,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_or_a_write_during_loading_empties_the_cache() {
        let c: Generational<&str, u32> = Generational::new(Duration::from_secs(60), 8);
        let g = c.generation();
        c.put("a", g, 1);
        assert_eq!(c.get(&"a"), Some(1));
        c.invalidate();
        assert_eq!(c.get(&"a"), None);
        let g = c.generation();
        c.invalidate(); // a write lands while the value is loaded
        c.put("a", g, 2);
        assert_eq!(c.get(&"a"), None);
    }

    #[test]
    fn entries_expire_and_the_size_stays_bounded() {
        let c: Generational<u32, u32> = Generational::new(Duration::from_millis(20), 4);
        for k in 0..10 {
            c.put(k, c.generation(), k);
        }
        assert!(c.entries.lock().unwrap().len() <= 4);
        assert_eq!(c.get(&9), Some(9));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(c.get(&9), None);
    }
}
