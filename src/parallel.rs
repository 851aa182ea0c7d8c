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
    // Half the threads take them from the end: neighbouring items tend to need the same shared
    // values (tools named alike reach the same definitions), which threads working side by
    // side would wait on each other to compute.
    const BATCH: usize = 4;
    let unclaimed = std::sync::Mutex::new(0..items.len());
    let claim = |from_end: bool| {
        let mut unclaimed = unclaimed.lock().unwrap_or_else(|e| e.into_inner());
        let (start, end) = (unclaimed.start, unclaimed.end);
        if from_end {
            let cut = end.saturating_sub(BATCH).max(start);
            unclaimed.end = cut;
            cut..end
        } else {
            let cut = (start + BATCH).min(end);
            unclaimed.start = cut;
            start..cut
        }
    };
    let mut done: Vec<(usize, Vec<R>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let claim = &claim;
                let work = &work;
                scope.spawn(move || {
                    let mut out = Vec::new();
                    loop {
                        let batch = claim(thread % 2 == 1);
                        if batch.is_empty() {
                            return out;
                        }
                        out.extend(batch.map(|i| (i, work(&items[i]))));
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

    #[test]
    fn every_item_is_worked_once_whatever_the_count() {
        // Threads claim batches from both ends: the claims must meet without a gap or overlap.
        for len in (0..40).chain([1001, 1003]) {
            let items: Vec<usize> = (0..len).collect();
            let calls = std::sync::atomic::AtomicUsize::new(0);
            let out = super::map(&items, |&n| {
                calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                vec![n]
            });
            assert_eq!(out, items, "{len} items");
            assert_eq!(calls.into_inner(), len);
        }
    }
}
