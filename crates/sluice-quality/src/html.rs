//! A self-contained HTML page of quality findings: inline CSS and SVG, no script, no network.
//!
//! The page looks like the profile report (it reuses `sluice_profile::html`'s stylesheet and escaping):
//! per table, a summary line with severity badges, a table of every finding linking to its card, then
//! one card per finding with its message, count and rate, what the check measured (a table, a bar chart
//! of formats, types or missing kinds, the near-duplicate clusters with their texts, the outlier
//! statistics, the schema changes) and its example rows as a table (whole rows get one column per
//! table column).
//!
//! Invariant: every string that comes from the data or the command line (table and column names,
//! values, messages, notes) goes through [`escape`], so a value such as `<script>` displays as text.

use std::fmt::Write as _;

use sluice_profile::html::{CSS, escape};

use crate::report::{Cluster, Detail, Example, Finding, Severity, TableReport, VariantGroup};

/// Styles added to the profile report's stylesheet.
const QUALITY_CSS: &str = ".badge{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;line-height:19px}\
.badge.error{background:#cf222e}.badge.warning{background:#9a6700}.badge.info{background:#0969da}\
table.list{border-collapse:collapse;width:100%;background:#fff;font-size:13px;margin:6px 0}\
table.list th,table.list td{padding:4px 8px;border-bottom:1px solid #d1d9e0;text-align:left;vertical-align:top}\
table.list th{background:#f6f8fa;font-weight:600}table.list th:first-child{width:1%;white-space:nowrap}table.list td.n{text-align:right;font-variant-numeric:tabular-nums}\
table.list caption{text-align:left;color:#59636e;padding:4px 0;font-size:12px}\
.finding{margin:14px 0}.finding h3{font-size:15px;margin:0 0 6px;word-break:normal}.finding p{margin:4px 0 8px}\
.scroll{overflow-x:auto}table.examples td{white-space:nowrap}.null{color:#8c959f;font-style:italic}.ok{color:#1a7f37;font-weight:600}\
h4{font-size:13px;margin:12px 0 2px;color:#59636e}table.kv{max-width:520px}code{font-size:12px;white-space:pre-wrap}";

/// Renders the findings of one or more tables as a complete HTML document.
pub fn render(title: &str, subtitle: &str, reports: &[TableReport]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Quality: {}</title><style>{CSS}{QUALITY_CSS}</style></head><body>",
        escape(title)
    );
    let _ = write!(
        h,
        "<h1>Quality: {}</h1><div class=\"sub\">{}</div>",
        escape(title),
        escape(subtitle)
    );
    for (t, r) in reports.iter().enumerate() {
        table_section(&mut h, t, r);
    }
    h.push_str("</body></html>\n");
    h
}

fn table_section(h: &mut String, t: usize, r: &TableReport) {
    let parent = r
        .parent
        .as_deref()
        .map(|p| format!(", compared with {}", escape(p)))
        .unwrap_or_default();
    let _ = write!(
        h,
        "<h2>{} <span class=\"type\">{} rows, {} columns{parent}</span></h2>",
        escape(&r.table),
        group(r.rows),
        r.columns
    );
    let by = |s: Severity| r.findings.iter().filter(|f| f.severity == s).count();
    let _ = write!(
        h,
        "<div class=\"sub\">{} findings: {} {} {} &middot; checks took {:.2} s</div>",
        r.findings.len(),
        badge_count(Severity::Error, by(Severity::Error)),
        badge_count(Severity::Warning, by(Severity::Warning)),
        badge_count(Severity::Info, by(Severity::Info)),
        r.seconds
    );
    if r.findings.is_empty() {
        h.push_str("<p class=\"ok\">No problems found.</p>");
        return;
    }
    h.push_str(
        "<div class=\"scroll\"><table class=\"list summary\"><tr><th>severity</th><th>check</th><th>column</th><th>rows</th><th>rate</th><th>finding</th></tr>",
    );
    for (i, f) in r.findings.iter().enumerate() {
        let _ = write!(
            h,
            "<tr><td>{}</td><td><a href=\"#f{t}-{i}\">{}</a></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            badge(f.severity),
            f.check(),
            escape(&f.columns.join(", ")),
            group(f.count),
            rate(f),
            escape(&f.message)
        );
    }
    h.push_str("</table></div>");
    for (i, f) in r.findings.iter().enumerate() {
        finding_card(h, &format!("f{t}-{i}"), f);
    }
}

fn badge(s: Severity) -> String {
    format!("<span class=\"badge {0}\">{0}</span>", s.as_str())
}

fn badge_count(s: Severity, n: usize) -> String {
    format!("<span class=\"badge {0}\">{n} {0}</span>", s.as_str())
}

fn rate(f: &Finding) -> String {
    if matches!(f.detail, Detail::SchemaChange { .. }) {
        "-".into()
    } else {
        format!("{:.2}%", 100.0 * f.rate)
    }
}

fn finding_card(h: &mut String, id: &str, f: &Finding) {
    let columns = f.columns.join(", ");
    let _ = write!(
        h,
        "<div class=\"card finding\" id=\"{id}\" data-check=\"{}\" data-severity=\"{}\" data-columns=\"{}\"><h3>{} {} <span class=\"type\">{}</span></h3><p>{}</p>",
        f.check(),
        f.severity.as_str(),
        escape(&columns),
        badge(f.severity),
        f.check(),
        escape(&columns),
        escape(&f.message)
    );
    let unit = if matches!(f.detail, Detail::SchemaChange { .. }) {
        "columns"
    } else {
        "rows"
    };
    let _ = write!(
        h,
        "<table class=\"kv\"><tr><td>{unit} affected</td><td>{}</td></tr>",
        group(f.count)
    );
    if unit == "rows" {
        let _ = write!(h, "<tr><td>share of the table</td><td>{}</td></tr>", rate(f));
    }
    detail(h, &f.detail);
    examples(h, &f.examples);
    h.push_str("</div>");
}

/// Rows of the key-value table opened by [`finding_card`], then the check's own tables and charts.
fn detail(h: &mut String, d: &Detail) {
    let kv = |h: &mut String, k: &str, v: String| {
        let _ = write!(h, "<tr><td>{k}</td><td>{v}</td></tr>");
    };
    match d {
        Detail::MissingValues {
            null,
            nan,
            empty,
            whitespace,
        } => {
            h.push_str("</table>");
            bars(
                h,
                "missing values by kind",
                &[
                    ("null".into(), *null),
                    ("NaN".into(), *nan),
                    ("empty string".into(), *empty),
                    ("whitespace only".into(), *whitespace),
                ],
            );
        }
        Detail::MissingRateJump {
            parent,
            parent_rate,
            rate,
        } => {
            kv(h, "missing rate in the parent", pct(*parent_rate));
            kv(h, "missing rate now", pct(*rate));
            kv(h, "rise", format!("{:+.2} points", 100.0 * (rate - parent_rate)));
            h.push_str("</table>");
            let scale = 10_000.0;
            bars(
                h,
                "missing rate (per 10,000 rows)",
                &[
                    (parent.clone(), (parent_rate * scale).round() as u64),
                    ("this version".into(), (rate * scale).round() as u64),
                ],
            );
        }
        Detail::DuplicateRows { groups } => {
            kv(h, "distinct rows that repeat", group(*groups));
            h.push_str("</table>");
        }
        Detail::DuplicateKeys { key, groups } => {
            kv(h, "key", escape(&key.join(", ")));
            kv(h, "key values that repeat", group(*groups));
            h.push_str("</table>");
        }
        Detail::NearDuplicates {
            threshold,
            num_perm,
            bands,
            rows_per_band,
            shingle,
            clusters,
            candidate_pairs,
            verified_pairs,
            largest,
        } => {
            kv(
                h,
                "similarity",
                format!("Jaccard of {shingle}-character shingle sets &ge; {threshold}"),
            );
            kv(
                h,
                "MinHash LSH",
                format!("{num_perm} permutations, {bands} bands &times; {rows_per_band} rows"),
            );
            kv(h, "clusters", group(*clusters));
            kv(h, "candidate pairs", group(*candidate_pairs));
            kv(h, "verified pairs", group(*verified_pairs));
            h.push_str("</table>");
            if !largest.is_empty() {
                let _ = write!(
                    h,
                    "<h4>largest clusters ({} of {})</h4>",
                    largest.len(),
                    group(*clusters)
                );
                for c in largest {
                    cluster(h, c);
                }
            }
        }
        Detail::Outliers {
            median,
            mad,
            mad_outliers,
            q1,
            q3,
            lower_fence,
            upper_fence,
            iqr_outliers,
            both,
        } => {
            kv(h, "median", num(*median));
            kv(h, "median absolute deviation", num(*mad));
            kv(h, "outliers by modified z-score", group(*mad_outliers));
            kv(h, "quartiles Q1 / Q3", format!("{} / {}", num(*q1), num(*q3)));
            kv(
                h,
                "IQR fences",
                format!("[{}, {}]", num(*lower_fence), num(*upper_fence)),
            );
            kv(h, "outside the IQR fences", group(*iqr_outliers));
            kv(h, "flagged by both rules", group(*both));
            h.push_str("</table>");
            box_plot(h, *q1, *median, *q3, *lower_fence, *upper_fence);
        }
        Detail::DateFormats { dominant, formats } => {
            kv(h, "usual format", format!("<code>{}</code>", escape(dominant)));
            h.push_str("</table>");
            let items: Vec<(String, u64)> = formats.iter().map(|(f, n)| (f.clone(), *n)).collect();
            bars(h, "rows per date format", &items);
        }
        Detail::MixedTypes { dominant, types } => {
            kv(h, "usual type", escape(dominant));
            h.push_str("</table>");
            let items: Vec<(String, u64)> = types.iter().map(|(t, n)| (t.clone(), *n)).collect();
            bars(h, "values per type", &items);
        }
        Detail::Encoding { mojibake, replacement } => {
            kv(h, "mojibake (UTF-8 read as Latin-1)", group(*mojibake));
            kv(h, "with U+FFFD replacement characters", group(*replacement));
            h.push_str("</table>");
        }
        Detail::Whitespace {
            leading,
            trailing,
            both,
        } => {
            h.push_str("</table>");
            bars(
                h,
                "values by where the whitespace is",
                &[
                    ("leading".into(), *leading),
                    ("trailing".into(), *trailing),
                    ("both ends".into(), *both),
                ],
            );
        }
        Detail::CategoryVariants { groups } => {
            h.push_str("</table>");
            variant_groups(h, groups);
        }
        Detail::SchemaChange {
            parent,
            added,
            removed,
            retyped,
        } => {
            kv(h, "compared with", escape(parent));
            h.push_str("</table><h4>schema changes</h4><table class=\"list schema\"><tr><th>change</th><th>column</th><th>type</th></tr>");
            for c in added {
                let _ = write!(
                    h,
                    "<tr><td>added</td><td>{}</td><td>{}</td></tr>",
                    escape(&c.name),
                    escape(&c.data_type)
                );
            }
            for c in removed {
                let _ = write!(
                    h,
                    "<tr><td>removed</td><td>{}</td><td>{}</td></tr>",
                    escape(&c.name),
                    escape(&c.data_type)
                );
            }
            for c in retyped {
                let _ = write!(
                    h,
                    "<tr><td>type changed</td><td>{}</td><td>{} &rarr; {}</td></tr>",
                    escape(&c.name),
                    escape(&c.from),
                    escape(&c.to)
                );
            }
            h.push_str("</table>");
        }
    }
}

fn cluster(h: &mut String, c: &Cluster) {
    let _ = write!(
        h,
        "<div class=\"scroll\"><table class=\"list cluster\"><caption>{} rows, lowest verified similarity {:.3}{}</caption><tr><th>row</th><th>text</th></tr>",
        group(c.rows.len() as u64),
        c.min_similarity,
        if c.rows.len() > c.texts.len() && !c.texts.is_empty() {
            format!("; the first {} shown", c.texts.len())
        } else {
            String::new()
        }
    );
    if c.texts.is_empty() {
        let rows: Vec<String> = c.rows.iter().map(|r| r.to_string()).collect();
        let _ = write!(h, "<tr><td colspan=\"2\">rows {}</td></tr>", rows.join(", "));
    }
    for (row, text) in c.rows.iter().zip(&c.texts) {
        let _ = write!(h, "<tr><td class=\"n\">{row}</td><td>{}</td></tr>", escape(text));
    }
    h.push_str("</table></div>");
}

fn variant_groups(h: &mut String, groups: &[VariantGroup]) {
    h.push_str(
        "<h4>spelling groups</h4><div class=\"scroll\"><table class=\"list variants\"><tr><th>usual spelling</th><th>spellings (rows)</th></tr>",
    );
    for g in groups {
        let spellings: Vec<String> = g
            .spellings
            .iter()
            .map(|(s, n)| format!("<code>{}</code> ({})", escape(&format!("{s:?}")), group(*n)))
            .collect();
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td></tr>",
            escape(&format!("{:?}", g.canonical)),
            spellings.join(", ")
        );
    }
    h.push_str("</table></div>");
}

/// Example rows: whole rows (JSON objects) get one column per table column, cells a value column.
fn examples(h: &mut String, examples: &[Example]) {
    if examples.is_empty() {
        return;
    }
    let _ = write!(h, "<h4>examples ({})</h4><div class=\"scroll\">", examples.len());
    let has_note = examples.iter().any(|e| e.note.is_some());
    let note = |h: &mut String, e: &Example| {
        if has_note {
            let _ = write!(h, "<td>{}</td>", escape(e.note.as_deref().unwrap_or_default()));
        }
    };
    if examples.iter().all(|e| e.value.is_object()) {
        let mut columns: Vec<&str> = Vec::new();
        for e in examples {
            for k in e.value.as_object().into_iter().flat_map(|o| o.keys()) {
                if !columns.contains(&k.as_str()) {
                    columns.push(k);
                }
            }
        }
        h.push_str("<table class=\"list examples\"><tr><th>row</th>");
        for c in &columns {
            let _ = write!(h, "<th>{}</th>", escape(c));
        }
        if has_note {
            h.push_str("<th>note</th>");
        }
        h.push_str("</tr>");
        for e in examples {
            let _ = write!(h, "<tr><td class=\"n\">{}</td>", e.row);
            for c in &columns {
                let _ = write!(h, "<td>{}</td>", cell(e.value.get(*c)));
            }
            note(h, e);
            h.push_str("</tr>");
        }
    } else {
        h.push_str("<table class=\"list examples\"><tr><th>row</th><th>value</th>");
        if has_note {
            h.push_str("<th>note</th>");
        }
        h.push_str("</tr>");
        for e in examples {
            // Quoted as JSON, so leading and trailing whitespace and control characters show.
            let _ = write!(
                h,
                "<tr><td class=\"n\">{}</td><td><code>{}</code></td>",
                e.row,
                escape(&e.value.to_string())
            );
            note(h, e);
            h.push_str("</tr>");
        }
    }
    h.push_str("</table></div>");
}

/// A cell of a whole-row example: long texts are cut to [`CELL_CHARS`] characters, with the whole
/// value as the cell's tooltip.
fn cell(v: Option<&serde_json::Value>) -> String {
    let text = match v {
        None | Some(serde_json::Value::Null) => return "<span class=\"null\">null</span>".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    if text.chars().count() <= CELL_CHARS {
        return escape(&text);
    }
    let short: String = text.chars().take(CELL_CHARS).collect();
    format!("<span title=\"{}\">{}…</span>", escape(&text), escape(&short))
}

/// Characters shown of a whole-row example's cell.
const CELL_CHARS: usize = 60;

/// A horizontal bar chart of labelled counts (zero counts left out), in the profile report's style.
fn bars(h: &mut String, title: &str, items: &[(String, u64)]) {
    let items: Vec<&(String, u64)> = items.iter().filter(|(_, n)| *n > 0).collect();
    if items.is_empty() {
        return;
    }
    let (w, row_h, label_w) = (420.0, 18.0, 150.0);
    let max = items.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1) as f64;
    let total: u64 = items.iter().map(|(_, n)| n).sum();
    let ht = row_h * items.len() as f64;
    let _ = write!(
        h,
        "<h4>{}</h4><svg class=\"chart bars\" width=\"{w}\" height=\"{ht}\" viewBox=\"0 0 {w} {ht}\" role=\"img\"><title>{}</title>",
        escape(title),
        escape(title)
    );
    for (i, (label, n)) in items.iter().enumerate() {
        let y = i as f64 * row_h;
        let bw = (*n as f64 / max * (w - label_w - 110.0)).max(1.0);
        let mut short: String = label.chars().take(22).collect();
        if label.chars().count() > 22 {
            short.push('…');
        }
        let _ = write!(
            h,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><rect x=\"{label_w}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" fill=\"#4c8eda\"/><text x=\"{:.1}\" y=\"{:.1}\">{} ({:.1}%)</text>",
            label_w - 4.0,
            y + 12.0,
            escape(&short),
            y + 3.0,
            row_h - 5.0,
            label_w + bw + 4.0,
            y + 12.0,
            group(*n),
            100.0 * *n as f64 / total as f64
        );
    }
    h.push_str("</svg>");
}

/// A box plot of the quartiles and median between the IQR fences: values beyond the fences are the
/// IQR rule's outliers.
fn box_plot(h: &mut String, q1: f64, median: f64, q3: f64, lo: f64, hi: f64) {
    if ![q1, median, q3, lo, hi].iter().all(|x| x.is_finite()) || hi <= lo {
        return;
    }
    let (w, ht, pad) = (420.0, 44.0, 20.0);
    let x = |v: f64| pad + (v - lo) / (hi - lo) * (w - 2.0 * pad);
    let _ = write!(
        h,
        "<h4>quartiles within the IQR fences</h4><svg class=\"chart box\" width=\"{w}\" height=\"{ht}\" viewBox=\"0 0 {w} {ht}\" role=\"img\"><title>box plot</title>\
         <line x1=\"{:.1}\" y1=\"14\" x2=\"{:.1}\" y2=\"14\" stroke=\"#8c959f\"/>\
         <line x1=\"{:.1}\" y1=\"4\" x2=\"{:.1}\" y2=\"24\" stroke=\"#cf222e\"/><line x1=\"{:.1}\" y1=\"4\" x2=\"{:.1}\" y2=\"24\" stroke=\"#cf222e\"/>\
         <rect x=\"{:.1}\" y=\"6\" width=\"{:.1}\" height=\"16\" fill=\"#4c8eda\" fill-opacity=\"0.35\" stroke=\"#4c8eda\"/>\
         <line x1=\"{:.1}\" y1=\"6\" x2=\"{:.1}\" y2=\"22\" stroke=\"#1f2328\" stroke-width=\"2\"/>\
         <text x=\"{:.1}\" y=\"38\" text-anchor=\"start\">{}</text><text x=\"{:.1}\" y=\"38\" text-anchor=\"middle\">median {}</text><text x=\"{:.1}\" y=\"38\" text-anchor=\"end\">{}</text></svg>",
        x(lo),
        x(hi),
        x(lo),
        x(lo),
        x(hi),
        x(hi),
        x(q1),
        (x(q3) - x(q1)).max(1.0),
        x(median),
        x(median),
        x(lo),
        num(lo),
        x(median),
        num(median),
        x(hi),
        num(hi)
    );
}

fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn num(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{x:.0}")
    } else if x.abs() >= 1e5 || x.abs() < 1e-3 {
        format!("{x:.4e}")
    } else {
        format!("{x:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Column, Retyped};
    use std::collections::BTreeMap;

    fn finding(severity: Severity, columns: &[&str], count: u64, detail: Detail, examples: Vec<Example>) -> Finding {
        Finding {
            severity,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            count,
            rate: count as f64 / 1000.0,
            message: format!("{} on {columns:?}: <b>{count}</b>", detail.check()),
            examples,
            detail,
            rows: vec![],
        }
    }

    fn cell(row: u64, value: &str, note: Option<&str>) -> Example {
        Example {
            row,
            value: serde_json::json!(value),
            note: note.map(str::to_owned),
        }
    }

    /// One finding of every kind, with hostile strings where the data can put them.
    fn report() -> TableReport {
        let whole_row = Example {
            row: 7,
            value: serde_json::json!({
                "id": 1,
                "city<script>": "<img src=x onerror=alert(1)>",
                "amount": null,
                "description": format!("{}<end>", "a".repeat(70)),
            }),
            note: Some("duplicate of row 2".into()),
        };
        let findings = vec![
            finding(
                Severity::Error,
                &["id"],
                2,
                Detail::DuplicateKeys {
                    key: vec!["id".into()],
                    groups: 1,
                },
                vec![whole_row.clone()],
            ),
            finding(
                Severity::Error,
                &["gone"],
                2,
                Detail::SchemaChange {
                    parent: "t@v1".into(),
                    added: vec![Column {
                        name: "new<col>".into(),
                        data_type: "Utf8".into(),
                    }],
                    removed: vec![Column {
                        name: "gone".into(),
                        data_type: "Int64".into(),
                    }],
                    retyped: vec![Retyped {
                        name: "id".into(),
                        from: "Int64".into(),
                        to: "Utf8".into(),
                    }],
                },
                vec![],
            ),
            finding(
                Severity::Warning,
                &["amount"],
                60,
                Detail::MissingRateJump {
                    parent: "t@v1".into(),
                    parent_rate: 0.0,
                    rate: 0.06,
                },
                vec![],
            ),
            finding(
                Severity::Warning,
                &["amount"],
                60,
                Detail::MissingValues {
                    null: 50,
                    nan: 4,
                    empty: 0,
                    whitespace: 6,
                },
                vec![cell(3, "", Some("null"))],
            ),
            finding(
                Severity::Warning,
                &[],
                3,
                Detail::DuplicateRows { groups: 2 },
                vec![whole_row],
            ),
            finding(
                Severity::Warning,
                &["description"],
                2,
                Detail::NearDuplicates {
                    threshold: 0.8,
                    num_perm: 128,
                    bands: 16,
                    rows_per_band: 8,
                    shingle: 5,
                    clusters: 1,
                    candidate_pairs: 4,
                    verified_pairs: 2,
                    largest: vec![Cluster {
                        rows: vec![1, 5, 9],
                        min_similarity: 0.85,
                        texts: vec![
                            "Card payment at <Blue Harbor> Cafe".into(),
                            "Card payment at <Blue Harbour> Cafe".into(),
                            "card payment at <blue harbor> cafe ".into(),
                        ],
                    }],
                },
                vec![cell(
                    5,
                    "Card payment at <Blue Harbour> Cafe",
                    Some("near duplicate of row 1"),
                )],
            ),
            finding(
                Severity::Warning,
                &["day"],
                2,
                Detail::MixedTypes {
                    dominant: "date".into(),
                    types: BTreeMap::from([("date".into(), 998), ("text".into(), 2)]),
                },
                vec![cell(9, "hello", Some("a text"))],
            ),
            finding(
                Severity::Warning,
                &["day"],
                2,
                Detail::DateFormats {
                    dominant: "%Y-%m-%d".into(),
                    formats: BTreeMap::from([("%Y-%m-%d".into(), 998), ("%m/%d/%Y".into(), 1), ("%d %b %Y".into(), 1)]),
                },
                vec![cell(7, "03/01/2024", Some("format %m/%d/%Y"))],
            ),
            finding(
                Severity::Warning,
                &["city"],
                1,
                Detail::Encoding {
                    mojibake: 1,
                    replacement: 0,
                },
                vec![cell(6, "SÃ£o Paulo", Some("mojibake"))],
            ),
            finding(
                Severity::Warning,
                &["city"],
                2,
                Detail::CategoryVariants {
                    groups: vec![VariantGroup {
                        canonical: "New York".into(),
                        spellings: vec![("New York".into(), 20), ("new york ".into(), 2)],
                    }],
                },
                vec![cell(3, "new york ", Some("variant of \"New York\""))],
            ),
            finding(
                Severity::Warning,
                &["city"],
                1,
                Detail::Whitespace {
                    leading: 1,
                    trailing: 0,
                    both: 0,
                },
                vec![cell(4, " Lyon", None)],
            ),
            finding(
                Severity::Info,
                &["x"],
                1,
                Detail::Outliers {
                    median: 13.0,
                    mad: 2.0,
                    mad_outliers: 1,
                    q1: 11.0,
                    q3: 15.0,
                    lower_fence: 5.0,
                    upper_fence: 21.0,
                    iqr_outliers: 1,
                    both: 1,
                },
                vec![Example {
                    row: 10,
                    value: serde_json::json!(1e6),
                    note: Some("modified z = 337.3".into()),
                }],
            ),
        ];
        TableReport {
            table: "t@v2:data<1>.csv".into(),
            parent: Some("t@v1".into()),
            rows: 1000,
            columns: 6,
            findings,
            seconds: 0.01,
        }
    }

    #[test]
    fn every_finding_gets_a_card_with_its_details() {
        let r = report();
        let page = render("t@v2", "sluice test", std::slice::from_ref(&r));
        assert!(page.starts_with("<!doctype html>") && page.ends_with("</html>\n"));
        assert_eq!(page.matches("class=\"card finding\"").count(), r.findings.len());
        for f in &r.findings {
            assert!(page.contains(&format!("data-check=\"{}\"", f.check())), "{}", f.check());
            assert!(page.contains(&escape(&f.message)), "{}", f.message);
        }
        // Badges: one per finding in the summary, one per card, and the three counts.
        assert_eq!(page.matches("<span class=\"badge error\">error</span>").count(), 2 * 2);
        assert!(page.contains("<span class=\"badge warning\">9 warning</span>"));
        assert!(page.contains("<span class=\"badge info\">1 info</span>"));
        // Near-duplicate cluster texts, schema changes, outlier statistics, format and kind charts.
        assert!(page.contains("Card payment at &lt;Blue Harbour&gt; Cafe"));
        assert!(page.contains("3 rows, lowest verified similarity 0.850"));
        assert!(page.contains("<td>removed</td><td>gone</td><td>Int64</td>"));
        assert!(page.contains("<td>type changed</td><td>id</td><td>Int64 &rarr; Utf8</td>"));
        assert!(page.contains("<td>IQR fences</td><td>[5, 21]</td>"));
        assert!(page.contains("class=\"chart box\""));
        assert!(page.contains("%m/%d/%Y"));
        assert_eq!(
            page.matches("class=\"chart bars\"").count(),
            5,
            "missing kinds, rate jump, types, formats, whitespace"
        );
        // Whole rows are tables with one column per table column; cells quote their value.
        assert!(page.contains("<th>city&lt;script&gt;</th>"));
        assert!(page.contains("<span class=\"null\">null</span>"));
        // Long cells are cut, the whole value kept as the tooltip.
        let a60 = "a".repeat(60);
        assert!(page.contains(&format!("<span title=\"{a60}aaaaaaaaaa&lt;end&gt;\">{a60}…</span>")));
        assert!(page.contains("<code>&quot; Lyon&quot;</code>"));
        assert!(page.contains("<code>&quot;new york &quot;</code> (2)"));
    }

    #[test]
    fn data_cannot_inject_markup_or_fetch_anything() {
        let page = render("<script>alert(1)</script>", "sub", &[report()]);
        assert!(!page.contains("<script"), "scripts are escaped");
        assert!(!page.contains("<img"), "values are escaped");
        assert!(!page.contains("<b>"), "messages are escaped");
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "no network resources"
        );
    }

    #[test]
    fn a_clean_table_says_so() {
        let r = TableReport {
            table: "clean.csv".into(),
            parent: None,
            rows: 4,
            columns: 3,
            findings: vec![],
            seconds: 0.0,
        };
        let page = render("clean.csv", "", &[r]);
        assert!(page.contains("No problems found."));
        assert!(!page.contains("class=\"card finding\""));
    }
}
