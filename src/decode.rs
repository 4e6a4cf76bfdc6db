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

/// Decodes an uploaded image.
///
/// # Errors
/// [`Error::UnknownFormat`], [`Error::TooLarge`], [`Error::Decode`] or
/// [`Error::DecoderPanicked`]; never a partial image.
pub fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<Decoded> {
    check_input_size(bytes.len() as u64, &options.limits)?;
    let format = ImageFormat::sniff(bytes).ok_or_else(|| unknown_format(bytes))?;
    let pixels = catch_decoder_panic(format, || decode_with_image(bytes, format, options))?;
    Ok(Decoded { pixels, format })
}

/// Reads and decodes a file (the size limit is checked before reading).
///
/// # Errors
/// [`Error::Io`] naming the path, or any error of [`decode`].
pub fn decode_file(path: &Path, options: &DecodeOptions) -> Result<Decoded> {
    let io_error = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io_error)?.len();
    check_input_size(len, &options.limits)?;
    let bytes = std::fs::read(path).map_err(io_error)?;
    decode(&bytes, options)
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
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format.to_image());
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(options.limits.max_width);
    limits.max_image_height = Some(options.limits.max_height);
    limits.max_alloc = Some(options.limits.max_alloc_bytes);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    use image::ImageDecoder;
    let (w, h) = decoder.dimensions();
    check_dimensions(w, h, &options.limits)?;
    let orientation = match options.exif {
        ExifOrientation::Ignore => image::metadata::Orientation::NoTransforms,
        ExifOrientation::Apply => decoder
            .orientation()
            .unwrap_or(image::metadata::Orientation::NoTransforms),
    };
    let total = decoder.total_bytes();
    if total > options.limits.max_alloc_bytes {
        return Err(Error::TooLarge {
            what: "decoded size in bytes",
            actual: total,
            limit: options.limits.max_alloc_bytes,
        });
    }
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

/// Converts an image decoded by the `image` crate with the reference conventions: grey stays
/// grey (luma = value), alpha is kept in the buffer and ignored by the hasher, other layouts
/// become 8-bit RGB.
///
/// # Errors
/// [`Error::InvalidPixels`] for an empty image.
pub fn pixels_from_image(img: image::DynamicImage) -> Result<Pixels> {
    use image::DynamicImage as D;
    let (w, h) = (img.width(), img.height());
    match img {
        D::ImageLuma8(g) => Pixels::new(g.into_raw(), w, h, PixelFormat::Grey8),
        D::ImageLumaA8(_) | D::ImageLuma16(_) | D::ImageLumaA16(_) => {
            Pixels::new(img.to_luma8().into_raw(), w, h, PixelFormat::Grey8)
        }
        D::ImageRgb8(c) => Pixels::new(c.into_raw(), w, h, PixelFormat::Rgb8),
        D::ImageRgba8(c) => Pixels::new(c.into_raw(), w, h, PixelFormat::Rgba8),
        other => Pixels::new(other.to_rgb8().into_raw(), w, h, PixelFormat::Rgb8),
    }
}
