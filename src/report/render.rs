//! A [`Report`] as text or CSV (JSON is [`Report::to_json`]).

use std::fmt::Write;

use super::{ListReport, Report, Technique};

fn date(secs: u64) -> String {
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm), UTC.
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn techniques(l: &ListReport) -> String {
    let parts: Vec<String> = Technique::ALL
        .iter()
        .filter_map(|t| l.by_technique.get(t).map(|n| format!("{t} {n}")))
        .collect();
    parts.join(", ")
}

/// A text report: the period, uploads checked and matched, and per list and technology its
/// entries, matched uploads (by technique), confirmed matches and false positives.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "period: {} to {}", date(r.started), date(r.ended));
    for (what, u) in [("images", &r.uploads), ("videos", &r.video_uploads)] {
        let _ = writeln!(out, "{what}: {} checked, {} matched", u.checked, u.matched);
    }
    for l in &r.lists {
        let _ = writeln!(
            out,
            "list {} ({}): {} entries, {} disabled; {} matched uploads{}; {} confirmed, {} false \
             positives ({:.2} % of matches), {} redressed",
            l.list,
            l.technology,
            l.entries,
            l.disabled,
            l.matched_uploads,
            match techniques(l) {
                t if t.is_empty() => String::new(),
                t => format!(" ({t})"),
            },
            l.confirmed,
            l.false_positives,
            100.0 * l.false_positive_ratio(),
            l.redressed
        );
    }
    out
}

/// CSV: one row per list and technology, with the period and the counts.
pub fn csv(r: &Report) -> String {
    let mut out = String::from(
        "started,ended,list,technology,entries,disabled,matched_uploads,plain,orientation,bars,\
         embedded,tilted,enrolled,file_md5,confirmed,false_positives,false_positive_ratio,redressed\n",
    );
    for l in &r.lists {
        let by: Vec<String> = Technique::ALL
            .iter()
            .map(|t| l.by_technique.get(t).copied().unwrap_or(0).to_string())
            .collect();
        let list = if l.list.contains([',', '"', '\n']) {
            format!("\"{}\"", l.list.replace('"', "\"\""))
        } else {
            l.list.clone()
        };
        let _ = writeln!(
            out,
            "{},{},{list},{},{},{},{},{},{},{},{:.6},{}",
            r.started,
            r.ended,
            l.technology,
            l.entries,
            l.disabled,
            l.matched_uploads,
            by.join(","),
            l.confirmed,
            l.false_positives,
            l.false_positive_ratio(),
            l.redressed
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(super::date(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::date(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(super::date(1_796_690_000), "2026-12-08 00:33:20 UTC");
    }
}
