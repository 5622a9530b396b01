//! `filter_outliers`: drops rows with a value outside a robust rule's bounds in any of the named columns.
//!
//! The rules and their statistics are `sluice quality`'s (`sluice_quality::outliers::detect`), computed
//! over each column's finite values, with quantiles found by selection instead of a sort (the same
//! numbers; a property test compares them):
//!
//! * `iqr`: outside Tukey's fences `[Q1 - k IQR, Q3 + k IQR]` (Tukey 1977), quartiles by linear
//!   interpolation (Hyndman & Fan type 7, numpy's default); `k` = 1.5 by default.
//! * `mad`: modified z-score `|0.6745 (x - median) / MAD| > k` (Iglewicz & Hoaglin 1993), `k` = 3.5 by
//!   default; when MAD is 0 the mean absolute deviation stands in, as in the quality check.
//!
//! Missing values (null, NaN) are not outliers: `drop_missing` or `impute` handle them. Infinite values are
//! outside any finite bounds and are dropped. A column with fewer than three finite values has no
//! meaningful bounds: nothing is dropped for it, and the report says so.

use std::collections::BTreeSet;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use rayon::prelude::*;

use crate::OutlierMethod;
use crate::error::Result;
use crate::frame::{EXAMPLES, Frame, is_numeric};
use crate::report::{Example, StepReport};

/// `(row, value)` pairs.
type Values = Vec<(u64, f64)>;

/// `filter_outliers`: the rows to drop, ascending.
pub(crate) fn filter(
    frame: &Frame<'_>,
    columns: &[String],
    method: OutlierMethod,
    k: f64,
    report: &mut StepReport,
) -> Result<Vec<u64>> {
    let cols = frame.indices("columns", columns)?;
    for &c in &cols {
        if !is_numeric(frame.data_type(c)) {
            return Err(frame.wrong_type(
                c,
                "a numeric column (integers or floats)",
                format!(
                    "remove `{}` from `columns`; the numeric columns are: {}",
                    frame.name(c),
                    frame.columns_where(is_numeric)
                ),
            ));
        }
    }
    // Row -> (column, value) of its first outlying value, for the examples.
    let mut drop: BTreeSet<u64> = BTreeSet::new();
    let mut why: std::collections::HashMap<u64, (usize, f64)> = std::collections::HashMap::new();
    for &c in &cols {
        let name = frame.name(c).to_owned();
        let floats: Vec<ArrayRef> = frame
            .batches
            .par_iter()
            .map(|b| Ok(cast(b.column(c), &DataType::Float64)?))
            .collect::<Result<_>>()?;
        // The finite values (what the bounds are computed over) and the rows of infinite ones.
        let parts: Vec<(Vec<f64>, Values)> = floats
            .par_iter()
            .enumerate()
            .map(|(b, a)| {
                let a = a.as_primitive::<Float64Type>();
                let (mut finite, mut infinite) = (Vec::with_capacity(a.len()), Vec::new());
                for i in 0..a.len() {
                    if a.is_valid(i) {
                        let x = a.value(i);
                        if x.is_finite() {
                            finite.push(x);
                        } else if x.is_infinite() {
                            infinite.push((frame.starts[b] + i as u64, x));
                        }
                    }
                }
                (finite, infinite)
            })
            .collect();
        let mut values = Vec::with_capacity(parts.iter().map(|p| p.0.len()).sum());
        let mut out: Vec<(u64, f64)> = Vec::new();
        for (f, inf) in parts {
            values.extend(f);
            out.extend(inf);
        }
        // Rows whose finite value `outside` rejects, in row order.
        let beyond = |outside: &(dyn Fn(f64) -> bool + Sync)| -> Vec<(u64, f64)> {
            let per_batch: Vec<Vec<(u64, f64)>> = floats
                .par_iter()
                .enumerate()
                .map(|(b, a)| {
                    let a = a.as_primitive::<Float64Type>();
                    (0..a.len())
                        .filter(|&i| a.is_valid(i) && a.value(i).is_finite() && outside(a.value(i)))
                        .map(|i| (frame.starts[b] + i as u64, a.value(i)))
                        .collect()
                })
                .collect();
            per_batch.into_iter().flatten().collect()
        };
        if values.len() < 3 {
            report.notes.push(format!(
                "{name}: {} finite values, too few for bounds; no row dropped for it",
                values.len()
            ));
        } else {
            match method {
                OutlierMethod::Iqr => {
                    let q1 = quantile_select(&mut values, 0.25);
                    let q3 = quantile_select(&mut values, 0.75);
                    let iqr = q3 - q1;
                    let (lower_fence, upper_fence) = (q1 - k * iqr, q3 + k * iqr);
                    out.extend(beyond(&|x| x < lower_fence || x > upper_fence));
                    report.notes.push(format!(
                        "{name}: kept values in [{lower_fence}, {upper_fence}] (Q1 {q1}, Q3 {q3}, k {k})"
                    ));
                }
                OutlierMethod::Mad => {
                    let median = quantile_select(&mut values, 0.5);
                    let mut dev: Vec<f64> = values.iter().map(|x| (x - median).abs()).collect();
                    let mad = quantile_select(&mut dev, 0.5);
                    let scale = if mad > 0.0 {
                        mad / 0.6745
                    } else {
                        // Summed in ascending order, as `sluice quality` does.
                        dev.sort_unstable_by(f64::total_cmp);
                        1.253314 * dev.iter().sum::<f64>() / dev.len() as f64
                    };
                    out.extend(beyond(&|x| {
                        let z = if scale > 0.0 { (x - median) / scale } else { 0.0 };
                        z.abs() > k
                    }));
                    report.notes.push(format!(
                        "{name}: kept values with modified z-score at most {k} (median {median}, MAD {mad}{})",
                        if mad == 0.0 {
                            ", so the mean absolute deviation was used"
                        } else {
                            ""
                        }
                    ));
                }
            }
        }
        if !out.is_empty() {
            report.per_column.insert(name, out.len() as u64);
        }
        for (row, x) in out {
            drop.insert(row);
            why.entry(row).or_insert((c, x));
        }
    }
    let drop: Vec<u64> = drop.into_iter().collect();
    report.removed(drop.len() as u64);
    report.add_examples(drop.iter().take(EXAMPLES).map(|&row| {
        let (c, x) = why[&row];
        Example::removed(
            row,
            frame.row_json(row),
            format!("{} = {x} is outside the bounds", frame.name(c)),
        )
    }));
    Ok(drop)
}

/// Quantile `p` of `x` by linear interpolation (Hyndman & Fan type 7): the value
/// `sluice_quality::outliers::quantile_sorted` gives on `x` sorted, found by selection in O(n)
/// instead of a sort. Reorders `x`, which must not be empty.
fn quantile_select(x: &mut [f64], p: f64) -> f64 {
    let h = (x.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let (_, at, right) = x.select_nth_unstable_by(lo, f64::total_cmp);
    let low = *at;
    // The next order statistic is the least value to the right of the selected one.
    let high = right.iter().copied().min_by(f64::total_cmp).unwrap_or(low);
    low + (h - lo as f64) * (high - low)
}

#[cfg(test)]
mod tests {
    use crate::{OutlierMethod, Step, apply};
    use arrow::array::{ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Int64Type, Schema};
    use std::sync::Arc;

    fn table(x: &[Option<f64>], n: &[i64]) -> Vec<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("x", DataType::Float64, true),
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
        ]));
        let s: Vec<Option<&str>> = x.iter().map(|_| Some("a")).collect();
        vec![
            RecordBatch::try_new(
                schema,
                vec![
                    Arc::new(Float64Array::from(x.to_vec())) as ArrayRef,
                    Arc::new(Int64Array::from(n.to_vec())) as ArrayRef,
                    Arc::new(StringArray::from(s)) as ArrayRef,
                ],
            )
            .unwrap(),
        ]
    }

    fn n_of(b: &[RecordBatch]) -> Vec<i64> {
        b.iter()
            .flat_map(|b| b.column(1).as_primitive::<Int64Type>().values().to_vec())
            .collect()
    }

    fn step(columns: &[&str], method: OutlierMethod, k: Option<f64>) -> Step {
        Step::FilterOutliers {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            method,
            k,
        }
    }

    #[test]
    fn iqr_fences_drop_rows_outside() {
        // x = 2..8 and 100: the example of sluice-quality's outlier tests (Q1 3.75, Q3 7.25 -> [-1.5, 12.5]).
        let x = [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 100.0].map(Some);
        let n: Vec<i64> = (0..8).collect();
        let (out, r) = apply(&step(&["x"], OutlierMethod::Iqr, None), table(&x, &n)).unwrap();
        assert_eq!(n_of(&out), (0..7).collect::<Vec<_>>());
        assert_eq!(r.rows_removed, 1);
        assert_eq!(r.per_column["x"], 1);
        assert!(r.notes[0].contains("[-1.5, 12.5]"), "{:?}", r.notes);
        assert_eq!(r.examples[0].note.as_deref(), Some("x = 100 is outside the bounds"));
        // A wider k keeps 100 only if 7.25 + k * 3.5 >= 100, i.e. k >= 26.5.
        let (_, r) = apply(&step(&["x"], OutlierMethod::Iqr, Some(26.5)), table(&x, &n)).unwrap();
        assert_eq!(r.rows_removed, 0);
    }

    #[test]
    fn mad_rule_and_missing_and_infinite_values() {
        // Median 5.5, MAD 2: M(100) = 31.9, M(2) = 1.18; NaN and null are kept, infinity dropped.
        let x = [
            Some(2.0),
            Some(3.0),
            Some(4.0),
            Some(5.0),
            Some(6.0),
            Some(7.0),
            Some(8.0),
            Some(100.0),
            None,
            Some(f64::NAN),
            Some(f64::NEG_INFINITY),
        ];
        let n: Vec<i64> = (0..11).collect();
        let (out, r) = apply(&step(&["x"], OutlierMethod::Mad, None), table(&x, &n)).unwrap();
        assert_eq!(n_of(&out), vec![0, 1, 2, 3, 4, 5, 6, 8, 9]);
        assert_eq!(r.rows_removed, 2);
        // With k = 1.0, |M(2)| = 1.18 goes too; M(3) = M(8) = 0.6745 * 2.5 / 2 = 0.84 stay.
        let (out, _) = apply(&step(&["x"], OutlierMethod::Mad, Some(1.0)), table(&x, &n)).unwrap();
        assert_eq!(n_of(&out), vec![1, 2, 3, 4, 5, 6, 8, 9]);
    }

    #[test]
    fn several_columns_drop_the_union() {
        let x = [1.0, 2.0, 3.0, 2.0, 1.0, 50.0].map(Some);
        let n = [10, 11, 12, 1000, 11, 10];
        let (out, r) = apply(&step(&["x", "n"], OutlierMethod::Iqr, None), table(&x, &n)).unwrap();
        assert_eq!(n_of(&out), vec![10, 11, 12, 11]);
        assert_eq!(r.per_column["x"], 1);
        assert_eq!(r.per_column["n"], 1);
        let e = apply(&step(&["s"], OutlierMethod::Iqr, None), table(&x, &n))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("filter_outliers: column `s`") && e.contains("numeric columns are: x, n"),
            "{e}"
        );
        let e = apply(&step(&["x"], OutlierMethod::Iqr, Some(-1.0)), table(&x, &n))
            .unwrap_err()
            .to_string();
        assert!(e.contains("k = -1"), "{e}");
    }

    #[test]
    fn too_few_values_are_noted() {
        let (_, r) = apply(
            &step(&["x"], OutlierMethod::Iqr, None),
            table(&[Some(1.0), None, Some(1e9)], &[1, 2, 3]),
        )
        .unwrap();
        assert_eq!(r.rows_removed, 0);
        assert!(r.notes[0].contains("too few"), "{:?}", r.notes);
    }

    /// The rows `sluice quality`'s `detect` (sorting) flags, infinite values included.
    fn by_detect(x: &[Option<f64>], method: OutlierMethod, k: f64) -> (Vec<u64>, Option<String>) {
        let finite: Vec<(u64, f64)> = x
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.filter(|v| v.is_finite()).map(|v| (i as u64, v)))
            .collect();
        let mut rows: Vec<u64> = x
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_some_and(f64::is_infinite))
            .map(|(i, _)| i as u64)
            .collect();
        let (z, iqr_k) = match method {
            OutlierMethod::Iqr => (sluice_quality::outliers::Z_CUTOFF, k),
            OutlierMethod::Mad => (k, sluice_quality::outliers::IQR_K),
        };
        let mut stats = None;
        if let Some(s) = sluice_quality::outliers::detect(&finite, z, iqr_k) {
            match method {
                OutlierMethod::Iqr => {
                    rows.extend(
                        finite
                            .iter()
                            .filter(|(_, v)| *v < s.lower_fence || *v > s.upper_fence)
                            .map(|r| r.0),
                    );
                    stats = Some(format!(
                        "[{}, {}] (Q1 {}, Q3 {}",
                        s.lower_fence, s.upper_fence, s.q1, s.q3
                    ));
                }
                OutlierMethod::Mad => {
                    rows.extend(s.mad_rows.iter().map(|r| r.0));
                    stats = Some(format!("(median {}, MAD {}", s.median, s.mad));
                }
            }
        }
        rows.sort_unstable();
        rows.dedup();
        (rows, stats)
    }

    proptest::proptest! {
        #[test]
        fn selection_gives_the_sorting_detectors_rows_and_bounds(
            codes in proptest::collection::vec(0u16..400, 1..400),
            mad in proptest::bool::ANY,
            k in 0.5f64..6.0,
        ) {
            // Many repeats (a zero MAD is common), nulls, both zeros, infinities and far values.
            let x: Vec<Option<f64>> = codes
                .iter()
                .map(|&c| match c {
                    0..=9 => None,
                    10 => Some(f64::INFINITY),
                    11 => Some(f64::NEG_INFINITY),
                    12 => Some(f64::NAN),
                    13 => Some(-0.0),
                    14..=19 => Some(1e6 * f64::from(c)),
                    c if c < 200 => Some(5.0),
                    c => Some(f64::from(c % 37) / 4.0),
                })
                .collect();
            let method = if mad { OutlierMethod::Mad } else { OutlierMethod::Iqr };
            let n: Vec<i64> = (0..x.len() as i64).collect();
            let (out, r) = apply(&step(&["x"], method, Some(k)), table(&x, &n)).unwrap();
            let (want, stats) = by_detect(&x, method, k);
            let kept: Vec<i64> = n_of(&out);
            let removed: Vec<u64> = n.iter().filter(|i| !kept.contains(i)).map(|&i| i as u64).collect();
            proptest::prop_assert_eq!(removed, want);
            if let Some(stats) = stats {
                proptest::prop_assert!(r.notes[0].contains(&stats), "{:?} lacks {}", r.notes, stats);
            }
        }
    }
}
