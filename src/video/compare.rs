//! Comparing two videos by their vPDQ frames, with python-threatexchange's rules.
//!
//! A video is reduced to the set of its distinct frame hashes of quality >= 50 (exact
//! duplicates dropped: a still scene is one frame, not a hundred). Then `query_percent` is the
//! share of the query's frames that have a frame of the candidate within distance 31, and
//! `candidate_percent` the share of the candidate's frames with one in the query. The videos
//! match when `query_percent >= 80` and `candidate_percent >= 0` (pytx's defaults,
//! `vpdq_util.py`): most of the upload is in the known video, however short the upload is,
//! so a clip cut from a known video matches it. Frame order and timestamps play no part, as in
//! the reference.
//!
//! [`compare`] computes this for one pair by brute force, as the reference's
//! `match_VPDQ_hash_brute` does; [`super::VideoIndex`] gives the same numbers for a whole
//! video list without visiting every pair.

use crate::error::{Error, Result};
use crate::hash::pdq;
use crate::hash::Hash256;

use super::feature::VpdqFeature;

/// Thresholds of video matching.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct VideoMatchOptions {
    /// Largest distance at which two frames match (PDQ's 31).
    pub distance: u32,
    /// Frames with a quality below this are ignored on both sides (50).
    pub quality_floor: u8,
    /// The share of the query's frames (percent, 0-100) that must match for a video match
    /// (80).
    pub min_query_percent: f64,
    /// The share of the candidate's frames (percent) that must match (0).
    pub min_candidate_percent: f64,
}

impl Default for VideoMatchOptions {
    fn default() -> Self {
        VideoMatchOptions {
            distance: pdq::MATCH_THRESHOLD,
            quality_floor: pdq::QUALITY_FLOOR,
            min_query_percent: 80.0,
            min_candidate_percent: 0.0,
        }
    }
}

/// How much of two videos matches.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct VideoSimilarity {
    /// The query's distinct frames of sufficient quality.
    pub query_frames: usize,
    /// Those with a candidate frame within the distance.
    pub query_matched: usize,
    /// The candidate's distinct frames of sufficient quality.
    pub candidate_frames: usize,
    /// Those with a query frame within the distance.
    pub candidate_matched: usize,
}

impl VideoSimilarity {
    /// `query_matched * 100 / query_frames`, computed as pytx computes it (0 for no frames).
    pub fn query_percent(&self) -> f64 {
        percent(self.query_matched, self.query_frames)
    }

    /// `candidate_matched * 100 / candidate_frames` (0 for no frames).
    pub fn candidate_percent(&self) -> f64 {
        percent(self.candidate_matched, self.candidate_frames)
    }

    /// Whether the shares reach the thresholds (and at least one frame matched: a video with
    /// nothing in common is never a match, whatever the thresholds).
    pub fn is_match(&self, options: &VideoMatchOptions) -> bool {
        self.query_matched > 0
            && self.query_percent() >= options.min_query_percent
            && self.candidate_percent() >= options.min_candidate_percent
    }
}

fn percent(matched: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        (matched as f64 * 100.0) / total as f64
    }
}

/// The distinct hashes of the frames with quality >= `quality_floor`, in first-seen order
/// (pytx's `quality_filter` then `dedupe`).
pub fn distinct_frames(features: &[VpdqFeature], quality_floor: u8) -> Vec<Hash256> {
    let mut seen = std::collections::HashSet::with_capacity(features.len());
    features
        .iter()
        .filter(|f| f.quality >= quality_floor)
        .filter(|f| seen.insert(f.hash))
        .map(|f| f.hash)
        .collect()
}

/// The distinct usable frames of a query video, or an error if it has none: a video whose
/// every frame is below the quality floor cannot be checked, and must not pass as "no match".
pub(crate) fn query_frames(features: &[VpdqFeature], quality_floor: u8) -> Result<Vec<Hash256>> {
    let frames = distinct_frames(features, quality_floor);
    if frames.is_empty() {
        return Err(Error::VideoLowQuality {
            frames: features.len(),
            floor: quality_floor,
        });
    }
    Ok(frames)
}

/// Compares two videos by brute force over every pair of distinct frames.
///
/// # Errors
/// [`Error::VideoLowQuality`] if the query has no frame of sufficient quality (a candidate
/// without one simply matches nothing).
///
/// ```
/// use hashmatch::video::{compare, VideoMatchOptions, VpdqFeature};
///
/// let frame = |n: u64, hex: &str| VpdqFeature {
///     frame_number: n, quality: 100, hash: hex.parse().unwrap(), timestamp: n as f64,
/// };
/// let a = "e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c";
/// let b = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
/// let known = [frame(0, a), frame(1, b)];
/// let clip = [frame(0, b), frame(1, b)]; // one distinct frame, found in the known video
/// let s = compare(&clip, &known, &VideoMatchOptions::default())?;
/// assert_eq!((s.query_percent(), s.candidate_percent()), (100.0, 50.0));
/// assert!(s.is_match(&VideoMatchOptions::default()));
/// # Ok::<(), hashmatch::Error>(())
/// ```
pub fn compare(
    query: &[VpdqFeature],
    candidate: &[VpdqFeature],
    options: &VideoMatchOptions,
) -> Result<VideoSimilarity> {
    let q = query_frames(query, options.quality_floor)?;
    let c = distinct_frames(candidate, options.quality_floor);
    let within =
        |a: &Hash256, others: &[Hash256]| others.iter().any(|b| a.distance(b) <= options.distance);
    Ok(VideoSimilarity {
        query_frames: q.len(),
        query_matched: q.iter().filter(|h| within(h, &c)).count(),
        candidate_frames: c.len(),
        candidate_matched: c.iter().filter(|h| within(h, &q)).count(),
    })
}
