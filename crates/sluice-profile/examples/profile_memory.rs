//! Times profiling a table already in memory (`ProfileStates::update` on both cores, merged)
//! against `profile_parquet` on its file.
//!
//! `cargo run --release -p sluice-profile --example profile_memory -- FILE.parquet [REPS]`

use std::fs::File;
use std::time::Instant;

use arrow::array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sluice_profile::table::ProfileStates;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().expect("usage: profile_memory FILE.parquet [REPS]").clone();
    let reps: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(3);
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
        let half = batches.len().div_ceil(2);
        let parts: Vec<ProfileStates> = std::thread::scope(|s| {
            let hs: Vec<_> = batches
                .chunks(half)
                .map(|chunk| {
                    let schema = schema.clone();
                    s.spawn(move || {
                        let mut st = ProfileStates::new(&schema);
                        for b in chunk {
                            st.update(b).expect("update");
                        }
                        st
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().expect("join")).collect()
        });
        let mut all = ProfileStates::new(&schema);
        for p in &parts {
            all.merge(p).expect("merge");
        }
        let mem = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let _ = rt
            .block_on(sluice_profile::table::profile_parquet(std::path::Path::new(&path)))
            .expect("profile");
        println!(
            "in memory {mem:.3} s   profile_parquet {:.3} s",
            t.elapsed().as_secs_f64()
        );
    }
}
