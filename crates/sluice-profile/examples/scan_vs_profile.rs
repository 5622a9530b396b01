//! Times, on one Parquet file, a plain DataFusion scan that decodes every column and a full
//! `sluice_profile` of every column, so the profile's cost over reading can be stated.
//!
//! `cargo run --release -p sluice-profile --example scan_vs_profile -- FILE.parquet [--columns]`
//!
//! The scan (a DataFusion session, one partition per core) runs first, so the profile
//! (`profile_parquet`, one reader thread per core) never reads a colder page cache than the scan did. Prints one JSON line with wall
//! seconds and the process's CPU seconds (user + system, all threads, from `/proc/self/stat`) of
//! each: on a machine shared with other work the CPU seconds are the steadier comparison.
//!
//! `--profile-only` runs the profile alone (for `perf stat` and `perf record`).
//!
//! `--columns [NAME...]` instead streams the file on one partition and measures each column's
//! `ColumnState::update` alone (the thread's CPU time from `/proc/thread-self/schedstat`, so
//! other processes do not count; decoding excluded), which shows where a profile's time goes
//! column by column.

use std::time::Instant;

use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt as _;
use sluice_profile::ColumnState;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: scan_vs_profile FILE.parquet [--columns [NAME...] | --profile-only]";
    let path = args.next().ok_or(usage)?;
    match args.next().as_deref() {
        None => scan_and_profile(&path).await,
        Some("--profile-only") => {
            let states = sluice_profile::profile_parquet(std::path::Path::new(&path)).await?;
            println!("{{\"rows\": {}}}", states.rows);
            Ok(())
        }
        Some("--columns") => per_column(&path, &args.collect::<Vec<_>>()).await,
        Some(other) => Err(format!("unknown argument `{other}`; {usage}").into()),
    }
}

async fn scan_and_profile(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = sluice_profile::session();
    ctx.register_parquet("t", path, ParquetReadOptions::default()).await?;

    let (started, cpu) = (Instant::now(), process_cpu_s());
    let mut stream = ctx.table("t").await?.execute_stream().await?;
    let mut rows = 0usize;
    while let Some(batch) = stream.next().await {
        rows += batch?.num_rows();
    }
    let (scan, scan_cpu) = (started.elapsed().as_secs_f64(), process_cpu_s() - cpu);

    let (started, cpu) = (Instant::now(), process_cpu_s());
    // What `sluice profile FILE` and `sluice add` run.
    let states = sluice_profile::profile_parquet(std::path::Path::new(path)).await?;
    let (profile, profile_cpu) = (started.elapsed().as_secs_f64(), process_cpu_s() - cpu);
    if states.rows as usize != rows {
        return Err(format!("the scan read {rows} rows but the profile counted {}", states.rows).into());
    }
    println!(
        "{{\"rows\": {rows}, \"columns\": {}, \"scan_s\": {scan:.3}, \"profile_s\": {profile:.3}, \"ratio\": {:.2}, \"scan_cpu_s\": {scan_cpu:.2}, \"profile_cpu_s\": {profile_cpu:.2}, \"cpu_ratio\": {:.2}}}",
        states.columns.len(),
        profile / scan,
        profile_cpu / scan_cpu
    );
    Ok(())
}

async fn per_column(path: &str, only: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
    ctx.register_parquet("t", path, ParquetReadOptions::default()).await?;
    let mut df = ctx.table("t").await?;
    if !only.is_empty() {
        df = df.select_columns(&only.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
    let schema = df.schema().as_arrow().clone();
    let mut states: Vec<ColumnState> = schema
        .fields()
        .iter()
        .map(|f| ColumnState::new(f.data_type()))
        .collect();
    let mut spent = vec![0u64; states.len()];
    let started = Instant::now();
    let mut stream = df.execute_stream().await?;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        for (i, array) in batch.columns().iter().enumerate() {
            let t = thread_cpu_ns();
            states[i].update(array)?;
            spent[i] += thread_cpu_ns() - t;
        }
    }
    let total = started.elapsed().as_secs_f64();
    let update = spent.iter().sum::<u64>() as f64 / 1e9;
    let cols: Vec<String> = schema
        .fields()
        .iter()
        .zip(&spent)
        .map(|(f, ns)| {
            format!(
                "{{\"column\": \"{}\", \"update_cpu_s\": {:.3}}}",
                f.name(),
                *ns as f64 / 1e9
            )
        })
        .collect();
    println!(
        "{{\"wall_s\": {total:.3}, \"update_cpu_s\": {update:.3}, \"columns\": [{}]}}",
        cols.join(", ")
    );
    Ok(())
}

/// This thread's time on a CPU, in nanoseconds (first field of `/proc/thread-self/schedstat`).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat is readable (Linux)")
}

/// The process's user + system CPU seconds, all threads (`/proc/self/stat` fields 14 and 15, in
/// clock ticks of 1/100 s).
fn process_cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat is readable (Linux)");
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')').expect("stat has a command name") + 2..];
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    (f[0] + f[1]) as f64 / 100.0
}
