//! Work spread over the machine's cores, with results in input order.
//!
//! Lowering and emitting handle each tool independently; for specs with thousands of
//! operations that work dominates, and it parallelizes without changing any output: results
//! are collected in the items' order, so nothing depends on scheduling. What tools share
//! (a value computed once for all of them) goes through a [`Memo`].

/// Runs `work` on every item on up to 8 threads; returns the results in the items' order.
/// Results may borrow from the items.
pub fn map<'a, T: Sync, R: Send>(items: &'a [T], work: impl Fn(&'a T) -> Vec<R> + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    if threads == 1 || items.len() < 2 {
        return items.iter().flat_map(&work).collect();
    }
    // Items cost unevenly (one tool's schema reaches hundreds of objects, the next none): each
    // thread takes the next few items when it is free, and the results are put back in order.
    const BATCH: usize = 4;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, Vec<R>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let start = next.fetch_add(BATCH, std::sync::atomic::Ordering::Relaxed);
                        if start >= items.len() {
                            return out;
                        }
                        let end = (start + BATCH).min(items.len());
                        out.extend((start..end).map(|i| (i, work(&items[i]))));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().flat_map(|(_, results)| results).collect()
}

/// Values computed once and shared between threads, by key. A value is computed outside the
/// lock: two threads may compute the same one at once, and the first stored is kept, so only a
/// pure function of the key belongs here.
pub struct Memo<K, V> {
    entries: std::sync::Mutex<std::collections::HashMap<K, V>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo {
            entries: std::sync::Mutex::default(),
        }
    }
}

impl<K: std::hash::Hash + Eq, V: Clone> Memo<K, V> {
    /// The value stored for `key`, if any.
    pub fn get(&self, key: &K) -> Option<V> {
        self.lock().get(key).cloned()
    }

    /// Stores `value` for `key` unless one is there already; returns the one stored.
    pub fn insert(&self, key: K, value: V) -> V {
        self.lock().entry(key).or_insert(value).clone()
    }

    /// The value for `key`, computed by `make` the first time.
    pub fn get_or_insert_with(&self, key: K, make: impl FnOnce() -> V) -> V {
        match self.get(&key) {
            Some(value) => value,
            None => self.insert(key, make()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<K, V>> {
        // A thread that panicked holding the lock left the map whole: values are only inserted.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_memo_keeps_the_first_value_stored() {
        let memo = super::Memo::default();
        assert_eq!(memo.get(&1), None);
        assert_eq!(memo.get_or_insert_with(1, || "a"), "a");
        assert_eq!(memo.get_or_insert_with(1, || "b"), "a");
        assert_eq!(memo.insert(1, "c"), "a");
        assert_eq!(memo.insert(2, "d"), "d");
    }

    #[test]
    fn results_keep_the_input_order() {
        let items: Vec<u32> = (0..1000).collect();
        let out = super::map(&items, |n| vec![n * 2, n * 2 + 1]);
        assert_eq!(out, (0..2000).collect::<Vec<u32>>());
    }
}
