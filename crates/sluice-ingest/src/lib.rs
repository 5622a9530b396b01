//! Readers for the tabular files Sluice ingests: CSV/TSV, JSON Lines and Parquet, into Arrow
//! record batches, and the canonical Parquet copy written from them.
//!
//! ```text
//! file ──> Source ──┬─ CSV/TSV:   pass 1 (tokenize, check, infer) ─> pass 2 (decode) ─┐
//!                   ├─ JSON Lines: pass 1 (parse, check, merge)   ─> pass 2 (decode) ─┼─> batches ─> sink
//!                   └─ Parquet:   footer (schema)                 ─> row groups ─────┘      └─> canonical Parquet
//!                                   └─ bad rows ─> quarantine (JSON Lines, verbatim)
//! ```
//!
//! Invariants the readers keep:
//! - Types are inferred over the whole file, and a column is typed only if every value parses as
//!   the type, so no row is ever rejected for its type and no value loses information.
//! - Each reader has one function that decides which records are rows, used by both passes; so
//!   every record is either a row (in order) or a quarantine line (verbatim), never both or neither.
//! - Memory is bounded by the batch size and [`ReadOptions::max_record_bytes`], not by the file.
//! - Errors name the file, the line and the column where known, and the fix (see [`Error`]).
//!
//! Which problems [`BadRows::Quarantine`] sets aside (all others are always fatal):
//!
//! | problem                                    | quarantinable |
//! |--------------------------------------------|---------------|
//! | ragged CSV row, broken quoting, bad UTF-8  | yes           |
//! | JSON Lines line: not an object, bad syntax | yes           |
//! | missing, unsupported, empty, header-only   | no            |
//! | corrupt Parquet, duplicate column names    | no            |
//! | every row bad (nothing usable)             | no            |
//!
//! The quarantine is JSON Lines, one object per bad row, in file order:
//! `{"line": N, "error": "...", "raw": "..."}`, where `line` is the 1-based physical line on which
//! the record starts, `error` the message the read fails with in [`BadRows::Fail`] mode, and `raw`
//! the record's exact text without its line terminator (a CSV record spanning lines keeps its
//! inner line breaks). Bytes that are not UTF-8 come as `raw_base64` (standard, padded) instead of
//! `raw`. So the good rows plus the quarantined records are the whole file.

mod csv;
mod error;
mod jsonl;
mod parquet;
mod quarantine;
mod source;
mod values;
mod write;

use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;

pub use error::{Error, Hint, Result};
pub use write::{table_properties, write_parquet};

use quarantine::Quarantine;
use source::Source;

/// A CSV batch is cut when its records reach this many bytes, whatever the batch size: this bounds
/// memory for wide rows and keeps string offsets far from i32's limit.
pub(crate) const BATCH_BYTES: usize = 256 << 20;

/// The tabular formats the readers know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableFormat {
    /// Delimited text with a header line: `,` for CSV, `\t` for TSV.
    Csv { delimiter: u8 },
    /// JSON Lines: one JSON object per line.
    Jsonl,
    /// Apache Parquet.
    Parquet,
}

impl TableFormat {
    /// The format named by the path's extension (`.csv`, `.tsv`, `.jsonl`, `.ndjson`, `.parquet`,
    /// `.pq`, in any case); `None` if the file is not tabular.
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" => TableFormat::Csv { delimiter: b',' },
            "tsv" => TableFormat::Csv { delimiter: b'\t' },
            "jsonl" | "ndjson" => TableFormat::Jsonl,
            "parquet" | "pq" => TableFormat::Parquet,
            _ => return None,
        })
    }

    /// Like [`TableFormat::from_path`], with an [`Error::Unsupported`] that says what to do instead.
    pub fn detect(path: &Path) -> Result<Self> {
        TableFormat::from_path(path).ok_or_else(|| Error::Unsupported {
            file: path.display().to_string(),
            extension: match path.extension() {
                Some(e) => format!(".{}", e.to_string_lossy()),
                None => "a file without an extension".to_owned(),
            },
        })
    }

    /// A short name: `csv`, `tsv` (CSV with a tab), `jsonl`, `parquet`.
    pub fn name(self) -> &'static str {
        match self {
            TableFormat::Csv { delimiter: b'\t' } => "tsv",
            TableFormat::Csv { .. } => "csv",
            TableFormat::Jsonl => "jsonl",
            TableFormat::Parquet => "parquet",
        }
    }
}

/// What to do with rows that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BadRows {
    /// Fail the read at the first bad row.
    #[default]
    Fail,
    /// Set bad rows aside in the quarantine and keep the others.
    Quarantine,
}

impl FromStr for BadRows {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "fail" => Ok(BadRows::Fail),
            "quarantine" => Ok(BadRows::Quarantine),
            _ => Err(Error::InvalidOption {
                option: "bad-rows policy",
                value: s.to_owned(),
                expected: "use `fail` (stop at the first bad row) or `quarantine` (set bad rows aside)",
            }),
        }
    }
}

impl std::fmt::Display for BadRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BadRows::Fail => "fail",
            BadRows::Quarantine => "quarantine",
        })
    }
}

/// How to read a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// What to do with rows that cannot be read.
    pub bad_rows: BadRows,
    /// Rows per record batch (default 65,536: fewer, larger batches cost less per batch at ingest;
    /// a batch is also cut by size, 256 MiB of CSV or 32 MiB of JSON text, so memory stays bounded).
    pub batch_size: usize,
    /// The longest record (CSV) or line (JSON Lines) accepted, in bytes (default 64 MiB). It bounds
    /// memory and stops an unclosed quote from reading the rest of a large file into one value.
    pub max_record_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            bad_rows: BadRows::Fail,
            batch_size: 65_536,
            max_record_bytes: 64 << 20,
        }
    }
}

impl ReadOptions {
    fn validate(&self, format: TableFormat) -> Result<()> {
        if self.batch_size == 0 {
            return Err(Error::InvalidOption {
                option: "batch size",
                value: "0".to_owned(),
                expected: "use at least 1 row per batch",
            });
        }
        if self.max_record_bytes == 0 {
            return Err(Error::InvalidOption {
                option: "max_record_bytes",
                value: "0".to_owned(),
                expected: "use at least 1 byte",
            });
        }
        if let TableFormat::Csv { delimiter } = format
            && (!delimiter.is_ascii() || matches!(delimiter, b'"' | b'\n' | b'\r'))
        {
            return Err(Error::InvalidOption {
                option: "CSV delimiter",
                value: char::from(delimiter).escape_default().to_string(),
                expected: "use an ASCII character other than a quote or a line break, such as `,` or a tab",
            });
        }
        Ok(())
    }
}

/// What a read found.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadReport {
    /// The table's schema.
    pub schema: SchemaRef,
    /// Rows in the table (handed to the sink).
    pub rows: u64,
    /// Rows set aside in the quarantine.
    pub bad_rows: u64,
}

/// A table whose schema is known and whose rows are ready to stream.
enum Prepared {
    Csv(csv::Plan),
    Jsonl(jsonl::Plan),
    Parquet(parquet::Opened),
}

impl Prepared {
    fn schema(&self) -> SchemaRef {
        match self {
            Prepared::Csv(p) => p.schema.clone(),
            Prepared::Jsonl(p) => p.schema.clone(),
            Prepared::Parquet(o) => o.schema(),
        }
    }

    fn read(self, src: &Source, opts: &ReadOptions, sink: &mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<u64> {
        match self {
            Prepared::Csv(p) => csv::decode(src, &p, opts, sink),
            Prepared::Jsonl(p) => jsonl::decode(src, &p, opts, sink),
            Prepared::Parquet(o) => o.read(src, opts.batch_size, sink),
        }
    }
}

/// Pass 1 (CSV, JSON Lines) or the footer (Parquet): the schema, with bad rows already handled.
fn prepare(src: &Source, format: TableFormat, opts: &ReadOptions, quarantine: &mut Quarantine<'_>) -> Result<Prepared> {
    opts.validate(format)?;
    Ok(match format {
        TableFormat::Csv { delimiter } => Prepared::Csv(csv::plan(src, delimiter, opts, quarantine)?),
        TableFormat::Jsonl => Prepared::Jsonl(jsonl::plan(src, opts, quarantine)?),
        TableFormat::Parquet => Prepared::Parquet(parquet::open(src)?),
    })
}

fn read_source(
    src: &Source,
    format: TableFormat,
    opts: &ReadOptions,
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    quarantine: &mut dyn Write,
) -> Result<ReadReport> {
    let mut q = Quarantine::new(&src.name, opts.bad_rows, quarantine);
    let prepared = prepare(src, format, opts, &mut q)?;
    let bad_rows = q.count();
    let schema = prepared.schema();
    let rows = prepared.read(src, opts, sink)?;
    Ok(ReadReport { schema, rows, bad_rows })
}

/// Streams the table at `path` to `sink` in batches of at most `opts.batch_size` rows, in file
/// order. With [`BadRows::Quarantine`], bad rows go to `quarantine` as JSON lines (format in the
/// crate docs) before the first batch; with [`BadRows::Fail`] the first bad row is the error and
/// nothing is written to `quarantine`. CSV and JSON Lines are read twice (infer, then decode).
pub fn read_table(
    path: &Path,
    format: TableFormat,
    opts: &ReadOptions,
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    quarantine: &mut dyn Write,
) -> Result<ReadReport> {
    read_source(&Source::file(path)?, format, opts, sink, quarantine)
}

/// [`read_table`] over bytes in memory; `name` stands for the file in error messages.
pub fn read_table_bytes(
    name: &str,
    bytes: Bytes,
    format: TableFormat,
    opts: &ReadOptions,
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    quarantine: &mut dyn Write,
) -> Result<ReadReport> {
    read_source(&Source::bytes(name, bytes)?, format, opts, sink, quarantine)
}

/// Reads the table at `path` and writes its canonical Parquet copy (ZSTD level 1, page
/// statistics, batches as read) to `out`; bad rows are handled as in [`read_table`].
pub fn to_parquet(
    path: &Path,
    format: TableFormat,
    opts: &ReadOptions,
    out: &mut (dyn Write + Send),
    quarantine: &mut dyn Write,
) -> Result<ReadReport> {
    let src = Source::file(path)?;
    to_parquet_source(&src, format, opts, out, quarantine)
}

/// [`to_parquet`] over bytes in memory; `name` stands for the file in error messages.
pub fn to_parquet_bytes(
    name: &str,
    bytes: Bytes,
    format: TableFormat,
    opts: &ReadOptions,
    out: &mut (dyn Write + Send),
    quarantine: &mut dyn Write,
) -> Result<ReadReport> {
    to_parquet_source(&Source::bytes(name, bytes)?, format, opts, out, quarantine)
}

fn to_parquet_source(
    src: &Source,
    format: TableFormat,
    opts: &ReadOptions,
    out: &mut (dyn Write + Send),
    quarantine: &mut dyn Write,
) -> Result<ReadReport> {
    let mut q = Quarantine::new(&src.name, opts.bad_rows, quarantine);
    let prepared = prepare(src, format, opts, &mut q)?;
    let bad_rows = q.count();
    let schema = prepared.schema();
    let mut writer = parquet::CanonicalWriter::new(&src.name, out);
    let rows = prepared.read(src, opts, &mut |batch| writer.write(&batch))?;
    writer.finish(&schema)?;
    Ok(ReadReport { schema, rows, bad_rows })
}

/// The table's schema. For Parquet this reads the footer only; for CSV and JSON Lines it is a full
/// pass, because types are inferred over the whole file (rows that cannot be read are skipped, as
/// in [`BadRows::Quarantine`] mode; a file without a single good row is still an error).
pub fn read_schema(path: &Path, format: TableFormat) -> Result<SchemaRef> {
    let src = Source::file(path)?;
    let opts = ReadOptions {
        bad_rows: BadRows::Quarantine,
        ..ReadOptions::default()
    };
    let mut discard = std::io::sink();
    let mut q = Quarantine::new(&src.name, opts.bad_rows, &mut discard);
    Ok(prepare(&src, format, &opts, &mut q)?.schema())
}

/// What a Parquet file's footer says, without decoding a page: its schema and row count, after the
/// checks [`read_table`] makes before it reads rows (magic bytes, readable metadata, unique column
/// names) and a check that the row groups' counts add up to the file's. For callers that decode
/// the pages anyway (a profile), so a damaged page is still found, or that only need the shape.
pub fn parquet_footer(path: &Path) -> Result<ReadReport> {
    let src = Source::file(path)?;
    let opened = parquet::open(&src)?;
    let rows = opened.footer_rows(&src)?;
    Ok(ReadReport {
        schema: opened.schema(),
        rows,
        bad_rows: 0,
    })
}

/// Refuses a second column with a name already used, naming every position (1-based) it has.
pub(crate) fn check_unique<'a>(file: &str, names: impl Iterator<Item = &'a str> + Clone) -> Result<()> {
    let mut seen = std::collections::HashMap::new();
    for (i, name) in names.clone().enumerate() {
        if let Some(_first) = seen.insert(name, i) {
            let positions = names
                .enumerate()
                .filter(|(_, n)| *n == name)
                .map(|(j, _)| j + 1)
                .collect();
            return Err(Error::DuplicateColumn {
                file: file.to_owned(),
                name: name.to_owned(),
                positions,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_extensions_in_any_case() {
        let f = |p: &str| TableFormat::from_path(Path::new(p));
        assert_eq!(f("a/b.CSV"), Some(TableFormat::Csv { delimiter: b',' }));
        assert_eq!(f("b.tsv"), Some(TableFormat::Csv { delimiter: b'\t' }));
        assert_eq!(f("b.NDJSON"), Some(TableFormat::Jsonl));
        assert_eq!(f("b.jsonl"), Some(TableFormat::Jsonl));
        assert_eq!(f("b.Pq"), Some(TableFormat::Parquet));
        assert_eq!(f("b.parquet"), Some(TableFormat::Parquet));
        assert_eq!(f("b.xlsx"), None);
        assert_eq!(f("b.csv.gz"), None);
        assert_eq!(f("README"), None);
    }

    #[test]
    fn bad_rows_policy_parses_and_prints_its_names() {
        for p in [BadRows::Fail, BadRows::Quarantine] {
            assert_eq!(p.to_string().parse::<BadRows>().unwrap(), p);
        }
        let e = "skip".parse::<BadRows>().unwrap_err().to_string();
        assert!(
            e.contains("\"skip\"") && e.contains("`fail`") && e.contains("`quarantine`"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_names_report_every_position() {
        let e = check_unique("t.csv", ["a", "b", "a", "c", "a"].into_iter()).unwrap_err();
        match &e {
            Error::DuplicateColumn { name, positions, .. } => {
                assert_eq!(name, "a");
                assert_eq!(positions, &[1, 3, 5]);
            }
            other => panic!("expected DuplicateColumn, got {other:?}"),
        }
        assert!(e.to_string().contains("positions 1, 3, 5"), "{e}");
    }
}
