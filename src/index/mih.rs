//! [`MultiIndex`]: multi-index hashing, 16 chunks of 16 bits, exact for every radius.

use std::borrow::Cow;
use std::fmt;

use rayon::prelude::*;

use super::linear::{scan_knn, scan_radius, scan_radius_multi, Kernel};
use super::slots::SlotTable;
use super::{HammingIndex, Hit, IndexKind};
use crate::column::{self, Column};
use crate::Hash256;
use memmap2::Mmap;
use std::sync::Arc;

/// Number of chunks a hash is cut into.
const CHUNKS: usize = 16;
/// Number of distinct values of a 16-bit chunk.
const BUCKETS: usize = 1 << 16;

/// The 16-bit chunk `c` of `hash` (bits `16c..16c+16`).
#[inline]
fn chunk(hash: &Hash256, c: usize) -> u16 {
    (hash.words()[c / 4] >> (16 * (c % 4))) as u16
}

/// The 16 chunk distances between two hashes.
#[inline]
fn chunk_distances(a: &Hash256, b: &Hash256) -> [u32; CHUNKS] {
    let (a, b) = (a.words(), b.words());
    std::array::from_fn(|c| (((a[c / 4] ^ b[c / 4]) >> (16 * (c % 4))) as u16).count_ones())
}

#[derive(Clone)]
/// One chunk's table: the entry ids sorted by the chunk's value (compressed sparse rows).
struct ChunkTable {
    /// `ids[offsets[v]..offsets[v + 1]]` are the entries whose chunk equals `v`.
    offsets: Column<u32>,
    ids: ChunkIds,
    /// `next[i]` is the next chunk (`c + 1` mod 16) of entry `ids[i]`: the pigeonring filter
    /// reads it instead of the entry's hash.
    next: Column<u16>,
}

/// A chunk table's entry ids: 3 bytes each while the tables cover fewer than 2^24 entries
/// (16 bytes per entry less than 4-byte ids), 4 bytes beyond.
#[derive(Clone)]
enum ChunkIds {
    U24(Column<u8>),
    U32(Column<u32>),
}

impl ChunkIds {
    #[inline]
    fn get(&self, k: usize) -> usize {
        match self {
            ChunkIds::U24(bytes) => {
                let b = &bytes[3 * k..3 * k + 3];
                u32::from_le_bytes([b[0], b[1], b[2], 0]) as usize
            }
            ChunkIds::U32(ids) => ids[k] as usize,
        }
    }

    #[inline]
    fn prefetch(&self, k: usize) {
        match self {
            ChunkIds::U24(bytes) => prefetch::to_l1(&bytes[3 * k]),
            ChunkIds::U32(ids) => prefetch::to_l1(&ids[k]),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            ChunkIds::U24(bytes) => bytes.bytes(),
            ChunkIds::U32(ids) => ids.bytes(),
        }
    }
}

/// How many bytes a chunk table spends per entry id for `len` entries.
pub(crate) fn id_width(len: usize) -> usize {
    if len < 1 << 24 {
        3
    } else {
        4
    }
}

impl ChunkTable {
    /// Sorts the entries by chunk `c`, ids ascending within a bucket: a stable radix sort by
    /// the chunk's low byte into `scratch`, then by its high byte into place. Two passes of
    /// 256 write streams each stay in cache, where one pass of 65 536 streams (a plain
    /// counting sort) misses on nearly every write.
    fn build(hashes: &[Hash256], c: usize, scratch: &mut Vec<u64>) -> ChunkTable {
        let mut offsets = column::zeroed_huge::<u32>(BUCKETS + 1);
        for hash in hashes {
            offsets[chunk(hash, c) as usize + 1] += 1;
        }
        let mut low_cursor = [0usize; 256];
        for v in 0..BUCKETS {
            if v & 255 != 255 {
                low_cursor[(v & 255) + 1] += offsets[v + 1] as usize;
            }
            offsets[v + 1] += offsets[v];
        }
        for b in 0..255 {
            low_cursor[b + 1] += low_cursor[b];
        }
        // Pass 1, by the low byte: records of id (bits 0-31), chunk (32-47), next chunk (48-63).
        scratch.clear();
        scratch.resize(hashes.len(), 0);
        for (id, hash) in hashes.iter().enumerate() {
            let v = chunk(hash, c);
            let at = &mut low_cursor[(v & 255) as usize];
            scratch[*at] =
                id as u64 | u64::from(v) << 32 | u64::from(chunk(hash, (c + 1) % CHUNKS)) << 48;
            *at += 1;
        }
        // Pass 2, by the high byte: each bucket `v` lands at `offsets[v]`.
        let mut next = column::zeroed_huge::<u16>(hashes.len());
        /// Places every id, `W` little-endian bytes each, and its next chunk.
        fn place<const W: usize>(records: &[u64], offsets: &[u32], next: &mut [u16]) -> Vec<u8> {
            let mut cursor: [usize; 256] = std::array::from_fn(|h| offsets[h << 8] as usize);
            let mut ids = column::zeroed_huge::<u8>(records.len() * W);
            for &record in records {
                let at = &mut cursor[(record >> 40) as usize & 255];
                let bytes: [u8; 4] = (record as u32).to_le_bytes();
                ids[W * *at..W * *at + W].copy_from_slice(&bytes[..W]);
                next[*at] = (record >> 48) as u16;
                *at += 1;
            }
            ids
        }
        let ids = if id_width(hashes.len()) == 3 {
            ChunkIds::U24(place::<3>(scratch, &offsets, &mut next).into())
        } else {
            let bytes = place::<4>(scratch, &offsets, &mut next);
            ChunkIds::U32(bytemuck::pod_collect_to_vec::<u8, u32>(&bytes).into())
        };
        ChunkTable {
            offsets: offsets.into(),
            ids,
            next: next.into(),
        }
    }

    fn bucket(&self, value: u16) -> std::ops::Range<usize> {
        self.offsets[value as usize] as usize..self.offsets[value as usize + 1] as usize
    }
}

/// The static tables of multi-index hashing over a fixed array of hashes (ids `0..len`): what
/// [`MultiIndex`] builds over its entries and what the matcher builds over (and maps from) a
/// snapshot. See [`MultiIndex`] for the method.
#[derive(Clone, Default)]
pub(crate) struct MihTables {
    /// Empty for no entries, else one table per chunk.
    chunks: Vec<ChunkTable>,
}

impl MihTables {
    /// Builds the 16 tables (in parallel, one chunk per task).
    pub(crate) fn build(hashes: &[Hash256]) -> MihTables {
        let chunks = if hashes.is_empty() {
            Vec::new()
        } else {
            (0..CHUNKS)
                .into_par_iter()
                .map_init(Vec::new, |scratch, c| ChunkTable::build(hashes, c, scratch))
                .collect()
        };
        MihTables { chunks }
    }

    /// Bytes held (owned or mapped).
    pub(crate) fn bytes(&self) -> usize {
        self.chunks
            .iter()
            .map(|t| t.offsets.bytes() + t.ids.bytes() + t.next.bytes())
            .sum()
    }

    /// The tables as three little-endian arrays, each in one piece per chunk: every chunk's
    /// offsets (16 x 65 537 `u32`), ids ([`id_width`] bytes each, 16 x len) and next-chunk
    /// values (16 x len `u16`). Borrowed from the tables where the machine is little-endian.
    pub(crate) fn le_pieces(&self) -> [Vec<Cow<'_, [u8]>>; 3] {
        let mut pieces: [Vec<Cow<'_, [u8]>>; 3] = Default::default();
        for t in &self.chunks {
            pieces[0].push(column::le_bytes(&t.offsets));
            pieces[1].push(match &t.ids {
                ChunkIds::U24(bytes) => Cow::Borrowed(&bytes[..]),
                ChunkIds::U32(values) => column::le_bytes(values),
            });
            pieces[2].push(column::le_bytes(&t.next));
        }
        pieces
    }

    /// Tables for `len` entries over the three arrays [`MihTables::le_pieces`] gives, found in
    /// `map` at the given byte offsets. Checks every offset and id, so that a query can never
    /// index out of bounds; returns what is wrong otherwise.
    pub(crate) fn from_mapped(
        map: &Arc<Mmap>,
        len: usize,
        offsets_at: usize,
        ids_at: usize,
        next_at: usize,
    ) -> Result<MihTables, String> {
        if len == 0 {
            return Ok(MihTables::default());
        }
        let width = id_width(len);
        let chunks: Vec<ChunkTable> = (0..CHUNKS)
            .into_par_iter()
            .map(|c| {
                let missing = || format!("chunk {c} lies outside the file");
                let offsets: Column<u32> =
                    Column::mapped(map, offsets_at + c * (BUCKETS + 1) * 4, BUCKETS + 1)
                        .ok_or_else(missing)?;
                let ids = if width == 3 {
                    ChunkIds::U24(
                        Column::mapped(map, ids_at + c * len * 3, len * 3).ok_or_else(missing)?,
                    )
                } else {
                    ChunkIds::U32(
                        Column::mapped(map, ids_at + c * len * 4, len).ok_or_else(missing)?,
                    )
                };
                let next = Column::mapped(map, next_at + c * len * 2, len).ok_or_else(missing)?;
                let table = ChunkTable { offsets, ids, next };
                table.check(len).map_err(|e| format!("chunk {c}: {e}"))?;
                Ok(table)
            })
            .collect::<Result<_, String>>()?;
        Ok(MihTables { chunks })
    }

    /// Calls `hit(id, distance)` once for every id within `r` of `query` for which `live(id)`
    /// holds, in no particular order. `hashes` are the hashes the tables were built over;
    /// needs `r / 16` to be small (every chunk is probed within `r / 16` flips).
    #[inline]
    pub(crate) fn probe(
        &self,
        hashes: &[Hash256],
        query: &Hash256,
        r: u32,
        filter: FilterKernel,
        live: impl Fn(usize) -> bool,
        mut hit: impl FnMut(usize, u32),
    ) {
        let (t, t2) = (r / 16, r / 8);
        // Each probed bucket costs two dependent cache misses (its offsets, then its filter
        // values) and each survivor two more (its id, then its hash). Taken one after the
        // other they would not overlap, so the probe runs in stages, each requesting what the
        // next one reads: at 10M entries that is ~272 offsets, ~1 600 lines of filter values
        // and ~120 ids and hashes per query, all in flight together (measured: 3-4x faster
        // than probing bucket by bucket). The filter values go to L2, as they outnumber L1.
        let mut buckets: Vec<(u8, u16, u32)> = Vec::with_capacity(CHUNKS * 17);
        for (c, table) in self.chunks.iter().enumerate() {
            let qc = chunk(query, c);
            for_each_mask(t, |mask, weight| {
                let value = qc ^ mask;
                prefetch::to_l2(&table.offsets[value as usize]);
                buckets.push((c as u8, value, weight));
            });
        }
        let ranges: Vec<(u8, std::ops::Range<usize>, u32)> = buckets
            .iter()
            .map(|&(c, value, weight)| (c, self.chunks[c as usize].bucket(value), weight))
            .collect();
        for (c, range, _) in &ranges {
            prefetch::lines_to_l2(&self.chunks[*c as usize].next[range.clone()]);
        }
        let mut survivors: Vec<(u8, u32)> = Vec::with_capacity(256);
        for (c, range, weight) in ranges {
            let c = c as usize;
            let qn = chunk(query, (c + 1) % CHUNKS);
            let start = range.start;
            filter.scan(&self.chunks[c].next[range], qn, t2 - weight, |k| {
                survivors.push((c as u8, (start + k) as u32));
            });
        }
        for &(c, at) in &survivors {
            self.chunks[c as usize].ids.prefetch(at as usize);
        }
        let ids: Vec<(u8, u32)> = survivors
            .iter()
            .map(|&(c, at)| {
                let id = self.chunks[c as usize].ids.get(at as usize);
                prefetch::to_l1(&hashes[id]);
                (c, id as u32)
            })
            .collect();
        for (c, id) in ids {
            let (id, hash) = (id as usize, &hashes[id as usize]);
            let distance = query.distance(hash);
            if distance > r || !live(id) {
                continue;
            }
            // Report at the first chunk meeting both conditions.
            let d = chunk_distances(query, hash);
            let first = (0..CHUNKS)
                .find(|&i| d[i] <= t && d[i] + d[(i + 1) % CHUNKS] <= t2)
                .expect("pigeonring: some chunk meets both bounds");
            if first == c as usize {
                hit(id, distance);
            }
        }
    }
}

/// Hints that ask the CPU to start loading a cache line: they read nothing architecturally and
/// never fault, whatever the address, so they are safe to call on any pointer.
mod prefetch {
    /// Into every cache level (L1 for the next reads).
    #[inline(always)]
    pub(super) fn to_l1<T>(value: &T) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch has no architectural effect and never faults. SSE is part of
        // the x86-64 baseline.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = value;
    }

    /// Into L2 and below: for data read soon but too much to fit L1 together.
    #[inline(always)]
    pub(super) fn to_l2<T>(value: &T) {
        address_to_l2((value as *const T).cast());
    }

    /// Every cache line of `values` into L2.
    #[inline(always)]
    pub(super) fn lines_to_l2<T>(values: &[T]) {
        let start = values.as_ptr() as usize;
        let end = start + std::mem::size_of_val(values);
        let mut line = start & !63;
        while line < end {
            address_to_l2(line as *const u8);
            line += 64;
        }
    }

    #[inline(always)]
    fn address_to_l2(address: *const u8) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `to_l1`; the address may lie before the slice (its line's start),
        // which a prefetch tolerates.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
            _mm_prefetch::<_MM_HINT_T1>(address.cast());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = address;
    }
}

impl ChunkTable {
    /// Offsets start at 0, never decrease and end at `len`; ids are below `len`.
    fn check(&self, len: usize) -> Result<(), String> {
        let offsets = &self.offsets;
        if offsets[0] != 0 || offsets[BUCKETS] as usize != len {
            return Err(format!(
                "bucket offsets run from {} to {}, not 0 to {len}",
                offsets[0], offsets[BUCKETS]
            ));
        }
        if let Some(v) = offsets.windows(2).position(|w| w[0] > w[1]) {
            return Err(format!("bucket offsets decrease at value {v}"));
        }
        if let Some(k) = (0..len).find(|&k| self.ids.get(k) >= len) {
            return Err(format!(
                "id {} at {k} is not below the {len} entries",
                self.ids.get(k)
            ));
        }
        Ok(())
    }
}

/// Calls `f(mask, weight)` for every 16-bit mask of at most `t` set bits, by weight.
fn for_each_mask(t: u32, mut f: impl FnMut(u16, u32)) {
    f(0, 0);
    for weight in 1..=t.min(16) {
        // Gosper's hack: the next larger integer with the same number of set bits.
        let mut mask: u32 = (1 << weight) - 1;
        while mask < 1 << 16 {
            f(mask as u16, weight);
            let lowest = mask & mask.wrapping_neg();
            let ripple = mask + lowest;
            mask = ripple | (((mask ^ ripple) >> 2) / lowest);
        }
    }
}

/// Multi-index hashing (Norouzi et al.), exact for every radius.
///
/// Each hash is cut into 16 chunks of 16 bits. If two hashes are within distance `r`, the 16
/// chunk distances sum to at most `r`, so some chunk is within `t = r / 16` (pigeonhole). A
/// query therefore looks up, in each chunk's table, every bucket within `t` bit flips of its own
/// chunk (17 buckets per chunk at PDQ's radius 31).
///
/// **Pigeonring filter.** On the ring of 16 chunk distances summing to at most `r`, some chunk
/// `i` starts a run whose every prefix stays within the average (the gas-station lemma), so
/// in particular `d_i <= r / 16` **and** `d_i + d_(i+1) <= 2r / 16` (integer division; at
/// `r = 31`: `d_i <= 1` and `d_i + d_(i+1) <= 3`). Each bucket entry of chunk `i` stores chunk
/// `i + 1` of its hash (16 bits, in an array beside the ids), so a candidate in a bucket
/// `e` flips away is kept only if its next chunk is within `2r / 16 - e`: this drops ~99.7 % of
/// the candidates (measured on random data) before any id or hash is read. Survivors are
/// verified with the full 256-bit distance, and a hit is reported only at the first chunk
/// meeting both conditions, so no visited set is needed.
///
/// Layout: the hashes and slots in entry order (36 bytes per entry, which also serve scans),
/// plus per chunk a sorted id array (3 bytes per id below 2^24 entries, 4 from there) and the
/// next-chunk array (2 bytes) with 65 537 offsets (256 KB per chunk, 4 MB in all, whatever
/// the size): about 116 bytes per entry beside the slot table (4). The matcher uses the same
/// tables (`MihTables`) over its own hash column, without the slot indirection. The tables are static, built by counting sort; entries
/// inserted since the last build live in a delta that queries scan linearly, and removed
/// entries are tombstones. The tables are rebuilt (in parallel, one chunk per task) when the
/// delta exceeds `max(4096, entries / 16)` or the tombstones `max(4096, entries / 4)`.
///
/// Probing `t` flips per chunk costs `16 * sum(C(16, i), i <= t)` bucket lookups: 272 at
/// `t = 1` (radius 16..=31), 2 192 at `t = 2`, 11 152 at `t = 3`. Beyond
/// [`MultiIndex::max_probe_flips`] (1 by default) the index scans its hashes instead, which is
/// as exact and then cheaper.
#[derive(Clone)]
pub struct MultiIndex {
    hashes: Vec<Hash256>,
    slots: Vec<u32>,
    /// One bit per entry: removed (or replaced).
    dead: Vec<u64>,
    dead_count: usize,
    positions: SlotTable,
    /// Entries `0..indexed` are in `tables`; the rest are the delta.
    indexed: usize,
    /// The tables over entries `0..indexed`.
    tables: MihTables,
    max_probe_flips: u32,
    min_rebuild: usize,
    filter: FilterKernel,
}

impl Default for MultiIndex {
    fn default() -> Self {
        MultiIndex {
            hashes: Vec::new(),
            slots: Vec::new(),
            dead: Vec::new(),
            dead_count: 0,
            positions: SlotTable::default(),
            indexed: 0,
            tables: MihTables::default(),
            max_probe_flips: 1,
            min_rebuild: 4096,
            filter: FilterKernel::detect(),
        }
    }
}

impl MultiIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the largest number of bit flips probed per chunk (default 1, covering radii up to
    /// 31). A query at radius `r` with `r / 16` above this scans the stored hashes instead.
    /// Every setting is exact; only the speed differs.
    pub fn with_max_probe_flips(mut self, flips: u32) -> Self {
        self.max_probe_flips = flips;
        self
    }

    /// The largest number of bit flips probed per chunk (see
    /// [`MultiIndex::with_max_probe_flips`]).
    pub fn max_probe_flips(&self) -> u32 {
        self.max_probe_flips
    }

    /// Test knob: rebuild as soon as the delta or the tombstones exceed `min` (and the
    /// proportional limits).
    #[cfg(test)]
    pub(crate) fn with_min_rebuild(mut self, min: usize) -> Self {
        self.min_rebuild = min;
        self
    }

    /// Test knob: the filter kernel to use.
    #[cfg(test)]
    pub(crate) fn with_filter_kernel(mut self, filter: FilterKernel) -> Self {
        self.filter = filter;
        self
    }

    /// Entries inserted since the last rebuild (scanned linearly by every query).
    pub fn delta_len(&self) -> usize {
        self.hashes.len() - self.indexed
    }

    /// Approximate heap memory in bytes.
    pub fn heap_bytes(&self) -> usize {
        let tables = self.tables.bytes();
        self.hashes.capacity() * 32
            + self.slots.capacity() * 4
            + self.dead.capacity() * 8
            + self.positions.heap_bytes()
            + tables
    }

    /// Drops the tombstones and indexes every live entry (done automatically; call it after
    /// a burst of inserts to stop scanning the delta).
    pub fn rebuild(&mut self) {
        if self.dead_count > 0 {
            // The live entries, renumbered in order, into a fresh buffer on huge pages:
            // queries read the hashes at random.
            let live = self.hashes.len() - self.dead_count;
            let mut hashes = Vec::with_capacity(live);
            column::advise_huge(hashes.spare_capacity_mut());
            let mut slots = Vec::with_capacity(live);
            for (old, (&hash, &slot)) in self.hashes.iter().zip(&self.slots).enumerate() {
                if !self.is_dead(old) {
                    self.positions.insert(slot, hashes.len() as u32);
                    hashes.push(hash);
                    slots.push(slot);
                }
            }
            self.hashes = hashes;
            self.slots = slots;
        } else {
            // Grown in place: ask for huge pages now (the kernel merges its pages later).
            column::advise_huge(&self.hashes);
        }
        self.hashes.shrink_to_fit();
        self.slots.shrink_to_fit();
        self.dead = vec![0; self.hashes.len().div_ceil(64)];
        self.dead_count = 0;
        self.indexed = self.hashes.len();
        self.tables = MihTables::build(&self.hashes);
    }

    #[inline]
    fn is_dead(&self, id: usize) -> bool {
        self.dead[id / 64] >> (id % 64) & 1 == 1
    }

    fn live_slot(&self, id: usize) -> Option<u32> {
        (!self.is_dead(id)).then(|| self.slots[id])
    }

    /// Whether a radius-`r` query probes the tables (else it scans).
    fn probes(&self, r: u32) -> bool {
        r < Hash256::BITS && r / 16 <= self.max_probe_flips
    }

    /// The hits among the indexed entries: every chunk probed within `r / 16` flips, the
    /// candidates filtered by their next chunk, the survivors verified.
    fn probe(&self, query: &Hash256, r: u32, hits: &mut Vec<Hit>) {
        self.tables.probe(
            &self.hashes,
            query,
            r,
            self.filter,
            |id| !self.is_dead(id),
            |id, distance| {
                hits.push(Hit {
                    distance,
                    slot: self.slots[id],
                })
            },
        );
    }
}

impl fmt::Debug for MultiIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiIndex")
            .field("len", &self.len())
            .field("delta", &self.delta_len())
            .field("tombstones", &self.dead_count)
            .field("max_probe_flips", &self.max_probe_flips)
            .finish()
    }
}

impl FromIterator<(u32, Hash256)> for MultiIndex {
    /// Bulk build: the entries are stored, then indexed once.
    fn from_iter<I: IntoIterator<Item = (u32, Hash256)>>(iter: I) -> Self {
        let mut index = Self::new();
        let iter = iter.into_iter();
        // Room for the entries announced, on huge pages before they are written.
        index.hashes.reserve(iter.size_hint().0);
        column::advise_huge(index.hashes.spare_capacity_mut());
        // Insert into the delta without triggering rebuilds, then build once.
        index.min_rebuild = usize::MAX;
        for (slot, hash) in iter {
            index.insert(slot, hash);
        }
        index.min_rebuild = Self::default().min_rebuild;
        index.rebuild();
        index
    }
}

impl HammingIndex for MultiIndex {
    fn kind(&self) -> IndexKind {
        IndexKind::MultiIndex
    }

    fn len(&self) -> usize {
        self.positions.len()
    }

    fn heap_bytes(&self) -> usize {
        MultiIndex::heap_bytes(self)
    }

    fn get(&self, slot: u32) -> Option<Hash256> {
        self.positions.get(slot).map(|id| self.hashes[id as usize])
    }

    fn insert(&mut self, slot: u32, hash: Hash256) -> Option<Hash256> {
        let old = self.get(slot);
        if old.is_some() {
            self.remove(slot);
        }
        let id = u32::try_from(self.hashes.len())
            .ok()
            .filter(|&id| id != u32::MAX)
            .expect("index full");
        self.hashes.push(hash);
        self.slots.push(slot);
        if self.dead.len() * 64 < self.hashes.len() {
            self.dead.push(0);
        }
        self.positions.insert(slot, id);
        if self.delta_len() > self.min_rebuild.max(self.indexed / 16) {
            self.rebuild();
        }
        old
    }

    fn remove(&mut self, slot: u32) -> bool {
        let Some(id) = self.positions.remove(slot) else {
            return false;
        };
        let id = id as usize;
        self.dead[id / 64] |= 1 << (id % 64);
        self.dead_count += 1;
        if self.dead_count > self.min_rebuild.max(self.positions.len() / 4) {
            self.rebuild();
        }
        true
    }

    fn radius(&self, query: &Hash256, r: u32) -> Vec<Hit> {
        let kernel = Kernel::detect();
        let mut hits = Vec::new();
        let (probed, scanned) = if self.probes(r) {
            self.probe(query, r, &mut hits);
            (self.indexed, &self.hashes[self.indexed..])
        } else {
            (0, &self.hashes[..])
        };
        scan_radius(kernel, scanned, query, r, |i, distance| {
            if let Some(slot) = self.live_slot(probed + i) {
                hits.push(Hit { distance, slot });
            }
        });
        hits.sort_unstable();
        hits
    }

    fn knn(&self, query: &Hash256, k: usize) -> Vec<Hit> {
        if k == 0 {
            return Vec::new();
        }
        // The k nearest are the first k within the largest probed radius, if there are k.
        let probe_radius = 16u32
            .saturating_mul(self.max_probe_flips.saturating_add(1))
            .min(Hash256::BITS)
            - 1;
        if self.probes(probe_radius) {
            let mut hits = self.radius(query, probe_radius);
            if hits.len() >= k {
                hits.truncate(k);
                return hits;
            }
        }
        scan_knn(Kernel::detect(), &self.hashes, query, k, |i| {
            self.live_slot(i)
        })
    }

    /// One pass over the stored hashes for all queries when the radius makes the index scan;
    /// one probe per query otherwise.
    fn radius_multi(&self, queries: &[Hash256], r: u32) -> Vec<(usize, Hit)> {
        if self.probes(r) {
            let mut out = Vec::new();
            for (q, query) in queries.iter().enumerate() {
                out.extend(self.radius(query, r).into_iter().map(|hit| (q, hit)));
            }
            return out;
        }
        let mut out = Vec::new();
        scan_radius_multi(
            Kernel::detect(),
            &self.hashes,
            queries,
            r,
            |q, i, distance| {
                if let Some(slot) = self.live_slot(i) {
                    out.push((q, Hit { distance, slot }));
                }
            },
        );
        out.sort_unstable();
        out
    }
}

/// The pigeonring filter's scan of a bucket's next-chunk values, per instruction-set level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FilterKernel {
    /// Plain Rust, no CPU feature assumed.
    Portable,
    /// The POPCNT instruction.
    #[cfg(target_arch = "x86_64")]
    Popcnt,
    /// AVX-512 BITALG (`vpopcntw`, 32 values per instruction), as the compiler vectorizes it.
    #[cfg(target_arch = "x86_64")]
    Avx512Bitalg,
}

impl FilterKernel {
    /// The best kernel this CPU supports (detected once).
    pub(crate) fn detect() -> FilterKernel {
        static BEST: std::sync::OnceLock<FilterKernel> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| {
            *Self::supported()
                .last()
                .expect("the portable kernel is always supported")
        })
    }

    /// Every kernel this CPU supports, from the portable one to the best.
    pub(crate) fn supported() -> Vec<FilterKernel> {
        #[allow(unused_mut)]
        let mut kernels = vec![FilterKernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("popcnt") {
                kernels.push(FilterKernel::Popcnt);
            }
            if has!("avx512f") && has!("avx512bw") && has!("avx512vl") && has!("avx512bitalg") {
                kernels.push(FilterKernel::Avx512Bitalg);
            }
        }
        kernels
    }

    /// Calls `keep(k)`, in increasing `k`, for every `k` with
    /// `popcount(next[k] ^ query) <= limit`.
    #[inline]
    fn scan(self, next: &[u16], query: u16, limit: u32, keep: impl FnMut(usize)) {
        match self {
            FilterKernel::Portable => filter_scan(next, query, limit, keep),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `supported()` lists this kernel only after `is_x86_feature_detected!`
            // confirmed POPCNT; kernels come only from there.
            FilterKernel::Popcnt => unsafe { filter_scan_popcnt(next, query, limit, keep) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above, for AVX-512 F, BW, VL and BITALG.
            FilterKernel::Avx512Bitalg => unsafe { filter_scan_avx512(next, query, limit, keep) },
        }
    }
}

/// The filter scan, written so that the compiler can vectorize the comparison of 32 values
/// into one bit mask; the `target_feature` wrappers below compile it for each level.
#[inline(always)]
fn filter_scan(next: &[u16], query: u16, limit: u32, mut keep: impl FnMut(usize)) {
    let mut blocks = next.chunks_exact(32);
    let mut base = 0;
    for block in &mut blocks {
        let mut passed = 0u32;
        for (k, &n) in block.iter().enumerate() {
            passed |= u32::from((n ^ query).count_ones() <= limit) << k;
        }
        while passed != 0 {
            keep(base + passed.trailing_zeros() as usize);
            passed &= passed - 1;
        }
        base += 32;
    }
    for (k, &n) in blocks.remainder().iter().enumerate() {
        if (n ^ query).count_ones() <= limit {
            keep(base + k);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn filter_scan_popcnt(next: &[u16], query: u16, limit: u32, keep: impl FnMut(usize)) {
    filter_scan(next, query, limit, keep)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bitalg,popcnt")]
fn filter_scan_avx512(next: &[u16], query: u16, limit: u32, keep: impl FnMut(usize)) {
    filter_scan(next, query, limit, keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_kernel_keeps_the_same_entries() {
        let mut state = 0x1234_5678_9abc_def0u64;
        let next: Vec<u16> = (0..1000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u16
            })
            .collect();
        let kernels = FilterKernel::supported();
        eprintln!("filter kernels on this CPU: {kernels:?}");
        for query in [0u16, 0xffff, 0x5a5a, next[17]] {
            for limit in [0, 1, 3, 8, 16] {
                for len in [0, 1, 31, 32, 33, 64, 999, 1000] {
                    let want: Vec<usize> = (0..len)
                        .filter(|&k| (next[k] ^ query).count_ones() <= limit)
                        .collect();
                    for &kernel in &kernels {
                        let mut got = Vec::new();
                        kernel.scan(&next[..len], query, limit, |k| got.push(k));
                        assert_eq!(got, want, "{kernel:?}, limit {limit}, len {len}");
                    }
                }
            }
        }
    }

    #[test]
    fn masks_are_every_combination_once() {
        for t in 0..=4 {
            let mut seen = std::collections::HashSet::new();
            for_each_mask(t, |mask, weight| {
                assert_eq!(mask.count_ones(), weight);
                assert!(weight <= t);
                assert!(seen.insert(mask));
            });
            let expected: u64 = (0..=t as u64)
                .map(|i| (0..i).fold(1u64, |acc, j| acc * (16 - j) / (j + 1)))
                .sum();
            assert_eq!(seen.len() as u64, expected, "t = {t}");
        }
        let mut all = 0;
        for_each_mask(16, |_, _| all += 1);
        assert_eq!(all, 1 << 16);
    }

    #[test]
    fn chunks_follow_the_bit_layout() {
        let mut h = Hash256::ZERO;
        h.set_bit(16 * 5 + 3, true);
        assert_eq!(chunk(&h, 5), 1 << 3);
        assert_eq!(chunk_distances(&h, &Hash256::ZERO)[5], 1);
        assert_eq!(chunk_distances(&h, &Hash256::ZERO).iter().sum::<u32>(), 1);
    }

    #[test]
    fn tables_sort_every_chunk_by_value_then_id() {
        // Few distinct chunk values (many per bucket) over both radix bytes, and a size that
        // is no multiple of 256.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut word = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state & 0x0f0f_0f0f_0f0f_0f0f
        };
        let hashes: Vec<Hash256> = (0..5_000)
            .map(|_| Hash256::from_words([word(), word(), word(), word()]))
            .collect();
        let tables = MihTables::build(&hashes);
        for (c, table) in tables.chunks.iter().enumerate() {
            let mut expected: Vec<(u16, usize)> = hashes
                .iter()
                .enumerate()
                .map(|(id, h)| (chunk(h, c), id))
                .collect();
            expected.sort_unstable();
            let mut at = 0;
            for value in 0..=u16::MAX {
                for k in table.bucket(value) {
                    let id = table.ids.get(k);
                    assert_eq!((value, id), expected[at], "chunk {c}, position {k}");
                    assert_eq!(table.next[k], chunk(&hashes[id], (c + 1) % CHUNKS));
                    at += 1;
                }
            }
            assert_eq!(at, hashes.len());
        }
    }
}
