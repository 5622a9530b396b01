//! The sluice side of `bench/label_vs_crowdkit.sh`: Dawid-Skene and Krippendorff's alpha on the
//! files the script generates, timed around the statistic only (reading the file is timed apart).
//!
//! ```text
//! label_bench ds ANNOTATIONS.csv POSTERIORS.csv [THREADS]   # task,worker,label (0-based ints), header row;
//!                                                          # THREADS 0 (default) = all cores
//! label_bench alpha MATRIX.csv LEVEL              # units x coders, empty cell = missing
//! ```
//! Prints one JSON object on stdout.

use std::time::Instant;

use sluice_algo::label::{Annotations, DawidSkeneConfig, Level, dawid_skene, krippendorff_alpha};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("ds") => ds(&args[2], &args[3], args.get(4).map_or(Ok(0), |t| t.parse())?),
        Some("alpha") => alpha(&args[2], &args[3]),
        _ => Err("usage: label_bench ds ANNOTATIONS.csv POSTERIORS.csv [THREADS] | alpha MATRIX.csv LEVEL".into()),
    }
}

fn ds(input: &str, output: &str, threads: usize) -> Result<(), Box<dyn std::error::Error>> {
    let t0 = Instant::now();
    let text = std::fs::read_to_string(input)?;
    let (mut items, mut workers, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let mut f = line.split(',');
        let mut next =
            || -> Result<u32, Box<dyn std::error::Error>> { Ok(f.next().ok_or("short line")?.trim().parse()?) };
        items.push(next()?);
        workers.push(next()?);
        labels.push(next()?);
    }
    let n = |v: &[u32]| v.iter().copied().max().map_or(0, |m| m as usize + 1);
    let ann = Annotations::new(n(&items), n(&workers), n(&labels), &items, &workers, &labels)?;
    let read = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let cfg = DawidSkeneConfig {
        max_iterations: 100,
        tolerance: 0.0, // exactly 100 iterations, as the peer runs them
        threads,
    };
    let fit = dawid_skene(&ann, &cfg)?;
    let fit_s = t1.elapsed().as_secs_f64();
    let k = fit.n_classes;
    let mut out = String::with_capacity(ann.n_items() * k * 10);
    for row in fit.posteriors.chunks_exact(k) {
        let cells: Vec<String> = row.iter().map(|p| format!("{p:.17e}")).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    std::fs::write(output, out)?;
    println!(
        "{{\"judgements\": {}, \"threads\": {threads}, \"read_seconds\": {read:.4}, \"fit_seconds\": {fit_s:.4}, \"iterations\": {}, \"converged\": {}, \"log_likelihood\": {}}}",
        ann.len(),
        fit.iterations,
        fit.converged,
        fit.log_likelihood.last().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}

fn alpha(input: &str, level: &str) -> Result<(), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(input)?;
    let mut values = Vec::new();
    let mut coders = 0;
    for line in text.lines() {
        let row: Vec<Option<f64>> = line.split(',').map(|c| c.trim().parse().ok()).collect();
        coders = row.len();
        values.extend(row);
    }
    let level = match level {
        "nominal" => Level::Nominal,
        "ordinal" => Level::Ordinal,
        "interval" => Level::Interval,
        "ratio" => Level::Ratio,
        o => return Err(format!("unknown level {o}").into()),
    };
    let t = Instant::now();
    let a = krippendorff_alpha(&values, coders, level)?;
    let s = t.elapsed().as_secs_f64();
    println!(
        "{{\"alpha\": {:.17e}, \"seconds\": {s:.4}, \"units\": {}}}",
        a.alpha,
        values.len() / coders.max(1)
    );
    Ok(())
}
