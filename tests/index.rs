//! The indexes on real PDQ hashes: Meta's regression haystack (1350 hashes) and needles (100).

mod common;

use hashmatch::index::{self, BruteForce, HammingIndex, IndexKind, MultiIndex};
use hashmatch::Hash256;

fn read_hashes(path: &std::path::Path) -> Vec<Hash256> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().parse().unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn haystack_needles_equal_brute_force_at_31_and_32() {
    let Some(shared) = common::shared_dir("haystack_needles_equal_brute_force_at_31_and_32") else {
        return;
    };
    let dir = shared.join("vectors/pdq/reg-test-input");
    let haystack = read_hashes(&dir.join("haystack.txt"));
    let needles = read_hashes(&dir.join("needles.txt"));
    assert_eq!((haystack.len(), needles.len()), (1350, 100));
    let entries = || haystack.iter().enumerate().map(|(i, &h)| (i as u32, h));
    let oracle: BruteForce = entries().collect();
    let mut indexes: Vec<(String, Box<dyn HammingIndex>)> = IndexKind::ALL
        .into_iter()
        .map(|kind| (kind.name().to_string(), index::build(kind, entries())))
        .collect();
    // MIH answering radius 32 by 2-flip probes rather than its default scan.
    indexes.push((
        "mih probing 2 flips".into(),
        Box::new(entries().collect::<MultiIndex>().with_max_probe_flips(2)),
    ));
    for r in [31, 32] {
        let expected: Vec<_> = needles.iter().map(|q| oracle.radius(q, r)).collect();
        let matched = expected.iter().filter(|hits| !hits.is_empty()).count();
        assert!(matched > 0, "the needles are meant to match at {r}");
        for (name, index) in &indexes {
            for (q, want) in needles.iter().zip(&expected) {
                assert_eq!(&index.radius(q, r), want, "{name}, r = {r}, needle {q}");
            }
            assert_eq!(index.radius_many(&needles, r), expected, "{name}, batch");
            let multi = index.radius_multi(&needles, r);
            assert_eq!(
                multi.len(),
                expected.iter().map(Vec::len).sum::<usize>(),
                "{name}"
            );
            for (q, want) in needles.iter().zip(&expected) {
                assert_eq!(
                    index.knn(q, want.len().max(1)).len(),
                    want.len().max(1),
                    "{name}"
                );
                assert_eq!(index.knn(q, 5), oracle.knn(q, 5), "{name}, knn");
            }
        }
        eprintln!("r = {r}: {matched} of 100 needles match");
    }
}
