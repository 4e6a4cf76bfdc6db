//! A [`Report`] as a file: checksummed JSON, written atomically.
//!
//! ```text
//! {"format":"hashmatch-report","version":1,"crc32":"1a2b3c4d","report":{...}}
//! ```
//!
//! `crc32` is the CRC-32 (IEEE) of the `report` value's bytes exactly as they stand in the
//! file, so a flipped byte or a cut anywhere in the counts is refused
//! ([`Error::ReportMalformed`]) rather than read as other counts.

use std::path::Path;

use serde_json::value::RawValue;

use super::Report;
use crate::error::{Error, Result};

/// The `format` field's value.
pub const FORMAT: &str = "hashmatch-report";
/// The version this build writes and reads.
pub const VERSION: u32 = 1;

#[derive(serde::Serialize, serde::Deserialize)]
struct Envelope<'a> {
    format: String,
    version: u32,
    crc32: String,
    #[serde(borrow)]
    report: &'a RawValue,
}

impl Report {
    /// The report as a checksummed JSON document (one line).
    pub fn to_json(&self) -> String {
        // Serializing plain structs and maps of strings and integers cannot fail.
        let body = serde_json::to_string(self).unwrap_or_default();
        let raw = RawValue::from_string(body)
            .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null is JSON"));
        let envelope = Envelope {
            format: FORMAT.into(),
            version: VERSION,
            crc32: format!("{:08x}", crc32fast::hash(raw.get().as_bytes())),
            report: &raw,
        };
        serde_json::to_string(&envelope).unwrap_or_default()
    }

    /// Reads a document written by [`Report::to_json`]; `name` names it in errors.
    ///
    /// # Errors
    /// [`Error::ReportMalformed`] if it is not such a document, has another version, fails
    /// its checksum, or holds a malformed report.
    pub fn from_json(text: &str, name: &Path) -> Result<Report> {
        let bad = |reason: String| Error::ReportMalformed {
            path: name.to_path_buf(),
            reason,
        };
        let envelope: Envelope<'_> =
            serde_json::from_str(text).map_err(|e| bad(format!("not a report document: {e}")))?;
        if envelope.format != FORMAT {
            return Err(bad(format!(
                "format {:?}, expected {FORMAT:?}",
                envelope.format
            )));
        }
        if envelope.version != VERSION {
            return Err(bad(format!(
                "version {}, this build reads {VERSION}",
                envelope.version
            )));
        }
        let crc = format!("{:08x}", crc32fast::hash(envelope.report.get().as_bytes()));
        if crc != envelope.crc32 {
            return Err(bad(format!(
                "checksum {} does not match the counts (crc32 {crc})",
                envelope.crc32
            )));
        }
        let mut report: Report = serde_json::from_str(envelope.report.get())
            .map_err(|e| bad(format!("malformed counts: {e}")))?;
        if report.started > report.ended {
            return Err(bad(format!(
                "the period starts at {} after it ends at {}",
                report.started, report.ended
            )));
        }
        report.sort();
        Ok(report)
    }

    /// Writes [`Report::to_json`] to `path` atomically: a crash at any moment leaves the
    /// previous file or the new one, never a mix.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be written (the old one is then untouched).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut text = self.to_json();
        text.push('\n');
        crate::fsutil::write_atomically(path.as_ref(), text.as_bytes())
    }

    /// Reads a report saved by [`Report::save`].
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be read; as [`Report::from_json`].
    pub fn load(path: impl AsRef<Path>) -> Result<Report> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Report::from_json(&text, path)
    }
}
