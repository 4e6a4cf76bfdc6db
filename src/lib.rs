//! # hashmatch
//!
//! Recognise known harmful images the moment they are uploaded: hash with Meta's PDQ, bit for
//! bit as the reference computes it, and match against hash lists.
//!
//! ```
//! use hashmatch::{pdq, Hash256, PixelFormat, PixelView};
//!
//! // Pixels from any decoder (or hashmatch's own, see `Hasher`).
//! let (w, h) = (96u32, 80u32);
//! let rgb: Vec<u8> = (0..w * h)
//!     .flat_map(|i| { let (x, y) = (i % w, i / w); [(x * 2) as u8, (y * 3) as u8, ((x ^ y) * 4) as u8] })
//!     .collect();
//! let upload = pdq::hash(&PixelView::packed(&rgb, w, h, PixelFormat::Rgb8)?)?;
//!
//! // A known hash from a shared list, in the ThreatExchange hex layout.
//! let known: Hash256 = upload.hash.to_string().parse()?;
//! assert!(upload.hash.distance(&known) <= pdq::MATCH_THRESHOLD);
//! # Ok::<(), hashmatch::Error>(())
//! ```

pub mod decode;
mod error;
mod fsutil;
pub mod hash;
mod hasher;
pub mod index;
pub mod list;
pub mod matcher;
mod pixels;
pub mod resize;
pub mod snapshot;

pub use decode::{DecodeLimits, DecodeOptions, ExifOrientation, ImageFormat};
pub use error::{Error, HashParseError, Result};
pub use hash::pdq;
pub use hash::Hash256;
pub use hasher::{Hasher, HasherConfig};
pub use index::{HammingIndex, Hit, IndexKind};
pub use pixels::{PixelFormat, PixelView, Pixels};
pub use resize::ResizePolicy;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
