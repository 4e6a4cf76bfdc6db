//! [`Counters`]: the live counts behind a [`Report`], updated without a lock.
//!
//! Every count is an atomic integer. An upload without a match touches two of them (checked,
//! and nothing else); a match also increments its list's and its entry's counts, found in
//! lock-free hash maps (`papaya`) keyed by media, list name and entry id, so counts never
//! depend on the matcher's internal numbering and survive compaction and restarts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use super::{now, EntryReport, ListReport, Media, Report, Technique, UploadCounts, Verdict};

#[derive(Default)]
struct UploadAtomics {
    checked: AtomicU64,
    matched: AtomicU64,
}

#[derive(Default)]
struct ListAtomics {
    matched: AtomicU64,
    by_technique: [AtomicU64; Technique::ALL.len()],
    confirmed: AtomicU64,
    false_positives: AtomicU64,
    redressed: AtomicU64,
}

#[derive(Default)]
struct EntryAtomics {
    matches: AtomicU64,
    confirmed: AtomicU64,
    false_positives: AtomicU64,
    open_false_positives: AtomicU64,
    redressed: AtomicU64,
}

type ListKey = (Media, Arc<str>);
type EntryKey = (Media, Arc<str>, u64);

/// See the module docs.
pub(crate) struct Counters {
    enabled: AtomicBool,
    started: AtomicU64,
    uploads: [UploadAtomics; Media::ALL.len()],
    lists: papaya::HashMap<ListKey, ListAtomics>,
    entries: papaya::HashMap<EntryKey, EntryAtomics>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            enabled: AtomicBool::new(true),
            started: AtomicU64::new(now()),
            uploads: Default::default(),
            lists: papaya::HashMap::new(),
            entries: papaya::HashMap::new(),
        }
    }
}

impl Counters {
    /// Turns counting on or off (on by default; off only to measure what counting costs).
    pub(crate) fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Relaxed);
    }

    /// Counts one upload of `media` and its matches, nearest first: `(list, entry id,
    /// technique)`, each entry once. A list counts the upload once, by its nearest match.
    pub(crate) fn record_upload<'a>(
        &self,
        media: Media,
        matches: impl IntoIterator<Item = (&'a Arc<str>, u64, Technique)>,
    ) {
        if !self.enabled.load(Relaxed) {
            return;
        }
        let uploads = &self.uploads[media as usize];
        uploads.checked.fetch_add(1, Relaxed);
        let mut matches = matches.into_iter().peekable();
        if matches.peek().is_none() {
            return;
        }
        uploads.matched.fetch_add(1, Relaxed);
        let mut lists_seen: Vec<&Arc<str>> = Vec::new();
        let lists = self.lists.pin();
        let entries = self.entries.pin();
        for (list, entry, technique) in matches {
            if !lists_seen.contains(&list) {
                lists_seen.push(list);
                let l = lists.get_or_insert_with((media, list.clone()), ListAtomics::default);
                l.matched.fetch_add(1, Relaxed);
                l.by_technique[technique as usize].fetch_add(1, Relaxed);
            }
            let e = entries.get_or_insert_with((media, list.clone(), entry), Default::default);
            e.matches.fetch_add(1, Relaxed);
        }
    }

    /// Counts a reviewer's verdict on a match of an entry; returns the entry's false positives
    /// since it was last enabled again.
    pub(crate) fn record_verdict(
        &self,
        media: Media,
        list: &Arc<str>,
        entry: u64,
        verdict: &Verdict,
    ) -> u64 {
        let lists = self.lists.pin();
        let entries = self.entries.pin();
        let l = lists.get_or_insert_with((media, list.clone()), ListAtomics::default);
        let e = entries.get_or_insert_with((media, list.clone(), entry), Default::default);
        match verdict {
            Verdict::Confirmed => {
                l.confirmed.fetch_add(1, Relaxed);
                e.confirmed.fetch_add(1, Relaxed);
                e.open_false_positives.load(Relaxed)
            }
            Verdict::FalsePositive(_) => {
                l.false_positives.fetch_add(1, Relaxed);
                e.false_positives.fetch_add(1, Relaxed);
                e.open_false_positives.fetch_add(1, Relaxed) + 1
            }
        }
    }

    /// Counts an entry enabled again after it was disabled.
    pub(crate) fn record_redress(&self, media: Media, list: &Arc<str>, entry: u64) {
        let lists = self.lists.pin();
        let entries = self.entries.pin();
        let l = lists.get_or_insert_with((media, list.clone()), ListAtomics::default);
        let e = entries.get_or_insert_with((media, list.clone(), entry), Default::default);
        l.redressed.fetch_add(1, Relaxed);
        e.redressed.fetch_add(1, Relaxed);
        e.open_false_positives.store(0, Relaxed);
    }

    /// The counts as a report ending now; `lists` gives every current list's media, name,
    /// entries and disabled entries (lists with counts but no longer present are reported
    /// with 0 entries).
    pub(crate) fn report(
        &self,
        lists: impl IntoIterator<Item = (Media, Arc<str>, u64, u64)>,
    ) -> Report {
        let load = |a: &AtomicU64| a.load(Relaxed);
        let mut out: BTreeMap<(Media, Arc<str>), ListReport> = BTreeMap::new();
        let blank = |media: Media, name: &str| ListReport {
            list: name.to_string(),
            technology: media.technology().to_string(),
            entries: 0,
            disabled: 0,
            matched_uploads: 0,
            by_technique: BTreeMap::new(),
            confirmed: 0,
            false_positives: 0,
            redressed: 0,
        };
        for (media, name, entries, disabled) in lists {
            let l = out
                .entry((media, name.clone()))
                .or_insert_with(|| blank(media, &name));
            l.entries = entries;
            l.disabled = disabled;
        }
        for ((media, name), c) in self.lists.pin().iter() {
            let l = out
                .entry((*media, name.clone()))
                .or_insert_with(|| blank(*media, name));
            l.matched_uploads = load(&c.matched);
            for (t, n) in Technique::ALL.iter().zip(&c.by_technique) {
                if load(n) > 0 {
                    l.by_technique.insert(*t, load(n));
                }
            }
            l.confirmed = load(&c.confirmed);
            l.false_positives = load(&c.false_positives);
            l.redressed = load(&c.redressed);
        }
        let entries = self
            .entries
            .pin()
            .iter()
            .map(|((media, list, id), c)| EntryReport {
                list: list.to_string(),
                technology: media.technology().to_string(),
                entry_id: *id,
                matches: load(&c.matches),
                confirmed: load(&c.confirmed),
                false_positives: load(&c.false_positives),
                open_false_positives: load(&c.open_false_positives),
                redressed: load(&c.redressed),
            })
            .collect();
        let uploads = |m: Media| UploadCounts {
            checked: load(&self.uploads[m as usize].checked),
            matched: load(&self.uploads[m as usize].matched),
        };
        let mut report = Report {
            started: load(&self.started),
            ended: now(),
            uploads: uploads(Media::Image),
            video_uploads: uploads(Media::Video),
            lists: out.into_values().collect(),
            entries,
        };
        report.sort();
        report
    }

    /// Adds a saved report's counts to these (after a restart), and moves the start of the
    /// period back to the report's.
    pub(crate) fn restore(&self, report: &Report) {
        self.started.fetch_min(report.started, Relaxed);
        for (m, u) in [
            (Media::Image, &report.uploads),
            (Media::Video, &report.video_uploads),
        ] {
            self.uploads[m as usize]
                .checked
                .fetch_add(u.checked, Relaxed);
            self.uploads[m as usize]
                .matched
                .fetch_add(u.matched, Relaxed);
        }
        let lists = self.lists.pin();
        for l in &report.lists {
            let Some(media) = media_of(&l.technology) else {
                continue;
            };
            let c = lists.get_or_insert_with((media, Arc::from(l.list.as_str())), Default::default);
            c.matched.fetch_add(l.matched_uploads, Relaxed);
            for (t, n) in &l.by_technique {
                c.by_technique[*t as usize].fetch_add(*n, Relaxed);
            }
            c.confirmed.fetch_add(l.confirmed, Relaxed);
            c.false_positives.fetch_add(l.false_positives, Relaxed);
            c.redressed.fetch_add(l.redressed, Relaxed);
        }
        let entries = self.entries.pin();
        for e in &report.entries {
            let Some(media) = media_of(&e.technology) else {
                continue;
            };
            let key = (media, Arc::from(e.list.as_str()), e.entry_id);
            let c = entries.get_or_insert_with(key, Default::default);
            c.matches.fetch_add(e.matches, Relaxed);
            c.confirmed.fetch_add(e.confirmed, Relaxed);
            c.false_positives.fetch_add(e.false_positives, Relaxed);
            c.open_false_positives
                .fetch_add(e.open_false_positives, Relaxed);
            c.redressed.fetch_add(e.redressed, Relaxed);
        }
    }
}

/// The media of a technology name.
pub(crate) fn media_of(technology: &str) -> Option<Media> {
    Media::ALL
        .into_iter()
        .find(|m| m.technology() == technology)
}
