//! Every index against the brute-force oracle: same hits, same order.

use proptest::prelude::*;

use super::linear::Kernel;
use super::*;

/// A small deterministic generator (splitmix64): proptest picks the seed and sizes, this
/// fills in the hashes, so a case stays cheap to generate and to shrink.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn hash(&mut self) -> Hash256 {
        Hash256::from_words([self.next(), self.next(), self.next(), self.next()])
    }

    /// `hash` with `flips` distinct random bits flipped.
    fn flip(&mut self, hash: &Hash256, flips: u32) -> Hash256 {
        let mut out = *hash;
        let mut flipped = 0;
        while flipped < flips {
            let k = self.below(256) as usize;
            if out.bit(k) == hash.bit(k) {
                out.set_bit(k, !hash.bit(k));
                flipped += 1;
            }
        }
        out
    }
}

/// How a test data set is shaped.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// Independent random hashes.
    Uniform,
    /// A few random centres, members at 0..=40 flips: many hits at PDQ radii.
    Clustered,
    /// Few distinct hashes, each under many slots: ties everywhere.
    Duplicates,
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Uniform),
        Just(Shape::Clustered),
        Just(Shape::Duplicates)
    ]
}

/// `n` entries; slots are drawn from `0..2n` so some repeat (a later insert replaces).
fn entries(rng: &mut Rng, shape: Shape, n: usize) -> Vec<(u32, Hash256)> {
    let centres: Vec<Hash256> = (0..1 + n / 16).map(|_| rng.hash()).collect();
    let distinct: Vec<Hash256> = (0..1 + n / 8).map(|_| rng.hash()).collect();
    (0..n)
        .map(|_| {
            let slot = rng.below(2 * n as u64 + 1) as u32;
            let hash = match shape {
                Shape::Uniform => rng.hash(),
                Shape::Clustered => {
                    let centre = centres[rng.below(centres.len() as u64) as usize];
                    let flips = rng.below(41) as u32;
                    rng.flip(&centre, flips)
                }
                Shape::Duplicates => distinct[rng.below(distinct.len() as u64) as usize],
            };
            (slot, hash)
        })
        .collect()
}

/// Queries: random, stored hashes, and stored hashes moved to about the radius.
fn queries(rng: &mut Rng, stored: &[(u32, Hash256)], r: u32, count: usize) -> Vec<Hash256> {
    (0..count)
        .map(|i| {
            if stored.is_empty() || i % 4 == 0 {
                return rng.hash();
            }
            let base = stored[rng.below(stored.len() as u64) as usize].1;
            match i % 4 {
                1 => base,
                2 => rng.flip(&base, r.min(256)),
                _ => rng.flip(&base, (r + 1).min(256)),
            }
        })
        .collect()
}

/// Every index under test, built from `entries` by repeated insert.
fn all_indexes(entries: &[(u32, Hash256)]) -> Vec<(&'static str, Box<dyn HammingIndex>)> {
    let e = || entries.iter().copied();
    let mut mih_inserted = MultiIndex::new().with_min_rebuild(8);
    for (slot, hash) in e() {
        mih_inserted.insert(slot, hash);
    }
    vec![
        ("linear", build(IndexKind::Linear, e())),
        ("bktree", build(IndexKind::BkTree, e())),
        ("mih", build(IndexKind::MultiIndex, e())),
        ("mih inserted, small delta", Box::new(mih_inserted)),
        (
            "mih probing 3 flips, portable filter",
            Box::new(
                e().collect::<MultiIndex>()
                    .with_max_probe_flips(3)
                    .with_filter_kernel(mih::FilterKernel::Portable),
            ),
        ),
        (
            "mih scanning",
            Box::new(e().collect::<MultiIndex>().with_max_probe_flips(0)),
        ),
    ]
}

fn check_radius(oracle: &BruteForce, index: &dyn HammingIndex, name: &str, qs: &[Hash256], r: u32) {
    for q in qs {
        assert_eq!(
            index.radius(q, r),
            oracle.radius(q, r),
            "{name}: radius {r}, query {q}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn radius_equals_brute_force(seed: u64, shape in shape(), n in 0usize..300, r in 0u32..=257) {
        let mut rng = Rng(seed);
        let entries = entries(&mut rng, shape, n);
        let oracle: BruteForce = entries.iter().copied().collect();
        let qs = queries(&mut rng, &entries, r, 12);
        for (name, index) in all_indexes(&entries) {
            prop_assert_eq!(index.len(), oracle.len());
            check_radius(&oracle, index.as_ref(), name, &qs, r);
            check_radius(&oracle, index.as_ref(), name, &qs[..1], u32::MAX);
            // The batch entry points answer exactly as one query at a time.
            let one_by_one: Vec<Vec<Hit>> = qs.iter().map(|q| index.radius(q, r)).collect();
            prop_assert_eq!(&index.radius_many(&qs, r), &one_by_one, "{}", name);
            let multi: Vec<(usize, Hit)> = one_by_one
                .iter()
                .enumerate()
                .flat_map(|(i, hits)| hits.iter().map(move |&h| (i, h)))
                .collect();
            prop_assert_eq!(&index.radius_multi(&qs, r), &multi, "{}", name);
        }
    }

    #[test]
    fn knn_equals_brute_force(seed: u64, shape in shape(), n in 0usize..300, k in 0usize..40) {
        let mut rng = Rng(seed);
        let entries = entries(&mut rng, shape, n);
        let oracle: BruteForce = entries.iter().copied().collect();
        let qs = queries(&mut rng, &entries, 20, 8);
        for (name, index) in all_indexes(&entries) {
            for q in &qs {
                prop_assert_eq!(index.knn(q, k), oracle.knn(q, k), "{}: k {}", name, k);
                prop_assert_eq!(index.knn(q, n + 3), oracle.knn(q, n + 3), "{}: all", name);
            }
        }
    }

    /// Inserts, replacements and removals interleaved with queries, so that MIH rebuilds,
    /// fills its delta and collects tombstones, and the BK-tree rebuilds.
    #[test]
    fn interleaved_updates_equal_brute_force(
        seed: u64,
        shape in shape(),
        ops in proptest::collection::vec((0u8..10, 0u32..200), 1..400),
        r in prop_oneof![0u32..=40, 0u32..=256],
    ) {
        let mut rng = Rng(seed);
        let pool = entries(&mut rng, shape, 64);
        let mut oracle = BruteForce::new();
        let mut indexes: Vec<(&str, Box<dyn HammingIndex>)> = vec![
            ("linear", Box::new(LinearScan::new())),
            ("bktree", Box::new(BkTree::new())),
            ("mih", Box::new(MultiIndex::new().with_min_rebuild(5))),
        ];
        for (step, &(op, slot)) in ops.iter().enumerate() {
            if op < 6 {
                let hash = pool[rng.below(pool.len() as u64) as usize].1;
                let hash = rng.flip(&hash, (op as u32) % 3);
                let expected = oracle.insert(slot, hash);
                for (name, index) in &mut indexes {
                    prop_assert_eq!(index.insert(slot, hash), expected, "{} insert", name);
                }
            } else {
                let expected = oracle.remove(slot);
                for (name, index) in &mut indexes {
                    prop_assert_eq!(index.remove(slot), expected, "{} remove", name);
                }
            }
            if step % 16 == 0 || step + 1 == ops.len() {
                let stored: Vec<(u32, Hash256)> =
                    pool.iter().copied().chain([(0, rng.hash())]).collect();
                let qs = queries(&mut rng, &stored, r, 4);
                for (name, index) in &indexes {
                    prop_assert_eq!(index.len(), oracle.len());
                    prop_assert_eq!(index.get(slot), oracle.get(slot));
                    check_radius(&oracle, index.as_ref(), name, &qs, r);
                    prop_assert_eq!(index.knn(&qs[0], 7), oracle.knn(&qs[0], 7), "{}", name);
                }
            }
        }
    }

    /// Queries exactly at `r` and `r + 1` from stored hashes, with the flips spread over the
    /// 16 chunks by a random composition (up to 16 per chunk): the cases where an off-by-one
    /// in the pigeonhole bound, the probe radius or the first-chunk rule would lose a hit.
    #[test]
    fn boundary_flips_spread_over_chunks(seed: u64, r in 0u32..=80, extra in 0u32..=1) {
        let mut rng = Rng(seed);
        let total = (r + extra).min(256);
        let entries = entries(&mut rng, Shape::Duplicates, 40);
        let oracle: BruteForce = entries.iter().copied().collect();
        let qs: Vec<Hash256> = (0..8)
            .map(|_| {
                let base = entries[rng.below(entries.len() as u64) as usize].1;
                let parts = random_composition(&mut rng, total);
                spread_flips(&mut rng, &base, &parts)
            })
            .collect();
        for (name, index) in all_indexes(&entries) {
            check_radius(&oracle, index.as_ref(), name, &qs, r);
        }
    }
}

/// Splits `total` flips over 16 chunks, at most 16 each. Half the time as evenly as possible
/// (`total / 16` everywhere, the remainder on random chunks): the arrangement that defeats an
/// off-by-one pigeonhole bound. Otherwise at random.
fn random_composition(rng: &mut Rng, total: u32) -> [u32; 16] {
    let mut parts = [0u32; 16];
    let mut left = total;
    if rng.below(2) == 0 {
        parts = [total / 16; 16];
        left = total % 16;
    }
    while left > 0 {
        let c = rng.below(16) as usize;
        if parts[c] < 16 {
            parts[c] += 1;
            left -= 1;
        }
    }
    parts
}

/// `base` with `per_chunk[c]` distinct bits flipped inside chunk `c`.
fn spread_flips(rng: &mut Rng, base: &Hash256, per_chunk: &[u32; 16]) -> Hash256 {
    let mut out = *base;
    for (c, &flips) in per_chunk.iter().enumerate() {
        let mut done = 0;
        while done < flips {
            let k = 16 * c + rng.below(16) as usize;
            if out.bit(k) == base.bit(k) {
                out.set_bit(k, !base.bit(k));
                done += 1;
            }
        }
    }
    out
}

/// The adversarial arrangements named in the design: at r = 31, fifteen chunks with 2 flips and
/// one with 1 (every rotation), and 2 flips in every chunk (32, just outside).
#[test]
fn adversarial_31_and_32() {
    let mut rng = Rng(31);
    let stored: Vec<(u32, Hash256)> = (0..50).map(|s| (s, rng.hash())).collect();
    let oracle: BruteForce = stored.iter().copied().collect();
    let mut qs = Vec::new();
    for one in 0..16 {
        let mut parts = [2u32; 16];
        parts[one] = 1;
        let base = stored[one].1;
        qs.push(spread_flips(&mut rng, &base, &parts));
        qs.push(spread_flips(&mut rng, &base, &[2; 16]));
        // All 31 bits in as few chunks as possible, and 1-2-2-...-2-0 style rings.
        qs.push(spread_flips(
            &mut rng,
            &base,
            &std::array::from_fn(|c| [16, 15][c % 2] * u32::from(c < 2)),
        ));
        let mut ring = [2u32; 16];
        ring[one] = 0;
        ring[(one + 1) % 16] = 3;
        qs.push(spread_flips(&mut rng, &base, &ring));
    }
    for (name, index) in all_indexes(&stored) {
        for r in [30, 31, 32, 33] {
            check_radius(&oracle, index.as_ref(), name, &qs, r);
        }
        for q in &qs {
            let found = index.radius(q, 31).len() + index.radius(q, 32).len();
            assert!(
                found >= 1,
                "{name}: each query is within 32 of a stored hash"
            );
        }
    }
}

#[test]
fn every_kernel_computes_the_same_distances() {
    let kernels = Kernel::supported();
    eprintln!(
        "kernels on this CPU: {kernels:?}, chosen {:?}",
        Kernel::detect()
    );
    let mut rng = Rng(7);
    let query = rng.hash();
    let mut hashes: Vec<Hash256> = (0..1000).map(|_| rng.hash()).collect();
    // The extremes, so no 16-bit field of the packed sums can overflow unnoticed.
    hashes[3] = query;
    hashes[4] = Hash256::from_words(query.words().map(|w| !w));
    for (i, hash) in hashes.iter_mut().enumerate().take(40).skip(5) {
        *hash = rng.flip(&query, 250 + (i as u32 % 7));
    }
    let expected: Vec<u16> = hashes.iter().map(|h| h.distance(&query) as u16).collect();
    assert_eq!(expected[4], 256);
    for kernel in kernels {
        // Every length, so every remainder path runs.
        for len in [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 255, 256, 1000] {
            let mut out = vec![0u16; len];
            kernel.distances(&hashes[..len], &query, &mut out);
            assert_eq!(out, expected[..len], "{kernel:?}, {len} hashes");
        }
        // Offsets that are not multiples of the vector width.
        let mut out = vec![0u16; 990];
        kernel.distances(&hashes[10..], &query, &mut out);
        assert_eq!(out, expected[10..], "{kernel:?}, offset");
    }
}

#[test]
fn kinds_have_names_and_build() {
    for kind in IndexKind::ALL {
        assert_eq!(IndexKind::from_name(kind.name()), Some(kind));
        assert_eq!(kind.to_string(), kind.name());
        let index = build(
            kind,
            [(5, Hash256::ZERO), (5, Hash256::ZERO), (6, Hash256::ZERO)],
        );
        assert_eq!(index.kind(), kind);
        assert_eq!(index.len(), 2);
        assert!(!index.is_empty());
    }
    assert_eq!(IndexKind::choose(4_095, 31), IndexKind::Linear);
    assert_eq!(IndexKind::choose(4_096, 31), IndexKind::MultiIndex);
    assert_eq!(IndexKind::choose(4_096, 32), IndexKind::Linear);
}

fn e_of(entries: &[(u32, Hash256)]) -> impl Iterator<Item = (u32, Hash256)> + '_ {
    entries.iter().copied()
}

#[test]
fn empty_indexes_answer_nothing() {
    let huge = e_of(&[(1, Hash256::ZERO)])
        .collect::<MultiIndex>()
        .with_max_probe_flips(u32::MAX);
    assert_eq!(huge.knn(&Hash256::ZERO, usize::MAX).len(), 1);
    assert_eq!(huge.radius(&Hash256::ZERO, u32::MAX).len(), 1);
    for (name, index) in all_indexes(&[]) {
        assert!(index.is_empty(), "{name}");
        assert_eq!(index.radius(&Hash256::ZERO, 256), vec![], "{name}");
        assert_eq!(index.knn(&Hash256::ZERO, 3), vec![], "{name}");
        assert_eq!(index.knn(&Hash256::ZERO, usize::MAX), vec![], "{name}");
        assert_eq!(
            index.radius_multi(&[Hash256::ZERO; 8], 31),
            vec![],
            "{name}"
        );
    }
}

#[test]
fn sparse_slots_work() {
    let entries = [
        (u32::MAX, Hash256::ZERO),
        (0, Hash256::ZERO),
        (1 << 30, Hash256::ZERO),
    ];
    for (name, mut index) in all_indexes(&entries) {
        let slots: Vec<u32> = index
            .radius(&Hash256::ZERO, 0)
            .iter()
            .map(|h| h.slot)
            .collect();
        assert_eq!(slots, vec![0, 1 << 30, u32::MAX], "{name}");
        assert!(index.remove(u32::MAX), "{name}");
        assert!(!index.remove(u32::MAX), "{name}");
        assert_eq!(index.len(), 2, "{name}");
    }
}

#[test]
fn bktree_rebuilds_after_many_removals() {
    let mut rng = Rng(64);
    let entries = entries(&mut rng, Shape::Clustered, 200);
    let mut tree: BkTree = entries.iter().copied().collect();
    let mut oracle: BruteForce = entries.iter().copied().collect();
    let slots: Vec<u32> = entries.iter().map(|&(s, _)| s).collect();
    let mut rebuilt = false;
    for slot in slots
        .iter()
        .step_by(2)
        .chain(slots.iter().skip(1).step_by(3))
    {
        let before = tree.tombstones();
        assert_eq!(tree.remove(*slot), oracle.remove(*slot));
        rebuilt |= tree.tombstones() < before;
        let base = entries[rng.below(200) as usize].1;
        let q = rng.flip(&base, 20);
        assert_eq!(tree.radius(&q, 40), oracle.radius(&q, 40));
        assert_eq!(tree.knn(&q, 5), oracle.knn(&q, 5));
    }
    assert!(rebuilt, "the removals should have triggered a rebuild");
    assert_eq!(tree.len(), oracle.len());
}
