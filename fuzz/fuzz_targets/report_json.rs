//! Transparency report files: a typed error (malformed, checksum), or a report that writes and
//! reads back to itself.
#![no_main]

use hashmatch::report::Report;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(report) = Report::from_json(text, "fuzz.json".as_ref()) {
        let again = Report::from_json(&report.to_json(), "again.json".as_ref())
            .expect("a written report reads back");
        assert_eq!(again, report);
    }
});
