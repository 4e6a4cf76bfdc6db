//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod synth_video;

use std::path::PathBuf;

/// `../shared` beside the repository (or `$HASHMATCH_SHARED`), if present.
///
/// Tests that need it call this and return early when it is `None`, printing why, so the default
/// suite passes on a fresh clone. Under CI (`CI` set) its absence is a failure: CI always has it.
pub fn shared_dir(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("HASHMATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    if dir.join("vectors").is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{test}: CI is set but the shared data is missing at {}",
            dir.display()
        );
    }
    eprintln!(
        "{test}: skipped, needs ../shared (not found at {})",
        dir.display()
    );
    None
}

/// The project's Python virtualenv with the reference oracle (pip `pdqhash`), if set up.
/// `.ci/run` creates it; locally `python3 -m venv .venv && .venv/bin/pip install pdqhash numpy Pillow`.
pub fn oracle_python(test: &str) -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("HASHMATCH_PYTHON").map(PathBuf::from),
        Some(root.join(".venv/bin/python")),
    ];
    for python in candidates.into_iter().flatten() {
        let ok = std::process::Command::new(&python)
            .args(["-c", "import pdqhash, numpy, PIL"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return Some(python);
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: CI is set but no Python with pdqhash, numpy and Pillow (.venv/bin/python)");
    }
    eprintln!(
        "{test}: skipped, needs a Python with pdqhash (.venv/bin/python or $HASHMATCH_PYTHON)"
    );
    None
}

/// Reads a CSV with a header row and no quoting; `#` lines are comments.
pub fn read_csv(path: &std::path::Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// Lossless PNG vector to (pixels, width, height, channels) exactly as stored (`RGB` or `L`).
pub fn load_png_exact(path: &std::path::Path) -> (Vec<u8>, u32, u32, u8) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (w, h) = (img.width(), img.height());
    match img {
        image::DynamicImage::ImageLuma8(g) => (g.into_raw(), w, h, 1),
        image::DynamicImage::ImageRgb8(c) => (c.into_raw(), w, h, 3),
        other => panic!(
            "{}: unexpected PNG colour type {:?}",
            path.display(),
            other.color()
        ),
    }
}

/// The records of a 30 fps video one per second, as the default vPDQ sampling keeps them
/// (`seconds_per_hash = 1`, HMA's and pytx's: frames 0, 30, 60, ...), from every-frame records.
pub fn per_second(
    features: &[hashmatch::video::VpdqFeature],
) -> Vec<hashmatch::video::VpdqFeature> {
    features
        .iter()
        .filter(|f| f.frame_number % 30 == 0)
        .copied()
        .collect()
}

/// Whether the `ffmpeg` CLI is installed (a test oracle and maker of test videos). Like
/// [`shared_dir`]: without it a test says so and skips, but under CI (`CI` set), which installs
/// it (`.ci/run`), its absence is a failure.
pub fn ffmpeg_cli(test: &str) -> bool {
    if std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok()
    {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: CI is set but the ffmpeg CLI is not installed"
    );
    eprintln!("{test}: skipped, the ffmpeg CLI is not installed");
    false
}
