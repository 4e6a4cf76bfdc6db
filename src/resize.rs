//! Pre-resizing policies: what happens to an image before the PDQ core sees it.
//!
//! PDQ is defined on whatever pixels it is given, and the references disagree on what to give
//! it (`../shared/research/pdq.md` 1.2): HMA, python-threatexchange and the Java port hash at full
//! resolution; Meta's C++ command-line tool first squashes any image with a side over 512 to
//! 512x512 by nearest neighbour. The two differ by a few bits on large images. The policy is
//! therefore explicit, never implied.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::error::{Error, Result};
use crate::pixels::{PixelFormat, PixelView, Pixels};

/// What to do with an image's size before hashing.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ResizePolicy {
    /// Hash at full resolution: what HMA, python-threatexchange and Meta's Java port compute,
    /// and so what most shared lists contain. The default.
    #[default]
    Native,
    /// Meta's C++ CLI (`pdq-photo-hasher`): when a side exceeds 512, squash to exactly 512x512
    /// by nearest neighbour (aspect ratio not kept).
    Reference512,
    /// For high-volume services: JPEGs are decoded at the smallest DCT scale (1/2, 1/4, 1/8)
    /// that keeps the shorter side at least [`FAST_MIN_DECODE_SIDE`], and any image whose longer
    /// side still exceeds [`FAST_SHRINK_ABOVE`] is box-shrunk to [`FAST_MAX_SIDE`] (aspect kept;
    /// below that the shrink costs more than the PDQ time it saves). Not bit-exact
    /// with either reference: measured against `Native` (`examples/fast_policy_distance.rs`), a
    /// mean of 0.17 bits (p99 6, max 14) on 571 dev-corpus photos and 1.7 bits (max 6) on the
    /// 28 large reference JPEGs, where it is 7x faster; no match decision at 31 changed.
    Fast,
}

/// The side length [`ResizePolicy::Reference512`] squashes to.
pub const REFERENCE_SIDE: u32 = 512;

/// The shortest side a reduced-scale JPEG decode keeps under [`ResizePolicy::Fast`]
/// ([`crate::decode::decode_reduced`]).
pub const FAST_MIN_DECODE_SIDE: u32 = 384;

/// [`ResizePolicy::Fast`] box-shrinks images whose longer side exceeds this...
pub const FAST_SHRINK_ABOVE: u32 = 2048;

/// ...to this longer side.
pub const FAST_MAX_SIDE: u32 = 1024;

impl ResizePolicy {
    /// Resized pixels when this policy changes the image, `None` when it hashes as given.
    pub fn apply(self, view: &PixelView<'_>) -> Result<Option<Pixels>> {
        match self {
            ResizePolicy::Native => Ok(None),
            ResizePolicy::Reference512 => Ok(nearest_512(view)),
            ResizePolicy::Fast if view.width().max(view.height()) > FAST_SHRINK_ABOVE => {
                box_shrink(view, FAST_MAX_SIDE)
            }
            ResizePolicy::Fast => Ok(None),
        }
    }

    /// Name used on the command line and in output (`native`, `reference512`, `fast`).
    pub const fn name(self) -> &'static str {
        match self {
            ResizePolicy::Native => "native",
            ResizePolicy::Reference512 => "reference512",
            ResizePolicy::Fast => "fast",
        }
    }
}

/// CImg's `resize(512, 512)` with interpolation type 1 (nearest neighbour), as Meta's C++ CLI
/// applies it when a side exceeds 512: output column `x` takes source column
/// `floor(x * W / 512)`, rows likewise.
fn nearest_512(view: &PixelView<'_>) -> Option<Pixels> {
    let (w, h) = (view.width(), view.height());
    if w <= REFERENCE_SIDE && h <= REFERENCE_SIDE {
        return None;
    }
    let bpp = view.format().bytes_per_pixel();
    let side = REFERENCE_SIDE as usize;
    let mut out = Vec::with_capacity(side * side * bpp);
    for y in 0..side {
        let src_row = view.row(((y as u64 * h as u64) / REFERENCE_SIDE as u64) as u32);
        for x in 0..side {
            let sx = ((x as u64 * w as u64) / REFERENCE_SIDE as u64) as usize;
            out.extend_from_slice(&src_row[sx * bpp..(sx + 1) * bpp]);
        }
    }
    Some(Pixels::new(out, REFERENCE_SIDE, REFERENCE_SIDE, view.format()).expect("sized above"))
}

/// Box-filter shrink (aspect kept) so the longer side is at most `max_side`.
pub(crate) fn box_shrink(view: &PixelView<'_>, max_side: u32) -> Result<Option<Pixels>> {
    let (w, h) = (view.width(), view.height());
    let longer = w.max(h);
    if longer <= max_side {
        return Ok(None);
    }
    let scale = max_side as f64 / longer as f64;
    let new_w = ((w as f64 * scale).round() as u32).max(1);
    let new_h = ((h as f64 * scale).round() as u32).max(1);
    box_resize(view, new_w, new_h).map(Some)
}

/// Resizes to exactly `new_w` x `new_h` (aspect not kept) with a box filter: each output pixel
/// averages the source area it covers when shrinking, as swscale's `SWS_AREA` does.
///
/// # Errors
/// [`Error::InvalidPixels`] if a side is zero.
pub(crate) fn box_resize(view: &PixelView<'_>, new_w: u32, new_h: u32) -> Result<Pixels> {
    let (w, h) = (view.width(), view.height());
    let (pixel_type, format) = match view.format() {
        PixelFormat::Rgb8 => (PixelType::U8x3, PixelFormat::Rgb8),
        PixelFormat::Rgba8 => (PixelType::U8x4, PixelFormat::Rgba8),
        PixelFormat::Grey8 => (PixelType::U8, PixelFormat::Grey8),
    };
    let packed: std::borrow::Cow<'_, [u8]> = if view.is_packed() {
        std::borrow::Cow::Borrowed(view.packed_bytes())
    } else {
        (0..h)
            .flat_map(|y| view.row(y).iter().copied())
            .collect::<Vec<u8>>()
            .into()
    };
    let resize_error = |e: &dyn std::fmt::Display| Error::InvalidPixels {
        reason: format!("resizing {w}x{h} to {new_w}x{new_h} failed: {e}"),
    };
    if new_w == 0 || new_h == 0 {
        return Err(resize_error(&"the new size has a zero side"));
    }
    let src = ImageRef::new(w, h, &packed, pixel_type).map_err(|e| resize_error(&e))?;
    let mut dst = Image::new(new_w, new_h, pixel_type);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Box))
        .use_alpha(false);
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| resize_error(&e))?;
    Pixels::new(dst.into_vec(), new_w, new_h, format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(w: u32, h: u32) -> Vec<u8> {
        (0..w * h)
            .map(|i| ((i % w) * 7 + (i / w) * 3) as u8)
            .collect()
    }

    #[test]
    fn native_keeps_the_image() {
        let px = ramp(600, 400);
        let v = PixelView::packed(&px, 600, 400, PixelFormat::Grey8).unwrap();
        assert!(ResizePolicy::Native.apply(&v).unwrap().is_none());
    }

    #[test]
    fn reference512_squashes_only_large_images_by_nearest_neighbour() {
        let small = ramp(512, 300);
        let v = PixelView::packed(&small, 512, 300, PixelFormat::Grey8).unwrap();
        assert!(ResizePolicy::Reference512.apply(&v).unwrap().is_none());

        let (w, h) = (1600u32, 300u32);
        let px = ramp(w, h);
        let v = PixelView::packed(&px, w, h, PixelFormat::Grey8).unwrap();
        let out = ResizePolicy::Reference512.apply(&v).unwrap().unwrap();
        assert_eq!((out.width(), out.height()), (512, 512));
        for (y, x) in [(0usize, 0usize), (1, 1), (511, 511), (100, 333)] {
            let (sy, sx) = (y * h as usize / 512, x * w as usize / 512);
            assert_eq!(out.as_bytes()[y * 512 + x], px[sy * w as usize + sx]);
        }
    }

    #[test]
    fn fast_shrinks_only_large_images_keeping_aspect() {
        let small = ramp(2048, 1000);
        let v = PixelView::packed(&small, 2048, 1000, PixelFormat::Grey8).unwrap();
        assert!(ResizePolicy::Fast.apply(&v).unwrap().is_none());
        let (w, h) = (3000u32, 1500u32);
        let px: Vec<u8> = ramp(w, h)
            .iter()
            .flat_map(|&v| [v, v / 2, 255 - v])
            .collect();
        let v = PixelView::packed(&px, w, h, PixelFormat::Rgb8).unwrap();
        let out = ResizePolicy::Fast.apply(&v).unwrap().unwrap();
        assert_eq!(
            (out.width(), out.height(), out.format()),
            (1024, 512, PixelFormat::Rgb8)
        );
    }
}
