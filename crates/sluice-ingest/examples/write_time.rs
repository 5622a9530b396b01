//! Times writing an in-memory table as Parquet: `ArrowWriter` on one thread against
//! [`sluice_ingest::write_parquet`] on several, with the canonical properties and with
//! [`sluice_ingest::table_properties`] (dictionaries off for nearly distinct columns) under a few
//! codecs. The numbers behind the choices in docs/benchmarks.md ("Pipeline").
//!
//! `cargo run --release -p sluice-ingest --example write_time -- FILE.parquet [OUT_DIR] [REPS]`
//!
//! FILE is read into memory once (batches of 65,536 rows, as `sluice run` reads); each variant is
//! written REPS times (default 3) into OUT_DIR (default: FILE's folder; `-` counts the bytes and drops them, timing
//! the encoding alone), best time kept, the file removed after. Prints one line per variant: seconds, CPU seconds, MB written, and the setting.

use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow::array::{RecordBatch, RecordBatchReader};
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

type Variant = (
    &'static str,
    Box<dyn Fn(&SchemaRef, &[RecordBatch]) -> WriterProperties>,
    usize,
    bool,
);

/// User + system CPU seconds of this process so far (Linux: /proc/self/stat, 100 ticks a second).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map_or("", |r| r.1);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// Counts the bytes written and drops them (OUT_DIR `-`: encoding without the file system).
struct Counter<'a>(&'a std::sync::atomic::AtomicU64);

impl std::io::Write for Counter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some(input) = args.get(1).map(PathBuf::from) else {
        return Err("usage: write_time FILE.parquet [OUT_DIR] [REPS]".into());
    };
    let dir = args
        .get(2)
        .map(PathBuf::from)
        .unwrap_or_else(|| input.parent().unwrap_or(Path::new(".")).to_path_buf());
    let reps: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(3).max(1);
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&input)?)?
        .with_batch_size(65_536)
        .build()?;
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>()?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!(
        "{}: {rows} rows, {} columns, {threads} threads",
        input.display(),
        schema.fields().len()
    );
    let zstd1 = Compression::ZSTD(ZstdLevel::try_new(1)?);
    let with = move |c: Compression| {
        move |s: &SchemaRef, b: &[RecordBatch]| {
            let p = sluice_ingest::table_properties(s, b);
            let mut builder = WriterProperties::builder()
                .set_compression(c)
                .set_statistics_enabled(EnabledStatistics::Page);
            for f in s.fields() {
                let col = ColumnPath::new(vec![f.name().clone()]);
                let on = p.dictionary_enabled(&col);
                builder = builder.set_column_dictionary_enabled(col, on);
            }
            builder.build()
        }
    };
    let variants: Vec<Variant> = vec![
        (
            "ArrowWriter, ZSTD(1), dictionaries (before)",
            Box::new(move |_, _| WriterProperties::builder().set_compression(zstd1).build()),
            1,
            true,
        ),
        (
            "write_parquet, canonical properties",
            Box::new(move |_, _| {
                WriterProperties::builder()
                    .set_compression(zstd1)
                    .set_statistics_enabled(EnabledStatistics::Page)
                    .build()
            }),
            threads,
            false,
        ),
        (
            "write_parquet, table_properties (ZSTD(1))",
            Box::new(sluice_ingest::table_properties),
            1,
            false,
        ),
        (
            "write_parquet, table_properties (ZSTD(1))",
            Box::new(sluice_ingest::table_properties),
            threads,
            false,
        ),
        (
            "write_parquet, table_properties with LZ4_RAW",
            Box::new(with(Compression::LZ4_RAW)),
            threads,
            false,
        ),
        (
            "write_parquet, table_properties with SNAPPY",
            Box::new(with(Compression::SNAPPY)),
            threads,
            false,
        ),
        (
            "write_parquet, table_properties uncompressed",
            Box::new(with(Compression::UNCOMPRESSED)),
            threads,
            false,
        ),
    ];
    let to_sink = dir == Path::new("-");
    let written = std::sync::atomic::AtomicU64::new(0);
    if std::env::var_os("PER_COLUMN").is_some() {
        // Each column alone, one thread, table_properties: which columns the time goes to.
        for (c, f) in schema.fields().iter().enumerate() {
            let one = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![f.clone()]));
            let cols: Vec<RecordBatch> = batches
                .iter()
                .map(|b| RecordBatch::try_new(one.clone(), vec![b.column(c).clone()]))
                .collect::<Result<_, _>>()?;
            for (label, codec) in [("zstd1", zstd1), ("none", Compression::UNCOMPRESSED)] {
                let p = with(codec)(&one, &cols);
                let dict = p.dictionary_enabled(&ColumnPath::new(vec![f.name().clone()]));
                let t = Instant::now();
                let sink = std::sync::atomic::AtomicU64::new(0);
                sluice_ingest::write_parquet(Counter(&sink), "out", &one, &cols, p, 1)?;
                println!(
                    "{:7.2} s {:8.1} MB  {} {} ({label}, dictionary {dict})",
                    t.elapsed().as_secs_f64(),
                    sink.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6,
                    f.name(),
                    f.data_type()
                );
            }
        }
        return Ok(());
    }
    let out = dir.join(format!("write_time-{}.parquet", std::process::id()));
    for (name, props, n, serial) in &variants {
        let (mut best, mut best_cpu) = (f64::INFINITY, 0.0);
        for _ in 0..reps {
            let (t, cpu) = (Instant::now(), cpu_seconds());
            let file: Box<dyn std::io::Write + Send> = if to_sink {
                Box::new(Counter(&written))
            } else {
                Box::new(std::fs::File::create(&out)?)
            };
            let p = props(&schema, &batches);
            if *serial {
                let mut w = ArrowWriter::try_new(file, schema.clone(), Some(p))?;
                for b in &batches {
                    w.write(b)?;
                }
                w.close()?;
            } else {
                sluice_ingest::write_parquet(file, "out", &schema, &batches, p, *n)?;
            }
            let wall = t.elapsed().as_secs_f64();
            if wall < best {
                (best, best_cpu) = (wall, cpu_seconds() - cpu);
            }
        }
        let mb = if to_sink {
            written.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6 / reps as f64
        } else {
            let mb = std::fs::metadata(&out)?.len() as f64 / 1e6;
            std::fs::remove_file(&out)?;
            mb
        };
        written.store(0, std::sync::atomic::Ordering::Relaxed);
        println!("{best:7.2} s {best_cpu:7.2} s CPU {mb:8.1} MB  {name}, {n} thread(s)");
    }
    Ok(())
}
