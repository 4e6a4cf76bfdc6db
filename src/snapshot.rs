//! Binary snapshots of a whole [`Matcher`]: [`Matcher::save`] and [`Matcher::open`].
//!
//! A snapshot holds every list (name, threshold, enabled flag) and every entry (hash, id,
//! label, disable reason), so a service restarts with exactly the state it had, without
//! re-reading and re-validating the original list files. Entries removed before the save are
//! not in it, and free slots are compacted away; the index is not stored but rebuilt on open,
//! its kind chosen by [`crate::IndexKind::choose`] (a kind forced with
//! [`Matcher::with_index`] is not kept).
//!
//! # Format, version 1
//!
//! All integers little-endian. Checksums are CRC-32 (IEEE, as in zip and PNG).
//!
//! ```text
//! header, 24 bytes
//!   0  magic          8 bytes  "HMSNAP\r\n" (MAGIC; \r\n catches text-mode copies)
//!   8  version        u32      1 (VERSION)
//!  12  flags          u32      0 (none defined yet)
//!  16  section count  u32      4
//!  20  header CRC     u32      over bytes 0..20
//! then each section, in this order: strings (kind 1), lists (2), hashes (3), entries (4)
//!   0  kind           u32
//!   4  payload length u64
//!  12  payload CRC    u32
//!  16  descriptor CRC u32      over bytes 0..16 of this descriptor
//!  20  payload
//! and nothing after the last section.
//!
//! strings:  count u32, then per string: byte length u32, UTF-8 bytes. Names, labels and
//!           reasons refer to a string by its number; equal strings are stored once.
//! lists:    28 bytes per list: name u32, threshold u32, flags u32 (bit 0: enabled),
//!           entries u64, disabled u64 (the counts are checked against the entries).
//! hashes:   32 bytes per entry, contiguous: the hash in its hex byte order.
//! entries:  24 bytes per entry, same order as hashes: list u32 (its number in the list
//!           section), flags u32 (bit 0: disabled), entry id u64, label u32, disable
//!           reason u32 (string numbers; 0xFFFF_FFFF for none; a reason iff disabled).
//! ```
//!
//! The hashes sit contiguously so that a later version can memory-map them and search them in
//! place; version 1 reads the whole file and builds the index on open. Persisting the index
//! itself is also left for later.
//!
//! Opening checks, in order: the magic ([`Error::NotASnapshot`]), the version
//! ([`Error::UnsupportedSnapshotVersion`]), every length against the bytes actually there
//! ([`Error::SnapshotTruncated`]), every checksum ([`Error::SnapshotChecksum`]) and then the
//! content ([`Error::SnapshotMalformed`]). Nothing is allocated from a length before that
//! length is checked against the file, and a matcher is returned only when all of it is valid.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::hash::Hash256;
use crate::matcher::{Contents, ListSettings, Matcher, StoredEntry};

/// The first 8 bytes of every snapshot.
pub const MAGIC: [u8; 8] = *b"HMSNAP\r\n";

/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

const HEADER_LEN: usize = 24;
const DESCRIPTOR_LEN: usize = 20;
const LIST_LEN: usize = 28;
const HASH_LEN: usize = 32;
const ENTRY_LEN: usize = 24;
const NO_STRING: u32 = u32::MAX;
const LIST_ENABLED: u32 = 1;
const ENTRY_DISABLED: u32 = 1;

/// The sections of version 1, in file order: (kind, name).
const SECTIONS: [(u32, &str); 4] = [(1, "strings"), (2, "lists"), (3, "hashes"), (4, "entries")];

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
        let bytes = encode(&self.contents())?;
        crate::fsutil::write_atomically(path.as_ref(), &bytes)
    }

    /// Reads a snapshot written by [`Matcher::save`] and rebuilds the index over its entries.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; [`Error::NotASnapshot`],
    /// [`Error::UnsupportedSnapshotVersion`], [`Error::SnapshotTruncated`],
    /// [`Error::SnapshotChecksum`] or [`Error::SnapshotMalformed`] if it is not a valid
    /// version-1 snapshot. No matcher is returned then, not even a partial one.
    pub fn open(path: impl AsRef<Path>) -> Result<Matcher> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        decode(path, &bytes)
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

    fn number_opt(&mut self, s: &Option<Arc<str>>) -> Result<u32> {
        s.as_ref().map_or(Ok(NO_STRING), |s| self.number(s))
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

fn encode(contents: &Contents) -> Result<Vec<u8>> {
    let mut strings = Strings::default();
    let mut counts = vec![(0u64, 0u64); contents.lists.len()];
    let mut hashes = Vec::with_capacity(contents.entries.len() * HASH_LEN);
    let mut entries = Vec::with_capacity(contents.entries.len() * ENTRY_LEN);
    let mut lists = Vec::with_capacity(contents.lists.len() * LIST_LEN);
    for (name, _) in &contents.lists {
        strings.number(name)?;
    }
    for e in &contents.entries {
        let count = &mut counts[e.list as usize];
        count.0 += 1;
        count.1 += u64::from(e.disabled.is_some());
        hashes.extend_from_slice(&e.hash.to_be_bytes());
        entries.extend_from_slice(&e.list.to_le_bytes());
        let flags = if e.disabled.is_some() {
            ENTRY_DISABLED
        } else {
            0
        };
        entries.extend_from_slice(&flags.to_le_bytes());
        entries.extend_from_slice(&e.id.to_le_bytes());
        entries.extend_from_slice(&strings.number_opt(&e.label)?.to_le_bytes());
        entries.extend_from_slice(&strings.number_opt(&e.disabled)?.to_le_bytes());
    }
    for ((name, settings), (n, disabled)) in contents.lists.iter().zip(&counts) {
        lists.extend_from_slice(&strings.number(name)?.to_le_bytes());
        lists.extend_from_slice(&settings.threshold.to_le_bytes());
        let flags = if settings.enabled { LIST_ENABLED } else { 0 };
        lists.extend_from_slice(&flags.to_le_bytes());
        lists.extend_from_slice(&n.to_le_bytes());
        lists.extend_from_slice(&disabled.to_le_bytes());
    }
    let mut string_section = Vec::with_capacity(4 + strings.bytes.len());
    string_section.extend_from_slice(&strings.count.to_le_bytes());
    string_section.extend_from_slice(&strings.bytes);

    let payloads = [string_section, lists, hashes, entries];
    let total = HEADER_LEN
        + payloads
            .iter()
            .map(|p| DESCRIPTOR_LEN + p.len())
            .sum::<usize>();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(SECTIONS.len() as u32).to_le_bytes());
    let header_crc = crc32fast::hash(&out);
    out.extend_from_slice(&header_crc.to_le_bytes());
    for ((kind, _), payload) in SECTIONS.iter().zip(&payloads) {
        let start = out.len();
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        let descriptor_crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&descriptor_crc.to_le_bytes());
        out.extend_from_slice(payload);
    }
    Ok(out)
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

fn decode(path: &Path, bytes: &[u8]) -> Result<Matcher> {
    let check = Check { path };
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
    if version != VERSION {
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
    if count as usize != SECTIONS.len() {
        return Err(check.malformed(format!(
            "{count} sections, version {VERSION} has {}",
            SECTIONS.len()
        )));
    }

    let mut payloads: [&[u8]; 4] = [&[]; 4];
    let mut at = HEADER_LEN;
    for (i, (kind, name)) in SECTIONS.iter().enumerate() {
        let section = format!("section {} ({name})", i + 1);
        let rest = &bytes[at..];
        if rest.len() < DESCRIPTOR_LEN {
            return Err(check.truncated(
                format!("{section} descriptor"),
                DESCRIPTOR_LEN,
                rest.len(),
            ));
        }
        if crc32fast::hash(&rest[..16]) != u32_at(rest, 16) {
            return Err(check.checksum(format!("{section} descriptor")));
        }
        let found_kind = u32_at(rest, 0);
        if found_kind != *kind {
            return Err(
                check.malformed(format!("{section} has kind {found_kind}, expected {kind}"))
            );
        }
        let len = u64_at(rest, 4);
        let available = rest.len() - DESCRIPTOR_LEN;
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
        let payload = &rest[DESCRIPTOR_LEN..DESCRIPTOR_LEN + len];
        if crc32fast::hash(payload) != u32_at(rest, 12) {
            return Err(check.checksum(section));
        }
        payloads[i] = payload;
        at += DESCRIPTOR_LEN + len;
    }
    if at != bytes.len() {
        return Err(check.malformed(format!("{} bytes after the last section", bytes.len() - at)));
    }
    let [strings, lists, hashes, entries] = payloads;
    let strings = read_strings(&check, strings)?;
    let string = |n: u32, what: &dyn Fn() -> String| -> Result<Option<Arc<str>>> {
        if n == NO_STRING {
            return Ok(None);
        }
        strings.get(n as usize).cloned().map(Some).ok_or_else(|| {
            check.malformed(format!(
                "{} is string {n}, but there are {} strings",
                what(),
                strings.len()
            ))
        })
    };

    let whole = |section: &str, payload: &[u8], record: usize| {
        if payload.len().is_multiple_of(record) {
            Ok(payload.len() / record)
        } else {
            Err(check.malformed(format!(
                "the {section} section is {} bytes, not a multiple of {record}",
                payload.len()
            )))
        }
    };
    whole("lists", lists, LIST_LEN)?;
    let n_hashes = whole("hashes", hashes, HASH_LEN)?;
    let n_entries = whole("entries", entries, ENTRY_LEN)?;
    if n_hashes != n_entries {
        return Err(check.malformed(format!("{n_hashes} hashes but {n_entries} entries")));
    }

    let mut contents = Contents {
        lists: Vec::with_capacity(lists.len() / LIST_LEN),
        entries: Vec::with_capacity(n_entries),
    };
    let mut stored_counts = Vec::with_capacity(lists.len() / LIST_LEN);
    for (i, l) in lists.chunks_exact(LIST_LEN).enumerate() {
        let name = string(u32_at(l, 0), &|| format!("the name of list {i}"))?
            .ok_or_else(|| check.malformed(format!("list {i} has no name")))?;
        let flags = u32_at(l, 8);
        if flags & !LIST_ENABLED != 0 {
            return Err(check.malformed(format!("list {name:?} has unknown flags {flags:#x}")));
        }
        let settings = ListSettings {
            threshold: u32_at(l, 4),
            enabled: flags & LIST_ENABLED != 0,
        };
        stored_counts.push((u64_at(l, 12), u64_at(l, 20)));
        contents.lists.push((name, settings));
    }
    let mut counts = vec![(0u64, 0u64); contents.lists.len()];
    for (i, (h, e)) in hashes
        .chunks_exact(HASH_LEN)
        .zip(entries.chunks_exact(ENTRY_LEN))
        .enumerate()
    {
        let mut hash = [0u8; HASH_LEN];
        hash.copy_from_slice(h);
        let list = u32_at(e, 0);
        let flags = u32_at(e, 4);
        let id = u64_at(e, 8);
        if flags & !ENTRY_DISABLED != 0 {
            return Err(check.malformed(format!("entry {i} has unknown flags {flags:#x}")));
        }
        let label = string(u32_at(e, 16), &|| format!("the label of entry {i}"))?;
        let disabled = string(u32_at(e, 20), &|| {
            format!("the disable reason of entry {i}")
        })?;
        if disabled.is_some() != (flags & ENTRY_DISABLED != 0) {
            return Err(check.malformed(format!(
                "entry {i}: the disabled flag and the reason disagree"
            )));
        }
        let Some(count) = counts.get_mut(list as usize) else {
            return Err(check.malformed(format!(
                "entry {i} refers to list {list}, but there are {} lists",
                counts.len()
            )));
        };
        count.0 += 1;
        count.1 += u64::from(disabled.is_some());
        contents.entries.push(StoredEntry {
            list,
            id,
            hash: Hash256::from_be_bytes(hash),
            label,
            disabled,
        });
    }
    for (i, (stored, counted)) in stored_counts.iter().zip(&counts).enumerate() {
        if stored != counted {
            return Err(check.malformed(format!(
                "list {i} says {} entries ({} disabled), the entries section has {} ({})",
                stored.0, stored.1, counted.0, counted.1
            )));
        }
    }
    Matcher::from_contents(contents).map_err(|reason| check.malformed(reason))
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
