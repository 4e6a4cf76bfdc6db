//! How close `hashmatch::eval::transforms` comes to Pillow: for every original in a folder and
//! every transform, the PDQ distance between our variant and the one
//! `scripts/eval/make_variants.py` wrote with Pillow, how far each is from the original, and
//! whether both fall on the same side of distance 31.
//!
//! Give both sides the same pixels, as PNG: without the `turbojpeg` feature, `image` decodes a
//! JPEG original slightly differently from Pillow, which would add that difference to every
//! row. The table in `eval::transforms`' documentation came from 60 dev originals (20 photos,
//! 10 of each other category) made so:
//!
//! ```text
//! python -c 'import sys, pathlib, PIL.Image as I; [I.open(p).convert("RGB").save("png/" + pathlib.Path(p).stem + ".png") for p in sys.argv[1:]]' ORIGINALS...
//! python scripts/eval/make_variants.py png pillow
//! cargo run --release --example transform_crosscheck -- png pillow [ours]
//! ```
//!
//! With a third folder, our variants are written there too, named as Pillow's, to look at.

use std::path::{Path, PathBuf};

use hashmatch::eval::transforms::Transform;
use hashmatch::{Hash256, Hasher, HasherConfig};

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let (originals, pillow, write_to) = match args.as_slice() {
        [o, p] => (o, p, None),
        [o, p, w] => (o, p, Some(w)),
        _ => {
            eprintln!(
                "usage: transform_crosscheck ORIGINALS_DIR PILLOW_VARIANTS_DIR [OUR_VARIANTS_DIR]"
            );
            std::process::exit(2);
        }
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(originals)
        .unwrap_or_else(|e| panic!("{}: {e}", originals.display()))
        .map(|e| e.expect("readable folder").path())
        .collect();
    files.sort();
    let hasher = Hasher::new(HasherConfig {
        quality_floor: 0,
        ..Default::default()
    });
    let hash = |bytes: &[u8], what: &dyn std::fmt::Display| -> Hash256 {
        match hasher.hash_bytes(bytes) {
            Ok(h) => h.hash,
            Err(e) => panic!("{what}: {e}"),
        }
    };

    // Per transform: (ours vs Pillow, ours vs original, Pillow's vs original), and the
    // original where ours and Pillow's differ most.
    let mut rows: Vec<Vec<(u32, u32, u32)>> = vec![Vec::new(); Transform::ALL.len()];
    let mut worst: Vec<(u32, String)> = vec![(0, String::new()); Transform::ALL.len()];
    for path in &files {
        let id = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("UTF-8 file name");
        let bytes = std::fs::read(path).expect("readable original");
        let original = hash(&bytes, &path.display());
        let img = image::load_from_memory(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .to_rgb8();
        for (i, t) in Transform::ALL.into_iter().enumerate() {
            let ours = t.apply(&img).unwrap_or_else(|e| panic!("{id} {t}: {e}"));
            let name = format!("{id}__{t}.{}", t.extension());
            if let Some(dir) = write_to {
                std::fs::write(dir.join(&name), &ours).expect("writable output folder");
            }
            let theirs_path: &Path = &pillow.join(name);
            let theirs = std::fs::read(theirs_path)
                .unwrap_or_else(|e| panic!("{}: {e}", theirs_path.display()));
            let (ours, theirs) = (hash(&ours, &t), hash(&theirs, &theirs_path.display()));
            let apart = ours.distance(&theirs);
            if apart > worst[i].0 || worst[i].1.is_empty() {
                worst[i] = (apart, id.to_owned());
            }
            rows[i].push((apart, ours.distance(&original), theirs.distance(&original)));
        }
    }

    println!("{} originals; PDQ distances (bits of 256)\n", files.len());
    println!("| transform | ours vs Pillow: median | max (where) | ours vs original: median | Pillow vs original: median | same decision at 31 |");
    println!("|---|---|---|---|---|---|");
    for ((t, row), (max, at)) in Transform::ALL.iter().zip(&rows).zip(&worst) {
        let median = |f: fn(&(u32, u32, u32)) -> u32| {
            let mut v: Vec<u32> = row.iter().map(f).collect();
            v.sort_unstable();
            v.get(v.len() / 2).copied().unwrap_or(0)
        };
        let same = row.iter().filter(|r| (r.1 <= 31) == (r.2 <= 31)).count();
        println!(
            "| {t} | {} | {max} ({at}) | {} | {} | {same}/{} |",
            median(|r| r.0),
            median(|r| r.1),
            median(|r| r.2),
            row.len()
        );
    }
}
