//! The vPDQ record of one sampled frame, and of a whole video.

use crate::hash::Hash256;

/// The vPDQ record of one sampled frame: the reference's `vpdqFeature`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VpdqFeature {
    /// 0-based number of the frame among the decoded frames, in display order.
    pub frame_number: u64,
    /// The PDQ quality of the frame's hash (0-100). Frames below 50 are kept in the record but
    /// ignored by matching.
    pub quality: u8,
    /// The frame's PDQ hash.
    pub hash: Hash256,
    /// Seconds from the start: `frame_number / fps`, computed in single precision as the
    /// reference does (so the printed 3 decimals agree).
    pub timestamp: f64,
}

impl VpdqFeature {
    /// The reference's timestamp of frame `frame_number` at `frames_per_second`:
    /// `(float)frame / (float)fps`, widened to `f64`.
    pub fn timestamp_of(frame_number: u64, frames_per_second: f64) -> f64 {
        f64::from(frame_number as f32 / frames_per_second as f32)
    }
}

/// A hashed video: the records of its sampled frames, in frame order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VideoHash {
    /// The sampled frames' records, in increasing frame number.
    pub features: Vec<VpdqFeature>,
    /// Frames decoded (sampled or not).
    pub frame_count: u64,
    /// The frame rate the sampling and timestamps were computed with.
    pub frames_per_second: f64,
}
