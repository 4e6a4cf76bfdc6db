//! Robustness evaluation: the edited variants of an image that a match rate is measured on.

pub mod transforms;
