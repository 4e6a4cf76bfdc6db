//! Transparency reports: what a matcher found and how often it was wrong.
//!
//! A [`crate::matcher::Matcher`] counts as it answers, lock-free: uploads checked and
//! matched, and per list and per entry the uploads matched, split by media and by the
//! [`Technique`] that matched (the plain hash, another orientation, a picture inside bars or a
//! frame, an entry's enrolled hash). Reviewers' [`Verdict`]s add confirmed matches and false
//! positives; a false positive can disable the entry ([`VerdictPolicy`]), and enabling it again
//! counts as redress. Uploads are counted by the queries that take an upload (`Matcher::query`,
//! `query_dihedral`, `query_robust`, `query_many`, and the video index's `query` and
//! `query_md5`); `query_radius` and `knn` look up bare hashes and count nothing. Only counts
//! are kept: no pixels, no hashes of uploads, no paths, no user identifiers; an entry is named
//! by its list and the id its list gave it.
//!
//! A [`Report`] is those counts at one moment, over the period since counting started. It is
//! saved as a checksummed JSON file, written atomically ([`Report::save`]; a crash loses at most
//! the counts since the last save), read back to carry the counts over a restart
//! ([`crate::matcher::Matcher::restore_counts`]), and reports of several service instances merge
//! by addition ([`Report::merge`]).
//!
//! ```
//! use hashmatch::list::Entry;
//! use hashmatch::matcher::{ListSettings, Matcher, QueryOptions};
//! use hashmatch::pdq::PdqHash;
//! use hashmatch::report::Verdict;
//!
//! let matcher = Matcher::new();
//! matcher.add_list("taken-down", ListSettings::default())?;
//! let hash = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22".parse()?;
//! matcher.insert("taken-down", Entry { hash, id: 1017, label: None })?;
//! let upload = PdqHash { hash, quality: 100 };
//! matcher.query(&upload, &QueryOptions::default())?;
//!
//! // A reviewer finds the match wrong: the entry is disabled at once (the default policy).
//! let outcome = matcher.record_verdict("taken-down", 1017, &Verdict::FalsePositive("appeal 4".into()))?;
//! assert!(outcome.disabled);
//! let report = matcher.report();
//! assert_eq!((report.uploads.checked, report.uploads.matched), (1, 1));
//! let list = &report.lists[0];
//! assert_eq!((list.matched_uploads, list.false_positives, list.disabled), (1, 1, 1));
//! # Ok::<(), hashmatch::Error>(())
//! ```

mod counters;
mod file;
mod render;

pub(crate) use counters::Counters;
pub use render::{csv, text};

use std::collections::BTreeMap;

use crate::matcher::Match;
use crate::robust::enrol::Variant;
use crate::robust::Region;

/// What kind of upload a count is about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Media {
    /// Images, matched by PDQ.
    Image,
    /// Videos, matched by vPDQ.
    Video,
}

impl Media {
    /// Both, in report order.
    pub const ALL: [Media; 2] = [Media::Image, Media::Video];

    /// The hashing technology: `pdq` for images, `vpdq` for videos.
    pub const fn technology(self) -> &'static str {
        match self {
            Media::Image => "pdq",
            Media::Video => "vpdq",
        }
    }
}

/// How a match was made, most specific first: an entry's enrolled hash, a region of the upload
/// (a picture inside bars, inside a frame, turned back), another orientation of the upload, or
/// the plain hash of the upload as it is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Technique {
    /// The upload as it is against the entry's listed hash (video: frame hashes).
    Plain,
    /// Another orientation of the upload (turned or mirrored).
    Orientation,
    /// The picture inside the upload's uniform bars.
    Bars,
    /// A picture embedded in a larger frame of the upload.
    Embedded,
    /// The upload turned back by a few degrees.
    Tilted,
    /// One of the entry's enrolled extra hashes.
    Enrolled,
    /// The upload is the known file itself, by its MD5 (videos).
    FileMd5,
}

impl Technique {
    /// All, in report order.
    pub const ALL: [Technique; 7] = [
        Technique::Plain,
        Technique::Orientation,
        Technique::Bars,
        Technique::Embedded,
        Technique::Tilted,
        Technique::Enrolled,
        Technique::FileMd5,
    ];

    /// Short name, as in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Technique::Plain => "plain",
            Technique::Orientation => "orientation",
            Technique::Bars => "bars",
            Technique::Embedded => "embedded",
            Technique::Tilted => "tilted",
            Technique::Enrolled => "enrolled",
            Technique::FileMd5 => "file-md5",
        }
    }

    /// The technique of an image match.
    pub fn of(m: &Match) -> Technique {
        if m.variant != Variant::Listed {
            return Technique::Enrolled;
        }
        match m.region {
            Region::Bars => Technique::Bars,
            Region::Embedded => Technique::Embedded,
            Region::Tilted => Technique::Tilted,
            Region::Whole if m.orientation != crate::pdq::Dihedral::Original => {
                Technique::Orientation
            }
            Region::Whole => Technique::Plain,
        }
    }
}

impl std::fmt::Display for Technique {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A reviewer's decision on a match.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The match was right: the upload is the listed material.
    Confirmed,
    /// The match was wrong, for this reason (kept as the entry's disable reason when the
    /// policy disables it).
    FalsePositive(String),
}

/// What to do with an entry after false positives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VerdictPolicy {
    /// Disable the entry when its false positives reach this many (counted since it was last
    /// enabled again); 0 never disables. Default 1: at once.
    pub disable_after: u32,
}

impl Default for VerdictPolicy {
    fn default() -> Self {
        VerdictPolicy { disable_after: 1 }
    }
}

/// What recording a verdict did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct VerdictOutcome {
    /// The entry's false positives since it was last enabled again.
    pub false_positives: u64,
    /// Whether this verdict disabled the entry.
    pub disabled: bool,
}

/// Uploads checked and matched, per media.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UploadCounts {
    /// Uploads checked (queried).
    pub checked: u64,
    /// Uploads with at least one match.
    pub matched: u64,
}

impl UploadCounts {
    fn add(&mut self, o: &UploadCounts) {
        self.checked += o.checked;
        self.matched += o.matched;
    }
}

/// One list's counts in a [`Report`], for one technology.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ListReport {
    /// The list's name.
    pub list: String,
    /// `pdq` (images) or `vpdq` (videos).
    pub technology: String,
    /// Entries stored when the report was made (state, not a count: merging keeps the latest).
    pub entries: u64,
    /// Entries disabled when the report was made (state, as `entries`).
    pub disabled: u64,
    /// Uploads that matched an entry of the list.
    pub matched_uploads: u64,
    /// Those uploads by the technique of their nearest match in the list.
    pub by_technique: BTreeMap<Technique, u64>,
    /// Matches reviewers confirmed.
    pub confirmed: u64,
    /// Matches reviewers found wrong.
    pub false_positives: u64,
    /// Entries enabled again after being disabled (redress).
    pub redressed: u64,
}

impl ListReport {
    /// False positives over matched uploads (0 when nothing matched).
    pub fn false_positive_ratio(&self) -> f64 {
        if self.matched_uploads == 0 {
            0.0
        } else {
            self.false_positives as f64 / self.matched_uploads as f64
        }
    }
}

/// One entry's counts in a [`Report`] (only entries with a count).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EntryReport {
    /// The entry's list.
    pub list: String,
    /// `pdq` or `vpdq`.
    pub technology: String,
    /// The entry's id in its list.
    pub entry_id: u64,
    /// Uploads that matched it.
    pub matches: u64,
    /// Its matches reviewers confirmed.
    pub confirmed: u64,
    /// Its matches reviewers found wrong.
    pub false_positives: u64,
    /// Its false positives since it was last enabled again (what [`VerdictPolicy`] counts).
    pub open_false_positives: u64,
    /// Times it was enabled again after being disabled.
    pub redressed: u64,
}

/// Counts over a period: see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// When counting started, in seconds since the Unix epoch (UTC).
    pub started: u64,
    /// When the report was made, in seconds since the Unix epoch (UTC).
    pub ended: u64,
    /// Image uploads checked and matched.
    pub uploads: UploadCounts,
    /// Video uploads checked and matched.
    pub video_uploads: UploadCounts,
    /// Per list and technology, sorted by technology then list name.
    pub lists: Vec<ListReport>,
    /// Per entry with a count, sorted by technology, list name, entry id.
    pub entries: Vec<EntryReport>,
}

impl Report {
    /// Adds `other`'s counts to these (reports of several instances over the same lists): every
    /// count is summed, the period runs from the earlier start to the later end, and the list
    /// sizes (`entries`, `disabled`) are those of the later report.
    pub fn merge(&mut self, other: &Report) {
        let later = other.ended >= self.ended;
        self.started = self.started.min(other.started);
        self.ended = self.ended.max(other.ended);
        self.uploads.add(&other.uploads);
        self.video_uploads.add(&other.video_uploads);
        for o in &other.lists {
            let key = |l: &ListReport| (l.technology.clone(), l.list.clone());
            match self.lists.iter_mut().find(|l| key(l) == key(o)) {
                Some(l) => {
                    if later {
                        l.entries = o.entries;
                        l.disabled = o.disabled;
                    }
                    l.matched_uploads += o.matched_uploads;
                    for (t, n) in &o.by_technique {
                        *l.by_technique.entry(*t).or_default() += n;
                    }
                    l.confirmed += o.confirmed;
                    l.false_positives += o.false_positives;
                    l.redressed += o.redressed;
                }
                None => self.lists.push(o.clone()),
            }
        }
        let key = |e: &EntryReport| (e.technology.clone(), e.list.clone(), e.entry_id);
        let mut entries: BTreeMap<_, EntryReport> =
            self.entries.drain(..).map(|e| (key(&e), e)).collect();
        for o in &other.entries {
            match entries.get_mut(&key(o)) {
                Some(e) => {
                    e.matches += o.matches;
                    e.confirmed += o.confirmed;
                    e.false_positives += o.false_positives;
                    e.open_false_positives += o.open_false_positives;
                    e.redressed += o.redressed;
                }
                None => {
                    entries.insert(key(o), o.clone());
                }
            }
        }
        self.entries = entries.into_values().collect();
        self.sort();
    }

    /// The part of the report about one media (the other's counts and lists left out).
    pub fn only(&self, media: Media) -> Report {
        let keep = |t: &str| t == media.technology();
        Report {
            started: self.started,
            ended: self.ended,
            uploads: if media == Media::Image {
                self.uploads
            } else {
                UploadCounts::default()
            },
            video_uploads: if media == Media::Video {
                self.video_uploads
            } else {
                UploadCounts::default()
            },
            lists: self
                .lists
                .iter()
                .filter(|l| keep(&l.technology))
                .cloned()
                .collect(),
            entries: self
                .entries
                .iter()
                .filter(|e| keep(&e.technology))
                .cloned()
                .collect(),
        }
    }

    /// Puts lists and entries in report order.
    pub(crate) fn sort(&mut self) {
        self.lists
            .sort_by(|a, b| (&a.technology, &a.list).cmp(&(&b.technology, &b.list)));
        self.entries.sort_by(|a, b| {
            (&a.technology, &a.list, a.entry_id).cmp(&(&b.technology, &b.list, b.entry_id))
        });
    }
}

/// Seconds since the Unix epoch now.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
