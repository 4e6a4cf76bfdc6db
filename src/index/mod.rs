//! Exact nearest-neighbour search over [`Hash256`] by Hamming distance.
//!
//! One trait, [`HammingIndex`], and one file per index. Every index is **exact**: it returns
//! the same hits, in the same order, as computing every distance would (the property tests
//! compare each with a brute-force oracle on random, clustered and duplicate-laden data).
//!
//! Entries are `(slot, hash)` pairs. The slot is a `u32` chosen by the caller (the matcher maps
//! slots to list entries); several slots may hold the same hash and every one is reported.
//! Slots are best dense (`0..n`): each index keeps a slot -> entry table of 4 bytes per slot up
//! to the largest slot (far-away slots fall back to a hash map).
//!
//! # Which index to use
//!
//! * [`LinearScan`] (`"linear"`): 32 bytes per entry, no build time, cost proportional to the
//!   number of entries whatever the radius (AVX-512 VPOPCNTDQ, AVX2 or POPCNT chosen at run
//!   time). The right choice for small lists (below ~4 000 entries), for large radii (above
//!   31, where multi-index hashing degenerates into a scan anyway), for batches of queries
//!   against one list ([`HammingIndex::radius_multi`] reads memory once for all of them), and
//!   whenever inserts and removals are frequent.
//! * [`MultiIndex`] (`"mih"`): multi-index hashing, 16 chunks of 16 bits with the pigeonring
//!   filter, as HMA's FAISS `IndexBinaryMultiHash` but with a compact sorted layout. For large
//!   lists at PDQ's usual radius (31): over 10 million hashes `benches/index.rs` measured
//!   30-50 µs per query (p50) against 16-18 ms for the AVX-512 scan and 52-54 ms for FAISS's
//!   multi-hash index in the same run, at ~123 bytes per entry and 3-3.5 s of build time.
//! * [`BkTree`] (`"bktree"`): a Burkhard-Keller tree. Exact and simple; it beats the scan only
//!   at small radii (256-bit, radius 4: 0.47 against 1.3 ms at 1M), where multi-index hashing
//!   beats it a hundredfold (1.7 µs), and loses 6-10x at radius 10 and 31 (it visits most of
//!   the tree). It is kept for comparison and selectable by name.
//!
//! [`IndexKind::choose`] encodes this advice, following those measurements
//! (`benches/README.md`).
//!
//! ```
//! use hashmatch::index::{self, HammingIndex, Hit, IndexKind};
//! use hashmatch::Hash256;
//!
//! let known: Hash256 = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22".parse()?;
//! let other: Hash256 = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22".parse()?;
//! let index = index::build(IndexKind::MultiIndex, [(0, known), (1, other), (2, known)]);
//! assert_eq!(
//!     index.radius(&known, 31),
//!     vec![Hit { distance: 0, slot: 0 }, Hit { distance: 0, slot: 2 }, Hit { distance: 6, slot: 1 }]
//! );
//! assert_eq!(index.knn(&other, 1), vec![Hit { distance: 0, slot: 1 }]);
//! # Ok::<(), hashmatch::Error>(())
//! ```

use std::fmt;

use rayon::prelude::*;

use crate::Hash256;

mod bktree;
mod brute;
mod linear;
mod mih;
mod slots;
#[cfg(test)]
mod tests;

pub(crate) use linear::{scan_knn, scan_radius, scan_radius_multi, Kernel};
pub(crate) use mih::{id_width, FilterKernel, MihTables};

pub use bktree::BkTree;
#[doc(hidden)]
pub use brute::BruteForce;
pub use linear::LinearScan;
pub use mih::MultiIndex;

/// One stored entry found by a query.
///
/// The derived order is by `distance`, then `slot`: the order in which every query of
/// [`HammingIndex`] returns its hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hit {
    /// Hamming distance between the query and the stored hash (0..=256).
    pub distance: u32,
    /// The slot the hash was inserted under.
    pub slot: u32,
}

/// An exact Hamming-distance index over [`Hash256`] keys stored under caller-chosen `u32` slots.
///
/// A slot holds one hash; many slots may hold the same hash. All queries are exact and their
/// results are ordered by `(distance, slot)`, so any two indexes holding the same entries give
/// identical answers.
pub trait HammingIndex: Send + Sync {
    /// Which kind of index this is.
    fn kind(&self) -> IndexKind;

    /// Number of stored entries (slots).
    fn len(&self) -> usize;

    /// Whether the index holds no entries.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Approximate heap memory held by the index, in bytes (for sizing and benchmarks).
    fn heap_bytes(&self) -> usize;

    /// The hash stored under `slot`, if any.
    fn get(&self, slot: u32) -> Option<Hash256>;

    /// Stores `hash` under `slot`. If the slot was already used, its hash is replaced and the
    /// previous one returned (as `HashMap::insert` does).
    ///
    /// # Panics
    ///
    /// If the index would hold `u32::MAX` entries.
    fn insert(&mut self, slot: u32, hash: Hash256) -> Option<Hash256>;

    /// Removes the entry stored under `slot`; returns whether there was one. The index keeps a
    /// slot -> entry table, so the hash need not be given.
    fn remove(&mut self, slot: u32) -> bool;

    /// Every entry within distance `r` of `query` (inclusive: `distance <= r`; FAISS's
    /// `range_search` radius is exclusive, so HMA's 31 is FAISS's 32), ordered by
    /// `(distance, slot)`. `r >= 256` returns every entry.
    fn radius(&self, query: &Hash256, r: u32) -> Vec<Hit>;

    /// The `k` entries nearest to `query`, ordered by `(distance, slot)`: ties at the k-th
    /// distance are broken by the smaller slot, so the result is unique. Fewer than `k` if the
    /// index holds fewer.
    fn knn(&self, query: &Hash256, k: usize) -> Vec<Hit>;

    /// [`HammingIndex::radius`] for each query, computed in parallel (rayon's global pool).
    /// `result[i]` answers `queries[i]`.
    fn radius_many(&self, queries: &[Hash256], r: u32) -> Vec<Vec<Hit>> {
        queries.par_iter().map(|q| self.radius(q, r)).collect()
    }

    /// Several queries answered together, for example the 8 dihedral orientations of one
    /// upload: `(query index, hit)` pairs ordered by query index, then `(distance, slot)`.
    ///
    /// Indexes that stream their memory ([`LinearScan`], and [`MultiIndex`] when the radius
    /// makes it scan) read it once for all queries; the others answer one query after another.
    fn radius_multi(&self, queries: &[Hash256], r: u32) -> Vec<(usize, Hit)> {
        let mut out = Vec::new();
        for (i, query) in queries.iter().enumerate() {
            out.extend(self.radius(query, r).into_iter().map(|hit| (i, hit)));
        }
        out
    }
}

/// The available index implementations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IndexKind {
    /// [`LinearScan`]: a SIMD scan of contiguous hashes.
    Linear,
    /// [`BkTree`]: a Burkhard-Keller tree.
    BkTree,
    /// [`MultiIndex`]: multi-index hashing, 16 x 16-bit chunks with the pigeonring filter.
    MultiIndex,
}

impl IndexKind {
    /// Every kind, in declaration order.
    pub const ALL: [IndexKind; 3] = [IndexKind::Linear, IndexKind::BkTree, IndexKind::MultiIndex];

    /// Below this many entries [`IndexKind::choose`] picks the linear scan (measured at radius
    /// 31: the scan 1.5 µs against 4.5 µs at 1 000 entries, even near 4 000, 16 against 5 µs
    /// at 10 000).
    pub const LINEAR_BELOW: usize = 4_096;

    /// Above this radius [`IndexKind::choose`] picks the linear scan: multi-index hashing with
    /// 16 chunks needs 2-bit probes per chunk beyond 31 and then costs about as much as a scan.
    pub const MULTI_INDEX_MAX_RADIUS: u32 = 31;

    /// A short lower-case name: `"linear"`, `"bktree"`, `"mih"`.
    pub const fn name(self) -> &'static str {
        match self {
            IndexKind::Linear => "linear",
            IndexKind::BkTree => "bktree",
            IndexKind::MultiIndex => "mih",
        }
    }

    /// The kind named `name` (as [`IndexKind::name`] spells it), if any.
    ///
    /// ```
    /// use hashmatch::IndexKind;
    /// assert_eq!(IndexKind::from_name("mih"), Some(IndexKind::MultiIndex));
    /// assert_eq!(IndexKind::from_name("faiss"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<IndexKind> {
        IndexKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The recommended index for `len` entries queried at radius up to `max_radius`.
    ///
    /// The linear scan below [`IndexKind::LINEAR_BELOW`] entries or above
    /// [`IndexKind::MULTI_INDEX_MAX_RADIUS`], multi-index hashing otherwise; never the BK-tree.
    /// The thresholds follow `benches/index.rs` (see `benches/README.md`): the multi-index is
    /// 70-100x faster than the scan at 1M-10M entries and radius 31, the BK-tree never the
    /// fastest.
    ///
    /// ```
    /// use hashmatch::IndexKind;
    /// assert_eq!(IndexKind::choose(1_000, 31), IndexKind::Linear);
    /// assert_eq!(IndexKind::choose(1_000_000, 31), IndexKind::MultiIndex);
    /// assert_eq!(IndexKind::choose(1_000_000, 52), IndexKind::Linear);
    /// ```
    pub fn choose(len: usize, max_radius: u32) -> IndexKind {
        if len < Self::LINEAR_BELOW || max_radius > Self::MULTI_INDEX_MAX_RADIUS {
            IndexKind::Linear
        } else {
            IndexKind::MultiIndex
        }
    }
}

impl fmt::Display for IndexKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Builds an index of the given kind from `(slot, hash)` entries (a repeated slot keeps its
/// last hash, as repeated [`HammingIndex::insert`] would).
pub fn build(
    kind: IndexKind,
    entries: impl IntoIterator<Item = (u32, Hash256)>,
) -> Box<dyn HammingIndex> {
    match kind {
        IndexKind::Linear => Box::new(entries.into_iter().collect::<LinearScan>()),
        IndexKind::BkTree => Box::new(entries.into_iter().collect::<BkTree>()),
        IndexKind::MultiIndex => Box::new(entries.into_iter().collect::<MultiIndex>()),
    }
}
