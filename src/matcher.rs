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

use crate::error::{Error, Result};
use crate::hash::pdq::{self, Dihedral, DihedralHashes, PdqHash};
use crate::hash::Hash256;
use crate::index::{self, HammingIndex, Hit, IndexKind};
use crate::list::Entry;

/// A list's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListSettings {
    /// Largest distance that counts as a match for this list (PDQ: 31).
    pub threshold: u32,
    /// Whether the list takes part in queries.
    pub enabled: bool,
}

impl Default for ListSettings {
    fn default() -> Self {
        ListSettings {
            threshold: pdq::MATCH_THRESHOLD,
            enabled: true,
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
    /// The list's threshold.
    pub threshold: u32,
    /// Whether the list takes part in queries.
    pub enabled: bool,
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
}

struct ListState {
    name: Arc<str>,
    settings: ListSettings,
    entries: usize,
    disabled: usize,
}

struct Record {
    list: u32,
    id: u64,
    label: Option<Arc<str>>,
    hash: Hash256,
    disabled: Option<Arc<str>>,
}

struct State {
    lists: Vec<ListState>,
    list_ids: HashMap<Arc<str>, u32>,
    /// Slot -> entry; `None` for a free slot (reused by the next insert).
    records: Vec<Option<Record>>,
    free: Vec<u32>,
    by_entry: HashMap<(u32, u64), u32>,
    index: Box<dyn HammingIndex>,
    /// The index kind the caller asked for, or `None` to follow [`IndexKind::choose`].
    forced_kind: Option<IndexKind>,
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
            .field("entries", &state.by_entry.len())
            .field("index", &state.index.kind())
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
        let kind = forced_kind.unwrap_or(IndexKind::Linear);
        Matcher {
            state: RwLock::new(State {
                lists: Vec::new(),
                list_ids: HashMap::new(),
                records: Vec::new(),
                free: Vec::new(),
                by_entry: HashMap::new(),
                index: index::build(kind, std::iter::empty()),
                forced_kind,
            }),
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
            return Err(matcher_error("a list name cannot be empty"));
        }
        let mut state = self.write();
        if state.list_ids.contains_key(name) {
            return Err(matcher_error(format!("list {name:?} already exists")));
        }
        let name: Arc<str> = name.into();
        let id = state.lists.len() as u32;
        state.list_ids.insert(name.clone(), id);
        state.lists.push(ListState {
            name,
            settings,
            entries: 0,
            disabled: 0,
        });
        Ok(())
    }

    /// Changes a list's threshold and enabled flag.
    ///
    /// # Errors
    /// [`Error::Matcher`] for an unknown list.
    pub fn set_list(&self, name: &str, settings: ListSettings) -> Result<()> {
        let mut state = self.write();
        let list = state.list_id(name)?;
        state.lists[list as usize].settings = settings;
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
    /// # Errors
    /// As [`Matcher::insert`].
    pub fn insert_many(
        &self,
        list: &str,
        entries: impl IntoIterator<Item = Entry>,
    ) -> Result<usize> {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let mut state = self.write();
        let list_id = state.list_id(list)?;
        let mut seen = std::collections::HashSet::with_capacity(entries.len());
        for e in &entries {
            if state.by_entry.contains_key(&(list_id, e.id)) || !seen.insert(e.id) {
                return Err(matcher_error(format!(
                    "entry {} is already in list {list:?}",
                    e.id
                )));
            }
        }
        let added = entries.len();
        for e in entries {
            let slot = match state.free.pop() {
                Some(slot) => slot,
                None => {
                    let slot = u32::try_from(state.records.len())
                        .map_err(|_| matcher_error("more than 4 294 967 295 entries"))?;
                    state.records.push(None);
                    slot
                }
            };
            state.index.insert(slot, e.hash);
            state.records[slot as usize] = Some(Record {
                list: list_id,
                id: e.id,
                label: e.label.map(Arc::from),
                hash: e.hash,
                disabled: None,
            });
            state.by_entry.insert((list_id, e.id), slot);
        }
        state.lists[list_id as usize].entries += added;
        state.retune_index();
        Ok(added)
    }

    /// Deletes an entry. Returns whether it existed.
    ///
    /// # Errors
    /// [`Error::Matcher`] for an unknown list.
    pub fn remove(&self, list: &str, entry_id: u64) -> Result<bool> {
        let mut state = self.write();
        let list_id = state.list_id(list)?;
        let Some(slot) = state.by_entry.remove(&(list_id, entry_id)) else {
            return Ok(false);
        };
        state.index.remove(slot);
        let record = state.records[slot as usize]
            .take()
            .expect("indexed slot has a record");
        let list = &mut state.lists[list_id as usize];
        list.entries -= 1;
        if record.disabled.is_some() {
            list.disabled -= 1;
        }
        state.free.push(slot);
        Ok(true)
    }

    /// Disables an entry (it stays stored, with the reason, but no longer matches).
    ///
    /// # Errors
    /// [`Error::Matcher`] for an unknown list or entry.
    pub fn disable(&self, list: &str, entry_id: u64, reason: &str) -> Result<()> {
        self.set_disabled(list, entry_id, Some(reason.into()))
    }

    /// Enables an entry disabled before.
    ///
    /// # Errors
    /// [`Error::Matcher`] for an unknown list or entry.
    pub fn enable(&self, list: &str, entry_id: u64) -> Result<()> {
        self.set_disabled(list, entry_id, None)
    }

    fn set_disabled(&self, list: &str, entry_id: u64, reason: Option<Arc<str>>) -> Result<()> {
        let mut state = self.write();
        let list_id = state.list_id(list)?;
        let slot = *state
            .by_entry
            .get(&(list_id, entry_id))
            .ok_or_else(|| matcher_error(format!("no entry {entry_id} in list {list:?}")))?;
        let record = state.records[slot as usize]
            .as_mut()
            .expect("indexed slot has a record");
        let delta = match (record.disabled.is_some(), reason.is_some()) {
            (false, true) => 1isize,
            (true, false) => -1,
            _ => 0,
        };
        record.disabled = reason;
        let list = &mut state.lists[list_id as usize];
        list.disabled = list
            .disabled
            .checked_add_signed(delta)
            .expect("disabled count");
        Ok(())
    }

    /// Why an entry is disabled, `None` if it is enabled.
    ///
    /// # Errors
    /// [`Error::Matcher`] for an unknown list or entry.
    pub fn disabled_reason(&self, list: &str, entry_id: u64) -> Result<Option<Arc<str>>> {
        let state = self.read();
        let list_id = state.list_id(list)?;
        let slot = state
            .by_entry
            .get(&(list_id, entry_id))
            .ok_or_else(|| matcher_error(format!("no entry {entry_id} in list {list:?}")))?;
        Ok(state.records[*slot as usize]
            .as_ref()
            .and_then(|r| r.disabled.clone()))
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
        let hits = state.index.radius(&upload.hash, r);
        Ok(state.matches(hits.into_iter().map(|h| (Dihedral::Original, h)), true))
    }

    /// Every enabled entry of an enabled list within `radius` of `hash`, whatever the lists'
    /// thresholds (no quality check: the caller has a bare hash), sorted as [`Matcher::query`].
    pub fn query_radius(&self, hash: &Hash256, radius: u32) -> Vec<Match> {
        let state = self.read();
        let hits = state.index.radius(hash, radius);
        state.matches(hits.into_iter().map(|h| (Dihedral::Original, h)), false)
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
            let hits = state.index.knn(hash, want);
            let exhausted = hits.len() < want;
            let cutoff = hits.last().map(|h| h.distance);
            let mut found = state.matches(hits.into_iter().map(|h| (Dihedral::Original, h)), false);
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
        let hits = state.index.radius_multi(&upload.hashes, r);
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
        Ok(state.matches(best.into_values(), true))
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
        use rayon::prelude::*;
        for u in uploads {
            check_quality(u.quality, options)?;
        }
        let state = self.read();
        let r = state.max_threshold();
        let queries: Vec<Hash256> = uploads.iter().map(|u| u.hash).collect();
        let all_hits = state.index.radius_many(&queries, r);
        Ok(all_hits
            .into_par_iter()
            .map(|hits| state.matches(hits.into_iter().map(|h| (Dihedral::Original, h)), true))
            .collect())
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
                threshold: l.settings.threshold,
                enabled: l.settings.enabled,
            })
            .collect()
    }

    /// The kind of index currently in use.
    pub fn index_kind(&self) -> IndexKind {
        self.read().index.kind()
    }
}

/// A matcher's lists and live entries, as a snapshot stores them ([`crate::snapshot`]).
pub(crate) struct Contents {
    /// Lists in the order they were added; an entry's `list` indexes this.
    pub(crate) lists: Vec<(Arc<str>, ListSettings)>,
    /// Live entries in slot order (free slots left by removals are skipped).
    pub(crate) entries: Vec<StoredEntry>,
}

/// One entry of [`Contents`].
pub(crate) struct StoredEntry {
    pub(crate) list: u32,
    pub(crate) id: u64,
    pub(crate) hash: Hash256,
    pub(crate) label: Option<Arc<str>>,
    pub(crate) disabled: Option<Arc<str>>,
}

impl Matcher {
    /// A consistent copy of the lists and entries (taken under one read lock).
    pub(crate) fn contents(&self) -> Contents {
        let state = self.read();
        Contents {
            lists: state
                .lists
                .iter()
                .map(|l| (l.name.clone(), l.settings))
                .collect(),
            entries: state
                .records
                .iter()
                .flatten()
                .map(|r| StoredEntry {
                    list: r.list,
                    id: r.id,
                    hash: r.hash,
                    label: r.label.clone(),
                    disabled: r.disabled.clone(),
                })
                .collect(),
        }
    }

    /// A matcher holding `contents`, its index kind chosen by [`IndexKind::choose`]. Checks
    /// everything the public methods would refuse and returns what is wrong, building nothing.
    pub(crate) fn from_contents(contents: Contents) -> std::result::Result<Matcher, String> {
        let mut lists = Vec::with_capacity(contents.lists.len());
        let mut list_ids = HashMap::with_capacity(contents.lists.len());
        for (name, settings) in contents.lists {
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
            });
        }
        let mut records = Vec::with_capacity(contents.entries.len());
        let mut by_entry = HashMap::with_capacity(contents.entries.len());
        for e in contents.entries {
            let slot = u32::try_from(records.len()).map_err(|_| "more than 2^32 entries")?;
            let Some(list) = lists.get_mut(e.list as usize) else {
                return Err(format!(
                    "entry {} refers to list {}, but there are {} lists",
                    e.id,
                    e.list,
                    list_ids.len()
                ));
            };
            if by_entry.insert((e.list, e.id), slot).is_some() {
                return Err(format!(
                    "entry {} appears twice in list {:?}",
                    e.id, list.name
                ));
            }
            list.entries += 1;
            list.disabled += usize::from(e.disabled.is_some());
            records.push(Some(Record {
                list: e.list,
                id: e.id,
                label: e.label,
                hash: e.hash,
                disabled: e.disabled,
            }));
        }
        let mut state = State {
            lists,
            list_ids,
            records,
            free: Vec::new(),
            by_entry,
            index: index::build(IndexKind::Linear, std::iter::empty()),
            forced_kind: None,
        };
        let kind = IndexKind::choose(
            state.by_entry.len(),
            state.max_threshold().max(pdq::MATCH_THRESHOLD),
        );
        state.index = index::build(
            kind,
            state
                .records
                .iter()
                .enumerate()
                .filter_map(|(slot, r)| r.as_ref().map(|r| (slot as u32, r.hash))),
        );
        Ok(Matcher {
            state: RwLock::new(state),
        })
    }
}

impl State {
    fn list_id(&self, name: &str) -> Result<u32> {
        self.list_ids
            .get(name)
            .copied()
            .ok_or_else(|| matcher_error(format!("no list named {name:?}")))
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

    /// Index hits to matches: enabled entries of enabled lists (within each list's threshold
    /// when `per_list_threshold`), sorted by distance, list name, entry id, orientation.
    fn matches(
        &self,
        hits: impl Iterator<Item = (Dihedral, Hit)>,
        per_list_threshold: bool,
    ) -> Vec<Match> {
        let mut out: Vec<Match> = hits
            .filter_map(|(orientation, hit)| {
                let record = self.records[hit.slot as usize].as_ref()?;
                let list = &self.lists[record.list as usize];
                let usable = list.settings.enabled
                    && record.disabled.is_none()
                    && (!per_list_threshold || hit.distance <= list.settings.threshold);
                usable.then(|| Match {
                    list: list.name.clone(),
                    entry_id: record.id,
                    label: record.label.clone(),
                    hash: record.hash,
                    distance: hit.distance,
                    orientation,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            (a.distance, &a.list, a.entry_id, a.orientation).cmp(&(
                b.distance,
                &b.list,
                b.entry_id,
                b.orientation,
            ))
        });
        out
    }

    /// Moves to the index kind [`IndexKind::choose`] picks for the current size, unless the
    /// caller forced one. Runs after inserts; a rebuild happens only when the kind changes.
    fn retune_index(&mut self) {
        if self.forced_kind.is_some() {
            return;
        }
        let want = IndexKind::choose(
            self.by_entry.len(),
            self.max_threshold().max(pdq::MATCH_THRESHOLD),
        );
        if want != self.index.kind() {
            let entries = self
                .records
                .iter()
                .enumerate()
                .filter_map(|(slot, r)| r.as_ref().map(|r| (slot as u32, r.hash)));
            self.index = index::build(want, entries);
        }
    }
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

fn matcher_error(message: impl Into<String>) -> Error {
    Error::Matcher {
        message: message.into(),
    }
}
