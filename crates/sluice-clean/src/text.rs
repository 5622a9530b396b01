//! Text steps on string columns: `trim`, `case_fold`, `canonical_categories` and `repair_encoding`.
//!
//! * **trim** removes leading and trailing Unicode whitespace (`str::trim`), with one exception: in a value
//!   that is mojibake, U+00A0 is kept, because it is half of a mis-decoded character (`à` is the bytes
//!   C3 A0, read as Windows-1252 `Ã` + U+00A0); trimming it would make the value unrepairable. Run
//!   `repair_encoding` before `trim` and the question does not arise.
//! * **case_fold** applies Unicode's full case mapping (`str::to_lowercase` / `to_uppercase`, so `ß`
//!   upper-cases to `SS`).
//! * **canonical_categories** groups a column's values by `sluice quality`'s folding key (NFKD, combining
//!   marks dropped, whitespace removed, lowercased) and writes each group's most frequent trimmed spelling
//!   (ties to the alphabetically first), the rule of the quality report's category-variant check. The
//!   canonical spelling is trimmed, so padded values are trimmed too. Empty and whitespace-only values are
//!   missing and left alone. The column's distinct values are held in memory: meant for categories.
//! * **repair_encoding** re-decodes mojibake (every character maps to a Windows-1252/Latin-1 byte and the
//!   bytes are valid UTF-8 with a non-ASCII byte: `sluice quality`'s test), repeatedly for text garbled
//!   more than once (up to three rounds). A value with U+FFFD lost its bytes when it was decoded; no
//!   re-decoding restores it, so it is counted as invalid and left as it is.

use std::collections::HashMap;

/// Counts and lookups of spellings: many short keys, hashed with foldhash (hashbrown's default).
type FastMap<K, V> = hashbrown::HashMap<K, V>;

use rayon::prelude::*;
use sluice_quality::formats::{is_mojibake, unmojibake, variant_groups};

use crate::CaseMode;
use crate::edits::Edits;
use crate::error::Result;
use crate::frame::{Cell, Frame, Strings, rewrite_strings};
use crate::record_tallies;
use crate::report::StepReport;

/// `v` without surrounding whitespace, keeping the U+00A0s of mojibake (see the module docs).
pub(crate) fn trimmed(v: &str) -> &str {
    let t = v.trim();
    if t.len() == v.len() || !v.contains('\u{A0}') || !is_mojibake(v) {
        return t;
    }
    v.trim_matches(|c: char| c.is_whitespace() && c != '\u{A0}')
}

/// `trim`.
pub(crate) fn trim(frame: &Frame<'_>, columns: &[String], report: &mut StepReport) -> Result<Edits> {
    let cols = frame.string_columns("columns", columns)?;
    let (out, tallies) = rewrite_strings(frame, &cols, |_, v| match v {
        Some(v) => {
            let t = trimmed(v);
            if t.len() == v.len() {
                Cell::KEEP
            } else {
                Cell::set(t.to_owned())
            }
        }
        None => Cell::KEEP,
    })?;
    record_tallies(frame, &cols, tallies, report);
    Ok(out)
}

/// `case_fold`.
pub(crate) fn case_fold(
    frame: &Frame<'_>,
    columns: &[String],
    mode: CaseMode,
    report: &mut StepReport,
) -> Result<Edits> {
    let cols = frame.string_columns("columns", columns)?;
    let (out, tallies) = rewrite_strings(frame, &cols, |_, v| {
        let Some(v) = v else { return Cell::KEEP };
        // ASCII fast path: no allocation for the common value that is already folded.
        if v.is_ascii()
            && !v.bytes().any(|b| match mode {
                CaseMode::Lower => b.is_ascii_uppercase(),
                CaseMode::Upper => b.is_ascii_lowercase(),
            })
        {
            return Cell::KEEP;
        }
        let f = match mode {
            CaseMode::Lower => v.to_lowercase(),
            CaseMode::Upper => v.to_uppercase(),
        };
        if f == v { Cell::KEEP } else { Cell::set(f) }
    })?;
    record_tallies(frame, &cols, tallies, report);
    Ok(out)
}

/// `canonical_categories`.
pub(crate) fn canonical_categories(frame: &Frame<'_>, columns: &[String], report: &mut StepReport) -> Result<Edits> {
    let cols = frame.string_columns("columns", columns)?;
    // Per column: spelling -> canonical spelling, for spellings that are not canonical.
    let mut maps: Vec<FastMap<String, String>> = Vec::with_capacity(cols.len());
    for &c in &cols {
        let distinct = frame
            .batches
            .par_iter()
            .map(|b| -> Result<FastMap<&str, u64>> {
                let s = Strings::expect(b.column(c).as_ref())?;
                let mut d: FastMap<&str, u64> = FastMap::default();
                for i in 0..s.len() {
                    if let Some(v) = s.get(i).map(str::trim).filter(|t| !t.is_empty()) {
                        *d.entry(v).or_default() += 1;
                    }
                }
                Ok(d)
            })
            .try_reduce(FastMap::default, |mut a, b| {
                for (k, n) in b {
                    *a.entry(k).or_default() += n;
                }
                Ok(a)
            })?;
        let owned: HashMap<String, u64> = distinct.into_iter().map(|(k, n)| (k.to_owned(), n)).collect();
        let (groups, _) = variant_groups(&owned);
        if !groups.is_empty() {
            let shown: Vec<String> = groups
                .iter()
                .take(3)
                .map(|g| {
                    let others: Vec<String> = g.spellings[1..].iter().map(|s| format!("{:?}", s.0)).collect();
                    format!("{} -> {:?}", others.join(", "), g.canonical)
                })
                .collect();
            report.notes.push(format!(
                "{}: {} categories had several spellings; {}{}",
                frame.name(c),
                groups.len(),
                shown.join("; "),
                if groups.len() > 3 { "; ..." } else { "" }
            ));
        }
        maps.push(
            groups
                .into_iter()
                .flat_map(|g| {
                    let canonical = g.canonical;
                    g.spellings
                        .into_iter()
                        .skip(1)
                        .map(move |(s, _)| (s, canonical.clone()))
                })
                .collect(),
        );
    }
    let (out, tallies) = rewrite_strings(frame, &cols, |k, v| {
        let Some(v) = v else { return Cell::KEEP };
        let t = v.trim();
        if t.is_empty() {
            return Cell::KEEP;
        }
        let target = if maps[k].is_empty() {
            t
        } else {
            maps[k].get(t).map(String::as_str).unwrap_or(t)
        };
        if target == v {
            Cell::KEEP
        } else {
            Cell::set(target.to_owned())
        }
    })?;
    record_tallies(frame, &cols, tallies, report);
    Ok(out)
}

/// Rounds of re-decoding for text garbled more than once.
const REPAIR_ROUNDS: usize = 3;

/// Whether `v` can be mojibake at all: a UTF-8 lead byte (C2-F4, decoded as U+00C2-U+00F4) followed by a
/// continuation byte (80-BF, decoded as U+0080-U+00BF or, for 80-9F, as a Windows-1252 character above
/// U+00FF). A cheap scan that spares the allocation of [`unmojibake`] for ordinary accented text.
fn may_be_mojibake(v: &str) -> bool {
    // In UTF-8: U+00C2-U+00F4 is C3 82-B4; U+0080-U+00BF is C2 80-BF; a character above U+00FF starts
    // with a lead byte C4-F4 and has at least one continuation byte after it. So four bytes from each
    // C3 (found with SIMD; C3 is never a continuation byte) tell every pair the character scan would.
    let b = v.as_bytes();
    memchr::memchr_iter(0xC3, b).any(|i| match b.get(i + 1..i + 4) {
        Some(&[second, third, fourth]) => {
            (0x82..=0xB4).contains(&second) && ((third == 0xC2 && (0x80..=0xBF).contains(&fourth)) || third >= 0xC4)
        }
        _ => false,
    })
}

/// The repaired text of mojibake `v`, `None` if `v` is not mojibake.
pub(crate) fn repaired(v: &str) -> Option<String> {
    if !may_be_mojibake(v) {
        return None;
    }
    let mut r = unmojibake(v)?;
    for _ in 1..REPAIR_ROUNDS {
        match unmojibake(&r) {
            Some(again) => r = again,
            None => break,
        }
    }
    Some(r)
}

/// `repair_encoding`.
pub(crate) fn repair_encoding(frame: &Frame<'_>, columns: &[String], report: &mut StepReport) -> Result<Edits> {
    let cols = frame.string_columns("columns", columns)?;
    let (out, tallies) = rewrite_strings(frame, &cols, |_, v| {
        let Some(v) = v.filter(|v| !v.is_ascii()) else {
            return Cell::KEEP;
        };
        if v.contains('\u{FFFD}') {
            return Cell {
                edit: None,
                invalid: true,
            };
        }
        repaired(v).map(Cell::set).unwrap_or(Cell::KEEP)
    })?;
    let invalid: u64 = tallies.iter().map(|t| t.invalid).sum();
    record_tallies(frame, &cols, tallies, report);
    if invalid > 0 {
        report.notes.push(format!(
            "{invalid} values contain U+FFFD: their original bytes were replaced when they were decoded and cannot be recovered; fix them at the source or drop them"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Step, apply};
    use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, StringViewArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn table(values: &[Option<&str>]) -> Vec<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
        let split = values.len() / 2;
        [&values[..split], &values[split..]]
            .iter()
            .map(|part| {
                RecordBatch::try_new(
                    schema.clone(),
                    vec![Arc::new(StringArray::from(part.to_vec())) as ArrayRef],
                )
                .unwrap()
            })
            .collect()
    }

    fn values(batches: &[RecordBatch]) -> Vec<Option<String>> {
        batches
            .iter()
            .flat_map(|b| {
                let a = Strings::of(b.column(0).as_ref()).unwrap();
                (0..a.len())
                    .map(move |i| a.get(i).map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn run(step: Step, input: &[Option<&str>]) -> (Vec<Option<String>>, StepReport) {
        let (out, r) = apply(&step, table(input)).unwrap();
        (values(&out), r)
    }

    fn owned(v: &[Option<&str>]) -> Vec<Option<String>> {
        v.iter().map(|s| s.map(str::to_owned)).collect()
    }

    fn cols() -> Vec<String> {
        vec!["s".into()]
    }

    #[test]
    fn trim_removes_surrounding_whitespace() {
        let (out, r) = run(
            Step::Trim { columns: cols() },
            &[
                Some(" a"),
                Some("b\t"),
                Some("\u{3000}c d\n"),
                Some("e"),
                None,
                Some("   "),
                Some("Ã\u{A0}"),
            ],
        );
        assert_eq!(
            out,
            owned(&[
                Some("a"),
                Some("b"),
                Some("c d"),
                Some("e"),
                None,
                Some(""),
                Some("Ã\u{A0}")
            ])
        );
        assert_eq!(r.values_changed, 4);
        assert_eq!(r.per_column["s"], 4);
        assert_eq!(r.examples.len(), 4);
        assert_eq!(r.examples[0].before, " a");
        assert_eq!(r.examples[0].after, "a");
        assert_eq!(trimmed(" Ã\u{A0} "), "Ã\u{A0}");
        assert_eq!(trimmed("caf\u{A0}"), "caf");
    }

    #[test]
    fn case_fold_both_ways() {
        let input = [Some("Straße"), Some("abc"), Some("ǅemal"), None, Some("ÉCOLE")];
        let (out, r) = run(
            Step::CaseFold {
                columns: cols(),
                mode: CaseMode::Lower,
            },
            &input,
        );
        assert_eq!(
            out,
            owned(&[Some("straße"), Some("abc"), Some("ǆemal"), None, Some("école")])
        );
        assert_eq!(r.values_changed, 3);
        let (out, r) = run(
            Step::CaseFold {
                columns: cols(),
                mode: CaseMode::Upper,
            },
            &input,
        );
        assert_eq!(
            out,
            owned(&[Some("STRASSE"), Some("ABC"), Some("ǄEMAL"), None, Some("ÉCOLE")])
        );
        assert_eq!(r.values_changed, 3);
    }

    #[test]
    fn canonical_categories_pick_the_most_frequent_spelling() {
        let input = [
            Some("New York"),
            Some("new york"),
            Some("New York"),
            Some("NewYork"),
            Some(" New York "),
            Some("São Paulo"),
            Some("Sao Paulo"),
            Some("SAO PAULO"),
            Some("Sao Paulo"),
            Some("Lima"),
            Some(" Lima"),
            Some(""),
            None,
        ];
        let (out, r) = run(Step::CanonicalCategories { columns: cols() }, &input);
        // New York: 3 (trimmed) > 1 > 1. São Paulo vs Sao Paulo: 1 vs 2 -> "Sao Paulo".
        assert_eq!(
            out,
            owned(&[
                Some("New York"),
                Some("New York"),
                Some("New York"),
                Some("New York"),
                Some("New York"),
                Some("Sao Paulo"),
                Some("Sao Paulo"),
                Some("Sao Paulo"),
                Some("Sao Paulo"),
                Some("Lima"),
                Some("Lima"),
                Some(""),
                None
            ])
        );
        assert_eq!(r.values_changed, 6);
        assert!(r.notes[0].contains("2 categories"), "{:?}", r.notes);
    }

    #[test]
    fn repair_encoding_restores_mojibake_and_counts_lost_bytes() {
        let twice = "CafÃƒÂ©";
        let (out, r) = run(
            Step::RepairEncoding { columns: cols() },
            &[
                Some("CafÃ©"),
                Some("SÃ£o Paulo"),
                Some("ZÃ¼rich"),
                Some("Café"),
                Some("S\u{FFFD}o Paulo"),
                Some(twice),
                Some("plain"),
                None,
            ],
        );
        assert_eq!(
            out,
            owned(&[
                Some("Café"),
                Some("São Paulo"),
                Some("Zürich"),
                Some("Café"),
                Some("S\u{FFFD}o Paulo"),
                Some("Café"),
                Some("plain"),
                None
            ])
        );
        assert_eq!((r.values_changed, r.values_invalid), (4, 1));
        assert!(r.notes[0].contains("U+FFFD"));
        for s in ["CafÃ©", "â€œquotedâ€\u{9D}", "Ã\u{A0}"] {
            assert!(may_be_mojibake(s), "{s}");
        }
        for s in ["Café", "São Paulo", "plain", "東京", "Ã"] {
            assert!(!may_be_mojibake(s), "{s}");
        }
    }

    /// The definition the byte scan stands for: a character U+00C2-U+00F4 followed by one in
    /// U+0080-U+00BF or above U+00FF.
    fn may_be_mojibake_by_chars(v: &str) -> bool {
        let mut after_lead = false;
        for c in v.chars() {
            let u = u32::from(c);
            if after_lead && u >= 0x80 && (u <= 0xBF || u > 0xFF) {
                return true;
            }
            after_lead = (0xC2..=0xF4).contains(&u);
        }
        false
    }

    proptest::proptest! {
        #[test]
        fn the_mojibake_byte_scan_equals_the_character_scan(
            v in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::char::range('\u{0}', '\u{7f}'),
                    proptest::char::range('\u{80}', '\u{17f}'),
                    proptest::char::range('\u{2000}', '\u{20ff}'),
                    proptest::char::range('\u{1f300}', '\u{1f3ff}'),
                ],
                0..12,
            )
        ) {
            let v: String = v.into_iter().collect();
            proptest::prop_assert_eq!(may_be_mojibake(&v), may_be_mojibake_by_chars(&v), "{:?}", v);
        }
    }

    #[test]
    fn string_views_stay_string_views() {
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8View, true)]));
        let b = RecordBatch::try_new(
            schema,
            vec![Arc::new(StringViewArray::from(vec![
                Some(" a "),
                None,
                Some("a long value over twelve bytes "),
            ])) as ArrayRef],
        )
        .unwrap();
        let (out, r) = apply(&Step::Trim { columns: cols() }, vec![b]).unwrap();
        assert_eq!(out[0].column(0).data_type(), &DataType::Utf8View);
        assert_eq!(
            values(&out),
            owned(&[Some("a"), None, Some("a long value over twelve bytes")])
        );
        assert_eq!(r.values_changed, 2);
    }
}
