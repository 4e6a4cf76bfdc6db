//! RGB or grey pixels to the float32 luma plane PDQ works on.

use crate::pixels::{PixelFormat, PixelView};

/// How RGB pixels become luma.
///
/// The two modes differ only on RGB input and only in the last bit of some luma values, which
/// matters for flat, blocky or synthetic images whose DCT coefficients sit at the median; on
/// photos they give the same hash.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LumaMode {
    /// Meta's C++ reference (`fillFloatLumaFromRGB`): `0.299f*R + 0.587f*G + 0.114f*B` in
    /// float32. The specification, and the default.
    #[default]
    Reference,
    /// pip `pdqhash` (what HMA and python-threatexchange run): the same formula in float64
    /// (NumPy), rounded to float32.
    PipCompat,
}

const R_COEFF: f32 = 0.299;
const G_COEFF: f32 = 0.587;
const B_COEFF: f32 = 0.114;

/// Luma of one RGB pixel, bit for bit as the chosen reference computes it.
#[inline(always)]
pub(crate) fn luma_rgb(mode: LumaMode, r: u8, g: u8, b: u8) -> f32 {
    match mode {
        // Evaluated ((R*r + G*g) + B*b) in float32 without contraction, as g++ -O3 does.
        LumaMode::Reference => R_COEFF * r as f32 + G_COEFF * g as f32 + B_COEFF * b as f32,
        LumaMode::PipCompat => (r as f64 * 0.299 + g as f64 * 0.587 + b as f64 * 0.114) as f32,
    }
}

/// Writes the luma of row `y` of `view` into `out` (`width` floats).
///
/// Grey pixels take the reference's grey path (luma = value), whatever the mode: both references
/// agree there (pip's float64 formula gives exactly `v` for `(v, v, v)`).
///
/// Always inlined, so that it vectorises for the instruction set of the fast path calling it.
#[inline(always)]
pub(crate) fn luma_row(view: &PixelView<'_>, y: u32, mode: LumaMode, out: &mut [f32]) {
    let row = view.row(y);
    match view.format() {
        PixelFormat::Grey8 => {
            for (o, &v) in out.iter_mut().zip(row) {
                *o = v as f32;
            }
        }
        PixelFormat::Rgb8 => rgb_row::<3>(row, mode, out),
        PixelFormat::Rgba8 => rgb_row::<4>(row, mode, out),
    }
}

#[inline(always)]
fn rgb_row<const N: usize>(row: &[u8], mode: LumaMode, out: &mut [f32]) {
    // Separate loops per mode so each one vectorises.
    match mode {
        LumaMode::Reference => {
            for (o, px) in out.iter_mut().zip(row.chunks_exact(N)) {
                *o = luma_rgb(LumaMode::Reference, px[0], px[1], px[2]);
            }
        }
        LumaMode::PipCompat => {
            for (o, px) in out.iter_mut().zip(row.chunks_exact(N)) {
                *o = luma_rgb(LumaMode::PipCompat, px[0], px[1], px[2]);
            }
        }
    }
}

/// The whole luma plane, row-major.
pub(crate) fn luma_plane(view: &PixelView<'_>, mode: LumaMode) -> Vec<f32> {
    let w = view.width() as usize;
    let mut plane = vec![0f32; w * view.height() as usize];
    for (y, out) in plane.chunks_exact_mut(w).enumerate() {
        luma_row(view, y as u32, mode, out);
    }
    plane
}
