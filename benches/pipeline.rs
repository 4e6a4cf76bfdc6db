//! Bytes to hash, end to end: JPEG decode plus PDQ under the `Native` and `Fast` policies, at
//! 1280x720 and 4000x3000. The JPEGs are a real phone photo (`exif-rotn-1.jpg` from
//! `../shared/vectors`, resized and re-encoded at quality 90) when `../shared` is present, the
//! synthetic photo otherwise: decode time depends on the content's entropy, so a real photo is
//! the fair test. They are left in `target/bench-data` so that `benches/peers/pip_pdqhash.py`
//! times Pillow + pip `pdqhash` (HMA's pipeline) on the same bytes.
//!
//! `cargo bench --features turbojpeg --bench pipeline` (the HMA-exact libjpeg-turbo decoder;
//! without the feature `image`'s pure-Rust decoder is timed).

mod common;

use std::hint::black_box;

use common::{mean_ms, photo};
use criterion::Criterion;
use hashmatch::{DecodeOptions, Hasher, HasherConfig, ResizePolicy};

const SIZES: [(u32, u32); 2] = [(1280, 720), (4000, 3000)];

const REAL_PHOTO: &str = "../shared/vectors/pdq/reg-test-input/exif-rotn/exif-rotn-1.jpg";

fn jpeg(w: u32, h: u32) -> (Vec<u8>, &'static str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(REAL_PHOTO);
    let (rgb, source) = match image::open(&path) {
        Ok(img) => {
            let resized = image::imageops::resize(
                &img.to_rgb8(),
                w,
                h,
                image::imageops::FilterType::Lanczos3,
            );
            (resized.into_raw(), "real photo")
        }
        Err(_) => (photo(w, h), "synthetic photo"),
    };
    let mut bytes = Vec::new();
    let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90);
    encoder
        .encode(&rgb, w, h, image::ExtendedColorType::Rgb8)
        .expect("encode bench JPEG");
    (bytes, source)
}

fn hasher(resize: ResizePolicy) -> Hasher {
    Hasher::new(HasherConfig {
        resize,
        ..Default::default()
    })
}

fn bench(c: &mut Criterion) {
    let (native, fast) = (hasher(ResizePolicy::Native), hasher(ResizePolicy::Fast));
    for (w, h) in SIZES {
        let (bytes, source) = jpeg(w, h);
        common::save_for_peers(&format!("photo-{w}x{h}.jpg"), &bytes);
        let n = native.hash_bytes(&bytes).expect("native hash");
        let f = fast.hash_bytes(&bytes).expect("fast hash");
        eprintln!(
            "{w}x{h} JPEG of a {source} ({} KB): native {} q{}, fast at distance {}",
            bytes.len() / 1024,
            n.hash,
            n.quality,
            n.hash.distance(&f.hash)
        );
        let mut group = c.benchmark_group(format!("bytes-to-hash/{w}x{h}"));
        if w * h > 4_000_000 {
            group.sample_size(10);
        }
        group.bench_function("decode-only", |b| {
            b.iter(|| hashmatch::decode::decode(black_box(&bytes), &DecodeOptions::default()))
        });
        group.bench_function("native", |b| {
            b.iter(|| native.hash_bytes(black_box(&bytes)))
        });
        group.bench_function("fast", |b| b.iter(|| fast.hash_bytes(black_box(&bytes))));
        group.finish();
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    println!("\nmean ms per JPEG, bytes to hash");
    println!(
        "{:>10} {:>12} {:>12} {:>12}",
        "size", "decode-only", "native", "fast"
    );
    for (w, h) in SIZES {
        let group = format!("bytes-to-hash/{w}x{h}");
        let cell = |f| mean_ms(&group, f).map_or("-".to_string(), |t| format!("{t:.2}"));
        println!(
            "{:>10} {:>12} {:>12} {:>12}",
            format!("{w}x{h}"),
            cell("decode-only"),
            cell("native"),
            cell("fast")
        );
    }
}
