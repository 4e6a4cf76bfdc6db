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

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput};
use hashmatch::pdq::internals::{self, Level};
use hashmatch::pdq::{self, LumaMode};
use hashmatch::{Hash256, PixelFormat, PixelView};

const SIZES: [(u32, u32); 4] = [(640, 480), (1280, 720), (1920, 1080), (4000, 3000)];

/// A deterministic photo-like RGB image: smooth illumination, a few soft shapes, fine texture
/// and a little sensor noise, so the filters see realistic value ranges.
fn photo(w: u32, h: u32) -> Vec<u8> {
    let mut state = 0x1234_5678_9abc_def0u64 ^ ((w as u64) << 32 | h as u64);
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 17) as f32 - 8.0
    };
    let (fw, fh) = (w as f32, h as f32);
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let (u, v) = (x as f32 / fw, y as f32 / fh);
            let light = 60.0 + 120.0 * (1.0 - (u - 0.3).abs()) * (1.0 - 0.5 * v);
            let (dx, dy) = (u - 0.62, v - 0.45);
            let disc = if dx * dx + dy * dy < 0.04 { 70.0 } else { 0.0 };
            // Texture at a fixed fraction of the image, so every size sees the same picture.
            let texture = 12.0 * ((u * 150.0).sin() * (v * 110.0).cos())
                + 8.0 * ((u * 23.0 + v * 31.0).sin());
            let sky = if v < 0.25 {
                40.0 * (0.25 - v) * 4.0
            } else {
                0.0
            };
            let base = light + disc + texture;
            let px = [
                base + 0.6 * disc + noise(),
                base * 0.9 + sky * 0.5 + noise(),
                base * 0.7 + sky + noise(),
            ];
            out.extend(px.map(|c| c.clamp(0.0, 255.0) as u8));
        }
    }
    out
}

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

/// Mean time in ms of one benchmark from criterion's saved estimates, if present.
fn mean_ms(group: &str, function: &str) -> Option<f64> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let path = dir
        .join("criterion")
        .join(group.replace('/', "_"))
        .join(function)
        .join("new/estimates.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    Some(json["mean"]["point_estimate"].as_f64()? / 1e6)
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
