//! The 20 robustness variants of the evaluation corpus (table "Variants to generate" of
//! `shared/corpus/dev/README.md`), made as the team's held-out evaluation makes them with
//! Python and Pillow, so that a match rate measured on them here means the same there.
//!
//! [`Transform::apply`] takes the decoded original and returns the variant's encoded bytes
//! (JPEG, WebP or PNG, [`Transform::extension`]). `scripts/eval/make_variants.py` makes the
//! same variants with Pillow, and `examples/transform_crosscheck.rs` measures the PDQ distance
//! between the two. Where Pillow defines an operation, the pixels are computed as Pillow's C
//! code computes them (same fixed-point or float arithmetic, same rounding), so the same
//! original gives the same pixels before encoding; the unit tests check this bit for bit
//! against values computed with Pillow 13.0.0:
//!
//! | transform | Pillow call | here |
//! |---|---|---|
//! | `resize_*`, `screenshot` | `resize(size, LANCZOS)`: Lanczos3 widened by the scale, 22-bit fixed point, rows then columns | a port of `Resample.c` |
//! | `crop_*`, `resize_*` sizes | `round(w * s)` (Python rounds halves to even), at least 1 | [`f64::round_ties_even`] |
//! | `rot90`, `rot180`, `rot270`, `hflip` | `transpose` | exact pixel moves |
//! | `gray` | `convert("L")`: `(19595 R + 38470 G + 7471 B + 0x8000) >> 16` | same integers |
//! | `blur_r2` | `GaussianBlur(2)`: the radius is the standard deviation, as 3 box blurs of radius 1.375 (fractional end weights), rows then columns, each pass rounded to 8 bits | a port of `BoxBlur.c` (not `image`'s blur) |
//! | `bright_p30`, `contrast_m30` | `ImageEnhance` = `Image.blend` in `f32`, truncated (clamped when extrapolating); contrast's grey is `int(mean(L) + 0.5)` | same `f32` arithmetic |
//! | `rot5` | `rotate(-5, resample=BILINEAR)`: inverse matrix rounded to 15 decimals, pixel centres, truncated, black outside | a port of `Geometry.c` |
//! | `watermark` box | `Image.alpha_composite` of black at alpha 128 | `AlphaComposite.c`'s integer formula |
//!
//! What differs from Pillow, and why (PDQ distances between our variant and Pillow's, from
//! `examples/transform_crosscheck.rs` on 60 dev originals):
//! - **JPEG** is `image`'s encoder ([`JpegEncoder::new_with_quality`]): the same quantisation
//!   tables as libjpeg for a quality, baseline, but chroma at full resolution (4:4:4): the
//!   encoder has no subsampling setting, where Pillow saves 4:2:0; its DCT and rounding are
//!   its own too. PDQ hashes luma, which subsampling barely touches: 0 bits for the median
//!   image of every JPEG variant, at most 4-10 on a few (flat or small) images.
//! - **Text** (`watermark`, `meme`) uses a built-in 5x7 bitmap font (capitals), scaled to any
//!   size and anti-aliased; a Pillow script draws a FreeType font (`make_variants.py` uses
//!   Pillow's default font). Box, dot, caption size and position are the same, the letter
//!   shapes are not, and our strokes are heavier: `watermark` is a median 6 bits from
//!   Pillow's (at most 24), `meme` 30 (its captions are large and high-contrast, so PDQ sees
//!   the font; ours moves the hash a little further from the original, a median 38 bits
//!   against Pillow's 32).
//! - **WebP** is libwebp itself (the `webp` crate builds its bundled libwebp 1.3 from source),
//!   lossy at quality 80 with the default preset (method 4), as Pillow configures it; Pillow
//!   13 bundles libwebp 1.6. Same hashes as Pillow's on all 60 images.
//!
//! The README leaves some choices open; both implementations make the same ones:
//! `watermark`'s box is flush with the bottom-right corner and says `SAMPLE`; `letterbox10`
//! adds `round(0.1 h)` black rows above and below (the output is taller, the original
//! untouched between them); `screenshot` keeps the original's size: a (235, 235, 235) window,
//! a (40, 40, 40) title bar 6 % of the height with three coloured dots, the image scaled to
//! 70 % centred below the bar; `meme` writes `TOP TEXT` and `BOTTOM TEXT` with a cap height of
//! 11 % of the image height (narrowed to 94 % of the width if need be) and a black outline of
//! 1 px (2 px from a 24 px cap height), 4 % of the height from the top and bottom edges.

use std::fmt;
use std::str::FromStr;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{GenericImageView, GrayImage, ImageEncoder, PixelWithColorType, Rgb, RgbImage};

use crate::error::{Error, Result};

/// One of the 20 transforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transform {
    /// `jpeg_q30`: JPEG re-encode at quality 30.
    JpegQ30,
    /// `jpeg_q70`: JPEG re-encode at quality 70.
    JpegQ70,
    /// `resize_50`: each side scaled to 50 % (Lanczos), JPEG q90.
    Resize50,
    /// `resize_25`: each side scaled to 25 % (Lanczos), JPEG q90.
    Resize25,
    /// `crop_90`: centre crop keeping 90 % of the area (each side times sqrt(0.9)), JPEG q90.
    Crop90,
    /// `crop_75`: centre crop keeping 75 % of the area (each side times sqrt(0.75)), JPEG q90.
    Crop75,
    /// `rot90`: rotated 90 degrees clockwise, JPEG q90.
    Rot90,
    /// `rot180`: rotated 180 degrees, JPEG q90.
    Rot180,
    /// `rot270`: rotated 270 degrees clockwise (90 anticlockwise), JPEG q90.
    Rot270,
    /// `hflip`: mirrored left-right, JPEG q90.
    Hflip,
    /// `gray`: Pillow's `convert("L")` luma, saved as a greyscale JPEG q90.
    Gray,
    /// `blur_r2`: Pillow's `GaussianBlur(radius=2)` (standard deviation 2), JPEG q90.
    BlurR2,
    /// `bright_p30`: Pillow's `ImageEnhance.Brightness(1.3)`, JPEG q90.
    BrightP30,
    /// `contrast_m30`: Pillow's `ImageEnhance.Contrast(0.7)` (towards the mean grey), JPEG q90.
    ContrastM30,
    /// `watermark`: a half-transparent black box 30 % x 9 % of the frame in the bottom-right
    /// corner, with a yellow dot and the white word `SAMPLE`, JPEG q90.
    Watermark,
    /// `letterbox10`: black bars above and below, each 10 % of the height (output 1.2 times
    /// taller), JPEG q90.
    Letterbox10,
    /// `rot5`: rotated 5 degrees clockwise about the centre on the same canvas, bilinear,
    /// black corners (Pillow's `rotate(-5, resample=BILINEAR)`), JPEG q90.
    Rot5,
    /// `webp`: lossy WebP at quality 80 (libwebp, default preset).
    Webp,
    /// `screenshot`: the image at 70 % (Lanczos) in a light-grey window with a dark title bar,
    /// PNG.
    Screenshot,
    /// `meme`: white captions outlined in black at the top and bottom, JPEG q85.
    Meme,
}

impl Transform {
    /// All transforms, in the README's table order.
    pub const ALL: [Transform; 20] = [
        Transform::JpegQ30,
        Transform::JpegQ70,
        Transform::Resize50,
        Transform::Resize25,
        Transform::Crop90,
        Transform::Crop75,
        Transform::Rot90,
        Transform::Rot180,
        Transform::Rot270,
        Transform::Hflip,
        Transform::Gray,
        Transform::BlurR2,
        Transform::BrightP30,
        Transform::ContrastM30,
        Transform::Watermark,
        Transform::Letterbox10,
        Transform::Rot5,
        Transform::Webp,
        Transform::Screenshot,
        Transform::Meme,
    ];

    /// The README's name (`jpeg_q30`, `resize_50`, ...), used in file names
    /// (`<id>__<name>.<extension>`) and reports.
    pub fn name(self) -> &'static str {
        match self {
            Transform::JpegQ30 => "jpeg_q30",
            Transform::JpegQ70 => "jpeg_q70",
            Transform::Resize50 => "resize_50",
            Transform::Resize25 => "resize_25",
            Transform::Crop90 => "crop_90",
            Transform::Crop75 => "crop_75",
            Transform::Rot90 => "rot90",
            Transform::Rot180 => "rot180",
            Transform::Rot270 => "rot270",
            Transform::Hflip => "hflip",
            Transform::Gray => "gray",
            Transform::BlurR2 => "blur_r2",
            Transform::BrightP30 => "bright_p30",
            Transform::ContrastM30 => "contrast_m30",
            Transform::Watermark => "watermark",
            Transform::Letterbox10 => "letterbox10",
            Transform::Rot5 => "rot5",
            Transform::Webp => "webp",
            Transform::Screenshot => "screenshot",
            Transform::Meme => "meme",
        }
    }

    /// The transform of that README name, or `None`.
    pub fn from_name(name: &str) -> Option<Transform> {
        Transform::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The output's file extension: `webp`, `png` (`screenshot`) or `jpg`.
    pub fn extension(self) -> &'static str {
        match self {
            Transform::Webp => "webp",
            Transform::Screenshot => "png",
            _ => "jpg",
        }
    }

    /// The variant of `original`, encoded as the README says (JPEG quality 90 unless it says
    /// otherwise).
    ///
    /// # Errors
    /// [`Error::Eval`] naming the transform if `original` has a zero side or the
    /// variant cannot be encoded (a side over JPEG's 65,535 or WebP's 16,383 pixels).
    pub fn apply(self, original: &RgbImage) -> Result<Vec<u8>> {
        if original.width() == 0 || original.height() == 0 {
            return Err(self.error(format!(
                "the original is {}x{}",
                original.width(),
                original.height()
            )));
        }
        let img = original;
        match self {
            Transform::JpegQ30 => self.jpeg(img, 30),
            Transform::JpegQ70 => self.jpeg(img, 70),
            Transform::Resize50 => self.jpeg(&scaled(img, 0.5), 90),
            Transform::Resize25 => self.jpeg(&scaled(img, 0.25), 90),
            Transform::Crop90 => self.jpeg(&centre_crop(img, 0.9), 90),
            Transform::Crop75 => self.jpeg(&centre_crop(img, 0.75), 90),
            Transform::Rot90 => self.jpeg(&image::imageops::rotate90(img), 90),
            Transform::Rot180 => self.jpeg(&image::imageops::rotate180(img), 90),
            Transform::Rot270 => self.jpeg(&image::imageops::rotate270(img), 90),
            Transform::Hflip => self.jpeg(&image::imageops::flip_horizontal(img), 90),
            Transform::Gray => self.jpeg(&luma(img), 90),
            Transform::BlurR2 => self.jpeg(&gaussian_blur(img, 2.0), 90),
            Transform::BrightP30 => self.jpeg(&brightness(img, 1.3), 90),
            Transform::ContrastM30 => self.jpeg(&contrast(img, 0.7), 90),
            Transform::Watermark => self.jpeg(&watermark(img), 90),
            Transform::Letterbox10 => self.jpeg(&letterbox(img, 0.1), 90),
            Transform::Rot5 => self.jpeg(&rotate_bilinear(img, -5.0), 90),
            Transform::Webp => self.webp(img, 80.0),
            Transform::Screenshot => self.png(&screenshot(img)),
            Transform::Meme => self.jpeg(&meme(img), 85),
        }
    }

    fn error(self, reason: impl fmt::Display) -> Error {
        Error::Eval {
            reason: format!("cannot make the {} variant: {reason}", self.name()),
        }
    }

    fn jpeg<I>(self, img: &I, quality: u8) -> Result<Vec<u8>>
    where
        I: GenericImageView,
        I::Pixel: PixelWithColorType,
    {
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(img)
            .map_err(|e| self.error(format_args!("JPEG encoder: {e}")))?;
        Ok(out)
    }

    fn png(self, img: &RgbImage) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        PngEncoder::new(&mut out)
            .write_image(
                img.as_raw(),
                img.width(),
                img.height(),
                image::ExtendedColorType::Rgb8,
            )
            .map_err(|e| self.error(format_args!("PNG encoder: {e}")))?;
        Ok(out)
    }

    /// Lossy WebP through libwebp's `WebPEncode` with the default preset at this quality
    /// (method 4), as Pillow's `save(..., "WEBP", quality=80)` configures it.
    fn webp(self, img: &RgbImage, quality: f32) -> Result<Vec<u8>> {
        let encoded = webp::Encoder::from_rgb(img.as_raw(), img.width(), img.height())
            .encode_simple(false, quality)
            .map_err(|e| self.error(format_args!("WebP encoder: {e:?}")))?;
        Ok(encoded.to_vec())
    }
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a name that is not a transform's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownTransform(pub String);

impl fmt::Display for UnknownTransform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Transform::ALL.iter().map(|t| t.name()).collect();
        write!(
            f,
            "unknown transform {:?} (valid: {})",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownTransform {}

impl FromStr for Transform {
    type Err = UnknownTransform;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Transform::from_name(s).ok_or_else(|| UnknownTransform(s.to_owned()))
    }
}

/// Serialized as its [`Transform::name`].
impl serde::Serialize for Transform {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// `max(1, round(side * scale))` with Python's `round` (halves to even).
fn py_round(side: u32, scale: f64) -> u32 {
    ((f64::from(side) * scale).round_ties_even() as u32).max(1)
}

/// Pillow's `resize((w, h), LANCZOS)` for 8-bit images (`Resample.c`): a Lanczos3 kernel
/// widened by the scale, coefficients normalised to 22-bit fixed point, the horizontal pass
/// (clamped to 8 bits) before the vertical one; a pass whose side does not change is skipped.
fn lanczos(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    let (sw, sh) = img.dimensions();
    let mut current = img.clone();
    if w != sw {
        let taps = resample_coefficients(sw, w);
        current = RgbImage::from_fn(w, sh, |x, y| {
            let (start, k) = &taps[x as usize];
            Rgb(std::array::from_fn(|c| {
                clip8(k.iter().enumerate().map(|(i, &k)| {
                    i64::from(current.get_pixel(*start + i as u32, y)[c]) * i64::from(k)
                }))
            }))
        });
    }
    if h != sh {
        let taps = resample_coefficients(sh, h);
        current = RgbImage::from_fn(current.width(), h, |x, y| {
            let (start, k) = &taps[y as usize];
            Rgb(std::array::from_fn(|c| {
                clip8(k.iter().enumerate().map(|(i, &k)| {
                    i64::from(current.get_pixel(x, *start + i as u32)[c]) * i64::from(k)
                }))
            }))
        });
    }
    current
}

/// Fixed-point bits of Pillow's 8-bit resampling coefficients.
const PRECISION_BITS: u32 = 22;

/// The rounded sum of weighted samples, clamped to 0-255 (Pillow's `clip8`).
fn clip8(products: impl Iterator<Item = i64>) -> u8 {
    let sum = (1i64 << (PRECISION_BITS - 1)) + products.sum::<i64>();
    (sum >> PRECISION_BITS).clamp(0, 255) as u8
}

/// For each output index, the first input index and the fixed-point weights from there
/// (`precompute_coeffs` and `normalize_coeffs_8bpc` of `Resample.c`, Lanczos, whole image).
fn resample_coefficients(in_size: u32, out_size: u32) -> Vec<(u32, Vec<i32>)> {
    fn sinc(x: f64) -> f64 {
        if x == 0.0 {
            1.0
        } else {
            (x * std::f64::consts::PI).sin() / (x * std::f64::consts::PI)
        }
    }
    let lanczos = |x: f64| {
        if (-3.0..3.0).contains(&x) {
            sinc(x) * sinc(x / 3.0)
        } else {
            0.0
        }
    };
    let scale = f64::from(in_size) / f64::from(out_size);
    let filter_scale = scale.max(1.0);
    let support = 3.0 * filter_scale;
    (0..out_size)
        .map(|xx| {
            let centre = (f64::from(xx) + 0.5) * scale;
            // C's (int) casts: truncation, then clamped to the image.
            let min = ((centre - support + 0.5) as i64).max(0);
            let max = ((centre + support + 0.5) as i64).min(i64::from(in_size));
            let mut weights: Vec<f64> = (min..max)
                .map(|x| lanczos((x as f64 - centre + 0.5) * (1.0 / filter_scale)))
                .collect();
            let total: f64 = weights.iter().sum();
            if total != 0.0 {
                weights.iter_mut().for_each(|w| *w /= total);
            }
            let one = f64::from(1u32 << PRECISION_BITS);
            let fixed = weights
                .iter()
                .map(|&w| {
                    if w < 0.0 {
                        (-0.5 + w * one) as i32
                    } else {
                        (0.5 + w * one) as i32
                    }
                })
                .collect();
            (min as u32, fixed)
        })
        .collect()
}

/// The centre crop keeping `share` of the area: each side times `sqrt(share)` (Python's
/// `round`), offset `(side - new) // 2`.
fn centre_crop(img: &RgbImage, share: f64) -> RgbImage {
    let f = share.sqrt();
    let (w, h) = img.dimensions();
    let (cw, ch) = (py_round(w, f).min(w), py_round(h, f).min(h));
    image::imageops::crop_imm(img, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
}

/// Pillow's `convert("L")`: ITU-R 601-2 luma in 16-bit fixed point, rounded.
fn luma(img: &RgbImage) -> GrayImage {
    GrayImage::from_fn(img.width(), img.height(), |x, y| {
        let [r, g, b] = img.get_pixel(x, y).0.map(u32::from);
        image::Luma([((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) as u8])
    })
}

/// Pillow's `Image.blend(a, b, alpha)` for one channel value: `a + alpha * (b - a)` in `f32`,
/// truncated, clamped to 0-255 (Pillow clamps only when `alpha` is outside 0-1, where the
/// result can leave the range).
fn blend(a: u8, b: u8, alpha: f32) -> u8 {
    let v = f32::from(a) + alpha * (f32::from(b) - f32::from(a));
    if v <= 0.0 {
        0
    } else if v >= 255.0 {
        255
    } else {
        v as u8
    }
}

/// `ImageEnhance.Brightness(img).enhance(factor)`: a blend with black.
fn brightness(img: &RgbImage, factor: f32) -> RgbImage {
    let mut out = img.clone();
    out.iter_mut().for_each(|v| *v = blend(0, *v, factor));
    out
}

/// `ImageEnhance.Contrast(img).enhance(factor)`: a blend with the grey `int(mean + 0.5)` of
/// the image's `convert("L")`.
fn contrast(img: &RgbImage, factor: f32) -> RgbImage {
    let grey = luma(img);
    let sum: u64 = grey.iter().map(|&v| u64::from(v)).sum();
    let mean = (sum as f64 / grey.len() as f64 + 0.5) as u8;
    let mut out = img.clone();
    out.iter_mut().for_each(|v| *v = blend(mean, *v, factor));
    out
}

/// Pillow's `GaussianBlur(radius)`: `radius` is the standard deviation, approximated by three
/// box blurs (Gwosdek et al. 2011) of a fractional radius, along rows (all three passes) then
/// along columns, each pass rounded to 8 bits. A port of `ImagingGaussianBlur` (`BoxBlur.c`).
fn gaussian_blur(img: &RgbImage, radius: f32) -> RgbImage {
    const PASSES: usize = 3;
    let box_radius = gaussian_box_radius(radius, PASSES as i32);
    let mut rows = img.clone();
    for _ in 0..PASSES {
        box_blur_rows(&mut rows, box_radius);
    }
    let mut columns = transpose(&rows);
    for _ in 0..PASSES {
        box_blur_rows(&mut columns, box_radius);
    }
    transpose(&columns)
}

/// `_gaussian_blur_radius` of `BoxBlur.c`, with its mix of `float` and `double`.
fn gaussian_box_radius(radius: f32, passes: i32) -> f32 {
    let sigma2 = radius * radius / passes as f32;
    let length = (12.0 * f64::from(sigma2) + 1.0).sqrt() as f32;
    let l = ((f64::from(length) - 1.0) / 2.0).floor() as f32;
    let mut a = (2.0 * l + 1.0) * (l * (l + 1.0) - 3.0 * sigma2);
    a /= 6.0 * (sigma2 - (l + 1.0) * (l + 1.0));
    l + a
}

fn transpose(img: &RgbImage) -> RgbImage {
    RgbImage::from_fn(img.height(), img.width(), |x, y| *img.get_pixel(y, x))
}

/// One box-blur pass along every row (`ImagingHorizontalBoxBlur`): a box of `2r + 1` pixels
/// whose two outer pixels weigh the fractional part, in 24-bit fixed point; pixels past the
/// ends repeat the edge pixel.
fn box_blur_rows(img: &mut RgbImage, float_radius: f32) {
    let radius = float_radius as usize;
    let ww = (16_777_216.0f32 / (float_radius * 2.0 + 1.0)) as u32;
    let fw = (16_777_216 - (radius as u32 * 2 + 1) * ww) / 2;
    let (ww, fw) = (u64::from(ww), u64::from(fw));
    let width = img.width() as usize;
    let last = width - 1;
    let edge_a = (radius + 1).min(width);
    let mut line = vec![0u8; width * 3];
    for row in img.chunks_exact_mut(width * 3) {
        line.copy_from_slice(row);
        for c in 0..3 {
            let px = |x: usize| i64::from(line[x * 3 + c]);
            // The sum over the box centred on pixel -1, edges repeated.
            let mut acc = px(0) * (radius as i64 + 1);
            for x in 0..edge_a.saturating_sub(1) {
                acc += px(x);
            }
            acc += px(last) * (radius as i64 - edge_a as i64 + 1);
            for x in 0..width {
                // Pixel leaving the box (x - r - 1, clamped to 0) and entering (x + r,
                // clamped to the last): the cases Pillow's three loops spell out.
                let leaving = x.saturating_sub(radius + 1);
                let entering = (x + radius).min(last);
                let far = (x + radius + 1).min(last);
                acc += px(entering) - px(leaving);
                let bulk = acc as u64 * ww + (px(leaving) + px(far)) as u64 * fw;
                row[x * 3 + c] = ((bulk + (1 << 23)) >> 24) as u8;
            }
        }
    }
}

/// Pillow's `rotate(angle, resample=BILINEAR)` (anticlockwise degrees, same canvas, black
/// outside): the inverse matrix rounded to 15 decimals, sampled at pixel centres, bilinear
/// with edge clamping, truncated (`ImagingGenericTransform` with `bilinear_filter32RGB`).
fn rotate_bilinear(img: &RgbImage, angle: f64) -> RgbImage {
    let (w, h) = img.dimensions();
    let (wf, hf) = (f64::from(w), f64::from(h));
    let (cx, cy) = (wf / 2.0, hf / 2.0);
    let a = -angle.rem_euclid(360.0).to_radians();
    // Python's round(v, 15): correctly rounded to 15 decimals, as Rust formats.
    let r15 = |v: f64| format!("{v:.15}").parse::<f64>().unwrap_or(v);
    let mut m = [
        r15(a.cos()),
        r15(a.sin()),
        0.0,
        r15(-a.sin()),
        r15(a.cos()),
        0.0,
    ];
    m[2] = m[0] * -cx + m[1] * -cy + m[2] + cx;
    m[5] = m[3] * -cx + m[4] * -cy + m[5] + cy;
    let src = img.as_raw();
    let at =
        |x: i64, y: i64, c: usize| f64::from(src[(y as usize * w as usize + x as usize) * 3 + c]);
    let clip_x = |x: i64| x.clamp(0, i64::from(w) - 1);
    RgbImage::from_fn(w, h, |x, y| {
        let (xo, yo) = (f64::from(x) + 0.5, f64::from(y) + 0.5);
        let xin = m[0] * xo + m[1] * yo + m[2];
        let yin = m[3] * xo + m[4] * yo + m[5];
        if !(0.0..wf).contains(&xin) || !(0.0..hf).contains(&yin) {
            return Rgb([0, 0, 0]);
        }
        let (xin, yin) = (xin - 0.5, yin - 0.5);
        let (xi, yi) = (xin.floor() as i64, yin.floor() as i64);
        let (dx, dy) = (xin - xi as f64, yin - yi as f64);
        let (x0, x1) = (clip_x(xi), clip_x(xi + 1));
        let row0 = yi.clamp(0, i64::from(h) - 1);
        let mut out = [0u8; 3];
        for (c, o) in out.iter_mut().enumerate() {
            let lerp = |a: f64, b: f64, d: f64| a + (b - a) * d;
            let v1 = lerp(at(x0, row0, c), at(x1, row0, c), dx);
            let v2 = if yi + 1 >= 0 && yi + 1 < i64::from(h) {
                lerp(at(x0, yi + 1, c), at(x1, yi + 1, c), dx)
            } else {
                v1
            };
            *o = lerp(v1, v2, dy) as u8;
        }
        Rgb(out)
    })
}

/// Each side times `scale` (Python's `round`, at least 1), Lanczos.
fn scaled(img: &RgbImage, scale: f64) -> RgbImage {
    lanczos(
        img,
        py_round(img.width(), scale),
        py_round(img.height(), scale),
    )
}

/// The screenshot: the image at 70 % centred below a dark title bar with three dots, in a
/// light-grey window the size of the original.
fn screenshot(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let shot = scaled(img, 0.7);
    let bar = py_round(h, 0.06);
    let mut out = RgbImage::from_pixel(w, h, Rgb([235, 235, 235]));
    fill_rect(&mut out, 0, 0, w, bar, [40, 40, 40]);
    let b = f64::from(bar);
    let dots = [[255, 95, 87], [254, 188, 46], [40, 200, 64]];
    for (i, colour) in dots.into_iter().enumerate() {
        fill_disc(
            &mut out,
            b * (0.6 + 0.7 * i as f64),
            b * 0.5,
            b * 0.22,
            colour,
        );
    }
    let x = (w - shot.width()) / 2;
    let y = bar + (h.saturating_sub(bar).saturating_sub(shot.height())) / 2;
    image::imageops::replace(&mut out, &shot, i64::from(x), i64::from(y));
    out
}

/// Black bars of `round(share * h)` rows above and below.
fn letterbox(img: &RgbImage, share: f64) -> RgbImage {
    let (w, h) = img.dimensions();
    let bar = (f64::from(h) * share).round_ties_even() as u32;
    let mut out = RgbImage::new(w, h + 2 * bar);
    image::imageops::replace(&mut out, img, 0, i64::from(bar));
    out
}

/// The watermark: black at alpha 128 composited as Pillow's `alpha_composite` does over a box
/// `round(0.30 w)` x `round(0.09 h)` flush with the bottom-right corner; in it a yellow dot
/// (diameter half the box height, a quarter of it from the left edge) and `SAMPLE` in white,
/// cap height 45 % of the box, from one box height from the left edge.
fn watermark(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let (bw, bh) = (py_round(w, 0.30), py_round(h, 0.09));
    let (x0, y0) = (w - bw, h - bh);
    let mut out = img.clone();
    for y in y0..h {
        for x in x0..w {
            let p = out.get_pixel_mut(x, y);
            p.0 = p.0.map(|v| alpha_composite(v, 0, 128));
        }
    }
    let b = f64::from(bh);
    fill_disc(
        &mut out,
        f64::from(x0) + 0.5 * b,
        f64::from(y0) + 0.5 * b,
        0.25 * b,
        [255, 210, 0],
    );
    let text = TextMask::new("SAMPLE", 0.45 * b, f64::from(bw) - 1.25 * b, 0);
    let ty = i64::from(y0) + (i64::from(bh) - i64::from(text.glyph_height)) / 2;
    text.paint(&mut out, i64::from(x0 + bh), ty, [255, 255, 255], [0, 0, 0]);
    out
}

/// Pillow's `alpha_composite` of a source value at alpha `src_a` over an opaque pixel (7-bit
/// precision integer formula of `AlphaComposite.c`).
fn alpha_composite(dst: u8, src: u8, src_a: u8) -> u8 {
    let sa = u32::from(src_a);
    if sa == 0 {
        return dst;
    }
    let outa255 = sa * 255 + 255 * (255 - sa);
    let coef1 = sa * 255 * 255 * 128 / outa255;
    let coef2 = 255 * 128 - coef1;
    let tmp = u32::from(src) * coef1 + u32::from(dst) * coef2 + (0x80 << 7);
    ((((tmp >> 8) + tmp) >> 8) >> 7) as u8
}

/// The meme: `TOP TEXT` and `BOTTOM TEXT`, white outlined in black, cap height 11 % of the
/// height (narrowed to fit 94 % of the width), 4 % of the height from the top and bottom.
fn meme(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let cap = 0.11 * f64::from(h);
    let outline = if cap < 24.0 { 1 } else { 2 };
    let margin = i64::from((f64::from(h) * 0.04).round_ties_even() as u32);
    let mut out = img.clone();
    for (text, top) in [("TOP TEXT", true), ("BOTTOM TEXT", false)] {
        let mask = TextMask::new(text, cap, 0.94 * f64::from(w), outline);
        let x = (i64::from(w) - i64::from(mask.glyph_width)).div_euclid(2);
        let y = if top {
            margin
        } else {
            i64::from(h) - margin - i64::from(mask.glyph_height)
        };
        mask.paint(&mut out, x, y, [255, 255, 255], [0, 0, 0]);
    }
    out
}

fn fill_rect(img: &mut RgbImage, x0: u32, y0: u32, w: u32, h: u32, colour: [u8; 3]) {
    for y in y0..(y0 + h).min(img.height()) {
        for x in x0..(x0 + w).min(img.width()) {
            img.put_pixel(x, y, Rgb(colour));
        }
    }
}

/// Pillow's filled `ImageDraw.ellipse((cx - r, cy - r, cx + r, cy + r))`: the box truncated
/// to integers, then `Draw.c`'s integer ellipse (`ellipseNew` with `fill`), span by span.
fn fill_disc(img: &mut RgbImage, cx: f64, cy: f64, r: f64, colour: [u8; 3]) {
    let (x0, y0) = ((cx - r) as i64, (cy - r) as i64);
    let (a, b) = ((cx + r) as i64 - x0, (cy + r) as i64 - y0);
    if a < 0 || b < 0 {
        return;
    }
    for (left, y, right) in ellipse_spans(a, b, a + b) {
        let y = y0 + (y + b) / 2;
        if !(0..i64::from(img.height())).contains(&y) {
            continue;
        }
        let left = (x0 + (left + a) / 2).max(0);
        let right = (x0 + (right + a) / 2).min(i64::from(img.width()) - 1);
        for x in left..=right {
            img.put_pixel(x as u32, y as u32, Rgb(colour));
        }
    }
}

/// One quarter of an ellipse with semi-axes `a`, `b` on Pillow's doubled integer grid
/// (`quarter_state` of `Draw.c`), from (a, b % 2) up to (a % 2, b).
struct Quarter {
    a2: i64,
    b2: i64,
    at: (i64, i64),
    end: (i64, i64),
    finished: bool,
}

impl Quarter {
    fn new(a: i64, b: i64) -> Quarter {
        Quarter {
            a2: a * a,
            b2: b * b,
            at: (a, b % 2),
            end: (a % 2, b),
            finished: a < 0 || b < 0,
        }
    }

    /// The current point, then a Bresenham step towards the end.
    fn next(&mut self) -> Option<(i64, i64)> {
        if self.finished {
            return None;
        }
        let current = self.at;
        if current == self.end {
            self.finished = true;
            return Some(current);
        }
        let delta =
            |(x, y): (i64, i64)| (self.a2 * y * y + self.b2 * x * x - self.a2 * self.b2).abs();
        let (cx, cy) = current;
        let mut next = (cx, cy + 2);
        if cx > 1 {
            for candidate in [(cx - 2, cy + 2), (cx - 2, cy)] {
                if delta(next) > delta(candidate) {
                    next = candidate;
                }
            }
        }
        self.at = next;
        Some(current)
    }
}

/// The horizontal spans (left, y, right), on the doubled grid centred on the ellipse, of
/// Pillow's ellipse of width `w` (`ellipse_init` and `ellipse_next`; `w = a + b` fills it).
fn ellipse_spans(a: i64, b: i64, w: i64) -> Vec<(i64, i64, i64)> {
    let leftmost = a % 2;
    let mut outer = Quarter::new(a, b);
    let Some((mut pr, mut py)) = outer.next().filter(|_| w >= 1) else {
        return Vec::new();
    };
    let mut inner = Quarter::new(a - 2 * (w - 1), b - 2 * (w - 1));
    let mut pl = leftmost;
    let mut spans = Vec::new();
    let mut finished = false;
    while !finished {
        let (y, mut l, r) = (py, pl, pr);
        match std::iter::from_fn(|| outer.next()).find(|&(_, cy)| cy > y) {
            Some((cx, cy)) => (pr, py) = (cx, cy),
            None => finished = true,
        }
        pl = leftmost;
        while let Some((cx, cy)) = inner.next() {
            if cy > y {
                pl = cx;
                break;
            }
            l = cx;
        }
        let from = if l == 0 { 2 } else { l };
        if (l > 0 || l < r) && y > 0 {
            spans.push((from, y, r));
        }
        if y > 0 {
            spans.push((-r, y, -l));
        }
        if l > 0 || l < r {
            spans.push((from, -y, r));
        }
        spans.push((-r, -y, -l));
    }
    spans
}

/// The built-in font: 5x7 capitals, one byte a row, bit 4 the leftmost column. Other
/// characters are drawn as spaces.
fn glyph(c: char) -> [u8; 7] {
    match c {
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        _ => [0; 7],
    }
}

/// A line of text in the built-in font, rasterised with anti-aliasing (as FreeType draws
/// Pillow's text): what `watermark` and `meme` draw.
struct TextMask {
    /// Width of the glyphs' box in whole pixels (without the outline): what layout uses.
    glyph_width: u32,
    /// Height of the glyphs' box: the cap height.
    glyph_height: u32,
    /// Outline width; the mask reaches this far past the glyph box on every side.
    outline: u32,
    /// Width of the mask (the glyph box rounded up, plus the outline on both sides).
    width: u32,
    /// Coverage of each mask pixel by the glyphs, 0-255, row-major.
    glyph: Vec<u8>,
    /// Coverage by the outline: the glyph coverage's maximum over a disc of radius
    /// `outline` (empty without an outline).
    ring: Vec<u8>,
}

impl TextMask {
    /// Samples per pixel side when measuring coverage.
    const SUPERSAMPLE: u32 = 4;

    /// `text` with a cap height of `cap_height` pixels, narrowed (keeping proportions) to at
    /// most `max_width` pixels, with an `outline` pixels wide outline. Each font pixel is a
    /// square of side `cap_height / 7`, so any size works; pixels it covers partly get that
    /// share of its colour.
    fn new(text: &str, cap_height: f64, max_width: f64, outline: u32) -> TextMask {
        let chars: Vec<char> = text.chars().collect();
        // Five columns a glyph and one between glyphs.
        let columns = (chars.len() * 6).saturating_sub(1);
        let scale = (cap_height / 7.0)
            .min(max_width / columns.max(1) as f64)
            .max(0.0);
        let extent = |cells: usize| cells as f64 * scale;
        let (glyph_width, glyph_height) = (extent(columns).round(), extent(7).round());
        let (inner_w, inner_h) = (extent(columns).ceil() as u32, extent(7).ceil() as u32);
        let (width, height) = (inner_w + 2 * outline, inner_h + 2 * outline);
        let ink = |fx: f64, fy: f64| {
            let (col, row) = (fx as usize, fy as usize);
            row < 7 && col < columns && col % 6 < 5 && {
                glyph(chars[col / 6])[row] & (0x10 >> (col % 6)) != 0
            }
        };
        let s = Self::SUPERSAMPLE;
        let mut glyph_cov = vec![0u8; width as usize * height as usize];
        for y in 0..inner_h {
            for x in 0..inner_w {
                let mut n = 0;
                for sy in 0..s {
                    for sx in 0..s {
                        let fx = (f64::from(x) + (f64::from(sx) + 0.5) / f64::from(s)) / scale;
                        let fy = (f64::from(y) + (f64::from(sy) + 0.5) / f64::from(s)) / scale;
                        n += u32::from(ink(fx, fy));
                    }
                }
                let i = (y + outline) as usize * width as usize + (x + outline) as usize;
                glyph_cov[i] = ((n * 255 + s * s / 2) / (s * s)) as u8;
            }
        }
        let r = i64::from(outline);
        let mut ring = Vec::new();
        if r > 0 {
            let (w, h) = (i64::from(width), i64::from(height));
            let disc: Vec<(i64, i64)> = (-r..=r)
                .flat_map(|dy| (-r..=r).map(move |dx| (dx, dy)))
                .filter(|(dx, dy)| dx * dx + dy * dy <= r * r + r)
                .collect();
            ring = vec![0u8; glyph_cov.len()];
            for y in 0..h {
                for x in 0..w {
                    ring[(y * w + x) as usize] = disc
                        .iter()
                        .filter(|(dx, dy)| (0..w).contains(&(x + dx)) && (0..h).contains(&(y + dy)))
                        .map(|(dx, dy)| glyph_cov[((y + dy) * w + x + dx) as usize])
                        .max()
                        .unwrap_or(0);
                }
            }
        }
        TextMask {
            glyph_width: glyph_width as u32,
            glyph_height: glyph_height as u32,
            outline,
            width,
            glyph: glyph_cov,
            ring,
        }
    }

    /// Draws the text with the glyph box's top-left corner at (`x`, `y`) (the outline reaches
    /// past it), clipped to the image: the outline colour by the ring's coverage, then the
    /// fill colour by the glyphs'.
    fn paint(&self, img: &mut RgbImage, x: i64, y: i64, fill: [u8; 3], outline: [u8; 3]) {
        let (mw, o) = (i64::from(self.width), i64::from(self.outline));
        let mix = |dst: [u8; 3], src: [u8; 3], a: u8| {
            let a = u32::from(a);
            std::array::from_fn(|c| {
                ((u32::from(dst[c]) * (255 - a) + u32::from(src[c]) * a + 127) / 255) as u8
            })
        };
        for (i, &cover) in self.glyph.iter().enumerate() {
            let ring = self.ring.get(i).copied().unwrap_or(0);
            let (px, py) = (x - o + i as i64 % mw, y - o + i as i64 / mw);
            if (cover == 0 && ring == 0)
                || !(0..i64::from(img.width())).contains(&px)
                || !(0..i64::from(img.height())).contains(&py)
            {
                continue;
            }
            let p = img.get_pixel_mut(px as u32, py as u32);
            p.0 = mix(mix(p.0, outline, ring), fill, cover);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test pattern the Pillow reference values below were computed on (in Python:
    /// `im.putdata([((x*37 + y*11) % 256, (x*x*3 + y*29) % 256, (x*y*7 + 50) % 256) ...])`).
    fn pattern(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            Rgb([
                ((x * 37 + y * 11) % 256) as u8,
                ((x * x * 3 + y * 29) % 256) as u8,
                ((x * y * 7 + 50) % 256) as u8,
            ])
        })
    }

    /// Length and `s = s * 31 + v (mod 2^32)` over the bytes, as computed in Python.
    fn digest(bytes: &[u8]) -> (usize, u32) {
        let s = bytes
            .iter()
            .fold(0u32, |s, &v| s.wrapping_mul(31).wrapping_add(u32::from(v)));
        (bytes.len(), s)
    }

    /// Pillow 13.0.0's results on `pattern(23, 17)` (and its 2x17 left edge for a blur wider
    /// than the image): `convert("L")`, `GaussianBlur(2)`, `Brightness(1.3)`,
    /// `Contrast(0.7)`, `rotate(-5, BILINEAR)`, `alpha_composite` of black at alpha 128,
    /// `resize(size, LANCZOS)`.
    #[test]
    fn pixel_operations_equal_pillow_bit_for_bit() {
        let img = pattern(23, 17);
        assert_eq!(digest(luma(&img).as_raw()), (391, 1837967459));
        assert_eq!(
            digest(gaussian_blur(&img, 2.0).as_raw()),
            (1173, 1778989625)
        );
        assert_eq!(digest(brightness(&img, 1.3).as_raw()), (1173, 3822065992));
        assert_eq!(digest(contrast(&img, 0.7).as_raw()), (1173, 87095317));
        assert_eq!(
            digest(rotate_bilinear(&img, -5.0).as_raw()),
            (1173, 2973028595)
        );
        let mut dark = img.clone();
        dark.iter_mut()
            .for_each(|v| *v = alpha_composite(*v, 0, 128));
        assert_eq!(digest(dark.as_raw()), (1173, 2173625769));
        for ((w, h), expected) in [
            ((6, 4), (72, 3908695301)),
            ((12, 8), (288, 1167274250)),
            ((16, 12), (576, 2321445972)),
            ((23, 8), (552, 1798451351)),
        ] {
            assert_eq!(digest(lanczos(&img, w, h).as_raw()), expected, "{w}x{h}");
        }
        let narrow = image::imageops::crop_imm(&img, 0, 0, 2, 17).to_image();
        assert_eq!(
            digest(gaussian_blur(&narrow, 2.0).as_raw()),
            (102, 4229843796)
        );
    }

    /// Pillow 13.0.0's `ImageDraw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=...)` on a
    /// black 20x12 image (the screenshot's and watermark's dots).
    #[test]
    fn dots_are_pillows_ellipses() {
        let cases = [
            ((6.1, 5.0, 3.9), 30898176),
            ((3.0, 3.0, 0.0), 0),
            ((3.0, 3.0, 0.5), 1722857920),
            ((8.0, 5.5, 2.75), 2611159520),
            ((10.2, 6.3, 6.6), 2293598080),
            ((5.5, 5.5, 1.1), 449864045),
        ];
        for ((cx, cy, r), expected) in cases {
            let mut img = RgbImage::new(20, 12);
            fill_disc(&mut img, cx, cy, r, [255, 210, 0]);
            assert_eq!(digest(img.as_raw()), (720, expected), "{cx} {cy} {r}");
        }
    }

    #[test]
    fn names_round_trip_and_are_the_readmes() {
        let names: Vec<&str> = Transform::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(
            names.join(" "),
            "jpeg_q30 jpeg_q70 resize_50 resize_25 crop_90 crop_75 rot90 rot180 rot270 hflip \
             gray blur_r2 bright_p30 contrast_m30 watermark letterbox10 rot5 webp screenshot meme"
        );
        for t in Transform::ALL {
            assert_eq!(t.to_string().parse::<Transform>(), Ok(t));
            assert_eq!(Transform::from_name(t.name()), Some(t));
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.name())
            );
        }
        let err = "rot45".parse::<Transform>().unwrap_err().to_string();
        assert!(
            err.contains("rot45") && err.contains("jpeg_q30, jpeg_q70") && err.contains("meme")
        );
        assert_eq!(Transform::from_name("Rot90"), None);
        let ext = |t: Transform| t.extension();
        assert_eq!(
            (
                ext(Transform::Webp),
                ext(Transform::Screenshot),
                ext(Transform::Gray)
            ),
            ("webp", "png", "jpg")
        );
    }

    /// Every variant of a 120x100 image decodes, in the format its extension names, at the
    /// size its definition implies.
    #[test]
    fn every_variant_decodes_at_the_expected_size() {
        let (w, h) = (120u32, 100u32);
        let img = pattern(w, h);
        for t in Transform::ALL {
            let bytes = t.apply(&img).unwrap();
            let format = image::guess_format(&bytes).unwrap();
            let expected_format = match t.extension() {
                "webp" => image::ImageFormat::WebP,
                "png" => image::ImageFormat::Png,
                _ => image::ImageFormat::Jpeg,
            };
            assert_eq!(format, expected_format, "{t}");
            let decoded = image::load_from_memory(&bytes).unwrap();
            let size = (decoded.width(), decoded.height());
            match t {
                Transform::Resize50 => assert_eq!(size, (60, 50)),
                Transform::Resize25 => assert_eq!(size, (30, 25)),
                Transform::Crop90 | Transform::Crop75 => {
                    let share = if t == Transform::Crop90 { 0.9 } else { 0.75 };
                    let area = f64::from(size.0 * size.1) / f64::from(w * h);
                    assert!((area - share).abs() < 0.01 * share, "{t}: {size:?}");
                }
                Transform::Rot90 | Transform::Rot270 => assert_eq!(size, (h, w), "{t}"),
                Transform::Letterbox10 => assert_eq!(size, (w, h * 12 / 10)),
                _ => assert_eq!(size, (w, h), "{t}"),
            }
            let grey = t == Transform::Gray;
            assert_eq!(decoded.color() == image::ColorType::L8, grey, "{t}");
        }
    }

    #[test]
    fn webp_is_lossy() {
        let bytes = Transform::Webp.apply(&pattern(64, 48)).unwrap();
        assert_eq!(&bytes[12..16], b"VP8 ", "a lossy VP8 chunk, not VP8L");
    }

    /// Odd sides: Python's `round` halves to even, sizes never reach zero.
    #[test]
    fn sizes_round_as_python_does() {
        assert_eq!(py_round(305, 0.5), 152);
        assert_eq!(py_round(307, 0.5), 154);
        assert_eq!(py_round(3, 0.25), 1);
        assert_eq!(py_round(1, 0.25), 1);
        let crop = centre_crop(&pattern(307, 173), 0.75);
        // round(307 * 0.8660) = 266, round(173 * 0.8660) = 150; offsets (41 // 2, 23 // 2).
        assert_eq!(crop.dimensions(), (266, 150));
        assert_eq!(crop.get_pixel(0, 0), pattern(307, 173).get_pixel(20, 11));
    }

    #[test]
    fn rotations_are_clockwise_and_exact() {
        let img = pattern(5, 3);
        let decoded = |t: Transform| image::load_from_memory(&t.apply(&img).unwrap()).unwrap();
        assert_eq!(decoded(Transform::Rot90).width(), 3);
        // Clockwise 90: the top-left pixel goes to the top-right corner.
        let r = image::imageops::rotate90(&img);
        assert_eq!(r.get_pixel(2, 0), img.get_pixel(0, 0));
        // rot5 turns clockwise too: the image's top edge drops on the right side. A white
        // image on black shows it: the top-right corner becomes black, and so does the
        // bottom-left, but the top-left keeps white a little way in.
        let white = RgbImage::from_pixel(200, 100, Rgb([255, 255, 255]));
        let r5 = rotate_bilinear(&white, -5.0);
        assert_eq!(r5.get_pixel(199, 0).0, [0, 0, 0]);
        assert_eq!(r5.get_pixel(0, 99).0, [0, 0, 0]);
        assert_eq!(r5.get_pixel(20, 0).0, [255, 255, 255]);
        assert_eq!(r5.get_pixel(100, 50).0, [255, 255, 255]);
    }

    #[test]
    fn letterbox_adds_black_rows_and_keeps_the_original() {
        let img = pattern(30, 40);
        let out = letterbox(&img, 0.1);
        assert_eq!(out.dimensions(), (30, 48));
        assert!(out.rows().take(4).flatten().all(|p| p.0 == [0, 0, 0]));
        assert!(out.rows().skip(44).flatten().all(|p| p.0 == [0, 0, 0]));
        assert_eq!(out.get_pixel(7, 4 + 9), img.get_pixel(7, 9));
        let jpeg = Transform::Letterbox10.apply(&img).unwrap();
        let decoded = image::load_from_memory(&jpeg).unwrap().to_rgb8();
        assert!(decoded
            .rows()
            .take(2)
            .flatten()
            .all(|p| p.0.iter().all(|&v| v < 24)));
    }

    #[test]
    fn gray_is_pillows_luma() {
        let img = RgbImage::from_fn(2, 1, |x, _| {
            Rgb(if x == 0 { [255, 0, 0] } else { [10, 200, 30] })
        });
        // (255 * 19595 + 0x8000) >> 16 = 76; (10 * 19595 + 200 * 38470 + 30 * 7471 + 0x8000) >> 16 = 124.
        assert_eq!(luma(&img).as_raw(), &vec![76, 124]);
    }

    #[test]
    fn watermark_darkens_its_box_and_writes_in_it() {
        let (w, h) = (400u32, 300u32);
        let out = watermark(&RgbImage::from_pixel(w, h, Rgb([255, 255, 255])));
        let (bw, bh) = (120, 27);
        // Outside the box: untouched; the box's bottom-right pixel: black at alpha 128.
        assert_eq!(out.get_pixel(w - bw - 1, h - 1).0, [255, 255, 255]);
        assert_eq!(out.get_pixel(w - 1, h - bh).0, [127, 127, 127]);
        assert_eq!(out.get_pixel(w - bw, h - bh).0, [127, 127, 127]);
        let in_box = |x: u32, y: u32| x >= w - bw && y >= h - bh;
        let count = |colour: [u8; 3]| {
            out.enumerate_pixels()
                .filter(|(x, y, p)| p.0 == colour && in_box(*x, *y))
                .count()
        };
        assert!(count([255, 210, 0]) > 20, "a yellow dot");
        assert!(count([255, 255, 255]) > 100, "white text");
        assert_eq!(
            out.enumerate_pixels()
                .filter(|(x, y, p)| p.0 != [255, 255, 255] && !in_box(*x, *y))
                .count(),
            0
        );
    }

    #[test]
    fn meme_captions_sit_in_the_top_and_bottom_bands() {
        let (w, h) = (300u32, 200u32);
        let grey = RgbImage::from_pixel(w, h, Rgb([128, 128, 128]));
        let out = meme(&grey);
        let band = |rows: std::ops::Range<u32>, colour: [u8; 3]| {
            rows.flat_map(|y| (0..w).map(move |x| (x, y)))
                .filter(|&(x, y)| out.get_pixel(x, y).0 == colour)
                .count()
        };
        // Cap height 22 px from row 8 down, and up from row 192.
        for rows in [0..h / 6, h - h / 6..h] {
            assert!(band(rows.clone(), [255, 255, 255]) > 200, "{rows:?}");
            assert!(band(rows, [0, 0, 0]) > 100);
        }
        assert_eq!(band(h / 6..h - h / 6, [255, 255, 255]), 0);
        let text = TextMask::new("TOP TEXT", 22.0, 1000.0, 1);
        assert_eq!((text.glyph_width, text.glyph_height), (148, 22));
        // Narrowed to the width it is given.
        assert!(TextMask::new("BOTTOM TEXT", 22.0, 50.0, 0).glyph_width <= 50);
    }

    #[test]
    fn screenshot_is_a_window_around_the_shrunk_image() {
        let (w, h) = (200u32, 100u32);
        let bytes = Transform::Screenshot
            .apply(&RgbImage::from_pixel(w, h, Rgb([0, 0, 255])))
            .unwrap();
        let out = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(out.dimensions(), (w, h));
        assert_eq!(out.get_pixel(w - 1, 2).0, [40, 40, 40], "title bar");
        assert_eq!(out.get_pixel(w - 1, h - 1).0, [235, 235, 235], "window");
        assert_eq!(out.get_pixel(w / 2, h / 2 + 3).0, [0, 0, 255], "the image");
        let blue = out.pixels().filter(|p| p.0 == [0, 0, 255]).count();
        assert_eq!(blue, 140 * 70);
    }

    #[test]
    fn tiny_and_empty_originals_never_panic() {
        for (w, h) in [(1, 1), (2, 3), (7, 1), (1, 9)] {
            for t in Transform::ALL {
                let bytes = t
                    .apply(&pattern(w, h))
                    .unwrap_or_else(|e| panic!("{t} {w}x{h}: {e}"));
                assert!(image::load_from_memory(&bytes).is_ok(), "{t} {w}x{h}");
            }
        }
        let err = Transform::Rot5.apply(&RgbImage::new(0, 5)).unwrap_err();
        assert!(err.to_string().contains("rot5"), "{err}");
        // Over the formats' limits: errors naming the transform, not panics.
        let err = Transform::Webp
            .apply(&RgbImage::new(16_384, 1))
            .unwrap_err();
        assert!(err.to_string().contains("webp variant"), "{err}");
        let err = Transform::JpegQ70
            .apply(&RgbImage::new(65_536, 1))
            .unwrap_err();
        assert!(err.to_string().contains("jpeg_q70 variant"), "{err}");
    }
}
