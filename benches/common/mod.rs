//! Shared by the benches: the synthetic test image, files for the Python peer, and reading
//! criterion's estimates back for the summary tables.
#![allow(dead_code)]

use std::path::PathBuf;

use hashmatch::Hash256;

/// A deterministic photo-like RGB image: smooth illumination, a few soft shapes, fine texture
/// and a little sensor noise, so the filters see realistic value ranges.
pub fn photo(w: u32, h: u32) -> Vec<u8> {
    let mut state = 0x1234_5678_9abc_def0u64 ^ ((w as u64) << 32 | h as u64);
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 17) as f32 - 8.0
    };
    let (fw, fh) = (w as f32, h as f32);
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let (u, v) = (x as f32 / fw, y as f32 / fh);
            let light = 60.0 + 120.0 * (1.0 - (u - 0.3).abs()) * (1.0 - 0.5 * v);
            let (dx, dy) = (u - 0.62, v - 0.45);
            let disc = if dx * dx + dy * dy < 0.04 { 70.0 } else { 0.0 };
            // Texture at a fixed fraction of the image, so every size sees the same picture.
            let texture = 12.0 * ((u * 150.0).sin() * (v * 110.0).cos())
                + 8.0 * ((u * 23.0 + v * 31.0).sin());
            let sky = if v < 0.25 {
                40.0 * (0.25 - v) * 4.0
            } else {
                0.0
            };
            let base = light + disc + texture;
            let px = [
                base + 0.6 * disc + noise(),
                base * 0.9 + sky * 0.5 + noise(),
                base * 0.7 + sky + noise(),
            ];
            out.extend(px.map(|c| c.clamp(0.0, 255.0) as u8));
        }
    }
    out
}

/// The folder where benches leave their inputs for `benches/peers/pip_pdqhash.py`, so the
/// Python peer times the very same pixels and bytes: `target/bench-data`.
pub fn peer_data_dir() -> PathBuf {
    target_dir().join("bench-data")
}

/// Writes `bytes` to `name` in [`peer_data_dir`].
pub fn save_for_peers(name: &str, bytes: &[u8]) {
    let dir = peer_data_dir();
    std::fs::create_dir_all(&dir).expect("create target/bench-data");
    std::fs::write(dir.join(name), bytes).expect("write bench data");
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Mean time in ms of one benchmark from criterion's saved estimates, if present.
pub fn mean_ms(group: &str, function: &str) -> Option<f64> {
    let path = target_dir()
        .join("criterion")
        .join(group.replace('/', "_"))
        .join(function)
        .join("new/estimates.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    Some(json["mean"]["point_estimate"].as_f64()? / 1e6)
}

/// SplitMix64 (shared by the benches): deterministic data without a `rand` dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn hash(&mut self) -> Hash256 {
        Hash256::from_words([self.next(), self.next(), self.next(), self.next()])
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn flip(&mut self, h: Hash256, bits: u64) -> Hash256 {
        let mut h = h;
        for _ in 0..bits {
            let b = self.below(256) as usize;
            let v = h.bit(b);
            h.set_bit(b, !v);
        }
        h
    }
}
