//! A self-contained HTML page for profiles: inline CSS and SVG, no script, no network.
//!
//! One card per column: the counts that matter first (missing by kind, distinct, type parses),
//! then a histogram (numeric and temporal columns) or a bar chart of the most frequent values.

use std::fmt::Write as _;

use crate::summary::{Bin, ColumnProfile, TopValue};
use crate::table::TableProfile;

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page's stylesheet, shared by Sluice's other reports.
pub const CSS: &str = "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1f2328;background:#f6f8fa}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}.sub{color:#59636e;margin-bottom:16px}\
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:14px}\
.card{background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:12px 14px}\
.card h3{font-size:15px;margin:0 0 2px;word-break:break-all}.type{color:#59636e;font-size:12px}\
table.kv{border-collapse:collapse;width:100%;margin:8px 0;font-size:13px}table.kv td{padding:2px 4px;border-bottom:1px solid #eef1f4}\
table.kv td:last-child{text-align:right;font-variant-numeric:tabular-nums}.warn{color:#bc4c00;font-weight:600}\
svg{display:block;margin-top:6px}svg text{font-size:10px;fill:#59636e}";

/// Renders the profiles of one or more tables as a complete HTML document.
pub fn render(title: &str, subtitle: &str, tables: &[(String, TableProfile)]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}</style></head><body>",
        escape(title)
    );
    let _ = write!(
        h,
        "<h1>{}</h1><div class=\"sub\">{}</div>",
        escape(title),
        escape(subtitle)
    );
    for (name, t) in tables {
        let _ = write!(
            h,
            "<h2>{} <span class=\"type\">{} rows, {} columns</span></h2><div class=\"grid\">",
            escape(name),
            group(t.rows),
            t.columns.len()
        );
        for c in &t.columns {
            column_card(&mut h, c);
        }
        h.push_str("</div>");
    }
    h.push_str("</body></html>\n");
    h
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

/// A value of a column as people read it: dates and timestamps as dates, numbers as numbers.
fn value(c: &ColumnProfile, x: f64) -> String {
    let t = c.data_type.as_str();
    let per_second = if t.starts_with("Timestamp(s") {
        Some(1.0)
    } else if t.starts_with("Timestamp(ms") {
        Some(1e3)
    } else if t.starts_with("Timestamp(µs") || t.starts_with("Timestamp(us") {
        Some(1e6)
    } else if t.starts_with("Timestamp(ns") {
        Some(1e9)
    } else {
        None
    };
    if let Some(d) = per_second
        && let Some(ts) = chrono::DateTime::from_timestamp((x / d).floor() as i64, 0)
    {
        return ts.format("%Y-%m-%d %H:%M").to_string();
    }
    if t == "Date32"
        && let Some(ts) = chrono::DateTime::from_timestamp(x as i64 * 86_400, 0)
    {
        return ts.format("%Y-%m-%d").to_string();
    }
    num(x)
}

fn column_card(h: &mut String, c: &ColumnProfile) {
    let _ = write!(
        h,
        "<div class=\"card\" data-column=\"{}\"><h3>{}</h3><div class=\"type\">{} &middot; {:?}</div><table class=\"kv\">",
        escape(&c.name),
        escape(&c.name),
        escape(&c.data_type),
        c.kind
    );
    let missing_class = if c.missing_rate > 0.05 { " class=\"warn\"" } else { "" };
    let _ = write!(
        h,
        "<tr><td>missing</td><td{missing_class}>{} ({:.2}%)</td></tr>",
        group(c.missing),
        100.0 * c.missing_rate
    );
    for (k, v) in [
        ("null", c.nulls),
        ("NaN", c.nan),
        ("empty", c.empty),
        ("whitespace only", c.whitespace),
    ] {
        if v > 0 {
            let _ = write!(h, "<tr><td>&nbsp;&nbsp;{k}</td><td>{}</td></tr>", group(v));
        }
    }
    let _ = write!(
        h,
        "<tr><td>distinct (HLL)</td><td>~{} [{}, {}]</td></tr>",
        group(c.distinct.estimate.round() as u64),
        group(c.distinct.lower.round() as u64),
        group(c.distinct.upper.round() as u64)
    );
    if let Some(s) = c.stats {
        let _ = write!(
            h,
            "<tr><td>min / max</td><td>{} / {}</td></tr>",
            value(c, s.min),
            value(c, s.max)
        );
        if c.kind != crate::state::ValueKind::Temporal {
            let _ = write!(
                h,
                "<tr><td>mean &plusmn; std</td><td>{} &plusmn; {}</td></tr>",
                num(s.mean),
                s.std.map(num).unwrap_or_else(|| "-".into())
            );
        }
    }
    if let Some(median) = c.quantiles.iter().find(|q| q.0 == 0.5) {
        let _ = write!(h, "<tr><td>median (KLL)</td><td>{}</td></tr>", value(c, median.1));
    }
    if let Some(p) = c.parses {
        let parts: Vec<String> = [
            ("int", p.integer),
            ("float", p.float),
            ("bool", p.boolean),
            ("date", p.date),
            ("timestamp", p.timestamp),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k} {}", group(*n)))
        .collect();
        if !parts.is_empty() {
            let _ = write!(h, "<tr><td>parses as</td><td>{}</td></tr>", parts.join(", "));
        }
    }
    if let Some(l) = c.lengths {
        let _ = write!(
            h,
            "<tr><td>length min / mean / max</td><td>{} / {:.1} / {}</td></tr>",
            num(l.min),
            l.mean,
            num(l.max)
        );
    }
    h.push_str("</table>");
    if c.histogram.len() > 1 {
        histogram_svg(h, &c.histogram, |x| value(c, x));
    } else if !c.top.is_empty() {
        top_svg(h, &c.top, c.rows);
    }
    h.push_str("</div>");
}

fn histogram_svg(h: &mut String, bins: &[Bin], label: impl Fn(f64) -> String) {
    let (w, ht, pad) = (340.0, 110.0, 16.0);
    let max = bins.iter().map(|b| b.count).fold(0.0, f64::max).max(1.0);
    let bw = w / bins.len() as f64;
    let _ = write!(
        h,
        "<svg class=\"chart histogram\" width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\" role=\"img\"><title>histogram</title>",
        ht + pad,
        ht + pad
    );
    for (i, b) in bins.iter().enumerate() {
        let bh = (b.count / max * ht).max(if b.count > 0.0 { 1.0 } else { 0.0 });
        let _ = write!(
            h,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#4c8eda\"><title>[{}, {}): ~{:.0}</title></rect>",
            i as f64 * bw + 0.5,
            ht - bh,
            (bw - 1.0).max(0.5),
            label(b.lo),
            label(b.hi),
            b.count
        );
    }
    let (lo, hi) = (bins[0].lo, bins[bins.len() - 1].hi);
    let _ = write!(
        h,
        "<text x=\"0\" y=\"{}\">{}</text><text x=\"{w}\" y=\"{}\" text-anchor=\"end\">{}</text></svg>",
        ht + 12.0,
        label(lo),
        ht + 12.0,
        label(hi)
    );
}

fn top_svg(h: &mut String, top: &[TopValue], rows: u64) {
    let (w, row_h) = (340.0, 16.0);
    let label_w = 120.0;
    let max = top.iter().map(|t| t.count).max().unwrap_or(1).max(1) as f64;
    let ht = row_h * top.len() as f64;
    let _ = write!(
        h,
        "<svg class=\"chart bars\" width=\"{w}\" height=\"{ht}\" viewBox=\"0 0 {w} {ht}\" role=\"img\"><title>most frequent values</title>"
    );
    for (i, t) in top.iter().enumerate() {
        let y = i as f64 * row_h;
        let bw = (t.count as f64 / max * (w - label_w - 95.0)).max(1.0);
        let mut label: String = t.value.chars().take(18).collect();
        if t.value.chars().count() > 18 {
            label.push('…');
        }
        if label.trim().is_empty() {
            label = format!("{:?}", t.value);
        }
        let share = if rows > 0 {
            100.0 * t.count as f64 / rows as f64
        } else {
            0.0
        };
        let _ = write!(
            h,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><rect x=\"{label_w}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" fill=\"#8a63d2\"/><text x=\"{:.1}\" y=\"{:.1}\">{} ({share:.1}%)</text>",
            label_w - 4.0,
            y + 11.0,
            escape(&label),
            y + 2.0,
            row_h - 4.0,
            label_w + bw + 4.0,
            y + 11.0,
            group(t.count)
        );
    }
    h.push_str("</svg>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ColumnState;
    use arrow::array::{ArrayRef, Float64Array, StringArray};
    use arrow::datatypes::DataType;
    use std::sync::Arc;

    #[test]
    fn renders_escaped_self_contained_page() {
        let mut num_state = ColumnState::new(&DataType::Float64);
        num_state
            .update(&(Arc::new(Float64Array::from((0..500).map(|i| i as f64).collect::<Vec<_>>())) as ArrayRef))
            .unwrap();
        let mut str_state = ColumnState::new(&DataType::Utf8);
        str_state
            .update(&(Arc::new(StringArray::from(vec!["<b>", "a", "a", ""])) as ArrayRef))
            .unwrap();
        let t = TableProfile {
            rows: 500,
            columns: vec![
                ColumnProfile::from_state("amount", "Float64", &num_state),
                ColumnProfile::from_state("name<script>", "Utf8", &str_state),
            ],
        };
        let page = render("Profile", "test", &[("t.csv".into(), t)]);
        assert!(page.starts_with("<!doctype html>"));
        assert!(!page.contains("<script>"), "column names are escaped");
        assert!(page.contains("name&lt;script&gt;"));
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "no network resources"
        );
        assert_eq!(page.matches("class=\"chart histogram\"").count(), 1);
        assert_eq!(page.matches("class=\"chart bars\"").count(), 1);
        assert_eq!(page.matches("<rect").count(), 20 + 3);
    }
}
