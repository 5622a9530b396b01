//! Times profiling a table already in memory (`profile_batches`, what `sluice run` does with its
//! output while encoding it) against `profile_parquet` on its file.
//!
//! `cargo run --release -p sluice-profile --example profile_memory -- FILE.parquet [REPS]`

use std::fs::File;
use std::time::Instant;

use arrow::array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sluice_profile::table::{profile_batches, profile_parquet};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().expect("usage: profile_memory FILE.parquet [REPS]").clone();
    let reps: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(3);
    // Batches of 65,536 rows, as `sluice run` reads.
    let batches: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).expect("open"))
        .and_then(|b| b.with_batch_size(65_536).build())
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("read");
    let schema = batches[0].schema();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for _ in 0..reps {
        let t = Instant::now();
        profile_batches(&schema, &batches).expect("profile in memory");
        let mem = t.elapsed().as_secs_f64();
        let t = Instant::now();
        rt.block_on(profile_parquet(std::path::Path::new(&path)))
            .expect("profile");
        println!(
            "in memory {mem:.3} s   profile_parquet {:.3} s",
            t.elapsed().as_secs_f64()
        );
    }
}
