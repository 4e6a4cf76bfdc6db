//! Untrusted bytes to pixels: format sniffing, size limits, decoder panics caught, and the
//! reference's pixel conventions (alpha dropped, palette and CMYK to RGB, grey kept grey, EXIF
//! orientation ignored unless asked for).

use std::io::Cursor;
use std::path::Path;

use crate::error::{Error, Result};
use crate::pixels::{PixelFormat, Pixels};

/// Image formats hashmatch decodes, recognised from their leading bytes (never the file name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImageFormat {
    /// JPEG (baseline, progressive, grey, YCbCr, CMYK/YCCK).
    Jpeg,
    /// PNG (any bit depth and colour type; APNG gives the first frame).
    Png,
    /// GIF (the first frame).
    Gif,
    /// WebP (lossy or lossless; the first frame of an animation).
    Webp,
    /// Windows BMP.
    Bmp,
    /// TIFF.
    Tiff,
}

impl ImageFormat {
    /// Lower-case name, as used in messages.
    pub const fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
            ImageFormat::Gif => "GIF",
            ImageFormat::Webp => "WebP",
            ImageFormat::Bmp => "BMP",
            ImageFormat::Tiff => "TIFF",
        }
    }

    /// The format of `bytes`, from their magic number, or `None`.
    pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
        match image::guess_format(bytes).ok()? {
            image::ImageFormat::Jpeg => Some(ImageFormat::Jpeg),
            image::ImageFormat::Png => Some(ImageFormat::Png),
            image::ImageFormat::Gif => Some(ImageFormat::Gif),
            image::ImageFormat::WebP => Some(ImageFormat::Webp),
            image::ImageFormat::Bmp => Some(ImageFormat::Bmp),
            image::ImageFormat::Tiff => Some(ImageFormat::Tiff),
            _ => None,
        }
    }

    fn to_image(self) -> image::ImageFormat {
        match self {
            ImageFormat::Jpeg => image::ImageFormat::Jpeg,
            ImageFormat::Png => image::ImageFormat::Png,
            ImageFormat::Gif => image::ImageFormat::Gif,
            ImageFormat::Webp => image::ImageFormat::WebP,
            ImageFormat::Bmp => image::ImageFormat::Bmp,
            ImageFormat::Tiff => image::ImageFormat::Tiff,
        }
    }
}

/// Bounds on what an upload may cost. A value over a limit fails with [`Error::TooLarge`]
/// before the pixels are allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest encoded input accepted, in bytes.
    pub max_input_bytes: u64,
    /// Widest image accepted, in pixels.
    pub max_width: u32,
    /// Tallest image accepted, in pixels.
    pub max_height: u32,
    /// Most pixels accepted (width x height).
    pub max_pixels: u64,
    /// Most memory a decoder may allocate, in bytes.
    pub max_alloc_bytes: u64,
}

impl Default for DecodeLimits {
    /// 256 MiB of input, 32768 pixels a side, 128 megapixels, 1 GiB of decoder memory: room
    /// for any camera or panorama, not for a decompression bomb.
    fn default() -> Self {
        DecodeLimits {
            max_input_bytes: 256 << 20,
            max_width: 32768,
            max_height: 32768,
            max_pixels: 128_000_000,
            max_alloc_bytes: 1 << 30,
        }
    }
}

/// Whether to apply the EXIF orientation tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExifOrientation {
    /// Hash the pixels as stored, as every PDQ reference (C++, Java, Python, HMA) does. The
    /// default: lists shared by the industry were hashed this way.
    #[default]
    Ignore,
    /// Rotate or flip as the tag says before hashing (not reference-compatible).
    Apply,
}

/// How to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeOptions {
    /// Size limits.
    pub limits: DecodeLimits,
    /// EXIF orientation policy.
    pub exif: ExifOrientation,
}

/// A decoded image and the format it was sniffed as.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The pixels: [`PixelFormat::Rgb8`], [`PixelFormat::Rgba8`] or [`PixelFormat::Grey8`].
    pub pixels: Pixels,
    /// The format the bytes were in.
    pub format: ImageFormat,
}

/// Decodes an uploaded image at full resolution, with the reference's pixel conventions.
///
/// The format is sniffed from the leading bytes; the input size, the header's dimensions and the
/// decoder's memory estimate are checked against [`DecodeOptions::limits`] before any pixel buffer
/// is allocated; a panicking decoder is caught. Conventions (those of `research/pdq.md` §7):
///
/// * JPEG goes through libjpeg-turbo (feature `turbojpeg`, on by default) with the TurboJPEG
///   defaults (accurate integer DCT, fancy upsampling), which gives exactly Pillow's pixels and so
///   HMA's hashes. Greyscale JPEG gives [`PixelFormat::Grey8`]; CMYK and YCCK JPEG are read with
///   Adobe (inverted) polarity and converted to RGB with Pillow's formula. A JPEG that
///   libjpeg-turbo warns about is an error here: a truncated one (Pillow refuses it too), and
///   any other warning (corrupt data skipped), where Pillow may still return pixels. Without
///   the feature, JPEG goes through `image` (zune-jpeg),
///   whose pixels differ from Pillow's by a few levels (a few PDQ bits on some files).
/// * Alpha is kept in the buffer ([`PixelFormat::Rgba8`]) and never composited: the hasher
///   ignores it, as every reference does.
/// * Grey and grey + alpha give [`PixelFormat::Grey8`] (luma = value); palette images give their
///   colours (never the indices).
/// * 16-bit samples become `v >> 8`. This is **not** reference behaviour: the references
///   disagree with each other on 16-bit grey (the C++ CLI keeps the low byte, Pillow/HMA clamp
///   to 255); for 16-bit RGB PNG `v >> 8` is what Pillow does. Floating-point TIFF samples are
///   clamped to 0..=1 and scaled to 0..=255.
/// * Animated GIF, PNG (APNG) and WebP give their first frame.
/// * EXIF orientation is ignored unless [`DecodeOptions::exif`] is
///   [`ExifOrientation::Apply`].
///
/// # Errors
/// [`Error::UnknownFormat`], [`Error::TooLarge`], [`Error::DecoderLimit`], [`Error::Decode`] or
/// [`Error::DecoderPanicked`]; never a partial image.
pub fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<Decoded> {
    decode_inner(bytes, options, None)
}

/// Decodes an uploaded image, letting JPEG decode at a reduced size: for the "Fast" hashing
/// policy of high-volume services. **Not reference-exact by design.**
///
/// A JPEG is decoded with libjpeg-turbo's DCT scaling at the smallest of the factors 1/8, 1/4
/// and 1/2 whose shorter output side (rounded up, as libjpeg does) is still at least `min_side`
/// pixels, or at full size if none is. Scaled decoding skips most of the inverse DCT and
/// upsampling work, so it is several times faster, but the pixels are not those of a full
/// decode followed by any resize, so the hash may differ by a few bits from the reference's. It
/// equals what Pillow gives after `Image.draft("RGB", size)` asks for the same scale. EXIF
/// orientation, limits and conventions are as in [`decode`]; limits apply to the full-size
/// header dimensions, so both functions accept and reject the same inputs.
///
/// Other formats, lossless JPEG, and JPEG without the `turbojpeg` feature decode at full size
/// exactly as [`decode`] does.
///
/// # Errors
/// As [`decode`].
pub fn decode_reduced(bytes: &[u8], options: &DecodeOptions, min_side: u32) -> Result<Decoded> {
    decode_inner(bytes, options, Some(min_side))
}

/// Reads and decodes a file (the size limit is checked before reading), as [`decode`].
///
/// # Errors
/// [`Error::Io`] naming the path, or any error of [`decode`].
pub fn decode_file(path: &Path, options: &DecodeOptions) -> Result<Decoded> {
    decode(&read_upload(path, &options.limits)?, options)
}

/// Reads a file of at most [`DecodeLimits::max_input_bytes`]: a larger file (even one that
/// grows while it is read) is [`Error::TooLarge`] and is never read whole into memory.
///
/// # Errors
/// [`Error::Io`] naming the path, or [`Error::TooLarge`].
pub fn read_upload(path: &Path, limits: &DecodeLimits) -> Result<Vec<u8>> {
    use std::io::Read;
    let io_error = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let len = file.metadata().map_err(io_error)?.len();
    check_input_size(len, limits)?;
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limits.max_input_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    check_input_size(bytes.len() as u64, limits)?;
    Ok(bytes)
}

fn decode_inner(bytes: &[u8], options: &DecodeOptions, min_side: Option<u32>) -> Result<Decoded> {
    check_input_size(bytes.len() as u64, &options.limits)?;
    let format = ImageFormat::sniff(bytes).ok_or_else(|| unknown_format(bytes))?;
    let pixels = catch_decoder_panic(format, || match format {
        #[cfg(feature = "turbojpeg")]
        ImageFormat::Jpeg => turbo::decode_jpeg(bytes, options, min_side),
        _ => {
            let _ = min_side;
            decode_with_image(bytes, format, options)
        }
    })?;
    Ok(Decoded { pixels, format })
}

fn check_input_size(len: u64, limits: &DecodeLimits) -> Result<()> {
    if len > limits.max_input_bytes {
        return Err(Error::TooLarge {
            what: "input size in bytes",
            actual: len,
            limit: limits.max_input_bytes,
        });
    }
    Ok(())
}

fn check_alloc(bytes: u64, limits: &DecodeLimits) -> Result<()> {
    if bytes > limits.max_alloc_bytes {
        return Err(Error::TooLarge {
            what: "decoded size in bytes",
            actual: bytes,
            limit: limits.max_alloc_bytes,
        });
    }
    Ok(())
}

fn unknown_format(bytes: &[u8]) -> Error {
    let magic: String = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Error::UnknownFormat {
        magic: if magic.is_empty() {
            "none, the input is empty".to_string()
        } else {
            magic
        },
    }
}

fn catch_decoder_panic<T>(format: ImageFormat, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(Error::DecoderPanicked {
            format: format.name(),
            message,
        })
    })
}

fn decode_with_image(bytes: &[u8], format: ImageFormat, options: &DecodeOptions) -> Result<Pixels> {
    use image::ImageDecoder;
    let decode_error = |e: image::ImageError| match e {
        image::ImageError::Limits(l) => Error::DecoderLimit {
            format: format.name(),
            limit: options.limits.max_alloc_bytes,
            message: l.to_string(),
        },
        other => Error::Decode {
            format: format.name(),
            message: other.to_string(),
        },
    };
    // `image`'s JPEG decoder fills missing scan data with grey instead of failing; a truncated
    // upload must never be hashed as if it were whole (libjpeg-turbo and Pillow refuse it).
    if format == ImageFormat::Jpeg {
        if let Err(message) = jpeg_structure_complete(bytes) {
            return Err(Error::Decode {
                format: format.name(),
                message,
            });
        }
    }
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format.to_image());
    // The byte budget goes to the decoders (they bound their internal buffers with it). The
    // dimensions are checked by `check_dimensions` just below instead of through `image`'s
    // strict width/height limits, so that an oversized header gives `Error::TooLarge` with the
    // actual numbers: `into_decoder` only parses headers (none of the six decoders allocates
    // pixel memory before `read_image`).
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(options.limits.max_alloc_bytes);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (w, h) = decoder.dimensions();
    check_dimensions(w, h, &options.limits)?;
    // `into_decoder` + `from_decoder` never checks `max_alloc` itself (image-rs/image#3081).
    check_alloc(decoder.total_bytes(), &options.limits)?;
    let orientation = match options.exif {
        ExifOrientation::Ignore => image::metadata::Orientation::NoTransforms,
        ExifOrientation::Apply => decoder
            .orientation()
            .unwrap_or(image::metadata::Orientation::NoTransforms),
    };
    let mut img = image::DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    img.apply_orientation(orientation);
    pixels_from_image(img)
}

/// Checks the header's dimensions against the limits.
pub(crate) fn check_dimensions(w: u32, h: u32, limits: &DecodeLimits) -> Result<()> {
    if w > limits.max_width {
        return Err(Error::TooLarge {
            what: "image width",
            actual: w.into(),
            limit: limits.max_width.into(),
        });
    }
    if h > limits.max_height {
        return Err(Error::TooLarge {
            what: "image height",
            actual: h.into(),
            limit: limits.max_height.into(),
        });
    }
    let pixels = u64::from(w) * u64::from(h);
    if pixels > limits.max_pixels {
        return Err(Error::TooLarge {
            what: "pixel count",
            actual: pixels,
            limit: limits.max_pixels,
        });
    }
    Ok(())
}

/// Converts an image decoded by the `image` crate with the conventions of [`decode`]: grey
/// stays grey (luma = value), alpha is kept in the buffer and ignored by the hasher, 16-bit
/// samples become `v >> 8`, other layouts become 8-bit RGB.
///
/// # Errors
/// [`Error::InvalidPixels`] for an empty image.
pub fn pixels_from_image(img: image::DynamicImage) -> Result<Pixels> {
    use image::DynamicImage as D;
    let (w, h) = (img.width(), img.height());
    let high_byte = |v: &u16| (v >> 8) as u8;
    match img {
        D::ImageLuma8(g) => Pixels::new(g.into_raw(), w, h, PixelFormat::Grey8),
        D::ImageLumaA8(g) => {
            let grey = g.as_raw().chunks_exact(2).map(|p| p[0]).collect();
            Pixels::new(grey, w, h, PixelFormat::Grey8)
        }
        D::ImageLuma16(g) => {
            let grey = g.as_raw().iter().map(high_byte).collect();
            Pixels::new(grey, w, h, PixelFormat::Grey8)
        }
        D::ImageLumaA16(g) => {
            let grey = g.as_raw().iter().step_by(2).map(high_byte).collect();
            Pixels::new(grey, w, h, PixelFormat::Grey8)
        }
        D::ImageRgb8(c) => Pixels::new(c.into_raw(), w, h, PixelFormat::Rgb8),
        D::ImageRgba8(c) => Pixels::new(c.into_raw(), w, h, PixelFormat::Rgba8),
        D::ImageRgb16(c) => {
            let rgb = c.as_raw().iter().map(high_byte).collect();
            Pixels::new(rgb, w, h, PixelFormat::Rgb8)
        }
        D::ImageRgba16(c) => {
            let rgba = c.as_raw().iter().map(high_byte).collect();
            Pixels::new(rgba, w, h, PixelFormat::Rgba8)
        }
        // 32-bit float (TIFF): clamped to 0..=1 and scaled by `image`.
        other => Pixels::new(other.to_rgb8().into_raw(), w, h, PixelFormat::Rgb8),
    }
}

/// JPEG through libjpeg-turbo: exactly Pillow's pixels.
#[cfg(feature = "turbojpeg")]
mod turbo {
    use turbojpeg::{Colorspace, Decompressor, Image, ScalingFactor};

    use super::{check_alloc, check_dimensions, pixels_from_image, DecodeOptions, ExifOrientation};
    use crate::error::{Error, Result};
    use crate::pixels::{PixelFormat, Pixels};

    /// Most scans a progressive JPEG may have. Each scan of a progressive JPEG is a pass over the
    /// whole image, so a file of tiny scans is a CPU bomb; libjpeg-turbo recommends a limit
    /// (`djpeg -maxscans`), real encoders write about 10.
    const MAX_SCANS: u32 = 500;

    fn error(e: turbojpeg::Error) -> Error {
        Error::Decode {
            format: "JPEG",
            message: e.to_string(),
        }
    }

    /// Decodes a JPEG; `min_side` asks for DCT scaling (see `decode_reduced`).
    pub(super) fn decode_jpeg(
        bytes: &[u8],
        options: &DecodeOptions,
        min_side: Option<u32>,
    ) -> Result<Pixels> {
        let mut decompressor = Decompressor::new().map_err(error)?;
        let header = decompressor.read_header(bytes).map_err(error)?;
        let too_wide = |_| Error::Decode {
            format: "JPEG",
            message: "dimensions overflow".to_string(),
        };
        let w = u32::try_from(header.width).map_err(too_wide)?;
        let h = u32::try_from(header.height).map_err(too_wide)?;
        check_dimensions(w, h, &options.limits)?;

        let scale = match min_side {
            Some(min_side) if !header.is_lossless => choose_scale(w, h, min_side),
            _ => ScalingFactor::ONE,
        };
        let (sw, sh) = (scale.scale(header.width), scale.scale(header.height));
        let (out_format, bytes_per_pixel, components) = match header.colorspace {
            Colorspace::Gray => (turbojpeg::PixelFormat::GRAY, 1, 1),
            Colorspace::RGB | Colorspace::YCbCr => (turbojpeg::PixelFormat::RGB, 3, 3),
            // The CMYK buffer, then the RGB one.
            Colorspace::CMYK | Colorspace::YCCK => (turbojpeg::PixelFormat::CMYK, 4 + 3, 4),
        };
        let mut needed = (sw as u64) * (sh as u64) * bytes_per_pixel;
        if header.is_progressive {
            // A progressive JPEG keeps every DCT coefficient of the full-size image (2 bytes
            // each) until the last scan. Chroma planes are smaller when subsampled.
            let (sx, sy) = header.subsamp.size();
            let padded = u64::from(w.div_ceil(8) * 8 + 8) * u64::from(h.div_ceil(8) * 8 + 8);
            let chroma = (components - 1).min(2) as u64;
            let full = components as u64 - chroma;
            needed += 2 * (full * padded + chroma * padded / (sx * sy) as u64);
        }
        check_alloc(needed, &options.limits)?;

        decompressor.set_scaling_factor(scale).map_err(error)?;
        decompressor.set_scan_limit(MAX_SCANS).map_err(error)?;
        let pitch = sw * out_format.size();
        let mut image = Image {
            pixels: vec![0u8; pitch * sh],
            width: sw,
            pitch,
            height: sh,
            format: out_format,
        };
        decompressor
            .decompress(bytes, image.as_deref_mut())
            .map_err(error)?;
        let (sw, sh) = (sw as u32, sh as u32);
        let pixels = match out_format {
            turbojpeg::PixelFormat::GRAY => Pixels::new(image.pixels, sw, sh, PixelFormat::Grey8)?,
            turbojpeg::PixelFormat::RGB => Pixels::new(image.pixels, sw, sh, PixelFormat::Rgb8)?,
            _ => Pixels::new(cmyk_to_rgb(&image.pixels), sw, sh, PixelFormat::Rgb8)?,
        };
        match options.exif {
            ExifOrientation::Ignore => Ok(pixels),
            ExifOrientation::Apply => match super::jpeg_exif_orientation(bytes) {
                None | Some(image::metadata::Orientation::NoTransforms) => Ok(pixels),
                Some(orientation) => {
                    let mut img = super::to_dynamic(pixels)?;
                    img.apply_orientation(orientation);
                    pixels_from_image(img)
                }
            },
        }
    }

    /// The smallest of 1/8, 1/4, 1/2 whose shorter side is still `>= min_side`, else 1.
    fn choose_scale(w: u32, h: u32, min_side: u32) -> ScalingFactor {
        [
            ScalingFactor::ONE_EIGHTH,
            ScalingFactor::ONE_QUARTER,
            ScalingFactor::ONE_HALF,
        ]
        .into_iter()
        .find(|s| s.scale(w as usize).min(s.scale(h as usize)) >= min_side as usize)
        .unwrap_or(ScalingFactor::ONE)
    }

    /// Adobe-inverted CMYK (as libjpeg-turbo returns it) to RGB, exactly as Pillow does: its
    /// JPEG plugin reads 4-component JPEG as `CMYK;I` (inverted, "assume adobe conventions")
    /// and `convert("RGB")` is `cmyk2rgb` in `libImaging/Convert.c`.
    fn cmyk_to_rgb(inverted_cmyk: &[u8]) -> Vec<u8> {
        // MULDIV255 of libImaging: a * b / 255, rounded.
        fn muldiv255(a: u32, b: u32) -> u32 {
            let tmp = a * b + 128;
            ((tmp >> 8) + tmp) >> 8
        }
        let mut rgb = Vec::with_capacity(inverted_cmyk.len() / 4 * 3);
        for p in inverted_cmyk.chunks_exact(4) {
            let [c, m, y, k] = [p[0], p[1], p[2], p[3]].map(|v| u32::from(255 - v));
            let nk = 255 - k;
            // muldiv255(x, nk) <= nk, so the result is in 0..=255.
            rgb.extend([c, m, y].map(|x| (nk - muldiv255(x, nk)) as u8));
        }
        rgb
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn scale_choice() {
            assert_eq!(choose_scale(1600, 1004, 100), ScalingFactor::ONE_EIGHTH);
            assert_eq!(choose_scale(1600, 1004, 126), ScalingFactor::ONE_EIGHTH);
            assert_eq!(choose_scale(1600, 1004, 127), ScalingFactor::ONE_QUARTER);
            assert_eq!(choose_scale(1600, 1004, 502), ScalingFactor::ONE_HALF);
            assert_eq!(choose_scale(1600, 1004, 503), ScalingFactor::ONE);
            assert_eq!(choose_scale(10, 10, 0), ScalingFactor::ONE_EIGHTH);
        }

        #[test]
        fn cmyk_formula() {
            // Inverted CMYK: 255 = no ink. No ink at all is white; full K is black.
            assert_eq!(cmyk_to_rgb(&[255, 255, 255, 255]), [255, 255, 255]);
            assert_eq!(cmyk_to_rgb(&[255, 255, 255, 0]), [0, 0, 0]);
            // Full cyan, no black: red channel 0.
            assert_eq!(cmyk_to_rgb(&[0, 255, 255, 255]), [0, 255, 255]);
            // Half cyan, half black: c = k = 128, nk = 127, MULDIV255(128, 127) = 64.
            assert_eq!(cmyk_to_rgb(&[127, 255, 255, 127]), [63, 127, 127]);
        }
    }
}

/// Wraps decoded pixels as an `image` buffer (to reuse its orientation transforms).
#[cfg(feature = "turbojpeg")]
fn to_dynamic(pixels: Pixels) -> Result<image::DynamicImage> {
    let (w, h, format) = (pixels.width(), pixels.height(), pixels.format());
    let data = pixels.into_bytes();
    let img = match format {
        PixelFormat::Grey8 => image::GrayImage::from_raw(w, h, data).map(Into::into),
        PixelFormat::Rgb8 => image::RgbImage::from_raw(w, h, data).map(Into::into),
        PixelFormat::Rgba8 => image::RgbaImage::from_raw(w, h, data).map(Into::into),
    };
    img.ok_or_else(|| Error::InvalidPixels {
        reason: format!("{w}x{h} {format:?} buffer has the wrong length"),
    })
}

/// The EXIF orientation of a JPEG: the first APP1 `Exif` segment before the first scan, as
/// Pillow's `exif_transpose` reads it. `None` if there is none or it is unreadable.
/// Walks a JPEG's markers from SOI to EOI, skipping segment payloads and entropy-coded scan
/// data (where `FF` is stuffed as `FF 00` and only restart markers `FF D0..D7` appear), and
/// reports where the file ends early.
fn jpeg_structure_complete(bytes: &[u8]) -> std::result::Result<(), String> {
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return Err("missing start-of-image marker".to_string());
    }
    let mut i = 2;
    let mut in_scan = false;
    while i < bytes.len() {
        if in_scan {
            // Find the next marker that is not stuffing or a restart marker.
            match bytes[i..].iter().position(|&b| b == 0xFF) {
                None => break,
                Some(offset) => i += offset,
            }
            // Fill bytes: any number of FF before a marker code.
            while i + 1 < bytes.len() && bytes[i + 1] == 0xFF {
                i += 1;
            }
            let Some(&code) = bytes.get(i + 1) else { break };
            if code == 0x00 || (0xD0..=0xD7).contains(&code) {
                i += 2;
                continue;
            }
            in_scan = false;
        }
        if bytes[i] != 0xFF {
            return Err(format!(
                "expected a marker at byte {i}, found {:#04x}",
                bytes[i]
            ));
        }
        let Some(&code) = bytes.get(i + 1) else { break };
        match code {
            0xD9 => return Ok(()),
            0xFF => i += 1,               // fill byte
            0x01 | 0xD0..=0xD7 => i += 2, // markers without a payload
            _ => {
                let Some(len) = bytes.get(i + 2..i + 4) else {
                    break;
                };
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                if len < 2 {
                    return Err(format!("segment at byte {i} has an invalid length {len}"));
                }
                i += 2 + len;
                in_scan = code == 0xDA;
            }
        }
    }
    Err(format!(
        "the file ends after {} bytes without an end-of-image marker (truncated)",
        bytes.len()
    ))
}

#[cfg(feature = "turbojpeg")]
fn jpeg_exif_orientation(bytes: &[u8]) -> Option<image::metadata::Orientation> {
    let mut i = 2; // after SOI
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        match marker {
            0xFF => i += 1,               // fill byte
            0x01 | 0xD0..=0xD8 => i += 2, // markers without a length
            0xD9 | 0xDA => return None,   // end of image, start of scan
            _ => {
                let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
                let segment = bytes.get(i + 4..i + 2 + len.max(2))?;
                if marker == 0xE1 {
                    if let Some(tiff) = segment.strip_prefix(b"Exif\0\0") {
                        return image::metadata::Orientation::from_exif_chunk(tiff);
                    }
                }
                i += 2 + len.max(2);
            }
        }
    }
    None
}
