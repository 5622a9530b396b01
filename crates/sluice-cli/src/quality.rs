//! `sluice quality NAME@REF|FILE`: quality findings on a dataset version (compared with its parent
//! version) or on a plain CSV/TSV/JSON Lines/Parquet file with no workspace.
//!
//! Exit codes: 0 no finding at or above `--fail-on`; 1 at least one; 2 the checks could not run.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use comfy_table::Cell;
use sluice_ingest::TableFormat;
use sluice_quality::{NearDupConfig, Parent, QualityOptions, Severity, Table, TableReport};
use sluice_store::Workspace;
use sluice_store::meta::{TableEntry, VersionRecord};
use sluice_version::DatasetRef;

use crate::Exit;
use crate::output::{count, print_json, print_table, table};

/// `sluice quality`.
#[derive(Debug, Args)]
pub struct QualityArgs {
    /// NAME@REF of a dataset version, or the path of a CSV/TSV/JSON Lines/Parquet file.
    pub target: String,
    /// Key columns that should identify a row (comma-separated); a repeated key is an error finding.
    #[arg(long, value_delimiter = ',', value_name = "COLS")]
    pub key: Vec<String>,
    /// Text columns to search for near-duplicate rows (comma-separated; default: string columns whose
    /// values average 30 characters or more; `none` turns the search off).
    #[arg(long, value_delimiter = ',', value_name = "COLS")]
    pub text_columns: Option<Vec<String>>,
    /// Jaccard similarity (of 5-character shingle sets) from which two texts are near duplicates.
    #[arg(long, default_value_t = 0.8)]
    pub threshold: f64,
    /// MinHash permutations per signature.
    #[arg(long, default_value_t = 128)]
    pub num_perm: usize,
    /// Example rows to show per finding.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub examples: usize,
    /// Exit with 1 when a finding is at least this severe: error, warning, info, or never.
    #[arg(long, default_value = "error", value_name = "SEVERITY")]
    pub fail_on: String,
    /// Run only these checks (comma-separated): schema_change, duplicate_keys, missing_rate_jump,
    /// missing_values, duplicate_rows, near_duplicates, mixed_types, date_formats, encoding,
    /// category_variants, whitespace, outliers.
    #[arg(long, value_delimiter = ',', value_name = "CHECKS")]
    pub only: Vec<String>,
    /// Check only this table of a version (its path in the dataset).
    #[arg(long, value_name = "PATH")]
    pub table: Option<String>,
    /// Also write a self-contained HTML report of the findings to FILE (written whatever --fail-on
    /// decides).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Runs `sluice quality`.
pub async fn run(cwd: &Path, a: QualityArgs, json: bool) -> Result<()> {
    let fail_on: Option<Severity> = match a.fail_on.trim() {
        "never" | "none" => None,
        s => Some(
            s.parse()
                .map_err(|_| anyhow::anyhow!("--fail-on `{}`: use error, warning, info or never", a.fail_on))?,
        ),
    };
    let text_columns = match &a.text_columns {
        Some(cols) if cols.len() == 1 && cols[0] == "none" => Some(vec![]),
        other => other.clone(),
    };
    let opts = QualityOptions {
        only: a.only.clone(),
        key: a.key.clone(),
        text_columns,
        near_dup: NearDupConfig {
            threshold: a.threshold,
            num_perm: a.num_perm,
            ..Default::default()
        },
        examples: a.examples,
        ..Default::default()
    };
    let path = if Path::new(&a.target).is_absolute() {
        PathBuf::from(&a.target)
    } else {
        cwd.join(&a.target)
    };
    let is_file = path.is_file() || (!a.target.contains('@') && TableFormat::from_path(&path).is_some());
    let reports = if is_file {
        if a.table.is_some() {
            anyhow::bail!("--table selects a table of a dataset version; {} is a file", a.target);
        }
        let t = Table::read_file(&path)?;
        vec![sluice_quality::analyze(&t, None, &opts)?]
    } else {
        let ws = Workspace::discover(cwd).await.with_context(|| {
            format!(
                "`{}` is not a file, so it was read as NAME@REF of a dataset version, which needs a workspace",
                a.target
            )
        })?;
        version_reports(&ws, &a, &opts).await?
    };
    let failed = fail_on.is_some_and(|t| reports.iter().any(|r| r.max_severity().is_some_and(|s| s >= t)));
    let html = match &a.html {
        Some(p) => {
            let p = cwd.join(p);
            let page = sluice_quality::html::render(
                &a.target,
                &format!(
                    "sluice {} · {}",
                    env!("CARGO_PKG_VERSION"),
                    chrono::Utc::now().to_rfc3339()
                ),
                &reports,
            );
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            std::fs::write(&p, page).with_context(|| format!("cannot write the HTML report to {}", p.display()))?;
            Some(p)
        }
        None => None,
    };
    if json {
        print_json(&serde_json::json!({
            "tables": reports,
            "fail_on": fail_on.map(|s| s.as_str()).unwrap_or("never"),
            "failed": failed,
            "html": html,
        }))?;
    } else {
        for r in &reports {
            print_report(r, a.examples);
        }
        if let Some(p) = &html {
            println!("\nreport: {}", p.display());
        }
        if let Some(t) = fail_on {
            if failed {
                println!("\nfailed: findings at or above `{t}` severity (--fail-on {t})");
            } else {
                println!("\nok: no finding at or above `{t}` severity");
            }
        }
    }
    if failed {
        return Err(Exit(1).into());
    }
    Ok(())
}

async fn version_reports(ws: &Workspace, a: &QualityArgs, opts: &QualityOptions) -> Result<Vec<TableReport>> {
    let r: DatasetRef = a.target.parse()?;
    let v = r.resolve(ws.meta.as_ref()).await?;
    let mut tables = ws.meta.tables(v.id).await?;
    if tables.is_empty() {
        anyhow::bail!(
            "{} has no table, only plain files; quality checks read CSV/TSV/JSON Lines/Parquet tables",
            v.label()
        );
    }
    if let Some(only) = &a.table {
        let paths: Vec<String> = tables.iter().map(|t| t.path.clone()).collect();
        tables.retain(|t| &t.path == only);
        if tables.is_empty() {
            anyhow::bail!(
                "--table {only}: {} has no such table; its tables: {}",
                v.label(),
                paths.join(", ")
            );
        }
    }
    let parent: Option<(VersionRecord, Vec<TableEntry>)> = match v.parent {
        Some(n) => {
            let p: DatasetRef = format!("{}@{n}", v.dataset).parse()?;
            let p = p.resolve(ws.meta.as_ref()).await?;
            let pt = ws.meta.tables(p.id).await?;
            Some((p, pt))
        }
        None => None,
    };
    let single = tables.len() == 1;
    let mut out = Vec::with_capacity(tables.len());
    for t in &tables {
        let label = format!("{}:{}", v.label(), t.path);
        let table = load(ws, t, &label).await?;
        let parent_side = match &parent {
            Some((p, pt)) => {
                let paired = pt
                    .iter()
                    .find(|x| x.path == t.path)
                    .or_else(|| (single && pt.len() == 1).then(|| &pt[0]));
                match paired {
                    Some(x) => {
                        let plabel = format!("{}:{}", p.label(), x.path);
                        let ptable = load(ws, x, &plabel).await?;
                        Some(Parent::of(p.label(), &ptable))
                    }
                    None => None,
                }
            }
            None => None,
        };
        out.push(sluice_quality::analyze(&table, parent_side.as_ref(), opts)?);
    }
    Ok(out)
}

/// Reads a table's canonical Parquet copy (local, or copied out of a remote store first).
async fn load(ws: &Workspace, t: &TableEntry, label: &str) -> Result<Table> {
    crate::drift::read_canonical(ws, t, |p| Ok(Table::read(p, TableFormat::Parquet, label)?)).await
}

/// At most `n` characters of `s`, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

fn print_report(r: &TableReport, examples: usize) {
    let by = |s: Severity| r.findings.iter().filter(|f| f.severity == s).count();
    let parent = r
        .parent
        .as_deref()
        .map(|p| format!(", compared with {p}"))
        .unwrap_or_default();
    println!(
        "{}: {} rows x {} columns{parent}: {} findings ({} error, {} warning, {} info) in {:.2} s",
        r.table,
        count(r.rows),
        r.columns,
        r.findings.len(),
        by(Severity::Error),
        by(Severity::Warning),
        by(Severity::Info),
        r.seconds
    );
    if r.findings.is_empty() {
        println!("  no problems found");
        return;
    }
    println!();
    let mut t = table(&["severity", "check", "column", "rows", "rate"]);
    for f in &r.findings {
        t.add_row(vec![
            Cell::new(f.severity),
            Cell::new(f.check()),
            Cell::new(clip(&f.columns.join(","), 40)),
            Cell::new(count(f.count)),
            Cell::new(if f.check() == "schema_change" {
                "-".to_owned()
            } else {
                format!("{:.2}%", f.rate * 100.0)
            }),
        ]);
    }
    print_table(&t);
    if examples == 0 {
        return;
    }
    for f in &r.findings {
        println!();
        println!("{} {}: {}", f.severity, f.check(), f.message);
        for e in &f.examples {
            let value = clip(&e.value.to_string(), 160);
            match &e.note {
                Some(n) => println!("  row {}: {value}  ({})", e.row, clip(n, 160)),
                None => println!("  row {}: {value}", e.row),
            }
        }
    }
}
