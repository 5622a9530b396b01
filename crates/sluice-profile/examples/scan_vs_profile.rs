//! Times, on one Parquet file, a plain DataFusion scan that decodes every column and a full
//! `sluice_profile` of every column, so the profile's cost over reading can be stated.
//!
//! `cargo run --release -p sluice-profile --example scan_vs_profile -- FILE.parquet`

use std::time::Instant;

use datafusion::prelude::ParquetReadOptions;
use futures::StreamExt as _;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: scan_vs_profile FILE.parquet")?;
    let ctx = sluice_profile::session();
    ctx.register_parquet("t", &path, ParquetReadOptions::default()).await?;

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
    assert_eq!(states.rows as usize, rows);
    println!(
        "{{\"rows\": {rows}, \"columns\": {}, \"scan_s\": {scan:.3}, \"profile_s\": {profile:.3}, \"ratio\": {:.2}}}",
        states.columns.len(),
        profile / scan
    );
    Ok(())
}
