//! `hm_hasher`: the configured pipeline from an upload (encoded bytes, a file, raw pixels) to
//! its PDQ hash or eight dihedral hashes.

use std::ffi::c_char;

use super::enrol::{enrol_options, hm_enrol_options, hm_enrolment};
use super::hash::{hm_pdq_dihedral, hm_pdq_result};
use super::robust::{hm_robust_hashes, hm_robust_options, robust_options};
use super::{boundary, bytes, deref, free_box, hm_error, hm_status, infallible, out_ptr, path};
use super::{write_out, Failure, FfiResult};
use crate::pdq::LumaMode;
use crate::{
    DecodeLimits, DecodeOptions, ExifOrientation, Hasher, HasherConfig, PixelFormat, PixelView,
    ResizePolicy,
};

/// What happens to an image's size before hashing.
pub type hm_resize_policy = i32;
/// Hash at full resolution, as HMA, python-threatexchange and Meta's Java port do (what most
/// shared lists contain). The default.
pub const HM_RESIZE_NATIVE: hm_resize_policy = 0;
/// Meta's C++ command-line tool: a side over 512 squashes the image to 512x512 first.
pub const HM_RESIZE_REFERENCE512: hm_resize_policy = 1;
/// For high-volume services: reduced-scale JPEG decoding and a box shrink of very large images;
/// a few bits from `HM_RESIZE_NATIVE`, several times faster on large photos.
pub const HM_RESIZE_FAST: hm_resize_policy = 2;

/// Whether the EXIF orientation tag is applied before hashing.
pub type hm_exif_policy = i32;
/// Hash the pixels as stored, as every PDQ reference does. The default.
pub const HM_EXIF_IGNORE: hm_exif_policy = 0;
/// Rotate or flip as the tag says first (not reference-compatible).
pub const HM_EXIF_APPLY: hm_exif_policy = 1;

/// How RGB becomes luma.
pub type hm_luma_mode = i32;
/// Meta's C++ reference formula in float32. The default.
pub const HM_LUMA_REFERENCE: hm_luma_mode = 0;
/// pip `pdqhash` (HMA, python-threatexchange): the same formula in float64.
pub const HM_LUMA_PIP_COMPAT: hm_luma_mode = 1;

/// The layout of raw pixels.
pub type hm_pixel_format = i32;
/// Three bytes per pixel: red, green, blue.
pub const HM_PIXEL_RGB8: hm_pixel_format = 1;
/// Four bytes per pixel: red, green, blue, alpha (alpha is ignored, as in every reference).
pub const HM_PIXEL_RGBA8: hm_pixel_format = 2;
/// One byte of grey per pixel.
pub const HM_PIXEL_GREY8: hm_pixel_format = 3;

/// Everything that decides how uploads are hashed. Start from `hm_hasher_config_default()` and
/// change what you need: a zeroed struct has every limit at 0 and accepts nothing.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct hm_hasher_config {
    /// An `HM_RESIZE_*` value.
    pub resize_policy: hm_resize_policy,
    /// An `HM_EXIF_*` value.
    pub exif_policy: hm_exif_policy,
    /// An `HM_LUMA_*` value.
    pub luma_mode: hm_luma_mode,
    /// Hashes with a quality below this fail with `HM_LOW_QUALITY` (default 50; 0 accepts all).
    pub quality_floor: u8,
    /// Largest encoded input accepted, in bytes (default 256 MiB).
    pub max_input_bytes: u64,
    /// Widest image accepted, in pixels (default 32768).
    pub max_width: u32,
    /// Tallest image accepted, in pixels (default 32768).
    pub max_height: u32,
    /// Most pixels accepted, width times height (default 128 000 000).
    pub max_pixels: u64,
    /// Most memory a decoder may allocate, in bytes (default 1 GiB).
    pub max_alloc_bytes: u64,
}

impl From<&HasherConfig> for hm_hasher_config {
    fn from(c: &HasherConfig) -> Self {
        hm_hasher_config {
            resize_policy: match c.resize {
                ResizePolicy::Native => HM_RESIZE_NATIVE,
                ResizePolicy::Reference512 => HM_RESIZE_REFERENCE512,
                ResizePolicy::Fast => HM_RESIZE_FAST,
            },
            exif_policy: match c.decode.exif {
                ExifOrientation::Ignore => HM_EXIF_IGNORE,
                ExifOrientation::Apply => HM_EXIF_APPLY,
            },
            luma_mode: match c.luma {
                LumaMode::Reference => HM_LUMA_REFERENCE,
                LumaMode::PipCompat => HM_LUMA_PIP_COMPAT,
            },
            quality_floor: c.quality_floor,
            max_input_bytes: c.decode.limits.max_input_bytes,
            max_width: c.decode.limits.max_width,
            max_height: c.decode.limits.max_height,
            max_pixels: c.decode.limits.max_pixels,
            max_alloc_bytes: c.decode.limits.max_alloc_bytes,
        }
    }
}

/// The Rust configuration a C one describes, or which field is out of range.
fn hasher_config(c: &hm_hasher_config) -> Result<HasherConfig, Failure> {
    let resize = match c.resize_policy {
        HM_RESIZE_NATIVE => ResizePolicy::Native,
        HM_RESIZE_REFERENCE512 => ResizePolicy::Reference512,
        HM_RESIZE_FAST => ResizePolicy::Fast,
        other => return Err(Failure::invalid(format!("unknown resize_policy {other}"))),
    };
    let exif = match c.exif_policy {
        HM_EXIF_IGNORE => ExifOrientation::Ignore,
        HM_EXIF_APPLY => ExifOrientation::Apply,
        other => return Err(Failure::invalid(format!("unknown exif_policy {other}"))),
    };
    let luma = match c.luma_mode {
        HM_LUMA_REFERENCE => LumaMode::Reference,
        HM_LUMA_PIP_COMPAT => LumaMode::PipCompat,
        other => return Err(Failure::invalid(format!("unknown luma_mode {other}"))),
    };
    Ok(HasherConfig {
        decode: DecodeOptions {
            limits: DecodeLimits {
                max_input_bytes: c.max_input_bytes,
                max_width: c.max_width,
                max_height: c.max_height,
                max_pixels: c.max_pixels,
                max_alloc_bytes: c.max_alloc_bytes,
            },
            exif,
        },
        resize,
        luma,
        quality_floor: c.quality_floor,
    })
}

/// A configured hasher. Create with `hm_hasher_new`, free with `hm_hasher_free`.
///
/// Immutable once created: one `hm_hasher` may be used by any number of threads at once.
pub struct hm_hasher {
    inner: Hasher,
}

/// The default configuration (reference-compatible: native size, EXIF ignored, reference luma,
/// quality floor 50, generous limits), returned by value. Cannot fail. Thread-safe.
#[no_mangle]
pub extern "C" fn hm_hasher_config_default() -> hm_hasher_config {
    let default = HasherConfig::default();
    infallible(hm_hasher_config::from(&default), || {
        hm_hasher_config::from(&default)
    })
}

/// Creates a hasher with `*config` (copied; NULL means the default configuration) and stores it
/// in `*out`. The caller owns the hasher and frees it with `hm_hasher_free`.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `out` is NULL; `HM_INVALID_ARGUMENT` for an unknown
/// policy or mode value in the configuration.
#[no_mangle]
pub unsafe extern "C" fn hm_hasher_new(
    config: *const hm_hasher_config,
    out: *mut *mut hm_hasher,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            let out = out_ptr(out, "out")?;
            // SAFETY: `config` is NULL or points to an hm_hasher_config.
            let config = match config.as_ref() {
                Some(c) => hasher_config(c)?,
                None => HasherConfig::default(),
            };
            let hasher = Box::new(hm_hasher {
                inner: Hasher::new(config),
            });
            // SAFETY: checked non-NULL; points to a writable pointer.
            write_out(out, Box::into_raw(hasher));
            Ok(())
        })
    }
}

/// Writes the configuration `hasher` was created with to `*out`. Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `hasher` or `out` is NULL.
#[no_mangle]
pub unsafe extern "C" fn hm_hasher_config_get(
    hasher: *const hm_hasher,
    out: *mut hm_hasher_config,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `hasher` is NULL or a live handle.
            let hasher = deref(hasher, "hasher")?;
            let out = out_ptr(out, "out")?;
            // SAFETY: checked non-NULL.
            write_out(out, hm_hasher_config::from(hasher.inner.config()));
            Ok(())
        })
    }
}

/// Frees a hasher. NULL does nothing. The hasher must not be in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn hm_hasher_free(hasher: *mut hm_hasher) {
    // SAFETY: NULL or a handle from hm_hasher_new, freed once, by the documented contract.
    infallible((), || unsafe { free_box(hasher) })
}

/// Validates raw pixel arguments into a view. `stride` 0 means tightly packed rows.
///
/// # Safety
/// `pixels` is NULL or valid for reads of `len` bytes.
pub(crate) unsafe fn pixel_view<'a>(
    pixels: *const u8,
    len: usize,
    width: u32,
    height: u32,
    stride: usize,
    format: hm_pixel_format,
) -> Result<PixelView<'a>, Failure> {
    let format = match format {
        HM_PIXEL_RGB8 => PixelFormat::Rgb8,
        HM_PIXEL_RGBA8 => PixelFormat::Rgba8,
        HM_PIXEL_GREY8 => PixelFormat::Grey8,
        other => return Err(Failure::invalid(format!("unknown pixel format {other}"))),
    };
    // SAFETY: forwarded from the caller.
    let data = unsafe { bytes(pixels, len, "pixels") }?;
    let view = if stride == 0 {
        PixelView::packed(data, width, height, format)?
    } else {
        PixelView::new(data, width, height, stride, format)?
    };
    Ok(view)
}

/// Hashes an encoded image (JPEG, PNG, GIF, WebP, BMP or TIFF, recognised from its bytes):
/// `len` bytes at `data`, only read during the call (`data` may be NULL when `len` is 0, which
/// fails with `HM_UNKNOWN_FORMAT`). On `HM_OK` the hash and its quality are written to `*out`.
/// Thread-safe: any number of threads may hash with one hasher.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` (`hasher`, `out`, or `data` with `len` > 0);
/// `HM_UNKNOWN_FORMAT`; `HM_DECODE_FAILED` (corrupt or truncated); `HM_DECODER_CRASHED`;
/// `HM_TOO_LARGE` / `HM_DECODER_LIMIT` (over a configured limit); `HM_TOO_SMALL`;
/// `HM_LOW_QUALITY` (below the configured floor).
#[no_mangle]
pub unsafe extern "C" fn hm_hasher_hash_bytes(
    hasher: *const hm_hasher,
    data: *const u8,
    len: usize,
    out: *mut hm_pdq_result,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `hasher` is NULL or a live handle.
            let hasher = deref(hasher, "hasher")?;
            let out = out_ptr(out, "out")?;
            // SAFETY: `data` is valid for `len` bytes when non-NULL.
            let data = bytes(data, len, "data")?;
            let result = hasher.inner.hash_bytes(data)?;
            // SAFETY: checked non-NULL.
            write_out(out, result.into());
            Ok(())
        })
    }
}

/// Hashes an image file. `path` is a NUL-terminated path (any bytes on Unix), only read during
/// the call; the format comes from the content, not the name. On `HM_OK` the hash and quality
/// are written to `*out`. Thread-safe.
///
/// Returns as `hm_hasher_hash_bytes`, plus `HM_NULL_ARGUMENT` for a NULL `path` and `HM_IO`
/// (the message names the file) when it cannot be read.
#[no_mangle]
pub unsafe extern "C" fn hm_hasher_hash_file(
    hasher: *const hm_hasher,
    path: *const c_char,
    out: *mut hm_pdq_result,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `hasher` is NULL or a live handle.
            let hasher = deref(hasher, "hasher")?;
            let out = out_ptr(out, "out")?;
            // SAFETY: `path` is NULL or NUL-terminated.
            let path = self::path(path, "path")?;
            let result = hasher.inner.hash_file(path)?;
            // SAFETY: checked non-NULL.
            write_out(out, result.into());
            Ok(())
        })
    }
}

/// Hashes raw 8-bit pixels: `height` rows of `width` pixels in `format` (an `HM_PIXEL_*`
/// value), rows `stride` bytes apart (0 means tightly packed: `width` times the bytes per
/// pixel), in a buffer of `len` bytes at `pixels`, only read during the call. The resize policy
/// applies; decoding limits do not. On `HM_OK` the hash and quality are written to `*out`.
/// Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` (`hasher`, `out`, or `pixels` with `len` > 0);
/// `HM_INVALID_ARGUMENT` (unknown format); `HM_INVALID_PIXELS` (a zero side, a stride shorter
/// than a row, a buffer shorter than the rows need); `HM_TOO_SMALL`; `HM_LOW_QUALITY`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn hm_hasher_hash_pixels(
    hasher: *const hm_hasher,
    pixels: *const u8,
    len: usize,
    width: u32,
    height: u32,
    stride: usize,
    format: hm_pixel_format,
    out: *mut hm_pdq_result,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `hasher` is NULL or a live handle.
            let hasher = deref(hasher, "hasher")?;
            let out = out_ptr(out, "out")?;
            // SAFETY: `pixels` is valid for `len` bytes when non-NULL.
            let view = pixel_view(pixels, len, width, height, stride, format)?;
            let result = hasher.inner.hash_pixels(&view)?;
            // SAFETY: checked non-NULL.
            write_out(out, result.into());
            Ok(())
        })
    }
}

/// The eight dihedral hashes of an encoded image (one decode; match them with
/// `hm_matcher_query_dihedral` to find rotated or mirrored copies). Arguments, ownership and
/// statuses as `hm_hasher_hash_bytes`; on `HM_OK` `*out` is written. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn hm_hasher_dihedral_bytes(
    hasher: *const hm_hasher,
    data: *const u8,
    len: usize,
    out: *mut hm_pdq_dihedral,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `hasher` is NULL or a live handle.
            let hasher = deref(hasher, "hasher")?;
            let out = out_ptr(out, "out")?;
            // SAFETY: `data` is valid for `len` bytes when non-NULL.
            let data = bytes(data, len, "data")?;
            let result = hasher.inner.dihedral_bytes(data)?;
            // SAFETY: checked non-NULL.
            write_out(out, result.into());
            Ok(())
        })
    }
}

/// The eight dihedral hashes of an image file. Arguments, ownership and statuses as
/// `hm_hasher_hash_file`; on `HM_OK` `*out` is written. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn hm_hasher_dihedral_file(
    hasher: *const hm_hasher,
    path: *const c_char,
    out: *mut hm_pdq_dihedral,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `hasher` is NULL or a live handle.
            let hasher = deref(hasher, "hasher")?;
            let out = out_ptr(out, "out")?;
            // SAFETY: `path` is NULL or NUL-terminated.
            let path = self::path(path, "path")?;
            let result = hasher.inner.dihedral_file(path)?;
            // SAFETY: checked non-NULL.
            write_out(out, result.into());
            Ok(())
        })
    }
}

/// The eight dihedral hashes of raw pixels. Arguments, ownership and statuses as
/// `hm_hasher_hash_pixels`; on `HM_OK` `*out` is written. Thread-safe.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn hm_hasher_dihedral_pixels(
    hasher: *const hm_hasher,
    pixels: *const u8,
    len: usize,
    width: u32,
    height: u32,
    stride: usize,
    format: hm_pixel_format,
    out: *mut hm_pdq_dihedral,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `hasher` is NULL or a live handle.
            let hasher = deref(hasher, "hasher")?;
            let out = out_ptr(out, "out")?;
            // SAFETY: `pixels` is valid for `len` bytes when non-NULL.
            let view = pixel_view(pixels, len, width, height, stride, format)?;
            let result = hasher.inner.dihedral_pixels(&view)?;
            // SAFETY: checked non-NULL.
            write_out(out, result.into());
            Ok(())
        })
    }
}

/// The hashes of a robust query of an encoded image ([`crate::robust`]): the plain hash (as
/// `hm_hasher_hash_bytes` gives it) first, then the other orientations and the pictures found
/// inside bars or a frame, as `options` ask (NULL: `hm_robust_options_default()`). One decode.
/// On `HM_OK` a new object is stored in `*out`; the caller frees it with
/// `hm_robust_hashes_free`. Thread-safe.
///
/// Returns as `hm_hasher_hash_bytes`, except that `HM_LOW_QUALITY` comes back only when no
/// hash at all reaches the quality floor.
#[no_mangle]
pub unsafe extern "C" fn hm_hasher_robust_bytes(
    hasher: *const hm_hasher,
    data: *const u8,
    len: usize,
    options: *const hm_robust_options,
    out: *mut *mut hm_robust_hashes,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `hasher` is NULL or a live handle.
            let hasher = deref(hasher, "hasher")?;
            let out = out_ptr(out, "out")?;
            // SAFETY: `data` is valid for `len` bytes when non-NULL.
            let data = bytes(data, len, "data")?;
            // SAFETY: `options` is NULL or valid.
            let options = robust_options(options);
            let inner = hasher.inner.robust_bytes(data, &options)?;
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(Box::new(hm_robust_hashes { inner })));
            Ok(())
        })
    }
}

/// `hm_hasher_robust_bytes` of an image file. Arguments, ownership and statuses as
/// `hm_hasher_hash_file` and `hm_hasher_robust_bytes`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn hm_hasher_robust_file(
    hasher: *const hm_hasher,
    path: *const c_char,
    options: *const hm_robust_options,
    out: *mut *mut hm_robust_hashes,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `hasher` is NULL or a live handle.
            let hasher = deref(hasher, "hasher")?;
            let out = out_ptr(out, "out")?;
            // SAFETY: `path` is NULL or NUL-terminated.
            let path = self::path(path, "path")?;
            // SAFETY: `options` is NULL or valid.
            let options = robust_options(options);
            let inner = hasher.inner.robust_file(path, &options)?;
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(Box::new(hm_robust_hashes { inner })));
            Ok(())
        })
    }
}

/// The hashes to enrol an encoded image the service took down itself: its plain hash (as
/// `hm_hasher_hash_bytes` gives it) and the extras `options` ask for (NULL:
/// `hm_enrol_options_default()`), for `hm_matcher_enrol`. One decode. On `HM_OK` a new object
/// is stored in `*out`; the caller frees it with `hm_enrolment_free`. Thread-safe.
///
/// Returns as `hm_hasher_hash_bytes` (`HM_LOW_QUALITY` when the plain hash is below the
/// floor), and `HM_INVALID_ARGUMENT` for a crop outside 1-99 %.
#[no_mangle]
pub unsafe extern "C" fn hm_hasher_enrolment_bytes(
    hasher: *const hm_hasher,
    data: *const u8,
    len: usize,
    options: *const hm_enrol_options,
    out: *mut *mut hm_enrolment,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `hasher` is NULL or a live handle.
            let hasher = deref(hasher, "hasher")?;
            let out = out_ptr(out, "out")?;
            // SAFETY: `data` is valid for `len` bytes when non-NULL.
            let data = bytes(data, len, "data")?;
            // SAFETY: `options` is NULL or valid.
            let options = enrol_options(options)?;
            let inner = hasher.inner.enrolment_bytes(data, &options)?;
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(Box::new(hm_enrolment { inner })));
            Ok(())
        })
    }
}

/// `hm_hasher_enrolment_bytes` of an image file. Arguments, ownership and statuses as
/// `hm_hasher_hash_file` and `hm_hasher_enrolment_bytes`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn hm_hasher_enrolment_file(
    hasher: *const hm_hasher,
    path: *const c_char,
    options: *const hm_enrol_options,
    out: *mut *mut hm_enrolment,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `hasher` is NULL or a live handle.
            let hasher = deref(hasher, "hasher")?;
            let out = out_ptr(out, "out")?;
            // SAFETY: `path` is NULL or NUL-terminated.
            let path = self::path(path, "path")?;
            // SAFETY: `options` is NULL or valid.
            let options = enrol_options(options)?;
            let inner = hasher.inner.enrolment_file(path, &options)?;
            // SAFETY: checked non-NULL.
            write_out(out, Box::into_raw(Box::new(hm_enrolment { inner })));
            Ok(())
        })
    }
}
