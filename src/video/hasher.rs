//! [`VideoHasher`]: decoded frames in, vPDQ records out, sampled as the reference samples.

use crate::error::{Error, Result};
use crate::hash::pdq;
use crate::pixels::PixelView;

use super::feature::{VideoHash, VpdqFeature};

/// How a video is sampled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoHasherConfig {
    /// Seconds between hashed frames (default 1.0, as HMA, python-threatexchange and the
    /// reference library hash; 0 hashes every frame, as the reference's `vpdq-hash-video` CLI
    /// does by default). The hasher keeps frame `n` when `n % (int)(seconds_per_hash * fps) ==
    /// 0`, the interval truncated as the reference truncates it (29.97 fps: every 29th frame)
    /// and at least 1.
    pub seconds_per_hash: f64,
    /// Hash every sampled frame resized to `side` x `side` (aspect not kept, box filter), as
    /// the reference's `vpdq-hash-video -s side` does (its sample files include `-s 128`
    /// variants); `None`, the default, hashes frames at their native size, as HMA and
    /// python-threatexchange do. The reference scales with swscale's `SWS_AREA`, which this
    /// approximates: hashes are close to the reference's, not bit-identical (tested against
    /// the `-128x128` sample files with a tolerance).
    pub frame_side: Option<u32>,
}

impl Default for VideoHasherConfig {
    fn default() -> Self {
        VideoHasherConfig {
            seconds_per_hash: 1.0,
            frame_side: None,
        }
    }
}

/// Hashes a video frame by frame, from any decoder.
///
/// Feed it every decoded frame in display order (the order a decoder outputs them); it numbers
/// them from 0, hashes those the sampling keeps with PDQ (the RGB luma path, as the reference's
/// `PDQFrameBufferHasher`), and records frame number, quality, hash and timestamp. Frames it
/// does not sample need no pixels: ask [`VideoHasher::wants_next_frame`] and call
/// [`VideoHasher::skip_frame`] instead of converting them to RGB.
///
/// Every frame is hashed at the size it is given: the reference hashes native-size frames
/// (no 512 cap, unlike images through the C++ CLI). Low-quality frames are recorded with their
/// quality, as the reference records them; matching ignores those below 50.
#[derive(Debug, Clone)]
pub struct VideoHasher {
    frames_per_second: f64,
    interval: u64,
    frame_side: Option<u32>,
    next_frame: u64,
    features: Vec<VpdqFeature>,
}

impl VideoHasher {
    /// A hasher for a video of `frames_per_second` (the stream's average frame rate, as the
    /// reference takes it from FFmpeg's `avg_frame_rate`).
    ///
    /// # Errors
    /// [`Error::InvalidVideoInput`] if the frame rate is not a positive finite number or
    /// `seconds_per_hash` is negative or not finite.
    pub fn new(frames_per_second: f64, config: VideoHasherConfig) -> Result<Self> {
        if !(frames_per_second.is_finite() && frames_per_second > 0.0) {
            return Err(Error::InvalidVideoInput {
                reason: format!(
                    "the frame rate must be a positive number of frames per second, not {frames_per_second}"
                ),
            });
        }
        let seconds = config.seconds_per_hash;
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(Error::InvalidVideoInput {
                reason: format!(
                    "seconds per hash must be zero or a positive number, not {seconds}"
                ),
            });
        }
        if config.frame_side == Some(0) {
            return Err(Error::InvalidVideoInput {
                reason: "the frame side to resize to must be at least 1 pixel".into(),
            });
        }
        // C++ `static_cast<int>(secondsPerHash * frameRate)`, 0 forced to 1. Rust's float to
        // int cast truncates like C's and saturates where C would be undefined.
        let interval = ((seconds * frames_per_second) as i32).max(1) as u64;
        Ok(VideoHasher {
            frames_per_second,
            interval,
            frame_side: config.frame_side,
            next_frame: 0,
            features: Vec::new(),
        })
    }

    /// The frame rate sampling and timestamps use.
    pub fn frames_per_second(&self) -> f64 {
        self.frames_per_second
    }

    /// Frames between two hashed frames (1 = every frame).
    pub fn frame_interval(&self) -> u64 {
        self.interval
    }

    /// The number the next frame will get (= frames pushed or skipped so far).
    pub fn next_frame_number(&self) -> u64 {
        self.next_frame
    }

    /// Whether the next frame will be hashed (if not, [`VideoHasher::skip_frame`] counts it
    /// without its pixels).
    pub fn wants_next_frame(&self) -> bool {
        self.next_frame.is_multiple_of(self.interval)
    }

    /// Counts the next frame without hashing it.
    ///
    /// # Errors
    /// [`Error::InvalidVideoInput`] if the sampling keeps that frame: it needs its pixels
    /// ([`VideoHasher::push_frame`]). Nothing is counted then.
    pub fn skip_frame(&mut self) -> Result<()> {
        if self.wants_next_frame() {
            return Err(Error::InvalidVideoInput {
                reason: format!(
                    "frame {} is sampled (one in {}): it must be pushed with its pixels, not skipped",
                    self.next_frame, self.interval
                ),
            });
        }
        self.next_frame += 1;
        Ok(())
    }

    /// Takes the next decoded frame: hashes it if the sampling keeps it (and returns its
    /// record), else only counts it.
    ///
    /// # Errors
    /// [`Error::TooSmall`] for a sampled frame under 5 pixels a side (the reference refuses the
    /// whole video then). On an error the frame is not counted.
    pub fn push_frame(&mut self, pixels: &PixelView<'_>) -> Result<Option<VpdqFeature>> {
        if !self.wants_next_frame() {
            self.next_frame += 1;
            return Ok(None);
        }
        let hashed = match self.frame_side {
            Some(side) => pdq::hash(&crate::resize::box_resize(pixels, side, side)?.view())?,
            None => pdq::hash(pixels)?,
        };
        let feature = VpdqFeature {
            frame_number: self.next_frame,
            quality: hashed.quality,
            hash: hashed.hash,
            timestamp: VpdqFeature::timestamp_of(self.next_frame, self.frames_per_second),
        };
        self.features.push(feature);
        self.next_frame += 1;
        Ok(Some(feature))
    }

    /// The records made so far.
    pub fn features(&self) -> &[VpdqFeature] {
        &self.features
    }

    /// The video's hash: every record, the frame count and the frame rate.
    pub fn finish(self) -> VideoHash {
        VideoHash {
            features: self.features,
            frame_count: self.next_frame,
            frames_per_second: self.frames_per_second,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PixelFormat;

    fn frame(seed: u32) -> Vec<u8> {
        (0..32 * 24 * 3)
            .map(|i| ((i as u32 * 31 + seed * 17) % 253) as u8)
            .collect()
    }

    #[test]
    fn interval_truncates_as_the_reference() {
        let at = |fps: f64, s: f64| {
            VideoHasher::new(
                fps,
                VideoHasherConfig {
                    seconds_per_hash: s,
                    ..VideoHasherConfig::default()
                },
            )
            .unwrap()
            .frame_interval()
        };
        assert_eq!(at(30.0, 1.0), 30);
        assert_eq!(at(30000.0 / 1001.0, 1.0), 29);
        assert_eq!(at(25.0, 0.0), 1);
        assert_eq!(at(0.5, 1.0), 1);
        assert_eq!(at(30.0, 2.5), 75);
    }

    #[test]
    fn bad_rates_are_refused() {
        for fps in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                VideoHasher::new(fps, VideoHasherConfig::default()),
                Err(Error::InvalidVideoInput { .. })
            ));
        }
        let neg = VideoHasherConfig {
            seconds_per_hash: -1.0,
            ..VideoHasherConfig::default()
        };
        assert!(VideoHasher::new(30.0, neg).is_err());
        let zero_side = VideoHasherConfig {
            frame_side: Some(0),
            ..VideoHasherConfig::default()
        };
        assert!(matches!(
            VideoHasher::new(30.0, zero_side),
            Err(Error::InvalidVideoInput { .. })
        ));
    }

    #[test]
    fn samples_numbers_and_timestamps() {
        let mut h = VideoHasher::new(3.0, VideoHasherConfig::default()).unwrap();
        let px = frame(1);
        let view = PixelView::packed(&px, 32, 24, PixelFormat::Rgb8).unwrap();
        let mut kept = Vec::new();
        for n in 0..8 {
            if n % 2 == 0 {
                if let Some(f) = h.push_frame(&view).unwrap() {
                    kept.push(f.frame_number);
                }
            } else if h.wants_next_frame() {
                kept.push(h.push_frame(&view).unwrap().unwrap().frame_number);
            } else {
                h.skip_frame().unwrap();
            }
        }
        assert_eq!(kept, [0, 3, 6]);
        let video = h.finish();
        assert_eq!(video.frame_count, 8);
        let ts: Vec<f64> = video.features.iter().map(|f| f.timestamp).collect();
        assert_eq!(ts, [0.0, 1.0, 2.0]);
        assert_eq!(video.features[1].hash, pdq::hash(&view).unwrap().hash);
    }

    #[test]
    fn a_sampled_frame_cannot_be_skipped_and_errors_do_not_count() {
        let mut h = VideoHasher::new(30.0, VideoHasherConfig::default()).unwrap();
        assert!(h.skip_frame().is_err());
        let tiny = [0u8; 4 * 4 * 3];
        let view = PixelView::packed(&tiny, 4, 4, PixelFormat::Rgb8).unwrap();
        assert!(matches!(h.push_frame(&view), Err(Error::TooSmall { .. })));
        assert_eq!(h.next_frame_number(), 0);
        assert!(h.features().is_empty());
    }

    #[test]
    fn timestamps_are_single_precision_like_the_reference() {
        // 29.97 fps: (float)1001 / (float)29.97002997... printed with 3 decimals.
        let fps = 30000.0 / 1001.0;
        let t = VpdqFeature::timestamp_of(1001, fps);
        assert_eq!(t, f64::from(1001f32 / fps as f32));
        assert_eq!(format!("{t:.3}"), "33.400");
    }
}
