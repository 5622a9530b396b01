//! The cleaning steps on `sluice synth` tables, scored against the generator's ground truth.
//!
//! The generator records every injected problem by row, column and detail (the date pattern it used, the
//! canonical spelling it varied, the kind of missing value), and guarantees that clean rows carry none of
//! them. So a step's effect is known exactly: the rows `dedupe` must remove, the cells `trim` must change,
//! the value `canonical_categories` must write. Which rows a step removed is found by aligning its output
//! with its input (steps keep row order), and which cells it changed by comparing them: both independent of
//! the step's own report, which is then checked against them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, UInt64Type};
use arrow::row::{RowConverter, SortField};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use proptest::prelude::*;
use sluice_clean::{CaseMode, How, OnError, OutlierMethod, Step, StepReport, Strategy, apply};
use sluice_synth::{Format, Injections, SynthConfig, generate};

#[derive(Debug, Clone)]
struct Truth {
    row: u64,
    problem: String,
    column: Option<String>,
    source_row: Option<u64>,
    detail: Option<String>,
}

/// A generated table (record batches of 1,024 rows, as the Parquet reader yields them) and its truth.
fn synth(rows: u64, seed: u64, inject: &str) -> (Vec<RecordBatch>, Vec<Truth>) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.parquet");
    let cfg = SynthConfig {
        rows,
        seed,
        inject: Injections::parse(inject).unwrap(),
        ..Default::default()
    };
    let summary = generate(&cfg, &out, Format::Parquet, &mut |_| {}).unwrap();
    let read = |p: &Path| -> Vec<RecordBatch> {
        ParquetRecordBatchReaderBuilder::try_new(File::open(p).unwrap())
            .unwrap()
            .build()
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let mut truth = Vec::new();
    for b in read(&summary.truth_path) {
        let row = b.column(0).as_primitive::<UInt64Type>();
        let problem = b.column(1).as_string::<i32>();
        let column = b.column(2).as_string::<i32>();
        let source = b.column(3).as_primitive::<UInt64Type>();
        let _similarity = b.column(4).as_primitive::<Float64Type>();
        let detail = b.column(5).as_string::<i32>();
        for i in 0..b.num_rows() {
            truth.push(Truth {
                row: row.value(i),
                problem: problem.value(i).to_owned(),
                column: column.is_valid(i).then(|| column.value(i).to_owned()),
                source_row: source.is_valid(i).then(|| source.value(i)),
                detail: detail.is_valid(i).then(|| detail.value(i).to_owned()),
            });
        }
    }
    (read(&out), truth)
}

fn truth_rows(truth: &[Truth], problem: &str) -> Vec<u64> {
    let mut rows: Vec<u64> = truth.iter().filter(|t| t.problem == problem).map(|t| t.row).collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

fn truth_cells<'t>(truth: &'t [Truth], problem: &str, columns: &[&str]) -> BTreeMap<(u64, String), &'t Truth> {
    truth
        .iter()
        .filter(|t| t.problem == problem && t.column.as_deref().is_some_and(|c| columns.contains(&c)))
        .map(|t| ((t.row, t.column.clone().unwrap_or_default()), t))
        .collect()
}

/// Every row of `batches` in Arrow's row format (equal bytes = equal values).
fn row_bytes(batches: &[RecordBatch]) -> Vec<Vec<u8>> {
    let schema = batches[0].schema();
    let conv = RowConverter::new(
        schema
            .fields()
            .iter()
            .map(|f| SortField::new(f.data_type().clone()))
            .collect(),
    )
    .unwrap();
    let mut out = Vec::new();
    for b in batches {
        let rows = conv.convert_columns(b.columns()).unwrap();
        out.extend(rows.iter().map(|r| r.as_ref().to_vec()));
    }
    out
}

/// The input rows missing from `output`, by aligning the two in order (steps keep row order, and a kept
/// row is the first of its kind, so the greedy alignment is the step's).
fn removed_rows(input: &[RecordBatch], output: &[RecordBatch]) -> Vec<u64> {
    let (a, b) = (row_bytes(input), row_bytes(output));
    let mut j = 0;
    let mut removed = Vec::new();
    for (i, row) in a.iter().enumerate() {
        if j < b.len() && *row == b[j] {
            j += 1;
        } else {
            removed.push(i as u64);
        }
    }
    assert_eq!(j, b.len(), "the output is not an ordered subset of the input");
    removed
}

/// Column `name` as optional strings.
fn strings(batches: &[RecordBatch], name: &str) -> Vec<Option<String>> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column(b.schema().index_of(name).unwrap()).as_string::<i32>().clone();
            (0..a.len())
                .map(move |i| a.is_valid(i).then(|| a.value(i).to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `(row, column)` of every string cell that differs between `input` and `output` (same rows).
fn changed_cells(
    input: &[RecordBatch],
    output: &[RecordBatch],
    columns: &[&str],
) -> BTreeMap<(u64, String), (Option<String>, Option<String>)> {
    let mut out = BTreeMap::new();
    for c in columns {
        let (a, b) = (strings(input, c), strings(output, c));
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.into_iter().zip(b).enumerate() {
            if x != y {
                out.insert((i as u64, c.to_string()), (x, y));
            }
        }
    }
    out
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

const WHITESPACE_COLUMNS: [&str; 8] = [
    "merchant_name",
    "merchant_category",
    "merchant_city",
    "currency",
    "region",
    "device",
    "card_type",
    "description",
];
const ENCODING_COLUMNS: [&str; 4] = ["merchant_name", "merchant_city", "region", "description"];
const SPELLING_COLUMNS: [&str; 2] = ["region", "merchant_category"];

#[test]
fn dedupe_removes_exactly_the_injected_duplicates() {
    let (input, truth) = synth(20_000, 7, "all=0.02");
    let (out, r) = apply(&Step::Dedupe { columns: None }, input.clone()).unwrap();
    let want = truth_rows(&truth, "duplicate");
    assert!(want.len() >= 300, "{} duplicates injected", want.len());
    assert_eq!(removed_rows(&input, &out), want);
    assert_eq!(r.rows_removed, want.len() as u64);
    assert_eq!((r.rows_in, r.rows_out), (20_000, 20_000 - want.len() as u64));
    // Each example names the injected source row.
    let source: HashMap<u64, u64> = truth
        .iter()
        .filter(|t| t.problem == "duplicate")
        .map(|t| (t.row, t.source_row.unwrap()))
        .collect();
    for e in &r.examples {
        assert_eq!(
            e.note.as_deref(),
            Some(format!("duplicate of row {}", source[&e.row]).as_str())
        );
    }
    // On the key, near duplicates (own transaction id) stay and the exact copies still go.
    let (_, r) = apply(
        &Step::Dedupe {
            columns: Some(names(&["transaction_id"])),
        },
        input,
    )
    .unwrap();
    assert_eq!(r.rows_removed, want.len() as u64);
}

/// Lowercased character 5-shingles, as the generator measures its near duplicates (written here again, apart
/// from both the generator and the MinHash search).
/// Shingles are kept as sorted, repeat-free `(u64, u64)` codes: up to 5 characters of 21 bits each and the
/// length, exact (no hashing).
fn shingles(s: &str) -> Vec<(u64, u64)> {
    let chars: Vec<char> = s.to_lowercase().chars().collect();
    let code = |w: &[char]| -> (u64, u64) {
        let mut hi = 0u64;
        let mut lo = 0u64;
        for (k, c) in w.iter().enumerate() {
            if k < 2 {
                hi = (hi << 21) | u64::from(*c as u32);
            } else {
                lo = (lo << 21) | u64::from(*c as u32);
            }
        }
        (hi | ((w.len() as u64) << 56), lo)
    };
    let mut out: Vec<(u64, u64)> = if chars.len() < 5 {
        vec![code(&chars)]
    } else {
        chars.windows(5).map(code).collect()
    };
    out.sort_unstable();
    out.dedup();
    out
}

fn jaccard(a: &[(u64, u64)], b: &[(u64, u64)]) -> f64 {
    let (mut i, mut j, mut inter) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    inter as f64 / (a.len() + b.len() - inter) as f64
}

#[test]
fn near_dedupe_removes_the_injected_near_duplicates() {
    let (input, truth) = synth(20_000, 11, "near_duplicates=0.03");
    let (out, r) = apply(
        &Step::NearDedupe {
            column: "description".into(),
            threshold: 0.8,
        },
        input.clone(),
    )
    .unwrap();
    let removed: Vec<u64> = removed_rows(&input, &out);
    assert_eq!(r.rows_removed, removed.len() as u64);
    let removed_set: HashSet<u64> = removed.iter().copied().collect();
    let want: HashSet<u64> = truth_rows(&truth, "near_duplicate").into_iter().collect();
    assert!(want.len() >= 400);
    let hits = removed_set.intersection(&want).count();
    let recall = hits as f64 / want.len() as f64;
    // Issue 3's target for the detector at the generator's similarity level (Jaccard in [0.8, 1)).
    assert!(recall >= 0.9, "recall {recall:.3}");

    // The generator lists only the near duplicates it injected, but its clean descriptions are templates
    // whose rows of one merchant often differ only in a 5-digit reference (Jaccard 0.85-0.90; see
    // docs/benchmarks.md), so more rows go than were injected. Each removed row must have a partner at or
    // above the threshold, found here by brute force among the rows whose text is the same once digits are
    // dropped (the template), with an independent Jaccard.
    let texts = strings(&input, "description");
    let sets: Vec<Vec<(u64, u64)>> = texts.iter().map(|t| shingles(t.as_deref().unwrap_or(""))).collect();
    let template = |t: &str| -> String {
        t.chars()
            .filter(|c| !c.is_ascii_digit())
            .collect::<String>()
            .to_lowercase()
    };
    let mut by_template: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, t) in texts.iter().enumerate() {
        if let Some(t) = t {
            by_template.entry(template(t)).or_default().push(i);
        }
    }
    let mut unexplained = Vec::new();
    let mut by_scan = 0;
    for &row in removed.iter().filter(|r| !want.contains(r)) {
        let i = row as usize;
        let t = texts[i].as_deref().unwrap();
        let partner = by_template[&template(t)]
            .iter()
            .any(|&j| j != i && jaccard(&sets[i], &sets[j]) >= 0.8);
        // A few partners have another template (other extra phrases): look at every row.
        if !partner {
            if (0..sets.len()).any(|j| j != i && jaccard(&sets[i], &sets[j]) >= 0.8) {
                by_scan += 1;
            } else {
                unexplained.push(row);
            }
        }
    }
    eprintln!(
        "near_dedupe: injected {}, removed {}, recall {recall:.3}; removed and not injected: {} ({by_scan} with their partner outside their template), without a partner at >= 0.8: {}",
        want.len(),
        removed.len(),
        removed.len() - hits,
        unexplained.len()
    );
    assert!(
        unexplained.is_empty(),
        "{:?}",
        &unexplained[..unexplained.len().min(10)]
    );
}

#[test]
fn normalize_dates_fixes_the_injected_formats() {
    let (input, truth) = synth(20_000, 3, "all=0.02");
    let step = Step::NormalizeDates {
        columns: names(&["signup_date"]),
        formats: None,
        as_date: false,
        on_error: None,
    };
    let (out, r) = apply(&step, input.clone()).unwrap();
    let changed = changed_cells(&input, &out, &["signup_date"]);
    let want = truth_cells(&truth, "date_format", &["signup_date"]);
    assert!(want.len() >= 300);
    assert_eq!(changed.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
    // The oracle: chrono reading the injected value with the pattern the generator recorded.
    for (key, (before, after)) in &changed {
        let pattern = want[key].detail.as_deref().unwrap();
        let date = chrono::NaiveDate::parse_from_str(before.as_deref().unwrap(), pattern).unwrap();
        assert_eq!(
            after.as_deref(),
            Some(date.format("%Y-%m-%d").to_string().as_str()),
            "{before:?} ({pattern})"
        );
    }
    assert_eq!(r.values_changed, want.len() as u64);
    assert_eq!(r.per_column["signup_date"], want.len() as u64);
    // Missing values (null, empty, blank) are not dates to fix.
    assert_eq!(r.values_invalid, 0);
    // Every present value is ISO now.
    for v in strings(&out, "signup_date").into_iter().flatten() {
        assert!(
            v.trim().is_empty() || chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d").is_ok(),
            "{v}"
        );
    }

    // As Date32: every present value becomes a date, blanks become null.
    let step = Step::NormalizeDates {
        columns: names(&["signup_date"]),
        formats: None,
        as_date: true,
        on_error: Some(OnError::Null),
    };
    let (out, r) = apply(&step, input.clone()).unwrap();
    let present = strings(&input, "signup_date")
        .iter()
        .filter(|v| v.as_deref().is_some_and(|v| !v.trim().is_empty()))
        .count() as u64;
    assert_eq!((r.values_changed, r.values_invalid), (present, 0));
    let nulls: usize = out
        .iter()
        .map(|b| b.column_by_name("signup_date").unwrap().null_count())
        .sum();
    assert_eq!(nulls as u64, 20_000 - present);
}

#[test]
fn trim_fixes_the_injected_whitespace() {
    let (input, truth) = synth(20_000, 5, "all=0.02");
    let (out, r) = apply(
        &Step::Trim {
            columns: names(&WHITESPACE_COLUMNS),
        },
        input.clone(),
    )
    .unwrap();
    let changed = changed_cells(&input, &out, &WHITESPACE_COLUMNS);
    let mut want: BTreeMap<(u64, String), &Truth> = truth_cells(&truth, "whitespace", &WHITESPACE_COLUMNS);
    let padding = want.len();
    // Blank "missing" values are trimmed to "" too.
    want.extend(
        truth_cells(&truth, "missing", &WHITESPACE_COLUMNS)
            .into_iter()
            .filter(|(_, t)| t.detail.as_deref() == Some("whitespace")),
    );
    assert!(padding >= 300);
    assert_eq!(changed.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
    for (before, after) in changed.values() {
        assert_eq!(before.as_deref().map(str::trim), after.as_deref());
    }
    assert_eq!(r.values_changed, want.len() as u64);
}

#[test]
fn canonical_categories_restore_the_injected_spellings() {
    let (input, truth) = synth(20_000, 9, "all=0.02");
    // Trim first, as a pipeline would: padded values are whitespace problems, not spelling ones.
    let (trimmed, _) = apply(
        &Step::Trim {
            columns: names(&WHITESPACE_COLUMNS),
        },
        input,
    )
    .unwrap();
    let (out, r) = apply(
        &Step::CanonicalCategories {
            columns: names(&SPELLING_COLUMNS),
        },
        trimmed.clone(),
    )
    .unwrap();
    let changed = changed_cells(&trimmed, &out, &SPELLING_COLUMNS);
    let want = truth_cells(&truth, "spelling", &SPELLING_COLUMNS);
    assert!(want.len() >= 300);
    assert_eq!(changed.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
    // The value written is the canonical value the generator varied.
    for (key, (_, after)) in &changed {
        assert_eq!(after.as_deref(), want[key].detail.as_deref(), "{key:?}");
    }
    assert_eq!(r.values_changed, want.len() as u64);
}

#[test]
fn repair_encoding_restores_mojibake_and_counts_lost_bytes() {
    let (input, truth) = synth(20_000, 13, "encoding=0.03");
    let (out, r) = apply(
        &Step::RepairEncoding {
            columns: names(&ENCODING_COLUMNS),
        },
        input.clone(),
    )
    .unwrap();
    let changed = changed_cells(&input, &out, &ENCODING_COLUMNS);
    let injected = truth_cells(&truth, "encoding", &ENCODING_COLUMNS);
    let mojibake: Vec<_> = injected
        .iter()
        .filter(|(_, t)| t.detail.as_deref() == Some("mojibake"))
        .map(|(k, _)| k)
        .collect();
    let replacement = injected.len() - mojibake.len();
    assert!(
        mojibake.len() >= 100 && replacement >= 100,
        "{} {replacement}",
        mojibake.len()
    );
    assert_eq!(changed.keys().collect::<Vec<_>>(), mojibake);
    assert_eq!(
        (r.values_changed, r.values_invalid),
        (mojibake.len() as u64, replacement as u64)
    );
    // The repaired category values are spellings the column has in its clean rows.
    for column in ["merchant_city", "region"] {
        let clean: HashSet<Option<String>> = strings(&input, column).into_iter().collect();
        for ((_, c), (_, after)) in changed.iter().filter(|((_, c), _)| c == column) {
            assert!(clean.contains(after), "{c}: {after:?}");
        }
    }
}

#[test]
fn missing_values_are_dropped_or_imputed_as_injected() {
    let (input, truth) = synth(20_000, 17, "missing=0.03");
    let (out, r) = apply(
        &Step::DropMissing {
            columns: None,
            how: How::Any,
        },
        input.clone(),
    )
    .unwrap();
    let want = truth_rows(&truth, "missing");
    assert!(want.len() >= 400);
    assert_eq!(removed_rows(&input, &out), want);
    assert_eq!(r.rows_removed, want.len() as u64);

    let (out, r) = apply(
        &Step::Impute {
            column: "amount".into(),
            strategy: Strategy::Median,
            value: None,
        },
        input.clone(),
    )
    .unwrap();
    let amount_missing = truth_cells(&truth, "missing", &["amount"]);
    assert!(amount_missing.len() >= 20);
    assert_eq!(r.values_added, amount_missing.len() as u64);
    let after: Vec<f64> = out
        .iter()
        .flat_map(|b| {
            b.column_by_name("amount")
                .unwrap()
                .as_primitive::<Float64Type>()
                .values()
                .to_vec()
        })
        .collect();
    let mut present: Vec<f64> = input
        .iter()
        .flat_map(|b| {
            let a = b
                .column_by_name("amount")
                .unwrap()
                .as_primitive::<Float64Type>()
                .clone();
            a.iter().flatten().filter(|x| !x.is_nan()).collect::<Vec<_>>()
        })
        .collect();
    present.sort_by(f64::total_cmp);
    let n = present.len();
    let median = if n % 2 == 1 {
        present[n / 2]
    } else {
        (present[n / 2 - 1] + present[n / 2]) / 2.0
    };
    for (row, _) in amount_missing.keys() {
        assert_eq!(after[*row as usize], median);
    }
    assert!(after.iter().all(|x| !x.is_nan()));
}

#[test]
fn filter_outliers_catches_the_injected_ages() {
    let (input, truth) = synth(20_000, 19, "outliers=0.02");
    let (out, r) = apply(
        &Step::FilterOutliers {
            columns: names(&["customer_age"]),
            method: OutlierMethod::Mad,
            k: None,
        },
        input.clone(),
    )
    .unwrap();
    let removed: HashSet<u64> = removed_rows(&input, &out).into_iter().collect();
    let want: HashSet<u64> = truth_cells(&truth, "outlier", &["customer_age"])
        .keys()
        .map(|k| k.0)
        .collect();
    assert!(want.len() >= 50);
    let hits = removed.intersection(&want).count();
    eprintln!(
        "filter_outliers customer_age (mad): injected {}, removed {}, hits {hits}",
        want.len(),
        removed.len()
    );
    // Injected ages are 120-200 against 18-95: every one is far outside.
    assert_eq!(hits, want.len());
    assert_eq!(r.rows_removed, removed.len() as u64);
}

/// A pipeline's cleaning stage, in its file's words.
const PIPELINE: &str = r#"
[[steps]]
kind = "dedupe"

[[steps]]
kind = "repair_encoding"
columns = ["merchant_name", "merchant_city", "region", "description"]

[[steps]]
kind = "trim"
columns = ["merchant_name", "merchant_category", "merchant_city", "currency", "region", "device", "card_type", "description"]

[[steps]]
kind = "canonical_categories"
columns = ["region", "merchant_category"]

[[steps]]
kind = "normalize_dates"
columns = ["signup_date"]

[[steps]]
kind = "near_dedupe"
column = "description"
"#;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Stage {
    steps: Vec<Step>,
}

#[test]
fn a_cleaning_stage_clears_the_quality_findings() {
    let (input, truth) = synth(20_000, 23, "all=0.02");
    let stage: Stage = toml::from_str(PIPELINE).unwrap();
    let mut table = input;
    let mut reports: Vec<StepReport> = Vec::new();
    for step in &stage.steps {
        let (out, r) = apply(step, table).unwrap();
        table = out;
        reports.push(r);
    }
    let schema = table[0].schema();
    let t = sluice_quality::Table::new("cleaned", schema, table).unwrap();
    let q = sluice_quality::analyze(&t, None, &sluice_quality::QualityOptions::default()).unwrap();
    for check in [
        "duplicate_rows",
        "near_duplicates",
        "date_formats",
        "whitespace",
        "category_variants",
    ] {
        let left: u64 = q.of(check).map(|f| f.count).sum();
        assert_eq!(left, 0, "{check}: {left} left after cleaning");
    }
    // What is left of the encoding problems is the U+FFFD values: the repair counted and kept them (some
    // of their rows went later, as near duplicates).
    let replacement = truth
        .iter()
        .filter(|t| t.problem == "encoding" && t.detail.as_deref() == Some("replacement"))
        .count() as u64;
    assert_eq!(reports[1].values_invalid, replacement);
    let encoding: u64 = q.of("encoding").map(|f| f.count).sum();
    let fffd = ENCODING_COLUMNS
        .iter()
        .flat_map(|c| strings(t.batches(), c))
        .filter(|v| v.as_deref().is_some_and(|v| v.contains('\u{FFFD}')))
        .count() as u64;
    assert_eq!(encoding, fffd);
    assert!(fffd > 0 && fffd <= replacement);
    let json = serde_json::to_value(&reports).unwrap();
    assert_eq!(json[0]["step"], "dedupe");
    assert_eq!(json[0]["rows_removed"], truth_rows(&truth, "duplicate").len() as u64);
    assert!(json[2]["per_column"]["region"].as_u64().unwrap() > 0);
}

#[test]
fn steps_read_from_toml_with_defaults_and_precise_errors() {
    let stage: Stage = toml::from_str(
        r#"
        [[steps]]
        kind = "near_dedupe"
        column = "text"

        [[steps]]
        kind = "impute"
        column = "amount"
        strategy = "constant"
        value = 0.5

        [[steps]]
        kind = "filter_outliers"
        columns = ["amount"]
        method = "mad"

        [[steps]]
        kind = "case_fold"
        columns = ["device"]

        [[steps]]
        kind = "drop_missing"
        how = "all"
        "#,
    )
    .unwrap();
    assert_eq!(
        stage.steps,
        vec![
            Step::NearDedupe {
                column: "text".into(),
                threshold: 0.8
            },
            Step::Impute {
                column: "amount".into(),
                strategy: Strategy::Constant,
                value: Some(toml::Value::Float(0.5))
            },
            Step::FilterOutliers {
                columns: names(&["amount"]),
                method: OutlierMethod::Mad,
                k: None
            },
            Step::CaseFold {
                columns: names(&["device"]),
                mode: CaseMode::Lower
            },
            Step::DropMissing {
                columns: None,
                how: How::All
            },
        ]
    );
    // Serde reads a tagged step as a whole, so a whole-file error points at the start of the steps. A
    // runner that reads each step's table with its span points at the step instead:
    let src = "[[steps]]\nkind = \"dedupe\"\n\n[[steps]]\nkind = \"trim\"\ncolumns = [\"a\"]\ncolumn = \"b\"\n";
    #[derive(serde::Deserialize)]
    struct RawStage {
        steps: Vec<toml::Spanned<toml::Table>>,
    }
    let raw: RawStage = toml::from_str(src).unwrap();
    let errors: Vec<(usize, String)> = raw
        .steps
        .into_iter()
        .filter_map(|s| {
            let line = src[..s.span().start].matches('\n').count() + 1;
            toml::Value::Table(s.into_inner())
                .try_into::<Step>()
                .err()
                .map(|e| (line, e.message().to_owned()))
        })
        .collect();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].1.contains("unknown field `column`, expected `columns`"),
        "{errors:?}"
    );
    assert!(errors[0].0 == 4 || errors[0].0 == 5, "{errors:?}");
    let e = toml::from_str::<Stage>("[[steps]]\nkind = \"scrub\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown variant `scrub`") && e.contains("dedupe"), "{e}");
    let e = toml::from_str::<Stage>("[[steps]]\nkind = \"trim\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing field `columns`"), "{e}");
    // Settings that parse but cannot work are caught before any data is read.
    let bad = Step::Impute {
        column: "a".into(),
        strategy: Strategy::Constant,
        value: None,
    };
    assert!(
        bad.validate()
            .unwrap_err()
            .to_string()
            .starts_with("impute: strategy = \"constant\" needs a value")
    );
    let bad = Step::NearDedupe {
        column: "a".into(),
        threshold: 1.5,
    };
    assert!(bad.validate().unwrap_err().to_string().contains("threshold = 1.5"));
    // A step serialises back to what it read (a runner hashes it for caching).
    let step = &stage.steps[1];
    let back: Step = toml::from_str(&toml::to_string(step).unwrap()).unwrap();
    assert_eq!(&back, step);
}

/// Every step, for the batch-split property.
fn all_steps() -> Vec<Step> {
    vec![
        Step::Dedupe { columns: None },
        Step::NearDedupe {
            column: "description".into(),
            threshold: 0.8,
        },
        Step::NormalizeDates {
            columns: names(&["signup_date"]),
            formats: None,
            as_date: false,
            on_error: Some(OnError::Null),
        },
        Step::Trim {
            columns: names(&WHITESPACE_COLUMNS),
        },
        Step::CaseFold {
            columns: names(&["region"]),
            mode: CaseMode::Upper,
        },
        Step::CanonicalCategories {
            columns: names(&SPELLING_COLUMNS),
        },
        Step::RepairEncoding {
            columns: names(&ENCODING_COLUMNS),
        },
        Step::DropMissing {
            columns: Some(names(&["amount", "region"])),
            how: How::Any,
        },
        Step::Impute {
            column: "customer_age".into(),
            strategy: Strategy::Mean,
            value: None,
        },
        Step::Impute {
            column: "device".into(),
            strategy: Strategy::Mode,
            value: None,
        },
        Step::FilterOutliers {
            columns: names(&["amount", "distance_from_home_km"]),
            method: OutlierMethod::Iqr,
            k: None,
        },
    ]
}

/// The table re-cut into batches at `cuts` (row positions).
fn resplit(batches: &[RecordBatch], cuts: &[usize]) -> Vec<RecordBatch> {
    let whole = arrow::compute::concat_batches(&batches[0].schema(), batches).unwrap();
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % whole.num_rows()).collect();
    cuts.push(0);
    cuts.push(whole.num_rows());
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2).map(|w| whole.slice(w[0], w[1] - w[0])).collect()
}

fn concat(batches: &[RecordBatch]) -> RecordBatch {
    arrow::compute::concat_batches(&batches[0].schema(), batches).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// However the table is cut into batches, every step returns the same rows and the same report.
    #[test]
    fn steps_do_not_depend_on_batch_boundaries(cuts in proptest::collection::vec(0usize..3_000, 0..6)) {
        let (input, _) = synth(3_000, 29, "all=0.05");
        let split = resplit(&input, &cuts);
        for step in all_steps() {
            let (a, mut ra) = apply(&step, input.clone()).unwrap();
            let (b, mut rb) = apply(&step, split.clone()).unwrap();
            prop_assert_eq!(concat(&a), concat(&b), "{}", step.kind());
            // Everything but the time taken.
            (ra.seconds, rb.seconds) = (0.0, 0.0);
            prop_assert_eq!(ra, rb);
        }
    }
}

#[test]
fn reports_add_up() {
    let (input, _) = synth(5_000, 31, "all=0.03");
    for step in all_steps() {
        let (out, r) = apply(&step, input.clone()).unwrap();
        let rows: u64 = out.iter().map(|b| b.num_rows() as u64).sum();
        assert_eq!(r.rows_out, rows, "{}", step.kind());
        assert_eq!(r.rows_in - r.rows_removed, r.rows_out, "{}", step.kind());
        assert!(r.examples.len() <= 5);
        if matches!(
            step,
            Step::Trim { .. } | Step::CaseFold { .. } | Step::CanonicalCategories { .. }
        ) {
            assert_eq!(r.per_column.values().sum::<u64>(), r.values_changed, "{}", step.kind());
        }
        // Columns the step does not touch are the input's arrays, not copies.
        if r.rows_removed == 0 && step.kind() != "normalize_dates" {
            let untouched = out[0].schema().index_of("transaction_id").unwrap();
            assert!(
                Arc::ptr_eq(out[0].column(untouched), input[0].column(untouched)),
                "{}",
                step.kind()
            );
        }
    }
}
