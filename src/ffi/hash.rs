//! `hm_pdq_hash` and the value types around it: a hash, a hash with its quality, the eight
//! dihedral hashes; hex text and Hamming distance.

use std::ffi::{c_char, CStr};

use super::{boundary, deref, infallible, out_ptr, utf8, write_out, Failure, FfiResult};
use super::{hm_error, hm_status, HM_BUFFER_TOO_SMALL};
use crate::pdq::{DihedralHashes, PdqHash};
use crate::Hash256;

/// A 256-bit PDQ hash: a plain value, copied freely, no handle to free.
///
/// `bytes` holds the 256-bit number big-endian, in the order of its 64-digit hex text
/// (ThreatExchange layout): `bytes[0]` is the first two hex digits.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct hm_pdq_hash {
    /// The hash, big-endian (hex order).
    pub bytes: [u8; 32],
}

impl From<Hash256> for hm_pdq_hash {
    fn from(h: Hash256) -> Self {
        hm_pdq_hash {
            bytes: h.to_be_bytes(),
        }
    }
}

impl From<hm_pdq_hash> for Hash256 {
    fn from(h: hm_pdq_hash) -> Self {
        Hash256::from_be_bytes(h.bytes)
    }
}

/// The PDQ hash of one image and its quality, as the hasher returns it and as the matcher's
/// quality-checked queries take it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct hm_pdq_result {
    /// The hash.
    pub hash: hm_pdq_hash,
    /// How much structure the image has, 0 (flat) to 100; below 50 a hash is mostly noise.
    pub quality: u8,
}

impl From<PdqHash> for hm_pdq_result {
    fn from(p: PdqHash) -> Self {
        hm_pdq_result {
            hash: p.hash.into(),
            quality: p.quality,
        }
    }
}

impl From<hm_pdq_result> for PdqHash {
    fn from(p: hm_pdq_result) -> Self {
        PdqHash {
            hash: p.hash.into(),
            quality: p.quality,
        }
    }
}

/// The eight dihedral hashes of one image (the hash of each rotation and mirror image, from
/// one decode), indexed by the `HM_ORIENTATION_*` constants, and the image's quality.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct hm_pdq_dihedral {
    /// `hashes[HM_ORIENTATION_ORIGINAL]` is the plain hash, and so on.
    pub hashes: [hm_pdq_hash; 8],
    /// Quality, as in `hm_pdq_result`.
    pub quality: u8,
}

impl From<DihedralHashes> for hm_pdq_dihedral {
    fn from(d: DihedralHashes) -> Self {
        hm_pdq_dihedral {
            hashes: d.hashes.map(hm_pdq_hash::from),
            quality: d.quality,
        }
    }
}

impl From<hm_pdq_dihedral> for DihedralHashes {
    fn from(d: hm_pdq_dihedral) -> Self {
        DihedralHashes {
            hashes: d.hashes.map(Hash256::from),
            quality: d.quality,
        }
    }
}

/// One of the eight symmetries of the square: which orientation of an upload matched.
pub type hm_orientation = i32;
/// The image as it is.
pub const HM_ORIENTATION_ORIGINAL: hm_orientation = 0;
/// Rotated 90 degrees counter-clockwise.
pub const HM_ORIENTATION_ROTATE90: hm_orientation = 1;
/// Rotated 180 degrees.
pub const HM_ORIENTATION_ROTATE180: hm_orientation = 2;
/// Rotated 90 degrees clockwise.
pub const HM_ORIENTATION_ROTATE270: hm_orientation = 3;
/// Flipped top to bottom.
pub const HM_ORIENTATION_FLIPX: hm_orientation = 4;
/// Mirrored left to right.
pub const HM_ORIENTATION_FLIPY: hm_orientation = 5;
/// Transposed (flipped about the main diagonal).
pub const HM_ORIENTATION_FLIP_PLUS1: hm_orientation = 6;
/// Flipped about the anti-diagonal.
pub const HM_ORIENTATION_FLIP_MINUS1: hm_orientation = 7;

/// The size of a buffer that holds a hash's hex text: 64 digits and a NUL.
pub const HM_PDQ_HEX_SIZE: usize = 65;

/// Parses a hash from its 64 hex digits (upper or lower case, nothing else).
///
/// `hex` is a NUL-terminated string, only read during the call. On `HM_OK` the hash is written
/// to `*out`. Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `hex` or `out` is NULL; `HM_INVALID_HASH` if the text
/// is not 64 hex digits; `HM_INVALID_ARGUMENT` if it is not UTF-8.
#[no_mangle]
pub unsafe extern "C" fn hm_pdq_hash_from_hex(
    hex: *const c_char,
    out: *mut hm_pdq_hash,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            let out = out_ptr(out, "out")?;
            // SAFETY: `hex` is NULL or a NUL-terminated string.
            let text = utf8(hex, "hex")?;
            let hash: Hash256 = text.parse()?;
            // SAFETY: checked non-NULL; points to a writable hm_pdq_hash.
            write_out(out, hash.into());
            Ok(())
        })
    }
}

/// Writes a hash's 64 lower-case hex digits and a NUL into `buf`, which holds `buf_size` bytes
/// (at least `HM_PDQ_HEX_SIZE`). Thread-safe.
///
/// Returns `HM_OK`; `HM_NULL_ARGUMENT` if `hash` or `buf` is NULL; `HM_BUFFER_TOO_SMALL` if
/// `buf_size` is under `HM_PDQ_HEX_SIZE` (nothing is written then).
#[no_mangle]
pub unsafe extern "C" fn hm_pdq_hash_to_hex(
    hash: *const hm_pdq_hash,
    buf: *mut c_char,
    buf_size: usize,
    err: *mut hm_error,
) -> hm_status {
    // SAFETY: `err` is NULL or valid by the documented contract.
    unsafe {
        boundary(err, || -> FfiResult {
            // SAFETY: `hash` is NULL or points to an hm_pdq_hash.
            let hash = Hash256::from(*deref(hash, "hash")?);
            let buf = out_ptr(buf, "buf")?;
            if buf_size < HM_PDQ_HEX_SIZE {
                return Err(Failure::new(
                    HM_BUFFER_TOO_SMALL,
                    format!("buf_size is {buf_size}, the hex text needs {HM_PDQ_HEX_SIZE} bytes"),
                ));
            }
            let text = hash.to_string();
            // SAFETY: `buf` is non-NULL and holds at least HM_PDQ_HEX_SIZE = 64 + 1 bytes.
            let dst = std::slice::from_raw_parts_mut(buf.cast::<u8>(), HM_PDQ_HEX_SIZE);
            dst[..64].copy_from_slice(text.as_bytes());
            dst[64] = 0;
            Ok(())
        })
    }
}

/// The Hamming distance between two hashes: the number of differing bits, 0 to 256.
/// Takes the hashes by value; cannot fail. Thread-safe.
#[no_mangle]
pub extern "C" fn hm_pdq_hash_distance(a: hm_pdq_hash, b: hm_pdq_hash) -> u32 {
    infallible(u32::MAX, || Hash256::from(a).distance(&Hash256::from(b)))
}

/// The short name of an orientation (`"orig"`, `"rot90"`, `"rot180"`, `"rot270"`, `"flipx"`,
/// `"flipy"`, `"flipp"`, `"flipm"`, as the reference prints them): a static NUL-terminated
/// string, never NULL; `"unknown"` for a value that is not an `HM_ORIENTATION_*`. Thread-safe.
#[no_mangle]
pub extern "C" fn hm_orientation_str(orientation: hm_orientation) -> *const c_char {
    const NAMES: [&CStr; 8] = [
        c"orig", c"rot90", c"rot180", c"rot270", c"flipx", c"flipy", c"flipp", c"flipm",
    ];
    usize::try_from(orientation)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map_or(c"unknown", |name| name)
        .as_ptr()
}

/// The C number of an orientation: its position in `Dihedral::ALL`.
pub(crate) fn orientation_number(o: crate::pdq::Dihedral) -> hm_orientation {
    crate::pdq::Dihedral::ALL
        .iter()
        .position(|&d| d == o)
        .map_or(-1, |i| i as hm_orientation)
}
