//! Concurrent soak: writers insert, remove, disable and save snapshots while readers query; at the
//! end every acknowledged insert is found, every removed entry is gone, and the saved snapshot
//! reopens to exactly the final state. And a process killed with SIGKILL in the middle of a save
//! leaves the previous snapshot opening cleanly.
//!
//! `HASHMATCH_SOAK_SECONDS` sets how long the soak runs (default 3; CI runs the default).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hashmatch::list::Entry;
use hashmatch::matcher::{ListSettings, Matcher, QueryOptions};
use hashmatch::pdq::PdqHash;
use hashmatch::Hash256;

fn hash(seed: u64) -> Hash256 {
    let mut z = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5eed;
    let mut next = || {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = z;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    };
    Hash256::from_words([next(), next(), next(), next()])
}

fn entry(id: u64) -> Entry {
    Entry {
        hash: hash(id),
        id,
        label: None,
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hashmatch-soak-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn soak_seconds() -> u64 {
    std::env::var("HASHMATCH_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
}

/// The entry `id` if a query of its own hash finds it (enabled and present).
fn found(m: &Matcher, id: u64) -> Option<u64> {
    let hits = m.query_radius(&hash(id), 0);
    hits.iter().find(|h| h.entry_id == id).map(|h| h.entry_id)
}

#[test]
fn writers_and_readers_together_lose_nothing() {
    const PINNED: u64 = 2000;
    let dir = scratch("soak");
    let path = dir.join("soak.hmsnap");
    let m = Matcher::new();
    m.add_list("l", ListSettings::default()).unwrap();
    // Pinned entries are never touched: readers must always find them.
    m.insert_many("l", (0..PINNED).map(entry)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(soak_seconds());
    let stop = AtomicBool::new(false);
    let queries = AtomicU64::new(0);
    let mut model: BTreeMap<u64, bool> = (0..PINNED).map(|id| (id, false)).collect();
    let mut ops = 0u64;
    let mut saves = 0u64;
    std::thread::scope(|s| {
        for r in 0..2u64 {
            let (m, stop, queries) = (&m, &stop, &queries);
            s.spawn(move || {
                let mut i = r;
                while !stop.load(Ordering::Relaxed) {
                    let id = (i * 7919) % PINNED;
                    let upload = PdqHash {
                        hash: hash(id),
                        quality: 100,
                    };
                    let hits = m.query(&upload, &QueryOptions::default()).unwrap();
                    assert!(hits.iter().any(|h| h.entry_id == id), "pinned {id} missing");
                    // And a hash no one inserted: whatever it finds, it must not fail.
                    m.query_radius(&hash(u64::MAX - i), 31);
                    queries.fetch_add(2, Ordering::Relaxed);
                    i += 2;
                }
            });
        }
        // The writer (this thread): inserts, removes, disables, enables, saves, compacts.
        let mut next = 1_000_000u64;
        while Instant::now() < deadline {
            ops += 1;
            match ops % 10 {
                0..=4 => {
                    let batch = if ops.is_multiple_of(50) { 5000 } else { 3 };
                    m.insert_many("l", (next..next + batch).map(entry)).unwrap();
                    model.extend((next..next + batch).map(|id| (id, false)));
                    next += batch;
                }
                5 | 6 => {
                    let id = next - 1 - (ops * 31) % (next - 1_000_000).max(1);
                    let existed = model.remove(&id).is_some();
                    assert_eq!(m.remove("l", id).unwrap(), existed, "remove {id}");
                }
                7 => {
                    let id = next - 1 - (ops * 17) % (next - 1_000_000).max(1);
                    if let Some(disabled) = model.get_mut(&id) {
                        m.disable("l", id, "soak").unwrap();
                        *disabled = true;
                    }
                }
                8 => {
                    if let Some((&id, disabled)) = model.iter_mut().rev().find(|(_, d)| **d) {
                        m.enable("l", id).unwrap();
                        *disabled = false;
                    }
                }
                _ => {
                    if ops % 100 == 9 {
                        m.save(&path).unwrap();
                        saves += 1;
                    } else {
                        m.compact();
                    }
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert!(
        queries.load(Ordering::Relaxed) > 0 && saves > 0,
        "the soak did nothing"
    );

    // Every acknowledged insert is there (enabled ones match, disabled ones keep their
    // reason), every removed one is gone, and the counts agree.
    let check = |m: &Matcher, what: &str| {
        let stats = &m.stats()[0];
        assert_eq!(stats.entries, model.len(), "{what}: entries");
        assert_eq!(
            stats.disabled,
            model.values().filter(|d| **d).count(),
            "{what}"
        );
        for (&id, &disabled) in &model {
            assert_eq!(found(m, id).is_some(), !disabled, "{what}: entry {id}");
            assert_eq!(
                m.disabled_reason("l", id).unwrap().is_some(),
                disabled,
                "{what}"
            );
        }
    };
    check(&m, "live");
    for id in 1_000_000..1_000_000 + ops.min(20_000) {
        if !model.contains_key(&id) {
            assert!(found(&m, id).is_none(), "removed {id} still matches");
        }
    }
    m.save(&path).unwrap();
    check(&Matcher::open(&path).unwrap(), "reopened");
    println!(
        "soak: {} s, {ops} writer operations ({saves} saves), {} queries, {} entries at the end",
        soak_seconds(),
        queries.load(Ordering::Relaxed),
        model.len()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Run as a child process by the test below: saves a large matcher over `path` again and
/// again until killed.
#[test]
fn saver_child() {
    let Ok(path) = std::env::var("HASHMATCH_SAVER_PATH") else {
        return; // Only as the child of the test below.
    };
    let m = Matcher::new();
    m.add_list("big", ListSettings::default()).unwrap();
    m.insert_many("big", (0..400_000).map(entry)).unwrap();
    loop {
        m.save(&path).unwrap();
    }
}

fn temp_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().contains(".tmp-")
        })
        .count()
}

#[test]
fn a_process_killed_mid_save_leaves_a_snapshot_that_opens() {
    let dir = scratch("kill");
    let path = dir.join("lists.hmsnap");
    let small = Matcher::new();
    small.add_list("small", ListSettings::default()).unwrap();
    small.insert_many("small", (0..1000).map(entry)).unwrap();
    small.save(&path).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut kills_mid_save = 0;
    for round in 0..6u64 {
        let mut child = std::process::Command::new(&exe)
            .args(["--exact", "saver_child", "--nocapture", "--test-threads=1"])
            .env("HASHMATCH_SAVER_PATH", &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait until a save is under way (its temporary file exists), then a little more.
        let start = Instant::now();
        while temp_files(&dir) == 0 && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(round * 7));
        let mid_save = temp_files(&dir) > 0;
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        kills_mid_save += usize::from(mid_save);
        // Whatever the moment, the snapshot opens whole: the old one or a complete new one.
        let m = Matcher::open(&path).expect("the snapshot opens after a kill");
        let stats = m.stats();
        let entries = stats[0].entries;
        assert!(
            (stats[0].name.as_ref(), entries) == ("small", 1000)
                || (stats[0].name.as_ref(), entries) == ("big", 400_000),
            "round {round}: {stats:?}"
        );
        assert_eq!(m.query_radius(&hash(999), 0)[0].entry_id, 999);
    }
    assert!(kills_mid_save > 0, "no kill landed during a save");
    std::fs::remove_dir_all(dir).unwrap();
}
