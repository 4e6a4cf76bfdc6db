//! Hash list text in any format (hex lines, CSV, python-threatexchange / HMA exports): a typed
//! error naming the line, or entries that survive a write and a re-read unchanged.
#![no_main]

use std::path::Path;

use hashmatch::list::{format_list, parse_list, ListFormat, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = Path::new("fuzz.csv");
    for lenient in [false, true] {
        let options = ReadOptions {
            lenient,
            ..ReadOptions::default()
        };
        if let Ok(parsed) = parse_list(text, source, &options) {
            let written = format_list(&parsed.entries, ListFormat::Csv);
            let again = parse_list(&written, source, &ReadOptions::default())
                .expect("a written list reads back");
            assert_eq!(again.entries, parsed.entries);
        }
    }
});
