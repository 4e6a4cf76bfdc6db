//! Generates the bundled demo data: `examples/uploads/`, synthetic landscapes drawn from a seed
//! (no third-party images) plus edited copies of two of them, the kind of re-uploads a platform
//! must still recognise; and `examples/demo-list.csv`, a hash list of "known" images: the PDQ
//! hashes of those two originals (as a hotline would share them: hashes only).
//!
//! ```text
//! cargo run --example make_demo_uploads
//! ```
//!
//! The output is committed; rerunning gives the same pixels.

use std::path::Path;

use image::{imageops, Rgb, RgbImage};

/// A small deterministic generator (SplitMix64), so the images need no `rand` dependency.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A landscape: sky gradient, a sun, layered ridges, trees, and grain.
fn landscape(seed: u64, w: u32, h: u32) -> RgbImage {
    let mut rng = SplitMix(seed);
    let sky_top = [
        rng.unit() * 80.0,
        rng.unit() * 120.0 + 60.0,
        rng.unit() * 80.0 + 170.0,
    ];
    let sky_bottom = [
        rng.unit() * 90.0 + 160.0,
        rng.unit() * 90.0 + 140.0,
        rng.unit() * 100.0 + 120.0,
    ];
    let sun = (
        rng.unit() * w as f32,
        rng.unit() * h as f32 * 0.4,
        15.0 + rng.unit() * 30.0,
    );
    let ridges: Vec<(f32, f32, f32, [f32; 3])> = (0..4)
        .map(|i| {
            let base = h as f32 * (0.45 + 0.12 * i as f32);
            let colour = [
                30.0 + rng.unit() * 70.0,
                50.0 + rng.unit() * 90.0 - 10.0 * i as f32,
                30.0 + rng.unit() * 60.0,
            ];
            (
                base,
                0.005 + rng.unit() * 0.03,
                rng.unit() * std::f32::consts::TAU,
                colour,
            )
        })
        .collect();
    let trees: Vec<(f32, f32, f32)> = (0..12)
        .map(|_| {
            (
                rng.unit() * w as f32,
                h as f32 * (0.6 + rng.unit() * 0.35),
                8.0 + rng.unit() * 22.0,
            )
        })
        .collect();
    let mut img = RgbImage::new(w, h);
    for (x, y, px) in img.enumerate_pixels_mut() {
        let (xf, yf) = (x as f32, y as f32);
        let t = yf / h as f32;
        let mut c = [0f32; 3];
        for k in 0..3 {
            c[k] = sky_top[k] * (1.0 - t) + sky_bottom[k] * t;
        }
        if (xf - sun.0).hypot(yf - sun.1) < sun.2 {
            c = [255.0, 230.0, 160.0];
        }
        for (i, &(base, freq, phase, colour)) in ridges.iter().enumerate() {
            let ridge = base
                + (xf * freq + phase).sin() * 25.0
                + (xf * freq * 3.7 + phase * 2.0).sin() * 9.0;
            if yf > ridge {
                let shade = 1.0 - 0.15 * ((yf - ridge) / h as f32);
                c = colour.map(|v| v * shade + 4.0 * i as f32);
            }
        }
        for &(tx, ty, size) in &trees {
            let dy = ty - yf;
            if dy > 0.0 && dy < size * 2.0 && (xf - tx).abs() < (size * 2.0 - dy) * 0.35 {
                c = [20.0, 70.0 + size, 30.0];
            }
        }
        let grain = (rng.unit() - 0.5) * 12.0;
        *px = Rgb(c.map(|v| (v + grain).clamp(0.0, 255.0) as u8));
    }
    img
}

fn save_jpeg(img: &RgbImage, path: &Path, quality: u8) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder =
        image::codecs::jpeg::JpegEncoder::new_with_quality(std::io::BufWriter::new(file), quality);
    encoder.encode_image(img).unwrap();
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/uploads");
    std::fs::create_dir_all(&dir).unwrap();
    let originals: Vec<RgbImage> = (1..=6).map(|seed| landscape(seed, 480, 320)).collect();
    for (i, img) in originals.iter().enumerate() {
        save_jpeg(img, &dir.join(format!("landscape-{}.jpg", i + 1)), 90);
    }
    // Re-uploads of landscape 2 and 5: what a platform must still recognise.
    let edited = &originals[1];
    save_jpeg(
        &imageops::resize(edited, 240, 160, imageops::FilterType::Lanczos3),
        &dir.join("reupload-resized.jpg"),
        80,
    );
    save_jpeg(
        &imageops::flip_horizontal(edited),
        &dir.join("reupload-mirrored.jpg"),
        85,
    );
    save_jpeg(
        &imageops::rotate90(&originals[4]),
        &dir.join("reupload-rotated.jpg"),
        90,
    );
    save_jpeg(&originals[4], &dir.join("reupload-recompressed.jpg"), 35);
    // The known list: hashes of the original pixels of landscapes 2 and 5, never the images.
    let hasher = hashmatch::Hasher::default();
    let known: Vec<hashmatch::list::Entry> = [(1, 1001, "demo case A"), (4, 1002, "demo case B")]
        .into_iter()
        .map(|(i, id, label)| hashmatch::list::Entry {
            hash: hasher
                .hash_image(&image::DynamicImage::ImageRgb8(originals[i].clone()))
                .expect("demo images have quality above the floor")
                .hash,
            id,
            label: Some(label.to_string()),
        })
        .collect();
    let list = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-list.csv");
    hashmatch::list::write_list(&list, &known, hashmatch::list::ListFormat::Csv).unwrap();
    println!(
        "wrote demo uploads to {} and the demo list {}",
        dir.display(),
        list.display()
    );
}
