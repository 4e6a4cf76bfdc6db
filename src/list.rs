//! Hash lists with provenance: entries, and the text formats lists are exchanged in.
//!
//! A list entry is a hash plus where it came from: the id the list gives it and an optional
//! label. Formats read and written:
//!
//! * [`ListFormat::HexLines`]: one 64-digit hex hash per line (`#` comments and blank lines
//!   ignored); the entry id is the 1-based line number. What `hashmatch hash` and most tools
//!   print, and python-threatexchange's `local_file` exchange when it is configured for PDQ.
//! * [`ListFormat::Csv`]: `hash,entry_id[,label]`, with or without a header row (detected: a
//!   first row whose first field is not a hash).
//! * [`ListFormat::ThreatExchange`]: python-threatexchange / HMA exports: `<signal_type>
//!   <signal>` lines (`local_file` exchange, `threatexchange dataset -P`) and the CSV of
//!   `threatexchange dataset -P --csv` (`signal_type,signal_str,collab,category,tags`). Only
//!   `pdq` signals are taken; other signal types are counted, not errors.
//!
//! Every malformed line is an error naming the file, the line and the reason; the opt-in
//! lenient mode skips such lines instead and reports each one. An empty or short hash is never
//! accepted.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::hash::Hash256;

/// One hash of a list, with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// The hash.
    pub hash: Hash256,
    /// The entry's id in its list, as the list gives it (a line number for plain hex lists).
    pub id: u64,
    /// An optional label (a case number, a category).
    pub label: Option<String>,
}

/// The text formats of hash lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListFormat {
    /// One hex hash per line.
    HexLines,
    /// `hash,entry_id[,label]`, optional header.
    Csv,
    /// python-threatexchange / HMA exports (`pdq <hex>` lines, or the dataset CSV).
    ThreatExchange,
}

impl ListFormat {
    /// Guesses the format from the first line that is not blank or a comment.
    pub fn detect(text: &str) -> ListFormat {
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .unwrap_or("");
        if first.starts_with("signal_type,")
            || first
                .split_once(' ')
                .is_some_and(|(t, _)| is_signal_type(t))
        {
            ListFormat::ThreatExchange
        } else if first.contains(',') {
            ListFormat::Csv
        } else {
            ListFormat::HexLines
        }
    }
}

fn is_signal_type(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
        && word.parse::<Hash256>().is_err()
}

/// How strictly to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadOptions {
    /// The format, or `None` to detect it.
    pub format: Option<ListFormat>,
    /// Skip malformed lines (each reported in [`ParsedList::skipped`]) instead of failing.
    pub lenient: bool,
}

/// A line that was skipped in lenient mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    /// 1-based line number.
    pub line: usize,
    /// Why it was skipped.
    pub reason: String,
}

/// The entries read from a list, and what was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedList {
    /// The entries, in file order.
    pub entries: Vec<Entry>,
    /// Malformed lines skipped in lenient mode.
    pub skipped: Vec<SkippedLine>,
    /// Lines holding other signal types (ThreatExchange exports), not PDQ.
    pub other_signal_types: usize,
}

/// Reads a list file.
///
/// # Errors
/// [`Error::Io`], or [`Error::ListLine`] naming the file, line and reason (strict mode).
pub fn read_list(path: &Path, options: &ReadOptions) -> Result<ParsedList> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_list(&text, path, options)
}

/// Parses list text; `source` names it in errors.
///
/// # Errors
/// [`Error::ListLine`] for the first malformed line (strict mode).
pub fn parse_list(text: &str, source: &Path, options: &ReadOptions) -> Result<ParsedList> {
    let format = options.format.unwrap_or_else(|| ListFormat::detect(text));
    let mut parsed = ParsedList::default();
    let mut header_checked = false;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first_content_line = !header_checked;
        header_checked = true;
        let outcome = match format {
            ListFormat::HexLines => parse_hash(line).map(|hash| {
                Some(Entry {
                    hash,
                    id: line_no as u64,
                    label: None,
                })
            }),
            ListFormat::Csv => {
                if first_content_line && is_header(line) {
                    continue;
                }
                parse_csv_line(line)
            }
            ListFormat::ThreatExchange => {
                if first_content_line && line.starts_with("signal_type,") {
                    continue;
                }
                match parse_threatexchange_line(line, line_no) {
                    Ok(None) => {
                        parsed.other_signal_types += 1;
                        continue;
                    }
                    other => other,
                }
            }
        };
        match outcome {
            Ok(Some(entry)) => parsed.entries.push(entry),
            Ok(None) => {}
            Err(reason) if options.lenient => parsed.skipped.push(SkippedLine {
                line: line_no,
                reason,
            }),
            Err(reason) => {
                return Err(Error::ListLine {
                    file: source.to_path_buf(),
                    line: line_no,
                    reason,
                })
            }
        }
    }
    Ok(parsed)
}

fn parse_hash(field: &str) -> std::result::Result<Hash256, String> {
    field.trim().parse::<Hash256>().map_err(|e| e.to_string())
}

fn is_header(line: &str) -> bool {
    let first = line.split(',').next().unwrap_or("").trim();
    first.parse::<Hash256>().is_err() && !first.chars().all(|c| c.is_ascii_hexdigit())
}

fn parse_csv_line(line: &str) -> std::result::Result<Option<Entry>, String> {
    let fields = split_csv(line)?;
    if fields.len() < 2 || fields.len() > 3 {
        return Err(format!(
            "expected hash,entry_id[,label], found {} fields",
            fields.len()
        ));
    }
    let hash = parse_hash(&fields[0])?;
    let id = fields[1]
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("entry id {:?} is not a whole number", fields[1]))?;
    let label = fields
        .get(2)
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty());
    Ok(Some(Entry { hash, id, label }))
}

/// `pdq <hex>` lines, or dataset CSV rows `pdq,<hex>,collab,category,tags`; `Ok(None)` for
/// another signal type.
fn parse_threatexchange_line(
    line: &str,
    line_no: usize,
) -> std::result::Result<Option<Entry>, String> {
    let (signal_type, signal, label) = if line.contains(',') {
        let fields = split_csv(line)?;
        if fields.len() < 2 {
            return Err("expected signal_type,signal_str,...".to_string());
        }
        let label = fields
            .get(2)
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        (
            fields[0].trim().to_string(),
            fields[1].trim().to_string(),
            label,
        )
    } else {
        let mut words = line.split_whitespace();
        let (Some(signal_type), Some(signal)) = (words.next(), words.next()) else {
            return Err("expected `<signal_type> <signal>`".to_string());
        };
        let rest: Vec<&str> = words.collect();
        let label = (!rest.is_empty()).then(|| rest.join(" "));
        (signal_type.to_string(), signal.to_string(), label)
    };
    if signal_type != "pdq" {
        return Ok(None);
    }
    Ok(Some(Entry {
        hash: parse_hash(&signal)?,
        id: line_no as u64,
        label,
    }))
}

/// Splits one CSV record (RFC 4180 quoting, no embedded newlines).
fn split_csv(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, '"') if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (_, c) => field.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted field".to_string());
    }
    fields.push(field);
    Ok(fields)
}

/// Writes entries in `format` (`ThreatExchange` writes `pdq <hex>` lines; `HexLines` drops ids
/// and labels).
pub fn format_list(entries: &[Entry], format: ListFormat) -> String {
    let mut out = String::new();
    match format {
        ListFormat::HexLines => entries.iter().for_each(|e| {
            let _ = writeln!(out, "{}", e.hash);
        }),
        ListFormat::ThreatExchange => entries.iter().for_each(|e| {
            let _ = writeln!(out, "pdq {}", e.hash);
        }),
        ListFormat::Csv => {
            out.push_str("hash,entry_id,label\n");
            for e in entries {
                let label = e.label.as_deref().unwrap_or("");
                let label = if label.contains([',', '"']) {
                    format!("\"{}\"", label.replace('"', "\"\""))
                } else {
                    label.to_string()
                };
                let _ = writeln!(out, "{},{},{label}", e.hash, e.id);
            }
        }
    }
    out
}

/// Writes a list file atomically (temporary file, fsync, rename).
///
/// # Errors
/// [`Error::Io`] naming the path.
pub fn write_list(path: &Path, entries: &[Entry], format: ListFormat) -> Result<()> {
    crate::fsutil::write_atomically(path, format_list(entries, format).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    const B: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

    fn parse(text: &str, lenient: bool) -> Result<ParsedList> {
        parse_list(
            text,
            Path::new("list.txt"),
            &ReadOptions {
                format: None,
                lenient,
            },
        )
    }

    #[test]
    fn hex_lines_use_line_numbers_as_ids() {
        let parsed = parse(&format!("# known\n{A}\n\n{}\n", B.to_uppercase()), false).unwrap();
        let ids: Vec<u64> = parsed.entries.iter().map(|e| e.id).collect();
        assert_eq!(ids, [2, 4]);
        assert_eq!(parsed.entries[1].hash, B.parse().unwrap());
    }

    #[test]
    fn a_short_line_is_an_error_naming_file_and_line() {
        let err = parse(&format!("{A}\n{}\n", &B[..60]), false).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::ListLine { line: 2, .. }), "{msg}");
        assert!(
            msg.contains("list.txt")
                && msg.contains("line 2")
                && msg.contains("expected 64 hex digits, found 60"),
            "{msg}"
        );
    }

    #[test]
    fn lenient_mode_skips_and_reports_each_bad_line() {
        let text = format!("{A}\nzz\n{B}\n{}\n", &A[..10]);
        let parsed = parse(&text, true).unwrap();
        assert_eq!(parsed.entries.len(), 2);
        let lines: Vec<usize> = parsed.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [2, 4]);
        assert!(parsed.skipped[0].reason.contains("not a hex digit"));
    }

    #[test]
    fn csv_with_and_without_header() {
        let with = format!("hash,entry_id,label\n{A},17,case \"x\"\n{B},18,\"a, b\"\n");
        let parsed = parse(&with, false).unwrap();
        assert_eq!(parsed.entries.len(), 2);
        assert_eq!(
            (parsed.entries[0].id, parsed.entries[0].label.as_deref()),
            (17, Some("case \"x\""))
        );
        assert_eq!(parsed.entries[1].label.as_deref(), Some("a, b"));
        let without = format!("{A},5\n{B},6,label\n");
        let parsed = parse(&without, false).unwrap();
        assert_eq!(
            parsed.entries.iter().map(|e| e.id).collect::<Vec<_>>(),
            [5, 6]
        );
        let err = parse(&format!("{A},notanumber\n"), false).unwrap_err();
        assert!(err.to_string().contains("not a whole number"), "{err}");
        let err = parse(&format!("{A},1\n,2\n"), false).unwrap_err();
        assert!(
            err.to_string().contains("line 2") && err.to_string().contains("empty"),
            "{err}"
        );
    }

    #[test]
    fn threatexchange_exports() {
        let local_file = format!("pdq {A}\nvideo_md5 d41d8cd98f00b204e9800998ecf8427e\npdq {B}\n");
        let parsed = parse(&local_file, false).unwrap();
        assert_eq!(parsed.entries.len(), 2);
        assert_eq!(parsed.other_signal_types, 1);
        let dataset = format!("signal_type,signal_str,collab,category,tags\npdq,{A},Sample Data,,\nraw_text,hello,Sample Data,,\n");
        let parsed = parse(&dataset, false).unwrap();
        assert_eq!(parsed.entries.len(), 1);
        assert_eq!(parsed.entries[0].label.as_deref(), Some("Sample Data"));
        assert_eq!(parsed.other_signal_types, 1);
        let err = parse(&format!("pdq {}\n", &A[..63]), false).unwrap_err();
        assert!(matches!(err, Error::ListLine { line: 1, .. }));
    }

    #[test]
    fn formats_round_trip() {
        let entries = vec![
            Entry {
                hash: A.parse().unwrap(),
                id: 1,
                label: Some("x,y".into()),
            },
            Entry {
                hash: B.parse().unwrap(),
                id: 2,
                label: None,
            },
        ];
        for format in [
            ListFormat::Csv,
            ListFormat::HexLines,
            ListFormat::ThreatExchange,
        ] {
            let text = format_list(&entries, format);
            assert_eq!(ListFormat::detect(&text), format, "{text}");
            let parsed = parse(&text, false).unwrap();
            let hashes: Vec<_> = parsed.entries.iter().map(|e| e.hash).collect();
            assert_eq!(hashes, [entries[0].hash, entries[1].hash]);
            if format == ListFormat::Csv {
                assert_eq!(parsed.entries, entries);
            }
        }
    }

    #[test]
    fn write_list_replaces_the_file_atomically() {
        let dir = std::env::temp_dir().join(format!("hashmatch-list-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("known.csv");
        std::fs::write(&path, "old contents").unwrap();
        let entries = vec![Entry {
            hash: A.parse().unwrap(),
            id: 9,
            label: None,
        }];
        write_list(&path, &entries, ListFormat::Csv).unwrap();
        let parsed = read_list(&path, &ReadOptions::default()).unwrap();
        assert_eq!(parsed.entries, entries);
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            1,
            "temporary file left behind: {leftovers:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
