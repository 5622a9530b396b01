//! The simulator's HTML report: one self-contained file (inline CSS and SVG, no script, no
//! network) showing the loop forming without exploration and being broken with it.

use std::fmt::Write as _;

use crate::sim::{SCENARIOS, SimReport};

const COLORS: [&str; 3] = ["#c0392b", "#2471a3", "#239b56"];
const W: f64 = 560.0;
const H: f64 = 260.0;
const PAD_L: f64 = 56.0;
const PAD_R: f64 = 16.0;
const PAD_T: f64 = 16.0;
const PAD_B: f64 = 40.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn nice_range(lo: f64, hi: f64) -> (f64, f64) {
    if (hi - lo).abs() < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

/// A line chart of `series` (name, points), with an optional dashed reference line.
fn line_chart(
    title: &str,
    y_label: &str,
    series: &[(&str, Vec<(f64, f64)>)],
    reference: Option<(&str, f64)>,
) -> String {
    let xs = series.iter().flat_map(|s| s.1.iter().map(|p| p.0));
    let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    let ys = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.1))
        .chain(reference.map(|r| r.1));
    let (y0, y1) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| (a.min(y), b.max(y)));
    let (y0, y1) = nice_range(y0, y1);
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let sx = |x: f64| PAD_L + (x - x0) / (x1 - x0) * (W - PAD_L - PAD_R);
    let sy = |y: f64| PAD_T + (1.0 - (y - y0) / (y1 - y0)) * (H - PAD_T - PAD_B);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<figure><figcaption>{}</figcaption><svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{}">"#,
        esc(title),
        esc(title)
    );
    let _ = write!(
        s,
        r##"<rect x="{PAD_L}" y="{PAD_T}" width="{}" height="{}" fill="#fafafa" stroke="#ccc"/>"##,
        W - PAD_L - PAD_R,
        H - PAD_T - PAD_B
    );
    for i in 0..=4 {
        let y = y0 + (y1 - y0) * f64::from(i) / 4.0;
        let _ = write!(
            s,
            r##"<line x1="{PAD_L}" x2="{}" y1="{py:.1}" y2="{py:.1}" stroke="#e5e5e5"/><text x="{}" y="{:.1}" text-anchor="end" class="tick">{y:.3}</text>"##,
            W - PAD_R,
            PAD_L - 4.0,
            sy(y) + 4.0,
            py = sy(y)
        );
    }
    let steps = ((x1 - x0) as usize).clamp(1, 10);
    for i in 0..=steps {
        let x = x0 + (x1 - x0) * i as f64 / steps as f64;
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="tick">{x:.0}</text>"#,
            sx(x),
            H - PAD_B + 16.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="axis">round</text><text transform="translate(12 {:.1}) rotate(-90)" text-anchor="middle" class="axis">{}</text>"#,
        (PAD_L + W - PAD_R) / 2.0,
        H - 6.0,
        (PAD_T + H - PAD_B) / 2.0,
        esc(y_label)
    );
    if let Some((label, y)) = reference {
        let _ = write!(
            s,
            r##"<line x1="{PAD_L}" x2="{}" y1="{py:.1}" y2="{py:.1}" stroke="#555" stroke-dasharray="5 4"/><text x="{}" y="{:.1}" text-anchor="end" class="tick">{}</text>"##,
            W - PAD_R,
            W - PAD_R - 4.0,
            sy(y) - 4.0,
            esc(label),
            py = sy(y)
        );
    }
    for (k, (name, pts)) in series.iter().enumerate() {
        let path: Vec<String> = pts
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"><title>{}</title></polyline>"#,
            COLORS[k % 3],
            path.join(" "),
            esc(name)
        );
    }
    s.push_str("</svg>");
    s.push_str(&legend(series.iter().map(|s| s.0)));
    s.push_str("</figure>");
    s
}

fn legend<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut s = String::from(r#"<div class="legend">"#);
    for (k, n) in names.enumerate() {
        let _ = write!(
            s,
            r#"<span><i style="background:{}"></i>{}</span>"#,
            COLORS[k % 3],
            esc(&n.replace('_', " "))
        );
    }
    s.push_str("</div>");
    s
}

/// Intervals of the OPE estimates per scenario and estimator against the true value.
fn ope_chart(r: &SimReport) -> String {
    let rows = r.estimates.len().max(1);
    let h = PAD_T + 26.0 * rows as f64 + PAD_B;
    let lo = r
        .estimates
        .iter()
        .map(|e| e.interval.lower.min(e.value))
        .fold(r.candidate_true_value, f64::min);
    let hi = r
        .estimates
        .iter()
        .map(|e| e.interval.upper.max(e.value))
        .fold(r.candidate_true_value, f64::max);
    let (x0, x1) = nice_range(lo.min(0.0), hi);
    let left = 190.0;
    let sx = |x: f64| left + (x - x0) / (x1 - x0) * (W - left - PAD_R);
    let mut s = String::new();
    let title = "Off-policy estimates of the candidate policy (95% bootstrap intervals) vs its true value";
    let _ = write!(
        s,
        r#"<figure><figcaption>{title}</figcaption><svg viewBox="0 0 {W} {h}" width="{W}" height="{h}" role="img" aria-label="{title}">"#
    );
    for (i, e) in r.estimates.iter().enumerate() {
        let y = PAD_T + 26.0 * i as f64 + 13.0;
        let color = COLORS[SCENARIOS.iter().position(|s| *s == e.scenario).unwrap_or(0)];
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" class="tick">{} / {} (n={})</text><line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{color}" stroke-width="3"/><circle cx="{:.1}" cy="{y:.1}" r="4" fill="{color}"/>"##,
            left - 6.0,
            y + 4.0,
            esc(&e.scenario.replace('_', " ")),
            e.estimator.to_uppercase(),
            e.rows,
            sx(e.interval.lower),
            sx(e.interval.upper),
            sx(e.value)
        );
    }
    let tx = sx(r.candidate_true_value);
    let _ = write!(
        s,
        r##"<line x1="{tx:.1}" x2="{tx:.1}" y1="{PAD_T}" y2="{:.1}" stroke="#111" stroke-dasharray="5 4"/><text x="{tx:.1}" y="{:.1}" text-anchor="middle" class="axis">true value {:.4}</text>"##,
        h - PAD_B + 4.0,
        h - PAD_B + 20.0,
        r.candidate_true_value
    );
    for i in 0..=4 {
        let x = x0 + (x1 - x0) * f64::from(i) / 4.0;
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="tick">{x:.3}</text>"#,
            sx(x),
            h - 4.0
        );
    }
    s.push_str("</svg></figure>");
    s
}

fn series(r: &SimReport, f: impl Fn(&crate::sim::RoundMetrics) -> f64) -> Vec<(&'static str, Vec<(f64, f64)>)> {
    SCENARIOS
        .iter()
        .map(|&sc| (sc, r.series(sc).map(|m| (m.round as f64, f(m))).collect()))
        .collect()
}

/// Renders the report.
pub fn html(r: &SimReport) -> String {
    let c = &r.config;
    let last = |sc: &str| r.series(sc).last().cloned();
    let first = r.series("no_exploration").next().cloned();
    let mut s = String::from(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sluice: feedback-loop simulation</title><style>
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;max-width:1180px;margin:24px auto;padding:0 16px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:28px}figure{display:inline-block;margin:8px 16px 8px 0;vertical-align:top}
figcaption{font-weight:600;margin-bottom:4px}.tick{font-size:11px;fill:#555}.axis{font-size:12px;fill:#333}
.legend span{margin-right:14px;font-size:13px}.legend i{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:-1px}
table{border-collapse:collapse;font-size:14px}td,th{padding:3px 10px;border-bottom:1px solid #e5e5e5;text-align:right}th:first-child,td:first-child{text-align:left}
code{background:#f2f2f2;padding:1px 4px}</style></head><body>
<h1>Feedback-loop simulation</h1>"#,
    );
    let _ = write!(
        s,
        "<p>{} users, {} items, slates of {}, {} rounds after a random cold start (round 0), seed {}. A recommender scores \
         items by the naive click-through rate of (user segment, item) in its own logs and is refit every round; clicks \
         follow a position-based model (examination 1/(k+1) at position k). Exploration: epsilon = {}; holdout: {:.0}% of \
         users (salted hash) always get random slates.</p>",
        c.users,
        c.items,
        c.slate,
        c.rounds,
        c.seed,
        c.epsilon,
        100.0 * c.holdout
    );
    if let (Some(f), Some(g), Some(e), Some(h)) =
        (first, last("no_exploration"), last("epsilon_greedy"), last("holdout"))
    {
        let _ = write!(
            s,
            "<p><b>What happened.</b> Without exploration the exposure Gini went from {:.3} to {:.3} and coverage from \
             {:.0}% to {:.0}% of the catalogue: the model shows what it already believes in, so only those items earn \
             clicks. With epsilon-greedy the Gini ended at {:.3} (coverage {:.0}%), with the holdout at {:.3} ({:.0}%). \
             True utility in the last round: {:.4} expected clicks per user without exploration, {:.4} with epsilon-greedy, \
             {:.4} with the holdout; the oracle gets {:.4}.</p>",
            f.gini,
            g.gini,
            100.0 * f.coverage,
            100.0 * g.coverage,
            e.gini,
            100.0 * e.coverage,
            h.gini,
            100.0 * h.coverage,
            g.utility,
            e.utility,
            h.utility,
            r.oracle_utility
        );
    }
    s.push_str("<h2>The loop forming, and being broken</h2>");
    s.push_str(&line_chart(
        "Exposure Gini per round",
        "Gini",
        &series(r, |m| m.gini),
        None,
    ));
    s.push_str(&line_chart(
        "Catalogue coverage per round",
        "share of items shown",
        &series(r, |m| m.coverage),
        None,
    ));
    s.push_str(&line_chart(
        "True user utility per round",
        "expected clicks per user",
        &series(r, |m| m.utility),
        Some(("oracle", r.oracle_utility)),
    ));
    s.push_str(&line_chart(
        "Observed click-through rate per round",
        "clicks per impression",
        &series(r, |m| m.ctr),
        None,
    ));
    s.push_str("<h2>Can the logs evaluate a new policy?</h2>");
    let _ = write!(
        s,
        "<p>The candidate policy shows each user the item a new model ranks first; its true value is {:.4} clicks per \
         top-position impression. Each scenario's top-position impressions of all rounds are used (the holdout \
         scenario's held-out users only). A deterministic log gives the candidate no support where it disagrees with \
         the logged choice, so IPS there counts only agreements: biased, with an interval that can exclude the truth. \
         Randomised data gives unbiased estimates.</p>",
        r.candidate_true_value
    );
    s.push_str(&ope_chart(r));
    s.push_str("<table><tr><th>scenario</th><th>estimator</th><th>rows</th><th>estimate</th><th>95% interval</th><th>covers truth</th></tr>");
    for e in &r.estimates {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>[{:.4}, {:.4}]</td><td>{}</td></tr>",
            esc(e.scenario),
            e.estimator,
            e.rows,
            e.value,
            e.interval.lower,
            e.interval.upper,
            if e.covers_truth { "yes" } else { "no" }
        );
    }
    s.push_str("</table><h2>Per round</h2><table><tr><th>round</th>");
    for sc in SCENARIOS {
        let _ = write!(s, "<th>{sc} Gini</th><th>{sc} utility</th>");
    }
    s.push_str("</tr>");
    for round in 0..=c.rounds {
        let _ = write!(s, "<tr><td>{round}</td>");
        for sc in SCENARIOS {
            if let Some(m) = r.series(sc).find(|m| m.round == round) {
                let _ = write!(s, "<td>{:.3}</td><td>{:.4}</td>", m.gini, m.utility);
            }
        }
        s.push_str("</tr>");
    }
    let _ = writeln!(
        s,
        "</table><p>Generated by <code>sluice simulate feedback-loop --rounds {} --seed {}</code>.</p></body></html>",
        c.rounds, c.seed
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{SimConfig, simulate};

    #[test]
    fn self_contained_html_with_plots() {
        let r = simulate(&SimConfig {
            rounds: 3,
            users: 100,
            items: 20,
            resamples: 50,
            ..SimConfig::default()
        })
        .unwrap();
        let h = html(&r);
        assert!(h.starts_with("<!doctype html>") && h.trim_end().ends_with("</html>"));
        assert_eq!(h.matches("<svg").count(), 5);
        assert!(!h.contains("http://") && !h.contains("https://") && !h.contains("<script"));
        assert!(h.contains("Exposure Gini per round"));
    }
}
