//! `normalize_dates`: dates and date-times written in mixed formats, rewritten as ISO 8601.
//!
//! Each value is trimmed and read with the first format that accepts it; the value is *rewritten, never
//! moved in time*: a date becomes `YYYY-MM-DD`, a date-time without offset `YYYY-MM-DDTHH:MM:SS[.fff]`, a
//! date-time with an offset keeps its offset (`+01:00`, or `Z` for UTC). With `as_date = true` the column
//! becomes `Date32` and a date-time keeps its date as written.
//!
//! Built-in formats, tried in this order (chrono patterns):
//!
//! | written                                   | pattern                                  |
//! |-------------------------------------------|------------------------------------------|
//! | `2024-03-01T12:30:00+01:00`, `...Z`        | RFC 3339 (`T`, `t` or a space)           |
//! | `2024-03-01T12:30:00.5`, `2024-03-01 12:30` | `%Y-%m-%dT%H:%M:%S%.f`, `%Y-%m-%d %H:%M:%S%.f`, `%Y-%m-%dT%H:%M`, `%Y-%m-%d %H:%M` |
//! | `2024-03-01`                              | `%Y-%m-%d`                               |
//! | `2024/03/01`                              | `%Y/%m/%d`                               |
//! | `03/01/2024` (month first)                | `%m/%d/%Y`                               |
//! | `25/12/2024` (day first, when the first field exceeds 12) | `%d/%m/%Y`               |
//! | `25.12.2024`                              | `%d.%m.%Y`                               |
//! | `03-01-2024`, `25-12-2024`                | `%m-%d-%Y`, `%d-%m-%Y`                   |
//! | `1 Mar 2024`, `01 March 2024`             | `%d %B %Y` (chrono reads full and abbreviated names) |
//! | `March 1, 2024`, `Mar 1, 2024`            | `%B %d, %Y`                              |
//! | `20240301`                                | `%Y%m%d` (exactly eight digits)          |
//! | `March 1 2024`                            | `%B %d %Y`                               |
//!
//! These are the formats `sluice quality`'s date-format check recognises (and `sluice synth` injects), so a
//! column that check flags is one this step fixes. Slashed dates are read month first, as there; a column of
//! day-first dates needs `formats = ["%d/%m/%Y"]`, and the report notes when a column had values of both
//! orders. A built-in format only accepts years 1000-9999, so `03/01/24` is not read as the year 24; give
//! `%m/%d/%y` to read two-digit years (chrono maps them to 1969-2068). Given `formats` replace the list; each
//! is tried as a date-time with offset, then without, then as a date.
//!
//! Null, empty and whitespace-only values are missing, not malformed: they are left alone (null in a
//! `Date32` column) and not counted.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Builder, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat};
use rayon::prelude::*;

use crate::OnError;
use crate::Outcome;
use crate::error::Result;
use crate::frame::{Cell, Edit, Frame, Strings, Tally, rewrite_strings_with};
use crate::report::{Example, StepReport};

/// The built-in date-only patterns, in the order tried (after RFC 3339 and the ISO date-times).
const DATE_PATTERNS: [&str; 11] = [
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%m-%d-%Y",
    "%d-%m-%Y",
    "%d %B %Y",
    "%B %d, %Y",
    "%Y%m%d",
    "%B %d %Y",
];

/// The built-in ISO date-time patterns without offset.
const NAIVE_PATTERNS: [&str; 4] = [
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
];

/// A value read by a format.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Parsed {
    Date(NaiveDate),
    Naive(NaiveDateTime),
    Zoned(DateTime<FixedOffset>),
}

impl Parsed {
    fn iso(&self) -> String {
        match self {
            Parsed::Date(d) => d.format("%Y-%m-%d").to_string(),
            Parsed::Naive(t) => t.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
            Parsed::Zoned(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        }
    }

    fn date(&self) -> NaiveDate {
        match self {
            Parsed::Date(d) => *d,
            Parsed::Naive(t) => t.date(),
            Parsed::Zoned(t) => t.date_naive(),
        }
    }

    fn has_time(&self) -> bool {
        !matches!(self, Parsed::Date(_))
    }
}

/// Checks user-given patterns: each must be a valid chrono pattern with at least a day, month and year, or a
/// whole-date specifier.
pub(crate) fn check_formats(formats: &[String]) -> std::result::Result<(), String> {
    if formats.is_empty() {
        return Err(
            "formats is empty; remove it to use the built-in formats, or list chrono patterns such as \"%d/%m/%Y\""
                .into(),
        );
    }
    for f in formats {
        if StrftimeItems::new(f).any(|i| matches!(i, Item::Error)) {
            return Err(format!(
                "format {f:?} is not a valid chrono pattern; see https://docs.rs/chrono/latest/chrono/format/strftime/ (e.g. \"%d/%m/%Y\")"
            ));
        }
        let test = NaiveDate::from_ymd_opt(2024, 3, 1)
            .and_then(|d| d.and_hms_opt(12, 30, 0))
            .map(|t| t.and_utc().fixed_offset());
        // A pattern that cannot read back a date it writes has no year, month or day.
        let ok = test.is_some_and(|t| {
            use std::fmt::Write;
            let mut s = String::new();
            write!(s, "{}", t.format(f)).is_ok() && parse_with(&s, f).is_some_and(|p| p.date() == t.date_naive())
        });
        if !ok {
            return Err(format!(
                "format {f:?} does not give a whole date (year, month and day); add the missing fields, e.g. \"%d/%m/%Y\""
            ));
        }
    }
    Ok(())
}

/// `s` read with pattern `f`: as a date-time with offset, then without, then as a date.
fn parse_with(s: &str, f: &str) -> Option<Parsed> {
    if let Ok(t) = DateTime::parse_from_str(s, f) {
        return Some(Parsed::Zoned(t));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
        return Some(Parsed::Naive(t));
    }
    NaiveDate::parse_from_str(s, f).ok().map(Parsed::Date)
}

/// `YYYY-MM-DD` exactly (years 1000-9999), read without chrono's format interpreter: the common value of
/// a date column, and the one value that needs no rewriting.
fn iso_date(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || b[0] == b'0' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        b[r].iter()
            .try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

/// `s` (trimmed, non-empty) read with the built-in formats; returns the value and the pattern's name.
fn parse_builtin(s: &str) -> Option<(Parsed, &'static str)> {
    let year_ok = |p: &Parsed| (1000..=9999).contains(&chrono::Datelike::year(&p.date()));
    let b = s.as_bytes();
    if let Some(d) = iso_date(b) {
        return Some((Parsed::Date(d), DATE_PATTERNS[0]));
    }
    if b.len() >= 16 && b[4] == b'-' && b[7] == b'-' {
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some((Parsed::Zoned(t), "RFC 3339")).filter(|(p, _)| year_ok(p));
        }
        for f in NAIVE_PATTERNS {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
                return Some((Parsed::Naive(t), f)).filter(|(p, _)| year_ok(p));
            }
        }
    }
    for f in DATE_PATTERNS {
        if f == "%Y%m%d" && !(b.len() == 8 && b.iter().all(u8::is_ascii_digit)) {
            continue;
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            let p = Parsed::Date(d);
            if year_ok(&p) {
                return Some((p, f));
            }
        }
    }
    None
}

/// Values read per pattern, in one batch.
type Counts<'f> = BTreeMap<&'f str, u64>;

/// How one column went.
#[derive(Debug, Default)]
struct Seen {
    /// Values read per pattern.
    formats: BTreeMap<String, u64>,
    /// Date-times whose time `as_date` dropped.
    times_dropped: u64,
}

/// Reads one trimmed, non-empty value.
fn read<'f>(t: &str, formats: Option<&'f [String]>) -> Option<(Parsed, &'f str)> {
    match formats {
        None => parse_builtin(t),
        Some(fs) => fs.iter().find_map(|f| parse_with(t, f).map(|p| (p, f.as_str()))),
    }
}

/// `normalize_dates`.
pub(crate) fn normalize(
    frame: &Frame<'_>,
    columns: &[String],
    formats: Option<&[String]>,
    as_date: bool,
    on_error: OnError,
    report: &mut StepReport,
) -> Result<Outcome> {
    let cols = frame.string_columns("columns", columns)?;
    let (outcome, tallies, seen) = if as_date {
        let (batches, tallies, seen) = to_date32(frame, &cols, formats)?;
        (Outcome::Table(batches), tallies, seen)
    } else {
        let (edits, tallies, states) = rewrite_strings_with(frame, &cols, |seen: &mut Counts<'_>, _, v| {
            let Some(v) = v else { return Cell::KEEP };
            if formats.is_none() && iso_date(v.as_bytes()).is_some() {
                *seen.entry(DATE_PATTERNS[0]).or_default() += 1;
                return Cell::KEEP;
            }
            let t = v.trim();
            if t.is_empty() {
                return Cell::KEEP;
            }
            match read(t, formats) {
                Some((p, f)) => {
                    *seen.entry(f).or_default() += 1;
                    let iso = p.iso();
                    if iso == v { Cell::KEEP } else { Cell::set(iso) }
                }
                None => Cell {
                    edit: (on_error == OnError::Null).then_some(Edit::Null),
                    invalid: true,
                },
            }
        })?;
        let seen = states
            .into_iter()
            .map(|per_batch| {
                let mut s = Seen::default();
                for counts in per_batch {
                    for (f, n) in counts {
                        *s.formats.entry(f.to_owned()).or_default() += n;
                    }
                }
                s
            })
            .collect();
        (Outcome::Edit(edits), tallies, seen)
    };
    for (&c, s) in cols.iter().zip(&seen) {
        let name = frame.name(c);
        if !s.formats.is_empty() {
            let mut by_count: Vec<(&String, &u64)> = s.formats.iter().collect();
            by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let list: Vec<String> = by_count.iter().map(|(f, n)| format!("{n} {f}")).collect();
            report.notes.push(format!("{name}: values read as {}", list.join(", ")));
        }
        if s.formats.contains_key("%m/%d/%Y") && s.formats.contains_key("%d/%m/%Y") {
            report.notes.push(format!(
                "{name}: slashed dates of both orders (month first and day first); month-first was assumed where both read; if the column is day first, set formats = [\"%d/%m/%Y\"]"
            ));
        }
        if s.times_dropped > 0 {
            report.notes.push(format!(
                "{name}: as_date dropped the time of {} date-times",
                s.times_dropped
            ));
        }
    }
    let invalid: u64 = tallies.iter().map(|t| t.invalid).sum();
    crate::record_tallies(frame, &cols, tallies, report);
    if invalid > 0 {
        report.notes.push(format!(
            "{invalid} values were not dates in any {} format and were {}",
            if formats.is_some() { "given" } else { "built-in" },
            if on_error == OnError::Null {
                "set to null"
            } else {
                "left as they were"
            }
        ));
    }
    Ok(outcome)
}

type Rewritten = (Vec<RecordBatch>, Vec<Tally>, Vec<Seen>);

/// `as_date`: the columns become `Date32`; every non-missing value counts as changed (its type did), an
/// unreadable one becomes null and counts as invalid.
fn to_date32(frame: &Frame<'_>, cols: &[usize], formats: Option<&[String]>) -> Result<Rewritten> {
    let fields: Vec<Field> = frame
        .schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if cols.contains(&i) {
                Field::new(f.name(), DataType::Date32, true).with_metadata(f.metadata().clone())
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(fields, frame.schema.metadata().clone()));
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    type PerBatch = (RecordBatch, Vec<(Tally, Seen)>);
    let per_batch: Vec<PerBatch> = frame
        .batches
        .par_iter()
        .enumerate()
        .map(|(b, batch)| {
            let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
            let mut out = Vec::with_capacity(cols.len());
            for &c in cols {
                let s = Strings::expect(batch.column(c).as_ref())?;
                let mut tally = Tally::default();
                let mut seen = Seen::default();
                let mut builder = Date32Builder::with_capacity(s.len());
                for i in 0..s.len() {
                    let v = s.get(i);
                    let t = v.map(str::trim).unwrap_or_default();
                    if t.is_empty() {
                        builder.append_null();
                        continue;
                    }
                    let row = frame.starts[b] + i as u64;
                    match read(t, formats) {
                        Some((p, f)) => {
                            *seen.formats.entry(f.to_owned()).or_default() += 1;
                            seen.times_dropped += u64::from(p.has_time());
                            let d = p.date();
                            builder.append_value((d - epoch).num_days() as i32);
                            tally.changed += 1;
                            if tally.examples.len() < crate::frame::EXAMPLES {
                                let after = serde_json::Value::String(d.format("%Y-%m-%d").to_string());
                                tally.examples.push(Example::cell(row, frame.name(c), v, after, None));
                            }
                        }
                        None => {
                            builder.append_null();
                            tally.changed += 1;
                            tally.invalid += 1;
                            if tally.examples.len() < crate::frame::EXAMPLES {
                                tally.examples.push(Example::cell(
                                    row,
                                    frame.name(c),
                                    v,
                                    serde_json::Value::Null,
                                    Some("not a date in any format: set to null".into()),
                                ));
                            }
                        }
                    }
                }
                columns[c] = Arc::new(builder.finish());
                out.push((tally, seen));
            }
            Ok((RecordBatch::try_new(schema.clone(), columns)?, out))
        })
        .collect::<Result<_>>()?;
    let mut batches = Vec::with_capacity(per_batch.len());
    let mut tallies = vec![Tally::default(); cols.len()];
    let mut seen: Vec<Seen> = cols.iter().map(|_| Seen::default()).collect();
    for (batch, per_col) in per_batch {
        batches.push(batch);
        for ((t, s), (bt, bs)) in tallies.iter_mut().zip(seen.iter_mut()).zip(per_col) {
            t.changed += bt.changed;
            t.invalid += bt.invalid;
            let room = crate::frame::EXAMPLES.saturating_sub(t.examples.len());
            t.examples.extend(bt.examples.into_iter().take(room));
            for (f, n) in bs.formats {
                *s.formats.entry(f).or_default() += n;
            }
            s.times_dropped += bs.times_dropped;
        }
    }
    Ok((batches, tallies, seen))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Step, apply};
    use arrow::array::{Array, Date32Array, Int64Array, StringArray};

    fn parse(s: &str) -> Option<String> {
        parse_builtin(s).map(|(p, _)| p.iso())
    }

    #[test]
    fn built_in_formats_read_what_users_write() {
        for (s, want) in [
            ("2024-03-01", "2024-03-01"),
            ("2024-3-1", "2024-03-01"),
            ("2024/03/01", "2024-03-01"),
            ("03/01/2024", "2024-03-01"),
            ("3/1/2024", "2024-03-01"),
            ("25/12/2024", "2024-12-25"),
            ("25.12.2024", "2024-12-25"),
            ("03-01-2024", "2024-03-01"),
            ("1 Mar 2024", "2024-03-01"),
            ("01 March 2024", "2024-03-01"),
            ("March 1, 2024", "2024-03-01"),
            ("Mar 1, 2024", "2024-03-01"),
            ("20240301", "2024-03-01"),
            ("2024-03-01T12:30:00Z", "2024-03-01T12:30:00Z"),
            ("2024-03-01 12:30:00+01:00", "2024-03-01T12:30:00+01:00"),
            ("2024-03-01t12:30:00.250-05:00", "2024-03-01T12:30:00.250-05:00"),
            ("2024-03-01T12:30:00", "2024-03-01T12:30:00"),
            ("2024-03-01 12:30", "2024-03-01T12:30:00"),
            ("2024-03-01T12:30:00.5", "2024-03-01T12:30:00.500"),
        ] {
            assert_eq!(parse(s).as_deref(), Some(want), "{s}");
        }
        for s in [
            "2024-02-30",
            "13/13/2024",
            "hello",
            "03/01/24",
            "1 Foo 2024",
            "12345678",
            "2024",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
    }

    #[test]
    fn chrono_written_dates_read_back() {
        // Independent of the parser: chrono writes one date in each pattern `sluice synth` injects.
        let d = NaiveDate::from_ymd_opt(2023, 11, 7).unwrap();
        for p in [
            "%m/%d/%Y",
            "%-d %b %Y",
            "%Y/%m/%d",
            "%B %-d, %Y",
            "%Y%m%d",
            "%d %B %Y",
            "%b %d, %Y",
        ] {
            let s = d.format(p).to_string();
            assert_eq!(parse(&s).as_deref(), Some("2023-11-07"), "{p} -> {s}");
        }
    }

    #[test]
    fn given_formats_replace_the_built_in_ones() {
        let f = vec!["%d/%m/%Y".to_owned()];
        assert_eq!(
            read("03/01/2024", Some(&f)).map(|p| p.0.iso()).as_deref(),
            Some("2024-01-03")
        );
        assert_eq!(read("2024-01-03", Some(&f)), None);
        let f = vec!["%+".to_owned(), "%m/%d/%y".to_owned()];
        assert_eq!(
            read("03/01/24", Some(&f)).map(|p| p.0.iso()).as_deref(),
            Some("2024-03-01")
        );
        assert_eq!(
            read("2024-03-01T10:00:00+02:00", Some(&f))
                .map(|p| p.0.iso())
                .as_deref(),
            Some("2024-03-01T10:00:00+02:00")
        );
        assert!(check_formats(&["%d/%m/%Y".into(), "%Y-%m-%dT%H:%M:%S%z".into()]).is_ok());
        assert!(check_formats(&["%Q".into()]).unwrap_err().contains("not a valid"));
        assert!(check_formats(&["%m/%Y".into()]).unwrap_err().contains("whole date"));
        assert!(check_formats(&[]).unwrap_err().contains("empty"));
    }

    fn column(values: Vec<Option<&str>>) -> Vec<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("d", DataType::Utf8, true),
        ]));
        let ids: Vec<i64> = (0..values.len() as i64).collect();
        vec![
            RecordBatch::try_new(
                schema,
                vec![
                    Arc::new(Int64Array::from(ids)) as ArrayRef,
                    Arc::new(StringArray::from(values)) as ArrayRef,
                ],
            )
            .unwrap(),
        ]
    }

    fn strings(b: &[RecordBatch]) -> Vec<Option<String>> {
        let a = b[0].column(1).as_any().downcast_ref::<StringArray>().unwrap();
        (0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i).to_owned()))
            .collect()
    }

    fn step(as_date: bool, on_error: Option<OnError>) -> Step {
        Step::NormalizeDates {
            columns: vec!["d".into()],
            formats: None,
            as_date,
            on_error,
        }
    }

    const MIXED: [Option<&str>; 8] = [
        Some("2024-03-01"),
        Some("03/02/2024"),
        Some(" 3 Mar 2024 "),
        Some("not a date"),
        None,
        Some("  "),
        Some("2024-03-05T08:00:00+01:00"),
        Some("20240306"),
    ];

    #[test]
    fn mixed_formats_become_iso_and_bad_values_are_counted() {
        let (out, r) = apply(&step(false, None), column(MIXED.to_vec())).unwrap();
        let want = [
            Some("2024-03-01"),
            Some("2024-03-02"),
            Some("2024-03-03"),
            Some("not a date"),
            None,
            Some("  "),
            Some("2024-03-05T08:00:00+01:00"),
            Some("2024-03-06"),
        ];
        assert_eq!(strings(&out), want.map(|s| s.map(str::to_owned)).to_vec());
        assert_eq!((r.values_changed, r.values_invalid), (3, 1));
        assert_eq!(r.per_column["d"], 3);
        assert_eq!(r.examples[0].row, 1);
        assert_eq!(r.examples[0].before, "03/02/2024");
        assert_eq!(r.examples[0].after, "2024-03-02");
        assert_eq!(r.examples[2].row, 3);
        assert_eq!(
            r.notes[0],
            "d: values read as 1 %Y%m%d, 1 %Y-%m-%d, 1 %d %B %Y, 1 %m/%d/%Y, 1 RFC 3339"
        );

        let (out, r) = apply(&step(false, Some(OnError::Null)), column(MIXED.to_vec())).unwrap();
        assert_eq!(strings(&out)[3], None);
        assert_eq!((r.values_changed, r.values_invalid), (4, 1));
    }

    #[test]
    fn as_date_writes_date32() {
        let (out, r) = apply(&step(true, None), column(MIXED.to_vec())).unwrap();
        assert_eq!(out[0].schema().field(1).data_type(), &DataType::Date32);
        let a = out[0].column(1).as_any().downcast_ref::<Date32Array>().unwrap();
        let days: Vec<Option<i32>> = (0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i))).collect();
        // 2024-03-01 is day 19783 since 1970-01-01.
        assert_eq!(
            days,
            vec![
                Some(19783),
                Some(19784),
                Some(19785),
                None,
                None,
                None,
                Some(19787),
                Some(19788)
            ]
        );
        assert_eq!((r.values_changed, r.values_invalid), (6, 1));
        assert!(
            r.notes.iter().any(|n| n.contains("dropped the time of 1")),
            "{:?}",
            r.notes
        );
        let e = apply(&step(true, Some(OnError::Keep)), column(MIXED.to_vec()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("as_date") && e.contains("on_error"), "{e}");
    }

    #[test]
    fn both_slash_orders_are_noted() {
        let (_, r) = apply(&step(false, None), column(vec![Some("03/01/2024"), Some("25/12/2024")])).unwrap();
        assert!(r.notes.iter().any(|n| n.contains("both orders")), "{:?}", r.notes);
    }
}
