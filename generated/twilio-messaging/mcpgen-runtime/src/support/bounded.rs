//! Tables bounded in size (rate-limit buckets, cached tokens): a full table first forgets
//! the entries that no longer matter, then the eighth whose loss matters least, so a burst of
//! new keys never clears what the table holds for everyone else.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

use sha2::{Digest, Sha256};

/// Makes room for `key` in `table`, which holds at most `max` entries: nothing to do when the
/// key is already there or the table is not full; otherwise drops the entries `stale` says are
/// no longer needed, then, if it is still full, the eighth of the table that `rank` orders
/// lowest (at once, so a stream of new keys costs one scan per `max / 8` insertions).
pub fn make_room<K, Q, V, R>(
    table: &mut HashMap<K, V>,
    key: &Q,
    max: usize,
    stale: impl Fn(&V) -> bool,
    rank: impl Fn(&V) -> R,
) where
    K: Eq + Hash + Clone + Borrow<Q>,
    Q: Eq + Hash + ?Sized,
    R: Ord,
{
    if table.len() < max || table.contains_key(key) {
        return;
    }
    table.retain(|_, v| !stale(v));
    if table.len() < max {
        return;
    }
    let keep = max - max.div_ceil(8);
    let mut ranked: Vec<(K, R)> = table.iter().map(|(k, v)| (k.clone(), rank(v))).collect();
    let dropped = ranked.len() - keep;
    if dropped < ranked.len() {
        ranked.select_nth_unstable_by(dropped, |a, b| a.1.cmp(&b.1));
    }
    for (dropped_key, _) in ranked.into_iter().take(dropped) {
        table.remove::<K>(&dropped_key);
    }
}

/// The key of a secret in an [`ExpiringCache`]: its SHA-256 digest, so the cache never holds
/// the secret itself.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Values kept until a deadline under the SHA-256 digest of a secret (a caller's token), at most
/// `max` of them: a full cache forgets expired values, then those expiring first.
#[derive(Debug)]
pub struct ExpiringCache<V> {
    max: usize,
    entries: Mutex<HashMap<[u8; 32], (V, Instant)>>,
}

impl<V: Clone> ExpiringCache<V> {
    /// An empty cache of at most `max` values.
    pub fn new(max: usize) -> Self {
        ExpiringCache {
            max,
            entries: Mutex::default(),
        }
    }

    /// The value under `key`, unless it expired by `now`.
    pub fn get(&self, key: &[u8; 32], now: Instant) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(_, until)| now < *until)
            .map(|(value, _)| value.clone())
    }

    /// Keeps `value` under `key` until `until`.
    pub fn insert(&self, key: [u8; 32], value: V, until: Instant, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        make_room(
            &mut entries,
            &key,
            self.max,
            |(_, until)| *until <= now,
            |(_, until)| *until,
        );
        entries.insert(key, (value, until));
    }
}
