//! The robust query mode end to end: copies made in the test (turned, mirrored, letterboxed,
//! shown in a window) are found through the robust mode and not (or only further) through
//! the plain one, each match names the orientation and region that hit, and the plain hash is
//! unchanged.

use hashmatch::list::Entry;
use hashmatch::matcher::{ListSettings, Match, Matcher, QueryOptions};
use hashmatch::pdq::{Dihedral, MATCH_THRESHOLD};
use hashmatch::robust::{Region, RobustOptions};
use hashmatch::Hasher;
use image::{imageops, Rgb, RgbImage};

const ORIGINAL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/uploads/landscape-2.jpg"
);
const UNRELATED: [&str; 3] = [
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/uploads/landscape-1.jpg"
    ),
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/uploads/landscape-3.jpg"
    ),
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/uploads/landscape-4.jpg"
    ),
];

fn original() -> RgbImage {
    image::open(ORIGINAL).unwrap().to_rgb8()
}

fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(img)
        .unwrap();
    out
}

/// A list holding the original and three unrelated images, hashed plainly.
fn list() -> Matcher {
    let hasher = Hasher::default();
    let matcher = Matcher::new();
    matcher.add_list("known", ListSettings::robust()).unwrap();
    for (id, path) in std::iter::once(ORIGINAL).chain(UNRELATED).enumerate() {
        let hash = hasher.hash_file(path).unwrap().hash;
        matcher
            .insert(
                "known",
                Entry {
                    hash,
                    id: id as u64,
                    label: None,
                },
            )
            .unwrap();
    }
    matcher
}

fn plain(matcher: &Matcher, bytes: &[u8]) -> Vec<Match> {
    let h = Hasher::default().hash_bytes(bytes).unwrap();
    matcher.query(&h, &QueryOptions::default()).unwrap()
}

fn robust(matcher: &Matcher, bytes: &[u8]) -> Vec<Match> {
    let h = Hasher::default()
        .robust_bytes(bytes, &RobustOptions::default())
        .unwrap();
    matcher.query_robust(&h, &QueryOptions::default()).unwrap()
}

/// The one match of the original (entry 0), and that nothing unrelated matched.
fn only_the_original(found: &[Match]) -> &Match {
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].entry_id, 0);
    &found[0]
}

fn distance_to_original(bytes: &[u8]) -> u32 {
    let known = Hasher::default().hash_file(ORIGINAL).unwrap().hash;
    Hasher::default()
        .hash_bytes(bytes)
        .unwrap()
        .hash
        .distance(&known)
}

#[test]
fn turned_and_mirrored_copies_match_only_through_the_robust_mode() {
    let matcher = list();
    let img = original();
    // (copy, the orientation that turns it back)
    let copies = [
        (imageops::rotate90(&img), Dihedral::Rotate90),
        (imageops::rotate180(&img), Dihedral::Rotate180),
        (imageops::rotate270(&img), Dihedral::Rotate270),
        (imageops::flip_horizontal(&img), Dihedral::FlipY),
        (imageops::flip_vertical(&img), Dihedral::FlipX),
    ];
    for (copy, back) in copies {
        let bytes = jpeg(&copy);
        assert!(
            plain(&matcher, &bytes).iter().all(|m| m.entry_id != 0),
            "{back}: plain found it"
        );
        assert!(distance_to_original(&bytes) > MATCH_THRESHOLD);
        let m = only_the_original(&robust(&matcher, &bytes)).clone();
        assert_eq!((m.orientation, m.region), (back, Region::Whole));
        assert!(m.distance <= 10, "{back}: {} bits", m.distance);
    }
}

#[test]
fn a_letterboxed_copy_matches_its_picture_inside_the_bars() {
    let matcher = list();
    let img = original();
    let (w, h) = img.dimensions();
    let bar = h / 5;
    let mut boxed = RgbImage::from_pixel(w, h + 2 * bar, Rgb([0, 0, 0]));
    imageops::replace(&mut boxed, &img, 0, bar as i64);
    let bytes = jpeg(&boxed);
    let m = only_the_original(&robust(&matcher, &bytes)).clone();
    assert_eq!(
        (m.orientation, m.region),
        (Dihedral::Original, Region::Bars)
    );
    assert!(m.distance <= 10, "{} bits", m.distance);
    assert!(distance_to_original(&bytes) > m.distance + 20);

    // Turned as well: the bars are now at the sides.
    let bytes = jpeg(&imageops::rotate270(&boxed));
    let m = only_the_original(&robust(&matcher, &bytes)).clone();
    assert_eq!(
        (m.orientation, m.region),
        (Dihedral::Rotate270, Region::Bars)
    );
}

#[test]
fn a_screenshot_of_the_picture_matches_its_embedded_region() {
    let matcher = list();
    let img = original();
    let (w, h) = img.dimensions();
    let small = imageops::resize(&img, w * 7 / 10, h * 7 / 10, imageops::FilterType::Lanczos3);
    // A light-grey window with a dark title bar holding light "text" and three dots.
    let mut shot = RgbImage::from_pixel(w, h, Rgb([235, 235, 235]));
    for (x, y, p) in shot.enumerate_pixels_mut() {
        if y < h / 14 {
            *p = Rgb([40, 40, 40]);
            if (h / 40..h / 20).contains(&y) && (20..140).contains(&x) && x % 5 < 3 {
                *p = Rgb([220, 220, 220]);
            }
        }
    }
    for (i, colour) in [[230, 80, 70], [240, 190, 60], [90, 200, 90]]
        .into_iter()
        .enumerate()
    {
        let cx = w - 20 - 14 * i as u32;
        imageops::replace(
            &mut shot,
            &RgbImage::from_pixel(8, 8, Rgb(colour)),
            cx as i64,
            4,
        );
    }
    let (x0, y0) = (
        (w - small.width()) / 2,
        h / 14 + (h - h / 14 - small.height()) / 2,
    );
    imageops::replace(&mut shot, &small, x0 as i64, y0 as i64);
    let mut png = Vec::new();
    shot.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();

    assert!(plain(&matcher, &png).iter().all(|m| m.entry_id != 0));
    let m = only_the_original(&robust(&matcher, &png)).clone();
    assert_eq!(
        (m.orientation, m.region),
        (Dihedral::Original, Region::Embedded)
    );
    assert!(m.distance <= 16, "{} bits", m.distance);
}

#[test]
fn the_plain_hash_of_the_robust_mode_is_the_plain_hash() {
    let hasher = Hasher::default();
    for path in std::iter::once(ORIGINAL).chain(UNRELATED) {
        let bytes = std::fs::read(path).unwrap();
        let robust = hasher
            .robust_bytes(&bytes, &RobustOptions::default())
            .unwrap();
        let plain = robust.plain().unwrap();
        assert_eq!(plain.pdq, hasher.hash_bytes(&bytes).unwrap());
        assert!(robust.hashes[1..].iter().all(|h| !h.is_plain()));
        // PLAIN options make nothing else.
        let only = hasher.robust_bytes(&bytes, &RobustOptions::PLAIN).unwrap();
        assert_eq!(only.hashes.len(), 1);
    }
}

#[test]
fn the_extra_threshold_holds_extra_hashes_only() {
    let matcher = list();
    let img = original();
    let turned = imageops::resize(
        &imageops::rotate90(&img),
        250,
        370,
        imageops::FilterType::Triangle,
    );
    let bytes = jpeg(&turned);
    let found = robust(&matcher, &bytes);
    let d = only_the_original(&found).distance;
    assert!(
        d > 0 && found[0].orientation == Dihedral::Rotate90,
        "{found:?}"
    );
    let with_extra = |extra_threshold| {
        let options = RobustOptions {
            extra_threshold,
            ..Default::default()
        };
        let h = Hasher::default().robust_bytes(&bytes, &options).unwrap();
        matcher.query_robust(&h, &QueryOptions::default()).unwrap()
    };
    assert_eq!(with_extra(d).len(), 1);
    assert!(with_extra(d - 1).is_empty());
    // The plain hash is not held to it: the original itself matches with extras at 0.
    let own = std::fs::read(ORIGINAL).unwrap();
    let strict = RobustOptions {
        extra_threshold: 0,
        ..Default::default()
    };
    let h = Hasher::default().robust_bytes(&own, &strict).unwrap();
    let found = matcher.query_robust(&h, &QueryOptions::default()).unwrap();
    assert_eq!(
        (found[0].entry_id, found[0].distance, found[0].region),
        (0, 0, Region::Whole)
    );
}
