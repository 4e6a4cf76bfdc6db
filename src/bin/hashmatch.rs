//! `hashmatch`: hash uploads with PDQ from the command line.
//!
//! Thin over the library: argument parsing, walking folders, parallelism, output formatting.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use hashmatch::eval;
use hashmatch::eval::measure::{evaluate, Mode, Plan};
use hashmatch::eval::transforms::Transform;
use hashmatch::list::{read_list, Entry, ReadOptions};
use hashmatch::matcher::{ListSettings, Match, Matcher, QueryOptions};
use hashmatch::pdq::{DihedralHashes, LumaMode, PdqHash};
use hashmatch::report::{Media, Report, Verdict, VerdictPolicy};
use hashmatch::robust::enrol::{EnrolOptions, Variant};
use hashmatch::robust::{Region, RobustHashes};
use hashmatch::video::file::{format_vpdq, is_vpdq_file, read_video_list, read_vpdq, write_vpdq};
use hashmatch::video::{
    Container, VideoHash, VideoHasherConfig, VideoIndex, VideoMatch, VideoMatchOptions, VideoMd5,
};
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
    /// Videos: hash them to vPDQ, match them against video lists.
    #[command(subcommand)]
    Video(VideoCommand),
    /// Measure error rates on your own images: make transformed copies of a folder of
    /// originals (the 20 transforms of the dev corpus: re-encodes, resizes, crops, rotations,
    /// mirror, letterbox, screenshot, ...), list the originals, match every copy and every
    /// original in each query mode, and report per transform the share found and the false
    /// matches (pairs, and uploads with any unrelated match).
    Eval(EvalArgs),
    /// Transparency report: uploads checked and matched, and per list and technology the
    /// entries, disabled entries, matched uploads (by technique), confirmed matches and false
    /// positives, over the period the counts cover (`scan --record` counts; `verdict` adds
    /// reviewers' decisions). `report merge A B ...` adds up the reports of several service
    /// instances. Counts only: no pixels, paths or user identifiers are kept.
    Report(ReportArgs),
    /// Record a reviewer's verdict on a match: confirmed, or a false positive (which disables
    /// the entry, with the reason, by default at once); saves the snapshot and its counts.
    Verdict(VerdictArgs),
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct ReportArgs {
    #[command(subcommand)]
    merge: Option<ReportCommand>,
    /// The snapshot whose counts to report (its lists give the entries and disabled entries).
    #[arg(long)]
    index: Option<PathBuf>,
    /// The counts file (default: `<SNAPSHOT>.counts.json`).
    #[arg(long)]
    counts: Option<PathBuf>,
    /// Output format: a text summary, CSV (one row per list and technology), or JSON (the
    /// checksummed report file, which `report merge` reads).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Add up reports (JSON, from `report --format json` or the counts files) of several
    /// instances over the same lists.
    Merge(MergeArgs),
}

#[derive(clap::Args)]
struct MergeArgs {
    /// The reports to add up.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format, as for `report`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
enum VerdictArg {
    /// The match was right.
    Confirmed,
    /// The match was wrong.
    FalsePositive,
}

#[derive(clap::Args)]
struct VerdictArgs {
    /// The snapshot holding the entry (saved with the entry disabled after a false positive).
    #[arg(long)]
    index: PathBuf,
    /// The counts file (default: `<SNAPSHOT>.counts.json`).
    #[arg(long)]
    counts: Option<PathBuf>,
    /// The list the entry belongs to.
    #[arg(long)]
    list: String,
    /// The entry's id in that list.
    #[arg(long)]
    entry: u64,
    /// Why (required for a false positive: it becomes the entry's disable reason).
    #[arg(long)]
    reason: Option<String>,
    /// Disable the entry when its false positives since it was last enabled reach this many
    /// (0: never).
    #[arg(long, default_value_t = 1)]
    disable_after: u32,
    /// The verdict.
    verdict: VerdictArg,
}

#[derive(clap::Args)]
struct EvalArgs {
    /// Folder of original images (searched recursively); a file's name without extension is
    /// its id.
    #[arg(long)]
    originals: PathBuf,
    /// Read the transformed copies from this folder (files `<id>__<transform>.<ext>`, as the
    /// dev corpus names them) instead of making them.
    #[arg(long)]
    variants: Option<PathBuf>,
    /// Transforms to make, comma separated (default: all 20).
    #[arg(long, value_delimiter = ',', conflicts_with = "variants")]
    transforms: Vec<Transform>,
    /// Thresholds to evaluate, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "31")]
    thresholds: Vec<u32>,
    /// Query modes to compare, comma separated: plain, dct-dihedral, orientations, frames,
    /// tilt, robust, and enrolled, enrolled-robust (plain and robust queries against the
    /// originals enrolled with extra hashes) (default: all).
    #[arg(long, value_delimiter = ',')]
    modes: Vec<String>,
    /// The enrolled modes' centre crops, each the percentage of the area it keeps (1-99).
    #[arg(long, value_delimiter = ',', default_values_t = hashmatch::robust::enrol::DEFAULT_CROPS)]
    crops: Vec<u8>,
    /// The enrolled modes also store the originals' other orientations.
    #[arg(long)]
    enrol_orientations: bool,
    /// The enrolled modes store no trimmed picture of the originals.
    #[arg(long)]
    no_enrol_trim: bool,
    /// The robust modes' threshold for extra hashes.
    #[arg(long, default_value_t = hashmatch::robust::EXTRA_THRESHOLD)]
    extra_threshold: u32,
    /// Use only the first N originals (sorted by path).
    #[arg(long)]
    limit: Option<usize>,
    #[command(flatten)]
    hashing: HashingArgs,
    /// Output format: a text table, CSV (one row per threshold, mode and transform), or JSON.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Subcommand)]
enum VideoCommand {
    /// Decode videos (MP4 with H.264, pure Rust) and write their vPDQ records, one
    /// `frame,quality,hash,timestamp` line per hashed frame, as Meta's `vpdq-hash-video` does.
    ///
    /// One video is printed to stdout; with `--out DIR` every video is written to
    /// `DIR/<name>.txt`, a file that `--video-list` reads back. A video that fails to decode
    /// part-way is reported and not written. Exit status: 0 when every video was hashed, 1 when
    /// one failed.
    Hash(VideoHashArgs),
    /// Match videos (video files, or vPDQ files of videos hashed elsewhere) against video
    /// lists: one line (or JSON object) per video naming every known video it matches, with
    /// the share of its frames found in the known video and the other way round. Exit status
    /// as for `match`.
    Match(VideoMatchArgs),
}

#[derive(clap::Args)]
struct VideoHashArgs {
    /// Video files or folders (searched recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    sampling: SamplingArgs,
    /// Write each video's records to DIR/<file name without extension>.txt, and the MD5 of
    /// its bytes to DIR/<name>.md5 (a video list made of DIR then also finds exact copies
    /// without decoding them).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
struct VideoMatchArgs {
    /// Video files, or vPDQ files (`*.txt`, `*.vpdq`), or folders of either.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    videos: VideoListArgs,
    #[command(flatten)]
    sampling: SamplingArgs,
    /// Output format: text, or json (one object per video).
    #[arg(long, value_enum, default_value_t = MatchFormat::Text)]
    format: MatchFormat,
}

/// How videos are sampled (shared by the commands that hash videos).
#[derive(clap::Args)]
struct SamplingArgs {
    /// Seconds between hashed frames: 1 as HMA hashes, 0 for every frame (best for the
    /// known videos of a list: a clip cut anywhere then finds its frames).
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    seconds_per_hash: f64,
    /// Hash frames resized to N x N (box filter, aspect not kept), as the reference's
    /// `vpdq-hash-video -s N`; by default frames are hashed at their native size, as HMA hashes.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(5..=4096))]
    frame_side: Option<u32>,
}

/// Video lists, and when a video matches (shared by `match`, `scan` and `video match`).
#[derive(clap::Args)]
struct VideoListArgs {
    /// A video list: a folder of vPDQ files (one known video each, ids 1, 2, ... in file
    /// name order, labelled with the file name), each optionally with `<name>.md5` (its file's
    /// MD5: byte-identical uploads match without decoding), or one vPDQ file (repeat for
    /// several lists).
    #[arg(long = "video-list", value_name = "PATH")]
    video_lists: Vec<PathBuf>,
    /// Share of an upload's distinct frames (percent) that must be found in a known video.
    #[arg(long, default_value_t = 80.0, value_parser = percent)]
    min_query_percent: f64,
    /// Share of the known video's distinct frames (percent) that must be found in the upload.
    #[arg(long, default_value_t = 0.0, value_parser = percent)]
    min_candidate_percent: f64,
}

fn percent(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!("{s:?} is not a percentage from 0 to 100")),
    }
}

#[derive(Subcommand)]
enum ListCommand {
    /// Add a list file to a snapshot (created if missing) as a new list, saved atomically.
    Import(ImportArgs),
    /// Stop an entry from matching (it stays stored, with the reason) after a wrong match.
    Disable(EntryArgs),
    /// Let a disabled entry match again.
    Enable(EntryArgs),
    /// Add an image the service took down itself as one entry with extra hashes (the picture
    /// inside its frame, centre crops, and on request its other orientations), so that
    /// cropped or re-framed copies match it later. The list and the snapshot are created if missing.
    Enrol(EnrolArgs),
}

#[derive(clap::Args)]
struct EnrolArgs {
    /// The snapshot to change.
    #[arg(long)]
    index: PathBuf,
    /// The list to add the entry to.
    #[arg(long)]
    list: String,
    /// The entry's id in that list.
    #[arg(long)]
    entry: u64,
    /// A label kept with the entry (a case number; never a path or a user's name).
    #[arg(long)]
    label: Option<String>,
    /// Centre crops to store, each the percentage of the area it keeps (1-99).
    #[arg(long, value_delimiter = ',', default_values_t = hashmatch::robust::enrol::DEFAULT_CROPS)]
    crops: Vec<u8>,
    /// Do not store centre crops.
    #[arg(long, conflicts_with = "crops")]
    no_crops: bool,
    /// Also store the image's seven other orientations (for services that query only plainly:
    /// `scan --robust` finds turned copies with fewer false matches).
    #[arg(long)]
    orientations: bool,
    /// Do not store the picture inside the image's frame.
    #[arg(long)]
    no_trim: bool,
    #[command(flatten)]
    hashing: HashingArgs,
    /// The image taken down.
    image: PathBuf,
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
    /// The list accepts matches of the robust mode's extra hashes (`scan --robust`).
    #[arg(long)]
    robust: bool,
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
    /// The lists accept matches of the robust mode's extra hashes (`scan --robust`).
    #[arg(long)]
    robust: bool,
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
    #[arg(long, conflicts_with = "robust")]
    dihedral: bool,
    /// Print every hash of the robust mode, one line each: hash, quality, path, orientation,
    /// region (the plain hash first).
    #[arg(long)]
    robust: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(clap::Args)]
struct MatchArgs {
    #[command(flatten)]
    uploads: UploadArgs,
    /// Also match the seven other orientations of each upload (rotated or mirrored copies),
    /// through the DCT shortcut.
    #[arg(long, conflicts_with = "robust")]
    dihedral: bool,
    #[command(flatten)]
    robust: RobustArgs,
}

#[derive(clap::Args)]
struct ScanArgs {
    #[command(flatten)]
    uploads: UploadArgs,
    /// Match each upload as it is only, not its rotations and mirror images.
    #[arg(long, conflicts_with = "robust")]
    no_dihedral: bool,
    #[command(flatten)]
    robust: RobustArgs,
    /// Count this scan into the transparency counts (`hashmatch report`): read from and saved
    /// back to `--counts FILE` (default: `<SNAPSHOT>.counts.json` beside `--index`).
    #[arg(long)]
    record: bool,
    /// The counts file of `--record`.
    #[arg(long, requires = "record")]
    counts: Option<PathBuf>,
}

/// The robust query mode (shared by `match` and `scan`).
#[derive(clap::Args)]
struct RobustArgs {
    /// Robust mode: also hash each upload's eight orientations in pixel space, the picture
    /// inside uniform bars, and a picture embedded in a larger frame (screenshot, caption
    /// band); the match names the orientation and region that hit.
    #[arg(long)]
    robust: bool,
    /// In robust mode, the largest distance at which an extra hash (not the plain one) matches.
    #[arg(long, default_value_t = hashmatch::robust::EXTRA_THRESHOLD, requires = "robust")]
    extra_threshold: u32,
}

impl RobustArgs {
    /// The image mode these arguments ask for, or `otherwise`.
    fn mode_or(&self, otherwise: ImageMode) -> ImageMode {
        if self.robust {
            ImageMode::Robust(hashmatch::robust::RobustOptions {
                extra_threshold: self.extra_threshold,
                ..Default::default()
            })
        } else {
            otherwise
        }
    }
}

/// How `match` and `scan` query an image.
#[derive(Clone, Copy)]
enum ImageMode {
    /// The upload as it is.
    Plain,
    /// The eight orientations through the DCT shortcut.
    Dihedral,
    /// The robust mode.
    Robust(hashmatch::robust::RobustOptions),
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
    videos: VideoListArgs,
    #[command(flatten)]
    sampling: SamplingArgs,
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
    Robust(Box<RobustHashes>),
    /// A video's records; with the decoding error when it failed part-way (the records are
    /// those of the frames before it).
    Video(Box<VideoHash>, Option<String>),
    /// A video whose bytes are a known file (its MD5 is listed): not decoded.
    VideoCopy(Vec<VideoMatch>),
}

impl Hashed {
    /// The image's hash and quality (`None` for a video).
    fn image_hash(&self) -> Option<(hashmatch::Hash256, u8)> {
        match self {
            Hashed::One(h) => Some((h.hash, h.quality)),
            Hashed::Dihedral(d) => Some((d.hashes[0], d.quality)),
            Hashed::Robust(r) => r.plain().map(|h| (h.pdq.hash, h.pdq.quality)),
            Hashed::Video(..) | Hashed::VideoCopy(_) => None,
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
        Command::Video(VideoCommand::Hash(args)) => run_video_hash(args),
        Command::Video(VideoCommand::Match(args)) => run_video_match(args),
        Command::Eval(args) => run_eval(args),
        Command::Report(args) => run_report(args),
        Command::Verdict(args) => run_verdict(args),
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
        if matches!(
            error,
            Error::LowQuality { .. } | Error::TooSmall { .. } | Error::VideoLowQuality { .. }
        ) {
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

    /// Reports a file that failed with `message` (a video that failed to decode).
    fn report_message(&mut self, path: &Path, message: &str) {
        self.failed += 1;
        eprintln!("hashmatch: {}: {message}", path.display());
    }

    /// Counts an upload that was checked.
    fn count(&mut self, found: &Found) {
        if found.len() == 0 {
            self.clean += 1;
        } else {
            self.matched += 1;
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

/// Starts the worker threads `--threads` asks for (default: one per core).
fn start_threads(args: &HashingArgs) -> Result<(), String> {
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| format!("cannot start {n} threads: {e}"))?;
    }
    Ok(())
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
    mode: ImageMode,
    videos: Option<(&SamplingArgs, Option<&VideoIndex>)>,
    outcome: &mut Outcome,
) -> Result<Vec<(PathBuf, hashmatch::Result<Hashed>)>, String> {
    start_threads(args)?;
    let hasher = hasher_from(args);
    let (files, walk_failed) = collect_files(paths);
    outcome.failed += walk_failed;
    let results = in_parallel(&files, |path| match (Container::of_file(path), videos) {
        (Some(_), Some((sampling, known))) => hash_video(path, sampling, known),
        (Some(container), None) => Err(Error::UnsupportedVideo {
            what: format!(
                "{container} video: this command hashes images (`hashmatch video hash` \
                 hashes videos)"
            ),
        }),
        (None, _) => match mode {
            ImageMode::Plain => hasher.hash_file(path).map(Hashed::One),
            ImageMode::Dihedral => hasher
                .dihedral_file(path)
                .map(|d| Hashed::Dihedral(Box::new(d))),
            ImageMode::Robust(options) => hasher
                .robust_file(path, &options)
                .map(|r| Hashed::Robust(Box::new(r))),
        },
    });
    Ok(files.into_iter().zip(results).collect())
}

fn run_hash(args: HashArgs) -> Result<ExitCode, String> {
    let mut outcome = Outcome::default();
    let mode = if args.robust {
        ImageMode::Robust(Default::default())
    } else if args.dihedral {
        ImageMode::Dihedral
    } else {
        ImageMode::Plain
    };
    let results = hash_files(&args.paths, &args.hashing, mode, None, &mut outcome)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.format == Format::Csv {
        let header = if args.dihedral {
            "orig,rot90,rot180,rot270,flipx,flipy,flipp,flipm,quality,path"
        } else if args.robust {
            "hash,quality,path,orientation,region"
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
/// Adds one list per file to `matcher`, named after the file's stem; `robust`: the lists accept
/// the robust mode's extra hashes.
fn load_lists(matcher: &Matcher, args: &ListArgs, robust: bool) -> Result<(), String> {
    for path in &args.lists {
        let settings = ListSettings {
            threshold: args.threshold,
            enabled: true,
            robust,
        };
        add_list_file(matcher, path, None, settings, args.lenient)?;
    }
    Ok(())
}

/// Reads one list file (reporting skipped lines in lenient mode) into a new list.
fn add_list_file(
    matcher: &Matcher,
    path: &Path,
    name: Option<&str>,
    settings: ListSettings,
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
    matcher
        .add_list(&name, settings)
        .and_then(|()| matcher.insert_many(&name, parsed.entries))
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn run_list(command: ListCommand) -> Result<ExitCode, String> {
    let index = match &command {
        ListCommand::Import(args) => &args.index,
        ListCommand::Disable(args) | ListCommand::Enable(args) => &args.index,
        ListCommand::Enrol(args) => &args.index,
    };
    let creates = matches!(command, ListCommand::Import(_) | ListCommand::Enrol(_));
    let matcher = if creates && !index.exists() {
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
                ListSettings {
                    threshold: args.threshold,
                    enabled: true,
                    robust: args.robust,
                },
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
        ListCommand::Enrol(args) => {
            let options = EnrolOptions {
                orientations: args.orientations,
                trimmed: !args.no_trim,
                crops: if args.no_crops {
                    Vec::new()
                } else {
                    args.crops.clone()
                },
            };
            let enrolment = hasher_from(&args.hashing)
                .enrolment_file(&args.image, &options)
                .map_err(|e| e.to_string())?;
            if !matcher.stats().iter().any(|l| *l.name == args.list) {
                matcher
                    .add_list(&args.list, ListSettings::default())
                    .map_err(|e| e.to_string())?;
            }
            let entry = Entry {
                hash: enrolment.hash.hash,
                id: args.entry,
                label: args.label.clone(),
            };
            matcher
                .enrol(&args.list, entry, &enrolment.extra_hashes())
                .map_err(|e| e.to_string())?;
            format!(
                "enrolled {} as entry {} of list {:?} with {} extra hashes",
                args.image.display(),
                args.entry,
                args.list,
                enrolment.extras.len()
            )
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
    load_lists(&matcher, &args.lists, args.robust)?;
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
                "{}: {} entries{}, {} disabled, threshold {}, {}{}",
                s.name,
                s.entries,
                match s.extra_hashes {
                    0 => String::new(),
                    n => format!(" ({n} extra hashes)"),
                },
                s.disabled,
                s.threshold,
                if s.enabled { "enabled" } else { "disabled" },
                if s.robust { ", robust" } else { "" }
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
    let plain = if args.dihedral {
        ImageMode::Dihedral
    } else {
        ImageMode::Plain
    };
    let outcome = match_uploads("match", &args.uploads, args.robust.mode_or(plain), None)?;
    if !outcome.stdout_closed {
        outcome.report_failed();
    }
    Ok(outcome.exit_code())
}

fn run_scan(args: ScanArgs) -> Result<ExitCode, String> {
    let plain = if args.no_dihedral {
        ImageMode::Plain
    } else {
        ImageMode::Dihedral
    };
    let record = if args.record {
        Some(counts_path(
            args.uploads.index.as_deref(),
            args.counts.as_deref(),
        )?)
    } else {
        None
    };
    let outcome = match_uploads(
        "scan",
        &args.uploads,
        args.robust.mode_or(plain),
        record.as_deref(),
    )?;
    if !outcome.stdout_closed {
        outcome.report_summary();
    }
    Ok(outcome.exit_code())
}

/// The lists uploads are matched against: a snapshot and/or list files (which accept robust
/// matches when the query is robust).
fn open_lists(command: &str, args: &UploadArgs, mode: ImageMode) -> Result<Matcher, String> {
    let matcher = match &args.index {
        Some(path) => Matcher::open(path).map_err(|e| e.to_string())?,
        None if args.lists.lists.is_empty() => {
            return Err(format!(
                "{command} needs --index SNAPSHOT or at least one --list"
            ))
        }
        None => Matcher::new(),
    };
    let robust = matches!(mode, ImageMode::Robust(_));
    load_lists(&matcher, &args.lists, robust)?;
    if robust && !matcher.stats().iter().any(|l| l.robust) {
        eprintln!(
            "hashmatch: no list accepts robust matches (index build --robust, list import \
             --robust): only the plain hash is matched"
        );
    }
    Ok(matcher)
}

/// What `match` and `scan` do per upload: hash it (all eight orientations if `dihedral`; a
/// video to its vPDQ records), match it against the lists and print one record per upload;
/// failures and skips go to stderr.
fn match_uploads(
    command: &str,
    args: &UploadArgs,
    mode: ImageMode,
    record: Option<&Path>,
) -> Result<Outcome, String> {
    let matcher = open_lists(command, args, mode)?;
    let videos = open_video_lists(&args.videos)?;
    let saved = match record {
        Some(path) => restore_counts(&matcher, path)?,
        None => {
            matcher.set_counting(false);
            None
        }
    };
    if let (Some(saved), Some(videos)) = (&saved, &videos) {
        videos.restore_counts(saved);
    }
    let mut outcome = Outcome::default();
    let results = hash_files(
        &args.paths,
        &args.hashing,
        mode,
        Some((&args.sampling, videos.as_ref())),
        &mut outcome,
    )?;
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
            Hashed::One(h) => Found::Images(
                matcher
                    .query(h, &options)
                    .expect("the floor is 0, so a query cannot be refused"),
            ),
            Hashed::Dihedral(d) => Found::Images(
                matcher
                    .query_dihedral(d, &options)
                    .expect("the floor is 0, so a query cannot be refused"),
            ),
            Hashed::Robust(r) => Found::Images(
                matcher
                    .query_robust(r, &options)
                    .expect("the floor is 0, so a query cannot be refused"),
            ),
            Hashed::VideoCopy(found) => Found::Videos(found.clone()),
            Hashed::Video(video, decode_error) => {
                match query_video(videos.as_ref(), path, video, decode_error, &mut outcome) {
                    Some(found) => Found::Videos(found),
                    None => continue,
                }
            }
        };
        outcome.count(&found);
        if write_matches(&mut out, args.format, path, hashed, &found).is_err() {
            outcome.stdout_closed = true;
            break;
        }
    }
    if !outcome.stdout_closed && out.flush().is_err() {
        outcome.stdout_closed = true;
    }
    if let Some(path) = record {
        let mut report = matcher.report();
        match (&videos, &saved) {
            (Some(videos), _) => report.merge(&videos.report()),
            // No video lists this time: the saved video counts are kept as they were.
            (None, Some(saved)) => report.merge(&saved.only(Media::Video)),
            (None, None) => {}
        }
        report.save(path).map_err(|e| e.to_string())?;
    }
    Ok(outcome)
}

/// The counts file of a snapshot: `explicit`, or `<SNAPSHOT>.counts.json`.
fn counts_path(index: Option<&Path>, explicit: Option<&Path>) -> Result<PathBuf, String> {
    match (explicit, index) {
        (Some(path), _) => Ok(path.to_path_buf()),
        (None, Some(index)) => {
            let mut name = index.as_os_str().to_owned();
            name.push(".counts.json");
            Ok(PathBuf::from(name))
        }
        (None, None) => Err("counting needs --index SNAPSHOT or --counts FILE".into()),
    }
}

/// Adds the counts saved at `path` (if the file exists) to the matcher's.
fn restore_counts(matcher: &Matcher, path: &Path) -> Result<Option<Report>, String> {
    if !path.exists() {
        return Ok(None);
    }
    let saved = Report::load(path).map_err(|e| e.to_string())?;
    matcher.restore_counts(&saved);
    Ok(Some(saved))
}

/// The matcher's report with the video counts of `saved` (kept by the video index, which
/// these commands do not open).
fn with_saved_videos(matcher: &Matcher, saved: Option<&Report>) -> Report {
    let mut report = matcher.report();
    if let Some(saved) = saved {
        report.merge(&saved.only(Media::Video));
    }
    report
}

fn print_report(report: &Report, format: Format) -> Result<ExitCode, String> {
    let text = match format {
        Format::Text => hashmatch::report::text(report),
        Format::Csv => hashmatch::report::csv(report),
        Format::Json => report.to_json() + "\n",
    };
    let mut out = std::io::stdout().lock();
    // A closed stdout (`| head`) is not an error of the report.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    Ok(ExitCode::SUCCESS)
}

fn run_report(args: ReportArgs) -> Result<ExitCode, String> {
    if let Some(ReportCommand::Merge(merge)) = args.merge {
        let mut reports = merge
            .files
            .iter()
            .map(|f| Report::load(f).map_err(|e| e.to_string()));
        let mut sum = reports
            .next()
            .ok_or("report merge needs at least one file")??;
        for report in reports {
            sum.merge(&report?);
        }
        return print_report(&sum, merge.format);
    }
    let index = args
        .index
        .as_deref()
        .ok_or("report needs --index SNAPSHOT (or: report merge FILES)")?;
    let matcher = Matcher::open(index).map_err(|e| e.to_string())?;
    let saved = restore_counts(&matcher, &counts_path(Some(index), args.counts.as_deref())?)?;
    print_report(&with_saved_videos(&matcher, saved.as_ref()), args.format)
}

fn run_verdict(args: VerdictArgs) -> Result<ExitCode, String> {
    let matcher = Matcher::open(&args.index).map_err(|e| e.to_string())?;
    let counts = counts_path(Some(&args.index), args.counts.as_deref())?;
    let saved = restore_counts(&matcher, &counts)?;
    matcher.set_verdict_policy(VerdictPolicy {
        disable_after: args.disable_after,
    });
    let verdict = match args.verdict {
        VerdictArg::Confirmed => Verdict::Confirmed,
        VerdictArg::FalsePositive => Verdict::FalsePositive(
            args.reason
                .clone()
                .ok_or("a false-positive verdict needs --reason (it is kept with the entry)")?,
        ),
    };
    let outcome = matcher
        .record_verdict(&args.list, args.entry, &verdict)
        .map_err(|e| e.to_string())?;
    // The counts first: a crash between the two saves loses the disable, not the verdict.
    with_saved_videos(&matcher, saved.as_ref())
        .save(&counts)
        .map_err(|e| e.to_string())?;
    matcher.save(&args.index).map_err(|e| e.to_string())?;
    eprintln!(
        "hashmatch: recorded {} for entry {} of list {:?}{}; saved {} and {}",
        match verdict {
            Verdict::Confirmed => "a confirmed match".to_string(),
            Verdict::FalsePositive(_) => format!(
                "a false positive ({} since it was last enabled)",
                outcome.false_positives
            ),
        },
        args.entry,
        args.list,
        if outcome.disabled {
            ", entry disabled"
        } else {
            ""
        },
        args.index.display(),
        counts.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// What one upload matched.
enum Found {
    Images(Vec<Match>),
    Videos(Vec<VideoMatch>),
}

impl Found {
    fn len(&self) -> usize {
        match self {
            Found::Images(m) => m.len(),
            Found::Videos(m) => m.len(),
        }
    }
}

/// Matches a hashed video against the video lists, or reports why it cannot be (and returns
/// `None`): no video list, no usable frame, or a decoding failure with no match among the
/// frames before it (never counted as clean).
fn query_video(
    videos: Option<&VideoIndex>,
    path: &Path,
    video: &VideoHash,
    decode_error: &Option<String>,
    outcome: &mut Outcome,
) -> Option<Vec<VideoMatch>> {
    let Some(index) = videos else {
        outcome.skipped += 1;
        eprintln!(
            "hashmatch: {}: skipped: a video, and no --video-list was given (not checked)",
            path.display()
        );
        return None;
    };
    let found = match index.query(&video.features) {
        Ok(found) => found,
        Err(e) => {
            match decode_error {
                Some(message) => outcome.report_message(path, message),
                None => outcome.report(path, &e),
            }
            return None;
        }
    };
    if let Some(message) = decode_error {
        if found.is_empty() {
            outcome.report_message(path, message);
            return None;
        }
        // A match among the frames that decoded is still a match: report both.
        eprintln!(
            "hashmatch: {}: {message} (matched on the {} frames hashed before it)",
            path.display(),
            video.features.len()
        );
    }
    Some(found)
}

fn write_matches(
    out: &mut impl Write,
    format: MatchFormat,
    path: &Path,
    hashed: &Hashed,
    found: &Found,
) -> std::io::Result<()> {
    match format {
        MatchFormat::Text => {
            let verdict = match found.len() {
                0 => "no match".to_string(),
                1 => "1 match".to_string(),
                n => format!("{n} matches"),
            };
            writeln!(out, "{}: {verdict}", path.display())?;
            let label_of = |label: &Option<std::sync::Arc<str>>| match label {
                Some(label) => format!(" label {label:?}"),
                None => String::new(),
            };
            match found {
                Found::Images(found) => {
                    for m in found {
                        writeln!(
                            out,
                            "  list {} entry {} distance {} orientation {}{}{}{}",
                            m.list,
                            m.entry_id,
                            m.distance,
                            m.orientation,
                            match m.region {
                                Region::Whole => String::new(),
                                region => format!(" region {region}"),
                            },
                            match m.variant {
                                Variant::Listed => String::new(),
                                variant => format!(" via enrolled {variant}"),
                            },
                            label_of(&m.label)
                        )?;
                    }
                }
                Found::Videos(found) => {
                    for m in found.iter().filter(|m| m.exact_bytes) {
                        writeln!(
                            out,
                            "  list {} entry {} video exact copy (file MD5){}",
                            m.list,
                            m.entry_id,
                            label_of(&m.label)
                        )?;
                    }
                    for m in found.iter().filter(|m| !m.exact_bytes) {
                        writeln!(
                            out,
                            "  list {} entry {} video frames {:.1}% of upload, {:.1}% of known{}",
                            m.list,
                            m.entry_id,
                            m.query_percent,
                            m.candidate_percent,
                            label_of(&m.label)
                        )?;
                    }
                }
            }
            Ok(())
        }
        MatchFormat::Json => {
            let record = match (hashed, found) {
                (Hashed::Video(video, decode_error), Found::Videos(found)) => serde_json::json!({
                    "path": path.display().to_string(),
                    "media": "video",
                    "frames": video.frame_count,
                    "hashed_frames": video.features.len(),
                    "decode_error": decode_error,
                    "matches": found,
                }),
                (_, Found::Images(found)) => {
                    let (hash, quality) = hashed.image_hash().unzip();
                    serde_json::json!({
                        "path": path.display().to_string(),
                        "hash": hash,
                        "quality": quality,
                        "matches": found,
                    })
                }
                (_, Found::Videos(found)) => serde_json::json!({
                    "path": path.display().to_string(),
                    "media": "video",
                    "matches": found,
                }),
            };
            writeln!(out, "{record}")
        }
    }
}

/// Decodes and hashes a video; a failure part-way keeps the records before it, with the error.
/// With video lists that hold MD5 digests, a file whose MD5 is listed is reported as that copy
/// without decoding.
fn hash_video(
    path: &Path,
    sampling: &SamplingArgs,
    known: Option<&VideoIndex>,
) -> hashmatch::Result<Hashed> {
    if let Some(index) = known.filter(|index| index.has_md5()) {
        let exact = index.query_md5(&VideoMd5::of_file(path)?);
        if !exact.is_empty() {
            return Ok(Hashed::VideoCopy(exact));
        }
    }
    let config = VideoHasherConfig {
        seconds_per_hash: sampling.seconds_per_hash,
        frame_side: sampling.frame_side,
    };
    match hashmatch::video::hash_file(path, &config, &Default::default()) {
        Ok(video) => Ok(Hashed::Video(Box::new(video), None)),
        Err(Error::VideoDecode {
            partial: Some(partial),
            frame,
            message,
        }) if !partial.features.is_empty() => {
            let error = Error::VideoDecode {
                frame,
                message,
                partial: None,
            };
            Ok(Hashed::Video(partial, Some(error.to_string())))
        }
        Err(e) => Err(e),
    }
}

/// The video lists of `--video-list`, one list per path, named after the folder or file.
fn open_video_lists(args: &VideoListArgs) -> Result<Option<VideoIndex>, String> {
    if args.video_lists.is_empty() {
        return Ok(None);
    }
    let mut index = VideoIndex::new(VideoMatchOptions {
        min_query_percent: args.min_query_percent,
        min_candidate_percent: args.min_candidate_percent,
        ..Default::default()
    });
    for path in &args.video_lists {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| path.display().to_string());
        let videos = read_video_list(path).map_err(|e| e.to_string())?;
        if videos.is_empty() {
            return Err(format!(
                "{}: no vPDQ files in this video list",
                path.display()
            ));
        }
        index
            .add_list(&name)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        for v in videos {
            let failed = |e: hashmatch::Error| format!("{}: {}: {e}", path.display(), v.label);
            if !v.features.is_empty() {
                index
                    .insert(&name, v.id, Some(&v.label), &v.features)
                    .map_err(failed)?;
            }
            for md5 in &v.md5 {
                index
                    .insert_md5(&name, v.id, Some(&v.label), *md5)
                    .map_err(failed)?;
            }
        }
    }
    Ok(Some(index))
}

fn run_video_hash(args: VideoHashArgs) -> Result<ExitCode, String> {
    let (files, walk_failed) = collect_files(&args.paths);
    if files.len() > 1 && args.out.is_none() {
        return Err(format!(
            "{} videos: give --out DIR to write one vPDQ file per video",
            files.len()
        ));
    }
    let mut outcome = Outcome {
        failed: walk_failed,
        ..Default::default()
    };
    let results = in_parallel(&files, |path| hash_video(path, &args.sampling, None));
    for (path, result) in files.iter().zip(results) {
        match result {
            Ok(Hashed::Video(video, None)) => match &args.out {
                Some(dir) => {
                    let stem = path.file_stem().unwrap_or(path.as_os_str());
                    let target = dir.join(Path::new(stem).with_extension("txt"));
                    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                    write_vpdq(&target, &video.features).map_err(|e| e.to_string())?;
                    // The file's MD5 beside it: a list made from this folder then finds
                    // byte-identical uploads without decoding them.
                    let md5 = VideoMd5::of_file(path).map_err(|e| e.to_string())?;
                    let md5_file = target.with_extension("md5");
                    std::fs::write(&md5_file, format!("{md5}\n"))
                        .map_err(|e| format!("{}: {e}", md5_file.display()))?;
                    eprintln!(
                        "hashmatch: {}: {} frames, {} hashed -> {} (and {})",
                        path.display(),
                        video.frame_count,
                        video.features.len(),
                        target.display(),
                        md5_file.display()
                    );
                }
                None => {
                    let mut out = std::io::stdout().lock();
                    if out
                        .write_all(format_vpdq(&video.features).as_bytes())
                        .is_err()
                    {
                        return Ok(ExitCode::SUCCESS);
                    }
                }
            },
            Ok(Hashed::Video(_, Some(message))) => outcome.report_message(path, &message),
            Ok(_) => unreachable!("hash_video returns videos"),
            Err(e) => outcome.report(path, &e),
        }
    }
    outcome.report_failed();
    Ok(outcome.exit_code())
}

/// `hash` applied to every file on all cores, with a progress bar on a terminal.
fn in_parallel(
    files: &[PathBuf],
    hash: impl Fn(&Path) -> hashmatch::Result<Hashed> + Sync,
) -> Vec<hashmatch::Result<Hashed>> {
    let progress = progress_bar(files.len() as u64);
    let results = files
        .par_iter()
        .map(|path| {
            let r = hash(path);
            progress.inc(1);
            r
        })
        .collect();
    progress.finish_and_clear();
    results
}

fn run_eval(args: EvalArgs) -> Result<ExitCode, String> {
    start_threads(&args.hashing)?;
    let mut modes = Mode::standard();
    for (_, mode) in &mut modes {
        if let Mode::Robust(options) | Mode::Enrolled(options) = mode {
            if *options != hashmatch::robust::RobustOptions::PLAIN {
                options.extra_threshold = args.extra_threshold;
            }
        }
    }
    if !args.modes.is_empty() {
        if let Some(unknown) = args
            .modes
            .iter()
            .find(|m| !modes.iter().any(|(n, _)| n == *m))
        {
            let known: Vec<_> = modes.iter().map(|(n, _)| n.as_str()).collect();
            return Err(format!(
                "unknown mode {unknown:?} (modes: {})",
                known.join(", ")
            ));
        }
        modes.retain(|(n, _)| args.modes.contains(n));
    }
    let (mut files, walk_failed) = collect_files(std::slice::from_ref(&args.originals));
    if walk_failed > 0 {
        return Err(format!(
            "cannot read every file under {}",
            args.originals.display()
        ));
    }
    files.truncate(args.limit.unwrap_or(usize::MAX));
    let originals: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|path| {
            let id = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            std::fs::read(path)
                .map(|bytes| (id, bytes))
                .map_err(|e| format!("{}: {e}", path.display()))
        })
        .collect::<Result<_, _>>()?;
    // Copies read from a folder, by original id; or the transforms to make.
    let from_folder = match &args.variants {
        Some(dir) => Some(variant_files(dir, &originals)?),
        None => None,
    };
    let transforms = if args.transforms.is_empty() {
        Transform::ALL.to_vec()
    } else {
        args.transforms.clone()
    };
    let progress = progress_bar(originals.len() as u64);
    let plan = Plan {
        hasher: hasher_from(&args.hashing),
        modes,
        thresholds: args.thresholds.clone(),
        enrol: hashmatch::robust::enrol::EnrolOptions {
            orientations: args.enrol_orientations,
            trimmed: !args.no_enrol_trim,
            crops: args.crops.clone(),
        },
        progress: &|| progress.inc(1),
    };
    let variants = |i: usize, bytes: &[u8]| -> Vec<(String, hashmatch::Result<Vec<u8>>)> {
        match &from_folder {
            Some(files) => files
                .get(&originals[i].0)
                .into_iter()
                .flatten()
                .map(|(name, path)| {
                    let bytes = std::fs::read(path).map_err(|e| Error::Io {
                        path: path.clone(),
                        source: e,
                    });
                    (name.clone(), bytes)
                })
                .collect(),
            None => {
                let original = image::load_from_memory(bytes).map(|img| img.to_rgb8());
                transforms
                    .iter()
                    .map(|t| {
                        let made = match &original {
                            Ok(img) => t.apply(img),
                            Err(e) => Err(Error::Eval {
                                reason: format!("cannot decode the original: {e}"),
                            }),
                        };
                        (t.name().to_string(), made)
                    })
                    .collect()
            }
        }
    };
    let evaluation = evaluate(&originals, variants, &plan).map_err(|e| e.to_string())?;
    progress.finish_and_clear();
    let text = match args.format {
        Format::Text => eval::report::text(&evaluation),
        Format::Csv => eval::report::csv(&evaluation),
        Format::Json => {
            serde_json::to_string_pretty(&evaluation).map_err(|e| e.to_string())? + "\n"
        }
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// The files of a variants folder, `<id>__<transform>.<ext>`, grouped by original id (sorted
/// by transform name). Files that name no original are an error: the folder does not belong
/// to these originals.
fn variant_files(
    dir: &Path,
    originals: &[(String, Vec<u8>)],
) -> Result<std::collections::HashMap<String, Vec<(String, PathBuf)>>, String> {
    let ids: std::collections::HashSet<&str> =
        originals.iter().map(|(id, _)| id.as_str()).collect();
    let (files, walk_failed) = collect_files(&[dir.to_path_buf()]);
    if walk_failed > 0 {
        return Err(format!("cannot read every file under {}", dir.display()));
    }
    let mut out: std::collections::HashMap<String, Vec<(String, PathBuf)>> = Default::default();
    let mut unknown = 0usize;
    for path in files {
        let stem = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let Some((id, transform)) = stem.split_once("__") else {
            return Err(format!(
                "{}: not named <id>__<transform>.<ext>",
                path.display()
            ));
        };
        if !ids.contains(id) {
            unknown += 1;
            continue;
        }
        out.entry(id.to_string())
            .or_default()
            .push((transform.to_string(), path));
    }
    if out.is_empty() {
        return Err(format!(
            "no file under {} names one of the {} originals",
            dir.display(),
            originals.len()
        ));
    }
    if unknown > 0 {
        eprintln!("hashmatch: {unknown} variant file(s) name no original in use (left out)");
    }
    for v in out.values_mut() {
        v.sort();
    }
    Ok(out)
}

fn run_video_match(args: VideoMatchArgs) -> Result<ExitCode, String> {
    let index =
        open_video_lists(&args.videos)?.ok_or("video match needs at least one --video-list")?;
    let (files, walk_failed) = collect_files(&args.paths);
    let mut outcome = Outcome {
        failed: walk_failed,
        ..Default::default()
    };
    let results = in_parallel(&files, |path| {
        if is_vpdq_file(path) {
            read_vpdq(path).map(|features| {
                let video = VideoHash {
                    features,
                    frame_count: 0,
                    frames_per_second: 0.0,
                };
                Hashed::Video(Box::new(video), None)
            })
        } else {
            hash_video(path, &args.sampling, Some(&index))
        }
    });
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (path, result) in files.iter().zip(results) {
        let hashed = match result {
            Ok(hashed) => hashed,
            Err(e) => {
                outcome.report(path, &e);
                continue;
            }
        };
        let found = match &hashed {
            Hashed::VideoCopy(found) => found.clone(),
            Hashed::Video(video, decode_error) => {
                match query_video(Some(&index), path, video, decode_error, &mut outcome) {
                    Some(found) => found,
                    None => continue,
                }
            }
            _ => unreachable!("only videos are hashed here"),
        };
        let found = Found::Videos(found);
        outcome.count(&found);
        if write_matches(&mut out, args.format, path, &hashed, &found).is_err() {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let _ = out.flush();
    outcome.report_failed();
    Ok(outcome.exit_code())
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
        (Format::Text | Format::Csv, Hashed::Robust(r)) => {
            let sep = if format == Format::Csv { "," } else { " " };
            let path = if format == Format::Csv {
                csv_field(&path_text)
            } else {
                path_text
            };
            for h in &r.hashes {
                let fields = [
                    h.pdq.hash.to_string(),
                    h.pdq.quality.to_string(),
                    path.clone(),
                    h.orientation.to_string(),
                    h.region.to_string(),
                ];
                writeln!(out, "{}", fields.join(sep))?;
            }
            Ok(())
        }
        (Format::Json, Hashed::Robust(r)) => {
            let record = serde_json::json!({ "path": path_text, "hashes": r.hashes });
            writeln!(out, "{record}")
        }
        (_, Hashed::Video(video, _)) => write!(out, "{}", format_vpdq(&video.features)),
        (_, Hashed::VideoCopy(_)) => unreachable!("`hash` checks no video list"),
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
