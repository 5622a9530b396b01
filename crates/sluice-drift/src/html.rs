//! A self-contained HTML drift report: inline CSS and SVG, no script, no network.
//!
//! The verdict first, then one row per column (method, statistic, p-value, threshold, how it was
//! computed), one card per column with the reference and current distributions side by side, and
//! optionally the metric history as line charts with their expected band and anomalies.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sluice_profile::html::{CSS, escape};

use crate::report::{ColumnDrift, Computation, DriftReport, Role};

const EXTRA_CSS: &str = ".badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:12px;font-weight:600}\
.drift{background:#ffebe9;color:#cf222e}.ok{background:#dafbe1;color:#1a7f37}\
table.cols{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d1d9e0;font-size:13px}\
table.cols th,table.cols td{padding:4px 8px;border-bottom:1px solid #eef1f4;text-align:left}\
table.cols td.n{text-align:right;font-variant-numeric:tabular-nums}.legend span{margin-right:12px}\
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}";

const REF_COLOR: &str = "#8c959f";
const CUR_COLOR: &str = "#0969da";

/// One metric's history, for the charts under the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// What is plotted (`missing_rate.amount`, `share_drifted`).
    pub metric: String,
    /// Points in batch order: batch label and value.
    pub points: Vec<(String, f64)>,
    /// The expected band (mean +/- 3 sigma of the baseline), when known.
    pub band: Option<(f64, f64)>,
    /// Indices of points flagged as anomalies.
    pub anomalies: Vec<usize>,
}

/// Renders a drift report (and optionally metric histories) as a complete HTML document.
pub fn render(title: &str, report: &DriftReport, history: &[History]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}{EXTRA_CSS}</style></head><body>",
        escape(title)
    );
    let _ = write!(
        h,
        "<h1>{}</h1><div class=\"sub\">reference <b>{}</b> ({} rows) vs current <b>{}</b> ({} rows)</div>",
        escape(title),
        escape(&report.reference.label),
        report.reference.rows,
        escape(&report.current.label),
        report.current.rows
    );
    let verdict = if report.dataset_drift {
        "<span class=\"badge drift\">dataset drift</span>"
    } else {
        "<span class=\"badge ok\">no dataset drift</span>"
    };
    let _ = write!(
        h,
        "<p>{verdict} {} of {} feature columns drifted ({:.0}%; the dataset drifts at {:.0}%). Correction: {}.</p>",
        report.drifted,
        report.compared,
        report.share * 100.0,
        report.drift_share * 100.0,
        escape(&format!("{:?}", report.correction).to_lowercase())
    );
    for c in report.columns.iter().filter(|c| c.role != Role::Feature) {
        let what = if c.role == Role::Label { "Label" } else { "Prediction" };
        let _ = write!(
            h,
            "<p>{what} drift ({}): {}</p>",
            escape(&c.column),
            if c.drifted {
                "<span class=\"badge drift\">drifted</span>"
            } else {
                "<span class=\"badge ok\">stable</span>"
            }
        );
    }
    h.push_str("<h2>Columns</h2><table class=\"cols\"><tr><th>column</th><th>role</th><th>method</th><th>statistic</th><th>p-value</th><th>adjusted</th><th>threshold</th><th>verdict</th><th>computed</th></tr>");
    for c in &report.columns {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{:?}</td><td>{}{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.column),
            c.role,
            c.method,
            if c.method_by_default { "" } else { " (set)" },
            num(c.statistic),
            c.p_value.map(num).unwrap_or_default(),
            c.p_adjusted.map(num).unwrap_or_default(),
            num(c.threshold),
            if c.drifted {
                "<span class=\"badge drift\">drift</span>"
            } else {
                "<span class=\"badge ok\">ok</span>"
            },
            escape(&computation(&c.computation))
        );
    }
    h.push_str("</table>");
    if !report.skipped.is_empty() || !report.only_in_reference.is_empty() || !report.only_in_current.is_empty() {
        h.push_str("<h2>Not compared</h2><ul>");
        for s in &report.skipped {
            let _ = write!(h, "<li><b>{}</b>: {}</li>", escape(&s.column), escape(&s.reason));
        }
        for c in &report.only_in_reference {
            let _ = write!(h, "<li><b>{}</b>: only in the reference</li>", escape(c));
        }
        for c in &report.only_in_current {
            let _ = write!(h, "<li><b>{}</b>: only in the current table</li>", escape(c));
        }
        h.push_str("</ul>");
    }
    let _ = write!(
        h,
        "<h2>Distributions</h2><div class=\"legend\"><span><i class=\"sw\" style=\"background:{REF_COLOR}\"></i>reference</span><span><i class=\"sw\" style=\"background:{CUR_COLOR}\"></i>current</span></div><div class=\"grid\">"
    );
    for c in &report.columns {
        card(&mut h, c);
    }
    h.push_str("</div>");
    if !history.is_empty() {
        h.push_str("<h2>History</h2><div class=\"grid\">");
        for m in history {
            history_card(&mut h, m);
        }
        h.push_str("</div>");
    }
    h.push_str("</body></html>");
    h
}

fn num(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.is_infinite() {
        "inf".into()
    } else if x.abs() < 1e-3 || x.abs() >= 1e5 {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

fn computation(c: &Computation) -> String {
    match c {
        Computation::Exact => "exact".into(),
        Computation::ExactCounts => "exact counts (profile)".into(),
        Computation::Sketch { error_bound, .. } => format!("sketch ±{}", num(*error_bound)),
    }
}

fn card(h: &mut String, c: &ColumnDrift) {
    let _ = write!(
        h,
        "<div class=\"card\"><h3>{}</h3><div class=\"type\">{:?}, {} {} = {}{}; missing {:.1}% → {:.1}%</div>",
        escape(&c.column),
        c.kind,
        c.method,
        if c.p_value.is_some() { "statistic" } else { "distance" },
        num(c.statistic),
        if c.drifted {
            " <span class=\"warn\">drift</span>"
        } else {
            ""
        },
        c.reference_missing * 100.0,
        c.current_missing * 100.0
    );
    let d = &c.distribution;
    let n = d.labels.len().max(1);
    let (w, ht, pad) = (340.0, 120.0, 14.0);
    let max = d
        .reference
        .iter()
        .chain(&d.current)
        .copied()
        .fold(0.0f64, f64::max)
        .max(1e-12);
    let slot = w / n as f64;
    let bar = (slot / 2.0 - 1.0).max(0.5);
    let _ = write!(h, "<svg width=\"{w}\" height=\"{}\" role=\"img\">", ht + pad + 4.0);
    for (i, label) in d.labels.iter().enumerate() {
        let x = i as f64 * slot;
        for (k, (v, color)) in [(d.reference[i], REF_COLOR), (d.current[i], CUR_COLOR)]
            .into_iter()
            .enumerate()
        {
            let bh = v / max * ht;
            let _ = write!(
                h,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{bh:.1}\" fill=\"{color}\"><title>{}: {:.2}%</title></rect>",
                x + k as f64 * (bar + 1.0),
                ht - bh,
                escape(label),
                v * 100.0
            );
        }
    }
    let first = d.labels.first().map(String::as_str).unwrap_or("");
    let last = d.labels.last().map(String::as_str).unwrap_or("");
    let _ = write!(
        h,
        "<text x=\"0\" y=\"{:.0}\">{}</text><text x=\"{w}\" y=\"{:.0}\" text-anchor=\"end\">{}</text></svg></div>",
        ht + pad,
        escape(&clip(first, 28)),
        ht + pad,
        escape(&clip(last, 28))
    );
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

fn history_card(h: &mut String, m: &History) {
    let _ = write!(h, "<div class=\"card\"><h3>{}</h3>", escape(&m.metric));
    let (w, ht, pad) = (340.0, 110.0, 14.0);
    let values: Vec<f64> = m.points.iter().map(|p| p.1).filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        h.push_str("<div class=\"type\">no points</div></div>");
        return;
    }
    let mut lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let mut hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if let Some((a, b)) = m.band {
        if a.is_finite() {
            lo = lo.min(a);
        }
        if b.is_finite() {
            hi = hi.max(b);
        }
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    let n = m.points.len();
    let x = |i: usize| {
        if n <= 1 {
            w / 2.0
        } else {
            6.0 + (w - 12.0) * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| 4.0 + (ht - 8.0) * (1.0 - (v - lo) / (hi - lo));
    let _ = write!(h, "<svg width=\"{w}\" height=\"{}\" role=\"img\">", ht + pad + 4.0);
    if let Some((a, b)) = m.band
        && a.is_finite()
        && b.is_finite()
    {
        let _ = write!(
            h,
            "<rect x=\"0\" y=\"{:.1}\" width=\"{w}\" height=\"{:.1}\" fill=\"#dafbe1\"><title>expected {} .. {}</title></rect>",
            y(b),
            (y(a) - y(b)).max(0.5),
            num(a),
            num(b)
        );
    }
    let path: Vec<String> = m
        .points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.1.is_finite())
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.1)))
        .collect();
    let _ = write!(
        h,
        "<polyline fill=\"none\" stroke=\"{CUR_COLOR}\" stroke-width=\"1.5\" points=\"{}\"/>",
        path.join(" ")
    );
    for (i, (label, v)) in m.points.iter().enumerate() {
        if !v.is_finite() {
            continue;
        }
        let bad = m.anomalies.contains(&i);
        let _ = write!(
            h,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{}\" fill=\"{}\"><title>{}: {}{}</title></circle>",
            x(i),
            y(*v),
            if bad { 4 } else { 2 },
            if bad { "#cf222e" } else { CUR_COLOR },
            escape(label),
            num(*v),
            if bad { " (anomaly)" } else { "" }
        );
    }
    let _ = write!(
        h,
        "<text x=\"0\" y=\"{:.0}\">{}</text><text x=\"{w}\" y=\"{:.0}\" text-anchor=\"end\">{}</text></svg></div>",
        ht + pad,
        escape(&clip(&m.points[0].0, 24)),
        ht + pad,
        escape(&clip(&m.points[n - 1].0, 24))
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Distribution, Kind, Side, Skipped};
    use sluice_algo::drift::{Correction, Method};

    #[test]
    fn the_page_holds_every_column_escaped_and_the_history() {
        let col = ColumnDrift {
            column: "<amount>".into(),
            role: Role::Feature,
            kind: Kind::Numeric,
            method: Method::Wasserstein,
            method_by_default: true,
            threshold: 0.1,
            statistic: 0.42,
            p_value: None,
            p_adjusted: None,
            drifted: true,
            computation: Computation::Sketch {
                lower: 0.4,
                upper: 0.44,
                error_bound: 0.02,
                basis: "KLL".into(),
            },
            reference_values: 10,
            current_values: 10,
            reference_missing: 0.0,
            current_missing: 0.1,
            distinct: 10,
            distribution: Distribution {
                labels: vec!["0..1".into(), "1..2".into()],
                reference: vec![0.5, 0.5],
                current: vec![0.2, 0.8],
            },
        };
        let report = DriftReport {
            reference: Side {
                label: "a@v1".into(),
                rows: 10,
            },
            current: Side {
                label: "a@v2".into(),
                rows: 10,
            },
            correction: Correction::Bonferroni,
            drift_share: 0.5,
            compared: 1,
            drifted: 1,
            share: 1.0,
            dataset_drift: true,
            columns: vec![col],
            skipped: vec![Skipped {
                column: "blob".into(),
                reason: "binary".into(),
            }],
            only_in_reference: vec!["old".into()],
            only_in_current: vec![],
        };
        let history = [History {
            metric: "share_drifted".into(),
            points: vec![("v1".into(), 0.0), ("v2".into(), 1.0)],
            band: Some((0.0, 0.2)),
            anomalies: vec![1],
        }];
        let page = render("Drift", &report, &history);
        assert!(page.contains("&lt;amount&gt;") && !page.contains("<amount>"));
        assert!(page.contains("dataset drift"));
        assert!(page.contains("sketch ±0.0200"));
        assert!(page.contains("only in the reference"));
        assert!(page.contains("v2: 1.0000 (anomaly)"));
        assert_eq!(page.matches("<svg").count(), 2);
    }
}
