//! The project's own instrument: how often copies are found and unrelated images flagged.
//!
//! [`transforms`] makes the 20 edited copies of an image that the dev corpus defines (as
//! Pillow makes them), [`measure`] matches copies and originals in each query mode and counts
//! what is found and what is wrongly flagged, and [`report`] prints the counts. The CLI's
//! `hashmatch eval` is this module over a folder of images.

pub mod measure;
pub mod report;
pub mod transforms;
