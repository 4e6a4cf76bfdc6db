//! Optional FFmpeg decoding (feature `ffmpeg`, not default): every container and codec the
//! system's FFmpeg reads, decoded as vPDQ's reference decodes (`ffmpegwrapper.cpp`).
//!
//! The built-in decoder ([`super::decode`]) reads only H.264 in MP4/MOV; this backend, through
//! `ffmpeg-next` and the system's libavformat, libavcodec and libswscale, reads the rest (WebM,
//! Matroska, AVI, HEVC, VP9, AV1, ...). It does what the reference does: the best video stream,
//! frames numbered from 0 in decoder output order, `avg_frame_rate` (else `r_frame_rate`),
//! each frame converted to RGB24 by `sws_scale` with `SWS_AREA`, at native size or at
//! `frame_side` x `frame_side`.
//!
//! FFmpeg's own log is set to `fatal` (it would print to stderr): failures come back as errors.
//!
//! Licence: Debian's FFmpeg is GPL-2.0-or-later; a binary built with this feature carries its
//! obligations. Building needs the libav* development packages, pkg-config and libclang.
//!
//! On x86 FFmpeg converts YUV to RGB with SIMD code whose rounding differs from its C code
//! (which the built-in decoder reproduces, and which made most of Meta's sample hashes): hashes
//! are then within a few bits of the reference's, not identical.
//! [`force_portable_conversion`] switches FFmpeg to its C code for the whole process; the tests
//! use it to check the built-in decoder frame for frame.

use std::path::Path;

use ffmpeg_next as ff;

use super::{VideoHash, VideoHasher, VideoHasherConfig, VideoLimits};
use crate::error::{Error, Result};
use crate::pixels::{PixelFormat, PixelView};

/// Decodes the video at `path` with FFmpeg and hashes it as [`super::hash_file`] does.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::UnsupportedVideo`] if FFmpeg cannot open
/// it or it has no video stream or decoder; [`Error::TooLarge`] for an input, frame size or
/// frame count over `limits` (checked before decoding, and as frames arrive);
/// [`Error::VideoDecode`] for a damaged stream (with the records of the frames before it in
/// `partial`) or a video without frames.
pub fn hash_file(
    path: &Path,
    config: &VideoHasherConfig,
    limits: &VideoLimits,
) -> Result<VideoHash> {
    let len = std::fs::metadata(path)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    limits.check_input_size(len)?;
    ff::init().map_err(|e| unsupported(format!("FFmpeg failed to initialise: {e}")))?;
    // FFmpeg logs to stderr at level "info" by default; a service wants only its errors, and
    // every failure here comes back as an `Error` anyway.
    ff::util::log::set_level(ff::util::log::Level::Fatal);
    let mut input = ff::format::input(&path).map_err(|e| {
        unsupported(format!(
            "FFmpeg cannot open {} as a video: {e}",
            path.display()
        ))
    })?;
    let stream = input
        .streams()
        .best(ff::media::Type::Video)
        .ok_or_else(|| unsupported("the file has no video stream".into()))?;
    let stream_index = stream.index();
    let fps = frame_rate(stream.avg_frame_rate())
        .or_else(|| frame_rate(stream.rate()))
        .ok_or_else(|| unsupported("the video stream has no frame rate".into()))?;
    let context = ff::codec::context::Context::from_parameters(stream.parameters())
        .map_err(|e| unsupported(format!("no decoder for the video stream: {e}")))?;
    let mut decoder = context
        .decoder()
        .video()
        .map_err(|e| unsupported(format!("no decoder for the video stream: {e}")))?;
    limits.check_frame_size(decoder.width(), decoder.height())?;

    let mut state = Decoding {
        hasher: VideoHasher::new(
            fps,
            VideoHasherConfig {
                frame_side: None,
                ..*config
            },
        )?,
        frame_side: config.frame_side,
        limits: *limits,
        scaler: None,
        decoded: ff::util::frame::video::Video::empty(),
    };
    let outcome = (|| {
        for (stream, packet) in input.packets() {
            if stream.index() == stream_index {
                decoder
                    .send_packet(&packet)
                    .map_err(|e| state.failed(format!("FFmpeg refused a packet: {e}")))?;
                state.receive(&mut decoder)?;
            }
        }
        decoder
            .send_eof()
            .map_err(|e| state.failed(format!("FFmpeg could not flush the decoder: {e}")))?;
        state.receive(&mut decoder)
    })();
    match outcome {
        Err(Error::VideoDecode { frame, message, .. }) => Err(Error::VideoDecode {
            frame,
            message,
            partial: Some(Box::new(state.hasher.finish())),
        }),
        Err(other) => Err(other),
        Ok(()) if state.hasher.next_frame_number() == 0 => Err(Error::VideoDecode {
            frame: 0,
            message: "the video stream decoded to no frames".into(),
            partial: None,
        }),
        Ok(()) => Ok(state.hasher.finish()),
    }
}

/// Makes FFmpeg use its portable C code instead of CPU-specific SIMD, for the whole process
/// (`av_force_cpu_flags(0)`): its YUV-to-RGB conversion then equals the built-in decoder's.
/// For tests and reproducibility checks; it slows FFmpeg down.
pub fn force_portable_conversion() {
    // SAFETY: av_force_cpu_flags only stores the flags in a global read when FFmpeg picks its
    // code paths; 0 is a valid value (no CPU extensions).
    unsafe { ff::ffi::av_force_cpu_flags(0) };
}

struct Decoding {
    hasher: VideoHasher,
    frame_side: Option<u32>,
    limits: VideoLimits,
    /// The converter for the current input format and size (rebuilt if they change).
    scaler: Option<(
        ff::software::scaling::Context,
        (ff::format::Pixel, u32, u32),
    )>,
    decoded: ff::util::frame::video::Video,
}

impl Decoding {
    /// A decoding failure at the current frame.
    fn failed(&self, message: String) -> Error {
        Error::VideoDecode {
            frame: self.hasher.next_frame_number(),
            message,
            partial: None,
        }
    }

    /// Takes every frame the decoder has ready: counts it, and converts and hashes it when the
    /// sampling keeps it.
    fn receive(&mut self, decoder: &mut ff::decoder::Video) -> Result<()> {
        while decoder.receive_frame(&mut self.decoded).is_ok() {
            if self.hasher.next_frame_number() >= self.limits.max_frames {
                return Err(Error::TooLarge {
                    what: "video frame count",
                    actual: self.hasher.next_frame_number() + 1,
                    limit: self.limits.max_frames,
                });
            }
            if !self.hasher.wants_next_frame() {
                self.hasher.skip_frame()?;
                continue;
            }
            let (format, w, h) = (
                self.decoded.format(),
                self.decoded.width(),
                self.decoded.height(),
            );
            self.limits.check_frame_size(w, h)?;
            let (out_w, out_h) = self.frame_side.map_or((w, h), |side| (side, side));
            if self.scaler.as_ref().map(|s| s.1) != Some((format, w, h)) {
                let scaler = ff::software::scaling::Context::get(
                    format,
                    w,
                    h,
                    ff::format::Pixel::RGB24,
                    out_w,
                    out_h,
                    ff::software::scaling::Flags::AREA,
                )
                .map_err(|e| {
                    self.failed(format!(
                        "FFmpeg cannot convert {format:?} {w}x{h} to RGB: {e}"
                    ))
                })?;
                self.scaler = Some((scaler, (format, w, h)));
            }
            let scaler = &mut self.scaler.as_mut().expect("set above").0;
            let mut rgb = ff::util::frame::video::Video::empty();
            scaler.run(&self.decoded, &mut rgb).map_err(|e| {
                self.failed(format!("FFmpeg failed to convert a frame to RGB: {e}"))
            })?;
            let view = PixelView::new(rgb.data(0), out_w, out_h, rgb.stride(0), PixelFormat::Rgb8)?;
            self.hasher.push_frame(&view)?;
        }
        Ok(())
    }
}

fn frame_rate(rate: ff::Rational) -> Option<f64> {
    (rate.numerator() > 0 && rate.denominator() > 0)
        .then(|| f64::from(rate.numerator()) / f64::from(rate.denominator()))
}

fn unsupported(what: String) -> Error {
    Error::UnsupportedVideo { what }
}
