//! A whole video file to its vPDQ hash: the built-in decoder feeding the [`VideoHasher`].
//!
//! [`VideoHasher`]: super::VideoHasher

use std::path::Path;

#[cfg(feature = "video")]
use super::{decode::VideoDecoder, VideoHasher};
use super::{VideoHash, VideoHasherConfig, VideoLimits};
use crate::error::{Error, Result};

/// Decodes the video at `path` with the built-in decoder and hashes it as the reference's
/// `vpdq-hash-video` does: every frame numbered in display order, one sampled every
/// `seconds_per_hash` seconds, each sampled frame converted to RGB and hashed with PDQ at its
/// native size.
///
/// ```no_run
/// use hashmatch::video::{self, VideoHasherConfig, VideoLimits};
///
/// let hashed = video::hash_file(
///     "upload.mp4".as_ref(),
///     &VideoHasherConfig::default(),
///     &VideoLimits::default(),
/// )?;
/// print!("{}", video::file::format_vpdq(&hashed.features));
/// # Ok::<(), hashmatch::Error>(())
/// ```
///
/// # Errors
/// Those of `VideoDecoder::open` and `VideoDecoder::next_frame` (module `decode`). A video
/// that fails part way returns [`Error::VideoDecode`] whose `partial` holds the records of the
/// frames decoded before the failure (so a caller can still match them); it is never returned
/// as a complete hash. A sampled frame under 5 pixels a side is [`Error::TooSmall`], as the
/// reference refuses it. A build without the `video` feature has no decoder:
/// [`Error::UnsupportedVideo`] (push frames from your own decoder to a
/// [`VideoHasher`](super::VideoHasher) instead). With the `ffmpeg` feature, a video container
/// the built-in decoder refuses (another codec, WebM, AVI, ...) is decoded by FFmpeg instead
/// (`video::ffmpeg::hash_file`); [`hash_bytes`] has no such fallback.
pub fn hash_file(
    path: &Path,
    config: &VideoHasherConfig,
    limits: &VideoLimits,
) -> Result<VideoHash> {
    #[cfg(feature = "video")]
    let builtin = VideoDecoder::open(path, limits).and_then(|d| hash_decoder(d, config));
    #[cfg(not(feature = "video"))]
    let builtin = {
        let _ = (path, config, limits);
        Err(no_decoder())
    };
    #[cfg(feature = "ffmpeg")]
    if let Err(Error::UnsupportedVideo { .. }) = builtin {
        // Only a recognised video container: an image is never decoded as a one-frame video.
        if super::Container::of_file(path).is_some() {
            return super::ffmpeg::hash_file(path, config, limits);
        }
    }
    builtin
}

/// [`hash_file`] for a video held in memory (an upload's bytes).
///
/// # Errors
/// As [`hash_file`], without the I/O errors.
pub fn hash_bytes(
    bytes: Vec<u8>,
    config: &VideoHasherConfig,
    limits: &VideoLimits,
) -> Result<VideoHash> {
    #[cfg(feature = "video")]
    return hash_decoder(VideoDecoder::from_bytes(bytes, limits)?, config);
    #[cfg(not(feature = "video"))]
    {
        let _ = (bytes, config, limits);
        Err(no_decoder())
    }
}

/// The error of a build without the built-in decoder.
#[cfg(not(feature = "video"))]
fn no_decoder() -> Error {
    Error::UnsupportedVideo {
        what: "this build of hashmatch has no video decoder (feature `video`); push decoded \
               frames to a VideoHasher instead"
            .into(),
    }
}

/// Hashes every frame an opened decoder yields; see [`hash_file`]. Frames the sampling skips
/// are never converted to RGB.
///
/// # Errors
/// As [`hash_file`].
#[cfg(feature = "video")]
pub fn hash_decoder(mut decoder: VideoDecoder, config: &VideoHasherConfig) -> Result<VideoHash> {
    let mut hasher = VideoHasher::new(decoder.frames_per_second(), *config)?;
    loop {
        match decoder.next_frame() {
            Ok(Some(frame)) => {
                if hasher.wants_next_frame() {
                    hasher.push_frame(&frame.to_rgb()?.view())?;
                } else {
                    hasher.skip_frame()?;
                }
            }
            Ok(None) => return Ok(hasher.finish()),
            Err(Error::VideoDecode { frame, message, .. }) => {
                return Err(Error::VideoDecode {
                    frame,
                    message,
                    partial: Some(Box::new(hasher.finish())),
                })
            }
            Err(other) => return Err(other),
        }
    }
}
