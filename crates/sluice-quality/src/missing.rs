//! Missing values per column, by kind: SQL null, float NaN, empty string, whitespace-only string.
//!
//! The four are counted apart because they come from different bugs (a failed join, a division by zero,
//! an empty form field, a padded export) even though a model sees them all as "no value".

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, StringArray};
use arrow::datatypes::{DataType, Float16Type, Float32Type, Float64Type};
use serde::Serialize;

use crate::report::Example;
use crate::table::Table;

/// Missing values of one column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Missing {
    /// Nulls.
    pub null: u64,
    /// NaNs.
    pub nan: u64,
    /// Empty strings.
    pub empty: u64,
    /// Whitespace-only strings.
    pub whitespace: u64,
    /// Every missing row, ascending.
    pub rows: Vec<u64>,
    /// The first examples.
    pub examples: Vec<Example>,
}

impl Missing {
    /// All kinds together.
    pub fn total(&self) -> u64 {
        self.null + self.nan + self.empty + self.whitespace
    }
}

/// A column's missing count and rows, for comparing a version with its parent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MissingRate {
    /// Missing values.
    pub missing: u64,
    /// Rows.
    pub rows: u64,
}

impl MissingRate {
    /// `missing / rows` (0 for an empty table).
    pub fn rate(&self) -> f64 {
        if self.rows == 0 {
            0.0
        } else {
            self.missing as f64 / self.rows as f64
        }
    }
}

/// Counts column `c`'s missing values, keeping `examples` examples.
pub fn count(table: &Table, c: usize, examples: usize) -> Missing {
    let mut m = Missing::default();
    let note = |m: &mut Missing, row: u64, value: serde_json::Value, what: &str| {
        m.rows.push(row);
        if m.examples.len() < examples {
            m.examples.push(Example {
                row,
                value,
                note: Some(what.to_owned()),
            });
        }
    };
    for (start, a) in table.column(c) {
        let nan_at = |i: usize| -> bool {
            match a.data_type() {
                DataType::Float64 => a.as_primitive::<Float64Type>().value(i).is_nan(),
                DataType::Float32 => a.as_primitive::<Float32Type>().value(i).is_nan(),
                DataType::Float16 => a.as_primitive::<Float16Type>().value(i).is_nan(),
                _ => false,
            }
        };
        let strings = a.as_any().downcast_ref::<StringArray>();
        let nulls = a.null_count() > 0;
        let floats = matches!(a.data_type(), DataType::Float16 | DataType::Float32 | DataType::Float64);
        if !nulls && !floats && strings.is_none() {
            continue;
        }
        for i in 0..a.len() {
            let row = start + i as u64;
            if a.is_null(i) {
                m.null += 1;
                note(&mut m, row, serde_json::Value::Null, "null");
            } else if floats && nan_at(i) {
                m.nan += 1;
                note(&mut m, row, "NaN".into(), "NaN");
            } else if let Some(s) = strings {
                let v = s.value(i);
                if v.is_empty() {
                    m.empty += 1;
                    note(&mut m, row, "".into(), "empty string");
                } else if v.trim().is_empty() {
                    m.whitespace += 1;
                    note(&mut m, row, v.into(), "whitespace only");
                }
            }
        }
    }
    m
}

/// Every column's missing count, by name (what a parent version contributes to a comparison).
pub fn rates(table: &Table) -> BTreeMap<String, MissingRate> {
    use rayon::prelude::*;
    let rows = table.rows();
    (0..table.schema().fields().len())
        .into_par_iter()
        .map(|c| {
            let m = count(table, c, 0);
            (
                table.schema().field(c).name().clone(),
                MissingRate {
                    missing: m.total(),
                    rows,
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Float64Array, RecordBatch};
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    #[test]
    fn counts_each_kind_apart() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("x", DataType::Float64, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        let x: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(1.0),
            None,
            Some(f64::NAN),
            Some(2.0),
            None,
        ]));
        let s: ArrayRef = Arc::new(StringArray::from(vec![
            Some("a"),
            Some(""),
            Some(" \t"),
            None,
            Some(" b "),
        ]));
        let t = Table::new(
            "t",
            schema.clone(),
            vec![RecordBatch::try_new(schema, vec![x, s]).unwrap()],
        )
        .unwrap();
        let mx = count(&t, 0, 10);
        assert_eq!((mx.null, mx.nan, mx.empty, mx.whitespace), (2, 1, 0, 0));
        assert_eq!(mx.rows, vec![1, 2, 4]);
        let ms = count(&t, 1, 1);
        assert_eq!((ms.null, ms.nan, ms.empty, ms.whitespace), (1, 0, 1, 1));
        assert_eq!(ms.rows, vec![1, 2, 3]);
        assert_eq!(ms.examples.len(), 1);
        let r = rates(&t);
        assert_eq!(r["s"], MissingRate { missing: 3, rows: 5 });
        assert_eq!(r["x"].rate(), 0.6);
    }
}
