//! The transparency report of an `hm_matcher` (its counts as JSON) and reviewers' verdicts.

use std::ffi::c_char;

use super::matcher::hm_matcher;
use super::{boundary, deref, hm_error, hm_status, opt_utf8, out_ptr, utf8, write_out};
use super::{write_text, Failure, FfiResult};
use crate::report::{Report, Verdict, VerdictPolicy};

/// A reviewer's decision on a match.
pub type hm_verdict = i32;
/// The match was right.
pub const HM_VERDICT_CONFIRMED: hm_verdict = 0;
/// The match was wrong (a false positive).
pub const HM_VERDICT_FALSE_POSITIVE: hm_verdict = 1;

/// Writes the matcher's transparency report, NUL-terminated, into `buf` (`buf_size` bytes;
/// `buf` may be NULL when `buf_size` is 0): uploads checked and matched, and per list and per
/// entry the matched uploads (by technique), confirmed matches, false positives and redress,
/// over the period counting covers, as the checksummed JSON document `hashmatch report
/// --format json` prints (the file format of `hashmatch report merge`; keep it to restore the
/// counts after a restart with `hm_matcher_restore_counts`). `*needed` (when `needed` is not
/// NULL) receives the bytes it needs, its NUL included, also when the call fails with
/// `HM_BUFFER_TOO_SMALL`: call once with `buf_size` 0 to learn the size (the counts may grow
/// between two calls: allow some room). Counting takes no lock; this call copies the counts.
/// Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher` is NULL, or `buf` with `buf_size` > 0;
/// `HM_BUFFER_TOO_SMALL` if the report does not fit (then only `*needed` is written).
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_report_json(
    matcher: *const hm_matcher,
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
            if buf.is_null() && buf_size > 0 {
                return Err(Failure::null("buf"));
            }
            let text = matcher.inner.report().to_json();
            // SAFETY: `buf` holds `buf_size` bytes and `needed` is NULL or valid.
            write_text(&text, buf, buf_size, needed, "the report")
        })
    }
}

/// Adds the counts of a report written by `hm_matcher_report_json` (NUL-terminated, only read
/// during the call) to the matcher's, and moves the start of the period back to the report's:
/// after a restart, restore what the last run saved. Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher` or `json` is NULL; `HM_INVALID_ARGUMENT`
/// if `json` is not UTF-8; `HM_REPORT_MALFORMED` if it is not a report or fails its checksum
/// (nothing is added then).
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_restore_counts(
    matcher: *const hm_matcher,
    json: *const c_char,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle; `json` NULL or NUL-terminated.
            let matcher = deref(matcher, "matcher")?;
            let json = utf8(json, "json")?;
            let report = Report::from_json(json, "json".as_ref())?;
            matcher.inner.restore_counts(&report);
            Ok(())
        })
    }
}

/// Records a reviewer's verdict on a match of the entry `entry_id` of the list `list`
/// (`HM_VERDICT_*`): a confirmed match or a false positive is counted for the entry and its
/// list; a false positive disables the entry, with `reason` (NUL-terminated UTF-8, copied;
/// required for a false positive, ignored otherwise) as its disable reason, once its false
/// positives since it was last enabled reach the policy's number (`hm_matcher_set_verdict_policy`;
/// default 1: at once). Writes to `*disabled` (when not NULL) whether this verdict disabled it.
/// Enabling it again (`hm_matcher_enable`) counts as redress. Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher` or `list` is NULL, or `reason` for a false
/// positive; `HM_INVALID_ARGUMENT` for an unknown verdict or a string that is not UTF-8;
/// `HM_UNKNOWN_LIST` or `HM_UNKNOWN_ENTRY` if there is no such list or entry (nothing is
/// counted then).
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_record_verdict(
    matcher: *const hm_matcher,
    list: *const c_char,
    entry_id: u64,
    verdict: hm_verdict,
    reason: *const c_char,
    disabled: *mut bool,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle; the strings NULL or NUL-terminated.
            let matcher = deref(matcher, "matcher")?;
            let list = utf8(list, "list")?;
            let verdict = match verdict {
                HM_VERDICT_CONFIRMED => Verdict::Confirmed,
                HM_VERDICT_FALSE_POSITIVE => Verdict::FalsePositive(
                    opt_utf8(reason, "reason")?
                        .ok_or_else(|| Failure::null("reason"))?
                        .to_string(),
                ),
                other => return Err(Failure::invalid(format!("unknown verdict {other}"))),
            };
            let outcome = matcher.inner.record_verdict(list, entry_id, &verdict)?;
            if !disabled.is_null() {
                // SAFETY: checked non-NULL; valid for a write by the documented contract.
                write_out(out_ptr(disabled, "disabled")?, outcome.disabled);
            }
            Ok(())
        })
    }
}

/// Sets when false positives disable an entry: once its false positives since it was last
/// enabled reach `disable_after` (0: never; the default is 1, at once). Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `matcher` is NULL.
#[no_mangle]
pub unsafe extern "C" fn hm_matcher_set_verdict_policy(
    matcher: *const hm_matcher,
    disable_after: u32,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `matcher` is NULL or a live handle.
            let matcher = deref(matcher, "matcher")?;
            matcher
                .inner
                .set_verdict_policy(VerdictPolicy { disable_after });
            Ok(())
        })
    }
}
