//! Video: vPDQ hashing (one PDQ hash per sampled frame) and matching videos against video lists.
//!
//! vPDQ, Meta's video hash, is a bag of per-frame PDQ hashes: every `seconds_per_hash * fps`-th
//! decoded frame (one per second by default) is hashed with PDQ, and the record keeps the frame
//! number, its quality and a timestamp. Known videos are shared as such records (the
//! reference's `frame,quality,hash,timestamp` lines, [`mod@file`]), and a video matches a known one
//! when enough of its distinct, good-quality frames are within PDQ's distance of the known
//! video's frames ([`compare()`]; python-threatexchange's rules). [`VideoIndex`] finds the
//! candidates through the matching engine's exact index instead of comparing every pair of
//! videos.
//!
//! Frames come from the caller's own decoder ([`VideoHasher`]) or, with the `video` feature (on
//! by default), from the built-in pure-Rust MP4/H.264 decoder ([`decode`], [`hash_file`]),
//! which reproduces the reference's sample hashes.
//!
//! ```
//! use hashmatch::video::{VideoHasher, VideoHasherConfig};
//! use hashmatch::{PixelFormat, PixelView};
//!
//! // A 2-second, 10 fps "video" from the caller's decoder: one hash per second (frames 0, 10).
//! let mut hasher = VideoHasher::new(10.0, VideoHasherConfig::default())?;
//! for n in 0..20u32 {
//!     let rgb: Vec<u8> = (0..64 * 48 * 3).map(|i| ((i as u32 * 7 + n * 3) % 251) as u8).collect();
//!     hasher.push_frame(&PixelView::packed(&rgb, 64, 48, PixelFormat::Rgb8)?)?;
//! }
//! let video = hasher.finish();
//! assert_eq!(video.frame_count, 20);
//! let sampled: Vec<u64> = video.features.iter().map(|f| f.frame_number).collect();
//! assert_eq!(sampled, [0, 10]);
//! assert_eq!(video.features[1].timestamp, 1.0);
//! # Ok::<(), hashmatch::Error>(())
//! ```

pub mod compare;
mod container;
#[cfg(feature = "video")]
pub mod decode;
mod digest;
mod feature;
#[cfg(feature = "ffmpeg")]
pub mod ffmpeg;
pub mod file;
mod hasher;
mod index;
mod limits;
mod pipeline;
#[cfg(feature = "video")]
mod yuv;

pub use compare::{compare, VideoMatchOptions, VideoSimilarity};
pub use container::Container;
pub use digest::VideoMd5;
pub use feature::{VideoHash, VpdqFeature};
pub use hasher::{VideoHasher, VideoHasherConfig};
pub use index::{VideoIndex, VideoMatch};
pub use limits::VideoLimits;
#[cfg(feature = "video")]
pub use pipeline::hash_decoder;
pub use pipeline::{hash_bytes, hash_file};
