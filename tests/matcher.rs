//! The matcher against a trivially correct model: random lists, thresholds, inserts, removals
//! and disables, every query kind, every index; and live updates under concurrent queries.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use hashmatch::list::Entry;
use hashmatch::matcher::{ListSettings, Match, Matcher, QueryOptions};
use hashmatch::pdq::{Dihedral, DihedralHashes, PdqHash};
use hashmatch::robust::enrol::Variant;
use hashmatch::robust::{Region, RobustHash, RobustHashes};
use hashmatch::{Error, Hash256, IndexKind, MatcherErrorKind};
use proptest::prelude::*;

/// The model: list name -> (settings, entry id -> (hashes, disabled)); an entry's hashes are
/// its listed one and the extras it was enrolled with.
type Model = BTreeMap<String, (ListSettings, BTreeMap<u64, (Vec<Hash256>, bool)>)>;

fn model_matches(
    model: &Model,
    queries: &[(Dihedral, Hash256)],
    radius: Option<u32>,
) -> Vec<(u32, String, u64, Dihedral)> {
    let mut best: BTreeMap<(String, u64), (u32, Dihedral)> = BTreeMap::new();
    for (name, (settings, entries)) in model {
        if !settings.enabled {
            continue;
        }
        for (&id, (hashes, disabled)) in entries {
            if *disabled {
                continue;
            }
            for (&(orientation, q), hash) in queries
                .iter()
                .flat_map(|q| hashes.iter().map(move |h| (q, h)))
            {
                let d = q.distance(hash);
                if d <= radius.unwrap_or(settings.threshold) {
                    let e = best.entry((name.clone(), id)).or_insert((d, orientation));
                    if (d, orientation) < *e {
                        *e = (d, orientation);
                    }
                }
            }
        }
    }
    let mut out: Vec<_> = best
        .into_iter()
        .map(|((l, id), (d, o))| (d, l, id, o))
        .collect();
    out.sort();
    out
}

fn summary(found: &[Match]) -> Vec<(u32, String, u64, Dihedral)> {
    found
        .iter()
        .map(|m| (m.distance, m.list.to_string(), m.entry_id, m.orientation))
        .collect()
}

fn flip(h: Hash256, bits: &[usize]) -> Hash256 {
    let mut h = h;
    for &b in bits {
        let v = h.bit(b % 256);
        h.set_bit(b % 256, !v);
    }
    h
}

#[derive(Debug, Clone)]
enum Op {
    Insert {
        list: usize,
        id: u64,
        centre: usize,
        flips: Vec<usize>,
    },
    Remove {
        list: usize,
        id: u64,
    },
    Disable {
        list: usize,
        id: u64,
    },
    Enable {
        list: usize,
        id: u64,
    },
    SetList {
        list: usize,
        threshold: u32,
        enabled: bool,
        robust: bool,
    },
    /// An entry with extra hashes (each near one of the centres).
    Enrol {
        list: usize,
        id: u64,
        centre: usize,
        flips: Vec<usize>,
        extras: Vec<(usize, Vec<usize>)>,
    },
    /// Fold the changes so far into the index (normally automatic past thousands of changes).
    Compact,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3usize, 0..40u64, 0..4usize, prop::collection::vec(0..256usize, 0..40))
            .prop_map(|(list, id, centre, flips)| Op::Insert { list, id, centre, flips }),
        2 => (0..3usize, 0..40u64).prop_map(|(list, id)| Op::Remove { list, id }),
        2 => (0..3usize, 0..40u64).prop_map(|(list, id)| Op::Disable { list, id }),
        1 => (0..3usize, 0..40u64).prop_map(|(list, id)| Op::Enable { list, id }),
        1 => (0..3usize, 0..64u32, any::<bool>(), any::<bool>()).prop_map(|(list, threshold, enabled, robust)| Op::SetList { list, threshold, enabled, robust }),
        1 => Just(Op::Compact),
        3 => (0..3usize, 0..40u64, 0..4usize, prop::collection::vec(0..256usize, 0..40), prop::collection::vec((0..4usize, prop::collection::vec(0..256usize, 0..40)), 0..4))
            .prop_map(|(list, id, centre, flips, extras)| Op::Enrol { list, id, centre, flips, extras }),
    ]
}

const LISTS: [&str; 3] = ["industry", "hotline", "taken-down"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_query_equals_the_model(
        centres in prop::collection::vec(any::<[u64; 4]>(), 4),
        ops in prop::collection::vec(op(), 1..120),
        query_centre in 0..4usize,
        query_flips in prop::collection::vec(0..256usize, 0..45),
        radius in 0..80u32,
        k in 0..12usize,
        kind in prop::sample::select(vec![None, Some(IndexKind::Linear), Some(IndexKind::BkTree), Some(IndexKind::MultiIndex)]),
        extra in 0..40u32,
    ) {
        let centres: Vec<Hash256> = centres.into_iter().map(Hash256::from_words).collect();
        let matcher = match kind { Some(k) => Matcher::with_index(k), None => Matcher::new() };
        let mut model: Model = BTreeMap::new();
        for (i, name) in LISTS.into_iter().enumerate() {
            let settings = ListSettings { robust: i != 1, ..Default::default() };
            matcher.add_list(name, settings).unwrap();
            model.insert(name.to_string(), (settings, BTreeMap::new()));
        }
        for op in ops {
            match op.clone() {
                Op::Insert { list, id, centre, flips } | Op::Enrol { list, id, centre, flips, .. } => {
                    let hash = flip(centres[centre], &flips);
                    let entries = &mut model.get_mut(LISTS[list]).unwrap().1;
                    let extras: Vec<(Variant, Hash256)> = match &op {
                        Op::Enrol { extras, .. } => extras.iter().enumerate().map(|(k, (c, f))| (Variant::CentreCrop(k as u8 + 1), flip(centres[*c], f))).collect(),
                        _ => Vec::new(),
                    };
                    let entry = Entry { hash, id, label: None };
                    let result = match &op {
                        Op::Enrol { .. } => matcher.enrol(LISTS[list], entry, &extras),
                        _ => matcher.insert(LISTS[list], entry),
                    };
                    match entries.entry(id) {
                        std::collections::btree_map::Entry::Occupied(_) => {
                            prop_assert!(matches!(result, Err(Error::Matcher { kind: MatcherErrorKind::EntryExists, .. })), "duplicate id accepted");
                        }
                        std::collections::btree_map::Entry::Vacant(v) => {
                            result.unwrap();
                            let hashes = std::iter::once(hash).chain(extras.iter().map(|e| e.1)).collect();
                            v.insert((hashes, false));
                        }
                    }
                }
                Op::Remove { list, id } => {
                    let existed = model.get_mut(LISTS[list]).unwrap().1.remove(&id).is_some();
                    prop_assert_eq!(matcher.remove(LISTS[list], id).unwrap(), existed);
                }
                Op::Disable { list, id } | Op::Enable { list, id } => {
                    let disable = matches!(op, Op::Disable { .. });
                    let entries = &mut model.get_mut(LISTS[list]).unwrap().1;
                    let result = if disable {
                        matcher.disable(LISTS[list], id, "wrong match")
                    } else {
                        matcher.enable(LISTS[list], id)
                    };
                    match entries.get_mut(&id) {
                        Some(e) => { result.unwrap(); e.1 = disable; }
                        None => prop_assert!(result.is_err()),
                    }
                }
                Op::SetList { list, threshold, enabled, robust } => {
                    let settings = ListSettings { threshold, enabled, robust };
                    matcher.set_list(LISTS[list], settings).unwrap();
                    model.get_mut(LISTS[list]).unwrap().0 = settings;
                }
                Op::Compact => { matcher.compact(); }
            }
        }

        let q = flip(centres[query_centre], &query_flips);
        let upload = PdqHash { hash: q, quality: 100 };
        let found = matcher.query(&upload, &QueryOptions::default()).unwrap();
        prop_assert_eq!(summary(&found), model_matches(&model, &[(Dihedral::Original, q)], None));
        prop_assert_eq!(summary(&matcher.query_radius(&q, radius)), model_matches(&model, &[(Dihedral::Original, q)], Some(radius)));

        let all = model_matches(&model, &[(Dihedral::Original, q)], Some(256));
        prop_assert_eq!(summary(&matcher.knn(&q, k)), all[..k.min(all.len())].to_vec());

        let variants: [Hash256; 8] = std::array::from_fn(|i| flip(centres[(query_centre + i) % 4], &query_flips[..query_flips.len() / (i + 1)]));
        let dihedral = DihedralHashes { hashes: variants, quality: 90 };
        let tagged: Vec<_> = Dihedral::ALL.iter().copied().zip(variants).collect();
        prop_assert_eq!(summary(&matcher.query_dihedral(&dihedral, &QueryOptions::default()).unwrap()), model_matches(&model, &tagged, None));

        // A robust query: the same hashes as extra ones of several regions, the extras held to
        // `extra`.
        let tags = [
            (Region::Whole, Dihedral::Original), (Region::Whole, Dihedral::Rotate90),
            (Region::Bars, Dihedral::Original), (Region::Embedded, Dihedral::Original),
            (Region::Whole, Dihedral::FlipY), (Region::Bars, Dihedral::Rotate180),
            (Region::Embedded, Dihedral::FlipX), (Region::Whole, Dihedral::Rotate270),
        ];
        let robust = RobustHashes {
            hashes: tags.iter().zip(variants).map(|(&(region, orientation), hash)| RobustHash {
                region, rect: None, orientation, pdq: PdqHash { hash, quality: 90 },
            }).collect(),
            extra_threshold: extra,
        };
        let robust_found = matcher.query_robust(&robust, &QueryOptions::default()).unwrap();
        let got: Vec<_> = robust_found.iter().map(|m| (m.distance, m.list.to_string(), m.entry_id, m.orientation, m.region)).collect();
        // The model: the plain hash's matches if any; else the nearest extra hits, from the
        // first extra hash reaching that distance.
        let mut hits = Vec::new();
        for (name, (settings, entries)) in &model {
            if !settings.enabled { continue; }
            for (&id, (hashes, disabled)) in entries {
                if *disabled { continue; }
                for (i, v) in variants.iter().enumerate() {
                    let Some(d) = hashes.iter().map(|h| v.distance(h)).min() else { continue };
                    if d <= settings.threshold && (i == 0 || (d <= extra && settings.robust)) {
                        hits.push((d, i, name.clone(), id));
                    }
                }
            }
        }
        let steps = |i: usize| u8::from(tags[i].0 != Region::Whole) + u8::from(tags[i].1 != Dihedral::Original);
        let plain: Vec<_> = hits.iter().filter(|h| h.1 == 0).cloned().collect();
        let chosen: Vec<_> = if !plain.is_empty() {
            plain
        } else {
            // The first step with a hit; in it, the nearest from the first hash reaching it.
            let step = (1..=2).find(|&s| hits.iter().any(|h| steps(h.1) == s));
            let at_step: Vec<_> = hits.into_iter().filter(|h| Some(steps(h.1)) == step).collect();
            let best = at_step.iter().map(|h| (h.0, h.1)).min();
            at_step.into_iter().filter(|h| Some((h.0, h.1)) == best).collect()
        };
        let mut want: Vec<_> = chosen.into_iter().map(|(d, i, name, id)| (d, name, id, tags[i].1, tags[i].0)).collect();
        want.sort();
        prop_assert_eq!(got, want);

        let many = matcher.query_many(&[upload, PdqHash { hash: centres[0], quality: 60 }], &QueryOptions::default()).unwrap();
        prop_assert_eq!(summary(&many[0]), summary(&found));
        prop_assert_eq!(summary(&many[1]), model_matches(&model, &[(Dihedral::Original, centres[0])], None));

        let stats = matcher.stats();
        for s in stats {
            let (settings, entries) = &model[&*s.name];
            prop_assert_eq!(s.entries, entries.len());
            prop_assert_eq!(s.disabled, entries.values().filter(|e| e.1).count());
            prop_assert_eq!(s.extra_hashes, entries.values().map(|e| e.0.len() - 1).sum::<usize>());
            prop_assert_eq!((s.threshold, s.enabled), (settings.threshold, settings.enabled));
        }
    }
}

#[test]
fn low_quality_queries_are_refused_unless_allowed() {
    let matcher = Matcher::new();
    matcher.add_list("l", ListSettings::default()).unwrap();
    let h = Hash256::from_words([1, 2, 3, 4]);
    matcher
        .insert(
            "l",
            Entry {
                hash: h,
                id: 1,
                label: None,
            },
        )
        .unwrap();
    let upload = PdqHash {
        hash: h,
        quality: 20,
    };
    assert!(matches!(
        matcher.query(&upload, &QueryOptions::default()),
        Err(Error::LowQuality {
            quality: 20,
            floor: 50
        })
    ));
    let found = matcher
        .query(&upload, &QueryOptions { quality_floor: 0 })
        .unwrap();
    assert_eq!(found.len(), 1);
}

#[test]
fn duplicates_and_provenance_are_kept() {
    let matcher = Matcher::new();
    matcher.add_list("a", ListSettings::default()).unwrap();
    matcher
        .add_list(
            "b",
            ListSettings {
                threshold: 10,
                enabled: true,
                robust: false,
            },
        )
        .unwrap();
    let h = Hash256::from_words([9, 8, 7, 6]);
    matcher
        .insert(
            "a",
            Entry {
                hash: h,
                id: 7,
                label: Some("case 1".into()),
            },
        )
        .unwrap();
    matcher
        .insert(
            "b",
            Entry {
                hash: h,
                id: 7,
                label: None,
            },
        )
        .unwrap();
    matcher
        .insert(
            "b",
            Entry {
                hash: h,
                id: 8,
                label: None,
            },
        )
        .unwrap();
    let found = matcher
        .query(
            &PdqHash {
                hash: h,
                quality: 100,
            },
            &QueryOptions::default(),
        )
        .unwrap();
    let who: Vec<(&str, u64, Option<&str>)> = found
        .iter()
        .map(|m| (&*m.list, m.entry_id, m.label.as_deref()))
        .collect();
    assert_eq!(
        who,
        [("a", 7, Some("case 1")), ("b", 7, None), ("b", 8, None)]
    );
    // All or nothing: a batch with one repeated id adds nothing.
    let err = matcher.insert_many(
        "a",
        [
            Entry {
                hash: h,
                id: 100,
                label: None,
            },
            Entry {
                hash: h,
                id: 7,
                label: None,
            },
        ],
    );
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("entry 7 is already in list \"a\""));
    assert_eq!(matcher.stats()[0].entries, 1);
    assert!(matcher
        .insert(
            "nope",
            Entry {
                hash: h,
                id: 1,
                label: None
            }
        )
        .unwrap_err()
        .to_string()
        .contains("no list named \"nope\""));
    matcher.disable("a", 7, "reviewed: not a match").unwrap();
    assert_eq!(
        matcher.disabled_reason("a", 7).unwrap().as_deref(),
        Some("reviewed: not a match")
    );
}

#[test]
fn the_index_follows_the_list_size() {
    let matcher = Matcher::new();
    matcher.add_list("big", ListSettings::default()).unwrap();
    assert_eq!(matcher.index_kind(), IndexKind::Linear);
    let entries = (0..IndexKind::LINEAR_BELOW as u64 + 10).map(|i| Entry {
        hash: Hash256::from_words([i.wrapping_mul(0x9e37_79b9_7f4a_7c15), i, !i, i << 7]),
        id: i,
        label: None,
    });
    matcher.insert_many("big", entries).unwrap();
    assert_eq!(
        matcher.index_kind(),
        IndexKind::choose(IndexKind::LINEAR_BELOW + 10, 31)
    );
    let probe = Hash256::from_words([5u64.wrapping_mul(0x9e37_79b9_7f4a_7c15), 5, !5, 5 << 7]);
    let found = matcher.query_radius(&probe, 0);
    assert_eq!(found.iter().map(|m| m.entry_id).collect::<Vec<_>>(), [5]);
}

/// Writers insert and remove while readers query. Entries present from the start and never
/// touched must be found by every query (nothing lost); hashes never inserted must never be
/// found (no phantoms); an entry a writer has inserted and announced must be found by the
/// reader's very next query; at the end the matcher equals the writers' log.
#[test]
fn live_updates_under_concurrent_queries() {
    let matcher = Arc::new(Matcher::with_index(IndexKind::MultiIndex));
    matcher.add_list("stable", ListSettings::default()).unwrap();
    matcher.add_list("live", ListSettings::default()).unwrap();
    let hash_of = |salt: u64, i: u64| {
        let x = (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt;
        Hash256::from_words([x, x.rotate_left(17) ^ salt, !x, x.wrapping_mul(31) ^ i])
    };
    let stable: Vec<Hash256> = (0..200).map(|i| hash_of(1, i)).collect();
    matcher
        .insert_many(
            "stable",
            stable.iter().enumerate().map(|(i, &hash)| Entry {
                hash,
                id: i as u64,
                label: None,
            }),
        )
        .unwrap();

    // A compactor rebuilds the index again and again while the writers run: the changes made
    // during each rebuild are replayed onto it before it replaces the old one. The writers
    // start once the first rebuild (of the stable entries) is done.
    let stop = Arc::new(AtomicBool::new(false));
    let compactions = Arc::new(AtomicU64::new(0));
    let compactor = {
        let (matcher, stop, compactions) = (matcher.clone(), stop.clone(), compactions.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if matcher.compact() {
                    compactions.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
    };
    while compactions.load(Ordering::SeqCst) == 0 {
        std::thread::yield_now();
    }
    let announced = Arc::new(AtomicU64::new(0)); // latest live id inserted and kept
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let (matcher, announced) = (matcher.clone(), announced.clone());
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                for i in 0..3000u64 {
                    let id = w * 1_000_000 + i;
                    matcher
                        .insert(
                            "live",
                            Entry {
                                hash: hash_of(2, id),
                                id,
                                label: None,
                            },
                        )
                        .unwrap();
                    if i % 3 == 0 {
                        assert!(matcher.remove("live", id).unwrap());
                    } else if i % 3 == 1 && i % 5 == 0 {
                        // Disabled entries stay stored but must not match.
                        matcher.disable("live", id, "wrong match").unwrap();
                    } else {
                        kept.push(id);
                        if w == 0 {
                            announced.store(id + 1, Ordering::SeqCst);
                        }
                    }
                }
                kept
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (matcher, stop, announced, stable) = (
                matcher.clone(),
                stop.clone(),
                announced.clone(),
                stable.clone(),
            );
            std::thread::spawn(move || {
                let mut queries = 0;
                while !stop.load(Ordering::SeqCst) || queries < 50 {
                    let i = (queries * 7 + r) % stable.len();
                    let found = matcher.query_radius(&stable[i], 0);
                    assert!(
                        found
                            .iter()
                            .any(|m| &*m.list == "stable" && m.entry_id == i as u64),
                        "stable entry {i} lost"
                    );
                    let phantom = matcher.query_radius(&hash_of(3, queries as u64), 0);
                    assert!(phantom.is_empty(), "phantom match {phantom:?}");
                    let latest = announced.load(Ordering::SeqCst);
                    if latest > 0 {
                        let id = latest - 1;
                        let found = matcher.query_radius(&hash_of(2, id), 0);
                        assert!(
                            found.iter().any(|m| m.entry_id == id),
                            "announced entry {id} not found"
                        );
                    }
                    queries += 1;
                }
                queries
            })
        })
        .collect();
    let mut kept: Vec<u64> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    stop.store(true, Ordering::SeqCst);
    compactor.join().unwrap();
    eprintln!(
        "{} compactions during the run",
        compactions.load(Ordering::SeqCst)
    );
    for r in readers {
        assert!(r.join().unwrap() >= 50);
    }
    kept.sort_unstable();
    // Removed and disabled entries are not found; every kept one is.
    for id in (0..2u64).flat_map(|w| (0..3000).map(move |i| w * 1_000_000 + i)) {
        if kept.binary_search(&id).is_err() {
            let found = matcher.query_radius(&hash_of(2, id), 0);
            assert!(found.is_empty(), "removed or disabled entry {id} found");
        }
    }
    let mut present: Vec<u64> = kept
        .iter()
        .filter(|&&id| !matcher.query_radius(&hash_of(2, id), 0).is_empty())
        .copied()
        .collect();
    present.sort_unstable();
    assert_eq!(present, kept);
    let disabled = (0..3000u64).filter(|i| i % 3 == 1 && i % 5 == 0).count() * 2;
    assert_eq!(matcher.stats()[1].entries, kept.len() + disabled);
    assert_eq!(matcher.stats()[1].disabled, disabled);
}

#[test]
fn racing_batches_with_the_same_ids_land_once() {
    // Every thread adds the same ids (a large batch, so the read-locked check of one thread
    // overlaps the others' inserts); exactly one batch may land, the others are refused whole.
    for round in 0..20u64 {
        let matcher = Arc::new(Matcher::new());
        matcher.add_list("l", ListSettings::default()).unwrap();
        let batch: Vec<Entry> = (0..20_000u64)
            .map(|i| Entry {
                hash: Hash256::from_words([round, i, 0, 0]),
                id: i,
                label: None,
            })
            .collect();
        let start = std::sync::Barrier::new(4);
        let outcomes: Vec<Result<usize, Error>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let batch = batch.clone();
                        start.wait();
                        matcher.insert_many("l", batch)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let landed = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(landed, 1, "round {round}: {landed} batches landed");
        for o in outcomes.iter().filter_map(|o| o.as_ref().err()) {
            assert!(
                matches!(
                    o,
                    Error::Matcher {
                        kind: MatcherErrorKind::EntryExists,
                        ..
                    }
                ),
                "round {round}: {o}"
            );
        }
        assert_eq!(matcher.stats()[0].entries, 20_000, "round {round}");
        assert_eq!(
            matcher.query_radius(&batch[7].hash, 0).len(),
            1,
            "round {round}"
        );
    }
}
