//! `sluice monitor NAME --baseline REF [BATCH...]`: each new batch (a version of NAME, or a file)
//! is profiled, compared with the baseline and with the previous batch, its quality metrics are
//! recorded in the workspace's metric history (series `monitor:NAME`), the history is checked for
//! anomalies, alerts are printed (exit 1) and optionally POSTed to a webhook, and the retraining
//! policy decides whether to retrain and on which versions.
//!
//! State between runs (`.sluice/monitor/NAME.json`, written atomically; runs of one monitor are
//! serialised by `.sluice/monitor/NAME.lock`): the baseline, the batches already processed, the
//! previous batch, and the retraining policy's state, so monitoring resumes across restarts.
//! With no BATCH arguments, every version of NAME newer than the baseline and not yet processed
//! is taken, oldest first.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use clap::Args;
use serde::{Deserialize, Serialize};
use sluice_algo::monitor::{
    AnomalyConfig, BaselinePoints, BatchOutcome, PolicyState, RetrainDecision, RetrainPolicy, SpikeRule, decide,
    detect_anomalies,
};
use sluice_drift::html::History;
use sluice_drift::{DriftConfig, DriftReport, Role, Sample};
use sluice_store::Workspace;
use sluice_store::lock::{LockMode, WorkspaceLock};
use sluice_version::DatasetRef;

use crate::Exit;
use crate::output::print_json;

/// `sluice monitor`.
#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// The dataset (the series is `monitor:NAME`).
    pub name: String,
    /// The baseline version (REF of NAME, or NAME@REF): what the model was trained on.
    #[arg(long, short)]
    pub baseline: String,
    /// Batches to take, in order: versions (NAME@REF) or CSV/TSV, JSON Lines, Parquet files.
    /// Default: every version of NAME newer than the baseline not yet monitored.
    pub batches: Vec<String>,
    /// Settings (TOML): anomaly rules, label/prediction, drift settings, retraining policy,
    /// retraining command, webhook.
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// POST alerts and retraining decisions as JSON to this URL (http://host:port/path).
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
    /// Write a self-contained HTML report (latest drift, metric history charts) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Forget this monitor's state and history first (start over from the baseline).
    #[arg(long)]
    pub reset: bool,
    /// Exit 0 even when alerts are raised (default: exit 1, to gate a pipeline).
    #[arg(long)]
    pub no_fail: bool,
}

/// The settings file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorConfig {
    /// Batches (the baseline first) whose metrics form the anomaly band (default 3).
    #[serde(default = "default_baseline_batches")]
    pub baseline_batches: usize,
    /// Width of the anomaly band in standard deviations (default 3).
    #[serde(default = "default_sigma")]
    pub sigma: f64,
    /// Relative jump against the previous batch that counts as a spike (default 0.5).
    #[serde(default = "default_spike")]
    pub spike: f64,
    /// Smallest change of a rate (missing, duplicate, label share) that can be an anomaly
    /// (default 0.01, one percentage point).
    #[serde(default = "default_rate_tolerance")]
    pub rate_tolerance: f64,
    /// Smallest relative change of the row count that can be an anomaly (default 0.05).
    #[serde(default = "default_rows_tolerance")]
    pub rows_tolerance: f64,
    /// The label column (label drift and label distribution).
    pub label: Option<String>,
    /// The prediction column (prediction drift; with a label, accuracy per batch).
    pub prediction: Option<String>,
    /// A numeric prediction is a positive when >= this (default 0.5).
    #[serde(default = "default_cut")]
    pub prediction_threshold: f64,
    /// Drift settings (as `sluice drift --config`).
    #[serde(default)]
    pub drift: Option<DriftConfig>,
    /// The retraining policy (kind = periodic | triggered | continuous | ensemble).
    pub policy: Option<RetrainPolicy>,
    /// Command run (by `sh -c`) when the policy decides to retrain; it gets SLUICE_TRAIN_ON
    /// (comma-separated batches), SLUICE_BATCH and SLUICE_REASON in its environment.
    pub retrain_command: Option<String>,
    /// Webhook URL (the flag wins).
    pub webhook: Option<String>,
}

fn default_baseline_batches() -> usize {
    3
}
fn default_sigma() -> f64 {
    3.0
}
fn default_spike() -> f64 {
    0.5
}
fn default_rate_tolerance() -> f64 {
    0.01
}
fn default_rows_tolerance() -> f64 {
    0.05
}
fn default_cut() -> f64 {
    0.5
}

impl MonitorConfig {
    fn load(path: &Path) -> Result<MonitorConfig> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses settings text; `name` stands for the file in errors.
    pub fn parse(text: &str, name: &str) -> Result<MonitorConfig> {
        let path = Path::new(name);
        let cfg: MonitorConfig = crate::output::parse_toml(text, name)?;
        if cfg.baseline_batches == 0 {
            bail!(
                "{}: baseline_batches = 0; use 1 or more (the baseline version counts)",
                path.display()
            );
        }
        if let Some(p) = &cfg.policy {
            p.validate().with_context(|| format!("{}: [policy]", path.display()))?;
        }
        if let Some(d) = &cfg.drift {
            d.validate().with_context(|| format!("{}: [drift]", path.display()))?;
        }
        Ok(cfg)
    }

    /// The drift settings, with the label and prediction filled in.
    pub fn drift(&self) -> DriftConfig {
        let mut d = self.drift.clone().unwrap_or_default();
        if d.label.is_none() {
            d.label = self.label.clone();
        }
        if d.prediction.is_none() {
            d.prediction = self.prediction.clone();
        }
        d
    }
}

/// What persists between runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    baseline: String,
    processed: Vec<String>,
    previous: Option<String>,
    next_index: u64,
    policy: PolicyState,
}

/// One alert.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// `drift`, `label_drift`, `prediction_drift`, `anomaly`, `spike`, `retrain_failed`.
    pub kind: String,
    /// The metric or column concerned.
    pub subject: String,
    /// In words.
    pub message: String,
}

/// One batch's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct BatchReport {
    /// The batch (NAME@vN or the file).
    pub batch: String,
    /// Its index in the monitor (the baseline is 0).
    pub index: u64,
    /// The metrics recorded.
    pub metrics: BTreeMap<String, f64>,
    /// Drift against the baseline.
    pub drift: DriftReport,
    /// Drift against the previous batch (none for the first batch).
    pub drift_previous: Option<DriftReport>,
    /// Alerts raised.
    pub alerts: Vec<Alert>,
    /// The retraining decision (when a policy is configured).
    pub decision: Option<RetrainDecision>,
    /// Exit status of the retraining command, when it ran.
    pub retrain_exit: Option<i32>,
}

/// What one `sluice monitor` run did.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// The dataset.
    pub dataset: String,
    /// The baseline version.
    pub baseline: String,
    /// The batches taken in this run.
    pub batches: Vec<BatchReport>,
    /// Alerts raised over all batches.
    pub alerts: usize,
    /// What the webhook answered.
    pub webhook: Option<String>,
}

/// Runs `sluice monitor`.
pub async fn run(cwd: &Path, a: MonitorArgs, json: bool) -> Result<()> {
    let report = monitor(cwd, &a, json).await?;
    if json {
        print_json(&report)?;
    } else {
        if report.batches.is_empty() {
            println!("no new batches of {} since the last run", a.name);
        }
        if let Some(w) = &report.webhook {
            println!("{w}");
        }
        if let Some(p) = &a.html {
            println!("report: {}", p.display());
        }
    }
    if report.alerts > 0 && !a.no_fail {
        return Err(Exit(1).into());
    }
    Ok(())
}

/// Takes the new batches (printing each unless `quiet`) and returns what was found.
pub async fn monitor(cwd: &Path, a: &MonitorArgs, quiet: bool) -> Result<RunReport> {
    let ws = Workspace::discover(cwd).await?;
    let cfg = match &a.config {
        Some(p) => MonitorConfig::load(&cwd.join(p))?,
        None => MonitorConfig {
            baseline_batches: default_baseline_batches(),
            sigma: default_sigma(),
            spike: default_spike(),
            rate_tolerance: default_rate_tolerance(),
            rows_tolerance: default_rows_tolerance(),
            prediction_threshold: default_cut(),
            ..MonitorConfig::default()
        },
    };
    let drift_cfg = cfg.drift();
    if a.name.contains('@') || a.name.is_empty() {
        bail!("monitor NAME is a dataset name, without @REF (got {:?})", a.name);
    }
    let baseline_ref = if a.baseline.contains('@') {
        a.baseline.clone()
    } else {
        format!("{}@{}", a.name, a.baseline)
    };
    let r: DatasetRef = baseline_ref.parse()?;
    let baseline_version = r.resolve(ws.meta.as_ref()).await?;
    let baseline_id = baseline_version.label();

    let dir = ws.dir.join("monitor");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let _lock = WorkspaceLock::acquire(
        &dir.join(format!("{}.lock", a.name)),
        LockMode::Exclusive,
        Duration::from_secs(ws.config.lock.timeout_secs),
        &mut || eprintln!("waiting for another `sluice monitor {}` to finish...", a.name),
    )?;
    let state_path = dir.join(format!("{}.json", a.name));
    let series = format!("monitor:{}", a.name);
    let metrics_store = ws.metrics().await?;
    let mut state: State = match std::fs::read(&state_path) {
        Ok(bytes) if !a.reset => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is damaged; rerun with --reset to start over", state_path.display()))?,
        _ => State::default(),
    };
    if a.reset {
        metrics_store.delete_series(&series).await?;
    }
    if !state.baseline.is_empty() && state.baseline != baseline_id {
        bail!(
            "monitor {} runs against baseline {}, not {baseline_id}; pass --baseline {} or --reset to start over",
            a.name,
            state.baseline,
            state.baseline
        );
    }
    let budget = if drift_cfg.sketch_only {
        0
    } else {
        drift_cfg.exact_budget
    };
    let base_table = crate::drift::pick_table(&ws, &baseline_version, &baseline_id, None).await?;
    let mut baseline = crate::drift::version_sample(&ws, &baseline_version, &base_table, budget, |_| true).await?;
    if state.baseline.is_empty() {
        state.baseline = baseline_id.clone();
        state.policy = PolicyState::with_baseline(baseline_id.clone(), baseline_version.created_at.timestamp());
        state.next_index = 1;
        let m = tokio::task::block_in_place(|| quality_metrics(&mut baseline, &cfg))?;
        metrics_store
            .record_batch(&series, &baseline_id, &to_points(&m), None)
            .await?;
    }

    // The batches to take.
    let mut todo: Vec<(String, Option<i64>)> = Vec::new();
    if a.batches.is_empty() {
        for v in ws.meta.versions(&a.name).await? {
            if v.number > baseline_version.number && !state.processed.contains(&v.label()) {
                todo.push((v.label(), Some(v.created_at.timestamp())));
            }
        }
        todo.sort_by_key(|(l, _)| l.clone());
        todo.sort_by_key(|(_, t)| *t);
    } else {
        for b in &a.batches {
            todo.push((b.clone(), None));
        }
    }

    let webhook = a.webhook.clone().or(cfg.webhook.clone());
    let mut reports = Vec::new();
    let mut last_drift: Option<DriftReport> = None;
    let mut previous: Option<Sample> = None;
    for (target, time) in todo {
        let (mut current, id) = open_batch(cwd, &ws, &target, &drift_cfg).await?;
        if state.processed.contains(&id) {
            if !quiet {
                println!("{id}: already monitored, skipped (use --reset to start over)");
            }
            continue;
        }
        let index = state.next_index;
        let mut metrics = tokio::task::block_in_place(|| quality_metrics(&mut current, &cfg))?;
        let drift = tokio::task::block_in_place(|| sluice_drift::compare(&mut baseline, &mut current, &drift_cfg))
            .with_context(|| format!("drift of {id} against {baseline_id}"))?;
        // The previous batch: the one this run just took, else the one the state names.
        if previous.is_none()
            && let Some(p) = &state.previous
        {
            previous = Some(open_batch(cwd, &ws, p, &drift_cfg).await?.0);
        }
        let drift_previous = match previous.as_mut() {
            Some(prev) => Some(
                tokio::task::block_in_place(|| sluice_drift::compare(prev, &mut current, &drift_cfg))
                    .with_context(|| format!("drift of {id} against the previous batch {}", prev.label))?,
            ),
            None => None,
        };
        metrics.insert("drift.share".into(), drift.share);
        metrics.insert("drift.dataset".into(), f64::from(u8::from(drift.dataset_drift)));
        for c in &drift.columns {
            metrics.insert(format!("drift.{}", c.column), c.statistic);
        }
        if let Some(p) = &drift_previous {
            metrics.insert("drift_previous.share".into(), p.share);
        }
        metrics_store
            .record_batch(&series, &id, &to_points(&metrics), None)
            .await?;

        // Alerts: drift, then anomalies on the quality history.
        let mut alerts = Vec::new();
        if drift.dataset_drift {
            alerts.push(Alert {
                kind: "drift".into(),
                subject: "dataset".into(),
                message: format!(
                    "{} of {} columns drifted against {baseline_id} ({:.0}% >= {:.0}%): {}",
                    drift.drifted,
                    drift.compared,
                    drift.share * 100.0,
                    drift.drift_share * 100.0,
                    drift
                        .columns
                        .iter()
                        .filter(|c| c.drifted && c.role == Role::Feature)
                        .map(|c| c.column.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        for c in drift.columns.iter().filter(|c| c.role != Role::Feature && c.drifted) {
            let kind = if c.role == Role::Label {
                "label_drift"
            } else {
                "prediction_drift"
            };
            alerts.push(Alert {
                kind: kind.into(),
                subject: c.column.clone(),
                message: format!(
                    "{} {} = {:.4} (threshold {})",
                    c.column, c.method, c.statistic, c.threshold
                ),
            });
        }
        let history = metrics_store.history(&series).await?;
        let anomalies = check_history(&history, &id, &cfg)?;
        let quality_alert = anomalies.iter().any(|a| !a.subject.starts_with("performance."));
        let performance_alert = anomalies.iter().any(|a| a.subject.starts_with("performance."));
        alerts.extend(anomalies);

        // The retraining policy.
        let mut decision = None;
        let mut retrain_exit = None;
        if let Some(policy) = &cfg.policy {
            let outcome = BatchOutcome {
                index,
                time: time.unwrap_or_else(|| chrono::Utc::now().timestamp()),
                id: id.clone(),
                drifted: drift.any_drift(),
                performance_alert,
                quality_alert,
                drift_detail: drift
                    .dataset_drift
                    .then(|| format!("{} of {} columns", drift.drifted, drift.compared)),
                performance_detail: None,
                quality_detail: quality_alert.then(|| format!("{} anomalies", alerts.len())),
            };
            let d = decide(&mut state.policy, policy, &outcome)?;
            if d.retrain
                && let Some(cmd) = &cfg.retrain_command
            {
                let status = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(cmd)
                    .current_dir(cwd)
                    .env("SLUICE_TRAIN_ON", d.train_on.join(","))
                    .env("SLUICE_BATCH", &id)
                    .env("SLUICE_REASON", &d.reason)
                    .status()
                    .with_context(|| format!("cannot run the retraining command {cmd:?}"))?;
                retrain_exit = status.code();
                if !status.success() {
                    alerts.push(Alert {
                        kind: "retrain_failed".into(),
                        subject: cmd.clone(),
                        message: format!("the retraining command exited with {status}"),
                    });
                }
            }
            decision = Some(d);
        }

        state.processed.push(id.clone());
        state.previous = Some(id.clone());
        state.next_index += 1;
        save_state(&state_path, &state)?;
        last_drift = Some(drift.clone());
        previous = Some(current);
        let report = BatchReport {
            batch: id,
            index,
            metrics,
            drift,
            drift_previous,
            alerts,
            decision,
            retrain_exit,
        };
        if !quiet {
            print_batch(&report);
        }
        reports.push(report);
    }

    let total: usize = reports.iter().map(|r| r.alerts.len()).sum();
    let mut webhook_status = None;
    if let Some(url) = &webhook
        && reports
            .iter()
            .any(|r| !r.alerts.is_empty() || r.decision.as_ref().is_some_and(|d| d.retrain))
    {
        let body = serde_json::json!({
            "dataset": a.name,
            "baseline": baseline_id,
            "batches": reports.iter().map(|r| serde_json::json!({
                "batch": r.batch,
                "alerts": r.alerts,
                "decision": r.decision,
            })).collect::<Vec<_>>(),
        });
        webhook_status = Some(match post_json(url, &body) {
            Ok(code) => format!("POST {url}: HTTP {code}"),
            Err(e) => {
                eprintln!("warning: webhook {url}: {e:#}");
                format!("POST {url} failed: {e:#}")
            }
        });
    }
    if let Some(path) = &a.html {
        let history = metrics_store.history(&series).await?;
        let charts = charts(&history, &cfg);
        let drift = match last_drift {
            Some(d) => d,
            None => {
                // Nothing new: show the baseline against itself so the history still renders.
                let mut b2 = baseline.clone();
                tokio::task::block_in_place(|| sluice_drift::compare(&mut baseline, &mut b2, &drift_cfg))?
            }
        };
        let page = sluice_drift::html::render(&format!("Monitor: {}", a.name), &drift, &charts);
        let path = cwd.join(path);
        std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(RunReport {
        dataset: a.name.clone(),
        baseline: baseline_id,
        batches: reports,
        alerts: total,
        webhook: webhook_status,
    })
}

/// A batch's sample and the key it is remembered by (the version label, or the file path).
async fn open_batch(cwd: &Path, ws: &Workspace, target: &str, cfg: &DriftConfig) -> Result<(Sample, String)> {
    let budget = if cfg.sketch_only { 0 } else { cfg.exact_budget };
    let path = cwd.join(target);
    if path.is_file() {
        let mut s = tokio::task::block_in_place(|| Sample::read_file(&path, budget))?;
        s.label = target.to_string();
        return Ok((s, target.to_string()));
    }
    if !target.contains('@') {
        bail!(
            "{}: no such file; a batch is a file or a version NAME@REF",
            path.display()
        );
    }
    let r: DatasetRef = target.parse()?;
    let v = r.resolve(ws.meta.as_ref()).await?;
    let t = crate::drift::pick_table(ws, &v, target, None).await?;
    let s = crate::drift::version_sample(ws, &v, &t, budget, |_| true).await?;
    Ok((s, v.label()))
}

fn save_state(path: &Path, state: &State) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(state)?)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn to_points(m: &BTreeMap<String, f64>) -> Vec<(String, f64)> {
    m.iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

/// Rows, missing rates (overall and per column), the duplicate-row rate (when the rows are in
/// memory), the label distribution and, with a label and a prediction, accuracy.
fn quality_metrics(s: &mut Sample, cfg: &MonitorConfig) -> Result<BTreeMap<String, f64>> {
    let mut m = BTreeMap::new();
    m.insert("rows".to_string(), s.rows as f64);
    let profile = s.ensure_profile()?.clone();
    let (mut missing, mut cells) = (0u64, 0u64);
    for c in &profile.columns {
        let miss = c.state.missing();
        missing += miss;
        cells += c.state.rows;
        if c.state.rows > 0 {
            m.insert(format!("missing.{}", c.name), miss as f64 / c.state.rows as f64);
        }
    }
    if cells > 0 {
        m.insert("missing.all".into(), missing as f64 / cells as f64);
    }
    if let Some(batches) = &s.batches {
        let mut seen = std::collections::HashSet::new();
        let mut rows = 0u64;
        for b in batches {
            let hashes = sluice_version::engine::hash_rows(b.columns())?;
            let hashes = hashes.as_fixed_size_binary();
            for i in 0..hashes.len() {
                let h: [u8; 16] = hashes.value(i).try_into().expect("16-byte hashes");
                seen.insert(h);
            }
            rows += b.num_rows() as u64;
        }
        if rows > 0 {
            m.insert("duplicates".into(), (rows - seen.len() as u64) as f64 / rows as f64);
        }
    }
    if let Some(label) = &cfg.label
        && let Some(state) = profile.column(label)
        && let Some(freq) = &state.freq
    {
        let total = freq.total_weight().max(1) as f64;
        for row in freq.frequent_items(datasketches::frequencies::ErrorType::NoFalsePositives) {
            m.insert(format!("label.{}", row.item()), row.estimate() as f64 / total);
        }
    }
    if let (Some(label), Some(pred), Some(batches)) = (&cfg.label, &cfg.prediction, &s.batches) {
        let (mut right, mut n) = (0u64, 0u64);
        for b in batches {
            let (Some(l), Some(p)) = (b.column_by_name(label), b.column_by_name(pred)) else {
                break;
            };
            let (l, p) = (
                as_class(l, cfg.prediction_threshold)?,
                as_class(p, cfg.prediction_threshold)?,
            );
            for (x, y) in l.iter().zip(&p) {
                if let (Some(x), Some(y)) = (x, y) {
                    n += 1;
                    right += u64::from(x == y);
                }
            }
        }
        if n > 0 {
            m.insert("performance.accuracy".into(), right as f64 / n as f64);
        }
    }
    Ok(m)
}

/// Class names of a label or prediction column: numbers are cut at `threshold` (true/false),
/// booleans and text are taken as they are.
fn as_class(a: &ArrayRef, threshold: f64) -> Result<Vec<Option<String>>> {
    Ok(match a.data_type() {
        DataType::Boolean => a.as_boolean().iter().map(|b| b.map(|b| b.to_string())).collect(),
        t if t.is_numeric() => {
            let f = cast(a, &DataType::Float64)?;
            f.as_primitive::<Float64Type>()
                .iter()
                .map(|v| v.map(|v| (v >= threshold).to_string()))
                .collect()
        }
        _ => {
            let s = cast(a, &DataType::Utf8)?;
            s.as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect()
        }
    })
}

/// Whether a metric is a share (missing, duplicates, label distribution): its anomaly tolerance
/// is in percentage points.
fn is_rate(metric: &str) -> bool {
    ["missing.", "duplicates", "label.", "performance."]
        .iter()
        .any(|p| metric.starts_with(p))
}

fn watched(metric: &str) -> bool {
    !metric.starts_with("drift")
}

/// The smallest change of `metric` that can be an anomaly: percentage points for shares, a
/// share of the baseline's mean for row counts, anything for the rest.
fn tolerance(cfg: &MonitorConfig, metric: &str, baseline: &[f64]) -> f64 {
    if is_rate(metric) {
        cfg.rate_tolerance
    } else if metric == "rows" {
        let mean = baseline.iter().sum::<f64>() / baseline.len().max(1) as f64;
        cfg.rows_tolerance * mean.abs()
    } else {
        1e-9
    }
}

fn anomaly_config(cfg: &MonitorConfig, metric: &str, values: &[f64], points: usize) -> AnomalyConfig {
    AnomalyConfig {
        baseline: BaselinePoints::First { points },
        k: cfg.sigma,
        spike: SpikeRule::Relative { threshold: cfg.spike },
        tolerance: tolerance(cfg, metric, &values[..points.min(values.len())]),
    }
}

/// Values per metric in batch order.
fn series_of(history: &[sluice_store::metrics::MetricPoint]) -> (Vec<String>, BTreeMap<String, Vec<f64>>) {
    let mut batches: Vec<(i64, String)> = history.iter().map(|p| (p.batch_seq, p.batch.clone())).collect();
    batches.sort();
    batches.dedup();
    let pos: BTreeMap<i64, usize> = batches.iter().enumerate().map(|(i, (s, _))| (*s, i)).collect();
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for p in history {
        let v = out
            .entry(p.metric.clone())
            .or_insert_with(|| vec![f64::NAN; batches.len()]);
        v[pos[&p.batch_seq]] = p.value;
    }
    (batches.into_iter().map(|b| b.1).collect(), out)
}

/// Anomalies of the latest batch (`id`) on every watched metric's history.
fn check_history(history: &[sluice_store::metrics::MetricPoint], id: &str, cfg: &MonitorConfig) -> Result<Vec<Alert>> {
    let (labels, series) = series_of(history);
    let Some(last) = labels.iter().rposition(|l| l == id) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (metric, values) in series.iter().filter(|(m, _)| watched(m)) {
        let values = &values[..=last];
        if !values[last].is_finite() || values.iter().any(|v| !v.is_finite()) {
            continue;
        }
        let points = cfg.baseline_batches.min(last);
        if points >= 2 {
            let report = detect_anomalies(values, &anomaly_config(cfg, metric, values, points))?;
            for an in report.anomalies.into_iter().filter(|a| a.index == last) {
                out.push(Alert {
                    kind: format!("{:?}", an.rule).to_lowercase(),
                    subject: metric.clone(),
                    message: format!("{metric} = {:.4}: {}", an.value, an.detail),
                });
            }
        } else if last >= 1 {
            // Too few batches for a band yet: only a jump against the previous batch counts.
            let (prev, cur) = (values[last - 1], values[last]);
            let tol = tolerance(cfg, metric, &values[..last]);
            if (cur - prev).abs() > (cfg.spike * prev.abs()).max(tol) {
                out.push(Alert {
                    kind: "spike".into(),
                    subject: metric.clone(),
                    message: format!(
                        "{metric} = {cur:.4} against {prev:.4} in the previous batch (more than {:.0}% change)",
                        cfg.spike * 100.0
                    ),
                });
            }
        }
    }
    Ok(out)
}

/// History charts: the headline metrics, then every metric with an anomaly.
fn charts(history: &[sluice_store::metrics::MetricPoint], cfg: &MonitorConfig) -> Vec<History> {
    let (labels, series) = series_of(history);
    let mut out = Vec::new();
    for (metric, values) in &series {
        let headline = [
            "rows",
            "missing.all",
            "duplicates",
            "drift.share",
            "performance.accuracy",
        ]
        .contains(&metric.as_str())
            || metric.starts_with("label.");
        let points = cfg.baseline_batches.min(values.len().saturating_sub(1));
        let finite = values.iter().all(|v| v.is_finite());
        let (band, anomalies) = if watched(metric) && points >= 2 && finite {
            match detect_anomalies(values, &anomaly_config(cfg, metric, values, points)) {
                Ok(r) => (
                    Some((r.baseline.low, r.baseline.high)),
                    r.anomalies.iter().map(|a| a.index).collect::<Vec<_>>(),
                ),
                Err(_) => (None, Vec::new()),
            }
        } else {
            (None, Vec::new())
        };
        if headline || !anomalies.is_empty() {
            out.push(History {
                metric: metric.clone(),
                points: labels.iter().cloned().zip(values.iter().copied()).collect(),
                band,
                anomalies,
            });
        }
    }
    out
}

fn print_batch(r: &BatchReport) {
    println!(
        "{} (batch {}): {} rows, drift {} of {} columns against the baseline{}",
        r.batch,
        r.index,
        r.metrics.get("rows").copied().unwrap_or(0.0),
        r.drift.drifted,
        r.drift.compared,
        r.drift_previous
            .as_ref()
            .map(|p| format!(", {} of {} against the previous batch", p.drifted, p.compared))
            .unwrap_or_default()
    );
    for a in &r.alerts {
        println!("  ALERT {} {}: {}", a.kind, a.subject, a.message);
    }
    if let Some(d) = &r.decision {
        if d.retrain {
            println!("  RETRAIN on {}: {}", d.train_on.join(", "), d.reason);
        } else {
            println!("  no retraining: {}", d.reason);
        }
    }
    if let Some(code) = r.retrain_exit {
        println!("  retraining command exited with {code}");
    }
}

/// POSTs `body` to an `http://` URL; returns the status code. (No TLS here: point the webhook
/// at a local relay for https endpoints.)
fn post_json(url: &str, body: &serde_json::Value) -> Result<u16> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("{url}: only http:// webhooks are supported; for https, post to a local relay"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    let sock = std::net::ToSocketAddrs::to_socket_addrs(&addr)
        .with_context(|| format!("cannot resolve {host}"))?
        .next()
        .with_context(|| format!("{host} has no address"))?;
    let mut s = TcpStream::connect_timeout(&sock, Duration::from_secs(5))
        .with_context(|| format!("cannot connect to {addr}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    let payload = serde_json::to_vec(body)?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: sluice/{}\r\n\r\n",
        payload.len(),
        env!("CARGO_PKG_VERSION")
    )?;
    s.write_all(&payload)?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let code = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .with_context(|| format!("{url}: not an HTTP response: {:?}", line.lines().next().unwrap_or("")))?;
    if !(200..300).contains(&code) {
        bail!("{url} answered HTTP {code}");
    }
    Ok(code)
}
