//! Transparency counts and verdicts: concurrent queries and verdicts lose no increment, a false
//! positive stops its entry and shows in the report, counts survive a restart and a crash
//! mid-save, and reports of two instances merge to their sum.

use std::path::PathBuf;
use std::sync::Arc;

use hashmatch::list::Entry;
use hashmatch::matcher::{ListSettings, Matcher, QueryOptions};
use hashmatch::pdq::PdqHash;
use hashmatch::report::{Report, Technique, Verdict, VerdictPolicy};
use hashmatch::{Error, Hash256};

fn hash(seed: u64) -> Hash256 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut next = || {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = z;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    };
    Hash256::from_words([next(), next(), next(), next()])
}

fn upload(h: Hash256) -> PdqHash {
    PdqHash {
        hash: h,
        quality: 100,
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hashmatch-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Lists "a" (entries 0-49) and "b" (entries 100-149), every entry's hash its seed's.
fn matcher() -> Matcher {
    let m = Matcher::new();
    for (list, ids) in [("a", 0..50u64), ("b", 100..150)] {
        m.add_list(list, ListSettings::default()).unwrap();
        m.insert_many(
            list,
            ids.map(|id| Entry {
                hash: hash(id),
                id,
                label: None,
            }),
        )
        .unwrap();
    }
    m
}

/// The query of thread `t`, step `i`: an entry's hash (a match) or an unrelated one.
fn query_hash(t: u64, i: u64) -> Option<u64> {
    let k = t * 7919 + i * 31;
    (!k.is_multiple_of(3)).then_some(if k.is_multiple_of(2) {
        k % 50
    } else {
        100 + k % 50
    })
}

#[test]
fn concurrent_queries_and_verdicts_end_with_the_sequential_counts() {
    const THREADS: u64 = 4;
    const QUERIES: u64 = 2000;
    const VERDICTS: u64 = 500;
    let m = Arc::new(matcher());
    // False positives are counted but do not disable here, so every query's answer is fixed.
    m.set_verdict_policy(VerdictPolicy { disable_after: 0 });
    let verdict = |i: u64| {
        let (list, id) = if i.is_multiple_of(2) {
            ("a", i % 50)
        } else {
            ("b", 100 + i % 50)
        };
        let v = if i.is_multiple_of(5) {
            Verdict::FalsePositive(format!("review {i}"))
        } else {
            Verdict::Confirmed
        };
        (list, id, v)
    };
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let m = &m;
            s.spawn(move || {
                for i in 0..QUERIES {
                    let h =
                        query_hash(t, i).map_or_else(|| hash(1_000_000 + t * QUERIES + i), hash);
                    let found = m.query(&upload(h), &QueryOptions::default()).unwrap();
                    assert_eq!(found.len(), usize::from(query_hash(t, i).is_some()));
                }
            });
        }
        let m = &m;
        s.spawn(move || {
            for i in 0..VERDICTS {
                let (list, id, v) = verdict(i);
                m.record_verdict(list, id, &v).unwrap();
            }
        });
    });

    // The sequential replay, counted by hand.
    let report = m.report();
    let mut matches = std::collections::BTreeMap::<u64, u64>::new();
    let mut matched = 0;
    for t in 0..THREADS {
        for i in 0..QUERIES {
            if let Some(id) = query_hash(t, i) {
                matched += 1;
                *matches.entry(id).or_default() += 1;
            }
        }
    }
    assert_eq!(report.uploads.checked, THREADS * QUERIES);
    assert_eq!(report.uploads.matched, matched);
    for l in &report.lists {
        let in_list = |id: &u64| (l.list == "a") == (*id < 100);
        let want: u64 = matches
            .iter()
            .filter(|(id, _)| in_list(id))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(l.matched_uploads, want, "{}", l.list);
        assert_eq!(l.by_technique.get(&Technique::Plain), Some(&want));
        let verdicts: Vec<_> = (0..VERDICTS)
            .map(verdict)
            .filter(|v| v.0 == l.list)
            .collect();
        let fps = verdicts
            .iter()
            .filter(|v| matches!(v.2, Verdict::FalsePositive(_)))
            .count();
        assert_eq!(l.false_positives, fps as u64);
        assert_eq!(l.confirmed, (verdicts.len() - fps) as u64);
        assert_eq!(l.disabled, 0);
    }
    for e in &report.entries {
        assert_eq!(
            e.matches,
            matches.get(&e.entry_id).copied().unwrap_or(0),
            "{}",
            e.entry_id
        );
        let verdicts: Vec<_> = (0..VERDICTS)
            .map(verdict)
            .filter(|v| v.1 == e.entry_id)
            .collect();
        assert_eq!(e.confirmed + e.false_positives, verdicts.len() as u64);
    }
    assert_eq!(
        report.entries.iter().map(|e| e.matches).sum::<u64>(),
        matched
    );
}

#[test]
fn a_false_positive_disables_its_entry_and_redress_is_counted() {
    let m = matcher();
    let q = upload(hash(7));
    assert_eq!(m.query(&q, &QueryOptions::default()).unwrap().len(), 1);
    let outcome = m
        .record_verdict("a", 7, &Verdict::FalsePositive("appeal 12".into()))
        .unwrap();
    assert!(outcome.disabled);
    assert_eq!(outcome.false_positives, 1);
    assert!(m.query(&q, &QueryOptions::default()).unwrap().is_empty());
    assert_eq!(
        m.disabled_reason("a", 7).unwrap().as_deref(),
        Some("false positive: appeal 12")
    );
    let report = m.report();
    let a = report.lists.iter().find(|l| l.list == "a").unwrap();
    assert_eq!(
        (a.matched_uploads, a.false_positives, a.disabled),
        (1, 1, 1)
    );
    assert!((a.false_positive_ratio() - 1.0).abs() < 1e-12);
    assert_eq!(report.uploads.checked, 2);

    // Redress: enabled again, it matches, and the report says so.
    m.enable("a", 7).unwrap();
    assert_eq!(m.query(&q, &QueryOptions::default()).unwrap().len(), 1);
    let report = m.report();
    let a = report.lists.iter().find(|l| l.list == "a").unwrap();
    assert_eq!((a.redressed, a.disabled, a.matched_uploads), (1, 0, 2));
    let e = report.entries.iter().find(|e| e.entry_id == 7).unwrap();
    assert_eq!(
        (e.false_positives, e.open_false_positives, e.redressed),
        (1, 0, 1)
    );

    // A policy of two: the first false positive leaves the entry in place.
    m.set_verdict_policy(VerdictPolicy { disable_after: 2 });
    let fp = Verdict::FalsePositive("review".into());
    assert!(!m.record_verdict("a", 7, &fp).unwrap().disabled);
    assert_eq!(m.query(&q, &QueryOptions::default()).unwrap().len(), 1);
    assert!(m.record_verdict("a", 7, &fp).unwrap().disabled);
    assert!(m.query(&q, &QueryOptions::default()).unwrap().is_empty());

    // Unknown lists and entries are refused and count nothing.
    let before = m.report();
    assert!(m.record_verdict("a", 999, &Verdict::Confirmed).is_err());
    assert!(m.record_verdict("nope", 7, &Verdict::Confirmed).is_err());
    assert_eq!(m.report().lists, before.lists);
}

#[test]
fn counts_survive_a_restart_and_a_crash_mid_save() {
    let dir = scratch("restart");
    let snapshot = dir.join("lists.hmsnap");
    let counts = dir.join("lists.counts.json");
    let m = matcher();
    for id in [1, 2, 2, 120] {
        m.query(&upload(hash(id)), &QueryOptions::default())
            .unwrap();
    }
    m.record_verdict("a", 2, &Verdict::Confirmed).unwrap();
    m.save(&snapshot).unwrap();
    let saved = m.report();
    saved.save(&counts).unwrap();

    // A restart: the snapshot and the counts come back, and counting goes on from them.
    let back = Matcher::open(&snapshot).unwrap();
    back.restore_counts(&Report::load(&counts).unwrap());
    let restored = back.report();
    assert_eq!(restored.started, saved.started);
    assert_eq!(restored.lists, saved.lists);
    assert_eq!(restored.entries, saved.entries);
    assert_eq!(restored.uploads, saved.uploads);
    back.query(&upload(hash(1)), &QueryOptions::default())
        .unwrap();
    assert_eq!(back.report().uploads.checked, 5);

    // A crash mid-save leaves a partial temporary file beside the last good one, which
    // still loads; a file cut short or changed anywhere is refused, never read as counts.
    let text = std::fs::read_to_string(&counts).unwrap();
    std::fs::write(
        dir.join(".lists.counts.json.tmp-1"),
        &text[..text.len() / 2],
    )
    .unwrap();
    assert_eq!(Report::load(&counts).unwrap().lists, saved.lists);
    let body = text.find("\"report\"").unwrap();
    for cut in (0..text.len() - 1).step_by(7) {
        let e = Report::from_json(&text[..cut], &counts).unwrap_err();
        assert!(
            matches!(e, Error::ReportMalformed { .. }),
            "cut at {cut}: {e:?}"
        );
    }
    for at in (body + 10..text.len() - 3).step_by(5) {
        let mut bytes = text.clone().into_bytes();
        if !bytes[at].is_ascii_digit() {
            continue;
        }
        bytes[at] = if bytes[at] == b'9' {
            b'1'
        } else {
            bytes[at] + 1
        };
        let changed = String::from_utf8(bytes).unwrap();
        let e = Report::from_json(&changed, &counts).unwrap_err();
        assert!(e.to_string().contains("checksum"), "{e}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn reports_of_two_instances_merge_to_their_sum() {
    let (one, two) = (matcher(), matcher());
    for id in [1, 2, 3, 120] {
        one.query(&upload(hash(id)), &QueryOptions::default())
            .unwrap();
    }
    for id in [2, 130, 5000] {
        two.query(&upload(hash(id)), &QueryOptions::default())
            .unwrap();
    }
    one.record_verdict("a", 2, &Verdict::Confirmed).unwrap();
    two.record_verdict("a", 2, &Verdict::FalsePositive("x".into()))
        .unwrap();
    let (a, b) = (one.report(), two.report());
    let mut merged = a.clone();
    merged.merge(&b);
    assert_eq!(merged.uploads.checked, 7);
    assert_eq!(merged.uploads.matched, 6);
    let list = |r: &Report, name: &str| r.lists.iter().find(|l| l.list == name).unwrap().clone();
    for name in ["a", "b"] {
        let (x, y, z) = (list(&a, name), list(&b, name), list(&merged, name));
        assert_eq!(z.matched_uploads, x.matched_uploads + y.matched_uploads);
        assert_eq!(z.confirmed, x.confirmed + y.confirmed);
        assert_eq!(z.false_positives, x.false_positives + y.false_positives);
        assert_eq!(z.entries, 50);
    }
    let e2 = merged.entries.iter().find(|e| e.entry_id == 2).unwrap();
    assert_eq!((e2.matches, e2.confirmed, e2.false_positives), (2, 1, 1));
    // Merging is addition: the order does not matter, and the period covers both.
    let mut other_way = b.clone();
    other_way.merge(&a);
    assert_eq!(other_way.entries, merged.entries);
    assert_eq!(other_way.uploads, merged.uploads);
    assert_eq!(merged.started, a.started.min(b.started));
    // Through the file format too.
    let text = merged.to_json();
    assert_eq!(Report::from_json(&text, "m.json".as_ref()).unwrap(), merged);
}

#[test]
fn counting_can_be_turned_off() {
    let m = matcher();
    m.set_counting(false);
    m.query(&upload(hash(1)), &QueryOptions::default()).unwrap();
    assert_eq!(m.report().uploads.checked, 0);
    m.set_counting(true);
    m.query(&upload(hash(1)), &QueryOptions::default()).unwrap();
    assert_eq!(m.report().uploads.checked, 1);
}

#[test]
fn video_matches_are_counted_by_the_video_index_and_merge_into_one_report() {
    use hashmatch::video::{VideoIndex, VideoMatchOptions, VideoMd5, VpdqFeature};
    let frame = |n: u64, h: Hash256| VpdqFeature {
        frame_number: n,
        quality: 100,
        hash: h,
        timestamp: n as f64,
    };
    let mut known = VideoIndex::new(VideoMatchOptions::default());
    known.add_list("hotline-video").unwrap();
    known
        .insert(
            "hotline-video",
            7,
            None,
            &[frame(0, hash(1)), frame(30, hash(2))],
        )
        .unwrap();
    let md5 = VideoMd5::of_bytes(b"the known file");
    known.insert_md5("hotline-video", 7, None, md5).unwrap();
    // A re-encoded copy (frames), the file itself (MD5), an unrelated video (a miss by MD5,
    // then by frames: counted once).
    assert_eq!(
        known
            .query(&[frame(0, hash(1)), frame(30, hash(2))])
            .unwrap()
            .len(),
        1
    );
    assert_eq!(known.query_md5(&md5).len(), 1);
    assert!(known.query_md5(&VideoMd5::of_bytes(b"other")).is_empty());
    assert!(known.query(&[frame(0, hash(99))]).unwrap().is_empty());
    let video = known.report();
    assert_eq!(
        (video.video_uploads.checked, video.video_uploads.matched),
        (3, 2)
    );
    assert_eq!(video.uploads.checked, 0);
    let l = &video.lists[0];
    assert_eq!(
        (l.technology.as_str(), l.entries, l.matched_uploads),
        ("vpdq", 1, 2)
    );
    assert_eq!(l.by_technique.get(&Technique::Plain), Some(&1));
    assert_eq!(l.by_technique.get(&Technique::FileMd5), Some(&1));

    // One report for images and videos; each side restores its own part.
    let images = matcher();
    images
        .query(&upload(hash(3)), &QueryOptions::default())
        .unwrap();
    let mut both = images.report();
    both.merge(&video);
    assert_eq!((both.uploads.checked, both.video_uploads.checked), (1, 3));
    assert_eq!(both.lists.len(), 3);
    let restarted = matcher();
    restarted.restore_counts(&both);
    assert_eq!(restarted.report().video_uploads.checked, 0);
    assert_eq!(restarted.report().uploads.checked, 1);
    let mut known_again = VideoIndex::new(VideoMatchOptions::default());
    known_again.add_list("hotline-video").unwrap();
    known_again.restore_counts(&both);
    assert_eq!(known_again.report().video_uploads, video.video_uploads);
    assert_eq!(known_again.report().uploads.checked, 0);
}
