//! Hash text: a typed error, or a hash whose text reads back to it.
#![no_main]

use hashmatch::Hash256;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(hash) = text.parse::<Hash256>() {
        assert_eq!(hash.to_string().parse::<Hash256>().unwrap(), hash);
        assert_eq!(hash.to_string(), text.trim().to_ascii_lowercase());
    }
});
