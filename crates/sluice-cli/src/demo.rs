//! `sluice demo`: the main job, a pipeline run over generated monthly batches, in a fresh
//! workspace.
//!
//! 1. generate four months of card transactions (`sluice synth`): January (the reference) and
//!    February with light problems, March with heavy injected quality problems, April with
//!    covariate and concept drift;
//! 2. run `examples/pipeline.toml` (the template users copy; embedded here byte for byte) over
//!    them: each raw month versioned, cleaned (steps report what they changed), enriched by SQL,
//!    gated by `examples/checks.toml`, versioned with lineage, and monitored against January
//!    (`examples/monitor.toml`: drift, quality history, anomalies, the retraining decision);
//! 3. write the drift report of April against January and the monitoring report (HTML);
//! 4. register a model trained on January's cleaned version, print its lineage (raw source ->
//!    cleaned version -> model), check its inputs' bytes, verify the store;
//! 5. summarise what was found and cleaned, versioned, drifted, and whether to retrain.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::Float64Type;
use clap::Args;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sluice_store::Workspace;

use crate::commands;
use crate::pipeline::{Pipeline, RunArgs};

/// The pipeline the demo runs: the file in `examples/`, which users copy.
pub const PIPELINE: &str = include_str!("../../../examples/pipeline.toml");
/// Its quality gate.
pub const CHECKS: &str = include_str!("../../../examples/checks.toml");
/// Its monitoring settings.
pub const MONITOR: &str = include_str!("../../../examples/monitor.toml");

/// `sluice demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the demo workspace (replaced if an earlier demo made it).
    #[arg(default_value = "sluice-demo")]
    pub dir: PathBuf,
    /// Rows per generated month.
    #[arg(long, default_value_t = 200_000)]
    pub rows: u64,
    /// Random seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

const MARKER: &str = ".sluice-demo";

fn step(json: bool, n: u32, text: &str) {
    if !json {
        println!("\n== {n}. {text}");
    }
}

/// The months: file name, inject spec, covariate drift, concept drift, what it shows.
const MONTHS: [(&str, &str, f64, f64, &str); 4] = [
    (
        "2024-01",
        "missing=0.005,duplicates=0.005,outliers=0.002",
        0.0,
        0.0,
        "the reference month",
    ),
    (
        "2024-02",
        "missing=0.005,duplicates=0.005,outliers=0.002",
        0.0,
        0.0,
        "a month like it",
    ),
    ("2024-03", "all=0.03", 0.0, 0.0, "heavy quality problems"),
    (
        "2024-04",
        "missing=0.005,duplicates=0.005",
        0.6,
        0.8,
        "covariate and concept drift",
    ),
];

/// Runs the demo.
pub async fn run(cwd: &Path, a: DemoArgs, json: bool) -> Result<()> {
    let dir = if a.dir.is_absolute() {
        a.dir.clone()
    } else {
        cwd.join(&a.dir)
    };
    if dir.exists() {
        if !dir.join(MARKER).is_file() {
            anyhow::bail!(
                "{} exists and was not made by `sluice demo`; choose another folder",
                dir.display()
            );
        }
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot remove the old demo in {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir.join("incoming"))?;
    std::fs::write(dir.join(MARKER), "made by `sluice demo`; safe to delete\n")?;
    let started = std::time::Instant::now();

    step(json, 1, "create a workspace and the pipeline (examples/pipeline.toml)");
    commands::run_init(&dir, json).await?;
    for (name, text) in [
        ("pipeline.toml", PIPELINE),
        ("checks.toml", CHECKS),
        ("monitor.toml", MONITOR),
    ] {
        std::fs::write(dir.join(name), text)?;
    }

    step(json, 2, "generate four months of card transactions (sluice synth)");
    for (i, (month, inject, covariate, concept, what)) in MONTHS.iter().enumerate() {
        if !json {
            println!("{month}: {what}");
        }
        let out = dir.join(format!("incoming/transactions-{month}.parquet"));
        commands::run_synth_batch(
            &dir,
            &out,
            a.rows,
            a.seed + i as u64,
            i as u32,
            inject,
            *covariate,
            *concept,
            json,
        )?;
    }

    step(
        json,
        3,
        "run the pipeline: version raw, clean, enrich, gate, version, monitor (sluice run)",
    );
    let file = dir.join("pipeline.toml");
    let pipeline = Pipeline::load(&file)?;
    let args = RunArgs {
        pipeline: file.clone(),
        force: false,
        dry_run: false,
        no_fail: true,
    };
    let run = crate::pipeline::execute(&dir, &dir, &file, &pipeline, &args, json).await?;

    step(json, 4, "drift of April against January (sluice drift --html)");
    let cfg = crate::monitor::MonitorConfig::parse(MONITOR, "monitor.toml")?.drift();
    let mut none = None;
    let mut reference = crate::drift::open(&dir, &mut none, "transactions@v1", None, &cfg).await?;
    let mut current = crate::drift::open(&dir, &mut none, "transactions@v4", None, &cfg).await?;
    let drift = tokio::task::block_in_place(|| sluice_drift::compare(&mut reference, &mut current, &cfg))?;
    std::fs::write(
        dir.join("drift.html"),
        sluice_drift::html::render("Drift: April vs January", &drift, &[]),
    )?;
    if !json {
        crate::drift::print_report(&drift);
    }

    step(json, 5, "register a model trained on January's cleaned version");
    let ws = Workspace::open(&dir).await?;
    let auc = roc_auc_of(&version_table(&ws, "transactions", "v1").await?)?;
    let artifact = dir.join("fraud-detector.json");
    std::fs::write(
        &artifact,
        format!("{{\"kind\": \"score-threshold\", \"column\": \"fraud_score\", \"auc\": {auc:.6}}}\n"),
    )?;
    commands::run_register(
        &ws,
        &dir,
        "fraud-detector",
        "transactions@v1",
        &["learning_rate=0.05", "max_depth=6", "n_estimators=300"],
        &[format!("roc_auc={auc:.4}")],
        &artifact,
        json,
    )
    .await?;

    step(
        json,
        6,
        "where did the model come from? raw source -> cleaned version -> model (sluice lineage)",
    );
    commands::run_lineage(&ws, "fraud-detector@1", json).await?;

    step(
        json,
        7,
        "are its training bytes unchanged? (sluice model check), and is the store sound? (sluice verify)",
    );
    commands::run_model_check(&ws, "fraud-detector@1", json).await?;
    commands::run_verify(&ws, json).await?;

    if !json {
        println!("\n== summary");
        let (mut removed, mut changed) = (0u64, 0u64);
        for b in &run.batches {
            for s in &b.stages {
                for st in &s.steps {
                    removed += st.rows_removed;
                    changed += st.values_changed + st.values_added;
                }
            }
        }
        let versions: Vec<&str> = run.batches.iter().filter_map(|b| b.version.as_deref()).collect();
        println!(
            "cleaned: {removed} rows removed and {changed} values repaired over {} months",
            run.batches.len()
        );
        println!("versioned: {} (raw months in transactions-raw)", versions.join(", "));
        if let Some(m) = &run.monitor {
            for b in &m.batches {
                println!(
                    "{}: drift in {} of {} columns, {} alert(s)",
                    b.batch,
                    b.drift.drifted,
                    b.drift.compared,
                    b.alerts.len()
                );
            }
            match m.batches.iter().filter_map(|b| b.decision.as_ref()).find(|d| d.retrain) {
                Some(d) => println!(
                    "retraining triggered at {} on {}: {}",
                    d.id,
                    d.train_on.join(", "),
                    d.reason
                ),
                None => println!("no retraining triggered"),
            }
        }
        println!(
            "reports: {}, {}",
            dir.join("drift.html").display(),
            dir.join("monitor.html").display()
        );
        println!(
            "\ndemo finished in {:.1} s; workspace in {}\n  try: sluice -C {} run pipeline.toml --dry-run",
            started.elapsed().as_secs_f64(),
            dir.display(),
            dir.display()
        );
    }
    Ok(())
}

/// The canonical Parquet table of `dataset@reference`.
async fn version_table(ws: &Workspace, dataset: &str, reference: &str) -> Result<Vec<RecordBatch>> {
    let v = sluice_store::meta::resolve(ws.meta.as_ref(), dataset, &reference.parse()?).await?;
    let t = ws
        .meta
        .tables(v.id)
        .await?
        .into_iter()
        .next()
        .with_context(|| format!("{dataset}@{reference} has no table"))?;
    let bytes = ws.objects.get_bytes(&t.canonical).await?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)?
        .with_batch_size(65_536)
        .build()?;
    Ok(reader.collect::<Result<Vec<_>, _>>()?)
}

/// ROC AUC of `fraud_score` against `is_fraud`, by the rank-sum (Mann-Whitney U) formula with
/// average ranks for ties.
fn roc_auc_of(batches: &[RecordBatch]) -> Result<f64> {
    let mut pairs: Vec<(f64, bool)> = Vec::new();
    for b in batches {
        let score = b
            .column_by_name("fraud_score")
            .context("no fraud_score column")?
            .as_primitive::<Float64Type>();
        let label = b.column_by_name("is_fraud").context("no is_fraud column")?.as_boolean();
        for i in 0..b.num_rows() {
            if score.is_valid(i) && label.is_valid(i) && !score.value(i).is_nan() {
                pairs.push((score.value(i), label.value(i)));
            }
        }
    }
    Ok(roc_auc(&mut pairs))
}

fn roc_auc(pairs: &mut [(f64, bool)]) -> f64 {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut positives) = (0.0, 0u64);
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j < pairs.len() && pairs[j].0 == pairs[i].0 {
            j += 1;
        }
        let avg_rank = (i + 1 + j) as f64 / 2.0;
        for p in &pairs[i..j] {
            if p.1 {
                rank_sum += avg_rank;
                positives += 1;
            }
        }
        i = j;
    }
    let negatives = pairs.len() as u64 - positives;
    if positives == 0 || negatives == 0 {
        return f64::NAN;
    }
    let p = positives as f64;
    (rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_matches_hand_computation() {
        // Positives at 0.8 and 0.4, negatives at 0.6 and 0.2: 3 of 4 pairs ordered -> 0.75.
        let mut p = vec![(0.8, true), (0.4, true), (0.6, false), (0.2, false)];
        assert_eq!(roc_auc(&mut p), 0.75);
        // A tie between a positive and a negative counts one half.
        let mut t = vec![(0.5, true), (0.5, false)];
        assert_eq!(roc_auc(&mut t), 0.5);
    }
}
