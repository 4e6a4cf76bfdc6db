//! vPDQ files: the reference's line format, read and written.
//!
//! One line per hashed frame, `frame_number,quality,hash,timestamp`, the timestamp in seconds
//! with 3 decimals, as Meta's `vpdq-hash-video` writes them (`vpdq/cpp/vpdq/cpp/io/vpdqio.cpp`):
//!
//! ```text
//! 0,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.000
//! 30,98,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,1.000
//! ```
//!
//! Reading is strict: every malformed line is an error naming the file, the line and the
//! reason (the reference's reader accepts extra fields and stops at garbage; a list that does
//! not parse must not silently become a shorter video). Blank lines are skipped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::hash::Hash256;

use super::digest::VideoMd5;
use super::feature::VpdqFeature;

/// Parses vPDQ text; `source` names it in errors.
///
/// # Errors
/// [`Error::VpdqLine`] for the first malformed line.
///
/// ```
/// use std::path::Path;
/// use hashmatch::video::file::parse_vpdq;
///
/// let text = "0,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.000\n";
/// let frames = parse_vpdq(text, Path::new("clip.txt"))?;
/// assert_eq!((frames[0].frame_number, frames[0].quality), (0, 100));
///
/// let err = parse_vpdq("0,100,e27101,0.000\n", Path::new("clip.txt")).unwrap_err();
/// assert!(err.to_string().starts_with("clip.txt, line 1: hash: "));
/// # Ok::<(), hashmatch::Error>(())
/// ```
pub fn parse_vpdq(text: &str, source: &Path) -> Result<Vec<VpdqFeature>> {
    let mut features = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        features.push(parse_line(line).map_err(|reason| Error::VpdqLine {
            file: source.to_path_buf(),
            line: index + 1,
            reason,
        })?);
    }
    Ok(features)
}

fn parse_line(line: &str) -> std::result::Result<VpdqFeature, String> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let [frame, quality, hash, timestamp] = fields[..] else {
        return Err(format!(
            "expected 4 fields (frame,quality,hash,timestamp), found {}",
            fields.len()
        ));
    };
    let frame_number = frame
        .parse::<u64>()
        .map_err(|_| format!("frame number {frame:?} is not a non-negative integer"))?;
    let quality = quality
        .parse::<u8>()
        .ok()
        .filter(|q| *q <= 100)
        .ok_or_else(|| format!("quality {quality:?} is not an integer from 0 to 100"))?;
    let hash = hash.parse::<Hash256>().map_err(|e| format!("hash: {e}"))?;
    let timestamp = timestamp
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0)
        .ok_or_else(|| format!("timestamp {timestamp:?} is not a non-negative number"))?;
    Ok(VpdqFeature {
        frame_number,
        quality,
        hash,
        timestamp,
    })
}

/// Reads a vPDQ file.
///
/// # Errors
/// [`Error::Io`] naming the path, or [`Error::VpdqLine`].
pub fn read_vpdq(path: &Path) -> Result<Vec<VpdqFeature>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_vpdq(&text, path)
}

/// The vPDQ lines of `features`, exactly as the reference writes them.
///
/// ```
/// use hashmatch::video::{file::format_vpdq, VpdqFeature};
///
/// let hash = "e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c".parse()?;
/// let line = format_vpdq(&[VpdqFeature { frame_number: 30, quality: 98, hash, timestamp: 1.0 }]);
/// assert_eq!(line, "30,98,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,1.000\n");
/// # Ok::<(), hashmatch::Error>(())
/// ```
pub fn format_vpdq(features: &[VpdqFeature]) -> String {
    let mut out = String::with_capacity(features.len() * 80);
    for f in features {
        let _ = writeln!(
            out,
            "{},{},{},{:.3}",
            f.frame_number, f.quality, f.hash, f.timestamp
        );
    }
    out
}

/// Writes a vPDQ file atomically (temporary file, fsync, rename).
///
/// # Errors
/// [`Error::Io`] naming the path.
pub fn write_vpdq(path: &Path, features: &[VpdqFeature]) -> Result<()> {
    crate::fsutil::write_atomically(path, format_vpdq(features).as_bytes())
}

/// Whether `path` is named as a vPDQ file: `*.txt` or `*.vpdq`.
pub fn is_vpdq_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "txt" || e == "vpdq")
}

/// One known video of a video list read by [`read_video_list`].
#[derive(Debug, Clone, PartialEq)]
pub struct ListedVideo {
    /// Its id in the list: the 1-based position of its name in name order.
    pub id: u64,
    /// Its label: the files' name without the extension.
    pub label: String,
    /// Its records (empty for a video known only by its MD5).
    pub features: Vec<VpdqFeature>,
    /// The MD5 digests of its known files (from `<name>.md5`).
    pub md5: Vec<VideoMd5>,
}

/// Reads a video list: a folder with, per known video, a vPDQ file (`<name>.txt` or
/// `<name>.vpdq`) and/or `<name>.md5` (the MD5 of the video file's bytes, HMA's `video_md5`,
/// one 32-hex-digit digest a line; blank lines and `#` comments allowed), or a single vPDQ
/// file (a list of one video). Hidden files, other files and subfolders are left out. Videos
/// are numbered 1, 2, ... in name order and labelled with the name: keep the names stable to
/// keep the ids.
///
/// # Errors
/// [`Error::Io`] naming the path, [`Error::VpdqLine`] naming the file and line (a malformed
/// record or digest, a vPDQ file with no records (line 0), two vPDQ files for one name).
pub fn read_video_list(path: &Path) -> Result<Vec<ListedVideo>> {
    let io_error = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut by_name: BTreeMap<String, (Option<PathBuf>, Option<PathBuf>)> = BTreeMap::new();
    if std::fs::metadata(path).map_err(io_error)?.is_dir() {
        for entry in std::fs::read_dir(path).map_err(io_error)? {
            let file = entry.map_err(io_error)?.path();
            let (Some(stem), Some(ext)) = (file.file_stem(), file.extension()) else {
                continue;
            };
            let stem = stem.to_string_lossy().into_owned();
            if stem.starts_with('.') || !file.is_file() {
                continue;
            }
            let slot = by_name.entry(stem).or_default();
            if is_vpdq_file(&file) {
                if let Some(other) = slot.0.replace(file.clone()) {
                    return Err(Error::VpdqLine {
                        file,
                        line: 0,
                        reason: format!(
                            "{} holds the records of the same video: keep one",
                            other.display()
                        ),
                    });
                }
            } else if ext == "md5" {
                slot.1 = Some(file);
            }
        }
        by_name.retain(|_, (vpdq, md5)| vpdq.is_some() || md5.is_some());
    } else {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        by_name.insert(name, (Some(path.to_path_buf()), None));
    }
    let mut videos = Vec::with_capacity(by_name.len());
    for (i, (label, (vpdq, md5))) in by_name.into_iter().enumerate() {
        let features = match vpdq {
            Some(file) => {
                let features = read_vpdq(&file)?;
                if features.is_empty() {
                    return Err(Error::VpdqLine {
                        file,
                        line: 0,
                        reason: "the file holds no frame records".into(),
                    });
                }
                features
            }
            None => Vec::new(),
        };
        let md5 = match md5 {
            Some(file) => read_md5_file(&file)?,
            None => Vec::new(),
        };
        videos.push(ListedVideo {
            id: i as u64 + 1,
            label,
            features,
            md5,
        });
    }
    Ok(videos)
}

/// The digests of a `.md5` file: one a line, blank lines and `#` comments skipped.
fn read_md5_file(file: &Path) -> Result<Vec<VideoMd5>> {
    let text = std::fs::read_to_string(file).map_err(|source| Error::Io {
        path: file.to_path_buf(),
        source,
    })?;
    let mut digests = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // `md5sum` output (`<digest>  <file name>`) is accepted too.
        let digest = line.split_whitespace().next().unwrap_or(line);
        digests.push(digest.parse().map_err(|e| Error::VpdqLine {
            file: file.to_path_buf(),
            line: n + 1,
            reason: format!("not an MD5 digest: {e}"),
        })?);
    }
    if digests.is_empty() {
        return Err(Error::VpdqLine {
            file: file.to_path_buf(),
            line: 0,
            reason: "the file holds no MD5 digest".into(),
        });
    }
    Ok(digests)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c";

    fn err(text: &str) -> String {
        parse_vpdq(text, Path::new("v.txt"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn round_trips_the_reference_layout() {
        let text = format!("0,100,{H},0.000\n\n29,7,{H},0.967\n");
        let parsed = parse_vpdq(&text, Path::new("v.txt")).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1].frame_number, 29);
        assert_eq!(parsed[1].quality, 7);
        assert_eq!(parsed[1].timestamp, 0.967);
        assert_eq!(format_vpdq(&parsed), text.replace("\n\n", "\n"));
    }

    #[test]
    fn malformed_lines_name_line_and_reason() {
        let good = format!("0,100,{H},0.000\n");
        assert_eq!(
            err(&format!("{good}1,100,{H}\n")),
            "v.txt, line 2: expected 4 fields (frame,quality,hash,timestamp), found 3"
        );
        assert!(err(&format!("{good}{good}x,1,{H},0.1\n")).starts_with("v.txt, line 3: frame"));
        assert!(err(&format!("1,101,{H},0.1\n")).contains("quality \"101\""));
        assert!(err(&format!("1,-1,{H},0.1\n")).contains("quality"));
        assert!(err("1,50,zz,0.1\n").contains("hash: "));
        assert!(err(&format!("1,50,{H},-2\n")).contains("timestamp"));
        assert!(err(&format!("1,50,{H},nan\n")).contains("timestamp"));
        assert!(err(&format!("1,50,{H},0.1,extra\n")).contains("found 5"));
    }
}
