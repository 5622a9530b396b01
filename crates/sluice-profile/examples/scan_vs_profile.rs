//! Times, on one Parquet file, a plain DataFusion scan that decodes every column and a full
//! `sluice_profile` of every column, so the profile's cost over reading can be stated.
//!
//! `cargo run --release -p sluice-profile --example scan_vs_profile -- FILE.parquet [--columns]`
//!
//! The scan and the profile use the same session (one partition per core), the scan first, so
//! the profile never reads a colder page cache than the scan did. Prints one JSON line.
//!
//! `--columns` instead streams the file on one partition and times each column's
//! `ColumnState::update` alone (one core, decoding excluded), which shows where a profile's time
//! goes column by column.

use std::time::{Duration, Instant};

use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt as _;
use sluice_profile::ColumnState;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: scan_vs_profile FILE.parquet [--columns]";
    let path = args.next().ok_or(usage)?;
    match args.next().as_deref() {
        None => scan_and_profile(&path).await,
        Some("--columns") => per_column(&path).await,
        Some(other) => Err(format!("unknown argument `{other}`; {usage}").into()),
    }
}

async fn scan_and_profile(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = sluice_profile::session();
    ctx.register_parquet("t", path, ParquetReadOptions::default()).await?;

    let started = Instant::now();
    let mut stream = ctx.table("t").await?.execute_stream().await?;
    let mut rows = 0usize;
    while let Some(batch) = stream.next().await {
        rows += batch?.num_rows();
    }
    let scan = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let states = sluice_profile::profile_table(&ctx, "t").await?;
    let profile = started.elapsed().as_secs_f64();
    if states.rows as usize != rows {
        return Err(format!("the scan read {rows} rows but the profile counted {}", states.rows).into());
    }
    println!(
        "{{\"rows\": {rows}, \"columns\": {}, \"scan_s\": {scan:.3}, \"profile_s\": {profile:.3}, \"ratio\": {:.2}}}",
        states.columns.len(),
        profile / scan
    );
    Ok(())
}

async fn per_column(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
    ctx.register_parquet("t", path, ParquetReadOptions::default()).await?;
    let df = ctx.table("t").await?;
    let schema = df.schema().as_arrow().clone();
    let mut states: Vec<ColumnState> = schema.fields().iter().map(|f| ColumnState::new(f.data_type())).collect();
    let mut spent = vec![Duration::ZERO; states.len()];
    let started = Instant::now();
    let mut stream = df.execute_stream().await?;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        for (i, array) in batch.columns().iter().enumerate() {
            let t = Instant::now();
            states[i].update(array)?;
            spent[i] += t.elapsed();
        }
    }
    let total = started.elapsed().as_secs_f64();
    let update: f64 = spent.iter().map(Duration::as_secs_f64).sum();
    let cols: Vec<String> = schema
        .fields()
        .iter()
        .zip(&spent)
        .map(|(f, d)| format!("{{\"column\": \"{}\", \"update_s\": {:.3}}}", f.name(), d.as_secs_f64()))
        .collect();
    println!(
        "{{\"wall_s\": {total:.3}, \"update_s\": {update:.3}, \"columns\": [{}]}}",
        cols.join(", ")
    );
    Ok(())
}
