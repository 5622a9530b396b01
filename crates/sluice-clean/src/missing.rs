//! Missing values: `drop_missing` removes rows, `impute` fills cells.
//!
//! A cell is missing when it is null, a float NaN, or a string that is empty or whitespace-only: the four
//! kinds `sluice quality` counts (and `sluice synth` injects). Infinities are values, not missing ones.
//!
//! `impute` computes its fill value over the column's present values in one pass:
//!
//! | strategy   | column types                     | fill value                                                    |
//! |------------|----------------------------------|---------------------------------------------------------------|
//! | `mean`     | integers, floats                 | mean of the finite values                                     |
//! | `median`   | integers, floats                 | median of the finite values, the middle two averaged (numpy's linear rule) |
//! | `mode`     | integers, floats, strings, booleans | most frequent value; ties go to the smallest (numbers), alphabetically first (strings), `false` |
//! | `constant` | any of these                     | `value`, which must be of the column's kind (an integer for an integer column) |
//!
//! An integer column gets the mean or median rounded half away from zero (a note says so). Statistics are
//! computed in `f64`, exact for integers up to 2^53. A column with missing values and no present value
//! has no mean, median or mode: that is an error that suggests `constant`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, Scalar, StringArray,
};
use arrow::buffer::BooleanBuffer;
use arrow::compute::kernels::zip::zip;
use arrow::compute::{CastOptions, cast, cast_with_options};
use arrow::datatypes::{DataType, Float32Type, Float64Type};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::frame::{EXAMPLES, Frame, Strings, is_numeric, is_string};
use crate::report::{Example, StepReport};
use crate::{How, Strategy};

/// The missing cells of `a` (see the module docs), one bit per cell.
pub(crate) fn missing_mask(a: &dyn Array) -> BooleanBuffer {
    let n = a.len();
    let nulls = a.logical_nulls();
    let null = |i: usize| nulls.as_ref().is_some_and(|m| m.is_null(i));
    match a.data_type() {
        DataType::Float64 => {
            let v = a.as_primitive::<Float64Type>().values();
            BooleanBuffer::collect_bool(n, |i| null(i) || v[i].is_nan())
        }
        DataType::Float32 => {
            let v = a.as_primitive::<Float32Type>().values();
            BooleanBuffer::collect_bool(n, |i| null(i) || v[i].is_nan())
        }
        t if is_string(t) => match Strings::of(a) {
            Some(s) => BooleanBuffer::collect_bool(n, |i| s.get(i).is_none_or(|v| v.trim().is_empty())),
            None => BooleanBuffer::collect_bool(n, null),
        },
        _ => BooleanBuffer::collect_bool(n, null),
    }
}

/// A missing cell as JSON for an example: null, `"NaN"`, or the blank string.
fn missing_json(a: &dyn Array, i: usize) -> serde_json::Value {
    if a.is_null(i) {
        return serde_json::Value::Null;
    }
    match Strings::of(a) {
        Some(s) => serde_json::Value::String(s.get(i).unwrap_or_default().to_owned()),
        None => serde_json::Value::String("NaN".into()),
    }
}

/// `drop_missing`: the rows to drop, ascending.
pub(crate) fn drop_missing(
    frame: &Frame<'_>,
    columns: Option<&[String]>,
    how: How,
    report: &mut StepReport,
) -> Result<Vec<u64>> {
    let cols: Vec<usize> = match columns {
        Some(names) => frame.indices("columns", names)?,
        None => (0..frame.schema.fields().len()).collect(),
    };
    // Per batch: the dropped rows, the first few with their missing columns, and per-column counts of
    // missing cells among the dropped rows.
    type PerBatch = (Vec<u64>, Vec<(u64, Vec<usize>)>, Vec<u64>);
    let per_batch: Vec<PerBatch> = frame
        .batches
        .par_iter()
        .enumerate()
        .map(|(b, batch)| {
            let masks: Vec<BooleanBuffer> = cols.iter().map(|&c| missing_mask(batch.column(c).as_ref())).collect();
            let mut drop = masks[0].clone();
            for m in &masks[1..] {
                drop = match how {
                    How::Any => &drop | m,
                    How::All => &drop & m,
                };
            }
            let counts = masks.iter().map(|m| (m & &drop).count_set_bits() as u64).collect();
            let rows: Vec<usize> = drop.set_indices().collect();
            let examples = rows
                .iter()
                .take(EXAMPLES)
                .map(|&i| {
                    let missing = (0..cols.len()).filter(|&k| masks[k].value(i)).collect();
                    (frame.starts[b] + i as u64, missing)
                })
                .collect();
            let rows = rows.into_iter().map(|i| frame.starts[b] + i as u64).collect();
            (rows, examples, counts)
        })
        .collect();
    let mut drop = Vec::new();
    let mut counts = vec![0u64; cols.len()];
    for (rows, examples, c) in per_batch {
        for (k, n) in c.into_iter().enumerate() {
            counts[k] += n;
        }
        drop.extend(rows);
        report.add_examples(examples.into_iter().map(|(row, missing)| {
            let names: Vec<&str> = missing.iter().map(|&k| frame.name(cols[k])).collect();
            Example::removed(row, frame.row_json(row), format!("missing: {}", names.join(", ")))
        }));
    }
    for (k, n) in counts.into_iter().enumerate() {
        if n > 0 {
            report.per_column.insert(frame.name(cols[k]).to_owned(), n);
        }
    }
    report.removed(drop.len() as u64);
    Ok(drop)
}

/// The column's kind, as `impute` sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Integer,
    Float,
    Text,
    Boolean,
}

/// The fill value: a one-element array of the column's type, and its JSON for the report.
struct Fill {
    array: ArrayRef,
    json: serde_json::Value,
    note: String,
}

fn f64_json(x: f64) -> serde_json::Value {
    serde_json::Number::from_f64(x)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

/// The present numeric values of column `c` as `f64` (finite values only) and the count of infinities.
fn numbers(frame: &Frame<'_>, c: usize) -> Result<(Vec<f64>, u64)> {
    let parts: Vec<(Vec<f64>, u64)> = frame
        .batches
        .par_iter()
        .map(|b| -> Result<(Vec<f64>, u64)> {
            let a = cast(b.column(c), &DataType::Float64)?;
            let a = a.as_primitive::<Float64Type>();
            let mut v = Vec::with_capacity(a.len());
            let mut inf = 0;
            for i in 0..a.len() {
                if a.is_valid(i) {
                    let x = a.value(i);
                    if x.is_finite() {
                        v.push(x);
                    } else if x.is_infinite() {
                        inf += 1;
                    }
                }
            }
            Ok((v, inf))
        })
        .collect::<Result<_>>()?;
    let mut all = Vec::with_capacity(parts.iter().map(|p| p.0.len()).sum());
    let mut inf = 0;
    for (v, i) in parts {
        all.extend(v);
        inf += i;
    }
    Ok((all, inf))
}

/// One `f64` as a one-element array of type `dt`, or an error if it does not fit.
fn f64_as(frame: &Frame<'_>, c: usize, x: f64) -> Result<ArrayRef> {
    let a = cast_with_options(
        &(Arc::new(Float64Array::from(vec![x])) as ArrayRef),
        frame.data_type(c),
        &CastOptions::default(),
    )?;
    if a.is_null(0) {
        return Err(Error::InvalidStep {
            step: frame.step,
            message: format!(
                "the fill value {x} does not fit column `{}` ({}); use strategy = \"constant\" with a value in range",
                frame.name(c),
                frame.data_type(c)
            ),
        });
    }
    Ok(a)
}

fn statistic(frame: &Frame<'_>, c: usize, kind: Kind, strategy: Strategy) -> Result<Fill> {
    let name = frame.name(c);
    let no_values = || Error::InvalidStep {
        step: frame.step,
        message: format!(
            "column `{name}` has missing values but no present value to take a {} of; use strategy = \"constant\" with a value",
            strategy.as_str()
        ),
    };
    match kind {
        Kind::Integer | Kind::Float => {
            let (mut v, inf) = numbers(frame, c)?;
            if v.is_empty() {
                return Err(no_values());
            }
            let n = v.len();
            let x = match strategy {
                Strategy::Mean => v.iter().sum::<f64>() / n as f64,
                Strategy::Median => {
                    v.sort_unstable_by(f64::total_cmp);
                    sluice_quality::outliers::quantile_sorted(&v, 0.5)
                }
                _ => {
                    let mut counts: HashMap<u64, u64> = HashMap::new();
                    for x in &v {
                        // -0.0 and 0.0 are one value.
                        *counts.entry((x + 0.0).to_bits()).or_default() += 1;
                    }
                    counts
                        .into_iter()
                        .map(|(bits, k)| (f64::from_bits(bits), k))
                        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.total_cmp(&a.0)))
                        .map(|p| p.0)
                        .unwrap_or_default()
                }
            };
            let rounded = if kind == Kind::Integer { x.round() } else { x };
            let mut note = format!("the {} of {n} values", strategy.as_str());
            if rounded != x {
                note.push_str(&format!(", {x} rounded for an integer column"));
            }
            if inf > 0 {
                note.push_str(&format!(", {inf} infinite values left out"));
            }
            Ok(Fill {
                array: f64_as(frame, c, rounded)?,
                json: if kind == Kind::Integer {
                    serde_json::Value::from(rounded as i64)
                } else {
                    f64_json(rounded)
                },
                note,
            })
        }
        Kind::Text => {
            let parts: Vec<HashMap<&str, u64>> = frame
                .batches
                .par_iter()
                .map(|b| -> Result<HashMap<&str, u64>> {
                    let s = Strings::expect(b.column(c).as_ref())?;
                    let mut m: HashMap<&str, u64> = HashMap::new();
                    for i in 0..s.len() {
                        if let Some(v) = s.get(i).filter(|v| !v.trim().is_empty()) {
                            *m.entry(v).or_default() += 1;
                        }
                    }
                    Ok(m)
                })
                .collect::<Result<_>>()?;
            let mut counts: HashMap<&str, u64> = HashMap::new();
            for m in parts {
                for (k, n) in m {
                    *counts.entry(k).or_default() += n;
                }
            }
            let n: u64 = counts.values().sum();
            let (mode, k) = counts
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
                .ok_or_else(no_values)?;
            Ok(Fill {
                array: cast(
                    &(Arc::new(StringArray::from(vec![mode])) as ArrayRef),
                    frame.data_type(c),
                )?,
                json: serde_json::Value::String(mode.to_owned()),
                note: format!("the mode of {n} values ({k} times)"),
            })
        }
        Kind::Boolean => {
            let (mut t, mut f) = (0u64, 0u64);
            for b in frame.batches {
                let a = b.column(c).as_boolean();
                t += a.true_count() as u64;
                f += a.false_count() as u64;
            }
            if t + f == 0 {
                return Err(no_values());
            }
            let mode = t > f;
            Ok(Fill {
                array: Arc::new(BooleanArray::from(vec![mode])),
                json: serde_json::Value::Bool(mode),
                note: format!("the mode of {} values ({} times)", t + f, t.max(f)),
            })
        }
    }
}

fn constant(frame: &Frame<'_>, c: usize, kind: Kind, value: &toml::Value) -> Result<Fill> {
    let wrong = |want: &str| Error::InvalidStep {
        step: frame.step,
        message: format!(
            "value = {value} is a {} but column `{}` is {}; use {want}",
            value.type_str(),
            frame.name(c),
            frame.data_type(c)
        ),
    };
    let dt = frame.data_type(c);
    let (array, json): (ArrayRef, serde_json::Value) = match (kind, value) {
        (Kind::Integer, toml::Value::Integer(i)) => {
            let a = cast(&(Arc::new(Int64Array::from(vec![*i])) as ArrayRef), dt)?;
            if a.is_null(0) {
                return Err(Error::InvalidStep {
                    step: frame.step,
                    message: format!(
                        "value = {i} does not fit column `{}` ({dt}); use a value in the type's range",
                        frame.name(c)
                    ),
                });
            }
            (a, serde_json::Value::from(*i))
        }
        (Kind::Integer, _) => return Err(wrong("an integer, e.g. value = 0")),
        (Kind::Float, toml::Value::Integer(i)) => (f64_as(frame, c, *i as f64)?, f64_json(*i as f64)),
        (Kind::Float, toml::Value::Float(x)) => (f64_as(frame, c, *x)?, f64_json(*x)),
        (Kind::Float, _) => return Err(wrong("a number, e.g. value = 0.0")),
        (Kind::Text, toml::Value::String(s)) => (
            cast(&(Arc::new(StringArray::from(vec![s.as_str()])) as ArrayRef), dt)?,
            serde_json::Value::String(s.clone()),
        ),
        (Kind::Text, _) => return Err(wrong("a quoted string, e.g. value = \"unknown\"")),
        (Kind::Boolean, toml::Value::Boolean(b)) => {
            (Arc::new(BooleanArray::from(vec![*b])), serde_json::Value::Bool(*b))
        }
        (Kind::Boolean, _) => return Err(wrong("true or false")),
    };
    Ok(Fill {
        array,
        json,
        note: "the given constant".into(),
    })
}

/// `impute`.
pub(crate) fn impute(
    frame: &Frame<'_>,
    column: &str,
    strategy: Strategy,
    value: Option<&toml::Value>,
    report: &mut StepReport,
) -> Result<Vec<RecordBatch>> {
    let c = frame.index("column", column)?;
    let dt = frame.data_type(c);
    let kind = if dt.is_integer() {
        Kind::Integer
    } else if dt.is_floating() && dt != &DataType::Float16 {
        Kind::Float
    } else if is_string(dt) {
        Kind::Text
    } else if dt == &DataType::Boolean {
        Kind::Boolean
    } else {
        return Err(frame.wrong_type(
            c,
            "an integer, float, string or boolean column",
            format!(
                "impute one of the supported columns ({}), or cast `{column}` first",
                frame.columns_where(|t| (is_numeric(t) && t != &DataType::Float16)
                    || is_string(t)
                    || t == &DataType::Boolean)
            ),
        ));
    };
    if matches!(strategy, Strategy::Mean | Strategy::Median) && !matches!(kind, Kind::Integer | Kind::Float) {
        return Err(frame.wrong_type(
            c,
            "a numeric column for a mean or median",
            "use strategy = \"mode\" (the most frequent value) or strategy = \"constant\" with a value",
        ));
    }
    // Missing cells per batch.
    let masks: Vec<BooleanBuffer> = frame
        .batches
        .par_iter()
        .map(|b| missing_mask(b.column(c).as_ref()))
        .collect();
    let missing: u64 = masks.iter().map(|m| m.count_set_bits() as u64).sum();
    if missing == 0 {
        report.per_column.insert(column.to_owned(), 0);
        return Ok(frame.batches.to_vec());
    }
    let fill = match (strategy, value) {
        (Strategy::Constant, Some(v)) => constant(frame, c, kind, v)?,
        (Strategy::Constant, None) => {
            return Err(Error::Internal(
                "impute: constant without a value passed validation".into(),
            ));
        }
        _ => statistic(frame, c, kind, strategy)?,
    };
    let scalar = Scalar::new(fill.array.clone());
    let mut out = Vec::with_capacity(frame.batches.len());
    for (b, (batch, mask)) in frame.batches.iter().zip(&masks).enumerate() {
        if mask.count_set_bits() == 0 {
            out.push(batch.clone());
            continue;
        }
        let a = batch.column(c);
        for i in mask.set_indices().take(EXAMPLES) {
            if report.examples.len() < EXAMPLES {
                report.examples.push(Example {
                    row: frame.starts[b] + i as u64,
                    column: Some(column.to_owned()),
                    before: missing_json(a.as_ref(), i),
                    after: fill.json.clone(),
                    note: None,
                });
            }
        }
        let filled = zip(&BooleanArray::new(mask.clone(), None), &scalar, a)?;
        let mut columns = batch.columns().to_vec();
        columns[c] = filled;
        out.push(RecordBatch::try_new(batch.schema(), columns)?);
    }
    report.values_added = missing;
    report.per_column.insert(column.to_owned(), missing);
    report.notes.push(format!(
        "{column}: {missing} missing values filled with {} ({})",
        fill.json, fill.note
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Step, apply};
    use arrow::array::{Float64Array, Int32Array};
    use arrow::datatypes::{Field, Schema};

    fn table() -> Vec<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int32, true),
            Field::new("x", DataType::Float64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("b", DataType::Boolean, true),
        ]));
        let batch = |i: Vec<Option<i32>>, x: Vec<Option<f64>>, s: Vec<Option<&str>>, b: Vec<Option<bool>>| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int32Array::from(i)) as ArrayRef,
                    Arc::new(Float64Array::from(x)) as ArrayRef,
                    Arc::new(StringArray::from(s)) as ArrayRef,
                    Arc::new(BooleanArray::from(b)) as ArrayRef,
                ],
            )
            .unwrap()
        };
        vec![
            batch(
                vec![Some(1), None, Some(2)],
                vec![Some(1.0), Some(f64::NAN), Some(2.0)],
                vec![Some("a"), Some(""), Some("b")],
                vec![Some(true), None, Some(false)],
            ),
            batch(
                vec![Some(4), Some(4), None],
                vec![None, Some(f64::INFINITY), Some(10.0)],
                vec![Some("  "), None, Some("b")],
                vec![Some(true), Some(true), Some(false)],
            ),
        ]
    }

    fn col<T: Clone>(batches: &[RecordBatch], c: usize, get: impl Fn(&dyn Array, usize) -> T) -> Vec<T> {
        batches
            .iter()
            .flat_map(|b| {
                let a = b.column(c).clone();
                (0..a.len()).map(|i| get(a.as_ref(), i)).collect::<Vec<_>>()
            })
            .collect()
    }

    fn ints(b: &[RecordBatch]) -> Vec<Option<i32>> {
        col(b, 0, |a, i| {
            a.is_valid(i)
                .then(|| a.as_primitive::<arrow::datatypes::Int32Type>().value(i))
        })
    }

    fn floats(b: &[RecordBatch]) -> Vec<Option<f64>> {
        col(b, 1, |a, i| {
            a.is_valid(i).then(|| a.as_primitive::<Float64Type>().value(i))
        })
    }

    fn impute(column: &str, strategy: Strategy, value: Option<toml::Value>) -> Step {
        Step::Impute {
            column: column.into(),
            strategy,
            value,
        }
    }

    #[test]
    fn drop_missing_any_and_all() {
        let (out, r) = apply(
            &Step::DropMissing {
                columns: None,
                how: How::Any,
            },
            table(),
        )
        .unwrap();
        // Rows 1 (i null, x NaN, s "", b null), 3 (x null, s blank), 4 (s null), 5 (i null) go; 0 and 2 stay.
        assert_eq!(ints(&out), vec![Some(1), Some(2)]);
        assert_eq!((r.rows_in, r.rows_out, r.rows_removed), (6, 2, 4));
        assert_eq!(r.per_column["i"], 2);
        assert_eq!(r.per_column["x"], 2);
        assert_eq!(r.per_column["s"], 3);
        assert_eq!(r.per_column["b"], 1);
        assert_eq!(r.examples[0].note.as_deref(), Some("missing: i, x, s, b"));

        let (out, r) = apply(
            &Step::DropMissing {
                columns: Some(vec!["x".into(), "s".into()]),
                how: How::All,
            },
            table(),
        )
        .unwrap();
        assert_eq!(ints(&out), vec![Some(1), Some(2), Some(4), None]);
        assert_eq!(r.rows_removed, 2);
    }

    #[test]
    fn impute_numbers() {
        // x present and finite: 1, 2, 10 (inf left out): mean 13/3, median 2.
        let (out, r) = apply(&impute("x", Strategy::Mean, None), table()).unwrap();
        let x = floats(&out);
        assert_eq!(x[1], Some(13.0 / 3.0));
        assert_eq!(x[3], Some(13.0 / 3.0));
        assert_eq!(x[4], Some(f64::INFINITY));
        assert_eq!((r.values_added, r.values_changed), (2, 0));
        assert_eq!(r.examples[0].before, "NaN");
        assert_eq!(r.examples[1].before, serde_json::Value::Null);
        assert!(r.notes[0].contains("1 infinite values left out"), "{:?}", r.notes);
        let (out, _) = apply(&impute("x", Strategy::Median, None), table()).unwrap();
        assert_eq!(floats(&out)[1], Some(2.0));

        // i present: 1, 2, 4, 4: mean 2.75 -> 3, median 3, mode 4.
        let (out, r) = apply(&impute("i", Strategy::Mean, None), table()).unwrap();
        assert_eq!(ints(&out), vec![Some(1), Some(3), Some(2), Some(4), Some(4), Some(3)]);
        assert!(r.notes[0].contains("2.75 rounded"), "{:?}", r.notes);
        let (out, _) = apply(&impute("i", Strategy::Mode, None), table()).unwrap();
        assert_eq!(ints(&out)[1], Some(4));
        let (out, _) = apply(
            &impute("i", Strategy::Constant, Some(toml::Value::Integer(-7))),
            table(),
        )
        .unwrap();
        assert_eq!(ints(&out)[5], Some(-7));
        let e = apply(&impute("i", Strategy::Constant, Some(toml::Value::Float(1.5))), table())
            .unwrap_err()
            .to_string();
        assert!(e.contains("`i` is Int32") && e.contains("an integer"), "{e}");
        let e = apply(
            &impute("i", Strategy::Constant, Some(toml::Value::Integer(1 << 40))),
            table(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("does not fit"), "{e}");
    }

    #[test]
    fn impute_strings_and_booleans() {
        let (out, r) = apply(&impute("s", Strategy::Mode, None), table()).unwrap();
        let s = col(&out, 2, |a, i| Strings::of(a).unwrap().get(i).map(str::to_owned));
        assert_eq!(s, ["a", "b", "b", "b", "b", "b"].map(|v| Some(v.to_owned())).to_vec());
        assert_eq!(r.values_added, 3);
        let (out, _) = apply(
            &impute("s", Strategy::Constant, Some(toml::Value::String("unknown".into()))),
            table(),
        )
        .unwrap();
        let s = col(&out, 2, |a, i| Strings::of(a).unwrap().get(i).map(str::to_owned));
        assert_eq!(s[1].as_deref(), Some("unknown"));
        assert_eq!(s[3].as_deref(), Some("unknown"));
        let e = apply(&impute("s", Strategy::Median, None), table())
            .unwrap_err()
            .to_string();
        assert!(e.contains("impute: column `s`") && e.contains("mode"), "{e}");
        // b: true 3, false 2.
        let (out, _) = apply(&impute("b", Strategy::Mode, None), table()).unwrap();
        let b = col(&out, 3, |a, i| a.as_boolean().value(i));
        assert!(b[1]);
    }

    #[test]
    fn nothing_to_impute_from_is_an_error() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, true)]));
        let b = RecordBatch::try_new(
            schema,
            vec![Arc::new(Float64Array::from(vec![None, Some(f64::NAN)])) as ArrayRef],
        )
        .unwrap();
        let e = apply(&impute("x", Strategy::Mean, None), vec![b])
            .unwrap_err()
            .to_string();
        assert!(e.contains("no present value") && e.contains("constant"), "{e}");
    }
}
