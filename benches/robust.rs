//! What each query mode costs per upload, bytes to matches, against plain PDQ in the same run:
//! plain, the DCT shortcut's eight orientations (today's `scan` default), the robust mode's
//! pixel-space orientations alone, its frames alone, and the whole robust mode. Two uploads per
//! size: a photo (no frame: the frame detectors give up early) and the same photo at 70 %
//! inside a screenshot-like window (the embedded detector floods the frame and hashes the
//! picture). The list holds 100,000 random hashes and the photo's own, so the query is real
//! but cheap next to the hashing.
//!
//! `cargo bench --bench robust`

mod common;

use std::hint::black_box;

use common::{mean_ms, photo, Rng};
use criterion::Criterion;
use hashmatch::list::Entry;
use hashmatch::matcher::{ListSettings, Matcher, QueryOptions};
use hashmatch::robust::RobustOptions;
use hashmatch::{Hash256, Hasher};
use image::{imageops, Rgb, RgbImage};

const SIZES: [(u32, u32); 2] = [(720, 480), (1280, 720)];

const MODES: [&str; 5] = ["plain", "dct-dihedral", "orientations", "frames", "robust"];

/// The modes as `hashmatch eval` defines them.
fn options(mode: &str) -> RobustOptions {
    hashmatch::eval::measure::Mode::standard()
        .into_iter()
        .find_map(|(name, m)| match m {
            hashmatch::eval::measure::Mode::Robust(o) if name == mode => Some(o),
            _ => None,
        })
        .unwrap_or_default()
}

fn encode_jpeg(img: &RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode_image(img)
        .expect("encode bench JPEG");
    bytes
}

/// The photo at 70 % in a light-grey window with a dark title bar.
fn screenshot(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let small = imageops::resize(img, w * 7 / 10, h * 7 / 10, imageops::FilterType::Lanczos3);
    let bar = h * 6 / 100;
    let mut shot = RgbImage::from_pixel(w, h, Rgb([235, 235, 235]));
    for (_, y, p) in shot.enumerate_pixels_mut() {
        if y < bar {
            *p = Rgb([40, 40, 40]);
        }
    }
    let (x0, y0) = (
        (w - small.width()) / 2,
        bar + (h - bar - small.height()) / 2,
    );
    imageops::replace(&mut shot, &small, x0 as i64, y0 as i64);
    shot
}

fn bench(c: &mut Criterion) {
    let hasher = Hasher::default();
    let query = QueryOptions::default();
    for (w, h) in SIZES {
        let photo = RgbImage::from_raw(w, h, photo(w, h)).expect("photo");
        let uploads = [
            ("photo", encode_jpeg(&photo)),
            ("screenshot", encode_jpeg(&screenshot(&photo))),
        ];
        let matcher = Matcher::new();
        matcher
            .add_list("known", ListSettings::robust())
            .expect("list");
        let mut rng = Rng(7);
        let mut entries: Vec<Entry> = (0..100_000u64)
            .map(|id| Entry {
                hash: Hash256::from_words([rng.next(), rng.next(), rng.next(), rng.next()]),
                id,
                label: None,
            })
            .collect();
        let known = hasher.hash_bytes(&encode_jpeg(&photo)).expect("hash").hash;
        entries.push(Entry {
            hash: known,
            id: 100_000,
            label: None,
        });
        matcher.insert_many("known", entries).expect("insert");
        for (name, bytes) in &uploads {
            let mut group = c.benchmark_group(format!("robust/{w}x{h}/{name}"));
            for mode in MODES {
                group.bench_function(mode, |b| {
                    b.iter(|| match mode {
                        "plain" => {
                            let hash = hasher.hash_bytes(black_box(bytes)).expect("hash");
                            matcher.query(&hash, &query).expect("query").len()
                        }
                        "dct-dihedral" => {
                            let d = hasher.dihedral_bytes(black_box(bytes)).expect("hash");
                            matcher.query_dihedral(&d, &query).expect("query").len()
                        }
                        _ => {
                            let r = hasher
                                .robust_bytes(black_box(bytes), &options(mode))
                                .expect("hash");
                            matcher.query_robust(&r, &query).expect("query").len()
                        }
                    })
                });
            }
            group.finish();
        }
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    println!("\nmean ms per upload, JPEG bytes to matches (ratio to plain)");
    print!("{:>22}", "upload");
    for mode in MODES {
        print!(" {mode:>18}");
    }
    println!();
    for (w, h) in SIZES {
        for name in ["photo", "screenshot"] {
            let group = format!("robust/{w}x{h}/{name}");
            let plain = mean_ms(&group, "plain");
            print!("{:>22}", format!("{w}x{h} {name}"));
            for mode in MODES {
                let cell = match (mean_ms(&group, mode), plain) {
                    (Some(t), Some(p)) => format!("{t:.2} ({:.1}x)", t / p),
                    _ => "-".into(),
                };
                print!(" {cell:>18}");
            }
            println!();
        }
    }
}
