//! [`Store`]: a segment plus the changes made since it was built.
//!
//! Entries live at *slots*: `0..segment.len()` are the segment's positions, the rest are
//! entries inserted since (the delta, scanned linearly by every query). A removal marks its
//! slot dead; a disable records the reason by slot. When the delta or the dead slots grow
//! past a share of the segment, the matcher builds a compacted store ([`Store::compacted`])
//! without holding its lock, then replays the changes made meanwhile ([`Op`]) and swaps it in.
//!
//! An entry enrolled with extra hashes takes a slot per hash, the extras right after the
//! entry's own slot (see [`Segment`]): removing the entry kills them too, a disable is recorded
//! at the entry's slot, and a hit on an extra is reported as its entry ([`Store::owner`]).

use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;

use super::segment::{NewEntry, Segment};
use crate::hash::Hash256;
use crate::index::{scan_knn, scan_radius, scan_radius_multi, Hit, IndexKind, Kernel};
use crate::list::Entry;

/// Below this many delta entries or dead slots no compaction is started.
const COMPACT_MIN: usize = 4096;

/// Inserts of at least this many entries are looked up through a sorted run rather than a
/// hash map entry each (sorting ten million ids is several times cheaper than hashing them).
const RUN_MIN: usize = 256;

/// Entries inserted since the segment was built.
#[derive(Clone, Default)]
struct Delta {
    hashes: Vec<Hash256>,
    ids: Vec<u64>,
    lists: Vec<u32>,
    labels: Vec<Option<Arc<str>>>,
    /// Variant codes, as [`Segment::variants`] (but always one per position).
    variants: Vec<u8>,
    /// How many of `variants` are nonzero (extra hashes).
    extras: usize,
    /// `(list, entry id)` -> delta position of live entries added by small inserts
    /// (foldhash: several times faster than SipHash on integer keys, still seeded per map).
    by_entry: HashMap<(u32, u64), u32, foldhash::fast::RandomState>,
    /// Large inserts, each found by binary search (their entries may since have died).
    runs: Vec<Run>,
}

/// The entries of one large insert: delta positions `start..start + order.len()`, all of
/// list `list`; `order` holds their offsets sorted by entry id.
#[derive(Clone)]
struct Run {
    list: u32,
    start: u32,
    order: Vec<u32>,
}

/// The positions `0..entries.len()` ordered by entry id: a batch's run order, and how the
/// matcher finds ids repeated within a batch.
pub(crate) fn order_by_id(entries: &[Entry]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..entries.len() as u32).collect();
    if entries.len() >= RUN_MIN {
        order.par_sort_unstable_by_key(|&at| entries[at as usize].id);
    } else {
        order.sort_unstable_by_key(|&at| entries[at as usize].id);
    }
    order
}

/// A change, by `(list, entry id)`, replayed onto a store compacted while it happened.
pub(crate) enum Op {
    Insert(u32, Vec<Entry>),
    Remove(u32, u64),
    SetDisabled(u32, u64, Option<Arc<str>>),
    Enrol(u32, Entry, Vec<(u8, Hash256)>),
}

/// See the module docs.
#[derive(Clone, Default)]
pub(crate) struct Store {
    pub(crate) segment: Arc<Segment>,
    /// Shared with a compaction in progress; copied on the first change after it started.
    delta: Arc<Delta>,
    /// One bit per slot: removed.
    dead: Vec<u64>,
    dead_count: usize,
    disabled: HashMap<u32, Arc<str>>,
}

impl Store {
    /// A store of `segment` with the given disabled positions and nothing else.
    pub(crate) fn from_segment(segment: Segment, disabled: HashMap<u32, Arc<str>>) -> Store {
        let slots = segment.len();
        Store {
            segment: Arc::new(segment),
            delta: Arc::default(),
            dead: vec![0; slots.div_ceil(64)],
            dead_count: 0,
            disabled,
        }
    }

    fn slots(&self) -> usize {
        self.segment.len() + self.delta.hashes.len()
    }

    /// Number of live slots (entries and their extra hashes).
    pub(crate) fn len(&self) -> usize {
        self.slots() - self.dead_count
    }

    /// Whether nothing changed since the segment was built except disables.
    pub(crate) fn is_compact(&self) -> bool {
        self.delta.hashes.is_empty() && self.dead_count == 0
    }

    #[inline]
    fn is_live(&self, slot: usize) -> bool {
        self.dead[slot / 64] >> (slot % 64) & 1 == 0
    }

    /// The slot of entry `id` of list `list`, if live.
    pub(crate) fn find(&self, list: u32, id: u64) -> Option<u32> {
        let base = self.segment.len();
        if let Some(&d) = self.delta.by_entry.get(&(list, id)) {
            return Some((base + d as usize) as u32);
        }
        let delta = &self.delta;
        for run in delta.runs.iter().rev().filter(|run| run.list == list) {
            let start = run.start as usize;
            let at = run
                .order
                .partition_point(|&off| delta.ids[start + off as usize] < id);
            // A run may hold the id more than once only if all but one died; look at all.
            for &off in &run.order[at..] {
                let d = start + off as usize;
                if delta.ids[d] != id {
                    break;
                }
                if self.is_live(base + d) {
                    return Some((base + d) as u32);
                }
            }
        }
        let pos = self.segment.find(list, id)?;
        self.is_live(pos as usize).then_some(pos)
    }

    /// Appends entries to `list`; the caller has checked that their ids are new to it.
    pub(crate) fn insert(&mut self, list: u32, entries: Vec<Entry>) {
        let order = order_by_id(&entries);
        self.insert_ordered(list, entries, order);
    }

    /// [`Store::insert`] with [`order_by_id`] of `entries` already computed (the matcher
    /// sorts before it takes its lock).
    pub(crate) fn insert_ordered(&mut self, list: u32, entries: Vec<Entry>, order: Vec<u32>) {
        debug_assert_eq!(order.len(), entries.len());
        let base = self.segment.len();
        let d = Arc::make_mut(&mut self.delta);
        let start = d.hashes.len();
        let count = entries.len();
        d.hashes.reserve(count);
        d.ids.reserve(count);
        d.lists.reserve(count);
        d.labels.reserve(count);
        for e in entries {
            d.hashes.push(e.hash);
            d.ids.push(e.id);
            d.lists.push(list);
            d.labels.push(e.label.map(Arc::from));
            d.variants.push(0);
        }
        if count >= RUN_MIN {
            d.runs.push(Run {
                list,
                start: start as u32,
                order,
            });
        } else {
            for (k, &id) in d.ids[start..].iter().enumerate() {
                d.by_entry.insert((list, id), (start + k) as u32);
            }
        }
        self.dead.resize((base + d.hashes.len()).div_ceil(64), 0);
    }

    /// Appends one entry of `list` and its extra hashes (`(variant code, hash)`, codes
    /// nonzero) at the slots right after it; the caller has checked that its id is new.
    pub(crate) fn enrol(&mut self, list: u32, entry: Entry, extras: &[(u8, Hash256)]) {
        let base = self.segment.len();
        let d = Arc::make_mut(&mut self.delta);
        let at = d.hashes.len();
        let id = entry.id;
        d.hashes.push(entry.hash);
        d.ids.push(id);
        d.lists.push(list);
        d.labels.push(entry.label.map(Arc::from));
        d.variants.push(0);
        for &(code, hash) in extras {
            debug_assert_ne!(code, 0);
            d.hashes.push(hash);
            d.ids.push(id);
            d.lists.push(list);
            d.labels.push(None);
            d.variants.push(code);
        }
        d.extras += extras.len();
        d.by_entry.insert((list, id), at as u32);
        self.dead.resize((base + d.hashes.len()).div_ceil(64), 0);
    }

    /// The variant code of the hash at `slot` (0: an entry's own hash).
    #[inline]
    pub(crate) fn variant(&self, slot: u32) -> u8 {
        match (slot as usize).checked_sub(self.segment.len()) {
            Some(d) => self.delta.variants[d],
            None => self.segment.variant(slot as usize),
        }
    }

    /// Whether some slot holds an extra hash (else every slot is its own entry).
    pub(crate) fn has_variants(&self) -> bool {
        self.segment.has_variants() || self.delta.extras > 0
    }

    /// The entry's slot for a slot holding one of its hashes (itself for an entry's own hash).
    #[inline]
    pub(crate) fn owner(&self, slot: u32) -> u32 {
        let mut s = slot;
        while s > 0 && self.variant(s) != 0 {
            s -= 1;
        }
        s
    }

    /// Removes the live entry at `slot` and its extra hashes; returns its disable reason, if
    /// it had one, and how many extra hashes went with it.
    pub(crate) fn remove(&mut self, slot: u32) -> (Option<Arc<str>>, usize) {
        let s = slot as usize;
        debug_assert!(self.is_live(s));
        debug_assert_eq!(self.variant(slot), 0);
        let mut end = s + 1;
        while end < self.slots() && self.variant(end as u32) != 0 {
            end += 1;
        }
        for k in s..end {
            self.dead[k / 64] |= 1 << (k % 64);
        }
        self.dead_count += end - s;
        if let Some(d) = s.checked_sub(self.segment.len()) {
            let key = (self.delta.lists[d], self.delta.ids[d]);
            if self.delta.by_entry.get(&key) == Some(&(d as u32)) {
                Arc::make_mut(&mut self.delta).by_entry.remove(&key);
            }
        }
        (self.disabled.remove(&slot), end - s - 1)
    }

    /// Sets or clears the disable reason of the live entry at `slot`; returns the previous one.
    pub(crate) fn set_disabled(&mut self, slot: u32, reason: Option<Arc<str>>) -> Option<Arc<str>> {
        match reason {
            Some(reason) => self.disabled.insert(slot, reason),
            None => self.disabled.remove(&slot),
        }
    }

    /// Why the entry at `slot` is disabled, `None` if it is not.
    pub(crate) fn disabled(&self, slot: u32) -> Option<&Arc<str>> {
        self.disabled.get(&slot)
    }

    /// Replays a change made while this store was being compacted.
    pub(crate) fn apply(&mut self, op: Op) {
        match op {
            Op::Insert(list, entries) => self.insert(list, entries),
            Op::Remove(list, id) => {
                if let Some(slot) = self.find(list, id) {
                    self.remove(slot);
                }
            }
            Op::SetDisabled(list, id, reason) => {
                if let Some(slot) = self.find(list, id) {
                    self.set_disabled(slot, reason);
                }
            }
            Op::Enrol(list, entry, extras) => self.enrol(list, entry, &extras),
        }
    }

    pub(crate) fn hash(&self, slot: u32) -> Hash256 {
        match (slot as usize).checked_sub(self.segment.len()) {
            Some(d) => self.delta.hashes[d],
            None => self.segment.hashes[slot as usize],
        }
    }

    pub(crate) fn id(&self, slot: u32) -> u64 {
        match (slot as usize).checked_sub(self.segment.len()) {
            Some(d) => self.delta.ids[d],
            None => self.segment.ids[slot as usize],
        }
    }

    pub(crate) fn list(&self, slot: u32) -> u32 {
        match (slot as usize).checked_sub(self.segment.len()) {
            Some(d) => self.delta.lists[d],
            None => self.segment.lists[slot as usize],
        }
    }

    pub(crate) fn label(&self, slot: u32) -> Option<Arc<str>> {
        match (slot as usize).checked_sub(self.segment.len()) {
            Some(d) => self.delta.labels[d].clone(),
            None => self.segment.label(slot).map(Arc::from),
        }
    }

    /// Live slots in increasing order.
    pub(crate) fn live_slots(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.slots() as u32).filter(|&s| self.is_live(s as usize))
    }

    /// Every live slot within `r` of `query`, ordered by `(distance, slot)`.
    pub(crate) fn radius(&self, query: &Hash256, r: u32) -> Vec<Hit> {
        let mut hits = Vec::new();
        self.segment.radius(
            query,
            r,
            |p| self.is_live(p),
            |slot, distance| hits.push(Hit { distance, slot }),
        );
        let base = self.segment.len();
        scan_radius(
            Kernel::detect(),
            &self.delta.hashes,
            query,
            r,
            |d, distance| {
                if self.is_live(base + d) {
                    hits.push(Hit {
                        distance,
                        slot: (base + d) as u32,
                    });
                }
            },
        );
        hits.sort_unstable();
        hits
    }

    /// [`Store::radius`] for several queries at once: `(query number, hit)` pairs.
    pub(crate) fn radius_multi(&self, queries: &[Hash256], r: u32) -> Vec<(usize, Hit)> {
        let mut hits = Vec::new();
        self.segment.radius_multi(
            queries,
            r,
            |p| self.is_live(p),
            |q, slot, distance| hits.push((q, Hit { distance, slot })),
        );
        let base = self.segment.len();
        scan_radius_multi(
            Kernel::detect(),
            &self.delta.hashes,
            queries,
            r,
            |q, d, distance| {
                if self.is_live(base + d) {
                    let slot = (base + d) as u32;
                    hits.push((q, Hit { distance, slot }));
                }
            },
        );
        hits
    }

    /// The `k` live slots nearest to `query`, ordered by `(distance, slot)`.
    pub(crate) fn knn(&self, query: &Hash256, k: usize) -> Vec<Hit> {
        let base = self.segment.len();
        let mut hits = self.segment.knn(query, k, |p| self.is_live(p));
        hits.extend(scan_knn(
            Kernel::detect(),
            &self.delta.hashes,
            query,
            k,
            |d| self.is_live(base + d).then_some((base + d) as u32),
        ));
        hits.sort_unstable();
        hits.truncate(k);
        hits
    }

    /// Whether a compaction to an index of `kind` would change nothing.
    pub(crate) fn is_compacted_to(&self, kind: IndexKind) -> bool {
        self.is_compact() && self.segment.kind() == kind
    }

    /// Whether the delta or the dead slots have grown enough to compact.
    pub(crate) fn needs_compaction(&self) -> bool {
        let delta = self.delta.hashes.len();
        delta > COMPACT_MIN.max(self.segment.len() / 64)
            || self.dead_count > COMPACT_MIN.max(self.slots() / 8)
    }

    /// The live entries, renumbered `0..len` in slot order, in a new segment with an index of
    /// `kind`; disable reasons follow their entries.
    pub(crate) fn compacted(&self, kind: IndexKind) -> Store {
        let mut disabled = HashMap::with_capacity(self.disabled.len());
        let segment = &self.segment;
        let base = segment.len();
        let mut new_slot = 0u32;
        let entries = self.live_slots().map(|slot| {
            if let Some(reason) = self.disabled.get(&slot) {
                disabled.insert(new_slot, reason.clone());
            }
            new_slot += 1;
            let s = slot as usize;
            match s.checked_sub(base) {
                None => NewEntry {
                    hash: segment.hashes[s],
                    id: segment.ids[s],
                    list: segment.lists[s],
                    label: segment.label(slot),
                    variant: segment.variant(s),
                },
                Some(d) => NewEntry {
                    hash: self.delta.hashes[d],
                    id: self.delta.ids[d],
                    list: self.delta.lists[d],
                    label: self.delta.labels[d].as_deref(),
                    variant: self.delta.variants[d],
                },
            }
        });
        let segment = Segment::build(ExactLen(entries, self.len()), kind);
        Store::from_segment(segment, disabled)
    }

    /// Bytes held: the segment, the delta, the dead bits, the disable reasons.
    pub(crate) fn bytes(&self) -> usize {
        let d = &self.delta;
        let delta = d.hashes.capacity() * 32
            + d.ids.capacity() * 8
            + d.lists.capacity() * 4
            + d.labels.capacity() * 16
            + d.variants.capacity()
            + d.by_entry.capacity() * 24
            + d.runs.iter().map(|r| r.order.capacity() * 4).sum::<usize>();
        self.segment.bytes() + delta + self.dead.capacity() * 8 + self.disabled.capacity() * 24
    }

    /// The disabled slots and their reasons.
    pub(crate) fn disabled_entries(&self) -> &HashMap<u32, Arc<str>> {
        &self.disabled
    }
}

/// An iterator whose length is known in advance (a filtered iterator is not `ExactSizeIterator`).
struct ExactLen<I>(I, usize);

impl<I: Iterator> Iterator for ExactLen<I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        self.0.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.1, Some(self.1))
    }
}

impl<I: Iterator> ExactSizeIterator for ExactLen<I> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(i: u64) -> Hash256 {
        let x = (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        Hash256::from_words([x, x.rotate_left(29), !x, x ^ i])
    }

    fn entry(id: u64) -> Entry {
        Entry {
            hash: hash(id),
            id,
            label: id.is_multiple_of(2).then(|| format!("label {id}")),
        }
    }

    /// What a store answers, by `(list, entry id)`: hash, label, disable reason; and the
    /// entries a radius query of each stored hash finds.
    fn observe(store: &Store) -> Vec<String> {
        let mut out: Vec<String> = store
            .live_slots()
            .map(|slot| {
                let (list, id) = (store.list(slot), store.id(slot));
                assert_eq!(store.find(list, id), Some(store.owner(slot)));
                let found: std::collections::BTreeSet<(u32, u64)> = store
                    .radius(&store.hash(slot), 40)
                    .iter()
                    .map(|h| (store.list(h.slot), store.id(h.slot)))
                    .collect();
                format!(
                    "{list}/{id} {} (variant {}) {:?} {:?} finds {found:?}",
                    store.hash(slot),
                    store.variant(slot),
                    store.label(slot),
                    store.disabled(slot),
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn changes_replayed_onto_a_compacted_store_equal_the_changes_applied_directly() {
        for kind in IndexKind::ALL {
            // A segment, a delta, removals and disables on both.
            let mut store = Store::default();
            store.insert(0, (0..300).map(entry).collect());
            store = store.compacted(kind);
            // 300 entries: a sorted run, not map entries.
            store.insert(1, (0..300).map(entry).collect());
            for (list, id) in [(0, 5), (1, 7)] {
                let slot = store.find(list, id).unwrap();
                store.remove(slot);
            }
            for (list, id) in [(0, 9), (1, 11)] {
                let slot = store.find(list, id).unwrap();
                store.set_disabled(slot, Some("wrong match".into()));
            }
            // A compaction starts from this state; meanwhile these changes happen.
            let before = store.clone();
            let ops = || {
                vec![
                    Op::Insert(0, (1000..1010).map(entry).collect()),
                    Op::Remove(0, 1003),
                    Op::Remove(0, 10),
                    Op::Remove(1, 12),
                    Op::Insert(1, vec![entry(12)]),
                    Op::SetDisabled(0, 9, None),
                    Op::SetDisabled(1, 13, Some("appeal".into())),
                    Op::SetDisabled(0, 1004, Some("appeal".into())),
                    Op::Insert(0, vec![entry(5)]),
                    // Ids that died in the first run come back in a second one.
                    Op::Remove(1, 20),
                    Op::Remove(1, 21),
                    Op::Insert(1, (20..22).chain(1000..1300).map(entry).collect()),
                    Op::Remove(1, 1100),
                    Op::SetDisabled(1, 21, Some("appeal".into())),
                    // Entries with extra hashes: one removed, one disabled, one kept.
                    Op::Enrol(0, entry(2000), vec![(1, hash(2001)), (130, hash(2002))]),
                    Op::Enrol(0, entry(2003), vec![(8, hash(2004))]),
                    Op::Enrol(1, entry(2005), vec![(2, hash(2006)), (3, hash(2007))]),
                    Op::Remove(0, 2000),
                    Op::SetDisabled(1, 2005, Some("appeal".into())),
                ]
            };
            for op in ops() {
                store.apply(op);
            }
            let mut compacted = before.compacted(kind);
            assert!(compacted.is_compact());
            for op in ops() {
                compacted.apply(op);
            }
            assert_eq!(observe(&compacted), observe(&store), "{kind}");
            // The removed entry's extra hashes went with it; the others are their entries'.
            assert!(store.radius(&hash(2001), 0).is_empty());
            let extra = store.radius(&hash(2004), 0);
            assert_eq!(store.owner(extra[0].slot), store.find(0, 2003).unwrap());
            for (list, id, live) in [
                (1, 20, true),
                (0, 2000, false),
                (1, 2005, true),
                (1, 1100, false),
                (1, 12, true),
                (0, 10, false),
            ] {
                assert_eq!(store.find(list, id).is_some(), live, "{list}/{id}");
                assert_eq!(compacted.find(list, id).is_some(), live, "{list}/{id}");
            }
            assert_eq!(compacted.len(), store.len());
        }
    }
}
