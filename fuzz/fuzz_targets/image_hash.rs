//! Image bytes (every format the decoder accepts) to a hash: a typed error or a hash, never a
//! panic; the DCT-dihedral and robust modes' first hash is the plain hash whenever both succeed.
#![no_main]

use hashmatch::robust::RobustOptions;
use hashmatch::{DecodeLimits, DecodeOptions, Hasher, HasherConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Default limits, but a smaller pixel budget so that a huge declared size is refused fast.
    let config = HasherConfig {
        decode: DecodeOptions {
            limits: DecodeLimits {
                max_pixels: 4 << 20,
                ..DecodeLimits::default()
            },
            ..DecodeOptions::default()
        },
        ..HasherConfig::default()
    };
    let hasher = Hasher::new(config);
    let plain = hasher.hash_bytes(data);
    if plain.is_ok() {
        let dihedral = hasher
            .dihedral_bytes(data)
            .expect("decoded once, decodes again");
        assert_eq!(dihedral.hashes[0], plain.as_ref().unwrap().hash);
    }
    // The robust mode hashes up to ~12 more images: only on small inputs, to keep the
    // fuzzer fast where mutations matter most (headers, small images).
    if data.len() > 32 << 10 {
        return;
    }
    let robust = hasher.robust_bytes(data, &RobustOptions::default());
    match (&plain, &robust) {
        (Ok(p), Ok(r)) => assert_eq!(r.hashes[0].pdq, *p, "robust mode changed the plain hash"),
        // A decode failure is the same failure in both modes.
        (Err(a), Err(b)) => assert_eq!(std::mem::discriminant(a), std::mem::discriminant(b)),
        // Only the quality floor may tell them apart (an extra hash may pass it).
        (Err(hashmatch::Error::LowQuality { .. }), Ok(_)) => {}
        (p, r) => panic!("plain {p:?} but robust {r:?}"),
    }
});
