//! vPDQ lines (`frame,quality,hash,timestamp`): a typed error naming the line, or features that
//! survive a write and a re-read.
#![no_main]

use std::path::Path;

use hashmatch::video::file::{format_vpdq, parse_vpdq};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(features) = parse_vpdq(text, Path::new("fuzz.txt")) {
        let again = parse_vpdq(&format_vpdq(&features), Path::new("again.txt"))
            .expect("written vPDQ reads back");
        assert_eq!(again.len(), features.len());
        for (a, b) in again.iter().zip(&features) {
            assert_eq!(
                (a.frame_number, a.quality, a.hash),
                (b.frame_number, b.quality, b.hash)
            );
        }
    }
});
