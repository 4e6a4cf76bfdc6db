//! [`VideoLimits`]: what decoding one untrusted video may cost.

#[cfg(any(feature = "video", feature = "ffmpeg"))]
use crate::error::{Error, Result};

/// Bounds on what decoding a video may cost. A value over a limit fails with
/// [`Error::TooLarge`](crate::Error::TooLarge) before anything of that size is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoLimits {
    /// Largest input accepted, in bytes.
    pub max_input_bytes: u64,
    /// Widest frame accepted (coded width, in pixels).
    pub max_width: u32,
    /// Tallest frame accepted (coded height, in pixels).
    pub max_height: u32,
    /// Most pixels a frame may have (coded width x height). The decoder keeps up to 17
    /// frames of this size (16 references and the current one), 1.5 bytes a pixel.
    pub max_pixels: u64,
    /// Most frames (MP4 samples) a video may have; this bounds the decoding time.
    pub max_frames: u64,
}

impl Default for VideoLimits {
    /// 4 GiB of input, 8192 pixels a side, 8K UHD frames (8192 x 4320, 35.4 megapixels, so
    /// at most about 900 MB of decoder pictures) and 1,000,000 frames (9 h 15 min at 30 fps):
    /// room for any upload a phone or camera makes, not for a decompression bomb.
    fn default() -> Self {
        VideoLimits {
            max_input_bytes: 4 << 30,
            max_width: 8192,
            max_height: 8192,
            max_pixels: 8192 * 4320,
            max_frames: 1_000_000,
        }
    }
}

#[cfg(any(feature = "video", feature = "ffmpeg"))]
impl VideoLimits {
    /// Checks an input's size in bytes.
    ///
    /// # Errors
    /// [`Error::TooLarge`] over `max_input_bytes`.
    pub(crate) fn check_input_size(&self, len: u64) -> Result<()> {
        if len > self.max_input_bytes {
            return Err(Error::TooLarge {
                what: "video input size in bytes",
                actual: len,
                limit: self.max_input_bytes,
            });
        }
        Ok(())
    }

    /// Checks a frame's size (coded, as the decoder will allocate it).
    ///
    /// # Errors
    /// [`Error::TooLarge`] naming the width, the height or the pixel count over its limit.
    pub(crate) fn check_frame_size(&self, width: u32, height: u32) -> Result<()> {
        for (what, actual, limit) in [
            (
                "video frame width",
                u64::from(width),
                u64::from(self.max_width),
            ),
            (
                "video frame height",
                u64::from(height),
                u64::from(self.max_height),
            ),
            (
                "video frame pixel count",
                u64::from(width) * u64::from(height),
                self.max_pixels,
            ),
        ] {
            if actual > limit {
                return Err(Error::TooLarge {
                    what,
                    actual,
                    limit,
                });
            }
        }
        Ok(())
    }
}
