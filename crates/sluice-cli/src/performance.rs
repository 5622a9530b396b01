//! `sluice performance TARGET`: a model's performance per time window of labelled predictions,
//! every metric with its confidence interval, and the concept-drift check: a window whose watched
//! metric falls below what the baseline allows is flagged, and the command exits 1.
//!
//! ```text
//! TARGET (file or NAME@REF) ── label, prediction, [probabilities], [time] columns
//!   ├─ rows without a label (labels arrive for a sample only), prediction, probability or time:
//!   │    skipped and counted, never scored
//!   ├─ task: regression when label and prediction are float columns with more than 20 distinct
//!   │    labels, else classification (`--task` decides otherwise)
//!   ├─ time -> i64: timestamps and dates as epoch seconds (naive ones read as UTC), integers as
//!   │    given (batch index or epoch seconds), ISO 8601 text parsed; no time column: file order
//!   ├─ sluice_algo::perf::assign_windows (fixed width or equal count), then each window's
//!   │    classification or regression report (classification windows on all cores)
//!   ├─ baseline: the first window, or all rows of another table (--baseline FILE|NAME@REF)
//!   ├─ sluice_algo::perf::PerformanceDrop per watched metric -> dropped windows -> exit 1
//!   └─ TARGET a version: each non-empty window recorded in the metric history under the series
//!        `performance:<dataset>`, labelled by the window's start (re-runs replace, not repeat)
//! ```
//!
//! Classes are compared as text: integers in decimal, booleans as `true`/`false`, integral floats
//! as integers (so a label `1` and a prediction `1.0` are the same class). The class list is the
//! sorted union over the target and the baseline, the same in every window, so a class absent
//! from one window still counts there. Row numbers in messages count data rows from 1.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, new_empty_array};
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit};
use clap::{Args, ValueEnum};
use comfy_table::Cell;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;
use sluice_algo::perf::{
    ClassificationConfig, ClassificationData, ClassificationReport, Direction, DropCheck, Metric, MetricName,
    MetricReport, Probabilities, RegressionConfig, RegressionReport, Tolerance, Window, WindowBounds, WindowReport,
    WindowSpec, assign_windows, classification_report, regression_report, regression_windows,
};
use sluice_drift::Sample;
use sluice_ingest::TableFormat;
use sluice_profile::html::{CSS, escape};
use sluice_store::Workspace;
use sluice_store::meta::VersionRecord;
use sluice_version::DatasetRef;

use crate::Exit;
use crate::output::{count, print_json, print_table, table};

/// A float label column with more distinct values than this is a regression target.
const REGRESSION_MIN_DISTINCT: usize = 20;
/// An inferred classification with more classes than this is refused (probably a numeric target).
const MAX_INFERRED_CLASSES: usize = 100;
/// Integer times spanning more than this need an explicit window (they may be epoch seconds).
const MAX_DEFAULT_INTEGER_SPAN: i64 = 10_000;
/// How far a row of per-class probabilities may sum from 1 (the library's tolerance).
const PROBABILITY_SUM_TOLERANCE: f64 = sluice_algo::perf::classification::PROBABILITY_SUM_TOLERANCE;

/// `sluice performance`.
#[derive(Debug, Args)]
pub struct PerformanceArgs {
    /// The labelled predictions: a version (NAME@REF) or a CSV/TSV, JSON Lines or Parquet file.
    pub target: String,
    /// The true label (or value) column; rows where it is missing are skipped and counted.
    #[arg(long, value_name = "COL")]
    pub label: String,
    /// The model's prediction column.
    #[arg(long, value_name = "COL")]
    pub prediction: String,
    /// Probability columns: one column holding the positive class's probability, or one per
    /// class (repeat or comma-separate; `CLASS=COL`, or COL named after its class, e.g. p_cat).
    #[arg(long, value_delimiter = ',', value_name = "COL")]
    pub proba: Vec<String>,
    /// The positive class of precision, recall, F1 and ROC AUC (default with two classes: the
    /// second in sorted order, e.g. `1` of 0/1; with more: macro averages).
    #[arg(long, value_name = "CLASS")]
    pub positive: Option<String>,
    /// classification or regression (default: regression when label and prediction are float
    /// columns with more than 20 distinct labels, else classification).
    #[arg(long, value_enum)]
    pub task: Option<Task>,
    /// The time column: timestamps or dates, integers (batch index or epoch seconds, as given),
    /// or ISO 8601 text (read as UTC without an offset). Without it rows are in file order.
    #[arg(long, value_name = "COL")]
    pub time: Option<String>,
    /// Fixed-width windows aligned to the epoch: 30m, 12h, 1d, 2w, or N in the time's unit
    /// (seconds; batches for integer times). Default: 1d for timestamps, 1 for integer times.
    #[arg(long, value_name = "WIDTH", conflicts_with = "windows")]
    pub window: Option<String>,
    /// N windows of (nearly) equal row counts in time order (in file order without --time); rows
    /// with the same time stay in one window.
    #[arg(long, value_name = "N")]
    pub windows: Option<usize>,
    /// The baseline: a version or file whose metrics (over all its labelled rows) every window is
    /// compared with. Default: the first window.
    #[arg(long, value_name = "FILE|NAME@REF")]
    pub baseline: Option<String>,
    /// Metrics watched for a drop (comma-separated): accuracy, precision, recall, f1, roc_auc,
    /// log_loss, mae, rmse, mean_error. Default: accuracy (and roc_auc with --proba); mae for
    /// regression.
    #[arg(long, value_delimiter = ',', value_name = "METRIC")]
    pub metric: Vec<String>,
    /// How far a window may fall: `ci` (below the baseline's confidence interval; the default),
    /// `abs:0.02` (in the metric's units) or `rel:0.05` (a fraction of the baseline's value).
    #[arg(long, value_name = "RULE")]
    pub tolerance: Option<String>,
    /// Coverage of every interval.
    #[arg(long, default_value_t = 0.95, value_name = "LEVEL")]
    pub confidence: f64,
    /// Seed of the bootstrap intervals (the same seed and rows give the same intervals).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Bootstrap resamples for precision, recall, F1 and the multiclass ROC AUC.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub resamples: usize,
    /// Which table of a version (target and baseline), when it has several.
    #[arg(long, value_name = "PATH")]
    pub table: Option<String>,
    /// Also write a self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Exit 0 even when a window's performance drops (default: exit 1, to gate a pipeline).
    #[arg(long)]
    pub no_fail: bool,
}

/// What kind of model is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Class labels: accuracy, precision, recall, F1, ROC AUC, log loss.
    Classification,
    /// Numeric targets: MAE, RMSE, mean error.
    Regression,
}

/// What the time axis is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeKind {
    /// Epoch seconds from timestamps, dates or ISO text.
    Seconds,
    /// Integers as the column gives them (batch index, or epoch seconds).
    Integer,
    /// No time column: 0-based row positions in file order.
    RowOrder,
}

/// Rows left out of the scoring, by the first thing missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// No label (yet): null, empty text or NaN.
    pub missing_label: usize,
    /// A label but no prediction.
    pub missing_prediction: usize,
    /// A label and a prediction but a missing probability.
    pub missing_probability: usize,
    /// Everything but the time.
    pub missing_time: usize,
}

impl Skipped {
    fn total(&self) -> usize {
        self.missing_label + self.missing_prediction + self.missing_probability + self.missing_time
    }

    fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (n, what) in [
            (self.missing_label, "without a label"),
            (self.missing_prediction, "without a prediction"),
            (self.missing_probability, "without a probability"),
            (self.missing_time, "without a time"),
        ] {
            if n > 0 {
                out.push(format!("{} {what}", count(n as u64)));
            }
        }
        out
    }
}

/// One window's (or the baseline's) metrics.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Metrics {
    /// A classifier's (boxed: it is twice the size of a regression report).
    Classification(Box<ClassificationReport>),
    /// A regression model's.
    Regression(RegressionReport),
}

impl MetricReport for Metrics {
    fn metric(&self, name: MetricName) -> Option<&Metric> {
        match self {
            Metrics::Classification(r) => r.metric(name),
            Metrics::Regression(r) => r.metric(name),
        }
    }
}

/// One window of the target.
#[derive(Debug, Clone, Serialize)]
pub struct WindowOut {
    /// Position in time order, from 0.
    pub index: usize,
    /// First time (inclusive), in the time's unit.
    pub start: i64,
    /// End (exclusive).
    pub end: i64,
    /// The window for people (a date, a batch, a row range); the metric history's batch label.
    pub label: String,
    /// Scored rows.
    pub rows: usize,
    /// The metrics with their intervals.
    pub metrics: Metrics,
    /// Watched metrics that dropped in this window.
    pub dropped: Vec<MetricName>,
}

/// The baseline the windows are compared with.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineOut {
    /// `first window`, or the baseline table's label.
    pub source: String,
    /// The window's label, when the baseline is a window.
    pub window: Option<String>,
    /// Rows read from the baseline table (for a window: its rows).
    pub rows: usize,
    /// Rows scored.
    pub scored: usize,
    /// Rows of the baseline table left out.
    pub skipped: Skipped,
    /// Its metrics.
    pub metrics: Metrics,
}

/// The drop check of one watched metric.
#[derive(Debug, Clone, Serialize)]
pub struct MetricCheck {
    /// The metric.
    pub metric: MetricName,
    /// The rule.
    pub tolerance: Tolerance,
    /// The baseline's value.
    pub baseline_value: f64,
    /// Lowest allowed value, if bounded below.
    pub allowed_low: Option<f64>,
    /// Highest allowed value, if bounded above.
    pub allowed_high: Option<f64>,
    /// One verdict per target window.
    pub windows: Vec<DropCheck>,
    /// Indices of the windows that dropped.
    pub dropped: Vec<usize>,
}

/// Where the windows were recorded.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    /// The metric series.
    pub series: String,
    /// The batch number of each recorded window (empty windows are not recorded).
    pub batches: Vec<(String, i64)>,
}

/// The whole report (`--json` prints it).
#[derive(Debug, Clone, Serialize)]
pub struct PerformanceReport {
    /// What was scored.
    pub target: String,
    /// Classification or regression.
    pub task: Task,
    /// The label column.
    pub label: String,
    /// The prediction column.
    pub prediction: String,
    /// The probability columns.
    pub probabilities: Vec<String>,
    /// The classes (classification).
    pub classes: Option<Vec<String>>,
    /// The positive class of the binary metrics (classification).
    pub positive: Option<String>,
    /// Rows read.
    pub rows: usize,
    /// Rows scored.
    pub scored: usize,
    /// Rows left out, by reason.
    pub skipped: Skipped,
    /// The time column.
    pub time: Option<String>,
    /// What the time axis is.
    pub time_kind: TimeKind,
    /// How rows were cut into windows.
    pub windowing: WindowSpec,
    /// Coverage of every interval.
    pub confidence: f64,
    /// The baseline.
    pub baseline: BaselineOut,
    /// The windows in time order.
    pub windows: Vec<WindowOut>,
    /// One drop check per watched metric.
    pub checks: Vec<MetricCheck>,
    /// Watched-by-default metrics that could not be checked, and why.
    pub not_checked: Vec<String>,
    /// Windows where any watched metric dropped.
    pub dropped_windows: Vec<usize>,
    /// Whether any window dropped (concept drift).
    pub concept_drift: bool,
    /// The metric history written (TARGET a version).
    pub recorded: Option<Recorded>,
}

/// Parsed, validated settings.
#[derive(Debug)]
struct Settings {
    tolerance: Tolerance,
    /// Watched metrics; `true` when the user named them.
    metrics: Vec<MetricName>,
    metrics_explicit: bool,
    width: Option<i64>,
}

impl PerformanceArgs {
    fn settings(&self) -> Result<Settings> {
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            bail!(
                "--confidence {}: use a level strictly between 0 and 1, e.g. 0.95",
                self.confidence
            );
        }
        if self.resamples < 2 {
            bail!("--resamples {}: use at least 2 (1000 is the default)", self.resamples);
        }
        if self.windows == Some(0) {
            bail!("--windows 0: ask for at least one window");
        }
        let tolerance = match &self.tolerance {
            None => Tolerance::BaselineCi,
            Some(t) => parse_tolerance(t)?,
        };
        let metrics = self
            .metric
            .iter()
            .map(|m| parse_metric(m))
            .collect::<Result<Vec<_>>>()?;
        let width = self.window.as_deref().map(parse_width).transpose()?;
        Ok(Settings {
            tolerance,
            metrics_explicit: !metrics.is_empty(),
            metrics,
            width,
        })
    }
}

fn parse_tolerance(t: &str) -> Result<Tolerance> {
    let help = "use ci (the baseline's confidence interval), abs:X (e.g. abs:0.02) or rel:X (e.g. rel:0.05)";
    if t == "ci" {
        return Ok(Tolerance::BaselineCi);
    }
    let Some((kind, value)) = t.split_once(':') else {
        bail!("--tolerance `{t}`: {help}");
    };
    let max_drop: f64 = value
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .with_context(|| format!("--tolerance `{t}`: `{value}` is not a number >= 0; {help}"))?;
    match kind {
        "abs" | "absolute" => Ok(Tolerance::Absolute { max_drop }),
        "rel" | "relative" => Ok(Tolerance::Relative { max_drop }),
        _ => bail!("--tolerance `{t}`: unknown rule `{kind}`; {help}"),
    }
}

const ALL_METRICS: [MetricName; 9] = [
    MetricName::Accuracy,
    MetricName::Precision,
    MetricName::Recall,
    MetricName::F1,
    MetricName::RocAuc,
    MetricName::LogLoss,
    MetricName::Mae,
    MetricName::Rmse,
    MetricName::MeanError,
];

fn parse_metric(m: &str) -> Result<MetricName> {
    let key = m.trim().to_ascii_lowercase().replace('-', "_");
    let key = match key.as_str() {
        "auc" => "roc_auc",
        "logloss" => "log_loss",
        "bias" => "mean_error",
        k => k,
    };
    ALL_METRICS.into_iter().find(|n| n.name() == key).with_context(|| {
        format!(
            "--metric `{m}`: unknown metric; use one of {}",
            ALL_METRICS.map(MetricName::name).join(", ")
        )
    })
}

/// `30m`, `12h`, `1d`, `2w`, `45s` in seconds, or a plain positive integer.
fn parse_width(w: &str) -> Result<i64> {
    let bad = || {
        anyhow::anyhow!(
            "--window `{w}`: use a positive number with a unit (30m, 12h, 1d, 2w) or a plain number in the \
             time's unit (seconds, or batches for integer times)"
        )
    };
    let w = w.trim();
    let (digits, unit) = match w.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => w.split_at(i),
        None => (w, ""),
    };
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let factor = match unit {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(factor).filter(|v| *v > 0).ok_or_else(bad)
}

/// Runs `sluice performance`.
pub async fn run(cwd: &Path, a: PerformanceArgs, json: bool) -> Result<()> {
    let settings = a.settings()?;
    let proba = parse_proba(&a.proba)?;
    let mut wanted = vec![a.label.clone(), a.prediction.clone()];
    wanted.extend(proba.iter().map(|p| p.column.clone()));
    let mut ws = None;
    let baseline = match &a.baseline {
        Some(b) => Some(load(cwd, &mut ws, b, a.table.as_deref(), &wanted).await?),
        None => None,
    };
    wanted.extend(a.time.iter().cloned());
    let target = load(cwd, &mut ws, &a.target, a.table.as_deref(), &wanted).await?;
    let mut report = tokio::task::block_in_place(|| evaluate(&a, &settings, &proba, &target, baseline.as_ref()))?;
    if let (Some(version), Some(ws)) = (&target.version, &ws) {
        report.recorded = Some(record(ws, version, &report).await?);
    }
    if let Some(path) = &a.html {
        let full = cwd.join(path);
        std::fs::write(&full, render_html(&report)).with_context(|| format!("cannot write {}", full.display()))?;
    }
    if json {
        print_json(&report)?;
    } else {
        print_report(&report);
        if let Some(p) = &a.html {
            println!("report: {}", p.display());
        }
    }
    if report.concept_drift && !a.no_fail {
        return Err(Exit(1).into());
    }
    Ok(())
}

/// A table read into memory: only the columns asked for, but every column's name for messages.
struct Loaded {
    label: String,
    columns: Vec<(String, DataType)>,
    batches: Vec<RecordBatch>,
    version: Option<VersionRecord>,
}

async fn load(
    cwd: &Path,
    ws: &mut Option<Workspace>,
    target: &str,
    table_path: Option<&str>,
    wanted: &[String],
) -> Result<Loaded> {
    let path = cwd.join(target);
    if path.is_file() {
        let format = TableFormat::detect(&path)?;
        return tokio::task::block_in_place(|| {
            if matches!(format, TableFormat::Parquet) {
                read_parquet_columns(&path, target, wanted)
            } else {
                let s = Sample::read_file(&path, u64::MAX)?;
                Ok(Loaded {
                    label: target.to_string(),
                    columns: s.columns,
                    batches: s.batches.unwrap_or_default(),
                    version: None,
                })
            }
        });
    }
    if !target.contains('@') {
        bail!(
            "{}: no such file; to score a version write NAME@REF (for example {target}@latest)",
            path.display()
        );
    }
    if ws.is_none() {
        *ws = Some(Workspace::discover(cwd).await?);
    }
    let ws = ws.as_ref().expect("set above");
    let r: DatasetRef = target.parse()?;
    let version = r.resolve(ws.meta.as_ref()).await?;
    let t = crate::drift::pick_table(ws, &version, target, table_path).await?;
    let label = format!("{}:{}", version.label(), t.path);
    let loaded = crate::drift::read_canonical(ws, &t, |path| read_parquet_columns(path, &label, wanted)).await;
    let mut loaded = loaded?;
    loaded.version = Some(version);
    Ok(loaded)
}

/// Reads only the `wanted` columns that exist (the others are reported when asked for).
fn read_parquet_columns(path: &Path, label: &str, wanted: &[String]) -> Result<Loaded> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).with_context(|| format!("cannot read {label}"))?;
    let columns: Vec<(String, DataType)> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let mut present: Vec<String> = wanted
        .iter()
        .filter(|w| columns.iter().any(|(n, _)| n == *w))
        .cloned()
        .collect();
    present.dedup();
    let s = sluice_drift::sample::read_parquet(path, label, Some(&present))?;
    Ok(Loaded {
        label: label.to_string(),
        columns,
        batches: s.batches.unwrap_or_default(),
        version: None,
    })
}

impl Loaded {
    /// One column over all batches.
    fn column(&self, name: &str, flag: &str) -> Result<ArrayRef> {
        let Some((_, dt)) = self.columns.iter().find(|(n, _)| n == name) else {
            let names: Vec<&str> = self.columns.iter().map(|(n, _)| n.as_str()).collect();
            let hint = names
                .iter()
                .find(|n| n.eq_ignore_ascii_case(name))
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            bail!(
                "{flag} {name}: {} has no column `{name}`{hint}; its columns are: {}",
                self.label,
                names.join(", ")
            );
        };
        let mut arrays = Vec::with_capacity(self.batches.len());
        for b in &self.batches {
            arrays.push(b.column_by_name(name).cloned().with_context(|| {
                format!(
                    "internal error (a bug): column `{name}` missing from a batch of {}",
                    self.label
                )
            })?);
        }
        Ok(match arrays.len() {
            0 => new_empty_array(dt),
            1 => arrays.pop().expect("one"),
            _ => {
                let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
                arrow::compute::concat(&refs)?
            }
        })
    }
}

/// A `--proba` entry: a column, and the class it is for when named (`CLASS=COL`).
#[derive(Debug, Clone)]
struct ProbaSpec {
    class: Option<String>,
    column: String,
}

fn parse_proba(entries: &[String]) -> Result<Vec<ProbaSpec>> {
    let mut out: Vec<ProbaSpec> = Vec::new();
    for e in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        let spec = match e.split_once('=') {
            Some((class, column)) if !class.is_empty() && !column.is_empty() => ProbaSpec {
                class: Some(class.to_string()),
                column: column.to_string(),
            },
            Some(_) => bail!("--proba `{e}`: write CLASS=COL or a column name"),
            None => ProbaSpec {
                class: None,
                column: e.to_string(),
            },
        };
        if out.iter().any(|p| p.column == spec.column) {
            bail!("--proba: column `{}` is given twice", spec.column);
        }
        out.push(spec);
    }
    Ok(out)
}

fn type_name(dt: &DataType) -> String {
    format!("{dt}")
}

fn is_float(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..)
    )
}

fn is_numeric(dt: &DataType) -> bool {
    is_float(dt) || dt.is_integer()
}

/// A number's class name: integral values without a fraction, so `1.0` and `1` agree.
fn float_key(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A column as class names; null, NaN, empty or blank text are missing.
fn class_keys(a: &ArrayRef, flag: &str, name: &str) -> Result<Vec<Option<String>>> {
    let dt = a.data_type();
    if is_float(dt) {
        return Ok(floats(a, flag, name)?
            .into_iter()
            .map(|v| v.filter(|v| !v.is_nan()).map(float_key))
            .collect());
    }
    if let DataType::Boolean = dt {
        let b = a.as_boolean();
        return Ok((0..b.len())
            .map(|i| b.is_valid(i).then(|| b.value(i).to_string()))
            .collect());
    }
    let text = arrow::compute::cast(a, &DataType::Utf8).map_err(|_| {
        anyhow::anyhow!(
            "{flag} {name}: the column is {}; class labels must be text, integers, booleans or numbers",
            type_name(dt)
        )
    })?;
    let s = text.as_string::<i32>();
    Ok((0..s.len())
        .map(|i| {
            s.is_valid(i)
                .then(|| s.value(i))
                .filter(|v| !v.trim().is_empty())
                .map(str::to_string)
        })
        .collect())
}

/// A numeric column as f64 (text is parsed); null and empty text are missing, NaN stays NaN.
fn floats(a: &ArrayRef, flag: &str, name: &str) -> Result<Vec<Option<f64>>> {
    let dt = a.data_type();
    if is_numeric(dt) {
        let f = arrow::compute::cast(a, &DataType::Float64)?;
        let f = f.as_primitive::<Float64Type>();
        return Ok((0..f.len()).map(|i| f.is_valid(i).then(|| f.value(i))).collect());
    }
    let text = match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(..) => {
            arrow::compute::cast(a, &DataType::Utf8).ok()
        }
        _ => None,
    };
    let Some(text) = text else {
        bail!("{flag} {name}: the column is {}; it must hold numbers", type_name(dt));
    };
    let s = text.as_string::<i32>();
    (0..s.len())
        .map(|i| {
            if s.is_null(i) || s.value(i).trim().is_empty() {
                return Ok(None);
            }
            let v = s.value(i).trim();
            v.parse::<f64>()
                .map(Some)
                .map_err(|_| anyhow::anyhow!("{flag} {name}: row {}: `{v}` is not a number", i + 1))
        })
        .collect()
}

/// The time column as i64 and what its unit is.
fn time_values(a: &ArrayRef, name: &str) -> Result<(Vec<Option<i64>>, TimeKind)> {
    let dt = a.data_type().clone();
    let ints = |a: &ArrayRef| -> Result<Vec<Option<i64>>> {
        let i = arrow::compute::cast(a, &DataType::Int64)?;
        let i = i.as_primitive::<Int64Type>();
        Ok((0..i.len()).map(|r| i.is_valid(r).then(|| i.value(r))).collect())
    };
    Ok(match dt {
        DataType::Timestamp(unit, _) => {
            let per_second = match unit {
                TimeUnit::Second => 1,
                TimeUnit::Millisecond => 1_000,
                TimeUnit::Microsecond => 1_000_000,
                TimeUnit::Nanosecond => 1_000_000_000,
            };
            let v = ints(a)?;
            (
                v.into_iter().map(|t| t.map(|t| t.div_euclid(per_second))).collect(),
                TimeKind::Seconds,
            )
        }
        DataType::Date32 => {
            let d = arrow::compute::cast(a, &DataType::Int32)?;
            let d = d.as_primitive::<arrow::datatypes::Int32Type>();
            (
                (0..d.len())
                    .map(|r| d.is_valid(r).then(|| i64::from(d.value(r)) * 86_400))
                    .collect(),
                TimeKind::Seconds,
            )
        }
        DataType::Date64 => (
            ints(a)?.into_iter().map(|t| t.map(|t| t.div_euclid(1_000))).collect(),
            TimeKind::Seconds,
        ),
        d if d.is_integer() => (ints(a)?, TimeKind::Integer),
        d if is_float(&d) => (
            floats(a, "--time", name)?
                .into_iter()
                .map(|v| v.filter(|v| v.is_finite()).map(|v| v.floor() as i64))
                .collect(),
            TimeKind::Integer,
        ),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(..) => {
            let text = arrow::compute::cast(a, &DataType::Utf8)?;
            let s = text.as_string::<i32>();
            let mut out = Vec::with_capacity(s.len());
            for i in 0..s.len() {
                if s.is_null(i) || s.value(i).trim().is_empty() {
                    out.push(None);
                    continue;
                }
                let v = s.value(i);
                out.push(Some(parse_time_text(v).with_context(|| {
                    format!(
                        "--time {name}: row {}: `{v}` is not a date or timestamp; use ISO 8601 such as \
                         2024-05-01, 2024-05-01T12:00:00 or 2024-05-01T12:00:00Z (or integers: a batch \
                         index or epoch seconds)",
                        i + 1
                    )
                })?));
            }
            (out, TimeKind::Seconds)
        }
        other => bail!(
            "--time {name}: the column is {}; use timestamps, dates, integers or ISO 8601 text",
            type_name(&other)
        ),
    })
}

/// ISO 8601 / RFC 3339 text as epoch seconds; text without an offset is read as UTC.
fn parse_time_text(s: &str) -> Option<i64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z", "%Y-%m-%d %H:%M%#z"] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(t.timestamp());
        }
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc().timestamp());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
}

/// The scored rows of one table.
struct Side {
    label: String,
    rows: usize,
    skipped: Skipped,
    /// 1-based row numbers of the kept rows, for messages.
    row_numbers: Vec<usize>,
    values: Values,
    /// Time of each kept row (its 0-based position without a time column).
    times: Vec<i64>,
}

enum Values {
    Classes {
        labels: Vec<String>,
        predicted: Vec<String>,
        /// One vector per `--proba` column, one value per kept row.
        proba: Vec<Vec<f64>>,
    },
    Numbers {
        labels: Vec<f64>,
        predicted: Vec<f64>,
    },
}

/// Reads the label, prediction, probability and time columns of `t` and keeps complete rows.
fn read_side(
    t: &Loaded,
    a: &PerformanceArgs,
    task: Task,
    proba: &[ProbaSpec],
    times: Option<&[Option<i64>]>,
) -> Result<Side> {
    let label_arr = t.column(&a.label, "--label")?;
    let pred_arr = t.column(&a.prediction, "--prediction")?;
    let proba_cols: Vec<Vec<Option<f64>>> = proba
        .iter()
        .map(|p| {
            let arr = t.column(&p.column, "--proba")?;
            let v = floats(&arr, "--proba", &p.column)?;
            Ok(v.into_iter().map(|x| x.filter(|x| !x.is_nan())).collect())
        })
        .collect::<Result<_>>()?;
    enum Raw {
        Classes(Vec<Option<String>>, Vec<Option<String>>),
        Numbers(Vec<Option<f64>>, Vec<Option<f64>>),
    }
    let raw = match task {
        Task::Classification => Raw::Classes(
            class_keys(&label_arr, "--label", &a.label)?,
            class_keys(&pred_arr, "--prediction", &a.prediction)?,
        ),
        Task::Regression => {
            let nan_missing = |v: Vec<Option<f64>>| v.into_iter().map(|x| x.filter(|x| !x.is_nan())).collect();
            Raw::Numbers(
                nan_missing(floats(&label_arr, "--label", &a.label)?),
                nan_missing(floats(&pred_arr, "--prediction", &a.prediction)?),
            )
        }
    };
    let n = label_arr.len();
    let mut skipped = Skipped::default();
    let mut kept = Vec::new();
    for i in 0..n {
        let (has_label, has_prediction) = match &raw {
            Raw::Classes(l, p) => (l[i].is_some(), p[i].is_some()),
            Raw::Numbers(l, p) => (l[i].is_some(), p[i].is_some()),
        };
        if !has_label {
            skipped.missing_label += 1;
        } else if !has_prediction {
            skipped.missing_prediction += 1;
        } else if proba_cols.iter().any(|c| c[i].is_none()) {
            skipped.missing_probability += 1;
        } else if times.is_some_and(|t| t[i].is_none()) {
            skipped.missing_time += 1;
        } else {
            kept.push(i);
        }
    }
    let values = match raw {
        Raw::Classes(l, p) => {
            let proba: Vec<Vec<f64>> = proba_cols
                .iter()
                .zip(proba)
                .map(|(c, spec)| {
                    kept.iter()
                        .map(|&i| {
                            let v = c[i].expect("kept rows have probabilities");
                            if (0.0..=1.0).contains(&v) {
                                Ok(v)
                            } else {
                                bail!(
                                    "--proba {}: row {}: {v} is not a probability in [0, 1]; pass probabilities, \
                                     not scores or logits",
                                    spec.column,
                                    i + 1
                                )
                            }
                        })
                        .collect::<Result<Vec<f64>>>()
                })
                .collect::<Result<_>>()?;
            Values::Classes {
                labels: kept.iter().map(|&i| l[i].clone().expect("kept")).collect(),
                predicted: kept.iter().map(|&i| p[i].clone().expect("kept")).collect(),
                proba,
            }
        }
        Raw::Numbers(l, p) => {
            let labels: Vec<f64> = kept.iter().map(|&i| l[i].expect("kept")).collect();
            let predicted: Vec<f64> = kept.iter().map(|&i| p[i].expect("kept")).collect();
            for (what, col, v) in [
                ("--label", &a.label, &labels),
                ("--prediction", &a.prediction, &predicted),
            ] {
                if let Some(j) = v.iter().position(|x| !x.is_finite()) {
                    bail!(
                        "{what} {col}: row {}: {} is not a finite number; fix or drop the row",
                        kept[j] + 1,
                        v[j]
                    );
                }
            }
            Values::Numbers { labels, predicted }
        }
    };
    let times = match times {
        Some(t) => kept.iter().map(|&i| t[i].expect("kept rows have a time")).collect(),
        None => kept.iter().map(|&i| i as i64).collect(),
    };
    Ok(Side {
        label: t.label.clone(),
        rows: n,
        skipped,
        row_numbers: kept.iter().map(|&i| i + 1).collect(),
        values,
        times,
    })
}

/// Regression when both columns are floats and the label has many distinct values.
fn infer_task(label: &ArrayRef, prediction: &ArrayRef) -> Task {
    if !(is_float(label.data_type()) && is_float(prediction.data_type())) {
        return Task::Classification;
    }
    let Ok(f) = arrow::compute::cast(label, &DataType::Float64) else {
        return Task::Classification;
    };
    let f = f.as_primitive::<Float64Type>();
    let mut seen = HashSet::new();
    for v in f.iter().flatten().filter(|v| !v.is_nan()) {
        seen.insert(v.to_bits());
        if seen.len() > REGRESSION_MIN_DISTINCT {
            return Task::Regression;
        }
    }
    Task::Classification
}

fn window_spec(a: &PerformanceArgs, s: &Settings, kind: TimeKind, times: &[i64]) -> Result<WindowSpec> {
    if let Some(n) = a.windows {
        return Ok(WindowSpec::EqualCount { count: n });
    }
    if let Some(width) = s.width {
        if kind == TimeKind::RowOrder {
            bail!(
                "--window needs --time COL (windows of time); without a time column use --windows N (equal row \
                 counts in file order)"
            );
        }
        return Ok(WindowSpec::Width { width, origin: 0 });
    }
    Ok(match kind {
        TimeKind::RowOrder => WindowSpec::EqualCount { count: 1 },
        TimeKind::Seconds => WindowSpec::Width {
            width: 86_400,
            origin: 0,
        },
        TimeKind::Integer => {
            let (lo, hi) = (
                times.iter().min().copied().unwrap_or(0),
                times.iter().max().copied().unwrap_or(0),
            );
            if (i128::from(hi) - i128::from(lo)) > i128::from(MAX_DEFAULT_INTEGER_SPAN) {
                bail!(
                    "--time {}: integer times run from {lo} to {hi}, too many batches for one window each; say \
                     how to cut them: --window 1d (if they are epoch seconds), --window N (N per window) or \
                     --windows N",
                    a.time.as_deref().unwrap_or("")
                );
            }
            WindowSpec::Width { width: 1, origin: 0 }
        }
    })
}

/// A window's name for people and for the metric history.
fn window_label(kind: TimeKind, start: i64, end: i64) -> String {
    match kind {
        TimeKind::Seconds => format_seconds(start),
        TimeKind::Integer if end.saturating_sub(start) == 1 => start.to_string(),
        TimeKind::Integer => format!("[{start}, {end})"),
        TimeKind::RowOrder => format!("rows {}-{}", start + 1, end),
    }
}

fn format_seconds(t: i64) -> String {
    match chrono::DateTime::from_timestamp(t, 0) {
        Some(d) if t.rem_euclid(86_400) == 0 => d.format("%Y-%m-%d").to_string(),
        Some(d) => d.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => t.to_string(),
    }
}

/// The metrics shown for a task.
fn shown_metrics(task: Task, has_proba: bool) -> Vec<MetricName> {
    match task {
        Task::Classification if has_proba => vec![
            MetricName::Accuracy,
            MetricName::Precision,
            MetricName::Recall,
            MetricName::F1,
            MetricName::RocAuc,
            MetricName::LogLoss,
        ],
        Task::Classification => vec![
            MetricName::Accuracy,
            MetricName::Precision,
            MetricName::Recall,
            MetricName::F1,
        ],
        Task::Regression => vec![MetricName::Mae, MetricName::Rmse, MetricName::MeanError],
    }
}

fn evaluate(
    a: &PerformanceArgs,
    s: &Settings,
    proba: &[ProbaSpec],
    target: &Loaded,
    baseline: Option<&Loaded>,
) -> Result<PerformanceReport> {
    let task = match a.task {
        Some(t) => t,
        None => infer_task(
            &target.column(&a.label, "--label")?,
            &target.column(&a.prediction, "--prediction")?,
        ),
    };
    if task == Task::Regression && !proba.is_empty() {
        bail!("--proba is for classification; a regression model's predictions are its values");
    }
    if task == Task::Regression && a.positive.is_some() {
        bail!("--positive is for classification; drop it or pass --task classification");
    }
    let (times, kind) = match &a.time {
        Some(col) => {
            let (t, k) = time_values(&target.column(col, "--time")?, col)?;
            (Some(t), k)
        }
        None => (None, TimeKind::RowOrder),
    };
    let side = read_side(target, a, task, proba, times.as_deref())?;
    if side.times.is_empty() {
        let why = side.skipped.describe();
        bail!(
            "{}: no row has both a label and a prediction{}; nothing to score (labels may not have arrived yet)",
            side.label,
            if why.is_empty() {
                " (the table is empty)".to_string()
            } else {
                format!(" ({} rows: {})", count(side.rows as u64), why.join(", "))
            }
        );
    }
    let base_side = baseline.map(|b| read_side(b, a, task, proba, None)).transpose()?;
    if let Some(b) = &base_side
        && b.times.is_empty()
    {
        bail!(
            "--baseline {}: no row has both a label and a prediction ({}); choose a labelled baseline",
            b.label,
            b.skipped.describe().join(", ")
        );
    }
    let spec = window_spec(a, s, kind, &side.times)?;
    let has_proba = !proba.is_empty();
    for m in &s.metrics {
        let ok = shown_metrics(task, true).contains(m);
        if !ok {
            bail!(
                "--metric {}: not a {} metric; use one of {}",
                m.name(),
                if task == Task::Regression {
                    "regression"
                } else {
                    "classification"
                },
                shown_metrics(task, true)
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if !has_proba && matches!(m, MetricName::RocAuc | MetricName::LogLoss) {
            bail!(
                "--metric {}: needs the model's probabilities; name their column(s) with --proba",
                m.name()
            );
        }
    }
    let watched = if s.metrics_explicit {
        s.metrics.clone()
    } else {
        match task {
            Task::Classification if has_proba => vec![MetricName::Accuracy, MetricName::RocAuc],
            Task::Classification => vec![MetricName::Accuracy],
            Task::Regression => vec![MetricName::Mae],
        }
    };

    let (windows, base, classes, positive): (Vec<WindowReport<Metrics>>, Option<Metrics>, _, _) = match task {
        Task::Classification => {
            let prepared = classification_data(a, proba, &side, base_side.as_ref())?;
            let config = ClassificationConfig {
                positive: prepared.positive.clone(),
                confidence: a.confidence,
                bootstrap_resamples: a.resamples,
                seed: a.seed,
                ..ClassificationConfig::default()
            };
            // classification_windows, with the windows scored on all cores.
            let w = par_windows(assign_windows(&side.times, &spec)?, |w| {
                let r = classification_report(&prepared.target.select(&w.rows), &config)?;
                Ok(Metrics::Classification(Box::new(r)))
            })?;
            let b = prepared
                .baseline
                .as_ref()
                .map(|d| classification_report(d, &config).map(|r| Metrics::Classification(Box::new(r))))
                .transpose()?;
            let positive = match &prepared.positive {
                Some(p) => Some(p.clone()),
                None if prepared.classes.len() == 2 => Some(prepared.classes[1].clone()),
                None => None,
            };
            (w, b, Some(prepared.classes), positive)
        }
        Task::Regression => {
            let config = RegressionConfig {
                confidence: a.confidence,
            };
            let Values::Numbers { labels, predicted } = &side.values else {
                unreachable!("regression reads numbers")
            };
            let w = regression_windows(labels, predicted, &side.times, &spec, &config)?
                .into_iter()
                .map(|w| WindowReport {
                    window: w.window,
                    report: Metrics::Regression(w.report),
                })
                .collect();
            let b = match &base_side {
                Some(Side {
                    values: Values::Numbers { labels, predicted },
                    ..
                }) => Some(Metrics::Regression(regression_report(labels, predicted, &config)?)),
                _ => None,
            };
            (w, b, None, None)
        }
    };

    let (checks, not_checked) = drop_checks(&windows, base.as_ref(), &watched, s.metrics_explicit, s.tolerance)?;
    let mut out_windows: Vec<WindowOut> = windows
        .into_iter()
        .map(|w| WindowOut {
            index: w.window.index,
            start: w.window.start,
            end: w.window.end,
            label: window_label(kind, w.window.start, w.window.end),
            rows: w.window.rows,
            metrics: w.report,
            dropped: Vec::new(),
        })
        .collect();
    for c in &checks {
        for &i in &c.dropped {
            out_windows[i].dropped.push(c.metric);
        }
    }
    let dropped_windows: Vec<usize> = out_windows
        .iter()
        .filter(|w| !w.dropped.is_empty())
        .map(|w| w.index)
        .collect();
    let baseline_out = match (base, &base_side) {
        (Some(metrics), Some(b)) => BaselineOut {
            source: b.label.clone(),
            window: None,
            rows: b.rows,
            scored: b.times.len(),
            skipped: b.skipped.clone(),
            metrics,
        },
        _ => {
            let first = &out_windows[0];
            BaselineOut {
                source: "first window".to_string(),
                window: Some(first.label.clone()),
                rows: first.rows,
                scored: first.rows,
                skipped: Skipped::default(),
                metrics: first.metrics.clone(),
            }
        }
    };
    Ok(PerformanceReport {
        target: side.label.clone(),
        task,
        label: a.label.clone(),
        prediction: a.prediction.clone(),
        probabilities: proba.iter().map(|p| p.column.clone()).collect(),
        classes,
        positive,
        rows: side.rows,
        scored: side.times.len(),
        skipped: side.skipped.clone(),
        time: a.time.clone(),
        time_kind: kind,
        windowing: spec,
        confidence: a.confidence,
        baseline: baseline_out,
        windows: out_windows,
        checks,
        not_checked,
        concept_drift: !dropped_windows.is_empty(),
        dropped_windows,
        recorded: None,
    })
}

/// Scores every window with `score` on all cores, in window order. Each window's bootstrap is
/// seeded on its own, so the reports do not depend on the thread count. The bootstrap dominates:
/// `sluice_algo::perf::classification` measured 0.74 s per 100,000 binary rows at 1000 resamples
/// (release build), so a week of daily windows is worth spreading.
fn par_windows<R: Send>(
    windows: Vec<Window>,
    score: impl Fn(&Window) -> Result<R> + Sync,
) -> Result<Vec<WindowReport<R>>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(windows.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<Result<R>>> = (0..windows.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(w) = windows.get(i) else { break };
                        done.push((i, score(w)));
                    }
                    done
                })
            })
            .collect();
        for worker in workers {
            match worker.join() {
                Ok(done) => {
                    for (i, r) in done {
                        results[i] = Some(r);
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    windows
        .iter()
        .zip(results)
        .map(|(w, r)| {
            Ok(WindowReport {
                window: w.bounds,
                report: r.expect("every window is scored")?,
            })
        })
        .collect()
}

/// The classification inputs with one class list for target and baseline.
struct Prepared {
    classes: Vec<String>,
    positive: Option<String>,
    target: ClassificationData,
    baseline: Option<ClassificationData>,
}

fn classification_data(a: &PerformanceArgs, proba: &[ProbaSpec], side: &Side, base: Option<&Side>) -> Result<Prepared> {
    let mut classes: BTreeSet<String> = BTreeSet::new();
    for s in std::iter::once(side).chain(base) {
        if let Values::Classes { labels, predicted, .. } = &s.values {
            classes.extend(labels.iter().cloned());
            classes.extend(predicted.iter().cloned());
        }
    }
    if a.task.is_none() && classes.len() > MAX_INFERRED_CLASSES {
        bail!(
            "--label {}: {} distinct classes; for a numeric target pass --task regression (or --task classification \
             to score this many classes)",
            a.label,
            classes.len()
        );
    }
    // Which class each probability column is for.
    let mut positive = a.positive.clone();
    let mut proba_classes: Vec<String> = Vec::new();
    match proba {
        [] => {}
        [one] => {
            if let Some(c) = &one.class {
                if positive.as_ref().is_some_and(|p| p != c) {
                    bail!(
                        "--proba {c}={}: the column is class `{c}`'s probability but --positive is `{}`; make them agree",
                        one.column,
                        positive.as_deref().unwrap_or_default()
                    );
                }
                classes.insert(c.clone());
                positive = Some(c.clone());
            } else if positive.is_none() && classes.len() != 2 {
                bail!(
                    "--proba {}: one column is the positive class's probability, but there are {} classes ({}); name \
                     the class with --positive CLASS (or --proba CLASS={}), or give one column per class",
                    one.column,
                    classes.len(),
                    join_limited(&classes),
                    one.column
                );
            }
        }
        many => {
            let data_classes: Vec<String> = classes.iter().cloned().collect();
            for p in many {
                let c = match &p.class {
                    Some(c) => c.clone(),
                    None => class_of_column(&p.column, &data_classes).with_context(|| {
                        format!(
                            "--proba {}: cannot tell which class the column is for (classes: {}); write \
                             --proba CLASS={}",
                            p.column,
                            join_limited(&classes),
                            p.column
                        )
                    })?,
                };
                if proba_classes.contains(&c) {
                    bail!("--proba: two columns are for class `{c}`; give one column per class");
                }
                proba_classes.push(c);
            }
            classes.extend(proba_classes.iter().cloned());
            if let Some(missing) = classes.iter().find(|c| !proba_classes.contains(c)) {
                bail!(
                    "--proba: class `{missing}` has no probability column; give one per class ({}), e.g. \
                     --proba {missing}=COL",
                    join_limited(&classes)
                );
            }
        }
    }
    if let Some(p) = &positive
        && !classes.contains(p)
    {
        bail!(
            "--positive {p}: not a class of the label or prediction; the classes are {}",
            join_limited(&classes)
        );
    }
    let classes: Vec<String> = classes.into_iter().collect();
    let build = |s: &Side| -> Result<ClassificationData> {
        let Values::Classes {
            labels,
            predicted,
            proba: cols,
        } = &s.values
        else {
            unreachable!("classification reads classes")
        };
        let probabilities = match cols.len() {
            0 => Probabilities::None,
            1 => Probabilities::Positive(cols[0].clone()),
            k => {
                // Columns reordered into class order, row-major.
                let order: Vec<usize> = classes
                    .iter()
                    .map(|c| {
                        proba_classes
                            .iter()
                            .position(|p| p == c)
                            .expect("every class has a column")
                    })
                    .collect();
                let mut full = Vec::with_capacity(labels.len() * k);
                for (r, row_number) in s.row_numbers.iter().enumerate() {
                    let row: Vec<f64> = order.iter().map(|&j| cols[j][r]).collect();
                    let sum: f64 = row.iter().sum();
                    if (sum - 1.0).abs() > PROBABILITY_SUM_TOLERANCE {
                        bail!(
                            "--proba: row {} of {}: the class probabilities sum to {sum}, not 1; give every class's \
                             probability",
                            row_number,
                            s.label
                        );
                    }
                    full.extend(row);
                }
                Probabilities::Full(full)
            }
        };
        Ok(ClassificationData::from_labels(
            labels,
            predicted,
            probabilities,
            Some(classes.clone()),
        )?)
    };
    Ok(Prepared {
        target: build(side)?,
        baseline: base.map(build).transpose()?,
        classes,
        positive,
    })
}

/// The class a probability column is named after: the column is the class, or ends with
/// `_CLASS`, `-CLASS`, `.CLASS` or `:CLASS` (the longest such class wins).
fn class_of_column(column: &str, classes: &[String]) -> Option<String> {
    classes
        .iter()
        .filter(|c| {
            column == c.as_str()
                || ['_', '-', '.', ':']
                    .iter()
                    .any(|sep| column.strip_suffix(c.as_str()).is_some_and(|rest| rest.ends_with(*sep)))
        })
        .max_by_key(|c| c.len())
        .cloned()
}

fn join_limited(classes: &BTreeSet<String>) -> String {
    let mut s: Vec<&str> = classes.iter().take(10).map(String::as_str).collect();
    if classes.len() > 10 {
        s.push("...");
    }
    s.join(", ")
}

/// One drop check per watched metric, against the first window or the external baseline.
fn drop_checks(
    windows: &[WindowReport<Metrics>],
    baseline: Option<&Metrics>,
    watched: &[MetricName],
    explicit: bool,
    tolerance: Tolerance,
) -> Result<(Vec<MetricCheck>, Vec<String>)> {
    let which = if baseline.is_some() {
        "the baseline"
    } else {
        "the first window"
    };
    // With an external baseline it goes first; the check then drops its own verdict.
    let combined: Vec<WindowReport<Metrics>> = match baseline {
        Some(b) => std::iter::once(WindowReport {
            window: WindowBounds {
                index: 0,
                start: 0,
                end: 0,
                rows: 0,
            },
            report: b.clone(),
        })
        .chain(windows.iter().cloned())
        .collect(),
        None => windows.to_vec(),
    };
    let mut checks = Vec::new();
    let mut not_checked = Vec::new();
    for &m in watched {
        let name = m.name();
        let base_metric = combined[0].report.metric(m).expect("metric belongs to the task");
        match base_metric {
            Metric::Undefined { reason } if explicit => bail!(
                "--metric {name}: {which} has no {name} ({reason}); choose another --metric or a --baseline where \
                 it is defined"
            ),
            Metric::Undefined { reason } => {
                not_checked.push(format!("{name}: {which} has none ({reason})"));
                continue;
            }
            Metric::Defined(e) if e.ci.is_none() && tolerance == Tolerance::BaselineCi => bail!(
                "{name}: {which}'s value has no confidence interval ({}); pass --tolerance abs:X or rel:X",
                e.note.as_deref().unwrap_or("not computed")
            ),
            Metric::Defined(_) => {}
        }
        let report = sluice_algo::perf::PerformanceDrop {
            metric: m,
            baseline_window: 0,
            tolerance,
        }
        .check(&combined)
        .with_context(|| format!("drop check on {name}"))?;
        let mut verdicts = report.windows;
        if baseline.is_some() {
            verdicts.remove(0);
            for v in &mut verdicts {
                v.reason = v.reason.replace("(baseline window 0 has ", "(the baseline has ");
            }
        }
        checks.push(MetricCheck {
            metric: m,
            tolerance,
            baseline_value: report.baseline_value,
            allowed_low: report.allowed_low,
            allowed_high: report.allowed_high,
            dropped: verdicts.iter().filter(|v| v.dropped).map(|v| v.window).collect(),
            windows: verdicts,
        });
    }
    Ok((checks, not_checked))
}

/// Records every non-empty window in the series `performance:<dataset>`, one batch per window
/// labelled by the window; a re-run replaces the batch (see `sluice_store::metrics`).
async fn record(ws: &Workspace, version: &VersionRecord, r: &PerformanceReport) -> Result<Recorded> {
    let store = ws.metrics().await?;
    let series = format!("performance:{}", version.dataset);
    let mut batches = Vec::new();
    for w in r.windows.iter().filter(|w| w.rows > 0) {
        let mut points = vec![("rows".to_string(), w.rows as f64)];
        for m in ALL_METRICS {
            if let Some(Metric::Defined(e)) = w.metrics.metric(m) {
                points.push((m.name().to_string(), e.value));
                if let Some(ci) = e.ci {
                    points.push((format!("{}.ci_low", m.name()), ci.low));
                    points.push((format!("{}.ci_high", m.name()), ci.high));
                }
            }
        }
        points.push(("dropped".to_string(), if w.dropped.is_empty() { 0.0 } else { 1.0 }));
        let attrs = serde_json::json!({
            "version": version.label(),
            "target": r.target,
            "task": r.task,
            "window": {"start": w.start, "end": w.end, "time_kind": r.time_kind},
            "dropped": w.dropped,
        });
        let seq = store
            .record_batch(&series, &w.label, &points, Some(&attrs))
            .await
            .with_context(|| format!("cannot record window {} in the metric history", w.label))?;
        batches.push((w.label.clone(), seq));
    }
    Ok(Recorded { series, batches })
}

/// `0.912 [0.884, 0.935]`, `0.912` without an interval, `n/a` when undefined.
fn metric_cell(m: Option<&Metric>) -> String {
    match m {
        Some(Metric::Defined(e)) => match e.ci {
            Some(ci) => format!("{} [{}, {}]", num(e.value), num(ci.low), num(ci.high)),
            None => num(e.value),
        },
        _ => "n/a".to_string(),
    }
}

fn num(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if !x.is_finite() {
        format!("{x}")
    } else if x.abs() < 1e-3 || x.abs() >= 1e5 {
        format!("{x:.2e}")
    } else {
        format!("{x:.3}")
    }
}

fn bound(c: &MetricCheck) -> String {
    match (c.allowed_low, c.allowed_high) {
        (Some(l), Some(h)) => format!("within [{}, {}]", num(l), num(h)),
        (Some(l), None) => format!(">= {}", num(l)),
        (None, Some(h)) => format!("<= {}", num(h)),
        (None, None) => "unbounded".to_string(),
    }
}

fn rule(t: Tolerance, confidence: f64) -> String {
    match t {
        Tolerance::BaselineCi => format!("the baseline's {}% interval", confidence * 100.0),
        Tolerance::Absolute { max_drop } => format!("at most {max_drop} worse than the baseline"),
        Tolerance::Relative { max_drop } => format!("at most {}% worse than the baseline", max_drop * 100.0),
    }
}

fn windowing_text(r: &PerformanceReport) -> String {
    let on = match (&r.time, r.time_kind) {
        (Some(t), TimeKind::Seconds) => format!("`{t}` (epoch seconds)"),
        (Some(t), _) => format!("`{t}`"),
        (None, _) => "file order".to_string(),
    };
    match r.windowing {
        WindowSpec::Width { width, .. } if r.time_kind == TimeKind::Seconds => {
            let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
            let w = if width % 86_400 == 0 {
                plural(width / 86_400, "day")
            } else if width % 3_600 == 0 {
                plural(width / 3_600, "hour")
            } else if width % 60 == 0 {
                plural(width / 60, "minute")
            } else {
                plural(width, "second")
            };
            format!("windows of {w} on {on}")
        }
        WindowSpec::Width { width, .. } => format!("windows of {width} on {on}"),
        WindowSpec::EqualCount { count: 1 } if r.time_kind == TimeKind::RowOrder => {
            "one window (no --time; --windows N cuts the file in N)".to_string()
        }
        WindowSpec::EqualCount { count } => format!("{count} equal-count windows on {on}"),
    }
}

/// Prints the report for people.
fn print_report(r: &PerformanceReport) {
    let task = match (&r.classes, &r.positive) {
        (Some(c), Some(p)) => format!("classification, {} classes, positive class `{p}`", c.len()),
        (Some(c), None) => format!("classification, {} classes, macro averages", c.len()),
        _ => "regression".to_string(),
    };
    println!(
        "{}: {} rows, {} scored ({task})",
        r.target,
        count(r.rows as u64),
        count(r.scored as u64)
    );
    if r.skipped.total() > 0 {
        let note = if r.skipped.missing_label > 0 {
            " (labels arrive for a sample only)"
        } else {
            ""
        };
        println!("skipped {}{note}", r.skipped.describe().join(", "));
    }
    let baseline = match &r.baseline.window {
        Some(w) => format!("the first window ({w}, {} rows)", count(r.baseline.rows as u64)),
        None => format!(
            "{} (all {} scored rows)",
            r.baseline.source,
            count(r.baseline.scored as u64)
        ),
    };
    println!("{}; baseline: {baseline}", windowing_text(r));
    let shown = shown_metrics(r.task, !r.probabilities.is_empty());
    let mut header: Vec<String> = vec!["window".into(), "rows".into()];
    header.extend(shown.iter().map(|m| m.name().to_string()));
    header.push("drop".into());
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = table(&header_refs);
    if r.baseline.window.is_none() {
        let mut row = vec![Cell::new("baseline"), Cell::new(count(r.baseline.scored as u64))];
        row.extend(
            shown
                .iter()
                .map(|m| Cell::new(metric_cell(r.baseline.metrics.metric(*m)))),
        );
        row.push(Cell::new(""));
        t.add_row(row);
    }
    for w in &r.windows {
        let mut row = vec![Cell::new(&w.label), Cell::new(count(w.rows as u64))];
        row.extend(shown.iter().map(|m| Cell::new(metric_cell(w.metrics.metric(*m)))));
        let drop = if !w.dropped.is_empty() {
            format!(
                "DROP {}",
                w.dropped.iter().map(|m| m.name()).collect::<Vec<_>>().join(",")
            )
        } else if r.baseline.window.is_some() && w.index == 0 {
            "baseline".to_string()
        } else {
            "-".to_string()
        };
        row.push(Cell::new(drop));
        t.add_row(row);
    }
    print_table(&t);
    for c in &r.checks {
        println!(
            "{}: baseline {}, allowed {} ({})",
            c.metric.name(),
            num(c.baseline_value),
            bound(c),
            rule(c.tolerance, r.confidence)
        );
        for v in c.windows.iter().filter(|v| v.dropped) {
            println!("  window {} ({}): {}", v.window, r.windows[v.window].label, v.reason);
        }
    }
    for n in &r.not_checked {
        println!("not checked: {n}");
    }
    if let Some(rec) = &r.recorded
        && let (Some(first), Some(last)) = (rec.batches.first(), rec.batches.last())
    {
        println!(
            "recorded {} windows in the metric history `{}` (batches {}-{})",
            rec.batches.len(),
            rec.series,
            first.1,
            last.1
        );
    }
    if r.concept_drift {
        let metrics: BTreeSet<&str> = r
            .checks
            .iter()
            .filter(|c| !c.dropped.is_empty())
            .map(|c| c.metric.name())
            .collect();
        println!(
            "PERFORMANCE DROP (concept drift): {} of {} windows ({})",
            r.dropped_windows.len(),
            r.windows.len(),
            metrics.into_iter().collect::<Vec<_>>().join(", ")
        );
    } else {
        println!("no performance drop in {} windows", r.windows.len());
    }
}

const EXTRA_CSS: &str = ".badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:12px;font-weight:600}\
.drift{background:#ffebe9;color:#cf222e}.ok{background:#dafbe1;color:#1a7f37}\
table.cols{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d1d9e0;font-size:13px}\
table.cols th,table.cols td{padding:4px 8px;border-bottom:1px solid #eef1f4;text-align:left}\
table.cols td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
tr.dropped td{background:#fff5f5}";

const LINE_COLOR: &str = "#0969da";
const BAND_COLOR: &str = "#0969da";
const DROP_COLOR: &str = "#cf222e";

/// A self-contained page: summary, the windows' table, one chart per metric with its interval
/// band, the allowed band of watched metrics, and dropped windows in red.
fn render_html(r: &PerformanceReport) -> String {
    let mut h = String::new();
    let title = format!("Model performance: {}", r.target);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}{EXTRA_CSS}</style></head><body>",
        escape(&title)
    );
    let task = match &r.positive {
        Some(p) if r.task == Task::Classification => format!("classification, positive class {p}"),
        _ if r.task == Task::Classification => "classification, macro averages".to_string(),
        _ => "regression".to_string(),
    };
    let _ = write!(
        h,
        "<h1>{}</h1><div class=\"sub\">label <b>{}</b>, prediction <b>{}</b> ({}); {} rows, {} scored{}; {}</div>",
        escape(&title),
        escape(&r.label),
        escape(&r.prediction),
        escape(&task),
        r.rows,
        r.scored,
        if r.skipped.total() > 0 {
            format!(", skipped {}", escape(&r.skipped.describe().join(", ")))
        } else {
            String::new()
        },
        escape(&windowing_text(r))
    );
    let verdict = if r.concept_drift {
        format!(
            "<span class=\"badge drift\">performance drop</span> in {} of {} windows",
            r.dropped_windows.len(),
            r.windows.len()
        )
    } else {
        format!(
            "<span class=\"badge ok\">no performance drop</span> in {} windows",
            r.windows.len()
        )
    };
    let baseline = match &r.baseline.window {
        Some(w) => format!("the first window ({})", escape(w)),
        None => escape(&r.baseline.source),
    };
    let _ = write!(h, "<p>{verdict}. Baseline: {baseline}.</p><ul>");
    for c in &r.checks {
        let _ = write!(
            h,
            "<li><b>{}</b>: baseline {}, allowed {} ({})</li>",
            c.metric.name(),
            num(c.baseline_value),
            escape(&bound(c)),
            escape(&rule(c.tolerance, r.confidence))
        );
    }
    for n in &r.not_checked {
        let _ = write!(h, "<li>not checked: {}</li>", escape(n));
    }
    h.push_str("</ul>");
    let shown = shown_metrics(r.task, !r.probabilities.is_empty());
    h.push_str("<h2>Windows</h2><table class=\"cols\"><tr><th>window</th><th>rows</th>");
    for m in &shown {
        let _ = write!(h, "<th>{}</th>", m.name());
    }
    h.push_str("<th>verdict</th></tr>");
    if r.baseline.window.is_none() {
        let _ = write!(h, "<tr><td>baseline</td><td class=\"n\">{}</td>", r.baseline.scored);
        for m in &shown {
            let _ = write!(
                h,
                "<td class=\"n\">{}</td>",
                escape(&metric_cell(r.baseline.metrics.metric(*m)))
            );
        }
        h.push_str("<td></td></tr>");
    }
    for w in &r.windows {
        let _ = write!(
            h,
            "<tr{}><td>{}</td><td class=\"n\">{}</td>",
            if w.dropped.is_empty() { "" } else { " class=\"dropped\"" },
            escape(&w.label),
            w.rows
        );
        for m in &shown {
            let _ = write!(h, "<td class=\"n\">{}</td>", escape(&metric_cell(w.metrics.metric(*m))));
        }
        let verdict = if !w.dropped.is_empty() {
            format!(
                "<span class=\"badge drift\">drop: {}</span>",
                w.dropped.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
            )
        } else if r.baseline.window.is_some() && w.index == 0 {
            "baseline".to_string()
        } else if w.rows == 0 {
            "no rows".to_string()
        } else {
            "<span class=\"badge ok\">ok</span>".to_string()
        };
        let _ = write!(h, "<td>{verdict}</td></tr>");
    }
    h.push_str("</table><h2>Metrics per window</h2><div class=\"grid\">");
    for m in &shown {
        let points: Vec<ChartPoint> = r
            .windows
            .iter()
            .map(|w| ChartPoint {
                label: w.label.clone(),
                value: w
                    .metrics
                    .metric(*m)
                    .and_then(Metric::estimate)
                    .map(|e| (e.value, e.ci.map(|ci| (ci.low, ci.high)))),
                dropped: w.dropped.contains(m),
            })
            .collect();
        if points.iter().all(|p| p.value.is_none()) {
            continue;
        }
        let check = r.checks.iter().find(|c| c.metric == *m);
        let _ = write!(
            h,
            "<div class=\"card\"><h3>{}</h3><div class=\"type\">{}</div>{}</div>",
            m.name(),
            match check {
                Some(c) => escape(&format!("watched: allowed {}", bound(c))),
                None => "not watched".to_string(),
            },
            chart(
                &points,
                check.map(|c| (c.allowed_low, c.allowed_high)),
                m.direction() == Direction::HigherIsBetter
            )
        );
    }
    h.push_str("</div></body></html>");
    h
}

struct ChartPoint {
    label: String,
    /// Value and interval, when defined.
    value: Option<(f64, Option<(f64, f64)>)>,
    dropped: bool,
}

/// An inline SVG line chart: the interval band (a polygon over each run of windows with an
/// interval, an error bar for a lone one), the line over consecutive defined windows, dashed
/// allowed bounds, and dropped windows in red.
fn chart(points: &[ChartPoint], allowed: Option<(Option<f64>, Option<f64>)>, unit_range: bool) -> String {
    const W: f64 = 360.0;
    const H: f64 = 170.0;
    const LEFT: f64 = 46.0;
    const RIGHT: f64 = 10.0;
    const TOP: f64 = 10.0;
    const BOTTOM: f64 = 34.0;
    let mut ys: Vec<f64> = Vec::new();
    for p in points {
        if let Some((v, ci)) = p.value {
            ys.push(v);
            if let Some((lo, hi)) = ci {
                ys.extend([lo, hi]);
            }
        }
    }
    let (al, ah) = allowed.unwrap_or((None, None));
    ys.extend(al.iter().chain(ah.iter()).copied());
    let ys: Vec<f64> = ys.into_iter().filter(|y| y.is_finite()).collect();
    let (mut lo, mut hi) = ys
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &y| (a.min(y), b.max(y)));
    if !(lo.is_finite() && hi.is_finite()) {
        return String::new();
    }
    if hi - lo < 1e-12 {
        let pad = if lo.abs() > 1e-12 { lo.abs() * 0.1 } else { 0.5 };
        lo -= pad;
        hi += pad;
    } else {
        let pad = (hi - lo) * 0.08;
        lo -= pad;
        hi += pad;
    }
    if unit_range {
        // A share (accuracy, AUC, ...) is plotted within [0, 1].
        (lo, hi) = (lo.max(0.0), hi.min(1.0));
    }
    let n = points.len().max(1) as f64;
    let x = |i: usize| LEFT + (i as f64 + 0.5) * (W - LEFT - RIGHT) / n;
    let y = |v: f64| TOP + (hi - v) / (hi - lo) * (H - TOP - BOTTOM);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\"><rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{}\" height=\"{}\" fill=\"#fff\" stroke=\"#d1d9e0\"/>",
        W - LEFT - RIGHT,
        H - TOP - BOTTOM
    );
    // Interval band over runs of consecutive windows that have one.
    let mut i = 0;
    while i < points.len() {
        let has_ci = |p: &ChartPoint| matches!(p.value, Some((_, Some(_))));
        if !has_ci(&points[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < points.len() && has_ci(&points[i]) {
            i += 1;
        }
        let run = &points[start..i];
        let ci = |p: &ChartPoint| p.value.and_then(|v| v.1).expect("run has intervals");
        if run.len() == 1 {
            let (l, u) = ci(&run[0]);
            let _ = write!(
                s,
                "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"{BAND_COLOR}\" stroke-opacity=\"0.35\" stroke-width=\"6\"/>",
                x(start),
                y(u),
                y(l)
            );
        } else {
            let mut poly: Vec<String> = run
                .iter()
                .enumerate()
                .map(|(k, p)| format!("{:.1},{:.1}", x(start + k), y(ci(p).1)))
                .collect();
            poly.extend(
                run.iter()
                    .enumerate()
                    .rev()
                    .map(|(k, p)| format!("{:.1},{:.1}", x(start + k), y(ci(p).0))),
            );
            let _ = write!(
                s,
                "<polygon points=\"{}\" fill=\"{BAND_COLOR}\" fill-opacity=\"0.15\" stroke=\"none\"/>",
                poly.join(" ")
            );
        }
    }
    for (v, what) in [(al, "allowed min"), (ah, "allowed max")] {
        if let Some(v) = v {
            let _ = write!(
                s,
                "<line x1=\"{LEFT}\" y1=\"{0:.1}\" x2=\"{1}\" y2=\"{0:.1}\" stroke=\"{DROP_COLOR}\" stroke-dasharray=\"4 3\"/><text x=\"{2:.1}\" y=\"{3:.1}\" text-anchor=\"end\">{what}</text>",
                y(v),
                W - RIGHT,
                W - RIGHT - 2.0,
                y(v) - 3.0
            );
        }
    }
    // The line over consecutive defined windows.
    let mut run: Vec<String> = Vec::new();
    let flush = |run: &mut Vec<String>, s: &mut String| {
        if run.len() > 1 {
            let _ = write!(
                s,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{LINE_COLOR}\" stroke-width=\"1.5\"/>",
                run.join(" ")
            );
        }
        run.clear();
    };
    for (i, p) in points.iter().enumerate() {
        match p.value {
            Some((v, _)) => run.push(format!("{:.1},{:.1}", x(i), y(v))),
            None => flush(&mut run, &mut s),
        }
    }
    flush(&mut run, &mut s);
    for (i, p) in points.iter().enumerate() {
        if let Some((v, ci)) = p.value {
            let tip = match ci {
                Some((l, u)) => format!("{}: {} [{}, {}]", p.label, num(v), num(l), num(u)),
                None => format!("{}: {}", p.label, num(v)),
            };
            let (color, r) = if p.dropped {
                (DROP_COLOR, 4.0)
            } else {
                (LINE_COLOR, 2.5)
            };
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{r}\" fill=\"{color}\"><title>{}</title></circle>",
                x(i),
                y(v),
                escape(&tip)
            );
        }
    }
    // Axes: the value range, and the first and last window.
    let _ = write!(
        s,
        "<text x=\"{0:.1}\" y=\"{1:.1}\" text-anchor=\"end\">{2}</text><text x=\"{0:.1}\" y=\"{3:.1}\" text-anchor=\"end\">{4}</text>",
        LEFT - 4.0,
        TOP + 8.0,
        num(hi),
        H - BOTTOM,
        num(lo)
    );
    if let Some(first) = points.first() {
        let _ = write!(
            s,
            "<text x=\"{LEFT}\" y=\"{:.1}\">{}</text>",
            H - BOTTOM + 14.0,
            escape(&first.label)
        );
    }
    if points.len() > 1
        && let Some(last) = points.last()
    {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            H - BOTTOM + 26.0,
            escape(&last.label)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_tolerances_parse() {
        assert_eq!(parse_width("1d").unwrap(), 86_400);
        assert_eq!(parse_width("12h").unwrap(), 43_200);
        assert_eq!(parse_width("30m").unwrap(), 1_800);
        assert_eq!(parse_width("2w").unwrap(), 1_209_600);
        assert_eq!(parse_width("7").unwrap(), 7);
        for bad in ["0", "1y", "d", "-3", "1.5h", ""] {
            let e = parse_width(bad).unwrap_err().to_string();
            assert!(e.contains("--window"), "{bad}: {e}");
        }
        assert_eq!(parse_tolerance("ci").unwrap(), Tolerance::BaselineCi);
        assert_eq!(
            parse_tolerance("abs:0.02").unwrap(),
            Tolerance::Absolute { max_drop: 0.02 }
        );
        assert_eq!(
            parse_tolerance("rel:0.05").unwrap(),
            Tolerance::Relative { max_drop: 0.05 }
        );
        for bad in ["abs", "abs:-1", "pct:3", "rel:x"] {
            assert!(parse_tolerance(bad).unwrap_err().to_string().contains("abs:X"), "{bad}");
        }
        assert_eq!(parse_metric("AUC").unwrap(), MetricName::RocAuc);
        assert!(
            parse_metric("kappa")
                .unwrap_err()
                .to_string()
                .contains("accuracy, precision")
        );
    }

    #[test]
    fn times_parse_as_utc_epoch_seconds() {
        // date -u -d '2024-05-01T12:30:00Z' +%s = 1714566600
        assert_eq!(parse_time_text("2024-05-01T12:30:00Z"), Some(1_714_566_600));
        assert_eq!(parse_time_text("2024-05-01 12:30:00"), Some(1_714_566_600));
        assert_eq!(parse_time_text("2024-05-01T12:30"), Some(1_714_566_600));
        assert_eq!(parse_time_text("2024-05-01T14:30:00+02:00"), Some(1_714_566_600));
        assert_eq!(parse_time_text("2024-05-01 12:30:00.250"), Some(1_714_566_600));
        assert_eq!(parse_time_text("2024-05-01"), Some(1_714_521_600));
        assert_eq!(parse_time_text("yesterday"), None);
        assert_eq!(parse_time_text("2024-13-01"), None);
        assert_eq!(format_seconds(1_714_521_600), "2024-05-01");
        assert_eq!(format_seconds(1_714_566_600), "2024-05-01T12:30:00Z");
    }

    #[test]
    fn class_names_agree_across_types() {
        assert_eq!(float_key(1.0), "1");
        assert_eq!(float_key(-0.0), "0");
        assert_eq!(float_key(0.5), "0.5");
        let classes = vec!["a".to_string(), "ba".to_string(), "cat".to_string()];
        assert_eq!(class_of_column("p_ba", &classes).as_deref(), Some("ba"));
        assert_eq!(class_of_column("proba.a", &classes).as_deref(), Some("a"));
        assert_eq!(class_of_column("cat", &classes).as_deref(), Some("cat"));
        assert_eq!(class_of_column("pcat", &classes), None);
    }

    #[test]
    fn parallel_windows_equal_the_library_sequential_ones() {
        let labels: Vec<String> = (0..300).map(|i| (i % 2).to_string()).collect();
        let predicted: Vec<String> = (0..300)
            .map(|i| ((i % 2) ^ usize::from(i % 7 == 0)).to_string())
            .collect();
        let p: Vec<f64> = (0..300).map(|i| (i % 10) as f64 / 10.0).collect();
        let data = ClassificationData::from_labels(&labels, &predicted, Probabilities::Positive(p), None).unwrap();
        let times: Vec<i64> = (0..300).map(|i| i / 40).collect();
        let spec = WindowSpec::Width { width: 1, origin: 0 };
        let config = ClassificationConfig {
            bootstrap_resamples: 200,
            seed: 42,
            ..ClassificationConfig::default()
        };
        let sequential = sluice_algo::perf::classification_windows(&data, &times, &spec, &config).unwrap();
        let parallel = par_windows(assign_windows(&times, &spec).unwrap(), |w| {
            Ok(classification_report(&data.select(&w.rows), &config)?)
        })
        .unwrap();
        assert_eq!(sequential.len(), 8);
        assert_eq!(parallel, sequential);
    }

    #[test]
    fn chart_draws_band_line_bounds_and_drops() {
        let p = |label: &str, v: Option<f64>, dropped: bool| ChartPoint {
            label: label.to_string(),
            value: v.map(|v| (v, Some((v - 0.05, v + 0.05)))),
            dropped,
        };
        let svg = chart(
            &[
                p("d1", Some(0.9), false),
                p("d2", Some(0.88), false),
                p("d3", None, false),
                p("d4", Some(0.6), true),
            ],
            Some((Some(0.85), None)),
            true,
        );
        assert_eq!(svg.matches("<polygon").count(), 1, "{svg}");
        assert_eq!(svg.matches("<polyline").count(), 1, "{svg}");
        assert!(svg.contains("stroke-width=\"6\""), "a lone window gets an error bar");
        assert!(svg.contains("allowed min") && svg.contains(&format!("fill=\"{DROP_COLOR}\"")));
        assert!(svg.contains("<title>d4: 0.600 [0.550, 0.650]</title>"));
    }
}
