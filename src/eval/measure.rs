//! Error rates of each query mode on a set of originals and their transformed copies.
//!
//! The originals are hashed plainly and put in one list, as a hotline's list would hold them
//! (and, for the enrolled modes, enrolled with extra hashes in a second list, as a platform
//! would store its own takedowns: [`Matcher::enrol`]).
//! Every upload (each original itself, and each transformed copy) is then queried in every
//! mode through [`Matcher`], the code path a service uses, and counted:
//! - **found**: its own original matches within the threshold;
//! - **found, nearest**: found, and no other original is strictly closer;
//! - **unrelated pairs**: (upload, other original) pairs within the threshold, the pair
//!   false-match rate's numerator;
//! - **uploads with an unrelated match**: uploads where any other original matches.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::hash::pdq::PdqHash;
use crate::hasher::Hasher;
use crate::list::Entry;
use crate::matcher::{ListSettings, Match, Matcher, QueryOptions};
use crate::pixels::PixelView;
use crate::robust::enrol::EnrolOptions;
use crate::robust::RobustOptions;

/// A way of querying an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Mode {
    /// Plain PDQ: the upload as it is.
    Plain,
    /// The eight orientations through the DCT shortcut ([`Matcher::query_dihedral`]).
    DctDihedral,
    /// A robust query ([`Matcher::query_robust`]) with these options.
    Robust(RobustOptions),
    /// A robust query with these options ([`RobustOptions::PLAIN`]: a plain query) against
    /// the originals enrolled with extra hashes ([`Plan::enrol`], [`Matcher::enrol`]).
    Enrolled(RobustOptions),
}

impl Mode {
    /// The modes `hashmatch eval` compares by default: plain, the DCT shortcut, each part of
    /// the robust mode alone (pixel-space orientations; bars and embedded pictures; tilt),
    /// the whole robust mode, and plain and robust queries against enrolled originals.
    pub fn standard() -> Vec<(String, Mode)> {
        let only = RobustOptions {
            extra_threshold: crate::robust::EXTRA_THRESHOLD,
            ..RobustOptions::PLAIN
        };
        vec![
            ("plain".into(), Mode::Plain),
            ("dct-dihedral".into(), Mode::DctDihedral),
            (
                "orientations".into(),
                Mode::Robust(RobustOptions {
                    orientations: true,
                    ..only
                }),
            ),
            (
                "frames".into(),
                Mode::Robust(RobustOptions {
                    bars: true,
                    embedded: true,
                    ..only
                }),
            ),
            (
                "tilt".into(),
                Mode::Robust(RobustOptions { tilt: true, ..only }),
            ),
            ("robust".into(), Mode::Robust(RobustOptions::default())),
            ("enrolled".into(), Mode::Enrolled(RobustOptions::PLAIN)),
            (
                "enrolled-robust".into(),
                Mode::Enrolled(RobustOptions::default()),
            ),
        ]
    }
}

/// One upload to evaluate: the bytes of an original or of a transformed copy of it.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Which original it comes from (index into the originals).
    pub original: usize,
    /// The transform's name (`"original"` for the original itself).
    pub transform: String,
    /// The encoded image.
    pub bytes: Vec<u8>,
}

/// Counts for one transform, mode and threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Uploads evaluated (including those that could not be hashed).
    pub uploads: u64,
    /// Uploads whose own original matched.
    pub found: u64,
    /// ... and was the nearest original.
    pub found_nearest: u64,
    /// (upload, unrelated original) pairs that matched.
    pub unrelated_pairs: u64,
    /// Uploads with at least one unrelated original matching.
    pub uploads_with_unrelated: u64,
    /// Uploads no hash of which reached the quality floor (never found).
    pub low_quality: u64,
    /// Uploads that failed to decode or hash (never found).
    pub failed: u64,
}

impl Counts {
    /// Adds `o` to these counts.
    pub fn add(&mut self, o: &Counts) {
        self.uploads += o.uploads;
        self.found += o.found;
        self.found_nearest += o.found_nearest;
        self.unrelated_pairs += o.unrelated_pairs;
        self.uploads_with_unrelated += o.uploads_with_unrelated;
        self.low_quality += o.low_quality;
        self.failed += o.failed;
    }
}

/// The result of an evaluation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// Number of originals in the list.
    pub originals: usize,
    /// Originals that could not be hashed, left out of the list (with the reason).
    pub skipped_originals: Vec<(String, String)>,
    /// The thresholds evaluated.
    pub thresholds: Vec<u32>,
    /// Mode names, in order.
    pub modes: Vec<String>,
    /// Transform names in the order they were first met (`"original"` first).
    pub transforms: Vec<String>,
    /// Counts per transform name, then mode, then threshold (same order as `modes` and
    /// `thresholds`).
    pub counts: BTreeMap<String, Vec<Vec<Counts>>>,
}

impl Evaluation {
    /// Counts of one transform, mode and threshold.
    pub fn get(&self, transform: &str, mode: usize, threshold: usize) -> Option<&Counts> {
        self.counts.get(transform)?.get(mode)?.get(threshold)
    }

    /// Counts summed over every transform except `"original"`.
    pub fn all_transforms(&self, mode: usize, threshold: usize) -> Counts {
        let mut sum = Counts::default();
        for (name, per_mode) in &self.counts {
            if name != ORIGINAL {
                sum.add(&per_mode[mode][threshold]);
            }
        }
        sum
    }

    /// The pair false-match rate: unrelated pairs over all (upload, other original) pairs.
    pub fn pair_rate(&self, c: &Counts) -> f64 {
        let pairs = c.uploads as f64 * self.originals.saturating_sub(1) as f64;
        if pairs == 0.0 {
            0.0
        } else {
            c.unrelated_pairs as f64 / pairs
        }
    }
}

/// The transform name of the originals themselves.
pub const ORIGINAL: &str = "original";

/// What to evaluate.
pub struct Plan<'a> {
    /// The hasher for originals and uploads (its quality floor applies to uploads; originals
    /// are listed whatever their quality, as a list made by the reference would hold them).
    pub hasher: Hasher,
    /// Named modes.
    pub modes: Vec<(String, Mode)>,
    /// Thresholds, each evaluated in every mode.
    pub thresholds: Vec<u32>,
    /// The extra hashes of each original for the [`Mode::Enrolled`] modes.
    pub enrol: EnrolOptions,
    /// Called once per original when its uploads are done (for a progress bar).
    pub progress: &'a (dyn Fn() + Sync),
}

/// Evaluates `plan` on the originals (name and encoded bytes) and the uploads each one's
/// `variants` produces (called once per original, in parallel; it returns the transformed
/// copies, or an error for one that could not be made, which counts as failed).
///
/// # Errors
/// [`Error::Eval`] if no original can be hashed or no threshold or mode is given;
/// [`Error::InvalidOption`] for an enrolment crop outside 1-99 %.
pub fn evaluate<V>(
    originals: &[(String, Vec<u8>)],
    variants: V,
    plan: &Plan<'_>,
) -> Result<Evaluation>
where
    V: Fn(usize, &[u8]) -> Vec<(String, Result<Vec<u8>>)> + Sync,
{
    if plan.thresholds.is_empty() || plan.modes.is_empty() {
        return Err(Error::Eval {
            reason: "at least one threshold and one mode are needed".into(),
        });
    }
    let max_t = *plan.thresholds.iter().max().unwrap_or(&0);
    // The list: every original that can be hashed (quality floor 0), entry id = its index.
    let list_hasher = Hasher::new(crate::HasherConfig {
        quality_floor: 0,
        ..*plan.hasher.config()
    });
    let hashed: Vec<std::result::Result<PdqHash, String>> = originals
        .par_iter()
        .map(|(_, bytes)| list_hasher.hash_bytes(bytes).map_err(|e| e.to_string()))
        .collect();
    let matcher = originals_list(max_t)?;
    let mut skipped = Vec::new();
    let mut entries = Vec::new();
    for (i, h) in hashed.iter().enumerate() {
        match h {
            Ok(h) => entries.push(Entry {
                hash: h.hash,
                id: i as u64,
                label: None,
            }),
            Err(e) => skipped.push((originals[i].0.clone(), e.clone())),
        }
    }
    if entries.is_empty() {
        return Err(Error::Eval {
            reason: format!("none of the {} originals could be hashed", originals.len()),
        });
    }
    let listed = entries.len();
    matcher.insert_many("originals", entries)?;
    plan.enrol.check()?;
    let enrolled = if plan
        .modes
        .iter()
        .any(|(_, m)| matches!(m, Mode::Enrolled(_)))
    {
        enrolled_list(originals, &hashed, &list_hasher, plan, max_t)?
    } else {
        Matcher::new()
    };

    let per_original: Vec<Vec<(String, Vec<Vec<Counts>>)>> = (0..originals.len())
        .into_par_iter()
        .filter(|&i| hashed[i].is_ok())
        .map(|i| {
            let mut uploads = vec![(ORIGINAL.to_string(), Ok(originals[i].1.clone()))];
            uploads.extend(variants(i, &originals[i].1));
            let mut out = Vec::new();
            for (transform, bytes) in uploads {
                // One decode per upload, hashed in every mode (`hash_bytes` is `hash_pixels`
                // of `Hasher::decode`).
                let decoded = bytes.and_then(|b| plan.hasher.decode(&b));
                let pixels = decoded.as_ref().map(|d| d.pixels.view());
                let counts: Vec<Vec<Counts>> = plan
                    .modes
                    .iter()
                    .map(|(_, mode)| {
                        let list = match mode {
                            Mode::Enrolled(_) => &enrolled,
                            _ => &matcher,
                        };
                        count_upload(list, plan, *mode, i, pixels.as_ref().map_err(|e| *e))
                    })
                    .collect();
                out.push((transform, counts));
            }
            (plan.progress)();
            out
        })
        .collect();

    let mut counts: BTreeMap<String, Vec<Vec<Counts>>> = BTreeMap::new();
    let mut transforms = Vec::new();
    for one in per_original {
        for (transform, per_mode) in one {
            if !counts.contains_key(&transform) {
                transforms.push(transform.clone());
            }
            let sum = counts.entry(transform).or_insert_with(|| {
                vec![vec![Counts::default(); plan.thresholds.len()]; plan.modes.len()]
            });
            for (s, c) in sum.iter_mut().flatten().zip(per_mode.iter().flatten()) {
                s.add(c);
            }
        }
    }
    Ok(Evaluation {
        originals: listed,
        skipped_originals: skipped,
        thresholds: plan.thresholds.clone(),
        modes: plan.modes.iter().map(|(n, _)| n.clone()).collect(),
        transforms,
        counts,
    })
}

/// An empty matcher with the list "originals": the largest evaluated threshold, robust
/// matches accepted.
fn originals_list(threshold: u32) -> Result<Matcher> {
    let matcher = Matcher::new();
    matcher.add_list(
        "originals",
        ListSettings {
            threshold,
            enabled: true,
            robust: true,
        },
    )?;
    Ok(matcher)
}

/// The originals that could be hashed, each enrolled with the extra hashes `plan.enrol` asks
/// for (an original whose extras cannot be made is listed by its plain hash alone).
fn enrolled_list(
    originals: &[(String, Vec<u8>)],
    hashed: &[std::result::Result<PdqHash, String>],
    list_hasher: &Hasher,
    plan: &Plan<'_>,
    threshold: u32,
) -> Result<Matcher> {
    let matcher = originals_list(threshold)?;
    let extras: Vec<Option<Vec<_>>> = originals
        .par_iter()
        .zip(hashed)
        .map(|((_, bytes), hash)| {
            hash.as_ref().ok()?;
            let enrolment = list_hasher.enrolment_bytes(bytes, &plan.enrol).ok();
            Some(enrolment.map_or_else(Vec::new, |e| e.extra_hashes()))
        })
        .collect();
    for (i, (hash, extras)) in hashed.iter().zip(extras).enumerate() {
        if let (Ok(hash), Some(extras)) = (hash, extras) {
            let entry = Entry {
                hash: hash.hash,
                id: i as u64,
                label: None,
            };
            matcher.enrol("originals", entry, &extras)?;
        }
    }
    Ok(matcher)
}

/// One upload in one mode, at every threshold.
fn count_upload(
    matcher: &Matcher,
    plan: &Plan<'_>,
    mode: Mode,
    own: usize,
    pixels: std::result::Result<&PixelView<'_>, &Error>,
) -> Vec<Counts> {
    let n = plan.thresholds.len();
    let one = |f: fn(&mut Counts)| {
        let mut c = Counts {
            uploads: 1,
            ..Counts::default()
        };
        f(&mut c);
        vec![c; n]
    };
    let Ok(pixels) = pixels else {
        return one(|c| c.failed = 1);
    };
    let options = QueryOptions {
        quality_floor: plan.hasher.config().quality_floor,
    };
    let found: Result<Vec<Match>> = match mode {
        Mode::Plain => plan
            .hasher
            .hash_pixels(pixels)
            .and_then(|h| matcher.query(&h, &options)),
        Mode::DctDihedral => plan
            .hasher
            .dihedral_pixels(pixels)
            .and_then(|h| matcher.query_dihedral(&h, &options)),
        Mode::Robust(robust) | Mode::Enrolled(robust) => plan
            .hasher
            .robust_pixels(pixels, &robust)
            .and_then(|h| matcher.query_robust(&h, &options)),
    };
    let found = match found {
        Ok(found) => found,
        Err(Error::LowQuality { .. }) => return one(|c| c.low_quality = 1),
        Err(_) => return one(|c| c.failed = 1),
    };
    let own_distance = found
        .iter()
        .find(|m| m.entry_id == own as u64)
        .map(|m| m.distance);
    plan.thresholds
        .iter()
        .map(|&t| {
            let unrelated: Vec<u32> = found
                .iter()
                .filter(|m| m.entry_id != own as u64 && m.distance <= t)
                .map(|m| m.distance)
                .collect();
            let is_found = own_distance.is_some_and(|d| d <= t);
            let nearest = is_found && unrelated.iter().all(|&d| Some(d) >= own_distance);
            Counts {
                uploads: 1,
                found: u64::from(is_found),
                found_nearest: u64::from(nearest),
                unrelated_pairs: unrelated.len() as u64,
                uploads_with_unrelated: u64::from(!unrelated.is_empty()),
                low_quality: 0,
                failed: 0,
            }
        })
        .collect()
}
