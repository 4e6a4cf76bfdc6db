//! `hashmatch`: hash uploads with PDQ from the command line.
//!
//! Thin over the library: argument parsing, walking folders, parallelism, output formatting.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use hashmatch::list::{read_list, ReadOptions};
use hashmatch::matcher::{ListSettings, Match, Matcher, QueryOptions};
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
    /// Hash uploads and match them against hash lists: one line (or JSON object) per upload
    /// naming every list entry within the list's threshold.
    ///
    /// The lists come from a snapshot (`--index`, made by `hashmatch index build`) and/or list
    /// files (`--list`): each becomes a list named after the file (hex lines, CSV
    /// `hash,entry_id[,label]`, or python-threatexchange / HMA exports). Exit status as for
    /// `hash`; a malformed list or snapshot is an error (status 2) unless `--lenient`.
    Match(MatchArgs),
    /// The main job: check every upload under the given folders against hash lists, in all eight
    /// orientations, then print a summary.
    ///
    /// Like `match` (same lists, options and per-upload output), but folders are the point
    /// (walked recursively, sorted, hidden files left out), mirrored and rotated copies are looked
    /// for by default (`--no-dihedral` to stop), and a summary goes to stderr: uploads scanned,
    /// matched, not matched, failed (could not be read or decoded: not checked, never counted as
    /// clean) and skipped (too small or below the quality floor: not checked either). Exit
    /// status as for `match`.
    Scan(ScanArgs),
    /// Build a matcher snapshot from list files (`index build`).
    #[command(subcommand)]
    Index(IndexCommand),
    /// Change the lists of a snapshot: import a list file, disable or enable an entry.
    #[command(subcommand)]
    List(ListCommand),
    /// Print each list of a snapshot: entries, disabled entries, threshold, enabled.
    Stats(StatsArgs),
}

#[derive(Subcommand)]
enum ListCommand {
    /// Add a list file to a snapshot (created if missing) as a new list, saved atomically.
    Import(ImportArgs),
    /// Stop an entry from matching (it stays stored, with the reason) after a wrong match.
    Disable(EntryArgs),
    /// Let a disabled entry match again.
    Enable(EntryArgs),
}

#[derive(clap::Args)]
struct ImportArgs {
    /// The snapshot to change.
    #[arg(long)]
    index: PathBuf,
    /// The list file to import.
    file: PathBuf,
    /// The new list's name (default: the file's name without extension).
    #[arg(long)]
    name: Option<String>,
    /// Largest distance that counts as a match for this list (PDQ: 31).
    #[arg(long, default_value_t = hashmatch::pdq::MATCH_THRESHOLD, value_parser = clap::value_parser!(u32).range(0..=256))]
    threshold: u32,
    /// Skip malformed lines (reported on stderr) instead of refusing the file.
    #[arg(long)]
    lenient: bool,
}

#[derive(clap::Args)]
struct EntryArgs {
    /// The snapshot to change.
    #[arg(long)]
    index: PathBuf,
    /// The list the entry belongs to.
    #[arg(long)]
    list: String,
    /// The entry's id in that list.
    #[arg(long)]
    entry: u64,
    /// Why (required to disable: it is kept with the entry).
    #[arg(long)]
    reason: Option<String>,
}

#[derive(Subcommand)]
enum IndexCommand {
    /// Read list files and save them as one snapshot, written atomically.
    Build(BuildArgs),
}

/// Where the lists come from (shared by `match`, `scan` and `index build`).
#[derive(clap::Args)]
struct ListArgs {
    /// A hash list file (repeat for several lists).
    #[arg(long = "list")]
    lists: Vec<PathBuf>,
    /// Largest distance that counts as a match for the lists read from files (PDQ: 31).
    #[arg(long, default_value_t = hashmatch::pdq::MATCH_THRESHOLD, value_parser = clap::value_parser!(u32).range(0..=256))]
    threshold: u32,
    /// Skip malformed list lines (reported on stderr) instead of refusing the list.
    #[arg(long)]
    lenient: bool,
}

#[derive(clap::Args)]
struct BuildArgs {
    #[command(flatten)]
    lists: ListArgs,
    /// The snapshot to write.
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
struct StatsArgs {
    /// A snapshot made by `hashmatch index build`.
    snapshot: PathBuf,
    /// Output format: text, or json.
    #[arg(long, value_enum, default_value_t = MatchFormat::Text)]
    format: MatchFormat,
}

/// How uploads are hashed (shared by `hash`, `match` and `scan`).
#[derive(clap::Args)]
struct HashingArgs {
    /// Pre-resize policy: native (HMA, full resolution), reference512 (Meta's C++ CLI), fast.
    #[arg(long, value_enum, default_value_t = PolicyArg::Native)]
    policy: PolicyArg,
    /// Luma formula: reference (Meta's C++ core) or pip (pip pdqhash / HMA, float64).
    #[arg(long, value_enum, default_value_t = LumaArg::Reference)]
    luma: LumaArg,
    /// Refuse hashes below this quality (0-100); such images are reported, not hashed.
    #[arg(long, default_value_t = hashmatch::pdq::QUALITY_FLOOR, value_parser = clap::value_parser!(u8).range(0..=100))]
    min_quality: u8,
    /// Apply the EXIF orientation before hashing (no reference does; off by default).
    #[arg(long)]
    apply_exif: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(clap::Args)]
struct HashArgs {
    /// Image files or folders.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    hashing: HashingArgs,
    /// Also print the hashes of the seven other dihedral orientations (rotations, mirrors).
    #[arg(long)]
    dihedral: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(clap::Args)]
struct MatchArgs {
    #[command(flatten)]
    uploads: UploadArgs,
    /// Also match the seven other orientations of each upload (rotated or mirrored copies).
    #[arg(long)]
    dihedral: bool,
}

#[derive(clap::Args)]
struct ScanArgs {
    #[command(flatten)]
    uploads: UploadArgs,
    /// Match each upload as it is only, not its rotations and mirror images.
    #[arg(long)]
    no_dihedral: bool,
}

/// Uploads, the lists to match them against, hashing and output (shared by `match` and `scan`).
#[derive(clap::Args)]
struct UploadArgs {
    /// Uploads: image files or folders (searched recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// A snapshot made by `hashmatch index build`.
    #[arg(long)]
    index: Option<PathBuf>,
    #[command(flatten)]
    lists: ListArgs,
    #[command(flatten)]
    hashing: HashingArgs,
    /// Output format: text, or json (one object per upload).
    #[arg(long, value_enum, default_value_t = MatchFormat::Text)]
    format: MatchFormat,
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

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MatchFormat {
    /// `<path>: <n> match(es)` then one indented line per match
    Text,
    /// One JSON object per line
    Json,
}

enum Hashed {
    One(PdqHash),
    Dihedral(Box<DihedralHashes>),
}

impl Hashed {
    fn quality(&self) -> u8 {
        match self {
            Hashed::One(h) => h.quality,
            Hashed::Dihedral(d) => d.quality,
        }
    }

    fn hash(&self) -> hashmatch::Hash256 {
        match self {
            Hashed::One(h) => h.hash,
            Hashed::Dihedral(d) => d.hashes[0],
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hash(args) => run_hash(args),
        Command::Match(args) => run_match(args),
        Command::Scan(args) => run_scan(args),
        Command::Index(command) => run_index(command),
        Command::List(command) => run_list(command),
        Command::Stats(args) => run_stats(args),
    };
    // An error here is about the run itself (threads, lists), not one upload: status 2.
    result.unwrap_or_else(|message| {
        eprintln!("hashmatch: {message}");
        ExitCode::from(2)
    })
}

/// What became of the files, counted for the exit status and `scan`'s summary.
#[derive(Default)]
struct Outcome {
    /// Uploads matched against the lists with at least one match.
    matched: usize,
    /// Uploads matched against the lists with no match.
    clean: usize,
    /// Files (or paths) that could not be read or decoded: never checked, never clean.
    failed: usize,
    /// Images too small or below the quality floor to give a usable hash: not checked either.
    skipped: usize,
    /// Stdout was closed (e.g. piped into `head`) before every record was written.
    stdout_closed: bool,
}

impl Outcome {
    /// Reports a file that gave no hash on stderr.
    fn report(&mut self, path: &Path, error: &Error) {
        if matches!(error, Error::LowQuality { .. } | Error::TooSmall { .. }) {
            self.skipped += 1;
            eprintln!("hashmatch: {}: skipped: {error}", path.display());
        } else {
            self.failed += 1;
            match error {
                // The message would name the path a second time.
                Error::Io { source, .. } => eprintln!("hashmatch: {}: {source}", path.display()),
                other => eprintln!("hashmatch: {}: {other}", path.display()),
            }
        }
    }

    /// Says on stderr how many files failed, if any.
    fn report_failed(&self) {
        if self.failed > 0 {
            eprintln!("hashmatch: {} file(s) failed", self.failed);
        }
    }

    /// `scan`'s summary on stderr; every upload is in exactly one count.
    fn report_summary(&self) {
        let scanned = self.matched + self.clean + self.failed + self.skipped;
        eprintln!(
            "hashmatch: {scanned} upload(s) scanned: {} matched, {} no match, {} failed \
             (could not be read or decoded; not checked), {} skipped (too small or below the \
             quality floor; not checked)",
            self.matched, self.clean, self.failed, self.skipped
        );
    }

    /// 0 all processed (or stdout closed), 1 some file failed, 3 some image skipped.
    fn exit_code(&self) -> ExitCode {
        if self.stdout_closed {
            ExitCode::SUCCESS
        } else if self.failed > 0 {
            ExitCode::from(1)
        } else if self.skipped > 0 {
            ExitCode::from(3)
        } else {
            ExitCode::SUCCESS
        }
    }
}

fn hasher_from(args: &HashingArgs) -> Hasher {
    Hasher::new(HasherConfig {
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
    })
}

/// Walks `paths`, hashes every file on all cores (progress bar on a terminal), and returns the
/// results in walk order. Unreadable paths are reported and counted in `outcome`.
fn hash_files(
    paths: &[PathBuf],
    args: &HashingArgs,
    dihedral: bool,
    outcome: &mut Outcome,
) -> Result<Vec<(PathBuf, hashmatch::Result<Hashed>)>, String> {
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| format!("cannot start {n} threads: {e}"))?;
    }
    let hasher = hasher_from(args);
    let (files, walk_failed) = collect_files(paths);
    outcome.failed += walk_failed;
    let progress = progress_bar(files.len() as u64);
    let results: Vec<hashmatch::Result<Hashed>> = files
        .par_iter()
        .map(|path| {
            let r = if dihedral {
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
    Ok(files.into_iter().zip(results).collect())
}

fn run_hash(args: HashArgs) -> Result<ExitCode, String> {
    let mut outcome = Outcome::default();
    let results = hash_files(&args.paths, &args.hashing, args.dihedral, &mut outcome)?;
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
    for (path, result) in &results {
        match result {
            Ok(hashed) => {
                if write_record(&mut out, args.format, path, hashed).is_err() {
                    // stdout closed (e.g. piped into `head`): nothing more to do.
                    return Ok(ExitCode::SUCCESS);
                }
            }
            Err(e) => outcome.report(path, e),
        }
    }
    let _ = out.flush();
    outcome.report_failed();
    Ok(outcome.exit_code())
}

/// Adds one list per file to `matcher`, named after the file's stem.
fn load_lists(matcher: &Matcher, args: &ListArgs) -> Result<(), String> {
    for path in &args.lists {
        add_list_file(matcher, path, None, args.threshold, args.lenient)?;
    }
    Ok(())
}

/// Reads one list file (reporting skipped lines in lenient mode) into a new list.
fn add_list_file(
    matcher: &Matcher,
    path: &Path,
    name: Option<&str>,
    threshold: u32,
    lenient: bool,
) -> Result<usize, String> {
    let name = name.map(str::to_string).unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| path.display().to_string())
    });
    let options = ReadOptions {
        format: None,
        lenient,
    };
    let parsed = read_list(path, &options).map_err(|e| e.to_string())?;
    for skipped in &parsed.skipped {
        eprintln!(
            "hashmatch: {}, line {}: skipped: {}",
            path.display(),
            skipped.line,
            skipped.reason
        );
    }
    if parsed.entries.is_empty() {
        return Err(format!("{}: no PDQ hashes in this list", path.display()));
    }
    let settings = ListSettings {
        threshold,
        enabled: true,
    };
    matcher
        .add_list(&name, settings)
        .and_then(|()| matcher.insert_many(&name, parsed.entries))
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn run_list(command: ListCommand) -> Result<ExitCode, String> {
    let index = match &command {
        ListCommand::Import(args) => &args.index,
        ListCommand::Disable(args) | ListCommand::Enable(args) => &args.index,
    };
    let matcher = if matches!(command, ListCommand::Import(_)) && !index.exists() {
        Matcher::new()
    } else {
        Matcher::open(index).map_err(|e| e.to_string())?
    };
    let message = match &command {
        ListCommand::Import(args) => {
            let added = add_list_file(
                &matcher,
                &args.file,
                args.name.as_deref(),
                args.threshold,
                args.lenient,
            )?;
            format!("imported {added} entries from {}", args.file.display())
        }
        ListCommand::Disable(args) => {
            let reason = args
                .reason
                .as_deref()
                .ok_or("list disable needs --reason (it is kept with the entry)")?;
            matcher
                .disable(&args.list, args.entry, reason)
                .map_err(|e| e.to_string())?;
            format!("disabled entry {} of list {:?}", args.entry, args.list)
        }
        ListCommand::Enable(args) => {
            matcher
                .enable(&args.list, args.entry)
                .map_err(|e| e.to_string())?;
            format!("enabled entry {} of list {:?}", args.entry, args.list)
        }
    };
    matcher.save(index).map_err(|e| e.to_string())?;
    eprintln!("hashmatch: {message}; saved {}", index.display());
    Ok(ExitCode::SUCCESS)
}

fn run_index(command: IndexCommand) -> Result<ExitCode, String> {
    let IndexCommand::Build(args) = command;
    if args.lists.lists.is_empty() {
        return Err("index build needs at least one --list".to_string());
    }
    let steps = progress_steps();
    steps.set_message("reading the lists");
    let matcher = Matcher::new();
    load_lists(&matcher, &args.lists)?;
    steps.set_message("building the index");
    matcher.compact();
    steps.set_message(format!("writing {}", args.out.display()));
    matcher.save(&args.out).map_err(|e| e.to_string())?;
    steps.finish_and_clear();
    let stats = matcher.stats();
    let entries: usize = stats.iter().map(|s| s.entries).sum();
    eprintln!(
        "hashmatch: wrote {}: {} list(s), {entries} entries",
        args.out.display(),
        stats.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn run_stats(args: StatsArgs) -> Result<ExitCode, String> {
    let matcher = Matcher::open(&args.snapshot).map_err(|e| e.to_string())?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for s in matcher.stats() {
        let written = match args.format {
            MatchFormat::Text => writeln!(
                out,
                "{}: {} entries, {} disabled, threshold {}, {}",
                s.name,
                s.entries,
                s.disabled,
                s.threshold,
                if s.enabled { "enabled" } else { "disabled" }
            ),
            MatchFormat::Json => writeln!(out, "{}", serde_json::json!(s)),
        };
        if written.is_err() {
            break;
        }
    }
    let _ = out.flush();
    Ok(ExitCode::SUCCESS)
}

fn run_match(args: MatchArgs) -> Result<ExitCode, String> {
    let outcome = match_uploads("match", &args.uploads, args.dihedral)?;
    if !outcome.stdout_closed {
        outcome.report_failed();
    }
    Ok(outcome.exit_code())
}

fn run_scan(args: ScanArgs) -> Result<ExitCode, String> {
    let outcome = match_uploads("scan", &args.uploads, !args.no_dihedral)?;
    if !outcome.stdout_closed {
        outcome.report_summary();
    }
    Ok(outcome.exit_code())
}

/// The lists uploads are matched against: a snapshot and/or list files.
fn open_lists(command: &str, args: &UploadArgs) -> Result<Matcher, String> {
    let matcher = match &args.index {
        Some(path) => Matcher::open(path).map_err(|e| e.to_string())?,
        None if args.lists.lists.is_empty() => {
            return Err(format!(
                "{command} needs --index SNAPSHOT or at least one --list"
            ))
        }
        None => Matcher::new(),
    };
    load_lists(&matcher, &args.lists)?;
    Ok(matcher)
}

/// What `match` and `scan` do per upload: hash it (all eight orientations if `dihedral`), match
/// it against the lists and print one record per upload; failures and skips go to stderr.
fn match_uploads(command: &str, args: &UploadArgs, dihedral: bool) -> Result<Outcome, String> {
    let matcher = open_lists(command, args)?;
    let mut outcome = Outcome::default();
    let results = hash_files(&args.paths, &args.hashing, dihedral, &mut outcome)?;
    // The hasher already enforced the quality floor.
    let options = QueryOptions { quality_floor: 0 };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (path, result) in &results {
        let hashed = match result {
            Ok(hashed) => hashed,
            Err(e) => {
                outcome.report(path, e);
                continue;
            }
        };
        let found = match hashed {
            Hashed::One(h) => matcher.query(h, &options),
            Hashed::Dihedral(d) => matcher.query_dihedral(d, &options),
        }
        .expect("the floor is 0, so a query cannot be refused");
        if found.is_empty() {
            outcome.clean += 1;
        } else {
            outcome.matched += 1;
        }
        if write_matches(&mut out, args.format, path, hashed, &found).is_err() {
            outcome.stdout_closed = true;
            return Ok(outcome);
        }
    }
    if out.flush().is_err() {
        outcome.stdout_closed = true;
    }
    Ok(outcome)
}

fn write_matches(
    out: &mut impl Write,
    format: MatchFormat,
    path: &Path,
    hashed: &Hashed,
    found: &[Match],
) -> std::io::Result<()> {
    match format {
        MatchFormat::Text => {
            let verdict = match found.len() {
                0 => "no match".to_string(),
                1 => "1 match".to_string(),
                n => format!("{n} matches"),
            };
            writeln!(out, "{}: {verdict}", path.display())?;
            for m in found {
                write!(
                    out,
                    "  list {} entry {} distance {} orientation {}",
                    m.list, m.entry_id, m.distance, m.orientation
                )?;
                match &m.label {
                    Some(label) => writeln!(out, " label {label:?}")?,
                    None => writeln!(out)?,
                }
            }
            Ok(())
        }
        MatchFormat::Json => {
            let record = serde_json::json!({
                "path": path.display().to_string(),
                "hash": hashed.hash(),
                "quality": hashed.quality(),
                "matches": found,
            });
            writeln!(out, "{record}")
        }
    }
}

/// Files named on the command line, and every file under the folders named, sorted per folder.
/// Unreadable paths are reported and counted.
/// Symbolic links are followed, but each folder is walked once, so a link to a folder above it
/// cannot loop.
fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, usize) {
    let mut files = Vec::new();
    let mut failed = 0;
    let mut walked = std::collections::HashSet::new();
    for path in paths {
        walk(path, &mut files, &mut failed, &mut walked);
    }
    (files, failed)
}

fn walk(
    path: &Path,
    files: &mut Vec<PathBuf>,
    failed: &mut usize,
    walked: &mut std::collections::HashSet<PathBuf>,
) {
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
    // A folder reached a second time (through a link) holds nothing new.
    if let Ok(real) = std::fs::canonicalize(path) {
        if !walked.insert(real) {
            return;
        }
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
            walk(&child, files, failed, walked);
        }
    }
}

/// A spinner naming the current step of a long command (on a terminal only).
fn progress_steps() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
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
