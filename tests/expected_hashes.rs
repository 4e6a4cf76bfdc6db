//! End-to-end hashes of real files (decode + policy + PDQ) against the references' outputs in
//! `../shared/vectors/pdq/expected`:
//! * `pdqhash-fullres.csv`: Pillow `convert("RGB")` + pip `pdqhash` at full resolution, what HMA
//!   computes. Our `Native` policy with `PipCompat` luma.
//! * `cpp-cli.csv`: Meta's C++ CLI (ImageMagick decode, nearest-neighbour 512x512 squash).
//!   Our `Reference512` policy with `Reference` luma.

mod common;

use hashmatch::pdq::LumaMode;
use hashmatch::{Hash256, Hasher, HasherConfig, ResizePolicy};

struct Expected {
    hash: Hash256,
    quality: u8,
    path: String,
}

fn expected(csv: &str) -> Option<(std::path::PathBuf, Vec<Expected>)> {
    let shared = common::shared_dir(csv)?;
    let rows = common::read_csv(&shared.join("vectors/pdq/expected").join(csv));
    let rows = rows
        .into_iter()
        .map(|r| Expected {
            hash: r[0].parse().unwrap(),
            quality: r[1].parse().unwrap(),
            path: r[2].clone(),
        })
        .collect();
    Some((shared.join("vectors/pdq"), rows))
}

fn hasher(resize: ResizePolicy, luma: LumaMode) -> Hasher {
    Hasher::new(HasherConfig {
        resize,
        luma,
        quality_floor: 0,
        ..Default::default()
    })
}

/// Files where our documented pixel convention knowingly differs from the reference decoder.
fn excluded(path: &str) -> Option<&'static str> {
    match path {
        // 16-bit grey: Pillow clamps to 255, the C++ CLI keeps the low byte; we scale (v >> 8).
        "pytx-resources/I16.png" => Some("16-bit: every reference differs, we scale"),
        _ => None,
    }
}

/// How many bits a JPEG may differ when libjpeg-turbo is not compiled in (`image`'s decoder
/// differs from Pillow's by +-1-4 levels: measured max 6 bits, `jpeg-decoders.md`).
const PURE_RUST_JPEG_TOLERANCE: u32 = if cfg!(feature = "turbojpeg") { 0 } else { 6 };

/// Hashes each expected file and lists every one that differs by more than `tolerance(path)`
/// bits (with a tolerance, quality may move by 2), asserting that at least `min_checked` ran.
fn assert_files_match<'a>(
    hasher: &Hasher,
    root: &std::path::Path,
    rows: impl Iterator<Item = &'a Expected>,
    tolerance: impl Fn(&str) -> u32,
    min_checked: usize,
) {
    let mut failures = Vec::new();
    let mut checked = 0;
    for e in rows.filter(|e| excluded(&e.path).is_none()) {
        let tolerance = tolerance(&e.path);
        match hasher.hash_file(root.join(&e.path)) {
            Ok(got) => {
                let d = got.hash.distance(&e.hash);
                let quality_ok = got.quality == e.quality
                    || (tolerance > 0 && got.quality.abs_diff(e.quality) <= 2);
                if d > tolerance || !quality_ok {
                    failures.push(format!(
                        "{}: {d} bits, quality {} vs {}",
                        e.path, got.quality, e.quality
                    ));
                }
            }
            Err(err) => failures.push(format!("{}: {err}", e.path)),
        }
        checked += 1;
    }
    assert!(checked >= min_checked, "only {checked} files checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn native_equals_hma_pillow_and_pip_pdqhash() {
    let Some((root, rows)) = expected("pdqhash-fullres.csv") else {
        return;
    };
    let hasher = hasher(ResizePolicy::Native, LumaMode::PipCompat);
    let jpeg_tolerance = |path: &str| {
        if path.ends_with(".jpg") || path.ends_with(".jpeg") {
            PURE_RUST_JPEG_TOLERANCE
        } else {
            0
        }
    };
    assert_files_match(&hasher, &root, rows.iter(), jpeg_tolerance, 50);
}

#[test]
fn reference512_equals_the_cpp_cli_on_every_png() {
    let Some((root, rows)) = expected("cpp-cli.csv") else {
        return;
    };
    let hasher = hasher(ResizePolicy::Reference512, LumaMode::Reference);
    let pngs = rows.iter().filter(|e| e.path.ends_with(".png"));
    assert_files_match(&hasher, &root, pngs, |_| 0, 7);
}

/// Every JPEG of `../shared/corpus/dev` (582 real photos, clipart, screenshots):
/// * our PDQ core on our decoded pixels equals pip `pdqhash` on the same pixels (0 bits), with
///   the reference luma: the C++ core and pip agree on real photos;
/// * our whole pipeline (`Native`, `PipCompat`) equals Pillow + pip `pdqhash`, what HMA runs.
#[test]
fn corpus_differential_against_pip_pdqhash() {
    use std::io::{BufRead, Write};
    let Some(shared) = common::shared_dir("corpus_differential_against_pip_pdqhash") else {
        return;
    };
    let Some(python) = common::oracle_python("corpus_differential_against_pip_pdqhash") else {
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(shared.join("corpus/dev/originals"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 500, "corpus has {} files", files.len());

    let mut child = std::process::Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/oracle/pdq_oracle.py"
        ))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_oracle = std::io::BufWriter::new(child.stdin.take().unwrap());
    let mut from_oracle = std::io::BufReader::new(child.stdout.take().unwrap());

    let core = hasher(ResizePolicy::Native, LumaMode::Reference);
    let hma = hasher(ResizePolicy::Native, LumaMode::PipCompat);
    let options = core.config().decode;
    let (mut core_failures, mut hma_failures) = (Vec::new(), Vec::new());
    for path in &files {
        let decoded = hashmatch::decode::decode_file(path, &options).unwrap();
        let px = &decoded.pixels;
        let channels = px.format().bytes_per_pixel();
        writeln!(
            to_oracle,
            "{} {} {} {}",
            px.width(),
            px.height(),
            channels,
            path.display()
        )
        .unwrap();
        to_oracle.write_all(px.as_bytes()).unwrap();
        to_oracle.flush().unwrap();
        let mut line = String::new();
        from_oracle.read_line(&mut line).unwrap();
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            f.len(),
            4,
            "oracle answered {line:?} for {}",
            path.display()
        );
        let (pip_same_pixels, pip_q): (Hash256, u8) =
            (f[0].parse().unwrap(), f[1].parse().unwrap());
        let (pip_pillow, pillow_q): (Hash256, u8) = (f[2].parse().unwrap(), f[3].parse().unwrap());

        let ours = core.hash_pixels(&px.view()).unwrap();
        if (ours.hash, ours.quality) != (pip_same_pixels, pip_q) {
            core_failures.push(format!(
                "{}: {} bits",
                path.display(),
                ours.hash.distance(&pip_same_pixels)
            ));
        }
        let ours = hma.hash_file(path).unwrap();
        let d = ours.hash.distance(&pip_pillow);
        if d > PURE_RUST_JPEG_TOLERANCE
            || (PURE_RUST_JPEG_TOLERANCE == 0 && ours.quality != pillow_q)
        {
            hma_failures.push(format!("{}: {d} bits", path.display()));
        }
    }
    drop(to_oracle);
    assert!(child.wait().unwrap().success());
    assert!(
        core_failures.is_empty(),
        "core differs from pip on identical pixels:\n{}",
        core_failures.join("\n")
    );
    assert!(
        hma_failures.is_empty(),
        "pipeline differs from Pillow + pip:\n{}",
        hma_failures.join("\n")
    );
}
