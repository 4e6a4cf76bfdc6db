//! Enrolment hashes end to end: an image the service took down is enrolled with extra hashes
//! (the picture inside its frame, centre crops, on request its orientations); copies cropped,
//! mirrored or framed differently, made in the test, then match the entry through a plain
//! query, while a
//! list holding only the entry's plain hash misses them. The entry keeps one identity: it is
//! reported once, removed and disabled whole, and kept so by a snapshot.

use hashmatch::list::Entry;
use hashmatch::matcher::{ListSettings, Match, Matcher, QueryOptions};
use hashmatch::pdq::{Dihedral, MATCH_THRESHOLD};
use hashmatch::robust::enrol::{EnrolOptions, Variant, DEFAULT_CROPS};
use hashmatch::{Error, Hasher};
use image::{imageops, Rgb, RgbImage};

const TAKEN_DOWN: &str = concat!(
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

fn taken_down() -> RgbImage {
    image::open(TAKEN_DOWN).unwrap().to_rgb8()
}

fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(img)
        .unwrap();
    out
}

/// A centre crop keeping `side` of each side.
fn centre_crop(img: &RgbImage, side: f64) -> RgbImage {
    let (w, h) = img.dimensions();
    let (cw, ch) = (
        (f64::from(w) * side).round() as u32,
        (f64::from(h) * side).round() as u32,
    );
    imageops::crop_imm(img, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
}

/// Two matchers with the taken-down image as entry 7 of list "taken-down" (one holding only
/// its plain hash, one enrolled with extras) and the unrelated images as entries 0-2.
fn matchers(options: &EnrolOptions) -> (Matcher, Matcher) {
    let hasher = Hasher::default();
    let (plain, enrolled) = (Matcher::new(), Matcher::new());
    for m in [&plain, &enrolled] {
        m.add_list("taken-down", ListSettings::default()).unwrap();
        for (id, path) in UNRELATED.iter().enumerate() {
            let hash = hasher.hash_file(path).unwrap().hash;
            let entry = Entry {
                hash,
                id: id as u64,
                label: None,
            };
            m.insert("taken-down", entry).unwrap();
        }
    }
    let enrolment = hasher.enrolment_file(TAKEN_DOWN, options).unwrap();
    assert_eq!(enrolment.hash, hasher.hash_file(TAKEN_DOWN).unwrap());
    let entry = Entry {
        hash: enrolment.hash.hash,
        id: 7,
        label: Some("case 12".into()),
    };
    plain.insert("taken-down", entry.clone()).unwrap();
    enrolled
        .enrol("taken-down", entry, &enrolment.extra_hashes())
        .unwrap();
    (plain, enrolled)
}

fn query(matcher: &Matcher, bytes: &[u8]) -> Vec<Match> {
    let upload = Hasher::default().hash_bytes(bytes).unwrap();
    matcher.query(&upload, &QueryOptions::default()).unwrap()
}

#[test]
fn crops_mirrors_and_reframings_match_the_enrolled_entry_only() {
    let with_orientations = EnrolOptions {
        orientations: true,
        ..EnrolOptions::default()
    };
    let (plain, enrolled) = matchers(&with_orientations);
    let img = taken_down();
    let copies: Vec<(&str, RgbImage)> = vec![
        // Crops between the rungs (each side 94 % and 81 % long), not at them.
        ("crop 94 %", centre_crop(&img, 0.94)),
        ("crop 81 %", centre_crop(&img, 0.81)),
        ("mirrored", imageops::flip_horizontal(&img)),
        ("turned", imageops::rotate90(&img)),
    ];
    for (what, copy) in &copies {
        let bytes = jpeg(copy);
        assert!(
            query(&plain, &bytes).iter().all(|m| m.entry_id != 7),
            "{what}: found without enrolment"
        );
        let found = query(&enrolled, &bytes);
        assert_eq!(found.len(), 1, "{what}: {found:?}");
        let m = &found[0];
        assert_eq!((m.entry_id, m.label.as_deref()), (7, Some("case 12")));
        assert!(m.distance <= MATCH_THRESHOLD);
        assert_ne!(m.variant, Variant::Listed, "{what}");
        assert_eq!(m.orientation, Dihedral::Original);
    }
    let mirrored = query(&enrolled, &jpeg(&copies[2].1));
    assert_eq!(mirrored[0].variant, Variant::Oriented(Dihedral::FlipY));
    // A copy of the taken-down image itself matches its listed hash, once.
    let same = query(&enrolled, &jpeg(&img));
    assert_eq!(same.len(), 1);
    assert_eq!(same[0].variant, Variant::Listed);
    // The unrelated images stay unmatched by the extras.
    for path in UNRELATED {
        let found = query(&enrolled, &std::fs::read(path).unwrap());
        assert!(found.iter().all(|m| m.entry_id != 7), "{path}");
    }
}

#[test]
fn a_framed_takedown_matches_its_picture_without_the_frame() {
    let img = taken_down();
    let mut framed = RgbImage::from_pixel(img.width() + 120, img.height() + 40, Rgb([200, 30, 30]));
    imageops::overlay(&mut framed, &img, 60, 20);
    let hasher = Hasher::default();
    let enrolment = hasher
        .enrolment_bytes(&jpeg(&framed), &EnrolOptions::default())
        .unwrap();
    let m = Matcher::new();
    m.add_list("taken-down", ListSettings::default()).unwrap();
    let entry = Entry {
        hash: enrolment.hash.hash,
        id: 1,
        label: None,
    };
    let picture = jpeg(&img);
    m.insert("taken-down", entry.clone()).unwrap();
    assert!(query(&m, &picture).is_empty(), "found without enrolment");
    m.remove("taken-down", 1).unwrap();
    m.enrol("taken-down", entry, &enrolment.extra_hashes())
        .unwrap();
    let found = query(&m, &picture);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].variant, Variant::Trimmed);
}

#[test]
fn an_entry_is_removed_disabled_and_saved_with_all_its_hashes() {
    let (_, enrolled) = matchers(&EnrolOptions::default());
    let crop = jpeg(&centre_crop(&taken_down(), 0.9));
    assert_eq!(query(&enrolled, &crop)[0].entry_id, 7);
    assert_eq!(enrolled.stats()[0].entries, 4);
    let extras = enrolled.stats()[0].extra_hashes;
    assert!(extras >= DEFAULT_CROPS.len(), "{extras}");

    enrolled.disable("taken-down", 7, "appeal 3").unwrap();
    assert!(query(&enrolled, &crop).is_empty());
    assert_eq!(enrolled.stats()[0].disabled, 1);
    enrolled.enable("taken-down", 7).unwrap();

    let path = std::env::temp_dir().join(format!("enrol-{}.hmsnap", std::process::id()));
    enrolled.save(&path).unwrap();
    let reopened = Matcher::open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(reopened.stats(), enrolled.stats());
    assert_eq!(query(&reopened, &crop), query(&enrolled, &crop));

    // Compaction keeps the extras with their entry.
    assert!(enrolled.compact());
    assert_eq!(query(&enrolled, &crop), query(&reopened, &crop));

    assert!(reopened.remove("taken-down", 7).unwrap());
    assert!(query(&reopened, &crop).is_empty());
    assert_eq!(reopened.stats()[0].entries, 3);
    assert_eq!(reopened.stats()[0].extra_hashes, 0);
    // The id is free again, for a plain entry.
    let hash = Hasher::default().hash_bytes(&crop).unwrap().hash;
    let entry = Entry {
        hash,
        id: 7,
        label: None,
    };
    reopened.insert("taken-down", entry).unwrap();
    assert_eq!(query(&reopened, &crop)[0].variant, Variant::Listed);
}

#[test]
fn enrolment_options_choose_the_extras() {
    let hasher = Hasher::default();
    let all = hasher
        .enrolment_file(TAKEN_DOWN, &EnrolOptions::default())
        .unwrap();
    let crops: Vec<Variant> = all
        .extras
        .iter()
        .map(|e| e.variant)
        .filter(|v| matches!(v, Variant::CentreCrop(_)))
        .collect();
    let want: Vec<Variant> = DEFAULT_CROPS
        .iter()
        .map(|&p| Variant::CentreCrop(p))
        .collect();
    assert_eq!(crops, want);
    let oriented = |options: &EnrolOptions| {
        let enrolment = hasher.enrolment_file(TAKEN_DOWN, options).unwrap();
        enrolment
            .extras
            .iter()
            .filter(|e| matches!(e.variant, Variant::Oriented(_)))
            .count()
    };
    assert_eq!(oriented(&EnrolOptions::default()), 0);
    let turned = EnrolOptions {
        orientations: true,
        ..EnrolOptions::default()
    };
    assert_eq!(oriented(&turned), 7);

    let none = EnrolOptions {
        orientations: false,
        trimmed: false,
        crops: Vec::new(),
    };
    assert!(hasher
        .enrolment_file(TAKEN_DOWN, &none)
        .unwrap()
        .extras
        .is_empty());
    for bad in [0, 100, 250] {
        let options = EnrolOptions {
            crops: vec![bad],
            ..EnrolOptions::default()
        };
        let e = hasher.enrolment_file(TAKEN_DOWN, &options).unwrap_err();
        assert!(matches!(e, Error::InvalidOption { .. }), "{e:?}");
        assert!(e.to_string().contains(&format!("{bad} %")), "{e}");
    }
}

#[test]
fn enrol_refuses_what_is_not_an_extra_and_changes_nothing() {
    let m = Matcher::new();
    m.add_list("l", ListSettings::default()).unwrap();
    let h = hashmatch::Hash256::from_words([1, 2, 3, 4]);
    let entry = |id| Entry {
        hash: h,
        id,
        label: None,
    };
    let refused = [
        vec![(Variant::Listed, h)],
        vec![(Variant::Oriented(Dihedral::Original), h)],
        vec![(Variant::CentreCrop(100), h)],
        vec![(Variant::Trimmed, h); 65],
    ];
    for extras in refused {
        let e = m.enrol("l", entry(1), &extras).unwrap_err();
        assert!(matches!(e, Error::InvalidOption { .. }), "{e:?}");
    }
    m.enrol("l", entry(1), &[(Variant::Trimmed, h)]).unwrap();
    let e = m.enrol("l", entry(1), &[]).unwrap_err();
    assert!(e.to_string().contains("already in list"), "{e}");
    assert!(m.enrol("nope", entry(2), &[]).is_err());
    assert_eq!(m.stats()[0].entries, 1);
    // Both hashes are equal: the entry is reported once, by its listed hash.
    let found = m.query_radius(&h, 0);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].variant, Variant::Listed);
}
