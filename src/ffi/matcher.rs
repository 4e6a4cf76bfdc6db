//! `hm_matcher` (named hash lists, their index and snapshots) and `hm_matches` (a query's
//! results).

use std::ffi::c_char;

use super::enrol::{hm_enrolment, hm_variant};
use super::hash::{
    hm_orientation, hm_pdq_dihedral, hm_pdq_hash, hm_pdq_result, orientation_number,
};
use super::robust::{hm_region, hm_robust_hashes, region_number};
use super::{array, boundary, deref, free_box, hm_error, hm_status, infallible, opt_utf8};
use super::{out_ptr, path, utf8, write_out, write_text, Failure, FfiResult};
use crate::list::Entry;
use crate::matcher::{ListSettings, Match, Matcher, QueryOptions};
use crate::pdq::{DihedralHashes, PdqHash};
use crate::{Hash256, IndexKind};

/// Which exact index a matcher uses.
pub type hm_index_kind = i32;
/// Follow the list sizes: a linear scan below 4 096 entries, multi-index hashing above.
/// The recommended choice.
pub const HM_INDEX_AUTO: hm_index_kind = 0;
/// A SIMD linear scan.
pub const HM_INDEX_LINEAR: hm_index_kind = 1;
/// A BK-tree.
pub const HM_INDEX_BKTREE: hm_index_kind = 2;
/// Multi-index hashing (16 chunks of 16 bits).
pub const HM_INDEX_MIH: hm_index_kind = 3;

/// Named hash lists and one exact index over all their entries. Create with `hm_matcher_new`
/// or `hm_matcher_open`, free with `hm_matcher_free`.
///
/// Thread safety: every function may be called on one matcher from any number of threads at
/// once, queries and changes alike. Queries run in parallel; a change (insert, remove, disable,
/// add a list) waits for running queries and is seen whole by the next one. Only
/// `hm_matcher_free` must not overlap any other call on the matcher.
pub struct hm_matcher {
    pub(crate) inner: Matcher,
}

/// One match, read from an `hm_matches`.
///
/// The strings are NUL-terminated UTF-8 owned by the `hm_matches` they came from: valid until
/// it is freed, never to be freed themselves.
#[repr(C)]
#[derive(Debug)]
pub struct hm_match {
    /// The name of the list the entry belongs to.
    pub list: *const c_char,
    /// The entry's id in that list.
    pub entry_id: u64,
    /// The entry's label, or NULL if it has none.
    pub label: *const c_char,
    /// The stored hash.
    pub hash: hm_pdq_hash,
    /// Hamming distance between the query and the stored hash.
    pub distance: u32,
    /// Which orientation of the upload matched (`HM_ORIENTATION_ORIGINAL` except from
    /// `hm_matcher_query_dihedral` and `hm_matcher_query_robust`).
    pub orientation: hm_orientation,
    /// Which part of the upload matched (`HM_REGION_WHOLE` except from
    /// `hm_matcher_query_robust`).
    pub region: hm_region,
    /// Which of the entry's hashes matched (`hm_variant`): `HM_VARIANT_LISTED` unless the
    /// entry was stored by `hm_matcher_enrol` and one of its extra hashes was nearest.
    pub variant: hm_variant,
    /// The position of the upload in the array given to `hm_matcher_query_many`; 0 for the
    /// other queries.
    pub query: usize,
}

/// The results of one query: an immutable array of `hm_match`, sorted by query, then distance,
/// then list name, then entry id. Read it with `hm_matches_len` and `hm_matches_get`, free it
/// with `hm_matches_free`. It owns copies of everything it shows: it stays valid after the
/// matcher changes or is freed. Any number of threads may read one `hm_matches` at once.
pub struct hm_matches {
    items: Vec<hm_match>,
    /// The NUL-terminated strings `items` point to, back to back.
    _text: Box<[u8]>,
}

impl hm_matches {
    /// Copies the matches and their strings into one object: three allocations at most (the
    /// object, the array, one buffer for every string), whatever the number of matches.
    fn new(results: impl IntoIterator<Item = (usize, Match)>) -> Box<hm_matches> {
        let results = results.into_iter();
        let mut items: Vec<hm_match> = Vec::with_capacity(results.size_hint().0);
        let mut text: Vec<u8> = Vec::with_capacity(items.capacity() * 24);
        // Each list's name is copied once (a query meets few lists); labels are per entry.
        let mut lists: Vec<(usize, usize)> = Vec::new(); // (offset, length) in `text`
        for (query, m) in results {
            let name = m.list.as_bytes();
            let known = lists
                .iter()
                .find(|&&(offset, len)| &text[offset..offset + len] == name);
            let list = match known {
                Some(&(offset, _)) => offset,
                None => {
                    let offset = push_c_str(&mut text, &m.list);
                    lists.push((offset, text.len() - 1 - offset));
                    offset
                }
            };
            let label = m.label.as_deref().map(|l| push_c_str(&mut text, l));
            // The string pointers hold offsets into `text` until it stops moving (below). Offset
            // 0 is always the first list name, so a label's offset never reads as NULL.
            items.push(hm_match {
                list: std::ptr::without_provenance(list),
                entry_id: m.entry_id,
                label: label.map_or(std::ptr::null(), std::ptr::without_provenance),
                hash: m.hash.into(),
                distance: m.distance,
                orientation: orientation_number(m.orientation),
                region: region_number(m.region),
                variant: m.variant.code(),
                query,
            });
        }
        let text = text.into_boxed_slice();
        let base = text.as_ptr().cast::<c_char>();
        for item in &mut items {
            // Every offset was returned by push_c_str, so it lies inside `text`.
            item.list = base.wrapping_add(item.list.addr());
            if !item.label.is_null() {
                item.label = base.wrapping_add(item.label.addr());
            }
        }
        Box::new(hm_matches { items, _text: text })
    }
}

/// Appends `s` and a NUL to `text` (an interior NUL, which C could not see past, becomes
/// U+FFFD) and returns where it starts.
pub(crate) fn push_c_str(text: &mut Vec<u8>, s: &str) -> usize {
    let offset = text.len();
    if s.as_bytes().contains(&0) {
        text.extend_from_slice(s.replace('\0', "\u{fffd}").as_bytes());
    } else {
        text.extend_from_slice(s.as_bytes());
    }
    text.push(0);
    offset
}

/// Settings of a query that checks quality.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct hm_query_options {
    /// Uploads whose hash quality is below this are refused with `HM_LOW_QUALITY` (default 50).
    pub quality_floor: u8,
}

impl From<&hm_query_options> for QueryOptions {
    fn from(o: &hm_query_options) -> Self {
        QueryOptions {
            quality_floor: o.quality_floor,
        }
    }
}

/// The default query options (quality floor 50), by value. Cannot fail. Thread-safe.
#[no_mangle]
pub extern "C" fn hm_query_options_default() -> hm_query_options {
    let floor = QueryOptions::default().quality_floor;
    infallible(
        hm_query_options {
            quality_floor: floor,
        },
        || hm_query_options {
            quality_floor: floor,
        },
    )
}

/// One entry to insert: a hash, the id its list gives it, an optional label.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hm_entry {
    /// The hash.
    pub hash: hm_pdq_hash,
    /// The entry's id in its list (unique within the list).
    pub id: u64,
    /// A NUL-terminated UTF-8 label (a case number, a category), copied; NULL for none.
    pub label: *const c_char,
}

/// Counts and settings of one list.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct hm_list_info {
    /// Entries stored, enabled or not.
    pub entries: u64,
    /// Entries disabled after a wrong match.
    pub disabled: u64,
    /// Extra hashes stored with entries added by `hm_matcher_enrol`, beyond their own.
    pub extra_hashes: u64,
    /// The largest distance that counts as a match for this list.
    pub threshold: u32,
    /// Whether the list takes part in queries.
    pub enabled: bool,
    /// Whether the list accepts a robust query's extra hashes (`hm_matcher_set_list_robust`).
    pub robust: bool,
}

/// Creates an empty matcher using index `kind` (an `HM_INDEX_*` value; `HM_INDEX_AUTO` is
/// recommended) and stores it in `*out`. The caller owns it and frees it with
/// `hm_matcher_free`.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `out` is NULL; `HM_INVALID_ARGUMENT` for an unknown
/// kind.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_new(
    kind: hm_index_kind,
    out: *mut *mut hm_matcher,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            let out = out_ptr(out, "out")?;
            let inner = match kind {
                HM_INDEX_AUTO => Matcher::new(),
                HM_INDEX_LINEAR => Matcher::with_index(IndexKind::Linear),
                HM_INDEX_BKTREE => Matcher::with_index(IndexKind::BkTree),
                HM_INDEX_MIH => Matcher::with_index(IndexKind::MultiIndex),
                other => return Err(Failure::invalid(format!("unknown index kind {other}"))),
            };
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(Box::new(hm_matcher { inner })));
            Ok(())
        })
    }
}

/// Opens a snapshot written by `hm_matcher_save` (or `hashmatch index build`) and stores the
/// matcher in `*out` (owned by the caller, freed with `hm_matcher_free`). Its index kind is
/// chosen as `HM_INDEX_AUTO` does. `path` is NUL-terminated, only read during the call.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `path` or `out` is NULL; `HM_IO` if the file cannot
/// be read; `HM_NOT_A_SNAPSHOT`, `HM_SNAPSHOT_VERSION`, `HM_SNAPSHOT_TRUNCATED`,
/// `HM_SNAPSHOT_CHECKSUM` or `HM_SNAPSHOT_MALFORMED` if it is not a valid snapshot (no matcher
/// is created then).
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_open(
    path: *const c_char,
    out: *mut *mut hm_matcher,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            let out = out_ptr(out, "out")?;
            // SAFETY: `path` is NULL or NUL-terminated.
            let path = self::path(path, "path")?;
            let inner = Matcher::open(path)?;
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(Box::new(hm_matcher { inner })));
            Ok(())
        })
    }
}

/// Writes every list and entry of `matcher` to the file `path` (NUL-terminated), atomically:
/// on failure the previous file at `path` is left as it was. Thread-safe (a consistent copy is
/// taken under the lock, so queries and changes may continue).
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher` or `path` is NULL; `HM_IO` if the file
/// cannot be written; `HM_TOO_LARGE` if a count or string exceeds the format's 32-bit fields.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_save(
    matcher: *const hm_matcher,
    path: *const c_char,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle.
            let matcher = deref(matcher, "matcher")?;
            // SAFETY: `path` is NULL or NUL-terminated.
            let path = self::path(path, "path")?;
            matcher.inner.save(path)?;
            Ok(())
        })
    }
}

/// Frees a matcher. NULL does nothing. No other call on the matcher may be running or follow;
/// `hm_matches` obtained from it stay valid.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_free(matcher: *mut hm_matcher) {
    // SAFETY: NULL or a handle from hm_matcher_new/open, freed once, by the documented contract.
    infallible((), || unsafe { free_box(matcher) })
}

/// Adds an empty list named `name` (NUL-terminated UTF-8, copied) with a match threshold (PDQ:
/// 31) and an enabled flag. Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher` or `name` is NULL; `HM_INVALID_ARGUMENT` if
/// `name` is not UTF-8; `HM_LIST_EXISTS` if a list of that name exists;
/// `HM_MATCHER` if the name is empty.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_add_list(
    matcher: *mut hm_matcher,
    name: *const c_char,
    threshold: u32,
    enabled: bool,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle.
            let matcher = deref(matcher, "matcher")?;
            // SAFETY: `name` is NULL or NUL-terminated.
            let name = utf8(name, "name")?;
            let settings = ListSettings {
                threshold,
                enabled,
                ..Default::default()
            };
            matcher.inner.add_list(name, settings)?;
            Ok(())
        })
    }
}

/// Changes the threshold and enabled flag of the list `name` (its robust flag stays).
/// Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher` or `name` is NULL; `HM_INVALID_ARGUMENT` if
/// `name` is not UTF-8; `HM_UNKNOWN_LIST` if there is no such list.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_set_list(
    matcher: *mut hm_matcher,
    name: *const c_char,
    threshold: u32,
    enabled: bool,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle.
            let matcher = deref(matcher, "matcher")?;
            // SAFETY: `name` is NULL or NUL-terminated.
            let name = utf8(name, "name")?;
            matcher.inner.change_list(name, |s| {
                s.threshold = threshold;
                s.enabled = enabled;
            })?;
            Ok(())
        })
    }
}

/// Whether the list `name` accepts matches of a robust query's extra hashes (other
/// orientations, pictures inside bars or frames: `hm_matcher_query_robust`). Lists are added
/// with it off: only their plain hash matches until it is turned on. Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher` or `name` is NULL; `HM_INVALID_ARGUMENT` if
/// `name` is not UTF-8; `HM_UNKNOWN_LIST` if there is no such list.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_set_list_robust(
    matcher: *mut hm_matcher,
    name: *const c_char,
    robust: bool,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle.
            let matcher = deref(matcher, "matcher")?;
            // SAFETY: `name` is NULL or NUL-terminated.
            let name = utf8(name, "name")?;
            matcher.inner.change_list(name, |s| s.robust = robust)?;
            Ok(())
        })
    }
}

/// Writes the counts and settings of the list `name` to `*out`. Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher`, `name` or `out` is NULL;
/// `HM_INVALID_ARGUMENT` if `name` is not UTF-8; `HM_UNKNOWN_LIST` if there is no such list.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_list_info(
    matcher: *const hm_matcher,
    name: *const c_char,
    out: *mut hm_list_info,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle.
            let matcher = deref(matcher, "matcher")?;
            // SAFETY: `name` is NULL or NUL-terminated.
            let name = utf8(name, "name")?;
            let out = out_ptr(out, "out")?;
            let stats = matcher.inner.stats();
            let list = stats.iter().find(|l| &*l.name == name).ok_or_else(|| {
                Failure::new(super::HM_UNKNOWN_LIST, format!("no list named {name:?}"))
            })?;
            let info = hm_list_info {
                entries: list.entries as u64,
                extra_hashes: list.extra_hashes as u64,
                disabled: list.disabled as u64,
                threshold: list.threshold,
                enabled: list.enabled,
                robust: list.robust,
            };
            // SAFETY: checked non-NULL.
            write_out(out, info);
            Ok(())
        })
    }
}

/// Writes the index kind the matcher currently uses (`HM_INDEX_LINEAR`, `HM_INDEX_BKTREE` or
/// `HM_INDEX_MIH`; never `HM_INDEX_AUTO`) to `*out`. Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher` or `out` is NULL.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_index_kind(
    matcher: *const hm_matcher,
    out: *mut hm_index_kind,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle.
            let matcher = deref(matcher, "matcher")?;
            let out = out_ptr(out, "out")?;
            let kind = match matcher.inner.index_kind() {
                IndexKind::Linear => HM_INDEX_LINEAR,
                IndexKind::BkTree => HM_INDEX_BKTREE,
                IndexKind::MultiIndex => HM_INDEX_MIH,
            };
            // SAFETY: checked non-NULL.
            write_out(out, kind);
            Ok(())
        })
    }
}

/// Folds every insert and removal since the last compaction into the index now (the matcher
/// does this by itself once enough changes pile up; call it after a bulk load so that queries
/// stop scanning the new entries). The index is rebuilt without blocking concurrent queries
/// or updates. Writes to `*rebuilt` (if not NULL) whether a new index was built: `false` when
/// nothing had changed or another compaction was running. Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher` is NULL.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_compact(
    matcher: *const hm_matcher,
    rebuilt: *mut bool,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle.
            let matcher = deref(matcher, "matcher")?;
            let done = matcher.inner.compact();
            if let Some(rebuilt) = rebuilt.as_mut() {
                *rebuilt = done;
            }
            Ok(())
        })
    }
}

/// Adds one entry to the list `list`: `*hash`, the id `entry_id` (unique within the list) and
/// an optional `label` (NUL-terminated UTF-8, copied; NULL for none). The next query sees it.
/// Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher`, `list` or `hash` is NULL;
/// `HM_INVALID_ARGUMENT` if a string is not UTF-8; `HM_UNKNOWN_LIST` if there is no such list;
/// `HM_ENTRY_EXISTS` if the id is already in it (nothing changes then).
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_insert(
    matcher: *mut hm_matcher,
    list: *const c_char,
    hash: *const hm_pdq_hash,
    entry_id: u64,
    label: *const c_char,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle.
            let matcher = deref(matcher, "matcher")?;
            // SAFETY: `list` and `label` are NULL or NUL-terminated; `hash` is NULL or valid.
            let list = utf8(list, "list")?;
            let hash = Hash256::from(*deref(hash, "hash")?);
            let label = opt_utf8(label, "label")?.map(str::to_string);
            matcher.inner.insert(
                list,
                Entry {
                    hash,
                    id: entry_id,
                    label,
                },
            )?;
            Ok(())
        })
    }
}

/// Adds one entry to the list `list` with the extra hashes of `enrolment` (made by
/// `hm_hasher_enrolment_*` from an image the service took down itself): its id `entry_id`
/// (unique within the list), an optional `label` (NUL-terminated UTF-8, copied; NULL for none),
/// its listed hash the enrolment's plain hash. A match on any of its hashes reports the entry
/// once (`hm_match.variant` says which hash); removing or disabling it covers them all. The
/// next query sees it. Thread-safe.
///
/// Returns as `hm_matcher_insert` (`HM_NULL_ARGUMENT` also for a NULL `enrolment`).
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_enrol(
    matcher: *mut hm_matcher,
    list: *const c_char,
    entry_id: u64,
    label: *const c_char,
    enrolment: *const hm_enrolment,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` and `enrolment` are NULL or live handles.
            let matcher = deref(matcher, "matcher")?;
            let enrolment = &deref(enrolment, "enrolment")?.inner;
            // SAFETY: `list` and `label` are NULL or NUL-terminated.
            let list = utf8(list, "list")?;
            let label = opt_utf8(label, "label")?.map(str::to_string);
            let entry = Entry {
                hash: enrolment.hash.hash,
                id: entry_id,
                label,
            };
            matcher
                .inner
                .enrol(list, entry, &enrolment.extra_hashes())?;
            Ok(())
        })
    }
}

/// Adds `count` entries (an array at `entries`, only read during the call; NULL allowed when
/// `count` is 0) to the list `list`, all or none: if one id is already in the list or repeated
/// in the array, nothing is added. Writes how many were added to `*added` when `added` is not
/// NULL. Much faster than one `hm_matcher_insert` per entry for bulk loads. Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher` or `list` is NULL, or `entries` with
/// `count` > 0; `HM_INVALID_ARGUMENT` if a string is not UTF-8; `HM_UNKNOWN_LIST` if there is
/// no such list; `HM_ENTRY_EXISTS` if an id is in the list already or given twice.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_insert_many(
    matcher: *mut hm_matcher,
    list: *const c_char,
    entries: *const hm_entry,
    count: usize,
    added: *mut usize,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle.
            let matcher = deref(matcher, "matcher")?;
            // SAFETY: `list` is NULL or NUL-terminated.
            let list = utf8(list, "list")?;
            // SAFETY: `entries` is valid for `count` elements when non-NULL.
            let entries = array(entries, count, "entries")?;
            let converted = entries
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    // SAFETY: each label is NULL or NUL-terminated.
                    let label = opt_utf8(e.label, &format!("entries[{i}].label"))?;
                    Ok(Entry {
                        hash: e.hash.into(),
                        id: e.id,
                        label: label.map(str::to_string),
                    })
                })
                .collect::<Result<Vec<Entry>, Failure>>()?;
            let n = matcher.inner.insert_many(list, converted)?;
            if let Some(added) = added.as_mut() {
                *added = n;
            }
            Ok(())
        })
    }
}

/// Deletes the entry `entry_id` from the list `list`. Writes whether it existed to `*removed`
/// when `removed` is not NULL (a missing entry is not an error). Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher` or `list` is NULL; `HM_INVALID_ARGUMENT` if
/// `list` is not UTF-8; `HM_UNKNOWN_LIST` if there is no such list.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_remove(
    matcher: *mut hm_matcher,
    list: *const c_char,
    entry_id: u64,
    removed: *mut bool,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle.
            let matcher = deref(matcher, "matcher")?;
            // SAFETY: `list` is NULL or NUL-terminated.
            let list = utf8(list, "list")?;
            let existed = matcher.inner.remove(list, entry_id)?;
            if let Some(removed) = removed.as_mut() {
                *removed = existed;
            }
            Ok(())
        })
    }
}

/// Disables the entry `entry_id` of the list `list` with a `reason` (NUL-terminated UTF-8,
/// copied, kept in snapshots): it stays stored but no longer matches. Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher`, `list` or `reason` is NULL;
/// `HM_INVALID_ARGUMENT` if a string is not UTF-8; `HM_UNKNOWN_LIST` if there is no such list;
/// `HM_UNKNOWN_ENTRY` if it has no such entry.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_disable(
    matcher: *mut hm_matcher,
    list: *const c_char,
    entry_id: u64,
    reason: *const c_char,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle.
            let matcher = deref(matcher, "matcher")?;
            // SAFETY: `list` and `reason` are NULL or NUL-terminated.
            let list = utf8(list, "list")?;
            let reason = utf8(reason, "reason")?;
            matcher.inner.disable(list, entry_id, reason)?;
            Ok(())
        })
    }
}

/// Enables again an entry disabled before (enabling an enabled entry does nothing).
/// Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher` or `list` is NULL; `HM_INVALID_ARGUMENT` if
/// `list` is not UTF-8; `HM_UNKNOWN_LIST` if there is no such list;
/// `HM_UNKNOWN_ENTRY` if it has no such entry.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_enable(
    matcher: *mut hm_matcher,
    list: *const c_char,
    entry_id: u64,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle.
            let matcher = deref(matcher, "matcher")?;
            // SAFETY: `list` is NULL or NUL-terminated.
            let list = utf8(list, "list")?;
            matcher.inner.enable(list, entry_id)?;
            Ok(())
        })
    }
}

/// Why the entry `entry_id` of the list `list` is disabled. Writes to `*disabled` whether it is;
/// when it is, writes the reason given to `hm_matcher_disable`, NUL-terminated, into `buf`
/// (`buf_size` bytes; `buf` may be NULL when `buf_size` is 0), and when it is not, writes an
/// empty string if `buf_size` > 0. `*needed` (when `needed` is not NULL) receives the bytes the
/// text needs, its NUL included, also when the call fails with `HM_BUFFER_TOO_SMALL`: call
/// once with `buf_size` 0 to learn the size. Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher`, `list` or `disabled` is NULL, or `buf`
/// with `buf_size` > 0; `HM_INVALID_ARGUMENT` if `list` is not UTF-8; `HM_UNKNOWN_LIST` or
/// `HM_UNKNOWN_ENTRY` if there is no such list or entry; `HM_BUFFER_TOO_SMALL` if the reason does not fit (then only
/// `*needed` is written).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn hm_matcher_disabled_reason(
    matcher: *const hm_matcher,
    list: *const c_char,
    entry_id: u64,
    disabled: *mut bool,
    buf: *mut c_char,
    buf_size: usize,
    needed: *mut usize,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle.
            let matcher = deref(matcher, "matcher")?;
            // SAFETY: `list` is NULL or NUL-terminated.
            let list = utf8(list, "list")?;
            let disabled = out_ptr(disabled, "disabled")?;
            if buf.is_null() && buf_size > 0 {
                return Err(Failure::null("buf"));
            }
            let reason = matcher.inner.disabled_reason(list, entry_id)?;
            let text = reason.as_deref().unwrap_or("").replace('\0', "\u{fffd}");
            if reason.is_none() && buf_size == 0 {
                // Not disabled and no buffer: nothing to write but the size.
                if let Some(needed) = needed.as_mut() {
                    *needed = 1;
                }
            } else {
                // SAFETY: `buf` holds `buf_size` bytes and `needed` is NULL or valid.
                write_text(&text, buf, buf_size, needed, "the reason")?;
            }
            // SAFETY: checked non-NULL.
            write_out(disabled, reason.is_some());
            Ok(())
        })
    }
}

/// The query options behind a nullable pointer.
///
/// # Safety
/// `options` is NULL or points to an hm_query_options.
unsafe fn query_options(options: *const hm_query_options) -> QueryOptions {
    // SAFETY: forwarded from the caller.
    unsafe { options.as_ref() }.map_or_else(QueryOptions::default, QueryOptions::from)
}

/// The upload check: every enabled entry of every enabled list within that list's threshold of
/// `upload->hash`. `options` may be NULL for the defaults. On `HM_OK` a new results object
/// (possibly empty) is stored in `*out`; the caller frees it with `hm_matches_free`.
/// Thread-safe, also concurrently with changes to the matcher.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher`, `upload` or `out` is NULL;
/// `HM_LOW_QUALITY` if `upload->quality` is below the options' floor (a failure, never "no
/// match").
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_query(
    matcher: *const hm_matcher,
    upload: *const hm_pdq_result,
    options: *const hm_query_options,
    out: *mut *mut hm_matches,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle; `upload` NULL or valid.
            let matcher = deref(matcher, "matcher")?;
            let upload = PdqHash::from(*deref(upload, "upload")?);
            let out = out_ptr(out, "out")?;
            let found = matcher.inner.query(&upload, &query_options(options))?;
            let results = hm_matches::new(found.into_iter().map(|m| (0, m)));
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(results));
            Ok(())
        })
    }
}

/// Every enabled entry of every enabled list within `radius` bits of `*hash`, whatever the
/// lists' thresholds, with no quality check. On `HM_OK` a new results object is stored in
/// `*out` (free with `hm_matches_free`). Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher`, `hash` or `out` is NULL.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_query_radius(
    matcher: *const hm_matcher,
    hash: *const hm_pdq_hash,
    radius: u32,
    out: *mut *mut hm_matches,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle; `hash` NULL or valid.
            let matcher = deref(matcher, "matcher")?;
            let hash = Hash256::from(*deref(hash, "hash")?);
            let out = out_ptr(out, "out")?;
            let found = matcher.inner.query_radius(&hash, radius);
            let results = hm_matches::new(found.into_iter().map(|m| (0, m)));
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(results));
            Ok(())
        })
    }
}

/// The `k` enabled entries of enabled lists nearest to `*hash` (ties broken by list name, then
/// entry id), whatever the thresholds; fewer if the matcher holds fewer. On `HM_OK` a new
/// results object is stored in `*out` (free with `hm_matches_free`). Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher`, `hash` or `out` is NULL.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_knn(
    matcher: *const hm_matcher,
    hash: *const hm_pdq_hash,
    k: usize,
    out: *mut *mut hm_matches,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle; `hash` NULL or valid.
            let matcher = deref(matcher, "matcher")?;
            let hash = Hash256::from(*deref(hash, "hash")?);
            let out = out_ptr(out, "out")?;
            let found = matcher.inner.knn(&hash, k);
            let results = hm_matches::new(found.into_iter().map(|m| (0, m)));
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(results));
            Ok(())
        })
    }
}

/// `hm_matcher_query` for all eight orientations of an upload at once (from
/// `hm_hasher_dihedral_*`): finds rotated and mirrored copies. Each entry is reported once,
/// with its smallest distance and the orientation that gave it. Ownership and statuses as
/// `hm_matcher_query`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_query_dihedral(
    matcher: *const hm_matcher,
    upload: *const hm_pdq_dihedral,
    options: *const hm_query_options,
    out: *mut *mut hm_matches,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle; `upload` NULL or valid.
            let matcher = deref(matcher, "matcher")?;
            let upload = DihedralHashes::from(*deref(upload, "upload")?);
            let out = out_ptr(out, "out")?;
            let found = matcher
                .inner
                .query_dihedral(&upload, &query_options(options))?;
            let results = hm_matches::new(found.into_iter().map(|m| (0, m)));
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(results));
            Ok(())
        })
    }
}

/// The robust query (from `hm_hasher_robust_*`): when the plain hash matches, its matches, as
/// `hm_matcher_query` gives them; otherwise the nearest entries of lists that accept them
/// (`hm_matcher_set_list_robust`) that the extra hashes (other orientations, pictures inside
/// bars or frames) meet within the smaller of the list's
/// threshold and the options' `extra_threshold`. Each match's `orientation` and `region` say
/// which hash hit. Ownership as `hm_matcher_query`. Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher`, `upload` or `out` is NULL;
/// `HM_LOW_QUALITY` if no hash of the upload reaches the options' floor.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_query_robust(
    matcher: *const hm_matcher,
    upload: *const hm_robust_hashes,
    options: *const hm_query_options,
    out: *mut *mut hm_matches,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle; `upload` NULL or live.
            let matcher = deref(matcher, "matcher")?;
            let upload = deref(upload, "upload")?;
            let out = out_ptr(out, "out")?;
            let found = matcher
                .inner
                .query_robust(&upload.inner, &query_options(options))?;
            let results = hm_matches::new(found.into_iter().map(|m| (0, m)));
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(results));
            Ok(())
        })
    }
}

/// `hm_matcher_query` for `count` uploads (an array at `uploads`, only read during the call;
/// NULL allowed when `count` is 0), searched in parallel in one call. All matches come back in
/// one results object, each with `query` set to its upload's position in the array, sorted by
/// `query` first. On `HM_OK` it is stored in `*out` (free with `hm_matches_free`). Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher` or `out` is NULL, or `uploads` with
/// `count` > 0; `HM_LOW_QUALITY` if any upload is below the quality floor (no results then).
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_query_many(
    matcher: *const hm_matcher,
    uploads: *const hm_pdq_result,
    count: usize,
    options: *const hm_query_options,
    out: *mut *mut hm_matches,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle.
            let matcher = deref(matcher, "matcher")?;
            let out = out_ptr(out, "out")?;
            // SAFETY: `uploads` is valid for `count` elements when non-NULL.
            let uploads: Vec<PdqHash> = array(uploads, count, "uploads")?
                .iter()
                .map(|&u| PdqHash::from(u))
                .collect();
            let found = matcher
                .inner
                .query_many(&uploads, &query_options(options))?;
            let results = hm_matches::new(
                found
                    .into_iter()
                    .enumerate()
                    .flat_map(|(q, ms)| ms.into_iter().map(move |m| (q, m))),
            );
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(results));
            Ok(())
        })
    }
}

/// The number of matches in `matches`; 0 for NULL. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn hm_matches_len(matches: *const hm_matches) -> usize {
    infallible(0, || {
        // SAFETY: NULL or a live results object, by the documented contract.
        unsafe { matches.as_ref() }.map_or(0, |m| m.items.len())
    })
}

/// A pointer to match number `index` (0-based) of `matches`, valid until `matches` is freed;
/// NULL if `matches` is NULL or `index` is not below `hm_matches_len`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn hm_matches_get(
    matches: *const hm_matches,
    index: usize,
) -> *const hm_match {
    infallible(std::ptr::null(), || {
        // SAFETY: NULL or a live results object, by the documented contract.
        unsafe { matches.as_ref() }
            .and_then(|m| m.items.get(index))
            .map_or(std::ptr::null(), |m| m as *const hm_match)
    })
}

/// Frees a results object and the strings its matches point to. NULL does nothing.
#[no_mangle]
pub unsafe extern "C" fn hm_matches_free(matches: *mut hm_matches) {
    // SAFETY: NULL or an object from a query, freed once, by the documented contract.
    infallible((), || unsafe { free_box(matches) })
}
