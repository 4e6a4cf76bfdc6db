//! # hashmatch
//!
//! Recognise known harmful images the moment they are uploaded: hash with Meta's PDQ, bit for
//! bit as the reference computes it, and match exactly against hash lists that name the list
//! and entry of every match.
//!
//! ```
//! use hashmatch::list::Entry;
//! use hashmatch::matcher::{ListSettings, Matcher, QueryOptions};
//! use hashmatch::{Hasher, PixelFormat, PixelView};
//!
//! // An upload's pixels (`Hasher::hash_bytes` and `hash_file` decode JPEG, PNG, ... themselves).
//! let (w, h) = (200u32, 120u32);
//! let rgb: Vec<u8> = (0..w * h)
//!     .flat_map(|i| { let (x, y) = (i % w, i / w); [(x * 7 % 256) as u8, (y * 5) as u8, (x * y % 251) as u8] })
//!     .collect();
//! let upload = Hasher::default().hash_pixels(&PixelView::packed(&rgb, w, h, PixelFormat::Rgb8)?)?;
//!
//! // A hotline's list: hashes only, each with the id the list gave it.
//! let matcher = Matcher::new();
//! matcher.add_list("hotline", ListSettings::default())?;
//! let unrelated = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22".parse()?;
//! matcher.insert("hotline", Entry { hash: unrelated, id: 17, label: None })?;
//! matcher.insert("hotline", Entry { hash: upload.hash, id: 18, label: Some("case 4".into()) })?;
//!
//! let found = matcher.query(&upload, &QueryOptions::default())?;
//! assert_eq!(found.len(), 1);
//! assert_eq!((&*found[0].list, found[0].entry_id, found[0].distance), ("hotline", 18, 0));
//! # Ok::<(), hashmatch::Error>(())
//! ```

mod column;
pub mod decode;
mod error;
#[cfg(feature = "eval")]
pub mod eval;
pub mod ffi;
mod fsutil;
pub mod hash;
mod hasher;
pub mod index;
pub mod list;
pub mod matcher;
mod pixels;
pub mod report;
pub mod resize;
pub mod robust;
pub mod snapshot;
pub mod video;

pub use decode::{DecodeLimits, DecodeOptions, ExifOrientation, ImageFormat};
pub use error::{Error, HashParseError, MatcherErrorKind, Result};
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
