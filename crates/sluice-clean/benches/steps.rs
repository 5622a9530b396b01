//! Time of every cleaning step against the time of reading its input, on a `sluice synth` table with
//! injected problems (issue 5: no stage should take more than twice the time of reading its input).
//!
//! ```text
//! cargo bench -p sluice-clean --bench steps -- [ROWS] [REPEATS]     # default 1000000 rows, best of 3
//! ```
//!
//! Reading is the Parquet file into Arrow batches (the reader's default 1,024-row batches, as a pipeline
//! source hands them over); each step gets the same batches and is timed alone, best of `REPEATS`.

use std::fs::File;
use std::time::Instant;

use arrow::array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sluice_clean::{CaseMode, How, OutlierMethod, Step, Strategy, apply};
use sluice_synth::{Format, Injections, SynthConfig, generate};

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn steps() -> Vec<Step> {
    let text = [
        "merchant_name",
        "merchant_category",
        "merchant_city",
        "currency",
        "region",
        "device",
        "card_type",
        "description",
    ];
    vec![
        Step::Dedupe { columns: None },
        Step::NearDedupe {
            column: "description".into(),
            threshold: 0.8,
        },
        Step::NormalizeDates {
            columns: names(&["signup_date"]),
            formats: None,
            as_date: false,
            on_error: None,
        },
        Step::Trim { columns: names(&text) },
        Step::CaseFold {
            columns: names(&["device", "card_type"]),
            mode: CaseMode::Lower,
        },
        Step::CanonicalCategories {
            columns: names(&["region", "merchant_category"]),
        },
        Step::RepairEncoding {
            columns: names(&["merchant_name", "merchant_city", "region", "description"]),
        },
        Step::DropMissing {
            columns: None,
            how: How::Any,
        },
        Step::Impute {
            column: "amount".into(),
            strategy: Strategy::Median,
            value: None,
        },
        Step::FilterOutliers {
            columns: names(&["amount", "distance_from_home_km", "customer_age"]),
            method: OutlierMethod::Mad,
            k: None,
        },
    ]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let rows: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let repeats: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.parquet");
    let cfg = SynthConfig {
        rows,
        seed: 1,
        inject: Injections::parse("all=0.02").expect("injections"),
        ..Default::default()
    };
    generate(&cfg, &path, Format::Parquet, &mut |_| {}).expect("synth");
    let read = || -> Vec<RecordBatch> {
        ParquetRecordBatchReaderBuilder::try_new(File::open(&path).expect("open"))
            .expect("parquet")
            .build()
            .expect("reader")
            .map(|b| b.expect("batch"))
            .collect()
    };
    let best = |f: &mut dyn FnMut()| -> f64 {
        (0..repeats)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let mut batches = Vec::new();
    let read_s = best(&mut || batches = read());
    println!(
        "rows {rows}, {} batches, {} threads, best of {repeats}",
        batches.len(),
        rayon::current_num_threads()
    );
    println!("| step | rows out | changed | added | invalid | seconds | x read |");
    println!("|---|---|---|---|---|---|---|");
    println!("| (read Parquet) | {rows} | | | | {read_s:.3} | 1.00 |");
    for step in steps() {
        let mut report = None;
        let s = best(&mut || {
            let (_, r) = apply(&step, batches.clone()).expect("step");
            report = Some(r);
        });
        let r = report.expect("ran");
        println!(
            "| {} | {} | {} | {} | {} | {s:.3} | {:.2} |",
            step.kind(),
            r.rows_out,
            r.values_changed,
            r.values_added,
            r.values_invalid,
            s / read_s
        );
    }
}
