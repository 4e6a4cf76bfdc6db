//! PDQ from decoded RGB pixels: the fast path (best level and each level this CPU runs), the
//! scalar reference port, and the `pdqhash` crate (its full-size path, `generate_pdq_full_size`,
//! which hashes without the pre-resize its `generate_pdq` applies) as a peer, in one run.
//!
//! `cargo bench --bench pdq` (add `-- --quick` for a smoke run). At the end a table of
//! mean times and ratios is printed from criterion's estimates.
//!
//! On these synthetic images the `pdqhash` crate gives the same hash as ours at every size
//! (checked and printed at start-up; it computes the reference's float32 luma as well). Its
//! quality is on a 0.0..=1.0 scale and is computed with float gradient sums, so it is printed
//! but not compared.

mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use hashmatch::pdq::internals::{self, Level};
use hashmatch::pdq::{self, LumaMode};
use hashmatch::{Hash256, PixelFormat, PixelView};

use common::{mean_ms, photo};

const SIZES: [(u32, u32); 4] = [(640, 480), (1280, 720), (1920, 1080), (4000, 3000)];

/// The crate's hash (same bit layout as ours) and quality (its scale is 0.0..=1.0).
fn pdqhash_crate(img: &image023::DynamicImage) -> (Hash256, f32) {
    let (bytes, quality) = pdqhash::generate_pdq_full_size(img);
    (Hash256::from_be_bytes(bytes), quality)
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Portable => "fast-portable",
        Level::Avx2 => "fast-avx2",
        Level::Avx512 => "fast-avx512",
    }
}

fn bench(c: &mut Criterion) {
    for (w, h) in SIZES {
        let rgb = photo(w, h);
        common::save_for_peers(&format!("photo-{w}x{h}.rgb"), &rgb);
        let view = PixelView::packed(&rgb, w, h, PixelFormat::Rgb8).unwrap();
        let peer_img = image023::DynamicImage::ImageRgb8(
            image023::RgbImage::from_raw(w, h, rgb.clone()).unwrap(),
        );

        let fast = pdq::hash(&view).unwrap();
        let reference = internals::hash_reference(&view, LumaMode::Reference).unwrap();
        assert_eq!(
            fast, reference,
            "{w}x{h}: fast path differs from the reference port"
        );
        let (peer_hash, peer_quality) = pdqhash_crate(&peer_img);
        eprintln!(
            "{w}x{h}: hash {} quality {}; pdqhash crate {} (distance {}, quality {peer_quality:.2})",
            fast.hash,
            fast.quality,
            if peer_hash == fast.hash {
                "equal"
            } else {
                "DIFFERS"
            },
            peer_hash.distance(&fast.hash),
        );

        let mut group = c.benchmark_group(format!("pdq/{w}x{h}"));
        group.throughput(Throughput::Elements(u64::from(w) * u64::from(h)));
        if w * h > 4_000_000 {
            group.sample_size(10);
        }
        group.bench_function("fast", |b| b.iter(|| pdq::hash(black_box(&view))));
        for level in Level::ALL.into_iter().filter(|l| l.is_available()) {
            group.bench_function(level_name(level), |b| {
                b.iter(|| internals::hash_at(level, black_box(&view), LumaMode::Reference))
            });
        }
        group.bench_function("reference-port", |b| {
            b.iter(|| internals::hash_reference(black_box(&view), LumaMode::Reference))
        });
        group.bench_function("pdqhash-crate", |b| {
            b.iter(|| pdqhash_crate(black_box(&peer_img)))
        });
        group.finish();
    }
}

fn print_table() {
    let mut columns = vec!["fast"];
    columns.extend(
        Level::ALL
            .into_iter()
            .filter(|l| l.is_available())
            .map(level_name),
    );
    columns.extend(["reference-port", "pdqhash-crate"]);
    println!("\nmean ms per image (ratio = reference-port / column)");
    print!("{:>10}", "size");
    for c in &columns {
        print!(" {c:>20}");
    }
    println!();
    for (w, h) in SIZES {
        let group = format!("pdq/{w}x{h}");
        let reference = mean_ms(&group, "reference-port");
        print!("{:>10}", format!("{w}x{h}"));
        for c in &columns {
            let cell = match (mean_ms(&group, c), reference) {
                (Some(t), Some(r)) => format!("{t:.2} ({:.1}x)", r / t),
                (Some(t), None) => format!("{t:.2}"),
                _ => "-".to_string(),
            };
            print!(" {cell:>20}");
        }
        println!();
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    print_table();
}
