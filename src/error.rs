//! The one error type of hashmatch.
//!
//! Every fallible call returns [`Result`]. Each variant names what went wrong and where, so a
//! caller can log it as is and a C or Go caller gets the same message through the C API. A
//! failure is never turned into "no match": an image that cannot be hashed is an error, not a
//! clean upload.

use std::path::PathBuf;

/// What an [`Error::Matcher`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MatcherErrorKind {
    /// No list has that name.
    UnknownList,
    /// A list of that name exists already.
    ListExists,
    /// The list has no entry with that id.
    UnknownEntry,
    /// The list has an entry with that id already (or an insert repeats the id).
    EntryExists,
    /// The operation cannot be done: an empty list name, more entries than the matcher holds.
    Refused,
}

/// Shorthand for `std::result::Result<T, hashmatch::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in hashmatch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A hash given as text is not a valid hash.
    #[error("invalid hash: {0}")]
    InvalidHash(#[from] HashParseError),

    /// Raw pixels handed to the hasher do not describe an image (buffer too short, stride too
    /// small, zero size).
    #[error("invalid pixel buffer: {reason}")]
    InvalidPixels {
        /// What is wrong with the buffer.
        reason: String,
    },

    /// The bytes are not an image in any supported format.
    #[error("unrecognised image format (first bytes: {magic})")]
    UnknownFormat {
        /// The first bytes of the input, in hex, to help identify what was uploaded.
        magic: String,
    },

    /// The bytes look like a supported format but could not be decoded (corrupt or truncated).
    #[error("cannot decode {format} image: {message}")]
    Decode {
        /// The format the bytes were sniffed as.
        format: &'static str,
        /// The decoder's own description of the problem.
        message: String,
    },

    /// A third-party decoder panicked on this input; the panic was caught.
    #[error("the {format} decoder crashed on this input (caught): {message}")]
    DecoderPanicked {
        /// The format the bytes were sniffed as.
        format: &'static str,
        /// The panic message.
        message: String,
    },

    /// The input exceeds a configured limit (see [`crate::DecodeLimits`]); nothing larger than
    /// the limit was allocated.
    #[error("{what} is {actual}, over the limit of {limit}")]
    TooLarge {
        /// Which quantity is over its limit (for example "image width", "pixel count").
        what: &'static str,
        /// The value found in the input.
        actual: u64,
        /// The configured limit.
        limit: u64,
    },

    /// A decoder stopped because decoding would exceed the memory limit.
    #[error("the {format} decoder would exceed the memory limit of {limit} bytes: {message}")]
    DecoderLimit {
        /// The format the bytes were sniffed as.
        format: &'static str,
        /// The configured limit ([`crate::DecodeLimits::max_alloc_bytes`]).
        limit: u64,
        /// The decoder's description.
        message: String,
    },

    /// The image is smaller than PDQ can hash (both sides must be at least
    /// [`crate::pdq::MIN_DIMENSION`] pixels).
    #[error(
        "image is {width}x{height}, too small to hash (each side must be at least {min} pixels)"
    )]
    TooSmall {
        /// Image width in pixels.
        width: u32,
        /// Image height in pixels.
        height: u32,
        /// The minimum side length.
        min: u32,
    },

    /// The image hashed, but its quality is below the configured floor: such hashes are mostly
    /// noise (flat or nearly flat images) and would match unrelated uploads.
    #[error("hash quality {quality} is below the floor of {floor}")]
    LowQuality {
        /// The quality PDQ computed (0-100).
        quality: u8,
        /// The configured floor.
        floor: u8,
    },

    /// A line of a hash list is malformed.
    #[error("{file}, line {line}: {reason}", file = file.display())]
    ListLine {
        /// The list file (or the name given to the text).
        file: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },

    /// A matcher operation refers to something that does not exist or already exists, or
    /// asks for something the matcher cannot hold; `kind` says which.
    #[error("{message}")]
    Matcher {
        /// Which refusal this is (for programs; the message is for people).
        kind: MatcherErrorKind,
        /// What went wrong, naming the list or entry.
        message: String,
    },

    /// The file is not a hashmatch snapshot: it does not start with [`crate::snapshot::MAGIC`]
    /// (an image, a text list, another program's file).
    #[error("{path} is not a hashmatch snapshot (it starts with {found})", path = path.display())]
    NotASnapshot {
        /// The file.
        path: PathBuf,
        /// Its first bytes, in hex.
        found: String,
    },

    /// The file is a hashmatch snapshot of a format version this build cannot read.
    #[error(
        "{path} is a snapshot of format version {found}; this build reads version {supported}",
        path = path.display()
    )]
    UnsupportedSnapshotVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build reads ([`crate::snapshot::VERSION`]).
        supported: u32,
    },

    /// The snapshot ends before the part its header or a section descriptor announces (an
    /// interrupted copy or download).
    #[error(
        "{path} is truncated: {section} needs {expected} bytes, the file has {found} left",
        path = path.display()
    )]
    SnapshotTruncated {
        /// The file.
        path: PathBuf,
        /// The part that is cut short ("header", "section 2 (lists)", ...).
        section: String,
        /// Bytes that part needs.
        expected: u64,
        /// Bytes the file has from where that part starts.
        found: u64,
    },

    /// A part of the snapshot does not match its checksum (the file was damaged).
    #[error("{path} is damaged: the checksum of {section} does not match", path = path.display())]
    SnapshotChecksum {
        /// The file.
        path: PathBuf,
        /// The part whose checksum failed ("header", "section 3 (hashes)", ...).
        section: String,
    },

    /// The snapshot's checksums hold, but its content is inconsistent (a list index out of
    /// range, a duplicate entry, invalid UTF-8, a length that does not fit): written by a
    /// faulty program, not damaged on disk.
    #[error("{path} is not a valid snapshot: {reason}", path = path.display())]
    SnapshotMalformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// No frame of the video reaches the quality floor, so it cannot be matched (and is not
    /// reported as "no match"): a blank, black or nearly static noise video.
    #[error("none of the video's {frames} hashed frames has a quality of at least {floor}: it cannot be matched")]
    VideoLowQuality {
        /// Hashed frames in the video.
        frames: usize,
        /// The quality floor.
        floor: u8,
    },

    /// A video hasher was given settings or calls it cannot honour (a frame rate that is not
    /// a positive number, a sampled frame skipped without its pixels).
    #[error("invalid video input: {reason}")]
    InvalidVideoInput {
        /// What is wrong.
        reason: String,
    },

    /// The video uses a container, codec or feature this build cannot decode (the message
    /// names it, and what is supported).
    #[error("unsupported video: {what}")]
    UnsupportedVideo {
        /// What is not supported ("codec hev1 (HEVC)", "fragmented MP4", ...).
        what: String,
    },

    /// A video could not be demuxed or decoded (corrupt or truncated). Frames decoded before
    /// the failure are counted; when a whole file was being hashed, their hashes are kept in
    /// `partial` so the caller can still match them, but the video is never reported clean.
    #[error("cannot decode video at frame {frame}: {message}")]
    VideoDecode {
        /// Frames decoded (in display order) before the failure.
        frame: u64,
        /// What went wrong.
        message: String,
        /// The vPDQ records of the frames hashed before the failure, if a whole video was
        /// being hashed (see [`crate::video::hash_file`]).
        partial: Option<Box<crate::video::VideoHash>>,
    },

    /// An evaluation (`hashmatch eval`) cannot run as asked: no usable original, no mode or
    /// threshold, a variants folder that names no original.
    #[error("evaluation: {reason}")]
    Eval {
        /// What is missing.
        reason: String,
    },

    /// An option is out of its range (an enrolment crop of 0 or 100 %, too many extra hashes).
    #[error("invalid option: {reason}")]
    InvalidOption {
        /// Which option and what it must be.
        reason: String,
    },

    /// A transparency report file is not one, is cut short, or fails its checksum.
    #[error("{path}: not a valid hashmatch report: {reason}", path = path.display())]
    ReportMalformed {
        /// The file (or the name given to the text).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// A line of a vPDQ file is malformed.
    #[error("{file}, line {line}: {reason}", file = file.display())]
    VpdqLine {
        /// The file (or the name given to the text).
        file: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },

    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {source}", path = path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// Why a hash string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashParseError {
    /// The string is empty.
    #[error("empty string")]
    Empty,
    /// The string has the wrong number of hex digits.
    #[error("expected {expected} hex digits, found {found}")]
    WrongLength {
        /// Digits a hash of this kind has.
        expected: usize,
        /// Characters found.
        found: usize,
    },
    /// A character is not a hex digit.
    #[error("character {character:?} at position {position} is not a hex digit")]
    NotHex {
        /// Zero-based character position.
        position: usize,
        /// The offending character.
        character: char,
    },
}
