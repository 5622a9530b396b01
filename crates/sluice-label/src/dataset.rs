//! The dataset side: reading a version's table (its canonical Parquet copy) for item keys and
//! payloads, and writing the table back with label columns added, for a new version.
//!
//! Item keys are the key column's values cast to text (Arrow's cast, so `Int64` 42 is `"42"`).
//! Keys must be unique and non-null: a duplicated key would give two rows one label.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use sluice_store::Workspace;
use sluice_store::meta::{TableEntry, VersionRecord};

use crate::error::{Error, Result};
use crate::store::RunResult;

/// A version's table read into memory.
#[derive(Debug, Clone)]
pub struct VersionTable {
    /// The table's entry in the version.
    pub entry: TableEntry,
    /// Its rows.
    pub batches: Vec<RecordBatch>,
}

/// Reads table `path` of `version` (or its only table).
pub async fn read_version_table(ws: &Workspace, version: &VersionRecord, path: Option<&str>) -> Result<VersionTable> {
    let tables = ws.meta.tables(version.id).await?;
    let entry = match path {
        Some(p) => tables
            .iter()
            .find(|t| t.path == p)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                what: "table",
                name: format!("{}:{p}", version.label()),
                hint: format!(
                    "; its tables: {}",
                    tables.iter().map(|t| t.path.as_str()).collect::<Vec<_>>().join(", ")
                ),
            })?,
        None => match tables.as_slice() {
            [one] => one.clone(),
            [] => {
                return Err(Error::Usage(format!(
                    "{} has no table (add CSV, JSON Lines or Parquet files); items are rows of a table",
                    version.label()
                )));
            }
            many => {
                return Err(Error::Usage(format!(
                    "{} has {} tables; pick one with --table ({})",
                    version.label(),
                    many.len(),
                    many.iter().map(|t| t.path.as_str()).collect::<Vec<_>>().join(", ")
                )));
            }
        },
    };
    let bytes = ws.objects.get_bytes(&entry.canonical).await?;
    let ctx = format!("reading {}:{}", version.label(), entry.path);
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| Error::data(&ctx, e))?
        .build()
        .map_err(|e| Error::data(&ctx, e))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::data(&ctx, e))?;
    Ok(VersionTable { entry, batches })
}

/// The key column's values as text, one per row; errors on a missing column, nulls or repeats.
pub fn keys(t: &VersionTable, column: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for b in &t.batches {
        let col = b.column_by_name(column).ok_or_else(|| {
            Error::Usage(format!(
                "table {} has no column `{column}`; columns: {}",
                t.entry.path,
                b.schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let text = arrow::compute::cast(col, &DataType::Utf8).map_err(|e| Error::data("casting the key column", e))?;
        let text = text
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| Error::Internal("cast to Utf8 did not give a StringArray".into()))?;
        for i in 0..text.len() {
            if text.is_null(i) {
                return Err(Error::Usage(format!(
                    "key column `{column}` is empty in row {}; every item needs a key",
                    out.len() + 1
                )));
            }
            let k = text.value(i).to_string();
            if !seen.insert(k.clone()) {
                return Err(Error::Usage(format!(
                    "key column `{column}` repeats `{k}` (row {}); choose a column whose values are unique",
                    out.len() + 1
                )));
            }
            out.push(k);
        }
    }
    Ok(out)
}

/// Each row as a JSON object (the payload an annotator is shown).
pub fn payloads(t: &VersionTable) -> Result<Vec<serde_json::Value>> {
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::LineDelimitedWriter::new(&mut buf);
        for b in &t.batches {
            w.write(b).map_err(|e| Error::data("converting rows to JSON", e))?;
        }
        w.finish().map_err(|e| Error::data("converting rows to JSON", e))?;
    }
    let text = String::from_utf8(buf).map_err(|e| Error::data("converting rows to JSON", e))?;
    text.lines()
        .map(|l| serde_json::from_str(l).map_err(|e| Error::data("converting rows to JSON", e)))
        .collect()
}

/// Names of the columns a merge adds.
#[derive(Debug, Clone)]
pub struct LabelColumns {
    /// The label (default `label`).
    pub label: String,
}

impl LabelColumns {
    fn names(&self) -> [String; 4] {
        let l = &self.label;
        [
            l.clone(),
            format!("{l}_confidence"),
            format!("{l}_source"),
            format!("{l}_n"),
        ]
    }
}

/// Writes the table with label columns (label, confidence, source, number of judgements) to a
/// Parquet file; rows without a result get nulls. Returns how many rows got a label.
pub fn write_labeled(
    t: &VersionTable,
    key_column: &str,
    results: &HashMap<String, &RunResult>,
    cols: &LabelColumns,
    out: &Path,
) -> Result<u64> {
    let names = cols.names();
    let first = t
        .batches
        .first()
        .map(|b| b.schema())
        .unwrap_or_else(|| Arc::new(Schema::empty()));
    if let Some(clash) = names.iter().find(|n| first.column_with_name(n).is_some()) {
        return Err(Error::Usage(format!(
            "table {} already has a column `{clash}`; choose another name with --column",
            t.entry.path
        )));
    }
    let mut fields: Vec<Arc<Field>> = first.fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(&names[0], DataType::Utf8, true)));
    fields.push(Arc::new(Field::new(&names[1], DataType::Float64, true)));
    fields.push(Arc::new(Field::new(&names[2], DataType::Utf8, true)));
    fields.push(Arc::new(Field::new(&names[3], DataType::Int64, true)));
    let schema = Arc::new(Schema::new(fields));
    let file = std::fs::File::create(out).map_err(|e| Error::io(out, e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut w =
        ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| Error::data("writing Parquet", e))?;
    let mut labelled = 0u64;
    let mut row0 = 0usize;
    let all_keys = keys(t, key_column)?;
    for b in &t.batches {
        let n = b.num_rows();
        let ks = &all_keys[row0..row0 + n];
        row0 += n;
        let found: Vec<Option<&&RunResult>> = ks.iter().map(|k| results.get(k)).collect();
        labelled += found.iter().filter(|r| r.is_some()).count() as u64;
        let label: StringArray = found.iter().map(|r| r.map(|r| r.value.as_str())).collect();
        let conf: Float64Array = found.iter().map(|r| r.map(|r| r.confidence)).collect();
        let source: StringArray = found.iter().map(|r| r.map(|r| r.source.as_str())).collect();
        let count: Int64Array = found.iter().map(|r| r.map(|r| r.n_labels)).collect();
        let mut columns: Vec<ArrayRef> = b.columns().to_vec();
        columns.push(Arc::new(label));
        columns.push(Arc::new(conf));
        columns.push(Arc::new(source));
        columns.push(Arc::new(count));
        let batch =
            RecordBatch::try_new(schema.clone(), columns).map_err(|e| Error::data("building the labelled table", e))?;
        w.write(&batch).map_err(|e| Error::data("writing Parquet", e))?;
    }
    w.close().map_err(|e| Error::data("writing Parquet", e))?;
    Ok(labelled)
}

/// Writes results alone (projects without a dataset): item, label, confidence, source, n.
pub fn write_results(results: &[RunResult], cols: &LabelColumns, out: &Path) -> Result<u64> {
    let names = cols.names();
    let schema = Arc::new(Schema::new(vec![
        Field::new("item", DataType::Utf8, false),
        Field::new(&names[0], DataType::Utf8, false),
        Field::new(&names[1], DataType::Float64, false),
        Field::new(&names[2], DataType::Utf8, false),
        Field::new(&names[3], DataType::Int64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(results.iter().map(|r| Some(r.item.as_str())).collect::<StringArray>()),
        Arc::new(results.iter().map(|r| Some(r.value.as_str())).collect::<StringArray>()),
        Arc::new(results.iter().map(|r| Some(r.confidence)).collect::<Float64Array>()),
        Arc::new(results.iter().map(|r| Some(r.source.as_str())).collect::<StringArray>()),
        Arc::new(results.iter().map(|r| Some(r.n_labels)).collect::<Int64Array>()),
    ];
    let batch =
        RecordBatch::try_new(schema.clone(), columns).map_err(|e| Error::data("building the label table", e))?;
    let file = std::fs::File::create(out).map_err(|e| Error::io(out, e))?;
    let mut w = ArrowWriter::try_new(file, schema, None).map_err(|e| Error::data("writing Parquet", e))?;
    w.write(&batch).map_err(|e| Error::data("writing Parquet", e))?;
    w.close().map_err(|e| Error::data("writing Parquet", e))?;
    Ok(results.len() as u64)
}
