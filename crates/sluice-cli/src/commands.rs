//! One function per command: parse arguments into library options, call the library, print.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use comfy_table::Cell;
use sluice_store::meta::{Commit, VersionRecord, parse_kv};
use sluice_store::{Config, Workspace};
use sluice_version::DatasetRef;
use sluice_version::add::AddOptions;
use sluice_version::diff::{DiffOptions, DiffReport};
use sluice_version::export::ExportFormat;
use sluice_version::lineage;
use sluice_version::model::{self, RegisterOptions};

use crate::output::{Bar, count, print_json, print_table, size, table};
use crate::{Cli, Command, Exit};

/// `sluice init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to make a workspace of (created if missing).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Object store: a folder (relative to .sluice/) or s3://bucket/prefix.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Metadata database URL (sqlite://PATH).
    #[arg(long, value_name = "URL")]
    pub metadata: Option<String>,
}

/// `sluice add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Dataset name.
    pub name: String,
    /// Files and folders to add. CSV/TSV, JSON Lines and Parquet files are also read as tables.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Message describing the version.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Tag the new version (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Where the data came from (a URI), recorded in provenance.
    #[arg(long, value_name = "URI")]
    pub source: Option<String>,
    /// When the data was collected (RFC 3339 or YYYY-MM-DD); default: now.
    #[arg(long, value_name = "TIME")]
    pub collected_at: Option<String>,
    /// Who or what collected it; default: user@host.
    #[arg(long, value_name = "WHO")]
    pub collected_by: Option<String>,
    /// Record that this version was derived from another version (repeatable).
    #[arg(long, value_name = "NAME@REF")]
    pub derived_from: Vec<String>,
    /// Rows that cannot be read: `fail` the add, or `quarantine` them (kept verbatim).
    #[arg(long, default_value = "fail", value_name = "POLICY")]
    pub bad_rows: String,
    /// Store every file as plain bytes; read none as a table.
    #[arg(long)]
    pub raw: bool,
}

/// `sluice log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Dataset name.
    pub name: String,
}

/// `sluice show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// NAME@REF (REF: a number, a tag, latest, latest~N).
    pub target: String,
    /// List every file (default: the first 20).
    #[arg(long)]
    pub all_files: bool,
}

/// `sluice tag`.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// NAME@REF to tag.
    pub target: String,
    /// The tag.
    pub tag: String,
    /// Move the tag if it names another version.
    #[arg(short, long)]
    pub force: bool,
}

/// `sluice diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Old version, NAME@REF.
    pub a: String,
    /// New version, NAME@REF (or REF alone for the same dataset).
    pub b: String,
    /// Key columns identifying a row (comma-separated); without it rows are compared whole.
    #[arg(long, value_delimiter = ',', value_name = "COLS")]
    pub key: Vec<String>,
    /// Example rows to show per kind of change.
    #[arg(long, default_value_t = 5)]
    pub examples: usize,
    /// Exit with 1 if the versions differ.
    #[arg(long)]
    pub exit_code: bool,
}

/// `sluice export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// NAME@REF to export.
    pub target: String,
    /// Folder to write into.
    pub dir: PathBuf,
    /// `original` (byte-identical), or tables as `parquet`, `csv` or `jsonl`.
    #[arg(long, default_value = "original")]
    pub format: String,
    /// Overwrite existing files.
    #[arg(short, long)]
    pub force: bool,
}

/// `sluice gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Delete; without it, only report what would be deleted.
    #[arg(short, long)]
    pub force: bool,
}

/// `sluice model ...`.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Record a trained model: the dataset versions, hyperparameters and code it came from.
    Register(RegisterArgs),
    /// List models, or one model's versions.
    Ls {
        /// Model name.
        name: Option<String>,
    },
    /// Re-hash every byte of every input version and the artifact (exit 1 if any changed).
    Check {
        /// MODEL@VER.
        target: String,
    },
}

/// `sluice model register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Model name.
    pub name: String,
    /// Dataset version the model was trained on, NAME@REF (repeatable).
    #[arg(long = "dataset", value_name = "NAME@REF", required = true)]
    pub datasets: Vec<String>,
    /// Dataset version used for evaluation, NAME@REF (repeatable).
    #[arg(long = "eval-dataset", value_name = "NAME@REF")]
    pub eval_datasets: Vec<String>,
    /// Hyperparameters: a JSON or TOML file, or KEY=VALUE pairs.
    #[arg(long, num_args = 1.., value_name = "FILE|K=V")]
    pub params: Vec<String>,
    /// Code revision; default: `git rev-parse HEAD` of the current folder (+ -dirty).
    #[arg(long, value_name = "REV")]
    pub code_rev: Option<String>,
    /// Metrics as KEY=VALUE pairs.
    #[arg(long, num_args = 1.., value_name = "K=V")]
    pub metrics: Vec<String>,
    /// Model file to store with it.
    #[arg(long, value_name = "PATH")]
    pub artifact: Option<PathBuf>,
}

/// `sluice lineage`.
#[derive(Debug, Args)]
pub struct LineageArgs {
    /// MODEL@VER or NAME@REF of a dataset.
    pub target: String,
    /// Show what was derived from a dataset version instead of where it came from.
    #[arg(long)]
    pub downstream: bool,
    /// `tree` (default), `json`, or `openlineage` (2-0-2 RunEvents, one JSON object per line).
    #[arg(long, default_value = "tree")]
    pub format: String,
}

/// `sluice synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Output file; the format follows the extension (.parquet, .csv, .jsonl) unless --format.
    pub out: PathBuf,
    /// Rows to generate.
    #[arg(long, default_value_t = 100_000)]
    pub rows: u64,
    /// Random seed (same seed, same data).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Batch (month) index: 0 is the reference month.
    #[arg(long, default_value_t = 0)]
    pub batch: u32,
    /// Problems to inject, as rates: missing=0.02,duplicates=0.01,near_duplicates=0.01,outliers=0.005,
    /// date_formats=0.02,encoding=0.01,spelling=0.02,whitespace=0.01 (or all=RATE).
    #[arg(long, default_value = "", value_name = "SPEC")]
    pub inject: String,
    /// Covariate drift strength in [0, 1].
    #[arg(long, default_value_t = 0.0)]
    pub covariate_drift: f64,
    /// Concept drift strength in [0, 1].
    #[arg(long, default_value_t = 0.0)]
    pub concept_drift: f64,
    /// parquet, csv or jsonl (default: from the extension).
    #[arg(long)]
    pub format: Option<String>,
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let cwd = match &cli.chdir {
        Some(d) => d.clone(),
        None => std::env::current_dir().context("cannot read the current folder")?,
    };
    let json = cli.json;
    match cli.command {
        Command::Init(a) => init(&cwd, a, json).await,
        Command::Synth(a) => synth(&cwd, a, json),
        Command::Demo(a) => crate::demo::run(&cwd, a, json).await,
        Command::Quality(a) => crate::quality::run(&cwd, a, json).await,
        Command::Profile(a) => crate::profile::run(&cwd, a, json).await,
        Command::Check(a) => crate::checks::check(&cwd, a, json).await,
        Command::Suggest(a) => crate::checks::suggest(&cwd, a, json).await,
        Command::Coverage(a) => crate::checks::coverage(&cwd, a, json).await,
        Command::Detect(a) => crate::detect::run(&cwd, a, json),
        Command::Drift(a) => crate::drift::run(&cwd, a, json).await,
        Command::Performance(a) => crate::performance::run(&cwd, a, json).await,
        Command::Monitor(a) => crate::monitor::run(&cwd, a, json).await,
        Command::Run(a) => crate::pipeline::run(&cwd, a, json).await,
        c @ (Command::Decisions(_)
        | Command::Policy(_)
        | Command::Ope(_)
        | Command::PositionBias(_)
        | Command::LoopMetrics(_)
        | Command::Simulate(_)) => crate::feedback::run(&cwd, c, json).await,
        command => {
            let ws = Workspace::discover(&cwd).await?;
            match command {
                Command::Add(a) => add(&ws, &cwd, a, json).await,
                Command::Log(a) => log(&ws, a, json).await,
                Command::Show(a) => show(&ws, a, json).await,
                Command::Tag(a) => tag(&ws, a, json).await,
                Command::Ls => ls(&ws, json).await,
                Command::Diff(a) => diff(&ws, a, json).await,
                Command::Export(a) => export(&ws, &cwd, a, json).await,
                Command::Verify => verify(&ws, json).await,
                Command::Gc(a) => gc(&ws, a, json).await,
                Command::Model(m) => model_cmd(&ws, &cwd, m, json).await,
                Command::Lineage(a) => lineage_cmd(&ws, a, json).await,
                Command::Label(c) => crate::label::run(&ws, &cwd, c, json).await,
                Command::Decisions(_)
                | Command::Policy(_)
                | Command::Ope(_)
                | Command::PositionBias(_)
                | Command::LoopMetrics(_)
                | Command::Simulate(_) => unreachable!("handled above"),
                Command::Init(_)
                | Command::Synth(_)
                | Command::Demo(_)
                | Command::Quality(_)
                | Command::Profile(_)
                | Command::Check(_)
                | Command::Suggest(_)
                | Command::Coverage(_)
                | Command::Detect(_)
                | Command::Drift(_)
                | Command::Monitor(_)
                | Command::Performance(_)
                | Command::Run(_) => {
                    unreachable!("handled above")
                }
            }
        }
    }
}

fn resolve_path(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) }
}

async fn init(cwd: &Path, a: InitArgs, json: bool) -> Result<()> {
    let mut config = Config::default();
    if let Some(s) = a.store {
        config.store.url = s;
    }
    if let Some(m) = a.metadata {
        config.metadata.url = m;
    }
    let root = resolve_path(cwd, &a.dir);
    std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    let ws = Workspace::init(&root, config).await?;
    if json {
        print_json(&serde_json::json!({
            "workspace": ws.root, "dir": ws.dir, "store": ws.objects.url(), "metadata": ws.config.metadata.url
        }))
    } else {
        println!("Initialised sluice workspace in {}", ws.dir.display());
        println!("  objects:  {}", ws.objects.url());
        println!("  metadata: {}", ws.config.metadata.url);
        Ok(())
    }
}

fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("`{s}` is not a time: use RFC 3339 (2024-03-01T12:00:00Z) or YYYY-MM-DD"))?;
    Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
}

fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

async fn add(ws: &Workspace, cwd: &Path, a: AddArgs, json: bool) -> Result<()> {
    let opts = AddOptions {
        name: a.name,
        paths: a.paths.iter().map(|p| resolve_path(cwd, p)).collect(),
        message: a.message,
        tags: a.tags,
        source: a.source,
        collected_at: a.collected_at.as_deref().map(parse_time).transpose()?,
        collected_by: a.collected_by,
        derived_from: a.derived_from.iter().map(|s| s.parse()).collect::<Result<_, _>>()?,
        bad_rows: a
            .bad_rows
            .parse()
            .map_err(|e: sluice_ingest::Error| anyhow::anyhow!("--bad-rows: {e}"))?,
        raw: a.raw,
        command: Some(command_line()),
        prepared: Vec::new(),
        take: false,
    };
    let bar = Bar::new(json);
    let report = sluice_version::add::add(ws, &opts, &bar).await?;
    if json {
        return print_json(&report);
    }
    let v = report.commit.version();
    match &report.commit {
        Commit::Created(_) => println!(
            "{} created: {} files ({}), {} new objects ({}), {} hashed, {:.2} s",
            v.label(),
            count(report.files),
            size(report.bytes),
            count(report.new_objects),
            size(report.new_bytes),
            count(report.hashed_files),
            report.seconds
        ),
        Commit::Unchanged(_) => println!(
            "{} unchanged: same content as the latest version, no version created ({} files checked, {} hashed, {:.2} s)",
            v.label(),
            count(report.files),
            count(report.hashed_files),
            report.seconds
        ),
    }
    for t in &report.tables {
        let reused = if t.reused {
            " (unchanged, canonical copy reused)"
        } else {
            ""
        };
        println!(
            "  table {}: {} rows x {} columns{reused}",
            t.path,
            count(t.rows),
            t.columns
        );
        if t.bad_rows > 0 {
            println!(
                "    {} bad rows quarantined verbatim (sluice show {} lists the quarantine)",
                count(t.bad_rows),
                v.label()
            );
        }
    }
    if !v.tags.is_empty() {
        println!("  tags: {}", v.tags.join(", "));
    }
    Ok(())
}

async fn resolve(ws: &Workspace, target: &str) -> Result<VersionRecord> {
    let r: DatasetRef = target.parse()?;
    Ok(r.resolve(ws.meta.as_ref()).await?)
}

async fn log(ws: &Workspace, a: LogArgs, json: bool) -> Result<()> {
    let mut versions = ws.meta.versions(&a.name).await?;
    if versions.is_empty() {
        // Reuse resolve's message, which lists the datasets there are.
        resolve(ws, &a.name).await?;
    }
    versions.reverse();
    if json {
        return print_json(&versions);
    }
    let mut t = table(&["version", "added", "files", "rows", "size", "tags", "message"]);
    for v in &versions {
        t.add_row(vec![
            Cell::new(format!("v{}", v.number)),
            Cell::new(v.created_at.format("%Y-%m-%d %H:%M")),
            Cell::new(count(v.file_count)),
            Cell::new(v.row_count.map(count).unwrap_or_else(|| "-".into())),
            Cell::new(size(v.total_bytes)),
            Cell::new(v.tags.join(",")),
            Cell::new(v.message.clone().unwrap_or_default()),
        ]);
    }
    print_table(&t);
    Ok(())
}

async fn show(ws: &Workspace, a: ShowArgs, json: bool) -> Result<()> {
    let v = resolve(ws, &a.target).await?;
    let files = ws.meta.files(v.id).await?;
    let tables = ws.meta.tables(v.id).await?;
    if json {
        return print_json(&serde_json::json!({"version": v, "files": files, "tables": tables}));
    }
    println!("{}", v.label());
    let p = &v.provenance;
    let rows: Vec<(&str, String)> = vec![
        (
            "parent",
            v.parent.map(|n| format!("v{n}")).unwrap_or_else(|| "(none)".into()),
        ),
        ("message", v.message.clone().unwrap_or_default()),
        ("tags", v.tags.join(", ")),
        ("added", v.created_at.to_rfc3339()),
        ("source", p.source_uri.clone().unwrap_or_default()),
        (
            "collected",
            format!("{} by {}", p.collected_at.to_rfc3339(), p.collected_by),
        ),
        ("recorded by", p.tool.clone()),
        ("manifest", v.manifest.to_string()),
        ("files", format!("{} ({})", count(v.file_count), size(v.total_bytes))),
        ("rows", v.row_count.map(count).unwrap_or_else(|| "-".into())),
    ];
    for (k, val) in rows {
        println!("  {k:<12} {val}");
    }
    for t in &tables {
        println!();
        println!(
            "table {} ({}, {} rows, canonical {})",
            t.path,
            t.format,
            count(t.rows),
            t.canonical.short()
        );
        if let Some(q) = &t.quarantine {
            println!("  quarantine: {} bad rows in object {q}", count(t.bad_rows));
        }
        let mut st = table(&["column", "type", "nullable"]);
        for f in t.schema["fields"].as_array().into_iter().flatten() {
            st.add_row(vec![
                Cell::new(f["name"].as_str().unwrap_or_default()),
                Cell::new(f["type"].as_str().unwrap_or_default()),
                Cell::new(if f["nullable"].as_bool().unwrap_or(true) {
                    "yes"
                } else {
                    "no"
                }),
            ]);
        }
        print_table(&st);
    }
    println!();
    let mut ft = table(&["path", "size", "object"]);
    let limit = if a.all_files { usize::MAX } else { 20 };
    for f in files.iter().take(limit) {
        ft.add_row(vec![
            Cell::new(&f.path),
            Cell::new(size(f.size)),
            Cell::new(f.object.short()),
        ]);
    }
    print_table(&ft);
    if files.len() > limit {
        println!(
            "... and {} more files (--all-files lists them)",
            count((files.len() - limit) as u64)
        );
    }
    Ok(())
}

async fn tag(ws: &Workspace, a: TagArgs, json: bool) -> Result<()> {
    let v = resolve(ws, &a.target).await?;
    if a.tag
        .parse::<sluice_store::meta::VersionRef>()
        .map(|r| !matches!(r, sluice_store::meta::VersionRef::Tag(_)))?
    {
        anyhow::bail!(
            "`{}` would read as a version number or `latest`; choose a tag with a letter or dot in it (e.g. 3.2, prod)",
            a.tag
        );
    }
    let _lock = ws.lock(sluice_store::lock::LockMode::Shared, &mut || {})?;
    ws.meta.set_tag(v.id, &a.tag, a.force).await?;
    if json {
        print_json(&serde_json::json!({"tagged": v.label(), "tag": a.tag}))
    } else {
        println!("tagged {} as {}", v.label(), a.tag);
        Ok(())
    }
}

async fn ls(ws: &Workspace, json: bool) -> Result<()> {
    let datasets = ws.meta.datasets().await?;
    if json {
        return print_json(&datasets);
    }
    if datasets.is_empty() {
        println!("no datasets yet; add one with `sluice add NAME PATH...`");
        return Ok(());
    }
    let mut t = table(&["dataset", "versions", "latest", "added", "files", "rows", "size"]);
    for d in &datasets {
        let l = d.latest.as_ref();
        t.add_row(vec![
            Cell::new(&d.name),
            Cell::new(d.versions),
            Cell::new(l.map(|v| format!("v{}", v.number)).unwrap_or_default()),
            Cell::new(
                l.map(|v| v.created_at.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default(),
            ),
            Cell::new(l.map(|v| count(v.file_count)).unwrap_or_default()),
            Cell::new(l.and_then(|v| v.row_count).map(count).unwrap_or_else(|| "-".into())),
            Cell::new(l.map(|v| size(v.total_bytes)).unwrap_or_default()),
        ]);
    }
    print_table(&t);
    Ok(())
}

async fn diff(ws: &Workspace, a: DiffArgs, json: bool) -> Result<()> {
    let va = resolve(ws, &a.a).await?;
    let b_target = if a.b.contains('@') {
        a.b.clone()
    } else {
        format!("{}@{}", va.dataset, a.b)
    };
    let vb = resolve(ws, &b_target).await?;
    let report = sluice_version::diff::diff(
        ws,
        &va,
        &vb,
        &DiffOptions {
            key: a.key,
            examples: a.examples,
        },
    )
    .await?;
    if json {
        print_json(&report)?;
    } else {
        print_diff(&report);
    }
    if a.exit_code && report.has_changes() {
        return Err(Exit(1).into());
    }
    Ok(())
}

fn print_diff(r: &DiffReport) {
    println!("diff {} -> {}", r.a, r.b);
    let f = &r.files;
    println!(
        "files: {} added, {} removed, {} modified, {} unchanged",
        f.added.len(),
        f.removed.len(),
        f.modified.len(),
        f.unchanged
    );
    for (sign, list) in [("+", &f.added), ("-", &f.removed), ("~", &f.modified)] {
        for p in list.iter().take(20) {
            println!("  {sign} {p}");
        }
        if list.len() > 20 {
            println!("  {sign} ... {} more", list.len() - 20);
        }
    }
    for t in &r.tables {
        println!();
        let name = if t.path_a == t.path_b {
            t.path_a.clone()
        } else {
            format!("{} -> {}", t.path_a, t.path_b)
        };
        println!("table {name}");
        let s = &t.schema;
        if s.has_changes() {
            for c in &s.added {
                println!("  + column {} ({})", c.name, c.data_type);
            }
            for c in &s.removed {
                println!("  - column {} ({})", c.name, c.data_type);
            }
            for c in &s.retyped {
                println!("  ~ column {}: {} -> {}", c.name, c.from, c.to);
            }
        } else {
            println!("  schema unchanged");
        }
        let d = &t.rows;
        let how = if d.method == "key" {
            format!("by key {}", d.key.join(","))
        } else {
            "by whole-row hash".into()
        };
        println!(
            "  rows {} -> {} ({how}, on {} columns)",
            count(d.rows_a),
            count(d.rows_b),
            d.compared_columns.len()
        );
        print!("  {} added, {} removed", count(d.added), count(d.removed));
        if let Some(c) = d.changed {
            print!(", {} changed", count(c));
        }
        println!();
        if !d.changed_by_column.is_empty() {
            let cols: Vec<String> = d
                .changed_by_column
                .iter()
                .map(|(c, n)| format!("{c} {}", count(*n)))
                .collect();
            println!("  changed values by column: {}", cols.join(", "));
        }
        if d.duplicate_keys_a + d.duplicate_keys_b > 0 {
            println!(
                "  warning: {} keys repeat in A and {} in B; such keys match several rows",
                count(d.duplicate_keys_a),
                count(d.duplicate_keys_b)
            );
        }
        for row in &d.examples.added {
            println!("  + {row}");
        }
        for row in &d.examples.removed {
            println!("  - {row}");
        }
        for c in &d.examples.changed {
            println!("  ~ {}\n    {}", c.before, c.after);
        }
    }
    for u in &r.unpaired_tables {
        println!("table {u}");
    }
}

async fn export(ws: &Workspace, cwd: &Path, a: ExportArgs, json: bool) -> Result<()> {
    let v = resolve(ws, &a.target).await?;
    let format: ExportFormat = a.format.parse()?;
    let dir = resolve_path(cwd, &a.dir);
    let bar = Bar::new(json);
    let r = sluice_version::export::export(ws, &v, &dir, format, a.force, &bar).await?;
    if json {
        return print_json(&r);
    }
    println!(
        "exported {} to {}: {} files ({})",
        r.version,
        r.dir,
        count(r.files),
        size(r.bytes)
    );
    if r.converted_tables > 0 {
        println!("  {} tables written as {}", r.converted_tables, a.format);
    }
    Ok(())
}

async fn verify(ws: &Workspace, json: bool) -> Result<()> {
    let bar = Bar::new(json);
    let r = sluice_version::maintenance::verify(ws, &bar).await?;
    if json {
        print_json(&r)?;
    } else {
        println!("verified {} objects ({})", count(r.objects), size(r.bytes));
        for c in &r.corrupt {
            println!(
                "  CORRUPT {}: content hashes to {}; used by {}",
                c.id,
                c.actual,
                c.referenced_by.join(", ")
            );
        }
        for m in &r.missing {
            println!("  MISSING {}: used by {}", m.id, m.referenced_by.join(", "));
        }
        if r.unreferenced > 0 || r.temp_files > 0 {
            println!(
                "  {} unreferenced objects and {} temp files (left by interrupted commands; `sluice gc --force` removes them)",
                count(r.unreferenced),
                count(r.temp_files)
            );
        }
        if r.is_clean() {
            println!("clean: every object hashes to its name and every referenced object is present");
        } else {
            println!(
                "{} corrupt, {} missing: restore them by re-adding the original files",
                r.corrupt.len(),
                r.missing.len()
            );
        }
    }
    if !r.is_clean() {
        return Err(Exit(1).into());
    }
    Ok(())
}

async fn gc(ws: &Workspace, a: GcArgs, json: bool) -> Result<()> {
    let bar = Bar::new(json);
    let r = sluice_version::maintenance::gc(ws, !a.force, &bar).await?;
    if json {
        return print_json(&r);
    }
    if r.dry_run {
        println!(
            "would remove {} unreferenced objects ({}); {} objects are referenced and kept",
            count(r.unreferenced),
            size(r.unreferenced_bytes),
            count(r.kept)
        );
        if r.unreferenced > 0 {
            println!("run `sluice gc --force` to delete them");
        }
    } else {
        println!(
            "removed {} unreferenced objects ({}) and {} temp files; kept {}",
            count(r.removed),
            size(r.unreferenced_bytes),
            count(r.temp_files_removed),
            count(r.kept)
        );
    }
    Ok(())
}

async fn model_cmd(ws: &Workspace, cwd: &Path, m: ModelCommand, json: bool) -> Result<()> {
    match m {
        ModelCommand::Register(a) => {
            let mut datasets = Vec::new();
            for d in &a.datasets {
                datasets.push((d.parse()?, "train".to_string()));
            }
            for d in &a.eval_datasets {
                datasets.push((d.parse()?, "eval".to_string()));
            }
            let params = model::parse_params(&a.params.iter().map(|p| resolve_param(cwd, p)).collect::<Vec<_>>())?;
            let metrics = parse_kv(&a.metrics).map_err(|e| anyhow::anyhow!("--metrics: {e}"))?;
            let code_rev = a.code_rev.or_else(|| model::detect_code_rev(cwd));
            if code_rev.is_none() && !json {
                eprintln!(
                    "warning: no --code-rev given and {} is not in a git repository; the code revision is not recorded",
                    cwd.display()
                );
            }
            let opts = RegisterOptions {
                name: a.name,
                datasets,
                params,
                metrics,
                code_rev,
                artifact: a.artifact.map(|p| resolve_path(cwd, &p)),
                created_by: sluice_version::add::current_user(),
            };
            let r = model::register(ws, &opts).await?;
            if json {
                return print_json(&r);
            }
            let inputs: Vec<String> = r
                .inputs
                .iter()
                .map(|i| format!("{} ({})", i.version.label(), i.role))
                .collect();
            println!("registered {} trained on {}", r.label(), inputs.join(", "));
            println!("  code {}  run {}", r.code_rev.as_deref().unwrap_or("(none)"), r.run_id);
            Ok(())
        }
        ModelCommand::Ls { name } => match name {
            None => {
                let models = ws.meta.models().await?;
                if json {
                    return print_json(
                        &models
                            .iter()
                            .map(|(n, c)| serde_json::json!({"model": n, "versions": c}))
                            .collect::<Vec<_>>(),
                    );
                }
                let mut t = table(&["model", "versions"]);
                for (n, c) in &models {
                    t.add_row(vec![Cell::new(n), Cell::new(c)]);
                }
                print_table(&t);
                Ok(())
            }
            Some(n) => {
                let versions = ws.meta.model_versions(&n).await?;
                if json {
                    return print_json(&versions);
                }
                let mut t = table(&["version", "registered", "code", "datasets", "metrics"]);
                for m in versions.iter().rev() {
                    t.add_row(vec![
                        Cell::new(format!("v{}", m.number)),
                        Cell::new(m.created_at.format("%Y-%m-%d %H:%M")),
                        Cell::new(m.code_rev.as_deref().map(|c| &c[..c.len().min(12)]).unwrap_or("-")),
                        Cell::new(m.inputs.iter().map(|i| i.version.label()).collect::<Vec<_>>().join(",")),
                        Cell::new(
                            m.metrics
                                .iter()
                                .map(|(k, v)| format!("{k}={v}"))
                                .collect::<Vec<_>>()
                                .join(" "),
                        ),
                    ]);
                }
                print_table(&t);
                Ok(())
            }
        },
        ModelCommand::Check { target } => {
            let m = model::find(ws, &target.parse()?).await?;
            let r = model::check(ws, &m).await?;
            if json {
                print_json(&serde_json::json!({"ok": r.ok(), "report": r}))?;
            } else {
                for i in &r.inputs {
                    if i.failures.is_empty() {
                        println!(
                            "ok      {}: {} objects hash to what was recorded",
                            i.version,
                            count(i.objects)
                        );
                    } else {
                        println!("FAILED  {}:", i.version);
                        for f in &i.failures {
                            println!("          {f}");
                        }
                    }
                }
                match r.artifact_ok {
                    Some(true) => println!("ok      artifact"),
                    Some(false) => println!("FAILED  artifact: missing or changed"),
                    None => {}
                }
                println!(
                    "{}: {}",
                    r.model,
                    if r.ok() {
                        "reproducible inputs verified"
                    } else {
                        "inputs changed since training"
                    }
                );
            }
            if !r.ok() {
                return Err(Exit(1).into());
            }
            Ok(())
        }
    }
}

fn resolve_param(cwd: &Path, p: &str) -> String {
    if p.contains('=') && !cwd.join(p).is_file() {
        p.to_string()
    } else {
        resolve_path(cwd, Path::new(p)).to_string_lossy().into_owned()
    }
}

async fn lineage_cmd(ws: &Workspace, a: LineageArgs, json: bool) -> Result<()> {
    let r: DatasetRef = a.target.parse()?;
    let is_model = !ws.meta.model_versions(&r.name).await?.is_empty();
    let graph = if is_model {
        if a.downstream {
            anyhow::bail!(
                "--downstream follows dataset versions; `{}` is a model, which nothing is derived from yet",
                r.name
            );
        }
        let m = model::find(ws, &r).await?;
        lineage::upstream_of_model(ws, &m).await?
    } else {
        let v = r.resolve(ws.meta.as_ref()).await?;
        if a.downstream {
            lineage::downstream_of_version(ws, &v).await?
        } else {
            lineage::upstream_of_version(ws, &v).await?
        }
    };
    match (a.format.as_str(), json) {
        ("openlineage", _) => {
            let ns = format!("sluice://{}", ws.root.display());
            for e in lineage::openlineage_events(ws, &graph, &ns).await? {
                println!("{}", serde_json::to_string(&e)?);
            }
            Ok(())
        }
        ("json", _) | (_, true) => print_json(&graph),
        ("tree", false) => {
            print!("{}", lineage::render_tree(&graph));
            Ok(())
        }
        (other, _) => anyhow::bail!("unknown --format `{other}`: use tree, json or openlineage"),
    }
}

fn synth(cwd: &Path, a: SynthArgs, json: bool) -> Result<()> {
    let out = resolve_path(cwd, &a.out);
    let format = match &a.format {
        Some(f) => f.parse::<sluice_synth::Format>()?,
        None => sluice_synth::Format::from_path(&out)?,
    };
    let inject = if a.inject.is_empty() {
        sluice_synth::Injections::default()
    } else {
        sluice_synth::Injections::parse(&a.inject)?
    };
    let cfg = sluice_synth::SynthConfig {
        rows: a.rows,
        seed: a.seed,
        batch: a.batch,
        inject,
        drift: sluice_synth::Drift {
            covariate: a.covariate_drift,
            concept: a.concept_drift,
        },
        ..Default::default()
    };
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let bar = Bar::new(json);
    use sluice_version::progress::{Progress, Unit};
    bar.start("generating rows", Some(a.rows), Unit::Items);
    let started = std::time::Instant::now();
    let mut done = 0u64;
    let summary = sluice_synth::generate(&cfg, &out, format, &mut |rows| {
        bar.advance(rows.saturating_sub(done));
        done = rows;
    })?;
    bar.finish();
    if json {
        return print_json(&serde_json::json!({
            "path": out, "rows": summary.rows, "bytes": summary.bytes, "truth": summary.truth_path,
            "problems": summary.counts, "seconds": started.elapsed().as_secs_f64()
        }));
    }
    println!(
        "wrote {} rows to {} ({}) in {:.1} s",
        count(summary.rows),
        out.display(),
        size(summary.bytes),
        started.elapsed().as_secs_f64()
    );
    if summary.counts.values().any(|n| *n > 0) {
        let list: Vec<String> = summary
            .counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k} {}", count(*n)))
            .collect();
        println!("  injected: {}", list.join(", "));
        println!("  ground truth: {}", summary.truth_path.display());
    }
    Ok(())
}

// Entry points for `sluice demo`, which runs the same commands with fixed arguments.

pub(crate) async fn run_init(dir: &Path, json: bool) -> Result<()> {
    init(
        dir,
        InitArgs {
            dir: dir.to_path_buf(),
            store: None,
            metadata: None,
        },
        json,
    )
    .await
}

/// `sluice synth` of one month (batch) with drift, for the demo.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_synth_batch(
    cwd: &Path,
    out: &Path,
    rows: u64,
    seed: u64,
    batch: u32,
    inject: &str,
    covariate_drift: f64,
    concept_drift: f64,
    json: bool,
) -> Result<()> {
    let args = SynthArgs {
        out: out.to_path_buf(),
        rows,
        seed,
        batch,
        inject: inject.into(),
        covariate_drift,
        concept_drift,
        format: None,
    };
    synth(cwd, args, json)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn run_register(
    ws: &Workspace,
    cwd: &Path,
    name: &str,
    dataset: &str,
    params: &[&str],
    metrics: &[String],
    artifact: &Path,
    json: bool,
) -> Result<()> {
    let args = RegisterArgs {
        name: name.into(),
        datasets: vec![dataset.into()],
        eval_datasets: vec![],
        params: params.iter().map(|p| p.to_string()).collect(),
        code_rev: Some(model::detect_code_rev(cwd).unwrap_or_else(|| format!("sluice-{}", env!("CARGO_PKG_VERSION")))),
        metrics: metrics.to_vec(),
        artifact: Some(artifact.to_path_buf()),
    };
    model_cmd(ws, cwd, ModelCommand::Register(args), json).await
}

pub(crate) async fn run_lineage(ws: &Workspace, target: &str, json: bool) -> Result<()> {
    lineage_cmd(
        ws,
        LineageArgs {
            target: target.into(),
            downstream: false,
            format: "tree".into(),
        },
        json,
    )
    .await
}

pub(crate) async fn run_model_check(ws: &Workspace, target: &str, json: bool) -> Result<()> {
    model_cmd(ws, Path::new("."), ModelCommand::Check { target: target.into() }, json).await
}

pub(crate) async fn run_verify(ws: &Workspace, json: bool) -> Result<()> {
    verify(ws, json).await
}
