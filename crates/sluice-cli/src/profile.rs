//! `sluice profile NAME@REF | FILE`: column profiles of a version's tables or of a plain file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use comfy_table::Cell;
use sluice_profile::{ColumnProfile, TableProfile};
use sluice_store::Workspace;
use sluice_version::DatasetRef;

use crate::output::{count, print_json, print_table, table};

/// `sluice profile`.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// A version (NAME@REF) or a CSV/TSV, JSON Lines or Parquet file (no workspace needed).
    pub target: String,
    /// Only this table of the version (its path inside the dataset).
    #[arg(long, value_name = "PATH")]
    pub table: Option<String>,
    /// Also write a self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(serde::Serialize)]
struct Output<'a> {
    target: &'a str,
    tables: Vec<OutTable>,
}

#[derive(serde::Serialize)]
struct OutTable {
    path: String,
    /// Read from the store (false: computed now).
    stored: bool,
    #[serde(flatten)]
    profile: TableProfile,
}

/// Runs `sluice profile`.
pub async fn run(cwd: &Path, a: ProfileArgs, json: bool) -> Result<()> {
    let as_path = cwd.join(&a.target);
    let tables = if as_path.is_file() {
        let states = sluice_profile::profile_file(&as_path)
            .await
            .with_context(|| format!("cannot profile {}", as_path.display()))?;
        vec![OutTable {
            path: a.target.clone(),
            stored: false,
            profile: states.summary(),
        }]
    } else {
        if !a.target.contains('@') {
            anyhow::bail!(
                "{}: no such file; to profile a version write NAME@REF (for example {}@latest)",
                as_path.display(),
                a.target
            );
        }
        let r: DatasetRef = a.target.parse()?;
        let ws = Workspace::discover(cwd).await?;
        let version = r.resolve(ws.meta.as_ref()).await?;
        let mut out = Vec::new();
        for t in sluice_version::profile::version_profiles(&ws, &version).await? {
            if a.table.as_ref().is_some_and(|p| p != &t.table.path) {
                continue;
            }
            out.push(OutTable {
                path: t.table.path.clone(),
                stored: t.stored,
                profile: t.states.summary(),
            });
        }
        if out.is_empty() {
            match &a.table {
                Some(p) => anyhow::bail!(
                    "{} has no table `{p}`; `sluice show {}` lists its tables",
                    a.target,
                    a.target
                ),
                None => anyhow::bail!(
                    "{} has no tables (only CSV/TSV, JSON Lines and Parquet files are read as tables)",
                    a.target
                ),
            }
        }
        out
    };
    if let Some(path) = &a.html {
        let path = cwd.join(path);
        let pages: Vec<(String, TableProfile)> = tables.iter().map(|t| (t.path.clone(), t.profile.clone())).collect();
        let page = sluice_profile::html::render(
            &format!("Profile of {}", a.target),
            &format!(
                "sluice {} · {}",
                env!("CARGO_PKG_VERSION"),
                chrono::Utc::now().to_rfc3339()
            ),
            &pages,
        );
        std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if json {
        return print_json(&Output {
            target: &a.target,
            tables,
        });
    }
    for t in &tables {
        println!(
            "{}: {} rows, {} columns",
            t.path,
            count(t.profile.rows),
            t.profile.columns.len()
        );
        let mut tb = table(&[
            "column", "type", "missing", "distinct", "min", "median", "max", "mean", "std", "top",
        ]);
        for c in &t.profile.columns {
            tb.add_row(row(c));
        }
        print_table(&tb);
        println!();
    }
    if let Some(path) = &a.html {
        println!("report: {}", path.display());
    }
    Ok(())
}

fn fmt(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e12 {
        format!("{x:.0}")
    } else if x.abs() >= 1e6 || x.abs() < 1e-3 {
        format!("{x:.3e}")
    } else {
        format!("{x:.3}")
    }
}

fn row(c: &ColumnProfile) -> Vec<Cell> {
    let missing = if c.missing == 0 {
        "0".to_string()
    } else {
        format!("{} ({:.1}%)", count(c.missing), 100.0 * c.missing_rate)
    };
    let median = c.quantiles.iter().find(|q| q.0 == 0.5).map(|q| fmt(q.1));
    let (min, max, mean, std) = match c.stats {
        Some(s) => (fmt(s.min), fmt(s.max), fmt(s.mean), s.std.map(fmt).unwrap_or_default()),
        None => Default::default(),
    };
    let top = c
        .top
        .first()
        .map(|t| {
            let v: String = t.value.chars().take(20).collect();
            format!("{v:?} x{}", count(t.count))
        })
        .unwrap_or_default();
    [
        c.name.clone(),
        c.data_type.clone(),
        missing,
        format!("~{}", count(c.distinct.estimate.round() as u64)),
        min,
        median.unwrap_or_default(),
        max,
        mean,
        std,
        top,
    ]
    .into_iter()
    .map(Cell::new)
    .collect()
}
