//! [`LinearScan`]: every distance, computed with the widest popcount the CPU has.

use std::collections::BinaryHeap;
use std::fmt;
use std::sync::OnceLock;

use rayon::prelude::*;

use super::slots::SlotTable;
use super::{HammingIndex, Hit, IndexKind};
use crate::Hash256;

/// An exhaustive index: hashes stored contiguously (32 bytes each) beside a parallel slot array,
/// every query computes every distance (XOR + popcount).
///
/// The popcount kernel is chosen once at run time: AVX-512 VPOPCNTDQ, else AVX2 (nibble
/// lookup), else POPCNT, else portable code; all give identical results (tested). Removal
/// swaps the last entry into the hole, so storage stays dense; memory is 36 bytes per entry
/// plus the slot table.
///
/// ```
/// use hashmatch::index::{HammingIndex, Hit, LinearScan};
/// use hashmatch::Hash256;
///
/// let mut index = LinearScan::new();
/// index.insert(7, Hash256::ZERO);
/// index.insert(9, Hash256::from_words([0b111, 0, 0, 0]));
/// assert_eq!(index.radius(&Hash256::ZERO, 2), vec![Hit { distance: 0, slot: 7 }]);
/// assert!(index.remove(7));
/// assert_eq!(index.knn(&Hash256::ZERO, 5), vec![Hit { distance: 3, slot: 9 }]);
/// ```
#[derive(Clone, Default)]
pub struct LinearScan {
    hashes: Vec<Hash256>,
    slots: Vec<u32>,
    positions: SlotTable,
}

impl LinearScan {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Approximate heap memory in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.hashes.capacity() * 32 + self.slots.capacity() * 4 + self.positions.heap_bytes()
    }
}

impl fmt::Debug for LinearScan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinearScan")
            .field("len", &self.len())
            .field("kernel", &Kernel::detect())
            .finish()
    }
}

impl FromIterator<(u32, Hash256)> for LinearScan {
    fn from_iter<I: IntoIterator<Item = (u32, Hash256)>>(iter: I) -> Self {
        let mut index = Self::new();
        for (slot, hash) in iter {
            index.insert(slot, hash);
        }
        index.hashes.shrink_to_fit();
        index.slots.shrink_to_fit();
        index
    }
}

impl HammingIndex for LinearScan {
    fn kind(&self) -> IndexKind {
        IndexKind::Linear
    }

    fn len(&self) -> usize {
        self.hashes.len()
    }

    fn heap_bytes(&self) -> usize {
        LinearScan::heap_bytes(self)
    }

    fn get(&self, slot: u32) -> Option<Hash256> {
        self.positions
            .get(slot)
            .map(|pos| self.hashes[pos as usize])
    }

    fn insert(&mut self, slot: u32, hash: Hash256) -> Option<Hash256> {
        if let Some(pos) = self.positions.get(slot) {
            return Some(std::mem::replace(&mut self.hashes[pos as usize], hash));
        }
        let pos = u32::try_from(self.hashes.len()).expect("index full");
        self.positions.insert(slot, pos);
        self.hashes.push(hash);
        self.slots.push(slot);
        None
    }

    fn remove(&mut self, slot: u32) -> bool {
        let Some(pos) = self.positions.remove(slot) else {
            return false;
        };
        let pos = pos as usize;
        self.hashes.swap_remove(pos);
        self.slots.swap_remove(pos);
        if let Some(&moved) = self.slots.get(pos) {
            self.positions.insert(moved, pos as u32);
        }
        true
    }

    fn radius(&self, query: &Hash256, r: u32) -> Vec<Hit> {
        let mut hits = Vec::new();
        scan_radius(Kernel::detect(), &self.hashes, query, r, |i, distance| {
            hits.push(Hit {
                distance,
                slot: self.slots[i],
            })
        });
        hits.sort_unstable();
        hits
    }

    fn knn(&self, query: &Hash256, k: usize) -> Vec<Hit> {
        scan_knn(Kernel::detect(), &self.hashes, query, k, |i| {
            Some(self.slots[i])
        })
    }

    /// Groups of 8 queries, in parallel, each group one pass over memory.
    fn radius_many(&self, queries: &[Hash256], r: u32) -> Vec<Vec<Hit>> {
        queries
            .par_chunks(8)
            .flat_map_iter(|group| {
                let mut per_query = vec![Vec::new(); group.len()];
                for (i, hit) in self.radius_multi(group, r) {
                    per_query[i].push(hit);
                }
                per_query
            })
            .collect()
    }

    fn radius_multi(&self, queries: &[Hash256], r: u32) -> Vec<(usize, Hit)> {
        let mut out = Vec::new();
        scan_radius_multi(
            Kernel::detect(),
            &self.hashes,
            queries,
            r,
            |q, i, distance| {
                out.push((
                    q,
                    Hit {
                        distance,
                        slot: self.slots[i],
                    },
                ))
            },
        );
        out.sort_unstable();
        out
    }
}

/// Entries per block: 8 KB of hashes, small enough to stay in L1 while several queries use it.
const BLOCK: usize = 256;

/// Calls `emit(i, distance)` for every `i` with `distance(hashes[i], query) <= r`, in order.
pub(crate) fn scan_radius(
    kernel: Kernel,
    hashes: &[Hash256],
    query: &Hash256,
    r: u32,
    mut emit: impl FnMut(usize, u32),
) {
    let mut distances = [0u16; BLOCK];
    for (b, block) in hashes.chunks(BLOCK).enumerate() {
        let distances = &mut distances[..block.len()];
        kernel.distances(block, query, distances);
        for (j, &d) in distances.iter().enumerate() {
            if u32::from(d) <= r {
                emit(b * BLOCK + j, u32::from(d));
            }
        }
    }
}

/// [`scan_radius`] for several queries in one pass over `hashes`: `emit(query, i, distance)`,
/// ordered by block, then query, then `i`.
pub(crate) fn scan_radius_multi(
    kernel: Kernel,
    hashes: &[Hash256],
    queries: &[Hash256],
    r: u32,
    mut emit: impl FnMut(usize, usize, u32),
) {
    let mut distances = [0u16; BLOCK];
    for (b, block) in hashes.chunks(BLOCK).enumerate() {
        let distances = &mut distances[..block.len()];
        for (q, query) in queries.iter().enumerate() {
            kernel.distances(block, query, distances);
            for (j, &d) in distances.iter().enumerate() {
                if u32::from(d) <= r {
                    emit(q, b * BLOCK + j, u32::from(d));
                }
            }
        }
    }
}

/// The `k` nearest entries; `slot_of(i)` gives entry `i`'s slot, `None` to skip it.
pub(crate) fn scan_knn(
    kernel: Kernel,
    hashes: &[Hash256],
    query: &Hash256,
    k: usize,
    slot_of: impl Fn(usize) -> Option<u32>,
) -> Vec<Hit> {
    if k == 0 {
        return Vec::new();
    }
    // A max-heap of the best k so far: its top is the hit to beat.
    let mut best: BinaryHeap<Hit> = BinaryHeap::with_capacity(k.min(hashes.len()) + 1);
    let mut bound = u32::MAX;
    let mut distances = [0u16; BLOCK];
    for (b, block) in hashes.chunks(BLOCK).enumerate() {
        let distances = &mut distances[..block.len()];
        kernel.distances(block, query, distances);
        for (j, &d) in distances.iter().enumerate() {
            let distance = u32::from(d);
            if distance > bound {
                continue;
            }
            let Some(slot) = slot_of(b * BLOCK + j) else {
                continue;
            };
            let hit = Hit { distance, slot };
            if best.len() < k {
                best.push(hit);
            } else if hit < *best.peek().expect("k > 0") {
                best.pop();
                best.push(hit);
            } else {
                continue;
            }
            if best.len() == k {
                bound = best.peek().expect("k > 0").distance;
            }
        }
    }
    best.into_sorted_vec()
}

/// A popcount kernel: one per instruction-set level, all computing the same distances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// Plain Rust, no CPU feature assumed.
    Portable,
    /// The POPCNT instruction, one 64-bit word at a time.
    #[cfg(target_arch = "x86_64")]
    Popcnt,
    /// AVX2: nibble lookup (`vpshufb`) and byte sums (`vpsadbw`), one hash per register.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// AVX-512 VPOPCNTDQ: 64-bit popcounts, two hashes per register.
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Kernel {
    /// The best kernel this CPU supports (detected once).
    pub(crate) fn detect() -> Kernel {
        static BEST: OnceLock<Kernel> = OnceLock::new();
        *BEST.get_or_init(|| {
            *Self::supported()
                .last()
                .expect("the portable kernel is always supported")
        })
    }

    /// Every kernel this CPU supports, from the portable one to the best.
    pub(crate) fn supported() -> Vec<Kernel> {
        #[allow(unused_mut)]
        let mut kernels = vec![Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("popcnt") {
                kernels.push(Kernel::Popcnt);
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                kernels.push(Kernel::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
            {
                kernels.push(Kernel::Avx512);
            }
        }
        kernels
    }

    /// `out[i] = distance(hashes[i], query)`. `out` must be as long as `hashes`.
    #[inline]
    pub(crate) fn distances(self, hashes: &[Hash256], query: &Hash256, out: &mut [u16]) {
        assert_eq!(hashes.len(), out.len());
        match self {
            Kernel::Portable => distances_portable(hashes, query, out),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `supported()` lists this kernel only after `is_x86_feature_detected!`
            // confirmed the features `distances_popcnt` enables; kernels come only from there.
            Kernel::Popcnt => unsafe { x86::distances_popcnt(hashes, query, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `supported()` lists this kernel only after `is_x86_feature_detected!`
            // confirmed the features `distances_avx2` enables; kernels come only from there.
            Kernel::Avx2 => unsafe { x86::distances_avx2(hashes, query, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `supported()` lists this kernel only after `is_x86_feature_detected!`
            // confirmed the features `distances_avx512` enables; kernels come only from there.
            Kernel::Avx512 => unsafe { x86::distances_avx512(hashes, query, out) },
        }
    }
}

fn distances_portable(hashes: &[Hash256], query: &Hash256, out: &mut [u16]) {
    for (hash, d) in hashes.iter().zip(out.iter_mut()) {
        *d = hash.distance(query) as u16;
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use crate::Hash256;

    #[target_feature(enable = "popcnt")]
    pub(super) fn distances_popcnt(hashes: &[Hash256], query: &Hash256, out: &mut [u16]) {
        for (hash, d) in hashes.iter().zip(out.iter_mut()) {
            *d = hash.distance(query) as u16;
        }
    }

    /// Per-byte popcounts of `v` by nibble lookup.
    #[target_feature(enable = "avx2")]
    fn popcount_bytes(v: __m256i) -> __m256i {
        let lookup = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, //
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
        );
        let low_nibbles = _mm256_set1_epi8(0x0f);
        let lo = _mm256_and_si256(v, low_nibbles);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low_nibbles);
        _mm256_add_epi8(
            _mm256_shuffle_epi8(lookup, lo),
            _mm256_shuffle_epi8(lookup, hi),
        )
    }

    /// Four 64-bit lanes: the popcount of each word of `hash ^ query`.
    #[target_feature(enable = "avx2")]
    fn word_counts_avx2(hash: &Hash256, query: __m256i) -> __m256i {
        // SAFETY: `Hash256` is `repr(C)` over `[u64; 4]`: 32 readable bytes; loadu needs no
        // alignment.
        let v = unsafe { _mm256_loadu_si256((hash as *const Hash256).cast()) };
        _mm256_sad_epu8(
            popcount_bytes(_mm256_xor_si256(v, query)),
            _mm256_setzero_si256(),
        )
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn distances_avx2(hashes: &[Hash256], query: &Hash256, out: &mut [u16]) {
        // SAFETY: as in `word_counts_avx2`.
        let q = unsafe { _mm256_loadu_si256((query as *const Hash256).cast()) };
        let mut groups = hashes.chunks_exact(4);
        let mut outs = out.chunks_exact_mut(4);
        for (group, out) in (&mut groups).zip(&mut outs) {
            // Each lane count is <= 64, each distance <= 256: pack the four hashes' counts into
            // 16-bit fields, then sum the four lanes once.
            let s0 = word_counts_avx2(&group[0], q);
            let s1 = _mm256_slli_epi64::<16>(word_counts_avx2(&group[1], q));
            let s2 = _mm256_slli_epi64::<32>(word_counts_avx2(&group[2], q));
            let s3 = _mm256_slli_epi64::<48>(word_counts_avx2(&group[3], q));
            let t = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
            let x = _mm_add_epi64(_mm256_castsi256_si128(t), _mm256_extracti128_si256::<1>(t));
            let sum = _mm_add_epi64(x, _mm_unpackhi_epi64(x, x));
            let packed = _mm_cvtsi128_si64(sum) as u64;
            for (k, d) in out.iter_mut().enumerate() {
                *d = (packed >> (16 * k)) as u16;
            }
        }
        for (hash, d) in groups.remainder().iter().zip(outs.into_remainder()) {
            *d = hash.distance(query) as u16;
        }
    }

    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    pub(super) fn distances_avx512(hashes: &[Hash256], query: &Hash256, out: &mut [u16]) {
        let [w0, w1, w2, w3] = query.words().map(|w| w as i64);
        let q = _mm512_setr_epi64(w0, w1, w2, w3, w0, w1, w2, w3);
        let mut groups = hashes.chunks_exact(8);
        let mut outs = out.chunks_exact_mut(8);
        for (group, out) in (&mut groups).zip(&mut outs) {
            let p = group.as_ptr().cast::<__m512i>();
            // SAFETY: `group` is 8 `repr(C)` hashes of 32 bytes: 256 readable bytes, read as
            // four unaligned 64-byte vectors (two hashes each).
            let (v0, v1, v2, v3) = unsafe {
                (
                    _mm512_loadu_si512(p),
                    _mm512_loadu_si512(p.add(1)),
                    _mm512_loadu_si512(p.add(2)),
                    _mm512_loadu_si512(p.add(3)),
                )
            };
            let c0 = _mm512_popcnt_epi64(_mm512_xor_si512(v0, q));
            let c1 = _mm512_popcnt_epi64(_mm512_xor_si512(v1, q));
            let c2 = _mm512_popcnt_epi64(_mm512_xor_si512(v2, q));
            let c3 = _mm512_popcnt_epi64(_mm512_xor_si512(v3, q));
            // Vector k holds hashes 2k (lanes 0-3) and 2k+1 (lanes 4-7). Pack vector k into the
            // 16-bit field k of each lane, then sum lanes 0-3 and lanes 4-7.
            let t = _mm512_add_epi64(
                _mm512_add_epi64(c0, _mm512_slli_epi64::<16>(c1)),
                _mm512_add_epi64(_mm512_slli_epi64::<32>(c2), _mm512_slli_epi64::<48>(c3)),
            );
            // Swap the two 64-bit halves of each 128-bit lane, add; swap 128-bit lanes pairwise, add.
            let t = _mm512_add_epi64(t, _mm512_shuffle_epi32::<0x4E>(t));
            let t = _mm512_add_epi64(t, _mm512_shuffle_i64x2::<0xB1>(t, t));
            let even = _mm_cvtsi128_si64(_mm512_castsi512_si128(t)) as u64;
            let odd = _mm_cvtsi128_si64(_mm512_extracti32x4_epi32::<2>(t)) as u64;
            for k in 0..4 {
                out[2 * k] = (even >> (16 * k)) as u16;
                out[2 * k + 1] = (odd >> (16 * k)) as u16;
            }
        }
        for (hash, d) in groups.remainder().iter().zip(outs.into_remainder()) {
            *d = hash.distance(query) as u16;
        }
    }
}
