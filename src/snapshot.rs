//! Binary snapshots of a whole [`Matcher`]: [`Matcher::save`] and [`Matcher::open`].
//!
//! A snapshot holds every list (name, threshold, enabled flag), every entry (hash, id, label,
//! disable reason) and the multi-index tables over the hashes, laid out as the matcher holds
//! them in memory. [`Matcher::open`] maps the file and checks it; the entry columns and the
//! index are then used in place, not parsed or rebuilt, so ten million entries open in well
//! under a second and several processes opening the same snapshot share its pages. Entries
//! removed before the save are not in it (the save compacts first). A kind forced with
//! [`Matcher::with_index`] is not kept: the tables are stored when the matcher used the
//! multi-index, else the kind is chosen again on open ([`crate::IndexKind::choose`]).
//!
//! # Format, version 3
//!
//! All integers little-endian. Checksums are CRC-32 (IEEE, as in zip and PNG).
//!
//! ```text
//! header, 24 bytes
//!   0  magic          8 bytes  "HMSNAP\r\n" (MAGIC; \r\n catches text-mode copies)
//!   8  version        u32      3 (VERSION; version 2 files, which lack section 14, still open)
//!  12  flags          u32      0 (none defined yet)
//!  16  section count  u32      14 (13 in version 2)
//!  20  header CRC     u32      over bytes 0..20
//! then each section, in the order of the table below:
//!   0  kind           u32      its number in the table
//!   4  payload length u64
//!  12  payload CRC    u32
//!  16  descriptor CRC u32      over bytes 0..16 and the padding
//!  20  padding        zero bytes up to the next multiple of 64 in the file
//!      payload
//! and nothing after the last section.
//!
//!  1 strings        count u32, then per string: byte length u32, UTF-8 bytes (list names
//!                   and disable reasons; equal strings stored once)
//!  2 lists          28 bytes per list: name u32 (string number), threshold u32, flags u32
//!                   (bit 0: enabled, bit 1: robust), entries u64, disabled u64 (checked against the entries)
//!  3 hashes         n x 32 bytes: the four 64-bit words of each hash, least significant first
//!  4 entry ids      n x u64
//!  5 entry lists    n x u32: the entry's list, numbered as in section 2
//!  6 entry labels   n x u32: number of the label in sections 7-8, 0xFFFF_FFFF for none
//!  7 label offsets  (labels + 1) x u64: label k is bytes offsets[k]..offsets[k + 1] of 8
//!  8 label bytes    UTF-8
//!  9 lookup order   the positions of entries (variant code 0) sorted by (list, entry id), u32 each
//! 10 disabled       8 bytes per disabled entry: position u32, reason u32 (string number)
//! 11 index offsets  empty, or per chunk c = 0..16 the 65 537 u32 bucket starts of chunk c
//! 12 index ids      empty, or per chunk the positions sorted by chunk value: 3 bytes each
//!                   below 2^24 entries, 4 bytes from there
//! 13 index next     empty, or per chunk n x u16: chunk c + 1 (mod 16) of those positions
//! 14 variants       empty (every code 0), or n x u8: the variant code of each position's hash
//!                   (`robust::enrol::Variant::code`): 0 for an entry's own hash, else an extra
//!                   hash of the entry at the nearest position before it with code 0, whose list
//!                   and id it repeats (an entry enrolled with extra hashes)
//! ```
//!
//! Opening checks, in order: the magic ([`Error::NotASnapshot`]), the version
//! ([`Error::UnsupportedSnapshotVersion`]), every length against the bytes actually there
//! ([`Error::SnapshotTruncated`]), every checksum ([`Error::SnapshotChecksum`]) and then the
//! content ([`Error::SnapshotMalformed`]): column lengths, list numbers, the lookup order
//! (strictly sorted, so no entry id repeats in a list), variant codes, labels, and every index
//! offset and id,
//! so that no query can read out of bounds. A matcher is returned only when all of it is
//! valid. The checksums guard the rest (an index whose tables disagree with its hashes would
//! miss matches): a flipped bit anywhere is refused.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use memmap2::Mmap;
use rayon::prelude::*;

use crate::column::{self, Column, ALIGN};
use crate::error::{Error, Result};
use crate::hash::Hash256;
use crate::index::{id_width, MihTables};
use crate::matcher::{ListSettings, Matcher, Parts, Segment, SegmentIndex, Strings as Labels};

/// The first 8 bytes of every snapshot.
pub const MAGIC: [u8; 8] = *b"HMSNAP\r\n";

/// The format version this build writes (it reads this one and version 2).
pub const VERSION: u32 = 3;

/// The oldest version this build reads.
const OLDEST_VERSION: u32 = 2;

const HEADER_LEN: usize = 24;
const DESCRIPTOR_LEN: usize = 20;
const LIST_LEN: usize = 28;
const NO_STRING: u32 = u32::MAX;
const LIST_ENABLED: u32 = 1;
/// List flag: the list accepts matches of a robust query's extra hashes.
const LIST_ROBUST: u32 = 2;
/// Bucket starts per chunk of the multi-index (65 536 values + the end).
const INDEX_OFFSETS: usize = (1 << 16) + 1;
const CHUNKS: usize = 16;

/// The sections of version 3, in file order (kind = position + 1); version 2 has the first 13.
const SECTIONS: [&str; 14] = [
    "strings",
    "lists",
    "hashes",
    "entry ids",
    "entry lists",
    "entry labels",
    "label offsets",
    "label bytes",
    "lookup order",
    "disabled",
    "index offsets",
    "index ids",
    "index next",
    "variants",
];

/// How many sections a file of `version` has.
fn section_count(version: u32) -> usize {
    if version == 2 {
        13
    } else {
        SECTIONS.len()
    }
}

/// Padding after a descriptor ending at `end` so that the payload starts aligned.
fn padding(end: usize) -> usize {
    end.next_multiple_of(ALIGN) - end
}

impl Matcher {
    /// Writes every list and entry to `path` (see [`crate::snapshot`] for the format),
    /// atomically: a crash or error mid-save leaves the previous file at `path` as it was.
    ///
    /// ```
    /// use hashmatch::list::Entry;
    /// use hashmatch::matcher::{ListSettings, Matcher};
    ///
    /// let matcher = Matcher::new();
    /// matcher.add_list("taken-down", ListSettings::default())?;
    /// let hash = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22".parse()?;
    /// matcher.insert("taken-down", Entry { hash, id: 1017, label: Some("case 88".into()) })?;
    ///
    /// let path = std::env::temp_dir().join(format!("doc-{}.hmsnap", std::process::id()));
    /// matcher.save(&path)?;
    /// let restored = Matcher::open(&path)?;
    /// assert_eq!(restored.stats(), matcher.stats());
    /// assert_eq!(restored.query_radius(&hash, 0)[0].entry_id, 1017);
    /// # std::fs::remove_file(&path).unwrap();
    /// # Ok::<(), hashmatch::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be written (the old file is then untouched);
    /// [`Error::TooLarge`] if a count or string does not fit the format's 32-bit fields.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let parts = self.parts();
        let pieces = encode(&parts)?;
        crate::fsutil::write_atomically_with(path.as_ref(), |file| {
            pieces.iter().try_for_each(|piece| file.write_all(piece))
        })
    }

    /// Opens a snapshot written by [`Matcher::save`]: maps the file, checks it whole (see
    /// [`crate::snapshot`]) and uses its columns and index in place.
    ///
    /// The file must not be changed in place while the matcher lives (saving over it is safe:
    /// [`Matcher::save`] writes a new file and renames it over the old one).
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; [`Error::NotASnapshot`],
    /// [`Error::UnsupportedSnapshotVersion`], [`Error::SnapshotTruncated`],
    /// [`Error::SnapshotChecksum`] or [`Error::SnapshotMalformed`] if it is not a valid
    /// snapshot of version 2 or 3. No matcher is returned then, not even a partial one.
    pub fn open(path: impl AsRef<Path>) -> Result<Matcher> {
        let path = path.as_ref();
        let io_error = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io_error)?;
        let len = file.metadata().map_err(io_error)?.len();
        if len < HEADER_LEN as u64 {
            // Too short to map (an empty file cannot be): the header check says what is wrong.
            let bytes = std::fs::read(path).map_err(io_error)?;
            read_header(&Check { path }, &bytes)?;
            return Err(Check { path }.truncated("header", HEADER_LEN, bytes.len()));
        }
        // SAFETY: the map is only read. Another process truncating or rewriting the file in
        // place while it is mapped would change what we read (or fault); snapshots are written
        // by rename (`save`), and the docs above ask callers not to rewrite them in place.
        let map = unsafe { Mmap::map(&file) }.map_err(io_error)?;
        decode(path, Arc::new(map))
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Numbers strings, storing each distinct one once.
#[derive(Default)]
struct Strings {
    numbers: HashMap<Arc<str>, u32>,
    bytes: Vec<u8>,
    count: u32,
}

impl Strings {
    fn number(&mut self, s: &Arc<str>) -> Result<u32> {
        if let Some(&n) = self.numbers.get(s) {
            return Ok(n);
        }
        let len = fits_u32("snapshot string length", s.len())?;
        if self.count == NO_STRING - 1 {
            return Err(too_large("snapshot string count", u64::from(NO_STRING), 0));
        }
        let n = self.count;
        self.count += 1;
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(s.as_bytes());
        self.numbers.insert(s.clone(), n);
        Ok(n)
    }
}

fn too_large(what: &'static str, actual: u64, limit: u64) -> Error {
    Error::TooLarge {
        what,
        actual,
        limit,
    }
}

fn fits_u32(what: &'static str, n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| too_large(what, n as u64, u64::from(u32::MAX)))
}

/// The file's bytes, in order, as pieces to write one after the other: the header, then per
/// section its descriptor (with the padding that aligns the payload) and its payload. The
/// columns and index are borrowed from the matcher where the machine is little-endian, so
/// saving copies nothing large in memory.
fn encode(parts: &Parts) -> Result<Vec<Cow<'_, [u8]>>> {
    let segment = &parts.segment;
    fits_u32("snapshot entries", segment.len())?;
    let mut strings = Strings::default();
    let mut counts = vec![(0u64, 0u64); parts.lists.len()];
    for (p, &l) in segment.lists.iter().enumerate() {
        counts[l as usize].0 += u64::from(segment.variant(p) == 0);
    }
    let mut disabled: Vec<(&u32, &Arc<str>)> = parts.disabled.iter().collect();
    disabled.sort_unstable_by_key(|(p, _)| **p);
    for (name, _) in &parts.lists {
        strings.number(name)?;
    }
    let mut disabled_section = Vec::with_capacity(disabled.len() * 8);
    for (&pos, reason) in disabled {
        counts[segment.lists[pos as usize] as usize].1 += 1;
        disabled_section.extend_from_slice(&pos.to_le_bytes());
        disabled_section.extend_from_slice(&strings.number(reason)?.to_le_bytes());
    }
    let mut lists = Vec::with_capacity(parts.lists.len() * LIST_LEN);
    for ((name, settings), (n, disabled)) in parts.lists.iter().zip(&counts) {
        lists.extend_from_slice(&strings.number(name)?.to_le_bytes());
        lists.extend_from_slice(&settings.threshold.to_le_bytes());
        let flags = if settings.enabled { LIST_ENABLED } else { 0 }
            | if settings.robust { LIST_ROBUST } else { 0 };
        lists.extend_from_slice(&flags.to_le_bytes());
        lists.extend_from_slice(&n.to_le_bytes());
        lists.extend_from_slice(&disabled.to_le_bytes());
    }
    let mut string_section = Vec::with_capacity(4 + strings.bytes.len());
    string_section.extend_from_slice(&strings.count.to_le_bytes());
    string_section.extend_from_slice(&strings.bytes);

    let [index_offsets, index_ids, index_next] = match &segment.index {
        SegmentIndex::Mih(tables) => tables.le_pieces(),
        _ => Default::default(),
    };
    let sections: [Vec<Cow<'_, [u8]>>; 14] = [
        vec![Cow::Owned(string_section)],
        vec![Cow::Owned(lists)],
        vec![column::le_bytes(&segment.hashes)],
        vec![column::le_bytes(&segment.ids)],
        vec![column::le_bytes(&segment.lists)],
        vec![column::le_bytes(&segment.labels)],
        vec![column::le_bytes(&segment.label_text.offsets)],
        vec![Cow::Borrowed(&segment.label_text.bytes[..])],
        vec![column::le_bytes(&segment.order)],
        vec![Cow::Owned(disabled_section)],
        index_offsets,
        index_ids,
        index_next,
        vec![Cow::Borrowed(&segment.variants[..])],
    ];
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(&MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    header.extend_from_slice(&(SECTIONS.len() as u32).to_le_bytes());
    let header_crc = crc32fast::hash(&header);
    header.extend_from_slice(&header_crc.to_le_bytes());
    let mut offset = header.len();
    let mut out = vec![Cow::Owned(header)];
    for (kind, payload) in (1u32..).zip(sections) {
        let len: usize = payload.iter().map(|p| p.len()).sum();
        let mut descriptor = Vec::with_capacity(20 + ALIGN);
        descriptor.extend_from_slice(&kind.to_le_bytes());
        descriptor.extend_from_slice(&(len as u64).to_le_bytes());
        descriptor.extend_from_slice(&checksum_pieces(&payload).to_le_bytes());
        descriptor.resize(20 + padding(offset + 20), 0);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&descriptor[..16]);
        crc.update(&descriptor[20..]);
        let descriptor_crc = crc.finalize();
        descriptor[16..20].copy_from_slice(&descriptor_crc.to_le_bytes());
        offset += descriptor.len() + len;
        out.push(Cow::Owned(descriptor));
        out.extend(payload);
    }
    Ok(out)
}

/// CRC-32 of `bytes`, computed in parallel runs of up to 8 MB.
fn checksum(bytes: &[u8]) -> u32 {
    checksum_pieces(&[Cow::Borrowed(bytes)])
}

/// CRC-32 of the concatenated `pieces`, computed in parallel runs of up to 8 MB.
fn checksum_pieces(pieces: &[Cow<'_, [u8]>]) -> u32 {
    const RUN: usize = 8 << 20;
    let runs: Vec<&[u8]> = pieces.iter().flat_map(|p| p.chunks(RUN)).collect();
    runs.par_iter()
        .map(|run| {
            let mut h = crc32fast::Hasher::new();
            h.update(run);
            h
        })
        .collect::<Vec<_>>()
        .into_iter()
        .reduce(|mut a, b| {
            a.combine(&b);
            a
        })
        .map_or(0, |h| h.finalize())
}

// ---------------------------------------------------------------------------------------------
// Reading

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from(u32_at(b, at)) | (u64::from(u32_at(b, at + 4)) << 32)
}

/// Builds the errors of one file.
struct Check<'a> {
    path: &'a Path,
}

impl Check<'_> {
    fn truncated(&self, section: impl Into<String>, expected: usize, found: usize) -> Error {
        Error::SnapshotTruncated {
            path: self.path.to_path_buf(),
            section: section.into(),
            expected: expected as u64,
            found: found as u64,
        }
    }

    fn checksum(&self, section: impl Into<String>) -> Error {
        Error::SnapshotChecksum {
            path: self.path.to_path_buf(),
            section: section.into(),
        }
    }

    fn malformed(&self, reason: impl Into<String>) -> Error {
        Error::SnapshotMalformed {
            path: self.path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

/// Checks the magic, the version and the rest of the header; returns the section count.
fn read_header(check: &Check<'_>, bytes: &[u8]) -> Result<usize> {
    let path = check.path;
    let magic_len = MAGIC.len().min(bytes.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        let shown: String = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
        return Err(Error::NotASnapshot {
            path: path.to_path_buf(),
            found: format!("0x{shown}"),
        });
    }
    if bytes.len() < 12 {
        return Err(check.truncated("header", HEADER_LEN, bytes.len()));
    }
    let version = u32_at(bytes, 8);
    if !(OLDEST_VERSION..=VERSION).contains(&version) {
        return Err(Error::UnsupportedSnapshotVersion {
            path: path.to_path_buf(),
            found: version,
            supported: VERSION,
        });
    }
    if bytes.len() < HEADER_LEN {
        return Err(check.truncated("header", HEADER_LEN, bytes.len()));
    }
    if crc32fast::hash(&bytes[..20]) != u32_at(bytes, 20) {
        return Err(check.checksum("header"));
    }
    let flags = u32_at(bytes, 12);
    if flags != 0 {
        return Err(check.malformed(format!("unknown header flags {flags:#x}")));
    }
    let count = u32_at(bytes, 16);
    let expected = section_count(version);
    if count as usize != expected {
        return Err(check.malformed(format!(
            "{count} sections, version {version} has {expected}"
        )));
    }
    Ok(expected)
}

fn decode(path: &Path, map: Arc<Mmap>) -> Result<Matcher> {
    let check = Check { path };
    let bytes: &[u8] = &map;
    let sections = read_header(&check, bytes)?;

    // Where each payload is: (start, length), after checking descriptors and lengths.
    let mut found = Vec::with_capacity(SECTIONS.len());
    let mut at = HEADER_LEN;
    for (kind, name) in (1u32..).zip(&SECTIONS[..sections]) {
        let section = format!("section {kind} ({name})");
        let rest = &bytes[at..];
        let pad = padding(at + DESCRIPTOR_LEN);
        if rest.len() < DESCRIPTOR_LEN + pad {
            return Err(check.truncated(
                format!("{section} descriptor"),
                DESCRIPTOR_LEN + pad,
                rest.len(),
            ));
        }
        let mut descriptor = crc32fast::Hasher::new();
        descriptor.update(&rest[..16]);
        descriptor.update(&rest[DESCRIPTOR_LEN..DESCRIPTOR_LEN + pad]);
        if descriptor.finalize() != u32_at(rest, 16) {
            return Err(check.checksum(format!("{section} descriptor")));
        }
        let found_kind = u32_at(rest, 0);
        if found_kind != kind {
            return Err(
                check.malformed(format!("{section} has kind {found_kind}, expected {kind}"))
            );
        }
        if rest[DESCRIPTOR_LEN..DESCRIPTOR_LEN + pad]
            .iter()
            .any(|&b| b != 0)
        {
            return Err(check.malformed(format!("{section}: padding is not zero")));
        }
        let len = u64_at(rest, 4);
        let available = rest.len() - DESCRIPTOR_LEN - pad;
        let len = match usize::try_from(len) {
            Ok(len) if len <= available => len,
            _ => {
                return Err(Error::SnapshotTruncated {
                    path: path.to_path_buf(),
                    section,
                    expected: len,
                    found: available as u64,
                })
            }
        };
        let start = at + DESCRIPTOR_LEN + pad;
        found.push((section, start, len, u32_at(rest, 12)));
        at = start + len;
    }
    if at != bytes.len() {
        return Err(check.malformed(format!("{} bytes after the last section", bytes.len() - at)));
    }
    // The checksums, the large ones in parallel pieces.
    for (section, start, len, crc) in &found {
        if checksum(&bytes[*start..start + len]) != *crc {
            return Err(check.checksum(section.clone()));
        }
    }
    let payload = |i: usize| &bytes[found[i].1..found[i].1 + found[i].2];

    let strings = read_strings(&check, payload(0))?;
    let string = |n: u32, what: &dyn Fn() -> String| -> Result<Arc<str>> {
        strings.get(n as usize).cloned().ok_or_else(|| {
            check.malformed(format!(
                "{} is string {n}, but there are {} strings",
                what(),
                strings.len()
            ))
        })
    };
    let whole = |i: usize, record: usize| {
        let len = found[i].2;
        if len.is_multiple_of(record) {
            Ok(len / record)
        } else {
            Err(check.malformed(format!(
                "the {} section is {len} bytes, not a multiple of {record}",
                SECTIONS[i]
            )))
        }
    };
    let n = whole(2, 32)?;
    for (i, size) in [(3, 8), (4, 4), (5, 4)] {
        let count = whole(i, size)?;
        if count != n {
            return Err(check.malformed(format!(
                "{n} hashes but {count} values in the {} section",
                SECTIONS[i]
            )));
        }
    }
    fn column_at<T: bytemuck::Pod>(
        map: &Arc<Mmap>,
        check: &Check<'_>,
        (i, start): (usize, usize),
        len: usize,
    ) -> Result<Column<T>> {
        Column::mapped(map, start, len)
            .ok_or_else(|| check.malformed(format!("the {} section is cut short", SECTIONS[i])))
    }
    macro_rules! column {
        ($i:expr, $len:expr) => {
            column_at(&map, &check, ($i, found[$i].1), $len)
        };
    }
    let hashes: Column<Hash256> = column!(2, n)?;
    let ids: Column<u64> = column!(3, n)?;
    let entry_lists: Column<u32> = column!(4, n)?;
    let labels: Column<u32> = column!(5, n)?;
    let label_count = whole(6, 8)?;
    let label_text = Labels {
        offsets: column!(6, label_count)?,
        bytes: column!(7, found[7].2)?,
    };
    label_text
        .check()
        .map_err(|e| check.malformed(format!("labels: {e}")))?;
    let order: Column<u32> = column!(8, whole(8, 4)?)?;
    let variants: Column<u8> = match found.get(13).map_or(0, |f| f.2) {
        0 => Column::default(),
        len if len == n => column!(13, n)?,
        len => {
            return Err(check.malformed(format!(
                "{n} hashes but {len} values in the variants section"
            )))
        }
    };

    let mut lists = Vec::with_capacity(whole(1, LIST_LEN)?);
    let mut stored_counts = Vec::with_capacity(lists.capacity());
    for (i, l) in payload(1).chunks_exact(LIST_LEN).enumerate() {
        let name = string(u32_at(l, 0), &|| format!("the name of list {i}"))?;
        let flags = u32_at(l, 8);
        if flags & !(LIST_ENABLED | LIST_ROBUST) != 0 {
            return Err(check.malformed(format!("list {name:?} has unknown flags {flags:#x}")));
        }
        let settings = ListSettings {
            threshold: u32_at(l, 4),
            enabled: flags & LIST_ENABLED != 0,
            robust: flags & LIST_ROBUST != 0,
        };
        stored_counts.push((u64_at(l, 12), u64_at(l, 20)));
        lists.push((name, settings));
    }
    let mut disabled = HashMap::with_capacity(whole(9, 8)?);
    for (i, d) in payload(9).chunks_exact(8).enumerate() {
        let pos = u32_at(d, 0);
        let reason = string(u32_at(d, 4), &|| format!("disabled entry {i}'s reason"))?;
        if disabled.insert(pos, reason).is_some() {
            return Err(check.malformed(format!("position {pos} is disabled twice")));
        }
    }

    let index = match (found[10].2, found[11].2, found[12].2) {
        (0, 0, 0) => None,
        (offsets, ids, next)
            if offsets == CHUNKS * INDEX_OFFSETS * 4
                && ids == CHUNKS * n * id_width(n)
                && next == CHUNKS * n * 2 =>
        {
            Some(
                MihTables::from_mapped(&map, n, found[10].1, found[11].1, found[12].1)
                    .map_err(|e| check.malformed(format!("index: {e}")))?,
            )
        }
        (offsets, ids, next) => {
            return Err(check.malformed(format!(
                "index sections of {offsets}, {ids} and {next} bytes do not fit {n} entries"
            )))
        }
    };
    // Without stored tables, `Matcher::from_parts` builds the index its list sizes call for.
    let index = index.map_or(SegmentIndex::Scan, SegmentIndex::Mih);
    let segment = Segment {
        hashes,
        ids,
        lists: entry_lists,
        labels,
        label_text,
        variants,
        order,
        index,
    };
    let matcher = Matcher::from_parts(Parts {
        lists,
        segment: Arc::new(segment),
        disabled,
    })
    .map_err(|reason| check.malformed(reason))?;
    for (i, (stats, stored)) in matcher.stats().iter().zip(&stored_counts).enumerate() {
        if (stats.entries as u64, stats.disabled as u64) != *stored {
            return Err(check.malformed(format!(
                "list {i} says {} entries ({} disabled), the entries say {} ({})",
                stored.0, stored.1, stats.entries, stats.disabled
            )));
        }
    }
    Ok(matcher)
}

fn read_strings(check: &Check<'_>, payload: &[u8]) -> Result<Vec<Arc<str>>> {
    if payload.len() < 4 {
        return Err(check.malformed("the strings section has no count"));
    }
    let count = u32_at(payload, 0) as usize;
    let mut rest = &payload[4..];
    // Each string takes at least its 4-byte length: check before allocating.
    if count > rest.len() / 4 {
        return Err(check.malformed(format!(
            "{count} strings cannot fit in a strings section of {} bytes",
            payload.len()
        )));
    }
    let mut strings = Vec::with_capacity(count);
    for i in 0..count {
        if rest.len() < 4 {
            return Err(check.malformed(format!("string {i} runs past the strings section")));
        }
        let len = u32_at(rest, 0) as usize;
        let Some(text) = rest.get(4..4 + len) else {
            return Err(check.malformed(format!("string {i} runs past the strings section")));
        };
        let text = std::str::from_utf8(text)
            .map_err(|e| check.malformed(format!("string {i} is not valid UTF-8: {e}")))?;
        strings.push(Arc::from(text));
        rest = &rest[4 + len..];
    }
    if !rest.is_empty() {
        return Err(check.malformed(format!("{} bytes after the last string", rest.len())));
    }
    Ok(strings)
}
