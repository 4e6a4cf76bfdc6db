//! [`Matcher`]: named hash lists with provenance, exact queries, and live updates.
//!
//! A matcher holds several lists (a shared industry list, a hotline's list, the platform's own
//! "taken down" list), each with its own match threshold and an enabled flag. Entries keep the
//! id their list gave them and an optional label, so every match says which list and entry it
//! came from; an entry whose match proved wrong can be disabled with a reason without being
//! deleted. All entries of all lists live in one exact index ([`crate::index`]); a query asks
//! it for every hash within the largest enabled threshold, then keeps what each list's own
//! threshold and flags allow.
//!
//! Every method takes `&self`: the state sits behind a read-write lock, so queries from many
//! threads run together, and an insert, removal or disable is applied whole between two queries
//! (a hash added after a takedown matches on the very next query).

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use rayon::prelude::*;

use crate::error::{Error, MatcherErrorKind, Result};
use crate::hash::pdq::{self, Dihedral, DihedralHashes, PdqHash};
use crate::hash::Hash256;
use crate::index::{Hit, IndexKind};
use crate::list::Entry;
use crate::report::{Counters, Media, Report, Technique, Verdict, VerdictOutcome, VerdictPolicy};
use crate::robust::enrol::{self, Variant};
use crate::robust::{Region, RobustHashes};

mod segment;
mod store;

pub(crate) use segment::{Segment, SegmentIndex, Strings, NO_LABEL};
use store::{Op, Store};

/// A list's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListSettings {
    /// Largest distance that counts as a match for this list (PDQ: 31).
    pub threshold: u32,
    /// Whether the list takes part in queries.
    pub enabled: bool,
    /// Whether the list accepts matches of a robust query's extra hashes (other orientations,
    /// regions: [`Matcher::query_robust`]); off by default, when only the plain hash matches it.
    pub robust: bool,
}

impl Default for ListSettings {
    fn default() -> Self {
        ListSettings {
            threshold: pdq::MATCH_THRESHOLD,
            enabled: true,
            robust: false,
        }
    }
}

impl ListSettings {
    /// The default settings with robust matches accepted.
    pub fn robust() -> Self {
        ListSettings {
            robust: true,
            ..Default::default()
        }
    }
}

/// One entry found by a query.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Match {
    /// The list the entry belongs to.
    pub list: Arc<str>,
    /// The entry's id in that list.
    pub entry_id: u64,
    /// The entry's label, if it has one.
    pub label: Option<Arc<str>>,
    /// The stored hash.
    pub hash: Hash256,
    /// Hamming distance between the query and the stored hash.
    pub distance: u32,
    /// Which orientation of the upload matched ([`Dihedral::Original`] for plain queries).
    pub orientation: Dihedral,
    /// Which part of the upload matched ([`Region::Whole`] except from
    /// [`Matcher::query_robust`]).
    pub region: Region,
    /// Which of the entry's hashes matched: [`Variant::Listed`] unless the entry was enrolled
    /// with extra hashes ([`Matcher::enrol`]) and one of those was nearest.
    pub variant: Variant,
}

/// Options of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryOptions {
    /// Refuse queries whose hash quality is below this (default 50). Low-quality hashes are
    /// mostly noise and match unrelated entries.
    pub quality_floor: u8,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            quality_floor: pdq::QUALITY_FLOOR,
        }
    }
}

/// Counts for one list, for transparency reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListStats {
    /// The list's name.
    pub name: Arc<str>,
    /// Entries stored (enabled or not).
    pub entries: usize,
    /// Entries disabled after a wrong match.
    pub disabled: usize,
    /// Extra hashes stored with enrolled entries ([`Matcher::enrol`]), beyond their own.
    pub extra_hashes: usize,
    /// The list's threshold.
    pub threshold: u32,
    /// Whether the list takes part in queries.
    pub enabled: bool,
    /// Whether the list accepts a robust query's extra hashes.
    pub robust: bool,
}

/// Named hash lists and the index over all their entries.
///
/// ```
/// use hashmatch::matcher::{ListSettings, Matcher, QueryOptions};
/// use hashmatch::list::Entry;
/// use hashmatch::pdq::PdqHash;
///
/// let known = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22".parse()?;
/// let matcher = Matcher::new();
/// matcher.add_list("taken-down", ListSettings::default())?;
/// matcher.insert("taken-down", Entry { hash: known, id: 1017, label: Some("case 88".into()) })?;
///
/// // An upload 6 bits away (a re-encoded copy).
/// let upload = PdqHash {
///     hash: "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22".parse()?,
///     quality: 100,
/// };
/// let found = matcher.query(&upload, &QueryOptions::default())?;
/// assert_eq!((&*found[0].list, found[0].entry_id, found[0].distance), ("taken-down", 1017, 6));
///
/// // The match proved wrong: disable the entry, keep it for the record.
/// matcher.disable("taken-down", 1017, "false positive, review 12")?;
/// assert!(matcher.query(&upload, &QueryOptions::default())?.is_empty());
/// # Ok::<(), hashmatch::Error>(())
/// ```
pub struct Matcher {
    state: RwLock<State>,
    /// What the queries found and reviewers decided ([`crate::report`]); lock-free.
    counters: Counters,
}

struct ListState {
    name: Arc<str>,
    settings: ListSettings,
    entries: usize,
    disabled: usize,
    extra_hashes: usize,
}

struct State {
    lists: Vec<ListState>,
    list_ids: HashMap<Arc<str>, u32>,
    store: Store,
    /// The index kind the caller asked for, or `None` to follow [`IndexKind::choose`].
    forced_kind: Option<IndexKind>,
    /// Changes made while a compaction is in progress (`None` when there is none), to replay
    /// onto the compacted store.
    compaction_log: Option<Vec<Op>>,
    /// How many insertions (batches) were made: a check of new ids made under the read lock
    /// still holds under the write lock if this has not moved.
    insertions: u64,
    /// When false positives disable an entry.
    verdict_policy: VerdictPolicy,
}

impl Default for Matcher {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.read();
        f.debug_struct("Matcher")
            .field("lists", &state.lists.len())
            .field("entries", &state.store.len())
            .field("index", &state.index_kind())
            .finish()
    }
}

impl Matcher {
    /// An empty matcher whose index kind follows the list sizes ([`IndexKind::choose`]).
    pub fn new() -> Self {
        Self::build(None)
    }

    /// An empty matcher that always uses `kind` (for benchmarks and special workloads).
    pub fn with_index(kind: IndexKind) -> Self {
        Self::build(Some(kind))
    }

    fn build(forced_kind: Option<IndexKind>) -> Self {
        Matcher {
            state: RwLock::new(State {
                lists: Vec::new(),
                list_ids: HashMap::new(),
                store: Store::default(),
                forced_kind,
                compaction_log: None,
                insertions: 0,
                verdict_policy: VerdictPolicy::default(),
            }),
            counters: Counters::default(),
        }
    }

    // A panic while holding the lock cannot leave half-applied state behind (every write
    // validates first, then mutates), so a poisoned lock is safe to keep using.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an empty list.
    ///
    /// # Errors
    /// [`Error::Matcher`] if a list of that name exists or the name is empty.
    pub fn add_list(&self, name: &str, settings: ListSettings) -> Result<()> {
        if name.is_empty() {
            return Err(matcher_error(
                MatcherErrorKind::Refused,
                "a list name cannot be empty",
            ));
        }
        let mut state = self.write();
        if state.list_ids.contains_key(name) {
            return Err(matcher_error(
                MatcherErrorKind::ListExists,
                format!("list {name:?} already exists"),
            ));
        }
        let name: Arc<str> = name.into();
        let id = state.lists.len() as u32;
        state.list_ids.insert(name.clone(), id);
        state.lists.push(ListState {
            name,
            settings,
            entries: 0,
            disabled: 0,
            extra_hashes: 0,
        });
        Ok(())
    }

    /// Changes a list's settings (threshold, enabled, robust).
    ///
    /// # Errors
    /// [`Error::Matcher`] for an unknown list.
    pub fn set_list(&self, name: &str, settings: ListSettings) -> Result<()> {
        self.change_list(name, |s| *s = settings)
    }

    /// Changes some of a list's settings in place, under one lock (the C API changes the
    /// threshold and enabled flag, or the robust flag, keeping the rest).
    pub(crate) fn change_list(
        &self,
        name: &str,
        change: impl FnOnce(&mut ListSettings),
    ) -> Result<()> {
        let mut state = self.write();
        let list = state.list_id(name)?;
        change(&mut state.lists[list as usize].settings);
        Ok(())
    }

    /// Adds one entry to a list.
    ///
    /// # Errors
    /// [`Error::Matcher`] for an unknown list or an entry id already in the list (nothing is
    /// changed then).
    pub fn insert(&self, list: &str, entry: Entry) -> Result<()> {
        self.insert_many(list, std::iter::once(entry)).map(|_| ())
    }

    /// Adds entries to a list, all or none: if one id is already in the list (or repeated in
    /// `entries`), nothing is added. Returns how many were added.
    ///
    /// Queries go on while the ids are sorted and checked: only appending the entries takes
    /// the write lock (and the check is repeated there only if another insert came between).
    ///
    /// # Errors
    /// As [`Matcher::insert`].
    pub fn insert_many(
        &self,
        list: &str,
        entries: impl IntoIterator<Item = Entry>,
    ) -> Result<usize> {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let added = entries.len();
        // What needs no lock first: ids repeated within `entries`, found by the same sort
        // that orders the store's run of a large batch.
        let order = store::order_by_id(&entries);
        if let Some(pair) = order
            .windows(2)
            .find(|w| entries[w[0] as usize].id == entries[w[1] as usize].id)
        {
            return Err(matcher_error(
                MatcherErrorKind::EntryExists,
                format!(
                    "entry {} is twice in the entries added to list {list:?}",
                    entries[pair[0] as usize].id
                ),
            ));
        }
        // Then the stored entries, under the read lock (queries go on meanwhile); under the
        // write lock the check is repeated only if entries were inserted in between.
        let checked_at = {
            let state = self.read();
            state.check_new_ids(list, &entries)?;
            state.insertions
        };
        {
            let mut state = self.write();
            if state.insertions != checked_at {
                state.check_new_ids(list, &entries)?;
            }
            let list_id = state.list_id(list)?;
            u32::try_from(state.store.len() + added).map_err(|_| {
                matcher_error(MatcherErrorKind::Refused, "more than 4 294 967 295 entries")
            })?;
            state.lists[list_id as usize].entries += added;
            state.insertions += 1;
            if let Some(log) = &mut state.compaction_log {
                log.push(Op::Insert(list_id, entries.clone()));
            }
            state.store.insert_ordered(list_id, entries, order);
        }
        self.compact_if_needed();
        Ok(added)
    }

    /// Adds one entry with extra hashes of the same image ([`crate::robust::enrol`]: other
    /// orientations, the picture inside its frame, centre crops), made by a service from the
    /// pixels of an image it took down itself. The entry keeps one identity: a match on any of
    /// its hashes reports it once (with the nearest hash's distance and [`Match::variant`]);
    /// removing or disabling it covers all its hashes. `entry.hash` is its listed hash
    /// ([`crate::robust::enrol::Enrolment::hash`]).
    ///
    /// Every stored hash is one more chance for an unrelated upload to match, so enrol the
    /// platform's own takedowns this way, not a shared list's entries.
    ///
    /// ```
    /// use hashmatch::list::Entry;
    /// use hashmatch::matcher::{ListSettings, Matcher, QueryOptions};
    /// use hashmatch::robust::enrol::Variant;
    /// use hashmatch::{Hasher, PixelFormat, PixelView};
    ///
    /// // An image the service took down, enrolled with its extra hashes.
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/uploads/landscape-2.jpg");
    /// let hasher = Hasher::default();
    /// let enrolment = hasher.enrolment_file(path, &Default::default())?;
    /// let matcher = Matcher::new();
    /// matcher.add_list("taken-down", ListSettings::default())?;
    /// let entry = Entry { hash: enrolment.hash.hash, id: 7, label: Some("case 12".into()) };
    /// matcher.enrol("taken-down", entry, &enrolment.extra_hashes())?;
    ///
    /// // A copy cropped to its centre 90 % of each side: far from the listed hash, near an
    /// // enrolled crop.
    /// let image = image::open(path).unwrap().to_rgb8();
    /// let (w, h) = image.dimensions();
    /// let view = PixelView::packed(&image, w, h, PixelFormat::Rgb8)?;
    /// let crop = view.crop(w / 20, h / 20, w - w / 10, h - h / 10)?;
    /// let upload = hasher.hash_pixels(&crop)?;
    /// assert!(upload.hash.distance(&enrolment.hash.hash) > 31);
    /// let found = matcher.query(&upload, &QueryOptions::default())?;
    /// assert_eq!(found[0].entry_id, 7);
    /// assert!(matches!(found[0].variant, Variant::CentreCrop(_)));
    /// # Ok::<(), hashmatch::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Matcher::insert`]; [`Error::InvalidOption`] for more than
    /// [`enrol::MAX_EXTRAS`] extras or an extra whose variant is not an extra's
    /// ([`Variant::is_extra`]).
    pub fn enrol(&self, list: &str, entry: Entry, extras: &[(Variant, Hash256)]) -> Result<()> {
        if extras.len() > enrol::MAX_EXTRAS {
            return Err(Error::InvalidOption {
                reason: format!(
                    "{} extra hashes for entry {}; at most {} are kept per entry",
                    extras.len(),
                    entry.id,
                    enrol::MAX_EXTRAS
                ),
            });
        }
        if let Some((bad, _)) = extras.iter().find(|(v, _)| !v.is_extra()) {
            return Err(Error::InvalidOption {
                reason: format!(
                    "{bad} is not a variant an extra hash of entry {} can have",
                    entry.id
                ),
            });
        }
        let extras: Vec<(u8, Hash256)> = extras.iter().map(|&(v, h)| (v.code(), h)).collect();
        {
            let mut state = self.write();
            state.check_new_ids(list, std::slice::from_ref(&entry))?;
            let list_id = state.list_id(list)?;
            u32::try_from(state.store.len() + 1 + extras.len()).map_err(|_| {
                matcher_error(MatcherErrorKind::Refused, "more than 4 294 967 295 hashes")
            })?;
            let list = &mut state.lists[list_id as usize];
            list.entries += 1;
            list.extra_hashes += extras.len();
            state.insertions += 1;
            if let Some(log) = &mut state.compaction_log {
                log.push(Op::Enrol(list_id, entry.clone(), extras.clone()));
            }
            state.store.enrol(list_id, entry, &extras);
        }
        self.compact_if_needed();
        Ok(())
    }

    /// Deletes an entry. Returns whether it existed.
    ///
    /// # Errors
    /// [`Error::Matcher`] for an unknown list.
    pub fn remove(&self, list: &str, entry_id: u64) -> Result<bool> {
        {
            let mut state = self.write();
            let list_id = state.list_id(list)?;
            let Some(slot) = state.store.find(list_id, entry_id) else {
                return Ok(false);
            };
            let (reason, extras) = state.store.remove(slot);
            let was_disabled = reason.is_some();
            let list = &mut state.lists[list_id as usize];
            list.entries -= 1;
            list.extra_hashes -= extras;
            list.disabled -= usize::from(was_disabled);
            if let Some(log) = &mut state.compaction_log {
                log.push(Op::Remove(list_id, entry_id));
            }
        }
        self.compact_if_needed();
        Ok(true)
    }

    /// Disables an entry (it stays stored, with the reason, but no longer matches).
    ///
    /// # Errors
    /// [`Error::Matcher`] for an unknown list or entry.
    pub fn disable(&self, list: &str, entry_id: u64, reason: &str) -> Result<()> {
        self.set_disabled(list, entry_id, Some(reason.into()))
            .map(|_| ())
    }

    /// Enables an entry disabled before.
    ///
    /// # Errors
    /// [`Error::Matcher`] for an unknown list or entry.
    pub fn enable(&self, list: &str, entry_id: u64) -> Result<()> {
        if self.set_disabled(list, entry_id, None)? {
            let name = {
                let state = self.read();
                state.lists[state.list_id(list)? as usize].name.clone()
            };
            self.counters.record_redress(Media::Image, &name, entry_id);
        }
        Ok(())
    }

    /// Sets or clears an entry's disable reason; returns whether it was disabled before.
    fn set_disabled(&self, list: &str, entry_id: u64, reason: Option<Arc<str>>) -> Result<bool> {
        let mut state = self.write();
        let list_id = state.list_id(list)?;
        let slot = state.store.find(list_id, entry_id).ok_or_else(|| {
            matcher_error(
                MatcherErrorKind::UnknownEntry,
                format!("no entry {entry_id} in list {list:?}"),
            )
        })?;
        let now = reason.is_some();
        if let Some(log) = &mut state.compaction_log {
            log.push(Op::SetDisabled(list_id, entry_id, reason.clone()));
        }
        let before = state.store.set_disabled(slot, reason).is_some();
        let list = &mut state.lists[list_id as usize];
        list.disabled = list.disabled + usize::from(now) - usize::from(before);
        Ok(before)
    }

    /// Why an entry is disabled, `None` if it is enabled.
    ///
    /// # Errors
    /// [`Error::Matcher`] for an unknown list or entry.
    pub fn disabled_reason(&self, list: &str, entry_id: u64) -> Result<Option<Arc<str>>> {
        let state = self.read();
        let list_id = state.list_id(list)?;
        let slot = state.store.find(list_id, entry_id).ok_or_else(|| {
            matcher_error(
                MatcherErrorKind::UnknownEntry,
                format!("no entry {entry_id} in list {list:?}"),
            )
        })?;
        Ok(state.store.disabled(slot).cloned())
    }

    /// Every enabled entry of an enabled list within that list's threshold of the upload's
    /// hash, sorted by distance, then list name, then entry id.
    ///
    /// # Errors
    /// [`Error::LowQuality`] if the hash's quality is below `options.quality_floor`.
    pub fn query(&self, upload: &PdqHash, options: &QueryOptions) -> Result<Vec<Match>> {
        check_quality(upload.quality, options)?;
        let state = self.read();
        let r = state.max_threshold();
        let hits = state.store.radius(&upload.hash, r);
        Ok(self.counted(state.matches(hits.into_iter().map(plain_hit), true)))
    }

    /// Every enabled entry of an enabled list within `radius` of `hash`, whatever the lists'
    /// thresholds (no quality check: the caller has a bare hash), sorted as [`Matcher::query`].
    pub fn query_radius(&self, hash: &Hash256, radius: u32) -> Vec<Match> {
        let state = self.read();
        let hits = state.store.radius(hash, radius);
        state.matches(hits.into_iter().map(plain_hit), false)
    }

    /// The `k` enabled entries of enabled lists nearest to `hash` (ties broken by list name,
    /// then entry id), whatever the lists' thresholds.
    pub fn knn(&self, hash: &Hash256, k: usize) -> Vec<Match> {
        if k == 0 {
            return Vec::new();
        }
        let state = self.read();
        // Disabled entries and lists are filtered after the index search, so ask for more
        // until k usable ones are found or the index is exhausted.
        let mut want = k;
        loop {
            let hits = state.store.knn(hash, want);
            let exhausted = hits.len() < want;
            let cutoff = hits.last().map(|h| h.distance);
            let mut found = state.matches(hits.into_iter().map(plain_hit), false);
            // Every entry closer than the last distance seen is among the hits; ties at that
            // distance may continue beyond `want`, so the k-th must be strictly closer.
            let complete =
                exhausted || (found.len() >= k && found[k - 1].distance < cutoff.unwrap_or(0));
            if complete {
                found.truncate(k);
                return found;
            }
            want = want.saturating_mul(2).max(k + 1);
        }
    }

    /// The eight orientations of an upload in one pass: every match of any orientation, each
    /// reporting the orientation that hit; an entry hit by several orientations is reported
    /// once, with its smallest distance (then the first orientation in [`Dihedral::ALL`]).
    ///
    /// # Errors
    /// As [`Matcher::query`].
    pub fn query_dihedral(
        &self,
        upload: &DihedralHashes,
        options: &QueryOptions,
    ) -> Result<Vec<Match>> {
        check_quality(upload.quality, options)?;
        let state = self.read();
        let r = state.max_threshold();
        let hits = state.store.radius_multi(&upload.hashes, r);
        let mut best: HashMap<u32, (Dihedral, Hit)> = HashMap::new();
        for (q, hit) in hits {
            let orientation = Dihedral::ALL[q];
            best.entry(hit.slot)
                .and_modify(|b| {
                    if (hit.distance, orientation) < (b.1.distance, b.0) {
                        *b = (orientation, hit);
                    }
                })
                .or_insert((orientation, hit));
        }
        Ok(self.counted(state.matches(
            best.into_values().map(|(o, hit)| (o, Region::Whole, hit)),
            true,
        )))
    }

    /// A robust query ([`crate::robust`]): every hash of the upload searched in one index
    /// pass, then trusted in the order of how much they assume ([`RobustHash::steps`]):
    /// - when the plain hash matches, its matches are returned, exactly as [`Matcher::query`]'s;
    /// - otherwise the hashes one step away (another orientation of the whole upload, or a
    ///   picture found inside bars or a frame, as it is), and only if those match nothing, the
    ///   hashes two steps away (another orientation of such a picture). These extra hashes
    ///   match only entries of lists that accept them ([`ListSettings::robust`]), within the smaller of each list's threshold and the query's
    ///   [`RobustHashes::extra_threshold`], and only the nearest entries are reported: those at
    ///   the smallest distance from the first hash of the step that reaches it (an image listed
    ///   twice, in two lists, is reported twice).
    ///
    /// Every extra hash is one more chance to meet an unrelated entry; going step by step and
    /// keeping the nearest keeps that chance low (two listed images that are rotations or
    /// mirror images of one another are not both reported for one upload). Each match names
    /// the orientation and region of the hash that hit.
    ///
    /// [`RobustHash::steps`]: crate::robust::RobustHash::steps
    ///
    /// # Errors
    /// [`Error::LowQuality`] if no hash of the upload reaches `options.quality_floor`.
    pub fn query_robust(
        &self,
        upload: &RobustHashes,
        options: &QueryOptions,
    ) -> Result<Vec<Match>> {
        let usable: Vec<_> = upload
            .hashes
            .iter()
            .filter(|h| h.pdq.quality >= options.quality_floor)
            .collect();
        if usable.is_empty() {
            let quality = upload
                .hashes
                .iter()
                .map(|h| h.pdq.quality)
                .max()
                .unwrap_or(0);
            check_quality(quality, options)?;
        }
        let queries: Vec<Hash256> = usable.iter().map(|h| h.pdq.hash).collect();
        let state = self.read();
        let r = state.max_threshold();
        let hits = state.store.radius_multi(&queries, r);
        let tagged = |q: usize, hit: Hit| (usable[q].orientation, usable[q].region, hit);
        let plain = hits.iter().filter(|(q, _)| usable[*q].is_plain());
        let found = state.matches(plain.map(|&(q, hit)| tagged(q, hit)), true);
        if !found.is_empty() {
            return Ok(self.counted(found));
        }
        for steps in 1..=2 {
            let step_hits: Vec<(usize, Hit)> = hits
                .iter()
                .copied()
                .filter(|&(q, hit)| {
                    usable[q].steps() == steps
                        && hit.distance <= upload.extra_threshold
                        && state.usable(hit, true)
                        && state.accepts_robust(hit)
                })
                .collect();
            let Some(&(best_q, best)) = step_hits.iter().min_by_key(|(q, hit)| (hit.distance, *q))
            else {
                continue;
            };
            return Ok(self.counted(
                state.matches(
                    step_hits
                        .into_iter()
                        .filter(|&(q, hit)| q == best_q && hit.distance == best.distance)
                        .map(|(q, hit)| tagged(q, hit)),
                    true,
                ),
            ));
        }
        Ok(self.counted(Vec::new()))
    }

    /// [`Matcher::query`] for many uploads, in parallel.
    ///
    /// # Errors
    /// The first [`Error::LowQuality`] among `uploads` (no result is returned then).
    pub fn query_many(
        &self,
        uploads: &[PdqHash],
        options: &QueryOptions,
    ) -> Result<Vec<Vec<Match>>> {
        for u in uploads {
            check_quality(u.quality, options)?;
        }
        let state = self.read();
        let r = state.max_threshold();
        Ok(uploads
            .par_iter()
            .map(|u| {
                let hits = state.store.radius(&u.hash, r);
                self.counted(state.matches(hits.into_iter().map(plain_hit), true))
            })
            .collect())
    }

    /// Counts an upload checked with these matches ([`crate::report`]) and passes them on.
    fn counted(&self, found: Vec<Match>) -> Vec<Match> {
        self.counters.record_upload(
            Media::Image,
            found
                .iter()
                .map(|m| (&m.list, m.entry_id, Technique::of(m))),
        );
        found
    }

    /// Records a reviewer's verdict on a match of an entry ([`crate::report`]): a confirmed
    /// match or a false positive is counted for the entry and its list, and a false positive
    /// disables the entry, with the verdict's reason, once its false positives since it was
    /// last enabled reach [`VerdictPolicy::disable_after`] (default: at once). Enabling the
    /// entry again ([`Matcher::enable`]) counts as redress.
    ///
    /// # Errors
    /// [`Error::Matcher`] for an unknown list or entry (nothing is counted then).
    pub fn record_verdict(
        &self,
        list: &str,
        entry_id: u64,
        verdict: &Verdict,
    ) -> Result<VerdictOutcome> {
        let (name, policy, disabled) = {
            let state = self.read();
            let list_id = state.list_id(list)?;
            let slot = state.store.find(list_id, entry_id).ok_or_else(|| {
                matcher_error(
                    MatcherErrorKind::UnknownEntry,
                    format!("no entry {entry_id} in list {list:?}"),
                )
            })?;
            (
                state.lists[list_id as usize].name.clone(),
                state.verdict_policy,
                state.store.disabled(slot).is_some(),
            )
        };
        let open = self
            .counters
            .record_verdict(Media::Image, &name, entry_id, verdict);
        let mut outcome = VerdictOutcome {
            false_positives: open,
            disabled: false,
        };
        if let Verdict::FalsePositive(reason) = verdict {
            let due = policy.disable_after > 0 && open >= u64::from(policy.disable_after);
            if due && !disabled {
                let reason = format!("false positive: {reason}");
                // An entry removed meanwhile has nothing left to disable.
                outcome.disabled = self.disable(list, entry_id, &reason).is_ok();
            }
        }
        Ok(outcome)
    }

    /// Sets when false positives disable an entry ([`Matcher::record_verdict`]).
    pub fn set_verdict_policy(&self, policy: VerdictPolicy) {
        self.write().verdict_policy = policy;
    }

    /// The counts so far, over the period since counting started ([`crate::report`]), with
    /// every list's current entries and disabled entries.
    pub fn report(&self) -> Report {
        let lists: Vec<_> = self
            .read()
            .lists
            .iter()
            .map(|l| {
                (
                    Media::Image,
                    l.name.clone(),
                    l.entries as u64,
                    l.disabled as u64,
                )
            })
            .collect();
        self.counters.report(lists)
    }

    /// Adds a saved report's image counts to this matcher's (after a restart: [`Report::load`]
    /// the file the service saved, then restore it), and moves the start of the period back to
    /// the report's (video counts belong to [`crate::video::VideoIndex::restore_counts`]). The lists' entries and disabled entries come from the matcher, not from
    /// the report.
    pub fn restore_counts(&self, report: &Report) {
        self.counters.restore(&report.only(Media::Image));
    }

    /// Turns counting on or off. On by default; off only to measure what counting costs.
    pub fn set_counting(&self, on: bool) {
        self.counters.set_enabled(on);
    }

    /// Counts per list, in the order the lists were added.
    pub fn stats(&self) -> Vec<ListStats> {
        self.read()
            .lists
            .iter()
            .map(|l| ListStats {
                name: l.name.clone(),
                entries: l.entries,
                disabled: l.disabled,
                extra_hashes: l.extra_hashes,
                threshold: l.settings.threshold,
                enabled: l.settings.enabled,
                robust: l.settings.robust,
            })
            .collect()
    }

    /// The kind of index over the bulk of the entries (entries inserted since the last
    /// compaction are scanned linearly until the next; see [`Matcher::compact`]).
    pub fn index_kind(&self) -> IndexKind {
        self.read().index_kind()
    }

    /// Approximate memory held by the entries and their index, in bytes (owned or mapped from
    /// a snapshot; list names and per-list counts excluded).
    pub fn memory_bytes(&self) -> usize {
        self.read().store.bytes()
    }

    /// Folds every insert and removal since the last compaction into the index now.
    ///
    /// The matcher does this by itself when the entries added or removed since the last
    /// compaction pass a share of the whole (1/64 added or 1/8 removed, at least 4 096), so
    /// calling it is never needed for correctness; a service may call it after a bulk load so
    /// that queries stop scanning the new entries. The new index is built without holding the
    /// matcher's lock: queries and updates go on meanwhile (updates are replayed onto the new
    /// index before it replaces the old one). Returns whether it built a new index: `false`
    /// when there was nothing to fold in or another compaction was running.
    pub fn compact(&self) -> bool {
        let (store, kind) = {
            let mut state = self.write();
            let kind = state.target_kind();
            if state.compaction_log.is_some() || state.store.is_compacted_to(kind) {
                return false;
            }
            state.compaction_log = Some(Vec::new());
            (state.store.clone(), kind)
        };
        // Clears the log if building panics, so later compactions are not refused forever.
        struct Abandon<'a>(&'a Matcher, bool);
        impl Drop for Abandon<'_> {
            fn drop(&mut self) {
                if !self.1 {
                    self.0.write().compaction_log = None;
                }
            }
        }
        let mut guard = Abandon(self, false);
        let mut compacted = store.compacted(kind);
        drop(store);
        let mut state = self.write();
        for op in state.compaction_log.take().unwrap_or_default() {
            compacted.apply(op);
        }
        state.store = compacted;
        guard.1 = true;
        true
    }

    fn compact_if_needed(&self) {
        let needed = {
            let state = self.read();
            state.compaction_log.is_none() && state.store.needs_compaction()
        };
        if needed {
            self.compact();
        }
    }
}

/// A matcher's whole content in the form a snapshot stores it ([`crate::snapshot`]): the
/// lists, one compact segment, and the disabled positions of that segment.
pub(crate) struct Parts {
    /// Lists in the order they were added; an entry's list number indexes this.
    pub(crate) lists: Vec<(Arc<str>, ListSettings)>,
    pub(crate) segment: Arc<Segment>,
    pub(crate) disabled: HashMap<u32, Arc<str>>,
}

impl Matcher {
    /// A consistent copy of the whole content, taken under one lock; the entries changed since
    /// the last compaction are compacted into a new segment (without holding the lock).
    pub(crate) fn parts(&self) -> Parts {
        let (lists, store, kind) = {
            let state = self.read();
            let lists = state
                .lists
                .iter()
                .map(|l| (l.name.clone(), l.settings))
                .collect();
            (lists, state.store.clone(), state.target_kind())
        };
        let store = if store.is_compact() {
            store
        } else {
            store.compacted(kind)
        };
        Parts {
            lists,
            disabled: store.disabled_entries().clone(),
            segment: store.segment,
        }
    }

    /// A matcher holding `parts`. Checks what the public methods would refuse (list names
    /// empty or repeated, entries of unknown lists, an entry id twice in a list, disabled
    /// positions past the end) and returns what is wrong, building nothing.
    pub(crate) fn from_parts(parts: Parts) -> std::result::Result<Matcher, String> {
        let mut lists = Vec::with_capacity(parts.lists.len());
        let mut list_ids = HashMap::with_capacity(parts.lists.len());
        for (name, settings) in parts.lists {
            if name.is_empty() {
                return Err(format!("list {} has an empty name", lists.len()));
            }
            let id = u32::try_from(lists.len()).map_err(|_| "more than 2^32 lists")?;
            if list_ids.insert(name.clone(), id).is_some() {
                return Err(format!("list {name:?} appears twice"));
            }
            lists.push(ListState {
                name,
                settings,
                entries: 0,
                disabled: 0,
                extra_hashes: 0,
            });
        }
        let segment = parts.segment;
        let n = segment.len();
        if segment.ids.len() != n
            || segment.lists.len() != n
            || segment.labels.len() != n
            || !(segment.variants.is_empty() || segment.variants.len() == n)
        {
            return Err("the entry columns differ in length".into());
        }
        // Variant codes: known ones, and every extra hash after a hash of the same entry.
        if segment.has_variants() {
            if segment.variant(0) != 0 {
                return Err("position 0 is an extra hash, but no entry comes before it".into());
            }
            (1..n)
                .into_par_iter()
                .with_min_len(1 << 14)
                .try_for_each(|p| {
                    let code = segment.variant(p);
                    if Variant::from_code(code).is_none() {
                        return Err(format!("position {p} has the unknown variant code {code}"));
                    }
                    if code != 0
                        && (segment.lists[p], segment.ids[p])
                            != (segment.lists[p - 1], segment.ids[p - 1])
                    {
                        return Err(format!(
                            "position {p} is an extra hash, but the position before it is \
                             another entry's"
                        ));
                    }
                    Ok(())
                })?;
        }
        // Count entries per list (and check every list number) in parallel chunks.

        // (entries, extra hashes) per list.
        let counts = segment
            .lists
            .par_chunks(1 << 16)
            .enumerate()
            .try_fold(
                || vec![(0usize, 0usize); lists.len()],
                |mut counts, (c, chunk)| {
                    for (k, &l) in chunk.iter().enumerate() {
                        let count = counts.get_mut(l as usize).ok_or_else(|| {
                            format!(
                                "an entry refers to list {l}, but there are {} lists",
                                list_ids.len()
                            )
                        })?;
                        if segment.variant((c << 16) + k) == 0 {
                            count.0 += 1;
                        } else {
                            count.1 += 1;
                        }
                    }
                    Ok::<_, String>(counts)
                },
            )
            .try_reduce(
                || vec![(0, 0); lists.len()],
                |mut a, b| {
                    for (a, b) in a.iter_mut().zip(b) {
                        *a = (a.0 + b.0, a.1 + b.1);
                    }
                    Ok(a)
                },
            )?;
        for (list, (entries, extras)) in lists.iter_mut().zip(counts) {
            list.entries = entries;
            list.extra_hashes = extras;
        }
        // The lookup order must be the entries' positions sorted strictly by (list, id): then
        // it is a permutation of them and no entry id repeats within a list.
        let entries: usize = lists.iter().map(|l| l.entries).sum();
        if segment.order.len() != entries {
            return Err(format!(
                "the lookup order has {} positions for {entries} entries",
                segment.order.len()
            ));
        }
        let key = |p: u32| -> std::result::Result<(u32, u64), String> {
            let p = p as usize;
            if p >= n {
                return Err(format!("the lookup order names position {p} of {n}"));
            }
            if segment.variant(p) != 0 {
                return Err(format!(
                    "the lookup order names position {p}, an extra hash"
                ));
            }
            Ok((segment.lists[p], segment.ids[p]))
        };
        let m = segment.order.len();
        (0..m.saturating_sub(1))
            .into_par_iter()
            .with_min_len(1 << 14)
            .try_for_each(|i| {
                let (a, b) = (key(segment.order[i])?, key(segment.order[i + 1])?);
                match a.cmp(&b) {
                    std::cmp::Ordering::Less => Ok(()),
                    std::cmp::Ordering::Equal => Err(format!(
                        "entry {} appears twice in list {:?}",
                        a.1, lists[a.0 as usize].name
                    )),
                    std::cmp::Ordering::Greater => {
                        Err(format!("the lookup order is not sorted at {i}"))
                    }
                }
            })?;
        if m == 1 {
            key(segment.order[0])?;
        }
        let strings = segment.label_text.len();
        if let Some(p) = segment
            .labels
            .par_iter()
            .position_any(|&l| l != NO_LABEL && l as usize >= strings)
        {
            return Err(format!(
                "the label of position {p} is string {}, but there are {strings}",
                segment.labels[p]
            ));
        }
        for &p in parts.disabled.keys() {
            let list = segment
                .lists
                .get(p as usize)
                .ok_or_else(|| format!("disabled position {p} is past the {n} entries"))?;
            if segment.variant(p as usize) != 0 {
                return Err(format!(
                    "disabled position {p} is an extra hash, not an entry"
                ));
            }
            lists[*list as usize].disabled += 1;
        }
        let mut segment = Arc::try_unwrap(segment).map_err(|_| "segment is shared")?;
        let mut state = State {
            lists,
            list_ids,
            store: Store::default(),
            forced_kind: None,
            compaction_log: None,
            insertions: 0,
            verdict_policy: VerdictPolicy::default(),
        };
        // A segment that came without an index (a snapshot of a small matcher) gets the one
        // its size calls for; stored tables are used as they are.
        if matches!(segment.index, SegmentIndex::Scan) {
            segment.index = Segment::build_index(&segment.hashes, state.target_kind_for(n));
        }
        state.store = Store::from_segment(segment, parts.disabled);
        Ok(Matcher {
            state: RwLock::new(state),
            counters: Counters::default(),
        })
    }
}

impl State {
    /// Refuses `entries` for `list` if the list is unknown or holds one of their ids.
    fn check_new_ids(&self, list: &str, entries: &[Entry]) -> Result<()> {
        let list_id = self.list_id(list)?;
        match entries
            .iter()
            .find(|e| self.store.find(list_id, e.id).is_some())
        {
            Some(e) => Err(matcher_error(
                MatcherErrorKind::EntryExists,
                format!("entry {} is already in list {list:?}", e.id),
            )),
            None => Ok(()),
        }
    }

    fn list_id(&self, name: &str) -> Result<u32> {
        self.list_ids.get(name).copied().ok_or_else(|| {
            matcher_error(
                MatcherErrorKind::UnknownList,
                format!("no list named {name:?}"),
            )
        })
    }

    /// The radius a threshold-respecting query must search: the largest enabled threshold.
    fn max_threshold(&self) -> u32 {
        self.lists
            .iter()
            .filter(|l| l.settings.enabled)
            .map(|l| l.settings.threshold)
            .max()
            .unwrap_or(0)
    }

    /// The index kind a compaction builds: the forced one, or [`IndexKind::choose`]'s.
    fn target_kind(&self) -> IndexKind {
        self.target_kind_for(self.store.len())
    }

    /// [`State::target_kind`] for `len` entries.
    fn target_kind_for(&self, len: usize) -> IndexKind {
        self.forced_kind.unwrap_or_else(|| {
            IndexKind::choose(len, self.max_threshold().max(pdq::MATCH_THRESHOLD))
        })
    }

    fn index_kind(&self) -> IndexKind {
        match self.forced_kind {
            Some(kind) => kind,
            None => self.store.segment.kind(),
        }
    }

    /// Whether the hit's list accepts matches of a robust query's extra hashes.
    fn accepts_robust(&self, hit: Hit) -> bool {
        self.lists[self.store.list(hit.slot) as usize]
            .settings
            .robust
    }

    /// Whether a hit is an enabled entry of an enabled list (within the list's threshold when
    /// `per_list_threshold`).
    fn usable(&self, hit: Hit, per_list_threshold: bool) -> bool {
        let list = &self.lists[self.store.list(hit.slot) as usize];
        list.settings.enabled
            && (!per_list_threshold || hit.distance <= list.settings.threshold)
            && self.store.disabled(self.store.owner(hit.slot)).is_none()
    }

    /// Index hits to matches: enabled entries of enabled lists (within each list's threshold
    /// when `per_list_threshold`), sorted by distance, list name, entry id, orientation,
    /// region, variant. An entry hit through several of its hashes is reported once, by the
    /// first of them in that order.
    fn matches(
        &self,
        hits: impl Iterator<Item = (Dihedral, Region, Hit)>,
        per_list_threshold: bool,
    ) -> Vec<Match> {
        let store = &self.store;
        let mut out: Vec<Match> = hits
            .filter_map(|(orientation, region, hit)| {
                let list = &self.lists[store.list(hit.slot) as usize];
                let owner = store.owner(hit.slot);
                self.usable(hit, per_list_threshold).then(|| Match {
                    list: list.name.clone(),
                    entry_id: store.id(hit.slot),
                    label: store.label(owner),
                    hash: store.hash(hit.slot),
                    distance: hit.distance,
                    orientation,
                    region,
                    variant: Variant::from_code(store.variant(hit.slot)).unwrap_or_default(),
                })
            })
            .collect();
        fn key(m: &Match) -> (u32, &str, u64, Dihedral, Region, Variant) {
            (
                m.distance,
                &m.list,
                m.entry_id,
                m.orientation,
                m.region,
                m.variant,
            )
        }
        out.sort_by(|a, b| key(a).cmp(&key(b)));
        if store.has_variants() {
            // Entries are unique by (list, id); the first of each is the one to keep.
            let mut seen = std::collections::HashSet::with_capacity(out.len());
            out.retain(|m| seen.insert((m.list.clone(), m.entry_id)));
        }
        out
    }
}

/// A hit of a plain query: the upload as it is.
fn plain_hit(hit: Hit) -> (Dihedral, Region, Hit) {
    (Dihedral::Original, Region::Whole, hit)
}

fn check_quality(quality: u8, options: &QueryOptions) -> Result<()> {
    if quality < options.quality_floor {
        return Err(Error::LowQuality {
            quality,
            floor: options.quality_floor,
        });
    }
    Ok(())
}

fn matcher_error(kind: MatcherErrorKind, message: impl Into<String>) -> Error {
    Error::Matcher {
        kind,
        message: message.into(),
    }
}
