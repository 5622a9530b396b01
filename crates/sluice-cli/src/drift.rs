//! `sluice drift REF CUR`: per-column drift between two versions or files, exact when both fit
//! the budget and from the stored profiles otherwise; exit 1 on dataset, label or prediction drift.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use comfy_table::Cell;
use sluice_algo::drift::{Correction, Method};
use sluice_drift::{Computation, DriftConfig, DriftReport, Role, Sample};
use sluice_profile::ProfileStates;
use sluice_store::Workspace;
use sluice_store::meta::{TableEntry, VersionRecord};
use sluice_version::DatasetRef;

use crate::Exit;
use crate::output::{count, print_json, print_table, table};

/// `sluice drift`.
#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The reference: a version (NAME@REF) or a CSV/TSV, JSON Lines or Parquet file.
    pub reference: String,
    /// The current data: a version or a file.
    pub current: String,
    /// Settings file (TOML): method, thresholds, correction, per-column overrides. Flags win.
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// One method for every column: ks, chi2, z, psi, kl, js, wasserstein, hellinger, anderson,
    /// cvm, tvd (default: by type and reference size).
    #[arg(long, short)]
    pub method: Option<Method>,
    /// One threshold for every column (p-value level for tests, distance otherwise).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Multiple-testing correction: none, bonferroni (default), bh.
    #[arg(long)]
    pub correction: Option<Correction>,
    /// Family significance level for the tests.
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Dataset drift when at least this share of columns drifted (default 0.5).
    #[arg(long)]
    pub drift_share: Option<f64>,
    /// Rows per side up to which full samples are compared (default 5000000); above, profiles.
    #[arg(long, value_name = "ROWS")]
    pub exact_budget: Option<u64>,
    /// Compare from the profiles even when the samples fit the budget.
    #[arg(long)]
    pub sketch: bool,
    /// Compare only these columns (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Leave these columns out (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// The label column (label drift).
    #[arg(long)]
    pub label: Option<String>,
    /// The prediction column (prediction drift).
    #[arg(long)]
    pub prediction: Option<String>,
    /// Which table of a version, when it has several.
    #[arg(long, value_name = "PATH")]
    pub table: Option<String>,
    /// Also write a self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Exit 0 even when drift is found (default: exit 1, to gate a pipeline).
    #[arg(long)]
    pub no_fail: bool,
}

impl DriftArgs {
    /// The configuration: the file's, then the flags on top.
    pub fn config(&self, cwd: &Path) -> Result<DriftConfig> {
        let mut cfg = match &self.config {
            Some(p) => DriftConfig::load(&cwd.join(p))?,
            None => DriftConfig::default(),
        };
        if self.method.is_some() {
            cfg.method = self.method;
        }
        if self.threshold.is_some() {
            cfg.threshold = self.threshold;
        }
        if let Some(c) = self.correction {
            cfg.correction = c;
        }
        if let Some(a) = self.alpha {
            cfg.alpha = a;
        }
        if let Some(s) = self.drift_share {
            cfg.drift_share = s;
        }
        if let Some(b) = self.exact_budget {
            cfg.exact_budget = b;
        }
        cfg.sketch_only |= self.sketch;
        if !self.columns.is_empty() {
            cfg.only = self.columns.clone();
        }
        cfg.ignore.extend(self.ignore.iter().cloned());
        if self.label.is_some() {
            cfg.label = self.label.clone();
        }
        if self.prediction.is_some() {
            cfg.prediction = self.prediction.clone();
        }
        cfg.validate().context("in the flags")?;
        Ok(cfg)
    }
}

/// Runs `sluice drift`.
pub async fn run(cwd: &Path, a: DriftArgs, json: bool) -> Result<()> {
    let cfg = a.config(cwd)?;
    let mut ws = None;
    let mut reference = open(cwd, &mut ws, &a.reference, a.table.as_deref(), &cfg).await?;
    let mut current = open(cwd, &mut ws, &a.current, a.table.as_deref(), &cfg).await?;
    let report = tokio::task::block_in_place(|| sluice_drift::compare(&mut reference, &mut current, &cfg))?;
    if let Some(path) = &a.html {
        let path = cwd.join(path);
        let page = sluice_drift::html::render("Drift report", &report, &[]);
        std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if json {
        print_json(&report)?;
    } else {
        print_report(&report);
        if let Some(p) = &a.html {
            println!("report: {}", p.display());
        }
    }
    if report.any_drift() && !a.no_fail {
        return Err(Exit(1).into());
    }
    Ok(())
}

/// Opens a version's table or a file as a drift sample: rows when they fit the budget (and the
/// exact path is wanted), the stored profile otherwise.
pub async fn open(
    cwd: &Path,
    ws: &mut Option<Workspace>,
    target: &str,
    table_path: Option<&str>,
    cfg: &DriftConfig,
) -> Result<Sample> {
    let budget = if cfg.sketch_only { 0 } else { cfg.exact_budget };
    let path = cwd.join(target);
    if path.is_file() {
        let s = tokio::task::block_in_place(|| Sample::read_file_where(&path, budget, |c| cfg.includes(c)))?;
        return Ok(relabel(s, target));
    }
    if !target.contains('@') {
        bail!(
            "{}: no such file; to compare a version write NAME@REF (for example {target}@latest)",
            path.display()
        );
    }
    if ws.is_none() {
        *ws = Some(Workspace::discover(cwd).await?);
    }
    let ws = ws.as_ref().expect("set above");
    let r: DatasetRef = target.parse()?;
    let version = r.resolve(ws.meta.as_ref()).await?;
    let t = pick_table(ws, &version, target, table_path).await?;
    version_sample(ws, &version, &t, budget, |c| cfg.includes(c)).await
}

fn relabel(mut s: Sample, label: &str) -> Sample {
    s.label = label.to_string();
    s
}

/// The one table of `version` (or the one `--table` names).
pub async fn pick_table(
    ws: &Workspace,
    version: &VersionRecord,
    target: &str,
    table_path: Option<&str>,
) -> Result<TableEntry> {
    let tables = ws.meta.tables(version.id).await?;
    Ok(match table_path {
        Some(p) => tables
            .into_iter()
            .find(|t| t.path == p)
            .with_context(|| format!("{target} has no table `{p}`; `sluice show {target}` lists its tables"))?,
        None => match tables.len() {
            0 => bail!("{target} has no tables (only CSV/TSV, JSON Lines and Parquet files are read as tables)"),
            1 => tables.into_iter().next().expect("one table"),
            _ => bail!(
                "{target} has {} tables ({}); choose one with --table PATH",
                tables.len(),
                tables.iter().map(|t| t.path.as_str()).collect::<Vec<_>>().join(", ")
            ),
        },
    })
}

/// A version's table as a sample: its canonical rows when they fit `budget`, else its profile
/// (stored at `sluice add`; computed now for versions added before profiles existed).
/// Only the columns `keep` accepts are decoded from the rows.
pub async fn version_sample(
    ws: &Workspace,
    version: &VersionRecord,
    t: &TableEntry,
    budget: u64,
    keep: impl Fn(&str) -> bool,
) -> Result<Sample> {
    let label = format!("{}:{}", version.label(), t.path);
    let stored = match &t.profile {
        Some(id) => Some(ProfileStates::decode(&ws.objects.get_bytes(id).await?)?),
        None => None,
    };
    if t.rows <= budget {
        let mut s = read_canonical(ws, t, |path| {
            Ok(sluice_drift::sample::read_parquet_where(path, &label, keep)?)
        })
        .await?;
        s.profile = stored;
        return Ok(s);
    }
    let profile = match stored {
        Some(p) => p,
        None => sluice_version::profile::profile_canonical(ws, t).await?,
    };
    Ok(Sample::from_profile(label, profile))
}

/// Runs `read` on a table's canonical Parquet copy: in place for a local store, on a temp copy
/// (removed afterwards) for a remote one.
pub async fn read_canonical<T>(ws: &Workspace, t: &TableEntry, read: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    if let Some(p) = ws.objects.local_path(&t.canonical) {
        return tokio::task::block_in_place(|| read(&p));
    }
    let tmp = ws.objects.tmp_path("canonical.parquet");
    ws.objects.copy_to(&t.canonical, &tmp).await?;
    let out = tokio::task::block_in_place(|| read(&tmp));
    let _ = std::fs::remove_file(&tmp);
    out
}

fn fmt(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.is_infinite() {
        "inf".into()
    } else if x.abs() < 1e-3 || x.abs() >= 1e5 {
        format!("{x:.2e}")
    } else {
        format!("{x:.4}")
    }
}

/// Prints the report for people.
pub fn print_report(r: &DriftReport) {
    println!(
        "reference {} ({} rows) -> current {} ({} rows)",
        r.reference.label,
        count(r.reference.rows),
        r.current.label,
        count(r.current.rows)
    );
    let mut t = table(&[
        "column",
        "method",
        "statistic",
        "p",
        "p adj",
        "threshold",
        "drift",
        "computed",
    ]);
    for c in &r.columns {
        let name = match c.role {
            Role::Feature => c.column.clone(),
            Role::Label => format!("{} (label)", c.column),
            Role::Prediction => format!("{} (prediction)", c.column),
        };
        let computed = match &c.computation {
            Computation::Exact => "exact".to_string(),
            Computation::ExactCounts => "exact counts".to_string(),
            Computation::Sketch { error_bound, .. } => format!("sketch ±{}", fmt(*error_bound)),
        };
        t.add_row(vec![
            Cell::new(name),
            Cell::new(c.method.to_string()),
            Cell::new(fmt(c.statistic)),
            Cell::new(c.p_value.map(fmt).unwrap_or_default()),
            Cell::new(c.p_adjusted.map(fmt).unwrap_or_default()),
            Cell::new(fmt(c.threshold)),
            Cell::new(if c.drifted { "DRIFT" } else { "-" }),
            Cell::new(computed),
        ]);
    }
    print_table(&t);
    for s in &r.skipped {
        println!("skipped {}: {}", s.column, s.reason);
    }
    if !r.only_in_reference.is_empty() {
        println!("only in the reference: {}", r.only_in_reference.join(", "));
    }
    if !r.only_in_current.is_empty() {
        println!("only in the current data: {}", r.only_in_current.join(", "));
    }
    println!(
        "{}: {} of {} columns drifted ({:.0}%, threshold {:.0}%)",
        if r.dataset_drift {
            "DATASET DRIFT"
        } else {
            "no dataset drift"
        },
        r.drifted,
        r.compared,
        r.share * 100.0,
        r.drift_share * 100.0
    );
    for c in r.columns.iter().filter(|c| c.role != Role::Feature && c.drifted) {
        println!(
            "{} drift in {}",
            if c.role == Role::Label { "label" } else { "prediction" },
            c.column
        );
    }
}
