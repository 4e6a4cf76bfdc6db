//! Video: `hm_video_hasher` (decoded frames in, vPDQ records out), `hm_video_hash` (a video's
//! records), `hm_video_index` (known videos of named lists) and `hm_video_matches`.

use std::ffi::c_char;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::hash::hm_pdq_hash;
use super::hasher::{hm_pixel_format, pixel_view};
use super::matcher::push_c_str;
use super::{array, boundary, bytes, deref, free_box, hm_error, hm_status, infallible};
use super::{opt_utf8, out_ptr, path, utf8, write_out, Failure, FfiResult};
use crate::video::{
    VideoHash, VideoHasher, VideoHasherConfig, VideoIndex, VideoMatch, VideoMatchOptions, VideoMd5,
    VpdqFeature,
};

/// The vPDQ record of one sampled frame (a plain value).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct hm_vpdq_feature {
    /// 0-based number of the frame among the decoded frames, in display order.
    pub frame_number: u64,
    /// The frame's PDQ hash.
    pub hash: hm_pdq_hash,
    /// Seconds from the start (`frame_number / fps`, as the reference computes it).
    pub timestamp: f64,
    /// The hash's quality, 0-100 (frames below 50 are recorded but ignored by matching).
    pub quality: u8,
}

impl From<VpdqFeature> for hm_vpdq_feature {
    fn from(f: VpdqFeature) -> Self {
        hm_vpdq_feature {
            frame_number: f.frame_number,
            hash: f.hash.into(),
            timestamp: f.timestamp,
            quality: f.quality,
        }
    }
}

/// The Rust record a C one describes, or why it is out of range.
fn feature(f: &hm_vpdq_feature) -> Result<VpdqFeature, Failure> {
    if f.quality > 100 {
        return Err(Failure::invalid(format!(
            "frame {}: quality {} is over 100",
            f.frame_number, f.quality
        )));
    }
    if !(f.timestamp.is_finite() && f.timestamp >= 0.0) {
        return Err(Failure::invalid(format!(
            "frame {}: timestamp {} is not a non-negative number",
            f.frame_number, f.timestamp
        )));
    }
    Ok(VpdqFeature {
        frame_number: f.frame_number,
        quality: f.quality,
        hash: f.hash.into(),
        timestamp: f.timestamp,
    })
}

/// `n` C records at `frames` as Rust ones.
///
/// # Safety
/// `frames` is NULL or valid for reads of `n` records.
unsafe fn features(frames: *const hm_vpdq_feature, n: usize) -> Result<Vec<VpdqFeature>, Failure> {
    // SAFETY: forwarded from the caller.
    let frames = unsafe { array(frames, n, "frames") }?;
    frames.iter().map(feature).collect()
}

/// Hashes a video frame by frame from the caller's own decoder: push every decoded frame in
/// display order; the hasher numbers them from 0 and hashes every
/// `(int)(seconds_per_hash * fps)`-th one as Meta's vPDQ reference does. Create with
/// `hm_video_hasher_new`, free with `hm_video_hasher_free`. One thread at a time.
pub struct hm_video_hasher {
    inner: VideoHasher,
}

/// A hashed video: its records in frame order, the frames decoded and the frame rate. Free with
/// `hm_video_hash_free`. Immutable: any number of threads may read one at once.
pub struct hm_video_hash {
    features: Vec<hm_vpdq_feature>,
    frame_count: u64,
    frames_per_second: f64,
}

impl From<&VideoHash> for hm_video_hash {
    fn from(v: &VideoHash) -> Self {
        hm_video_hash {
            features: v.features.iter().map(|&f| f.into()).collect(),
            frame_count: v.frame_count,
            frames_per_second: v.frames_per_second,
        }
    }
}

/// Creates a video hasher for a stream of `frames_per_second` (the stream's average frame
/// rate) that hashes one frame every `seconds_per_hash` seconds (1.0 as HMA hashes; 0 hashes
/// every frame), and stores it in `*out`.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `out` is NULL; `HM_INVALID_VIDEO_INPUT` if the frame
/// rate is not a positive number or `seconds_per_hash` is negative or not finite.
#[no_mangle]
pub unsafe extern "C" fn hm_video_hasher_new(
    frames_per_second: f64,
    seconds_per_hash: f64,
    out: *mut *mut hm_video_hasher,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            let out = out_ptr(out, "out")?;
            let inner = VideoHasher::new(
                frames_per_second,
                VideoHasherConfig {
                    seconds_per_hash,
                    ..VideoHasherConfig::default()
                },
            )?;
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(Box::new(hm_video_hasher { inner })));
            Ok(())
        })
    }
}

/// Whether the next frame will be hashed: if not, count it with `hm_video_hasher_skip_frame`
/// and spare its conversion to RGB. False for NULL.
#[no_mangle]
pub unsafe extern "C" fn hm_video_hasher_wants_frame(hasher: *const hm_video_hasher) -> bool {
    infallible(false, || {
        // SAFETY: NULL or a live handle, by the documented contract.
        unsafe { hasher.as_ref() }.is_some_and(|h| h.inner.wants_next_frame())
    })
}

/// Takes the next decoded frame (raw 8-bit pixels as `hm_hasher_hash_pixels` takes them,
/// hashed at the size given): if the sampling keeps it, hashes it, writes its record to `*out`
/// and `true` to `*hashed`; otherwise only counts it and writes `false` to `*hashed`. `out`
/// and `hashed` may be NULL.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT`; `HM_INVALID_ARGUMENT` (unknown format);
/// `HM_INVALID_PIXELS`; `HM_TOO_SMALL` (a sampled frame under 5 pixels a side; the frame is
/// not counted).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn hm_video_hasher_push_frame(
    hasher: *mut hm_video_hasher,
    pixels: *const u8,
    len: usize,
    width: u32,
    height: u32,
    stride: usize,
    format: hm_pixel_format,
    out: *mut hm_vpdq_feature,
    hashed: *mut bool,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: NULL or a live handle used by one thread, by the documented contract.
            let hasher = hasher.as_mut().ok_or_else(|| Failure::null("hasher"))?;
            // SAFETY: `pixels` is valid for `len` bytes when non-NULL.
            let view = pixel_view(pixels, len, width, height, stride, format)?;
            let record = hasher.inner.push_frame(&view)?;
            if let (Some(record), false) = (record, out.is_null()) {
                // SAFETY: non-NULL, points to a writable record.
                write_out(out, record.into());
            }
            if !hashed.is_null() {
                // SAFETY: non-NULL, points to a writable bool.
                write_out(hashed, record.is_some());
            }
            Ok(())
        })
    }
}

/// Counts the next frame without its pixels (for frames `hm_video_hasher_wants_frame` says are
/// not sampled).
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT`; `HM_INVALID_VIDEO_INPUT` if the frame is sampled (push
/// it instead; nothing is counted).
#[no_mangle]
pub unsafe extern "C" fn hm_video_hasher_skip_frame(
    hasher: *mut hm_video_hasher,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: NULL or a live handle used by one thread.
            let hasher = hasher.as_mut().ok_or_else(|| Failure::null("hasher"))?;
            hasher.inner.skip_frame()?;
            Ok(())
        })
    }
}

/// Stores in `*out` a new `hm_video_hash` with the records so far, the frames counted and the
/// frame rate. The hasher is unchanged (it may take more frames; free it as usual).
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn hm_video_hasher_result(
    hasher: *const hm_video_hasher,
    out: *mut *mut hm_video_hash,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: NULL or a live handle.
            let hasher = deref(hasher, "hasher")?;
            let out = out_ptr(out, "out")?;
            let video = hasher.inner.clone().finish();
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(Box::new(hm_video_hash::from(&video))));
            Ok(())
        })
    }
}

/// Frees a video hasher. NULL does nothing.
#[no_mangle]
pub unsafe extern "C" fn hm_video_hasher_free(hasher: *mut hm_video_hasher) {
    // SAFETY: NULL or a handle from hm_video_hasher_new, freed once.
    infallible((), || unsafe { free_box(hasher) })
}

/// Decodes and hashes a video file with the built-in decoder (MP4 with H.264; default limits),
/// one frame every `seconds_per_hash` seconds, and stores the result in `*out`.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT`; `HM_IO`; `HM_UNSUPPORTED_VIDEO` (another container or
/// codec, or a library built without its `video` feature); `HM_TOO_LARGE`;
/// `HM_VIDEO_DECODE_FAILED` (corrupt, truncated or empty; the message says at which frame, and
/// nothing is written: never treat it as a clean video); `HM_TOO_SMALL`;
/// `HM_INVALID_VIDEO_INPUT` (a bad `seconds_per_hash`).
#[no_mangle]
pub unsafe extern "C" fn hm_video_hash_file(
    path: *const c_char,
    seconds_per_hash: f64,
    out: *mut *mut hm_video_hash,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `path` is NULL or NUL-terminated.
            let path = self::path(path, "path")?;
            let out = out_ptr(out, "out")?;
            let video = hash_video_file(path, seconds_per_hash)?;
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(Box::new(hm_video_hash::from(&video))));
            Ok(())
        })
    }
}

fn hash_video_file(path: &std::path::Path, seconds_per_hash: f64) -> crate::Result<VideoHash> {
    crate::video::hash_file(
        path,
        &VideoHasherConfig {
            seconds_per_hash,
            ..VideoHasherConfig::default()
        },
        &crate::video::VideoLimits::default(),
    )
}

/// Reads a vPDQ file (the reference's `frame,quality,hash,timestamp` lines) into a new
/// `hm_video_hash` in `*out` (its frame count and frame rate are 0: a file does not record
/// them).
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT`; `HM_IO`; `HM_VPDQ_LINE` (the message names the file,
/// line and reason).
#[no_mangle]
pub unsafe extern "C" fn hm_vpdq_read_file(
    path: *const c_char,
    out: *mut *mut hm_video_hash,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `path` is NULL or NUL-terminated.
            let path = self::path(path, "path")?;
            let out = out_ptr(out, "out")?;
            let features = crate::video::file::read_vpdq(path)?;
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(hm_video_hash::from_records(features)));
            Ok(())
        })
    }
}

impl hm_video_hash {
    /// Records read from a vPDQ file or text, which records neither the frame count nor the
    /// frame rate (both 0).
    fn from_records(features: Vec<VpdqFeature>) -> Box<hm_video_hash> {
        Box::new(hm_video_hash {
            features: features.into_iter().map(Into::into).collect(),
            frame_count: 0,
            frames_per_second: 0.0,
        })
    }
}

/// Parses vPDQ text (`len` bytes at `text`, UTF-8, only read during the call) into a new
/// `hm_video_hash` in `*out`, as `hm_vpdq_read_file`; `name` (NULL for "vPDQ text") names
/// the text in error messages.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT`; `HM_INVALID_ARGUMENT` (not UTF-8); `HM_VPDQ_LINE`.
#[no_mangle]
pub unsafe extern "C" fn hm_vpdq_parse(
    text: *const u8,
    len: usize,
    name: *const c_char,
    out: *mut *mut hm_video_hash,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `text` is valid for `len` bytes when non-NULL; `name` NULL or a string.
            let text = bytes(text, len, "text")?;
            let name = opt_utf8(name, "name")?.unwrap_or("vPDQ text");
            let out = out_ptr(out, "out")?;
            let text = std::str::from_utf8(text)
                .map_err(|e| Failure::invalid(format!("{name} is not UTF-8: {e}")))?;
            let features = crate::video::file::parse_vpdq(text, std::path::Path::new(name))?;
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(hm_video_hash::from_records(features)));
            Ok(())
        })
    }
}

/// The number of records in `video`; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hm_video_hash_len(video: *const hm_video_hash) -> usize {
    infallible(0, || {
        // SAFETY: NULL or a live object.
        unsafe { video.as_ref() }.map_or(0, |v| v.features.len())
    })
}

/// The records of `video`, `hm_video_hash_len` of them in frame order, valid until `video` is
/// freed; NULL for NULL or an empty video.
#[no_mangle]
pub unsafe extern "C" fn hm_video_hash_features(
    video: *const hm_video_hash,
) -> *const hm_vpdq_feature {
    infallible(std::ptr::null(), || {
        // SAFETY: NULL or a live object.
        match unsafe { video.as_ref() } {
            Some(v) if !v.features.is_empty() => v.features.as_ptr(),
            _ => std::ptr::null(),
        }
    })
}

/// Frames decoded (sampled or not); 0 for NULL or a video read from a vPDQ file.
#[no_mangle]
pub unsafe extern "C" fn hm_video_hash_frame_count(video: *const hm_video_hash) -> u64 {
    infallible(0, || {
        // SAFETY: NULL or a live object.
        unsafe { video.as_ref() }.map_or(0, |v| v.frame_count)
    })
}

/// The frame rate the video was sampled with; 0 for NULL or a video read from a vPDQ file.
#[no_mangle]
pub unsafe extern "C" fn hm_video_hash_frames_per_second(video: *const hm_video_hash) -> f64 {
    infallible(0.0, || {
        // SAFETY: NULL or a live object.
        unsafe { video.as_ref() }.map_or(0.0, |v| v.frames_per_second)
    })
}

/// Frees a video hash. NULL does nothing.
#[no_mangle]
pub unsafe extern "C" fn hm_video_hash_free(video: *mut hm_video_hash) {
    // SAFETY: NULL or an object from this library, freed once.
    infallible((), || unsafe { free_box(video) })
}

/// Thresholds of video matching. Start from `hm_video_match_options_default()`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct hm_video_match_options {
    /// The share of the upload's distinct frames (percent) that must match (default 80).
    pub min_query_percent: f64,
    /// The share of the known video's distinct frames (percent) that must match (default 0).
    pub min_candidate_percent: f64,
    /// Largest distance at which two frames match (default 31).
    pub distance: u32,
    /// Frames with a lower quality are ignored on both sides (default 50).
    pub quality_floor: u8,
}

impl From<&VideoMatchOptions> for hm_video_match_options {
    fn from(o: &VideoMatchOptions) -> Self {
        hm_video_match_options {
            min_query_percent: o.min_query_percent,
            min_candidate_percent: o.min_candidate_percent,
            distance: o.distance,
            quality_floor: o.quality_floor,
        }
    }
}

fn match_options(o: &hm_video_match_options) -> Result<VideoMatchOptions, Failure> {
    for (name, value) in [
        ("min_query_percent", o.min_query_percent),
        ("min_candidate_percent", o.min_candidate_percent),
    ] {
        if !(0.0..=100.0).contains(&value) {
            return Err(Failure::invalid(format!(
                "{name} {value} is not a percentage from 0 to 100"
            )));
        }
    }
    if o.distance > 256 {
        return Err(Failure::invalid(format!(
            "distance {} is over 256",
            o.distance
        )));
    }
    Ok(VideoMatchOptions {
        distance: o.distance,
        quality_floor: o.quality_floor,
        min_query_percent: o.min_query_percent,
        min_candidate_percent: o.min_candidate_percent,
    })
}

/// The default thresholds (python-threatexchange's: distance 31, quality 50, query 80 %,
/// candidate 0 %), returned by value.
#[no_mangle]
pub extern "C" fn hm_video_match_options_default() -> hm_video_match_options {
    let default = VideoMatchOptions::default();
    infallible(hm_video_match_options::from(&default), || {
        hm_video_match_options::from(&default)
    })
}

/// Known videos of named lists, searched by an upload's vPDQ records through an exact index of
/// their distinct frame hashes. Create with `hm_video_index_new`, free with
/// `hm_video_index_free`. Thread-safe: queries run in parallel; a change waits for running
/// queries. Only `hm_video_index_free` must not overlap another call.
pub struct hm_video_index {
    inner: RwLock<VideoIndex>,
}

impl hm_video_index {
    // Every change validates before it mutates, so a poisoned lock holds consistent state.
    fn read(&self) -> RwLockReadGuard<'_, VideoIndex> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, VideoIndex> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Creates an empty video index with `*options` (NULL for the defaults) in `*out`.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `out` is NULL; `HM_INVALID_ARGUMENT` for a
/// percentage outside 0-100 or a distance over 256.
#[no_mangle]
pub unsafe extern "C" fn hm_video_index_new(
    options: *const hm_video_match_options,
    out: *mut *mut hm_video_index,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            let out = out_ptr(out, "out")?;
            // SAFETY: NULL or a valid options struct.
            let options = match options.as_ref() {
                Some(o) => match_options(o)?,
                None => VideoMatchOptions::default(),
            };
            let index = hm_video_index {
                inner: RwLock::new(VideoIndex::new(options)),
            };
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(Box::new(index)));
            Ok(())
        })
    }
}

/// Frees a video index. NULL does nothing.
#[no_mangle]
pub unsafe extern "C" fn hm_video_index_free(index: *mut hm_video_index) {
    // SAFETY: NULL or a handle from hm_video_index_new, freed once.
    infallible((), || unsafe { free_box(index) })
}

/// Adds an empty list named `name` (NUL-terminated UTF-8).
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT`; `HM_INVALID_ARGUMENT` (not UTF-8); `HM_LIST_EXISTS`;
/// `HM_MATCHER` (an empty name).
#[no_mangle]
pub unsafe extern "C" fn hm_video_index_add_list(
    index: *const hm_video_index,
    name: *const c_char,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: NULL or a live handle; `name` NULL or a string.
            let index = deref(index, "index")?;
            let name = utf8(name, "name")?;
            index.write().add_list(name)?;
            Ok(())
        })
    }
}

/// Indexes a known video: `n` records at `frames` (as `hm_video_hash_features` gives them),
/// under `list` with the list's id `entry_id` and an optional `label` (NULL for none).
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT`; `HM_INVALID_ARGUMENT` (a quality over 100, a bad
/// timestamp, a string not UTF-8); `HM_UNKNOWN_LIST`; `HM_ENTRY_EXISTS`;
/// `HM_VIDEO_LOW_QUALITY` (no frame reaches the quality floor). Nothing is stored on an error.
#[no_mangle]
pub unsafe extern "C" fn hm_video_index_insert(
    index: *const hm_video_index,
    list: *const c_char,
    entry_id: u64,
    label: *const c_char,
    frames: *const hm_vpdq_feature,
    n: usize,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: NULL or live/valid arguments by the documented contract.
            let index = deref(index, "index")?;
            let list = utf8(list, "list")?;
            let label = opt_utf8(label, "label")?;
            let frames = features(frames, n)?;
            index.write().insert(list, entry_id, label, &frames)?;
            Ok(())
        })
    }
}

/// Stops a known video from matching (its match proved wrong), keeping it with `reason`.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT`; `HM_INVALID_ARGUMENT`; `HM_UNKNOWN_LIST`;
/// `HM_UNKNOWN_ENTRY`.
#[no_mangle]
pub unsafe extern "C" fn hm_video_index_disable(
    index: *const hm_video_index,
    list: *const c_char,
    entry_id: u64,
    reason: *const c_char,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: NULL or live/valid arguments.
            let index = deref(index, "index")?;
            let list = utf8(list, "list")?;
            let reason = utf8(reason, "reason")?;
            index.write().disable(list, entry_id, reason)?;
            Ok(())
        })
    }
}

/// Lets a disabled known video match again.
///
/// Returns as `hm_video_index_disable`.
#[no_mangle]
pub unsafe extern "C" fn hm_video_index_enable(
    index: *const hm_video_index,
    list: *const c_char,
    entry_id: u64,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: NULL or live/valid arguments.
            let index = deref(index, "index")?;
            let list = utf8(list, "list")?;
            index.write().enable(list, entry_id)?;
            Ok(())
        })
    }
}

/// One known video an upload matched, read from an `hm_video_matches`. The strings belong to
/// the `hm_video_matches` (valid until it is freed).
#[repr(C)]
#[derive(Debug)]
pub struct hm_video_match {
    /// The list the video belongs to.
    pub list: *const c_char,
    /// The video's id in that list.
    pub entry_id: u64,
    /// The video's label, or NULL.
    pub label: *const c_char,
    /// The share of the upload's distinct frames found in the video (percent).
    pub query_percent: f64,
    /// The share of the video's distinct frames found in the upload (percent).
    pub candidate_percent: f64,
    /// The upload's distinct frames of sufficient quality.
    pub query_frames: usize,
    /// Those within the distance of a frame of the video.
    pub query_matched: usize,
    /// The video's distinct frames of sufficient quality.
    pub candidate_frames: usize,
    /// Those within the distance of a frame of the upload.
    pub candidate_matched: usize,
    /// Found by `hm_video_index_query_md5`: the upload is the known file itself (shares 100,
    /// frame counts 0).
    pub exact_bytes: bool,
}

/// The known videos one query matched, best first (by query share, candidate share, list,
/// id). Read with `hm_video_matches_len` / `hm_video_matches_get`, free with
/// `hm_video_matches_free`; it owns copies of everything it shows.
pub struct hm_video_matches {
    items: Vec<hm_video_match>,
    _text: Box<[u8]>,
}

impl hm_video_matches {
    fn new(found: Vec<VideoMatch>) -> Box<hm_video_matches> {
        let mut text = Vec::new();
        let mut offsets = Vec::with_capacity(found.len());
        for m in &found {
            let list = push_c_str(&mut text, &m.list);
            let label = m.label.as_deref().map(|l| push_c_str(&mut text, l));
            offsets.push((list, label));
        }
        let text = text.into_boxed_slice();
        let base = text.as_ptr().cast::<c_char>();
        let items = found
            .iter()
            .zip(offsets)
            .map(|(m, (list, label))| hm_video_match {
                // Offsets from push_c_str lie inside `text`, which no longer moves.
                list: base.wrapping_add(list),
                entry_id: m.entry_id,
                label: label.map_or(std::ptr::null(), |l| base.wrapping_add(l)),
                query_percent: m.query_percent,
                candidate_percent: m.candidate_percent,
                query_frames: m.similarity.query_frames,
                query_matched: m.similarity.query_matched,
                candidate_frames: m.similarity.candidate_frames,
                candidate_matched: m.similarity.candidate_matched,
                exact_bytes: m.exact_bytes,
            })
            .collect();
        Box::new(hm_video_matches { items, _text: text })
    }
}

/// Matches an upload's records (`n` at `frames`) against the index with its thresholds. On
/// `HM_OK` a new results object (possibly empty) is stored in `*out`. Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT`; `HM_INVALID_ARGUMENT` (a bad record);
/// `HM_VIDEO_LOW_QUALITY` (no frame of the upload reaches the quality floor: a failure, never
/// "no match").
#[no_mangle]
pub unsafe extern "C" fn hm_video_index_query(
    index: *const hm_video_index,
    frames: *const hm_vpdq_feature,
    n: usize,
    out: *mut *mut hm_video_matches,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: NULL or live/valid arguments.
            let index = deref(index, "index")?;
            let frames = features(frames, n)?;
            let out = out_ptr(out, "out")?;
            let found = index.read().query(&frames)?;
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(hm_video_matches::new(found)));
            Ok(())
        })
    }
}

/// The MD5 of the bytes of the file at `path` (HMA's `video_md5`), 16 bytes into `out` (room
/// for 16 bytes): the
/// cheap exact-copy check before decoding (`hm_video_index_query_md5`).
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT`; `HM_INVALID_ARGUMENT` (a path not UTF-8); `HM_IO`.
#[no_mangle]
pub unsafe extern "C" fn hm_video_md5_file(
    path: *const c_char,
    out: *mut u8,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `path` is NULL or NUL-terminated.
            let path = self::path(path, "path")?;
            let out = out_ptr(out, "out")?;
            let digest = VideoMd5::of_file(path)?;
            // SAFETY: checked non-NULL; valid for a 16-byte write by the contract.
            std::ptr::copy_nonoverlapping(digest.0.as_ptr(), out, 16);
            Ok(())
        })
    }
}

/// Records the MD5 (16 bytes at `md5`) of a known video file for entry `entry_id` of `list`,
/// so that an upload with exactly these bytes is found by `hm_video_index_query_md5` without
/// decoding. If the list has no such entry yet, a video known only by its digest is added
/// with `label` (NULL for none); otherwise `label` is ignored.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT`; `HM_INVALID_ARGUMENT` (a string not UTF-8);
/// `HM_UNKNOWN_LIST`.
#[no_mangle]
pub unsafe extern "C" fn hm_video_index_insert_md5(
    index: *const hm_video_index,
    list: *const c_char,
    entry_id: u64,
    label: *const c_char,
    md5: *const u8,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: NULL or live/valid arguments by the documented contract.
            let index = deref(index, "index")?;
            let list = utf8(list, "list")?;
            let label = opt_utf8(label, "label")?;
            let md5 = md5_at(md5)?;
            index.write().insert_md5(list, entry_id, label, md5)?;
            Ok(())
        })
    }
}

/// The enabled known videos whose file has exactly the MD5 at `md5` (16 bytes), in a new
/// results object in `*out` (empty when none; each match has `exact_bytes` set). Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn hm_video_index_query_md5(
    index: *const hm_video_index,
    md5: *const u8,
    out: *mut *mut hm_video_matches,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: NULL or live/valid arguments.
            let index = deref(index, "index")?;
            let md5 = md5_at(md5)?;
            let out = out_ptr(out, "out")?;
            let found = index.read().query_md5(&md5);
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(hm_video_matches::new(found)));
            Ok(())
        })
    }
}

/// The 16 bytes of an MD5 digest at `md5`.
///
/// # Safety
/// `md5` is NULL or valid for reads of 16 bytes.
unsafe fn md5_at(md5: *const u8) -> Result<VideoMd5, Failure> {
    // SAFETY: forwarded from the caller.
    let digest = unsafe { bytes(md5, 16, "md5") }?;
    Ok(VideoMd5(digest.try_into().expect("16 bytes")))
}

/// The number of matches in `matches`; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hm_video_matches_len(matches: *const hm_video_matches) -> usize {
    infallible(0, || {
        // SAFETY: NULL or a live results object.
        unsafe { matches.as_ref() }.map_or(0, |m| m.items.len())
    })
}

/// Match number `index` of `matches`, valid until `matches` is freed; NULL if out of range.
#[no_mangle]
pub unsafe extern "C" fn hm_video_matches_get(
    matches: *const hm_video_matches,
    index: usize,
) -> *const hm_video_match {
    infallible(std::ptr::null(), || {
        // SAFETY: NULL or a live results object.
        unsafe { matches.as_ref() }
            .and_then(|m| m.items.get(index))
            .map_or(std::ptr::null(), |m| m as *const hm_video_match)
    })
}

/// Frees a video results object. NULL does nothing.
#[no_mangle]
pub unsafe extern "C" fn hm_video_matches_free(matches: *mut hm_video_matches) {
    // SAFETY: NULL or an object from hm_video_index_query, freed once.
    infallible((), || unsafe { free_box(matches) })
}
