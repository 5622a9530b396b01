//! Writing an in-memory table as one Parquet file on several threads.
//!
//! `ArrowWriter` encodes one column after another on the calling thread; at 10M rows that is about
//! 9 s where reading the file back takes about 1 s on two cores (docs/benchmarks.md, "Pipeline").
//! Here each row group's columns are encoded as separate tasks with parquet's
//! `ArrowRowGroupWriterFactory` / `ArrowColumnWriter` (the API the parquet crate documents for
//! parallel encoding), and the encoded chunks are appended to the file in schema order, so the
//! file is byte for byte what `ArrowWriter` makes with the same properties and row group size:
//!
//! ```text
//! batches ──slice──> row groups g0 g1 g2 ...
//!                    tasks (g, column), by row group, largest column first ──> `threads` workers
//!                    encoded chunks of g0 (then g1 ...) in column order ──> file (the caller's thread,
//!                    while the workers encode the next row groups)
//! ```
//!
//! Memory: the table (already in memory) plus the encoded chunks of at most `2 * threads` row
//! groups ahead of the file.
//!
//! [`table_properties`] picks the writer properties of a table Sluice stores: the canonical
//! copy's (ZSTD level 1, page statistics), with dictionary encoding turned off for the columns
//! whose sampled values are nearly all distinct. Parquet's dictionary encoder would hash every
//! such value until the dictionary page overflows (1 MiB) and then fall back to plain encoding
//! anyway; skipping it saves the hashing and gives the same plain pages.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Mutex;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::row::{RowConverter, SortField};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowColumnWriter, compute_leaves};
use parquet::file::properties::{DEFAULT_MAX_ROW_GROUP_ROW_COUNT, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::error::{Error, Result};

/// Values sampled per column to decide on dictionary encoding.
const DICTIONARY_SAMPLE: usize = 16_384;

/// A column whose sample has more than this share of distinct values is written without a
/// dictionary. At 0.5, a 1M-row row group of such a column would need at least 500k dictionary
/// entries, far past the 1 MiB dictionary page at which parquet falls back to plain encoding.
const DISTINCT_SHARE: f64 = 0.5;

/// The properties of a table Sluice stores: the canonical copy's (ZSTD level 1, page statistics;
/// see [`crate::to_parquet`]) with dictionary encoding off for the top-level columns whose first
/// values are nearly all distinct (see the module docs).
pub fn table_properties(schema: &SchemaRef, batches: &[RecordBatch]) -> WriterProperties {
    let mut builder = crate::parquet::writer_properties_builder();
    for (c, field) in schema.fields().iter().enumerate() {
        if !is_flat(field.data_type()) {
            continue;
        }
        if nearly_distinct(batches, c) {
            builder = builder.set_column_dictionary_enabled(ColumnPath::new(vec![field.name().clone()]), false);
        }
    }
    builder.build()
}

/// Whether the type is one Parquet leaf column (not a list, struct or map).
fn is_flat(t: &DataType) -> bool {
    !t.is_nested() && !matches!(t, DataType::Dictionary(..) | DataType::RunEndEncoded(..))
}

/// Whether the first [`DICTIONARY_SAMPLE`] non-null values of column `c` are nearly all distinct.
fn nearly_distinct(batches: &[RecordBatch], c: usize) -> bool {
    let mut sample = Vec::new();
    let mut taken = 0;
    for b in batches {
        if taken >= DICTIONARY_SAMPLE {
            break;
        }
        let n = b.num_rows().min(DICTIONARY_SAMPLE - taken);
        sample.push(b.column(c).slice(0, n));
        taken += n;
    }
    let Some(first) = sample.first() else {
        return false;
    };
    let Ok(converter) = RowConverter::new(vec![SortField::new(first.data_type().clone())]) else {
        return false;
    };
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut values = 0usize;
    for a in &sample {
        let Ok(rows) = converter.convert_columns(std::slice::from_ref(a)) else {
            return false;
        };
        for (i, row) in rows.iter().enumerate() {
            if a.is_valid(i) {
                values += 1;
                seen.insert(row.as_ref().to_vec());
            }
        }
    }
    values >= 64 && seen.len() as f64 > DISTINCT_SHARE * values as f64
}

/// The number of Parquet leaf columns an Arrow type becomes (parquet's schema conversion).
fn leaves(t: &DataType) -> usize {
    match t {
        DataType::Struct(fields) => fields.iter().map(|f| leaves(f.data_type())).sum(),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => leaves(f.data_type()),
        _ => 1,
    }
}

/// One column of one row group to encode.
struct Task {
    group: usize,
    column: usize,
    writers: Vec<ArrowColumnWriter>,
}

/// Writes `batches` (all with `schema`'s column types) as one Parquet file to `out`, encoding the columns of each
/// row group on up to `threads` threads (see the module docs); row groups hold
/// `props.max_row_group_row_count()` rows (parquet's default, 1,048,576, if unlimited). `file`
/// names the output in errors. Returns the rows written.
pub fn write_parquet<W: Write + Send>(
    out: W,
    file: &str,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    props: WriterProperties,
    threads: usize,
) -> Result<u64> {
    let failed = |e: &dyn std::fmt::Display| Error::WriteParquet {
        file: file.to_owned(),
        message: e.to_string(),
    };
    // The encoders need each column's type; names and nullability are the file schema's.
    let types =
        |s: &arrow::datatypes::Schema| -> Vec<DataType> { s.fields().iter().map(|f| f.data_type().clone()).collect() };
    let expected = types(schema);
    for (i, b) in batches.iter().enumerate() {
        if types(&b.schema()) != expected {
            return Err(Error::internal(
                file,
                format!("batch {i}'s column types differ from the table's; this is a bug in the caller"),
            ));
        }
    }
    let group_rows = props
        .max_row_group_row_count()
        .unwrap_or(DEFAULT_MAX_ROW_GROUP_ROW_COUNT)
        .max(1);
    let writer = ArrowWriter::try_new(out, schema.clone(), Some(props)).map_err(|e| failed(&e))?;
    let (mut file_writer, factory) = writer.into_serialized_writer().map_err(|e| failed(&e))?;

    let groups = row_groups(batches, group_rows);
    let leaf_counts: Vec<usize> = schema.fields().iter().map(|f| leaves(f.data_type())).collect();
    // Tasks row group by row group, each group's largest columns first, so the last task of a
    // group to start is a small one (the longest-processing-time rule).
    let mut tasks = Vec::with_capacity(groups.len() * leaf_counts.len());
    for (g, group) in groups.iter().enumerate() {
        let mut writers = factory.create_column_writers(g).map_err(|e| failed(&e))?.into_iter();
        let mut mine = Vec::with_capacity(leaf_counts.len());
        for (column, &n) in leaf_counts.iter().enumerate() {
            let w: Vec<ArrowColumnWriter> = writers.by_ref().take(n).collect();
            if w.len() != n {
                return Err(Error::internal(file, "fewer Parquet leaf columns than the schema has"));
            }
            let size: usize = group.iter().map(|b| b.column(column).get_array_memory_size()).sum();
            mine.push((
                size,
                Task {
                    group: g,
                    column,
                    writers: w,
                },
            ));
        }
        mine.sort_by_key(|(size, _)| std::cmp::Reverse(*size));
        tasks.extend(mine.into_iter().map(|(_, t)| t));
    }
    let mut rows = 0u64;
    let appended = encode(tasks, &groups, schema, threads.max(1), &mut |g, chunks| {
        let mut rg = file_writer.next_row_group()?;
        for chunk in chunks.into_iter().flatten() {
            chunk.append_to_row_group(&mut rg)?;
        }
        rg.close()?;
        rows += groups[g].iter().map(|b| b.num_rows() as u64).sum::<u64>();
        Ok(())
    });
    appended.map_err(|e| failed(&e))?;
    file_writer.close().map_err(|e| failed(&e))?;
    Ok(rows)
}

/// The batches cut into row groups of `rows` rows (slices share the arrays); empty batches are
/// left out.
fn row_groups(batches: &[RecordBatch], rows: usize) -> Vec<Vec<RecordBatch>> {
    let mut groups = Vec::new();
    let mut current: Vec<RecordBatch> = Vec::new();
    let mut filled = 0;
    for b in batches {
        let mut at = 0;
        while at < b.num_rows() {
            let n = (rows - filled).min(b.num_rows() - at);
            current.push(b.slice(at, n));
            at += n;
            filled += n;
            if filled == rows {
                groups.push(std::mem::take(&mut current));
                filled = 0;
            }
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// Where the encoders stand: shared by the workers and the caller.
struct Progress {
    /// The next task to take.
    next: usize,
    /// Per row group, per column: the encoded chunks (one per leaf) once done.
    done: Vec<Vec<Option<Vec<ArrowColumnChunk>>>>,
    /// Per row group: columns not yet encoded.
    left: Vec<usize>,
    /// Row groups appended to the file so far.
    appended: usize,
    /// The first failure; everyone stops at it.
    failed: Option<parquet::errors::ParquetError>,
}

/// Encodes the tasks on `threads` worker threads while the calling thread hands each row group,
/// in order and as soon as all its columns are encoded, to `append` (its chunks in column order).
/// Workers stay at most `2 * threads` row groups ahead of the file, which bounds the memory held
/// in encoded chunks.
fn encode(
    tasks: Vec<Task>,
    groups: &[Vec<RecordBatch>],
    schema: &SchemaRef,
    threads: usize,
    append: &mut dyn FnMut(usize, Vec<Vec<ArrowColumnChunk>>) -> parquet::errors::Result<()>,
) -> parquet::errors::Result<()> {
    use parquet::errors::ParquetError;
    let columns = schema.fields().len();
    let ahead = 2 * threads;
    let slots: Vec<Mutex<Option<Task>>> = tasks.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let state = Mutex::new(Progress {
        next: 0,
        done: groups.iter().map(|_| (0..columns).map(|_| None).collect()).collect(),
        left: vec![columns; groups.len()],
        appended: 0,
        failed: None,
    });
    let changed = std::sync::Condvar::new();
    let poisoned = || ParquetError::General("a Parquet encoder thread panicked".into());
    let work = || -> parquet::errors::Result<()> {
        loop {
            let task = {
                let mut st = state.lock().map_err(|_| poisoned())?;
                loop {
                    if st.failed.is_some() || st.next >= slots.len() {
                        return Ok(());
                    }
                    let g = slots[st.next]
                        .lock()
                        .map_err(|_| poisoned())?
                        .as_ref()
                        .map_or(0, |t| t.group);
                    if g < st.appended + ahead {
                        break;
                    }
                    st = changed.wait(st).map_err(|_| poisoned())?;
                }
                st.next += 1;
                slots[st.next - 1].lock().map_err(|_| poisoned())?.take()
            };
            let Some(task) = task else { continue };
            let (group, column) = (task.group, task.column);
            let r = encode_one(task, &groups[group], schema);
            let mut st = state.lock().map_err(|_| poisoned())?;
            match r {
                Ok(chunks) => {
                    st.done[group][column] = Some(chunks);
                    st.left[group] -= 1;
                }
                Err(e) => {
                    st.failed.get_or_insert(e);
                }
            }
            changed.notify_all();
        }
    };
    std::thread::scope(|s| -> parquet::errors::Result<()> {
        let workers: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
        let mut result = Ok(());
        for g in 0..groups.len() {
            let chunks = {
                let Ok(mut st) = state.lock() else {
                    result = Err(poisoned());
                    break;
                };
                while st.left[g] > 0 && st.failed.is_none() {
                    match changed.wait(st) {
                        Ok(next) => st = next,
                        Err(_) => return Err(poisoned()),
                    }
                }
                if let Some(e) = st.failed.take() {
                    result = Err(e);
                    st.failed = Some(ParquetError::General("stopped".into()));
                    changed.notify_all();
                    break;
                }
                std::mem::take(&mut st.done[g])
            };
            let chunks: Vec<Vec<ArrowColumnChunk>> = chunks.into_iter().flatten().collect();
            if let Err(e) = append(g, chunks) {
                if let Ok(mut st) = state.lock() {
                    st.failed = Some(ParquetError::General("stopped".into()));
                }
                changed.notify_all();
                result = Err(e);
                break;
            }
            if let Ok(mut st) = state.lock() {
                st.appended = g + 1;
            }
            changed.notify_all();
        }
        for w in workers {
            match w.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    if result.is_ok() {
                        result = Err(e);
                    }
                }
                Err(_) => result = Err(poisoned()),
            }
        }
        result
    })
}

fn encode_one(
    mut task: Task,
    batches: &[RecordBatch],
    schema: &SchemaRef,
) -> parquet::errors::Result<Vec<ArrowColumnChunk>> {
    let field = schema.field(task.column);
    for b in batches {
        let leaves = compute_leaves(field, b.column(task.column))?;
        for (w, leaf) in task.writers.iter_mut().zip(&leaves) {
            w.write(leaf)?;
        }
    }
    task.writers.into_iter().map(ArrowColumnWriter::close).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Float64Array, Int64Array, ListArray, StringArray, StructArray};
    use arrow::datatypes::{Field, Int32Type, Schema};
    use bytes::Bytes;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::sync::Arc;

    fn table(batches: usize, rows: usize) -> (SchemaRef, Vec<RecordBatch>) {
        let point = Field::new(
            "point",
            DataType::Struct(
                vec![
                    Field::new("x", DataType::Float64, true),
                    Field::new("y", DataType::Int64, false),
                ]
                .into(),
            ),
            true,
        );
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("city", DataType::Utf8, true),
            point,
            Field::new("tags", DataType::new_list(DataType::Int32, true), true),
        ]));
        let out = (0..batches)
            .map(|b| {
                let ids: Vec<i64> = (0..rows).map(|i| (b * rows + i) as i64).collect();
                let city: Vec<Option<String>> = ids
                    .iter()
                    .map(|i| (i % 7 != 0).then(|| ["Oslo", "Lyon", "Graz"][(*i % 3) as usize].to_string()))
                    .collect();
                let x: Vec<Option<f64>> = ids.iter().map(|i| (i % 5 != 0).then_some(*i as f64 / 3.0)).collect();
                let point = StructArray::from(vec![
                    (
                        Arc::new(Field::new("x", DataType::Float64, true)),
                        Arc::new(Float64Array::from(x)) as ArrayRef,
                    ),
                    (
                        Arc::new(Field::new("y", DataType::Int64, false)),
                        Arc::new(Int64Array::from(ids.iter().map(|i| i * 2).collect::<Vec<_>>())) as ArrayRef,
                    ),
                ]);
                let tags = ListArray::from_iter_primitive::<Int32Type, _, _>(
                    ids.iter()
                        .map(|i| (i % 4 != 0).then(|| (0..(*i % 3) as i32).map(Some).collect::<Vec<_>>())),
                );
                RecordBatch::try_new(
                    schema.clone(),
                    vec![
                        Arc::new(Int64Array::from(ids)) as ArrayRef,
                        Arc::new(StringArray::from(city)) as ArrayRef,
                        Arc::new(point) as ArrayRef,
                        Arc::new(tags) as ArrayRef,
                    ],
                )
                .unwrap()
            })
            .collect();
        (schema, out)
    }

    fn read(bytes: Vec<u8>) -> (Vec<RecordBatch>, usize) {
        let r = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes)).unwrap();
        let groups = r.metadata().num_row_groups();
        (r.build().unwrap().map(Result::unwrap).collect(), groups)
    }

    fn concat(schema: &SchemaRef, b: &[RecordBatch]) -> RecordBatch {
        arrow::compute::concat_batches(schema, b).unwrap()
    }

    #[test]
    fn parallel_output_is_the_table_and_the_same_bytes_as_arrow_writer() {
        let (schema, batches) = table(7, 1000);
        let props = || {
            WriterProperties::builder()
                .set_max_row_group_row_count(Some(1500))
                .set_statistics_enabled(parquet::file::properties::EnabledStatistics::Page)
                .build()
        };
        for threads in [1, 2, 3] {
            let mut out = Vec::new();
            let rows = write_parquet(&mut out, "t.parquet", &schema, &batches, props(), threads).unwrap();
            assert_eq!(rows, 7000);
            let (back, groups) = read(out.clone());
            assert_eq!(groups, 5, "7000 rows in row groups of 1500");
            assert_eq!(concat(&schema, &back), concat(&schema, &batches));

            let mut reference = Vec::new();
            let mut w = ArrowWriter::try_new(&mut reference, schema.clone(), Some(props())).unwrap();
            for b in &batches {
                w.write(b).unwrap();
            }
            w.close().unwrap();
            assert_eq!(out, reference, "{threads} thread(s)");
        }
    }

    #[test]
    fn an_empty_table_keeps_its_schema() {
        let (schema, _) = table(0, 0);
        let mut out = Vec::new();
        let rows = write_parquet(&mut out, "t.parquet", &schema, &[], WriterProperties::default(), 2).unwrap();
        assert_eq!(rows, 0);
        let r = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(out)).unwrap();
        assert_eq!(r.schema().fields(), schema.fields());
        assert_eq!(r.metadata().file_metadata().num_rows(), 0);
    }

    #[test]
    fn mismatched_batches_are_refused() {
        let (schema, batches) = table(1, 10);
        let other = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let e = write_parquet(
            Vec::new(),
            "t.parquet",
            &other,
            &batches,
            WriterProperties::default(),
            2,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("t.parquet") && e.contains("batch 0"), "{e}");
        drop(schema);
    }

    #[test]
    fn dictionaries_are_kept_for_repeating_columns_only() {
        let (schema, batches) = table(2, 10_000);
        let props = table_properties(&schema, &batches);
        let path = |s: &str| ColumnPath::new(vec![s.to_owned()]);
        assert!(!props.dictionary_enabled(&path("id")), "ids are all distinct");
        assert!(props.dictionary_enabled(&path("city")), "three cities");
        assert!(props.dictionary_enabled(&ColumnPath::new(vec!["point".into(), "x".into()])));
        assert_eq!(
            props.compression(&path("city")),
            crate::parquet::writer_properties().compression(&path("city"))
        );
    }
}
