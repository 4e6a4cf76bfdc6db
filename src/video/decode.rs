//! Built-in video decoding, pure Rust: MP4 (ISO BMFF / QuickTime) demuxing and H.264 decoding,
//! frame by frame in display order, with the reference's frame numbering, frame rate and RGB
//! conversion.
//!
//! vPDQ's reference (`vpdq/cpp/vpdq/cpp/hashing/ffmpegwrapper.cpp`) decodes with FFmpeg:
//! the first video stream, frames numbered from 0 in decoder output (display) order, the frame
//! rate `avg_frame_rate` (else `r_frame_rate`), each frame converted to RGB24 with `sws_scale`.
//! [`VideoDecoder`] does the same with `rust_h264`, which decodes the sample videos to the same
//! YUV as FFmpeg, and a port of swscale's C YUV-to-RGB converter ([`DecodedFrame::to_rgb`]).
//! Only H.264 (`avc1`, `avc3`) in non-fragmented MP4/MOV is supported, 8-bit 4:2:0, 4:2:2 or
//! monochrome; anything else is [`Error::UnsupportedVideo`].
//!
//! ```no_run
//! use hashmatch::video::decode::{VideoDecoder, VideoLimits};
//!
//! let mut video = VideoDecoder::open("upload.mp4".as_ref(), &VideoLimits::default())?;
//! println!("{}x{} at {} fps", video.width(), video.height(), video.frames_per_second());
//! while let Some(frame) = video.next_frame()? {
//!     if frame.number() % 30 == 0 {
//!         let rgb = frame.to_rgb()?;
//!         let pdq = hashmatch::pdq::hash(&rgb.view())?;
//!         println!("{} {}", frame.number(), pdq.hash);
//!     }
//! }
//! # Ok::<(), hashmatch::Error>(())
//! ```
//!
//! Untrusted input: the input size, the frame count and every SPS's dimensions are checked
//! against [`VideoLimits`] before anything of that size is allocated; the container is parsed
//! here with bounds checks (only the sample tables go through the `mp4` crate, one box at a
//! time, from bytes already known to be inside the file); a panic in `mp4` or `rust_h264` is
//! caught and returned as [`Error::VideoDecode`].

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use rust_h264::decoder::{ChromaFormat, Frame, OrderedDecoder};
use rust_h264::nal::{parse_avcc, parse_avcc_config, parse_sps_info, NalUnit, NalUnitType};

use super::yuv::{yuv_to_rgb24, ChromaLayout, Plane, SampleRange};
use crate::error::{Error, Result};
use crate::pixels::{PixelFormat, Pixels};

pub use super::limits::VideoLimits;

/// A readable, seekable video source.
trait Source: Read + Seek + Send {}
impl<T: Read + Seek + Send> Source for T {}

/// Decodes the first video track of an MP4 file to frames in display order.
///
/// Frames are numbered from 0 in display order, as vPDQ numbers them; after the last frame
/// [`next_frame`](VideoDecoder::next_frame) returns `Ok(None)`. A corrupt or truncated sample
/// ends decoding with [`Error::VideoDecode`] after the frames decoded before it, and every
/// later call returns the error again: a damaged video never looks like a complete one.
pub struct VideoDecoder {
    source: Box<dyn Source>,
    source_len: u64,
    path: Option<PathBuf>,
    limits: VideoLimits,
    samples: SampleTable,
    cursor: SampleCursor,
    length_size: usize,
    decoder: OrderedDecoder,
    ready: VecDeque<DecodedFrame>,
    sample: Vec<u8>,
    fps: f64,
    width: u32,
    height: u32,
    range: SampleRange,
    /// Frames given numbers (pushed to `ready`).
    numbered: u64,
    /// Frames returned by `next_frame`.
    returned: u64,
    /// The error to return once `ready` is drained.
    pending: Option<Error>,
    /// Set once an error was returned: later calls fail with this message.
    failed: Option<String>,
    ended: bool,
}

impl fmt::Debug for VideoDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VideoDecoder")
            .field("path", &self.path)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("fps", &self.fps)
            .field("samples", &self.samples.count)
            .field("frames_returned", &self.returned)
            .finish_non_exhaustive()
    }
}

/// One decoded frame: YUV as the decoder produced it, converted to RGB on demand.
#[derive(Debug, Clone)]
pub struct DecodedFrame {
    number: u64,
    frame: Frame,
    range: SampleRange,
}

impl VideoDecoder {
    /// Opens an MP4 file. Only the container's index (the `moov` box) is read now; samples
    /// are read as frames are decoded.
    ///
    /// # Errors
    /// [`Error::Io`] naming the path, and any error of [`VideoDecoder::from_reader`].
    pub fn open(path: &Path, limits: &VideoLimits) -> Result<VideoDecoder> {
        let io_error = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io_error)?;
        let len = file.metadata().map_err(io_error)?.len();
        limits.check_input_size(len)?;
        Self::new(Box::new(file), len, limits, Some(path.to_path_buf()))
    }

    /// Decodes a video held in memory (an upload, a test vector).
    ///
    /// # Errors
    /// As [`VideoDecoder::from_reader`].
    pub fn from_bytes(bytes: Vec<u8>, limits: &VideoLimits) -> Result<VideoDecoder> {
        let len = bytes.len() as u64;
        limits.check_input_size(len)?;
        Self::new(Box::new(Cursor::new(bytes)), len, limits, None)
    }

    /// Decodes a video from any seekable reader; its length is found by seeking to its end.
    ///
    /// # Errors
    /// * [`Error::UnsupportedVideo`]: not an MP4/MOV file, a fragmented MP4, no video track, a
    ///   codec other than H.264 (the message names its fourcc), H.264 other than 8-bit 4:2:0,
    ///   4:2:2 or 4:0:0, no frame rate.
    /// * [`Error::TooLarge`]: the input, the frame count or the frame size is over `limits`.
    /// * [`Error::VideoDecode`] (frame 0): a malformed container or parameter set, or a video
    ///   without frames.
    pub fn from_reader<R: Read + Seek + Send + 'static>(
        mut reader: R,
        limits: &VideoLimits,
    ) -> Result<VideoDecoder> {
        let len = reader
            .seek(SeekFrom::End(0))
            .map_err(|e| malformed(format!("cannot seek the input: {e}")))?;
        limits.check_input_size(len)?;
        Self::new(Box::new(reader), len, limits, None)
    }

    fn new(
        mut source: Box<dyn Source>,
        source_len: u64,
        limits: &VideoLimits,
        path: Option<PathBuf>,
    ) -> Result<VideoDecoder> {
        let moov = read_moov(&mut source, source_len, path.as_deref())?;
        let track = find_video_track(&moov)?;
        let samples = track.samples()?;
        if samples.count == 0 {
            return Err(malformed("the video track has no frames".to_string()));
        }
        if u64::from(samples.count) > limits.max_frames {
            return Err(Error::TooLarge {
                what: "video frame count",
                actual: u64::from(samples.count),
                limit: limits.max_frames,
            });
        }

        let config = parse_avcc_config(track.avcc)
            .map_err(|e| malformed(format!("invalid avcC (H.264 configuration): {e}")))?;
        let mut video = VideoDecoder {
            source,
            source_len,
            path,
            limits: *limits,
            cursor: SampleCursor::default(),
            length_size: config.length_size,
            decoder: OrderedDecoder::new(),
            ready: VecDeque::new(),
            sample: Vec::new(),
            fps: 0.0,
            width: 0,
            height: 0,
            range: SampleRange::Limited,
            numbered: 0,
            returned: 0,
            pending: None,
            failed: None,
            ended: false,
            samples,
        };
        let mut first_sps = None;
        for nal in config.sps_nals.iter().chain(&config.pps_nals) {
            if nal.nal_unit_type == NalUnitType::Sps {
                let info = video.check_sps(nal)?;
                first_sps.get_or_insert(info);
            }
            video.feed(nal).map_err(|e| match e {
                FeedError::Decode(m) | FeedError::Panicked(m) => malformed(format!("avcC: {m}")),
                FeedError::Limit(error) => error,
            })?;
        }
        let sps = match first_sps {
            Some(sps) => sps,
            // avc3 may carry its parameter sets in the samples only.
            None => video.sps_from_first_sample()?,
        };
        video.width = sps.width;
        video.height = sps.height;

        video.fps = match track.avg_frame_rate() {
            Some((num, den)) => f64::from(num) / f64::from(den),
            None => match video.decoder.frame_rate() {
                Some((num, den)) if num > 0 && den > 0 => f64::from(num) / f64::from(den),
                _ => {
                    return Err(Error::UnsupportedVideo {
                        what: "a video without a frame rate (no sample durations and no \
                               H.264 timing information)"
                            .to_string(),
                    })
                }
            },
        };
        Ok(video)
    }

    /// Frames per second, as FFmpeg reports the stream's `avg_frame_rate`: the mov demuxer's
    /// `time_scale * sample count / sum of the sample durations` (libavformat/mov.c,
    /// `mov_read_stts` and `mov_read_header`, FFmpeg 5.1), reduced as `av_reduce` does. A
    /// track without durations falls back to the H.264 VUI timing (`time_scale / (2 *
    /// num_units_in_tick)`), which is where FFmpeg's `r_frame_rate` comes from for such
    /// streams. 30 for the vPDQ sample videos.
    pub fn frames_per_second(&self) -> f64 {
        self.fps
    }

    /// Frame width in pixels, after the SPS's cropping (what FFmpeg reports).
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Frame height in pixels, after the SPS's cropping (what FFmpeg reports).
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The next frame in display order, `Ok(None)` after the last.
    ///
    /// # Errors
    /// [`Error::VideoDecode`] with `frame` = the number of frames already returned, when a
    /// sample is truncated, corrupt or cannot be decoded (or the decoder panicked). Frames the
    /// decoder finished before the failure are returned first. [`Error::TooLarge`] or
    /// [`Error::UnsupportedVideo`] when a parameter set in the stream exceeds the limits or
    /// changes to an unsupported format. After an error, every call fails.
    pub fn next_frame(&mut self) -> Result<Option<DecodedFrame>> {
        loop {
            if let Some(frame) = self.ready.pop_front() {
                self.returned += 1;
                return Ok(Some(frame));
            }
            if let Some(message) = &self.failed {
                return Err(Error::VideoDecode {
                    frame: self.returned,
                    message: format!("decoding stopped earlier: {message}"),
                    partial: None,
                });
            }
            if let Some(error) = self.pending.take() {
                self.failed = Some(error.to_string());
                return Err(error);
            }
            if self.ended {
                return Ok(None);
            }
            self.step();
        }
    }

    /// Decodes one more sample (or flushes at the end), filling `ready` or `pending`.
    fn step(&mut self) {
        let Some(location) = self.cursor.next(&self.samples) else {
            self.flush();
            self.ended = true;
            if self.numbered == 0 && self.pending.is_none() {
                self.pending = Some(malformed(
                    "no frame could be decoded from the video track".to_string(),
                ));
            }
            return;
        };
        let index = self.cursor.returned - 1;
        if let Err(error) = self.decode_sample(index, location) {
            // Frames already decoded (held for reordering) are good: return them first.
            if !matches!(error, DecodeFailure::Panicked(_)) {
                self.flush();
            }
            self.pending.get_or_insert(match error {
                DecodeFailure::Typed(error) => error,
                DecodeFailure::Message(message) | DecodeFailure::Panicked(message) => {
                    Error::VideoDecode {
                        frame: 0,
                        message,
                        partial: None,
                    }
                }
            });
        }
        // The frame count of an error is known only when it is returned.
        if let Some(Error::VideoDecode { frame, .. }) = &mut self.pending {
            *frame = self.returned + self.ready.len() as u64;
        }
    }

    fn decode_sample(
        &mut self,
        index: u32,
        location: std::result::Result<(u64, u32), String>,
    ) -> std::result::Result<(), DecodeFailure> {
        let (offset, size) = location.map_err(DecodeFailure::Message)?;
        self.read_sample(index, offset, size)?;
        let data = std::mem::take(&mut self.sample);
        let result = self.decode_nals(index, &data);
        self.sample = data;
        result
    }

    fn read_sample(
        &mut self,
        index: u32,
        offset: u64,
        size: u32,
    ) -> std::result::Result<(), DecodeFailure> {
        let end = offset.checked_add(u64::from(size));
        if end.is_none_or(|end| end > self.source_len) {
            return Err(DecodeFailure::Message(format!(
                "sample {} ({size} bytes at offset {offset}) lies beyond the end of the {}-byte \
                 input: the file is truncated",
                index + 1,
                self.source_len
            )));
        }
        self.sample.clear();
        self.sample.resize(size as usize, 0);
        let read = self
            .source
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.source.read_exact(&mut self.sample));
        read.map_err(|e| match &self.path {
            Some(path) => DecodeFailure::Typed(Error::Io {
                path: path.clone(),
                source: e,
            }),
            None => DecodeFailure::Message(format!("cannot read sample {}: {e}", index + 1)),
        })
    }

    fn decode_nals(&mut self, index: u32, data: &[u8]) -> std::result::Result<(), DecodeFailure> {
        check_nal_lengths(data, self.length_size)
            .map_err(|e| DecodeFailure::Message(format!("sample {} is corrupt: {e}", index + 1)))?;
        for nal in parse_avcc(data, self.length_size) {
            if nal.nal_unit_type == NalUnitType::Sps {
                self.check_sps(&nal).map_err(DecodeFailure::Typed)?;
            }
            self.feed(&nal).map_err(|e| match e {
                FeedError::Decode(message) => DecodeFailure::Message(format!(
                    "sample {}: H.264 decoding failed: {message}",
                    index + 1
                )),
                FeedError::Panicked(message) => DecodeFailure::Panicked(format!(
                    "sample {}: the H.264 decoder crashed (caught): {message}",
                    index + 1
                )),
                FeedError::Limit(error) => DecodeFailure::Typed(error),
            })?;
        }
        Ok(())
    }

    /// Feeds one NAL unit, queueing the frames it releases.
    fn feed(&mut self, nal: &NalUnit<'_>) -> std::result::Result<(), FeedError> {
        let frames = catch_unwind(AssertUnwindSafe(|| self.decoder.decode_nal(nal)))
            .map_err(|panic| FeedError::Panicked(panic_message(panic)))?
            .map_err(|e| FeedError::Decode(e.to_string()))?;
        for frame in frames {
            self.push(frame).map_err(FeedError::Limit)?;
        }
        Ok(())
    }

    fn flush(&mut self) {
        match catch_unwind(AssertUnwindSafe(|| self.decoder.flush())) {
            Ok(frames) => {
                for frame in frames {
                    if let Err(error) = self.push(frame) {
                        self.pending.get_or_insert(error);
                        break;
                    }
                }
            }
            Err(panic) => {
                self.pending.get_or_insert(Error::VideoDecode {
                    frame: 0,
                    message: format!(
                        "the H.264 decoder crashed at the end of the stream (caught): {}",
                        panic_message(panic)
                    ),
                    partial: None,
                });
            }
        }
    }

    fn push(&mut self, frame: Frame) -> Result<()> {
        if self.numbered >= self.limits.max_frames {
            return Err(Error::TooLarge {
                what: "video frame count",
                actual: self.numbered + 1,
                limit: self.limits.max_frames,
            });
        }
        self.ready.push_back(DecodedFrame {
            number: self.numbered,
            frame,
            range: self.range,
        });
        self.numbered += 1;
        Ok(())
    }

    /// Checks an SPS against the limits and the supported formats before the decoder sees
    /// it (the decoder allocates its pictures from it).
    fn check_sps(&mut self, nal: &NalUnit<'_>) -> Result<rust_h264::nal::SpsInfo> {
        let info = catch_unwind(AssertUnwindSafe(|| parse_sps_info(nal)))
            .map_err(|panic| malformed(format!("SPS parser crashed: {}", panic_message(panic))))?
            .map_err(|e| malformed(format!("invalid SPS: {e}")))?;
        self.limits
            .check_frame_size(info.coded_width, info.coded_height)?;
        if info.bit_depth_luma != 8 || (info.chroma_format != 0 && info.bit_depth_chroma != 8) {
            return Err(Error::UnsupportedVideo {
                what: format!(
                    "{}-bit H.264 (only 8-bit is supported: FFmpeg converts deeper video with \
                     its generic scaler, which is not reproduced here)",
                    info.bit_depth_luma.max(info.bit_depth_chroma)
                ),
            });
        }
        if info.chroma_format > 2 {
            return Err(Error::UnsupportedVideo {
                what: "4:4:4 H.264 (supported: 4:2:0, 4:2:2 and monochrome)".to_string(),
            });
        }
        if info.width == 0 || info.height == 0 {
            return Err(malformed(
                "the SPS crops the picture to nothing".to_string(),
            ));
        }
        self.range = if info.full_range {
            SampleRange::Full
        } else {
            SampleRange::Limited
        };
        Ok(info)
    }

    /// The SPS of a stream whose avcC has none (`avc3`): the first one in the first sample.
    fn sps_from_first_sample(&mut self) -> Result<rust_h264::nal::SpsInfo> {
        let mut cursor = SampleCursor::default();
        let no_sps = || malformed("no SPS in the avcC box or the first sample".to_string());
        let (offset, size) = cursor
            .next(&self.samples)
            .ok_or_else(no_sps)?
            .map_err(malformed)?;
        self.read_sample(0, offset, size).map_err(|e| match e {
            DecodeFailure::Typed(error) => error,
            DecodeFailure::Message(m) | DecodeFailure::Panicked(m) => malformed(m),
        })?;
        let data = std::mem::take(&mut self.sample);
        let sps = parse_avcc(&data, self.length_size)
            .into_iter()
            .find(|nal| nal.nal_unit_type == NalUnitType::Sps)
            .map(|nal| self.check_sps(&nal));
        self.sample = data;
        sps.unwrap_or_else(|| Err(no_sps()))
    }
}

impl DecodedFrame {
    /// 0-based index of the frame in display order, as vPDQ numbers frames.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.frame.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.frame.height
    }

    /// The frame as RGB, converted as FFmpeg 5.1's swscale does it in C at native size
    /// (`yuv2rgb_c_24_rgb` over the tables of `ff_yuv2rgb_c_init_tables`, libswscale/
    /// yuv2rgb.c): BT.601 coefficients whatever the stream's matrix (vPDQ does not set any),
    /// limited range unless the SPS says full range. These are the pixels the vPDQ sample
    /// hashes were made from. Odd sizes (only monochrome H.264 has them) use the same formula
    /// with the nearest chroma; FFmpeg itself has no defined output there.
    ///
    /// # Errors
    /// [`Error::UnsupportedVideo`] for samples deeper than 8 bits (not produced by this
    /// decoder, which rejects such streams).
    pub fn to_rgb(&self) -> Result<Pixels> {
        let f = &self.frame;
        if f.bit_depth != 8 {
            return Err(Error::UnsupportedVideo {
                what: format!("{}-bit frames", f.bit_depth),
            });
        }
        let (w, h) = (f.width as usize, f.height as usize);
        let layout = match f.chroma_format {
            ChromaFormat::Yuv420 => ChromaLayout::Yuv420,
            ChromaFormat::Yuv422 => ChromaLayout::Yuv422,
        };
        let (have_w, have_h) = (f.chroma_width() as usize, f.chroma_height() as usize);
        let need_w = w.div_ceil(2);
        let need_h = match layout {
            ChromaLayout::Yuv420 => h.div_ceil(2),
            ChromaLayout::Yuv422 => h,
        };
        // rust_h264 rounds odd chroma sizes down (only monochrome streams, whose chroma is
        // all 128, can be odd); repeat the last column and row so every pixel has chroma.
        let u = pad_plane(&f.u, have_w, have_h, need_w, need_h);
        let v = pad_plane(&f.v, have_w, have_h, need_w, need_h);
        let rgb = yuv_to_rgb24(
            Plane {
                data: &f.y,
                stride: w,
            },
            Plane {
                data: &u,
                stride: need_w,
            },
            Plane {
                data: &v,
                stride: need_w,
            },
            f.width,
            f.height,
            layout,
            self.range,
        )?;
        Pixels::new(rgb, f.width, f.height, PixelFormat::Rgb8)
    }
}

enum DecodeFailure {
    /// An error to return as it is (limits, unsupported format, I/O).
    Typed(Error),
    /// A corrupt or undecodable sample.
    Message(String),
    /// The decoder panicked: its state is unknown, so it is not flushed.
    Panicked(String),
}

enum FeedError {
    Decode(String),
    Panicked(String),
    Limit(Error),
}

fn pad_plane(
    plane: &[u8],
    have_w: usize,
    have_h: usize,
    need_w: usize,
    need_h: usize,
) -> std::borrow::Cow<'_, [u8]> {
    if have_w == need_w && have_h == need_h || have_w == 0 || have_h == 0 {
        if have_w == 0 || have_h == 0 {
            return vec![128u8; need_w * need_h].into();
        }
        return plane.into();
    }
    let mut out = Vec::with_capacity(need_w * need_h);
    for row in 0..need_h {
        let src = &plane[row.min(have_h - 1) * have_w..][..have_w];
        out.extend((0..need_w).map(|x| src[x.min(have_w - 1)]));
    }
    out.into()
}

fn malformed(message: String) -> Error {
    Error::VideoDecode {
        frame: 0,
        message,
        partial: None,
    }
}

fn not_mp4(what: &str) -> Error {
    Error::UnsupportedVideo {
        what: format!(
            "{what}: not an MP4/MOV file (supported: H.264 video, avc1 or avc3, in MP4 or MOV)"
        ),
    }
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// Checks that the 1-, 2- or 4-byte NAL length prefixes of a sample tile it exactly
/// (`parse_avcc` silently drops what does not fit).
fn check_nal_lengths(data: &[u8], length_size: usize) -> std::result::Result<(), String> {
    let mut at = 0usize;
    while at < data.len() {
        let Some(prefix) = data.get(at..at + length_size) else {
            return Err(format!(
                "{} stray bytes after the last NAL unit",
                data.len() - at
            ));
        };
        let len = prefix
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        at += length_size;
        if len > data.len() - at {
            return Err(format!(
                "a NAL unit of {len} bytes at offset {at} overruns the {}-byte sample",
                data.len()
            ));
        }
        at += len;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Container

/// A box: its type and payload (after the header).
#[derive(Clone, Copy)]
struct Atom<'a> {
    kind: [u8; 4],
    payload: &'a [u8],
}

impl Atom<'_> {
    fn name(&self) -> String {
        fourcc(self.kind)
    }
}

fn fourcc(kind: [u8; 4]) -> String {
    kind.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

/// Parses a box header at the start of `bytes` (`remaining` bytes are left in the parent):
/// returns the type, the header length and the box's total size.
fn box_header(bytes: &[u8], remaining: u64) -> Option<([u8; 4], u64, u64)> {
    let size32 = u32::from_be_bytes(bytes.get(0..4)?.try_into().ok()?);
    let kind: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
    let (header, size) = match size32 {
        // "to the end of the enclosing box" (FFmpeg's mov_read_default reads it so too).
        0 => (8, remaining),
        1 => (16, u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?)),
        n => (8, u64::from(n)),
    };
    Some((kind, header, size))
}

/// The child boxes of a container's payload. A child that claims more bytes than its
/// parent has, or fewer than its own header, makes the container malformed; fewer than 8
/// trailing bytes are ignored (QuickTime's `udta` terminator, as FFmpeg does).
fn children<'a>(payload: &'a [u8], parent: &str) -> std::result::Result<Vec<Atom<'a>>, String> {
    let mut atoms = Vec::new();
    let mut at = 0usize;
    while payload.len() - at >= 8 {
        let remaining = (payload.len() - at) as u64;
        let (kind, header, size) = box_header(&payload[at..], remaining)
            .ok_or_else(|| format!("truncated box header in {parent}"))?;
        if size < header || size > remaining {
            return Err(format!(
                "box '{}' in '{parent}' claims {size} bytes, {remaining} are left",
                fourcc(kind)
            ));
        }
        atoms.push(Atom {
            kind,
            payload: &payload[at + header as usize..at + size as usize],
        });
        at += size as usize;
    }
    Ok(atoms)
}

fn child<'a>(atoms: &[Atom<'a>], kind: &[u8; 4]) -> Option<Atom<'a>> {
    atoms.iter().find(|a| &a.kind == kind).copied()
}

/// Top-level box types that may start an MP4/MOV file.
const TOP_LEVEL: [&[u8; 4]; 14] = [
    b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"junk", b"pdin",
    b"styp", b"sidx", b"moof", b"meta",
];

/// Walks the top-level boxes and reads the `moov` box into memory (its size is bounded by the
/// input size limit). A truncated `mdat` is accepted here (its samples fail when read).
fn read_moov(source: &mut dyn Source, len: u64, path: Option<&Path>) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| match path {
        Some(path) => Error::Io {
            path: path.to_path_buf(),
            source: e,
        },
        None => malformed(format!("cannot read the input: {e}")),
    };
    if len == 0 {
        return Err(not_mp4("the input is empty"));
    }
    let mut pos = 0u64;
    let mut moov = None;
    let mut first = true;
    while len - pos >= 8 {
        let mut header = [0u8; 16];
        let n = (len - pos).min(16) as usize;
        source.seek(SeekFrom::Start(pos)).map_err(io)?;
        source.read_exact(&mut header[..n]).map_err(io)?;
        let parsed = box_header(&header[..n], len - pos);
        if first {
            let plausible =
                parsed.is_some_and(|(kind, h, size)| TOP_LEVEL.contains(&&kind) && size >= h);
            if !plausible {
                let magic: String = header[..n.min(8)]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                return Err(not_mp4(&format!("the input starts with {magic}")));
            }
            first = false;
        }
        let Some((kind, header_len, size)) = parsed else {
            break;
        };
        if size < header_len {
            return Err(malformed(format!(
                "top-level box '{}' at offset {pos} has an invalid size {size}",
                fourcc(kind)
            )));
        }
        match &kind {
            b"moof" => {
                return Err(Error::UnsupportedVideo {
                    what: "fragmented MP4 (moof boxes)".to_string(),
                })
            }
            b"moov" => {
                if size > len - pos {
                    return Err(malformed(format!(
                        "the moov box (the file's index) claims {size} bytes at offset {pos}, \
                         the file has {} left: the file is truncated",
                        len - pos
                    )));
                }
                if moov.is_some() {
                    return Err(malformed("the file has two moov boxes".to_string()));
                }
                let mut bytes = vec![0u8; (size - header_len) as usize];
                source.seek(SeekFrom::Start(pos + header_len)).map_err(io)?;
                source.read_exact(&mut bytes).map_err(io)?;
                moov = Some(bytes);
            }
            _ => {}
        }
        if size >= len - pos {
            break; // the last box (a truncated mdat ends the walk too)
        }
        pos += size;
    }
    moov.ok_or_else(|| {
        malformed(
            "the file has no moov box (its index): it is truncated or not a complete MP4"
                .to_string(),
        )
    })
}

/// What the decoder needs of the first video track.
struct VideoTrack<'a> {
    avcc: &'a [u8],
    stbl: Vec<Atom<'a>>,
    time_scale: u32,
}

fn find_video_track(moov: &[u8]) -> Result<VideoTrack<'_>> {
    let moov_children = children(moov, "moov").map_err(malformed)?;
    if child(&moov_children, b"mvex").is_some() {
        return Err(Error::UnsupportedVideo {
            what: "fragmented MP4 (mvex box)".to_string(),
        });
    }
    let movie_time_scale = child(&moov_children, b"mvhd")
        .and_then(|mvhd| {
            let p = mvhd.payload;
            // version 1: 4 + 8 + 8, version 0: 4 + 4 + 4 bytes before the time scale.
            let at = if p.first() == Some(&1) { 20 } else { 12 };
            Some(u32::from_be_bytes(p.get(at..at + 4)?.try_into().ok()?))
        })
        .unwrap_or(0);
    for trak in moov_children.iter().filter(|a| &a.kind == b"trak") {
        let trak_children = children(trak.payload, "trak").map_err(malformed)?;
        let Some(mdia) = child(&trak_children, b"mdia") else {
            continue;
        };
        let mdia_children = children(mdia.payload, "mdia").map_err(malformed)?;
        let handler = child(&mdia_children, b"hdlr").and_then(|h| h.payload.get(8..12));
        if handler != Some(b"vide") {
            continue;
        }
        // The first video track, as vPDQ takes it.
        let stbl = child(&mdia_children, b"minf")
            .map(|minf| children(minf.payload, "minf"))
            .transpose()
            .map_err(malformed)?
            .and_then(|minf| child(&minf, b"stbl"))
            .ok_or_else(|| malformed("the video track has no sample table".to_string()))?;
        let stbl = children(stbl.payload, "stbl").map_err(malformed)?;
        let stsd = child(&stbl, b"stsd")
            .ok_or_else(|| malformed("the video track has no stsd box".to_string()))?;
        let entries = stsd
            .payload
            .get(8..)
            .map(|p| children(p, "stsd"))
            .transpose()
            .map_err(malformed)?
            .unwrap_or_default();
        let entry = entries
            .first()
            .ok_or_else(|| malformed("the video track has no sample description".to_string()))?;
        if &entry.kind != b"avc1" && &entry.kind != b"avc3" {
            return Err(Error::UnsupportedVideo {
                what: format!(
                    "codec '{}'{} (supported: H.264, sample entries avc1 and avc3)",
                    entry.name(),
                    codec_name(entry.kind)
                ),
            });
        }
        // VisualSampleEntry: 78 bytes of fields, then boxes (avcC, pasp, colr, btrt, ...).
        let entry_children = entry
            .payload
            .get(78..)
            .map(|p| children(p, "avc1"))
            .transpose()
            .map_err(malformed)?
            .unwrap_or_default();
        let avcc = child(&entry_children, b"avcC")
            .ok_or_else(|| malformed("the H.264 sample entry has no avcC box".to_string()))?;
        // fix_timescale (libavformat/mov.c): a missing track time scale falls back to the
        // movie's, then to 1.
        let track_time_scale = child(&mdia_children, b"mdhd")
            .and_then(|mdhd| {
                let at = if mdhd.payload.first() == Some(&1) {
                    20
                } else {
                    12
                };
                be32(mdhd.payload, at)
            })
            .unwrap_or(0);
        let time_scale = match track_time_scale {
            0 if movie_time_scale > 0 => movie_time_scale,
            0 => 1,
            n => n,
        };
        return Ok(VideoTrack {
            avcc: avcc.payload,
            stbl,
            time_scale,
        });
    }
    Err(Error::UnsupportedVideo {
        what: "a file without a video track".to_string(),
    })
}

fn codec_name(kind: [u8; 4]) -> &'static str {
    match &kind {
        b"hvc1" | b"hev1" => " (HEVC/H.265)",
        b"av01" => " (AV1)",
        b"vp08" => " (VP8)",
        b"vp09" => " (VP9)",
        b"mp4v" => " (MPEG-4 Part 2)",
        b"jpeg" | b"mjpa" | b"mjpb" => " (Motion JPEG)",
        b"apcn" | b"apch" | b"apcs" | b"apco" | b"ap4h" => " (Apple ProRes)",
        b"encv" => " (encrypted)",
        b"s263" | b"h263" => " (H.263)",
        _ => "",
    }
}

/// A full box's payload after its version and flags, or an error naming the box.
fn full_box<'a>(atom: Atom<'a>) -> Result<&'a [u8]> {
    atom.payload
        .get(4..)
        .ok_or_else(|| malformed(format!("the '{}' box is too short", atom.name())))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The `count` fixed-size entries after a full box's entry count, checked against the box
/// size before anything is allocated.
fn entries(atom: Atom<'_>, skip: usize, entry_size: usize) -> Result<(u32, &[u8])> {
    let body = full_box(atom)?;
    let count = be32(body, skip)
        .ok_or_else(|| malformed(format!("the '{}' box is too short", atom.name())))?;
    let table = &body[skip + 4..];
    if (count as usize)
        .checked_mul(entry_size)
        .is_none_or(|n| n > table.len())
    {
        return Err(malformed(format!(
            "the '{}' box declares {count} entries, it has room for {}",
            atom.name(),
            table.len() / entry_size
        )));
    }
    Ok((count, &table[..count as usize * entry_size]))
}

fn words(table: &[u8]) -> impl Iterator<Item = u32> + '_ {
    table
        .chunks_exact(4)
        .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
}

impl VideoTrack<'_> {
    fn samples(&self) -> Result<SampleTable> {
        let missing = |what: &str| malformed(format!("the video track has no {what} box"));
        let Some(stsz) = child(&self.stbl, b"stsz") else {
            return Err(if child(&self.stbl, b"stz2").is_some() {
                Error::UnsupportedVideo {
                    what: "compact sample sizes (stz2 box)".to_string(),
                }
            } else {
                missing("stsz")
            });
        };
        let body = full_box(stsz)?;
        let constant_size = be32(body, 0).ok_or_else(|| missing("complete stsz"))?;
        let count = be32(body, 4).ok_or_else(|| missing("complete stsz"))?;
        let sizes = if constant_size == 0 {
            let (_, table) = entries(stsz, 4, 4)?;
            words(table).collect()
        } else {
            Vec::new()
        };
        let stsc = child(&self.stbl, b"stsc").ok_or_else(|| missing("stsc"))?;
        let (_, table) = entries(stsc, 0, 12)?;
        let chunks: Vec<(u32, u32)> = table
            .chunks_exact(12)
            .map(|e| (be32(e, 0).unwrap_or(0), be32(e, 4).unwrap_or(0)))
            .collect();
        let chunk_offsets: Vec<u64> = if let Some(stco) = child(&self.stbl, b"stco") {
            let (_, table) = entries(stco, 0, 4)?;
            words(table).map(u64::from).collect()
        } else if let Some(co64) = child(&self.stbl, b"co64") {
            let (_, table) = entries(co64, 0, 8)?;
            table
                .chunks_exact(8)
                .map(|e| u64::from_be_bytes(e.try_into().unwrap_or([0; 8])))
                .collect()
        } else {
            return Err(missing("stco or co64"));
        };
        if chunks.is_empty() && count > 0 {
            return Err(malformed("the stsc box is empty".to_string()));
        }
        Ok(SampleTable {
            count,
            constant_size,
            sizes,
            chunk_offsets,
            chunks,
        })
    }

    /// FFmpeg 5.1's `avg_frame_rate` for an MP4 video track: `mov_read_stts` sums the sample
    /// durations (each read as a signed 32-bit `int`, products accumulated in 64 bits) and
    /// the sample counts, keeping them when the duration is positive and the count fits an
    /// `int`; `mov_read_header` then sets `av_reduce(time_scale * frames, duration,
    /// INT_MAX)`. `None` where FFmpeg leaves it 0/0.
    fn avg_frame_rate(&self) -> Option<(i32, i32)> {
        let (_, table) = entries(child(&self.stbl, b"stts")?, 0, 8).ok()?;
        let mut duration: i64 = 0;
        let mut frames: i64 = 0;
        for entry in table.chunks_exact(8) {
            let count = be32(entry, 0)?;
            let delta = be32(entry, 4)? as i32;
            duration = duration.wrapping_add(i64::from(delta).wrapping_mul(i64::from(count)));
            frames += i64::from(count);
        }
        if duration <= 0 || frames <= 0 || frames > i64::from(i32::MAX) {
            return None;
        }
        let (num, den) = av_reduce(
            i64::from(self.time_scale).wrapping_mul(frames),
            duration,
            i64::from(i32::MAX),
        );
        (num > 0 && den > 0).then_some((num as i32, den as i32))
    }
}

/// `av_reduce` (libavutil/rational.c): `num / den` reduced, or its best continued-fraction
/// approximation with both terms at most `max`.
fn av_reduce(num: i64, den: i64, max: i64) -> (i64, i64) {
    let (mut a0n, mut a0d) = (0i64, 1i64);
    let (mut a1n, mut a1d) = (1i64, 0i64);
    let sign = (num < 0) != (den < 0);
    let (mut num, mut den) = (num.unsigned_abs() as i64, den.unsigned_abs() as i64);
    let gcd = gcd(num, den);
    if gcd != 0 {
        num /= gcd;
        den /= gcd;
    }
    if num <= max && den <= max {
        a1n = num;
        a1d = den;
        den = 0;
    }
    while den != 0 {
        let x = num / den;
        let next_den = num - den * x;
        let a2n = x.wrapping_mul(a1n).wrapping_add(a0n);
        let a2d = x.wrapping_mul(a1d).wrapping_add(a0d);
        if a2n > max || a2d > max {
            let mut x = x;
            if a1n != 0 {
                x = (max - a0n) / a1n;
            }
            if a1d != 0 {
                x = x.min((max - a0d) / a1d);
            }
            if i128::from(den) * i128::from(2 * x * a1d + a0d) > i128::from(num) * i128::from(a1d) {
                a1n = x * a1n + a0n;
                a1d = x * a1d + a0d;
            }
            break;
        }
        a0n = a1n;
        a0d = a1d;
        a1n = a2n;
        a1d = a2d;
        num = den;
        den = next_den;
    }
    (if sign { -a1n } else { a1n }, a1d)
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Where the samples are: ISO/IEC 14496-12 sample size, sample-to-chunk and chunk offset
/// tables.
struct SampleTable {
    count: u32,
    constant_size: u32,
    sizes: Vec<u32>,
    chunk_offsets: Vec<u64>,
    /// `(first_chunk, samples_per_chunk)`, 1-based chunk numbers.
    chunks: Vec<(u32, u32)>,
}

/// Walks the sample table in file order without materialising it (a hostile table may
/// declare billions of samples in a few bytes).
#[derive(Default)]
struct SampleCursor {
    /// Samples handed out so far.
    returned: u32,
    /// Index of the next chunk to open.
    next_chunk: usize,
    /// Index into `SampleTable::chunks` for the current chunk.
    run: usize,
    left_in_chunk: u32,
    offset: u64,
}

impl SampleCursor {
    fn next(&mut self, table: &SampleTable) -> Option<std::result::Result<(u64, u32), String>> {
        if self.returned >= table.count {
            return None;
        }
        while self.left_in_chunk == 0 {
            let Some(&offset) = table.chunk_offsets.get(self.next_chunk) else {
                let held = self.returned;
                self.returned = table.count; // end the walk: the table is inconsistent
                return Some(Err(format!(
                    "the sample table lists {} samples, its chunks hold only {held}",
                    table.count
                )));
            };
            let chunk_number = self.next_chunk as u64 + 1;
            while self.run + 1 < table.chunks.len()
                && u64::from(table.chunks[self.run + 1].0) <= chunk_number
            {
                self.run += 1;
            }
            self.left_in_chunk = table.chunks.get(self.run).map_or(0, |c| c.1);
            self.offset = offset;
            self.next_chunk += 1;
        }
        let index = self.returned as usize;
        let size = if table.constant_size > 0 {
            table.constant_size
        } else {
            table.sizes[index]
        };
        let location = (self.offset, size);
        self.offset = self.offset.saturating_add(u64::from(size));
        self.left_in_chunk -= 1;
        self.returned += 1;
        Some(Ok(location))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn av_reduce_matches_libavutil() {
        assert_eq!(av_reduce(15360 * 120, 61440, i32::MAX.into()), (30, 1));
        assert_eq!(av_reduce(30000 * 10, 10010, i32::MAX.into()), (30000, 1001));
        assert_eq!(av_reduce(-6, 4, 100), (-3, 2));
        // pi-ish, forced to small terms: the best approximation with terms <= 1000.
        assert_eq!(av_reduce(314_159_265, 100_000_000, 1000), (355, 113));
    }

    #[test]
    fn nal_lengths_must_tile_the_sample() {
        assert!(check_nal_lengths(&[0, 0, 0, 2, 0x65, 1, 0, 0, 0, 1, 0x41], 4).is_ok());
        assert!(check_nal_lengths(&[0, 0, 0, 9, 0x65], 4).is_err());
        assert!(check_nal_lengths(&[0, 0, 0, 1, 0x65, 0, 0], 4).is_err());
        assert!(check_nal_lengths(&[], 4).is_ok());
    }

    #[test]
    fn sample_cursor_walks_chunks() {
        let table = SampleTable {
            count: 5,
            constant_size: 0,
            sizes: vec![10, 20, 30, 40, 50],
            chunk_offsets: vec![1000, 2000, 3000],
            chunks: vec![(1, 2), (3, 1)],
        };
        let mut cursor = SampleCursor::default();
        let got: Vec<_> = std::iter::from_fn(|| cursor.next(&table)).collect();
        assert_eq!(
            got,
            vec![
                Ok((1000, 10)),
                Ok((1010, 20)),
                Ok((2000, 30)),
                Ok((2030, 40)),
                Ok((3000, 50)),
            ]
        );
        // A table whose chunks cannot hold its samples ends with an error, not a panic.
        let short = SampleTable {
            count: u32::MAX,
            constant_size: 7,
            sizes: vec![],
            chunk_offsets: vec![0],
            chunks: vec![(1, 1)],
        };
        let mut cursor = SampleCursor::default();
        assert_eq!(cursor.next(&short), Some(Ok((0, 7))));
        assert!(matches!(cursor.next(&short), Some(Err(_))));
        assert_eq!(cursor.next(&short), None);
    }

    #[test]
    fn box_walk_rejects_oversized_children() {
        let ok = [0, 0, 0, 8, b'f', b'r', b'e', b'e', 0, 0, 0, 0];
        assert_eq!(children(&ok, "test").unwrap().len(), 1);
        let too_big = [0, 0, 0, 9, b'f', b'r', b'e', b'e'];
        assert!(children(&too_big, "test").is_err());
        let too_small = [0, 0, 0, 4, b'f', b'r', b'e', b'e'];
        assert!(children(&too_small, "test").is_err());
    }

    #[test]
    fn decoder_is_send() {
        fn is_send<T: Send>() {}
        is_send::<VideoDecoder>();
        is_send::<DecodedFrame>();
    }
}
