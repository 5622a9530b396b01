//! The table the checks run on: record batches in row order, with every string column normalised to
//! `Utf8` (so each check has one string array type to handle) and the row number of each batch's
//! first row.
//!
//! Invariant: `starts[i]` is the number of rows in batches `0..i`, so row `starts[i] + j` is row `j` of
//! batch `i`; row numbers are positions in the source's order (file order, Parquet row-group order).

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use sluice_ingest::{ReadOptions, TableFormat};

use crate::error::{Error, Result};

/// A table held in memory as record batches.
#[derive(Debug, Clone)]
pub struct Table {
    name: String,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    starts: Vec<u64>,
    rows: u64,
}

impl Table {
    /// A table of `batches` (all of `schema`), named `name` in messages and reports.
    pub fn new(name: impl Into<String>, schema: SchemaRef, batches: Vec<RecordBatch>) -> Result<Self> {
        let schema = normalised_schema(&schema);
        let mut starts = Vec::with_capacity(batches.len());
        let mut rows = 0u64;
        let mut out = Vec::with_capacity(batches.len());
        for b in batches {
            starts.push(rows);
            rows += b.num_rows() as u64;
            out.push(normalise(&b, &schema)?);
        }
        Ok(Table {
            name: name.into(),
            schema,
            batches: out,
            starts,
            rows,
        })
    }

    /// Reads a CSV/TSV, JSON Lines or Parquet file (format from the extension) with sluice-ingest.
    /// Rows that cannot be read are an error naming the file and line, as in `sluice add`.
    pub fn read_file(path: &Path) -> Result<Self> {
        let format = TableFormat::detect(path)?;
        Self::read(path, format, &path.display().to_string())
    }

    /// Reads `path` as `format` (canonical copies in the object store have no extension), naming the
    /// table `name`.
    pub fn read(path: &Path, format: TableFormat, name: &str) -> Result<Self> {
        let mut batches = Vec::new();
        let mut quarantine = std::io::sink();
        let report = sluice_ingest::read_table(
            path,
            format,
            &ReadOptions::default(),
            &mut |b| {
                batches.push(b);
                Ok(())
            },
            &mut quarantine,
        )?;
        Self::new(name, report.schema, batches)
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schema (string columns as `Utf8`).
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Rows.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The batches, in row order.
    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }

    /// `(first row, array)` of column `c` in each batch.
    pub fn column(&self, c: usize) -> impl Iterator<Item = (u64, &ArrayRef)> {
        self.starts
            .iter()
            .copied()
            .zip(self.batches.iter().map(move |b| b.column(c)))
    }

    /// The index of column `name`, or an error naming `option` and listing the columns.
    pub fn column_index(&self, option: &'static str, name: &str) -> Result<usize> {
        self.schema.index_of(name).map_err(|_| Error::UnknownColumn {
            option,
            column: name.to_owned(),
            table: self.name.clone(),
            available: self
                .schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// `(batch, row within it)` of row `row`.
    fn locate(&self, row: u64) -> Option<(usize, usize)> {
        if row >= self.rows {
            return None;
        }
        let b = self.starts.partition_point(|s| *s <= row) - 1;
        Some((b, (row - self.starts[b]) as usize))
    }

    /// Row `row` as a JSON object (`null` if out of range).
    pub fn row_json(&self, row: u64) -> serde_json::Value {
        let Some((b, i)) = self.locate(row) else {
            return serde_json::Value::Null;
        };
        let slice = self.batches[b].slice(i, 1);
        match sluice_version::diff::json_rows(&[slice]) {
            Ok(mut rows) if rows.len() == 1 => rows.pop().unwrap_or_default(),
            _ => serde_json::Value::Null,
        }
    }

    /// The string in column `c` at `row`, if the column is a string column and the cell is not null.
    pub fn str_at(&self, c: usize, row: u64) -> Option<&str> {
        let (b, i) = self.locate(row)?;
        let a = self.batches[b].column(c).as_any().downcast_ref::<StringArray>()?;
        a.is_valid(i).then(|| a.value(i))
    }
}

/// Whether the type is a string type the table normalises to `Utf8`.
fn is_stringish(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn normalised_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            if is_stringish(f.data_type()) {
                f.as_ref().clone().with_data_type(DataType::Utf8)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn normalise(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| {
            if is_stringish(c.data_type()) && c.data_type() != &DataType::Utf8 {
                arrow::compute::cast(c, &DataType::Utf8)
            } else {
                Ok(c.clone())
            }
        })
        .collect::<std::result::Result<_, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;

    #[test]
    fn rows_are_numbered_across_batches() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("s", DataType::LargeUtf8, true),
        ]));
        let batch = |a: Vec<i64>, s: Vec<&str>| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(a)) as ArrayRef,
                    Arc::new(arrow::array::LargeStringArray::from(s)) as ArrayRef,
                ],
            )
            .unwrap()
        };
        let t = Table::new(
            "t",
            schema.clone(),
            vec![batch(vec![1, 2], vec!["x", "y"]), batch(vec![3], vec!["z"])],
        )
        .unwrap();
        assert_eq!(t.rows(), 3);
        assert_eq!(t.schema().field(1).data_type(), &DataType::Utf8);
        assert_eq!(t.str_at(1, 2), Some("z"));
        assert_eq!(t.str_at(1, 1), Some("y"));
        assert_eq!(t.row_json(2), serde_json::json!({"a": 3, "s": "z"}));
        assert_eq!(t.row_json(3), serde_json::Value::Null);
        let e = t.column_index("--key", "nope").unwrap_err().to_string();
        assert!(e.contains("--key") && e.contains("`nope`") && e.contains("a, s"), "{e}");
    }
}
