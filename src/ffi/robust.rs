//! `hm_robust_hashes`: the hashes of a robust query (the plain hash, the upload's other
//! orientations, the picture inside bars or a frame), made by `hm_hasher_robust_*` and matched
//! with `hm_matcher_query_robust`.

use super::hash::{hm_orientation, hm_pdq_hash, orientation_number};
use super::{free_box, infallible};
use crate::robust::{Region, RobustHashes, RobustOptions};

/// Which part of an upload a hash was computed from.
pub type hm_region = i32;
/// The whole upload.
pub const HM_REGION_WHOLE: hm_region = 0;
/// The picture inside uniform bars (letterbox, pillarbox, padding).
pub const HM_REGION_BARS: hm_region = 1;
/// A picture embedded in a larger frame (a screenshot's window, a caption band).
pub const HM_REGION_EMBEDDED: hm_region = 2;
/// The upload turned back by the few degrees it was turned on its own canvas.
pub const HM_REGION_TILTED: hm_region = 3;

/// The C number of a region.
pub(crate) fn region_number(region: Region) -> hm_region {
    match region {
        Region::Whole => HM_REGION_WHOLE,
        Region::Bars => HM_REGION_BARS,
        Region::Embedded => HM_REGION_EMBEDDED,
        Region::Tilted => HM_REGION_TILTED,
    }
}

/// What a robust query hashes beyond the plain hash. Start from `hm_robust_options_default()`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct hm_robust_options {
    /// Hash the upload's eight orientations (rotations, mirror images) in pixel space.
    pub orientations: bool,
    /// Hash the picture inside uniform bars, if there are any.
    pub bars: bool,
    /// Hash a picture embedded in a larger frame, if one is found.
    pub embedded: bool,
    /// Hash the upload turned back, if it was turned by a few degrees on its own canvas.
    pub tilt: bool,
    /// Largest distance at which an extra hash (not the plain one) matches.
    pub extra_threshold: u32,
}

impl From<&hm_robust_options> for RobustOptions {
    fn from(o: &hm_robust_options) -> Self {
        RobustOptions {
            orientations: o.orientations,
            bars: o.bars,
            embedded: o.embedded,
            tilt: o.tilt,
            extra_threshold: o.extra_threshold,
        }
    }
}

fn default_options() -> hm_robust_options {
    let d = RobustOptions::default();
    hm_robust_options {
        orientations: d.orientations,
        bars: d.bars,
        embedded: d.embedded,
        tilt: d.tilt,
        extra_threshold: d.extra_threshold,
    }
}

/// The default robust options (everything on, the default extra threshold), by value. Cannot
/// fail. Thread-safe.
#[no_mangle]
pub extern "C" fn hm_robust_options_default() -> hm_robust_options {
    infallible(default_options(), default_options)
}

/// The robust options behind a nullable pointer (NULL: the defaults).
///
/// # Safety
/// `options` is NULL or points to an hm_robust_options.
pub(crate) unsafe fn robust_options(options: *const hm_robust_options) -> RobustOptions {
    // SAFETY: forwarded from the caller.
    unsafe { options.as_ref() }.map_or_else(RobustOptions::default, RobustOptions::from)
}

/// One hash of a robust query.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct hm_robust_hash {
    /// The hash.
    pub hash: hm_pdq_hash,
    /// Its quality, 0-100.
    pub quality: u8,
    /// What was done to the pixels before hashing (`HM_ORIENTATION_*`).
    pub orientation: hm_orientation,
    /// The part of the upload hashed (`HM_REGION_*`).
    pub region: hm_region,
}

/// The hashes of one upload's robust query, the plain hash first (when its quality reached the
/// floor). Made by `hm_hasher_robust_bytes` / `_file`, read with `hm_robust_hashes_len` and
/// `hm_robust_hashes_get`, matched with `hm_matcher_query_robust`, freed with
/// `hm_robust_hashes_free`. Immutable: any number of threads may read it at once.
pub struct hm_robust_hashes {
    pub(crate) inner: RobustHashes,
}

/// The number of hashes in `hashes`; 0 for NULL. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn hm_robust_hashes_len(hashes: *const hm_robust_hashes) -> usize {
    infallible(0, || {
        // SAFETY: NULL or a live object, by the documented contract.
        unsafe { hashes.as_ref() }.map_or(0, |h| h.inner.hashes.len())
    })
}

/// Writes hash number `index` (0-based) of `hashes` to `*out` and returns true; returns false
/// (writing nothing) if `hashes` or `out` is NULL or `index` is not below
/// `hm_robust_hashes_len`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn hm_robust_hashes_get(
    hashes: *const hm_robust_hashes,
    index: usize,
    out: *mut hm_robust_hash,
) -> bool {
    infallible(false, || {
        // SAFETY: NULL or a live object, by the documented contract.
        let Some(h) = unsafe { hashes.as_ref() }.and_then(|h| h.inner.hashes.get(index)) else {
            return false;
        };
        if out.is_null() {
            return false;
        }
        let value = hm_robust_hash {
            hash: h.pdq.hash.into(),
            quality: h.pdq.quality,
            orientation: orientation_number(h.orientation),
            region: region_number(h.region),
        };
        // SAFETY: `out` is non-NULL and valid for a write by the documented contract.
        unsafe { out.write(value) };
        true
    })
}

/// Frees the hashes of a robust query. NULL does nothing.
#[no_mangle]
pub unsafe extern "C" fn hm_robust_hashes_free(hashes: *mut hm_robust_hashes) {
    // SAFETY: NULL or an object from `hm_hasher_robust_*`, freed once, by the contract.
    infallible((), || unsafe { free_box(hashes) })
}
