//! Perceptual hash algorithms and their value types.
//!
//! One algorithm per module; the value types ([`Hash256`]) know nothing about images and are
//! shared by the matching side.

mod hash256;
pub mod pdq;

pub use hash256::Hash256;
