//! Tables bounded in size (rate-limit buckets, cached tokens): a full table first forgets
//! the entries that no longer matter, then the one entry whose loss matters least, so a burst
//! of new keys never resets what the table holds for everyone else.

use std::collections::HashMap;
use std::hash::Hash;

/// Makes room for one more entry in `table`, which holds at most `max`: when it is full, drops
/// the entries `stale` says are no longer needed, then, if it is still full, the entry `rank`
/// orders lowest.
pub fn make_room<K, V, R>(
    table: &mut HashMap<K, V>,
    max: usize,
    stale: impl Fn(&V) -> bool,
    rank: impl Fn(&V) -> R,
) where
    K: Eq + Hash + Clone,
    R: PartialOrd,
{
    if table.len() < max {
        return;
    }
    table.retain(|_, v| !stale(v));
    while table.len() >= max.max(1) {
        let lowest = table
            .iter()
            .map(|(k, v)| (k, rank(v)))
            .min_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal))
            .map(|(k, _)| k.clone());
        match lowest {
            Some(key) => table.remove(&key),
            None => break,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_entries_go_first_then_the_lowest_ranked() {
        let mut table: HashMap<&str, (bool, u32)> =
            HashMap::from([("a", (false, 5)), ("b", (true, 9)), ("c", (false, 2))]);
        make_room(&mut table, 4, |v| v.0, |v| v.1);
        assert_eq!(table.len(), 3, "not full: nothing is dropped");
        make_room(&mut table, 3, |v| v.0, |v| v.1);
        assert_eq!(table.len(), 2);
        assert!(!table.contains_key("b"), "the stale entry is dropped");
        make_room(&mut table, 2, |v| v.0, |v| v.1);
        assert_eq!(
            table.keys().collect::<Vec<_>>(),
            [&"a"],
            "then the lowest rank"
        );
    }
}
