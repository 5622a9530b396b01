//! `sluice detect --method M FILE --column C`: a streaming concept-drift detector over one column
//! of a table (error indicators or a metric), reporting the index of every warning and drift.
//! With `--state FILE` the detector's state is read before and written after, so monitoring
//! resumes across batches and restarts with indices that keep counting.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type};
use clap::Args;
use comfy_table::Cell;
use serde::{Deserialize, Serialize};
use sluice_algo::detect::{AnyDetector, Detector, DetectorKind, Signal};
use sluice_ingest::{ReadOptions, TableFormat};

use crate::Exit;
use crate::output::{count, print_json, print_table, table};

/// `sluice detect`.
#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Detector: ddm, eddm, adwin, page-hinkley, kswin, hddm-a (literature defaults).
    #[arg(long, short)]
    pub method: String,
    /// A CSV/TSV, JSON Lines or Parquet file, read in row order.
    pub file: PathBuf,
    /// The column to monitor (0/1 error indicators for ddm, eddm and hddm-a; any metric for the
    /// others).
    #[arg(long, short)]
    pub column: String,
    /// Resume from and save to this state file (JSON).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Seed for KSWIN's sampling.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Exit 0 even when drift is detected (default: exit 1, to gate a pipeline).
    #[arg(long)]
    pub no_fail: bool,
}

/// What a state file holds.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    /// Values consumed before this batch (indices continue from here).
    seen: u64,
    detector: AnyDetector,
}

#[derive(Debug, Serialize)]
struct Event {
    index: u64,
    signal: Signal,
}

/// Reads one column of a table as f64, in row order; missing values are dropped and counted.
fn read_column(path: &Path, column: &str) -> Result<(Vec<f64>, u64)> {
    let format = TableFormat::detect(path)?;
    let mut values = Vec::new();
    let mut missing = 0u64;
    let mut err: Option<anyhow::Error> = None;
    let report = sluice_ingest::read_table(
        path,
        format,
        &ReadOptions::default(),
        &mut |batch| {
            if err.is_some() {
                return Ok(());
            }
            let Some(array) = batch.column_by_name(column) else {
                let names: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
                err = Some(anyhow::anyhow!(
                    "{} has no column `{column}` (columns: {})",
                    path.display(),
                    names.join(", ")
                ));
                return Ok(());
            };
            let floats = match arrow::compute::cast(array, &DataType::Float64) {
                Ok(f) => f,
                Err(e) => {
                    err = Some(anyhow::anyhow!(
                        "{}: column `{column}` ({}) is not numeric: {e}; detectors read numbers (0/1 error indicators or a metric)",
                        path.display(),
                        array.data_type()
                    ));
                    return Ok(());
                }
            };
            let floats = floats.as_primitive::<Float64Type>();
            for i in 0..floats.len() {
                if floats.is_null(i) || !floats.value(i).is_finite() {
                    missing += 1;
                } else {
                    values.push(floats.value(i));
                }
            }
            Ok(())
        },
        &mut std::io::sink(),
    )?;
    if let Some(e) = err {
        return Err(e);
    }
    if report.rows == 0 {
        bail!("{} has no rows", path.display());
    }
    Ok((values, missing))
}

/// Runs `sluice detect`.
pub fn run(cwd: &Path, a: DetectArgs, json: bool) -> Result<()> {
    let kind: DetectorKind = a.method.parse()?;
    let file = cwd.join(&a.file);
    let state_path = a.state.as_ref().map(|p| cwd.join(p));
    let (mut detector, seen) = match &state_path {
        Some(p) if p.exists() => {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
            let s: State = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not a detector state file; delete it to start afresh",
                    p.display()
                )
            })?;
            if s.detector.kind() != kind {
                bail!(
                    "{} holds a {} detector, not {}; use another --state file or --method {}",
                    p.display(),
                    s.detector.kind().name(),
                    kind.name(),
                    s.detector.kind().name()
                );
            }
            (s.detector, s.seen)
        }
        _ => (kind.build(a.seed), 0),
    };
    let (values, missing) = read_column(&file, &a.column)?;
    // Validate every value before changing the state, so a bad batch leaves it untouched.
    for (i, &x) in values.iter().enumerate() {
        if let Err(reason) = detector.check_input(x) {
            bail!(
                "{}: value {x} (value {} of column `{}`): {reason}",
                file.display(),
                i + 1,
                a.column
            );
        }
    }
    let mut events = Vec::new();
    for (i, &x) in values.iter().enumerate() {
        match detector.update(x) {
            Signal::None => {}
            s => events.push(Event {
                index: seen + i as u64,
                signal: s,
            }),
        }
    }
    let total = seen + values.len() as u64;
    if let Some(p) = &state_path {
        let s = State { seen: total, detector };
        let tmp = p.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_string(&s)?).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, p).with_context(|| format!("cannot write {}", p.display()))?;
    }
    let drifts = events.iter().filter(|e| e.signal == Signal::Drift).count();
    let warnings = events.len() - drifts;
    if json {
        print_json(&serde_json::json!({
            "method": kind.name(),
            "column": a.column,
            "values": values.len(),
            "missing_dropped": missing,
            "first_index": seen,
            "events": events,
            "warnings": warnings,
            "drifts": drifts,
        }))?;
    } else {
        println!(
            "{}: {} values of `{}` (indices {}..{}), {} missing dropped",
            kind.name(),
            count(values.len() as u64),
            a.column,
            seen,
            total,
            count(missing)
        );
        if events.is_empty() {
            println!("no warning, no drift");
        } else {
            let mut t = table(&["index", "signal"]);
            for e in &events {
                t.add_row(vec![
                    Cell::new(e.index),
                    Cell::new(format!("{:?}", e.signal).to_lowercase()),
                ]);
            }
            print_table(&t);
            println!("{warnings} warnings, {drifts} drifts");
        }
    }
    if drifts > 0 && !a.no_fail {
        return Err(Exit(1).into());
    }
    Ok(())
}
