//! Profiles of whole tables: one `sluice_profile` aggregate per column in one scan.

use std::path::Path;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::execution::context::SessionContext;
use datafusion::prelude::{SessionConfig, ident};
use serde::{Deserialize, Serialize};
use sluice_ingest::{ReadOptions, TableFormat};

use crate::error::{Error, Result};
use crate::state::{ColumnState, Reader, put_blob};
use crate::summary::ColumnProfile;
use crate::udaf::profile_udaf;

/// A table's readable profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableProfile {
    /// Rows in the table.
    pub rows: u64,
    /// One profile per column, in schema order.
    pub columns: Vec<ColumnProfile>,
}

/// One column's mergeable state with its name and type.
#[derive(Debug, Clone)]
pub struct NamedState {
    /// Column name.
    pub name: String,
    /// Arrow type as Arrow prints it.
    pub data_type: String,
    /// The state.
    pub state: ColumnState,
}

/// A table's mergeable profile: what is stored beside a version.
#[derive(Debug, Clone, Default)]
pub struct ProfileStates {
    /// Rows in the table.
    pub rows: u64,
    /// Column states in schema order.
    pub columns: Vec<NamedState>,
}

const MAGIC: &[u8] = b"SLPT\x01";

impl ProfileStates {
    /// Fresh states for every column of a schema.
    pub fn new(schema: &SchemaRef) -> ProfileStates {
        ProfileStates {
            rows: 0,
            columns: schema
                .fields()
                .iter()
                .map(|f| NamedState {
                    name: f.name().clone(),
                    data_type: f.data_type().to_string(),
                    state: ColumnState::new(f.data_type()),
                })
                .collect(),
        }
    }

    /// Adds a batch whose schema matches the one the states were made for.
    pub fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        for (col, array) in self.columns.iter_mut().zip(batch.columns()) {
            col.state.update(array)?;
        }
        Ok(())
    }

    /// Folds in another profile of a table with the same columns (matched by name).
    pub fn merge(&mut self, other: &ProfileStates) -> Result<()> {
        for o in &other.columns {
            let Some(c) = self.columns.iter_mut().find(|c| c.name == o.name) else {
                return Err(Error::Merge(format!("tables with different columns (`{}`)", o.name)));
            };
            c.state.merge(&o.state)?;
        }
        self.rows += other.rows;
        Ok(())
    }

    /// The state of one column.
    pub fn column(&self, name: &str) -> Option<&ColumnState> {
        self.columns.iter().find(|c| c.name == name).map(|c| &c.state)
    }

    /// The readable profile.
    pub fn summary(&self) -> TableProfile {
        TableProfile {
            rows: self.rows,
            columns: self
                .columns
                .iter()
                .map(|c| ColumnProfile::from_state(&c.name, &c.data_type, &c.state))
                .collect(),
        }
    }

    /// Serialises all states (the stored form).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::new();
        w.extend_from_slice(MAGIC);
        w.extend_from_slice(&self.rows.to_le_bytes());
        w.extend_from_slice(&(self.columns.len() as u64).to_le_bytes());
        for c in &self.columns {
            put_blob(&mut w, Some(c.name.as_bytes().to_vec()));
            put_blob(&mut w, Some(c.data_type.as_bytes().to_vec()));
            put_blob(&mut w, Some(c.state.encode()));
        }
        w
    }

    /// Reads what [`ProfileStates::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<ProfileStates> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(MAGIC.len())? != MAGIC {
            return Err(Error::Decode("not a sluice table profile (bad magic)".into()));
        }
        let rows = r.u64()?;
        let n = r.u64()?;
        let mut columns = Vec::with_capacity(n.min(4096) as usize);
        for _ in 0..n {
            let text = |b: Option<&[u8]>| -> Result<String> {
                let b = b.ok_or_else(|| Error::Decode("missing column name or type".into()))?;
                String::from_utf8(b.to_vec()).map_err(|_| Error::Decode("column name is not UTF-8".into()))
            };
            let name = text(r.blob()?)?;
            let data_type = text(r.blob()?)?;
            let state = r
                .blob()?
                .ok_or_else(|| Error::Decode(format!("missing state of `{name}`")))?;
            columns.push(NamedState {
                name,
                data_type,
                state: ColumnState::decode(state)?,
            });
        }
        if !r.done() {
            return Err(Error::Decode("trailing bytes after the last column".into()));
        }
        Ok(ProfileStates { rows, columns })
    }
}

/// A DataFusion session for profiling: one partition per core.
pub fn session() -> SessionContext {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    SessionContext::new_with_config(SessionConfig::new().with_target_partitions(threads))
}

/// Profiles a table registered in `ctx`: every column in one scan, partitioned across the
/// session's partitions and merged.
pub async fn profile_table(ctx: &SessionContext, table: &str) -> Result<ProfileStates> {
    let df = ctx.table(table).await?;
    let schema: SchemaRef = std::sync::Arc::new(df.schema().as_arrow().clone());
    let udaf = profile_udaf();
    let mut aggs: Vec<_> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| udaf.call(vec![ident(f.name())]).alias(format!("p{i}")))
        .collect();
    aggs.push(datafusion::functions_aggregate::count::count_all().alias("rows"));
    let batches = df.aggregate(vec![], aggs)?.collect().await?;
    let batch = batches
        .first()
        .ok_or_else(|| Error::Decode("the profiling query returned no row".into()))?;
    let mut out = ProfileStates::new(&schema);
    for (i, col) in out.columns.iter_mut().enumerate() {
        let bytes = batch.column(i).as_any().downcast_ref::<arrow::array::BinaryArray>();
        let bytes = bytes
            .filter(|b| !arrow::array::Array::is_empty(*b) && !arrow::array::Array::is_null(*b, 0))
            .ok_or_else(|| Error::Decode(format!("no profile for column `{}`", col.name)))?;
        col.state = ColumnState::decode(bytes.value(0))?;
    }
    let rows = batch.column(schema.fields().len());
    out.rows = rows
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .map_or(0, |a| a.value(0) as u64);
    Ok(out)
}

/// Profiles a table already in memory on all cores: runs of batches are folded into one state per
/// thread, merged at the end. Types are recorded as [`profile_parquet`] records the same table
/// written as Parquet (strings as `Utf8View`), so the two profiles of one table compare and merge.
///
/// This is for a caller that holds the table it is about to store (`sluice run`'s output, profiled
/// while its Parquet file is encoded) and so need not decode that file again.
pub fn profile_batches(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<ProfileStates> {
    let view_schema = as_views(schema);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(batches.len())
        .max(1);
    let per_thread = batches.len().div_ceil(threads).max(1);
    let runs: Vec<&[RecordBatch]> = batches.chunks(per_thread).collect();
    merged_on_threads(runs.len(), &view_schema, |t| {
        let mut states = ProfileStates::new(&view_schema);
        for b in runs[t] {
            states.update(b)?;
        }
        Ok(states)
    })
}

/// Runs `work(t)` for `t` in `0..threads`, each on its own thread, and merges the states they
/// return into one profile of `schema`'s columns.
fn merged_on_threads<F>(threads: usize, schema: &SchemaRef, work: F) -> Result<ProfileStates>
where
    F: Fn(usize) -> Result<ProfileStates> + Sync,
{
    let work = &work;
    let parts: Vec<Result<ProfileStates>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                std::thread::Builder::new()
                    .name("sluice-profile".into())
                    .spawn_scoped(s, move || work(t))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => h
                    .join()
                    .unwrap_or_else(|_| Err(Error::Decode("a profiling thread panicked".into()))),
                Err(e) => Err(Error::Decode(format!("cannot start a profiling thread: {e}"))),
            })
            .collect()
    });
    let mut out = ProfileStates::new(schema);
    for p in parts {
        out.merge(&p?)?;
    }
    Ok(out)
}

/// Profiles a Parquet file on all cores: row groups are handed to one reader thread per core,
/// each folding its rows into its own states, merged at the end.
///
/// A string column whose pages in a row group are all dictionary-encoded is decoded as an Arrow
/// dictionary array (the Parquet dictionary and the keys, never a string per row) and counted by
/// key; other string columns are decoded as string views. Types are recorded as a DataFusion
/// scan shows them (strings as `Utf8View`), whichever way a row group was decoded.
pub async fn profile_parquet(path: &Path) -> Result<ProfileStates> {
    let path = path.to_path_buf();
    tokio_blocking(move || profile_parquet_rows(&path)).await
}

fn profile_parquet_rows(path: &Path) -> Result<ProfileStates> {
    use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
    use std::sync::atomic::{AtomicUsize, Ordering};

    let shown = path.display().to_string();
    let open = || {
        std::fs::File::open(path).map_err(|source| Error::Io {
            path: shown.clone(),
            source,
        })
    };
    let parquet_err = |source| Error::Parquet {
        path: shown.clone(),
        source,
    };
    let meta = ArrowReaderMetadata::load(&open()?, ArrowReaderOptions::new()).map_err(parquet_err)?;
    let file_schema = meta.schema().clone();
    let view_schema = as_views(&file_schema);
    let groups = meta.metadata().num_row_groups();
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(groups)
        .max(1);
    let next = AtomicUsize::new(0);
    let read_groups = || -> Result<ProfileStates> {
        let file = open()?;
        let mut states = ProfileStates::new(&view_schema);
        loop {
            let g = next.fetch_add(1, Ordering::Relaxed);
            if g >= groups {
                return Ok(states);
            }
            let hint = decode_schema(&file_schema, &view_schema, meta.metadata(), g);
            let options = ArrowReaderOptions::new().with_schema(hint);
            let group_meta = ArrowReaderMetadata::try_new(meta.metadata().clone(), options).map_err(parquet_err)?;
            let file = file.try_clone().map_err(|source| Error::Io {
                path: shown.clone(),
                source,
            })?;
            let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, group_meta)
                .with_row_groups(vec![g])
                .with_batch_size(BATCH_ROWS)
                .build()
                .map_err(parquet_err)?;
            for batch in reader {
                let batch = batch.map_err(|e| Error::Parquet {
                    path: format!("{shown} (row group {g})"),
                    source: e.into(),
                })?;
                states.update(&batch)?;
            }
        }
    };
    merged_on_threads(threads, &view_schema, |_| read_groups())
}

/// Rows per decoded batch (DataFusion's default).
const BATCH_ROWS: usize = 65_536;

/// The schema with strings and binaries as views, as a DataFusion scan shows a Parquet file.
fn as_views(schema: &SchemaRef) -> SchemaRef {
    use arrow::datatypes::{DataType, Field, Schema};
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let t = match f.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 => DataType::Utf8View,
                DataType::Binary | DataType::LargeBinary => DataType::BinaryView,
                t => t.clone(),
            };
            f.as_ref().clone().with_data_type(t)
        })
        .collect();
    std::sync::Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// How to decode row group `g`: string columns whose data pages there are all dictionary-encoded
/// as dictionaries, other strings and binaries as views, everything else as the file says.
/// `views` is [`as_views`] of `file_schema`.
fn decode_schema(
    file_schema: &SchemaRef,
    views: &SchemaRef,
    meta: &parquet::file::metadata::ParquetMetaData,
    g: usize,
) -> SchemaRef {
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::basic::Encoding;
    let parquet_schema = meta.file_metadata().schema_descr();
    let group = meta.row_group(g);
    let mut dictionary = vec![false; file_schema.fields().len()];
    for leaf in 0..parquet_schema.num_columns() {
        let root = parquet_schema.get_column_root_idx(leaf);
        // Only flat string columns (a root that is its own leaf).
        if parquet_schema.get_column_root(leaf).is_group() {
            continue;
        }
        let chunk = group.column(leaf);
        dictionary[root] = chunk.dictionary_page_offset().is_some()
            && chunk
                .page_encoding_stats_mask()
                .is_some_and(|m| m.is_only(Encoding::PLAIN_DICTIONARY) || m.is_only(Encoding::RLE_DICTIONARY));
    }
    let fields: Vec<Field> = views
        .fields()
        .iter()
        .zip(file_schema.fields())
        .zip(&dictionary)
        .map(|((view, file), &dict)| {
            if dict && matches!(file.data_type(), DataType::Utf8 | DataType::LargeUtf8) {
                let t = DataType::Dictionary(Box::new(DataType::Int32), Box::new(file.data_type().clone()));
                view.as_ref().clone().with_data_type(t)
            } else {
                view.as_ref().clone()
            }
        })
        .collect();
    std::sync::Arc::new(Schema::new_with_metadata(fields, views.metadata().clone()))
}

/// Profiles any table file Sluice reads (CSV/TSV, JSON Lines, Parquet). CSV and JSON Lines are
/// streamed through the states batch by batch, so memory stays bounded whatever the file size.
pub async fn profile_file(path: &Path) -> Result<ProfileStates> {
    let format = TableFormat::detect(path)?;
    if matches!(format, TableFormat::Parquet) {
        return profile_parquet(path).await;
    }
    let path = path.to_path_buf();
    tokio_blocking(move || {
        let mut states: Option<ProfileStates> = None;
        let mut failed = None;
        let report = sluice_ingest::read_table(
            &path,
            format,
            &ReadOptions::default(),
            &mut |batch| {
                let s = states.get_or_insert_with(|| ProfileStates::new(&batch.schema()));
                if failed.is_none()
                    && let Err(e) = s.update(&batch)
                {
                    failed = Some(e);
                }
                Ok(())
            },
            &mut std::io::sink(),
        )?;
        match failed {
            Some(e) => Err(e),
            None => Ok(states.unwrap_or_else(|| ProfileStates::new(&report.schema))),
        }
    })
    .await
}

async fn tokio_blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    // Without a runtime handle (a plain thread), run inline.
    match tokio::runtime::Handle::try_current() {
        Ok(h) => h
            .spawn_blocking(f)
            .await
            .map_err(|e| Error::Decode(format!("profiling thread failed: {e}")))?,
        Err(_) => f(),
    }
}
