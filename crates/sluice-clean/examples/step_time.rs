//! Times cleaning steps on a Parquet file, each on a freshly read table (as `sluice run` hands a
//! stage the table it read), best of `--reps`.
//!
//! ```text
//! cargo run --release -p sluice-clean --example step_time -- FILE [--reps N] [STEP_JSON ...]
//! ```
//!
//! Steps are given as the pipeline file's inline tables in JSON, e.g. `'{"kind":"dedupe"}'`; with
//! none, the demo pipeline's `clean` stage (examples/pipeline.toml) is timed step by step, each step
//! on the output of the one before.

use std::fs::File;
use std::time::Instant;

use arrow::array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sluice_clean::{Step, apply};

fn read(path: &str) -> Vec<RecordBatch> {
    let file = File::open(path).unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.with_batch_size(65_536).build())
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    reader
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .expect("usage: step_time FILE [--reps N] [STEP_JSON ...]")
        .clone();
    let mut reps = 3;
    let mut steps: Vec<Step> = Vec::new();
    let mut i = 1;
    while i < args.len() {
        if args[i] == "--reps" {
            reps = args[i + 1].parse().expect("--reps takes a number");
            i += 2;
            continue;
        }
        steps.push(serde_json::from_str(&args[i]).expect("a step as JSON"));
        i += 1;
    }
    if steps.is_empty() {
        let demo = r#"[
            {"kind": "dedupe"},
            {"kind": "repair_encoding", "columns": ["merchant_name", "description"]},
            {"kind": "trim", "columns": ["merchant_city", "merchant_name"]},
            {"kind": "canonical_categories", "columns": ["merchant_city", "merchant_category"]},
            {"kind": "normalize_dates", "columns": ["signup_date"]},
            {"kind": "filter_outliers", "columns": ["amount"], "method": "iqr", "k": 20.0}
        ]"#;
        steps = serde_json::from_str(demo).expect("the demo steps");
    }
    let mut best = vec![f64::INFINITY; steps.len()];
    for _ in 0..reps {
        let mut table = read(&path);
        for (k, step) in steps.iter().enumerate() {
            let t = Instant::now();
            let (out, report) = apply(step, table).expect("the step runs");
            best[k] = best[k].min(t.elapsed().as_secs_f64());
            table = out;
            let _ = report;
        }
    }
    for (step, b) in steps.iter().zip(&best) {
        println!("{:<22} {b:.3} s", step.kind());
    }
    println!("{:<22} {:.3} s", "total", best.iter().sum::<f64>());
}
