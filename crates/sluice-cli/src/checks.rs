//! `sluice check` (run a suite; exit 1 when a check of error severity fails) and
//! `sluice suggest` (write a starting suite from the profile).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use comfy_table::Cell;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use sluice_checks::{Report, Suite};
use sluice_ingest::{ReadOptions, TableFormat};
use sluice_profile::ProfileStates;
use sluice_store::Workspace;
use sluice_version::DatasetRef;

use crate::Exit;
use crate::output::{print_json, print_table, table};

/// `sluice check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A version (NAME@REF) or a CSV/TSV, JSON Lines or Parquet file.
    pub target: String,
    /// The suite file (TOML).
    #[arg(long, short)]
    pub suite: PathBuf,
    /// Which table of the version (its path in the dataset), when it has several.
    #[arg(long, value_name = "PATH")]
    pub table: Option<String>,
    /// Reference time for freshness checks (RFC 3339; default: now).
    #[arg(long, value_name = "TIME")]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// Also write a self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// `sluice suggest`.
#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// A version (NAME@REF) or a CSV/TSV, JSON Lines or Parquet file.
    pub target: String,
    /// Which table of the version, when it has several.
    #[arg(long, value_name = "PATH")]
    pub table: Option<String>,
    /// Write the suite to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// A table to check, registered as `t`.
pub struct Target {
    /// The session with `t` registered.
    pub ctx: SessionContext,
    /// `NAME@vN:path` or the file path.
    pub label: String,
    /// The table's profile, when one is stored.
    pub profile: Option<ProfileStates>,
}

/// Registers a version's table or a file as `t`.
pub async fn open_target(cwd: &Path, target: &str, table_path: Option<&str>) -> Result<Target> {
    let path = cwd.join(target);
    if path.is_file() {
        let ctx = sluice_version::engine::session();
        let format = TableFormat::detect(&path)?;
        if matches!(format, TableFormat::Parquet) {
            let p = path.to_string_lossy();
            ctx.register_parquet("t", p.as_ref(), ParquetReadOptions::default())
                .await?;
        } else {
            let mut batches = Vec::new();
            let report = sluice_ingest::read_table(
                &path,
                format,
                &ReadOptions::default(),
                &mut |b| {
                    batches.push(b);
                    Ok(())
                },
                &mut std::io::sink(),
            )?;
            let mem = datafusion::datasource::MemTable::try_new(report.schema, vec![batches])?;
            ctx.register_table("t", Arc::new(mem))?;
        }
        return Ok(Target {
            ctx,
            label: target.to_string(),
            profile: None,
        });
    }
    if !target.contains('@') {
        anyhow::bail!(
            "{}: no such file; to check a version write NAME@REF (for example {target}@latest)",
            path.display()
        );
    }
    let r: DatasetRef = target.parse()?;
    let ws = Workspace::discover(cwd).await?;
    let version = r.resolve(ws.meta.as_ref()).await?;
    let tables = ws.meta.tables(version.id).await?;
    let t = match table_path {
        Some(p) => tables
            .into_iter()
            .find(|t| t.path == p)
            .with_context(|| format!("{target} has no table `{p}`; `sluice show {target}` lists its tables"))?,
        None => match tables.len() {
            0 => {
                anyhow::bail!("{target} has no tables (only CSV/TSV, JSON Lines and Parquet files are read as tables)")
            }
            1 => tables.into_iter().next().expect("one table"),
            _ => anyhow::bail!(
                "{target} has {} tables ({}); choose one with --table PATH",
                tables.len(),
                tables.iter().map(|t| t.path.as_str()).collect::<Vec<_>>().join(", ")
            ),
        },
    };
    let ctx = sluice_version::engine::session();
    sluice_version::engine::register_table(&ctx, &ws.objects, "t", &t).await?;
    let profile = match &t.profile {
        Some(id) => Some(ProfileStates::decode(&ws.objects.get_bytes(id).await?)?),
        None => None,
    };
    Ok(Target {
        ctx,
        label: format!("{}:{}", version.label(), t.path),
        profile,
    })
}

/// Runs `sluice check`.
pub async fn check(cwd: &Path, a: CheckArgs, json: bool) -> Result<()> {
    let suite = Suite::load(&cwd.join(&a.suite))?;
    let target = open_target(cwd, &a.target, a.table.as_deref()).await?;
    let report = sluice_checks::run(&target.ctx, &suite, a.now.unwrap_or_else(chrono::Utc::now)).await?;
    if let Some(path) = &a.html {
        let path = cwd.join(path);
        std::fs::write(&path, render_html(&target.label, &report))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if json {
        print_json(&serde_json::json!({"target": target.label, "report": report}))?;
    } else {
        let mut t = table(&["", "check", "severity", "observed", "expected"]);
        for o in &report.outcomes {
            let mark = if o.passed {
                "ok"
            } else if o.severity == sluice_checks::Severity::Error {
                "FAIL"
            } else {
                "warn"
            };
            t.add_row(vec![
                Cell::new(mark),
                Cell::new(&o.name),
                Cell::new(format!("{:?}", o.severity).to_lowercase()),
                Cell::new(&o.observed),
                Cell::new(&o.expected),
            ]);
        }
        println!("{}", target.label);
        print_table(&t);
        println!(
            "\n{} passed, {} failed, {} warnings",
            report.passed, report.failed_errors, report.failed_warnings
        );
    }
    if report.failed() {
        return Err(Exit(1).into());
    }
    Ok(())
}

/// Runs `sluice suggest`.
pub async fn suggest(cwd: &Path, a: SuggestArgs, json: bool) -> Result<()> {
    let target = open_target(cwd, &a.target, a.table.as_deref()).await?;
    let states = match target.profile {
        Some(p) => p,
        None => sluice_profile::profile_table(&target.ctx, "t").await?,
    };
    let suite = sluice_checks::suggest(&target.label, &states.summary());
    let text = format!(
        "# Suggested by `sluice suggest {}` from its profile. Edit the bounds to what the data\n# must satisfy, then run `sluice check TARGET --suite FILE`.\n\n{}",
        a.target,
        suite.to_toml()
    );
    match &a.output {
        Some(p) => {
            let p = cwd.join(p);
            std::fs::write(&p, &text).with_context(|| format!("cannot write {}", p.display()))?;
            if json {
                print_json(&serde_json::json!({"target": target.label, "checks": suite.checks.len(), "written": p}))?;
            } else {
                println!("wrote {} checks to {}", suite.checks.len(), p.display());
            }
        }
        None if json => print_json(&serde_json::json!({"target": target.label, "suite": suite}))?,
        None => print!("{text}"),
    }
    Ok(())
}

fn render_html(label: &str, r: &Report) -> String {
    use sluice_profile::html::{CSS, escape};
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Checks: {}</title><style>{CSS}\
         table.checks{{border-collapse:collapse;width:100%;background:#fff}}table.checks td,table.checks th{{padding:6px 8px;border-bottom:1px solid #d1d9e0;text-align:left}}\
         .pass{{color:#1a7f37;font-weight:600}}.fail{{color:#cf222e;font-weight:600}}.warnc{{color:#9a6700;font-weight:600}}</style></head><body>",
        escape(label)
    );
    let _ = write!(
        h,
        "<h1>Checks: {}</h1><div class=\"sub\">{} passed, {} failed, {} warnings</div><table class=\"checks\"><tr><th></th><th>check</th><th>severity</th><th>observed</th><th>expected</th></tr>",
        escape(label),
        r.passed,
        r.failed_errors,
        r.failed_warnings
    );
    for o in &r.outcomes {
        let (class, mark) = if o.passed {
            ("pass", "pass")
        } else if o.severity == sluice_checks::Severity::Error {
            ("fail", "FAIL")
        } else {
            ("warnc", "warn")
        };
        let _ = write!(
            h,
            "<tr class=\"outcome\"><td class=\"{class}\">{mark}</td><td>{}</td><td>{:?}</td><td>{}</td><td>{}</td></tr>",
            escape(&o.name),
            o.severity,
            escape(&o.observed),
            escape(&o.expected)
        );
    }
    h.push_str("</table></body></html>\n");
    h
}

/// `sluice coverage`.
#[derive(Debug, Args)]
pub struct CoverageArgs {
    /// A version (NAME@REF) or a CSV/TSV, JSON Lines or Parquet file.
    pub target: String,
    /// Slice columns, comma-separated (region, device, demographic...).
    #[arg(long, value_delimiter = ',', required = true)]
    pub by: Vec<String>,
    /// Expected population shares (TOML: one table per column, a share per value).
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,
    /// Slices with fewer rows are flagged rare.
    #[arg(long, default_value_t = 30)]
    pub min_count: u64,
    /// A slice at under this share of its expected share is flagged under-represented.
    #[arg(long, default_value_t = 0.8)]
    pub under: f64,
    /// A timestamp or date column to check for gaps over time.
    #[arg(long, value_name = "COLUMN")]
    pub time: Option<String>,
    /// Time bucket for --time: 90s, 15m, 6h, 1d, 1w.
    #[arg(long, default_value = "1d")]
    pub interval: String,
    /// Which table of the version, when it has several.
    #[arg(long, value_name = "PATH")]
    pub table: Option<String>,
    /// Exit 0 even when slices are flagged or time has gaps (default: exit 1).
    #[arg(long)]
    pub no_fail: bool,
}

/// Runs `sluice coverage`.
pub async fn coverage(cwd: &Path, a: CoverageArgs, json: bool) -> Result<()> {
    let expected = match &a.expect {
        Some(p) => sluice_checks::Expected::load(&cwd.join(p))?,
        None => sluice_checks::Expected::default(),
    };
    let width = sluice_checks::suite::parse_age(&a.interval).map_err(|m| anyhow::anyhow!("--interval: {m}"))?;
    let target = open_target(cwd, &a.target, a.table.as_deref()).await?;
    let opts = sluice_checks::CoverageOptions {
        by: a.by.clone(),
        expected,
        min_count: a.min_count,
        under_ratio: a.under,
        time: a.time.clone().map(|c| (c, width)),
    };
    let report = sluice_checks::coverage(&target.ctx, &opts).await?;
    if json {
        print_json(&serde_json::json!({"target": target.label, "report": report}))?;
    } else {
        println!("{}: {} rows", target.label, report.rows);
        for c in &report.columns {
            println!();
            let mut t = table(&[c.column.as_str(), "rows", "share", "expected", "ratio", ""]);
            for s in &c.slices {
                t.add_row(vec![
                    Cell::new(&s.values[0]),
                    Cell::new(crate::output::count(s.count)),
                    Cell::new(format!("{:.2}%", 100.0 * s.share)),
                    Cell::new(
                        s.expected_share
                            .map(|e| format!("{:.2}%", 100.0 * e))
                            .unwrap_or_default(),
                    ),
                    Cell::new(s.ratio.map(|r| format!("{r:.2}")).unwrap_or_default()),
                    Cell::new(s.flag.unwrap_or("")),
                ]);
            }
            print_table(&t);
            if let Some(f) = &c.fit {
                println!(
                    "chi-square goodness of fit: {:.3} on {} dof, p = {:.3e}",
                    f.statistic, f.dof, f.p_value
                );
            }
        }
        let flagged: Vec<_> = report.crosses.iter().filter(|s| s.flag.is_some()).collect();
        if !flagged.is_empty() {
            println!("\ncrosses of {} flagged:", a.by.join(" x "));
            let mut t = table(&["slice", "rows", ""]);
            for s in flagged.iter().take(50) {
                t.add_row(vec![
                    Cell::new(s.values.join(" / ")),
                    Cell::new(s.count),
                    Cell::new(s.flag.unwrap_or("")),
                ]);
            }
            print_table(&t);
            if flagged.len() > 50 {
                println!("... and {} more (--json lists all)", flagged.len() - 50);
            }
        }
        if let Some(t) = &report.time {
            println!(
                "\n{}: {} of {} buckets of {} covered, from {} to {}",
                t.column,
                t.covered,
                t.buckets,
                a.interval,
                t.first.as_deref().unwrap_or("-"),
                t.last.as_deref().unwrap_or("-")
            );
            for g in &t.gaps {
                println!("  gap: {} .. {} ({} empty buckets)", g.from, g.to, g.buckets);
            }
        }
        println!("\n{} slices flagged", report.flagged);
    }
    if report.has_gaps() && !a.no_fail {
        return Err(Exit(1).into());
    }
    Ok(())
}
