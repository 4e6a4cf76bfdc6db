//! Video bytes (MP4/MOV containers, H.264 streams) to vPDQ: a typed error or features, never a
//! panic, within limits that keep one input cheap.
#![no_main]

use hashmatch::video::{hash_bytes, VideoHasherConfig, VideoLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = VideoLimits {
        max_pixels: 1 << 20,
        max_frames: 30,
        ..VideoLimits::default()
    };
    let _ = hash_bytes(data.to_vec(), &VideoHasherConfig::default(), &limits);
});
