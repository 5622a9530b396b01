//! Parquet in (read as it is, any Arrow type) and the canonical Parquet out.
//!
//! Reading a Parquet file needs no inference: its footer holds the schema, so opening it reads
//! the footer only and [`read_schema`](crate::read_schema) stays cheap. Every failure of the
//! decoder (bad magic, truncated footer, garbage metadata, corrupt pages) becomes
//! [`Error::CorruptParquet`]; a Parquet file has no rows to quarantine.
//!
//! The decoders also panic on some corrupt inputs (found by the fuzz target: arrow-ipc 59.3's
//! `fb_to_schema` unwraps a missing field list in a damaged `ARROW:schema` footer entry). A panic
//! inside the decoder, and only there (never in the caller's sink), is therefore caught and
//! reported as the corrupt file it is, so one bad file cannot crash `sluice add`.
//!
//! The canonical copy is ZSTD level 1 (close to Snappy's speed at a better ratio) with page-level
//! statistics, so later scans can skip pages by min/max.

use std::fs::File;
use std::io::{Read, Write};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, SchemaRef};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use parquet::file::reader::{ChunkReader, Length};

use crate::error::{Error, Result};
use crate::source::Source;

/// A Parquet file's bytes: on disk or in memory.
#[derive(Debug)]
pub(crate) enum Input {
    File(File),
    Bytes(Bytes),
}

impl Length for Input {
    fn len(&self) -> u64 {
        match self {
            Input::File(f) => f.len(),
            Input::Bytes(b) => b.len() as u64,
        }
    }
}

impl ChunkReader for Input {
    type T = Box<dyn Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(match self {
            Input::File(f) => Box::new(f.get_read(start)?),
            Input::Bytes(b) => Box::new(b.get_read(start)?),
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        match self {
            Input::File(f) => f.get_bytes(start, length),
            Input::Bytes(b) => b.get_bytes(start, length),
        }
    }
}

fn corrupt(src: &Source, e: impl std::fmt::Display) -> Error {
    Error::CorruptParquet {
        file: src.name.clone(),
        message: e.to_string(),
    }
}

/// Runs a step of the Parquet decoder, turning a panic in it into [`Error::CorruptParquet`].
fn guarded<T>(src: &Source, step: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(AssertUnwindSafe(step)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Err(corrupt(src, format!("the Parquet decoder failed on it: {what}")))
    })
}

/// An opened Parquet file: its schema is known, its rows not yet read.
pub(crate) struct Opened {
    builder: ParquetRecordBatchReaderBuilder<Input>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened").field("schema", self.builder.schema()).finish()
    }
}

/// Reads the footer and checks the schema.
pub(crate) fn open(src: &Source) -> Result<Opened> {
    let input = src.parquet_input()?;
    let builder = guarded(src, || {
        ParquetRecordBatchReaderBuilder::try_new(input).map_err(|e| corrupt(src, e))
    })?;
    check_names(&src.name, builder.schema().fields().iter(), "")?;
    Ok(Opened { builder })
}

impl Opened {
    pub fn schema(&self) -> SchemaRef {
        self.builder.schema().clone()
    }

    /// The row count the footer gives, checked against its row groups' counts (no page is read).
    pub fn footer_rows(&self, src: &Source) -> Result<u64> {
        let meta = self.builder.metadata();
        let expected = meta.file_metadata().num_rows();
        let groups: i64 = meta.row_groups().iter().map(|g| g.num_rows()).sum();
        if groups != expected || expected < 0 {
            return Err(corrupt(
                src,
                format!("the footer says {expected} rows but its row groups hold {groups}"),
            ));
        }
        Ok(expected as u64)
    }

    /// Streams the rows to `sink`; returns the row count.
    pub fn read(self, src: &Source, batch_size: usize, sink: &mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<u64> {
        let expected = self.builder.metadata().file_metadata().num_rows();
        let reader: ParquetRecordBatchReader = self
            .builder
            .with_batch_size(batch_size)
            .build()
            .map_err(|e| corrupt(src, e))?;
        let mut rows = 0u64;
        for batch in reader {
            let batch = batch.map_err(|e| corrupt(src, e))?;
            rows += batch.num_rows() as u64;
            sink(batch)?;
        }
        if i64::try_from(rows).ok() != Some(expected) {
            return Err(corrupt(
                src,
                format!("the footer says {expected} rows but the row groups hold {rows}"),
            ));
        }
        Ok(rows)
    }
}

/// Refuses duplicate names among a struct's fields, at every nesting level.
fn check_names<'a>(file: &str, fields: impl Iterator<Item = &'a Arc<Field>> + Clone, prefix: &str) -> Result<()> {
    let names: Vec<String> = fields.clone().map(|f| format!("{prefix}{}", f.name())).collect();
    crate::check_unique(file, names.iter().map(String::as_str))?;
    for f in fields {
        let nested = format!("{prefix}{}.", f.name());
        match f.data_type() {
            DataType::Struct(children) => check_names(file, children.iter(), &nested)?,
            DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
                if let DataType::Struct(children) = item.data_type() {
                    check_names(file, children.iter(), &nested)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The writer properties of the canonical copy.
pub(crate) fn writer_properties() -> WriterProperties {
    writer_properties_builder().build()
}

/// [`writer_properties`] before it is built, for per-column changes.
pub(crate) fn writer_properties_builder() -> WriterPropertiesBuilder {
    let zstd = ZstdLevel::try_new(1).unwrap_or_default();
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(zstd))
        .set_statistics_enabled(EnabledStatistics::Page)
}

/// Writes batches to a canonical Parquet file; the writer is created at the first batch so the
/// schema is the one the readers produce.
pub(crate) struct CanonicalWriter<'w> {
    file: String,
    out: Option<&'w mut (dyn Write + Send)>,
    writer: Option<ArrowWriter<&'w mut (dyn Write + Send)>>,
}

impl<'w> CanonicalWriter<'w> {
    pub fn new(file: &str, out: &'w mut (dyn Write + Send)) -> Self {
        CanonicalWriter {
            file: file.to_owned(),
            out: Some(out),
            writer: None,
        }
    }

    fn failed(&self, e: impl std::fmt::Display) -> Error {
        Error::WriteParquet {
            file: self.file.clone(),
            message: e.to_string(),
        }
    }

    fn writer(&mut self, schema: &SchemaRef) -> Result<&mut ArrowWriter<&'w mut (dyn Write + Send)>> {
        if self.writer.is_none() {
            let out = self
                .out
                .take()
                .ok_or_else(|| Error::internal(&self.file, "Parquet output taken twice"))?;
            let w = ArrowWriter::try_new(out, schema.clone(), Some(writer_properties())).map_err(|e| self.failed(e))?;
            self.writer = Some(w);
        }
        self.writer
            .as_mut()
            .ok_or_else(|| Error::internal(&self.file, "Parquet writer missing"))
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let file = self.file.clone();
        self.writer(&batch.schema())?
            .write(batch)
            .map_err(|e| Error::WriteParquet {
                file,
                message: e.to_string(),
            })
    }

    /// Finishes the file; `schema` is used if no batch was written (a table without rows).
    pub fn finish(mut self, schema: &SchemaRef) -> Result<()> {
        self.writer(schema)?;
        let w = self
            .writer
            .take()
            .ok_or_else(|| Error::internal(&self.file, "Parquet writer missing"))?;
        let out = w.into_inner().map_err(|e| self.failed(e))?;
        out.flush().map_err(|e| self.failed(e))
    }
}
