//! Matcher snapshots: round trips keep every list, entry and query result; every truncation,
//! every flipped bit, wrong versions and foreign files are refused with the right error, never
//! a panic; a failed save leaves the previous snapshot in place.

use std::path::{Path, PathBuf};

use hashmatch::list::Entry;
use hashmatch::matcher::{ListSettings, Matcher, QueryOptions};
use hashmatch::pdq::{Dihedral, PdqHash};
use hashmatch::robust::enrol::Variant;
use hashmatch::snapshot::{MAGIC, VERSION};
use hashmatch::{Error, Hash256, IndexKind};
use proptest::prelude::*;

/// A fresh folder under the target dir for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hashmatch-snap-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn hash(seed: u64) -> Hash256 {
    // splitmix64, so neighbouring seeds give unrelated hashes.
    let mut x = seed;
    let mut next = || {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    Hash256::from_words([next(), next(), next(), next()])
}

fn flip(h: Hash256, bits: &[usize]) -> Hash256 {
    let mut h = h;
    for &b in bits {
        let v = h.bit(b);
        h.set_bit(b, !v);
    }
    h
}

/// Several lists with different settings, duplicate hashes across lists, unicode and commas in
/// labels, disabled entries, removed entries (leaving free slots).
fn sample() -> Matcher {
    let m = Matcher::new();
    m.add_list("ncmec", ListSettings::default()).unwrap();
    m.add_list(
        "hotline, ünïcode ✓",
        ListSettings {
            threshold: 10,
            enabled: true,
            robust: true,
        },
    )
    .unwrap();
    m.add_list(
        "paused",
        ListSettings {
            threshold: 40,
            enabled: false,
            robust: false,
        },
    )
    .unwrap();
    m.add_list("empty", ListSettings::default()).unwrap();
    for i in 0..20u64 {
        let label = (i % 3 != 0).then(|| format!("case {i}, 児童 \"q\""));
        m.insert(
            "ncmec",
            Entry {
                hash: hash(i),
                id: 1000 + i,
                label,
            },
        )
        .unwrap();
    }
    // The same hashes again in another list, and near copies.
    for i in 0..8u64 {
        m.insert(
            "hotline, ünïcode ✓",
            Entry {
                hash: hash(i),
                id: i,
                label: Some("dup".into()),
            },
        )
        .unwrap();
        m.insert(
            "paused",
            Entry {
                hash: flip(hash(i), &[1, 70, 200]),
                id: u64::MAX - i,
                label: None,
            },
        )
        .unwrap();
    }
    m.disable("ncmec", 1001, "false positive, review 12 ✗")
        .unwrap();
    m.disable("ncmec", 1002, "false positive, review 12 ✗")
        .unwrap();
    m.disable("hotline, ünïcode ✓", 3, "").unwrap();
    assert!(m.remove("ncmec", 1005).unwrap());
    assert!(m.remove("hotline, ünïcode ✓", 7).unwrap());
    m
}

fn queries() -> Vec<Hash256> {
    let mut q: Vec<Hash256> = (0..22).map(hash).collect();
    q.extend((0..8).map(|i| flip(hash(i), &[3, 9, 100, 150, 255])));
    q.push(Hash256::ZERO);
    q
}

fn assert_same(a: &Matcher, b: &Matcher) {
    assert_eq!(a.stats(), b.stats());
    for q in queries() {
        for r in [0, 5, 31, 64, 256] {
            assert_eq!(a.query_radius(&q, r), b.query_radius(&q, r), "radius {r}");
        }
        let upload = PdqHash {
            hash: q,
            quality: 100,
        };
        let o = QueryOptions::default();
        assert_eq!(a.query(&upload, &o).unwrap(), b.query(&upload, &o).unwrap());
        assert_eq!(a.knn(&q, 5), b.knn(&q, 5));
    }
}

fn save_bytes(m: &Matcher, dir: &Path) -> Vec<u8> {
    let path = dir.join("m.hmsnap");
    m.save(&path).unwrap();
    std::fs::read(&path).unwrap()
}

fn open_bytes(dir: &Path, bytes: &[u8]) -> hashmatch::Result<Matcher> {
    let path = dir.join("probe.hmsnap");
    std::fs::write(&path, bytes).unwrap();
    Matcher::open(&path)
}

#[test]
fn round_trip_keeps_lists_entries_and_results() {
    let dir = scratch("round-trip");
    let m = sample();
    let path = dir.join("m.hmsnap");
    m.save(&path).unwrap();
    let back = Matcher::open(&path).unwrap();
    assert_same(&m, &back);
    assert_eq!(
        back.disabled_reason("ncmec", 1001).unwrap().as_deref(),
        Some("false positive, review 12 ✗")
    );
    assert_eq!(
        back.disabled_reason("hotline, ünïcode ✓", 3)
            .unwrap()
            .as_deref(),
        Some("")
    );
    // The restored matcher is live: it takes updates like the original.
    back.insert(
        "empty",
        Entry {
            hash: hash(99),
            id: 1,
            label: None,
        },
    )
    .unwrap();
    assert_eq!(back.query_radius(&hash(99), 0).len(), 1);
    // Saving the restored matcher gives the same bytes (removed slots are compacted once).
    let again = dir.join("again.hmsnap");
    Matcher::open(&path).unwrap().save(&again).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&again).unwrap()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn empty_matcher_round_trips() {
    let dir = scratch("empty");
    let m = Matcher::new();
    let back = open_bytes(&dir, &save_bytes(&m, &dir)).unwrap();
    assert!(back.stats().is_empty());
    assert!(back.query_radius(&Hash256::ZERO, 256).is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn large_matcher_round_trips_with_the_chosen_index() {
    let dir = scratch("large");
    let m = Matcher::new();
    m.add_list("big", ListSettings::default()).unwrap();
    m.insert_many(
        "big",
        (0..IndexKind::LINEAR_BELOW as u64 + 100).map(|i| Entry {
            hash: hash(i),
            id: i,
            label: None,
        }),
    )
    .unwrap();
    let back = open_bytes(&dir, &save_bytes(&m, &dir)).unwrap();
    assert_eq!(m.index_kind(), IndexKind::MultiIndex);
    assert_eq!(back.index_kind(), IndexKind::MultiIndex);
    assert_same(&m, &back);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A small snapshot: two lists, three entries, a label and a reason.
fn small() -> Matcher {
    let m = Matcher::new();
    m.add_list("a", ListSettings::default()).unwrap();
    m.add_list(
        "b",
        ListSettings {
            threshold: 7,
            enabled: false,
            robust: false,
        },
    )
    .unwrap();
    for (list, id) in [("a", 1), ("a", 2), ("b", 1)] {
        m.insert(
            list,
            Entry {
                hash: hash(id),
                id,
                label: Some("l".into()),
            },
        )
        .unwrap();
    }
    m.disable("a", 2, "r").unwrap();
    m
}

#[test]
fn every_truncation_is_refused() {
    let dir = scratch("truncation");
    let bytes = save_bytes(&small(), &dir);
    for len in 0..bytes.len() {
        match open_bytes(&dir, &bytes[..len]) {
            Err(Error::SnapshotTruncated { .. }) | Err(Error::SnapshotChecksum { .. }) => {}
            other => panic!("truncated to {len} of {} bytes: {other:?}", bytes.len()),
        }
    }
    // The message says where.
    let e = open_bytes(&dir, &bytes[..bytes.len() - 1]).unwrap_err();
    assert!(e.to_string().contains("section 14 (variants)"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn every_flipped_bit_is_refused_with_the_right_error() {
    let dir = scratch("bitflip");
    let bytes = save_bytes(&small(), &dir);
    for pos in 0..bytes.len() {
        // Every bit of the header, one bit (varying) elsewhere.
        let bits: Vec<u8> = if pos < 24 {
            (0..8).collect()
        } else {
            vec![(pos % 8) as u8]
        };
        for bit in bits {
            let mut b = bytes.clone();
            b[pos] ^= 1 << bit;
            let result = open_bytes(&dir, &b);
            let ok = match pos {
                0..=7 => matches!(result, Err(Error::NotASnapshot { .. })),
                // A flip that turns the version into 2, which is still read, is caught by
                // the header checksum.
                8..=11 => match result {
                    Err(Error::UnsupportedSnapshotVersion {
                        found,
                        supported: VERSION,
                        ..
                    }) => found != VERSION,
                    Err(Error::SnapshotChecksum { .. }) => {
                        VERSION ^ (1 << (8 * (pos - 8) + usize::from(bit))) == 2
                    }
                    _ => false,
                },
                _ => matches!(result, Err(Error::SnapshotChecksum { .. })),
            };
            assert!(ok, "byte {pos} bit {bit}: {result:?}");
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn other_versions_are_refused_by_number() {
    let dir = scratch("version");
    let mut bytes = save_bytes(&small(), &dir);
    for other in [0u32, 1, 4, 0x0300] {
        bytes[8..12].copy_from_slice(&other.to_le_bytes());
        let e = open_bytes(&dir, &bytes).unwrap_err();
        assert!(
            matches!(
                e,
                Error::UnsupportedSnapshotVersion {
                    found,
                    supported: 3,
                    ..
                } if found == other
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains(&format!("version {other}")), "{e}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn foreign_files_are_refused() {
    let dir = scratch("foreign");
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
    let text = b"f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,case 1\n";
    for foreign in [&png[..], &text[..], b"HX", b"HMSNAQ\r\n"] {
        let e = open_bytes(&dir, foreign).unwrap_err();
        assert!(matches!(e, Error::NotASnapshot { .. }), "{e:?}");
        assert!(e.to_string().contains("probe.hmsnap"), "{e}");
    }
    // An empty file (or a bare magic) is a snapshot cut short, not a foreign file.
    for cut in [&b""[..], &MAGIC[..], &MAGIC[..3]] {
        let e = open_bytes(&dir, cut).unwrap_err();
        assert!(matches!(e, Error::SnapshotTruncated { .. }), "{e:?}");
    }
    // A missing file is an I/O error naming it.
    let e = Matcher::open(dir.join("missing.hmsnap")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Rewrites one section's payload and fixes its checksums and padding, to reach the content
/// checks. Layout (version 3): a 24-byte header, then per section a 20-byte descriptor (kind,
/// length u64, payload CRC, descriptor CRC over bytes 0..16 and the padding), zero padding to
/// a multiple of 64, the payload.
fn with_section(bytes: &[u8], section: usize, edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let pad = |end: usize| end.next_multiple_of(64) - end;
    let mut out = bytes[..24].to_vec();
    let mut at = 24;
    let sections = u32::from_le_bytes(bytes[16..20].try_into().unwrap()) as usize;
    for i in 0..sections {
        let len = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap()) as usize;
        let start = at + 20 + pad(at + 20);
        let mut payload = bytes[start..start + len].to_vec();
        if i == section {
            edit(&mut payload);
        }
        let d = out.len();
        out.extend_from_slice(&bytes[at..at + 4]);
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32(&payload).to_le_bytes());
        let zeros = vec![0u8; pad(out.len() + 4)];
        let mut covered = out[d..d + 16].to_vec();
        covered.extend_from_slice(&zeros);
        out.extend_from_slice(&crc32(&covered).to_le_bytes());
        out.extend_from_slice(&zeros);
        out.extend_from_slice(&payload);
        at = start + len;
    }
    out
}

/// CRC-32 (IEEE), bitwise: an independent check of the format's checksum.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// An edit of one section's payload.
type Edit = Box<dyn Fn(&mut Vec<u8>)>;

#[test]
fn inconsistent_content_is_refused_as_malformed() {
    let dir = scratch("malformed");
    let bytes = save_bytes(&small(), &dir);
    // The independent CRC agrees with the file (a re-encoding without edits is identical).
    assert_eq!(with_section(&bytes, 99, |_| {}), bytes);
    // Sections (0-based here): 0 strings, 1 lists, 2 hashes, 3 entry ids, 4 entry lists,
    // 5 entry labels, 6 label offsets, 7 label bytes, 8 lookup order, 9 disabled, 10-12 index.
    // Positions: 0 = ("a", 1), 1 = ("a", 2), 2 = ("b", 1); each labelled "l"; 1 disabled.
    let u32_at = |at: usize, v: u32| -> Edit {
        Box::new(move |p: &mut Vec<u8>| p[at..at + 4].copy_from_slice(&v.to_le_bytes()))
    };
    let cases: Vec<(&str, usize, Edit)> = vec![
        ("refers to list 9", 4, u32_at(0, 9)),
        // Position 1 is ("a", 2); make it ("a", 1), a duplicate of position 0.
        ("entry 1 appears twice", 3, Box::new(|p| p[8] = 1)),
        ("is string 77", 5, u32_at(0, 77)),
        ("not a multiple", 3, Box::new(|p| p.push(0))),
        ("hashes but", 2, Box::new(|p| p.truncate(64))),
        ("not sorted", 8, Box::new(|p| p.swap(0, 4))),
        ("names position 9", 8, u32_at(4, 9)),
        ("string offsets", 6, Box::new(|p| p[24] = 100)),
        ("not UTF-8", 7, Box::new(|p| p[0] = 0xff)),
        ("past the 3 entries", 9, u32_at(0, 7)),
        ("reason is string 77", 9, u32_at(4, 77)),
        (
            "disabled twice",
            9,
            Box::new(|p| {
                let first = p[..8].to_vec();
                p.extend_from_slice(&first)
            }),
        ),
        (
            "index sections",
            10,
            Box::new(|p| p.extend_from_slice(&[0; 4])),
        ),
        // strings: count | len | bytes ... ; the first string is list "a"'s name.
        ("UTF-8", 0, Box::new(|p| p[8] = 0xff)),
        ("cannot fit", 0, u32_at(0, u32::MAX)),
        ("runs past", 0, u32_at(4, 1000)),
        ("after the last string", 0, Box::new(|p| p.push(b'x'))),
        (
            "list 0 has an empty name",
            0,
            Box::new(|p| {
                p[4..8].copy_from_slice(&0u32.to_le_bytes());
                p.remove(8);
            }),
        ),
        // lists: name | threshold | flags | entries u64 | disabled u64
        ("says", 1, Box::new(|p| p[12] = 5)),
        ("appears twice", 1, Box::new(|p| p[28] = 0)),
        ("unknown flags", 1, Box::new(|p| p[8] = 4)),
    ];
    for (needle, section, edit) in cases {
        let e = open_bytes(&dir, &with_section(&bytes, section, edit)).unwrap_err();
        assert!(
            matches!(e, Error::SnapshotMalformed { .. }),
            "{needle}: {e:?}"
        );
        assert!(e.to_string().contains(needle), "{needle}: {e}");
    }
    let mut trailing = bytes.clone();
    trailing.push(0);
    let e = open_bytes(&dir, &trailing).unwrap_err();
    assert!(e.to_string().contains("after the last section"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A small matcher with extra hashes: positions 0-2 are entry ("a", 1) and its two extras,
/// 3 is ("a", 2), disabled.
fn enrolled() -> Matcher {
    let m = Matcher::new();
    m.add_list("a", ListSettings::default()).unwrap();
    let extras = [
        (Variant::Oriented(Dihedral::Rotate90), hash(100)),
        (Variant::CentreCrop(85), hash(101)),
    ];
    let entry = |id| Entry {
        hash: hash(id),
        id,
        label: Some("l".into()),
    };
    m.enrol("a", entry(1), &extras).unwrap();
    m.insert("a", entry(2)).unwrap();
    m.disable("a", 2, "r").unwrap();
    m
}

#[test]
fn extra_hashes_round_trip_and_their_checks_refuse_what_does_not_fit() {
    let dir = scratch("enrolled");
    let m = enrolled();
    let bytes = save_bytes(&m, &dir);
    let back = open_bytes(&dir, &bytes).unwrap();
    assert_same(&m, &back);
    for (q, variant) in [
        (hash(1), Variant::Listed),
        (hash(100), Variant::Oriented(Dihedral::Rotate90)),
        (flip(hash(101), &[1, 2, 3]), Variant::CentreCrop(85)),
    ] {
        let found = back.query_radius(&q, 10);
        assert_eq!(found.len(), 1, "{variant}");
        assert_eq!((found[0].entry_id, found[0].variant), (1, variant));
        assert_eq!(found[0].label.as_deref(), Some("l"));
    }
    assert_eq!(back.stats()[0].entries, 2);
    // Removing the entry after reopening removes its extras.
    assert!(back.remove("a", 1).unwrap());
    assert!(back.query_radius(&hash(100), 0).is_empty());

    // Sections (0-based): 3 entry ids, 8 lookup order, 9 disabled, 13 variants.
    let u32_at = |at: usize, v: u32| -> Edit {
        Box::new(move |p: &mut Vec<u8>| p[at..at + 4].copy_from_slice(&v.to_le_bytes()))
    };
    let cases: Vec<(&str, usize, Edit)> = vec![
        ("unknown variant code 9", 13, Box::new(|p| p[1] = 9)),
        ("no entry comes before it", 13, Box::new(|p| p[0] = 1)),
        ("another entry's", 13, Box::new(|p| p[3] = 1)),
        (
            "values in the variants section",
            13,
            Box::new(|p| p.push(0)),
        ),
        // An extra hash whose id differs from its entry's.
        ("another entry's", 3, Box::new(|p| p[16] = 7)),
        ("names position 1, an extra hash", 8, u32_at(4, 1)),
        ("1 positions for 2 entries", 8, Box::new(|p| p.truncate(4))),
        ("disabled position 2 is an extra hash", 9, u32_at(0, 2)),
    ];
    for (needle, section, edit) in cases {
        let e = open_bytes(&dir, &with_section(&bytes, section, edit)).unwrap_err();
        assert!(
            matches!(e, Error::SnapshotMalformed { .. }),
            "{needle}: {e:?}"
        );
        assert!(e.to_string().contains(needle), "{needle}: {e}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn version_2_snapshots_still_open() {
    let dir = scratch("version2");
    let m = small();
    let bytes = save_bytes(&m, &dir);
    // Version 2 is version 3 without the last section (variants, empty here): cut its
    // descriptor and padding, and say version 2 with 13 sections.
    let pad = |end: usize| end.next_multiple_of(64) - end;
    let mut at = 24;
    for _ in 0..13 {
        let len = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap()) as usize;
        at += 20 + pad(at + 20) + len;
    }
    assert_eq!(
        bytes.len(),
        at + 20 + pad(at + 20),
        "the variants section is empty"
    );
    let mut v2 = bytes[..at].to_vec();
    v2[8..12].copy_from_slice(&2u32.to_le_bytes());
    v2[16..20].copy_from_slice(&13u32.to_le_bytes());
    let crc = crc32(&v2[..20]);
    v2[20..24].copy_from_slice(&crc.to_le_bytes());
    assert_same(&m, &open_bytes(&dir, &v2).unwrap());
    // A version 2 header with version 3's section count is refused.
    let mut wrong = bytes.clone();
    wrong[8..12].copy_from_slice(&2u32.to_le_bytes());
    let crc = crc32(&wrong[..20]);
    wrong[20..24].copy_from_slice(&crc.to_le_bytes());
    let e = open_bytes(&dir, &wrong).unwrap_err();
    assert!(
        e.to_string().contains("14 sections, version 2 has 13"),
        "{e}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_corrupt_index_is_refused_as_malformed() {
    let dir = scratch("index");
    let m = Matcher::new();
    m.add_list("big", ListSettings::default()).unwrap();
    let n = IndexKind::LINEAR_BELOW as u64 + 100;
    m.insert_many(
        "big",
        (0..n).map(|i| Entry {
            hash: hash(i),
            id: i,
            label: None,
        }),
    )
    .unwrap();
    let bytes = save_bytes(&m, &dir);
    assert_eq!(
        open_bytes(&dir, &bytes).unwrap().index_kind(),
        IndexKind::MultiIndex
    );
    let n = n as usize;
    let cases: Vec<(&str, usize, Edit)> = vec![
        // Index offsets: chunk 0's first bucket start must be 0, the last n.
        (
            "chunk 0: bucket offsets run from 5",
            10,
            Box::new(|p| p[0] = 5),
        ),
        // Chunk 3's bucket starts must not decrease (start 1 set past everything).
        (
            "chunk 3: bucket offsets decrease",
            10,
            Box::new(|p| {
                let at = (3 * 65537 + 1) * 4;
                p[at..at + 4].copy_from_slice(&(u32::MAX - 1).to_le_bytes());
            }),
        ),
        // Index ids (3 bytes each below 2^24 entries): chunk 2's id 0 set to 0xffffff.
        (
            "chunk 2: id 16777215",
            11,
            Box::new(move |p| p[2 * n * 3..2 * n * 3 + 3].copy_from_slice(&[0xff; 3])),
        ),
        ("do not fit", 12, Box::new(|p| p.truncate(p.len() - 2))),
    ];
    for (needle, section, edit) in cases {
        let e = open_bytes(&dir, &with_section(&bytes, section, edit)).unwrap_err();
        assert!(
            matches!(e, Error::SnapshotMalformed { .. }),
            "{needle}: {e:?}"
        );
        assert!(e.to_string().contains(needle), "{needle}: {e}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_failed_save_leaves_the_previous_snapshot() {
    let dir = scratch("failed-save");
    let old = small();
    let path = dir.join("m.hmsnap");
    old.save(&path).unwrap();
    let newer = sample();

    // The temporary file cannot be created: a folder sits at its name (the name is
    // fsutil's: ".<file>.tmp-<pid>").
    let tmp = dir.join(format!(".m.hmsnap.tmp-{}", std::process::id()));
    std::fs::create_dir(&tmp).unwrap();
    std::fs::write(tmp.join("keep"), b"x").unwrap();
    assert!(matches!(newer.save(&path), Err(Error::Io { .. })));
    std::fs::remove_dir_all(&tmp).unwrap();
    assert_same(&old, &Matcher::open(&path).unwrap());

    // The temporary file is written in full, then the rename fails (the target is a
    // non-empty folder): the temporary file is removed.
    let blocked = dir.join("blocked");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("keep"), b"x").unwrap();
    assert!(matches!(newer.save(&blocked), Err(Error::Io { .. })));

    // The parent is a file.
    assert!(matches!(
        newer.save(path.join("child")),
        Err(Error::Io { .. })
    ));

    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["blocked", "m.hmsnap"]);
    assert_same(&old, &Matcher::open(&path).unwrap());

    // And a save that works replaces it.
    newer.save(&path).unwrap();
    assert_same(&newer, &Matcher::open(&path).unwrap());
    std::fs::remove_dir_all(dir).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_matchers_round_trip(
        lists in prop::collection::vec((0u32..64, any::<bool>()), 1..4),
        ops in prop::collection::vec(
            (0usize..4, 0u64..24, 0u64..40, prop::option::of("[a-z,ü ]{0,6}"), 0u8..4),
            0..60,
        ),
    ) {
        let dir = scratch("prop");
        let m = Matcher::new();
        for (i, &(threshold, enabled)) in lists.iter().enumerate() {
            m.add_list(&format!("list {i}"), ListSettings { threshold, enabled, robust: i % 2 == 0 }).unwrap();
        }
        for (list, id, h, label, op) in ops {
            let name = format!("list {}", list % lists.len());
            match op {
                0 | 1 => {
                    let _ = m.insert(&name, Entry { hash: hash(h), id, label });
                }
                2 => {
                    let _ = m.disable(&name, id, label.as_deref().unwrap_or(""));
                }
                _ => {
                    let _ = m.remove(&name, id);
                }
            }
        }
        let back = open_bytes(&dir, &save_bytes(&m, &dir)).unwrap();
        prop_assert_eq!(m.stats(), back.stats());
        for q in (0..40).map(hash) {
            prop_assert_eq!(m.query_radius(&q, 256), back.query_radius(&q, 256));
            let upload = PdqHash { hash: q, quality: 100 };
            let o = QueryOptions::default();
            prop_assert_eq!(m.query(&upload, &o).unwrap(), back.query(&upload, &o).unwrap());
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
