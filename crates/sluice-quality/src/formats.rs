//! Value-level checks on string columns: the kind and date format of each value, mis-decoded text,
//! surrounding whitespace, and category spellings that differ only in case, spacing or accents.
//!
//! | check              | a value is flagged when                                                        |
//! |--------------------|--------------------------------------------------------------------------------|
//! | date formats       | the column is a date column (at least half its values are dates in a known format) and the value is a date in another format than the most frequent one |
//! | mixed types        | most values are of one non-text kind (number, boolean, date, timestamp) and the value is of another kind |
//! | encoding           | it contains U+FFFD, or it is mojibake: its characters all map to Windows-1252/Latin-1 bytes and those bytes are valid UTF-8 with a non-ASCII byte (UTF-8 text decoded as Windows-1252, "cafÃ©") |
//! | whitespace         | it has leading or trailing whitespace (a whitespace-only value is *missing*)   |
//! | category variants  | the column has at most `max_categories` distinct (trimmed) values, and the value folds (NFKD, combining marks dropped, whitespace removed, lowercased) to the same key as a more frequent spelling |
//!
//! Kinds and date formats are recognised from the value's *shape* (digits, letter runs and separators), then
//! checked (month 1-12, day within the month), so a column of ten million values costs one pass over the bytes
//! rather than a dozen trial parses per value. Known date formats, named as strftime patterns:
//! `%Y-%m-%d`, `%Y/%m/%d`, `%m/%d/%Y` (or `%d/%m/%Y` when the first field exceeds 12), `%d.%m.%Y`,
//! `%m-%d-%Y` / `%d-%m-%Y`, `%d %b %Y`, `%d %B %Y`, `%B %d, %Y`, `%b %d, %Y`, and `%Y%m%d` (eight digits that
//! form a valid date in 1800-2199, counted as a date only in a date column, otherwise as an integer).
//! ISO 8601 date-times (`YYYY-MM-DD` then `T` or a space and `HH:MM`) are timestamps.

use std::collections::{BTreeMap, HashMap, HashSet};

use arrow::array::{Array, StringArray};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::table::Table;

/// The kind of a string value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `true`/`false` (any case).
    Boolean,
    /// A decimal integer.
    Integer,
    /// A decimal or exponent float.
    Float,
    /// A date, with its format.
    Date(DateFormat),
    /// An ISO 8601 date-time.
    Timestamp,
    /// Anything else.
    Text,
}

/// A date format (see the module docs for the patterns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DateFormat {
    /// `%Y-%m-%d`
    Iso,
    /// `%Y/%m/%d`
    YmdSlash,
    /// `%m/%d/%Y`
    MdySlash,
    /// `%d/%m/%Y`
    DmySlash,
    /// `%d.%m.%Y`
    DmyDot,
    /// `%m-%d-%Y`
    MdyDash,
    /// `%d-%m-%Y`
    DmyDash,
    /// `%d %b %Y`
    DayMonAbbr,
    /// `%d %B %Y`
    DayMonthFull,
    /// `%B %d, %Y`
    MonthFullDay,
    /// `%b %d, %Y`
    MonAbbrDay,
    /// `%Y%m%d`
    Compact,
}

impl DateFormat {
    /// The strftime pattern.
    pub fn pattern(self) -> &'static str {
        match self {
            DateFormat::Iso => "%Y-%m-%d",
            DateFormat::YmdSlash => "%Y/%m/%d",
            DateFormat::MdySlash => "%m/%d/%Y",
            DateFormat::DmySlash => "%d/%m/%Y",
            DateFormat::DmyDot => "%d.%m.%Y",
            DateFormat::MdyDash => "%m-%d-%Y",
            DateFormat::DmyDash => "%d-%m-%Y",
            DateFormat::DayMonAbbr => "%d %b %Y",
            DateFormat::DayMonthFull => "%d %B %Y",
            DateFormat::MonthFullDay => "%B %d, %Y",
            DateFormat::MonAbbrDay => "%b %d, %Y",
            DateFormat::Compact => "%Y%m%d",
        }
    }
}

impl Kind {
    /// The type name used in reports (`number` joins integers and floats).
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Boolean => "boolean",
            Kind::Integer | Kind::Float => "number",
            Kind::Date(_) => "date",
            Kind::Timestamp => "timestamp",
            Kind::Text => "text",
        }
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// The month named by `word` (full name or 3-letter abbreviation, any case) and whether it was abbreviated.
fn month_of(word: &str) -> Option<(u32, bool)> {
    let lower = word.to_ascii_lowercase();
    for (i, m) in MONTHS.iter().enumerate() {
        if lower == *m {
            return Some((i as u32 + 1, false));
        }
        if lower.len() == 3 && m.starts_with(&lower) {
            return Some((i as u32 + 1, true));
        }
    }
    // "Sept" is common.
    (lower == "sept").then_some((9, true))
}

fn valid_date(y: i32, m: u32, d: u32) -> bool {
    chrono::NaiveDate::from_ymd_opt(y, m, d).is_some()
}

/// Splits `s` into runs of digits, runs of ASCII letters, and single other characters, and returns the
/// shape (`9` per digit, `a` per letter run, other characters as is) with the runs; `None` if the value is
/// too long or has a non-ASCII character (no format here has one).
fn shape(s: &str) -> Option<(String, Vec<&str>)> {
    if s.len() > 40 || !s.is_ascii() {
        return None;
    }
    let b = s.as_bytes();
    let mut shape = String::with_capacity(b.len());
    let mut runs = Vec::with_capacity(6);
    let mut i = 0;
    while i < b.len() {
        let start = i;
        if b[i].is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                shape.push('9');
                i += 1;
            }
            runs.push(&s[start..i]);
        } else if b[i].is_ascii_alphabetic() {
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            shape.push('a');
            runs.push(&s[start..i]);
        } else {
            shape.push(b[i] as char);
            i += 1;
        }
    }
    Some((shape, runs))
}

fn num(s: &str) -> u32 {
    s.parse().unwrap_or(0)
}

/// The date format of `s`, if it is a date in a non-compact known format.
fn date_format(shape: &str, runs: &[&str]) -> Option<DateFormat> {
    let digits = |i: usize| runs.get(i).map(|r| r.len()).unwrap_or(0);
    let is_num = |i: usize| runs.get(i).is_some_and(|r| r.as_bytes()[0].is_ascii_digit());
    if runs.len() != 3 {
        return None;
    }
    let sep = shape.bytes().find(|c| !matches!(c, b'9' | b'a'));
    // Numeric: Y-M-D, Y/M/D, or two 1-2 digit fields and a year.
    if is_num(0) && is_num(1) && is_num(2) {
        let sep = sep?;
        if shape.bytes().filter(|c| *c == sep).count() != 2 || shape.len() != digits(0) + digits(1) + digits(2) + 2 {
            return None;
        }
        if digits(0) == 4 && (1..=2).contains(&digits(1)) && (1..=2).contains(&digits(2)) {
            let (y, m, d) = (num(runs[0]) as i32, num(runs[1]), num(runs[2]));
            return match sep {
                b'-' if valid_date(y, m, d) => Some(DateFormat::Iso),
                b'/' if valid_date(y, m, d) => Some(DateFormat::YmdSlash),
                _ => None,
            };
        }
        if digits(2) == 4 && (1..=2).contains(&digits(0)) && (1..=2).contains(&digits(1)) {
            let (a, b, y) = (num(runs[0]), num(runs[1]), num(runs[2]) as i32);
            let mdy = valid_date(y, a, b);
            let dmy = valid_date(y, b, a);
            return match (sep, mdy, dmy) {
                (b'/', true, _) => Some(DateFormat::MdySlash),
                (b'/', false, true) => Some(DateFormat::DmySlash),
                (b'.', _, true) => Some(DateFormat::DmyDot),
                (b'-', true, _) => Some(DateFormat::MdyDash),
                (b'-', false, true) => Some(DateFormat::DmyDash),
                _ => None,
            };
        }
        return None;
    }
    // "1 Mar 2024", "01 March 2024"
    if (shape == "9 a 9999" || shape == "99 a 9999") && digits(2) == 4 {
        let (m, abbr) = month_of(runs[1])?;
        return valid_date(num(runs[2]) as i32, m, num(runs[0])).then_some(if abbr {
            DateFormat::DayMonAbbr
        } else {
            DateFormat::DayMonthFull
        });
    }
    // "March 1, 2024", "Mar 01, 2024"
    if shape == "a 9, 9999" || shape == "a 99, 9999" {
        let (m, abbr) = month_of(runs[0])?;
        return valid_date(num(runs[2]) as i32, m, num(runs[1])).then_some(if abbr {
            DateFormat::MonAbbrDay
        } else {
            DateFormat::MonthFullDay
        });
    }
    None
}

/// Whether `s` (eight digits) is a `%Y%m%d` date in 1800-2199.
fn compact_date(s: &str) -> bool {
    s.len() == 8
        && s.bytes().all(|b| b.is_ascii_digit())
        && (1800..2200).contains(&num(&s[..4]))
        && valid_date(num(&s[..4]) as i32, num(&s[4..6]), num(&s[6..]))
}

fn is_integer(s: &str) -> bool {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    !d.is_empty() && d.len() <= 19 && d.bytes().all(|b| b.is_ascii_digit())
}

fn is_float(s: &str) -> bool {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    let first = d.as_bytes().first().copied().unwrap_or(b'x');
    (first.is_ascii_digit() || first == b'.') && d.parse::<f64>().is_ok_and(f64::is_finite)
}

/// The kind of a trimmed, non-empty value. Eight-digit dates come back as integers; see [`compact_date`].
pub fn classify(s: &str) -> Kind {
    if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") {
        return Kind::Boolean;
    }
    if is_integer(s) {
        return Kind::Integer;
    }
    if is_float(s) {
        return Kind::Float;
    }
    let Some((shape, runs)) = shape(s) else {
        return Kind::Text;
    };
    if let Some(f) = date_format(&shape, &runs) {
        return Kind::Date(f);
    }
    if shape.len() >= 16
        && shape.starts_with("9999-99-99")
        && matches!(shape.as_bytes()[10], b'a' | b' ')
        && shape[11..].starts_with("99:99")
        && valid_date(num(runs[0]) as i32, num(runs[1]), num(runs[2]))
    {
        return Kind::Timestamp;
    }
    Kind::Text
}

/// Windows-1252 bytes 0x80-0x9F (WHATWG index); the five undefined ones decode to the C1 control.
const CP1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}', '\u{02C6}',
    '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}', '\u{017D}', '\u{008F}', '\u{0090}', '\u{2018}',
    '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}', '\u{02DC}', '\u{2122}', '\u{0161}',
    '\u{203A}', '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
];

/// The single byte that Windows-1252 or Latin-1 decodes to `c`, if any.
fn cp1252_byte(c: char) -> Option<u8> {
    let u = u32::from(c);
    if u < 0x100 {
        return Some(u as u8);
    }
    CP1252_HIGH.iter().position(|h| *h == c).map(|i| 0x80 + i as u8)
}

/// Whether `s` is UTF-8 text that was decoded as Windows-1252 or Latin-1.
pub fn is_mojibake(s: &str) -> bool {
    if s.is_ascii() {
        return false;
    }
    let mut bytes = Vec::with_capacity(s.len());
    for c in s.chars() {
        match cp1252_byte(c) {
            Some(b) => bytes.push(b),
            None => return false,
        }
    }
    std::str::from_utf8(&bytes).is_ok()
}

/// The text that mojibake `s` was before its UTF-8 bytes were decoded as Windows-1252 or Latin-1
/// ("cafÃ©" -> "café"); `None` unless [`is_mojibake`]. Used by `sluice-clean`'s encoding repair.
pub fn unmojibake(s: &str) -> Option<String> {
    if s.is_ascii() {
        return None;
    }
    let bytes: Option<Vec<u8>> = s.chars().map(cp1252_byte).collect();
    String::from_utf8(bytes?).ok()
}

/// The folding key of category spellings: NFKD, combining marks dropped, whitespace removed, lowercased.
pub fn fold(s: &str) -> String {
    s.nfkd()
        .filter(|c| !is_combining_mark(*c) && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// What one pass over a string column found.
#[derive(Debug, Default)]
pub struct StringScan {
    /// Non-missing values.
    pub present: u64,
    /// Sum of the trimmed values' lengths in characters (for choosing text columns).
    pub chars: u64,
    /// Values per kind (eight-digit dates as integers).
    pub kinds: BTreeMap<Kind, u64>,
    /// Integers that are also `%Y%m%d` dates.
    pub compact_dates: u64,
    /// Rows with leading / trailing / both whitespace.
    pub leading: u64,
    /// See `leading`.
    pub trailing: u64,
    /// See `leading`.
    pub both: u64,
    /// Rows with surrounding whitespace.
    pub whitespace_rows: Vec<u64>,
    /// Mojibake values.
    pub mojibake: u64,
    /// Values with U+FFFD.
    pub replacement: u64,
    /// Rows with an encoding problem, and which.
    pub encoding_rows: Vec<(u64, &'static str)>,
    /// Distinct trimmed values and their counts (`None` once past the cap).
    pub distinct: Option<HashMap<String, u64>>,
}

/// Scans string column `c`; `None` if it is not a string column.
pub fn scan(table: &Table, c: usize, max_categories: usize) -> Option<StringScan> {
    let mut s = StringScan {
        distinct: Some(HashMap::new()),
        ..Default::default()
    };
    let mut any = false;
    for (start, array) in table.column(c) {
        let a = array.as_any().downcast_ref::<StringArray>()?;
        any = true;
        for i in 0..a.len() {
            if a.is_null(i) {
                continue;
            }
            let row = start + i as u64;
            let v = a.value(i);
            let t = v.trim();
            if t.is_empty() {
                continue;
            }
            s.present += 1;
            s.chars += t.chars().count() as u64;
            if t.len() != v.len() {
                let lead = v.len() != v.trim_start().len();
                let trail = v.len() != v.trim_end().len();
                match (lead, trail) {
                    (true, true) => s.both += 1,
                    (true, false) => s.leading += 1,
                    _ => s.trailing += 1,
                }
                s.whitespace_rows.push(row);
            }
            // On the untrimmed value: mojibake of "à" ends in U+00A0, which trimming would cut.
            if t.contains('\u{FFFD}') {
                s.replacement += 1;
                s.encoding_rows.push((row, "replacement character U+FFFD"));
            } else if is_mojibake(v) {
                s.mojibake += 1;
                s.encoding_rows.push((row, "mojibake (UTF-8 read as Windows-1252)"));
            }
            let kind = classify(t);
            if kind == Kind::Integer && compact_date(t) {
                s.compact_dates += 1;
            }
            *s.kinds.entry(kind).or_default() += 1;
            let mut overflow = false;
            if let Some(d) = &mut s.distinct {
                if let Some(n) = d.get_mut(t) {
                    *n += 1;
                } else if d.len() < max_categories {
                    d.insert(t.to_owned(), 1);
                } else {
                    overflow = true;
                }
            }
            if overflow {
                s.distinct = None;
            }
        }
    }
    any.then_some(s)
}

/// The type verdict of a scanned column.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeVerdict {
    /// Whether the column is a date column (compact dates then count as dates).
    pub date_column: bool,
    /// Rows per type name.
    pub types: BTreeMap<String, u64>,
    /// The dominant type.
    pub dominant: String,
    /// Rows per date format (date columns only).
    pub formats: BTreeMap<String, u64>,
    /// The dominant date format (date columns only).
    pub dominant_format: Option<String>,
}

/// Decides a column's dominant type and date format from its scan.
pub fn verdict(s: &StringScan) -> TypeVerdict {
    let dates: u64 = s
        .kinds
        .iter()
        .filter(|(k, _)| matches!(k, Kind::Date(_)))
        .map(|(_, n)| n)
        .sum();
    let date_column = s.present > 0 && (dates + s.compact_dates) * 2 >= s.present && dates > 0;
    let mut types: BTreeMap<String, u64> = BTreeMap::new();
    let mut formats: BTreeMap<String, u64> = BTreeMap::new();
    for (k, n) in &s.kinds {
        let name = if date_column && *k == Kind::Integer {
            // Split the integers into compact dates and the rest.
            if s.compact_dates > 0 {
                *types.entry("date".into()).or_default() += s.compact_dates;
                *formats.entry(DateFormat::Compact.pattern().into()).or_default() += s.compact_dates;
            }
            if n - s.compact_dates == 0 {
                continue;
            }
            *types.entry("number".into()).or_default() += n - s.compact_dates;
            continue;
        } else {
            k.type_name()
        };
        *types.entry(name.into()).or_default() += n;
        if let Kind::Date(f) = k {
            *formats.entry(f.pattern().into()).or_default() += n;
        }
    }
    let dominant = if date_column {
        "date".to_owned()
    } else {
        types
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| "text".into())
    };
    let dominant_format = date_column
        .then(|| {
            formats
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(k, _)| k.clone())
        })
        .flatten();
    TypeVerdict {
        date_column,
        types,
        dominant,
        formats: if date_column { formats } else { BTreeMap::new() },
        dominant_format,
    }
}

/// The type name and (for dates in a date column) format of one trimmed value under `v`.
pub fn type_and_format(t: &str, v: &TypeVerdict) -> (&'static str, Option<&'static str>) {
    let k = classify(t);
    if v.date_column && k == Kind::Integer && compact_date(t) {
        return ("date", Some(DateFormat::Compact.pattern()));
    }
    match k {
        Kind::Date(f) => ("date", Some(f.pattern())),
        other => (other.type_name(), None),
    }
}

/// Spelling groups of a scanned column: the groups and the set of non-canonical spellings.
pub fn variant_groups(distinct: &HashMap<String, u64>) -> (Vec<crate::report::VariantGroup>, HashSet<String>) {
    let mut by_key: HashMap<String, Vec<(String, u64)>> = HashMap::new();
    for (v, n) in distinct {
        by_key.entry(fold(v)).or_default().push((v.clone(), *n));
    }
    let mut groups = Vec::new();
    let mut variants = HashSet::new();
    for (_, mut spellings) in by_key {
        if spellings.len() < 2 {
            continue;
        }
        spellings.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (s, _) in &spellings[1..] {
            variants.insert(s.clone());
        }
        groups.push(crate::report::VariantGroup {
            canonical: spellings[0].0.clone(),
            spellings,
        });
    }
    groups.sort_by(|a, b| {
        let rows = |g: &crate::report::VariantGroup| g.spellings[1..].iter().map(|s| s.1).sum::<u64>();
        rows(b).cmp(&rows(a)).then(a.canonical.cmp(&b.canonical))
    });
    (groups, variants)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_date_formats_users_write() {
        let cases = [
            ("2024-03-01", Kind::Date(DateFormat::Iso)),
            ("2024/03/01", Kind::Date(DateFormat::YmdSlash)),
            ("03/01/2024", Kind::Date(DateFormat::MdySlash)),
            ("3/1/2024", Kind::Date(DateFormat::MdySlash)),
            ("25/12/2024", Kind::Date(DateFormat::DmySlash)),
            ("25.12.2024", Kind::Date(DateFormat::DmyDot)),
            ("1 Mar 2024", Kind::Date(DateFormat::DayMonAbbr)),
            ("01 March 2024", Kind::Date(DateFormat::DayMonthFull)),
            ("March 1, 2024", Kind::Date(DateFormat::MonthFullDay)),
            ("Mar 1, 2024", Kind::Date(DateFormat::MonAbbrDay)),
            ("2024-03-01T12:30:00Z", Kind::Timestamp),
            ("2024-03-01 12:30", Kind::Timestamp),
            ("2024-02-30", Kind::Text),
            ("13/13/2024", Kind::Text),
            ("1 Foo 2024", Kind::Text),
            ("20240301", Kind::Integer),
            ("-12", Kind::Integer),
            ("3.5e2", Kind::Float),
            ("TRUE", Kind::Boolean),
            ("New York", Kind::Text),
            ("inf", Kind::Text),
        ];
        for (s, k) in cases {
            assert_eq!(classify(s), k, "{s}");
        }
        assert!(compact_date("20240301"));
        assert!(!compact_date("20241301"));
        assert!(!compact_date("12345678"));
    }

    #[test]
    fn chrono_formats_the_same_patterns_back() {
        // Independent check of the pattern names: chrono renders the date and we recognise the result.
        let d = chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        for f in [
            DateFormat::Iso,
            DateFormat::YmdSlash,
            DateFormat::MdySlash,
            DateFormat::DmyDot,
            DateFormat::MdyDash,
            DateFormat::DayMonAbbr,
            DateFormat::DayMonthFull,
            DateFormat::MonthFullDay,
            DateFormat::MonAbbrDay,
        ] {
            assert_eq!(
                classify(&d.format(f.pattern()).to_string()),
                Kind::Date(f),
                "{}",
                f.pattern()
            );
        }
    }

    #[test]
    fn mojibake_and_legitimate_accents() {
        assert!(is_mojibake("cafÃ©"));
        assert!(is_mojibake("SÃ£o Paulo"));
        assert!(is_mojibake("ZÃ¼rich"));
        assert!(is_mojibake("â€œquotedâ€\u{9D}"));
        assert!(!is_mojibake("café"));
        assert!(!is_mojibake("São Paulo"));
        assert!(!is_mojibake("plain"));
        assert!(!is_mojibake("東京"));
        assert_eq!(unmojibake("cafÃ©").as_deref(), Some("café"));
        assert_eq!(
            unmojibake("â€œquotedâ€\u{9D}").as_deref(),
            Some("\u{201C}quoted\u{201D}")
        );
        assert_eq!(unmojibake("café"), None);
    }

    #[test]
    fn folding_ignores_case_spacing_and_accents() {
        assert_eq!(fold("Néw  York"), fold("new york"));
        assert_eq!(fold("NewYork"), fold("New York"));
        assert_eq!(fold("São Paulo"), fold("SAO PAULO"));
        assert_ne!(fold("SÃ£o Paulo"), fold("São Paulo"));
        assert_ne!(fold("York"), fold("New York"));
    }

    #[test]
    fn variant_groups_pick_the_most_frequent_spelling() {
        let d: HashMap<String, u64> = [("New York", 90), ("new york", 5), ("Néw York", 2), ("Texas", 50)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let (groups, variants) = variant_groups(&d);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].canonical, "New York");
        assert_eq!(groups[0].spellings.len(), 3);
        assert!(variants.contains("new york") && variants.contains("Néw York") && !variants.contains("New York"));
    }

    #[test]
    fn verdict_counts_compact_dates_only_in_date_columns() {
        let s = StringScan {
            present: 10,
            kinds: [(Kind::Date(DateFormat::Iso), 8), (Kind::Integer, 2)]
                .into_iter()
                .collect(),
            compact_dates: 1,
            ..Default::default()
        };
        let v = verdict(&s);
        assert!(v.date_column);
        assert_eq!(v.types["date"], 9);
        assert_eq!(v.types["number"], 1);
        assert_eq!(v.formats["%Y%m%d"], 1);
        assert_eq!(v.dominant_format.as_deref(), Some("%Y-%m-%d"));
        let s = StringScan {
            present: 10,
            kinds: [(Kind::Integer, 10)].into_iter().collect(),
            compact_dates: 10,
            ..Default::default()
        };
        let v = verdict(&s);
        assert!(!v.date_column);
        assert_eq!(v.dominant, "number");
    }
}
