//! What the transparency counters cost a query: the same `Matcher::query` with counting on
//! (the default) and off (`Matcher::set_counting(false)`), in one run, on one matcher.
//!
//! ```text
//! cargo bench --bench counters
//! ```
//!
//! 1 000 000 uniform random entries in one list (multi-index hashing, what `Matcher::new`
//! picks). Two queries: a stored hash near an entry (1 match: the list's and the entry's
//! counts are incremented, the entry's in the lock-free map) and a random hash (no match: one
//! atomic increment). Criterion measures the means; after it, the bench times 200 000 single
//! queries of a mix (1 % matching, as uploads are) per setting, in alternating blocks so that
//! both see the same machine, and prints p50 and p99.

mod common;

use std::hint::black_box;
use std::time::Instant;

use criterion::Criterion;
use hashmatch::list::Entry;
use hashmatch::matcher::{ListSettings, Matcher, QueryOptions};
use hashmatch::pdq::PdqHash;
use hashmatch::Hash256;

use common::Rng;

const ENTRIES: usize = 1_000_000;

fn matcher(hashes: &[Hash256]) -> Matcher {
    let m = Matcher::new();
    m.add_list("bench", ListSettings::default()).unwrap();
    m.insert_many(
        "bench",
        hashes.iter().enumerate().map(|(i, &hash)| Entry {
            hash,
            id: i as u64,
            label: None,
        }),
    )
    .unwrap();
    m.compact();
    m
}

fn upload(hash: Hash256) -> PdqHash {
    PdqHash { hash, quality: 90 }
}

fn criterion_part(c: &mut Criterion, m: &Matcher, stored: PdqHash, random: PdqHash) {
    let options = QueryOptions::default();
    for (what, query) in [("stored", stored), ("random", random)] {
        let mut group = c.benchmark_group(format!("query/1M/{what}"));
        for (name, on) in [("counting-off", false), ("counting-on", true)] {
            m.set_counting(on);
            group.bench_function(name, |b| {
                b.iter(|| black_box(m.query(black_box(&query), &options).unwrap()).len())
            });
        }
        group.finish();
    }
    m.set_counting(true);
}

/// p50 and p99 of single queries, nanoseconds.
fn percentiles(mut times: Vec<u64>) -> (u64, u64) {
    times.sort_unstable();
    let at = |p: f64| times[((times.len() as f64 - 1.0) * p) as usize];
    (at(0.50), at(0.99))
}

fn percentile_part(m: &Matcher, uploads: &[PdqHash]) {
    const BLOCK: usize = 1000;
    let options = QueryOptions::default();
    let mut times = [Vec::new(), Vec::new()];
    for (block, chunk) in uploads.chunks(BLOCK).enumerate() {
        // Alternate the setting per block, the same uploads for both.
        for round in 0..2 {
            let on = (block + round) % 2 == 1;
            m.set_counting(on);
            for u in chunk {
                let t = Instant::now();
                black_box(m.query(black_box(u), &options).unwrap());
                times[usize::from(on)].push(t.elapsed().as_nanos() as u64);
            }
        }
    }
    m.set_counting(true);
    let (off, on) = (percentiles(times[0].clone()), percentiles(times[1].clone()));
    println!(
        "mix of {} queries (1 % matching), 1M entries: counting off p50 {} ns p99 {} ns; \
         counting on p50 {} ns p99 {} ns; on/off p50 {:.3}, p99 {:.3}",
        uploads.len(),
        off.0,
        off.1,
        on.0,
        on.1,
        on.0 as f64 / off.0 as f64,
        on.1 as f64 / off.1 as f64
    );
}

fn main() {
    let mut rng = Rng(0xc0_4e7e);
    let hashes: Vec<Hash256> = (0..ENTRIES).map(|_| rng.hash()).collect();
    let m = matcher(&hashes);
    let stored = upload(rng.flip(hashes[ENTRIES / 2], 8));
    let random = upload(rng.hash());
    assert_eq!(m.query(&stored, &QueryOptions::default()).unwrap().len(), 1);
    assert!(m
        .query(&random, &QueryOptions::default())
        .unwrap()
        .is_empty());
    let mut c = Criterion::default().configure_from_args();
    criterion_part(&mut c, &m, stored, random);
    c.final_summary();
    let mix: Vec<PdqHash> = (0..200_000)
        .map(|i| {
            if i % 100 == 0_u32 {
                let at = rng.below(ENTRIES as u64) as usize;
                upload(rng.flip(hashes[at], 8))
            } else {
                upload(rng.hash())
            }
        })
        .collect();
    percentile_part(&m, &mix);
}
