//! Exact duplicate rows and duplicate keys, by hashing rows.
//!
//! Each row (or its key columns) is hashed to 128 bits with `sluice_version::engine::hash_rows`, the
//! function behind DataFusion's `sluice_row_hash` UDF that `sluice diff` uses: Arrow's row format (so
//! `1` and `"1"`, or `NULL` and `""`, differ) hashed with XXH3-128. A row is a duplicate when its hash was
//! seen at an earlier row; at 10^9 rows the chance that two distinct rows collide is about 2^-69. Batches
//! are hashed in parallel, then one pass in row order keeps the first row of every hash.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, FixedSizeBinaryArray};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::table::Table;

/// Rows that repeat an earlier row on `columns`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Duplicates {
    /// `(row, first row with the same values)`, ascending by row.
    pub rows: Vec<(u64, u64)>,
    /// Distinct values that occur more than once.
    pub groups: u64,
}

/// Finds the rows whose values in `columns` equal an earlier row's.
pub fn find(table: &Table, columns: &[usize]) -> Result<Duplicates> {
    let hashes: Vec<Vec<u128>> = table
        .batches()
        .par_iter()
        .map(|b| {
            let cols: Vec<ArrayRef> = columns.iter().map(|c| b.column(*c).clone()).collect();
            let h = sluice_version::engine::hash_rows(&cols)?;
            let h = h
                .as_any()
                .downcast_ref::<FixedSizeBinaryArray>()
                .ok_or_else(|| Error::Internal("row hash is not FixedSizeBinary(16)".into()))?;
            (0..h.len())
                .map(|i| {
                    let bytes: [u8; 16] = h
                        .value(i)
                        .try_into()
                        .map_err(|_| Error::Internal("row hash is not 16 bytes".into()))?;
                    Ok(u128::from_le_bytes(bytes))
                })
                .collect()
        })
        .collect::<Result<_>>()?;
    let mut first: HashMap<u128, (u64, bool)> = HashMap::with_capacity(table.rows() as usize);
    let mut out = Duplicates::default();
    let mut row = 0u64;
    for batch in hashes {
        for h in batch {
            match first.get_mut(&h) {
                Some((at, seen_twice)) => {
                    out.rows.push((row, *at));
                    if !*seen_twice {
                        *seen_twice = true;
                        out.groups += 1;
                    }
                }
                None => {
                    first.insert(h, (row, false));
                }
            }
            row += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    #[test]
    fn finds_repeats_across_batches() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
        ]));
        let batch = |ids: Vec<i64>, s: Vec<Option<&str>>| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(ids)) as ArrayRef,
                    Arc::new(StringArray::from(s)) as ArrayRef,
                ],
            )
            .unwrap()
        };
        let t = Table::new(
            "t",
            schema.clone(),
            vec![
                batch(vec![1, 2, 1], vec![Some("a"), Some("b"), Some("a")]),
                batch(vec![1, 3, 3], vec![Some("a"), None, Some("")]),
            ],
        )
        .unwrap();
        let d = find(&t, &[0, 1]).unwrap();
        assert_eq!(d.rows, vec![(2, 0), (3, 0)]);
        assert_eq!(d.groups, 1);
        // On the key alone, 3 repeats too (NULL and "" are different rows, but the same key).
        let k = find(&t, &[0]).unwrap();
        assert_eq!(k.rows, vec![(2, 0), (3, 0), (5, 4)]);
        assert_eq!(k.groups, 2);
    }
}
