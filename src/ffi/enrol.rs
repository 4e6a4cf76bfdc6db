//! `hm_enrolment`: the hashes a service stores for an image it took down itself (its plain
//! hash and extras: other orientations, the picture inside its frame, centre crops), made by
//! `hm_hasher_enrolment_*` and stored as one entry by `hm_matcher_enrol`.

use super::hash::hm_pdq_hash;
use super::{free_box, infallible, Failure};
use crate::robust::enrol::{EnrolOptions, Enrolment, DEFAULT_CROPS};

/// Which of an entry's hashes matched (`hm_match.variant`) or an extra hash is: 0 the entry's
/// listed hash, 1-7 the image in that `HM_ORIENTATION_*`, 8 the picture inside its frame,
/// 128 + p a centre crop keeping p % of the area.
pub type hm_variant = u8;
/// The entry's own (listed) hash.
pub const HM_VARIANT_LISTED: hm_variant = 0;
/// The picture inside the image's uniform bars or frame.
pub const HM_VARIANT_TRIMMED: hm_variant = 8;
/// Added to a percentage of the area: a centre crop keeping that much.
pub const HM_VARIANT_CROP_BASE: hm_variant = 128;

/// What `hm_hasher_enrolment_*` hashes beyond the image itself. Start from
/// `hm_enrol_options_default()`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hm_enrol_options {
    /// Hash the seven other orientations of the image (off by default).
    pub orientations: bool,
    /// Hash the picture inside uniform bars or a frame, when the image has one.
    pub trimmed: bool,
    /// Centre crops, each the percentage of the area it keeps (1-99): an array of
    /// `crops_len` bytes, only read during the call (NULL when `crops_len` is 0).
    pub crops: *const u8,
    /// The number of crops.
    pub crops_len: usize,
}

/// The default enrolment options: the trimmed picture and centre crops keeping 92, 85, 77, 71,
/// 64 and 58 % of the area (`crops` points to static memory); no other orientations (a robust
/// query finds turned copies with fewer false matches). Cannot fail. Thread-safe.
#[no_mangle]
pub extern "C" fn hm_enrol_options_default() -> hm_enrol_options {
    let defaults = || hm_enrol_options {
        orientations: false,
        trimmed: true,
        crops: DEFAULT_CROPS.as_ptr(),
        crops_len: DEFAULT_CROPS.len(),
    };
    infallible(defaults(), defaults)
}

/// The enrolment options behind a nullable pointer (NULL: the defaults).
///
/// # Safety
/// `options` is NULL or points to an hm_enrol_options whose `crops` is valid for `crops_len`
/// bytes.
pub(crate) unsafe fn enrol_options(
    options: *const hm_enrol_options,
) -> Result<EnrolOptions, Failure> {
    // SAFETY: forwarded from the caller.
    let Some(o) = (unsafe { options.as_ref() }) else {
        return Ok(EnrolOptions::default());
    };
    // SAFETY: `crops` is valid for `crops_len` bytes when non-NULL, by the contract.
    let crops = unsafe { super::bytes(o.crops, o.crops_len, "options->crops") }?;
    Ok(EnrolOptions {
        orientations: o.orientations,
        trimmed: o.trimmed,
        crops: crops.to_vec(),
    })
}

/// One extra hash of an enrolment.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct hm_enrolled_hash {
    /// The hash.
    pub hash: hm_pdq_hash,
    /// Its quality, 0-100.
    pub quality: u8,
    /// What it was computed from (`hm_variant`).
    pub variant: hm_variant,
}

/// An image's enrolment hashes: its plain hash (`hm_enrolment_hash`) and the extras
/// (`hm_enrolment_len`, `hm_enrolment_get`). Made by `hm_hasher_enrolment_bytes` / `_file`,
/// stored with `hm_matcher_enrol`, freed with `hm_enrolment_free`. Immutable: any number of
/// threads may read it at once.
pub struct hm_enrolment {
    pub(crate) inner: Enrolment,
}

/// Writes the image's plain hash (bit-exact, as `hm_hasher_hash_bytes` gives it: the entry's
/// listed hash) to `*hash` and its quality to `*quality` (either may be NULL) and returns
/// true; false if `enrolment` is NULL. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn hm_enrolment_hash(
    enrolment: *const hm_enrolment,
    hash: *mut hm_pdq_hash,
    quality: *mut u8,
) -> bool {
    infallible(false, || {
        // SAFETY: NULL or a live object, by the documented contract.
        let Some(e) = (unsafe { enrolment.as_ref() }) else {
            return false;
        };
        // SAFETY: each output is NULL or valid for a write, by the documented contract.
        unsafe {
            if let Some(out) = hash.as_mut() {
                *out = e.inner.hash.hash.into();
            }
            if let Some(out) = quality.as_mut() {
                *out = e.inner.hash.quality;
            }
        }
        true
    })
}

/// The number of extra hashes in `enrolment`; 0 for NULL. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn hm_enrolment_len(enrolment: *const hm_enrolment) -> usize {
    infallible(0, || {
        // SAFETY: NULL or a live object, by the documented contract.
        unsafe { enrolment.as_ref() }.map_or(0, |e| e.inner.extras.len())
    })
}

/// Writes extra hash number `index` (0-based) of `enrolment` to `*out` and returns true;
/// false (writing nothing) if `enrolment` or `out` is NULL or `index` is not below
/// `hm_enrolment_len`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn hm_enrolment_get(
    enrolment: *const hm_enrolment,
    index: usize,
    out: *mut hm_enrolled_hash,
) -> bool {
    infallible(false, || {
        // SAFETY: NULL or a live object, by the documented contract.
        let Some(e) = (unsafe { enrolment.as_ref() }).and_then(|e| e.inner.extras.get(index))
        else {
            return false;
        };
        if out.is_null() {
            return false;
        }
        let value = hm_enrolled_hash {
            hash: e.pdq.hash.into(),
            quality: e.pdq.quality,
            variant: e.variant.code(),
        };
        // SAFETY: `out` is non-NULL and valid for a write by the documented contract.
        unsafe { out.write(value) };
        true
    })
}

/// Frees an enrolment. NULL does nothing.
#[no_mangle]
pub unsafe extern "C" fn hm_enrolment_free(enrolment: *mut hm_enrolment) {
    // SAFETY: NULL or an object from `hm_hasher_enrolment_*`, freed once, by the contract.
    infallible((), || unsafe { free_box(enrolment) })
}
