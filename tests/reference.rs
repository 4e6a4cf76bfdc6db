//! PDQ against Meta's reference: the core vectors (hash, quality, dihedrals and the float
//! buffers, to the last bit) and the 400 generated vectors, from `../shared/vectors`.

mod common;

use std::path::Path;

use hashmatch::pdq::{self, Dihedral, LumaMode};
use hashmatch::{Error, Hash256, PixelFormat, PixelView};

fn view(pixels: &[u8], w: u32, h: u32, channels: u8) -> PixelView<'_> {
    let format = if channels == 1 {
        PixelFormat::Grey8
    } else {
        PixelFormat::Rgb8
    };
    PixelView::packed(pixels, w, h, format).unwrap()
}

fn read_f32s(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn key_values(path: &Path) -> std::collections::HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn core_vectors_exact_to_the_last_bit() {
    let Some(shared) = common::shared_dir("core_vectors_exact_to_the_last_bit") else {
        return;
    };
    let dir = shared.join("vectors/pdq/core");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let png = entry.unwrap().path();
        if png.extension().is_none_or(|e| e != "png") {
            continue;
        }
        let name = png.file_stem().unwrap().to_string_lossy().to_string();
        let expected = key_values(&dir.join(format!("{name}.expected.txt")));
        let (pixels, w, h, channels) = common::load_png_exact(&png);
        assert_eq!(expected["channels"], channels.to_string(), "{name}");
        let v = view(&pixels, w, h, channels);
        let want_hash: Hash256 = expected["hash"].parse().unwrap();
        let want_quality: u8 = expected["quality"].parse().unwrap();

        if w < pdq::MIN_DIMENSION || h < pdq::MIN_DIMENSION {
            // The reference gives the all-zero hash with quality 0; we refuse with an error.
            assert_eq!((want_hash, want_quality), (Hash256::ZERO, 0), "{name}");
            assert!(
                matches!(pdq::hash(&v), Err(Error::TooSmall { .. })),
                "{name}"
            );
            cases += 1;
            continue;
        }

        let floats = pdq::floats(&v, LumaMode::Reference).unwrap();
        let want_64 = read_f32s(&dir.join(format!("{name}.b64x64.f32")));
        let got_64: Vec<f32> = floats.downsampled.iter().flatten().copied().collect();
        let bad_64 = want_64
            .iter()
            .zip(&got_64)
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count();
        assert_eq!(
            bad_64, 0,
            "{name}: {bad_64} of 4096 floats of the 64x64 buffer differ"
        );
        let want_dct = read_f32s(&dir.join(format!("{name}.dct16x16.f32")));
        let got_dct: Vec<f32> = floats.dct.iter().flatten().copied().collect();
        let bad_dct = want_dct
            .iter()
            .zip(&got_dct)
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count();
        assert_eq!(bad_dct, 0, "{name}: {bad_dct} of 256 DCT floats differ");

        let got = pdq::hash(&v).unwrap();
        assert_eq!(got.hash, want_hash, "{name}: hash");
        assert_eq!(got.quality, want_quality, "{name}: quality");

        let dihedral = pdq::hash_dihedral(&v, LumaMode::Reference).unwrap();
        for d in Dihedral::ALL {
            let want: Hash256 = expected[d.name()].parse().unwrap();
            assert_eq!(dihedral.get(d), want, "{name}: {d}");
        }
        cases += 1;
    }
    assert_eq!(cases, 17, "expected the 17 core vectors");
}

#[test]
fn generated_vectors_equal_the_cpp_core_and_pip() {
    let Some(shared) = common::shared_dir("generated_vectors_equal_the_cpp_core_and_pip") else {
        return;
    };
    let dir = shared.join("vectors/pdq/random");
    let rows = common::read_csv(&dir.join("expected.csv"));
    let dihedral_rows = common::read_csv(&dir.join("dihedral.csv"));
    assert_eq!(
        rows[0][..6],
        ["file", "width", "height", "channels", "hash", "quality"]
    );
    let mut failures = Vec::new();
    let mut pip_differs_from_cpp = 0;
    for (row, drow) in rows[1..].iter().zip(&dihedral_rows[1..]) {
        assert_eq!(row[0], drow[0]);
        let (pixels, w, h, channels) = common::load_png_exact(&dir.join(&row[0]));
        assert_eq!(channels.to_string(), row[3], "{}", row[0]);
        let v = view(&pixels, w, h, channels);
        let want = (
            row[4].parse::<Hash256>().unwrap(),
            row[5].parse::<u8>().unwrap(),
        );
        let want_pip = (
            row[6].parse::<Hash256>().unwrap(),
            row[7].parse::<u8>().unwrap(),
        );
        if want != want_pip {
            pip_differs_from_cpp += 1;
        }
        if w < pdq::MIN_DIMENSION || h < pdq::MIN_DIMENSION {
            if want != (Hash256::ZERO, 0) || !matches!(pdq::hash(&v), Err(Error::TooSmall { .. })) {
                failures.push(format!("{}: below minimum size not refused", row[0]));
            }
            continue;
        }
        let got = pdq::hash_with(&v, LumaMode::Reference).unwrap();
        if (got.hash, got.quality) != want {
            failures.push(format!(
                "{}: C++ core {} q{}, got {} q{} ({} bits)",
                row[0],
                want.0,
                want.1,
                got.hash,
                got.quality,
                got.hash.distance(&want.0)
            ));
        }
        let pip = pdq::hash_with(&v, LumaMode::PipCompat).unwrap();
        if (pip.hash, pip.quality) != want_pip {
            failures.push(format!(
                "{}: pip {} q{}, PipCompat got {} q{} ({} bits)",
                row[0],
                want_pip.0,
                want_pip.1,
                pip.hash,
                pip.quality,
                pip.hash.distance(&want_pip.0)
            ));
        }
        let dihedral = pdq::hash_dihedral(&v, LumaMode::Reference).unwrap();
        for (d, want_hex) in Dihedral::ALL.iter().zip(&drow[1..]) {
            if dihedral.get(*d).to_string() != *want_hex {
                failures.push(format!("{}: dihedral {d} differs", row[0]));
            }
        }
    }
    assert_eq!(rows.len() - 1, 400);
    // The vectors document 56 images where pip's float64 luma changes the hash: both modes
    // must be exercised, or this test proves nothing about PipCompat.
    assert_eq!(pip_differs_from_cpp, 56);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The same vectors through every fast-path level this CPU runs and through the scalar
/// reference port (`pdq::hash` above only exercises the best level): the core vectors' float
/// buffers to the last bit, the generated vectors' hashes and qualities in both luma modes.
#[test]
fn every_level_and_the_reference_port_match_the_vectors() {
    use hashmatch::pdq::internals::{self, Level};
    let Some(shared) = common::shared_dir("every_level_and_the_reference_port_match_the_vectors")
    else {
        return;
    };
    let levels: Vec<Level> = Level::ALL
        .into_iter()
        .filter(|l| l.is_available())
        .collect();
    eprintln!("levels checked: {levels:?} and the reference port");
    let floats_by = |v: &PixelView<'_>, mode| {
        let mut all = vec![(
            "reference-port".to_string(),
            internals::floats_reference(v, mode).unwrap(),
        )];
        for &level in &levels {
            let f = internals::floats_at(level, v, mode).unwrap().unwrap();
            all.push((format!("{level:?}"), f));
        }
        all
    };

    let dir = shared.join("vectors/pdq/core");
    let mut core = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let png = entry.unwrap().path();
        if png.extension().is_none_or(|e| e != "png") {
            continue;
        }
        let name = png.file_stem().unwrap().to_string_lossy().to_string();
        let (pixels, w, h, channels) = common::load_png_exact(&png);
        if w < pdq::MIN_DIMENSION || h < pdq::MIN_DIMENSION {
            continue;
        }
        let v = view(&pixels, w, h, channels);
        let want_64 = read_f32s(&dir.join(format!("{name}.b64x64.f32")));
        let want_dct = read_f32s(&dir.join(format!("{name}.dct16x16.f32")));
        for (who, f) in floats_by(&v, LumaMode::Reference) {
            let got_64 = f.downsampled.iter().flatten().map(|x| x.to_bits());
            assert!(
                got_64.eq(want_64.iter().map(|x| x.to_bits())),
                "{name}: {who} 64x64"
            );
            let got_dct = f.dct.iter().flatten().map(|x| x.to_bits());
            assert!(
                got_dct.eq(want_dct.iter().map(|x| x.to_bits())),
                "{name}: {who} DCT"
            );
        }
        core += 1;
    }
    assert_eq!(core, 16, "core vectors of at least 5x5 checked");

    let random = shared.join("vectors/pdq/random");
    let rows = common::read_csv(&random.join("expected.csv"));
    // Unoptimised builds take every 10th (the whole set costs minutes there); release all.
    let step = if cfg!(debug_assertions) { 10 } else { 1 };
    let mut checked = 0;
    for row in rows[1..].iter().step_by(step) {
        let (pixels, w, h, channels) = common::load_png_exact(&random.join(&row[0]));
        if w < pdq::MIN_DIMENSION || h < pdq::MIN_DIMENSION {
            continue;
        }
        let v = view(&pixels, w, h, channels);
        for (mode, hash_col) in [(LumaMode::Reference, 4), (LumaMode::PipCompat, 6)] {
            let want = (
                row[hash_col].parse::<Hash256>().unwrap(),
                row[hash_col + 1].parse::<u8>().unwrap(),
            );
            let mut got = vec![(
                "reference-port".to_string(),
                internals::hash_reference(&v, mode).unwrap(),
            )];
            for &level in &levels {
                got.push((
                    format!("{level:?}"),
                    internals::hash_at(level, &v, mode).unwrap().unwrap(),
                ));
            }
            for (who, g) in got {
                assert_eq!((g.hash, g.quality), want, "{}: {who} {mode:?}", row[0]);
            }
        }
        checked += 1;
    }
    // 16 of the 400 are below the minimum size (checked for refusal above).
    if step == 1 {
        assert_eq!(checked, 384, "generated vectors checked");
    }
    assert!(checked > 0);
}
