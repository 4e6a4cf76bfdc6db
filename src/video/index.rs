//! [`VideoIndex`]: video lists, and the candidates of an uploaded video found through the
//! exact Hamming index instead of a comparison with every known video.

use crate::report::{Counters, Media, Report, Technique};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::error::{Error, MatcherErrorKind, Result};
use crate::hash::Hash256;
use crate::index::{self, HammingIndex, IndexKind};

use super::compare::{distinct_frames, query_frames, VideoMatchOptions, VideoSimilarity};
use super::digest::VideoMd5;
use super::feature::VpdqFeature;

/// A known video found by [`VideoIndex::query`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VideoMatch {
    /// The list the video belongs to.
    pub list: Arc<str>,
    /// The video's id in that list.
    pub entry_id: u64,
    /// The video's label, if it has one.
    pub label: Option<Arc<str>>,
    /// How much of the upload and of the known video match.
    pub similarity: VideoSimilarity,
    /// `similarity.query_percent()`: the share of the upload's frames found in the video.
    pub query_percent: f64,
    /// `similarity.candidate_percent()`: the share of the known video's frames found.
    pub candidate_percent: f64,
    /// Found by the MD5 of the upload's bytes ([`VideoIndex::query_md5`]): the upload is the
    /// known file itself. Its shares are then 100 %, its frame counts 0 (nothing was decoded).
    pub exact_bytes: bool,
}

struct Video {
    list: u32,
    id: u64,
    label: Option<Arc<str>>,
    /// Distinct frames of sufficient quality (0 for a video known only by its MD5).
    frames: usize,
    disabled: Option<Arc<str>>,
}

/// Known videos of named lists, searchable by an uploaded video's vPDQ frames.
///
/// Every distinct frame hash of every indexed video is one entry of an exact
/// [`HammingIndex`] (the kind [`IndexKind::choose`] picks for the number of frames), with the
/// videos that contain it; a query looks each of the upload's distinct frames up at the
/// frame distance, gathers the videos hit, and computes for each the shares
/// [`super::compare()`] would compute by brute force (the same numbers: the tests check it).
/// Each match names the list and entry it came from; an entry whose match proved wrong can be
/// disabled with a reason.
///
/// Queries take `&self` and may run from many threads; adding and disabling take `&mut self`
/// (wrap the index in a lock to update it while serving).
///
/// ```
/// use hashmatch::video::{VideoIndex, VideoMatchOptions, VpdqFeature};
///
/// let frame = |n: u64, hex: &str| VpdqFeature {
///     frame_number: n, quality: 100, hash: hex.parse().unwrap(), timestamp: n as f64,
/// };
/// let a = "e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c";
/// let b = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
///
/// let mut known = VideoIndex::new(VideoMatchOptions::default());
/// known.add_list("hotline")?;
/// known.insert("hotline", 7, Some("case 12"), &[frame(0, a), frame(30, b)])?;
///
/// let upload = [frame(0, b)];
/// let found = known.query(&upload)?;
/// assert_eq!((&*found[0].list, found[0].entry_id), ("hotline", 7));
/// assert_eq!((found[0].query_percent, found[0].candidate_percent), (100.0, 50.0));
/// # Ok::<(), hashmatch::Error>(())
/// ```
pub struct VideoIndex {
    options: VideoMatchOptions,
    lists: Vec<Arc<str>>,
    videos: Vec<Video>,
    by_entry: HashMap<(u32, u64), u32>,
    /// Slot of each distinct frame hash.
    slots: HashMap<Hash256, u32>,
    /// The videos holding each slot's hash (each video once).
    postings: Vec<Vec<u32>>,
    frames: Box<dyn HammingIndex>,
    /// The videos with each file digest.
    digests: HashMap<VideoMd5, Vec<u32>>,
    /// Uploads checked and matched ([`crate::report`]); lock-free.
    counters: Counters,
}

impl std::fmt::Debug for VideoIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoIndex")
            .field("lists", &self.lists.len())
            .field("videos", &self.videos.len())
            .field("distinct_frames", &self.postings.len())
            .field("index", &self.frames.kind())
            .finish()
    }
}

impl VideoIndex {
    /// An empty index matching with `options` (the quality floor also decides which frames of
    /// the known videos are indexed).
    pub fn new(options: VideoMatchOptions) -> Self {
        VideoIndex {
            options,
            lists: Vec::new(),
            videos: Vec::new(),
            by_entry: HashMap::new(),
            slots: HashMap::new(),
            postings: Vec::new(),
            frames: index::build(IndexKind::Linear, []),
            digests: HashMap::new(),
            counters: Counters::default(),
        }
    }

    /// The matching thresholds.
    pub fn options(&self) -> &VideoMatchOptions {
        &self.options
    }

    /// Videos indexed.
    pub fn len(&self) -> usize {
        self.videos.len()
    }

    /// Whether no video is indexed.
    pub fn is_empty(&self) -> bool {
        self.videos.is_empty()
    }

    /// Distinct frame hashes indexed (over all videos).
    pub fn distinct_frames(&self) -> usize {
        self.postings.len()
    }

    /// The kind of index over the frame hashes.
    pub fn index_kind(&self) -> IndexKind {
        self.frames.kind()
    }

    /// Adds an empty list.
    ///
    /// # Errors
    /// [`Error::Matcher`] ([`MatcherErrorKind::ListExists`], or `Refused` for an empty name).
    pub fn add_list(&mut self, name: &str) -> Result<()> {
        if name.is_empty() {
            return Err(refused(MatcherErrorKind::Refused, "a list needs a name"));
        }
        if self.lists.iter().any(|l| &**l == name) {
            return Err(refused(
                MatcherErrorKind::ListExists,
                format!("a list named {name:?} exists already"),
            ));
        }
        self.lists.push(name.into());
        Ok(())
    }

    fn list_id(&self, name: &str) -> Result<u32> {
        self.lists
            .iter()
            .position(|l| &**l == name)
            .map(|i| i as u32)
            .ok_or_else(|| {
                refused(
                    MatcherErrorKind::UnknownList,
                    format!("no list named {name:?}"),
                )
            })
    }

    /// Indexes a known video under `list` with the id the list gives it.
    ///
    /// # Errors
    /// [`Error::Matcher`] for an unknown list or an id the list has already;
    /// [`Error::VideoLowQuality`] if no frame reaches the quality floor (such a video could
    /// never match: pytx refuses it too). Nothing is stored on an error.
    pub fn insert(
        &mut self,
        list: &str,
        entry_id: u64,
        label: Option<&str>,
        features: &[VpdqFeature],
    ) -> Result<()> {
        let list_id = self.list_id(list)?;
        if self.by_entry.contains_key(&(list_id, entry_id)) {
            return Err(refused(
                MatcherErrorKind::EntryExists,
                format!("list {list:?} has a video with id {entry_id} already"),
            ));
        }
        let frames = distinct_frames(features, self.options.quality_floor);
        if frames.is_empty() {
            return Err(Error::VideoLowQuality {
                frames: features.len(),
                floor: self.options.quality_floor,
            });
        }
        if self.postings.len() + frames.len() >= u32::MAX as usize
            || self.videos.len() >= u32::MAX as usize
        {
            return Err(refused(
                MatcherErrorKind::Refused,
                "the video index is full (2^32 frames or videos)",
            ));
        }
        let video = self.videos.len() as u32;
        for hash in &frames {
            match self.slots.get(hash) {
                Some(&slot) => self.postings[slot as usize].push(video),
                None => {
                    let slot = self.postings.len() as u32;
                    self.slots.insert(*hash, slot);
                    self.postings.push(vec![video]);
                    self.frames.insert(slot, *hash);
                }
            }
        }
        self.push_video(list_id, entry_id, label, frames.len());
        self.refit_index();
        Ok(())
    }

    /// Records the MD5 of a known video file's bytes (HMA's `video_md5` signal) for the entry
    /// `entry_id` of `list`: an upload with exactly these bytes is then found by
    /// [`VideoIndex::query_md5`] without decoding. If the list has no such entry yet, a video
    /// known only by its digest is added (it never matches by frames). An entry may have
    /// several digests (several known files of one video).
    ///
    /// # Errors
    /// [`Error::Matcher`] for an unknown list. Nothing is stored on an error.
    pub fn insert_md5(
        &mut self,
        list: &str,
        entry_id: u64,
        label: Option<&str>,
        md5: VideoMd5,
    ) -> Result<()> {
        let list_id = self.list_id(list)?;
        let video = match self.by_entry.get(&(list_id, entry_id)) {
            Some(&video) => video,
            None => {
                if self.videos.len() >= u32::MAX as usize {
                    return Err(refused(
                        MatcherErrorKind::Refused,
                        "the video index is full (2^32 videos)",
                    ));
                }
                self.push_video(list_id, entry_id, label, 0)
            }
        };
        let videos = self.digests.entry(md5).or_default();
        if !videos.contains(&video) {
            videos.push(video);
        }
        Ok(())
    }

    /// The enabled known videos whose file has exactly the MD5 `md5` (see
    /// [`VideoIndex::insert_md5`]), ordered by list name and entry id. Cheap: check an upload's
    /// digest before decoding it; an empty answer says nothing about re-encoded copies. An
    /// upload found this way is counted as checked and matched ([`VideoIndex::report`]); one
    /// not found is counted by the frame query that follows.
    pub fn query_md5(&self, md5: &VideoMd5) -> Vec<VideoMatch> {
        let mut found: Vec<VideoMatch> = self
            .digests
            .get(md5)
            .into_iter()
            .flatten()
            .map(|&v| &self.videos[v as usize])
            .filter(|video| video.disabled.is_none())
            .map(|video| VideoMatch {
                list: self.lists[video.list as usize].clone(),
                entry_id: video.id,
                label: video.label.clone(),
                similarity: VideoSimilarity {
                    query_frames: 0,
                    query_matched: 0,
                    candidate_frames: 0,
                    candidate_matched: 0,
                },
                query_percent: 100.0,
                candidate_percent: 100.0,
                exact_bytes: true,
            })
            .collect();
        found.sort_by(|a, b| a.list.cmp(&b.list).then(a.entry_id.cmp(&b.entry_id)));
        if !found.is_empty() {
            self.count(&found, Technique::FileMd5);
        }
        found
    }

    /// Counts an upload checked with these matches.
    fn count(&self, found: &[VideoMatch], technique: Technique) {
        self.counters.record_upload(
            Media::Video,
            found.iter().map(|m| (&m.list, m.entry_id, technique)),
        );
    }

    /// The counts so far ([`crate::report`]): video uploads checked and matched, and per list
    /// and entry the uploads matched (by frames, or as the known file by MD5), with every
    /// list's current videos and disabled videos. Merge it with the image matcher's report
    /// ([`Report::merge`]) for one transparency report.
    pub fn report(&self) -> Report {
        let mut sizes = vec![(0u64, 0u64); self.lists.len()];
        for v in &self.videos {
            sizes[v.list as usize].0 += 1;
            sizes[v.list as usize].1 += u64::from(v.disabled.is_some());
        }
        self.counters.report(
            self.lists
                .iter()
                .zip(sizes)
                .map(|(name, (n, d))| (Media::Video, name.clone(), n, d)),
        )
    }

    /// Adds a saved report's video counts to this index's (after a restart).
    pub fn restore_counts(&self, report: &Report) {
        self.counters.restore(&report.only(Media::Video));
    }

    /// Adds a video entry (its frames, if any, already indexed under its number) and returns
    /// its number. The caller has checked that the id is new and the count below 2^32.
    fn push_video(&mut self, list: u32, id: u64, label: Option<&str>, frames: usize) -> u32 {
        let video = self.videos.len() as u32;
        self.videos.push(Video {
            list,
            id,
            label: label.map(Arc::from),
            frames,
            disabled: None,
        });
        self.by_entry.insert((list, id), video);
        video
    }

    /// Whether any video is known by the MD5 of its file: if not, computing an upload's
    /// digest for [`VideoIndex::query_md5`] is wasted work.
    pub fn has_md5(&self) -> bool {
        !self.digests.is_empty()
    }

    /// Rebuilds the frame index as the kind its size calls for, when that changes.
    fn refit_index(&mut self) {
        let want = IndexKind::choose(self.postings.len(), self.options.distance);
        if want != self.frames.kind() {
            let entries: Vec<(u32, Hash256)> = (0..self.postings.len() as u32)
                .filter_map(|slot| self.frames.get(slot).map(|h| (slot, h)))
                .collect();
            self.frames = index::build(want, entries);
        }
    }

    fn entry(&self, list: &str, entry_id: u64) -> Result<u32> {
        let list_id = self.list_id(list)?;
        self.by_entry
            .get(&(list_id, entry_id))
            .copied()
            .ok_or_else(|| {
                refused(
                    MatcherErrorKind::UnknownEntry,
                    format!("no video {entry_id} in list {list:?}"),
                )
            })
    }

    /// Stops a video from matching (its match proved wrong), keeping it and the reason.
    ///
    /// # Errors
    /// [`Error::Matcher`] for an unknown list or entry.
    pub fn disable(&mut self, list: &str, entry_id: u64, reason: &str) -> Result<()> {
        let v = self.entry(list, entry_id)?;
        self.videos[v as usize].disabled = Some(reason.into());
        Ok(())
    }

    /// Lets a disabled video match again.
    ///
    /// # Errors
    /// [`Error::Matcher`] for an unknown list or entry.
    pub fn enable(&mut self, list: &str, entry_id: u64) -> Result<()> {
        let v = self.entry(list, entry_id)?;
        self.videos[v as usize].disabled = None;
        Ok(())
    }

    /// Why a video was disabled (`None` if it is enabled).
    ///
    /// # Errors
    /// [`Error::Matcher`] for an unknown list or entry.
    pub fn disabled_reason(&self, list: &str, entry_id: u64) -> Result<Option<Arc<str>>> {
        let v = self.entry(list, entry_id)?;
        Ok(self.videos[v as usize].disabled.clone())
    }

    /// The known videos an upload matches (shares at or above the thresholds), best first:
    /// by query share, then candidate share, then list name and entry id.
    ///
    /// # Errors
    /// [`Error::VideoLowQuality`] if the upload has no frame of sufficient quality.
    pub fn query(&self, upload: &[VpdqFeature]) -> Result<Vec<VideoMatch>> {
        let mut found = self.similar(upload)?;
        found.retain(|m| m.similarity.is_match(&self.options));
        self.count(&found, Technique::Plain);
        Ok(found)
    }

    /// Every enabled known video that shares at least one frame with the upload, with its
    /// shares, whatever the percentage thresholds (for review tools and evaluation), ordered
    /// as [`VideoIndex::query`].
    ///
    /// # Errors
    /// As [`VideoIndex::query`].
    pub fn similar(&self, upload: &[VpdqFeature]) -> Result<Vec<VideoMatch>> {
        let frames = query_frames(upload, self.options.quality_floor)?;
        let hits = self.frames.radius_multi(&frames, self.options.distance);
        // Per video hit: query frames matched (each counted once: hits come grouped by query
        // frame) and the video's own frames matched (each slot counted once).
        let mut per_video: HashMap<u32, (usize, usize)> = HashMap::new();
        let mut last_query: HashMap<u32, usize> = HashMap::new();
        let mut slot_seen: HashSet<u32> = HashSet::new();
        for (q, hit) in hits {
            let first_time_slot = slot_seen.insert(hit.slot);
            for &v in &self.postings[hit.slot as usize] {
                let counts = per_video.entry(v).or_insert((0, 0));
                if last_query.insert(v, q) != Some(q) {
                    counts.0 += 1;
                }
                if first_time_slot {
                    counts.1 += 1;
                }
            }
        }
        let mut found: Vec<VideoMatch> = per_video
            .into_iter()
            .filter(|(v, _)| self.videos[*v as usize].disabled.is_none())
            .map(|(v, (query_matched, candidate_matched))| {
                let video = &self.videos[v as usize];
                let similarity = VideoSimilarity {
                    query_frames: frames.len(),
                    query_matched,
                    candidate_frames: video.frames,
                    candidate_matched,
                };
                VideoMatch {
                    list: self.lists[video.list as usize].clone(),
                    entry_id: video.id,
                    label: video.label.clone(),
                    query_percent: similarity.query_percent(),
                    candidate_percent: similarity.candidate_percent(),
                    similarity,
                    exact_bytes: false,
                }
            })
            .collect();
        found.sort_by(|a, b| {
            b.query_percent
                .total_cmp(&a.query_percent)
                .then(b.candidate_percent.total_cmp(&a.candidate_percent))
                .then_with(|| a.list.cmp(&b.list))
                .then(a.entry_id.cmp(&b.entry_id))
        });
        Ok(found)
    }
}

fn refused(kind: MatcherErrorKind, message: impl Into<String>) -> Error {
    Error::Matcher {
        kind,
        message: message.into(),
    }
}
