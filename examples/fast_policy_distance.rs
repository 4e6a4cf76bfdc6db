//! Measures what the `Fast` resize policy costs in accuracy: the PDQ distance between `Fast` and
//! `Native` hashes of the same file, and whether any match decision at distance 31 changes,
//! over a folder of images (by default `../shared/corpus/dev/originals`).
//!
//! ```text
//! cargo run --release --features turbojpeg --example fast_policy_distance [FOLDER...]
//! ```

use std::path::PathBuf;

use hashmatch::{Hash256, Hasher, HasherConfig, ResizePolicy};

fn main() {
    let mut folders: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if folders.is_empty() {
        folders.push(PathBuf::from("../shared/corpus/dev/originals"));
    }
    let mut files: Vec<PathBuf> = folders
        .iter()
        .flat_map(|f| std::fs::read_dir(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let hasher = |resize| {
        Hasher::new(HasherConfig {
            resize,
            quality_floor: 0,
            ..Default::default()
        })
    };
    let (native, fast) = (hasher(ResizePolicy::Native), hasher(ResizePolicy::Fast));

    let mut pairs: Vec<(Hash256, Hash256, u8)> = Vec::new();
    let (mut native_time, mut fast_time) = (0f64, 0f64);
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let t = std::time::Instant::now();
        let Ok(n) = native.hash_bytes(&bytes) else {
            continue;
        };
        native_time += t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let f = fast.hash_bytes(&bytes).unwrap();
        fast_time += t.elapsed().as_secs_f64();
        pairs.push((n.hash, f.hash, n.quality));
    }
    let usable: Vec<_> = pairs.iter().filter(|p| p.2 >= 50).collect();
    let mut distances: Vec<u32> = usable.iter().map(|(n, f, _)| n.distance(f)).collect();
    distances.sort_unstable();
    let n = distances.len();
    let mean = distances.iter().sum::<u32>() as f64 / n as f64;
    let p99 = distances[((n as f64 * 0.99).ceil() as usize).clamp(1, n) - 1];
    let over = distances.iter().filter(|&&d| d > 31).count();

    // Every (fast upload, native list entry) pair: does the decision at 31 differ from
    // (native upload, native list entry)?
    let mut changed = 0usize;
    let mut total = 0usize;
    for (i, (ni, fi, _)) in usable.iter().enumerate() {
        for (j, (nj, _, _)) in usable.iter().enumerate() {
            if i != j {
                total += 1;
                if (ni.distance(nj) <= 31) != (fi.distance(nj) <= 31) {
                    changed += 1;
                }
            }
        }
    }
    println!("images: {} (quality >= 50: {n})", files.len());
    println!(
        "Fast vs Native distance: mean {mean:.2} bits, p99 {p99}, max {}, > 31: {over}",
        distances[n - 1]
    );
    println!("match decisions at 31 changed among {total} unrelated pairs: {changed}");
    println!(
        "bytes -> hash, one thread: Native {:.2} ms/image, Fast {:.2} ms/image",
        native_time * 1e3 / pairs.len() as f64,
        fast_time * 1e3 / pairs.len() as f64
    );
}
