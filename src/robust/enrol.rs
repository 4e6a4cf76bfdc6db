//! Enrolment hashes: extra hashes a platform stores for an image it took down itself.
//!
//! A shared list holds one hash per image, computed from the original. When a service adds an
//! image it removed, it still has the pixels, so it can store more than that one hash: the
//! picture inside its uniform bars or frame, centre crops of it, and on request its other
//! orientations. A later copy that was cropped, trimmed or turned then lies close to one of them even
//! where it is far from the original's hash. The entry keeps one identity: a match on any of
//! its hashes reports the entry ([`crate::matcher::Matcher::enrol`]), naming the [`Variant`]
//! that matched.
//!
//! ```
//! use hashmatch::robust::enrol::{self, EnrolOptions, Variant};
//! use hashmatch::{PixelFormat, PixelView};
//!
//! let (w, h) = (120u32, 90u32);
//! let px = |x: u32, y: u32| [(x * 7 + y * 3) as u8, (x * y % 251) as u8, (x * x / 3 + y) as u8];
//! let image: Vec<u8> = (0..w * h).flat_map(|i| px(i % w, i / w)).collect();
//! let image = PixelView::packed(&image, w, h, PixelFormat::Rgb8)?;
//! let enrolment = enrol::enrolment(&image, &Default::default(), &EnrolOptions::default())?;
//! // The entry's own hash is the plain PDQ hash; the extras name what they were made from.
//! assert_eq!(enrolment.hash, hashmatch::pdq::hash(&image)?);
//! assert!(enrolment.extras.iter().any(|e| e.variant == Variant::CentreCrop(77)));
//! # Ok::<(), hashmatch::Error>(())
//! ```

use super::{frame, orient, HashSettings, EXTRA_MAX_SIDE};
use crate::error::{Error, Result};
use crate::hash::pdq::{self, Dihedral, PdqHash};
use crate::hash::Hash256;
use crate::pixels::PixelView;
use crate::resize;

/// Which of an entry's hashes a stored hash is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// The entry's own hash, as listed (every entry has it).
    #[default]
    Listed,
    /// The image in another orientation (never [`Dihedral::Original`]).
    Oriented(Dihedral),
    /// The picture inside the image's uniform bars or frame ([`frame::bars`],
    /// [`frame::embedded`]).
    Trimmed,
    /// A centre crop keeping this percentage of the area (1-99), same aspect ratio.
    CentreCrop(u8),
}

/// Codes of [`Variant::code`]: 0 listed, 1-7 oriented (the position in [`Dihedral::ALL`]),
/// 8 trimmed, 128 + p a centre crop keeping p % of the area.
const TRIMMED: u8 = 8;
const CROP_BASE: u8 = 128;

impl Variant {
    /// The variant as one byte, as stored per entry in a snapshot: 0 listed, 1-7 oriented
    /// (the orientation's position in [`Dihedral::ALL`]), 8 trimmed, 128 + p a centre crop of
    /// p % of the area.
    pub fn code(self) -> u8 {
        match self {
            Variant::Listed => 0,
            Variant::Oriented(o) => Dihedral::ALL.iter().position(|&d| d == o).unwrap_or(0) as u8,
            Variant::Trimmed => TRIMMED,
            Variant::CentreCrop(p) => CROP_BASE + p,
        }
    }

    /// The variant of a [`Variant::code`], `None` for a byte that is no variant's code.
    pub fn from_code(code: u8) -> Option<Variant> {
        match code {
            0 => Some(Variant::Listed),
            1..=7 => Some(Variant::Oriented(Dihedral::ALL[code as usize])),
            TRIMMED => Some(Variant::Trimmed),
            c if (CROP_BASE + 1..CROP_BASE + 100).contains(&c) => {
                Some(Variant::CentreCrop(c - CROP_BASE))
            }
            _ => None,
        }
    }

    /// Whether this is a valid extra hash's variant (anything but [`Variant::Listed`], with an
    /// orientation other than the original and a crop of 1-99 %).
    pub fn is_extra(self) -> bool {
        self != Variant::Listed && Variant::from_code(self.code()) == Some(self)
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Variant::Listed => f.write_str("listed"),
            Variant::Oriented(o) => write!(f, "oriented-{}", o.name()),
            Variant::Trimmed => f.write_str("trimmed"),
            Variant::CentreCrop(p) => write!(f, "crop-{p}"),
        }
    }
}

/// What [`enrolment`] hashes beyond the image itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EnrolOptions {
    /// The seven other orientations of the image. Off by default: a robust query finds turned
    /// and mirrored copies by itself, trusting them only when nothing nearer matches, while
    /// stored orientations match in every query; on the dev corpus they doubled the uploads
    /// with an unrelated match (look-alike clip art turned the other way). For services that
    /// query only plainly.
    pub orientations: bool,
    /// The picture inside uniform bars or a frame, when the image has one.
    pub trimmed: bool,
    /// Centre crops, each keeping this percentage of the area (1-99).
    pub crops: Vec<u8>,
}

/// The default centre crops, as shares of the area: each side 96 %, 92 %, ... 76 % long.
/// PDQ tells a crop from its original once a few percent of each side are gone (on the dev
/// corpus, a centre crop keeping 98 % of each side is within 31 bits of the original for 87 % of
/// the images, 97 % for 53 %, 95 % for 5 %), so the rungs are 4 % of a side apart: a crop
/// between two of them is at most 2 % of a side from one.
pub const DEFAULT_CROPS: [u8; 6] = [92, 85, 77, 71, 64, 58];

/// At most this many extra hashes per entry.
pub const MAX_EXTRAS: usize = 64;

impl Default for EnrolOptions {
    fn default() -> Self {
        EnrolOptions {
            orientations: false,
            trimmed: true,
            crops: DEFAULT_CROPS.to_vec(),
        }
    }
}

impl EnrolOptions {
    /// Checks that every crop keeps 1-99 % of the area.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the first crop that does not.
    pub fn check(&self) -> Result<()> {
        match self.crops.iter().find(|&&p| !(1..=99).contains(&p)) {
            Some(&bad) => Err(Error::InvalidOption {
                reason: format!("an enrolment crop keeps {bad} % of the area; it must be 1-99"),
            }),
            None => Ok(()),
        }
    }
}

/// One extra hash of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct EnrolledHash {
    /// What it was computed from.
    pub variant: Variant,
    /// The hash and its quality.
    pub pdq: PdqHash,
}

/// An image's hashes for enrolment: its own PDQ hash and the extras.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Enrolment {
    /// The image's plain PDQ hash, bit-exact (the entry's listed hash).
    pub hash: PdqHash,
    /// The extra hashes whose quality reaches the floor, each distinct from the others and
    /// from `hash`.
    pub extras: Vec<EnrolledHash>,
}

impl Enrolment {
    /// The extras as `(variant, hash)` pairs, as [`crate::matcher::Matcher::enrol`] takes them.
    pub fn extra_hashes(&self) -> Vec<(Variant, Hash256)> {
        self.extras
            .iter()
            .map(|e| (e.variant, e.pdq.hash))
            .collect()
    }
}

/// The enrolment hashes of `pixels`: its plain hash and the extras `options` ask for.
///
/// # Errors
/// [`Error::TooSmall`] if the image is too small to hash; [`Error::LowQuality`] if its plain
/// hash is below the quality floor (an entry is listed by that hash);
/// [`Error::InvalidOption`] for a crop outside 1-99 %.
pub fn enrolment(
    pixels: &PixelView<'_>,
    settings: &HashSettings,
    options: &EnrolOptions,
) -> Result<Enrolment> {
    options.check()?;
    let hash = pdq::hash_with(pixels, settings.luma)?;
    if hash.quality < settings.quality_floor {
        return Err(Error::LowQuality {
            quality: hash.quality,
            floor: settings.quality_floor,
        });
    }
    let shrunk = resize::box_shrink(pixels, EXTRA_MAX_SIDE)?;
    let work = shrunk.as_ref().map_or(*pixels, |p| p.view());
    let mut extras: Vec<EnrolledHash> = Vec::new();
    let mut push = |variant, view: &PixelView<'_>| -> Result<()> {
        if view.width() < pdq::MIN_DIMENSION || view.height() < pdq::MIN_DIMENSION {
            return Ok(());
        }
        let pdq = pdq::hash_with(view, settings.luma)?;
        let new = pdq.hash != hash.hash && extras.iter().all(|e| e.pdq.hash != pdq.hash);
        if pdq.quality >= settings.quality_floor && new {
            extras.push(EnrolledHash { variant, pdq });
        }
        Ok(())
    };
    if options.orientations {
        for &o in &Dihedral::ALL[1..] {
            push(Variant::Oriented(o), &orient(&work, o)?.view())?;
        }
    }
    if options.trimmed {
        if let Some(r) = frame::bars(&work).or_else(|| frame::embedded(&work)) {
            push(Variant::Trimmed, &work.crop(r.x, r.y, r.width, r.height)?)?;
        }
    }
    for &percent in &options.crops {
        let side = (f64::from(percent) / 100.0).sqrt();
        let (w, h) = (work.width(), work.height());
        let (cw, ch) = (
            ((f64::from(w) * side).round() as u32).max(1),
            ((f64::from(h) * side).round() as u32).max(1),
        );
        push(
            Variant::CentreCrop(percent),
            &work.crop((w - cw) / 2, (h - ch) / 2, cw, ch)?,
        )?;
    }
    extras.truncate(MAX_EXTRAS);
    Ok(Enrolment { hash, extras })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_round_trips_through_its_code_and_no_other_byte_decodes() {
        let mut variants = vec![Variant::Listed, Variant::Trimmed];
        variants.extend(Dihedral::ALL[1..].iter().map(|&o| Variant::Oriented(o)));
        variants.extend((1..=99).map(Variant::CentreCrop));
        for &v in &variants {
            assert_eq!(Variant::from_code(v.code()), Some(v), "{v}");
            assert_eq!(v.is_extra(), v != Variant::Listed, "{v}");
        }
        let decoding = (0..=255u8)
            .filter(|&c| Variant::from_code(c).is_some())
            .count();
        assert_eq!(decoding, variants.len());
        assert!(!Variant::Oriented(Dihedral::Original).is_extra());
        assert!(!Variant::CentreCrop(0).is_extra());
        assert!(!Variant::CentreCrop(100).is_extra());
    }
}
