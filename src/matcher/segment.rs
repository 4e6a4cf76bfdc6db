//! [`Segment`]: the matcher's bulk storage, immutable and compact, owned or memory-mapped.
//!
//! A segment holds entries at positions `0..len` as columns (hash, entry id, list, label) plus
//! the index over their hashes and the positions sorted by `(list, entry id)` for lookups by
//! entry. An entry enrolled with extra hashes ([`crate::robust::enrol`]) takes one position per
//! hash: its own hash first, then each extra at the positions right after it, with the same id
//! and list and a nonzero [variant code](crate::robust::enrol::Variant::code); the lookup order
//! holds only the first. It never changes once built: the matcher records later inserts, removals and
//! disables beside it ([`super::store`]) and from time to time builds a new segment off the
//! lock. A snapshot stores a segment's columns as they are in memory, so opening one maps the
//! file instead of parsing it.
//!
//! Bytes per entry with the multi-index (below 2^24 entries): hash 32, entry id 8, list 4,
//! label 4, lookup order 4, index 16 x (3-byte id + 2-byte filter) = 80, plus 4 MB of bucket
//! offsets: about 132.

use rayon::prelude::*;

use crate::column::Column;
use crate::hash::Hash256;
use crate::index::{
    scan_knn, scan_radius, scan_radius_multi, BkTree, FilterKernel, HammingIndex, Hit, IndexKind,
    Kernel, MihTables,
};

/// A label column value meaning "no label".
pub(crate) const NO_LABEL: u32 = u32::MAX;

/// Up to this radius the multi-index probes its tables (one flip per chunk); beyond, it scans.
const MIH_PROBE_MAX_RADIUS: u32 = 31;

/// Strings stored once, found by number: `bytes[offsets[n]..offsets[n + 1]]`, valid UTF-8.
#[derive(Clone, Default)]
pub(crate) struct Strings {
    pub(crate) offsets: Column<u64>,
    pub(crate) bytes: Column<u8>,
}

impl Strings {
    /// Collects `strings` (in order: the n-th is number n).
    pub(crate) fn build<'a>(strings: impl IntoIterator<Item = &'a str>) -> Strings {
        let mut offsets = vec![0u64];
        let mut bytes = Vec::new();
        for s in strings {
            bytes.extend_from_slice(s.as_bytes());
            offsets.push(bytes.len() as u64);
        }
        Strings {
            offsets: offsets.into(),
            bytes: bytes.into(),
        }
    }

    /// Number of strings.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// String number `n` (`None` past the end).
    pub(crate) fn get(&self, n: u32) -> Option<&str> {
        let n = n as usize;
        let (start, end) = (*self.offsets.get(n)?, *self.offsets.get(n + 1)?);
        let bytes = self.bytes.get(start as usize..end as usize)?;
        // Checked once by `check`; checking again costs little for the short strings asked for.
        std::str::from_utf8(bytes).ok()
    }

    /// Offsets start at 0, never decrease and end at the byte count; every string is UTF-8.
    pub(crate) fn check(&self) -> Result<(), String> {
        let offsets = &self.offsets;
        if offsets.first() != Some(&0) || *offsets.last().unwrap_or(&0) != self.bytes.len() as u64 {
            return Err(format!(
                "string offsets do not run from 0 to the {} string bytes",
                self.bytes.len()
            ));
        }
        if let Some(n) = offsets.windows(2).position(|w| w[0] > w[1]) {
            return Err(format!("string {n} has a negative length"));
        }
        if let Some(n) = (0..self.len()).find(|&n| self.get(n as u32).is_none()) {
            return Err(format!("string {n} is not UTF-8"));
        }
        Ok(())
    }

    fn bytes(&self) -> usize {
        self.offsets.bytes() + self.bytes.bytes()
    }
}

/// The index over a segment's hashes.
pub(crate) enum SegmentIndex {
    /// No index: queries scan the hash column (small segments, large radii).
    Scan,
    /// Multi-index hashing tables over the hash column.
    Mih(MihTables),
    /// A BK-tree holding its own copy of the hashes (only when asked for by name).
    Tree(BkTree),
}

impl SegmentIndex {
    fn kind(&self) -> IndexKind {
        match self {
            SegmentIndex::Scan => IndexKind::Linear,
            SegmentIndex::Mih(_) => IndexKind::MultiIndex,
            SegmentIndex::Tree(_) => IndexKind::BkTree,
        }
    }
}

/// Entries at positions `0..len`, immutable; see the module docs.
pub(crate) struct Segment {
    pub(crate) hashes: Column<Hash256>,
    pub(crate) ids: Column<u64>,
    pub(crate) lists: Column<u32>,
    /// String number in `labels_text`, or [`NO_LABEL`].
    pub(crate) labels: Column<u32>,
    pub(crate) label_text: Strings,
    /// Per position, the [variant code](crate::robust::enrol::Variant::code) of its hash: 0 for
    /// an entry's own hash, else an extra hash of the entry at the nearest position before it
    /// with code 0. Empty when every code is 0 (no entry has extra hashes).
    pub(crate) variants: Column<u8>,
    /// The positions of code 0 (the entries themselves) sorted by `(list, entry id)`.
    pub(crate) order: Column<u32>,
    pub(crate) index: SegmentIndex,
}

/// One entry handed to [`Segment::build`].
pub(crate) struct NewEntry<'a> {
    pub(crate) hash: Hash256,
    pub(crate) id: u64,
    pub(crate) list: u32,
    pub(crate) label: Option<&'a str>,
    /// [`Segment::variants`]' code: 0 for an entry, else an extra hash of the entry before.
    pub(crate) variant: u8,
}

impl Default for Segment {
    fn default() -> Self {
        Segment {
            hashes: Column::default(),
            ids: Column::default(),
            lists: Column::default(),
            labels: Column::default(),
            label_text: Strings::build([]),
            variants: Column::default(),
            order: Column::default(),
            index: SegmentIndex::Scan,
        }
    }
}

impl Segment {
    /// A segment of `entries` (positions in the order given) with an index of `kind`.
    /// `(list, id)` pairs must be distinct among entries of variant 0; each extra hash follows
    /// its entry (or another extra hash of it) and repeats its list and id.
    pub(crate) fn build<'a>(
        entries: impl ExactSizeIterator<Item = NewEntry<'a>>,
        kind: IndexKind,
    ) -> Segment {
        let len = entries.len();
        let mut hashes: Vec<Hash256> = Vec::with_capacity(len);
        // Queries verify candidates by reading hashes at random: back them with huge pages.
        crate::column::advise_huge(hashes.spare_capacity_mut());
        let mut ids = Vec::with_capacity(len);
        let mut lists = Vec::with_capacity(len);
        let mut labels = Vec::with_capacity(len);
        let mut variants = Vec::with_capacity(len);
        let mut label_strings = Vec::new();
        for e in entries {
            variants.push(e.variant);
            hashes.push(e.hash);
            ids.push(e.id);
            lists.push(e.list);
            labels.push(match e.label {
                Some(label) => {
                    label_strings.push(label);
                    (label_strings.len() - 1) as u32
                }
                None => NO_LABEL,
            });
        }
        let label_text = Strings::build(label_strings);
        let mut order: Vec<u32> = (0..len as u32)
            .filter(|&p| variants[p as usize] == 0)
            .collect();
        if !variants.iter().any(|&v| v != 0) {
            variants = Vec::new();
        }
        order.par_sort_unstable_by_key(|&p| (lists[p as usize], ids[p as usize]));
        let index = Self::build_index(&hashes, kind);
        Segment {
            hashes: hashes.into(),
            ids: ids.into(),
            lists: lists.into(),
            labels: labels.into(),
            label_text,
            variants: variants.into(),
            order: order.into(),
            index,
        }
    }

    /// The index of `kind` over `hashes`.
    pub(crate) fn build_index(hashes: &[Hash256], kind: IndexKind) -> SegmentIndex {
        match kind {
            IndexKind::Linear => SegmentIndex::Scan,
            IndexKind::MultiIndex => SegmentIndex::Mih(MihTables::build(hashes)),
            IndexKind::BkTree => SegmentIndex::Tree(
                hashes
                    .iter()
                    .enumerate()
                    .map(|(p, &h)| (p as u32, h))
                    .collect(),
            ),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.hashes.len()
    }

    pub(crate) fn kind(&self) -> IndexKind {
        self.index.kind()
    }

    /// Bytes held (owned or mapped): columns, labels, lookup order and index.
    pub(crate) fn bytes(&self) -> usize {
        let index = match &self.index {
            SegmentIndex::Scan => 0,
            SegmentIndex::Mih(tables) => tables.bytes(),
            SegmentIndex::Tree(tree) => tree.heap_bytes(),
        };
        self.hashes.bytes()
            + self.ids.bytes()
            + self.lists.bytes()
            + self.labels.bytes()
            + self.label_text.bytes()
            + self.variants.bytes()
            + self.order.bytes()
            + index
    }

    /// The position of entry `id` of list `list`, if the segment has it.
    pub(crate) fn find(&self, list: u32, id: u64) -> Option<u32> {
        let at = self
            .order
            .binary_search_by_key(&(list, id), |&p| {
                (self.lists[p as usize], self.ids[p as usize])
            })
            .ok()?;
        Some(self.order[at])
    }

    /// The variant code of the hash at `pos` (0: an entry's own hash).
    #[inline]
    pub(crate) fn variant(&self, pos: usize) -> u8 {
        self.variants.get(pos).copied().unwrap_or(0)
    }

    /// Whether some entry has extra hashes.
    pub(crate) fn has_variants(&self) -> bool {
        !self.variants.is_empty()
    }

    /// The label of the entry at `pos`.
    pub(crate) fn label(&self, pos: u32) -> Option<&str> {
        match self.labels[pos as usize] {
            NO_LABEL => None,
            n => self.label_text.get(n),
        }
    }

    fn probes(&self, r: u32) -> Option<&MihTables> {
        match &self.index {
            SegmentIndex::Mih(tables) if r <= MIH_PROBE_MAX_RADIUS => Some(tables),
            _ => None,
        }
    }

    /// Calls `hit(pos, distance)` for every position within `r` of `query` with `live(pos)`,
    /// in no particular order.
    pub(crate) fn radius(
        &self,
        query: &Hash256,
        r: u32,
        live: impl Fn(usize) -> bool,
        mut hit: impl FnMut(u32, u32),
    ) {
        if let Some(tables) = self.probes(r) {
            tables.probe(
                &self.hashes,
                query,
                r,
                FilterKernel::detect(),
                live,
                |p, d| hit(p as u32, d),
            );
            return;
        }
        if let SegmentIndex::Tree(tree) = &self.index {
            for h in tree.radius(query, r) {
                if live(h.slot as usize) {
                    hit(h.slot, h.distance);
                }
            }
            return;
        }
        scan_radius(Kernel::detect(), &self.hashes, query, r, |p, d| {
            if live(p) {
                hit(p as u32, d)
            }
        });
    }

    /// [`Segment::radius`] for several queries: `hit(query number, pos, distance)`. A scan
    /// reads the hashes once for all queries.
    pub(crate) fn radius_multi(
        &self,
        queries: &[Hash256],
        r: u32,
        live: impl Fn(usize) -> bool,
        mut hit: impl FnMut(usize, u32, u32),
    ) {
        if matches!(self.index, SegmentIndex::Scan) || self.probes(r).is_none() {
            scan_radius_multi(Kernel::detect(), &self.hashes, queries, r, |q, p, d| {
                if live(p) {
                    hit(q, p as u32, d)
                }
            });
            return;
        }
        for (q, query) in queries.iter().enumerate() {
            self.radius(query, r, &live, |p, d| hit(q, p, d));
        }
    }

    /// The `k` live positions nearest to `query`, ordered by `(distance, position)`.
    pub(crate) fn knn(&self, query: &Hash256, k: usize, live: impl Fn(usize) -> bool) -> Vec<Hit> {
        if let Some(tables) = self.probes(MIH_PROBE_MAX_RADIUS) {
            let mut hits = Vec::new();
            tables.probe(
                &self.hashes,
                query,
                MIH_PROBE_MAX_RADIUS,
                FilterKernel::detect(),
                &live,
                |p, distance| {
                    hits.push(Hit {
                        distance,
                        slot: p as u32,
                    })
                },
            );
            if hits.len() >= k {
                hits.sort_unstable();
                hits.truncate(k);
                return hits;
            }
        }
        scan_knn(Kernel::detect(), &self.hashes, query, k, |p| {
            live(p).then_some(p as u32)
        })
    }
}
