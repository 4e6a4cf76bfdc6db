//! [`VideoMd5`]: the MD5 of a video file's bytes, HMA's `video_md5` signal. An upload that is
//! byte for byte a known video is found by this digest before anything is decoded.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use md5::{Digest, Md5};

use crate::error::{Error, HashParseError, Result};

/// The MD5 digest of a video file's bytes (16 bytes; 32 lowercase hex digits as text, the
/// form HMA and python-threatexchange exchange as the `video_md5` signal type).
///
/// MD5 is not collision-resistant: a digest match says "these bytes are a known file" for
/// files nobody crafted to collide; it is a cheap first check, not a replacement for vPDQ,
/// which also finds re-encoded copies.
///
/// ```
/// use hashmatch::video::VideoMd5;
/// let digest = VideoMd5::of_bytes(b"");
/// assert_eq!(digest.to_string(), "d41d8cd98f00b204e9800998ecf8427e");
/// assert_eq!("D41D8CD98F00B204E9800998ECF8427E".parse::<VideoMd5>()?, digest);
/// # Ok::<(), hashmatch::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VideoMd5(pub [u8; 16]);

impl VideoMd5 {
    /// The digest of `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> VideoMd5 {
        VideoMd5(Md5::digest(bytes).into())
    }

    /// The digest of the file at `path`, read in 1 MiB blocks (never held in memory whole).
    ///
    /// # Errors
    /// [`Error::Io`] naming the path.
    pub fn of_file(path: &Path) -> Result<VideoMd5> {
        let io_error = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(io_error)?;
        let mut hasher = Md5::new();
        let mut block = vec![0u8; 1 << 20];
        loop {
            match file.read(&mut block) {
                Ok(0) => break,
                Ok(n) => hasher.update(&block[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_error(e)),
            }
        }
        Ok(VideoMd5(hasher.finalize().into()))
    }
}

impl fmt::Display for VideoMd5 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl FromStr for VideoMd5 {
    type Err = Error;

    /// 32 hex digits, either case, nothing else.
    fn from_str(s: &str) -> Result<VideoMd5> {
        if s.is_empty() {
            return Err(HashParseError::Empty.into());
        }
        let found = s.chars().count();
        if found != 32 {
            return Err(HashParseError::WrongLength {
                expected: 32,
                found,
            }
            .into());
        }
        let mut out = [0u8; 16];
        for (position, c) in s.chars().enumerate() {
            let nibble = c.to_digit(16).ok_or(HashParseError::NotHex {
                character: c,
                position,
            })? as u8;
            out[position / 2] |= nibble << if position % 2 == 0 { 4 } else { 0 };
        }
        Ok(VideoMd5(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_and_malformed_text() {
        // RFC 1321's test suite.
        assert_eq!(
            VideoMd5::of_bytes(b"abc").to_string(),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            VideoMd5::of_bytes(b"message digest").to_string(),
            "f96b697d7cb7938d525a2f31aaf161d0"
        );
        for bad in [
            "",
            "d41d8cd98f00b204e9800998ecf8427",
            "d41d8cd98f00b204e9800998ecf8427g",
            "+41d8cd98f00b204e9800998ecf8427e",
        ] {
            assert!(bad.parse::<VideoMd5>().is_err(), "{bad:?}");
        }
        let dir = std::env::temp_dir().join(format!("hashmatch-md5-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(dir.join("v.bin"), &big).unwrap();
        assert_eq!(
            VideoMd5::of_file(&dir.join("v.bin")).unwrap(),
            VideoMd5::of_bytes(&big)
        );
        assert!(matches!(
            VideoMd5::of_file(&dir.join("missing")),
            Err(Error::Io { .. })
        ));
        std::fs::remove_dir_all(&dir).ok();
    }
}
