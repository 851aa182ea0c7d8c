//! Definitions named when reached and made when read.
//!
//! Through its references, a response's schema reaches every object the response can hold:
//! hundreds in an interlinked spec (Stripe's 451 responses reach 59,000 definitions in all),
//! of which the published schema, bounded, keeps a few. Here a definition is named when a
//! schema being made refers to it, and made (its own references named in turn) only when
//! something reads it. The problems every reachable definition reports (a dangling reference,
//! an invalid schema) are still collected, by a walk that names nothing, so a response reports
//! what it reported when every definition was made. Request schemas are published whole, so
//! all their definitions are read; made this way, a chain of thousands of definitions, each
//! referring to the next, is named without recursing through it.
//!
//! Names are given in the order definitions are reached, so where two definitions share a base
//! name, which one takes the suffix follows the order they are read in (a builder that makes
//! every definition names depth first): reading more of a schema (a redaction, a larger
//! budget) can then rename a published definition. Names stay the same from run to run: one
//! builder runs on one thread, and the walk names nothing. Where base names do not collide,
//! names and values are those of a builder that makes every definition.

use std::cell::{Cell, OnceCell, RefCell};
use std::sync::Arc;

use serde_json::Value;

use super::{DefCache, Direction, Name, def_base_name, named};
use crate::defs::Defs;
use crate::diag::Diagnostics;
use crate::load::{DocKey, SpecSet};

/// The definitions of one builder, made on first read.
pub(super) struct LazyDefs<'a> {
    specs: &'a SpecSet,
    direction: Direction,
    cache: &'a DefCache<'a>,
    /// The name of each definition reached, by the address of its schema in the loaded specs.
    names: RefCell<foldhash::HashMap<usize, Name>>,
    /// Each named definition's place in `entries`, by name.
    by_name: RefCell<foldhash::HashMap<Name, usize>>,
    /// The named definitions, in naming order.
    entries: Stable<Entry<'a>>,
    /// The definitions whose problems were collected.
    checked: RefCell<foldhash::HashSet<usize>>,
    /// Whether any problem was collected.
    reported: Cell<bool>,
    /// The problems collected, for the builder to take.
    diagnostics: RefCell<Diagnostics>,
}

/// A named definition: where its schema is, and its value once made.
struct Entry<'a> {
    doc: DocKey,
    pointer: String,
    target: &'a Value,
    value: OnceCell<Arc<Value>>,
}

impl<'a> LazyDefs<'a> {
    /// No definitions yet; made from `cache`.
    pub(super) fn new(specs: &'a SpecSet, direction: Direction, cache: &'a DefCache<'a>) -> Self {
        LazyDefs {
            specs,
            direction,
            cache,
            names: RefCell::default(),
            by_name: RefCell::default(),
            entries: Stable::new(),
            checked: RefCell::default(),
            reported: Cell::new(false),
            diagnostics: RefCell::default(),
        }
    }

    /// The name of the definition at `pointer` in `doc` (`target`), given now if it has none:
    /// its base name (`base`, or computed), suffixed if another definition has it.
    pub(super) fn name(
        &self,
        doc: &DocKey,
        pointer: &str,
        target: &'a Value,
        base: Option<&str>,
    ) -> Name {
        let key = std::ptr::from_ref(target) as usize;
        if let Some(name) = self.names.borrow().get(&key) {
            return Arc::clone(name);
        }
        let computed;
        let base = match base {
            Some(base) => base,
            None => {
                computed = def_base_name(doc, pointer);
                &computed
            }
        };
        let name = {
            let by_name = self.by_name.borrow();
            free_name(base, |name| by_name.contains_key(name))
        };
        let index = self.entries.push(Entry {
            doc: doc.clone(),
            pointer: pointer.to_owned(),
            target,
            value: OnceCell::new(),
        });
        self.names.borrow_mut().insert(key, Arc::clone(&name));
        self.by_name.borrow_mut().insert(Arc::clone(&name), index);
        self.check(doc, pointer, target);
        name
    }

    /// Collects the problems of the definition at `pointer` in `doc` and of every definition it
    /// reaches, each once. Where a walk from a builder that had collected no problem finds none,
    /// the cache records the definitions walked as clean, and no builder walks them again.
    fn check(&self, doc: &DocKey, pointer: &str, target: &'a Value) {
        let key = std::ptr::from_ref(target) as usize;
        if self.checked.borrow().contains(&key) || self.cache.is_clean(self.direction, target) {
            return;
        }
        let clean_before = !self.reported.get();
        let mut walked = Vec::new();
        self.walk(doc, pointer, target, &mut walked);
        // Each definition walked reaches only definitions walked now or before, by this builder,
        // which had found no problem: none reports one.
        if clean_before && !self.reported.get() {
            self.cache.mark_clean(self.direction, &walked);
        }
    }

    /// [`Self::check`]'s walk: the definitions not collected yet, their addresses in `walked`.
    /// A stack of its own rather than recursion: a spec may chain thousands of definitions, each
    /// referring to the next.
    fn walk(&self, doc: &DocKey, pointer: &str, target: &'a Value, walked: &mut Vec<usize>) {
        let mut to_walk: Vec<(DocKey, String, &'a Value)> =
            vec![(doc.clone(), pointer.to_owned(), target)];
        while let Some((doc, pointer, target)) = to_walk.pop() {
            let key = std::ptr::from_ref(target) as usize;
            if !self.checked.borrow_mut().insert(key) {
                continue;
            }
            walked.push(key);
            let at = (&doc, pointer.as_str(), target);
            self.cache.with(self.specs, self.direction, at, |cached| {
                if !cached.diagnostics.is_empty() {
                    self.reported.set(true);
                    self.diagnostics
                        .borrow_mut()
                        .extend(cached.diagnostics.clone());
                }
                for t in cached.refs.iter().rev() {
                    if !self.cache.is_clean(self.direction, t.value) {
                        to_walk.push((t.doc.clone(), t.pointer.clone(), t.value));
                    }
                }
            });
        }
    }

    /// The problems collected so far, taken.
    pub(super) fn take_diagnostics(&self) -> Diagnostics {
        std::mem::take(&mut *self.diagnostics.borrow_mut())
    }

    /// The definition named `name`, made (its references named) on first read.
    fn value(&self, name: &str) -> Option<&Arc<Value>> {
        let index = *self.by_name.borrow().get(name)?;
        let entry = self.entries.get(index)?;
        Some(entry.value.get_or_init(|| {
            let at = (&entry.doc, entry.pointer.as_str(), entry.target);
            self.cache.with(self.specs, self.direction, at, |cached| {
                let reported = self.diagnostics.borrow().len();
                let names: Vec<Name> = cached
                    .refs
                    .iter()
                    .map(|t| self.name(&t.doc, &t.pointer, t.value, Some(&t.base)))
                    .collect();
                // Every reference of a named definition was walked when it was named: naming them
                // finds nothing to report (the builder has taken what was collected).
                debug_assert_eq!(self.diagnostics.borrow().len(), reported);
                if cached.refs.iter().zip(&names).all(|(t, n)| t.base == *n) {
                    Arc::clone(
                        cached
                            .usual
                            .get_or_init(|| Arc::new(named(&cached.value, &names))),
                    )
                } else {
                    Arc::new(named(&cached.value, &names))
                }
            })
        }))
    }
}

/// `base`, or the first of `base_2`, `base_3`… that `taken` does not hold. A name of this
/// builder's own: the base name is shared by every builder, and counting references to it from
/// every core would have them wait on each other.
fn free_name(base: &str, taken: impl Fn(&str) -> bool) -> Name {
    let mut name: Name = Arc::from(base);
    let mut n = 2;
    while taken(&name) {
        name = format!("{base}_{n}").into();
        n += 1;
    }
    name
}

impl Defs for LazyDefs<'_> {
    fn def(&self, name: &str) -> Option<&Value> {
        self.value(name).map(|value| &**value)
    }
}

/// Items pushed one by one that stay where they are: a reference to one outlives later pushes
/// (the definitions read are handed out while reading them names more).
struct Stable<T> {
    /// Segment `k` holds `FIRST << k` items, made when the first of them is pushed.
    segments: [OnceCell<Box<[OnceCell<T>]>>; SEGMENTS],
    len: Cell<usize>,
}

/// Items in the first segment.
const FIRST: usize = 16;

/// Segments: room for more items than memory holds.
const SEGMENTS: usize = 48;

impl<T> Stable<T> {
    fn new() -> Self {
        Stable {
            segments: std::array::from_fn(|_| OnceCell::new()),
            len: Cell::new(0),
        }
    }

    /// The segment and place of item `index`.
    fn locate(index: usize) -> (usize, usize) {
        let shifted = index / FIRST + 1;
        let segment = (usize::BITS - 1 - shifted.leading_zeros()) as usize;
        (segment, index - FIRST * ((1 << segment) - 1))
    }

    /// Adds `item`; its index.
    fn push(&self, item: T) -> usize {
        let index = self.len.get();
        let (segment, place) = Self::locate(index);
        if let Some(cells) = self.segments.get(segment) {
            let cells =
                cells.get_or_init(|| (0..FIRST << segment).map(|_| OnceCell::new()).collect());
            if let Some(cell) = cells.get(place) {
                let stored = cell.set(item).is_ok();
                debug_assert!(stored, "each index is pushed once");
                self.len.set(index + 1);
            }
        }
        index
    }

    /// Item `index`, if pushed.
    fn get(&self, index: usize) -> Option<&T> {
        let (segment, place) = Self::locate(index);
        self.segments.get(segment)?.get()?.get(place)?.get()
    }
}

#[cfg(test)]
mod tests {
    use super::Stable;

    #[test]
    fn items_stay_where_they_are_as_more_are_pushed() {
        let items = Stable::new();
        let first = {
            items.push("0".to_owned());
            items.get(0).unwrap()
        };
        for i in 1..5000 {
            assert_eq!(items.push(i.to_string()), i);
        }
        assert_eq!(first, "0", "a reference taken before 4,999 pushes");
        for i in 0..5000 {
            assert_eq!(items.get(i).map(String::as_str), Some(&*i.to_string()));
        }
        assert_eq!(items.get(5000), None);
        let places: Vec<(usize, usize)> = [0, 15, 16, 47, 48, 111, 112]
            .into_iter()
            .map(Stable::<()>::locate)
            .collect();
        assert_eq!(
            places,
            [(0, 0), (0, 15), (1, 0), (1, 31), (2, 0), (2, 63), (3, 0)]
        );
    }
}
