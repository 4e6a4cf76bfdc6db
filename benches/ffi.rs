//! What the C layer adds to a query: the same radius-31 query through `hm_matcher_query_radius`
//! (called from Rust as C would call it: argument checks, panic boundary, copying the results
//! into an `hm_matches`, then `hm_matches_free`) and through `Matcher::query_radius`.
//!
//! ```text
//! cargo bench --bench ffi
//! ```
//!
//! Two matchers: 100 000 uniform random entries (multi-index hashing, as `HM_INDEX_AUTO` picks)
//! and a tiny one of 16 entries (linear scan), where the search itself costs almost nothing and
//! the boundary shows. Two queries on each: a stored hash (1 match: the C layer copies the list
//! name and label) and a random hash (no match).

mod common;

use std::hint::black_box;
use std::ptr::null_mut;

use criterion::Criterion;
use hashmatch::ffi::hash::hm_pdq_hash;
use hashmatch::ffi::matcher::*;
use hashmatch::ffi::HM_OK;
use hashmatch::list::Entry;
use hashmatch::matcher::{ListSettings, Matcher};
use hashmatch::Hash256;

use common::Rng;

const RADIUS: u32 = 31;

/// The same entries in a Rust matcher and in a C handle.
fn matchers(hashes: &[Hash256]) -> (Matcher, *mut hm_matcher) {
    let label = c"case 7";
    let entries: Vec<Entry> = hashes
        .iter()
        .enumerate()
        .map(|(i, &hash)| Entry {
            hash,
            id: i as u64,
            label: Some("case 7".into()),
        })
        .collect();
    let rust = Matcher::new();
    rust.add_list("bench", ListSettings::default()).unwrap();
    rust.insert_many("bench", entries).unwrap();

    let c_entries: Vec<hm_entry> = hashes
        .iter()
        .enumerate()
        .map(|(i, &hash)| hm_entry {
            hash: hm_pdq_hash::from(hash),
            id: i as u64,
            label: label.as_ptr(),
        })
        .collect();
    let mut c = null_mut();
    // SAFETY: valid pointers and lengths.
    unsafe {
        assert_eq!(hm_matcher_new(HM_INDEX_AUTO, &mut c, null_mut()), HM_OK);
        assert_eq!(
            hm_matcher_add_list(c, c"bench".as_ptr(), 31, true, null_mut()),
            HM_OK
        );
        let status = hm_matcher_insert_many(
            c,
            c"bench".as_ptr(),
            c_entries.as_ptr(),
            c_entries.len(),
            null_mut(),
            null_mut(),
        );
        assert_eq!(status, HM_OK);
    }
    assert_eq!(rust.index_kind(), {
        let mut kind = 0;
        // SAFETY: valid pointers.
        unsafe { hm_matcher_index_kind(c, &mut kind, null_mut()) };
        match kind {
            HM_INDEX_LINEAR => hashmatch::IndexKind::Linear,
            HM_INDEX_BKTREE => hashmatch::IndexKind::BkTree,
            _ => hashmatch::IndexKind::MultiIndex,
        }
    });
    (rust, c)
}

/// One query through the C layer: results object made, read for its length, freed.
fn c_query(m: *const hm_matcher, hash: &hm_pdq_hash) -> usize {
    let mut out = null_mut();
    // SAFETY: a live matcher and valid pointers; the results object is freed once.
    unsafe {
        let status = hm_matcher_query_radius(m, hash, RADIUS, &mut out, null_mut());
        debug_assert_eq!(status, HM_OK);
        let n = hm_matches_len(out);
        hm_matches_free(out);
        n
    }
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng(0x5eed_f00d);
    for (name, n) in [("100k", 100_000usize), ("16", 16)] {
        let hashes: Vec<Hash256> = (0..n).map(|_| rng.hash()).collect();
        let (rust, cm) = matchers(&hashes);
        let stored = hashes[n / 2];
        let random = rng.hash();
        for (what, query) in [("stored", stored), ("random", random)] {
            let c_hash = hm_pdq_hash::from(query);
            let expected = rust.query_radius(&query, RADIUS).len();
            assert_eq!(c_query(cm, &c_hash), expected);
            let mut group = c.benchmark_group(format!("query_radius31/{name}/{what}"));
            group.bench_function("rust", |b| {
                b.iter(|| black_box(rust.query_radius(black_box(&query), RADIUS)).len())
            });
            group.bench_function("c", |b| {
                b.iter(|| c_query(black_box(cm), black_box(&c_hash)))
            });
            group.finish();
        }
        // SAFETY: no other reference to the handle remains.
        unsafe { hm_matcher_free(cm) };
    }
    // The cheapest export, for the bare cost of a call with its panic boundary.
    let (a, b) = (
        hm_pdq_hash { bytes: [1; 32] },
        hm_pdq_hash { bytes: [2; 32] },
    );
    c.bench_function("hm_pdq_hash_distance", |bench| {
        bench.iter(|| hashmatch::ffi::hash::hm_pdq_hash_distance(black_box(a), black_box(b)))
    });
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
