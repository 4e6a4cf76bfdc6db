//! `hashmatch`: hash uploads with PDQ from the command line.
//!
//! Thin over the library: argument parsing, walking folders, parallelism, output formatting.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use hashmatch::pdq::{DihedralHashes, LumaMode, PdqHash};
use hashmatch::{DecodeOptions, Error, ExifOrientation, Hasher, HasherConfig, ResizePolicy};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

#[derive(Parser)]
#[command(
    name = "hashmatch",
    version,
    about = "Recognise known harmful images: PDQ hashing and matching"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Hash image files (folders are searched recursively) and print one line per image.
    ///
    /// Exit status: 0 when every file was hashed; 1 when a file could not be read or decoded
    /// (reported on stderr, the other files are still hashed); 3 when nothing failed but some
    /// images were too small or below the quality floor to give a usable hash.
    Hash(HashArgs),
}

#[derive(clap::Args)]
struct HashArgs {
    /// Image files or folders.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Pre-resize policy: native (HMA, full resolution), reference512 (Meta's C++ CLI), fast.
    #[arg(long, value_enum, default_value_t = PolicyArg::Native)]
    policy: PolicyArg,
    /// Luma formula: reference (Meta's C++ core) or pip (pip pdqhash / HMA, float64).
    #[arg(long, value_enum, default_value_t = LumaArg::Reference)]
    luma: LumaArg,
    /// Print the eight dihedral hashes (orig rot90 rot180 rot270 flipx flipy flipp flipm).
    #[arg(long)]
    dihedral: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Refuse hashes below this quality (0-100); such images are reported, not printed.
    #[arg(long, default_value_t = hashmatch::pdq::QUALITY_FLOOR, value_parser = clap::value_parser!(u8).range(0..=100))]
    min_quality: u8,
    /// Apply the EXIF orientation before hashing (no reference does; off by default).
    #[arg(long)]
    apply_exif: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Clone, Copy, ValueEnum)]
enum PolicyArg {
    Native,
    Reference512,
    Fast,
}

#[derive(Clone, Copy, ValueEnum)]
enum LumaArg {
    Reference,
    Pip,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// `<hash> <quality> <path>`
    Text,
    /// `hash,quality,path` with a header row
    Csv,
    /// One JSON object per line
    Json,
}

enum Hashed {
    One(PdqHash),
    Dihedral(Box<DihedralHashes>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Hash(args) => run_hash(args),
    }
}

fn run_hash(args: HashArgs) -> ExitCode {
    if let Some(n) = args.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
        {
            eprintln!("hashmatch: cannot start {n} threads: {e}");
            return ExitCode::from(2);
        }
    }
    let hasher = Hasher::new(HasherConfig {
        decode: DecodeOptions {
            exif: if args.apply_exif {
                ExifOrientation::Apply
            } else {
                ExifOrientation::Ignore
            },
            ..Default::default()
        },
        resize: match args.policy {
            PolicyArg::Native => ResizePolicy::Native,
            PolicyArg::Reference512 => ResizePolicy::Reference512,
            PolicyArg::Fast => ResizePolicy::Fast,
        },
        luma: match args.luma {
            LumaArg::Reference => LumaMode::Reference,
            LumaArg::Pip => LumaMode::PipCompat,
        },
        quality_floor: args.min_quality,
    });

    let (files, mut walk_failed) = collect_files(&args.paths);
    let progress = progress_bar(files.len() as u64);
    let results: Vec<hashmatch::Result<Hashed>> = files
        .par_iter()
        .map(|path| {
            let r = if args.dihedral {
                hasher
                    .dihedral_file(path)
                    .map(|d| Hashed::Dihedral(Box::new(d)))
            } else {
                hasher.hash_file(path).map(Hashed::One)
            };
            progress.inc(1);
            r
        })
        .collect();
    progress.finish_and_clear();

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.format == Format::Csv {
        let header = if args.dihedral {
            "orig,rot90,rot180,rot270,flipx,flipy,flipp,flipm,quality,path"
        } else {
            "hash,quality,path"
        };
        let _ = writeln!(out, "{header}");
    }
    let (mut failed, mut skipped) = (0usize, 0usize);
    for (path, result) in files.iter().zip(results) {
        match result {
            Ok(hashed) => {
                if write_record(&mut out, args.format, path, &hashed).is_err() {
                    // stdout closed (e.g. piped into `head`): nothing more to do.
                    return ExitCode::SUCCESS;
                }
            }
            Err(e @ (Error::LowQuality { .. } | Error::TooSmall { .. })) => {
                skipped += 1;
                eprintln!("hashmatch: {}: skipped: {e}", path.display());
            }
            Err(e) => {
                failed += 1;
                eprintln!("hashmatch: {}: {e}", path.display());
            }
        }
    }
    let _ = out.flush();
    walk_failed += failed;
    if walk_failed > 0 {
        eprintln!("hashmatch: {walk_failed} file(s) failed");
        ExitCode::from(1)
    } else if skipped > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}

/// Files named on the command line, and every file under the folders named, sorted per folder.
/// Unreadable paths are reported and counted.
fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, usize) {
    let mut files = Vec::new();
    let mut failed = 0;
    for path in paths {
        walk(path, &mut files, &mut failed);
    }
    (files, failed)
}

fn walk(path: &Path, files: &mut Vec<PathBuf>, failed: &mut usize) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("hashmatch: {}: {e}", path.display());
            *failed += 1;
            return;
        }
    };
    if !meta.is_dir() {
        files.push(path.to_path_buf());
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) => {
            eprintln!("hashmatch: {}: {e}", path.display());
            *failed += 1;
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        let hidden = child
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if !hidden {
            walk(&child, files, failed);
        }
    }
}

fn progress_bar(len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() || len < 2 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} images, {per_sec}, eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

fn write_record(
    out: &mut impl Write,
    format: Format,
    path: &Path,
    hashed: &Hashed,
) -> std::io::Result<()> {
    let path_text = path.display().to_string();
    match (format, hashed) {
        (Format::Text, Hashed::One(h)) => writeln!(out, "{} {} {path_text}", h.hash, h.quality),
        (Format::Text, Hashed::Dihedral(d)) => {
            let hashes: Vec<String> = d.hashes.iter().map(ToString::to_string).collect();
            writeln!(out, "{} {} {path_text}", hashes.join(" "), d.quality)
        }
        (Format::Csv, Hashed::One(h)) => {
            writeln!(out, "{},{},{}", h.hash, h.quality, csv_field(&path_text))
        }
        (Format::Csv, Hashed::Dihedral(d)) => {
            let hashes: Vec<String> = d.hashes.iter().map(ToString::to_string).collect();
            writeln!(
                out,
                "{},{},{}",
                hashes.join(","),
                d.quality,
                csv_field(&path_text)
            )
        }
        (Format::Json, Hashed::One(h)) => {
            let record =
                serde_json::json!({ "path": path_text, "hash": h.hash, "quality": h.quality });
            writeln!(out, "{record}")
        }
        (Format::Json, Hashed::Dihedral(d)) => {
            let dihedral: serde_json::Map<String, serde_json::Value> = d
                .iter()
                .map(|(which, hash)| (which.name().to_string(), hash.to_string().into()))
                .collect();
            let record = serde_json::json!({
                "path": path_text,
                "hash": d.hashes[0],
                "quality": d.quality,
                "dihedral": dihedral,
            });
            writeln!(out, "{record}")
        }
    }
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
