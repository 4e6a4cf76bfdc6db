//! Robust queries: extra hashes of an upload that catch copies plain PDQ misses (rotated,
//! mirrored, letterboxed, shown inside a screenshot), matched against ordinary PDQ lists.
//!
//! Plain PDQ compares the upload as it is. A robust query also hashes
//! - the upload in its eight **orientations**, rotating and mirroring the pixels themselves
//!   ([`orient`]), so PDQ samples a rotated copy exactly as it sampled the original;
//! - the picture inside uniform **bars** (letterbox, pillarbox, padding: [`frame::bars`]);
//! - a picture **embedded** in a larger frame (a screenshot's window, a caption band:
//!   [`frame::embedded`]);
//! - the upload **turned back** when it was turned by a few degrees on its own canvas (black
//!   corners: [`tilt`]);
//!
//! and every orientation of each region found. The plain hash is always the first one and is
//! computed exactly as without the robust mode, so plain matching is unchanged. Each extra hash
//! is one more chance to meet an unrelated entry, so extra hashes match only within
//! [`RobustOptions::extra_threshold`], stricter than the list's own threshold; `hashmatch eval`
//! measures what this finds and what it costs on the user's own images.
//!
//! ```
//! use hashmatch::robust::{self, Region, RobustOptions};
//! use hashmatch::{pdq::Dihedral, PixelFormat, PixelView};
//!
//! // An upload's pixels (here made on the spot).
//! let (w, h) = (120u32, 90u32);
//! let px = |x: u32, y: u32| [(x * 7 + y * 3) as u8, (x * y % 251) as u8, (x * x / 3 + y) as u8];
//! let original: Vec<u8> = (0..w * h).flat_map(|i| px(i % w, i / w)).collect();
//! let original = PixelView::packed(&original, w, h, PixelFormat::Rgb8)?;
//! let hashes = robust::hashes(&original, &Default::default(), &RobustOptions::default())?;
//! // The plain hash comes first; the other seven orientations follow.
//! assert_eq!((hashes.hashes[0].region, hashes.hashes[0].orientation), (Region::Whole, Dihedral::Original));
//! assert_eq!(hashes.hashes.len(), 8);
//! # Ok::<(), hashmatch::Error>(())
//! ```

pub mod enrol;
pub mod frame;
mod orient;
pub mod tilt;

pub use frame::Rect;
pub use orient::orient;

use crate::error::{Error, Result};
use crate::hash::pdq::{self, Dihedral, LumaMode, PdqHash};
use crate::hash::Hash256;
use crate::pixels::PixelView;
use crate::resize;

/// Which part of the upload a hash was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Region {
    /// The whole upload.
    #[default]
    Whole,
    /// The picture inside uniform bars ([`frame::bars`]).
    Bars,
    /// A picture embedded in a larger frame ([`frame::embedded`]).
    Embedded,
    /// The upload turned back by the few degrees it was turned on its own canvas
    /// ([`tilt::detect`]), the lost corners filled in.
    Tilted,
}

impl Region {
    /// Short name: `whole`, `bars`, `embedded`.
    pub const fn name(self) -> &'static str {
        match self {
            Region::Whole => "whole",
            Region::Bars => "bars",
            Region::Embedded => "embedded",
            Region::Tilted => "tilted",
        }
    }
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a robust query hashes beyond the plain hash, and how strictly extra hashes match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RobustOptions {
    /// Hash the eight pixel-space orientations of every region.
    pub orientations: bool,
    /// Hash the picture inside uniform bars, if there are any.
    pub bars: bool,
    /// Hash a picture embedded in a larger frame, if one is found.
    pub embedded: bool,
    /// Hash the upload turned back, if it was turned by a few degrees on its own canvas.
    pub tilt: bool,
    /// Largest distance at which an extra hash (anything but the plain one) matches; the
    /// list's own threshold applies too. Stricter than 31 so that the extra chances do not
    /// raise the false-match rate (see `benches/README.md` for how it was chosen).
    pub extra_threshold: u32,
}

/// The default [`RobustOptions::extra_threshold`].
pub const EXTRA_THRESHOLD: u32 = 31;

/// Images with a longer side above this are box-shrunk to it before the extra hashes are
/// computed (the plain hash always sees the full image): the extras need not be bit-exact, and
/// this bounds their cost on camera-sized photos.
pub const EXTRA_MAX_SIDE: u32 = 1024;

impl Default for RobustOptions {
    fn default() -> Self {
        RobustOptions {
            orientations: true,
            bars: true,
            embedded: true,
            tilt: true,
            extra_threshold: EXTRA_THRESHOLD,
        }
    }
}

impl RobustOptions {
    /// Plain PDQ only: no extra hash.
    pub const PLAIN: RobustOptions = RobustOptions {
        orientations: false,
        bars: false,
        embedded: false,
        tilt: false,
        extra_threshold: 0,
    };
}

/// One hash of a robust query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RobustHash {
    /// The part of the upload hashed.
    pub region: Region,
    /// Where that part is in the upload (`None` for the whole upload). For images over
    /// [`EXTRA_MAX_SIDE`], in the coordinates of the shrunk copy.
    pub rect: Option<Rect>,
    /// What was done to its pixels before hashing.
    pub orientation: Dihedral,
    /// The hash and its quality.
    pub pdq: PdqHash,
}

impl RobustHash {
    /// Whether this is the plain hash (whole upload, as it is).
    pub fn is_plain(&self) -> bool {
        self.steps() == 0
    }

    /// How far this hash is from the upload as it is: 0 for the plain hash, 1 for another
    /// orientation of the whole upload or a region as it is, 2 for another orientation of a
    /// region. The matcher trusts fewer steps first ([`crate::matcher::Matcher::query_robust`]).
    pub fn steps(&self) -> u8 {
        u8::from(self.region != Region::Whole) + u8::from(self.orientation != Dihedral::Original)
    }
}

/// Every hash of one upload's robust query, the plain one first when its quality passes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RobustHashes {
    /// The hashes; only those whose quality reaches the floor.
    pub hashes: Vec<RobustHash>,
    /// [`RobustOptions::extra_threshold`] of the options they were made with: the matcher
    /// applies it to every hash but the plain one.
    pub extra_threshold: u32,
}

impl RobustHashes {
    /// The plain hash, if its quality reached the floor.
    pub fn plain(&self) -> Option<&RobustHash> {
        self.hashes.first().filter(|h| h.is_plain())
    }

    /// The bare hashes, in order.
    pub fn hash_values(&self) -> Vec<Hash256> {
        self.hashes.iter().map(|h| h.pdq.hash).collect()
    }
}

/// Settings of the hashing itself (the [`crate::Hasher`] passes its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashSettings {
    /// Luma formula.
    pub luma: LumaMode,
    /// Hashes below this quality are left out.
    pub quality_floor: u8,
}

impl Default for HashSettings {
    fn default() -> Self {
        HashSettings {
            luma: LumaMode::default(),
            quality_floor: pdq::QUALITY_FLOOR,
        }
    }
}

/// The robust query's hashes of `pixels` (the plain hash first).
///
/// # Errors
/// [`Error::TooSmall`] if the image is too small to hash; [`Error::LowQuality`] if no hash at
/// all reaches the quality floor (the plain hash's quality is reported).
pub fn hashes(
    pixels: &PixelView<'_>,
    settings: &HashSettings,
    options: &RobustOptions,
) -> Result<RobustHashes> {
    let plain = pdq::hash_with(pixels, settings.luma)?;
    let mut out = Vec::new();
    let mut push = |region, rect, orientation, pdq: PdqHash| {
        if pdq.quality >= settings.quality_floor {
            out.push(RobustHash {
                region,
                rect,
                orientation,
                pdq,
            });
        }
    };
    push(Region::Whole, None, Dihedral::Original, plain);

    if *options != RobustOptions::PLAIN {
        let shrunk = resize::box_shrink(pixels, EXTRA_MAX_SIDE)?;
        let work = shrunk.as_ref().map_or(*pixels, |p| p.view());
        let mut regions = vec![(Region::Whole, None)];
        let bars = options.bars.then(|| frame::bars(&work)).flatten();
        if let Some(r) = bars {
            regions.push((Region::Bars, Some(r)));
        }
        if let Some(r) = options.embedded.then(|| frame::embedded(&work)).flatten() {
            if bars.is_none_or(|b| !nearly_same(b, r)) {
                regions.push((Region::Embedded, Some(r)));
            }
        }
        let orientations: &[Dihedral] = if options.orientations {
            &Dihedral::ALL
        } else {
            &[Dihedral::Original]
        };
        for (region, rect) in regions {
            let view = match rect {
                Some(r) => work.crop(r.x, r.y, r.width, r.height)?,
                None => work,
            };
            if view.width() < pdq::MIN_DIMENSION || view.height() < pdq::MIN_DIMENSION {
                continue;
            }
            if region == Region::Whole {
                // The whole upload: orientations in pixel space (the plain hash is there).
                for &o in &orientations[1..] {
                    push(
                        region,
                        rect,
                        o,
                        pdq::hash_with(&orient(&view, o)?.view(), settings.luma)?,
                    );
                }
            } else if options.orientations {
                // A region found inside a frame: its orientations through the DCT shortcut,
                // one PDQ instead of eight for a rarer case (a turned copy inside bars).
                let dihedral = pdq::hash_dihedral(&view, settings.luma)?;
                for (o, hash) in dihedral.iter() {
                    let pdq = PdqHash {
                        hash,
                        quality: dihedral.quality,
                    };
                    push(region, rect, o, pdq);
                }
            } else {
                push(
                    region,
                    rect,
                    Dihedral::Original,
                    pdq::hash_with(&view, settings.luma)?,
                );
            }
        }
        if let Some(degrees) = options.tilt.then(|| tilt::detect(&work)).flatten() {
            let straight = tilt::straighten(&work, degrees)?;
            let hash = pdq::hash_with(&straight.view(), settings.luma)?;
            push(Region::Tilted, None, Dihedral::Original, hash);
        }
    }
    if out.is_empty() {
        return Err(Error::LowQuality {
            quality: plain.quality,
            floor: settings.quality_floor,
        });
    }
    Ok(RobustHashes {
        hashes: out,
        extra_threshold: options.extra_threshold,
    })
}

/// Whether two rectangles differ by at most 1 % of their size on every edge.
fn nearly_same(a: Rect, b: Rect) -> bool {
    let tol = |len: u32| (len / 100).max(1);
    let (tw, th) = (tol(a.width.max(b.width)), tol(a.height.max(b.height)));
    a.x.abs_diff(b.x) <= tw
        && (a.x + a.width).abs_diff(b.x + b.width) <= tw
        && a.y.abs_diff(b.y) <= th
        && (a.y + a.height).abs_diff(b.y + b.height) <= th
}
