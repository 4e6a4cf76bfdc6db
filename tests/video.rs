//! vPDQ records, files and video matching: the reference's sample hashes read and written back
//! byte for byte, matching numbers against python-threatexchange's documented results, and the
//! index against brute force.

mod common;

use std::path::{Path, PathBuf};

use common::per_second;
use hashmatch::video::file::{format_vpdq, parse_vpdq, read_vpdq};
use hashmatch::video::{compare, VideoIndex, VideoMatchOptions, VideoMd5, VpdqFeature};
use hashmatch::{Error, Hash256};
use proptest::prelude::*;

fn sample_hashes(test: &str) -> Option<PathBuf> {
    common::shared_dir(test).map(|d| d.join("vectors/vpdq/sample-hashes"))
}

/// The native-size reference files (not the `-128x128` ones), sorted by name.
fn native_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(".txt") && !name.ends_with("-128x128.txt")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn reference_files_round_trip_byte_for_byte() {
    let Some(dir) = sample_hashes("reference_files_round_trip_byte_for_byte") else {
        return;
    };
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(files, 31, "the 31 reference hash files");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let features = parse_vpdq(&text, &path).unwrap();
        assert!(!features.is_empty(), "{}", path.display());
        assert_eq!(format_vpdq(&features), text, "{}", path.display());
        // Every frame is there (`-r 0`), numbered from 0, timestamps = frame / 30 in f32.
        for (i, f) in features.iter().enumerate() {
            assert_eq!(f.frame_number, i as u64);
            let t = VpdqFeature::timestamp_of(f.frame_number, 30.0);
            assert_eq!(format!("{t:.3}"), format!("{:.3}", f.timestamp));
        }
    }
}

/// The matching results `research/pdq.md` §2.4 verified with python-threatexchange's rules on
/// the reference hashes (every frame): query %, compared %.
#[test]
fn pytx_results_on_the_reference_hashes() {
    let Some(dir) = sample_hashes("pytx_results_on_the_reference_hashes") else {
        return;
    };
    let load = |name: &str| read_vpdq(&dir.join(format!("{name}.txt"))).unwrap();
    let options = VideoMatchOptions::default();
    let cases = [
        (
            "chair-19-sd-bar",
            "chair-22-sd-sepia-bar",
            100.0,
            85.8,
            true,
        ),
        ("chair-20-sd-bar", "chair-orig-22-sd-bar", 100.0, 98.6, true),
        (
            "pattern-hd-no-bar",
            "pattern-longer-no-bar",
            100.0,
            87.9,
            true,
        ),
        (
            "chair-19-sd-bar",
            "chair-22-with-large-logo-bar",
            10.5,
            10.6,
            false,
        ),
        ("pattern-sd-grey-bar", "pattern-hd-no-bar", 0.0, 0.0, false),
        ("chair-19-sd-bar", "pattern-hd-no-bar", 0.0, 0.0, false),
    ];
    for (query, candidate, q_pct, c_pct, matches) in cases {
        let s = compare(&load(query), &load(candidate), &options).unwrap();
        let round = |x: f64| (x * 10.0).round() / 10.0;
        assert_eq!(
            (round(s.query_percent()), round(s.candidate_percent())),
            (q_pct, c_pct),
            "{query} vs {candidate}"
        );
        assert_eq!(s.is_match(&options), matches, "{query} vs {candidate}");
    }
}

/// The index gives exactly the brute-force numbers for every pair of reference videos, at one
/// hash per second and at every frame.
#[test]
fn index_equals_brute_force_on_the_reference_hashes() {
    let Some(dir) = sample_hashes("index_equals_brute_force_on_the_reference_hashes") else {
        return;
    };
    let options = VideoMatchOptions::default();
    for sampling in [per_second as fn(&[VpdqFeature]) -> Vec<VpdqFeature>, |f| {
        f.to_vec()
    }] {
        let videos: Vec<(String, Vec<VpdqFeature>)> = native_files(&dir)
            .iter()
            .map(|p| {
                let name = p.file_stem().unwrap().to_string_lossy().into_owned();
                (name, sampling(&read_vpdq(p).unwrap()))
            })
            .collect();
        let mut index = VideoIndex::new(options);
        index.add_list("samples").unwrap();
        for (i, (name, features)) in videos.iter().enumerate() {
            index
                .insert("samples", i as u64, Some(name), features)
                .unwrap();
        }
        for (query_name, query) in &videos {
            let found = index.similar(query).unwrap();
            for (i, (name, candidate)) in videos.iter().enumerate() {
                let brute = compare(query, candidate, &options).unwrap();
                let hit = found.iter().find(|m| m.entry_id == i as u64);
                match hit {
                    Some(m) => {
                        assert_eq!(m.similarity, brute, "{query_name} vs {name}");
                        assert_eq!(m.label.as_deref(), Some(name.as_str()));
                    }
                    None => assert_eq!(brute.query_matched, 0, "{query_name} vs {name}"),
                }
            }
            let matched: Vec<u64> = index
                .query(query)
                .unwrap()
                .iter()
                .map(|m| m.entry_id)
                .collect();
            let mut expected: Vec<u64> = (0..videos.len() as u64)
                .filter(|&i| {
                    compare(query, &videos[i as usize].1, &options)
                        .unwrap()
                        .is_match(&options)
                })
                .collect();
            let mut sorted = matched.clone();
            sorted.sort();
            expected.sort();
            assert_eq!(sorted, expected, "{query_name}");
        }
    }
}

/// A 30 % segment cut from a known video matches it. Cut at a sampled frame, both hashed one
/// frame per second (the defaults) share their frames exactly. Cut anywhere else, the clip's
/// seconds fall between the known video's: on this hand-held video a 1-per-second list then
/// finds as few as 2 of the clip's 7 frames, so known videos are best indexed at every frame
/// (`seconds_per_hash = 0`, as the reference's sample files are), which finds all of them.
#[test]
fn a_clip_matches_its_source() {
    let Some(dir) = sample_hashes("a_clip_matches_its_source") else {
        return;
    };
    let source = read_vpdq(&dir.join("chair-orig-22-sd-bar.txt")).unwrap();
    let other = read_vpdq(&dir.join("pattern-hd-no-bar.txt")).unwrap();
    let n = source.len();
    let options = VideoMatchOptions::default();
    let index_of = |sample: &dyn Fn(&[VpdqFeature]) -> Vec<VpdqFeature>| {
        let mut index = VideoIndex::new(options);
        index.add_list("known").unwrap();
        index.insert("known", 1, None, &sample(&source)).unwrap();
        index.insert("known", 2, None, &sample(&other)).unwrap();
        index
    };
    let per_second_list = index_of(&per_second);
    let every_frame_list = index_of(&|f| f.to_vec());
    // The clip, renumbered from its first frame and hashed one frame per second.
    let clip_from = |start: usize| -> Vec<VpdqFeature> {
        source[start..start + n * 3 / 10]
            .iter()
            .step_by(30)
            .copied()
            .collect()
    };
    let aligned = clip_from(270);
    for list in [&per_second_list, &every_frame_list] {
        let found = list.query(&aligned).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].entry_id, found[0].query_percent), (1, 100.0));
        assert!(found[0].candidate_percent < 50.0 || list.distinct_frames() < 100);
    }
    for start in [265, 277, 284, 300, 311] {
        let clip = clip_from(start);
        let found = every_frame_list.query(&clip).unwrap();
        assert_eq!(found.len(), 1, "clip from frame {start}: {found:?}");
        assert_eq!((found[0].entry_id, found[0].query_percent), (1, 100.0));
        // Whatever the phase, the unrelated video is never a candidate.
        let sparse = per_second_list.similar(&clip).unwrap();
        assert!(sparse.iter().all(|m| m.entry_id == 1));
    }
}

fn feature(n: u64, quality: u8, hash: Hash256) -> VpdqFeature {
    VpdqFeature {
        frame_number: n,
        quality,
        hash,
        timestamp: n as f64,
    }
}

#[test]
fn disabled_videos_stop_matching_and_errors_are_typed() {
    let a: Hash256 = "e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c"
        .parse()
        .unwrap();
    let mut index = VideoIndex::new(VideoMatchOptions::default());
    index.add_list("l").unwrap();
    assert!(matches!(index.add_list("l"), Err(Error::Matcher { .. })));
    index.insert("l", 5, None, &[feature(0, 90, a)]).unwrap();
    assert!(matches!(
        index.insert("l", 5, None, &[feature(0, 90, a)]),
        Err(Error::Matcher { .. })
    ));
    assert!(matches!(
        index.insert("nope", 6, None, &[feature(0, 90, a)]),
        Err(Error::Matcher { .. })
    ));
    // A video with no usable frame is refused as an entry and as a query, never "no match".
    assert!(matches!(
        index.insert("l", 7, None, &[feature(0, 49, a)]),
        Err(Error::VideoLowQuality {
            frames: 1,
            floor: 50
        })
    ));
    assert!(matches!(
        index.query(&[feature(0, 10, a)]),
        Err(Error::VideoLowQuality { .. })
    ));
    assert!(matches!(
        index.query(&[]),
        Err(Error::VideoLowQuality { .. })
    ));
    assert_eq!(index.query(&[feature(0, 60, a)]).unwrap().len(), 1);
    index.disable("l", 5, "false positive, review 3").unwrap();
    assert!(index.query(&[feature(0, 60, a)]).unwrap().is_empty());
    assert_eq!(
        index.disabled_reason("l", 5).unwrap().as_deref(),
        Some("false positive, review 3")
    );
    index.enable("l", 5).unwrap();
    assert_eq!(index.query(&[feature(0, 60, a)]).unwrap().len(), 1);
    assert!(index.disable("l", 99, "x").is_err());
}

/// Hashes near a few centres, so that videos share frames and near-frames.
fn arb_video() -> impl Strategy<Value = Vec<VpdqFeature>> {
    let centres: Vec<Hash256> = (0..6u64)
        .map(|i| {
            let mut bytes = [0u8; 32];
            for (j, b) in bytes.iter_mut().enumerate() {
                *b = (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (j % 8 * 8)) as u8
                    ^ (j as u8).wrapping_mul(37);
            }
            Hash256::from_be_bytes(bytes)
        })
        .collect();
    prop::collection::vec(
        (
            0..6usize,
            prop::collection::vec(0..256usize, 0..40),
            30u8..=100,
        ),
        0..25,
    )
    .prop_map(move |frames| {
        frames
            .into_iter()
            .enumerate()
            .map(|(n, (c, flips, q))| {
                let mut h = centres[c];
                for bit in flips {
                    h.set_bit(bit, !h.bit(bit));
                }
                feature(n as u64, q, h)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn index_equals_brute_force(videos in prop::collection::vec(arb_video(), 1..8), query in arb_video()) {
        let options = VideoMatchOptions::default();
        let mut index = VideoIndex::new(options);
        index.add_list("p").unwrap();
        let mut stored = Vec::new();
        for (i, v) in videos.iter().enumerate() {
            if index.insert("p", i as u64, None, v).is_ok() {
                stored.push(i);
            }
        }
        match compare(&query, &[], &options) {
            Err(_) => prop_assert!(index.similar(&query).is_err()),
            Ok(_) => {
                let found = index.similar(&query).unwrap();
                for &i in &stored {
                    let brute = compare(&query, &videos[i], &options).unwrap();
                    match found.iter().find(|m| m.entry_id == i as u64) {
                        Some(m) => prop_assert_eq!(m.similarity, brute),
                        None => prop_assert_eq!(brute.query_matched, 0),
                    }
                }
            }
        }
    }
}

/// Known files by their MD5: attached to a video entry or on their own; disabled entries and
/// other digests are not found; frame matching is unaffected.
#[test]
fn exact_copies_are_found_by_md5() {
    let a: Hash256 = "e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c"
        .parse()
        .unwrap();
    let mut index = VideoIndex::new(VideoMatchOptions::default());
    index.add_list("known").unwrap();
    index
        .insert("known", 1, Some("case 1"), &[feature(0, 100, a)])
        .unwrap();
    let file_1 = VideoMd5::of_bytes(b"the bytes of video 1");
    let file_2 = VideoMd5::of_bytes(b"the bytes of video 2, known only by its MD5");
    index.insert_md5("known", 1, None, file_1).unwrap();
    index
        .insert_md5("known", 2, Some("md5 only"), file_2)
        .unwrap();
    assert!(index.insert_md5("missing", 3, None, file_2).is_err());
    assert_eq!(index.len(), 2);

    let found = index.query_md5(&file_1);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].entry_id, found[0].exact_bytes), (1, true));
    assert_eq!(found[0].label.as_deref(), Some("case 1"));
    let found = index.query_md5(&file_2);
    assert_eq!(
        (found[0].entry_id, found[0].label.as_deref()),
        (2, Some("md5 only"))
    );
    assert!(index
        .query_md5(&VideoMd5::of_bytes(b"another file"))
        .is_empty());
    // The digest-only entry never matches by frames; the other still does.
    let by_frames = index.query(&[feature(0, 100, a)]).unwrap();
    assert_eq!(by_frames.len(), 1);
    assert_eq!(
        (by_frames[0].entry_id, by_frames[0].exact_bytes),
        (1, false)
    );
    index.disable("known", 1, "false positive").unwrap();
    assert!(index.query_md5(&file_1).is_empty());
}
