//! Recognising video files from their first bytes, whether or not this build decodes them.

/// Video container formats recognised from their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Container {
    /// ISO base media: MP4, MOV, M4V, 3GP (an `ftyp` box first). The built-in decoder reads it
    /// (H.264 tracks).
    Mp4,
    /// Matroska or WebM (EBML header).
    Matroska,
    /// AVI (RIFF `AVI `).
    Avi,
    /// MPEG transport stream (0x47 sync bytes every 188 bytes).
    MpegTs,
    /// Flash video.
    Flv,
}

impl Container {
    /// The container of `head` (the file's first bytes; 12 are enough but for MPEG-TS, which
    /// needs 377), if it is a video container.
    ///
    /// ```
    /// use hashmatch::video::Container;
    /// assert_eq!(Container::sniff(b"\0\0\0\x18ftypmp42\0\0\0\0"), Some(Container::Mp4));
    /// assert_eq!(Container::sniff(b"\x89PNG\r\n\x1a\n"), None);
    /// ```
    pub fn sniff(head: &[u8]) -> Option<Container> {
        if head.len() >= 8 && &head[4..8] == b"ftyp" {
            Some(Container::Mp4)
        } else if head.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
            Some(Container::Matroska)
        } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"AVI " {
            Some(Container::Avi)
        } else if head.starts_with(b"FLV\x01") {
            Some(Container::Flv)
        } else if head.len() >= 377 && head[0] == 0x47 && head[188] == 0x47 && head[376] == 0x47 {
            Some(Container::MpegTs)
        } else {
            None
        }
    }

    /// The container of the file at `path`, sniffed from its first 512 bytes; `None` if it is
    /// not a video container or cannot be read (the caller's own read reports why).
    pub fn of_file(path: &std::path::Path) -> Option<Container> {
        use std::io::Read;
        let mut head = Vec::with_capacity(512);
        std::fs::File::open(path)
            .ok()?
            .take(512)
            .read_to_end(&mut head)
            .ok()?;
        Container::sniff(&head)
    }

    /// A short name for messages: "MP4", "Matroska/WebM", ...
    pub const fn name(self) -> &'static str {
        match self {
            Container::Mp4 => "MP4",
            Container::Matroska => "Matroska/WebM",
            Container::Avi => "AVI",
            Container::MpegTs => "MPEG transport stream",
            Container::Flv => "FLV",
        }
    }
}

impl std::fmt::Display for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_containers_and_nothing_else() {
        assert_eq!(
            Container::sniff(b"\x1a\x45\xdf\xa3\x01\0\0\0"),
            Some(Container::Matroska)
        );
        assert_eq!(
            Container::sniff(b"RIFF\0\0\0\0AVI LIST"),
            Some(Container::Avi)
        );
        assert_eq!(Container::sniff(b"FLV\x01\x05"), Some(Container::Flv));
        let mut ts = vec![0u8; 400];
        ts[0] = 0x47;
        ts[188] = 0x47;
        ts[376] = 0x47;
        assert_eq!(Container::sniff(&ts), Some(Container::MpegTs));
        for other in [
            &b""[..],
            b"ftyp",
            b"\xff\xd8\xff\xe0",
            b"RIFF\0\0\0\0WEBPVP8 ",
        ] {
            assert_eq!(Container::sniff(other), None);
        }
    }
}
