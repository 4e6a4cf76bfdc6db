//! An [`Evaluation`] as a text table or CSV (JSON is its `serde` form).

use std::fmt::Write;

use super::measure::{Counts, Evaluation, ORIGINAL};

/// The name of the row that sums every transform (not the originals themselves).
pub const ALL_TRANSFORMS: &str = "all transforms";

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// Rows in display order: the originals, each transform, then the sum over all transforms.
fn rows(e: &Evaluation, mode: usize, t: usize) -> Vec<(String, Counts)> {
    let mut rows: Vec<(String, Counts)> = e
        .transforms
        .iter()
        .filter_map(|name| e.get(name, mode, t).map(|c| (name.clone(), *c)))
        .collect();
    rows.sort_by_key(|(name, _)| name != ORIGINAL);
    rows.push((ALL_TRANSFORMS.to_string(), e.all_transforms(mode, t)));
    rows
}

/// One table per threshold: for each transform the share found in every mode, then the
/// false-match shares of every mode.
pub fn text(e: &Evaluation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} originals in the list{}",
        e.originals,
        if e.skipped_originals.is_empty() {
            String::new()
        } else {
            format!(" ({} could not be hashed)", e.skipped_originals.len())
        }
    );
    let width = e.modes.iter().map(|m| m.len()).max().unwrap_or(0).max(14);
    for (t, threshold) in e.thresholds.iter().enumerate() {
        let _ = writeln!(
            out,
            "\nthreshold {threshold}: % found (% found and nearest)"
        );
        let _ = write!(out, "{:<16} {:>7}", "transform", "uploads");
        for m in &e.modes {
            let _ = write!(out, " {m:>width$}");
        }
        let _ = writeln!(out);
        let per_mode: Vec<_> = (0..e.modes.len()).map(|m| rows(e, m, t)).collect();
        for (r, (name, first)) in per_mode[0].iter().enumerate() {
            let _ = write!(out, "{name:<16} {:>7}", first.uploads);
            for mode_rows in &per_mode {
                let c = mode_rows[r].1;
                let cell = format!(
                    "{:.1} ({:.1})",
                    percent(c.found, c.uploads),
                    percent(c.found_nearest, c.uploads)
                );
                let _ = write!(out, " {cell:>width$}");
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(
            out,
            "\nthreshold {threshold}: false matches over every upload (originals and transforms)"
        );
        let _ = writeln!(
            out,
            "{:<width$} {:>22} {:>24} {:>12} {:>8}",
            "mode", "uploads with unrelated", "unrelated pairs (rate)", "low quality", "failed"
        );
        for (m, name) in e.modes.iter().enumerate() {
            let mut sum = e.all_transforms(m, t);
            if let Some(o) = e.get(ORIGINAL, m, t) {
                sum.add(o);
            }
            let _ = writeln!(
                out,
                "{name:<width$} {:>21.2}% {:>12} ({:>9.2e}) {:>12} {:>8}",
                percent(sum.uploads_with_unrelated, sum.uploads),
                sum.unrelated_pairs,
                e.pair_rate(&sum),
                sum.low_quality,
                sum.failed
            );
        }
    }
    out
}

/// One CSV row per transform, mode and threshold (with a header row), the sum over all
/// transforms included as `all transforms`.
pub fn csv(e: &Evaluation) -> String {
    let mut out = String::from(
        "threshold,mode,transform,uploads,found,found_nearest,found_pct,found_nearest_pct,\
         unrelated_pairs,pair_rate,uploads_with_unrelated,uploads_with_unrelated_pct,low_quality,failed\n",
    );
    for (t, threshold) in e.thresholds.iter().enumerate() {
        for (m, mode) in e.modes.iter().enumerate() {
            for (name, c) in rows(e, m, t) {
                let _ = writeln!(
                    out,
                    "{threshold},{mode},{name},{},{},{},{:.2},{:.2},{},{:.3e},{},{:.2},{},{}",
                    c.uploads,
                    c.found,
                    c.found_nearest,
                    percent(c.found, c.uploads),
                    percent(c.found_nearest, c.uploads),
                    c.unrelated_pairs,
                    e.pair_rate(&c),
                    c.uploads_with_unrelated,
                    percent(c.uploads_with_unrelated, c.uploads),
                    c.low_quality,
                    c.failed
                );
            }
        }
    }
    out
}
