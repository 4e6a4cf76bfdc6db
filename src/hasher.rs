//! [`Hasher`]: the configured pipeline from an upload to its PDQ hash: decode, pre-resize
//! policy, PDQ, quality floor.

use std::path::Path;

use crate::decode::{self, DecodeOptions};
use crate::error::{Error, Result};
use crate::hash::pdq::{self, DihedralHashes, LumaMode, PdqFloats, PdqHash};
use crate::pixels::{PixelFormat, PixelView};
use crate::resize::{ResizePolicy, FAST_MIN_DECODE_SIDE};
use crate::robust::enrol::{EnrolOptions, Enrolment};
use crate::robust::{self, RobustHashes, RobustOptions};

/// Everything that decides how an upload is hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HasherConfig {
    /// Decoding limits and EXIF policy.
    pub decode: DecodeOptions,
    /// Pre-resizing policy (default: [`ResizePolicy::Native`], as HMA hashes).
    pub resize: ResizePolicy,
    /// Luma formula (default: [`LumaMode::Reference`], Meta's C++ core).
    pub luma: LumaMode,
    /// Hashes with a quality below this are refused with [`Error::LowQuality`] (default
    /// [`pdq::QUALITY_FLOOR`] = 50; 0 accepts everything).
    pub quality_floor: u8,
}

impl Default for HasherConfig {
    fn default() -> Self {
        HasherConfig {
            decode: DecodeOptions::default(),
            resize: ResizePolicy::default(),
            luma: LumaMode::default(),
            quality_floor: pdq::QUALITY_FLOOR,
        }
    }
}

/// Hashes uploads: bytes, files, decoded images or raw pixels.
///
/// A `Hasher` holds only its configuration: it is cheap to clone, `Send` and `Sync`, and one
/// instance can serve every thread.
///
/// ```
/// use hashmatch::{Hasher, HasherConfig, ResizePolicy};
///
/// let hasher = Hasher::new(HasherConfig { resize: ResizePolicy::Native, ..Default::default() });
/// // A PNG made on the spot; uploads arrive as bytes like these.
/// let img = image::RgbImage::from_fn(200, 120, |x, y| image::Rgb([(x * 7 % 256) as u8, (y * 5) as u8, ((x * y) % 251) as u8]));
/// let mut png = Vec::new();
/// img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
///
/// let result = hasher.hash_bytes(&png)?;
/// println!("{} quality {}", result.hash, result.quality);
/// assert!(result.quality >= 50);
///
/// // Garbage is an error, never a hash.
/// assert!(hasher.hash_bytes(b"not an image").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Hasher {
    config: HasherConfig,
}

impl Hasher {
    /// A hasher with this configuration.
    pub fn new(config: HasherConfig) -> Self {
        Hasher { config }
    }

    /// The configuration.
    pub fn config(&self) -> &HasherConfig {
        &self.config
    }

    /// PDQ of an encoded image (JPEG, PNG, GIF, WebP, BMP, TIFF; sniffed from the bytes).
    ///
    /// # Errors
    /// Any decode error, [`Error::TooSmall`], or [`Error::LowQuality`] below the floor.
    pub fn hash_bytes(&self, bytes: &[u8]) -> Result<PdqHash> {
        self.floats_from_bytes(bytes)
            .map(|f| pdq::hash_from_floats(&f))
    }

    /// PDQ of an image file. The format comes from the bytes, not the name.
    ///
    /// # Errors
    /// As [`Hasher::hash_bytes`], plus [`Error::Io`] naming the path.
    pub fn hash_file(&self, path: impl AsRef<Path>) -> Result<PdqHash> {
        self.floats_from_file(path.as_ref())
            .map(|f| pdq::hash_from_floats(&f))
    }

    /// PDQ of raw pixels (the resize policy still applies).
    ///
    /// # Errors
    /// [`Error::TooSmall`] or [`Error::LowQuality`].
    pub fn hash_pixels(&self, pixels: &PixelView<'_>) -> Result<PdqHash> {
        self.floats_from_pixels(pixels)
            .map(|f| pdq::hash_from_floats(&f))
    }

    /// PDQ of an image already decoded by the `image` crate.
    ///
    /// # Errors
    /// [`Error::TooSmall`] or [`Error::LowQuality`].
    pub fn hash_image(&self, image: &image::DynamicImage) -> Result<PdqHash> {
        self.floats_from_image(image)
            .map(|f| pdq::hash_from_floats(&f))
    }

    /// The eight dihedral hashes of an encoded image (one decode, one DCT).
    ///
    /// # Errors
    /// As [`Hasher::hash_bytes`].
    pub fn dihedral_bytes(&self, bytes: &[u8]) -> Result<DihedralHashes> {
        self.floats_from_bytes(bytes)
            .map(|f| pdq::dihedral_from_floats(&f))
    }

    /// The eight dihedral hashes of an image file.
    ///
    /// # Errors
    /// As [`Hasher::hash_file`].
    pub fn dihedral_file(&self, path: impl AsRef<Path>) -> Result<DihedralHashes> {
        self.floats_from_file(path.as_ref())
            .map(|f| pdq::dihedral_from_floats(&f))
    }

    /// The eight dihedral hashes of raw pixels.
    ///
    /// # Errors
    /// As [`Hasher::hash_pixels`].
    pub fn dihedral_pixels(&self, pixels: &PixelView<'_>) -> Result<DihedralHashes> {
        self.floats_from_pixels(pixels)
            .map(|f| pdq::dihedral_from_floats(&f))
    }

    /// The hashes of a robust query ([`crate::robust`]) of an encoded image: the plain hash
    /// (exactly [`Hasher::hash_bytes`]'s) first, then the extra orientations and regions that
    /// `options` ask for. One decode.
    ///
    /// # Errors
    /// As [`Hasher::hash_bytes`]; [`Error::LowQuality`] only when no hash reaches the floor.
    pub fn robust_bytes(&self, bytes: &[u8], options: &RobustOptions) -> Result<RobustHashes> {
        let decoded = self.decode(bytes)?;
        self.robust_pixels(&decoded.pixels.view(), options)
    }

    /// [`Hasher::robust_bytes`] of an image file.
    ///
    /// # Errors
    /// As [`Hasher::hash_file`].
    pub fn robust_file(
        &self,
        path: impl AsRef<Path>,
        options: &RobustOptions,
    ) -> Result<RobustHashes> {
        let bytes = decode::read_upload(path.as_ref(), &self.config.decode.limits)?;
        self.robust_bytes(&bytes, options)
    }

    /// [`Hasher::robust_bytes`] of raw pixels (the resize policy still applies).
    ///
    /// # Errors
    /// [`Error::TooSmall`], or [`Error::LowQuality`] when no hash reaches the floor.
    pub fn robust_pixels(
        &self,
        pixels: &PixelView<'_>,
        options: &RobustOptions,
    ) -> Result<RobustHashes> {
        let resized = self.config.resize.apply(pixels)?;
        let view = resized.as_ref().map_or(*pixels, |p| p.view());
        robust::hashes(&view, &self.robust_settings(), options)
    }

    /// The hashes to enrol an image the service took down itself ([`crate::robust::enrol`]):
    /// its plain hash (exactly [`Hasher::hash_bytes`]'s) and the extras `options` ask for, for
    /// [`crate::matcher::Matcher::enrol`]. One decode.
    ///
    /// # Errors
    /// As [`Hasher::hash_bytes`]; [`Error::InvalidOption`] for a crop outside 1-99 %.
    pub fn enrolment_bytes(&self, bytes: &[u8], options: &EnrolOptions) -> Result<Enrolment> {
        let decoded = self.decode(bytes)?;
        self.enrolment_pixels(&decoded.pixels.view(), options)
    }

    /// [`Hasher::enrolment_bytes`] of an image file.
    ///
    /// # Errors
    /// As [`Hasher::hash_file`] and [`Hasher::enrolment_bytes`].
    pub fn enrolment_file(
        &self,
        path: impl AsRef<Path>,
        options: &EnrolOptions,
    ) -> Result<Enrolment> {
        let bytes = decode::read_upload(path.as_ref(), &self.config.decode.limits)?;
        self.enrolment_bytes(&bytes, options)
    }

    /// [`Hasher::enrolment_bytes`] of raw pixels (the resize policy still applies).
    ///
    /// # Errors
    /// [`Error::TooSmall`], [`Error::LowQuality`] (of the plain hash),
    /// [`Error::InvalidOption`].
    pub fn enrolment_pixels(
        &self,
        pixels: &PixelView<'_>,
        options: &EnrolOptions,
    ) -> Result<Enrolment> {
        let resized = self.config.resize.apply(pixels)?;
        let view = resized.as_ref().map_or(*pixels, |p| p.view());
        robust::enrol::enrolment(&view, &self.robust_settings(), options)
    }

    fn robust_settings(&self) -> robust::HashSettings {
        robust::HashSettings {
            luma: self.config.luma,
            quality_floor: self.config.quality_floor,
        }
    }

    fn floats_from_file(&self, path: &Path) -> Result<PdqFloats> {
        let bytes = decode::read_upload(path, &self.config.decode.limits)?;
        self.floats_from_bytes(&bytes)
    }

    fn floats_from_bytes(&self, bytes: &[u8]) -> Result<PdqFloats> {
        let decoded = self.decode(bytes)?;
        self.floats_from_pixels(&decoded.pixels.view())
    }

    /// Decodes as the resize policy wants: `hash_bytes(b)` is `hash_pixels` of this (and so
    /// for the dihedral and robust hashes), so one decode can serve several of them.
    pub(crate) fn decode(&self, bytes: &[u8]) -> Result<decode::Decoded> {
        match self.config.resize {
            // A JPEG decoded at a reduced DCT scale skips most of the decoding work.
            ResizePolicy::Fast => {
                decode::decode_reduced(bytes, &self.config.decode, FAST_MIN_DECODE_SIDE)
            }
            ResizePolicy::Native | ResizePolicy::Reference512 => {
                decode::decode(bytes, &self.config.decode)
            }
        }
    }

    fn floats_from_image(&self, image: &image::DynamicImage) -> Result<PdqFloats> {
        let (w, h) = (image.width(), image.height());
        match image {
            image::DynamicImage::ImageRgb8(rgb) => {
                self.floats_from_pixels(&PixelView::packed(rgb, w, h, PixelFormat::Rgb8)?)
            }
            image::DynamicImage::ImageRgba8(rgba) => {
                self.floats_from_pixels(&PixelView::packed(rgba, w, h, PixelFormat::Rgba8)?)
            }
            image::DynamicImage::ImageLuma8(grey) => {
                self.floats_from_pixels(&PixelView::packed(grey, w, h, PixelFormat::Grey8)?)
            }
            other => {
                let pixels = decode::pixels_from_image(other.clone())?;
                self.floats_from_pixels(&pixels.view())
            }
        }
    }

    /// The one place every entry point goes through: policy, PDQ core, quality floor.
    fn floats_from_pixels(&self, pixels: &PixelView<'_>) -> Result<PdqFloats> {
        let resized = self.config.resize.apply(pixels)?;
        let view = resized.as_ref().map_or(*pixels, |p| p.view());
        let floats = pdq::floats(&view, self.config.luma)?;
        if floats.quality < self.config.quality_floor {
            return Err(Error::LowQuality {
                quality: floats.quality,
                floor: self.config.quality_floor,
            });
        }
        Ok(floats)
    }
}
