//! Times reading Parquet files into memory the way `sluice run` reads a batch
//! (`sluice_drift::sample::read_parquet`: every row group on its own thread, 65,536-row batches),
//! so a pipeline benchmark can state each stage's time as a multiple of reading its input.
//!
//! Usage: `cargo run --release -p sluice-drift --example read_time -- [--reps N] FILE...`
//! Prints one JSON object per file: path, rows, columns, in-memory bytes, every repetition's
//! seconds and the fastest (the least disturbed by other work on a shared machine).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("read_time: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    const USAGE: &str = "usage: read_time [--reps N] FILE.parquet...";
    let mut reps = 3usize;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--reps" {
            let n = args.next().ok_or_else(|| format!("--reps needs a number; {USAGE}"))?;
            reps = n
                .parse()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("--reps {n:?}: give a whole number of at least 1"))?;
        } else if a.starts_with("--") {
            return Err(format!("unknown option {a}; {USAGE}"));
        } else {
            files.push(PathBuf::from(a));
        }
    }
    if files.is_empty() {
        return Err(format!("no file given; {USAGE}"));
    }
    for path in files {
        let mut seconds = Vec::with_capacity(reps);
        let (mut rows, mut columns, mut bytes) = (0u64, 0usize, 0usize);
        for _ in 0..reps {
            let t = Instant::now();
            let sample = sluice_drift::sample::read_parquet(&path, &path.display().to_string(), None)
                .map_err(|e| format!("{e} (read_time reads Parquet files only)"))?;
            seconds.push(t.elapsed().as_secs_f64());
            let batches = sample.batches.unwrap_or_default();
            rows = batches.iter().map(|b| b.num_rows() as u64).sum();
            columns = batches.first().map_or(0, |b| b.num_columns());
            bytes = batches.iter().map(|b| b.get_array_memory_size()).sum();
        }
        let best = seconds.iter().copied().fold(f64::INFINITY, f64::min);
        let line = serde_json::json!({
            "path": path.display().to_string(),
            "rows": rows,
            "columns": columns,
            "memory_bytes": bytes,
            "seconds": seconds,
            "best_seconds": best,
        });
        println!("{line}");
    }
    Ok(())
}
