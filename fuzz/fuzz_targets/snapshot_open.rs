//! Arbitrary bytes opened as a snapshot, through the memory-mapped path: a typed error, or a
//! matcher that answers queries and saves to the same content.
#![no_main]

use hashmatch::matcher::Matcher;
use hashmatch::Hash256;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("hashmatch-fuzz-{}.hmsnap", std::process::id()));
    std::fs::write(&path, data).unwrap();
    if let Ok(matcher) = Matcher::open(&path) {
        let stats = matcher.stats();
        for q in [Hash256::ZERO, Hash256::from_words([!0; 4])] {
            let _ = matcher.query_radius(&q, 64);
            let _ = matcher.knn(&q, 3);
        }
        let again = dir.join(format!(
            "hashmatch-fuzz-{}-again.hmsnap",
            std::process::id()
        ));
        matcher.save(&again).unwrap();
        let reopened = Matcher::open(&again).expect("a saved snapshot reopens");
        assert_eq!(reopened.stats(), stats);
    }
});
