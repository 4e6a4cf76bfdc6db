//! PDQ, Meta's 256-bit perceptual image hash, bit for bit as the C++ reference computes it.
//!
//! The pipeline (Meta's `pdqhashing.cpp`): float32 luma, two passes of a Jarosz box filter,
//! decimation to 64x64, a quality score from the 64x64 gradients, the 16x16 low-frequency corner
//! of the DCT, and one bit per coefficient above the median. Every step keeps the reference's
//! float32 operation order, so hashes, qualities and the intermediate buffers equal Meta's
//! (tested against `../shared/vectors`).
//!
//! The filter runs on a streamed, vectorised path chosen at run time for the CPU (AVX-512,
//! AVX2 or portable Rust), about 8-30x faster than a direct port and holding no full-size float
//! plane; it is tested float for float against the direct port, which stays as the oracle.
//!
//! These functions hash pixels as given. Decoding and the optional pre-resizing policies are in
//! [`crate::Hasher`].
//!
//! ```
//! use hashmatch::{pdq, PixelFormat, PixelView};
//! // A 64x48 grey ramp with a bright square: any 8-bit buffer works.
//! let (w, h) = (64u32, 48u32);
//! let pixels: Vec<u8> = (0..w * h)
//!     .map(|i| { let (x, y) = (i % w, i / w); if (20..40).contains(&x) && (10..30).contains(&y) { 250 } else { (x * 3) as u8 } })
//!     .collect();
//! let view = PixelView::packed(&pixels, w, h, PixelFormat::Grey8)?;
//! let result = pdq::hash(&view)?;
//! assert_eq!(result.hash.count_ones(), 128); // half the bits are above the median
//! assert!(result.quality <= 100);
//! # Ok::<(), hashmatch::Error>(())
//! ```

mod dct;
mod fast;
mod jarosz;
mod luma;

pub use dct::Dihedral;
pub use luma::LumaMode;

use crate::error::{Error, Result};
use crate::hash::Hash256;
use crate::pixels::PixelView;

/// The smallest side PDQ hashes (`MIN_HASHABLE_DIM` in the reference). Smaller images get
/// [`Error::TooSmall`] (the reference silently returns the all-zero hash with quality 0).
pub const MIN_DIMENSION: u32 = 5;

/// The distance at or below which two PDQ hashes are a match (Meta's recommendation).
pub const MATCH_THRESHOLD: u32 = 31;

/// The quality below which Meta recommends discarding a PDQ hash.
pub const QUALITY_FLOOR: u8 = 50;

/// A PDQ hash and its quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PdqHash {
    /// The 256-bit hash.
    pub hash: Hash256,
    /// How much structure the image has, 0 (flat) to 100. Below [`QUALITY_FLOOR`] the hash is
    /// mostly noise.
    pub quality: u8,
}

/// The eight dihedral hashes of one image (from the DCT, as the reference's
/// `pdqDihedralHash256esFromFloatLuma`), and the image's quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DihedralHashes {
    /// Hashes in [`Dihedral::ALL`] order: original, rot90, rot180, rot270, flipx, flipy,
    /// flipplus1, flipminus1.
    pub hashes: [Hash256; 8],
    /// Quality, as in [`PdqHash`].
    pub quality: u8,
}

impl DihedralHashes {
    /// The hash of one orientation.
    pub fn get(&self, which: Dihedral) -> Hash256 {
        self.hashes[which as usize]
    }

    /// Pairs of orientation and hash, in [`Dihedral::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Dihedral, Hash256)> + '_ {
        Dihedral::ALL.into_iter().zip(self.hashes)
    }
}

/// The float outputs of the PDQ core before thresholding, for callers who need them (and for
/// the bit-exactness tests against the reference's buffers).
#[derive(Debug, Clone)]
pub struct PdqFloats {
    /// The 64x64 image after filtering and decimation (`buffer64x64`).
    pub downsampled: Box<[[f32; 64]; 64]>,
    /// The 16x16 DCT coefficients `B[i][j]`, before the median.
    pub dct: [[f32; 16]; 16],
    /// The quality score.
    pub quality: u8,
}

/// PDQ of `pixels` with the reference luma ([`LumaMode::Reference`]).
///
/// # Errors
/// [`Error::TooSmall`] if a side is below [`MIN_DIMENSION`].
pub fn hash(pixels: &PixelView<'_>) -> Result<PdqHash> {
    hash_with(pixels, LumaMode::Reference)
}

/// PDQ of `pixels` with the chosen luma mode.
///
/// # Errors
/// [`Error::TooSmall`] if a side is below [`MIN_DIMENSION`].
pub fn hash_with(pixels: &PixelView<'_>, mode: LumaMode) -> Result<PdqHash> {
    Ok(hash_from_floats(&floats(pixels, mode)?))
}

/// The eight dihedral PDQ hashes of `pixels`, in one pass.
///
/// # Errors
/// [`Error::TooSmall`] if a side is below [`MIN_DIMENSION`].
pub fn hash_dihedral(pixels: &PixelView<'_>, mode: LumaMode) -> Result<DihedralHashes> {
    let floats = floats(pixels, mode)?;
    Ok(dihedral_from_floats(&floats))
}

/// The dihedral hashes and quality from the float core's output (one DCT, eight thresholds).
pub(crate) fn dihedral_from_floats(floats: &PdqFloats) -> DihedralHashes {
    DihedralHashes {
        hashes: Dihedral::ALL.map(|d| dct::to_hash(&d.transform(&floats.dct))),
        quality: floats.quality,
    }
}

/// The float core: downsample, quality and DCT, without thresholding.
///
/// # Errors
/// [`Error::TooSmall`] if a side is below [`MIN_DIMENSION`].
pub fn floats(pixels: &PixelView<'_>, mode: LumaMode) -> Result<PdqFloats> {
    Ok(floats_from(downsample(pixels, mode)?))
}

fn floats_from(downsampled: Box<[[f32; 64]; 64]>) -> PdqFloats {
    let quality = dct::quality(&downsampled);
    let dct = dct::dct_64_to_16(&downsampled);
    PdqFloats {
        downsampled,
        dct,
        quality,
    }
}

/// The hash and quality from the float core's output: one bit per coefficient above the median.
pub(crate) fn hash_from_floats(floats: &PdqFloats) -> PdqHash {
    PdqHash {
        hash: dct::to_hash(&floats.dct),
        quality: floats.quality,
    }
}

fn check_size(pixels: &PixelView<'_>) -> Result<()> {
    if pixels.width() < MIN_DIMENSION || pixels.height() < MIN_DIMENSION {
        return Err(Error::TooSmall {
            width: pixels.width(),
            height: pixels.height(),
            min: MIN_DIMENSION,
        });
    }
    Ok(())
}

/// Luma, Jarosz filter and decimation: the 64x64 buffer the quality and DCT are computed from.
fn downsample(pixels: &PixelView<'_>, mode: LumaMode) -> Result<Box<[[f32; 64]; 64]>> {
    check_size(pixels)?;
    Ok(fast::downsample(pixels, mode))
}

/// The straightforward port of the reference: whole-plane buffers, strided column passes. The
/// oracle [`fast`] is tested against.
pub(crate) fn reference_downsample(pixels: &PixelView<'_>, mode: LumaMode) -> Box<[[f32; 64]; 64]> {
    let (rows, cols) = (pixels.height() as usize, pixels.width() as usize);
    let mut buf1 = luma::luma_plane(pixels, mode);
    let mut out = Box::new([[0f32; 64]; 64]);
    if rows == 64 && cols == 64 {
        // The reference skips filtering for 64x64 input (video frames pre-scaled by ffmpeg).
        for (o, src) in out.iter_mut().zip(buf1.chunks_exact(64)) {
            o.copy_from_slice(src);
        }
        return out;
    }
    let mut buf2 = vec![0f32; rows * cols];
    jarosz::jarosz_filter(&mut buf1, &mut buf2, rows, cols);
    jarosz::decimate(&buf1, rows, cols, &mut out);
    out
}

/// Benchmark and test hooks: the scalar reference port and the fast path at a forced
/// instruction-set level. Not part of the API; may change at any time.
#[doc(hidden)]
pub mod internals {
    use super::{check_size, fast, floats_from, hash_from_floats, reference_downsample};
    use super::{LumaMode, PdqFloats, PdqHash, PixelView, Result};

    pub use fast::Level;

    /// The float core through the scalar reference port (whole planes, strided columns).
    ///
    /// # Errors
    /// As [`super::floats`].
    pub fn floats_reference(pixels: &PixelView<'_>, mode: LumaMode) -> Result<PdqFloats> {
        check_size(pixels)?;
        Ok(floats_from(reference_downsample(pixels, mode)))
    }

    /// PDQ through the scalar reference port.
    ///
    /// # Errors
    /// As [`super::hash_with`].
    pub fn hash_reference(pixels: &PixelView<'_>, mode: LumaMode) -> Result<PdqHash> {
        Ok(hash_from_floats(&floats_reference(pixels, mode)?))
    }

    /// The float core through the fast path at `level`, or `None` if this CPU cannot run it.
    ///
    /// # Errors
    /// As [`super::floats`].
    pub fn floats_at(
        level: Level,
        pixels: &PixelView<'_>,
        mode: LumaMode,
    ) -> Option<Result<PdqFloats>> {
        if let Err(e) = check_size(pixels) {
            return Some(Err(e));
        }
        fast::downsample_at(level, pixels, mode).map(|d| Ok(floats_from(d)))
    }

    /// PDQ through the fast path at `level`, or `None` if this CPU cannot run it.
    ///
    /// # Errors
    /// As [`super::hash_with`].
    pub fn hash_at(
        level: Level,
        pixels: &PixelView<'_>,
        mode: LumaMode,
    ) -> Option<Result<PdqHash>> {
        floats_at(level, pixels, mode).map(|f| f.map(|f| hash_from_floats(&f)))
    }
}
