//! Video: frames hashed per second (decode, RGB conversion and PDQ) on real H.264 at 360p and
//! 720p, and matching a 60-frame upload against 10,000 indexed videos.
//!
//! ```sh
//! benches/peers/make_videos.sh                      # target/bench-data/video-*.mp4 (needs ffmpeg)
//! cargo bench --bench video
//! .venv/bin/python benches/peers/pip_vpdq.py        # Meta's vPDQ (pip vpdq) on the same files
//! .venv/bin/python benches/peers/faiss_vpdq.py      # pytx's FAISS video index on the same hashes
//! ```
//!
//! Hashing inputs: `target/bench-data/video-360p.mp4` (640x360, x264 with B-frames, made from
//! a vPDQ sample video by `benches/peers/make_videos.sh`) and the sample
//! `../shared/vectors/vpdq/sample-videos/pattern-hd-no-bar.mp4` (1280x720); each is skipped with
//! a message when missing. Every frame is hashed (`seconds_per_hash = 0`, as the reference's
//! sample files are made), on one thread; the throughput is frames per second.
//!
//! Matching: 10,000 videos of 60 distinct frame hashes (600,000 frames) in a [`VideoIndex`];
//! a query is 60 frames of one known video, each moved by 8 random bits (a re-encoded copy), or
//! 60 unrelated frames. The hashes go to `target/bench-data/video-index.bin` for the FAISS peer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hashmatch::video::{self, VideoHasherConfig, VideoIndex, VideoLimits, VideoMatchOptions};
use hashmatch::video::{VideoHash, VpdqFeature};
use hashmatch::Hash256;

mod common;

fn inputs() -> Vec<(&'static str, PathBuf)> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/vpdq/sample-videos");
    let candidates = [
        ("360p", common::peer_data_dir().join("video-360p.mp4")),
        ("720p", shared.join("pattern-hd-no-bar.mp4")),
    ];
    candidates
        .into_iter()
        .filter(|(name, path)| {
            let exists = path.is_file();
            if !exists {
                eprintln!(
                    "video bench {name}: {} is missing (run benches/peers/make_videos.sh)",
                    path.display()
                );
            }
            exists
        })
        .collect()
}

fn hash(path: &Path, seconds_per_hash: f64) -> VideoHash {
    let config = VideoHasherConfig {
        seconds_per_hash,
        ..VideoHasherConfig::default()
    };
    video::hash_file(path, &config, &VideoLimits::default()).expect("bench video decodes")
}

fn hashing(c: &mut Criterion) {
    // One core: the decoder and the hasher run on the calling thread.
    let mut group = c.benchmark_group("video_hash");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for (name, path) in inputs() {
        let frames = hash(&path, 0.0).frame_count;
        group.throughput(Throughput::Elements(frames));
        group.bench_with_input(BenchmarkId::new("every_frame", name), &path, |b, path| {
            b.iter(|| hash(path, 0.0))
        });
        // One hash per second (HMA's default): the decoder still decodes every frame.
        group.bench_with_input(
            BenchmarkId::new("one_per_second", name),
            &path,
            |b, path| b.iter(|| hash(path, 1.0)),
        );
    }
    group.finish();
}

const VIDEOS: usize = 10_000;
const FRAMES: usize = 60;

fn frames_of(hashes: &[Hash256]) -> Vec<VpdqFeature> {
    hashes
        .iter()
        .enumerate()
        .map(|(n, &hash)| VpdqFeature {
            frame_number: n as u64 * 30,
            quality: 100,
            hash,
            timestamp: n as f64,
        })
        .collect()
}

fn matching(c: &mut Criterion) {
    let mut rng = common::Rng(0x5eed_0f1d);
    let known: Vec<Vec<Hash256>> = (0..VIDEOS)
        .map(|_| (0..FRAMES).map(|_| rng.hash()).collect())
        .collect();
    let mut index = VideoIndex::new(VideoMatchOptions::default());
    index.add_list("known").unwrap();
    for (id, hashes) in known.iter().enumerate() {
        index
            .insert("known", id as u64, None, &frames_of(hashes))
            .unwrap();
    }
    // For the FAISS peer: every frame hash, 32 big-endian bytes each, video after video.
    let bytes: Vec<u8> = known
        .iter()
        .flatten()
        .flat_map(|h| h.to_be_bytes())
        .collect();
    common::save_for_peers("video-index.bin", &bytes);

    let copies: Vec<Vec<VpdqFeature>> = (0..100)
        .map(|i| {
            let source = &known[(i * 97) % VIDEOS];
            let moved: Vec<Hash256> = source.iter().map(|&h| rng.flip(h, 8)).collect();
            frames_of(&moved)
        })
        .collect();
    let unrelated: Vec<Vec<VpdqFeature>> = (0..100)
        .map(|_| frames_of(&(0..FRAMES).map(|_| rng.hash()).collect::<Vec<_>>()))
        .collect();
    for copy in &copies {
        assert_eq!(index.query(copy).unwrap().len(), 1);
    }
    for other in &unrelated {
        assert!(index.query(other).unwrap().is_empty());
    }
    // For the FAISS peer: the queries, 60 frames each, copies then unrelated.
    let queries: Vec<u8> = copies
        .iter()
        .chain(&unrelated)
        .flatten()
        .flat_map(|f| f.hash.to_be_bytes())
        .collect();
    common::save_for_peers("video-queries.bin", &queries);

    let mut group = c.benchmark_group("video_match_10k_videos");
    println!("index: {index:?}");
    for (name, queries) in [("known_copy", &copies), ("unrelated", &unrelated)] {
        let mut i = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % queries.len();
                index.query(&queries[i]).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, hashing, matching);
criterion_main!(benches);
