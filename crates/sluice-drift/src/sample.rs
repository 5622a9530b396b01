//! One side of a comparison: the rows themselves (exact path) and/or the table's profile (sketch
//! path), with the column names and types.

use std::fs::File;
use std::path::Path;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rayon::prelude::*;
use sluice_ingest::{ReadOptions, TableFormat};
use sluice_profile::ProfileStates;

use crate::{Error, Result};

/// A table to compare.
#[derive(Debug, Clone)]
pub struct Sample {
    /// What the report calls it (`NAME@vN:path` or the file).
    pub label: String,
    /// Rows in the table.
    pub rows: u64,
    /// Column names and Arrow types, in table order.
    pub columns: Vec<(String, DataType)>,
    /// The rows, when held in memory (the exact path needs both sides' rows).
    pub batches: Option<Vec<RecordBatch>>,
    /// The profile (the sketch path needs both sides' profiles).
    pub profile: Option<ProfileStates>,
}

impl Sample {
    /// A sample held in memory.
    pub fn from_batches(label: impl Into<String>, schema: &SchemaRef, batches: Vec<RecordBatch>) -> Sample {
        Sample {
            label: label.into(),
            rows: batches.iter().map(|b| b.num_rows() as u64).sum(),
            columns: columns_of(schema),
            batches: Some(batches),
            profile: None,
        }
    }

    /// A sample known only by its profile (a stored version of any size). The column types are
    /// the profile's Arrow type names; only their kind matters for the comparison.
    pub fn from_profile(label: impl Into<String>, profile: ProfileStates) -> Sample {
        let columns = profile
            .columns
            .iter()
            .map(|c| (c.name.clone(), type_of_name(&c.data_type)))
            .collect();
        Sample {
            label: label.into(),
            rows: profile.rows,
            columns,
            batches: None,
            profile: Some(profile),
        }
    }

    /// Whether the rows are in memory.
    pub fn has_rows(&self) -> bool {
        self.batches.is_some()
    }

    /// The profile, computing it from the rows when none was given.
    pub fn ensure_profile(&mut self) -> Result<&ProfileStates> {
        if self.profile.is_none() {
            let batches = self.batches.as_ref().ok_or_else(|| Error::Input {
                what: self.label.clone(),
                detail: "neither rows nor a profile".into(),
            })?;
            let schema = match batches.first() {
                Some(b) => b.schema(),
                None => {
                    return Err(Error::Input {
                        what: self.label.clone(),
                        detail: "the table has no rows".into(),
                    });
                }
            };
            let mut p = ProfileStates::new(&schema);
            for b in batches {
                p.update(b)
                    .map_err(|e| Error::Profile(format!("{}: {e}", self.label)))?;
            }
            self.profile = Some(p);
        }
        Ok(self.profile.as_ref().expect("set above"))
    }

    /// Reads a CSV/TSV, JSON Lines or Parquet file. Up to `budget` rows are kept in memory for
    /// the exact path; a larger file is profiled while it streams (memory stays bounded) and
    /// compared through its sketches.
    pub fn read_file(path: &Path, budget: u64) -> Result<Sample> {
        Sample::read_file_where(path, budget, |_| true)
    }

    /// [`Sample::read_file`], decoding from Parquet only the columns `keep` accepts (the others
    /// are never read); other formats are parsed whole.
    pub fn read_file_where(path: &Path, budget: u64, keep: impl Fn(&str) -> bool) -> Result<Sample> {
        let label = path.display().to_string();
        let format = TableFormat::detect(path).map_err(|e| Error::Read(e.to_string()))?;
        if matches!(format, TableFormat::Parquet) {
            let rows = parquet_rows(path)?;
            if rows <= budget {
                return read_parquet_where(path, &label, keep);
            }
        }
        let mut batches: Vec<RecordBatch> = Vec::new();
        let mut profile: Option<ProfileStates> = None;
        let mut rows = 0u64;
        let sink_err = |e: sluice_profile::Error| sluice_ingest::Error::Sink {
            file: label.clone(),
            source: Box::new(e),
        };
        let mut sink = |b: RecordBatch| -> sluice_ingest::Result<()> {
            rows += b.num_rows() as u64;
            if profile.is_none() && rows > budget {
                let mut p = ProfileStates::new(&b.schema());
                for old in batches.drain(..) {
                    p.update(&old).map_err(sink_err)?;
                }
                profile = Some(p);
            }
            match profile.as_mut() {
                Some(p) => p.update(&b).map_err(sink_err)?,
                None => batches.push(b),
            }
            Ok(())
        };
        let report = sluice_ingest::read_table(path, format, &ReadOptions::default(), &mut sink, &mut std::io::sink())
            .map_err(|e| Error::Read(e.to_string()))?;
        Ok(match profile {
            Some(p) => {
                let mut s = Sample::from_profile(label, p);
                s.columns = columns_of(&report.schema);
                s
            }
            None => Sample::from_batches(label, &report.schema, batches),
        })
    }
}

/// Rows in a Parquet file, from its footer.
pub fn parquet_rows(path: &Path) -> Result<u64> {
    let file = File::open(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| Error::Read(format!("{}: {e}", path.display())))?;
    Ok(builder.metadata().file_metadata().num_rows().max(0) as u64)
}

/// Reads a Parquet file (only `columns`, when given), its row groups decoded in parallel.
pub fn read_parquet(path: &Path, label: &str, columns: Option<&[String]>) -> Result<Sample> {
    match columns {
        Some(cols) => read_parquet_where(path, label, |c| cols.iter().any(|k| k == c)),
        None => read_parquet_where(path, label, |_| true),
    }
}

/// Reads the columns of a Parquet file that `keep` accepts (the others are not decoded), its
/// row groups decoded in parallel.
pub fn read_parquet_where(path: &Path, label: &str, keep: impl Fn(&str) -> bool) -> Result<Sample> {
    let open = || -> Result<ParquetRecordBatchReaderBuilder<File>> {
        let file = File::open(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| Error::Read(format!("{}: {e}", path.display())))
    };
    let first = open()?;
    let groups = first.metadata().num_row_groups();
    let fields = first.schema().fields();
    let idx: Vec<usize> = (0..fields.len()).filter(|&i| keep(fields[i].name())).collect();
    // Every column wanted: no mask (the reader's fastest path).
    let mask = (idx.len() < fields.len()).then(|| ProjectionMask::roots(first.parquet_schema(), idx));
    let schema = match &mask {
        Some(m) => {
            let b = open()?.with_projection(m.clone()).with_row_groups(Vec::new()).build();
            arrow::record_batch::RecordBatchReader::schema(
                &b.map_err(|e| Error::Read(format!("{}: {e}", path.display())))?,
            )
        }
        None => first.schema().clone(),
    };
    let parts: Vec<Result<Vec<RecordBatch>>> = (0..groups)
        .into_par_iter()
        .map(|g| {
            let mut b = open()?.with_row_groups(vec![g]).with_batch_size(65_536);
            if let Some(m) = &mask {
                b = b.with_projection(m.clone());
            }
            let reader = b.build().map_err(|e| Error::Read(format!("{}: {e}", path.display())))?;
            reader
                .map(|r| r.map_err(|e| Error::Read(format!("{} (row group {g}): {e}", path.display()))))
                .collect()
        })
        .collect();
    let mut batches = Vec::new();
    for p in parts {
        batches.extend(p?);
    }
    Ok(Sample::from_batches(label, &schema, batches))
}

fn columns_of(schema: &SchemaRef) -> Vec<(String, DataType)> {
    schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect()
}

/// The Arrow type a profile recorded by name (`Int64`, `Utf8`, `Timestamp(...)`); unknown names
/// become `Utf8` only for display, since profiles carry their own value kind.
fn type_of_name(name: &str) -> DataType {
    name.parse::<DataType>().unwrap_or(DataType::Null)
}
