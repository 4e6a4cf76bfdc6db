//! Exact radius-31 search over PDQ-sized (256-bit) hashes: every index of `hashmatch::index`
//! and the peers in one run, on uniform and clustered data.
//!
//! ```text
//! cargo bench --bench index                      # 100k and 1M entries
//! HASHMATCH_BENCH_10M=1 cargo bench --bench index  # adds 10M (about 6 GB of RAM, minutes)
//! .venv/bin/python benches/peers/faiss_index.py  # FAISS on the same hashes and queries
//! ```
//!
//! Criterion measures the mean query time; a report pass then times every query alone for
//! p50/p99, the build, bytes per entry, the 8-orientation dihedral query against 8 plain ones,
//! and batch throughput on all cores. Queries: half are stored hashes with 5-31 bits flipped
//! (near duplicates, the case that matters), half are random. The hashes and queries are
//! written to `target/bench-data/index-*.bin` (32 big-endian bytes per hash, the bytes HMA feeds
//! FAISS) for the FAISS script.

mod common;

use std::hint::black_box;
use std::time::Instant;

use criterion::Criterion;
use hashmatch::index::{self, IndexKind};
use hashmatch::list::Entry;
use hashmatch::matcher::{ListSettings, Matcher, QueryOptions};
use hashmatch::pdq::DihedralHashes;
use hashmatch::Hash256;

use common::Rng;

const RADIUS: u32 = 31;
const QUERIES: usize = 400;

fn uniform(n: usize, rng: &mut Rng) -> Vec<Hash256> {
    (0..n).map(|_| rng.hash()).collect()
}

/// n/10 random centres with 10 members each at 1-20 flipped bits, shuffled.
fn clustered(n: usize, rng: &mut Rng) -> Vec<Hash256> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let centre = rng.hash();
        for _ in 0..10.min(n - out.len()) {
            let flips = 1 + rng.below(20);
            out.push(rng.flip(centre, flips));
        }
    }
    for i in (1..out.len()).rev() {
        out.swap(i, rng.below(i as u64 + 1) as usize);
    }
    out
}

fn queries(data: &[Hash256], rng: &mut Rng) -> Vec<Hash256> {
    (0..QUERIES)
        .map(|i| {
            if i % 2 == 0 {
                let stored = data[rng.below(data.len() as u64) as usize];
                let flips = 5 + rng.below(27);
                rng.flip(stored, flips)
            } else {
                rng.hash()
            }
        })
        .collect()
}

fn save_hashes(name: &str, hashes: &[Hash256]) {
    let bytes: Vec<u8> = hashes.iter().flat_map(|h| h.to_be_bytes()).collect();
    common::save_for_peers(name, &bytes);
}

/// The `bk-tree` crate as a peer (it keeps one copy of each distinct key: duplicates are lost).
struct PdqMetric;

impl bk_tree::Metric<Hash256> for PdqMetric {
    fn distance(&self, a: &Hash256, b: &Hash256) -> u32 {
        a.distance(b)
    }
    fn threshold_distance(&self, a: &Hash256, b: &Hash256, threshold: u32) -> Option<u32> {
        let d = a.distance(b);
        (d <= threshold).then_some(d)
    }
}

fn percentile(sorted_us: &[f64], p: f64) -> f64 {
    sorted_us[((sorted_us.len() as f64 * p).ceil() as usize).clamp(1, sorted_us.len()) - 1]
}

/// Times every query alone: (p50, p99) in µs.
fn latencies(mut query: impl FnMut(&Hash256) -> usize, qs: &[Hash256]) -> (f64, f64) {
    for q in qs {
        black_box(query(q));
    }
    let mut us: Vec<f64> = qs
        .iter()
        .map(|q| {
            let t = Instant::now();
            black_box(query(q));
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    us.sort_by(f64::total_cmp);
    (percentile(&us, 0.5), percentile(&us, 0.99))
}

struct Row {
    case: String,
    index: String,
    build_s: f64,
    bytes_per_entry: f64,
    p50_us: f64,
    p99_us: f64,
    extra: String,
}

fn bench(c: &mut Criterion, rows: &mut Vec<Row>) {
    let mut sizes = vec![100_000usize, 1_000_000];
    if std::env::var_os("HASHMATCH_BENCH_10M").is_some() {
        sizes.push(10_000_000);
    }
    for n in sizes {
        for (data_name, make) in [
            ("uniform", uniform as fn(usize, &mut Rng) -> Vec<Hash256>),
            ("clustered", clustered),
        ] {
            let mut rng = Rng(n as u64 ^ 0x5eed);
            let data = make(n, &mut rng);
            let qs = queries(&data, &mut rng);
            let case = format!("{data_name}-{n}");
            save_hashes(&format!("index-{case}.bin"), &data);
            save_hashes(&format!("index-{case}-queries.bin"), &qs);

            let mut group = c.benchmark_group(format!("radius31/{case}"));
            group.sample_size(10);
            for kind in [IndexKind::Linear, IndexKind::MultiIndex, IndexKind::BkTree] {
                if kind == IndexKind::BkTree && n > 1_000_000 {
                    continue; // tens of ms per query: the point is made at 1M
                }
                let t = Instant::now();
                let idx = index::build(kind, data.iter().enumerate().map(|(i, &h)| (i as u32, h)));
                let build_s = t.elapsed().as_secs_f64();
                let mut next = 0;
                group.bench_function(kind.name(), |b| {
                    b.iter(|| {
                        next = (next + 1) % qs.len();
                        idx.radius(black_box(&qs[next]), RADIUS)
                    })
                });
                let (p50_us, p99_us) = latencies(|q| idx.radius(q, RADIUS).len(), &qs);
                // The 8 orientations of one upload: one multi-query pass against 8 queries.
                let dihedral: Vec<[Hash256; 8]> =
                    qs.chunks_exact(8).map(|c| c.try_into().unwrap()).collect();
                let t = Instant::now();
                for d in &dihedral {
                    black_box(idx.radius_multi(d, RADIUS));
                }
                let multi_us = t.elapsed().as_secs_f64() * 1e6 / dihedral.len() as f64;
                let t = Instant::now();
                for d in &dihedral {
                    for q in d {
                        black_box(idx.radius(q, RADIUS));
                    }
                }
                let eight_us = t.elapsed().as_secs_f64() * 1e6 / dihedral.len() as f64;
                let t = Instant::now();
                black_box(idx.radius_many(&qs, RADIUS));
                let batch_qps = qs.len() as f64 / t.elapsed().as_secs_f64();
                rows.push(Row {
                    case: case.clone(),
                    index: kind.name().to_string(),
                    build_s,
                    bytes_per_entry: idx.heap_bytes() as f64 / n as f64,
                    p50_us,
                    p99_us,
                    extra: format!("dihedral {multi_us:.0} µs vs 8 queries {eight_us:.0} µs; batch {batch_qps:.0} q/s on all cores"),
                });
            }
            matcher_rows(&mut group, &case, &data, &qs, rows);
            if n <= 100_000 {
                let t = Instant::now();
                let mut tree = bk_tree::BKTree::new(PdqMetric);
                tree.extend(data.iter().copied());
                let build_s = t.elapsed().as_secs_f64();
                let mut next = 0;
                group.bench_function("bk-tree-crate", |b| {
                    b.iter(|| {
                        next = (next + 1) % qs.len();
                        tree.find(black_box(&qs[next]), RADIUS).count()
                    })
                });
                let (p50_us, p99_us) = latencies(|q| tree.find(q, RADIUS).count(), &qs);
                rows.push(Row {
                    case: case.clone(),
                    index: "bk-tree crate 0.5".to_string(),
                    build_s,
                    bytes_per_entry: f64::NAN,
                    p50_us,
                    p99_us,
                    extra: "drops duplicate keys".to_string(),
                });
            }
            group.finish();
        }
    }
}

/// The whole matcher, provenance included (one list, a u64 entry id per entry, no labels):
/// bulk load (inserts plus the automatic compaction), queries, the dihedral query, a snapshot
/// save and a memory-mapped open.
fn matcher_rows(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    case: &str,
    data: &[Hash256],
    qs: &[Hash256],
    rows: &mut Vec<Row>,
) {
    let n = data.len();
    let t = Instant::now();
    let matcher = Matcher::new();
    matcher
        .add_list("industry", ListSettings::default())
        .expect("new list");
    matcher
        .insert_many(
            "industry",
            data.iter().enumerate().map(|(i, &hash)| Entry {
                hash,
                id: 1_000_000_000 + 7 * i as u64,
                label: None,
            }),
        )
        .expect("distinct ids");
    matcher.compact();
    let build_s = t.elapsed().as_secs_f64();
    let mut next = 0;
    group.bench_function("matcher", |b| {
        b.iter(|| {
            next = (next + 1) % qs.len();
            matcher.query_radius(black_box(&qs[next]), RADIUS)
        })
    });
    let (p50_us, p99_us) = latencies(|q| matcher.query_radius(q, RADIUS).len(), qs);
    let options = QueryOptions::default();
    let dihedral: Vec<DihedralHashes> = qs
        .chunks_exact(8)
        .map(|c| DihedralHashes {
            hashes: c.try_into().unwrap(),
            quality: 100,
        })
        .collect();
    let t = Instant::now();
    for d in &dihedral {
        black_box(matcher.query_dihedral(d, &options).unwrap());
    }
    let multi_us = t.elapsed().as_secs_f64() * 1e6 / dihedral.len() as f64;
    let t = Instant::now();
    for d in &dihedral {
        for q in &d.hashes {
            black_box(matcher.query_radius(q, RADIUS));
        }
    }
    let eight_us = t.elapsed().as_secs_f64() * 1e6 / dihedral.len() as f64;
    let uploads: Vec<_> = qs
        .iter()
        .map(|&hash| hashmatch::pdq::PdqHash { hash, quality: 100 })
        .collect();
    let t = Instant::now();
    black_box(matcher.query_many(&uploads, &options).unwrap());
    let batch_qps = qs.len() as f64 / t.elapsed().as_secs_f64();
    rows.push(Row {
        case: case.to_string(),
        index: format!("matcher ({})", matcher.index_kind()),
        build_s,
        bytes_per_entry: matcher.memory_bytes() as f64 / n as f64,
        p50_us,
        p99_us,
        extra: format!(
            "with provenance; dihedral {multi_us:.0} µs vs 8 queries {eight_us:.0} µs; batch {batch_qps:.0} q/s on all cores"
        ),
    });

    let path = common::peer_data_dir().join(format!("matcher-{case}.hmsnap"));
    let t = Instant::now();
    matcher.save(&path).expect("save snapshot");
    let save_s = t.elapsed().as_secs_f64();
    drop(matcher);
    let t = Instant::now();
    let opened = Matcher::open(&path).expect("open snapshot");
    let open_s = t.elapsed().as_secs_f64();
    let (p50_us, p99_us) = latencies(|q| opened.query_radius(q, RADIUS).len(), qs);
    let file_mb = std::fs::metadata(&path).map_or(0.0, |m| m.len() as f64 / 1e6);
    rows.push(Row {
        case: case.to_string(),
        index: "matcher, opened".to_string(),
        build_s: open_s,
        bytes_per_entry: opened.memory_bytes() as f64 / n as f64,
        p50_us,
        p99_us,
        extra: format!(
            "build column = open time (memory map + checks); save {save_s:.2} s; file {file_mb:.0} MB"
        ),
    });
    drop(opened);
    let _ = std::fs::remove_file(&path);
}

/// Where a BK-tree could win: short hashes and small radii, where its triangle-inequality
/// pruning skips most of the tree. 64-bit hashes are stored in the low 64 bits of a
/// `Hash256` (the other bits zero, so distances are the 64-bit ones); the linear scan still
/// reads 32 bytes per entry there, which favours the tree. One million uniform entries.
fn bktree_rows(rows: &mut Vec<Row>) {
    let n = 1_000_000;
    let mut rng = Rng(0xb17e);
    let short = |h: Hash256| Hash256::from_words([h.words()[0], 0, 0, 0]);
    for (bits, radius) in [(64u32, 4u32), (64, 10), (256, 4), (256, 31)] {
        let mut data = uniform(n, &mut rng);
        if bits == 64 {
            data.iter_mut().for_each(|h| *h = short(*h));
        }
        let qs: Vec<Hash256> = (0..QUERIES)
            .map(|i| {
                if i % 2 == 0 {
                    let stored = data[rng.below(n as u64) as usize];
                    let flips = 1 + rng.below(u64::from(radius));
                    let flipped = rng.flip(stored, flips);
                    if bits == 64 {
                        short(flipped)
                    } else {
                        flipped
                    }
                } else if bits == 64 {
                    short(rng.hash())
                } else {
                    rng.hash()
                }
            })
            .collect();
        for kind in [IndexKind::BkTree, IndexKind::Linear, IndexKind::MultiIndex] {
            if kind == IndexKind::MultiIndex && bits == 64 {
                continue; // 12 of its 16 chunks would be constant: not meant for short hashes
            }
            let t = Instant::now();
            let idx = index::build(kind, data.iter().enumerate().map(|(i, &h)| (i as u32, h)));
            let build_s = t.elapsed().as_secs_f64();
            let (p50_us, p99_us) = latencies(|q| idx.radius(q, radius).len(), &qs);
            rows.push(Row {
                case: format!("{bits}-bit r={radius} 1M"),
                index: kind.name().to_string(),
                build_s,
                bytes_per_entry: idx.heap_bytes() as f64 / n as f64,
                p50_us,
                p99_us,
                extra: String::new(),
            });
        }
    }
}

/// One thread's sequential read bandwidth in GB/s: the best of 5 passes summing 512 MB (the
/// yardstick for the linear scan, which streams 32 bytes per entry).
fn read_bandwidth_gbs() -> f64 {
    let words = vec![1u64; 64 << 20];
    (0..5)
        .map(|_| {
            let t = Instant::now();
            let sum = black_box(&words)
                .iter()
                .fold(0u64, |a, &w| a.wrapping_add(w));
            black_box(sum);
            (words.len() * 8) as f64 / t.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max)
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let mut rows = Vec::new();
    bench(&mut c, &mut rows);
    bktree_rows(&mut rows);
    c.final_summary();
    let gbs = read_bandwidth_gbs();
    println!("\nsequential read bandwidth, one thread: {gbs:.1} GB/s");
    for r in rows.iter().filter(|r| r.index == "linear") {
        let n: f64 = r
            .case
            .rsplit('-')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0);
        let scan_gbs = n * 32.0 / (r.p50_us * 1e-6) / 1e9;
        println!(
            "linear scan {}: {scan_gbs:.1} GB/s at p50 = {:.0} % of it",
            r.case,
            100.0 * scan_gbs / gbs
        );
    }
    println!(
        "\nexact radius {RADIUS}, one thread unless said; {QUERIES} queries, half near-duplicates"
    );
    println!(
        "{:<18} {:<18} {:>9} {:>9} {:>11} {:>11}  notes",
        "data", "index", "build s", "B/entry", "p50 µs", "p99 µs"
    );
    for r in rows {
        println!(
            "{:<18} {:<18} {:>9.2} {:>9.1} {:>11.1} {:>11.1}  {}",
            r.case, r.index, r.build_s, r.bytes_per_entry, r.p50_us, r.p99_us, r.extra
        );
    }
}
