//! `sluice run PIPELINE.toml`: raw batches -> cleaning and SQL stages -> quality gate -> dataset
//! version (with lineage) -> monitoring, with `dvc repro`-style caching.
//!
//! ```toml
//! name = "transactions"
//! [source]
//! path = "incoming/*.parquet"   # a file or a glob in one folder (`*`, `?` in the file name)
//! mode = "each"                 # each: every file not yet ingested, one batch per file; latest: the newest
//! raw_dataset = "tx-raw"        # optional: version the raw batch too (lineage raw -> cleaned)
//! [[stage]]
//! name = "clean"
//! steps = [{ kind = "dedupe" }, { kind = "trim", columns = ["city"] }]
//! [[stage]]
//! name = "features"
//! sql = "SELECT *, amount > 1000 AS big FROM input"   # the previous stage's table is `input`
//! [gate]
//! suite = "checks.toml"
//! [output]
//! dataset = "tx"
//! [monitor]
//! baseline = "v1"               # default: the first version the pipeline writes
//! config = "monitor.toml"
//! ```
//!
//! Caching: a stage's output is kept under `.sluice/pipelines/NAME/cache/BATCH-KEY.EXT`, where
//! BATCH is the start of the batch's content hash and KEY hashes the batch's content hash, every
//! stage configuration up to this one, and the stage's position. A stage whose key exists is not
//! run again (`--force` reruns); a batch whose stage or gate fails leaves nothing versioned and is
//! retried by the next run, which finds the stages before the failure in the cache. Paths in the
//! file are relative to the file's folder.
//!
//! The cache is for resuming, not a product, so it is written only when a batch stops:
//!
//! | what happened | written to the cache | the next run |
//! |---|---|---|
//! | stage i fails (an error) | stage i-1's output, `.arrow` (Arrow IPC, uncompressed: memory speed) | starts at stage i |
//! | the gate fails | the last stage's output, `.parquet` (the output as `sluice add` stores it) | runs the gate, versions the linked file |
//! | the batch is versioned | nothing; every `BATCH-*` file is deleted | skips the file (done list) |
//!
//! On the way to a version the table stays in memory and is encoded once, as the output's
//! canonical Parquet, on every core. A versioned file is skipped by the done list and `--force`
//! ignores the cache, so a successful batch's stage outputs would never be read: not writing them
//! saves writing a copy of the table per stage (the larger part of a stage's time at 10M rows, see
//! docs/benchmarks.md). The price: a run killed outright (not a failed stage) restarts that batch
//! from its source. Disk use is bounded by one table per batch that has stopped and not yet been
//! versioned.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use clap::Args;
use serde::{Deserialize, Serialize};
use sluice_store::Workspace;
use sluice_version::DatasetRef;
use sluice_version::add::{AddOptions, Prepared, add};

use crate::Exit;
use crate::output::{Bar, count, print_json};

/// `sluice run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline file (TOML).
    pub pipeline: PathBuf,
    /// Rerun every stage, ignoring the cache.
    #[arg(long)]
    pub force: bool,
    /// Print what would run and why, and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Exit 0 even when monitoring raises alerts (a failed gate still exits 1).
    #[arg(long)]
    pub no_fail: bool,
}

/// The pipeline file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// The pipeline's name (its state and cache live under `.sluice/pipelines/NAME`).
    pub name: String,
    /// Where batches come from.
    pub source: SourceConfig,
    /// Stages, in order.
    #[serde(default, rename = "stage")]
    pub stages: Vec<StageConfig>,
    /// The quality gate.
    pub gate: Option<GateConfig>,
    /// Where the result is versioned.
    pub output: OutputConfig,
    /// Monitoring of the output dataset.
    pub monitor: Option<MonitorStage>,
}

/// `[source]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// A file or a glob (`*`, `?` in the file name).
    pub path: String,
    /// `each` (default): every file not yet ingested; `latest`: only the newest file.
    #[serde(default)]
    pub mode: SourceMode,
    /// Also version each raw batch in this dataset.
    pub raw_dataset: Option<String>,
}

/// How files become batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceMode {
    /// Every matching file not yet ingested, in name order.
    #[default]
    Each,
    /// Only the newest matching file (by modification time).
    Latest,
}

/// `[[stage]]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    /// The stage's name.
    pub name: String,
    /// A DataFusion SQL query over `input`.
    pub sql: Option<String>,
    /// Built-in cleaning steps, in order.
    #[serde(default)]
    pub steps: Vec<sluice_clean::Step>,
}

/// `[gate]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// The checks suite (TOML); a failed check of error severity stops the batch.
    pub suite: PathBuf,
}

/// `[output]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// The dataset the result is added to.
    pub dataset: String,
}

/// `[monitor]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorStage {
    /// Baseline version of the output dataset (default: the first one).
    pub baseline: Option<String>,
    /// The monitor settings file.
    pub config: Option<PathBuf>,
    /// Webhook for alerts.
    pub webhook: Option<String>,
    /// HTML report path.
    pub html: Option<PathBuf>,
}

impl Pipeline {
    /// Reads and checks a pipeline file; errors name the file and line.
    pub fn load(path: &Path) -> Result<Pipeline> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let p: Pipeline = crate::output::parse_toml(&text, &path.display().to_string())?;
        if p.name.is_empty() || p.name.contains(['/', '\\', '.']) {
            bail!("{}: name = {:?}: use letters, digits, - and _", path.display(), p.name);
        }
        let mut seen = std::collections::HashSet::new();
        for s in &p.stages {
            match (&s.sql, s.steps.is_empty()) {
                (Some(_), false) => bail!(
                    "{}: stage {:?} has both sql and steps; split it into two stages",
                    path.display(),
                    s.name
                ),
                (None, true) => bail!(
                    "{}: stage {:?} has neither sql nor steps; give it one",
                    path.display(),
                    s.name
                ),
                _ => {}
            }
            if !seen.insert(s.name.clone()) {
                bail!("{}: two stages are named {:?}", path.display(), s.name);
            }
        }
        Ok(p)
    }
}

/// One stage's run on one batch.
#[derive(Debug, Clone, Serialize)]
pub struct StageRun {
    /// The stage.
    pub name: String,
    /// `ran`, `cached` or (dry run) `would run`.
    pub status: String,
    /// Why it ran or not.
    pub why: String,
    /// Rows in.
    pub rows_in: u64,
    /// Rows out.
    pub rows_out: u64,
    /// What each cleaning step changed.
    pub steps: Vec<sluice_clean::StepReport>,
    /// Seconds spent.
    pub seconds: f64,
}

/// One batch through the pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct BatchRun {
    /// The source file.
    pub source: String,
    /// Its content hash (BLAKE3).
    pub hash: String,
    /// Rows read.
    pub rows: u64,
    /// Seconds spent reading.
    pub read_seconds: f64,
    /// The stages.
    pub stages: Vec<StageRun>,
    /// The gate's report.
    pub gate: Option<sluice_checks::Report>,
    /// Whether the gate passed (true without a gate).
    pub passed: bool,
    /// The raw version, when the raw batch is versioned.
    pub raw_version: Option<String>,
    /// The output version.
    pub version: Option<String>,
    /// Seconds spent versioning (writing the output's Parquet file included).
    pub version_seconds: f64,
    /// Seconds spent writing the output's Parquet file, alongside adding the raw batch, within
    /// `version_seconds` (0 when it was linked from the cache).
    pub write_seconds: f64,
}

/// What a run did.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// The pipeline.
    pub pipeline: String,
    /// Whether nothing was written (`--dry-run`).
    pub dry_run: bool,
    /// The batches processed.
    pub batches: Vec<BatchRun>,
    /// Monitoring of the output, when configured and something was versioned.
    pub monitor: Option<crate::monitor::RunReport>,
}

/// Files done, by path, with the content hash and the version they became.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    done: BTreeMap<String, Done>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Done {
    hash: String,
    version: String,
}

/// Runs `sluice run`.
pub async fn run(cwd: &Path, a: RunArgs, json: bool) -> Result<()> {
    let file = cwd.join(&a.pipeline);
    let p = Pipeline::load(&file)?;
    let base = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cwd.to_path_buf());
    let report = execute(cwd, &base, &file, &p, &a, json).await?;
    let failed = report.batches.iter().any(|b| !b.passed);
    if json {
        print_json(&report)?;
    } else {
        summary(&report);
    }
    if failed {
        return Err(Exit(1).into());
    }
    if report.monitor.as_ref().is_some_and(|m| m.alerts > 0) && !a.no_fail {
        return Err(Exit(1).into());
    }
    Ok(())
}

/// Runs a pipeline (the demo calls this too). Prints progress unless `quiet`.
pub async fn execute(
    cwd: &Path,
    base: &Path,
    file: &Path,
    p: &Pipeline,
    a: &RunArgs,
    quiet: bool,
) -> Result<RunReport> {
    let ws = Workspace::discover(cwd).await?;
    let dir = ws.dir.join("pipelines").join(&p.name);
    let cache = dir.join("cache");
    std::fs::create_dir_all(&cache).with_context(|| format!("cannot create {}", cache.display()))?;
    let state_path = dir.join("state.json");
    let mut state: State = match std::fs::read(&state_path) {
        Ok(b) => serde_json::from_slice(&b)
            .with_context(|| format!("{} is damaged; delete it to start over", state_path.display()))?,
        Err(_) => State::default(),
    };
    let suite = match &p.gate {
        Some(g) => Some(sluice_checks::Suite::load(&base.join(&g.suite))?),
        None => None,
    };
    let sources = match_sources(base, &p.source)?;
    if sources.is_empty() {
        bail!("{}: [source] path {:?} matches no file", file.display(), p.source.path);
    }
    let mut batches = Vec::new();
    for src in sources {
        let hash = blake3_file(&src)?;
        let key = src.display().to_string();
        if !a.force && state.done.get(&key).is_some_and(|d| d.hash == hash) {
            continue;
        }
        let b = run_batch(&ws, &cache, &src, &hash, p, suite.as_ref(), a, quiet).await?;
        if let Some(v) = &b.version {
            state.done.insert(
                key,
                Done {
                    hash,
                    version: v.clone(),
                },
            );
            let tmp = state_path.with_extension("json.tmp");
            std::fs::write(&tmp, serde_json::to_vec_pretty(&state)?)?;
            std::fs::rename(&tmp, &state_path)?;
        }
        let stop = !b.passed;
        batches.push(b);
        if stop {
            break;
        }
    }
    let versioned = batches.iter().any(|b| b.version.is_some());
    let monitor = match (&p.monitor, versioned, a.dry_run) {
        (Some(m), true, false) => {
            let baseline = match &m.baseline {
                Some(b) => b.clone(),
                None => "v1".to_string(),
            };
            let args = crate::monitor::MonitorArgs {
                name: p.output.dataset.clone(),
                baseline,
                batches: Vec::new(),
                config: m.config.as_ref().map(|c| base.join(c)),
                webhook: m.webhook.clone(),
                html: m.html.as_ref().map(|h| base.join(h)),
                reset: false,
                no_fail: true,
            };
            if !quiet {
                println!("monitor {}:", p.output.dataset);
            }
            Some(crate::monitor::monitor(cwd, &args, quiet).await?)
        }
        _ => None,
    };
    Ok(RunReport {
        pipeline: p.name.clone(),
        dry_run: a.dry_run,
        batches,
        monitor,
    })
}

#[allow(clippy::too_many_arguments)]
async fn run_batch(
    ws: &Workspace,
    cache: &Path,
    src: &Path,
    hash: &str,
    p: &Pipeline,
    suite: Option<&sluice_checks::Suite>,
    a: &RunArgs,
    quiet: bool,
) -> Result<BatchRun> {
    let name = src
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    if !quiet {
        println!("{name}:");
    }
    let mut run = BatchRun {
        source: src.display().to_string(),
        hash: hash.to_string(),
        rows: 0,
        read_seconds: 0.0,
        stages: Vec::new(),
        gate: None,
        passed: true,
        raw_version: None,
        version: None,
        version_seconds: 0.0,
        write_seconds: 0.0,
    };
    // Stage keys: the batch's hash, then each stage's configuration in turn.
    let mut keys = Vec::with_capacity(p.stages.len());
    let mut h = blake3::Hasher::new();
    h.update(hash.as_bytes());
    for (i, s) in p.stages.iter().enumerate() {
        h.update(format!("{i}:").as_bytes());
        h.update(serde_json::to_string(s)?.as_bytes());
        keys.push(h.clone().finalize().to_hex().to_string());
    }
    let last = p.stages.len().saturating_sub(1);
    let entries: Vec<PathBuf> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| cache_entry(cache, hash, k, i == last))
        .collect();
    // The last cached stage: everything before it can be skipped, including reading the source.
    let start = if a.force {
        0
    } else {
        entries.iter().rposition(|e| e.is_file()).map_or(0, |i| i + 1)
    };
    if a.dry_run {
        for (i, s) in p.stages.iter().enumerate() {
            let (status, why) = if i < start {
                ("cached", "same input and configuration as a previous run".to_string())
            } else if a.force {
                ("would run", "--force".to_string())
            } else {
                (
                    "would run",
                    "new input or changed configuration up to this stage".to_string(),
                )
            };
            if !quiet {
                println!("  {}: {status} ({why})", s.name);
            }
            run.stages.push(StageRun {
                name: s.name.clone(),
                status: status.into(),
                why,
                rows_in: 0,
                rows_out: 0,
                steps: Vec::new(),
                seconds: 0.0,
            });
        }
        return Ok(run);
    }

    let t0 = Instant::now();
    let (mut schema, mut table) = if start == 0 {
        read_source(src)?
    } else {
        tokio::task::block_in_place(|| read_cached(&entries[start - 1]))?
    };
    run.read_seconds = t0.elapsed().as_secs_f64();
    run.rows = rows(&table);
    if !quiet {
        let from = if start == 0 { "read" } else { "resumed from the cache" };
        println!("  {from}: {} rows ({:.2} s)", count(run.rows), run.read_seconds);
    }
    for (i, s) in p.stages.iter().enumerate() {
        let t = Instant::now();
        let rows_in = rows(&table);
        if i < start {
            run.stages.push(StageRun {
                name: s.name.clone(),
                status: "cached".into(),
                why: "same input and configuration as a previous run".into(),
                rows_in: 0,
                rows_out: 0,
                steps: Vec::new(),
                seconds: 0.0,
            });
            if !quiet {
                println!("  {}: cached", s.name);
            }
            continue;
        }
        // This stage's input, when it is the output of a stage that ran in this run (so not in the
        // cache yet): kept (the batches are shared, not copied) to be cached if this stage fails.
        let input = (i > start).then(|| (schema.clone(), table.clone()));
        let mut steps = Vec::new();
        let ran: Result<()> = async {
            if let Some(sql) = &s.sql {
                let (sc, out) = run_sql(&schema, std::mem::take(&mut table), sql).await?;
                schema = sc;
                table = out;
            } else {
                for step in &s.steps {
                    let (out, report) =
                        tokio::task::block_in_place(|| sluice_clean::apply(step, std::mem::take(&mut table)))?;
                    table = out;
                    steps.push(report);
                }
                if let Some(b) = table.first() {
                    schema = b.schema();
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = ran {
            let e = e.context(format!("stage {}", s.name));
            return Err(match input {
                Some((sc, t)) => match tokio::task::block_in_place(|| write_arrow(&entries[i - 1], &sc, &t)) {
                    Ok(()) => e,
                    Err(w) => e.context(format!("(and caching the stage before it failed too: {w:#})")),
                },
                None => e,
            });
        }
        drop(input);
        let r = StageRun {
            name: s.name.clone(),
            status: "ran".into(),
            why: if a.force {
                "--force".into()
            } else {
                "new input or changed configuration".into()
            },
            rows_in,
            rows_out: rows(&table),
            steps,
            seconds: t.elapsed().as_secs_f64(),
        };
        if !quiet {
            println!(
                "  {}: {} -> {} rows ({:.2} s)",
                r.name,
                count(r.rows_in),
                count(r.rows_out),
                r.seconds
            );
            for st in &r.steps {
                println!(
                    "    {}: {} rows removed, {} values changed, {} added ({:.2} s)",
                    st.step,
                    count(st.rows_removed),
                    count(st.values_changed),
                    count(st.values_added),
                    st.seconds
                );
            }
        }
        run.stages.push(r);
    }

    if let Some(suite) = suite {
        let ctx = sluice_version::engine::session();
        let mem = datafusion::datasource::MemTable::try_new(schema.clone(), vec![table.clone()])?;
        ctx.register_table("t", Arc::new(mem))?;
        let report = sluice_checks::run(&ctx, suite, chrono::Utc::now()).await?;
        run.passed = report.failed_errors == 0;
        if !quiet {
            println!(
                "  gate: {} passed, {} failed ({} errors)",
                report.passed,
                report.failed_errors + report.failed_warnings,
                report.failed_errors
            );
            for o in report.outcomes.iter().filter(|o| !o.passed) {
                println!(
                    "    FAILED {} ({:?}): observed {}, expected {}",
                    o.name, o.severity, o.observed, o.expected
                );
            }
        }
        run.gate = Some(report);
        if !run.passed {
            // Cache the result, as the output it would have been, so that the next run (with the
            // suite or the data fixed) resumes after the last stage.
            if start < p.stages.len() {
                tokio::task::block_in_place(|| write_parquet(&entries[last], &schema, &table))?;
            }
            if !quiet {
                println!("  stopped: the gate failed, nothing was versioned");
            }
            return Ok(run);
        }
    }

    let t = Instant::now();
    let out_dir = cache.parent().expect("cache is in the pipeline folder").join("out");
    std::fs::create_dir_all(&out_dir)?;
    let stem = src
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "batch".into());
    let out = out_dir.join(format!("{stem}.parquet"));
    let _ = std::fs::remove_file(&out);
    // The output's Parquet file is encoded while the raw batch is added: that add waits on the
    // disk for part of its time (its copy bypasses the page cache).
    let writer = match entries.last().filter(|_| start == p.stages.len()) {
        // Resumed after the last stage: its cache file is the output, linked, not encoded again.
        Some(cached) => {
            if std::fs::hard_link(cached, &out).is_err() {
                std::fs::copy(cached, &out).with_context(|| format!("cannot copy {}", cached.display()))?;
            }
            None
        }
        None => {
            let table = Arc::new(std::mem::take(&mut table));
            let (out, s2, t2) = (out.clone(), schema.clone(), table.clone());
            let write = tokio::task::spawn_blocking(move || {
                let t = Instant::now();
                write_parquet(&out, &s2, &t2).map(|()| (rows(&t2), t.elapsed().as_secs_f64()))
            });
            // The output's profile, made from the rows in memory while they are encoded, so that
            // `add` need not decode the file it was just written as.
            let s2 = schema.clone();
            let profile = tokio::task::spawn_blocking(move || sluice_profile::profile_batches(&s2, &table));
            Some((write, profile))
        }
    };
    let mut derived = Vec::new();
    if let Some(raw) = &p.source.raw_dataset {
        let opts = add_options(raw, src.to_path_buf(), "raw batch", Some(src), Vec::new(), None);
        let added = add(ws, &opts, &Bar::new(true)).await;
        let r = match added {
            Ok(r) => r,
            Err(e) => {
                // Let the writer finish before its file is left behind.
                if let Some((w, p)) = writer {
                    let _ = w.await;
                    let _ = p.await;
                }
                let _ = std::fs::remove_file(&out);
                return Err(e.into());
            }
        };
        let v = r.commit.version().label();
        derived.push(v.parse::<DatasetRef>()?);
        run.raw_version = Some(v);
    }
    let mut prepared = Vec::new();
    if let Some((w, p)) = writer {
        let (n, seconds) = w.await.context("the Parquet writer task failed")??;
        run.write_seconds = seconds;
        if !quiet {
            println!("  output written: {} rows as Parquet ({seconds:.2} s)", count(n));
        }
        let profile = p.await.context("the profiling task failed")??;
        prepared.push(Prepared {
            path: out.clone(),
            schema: schema.clone(),
            rows: n,
            profile,
        });
    }
    let stages: Vec<String> = p
        .stages
        .iter()
        .map(|s| match &s.sql {
            Some(sql) => format!(
                "stage {} sql {:?}",
                s.name,
                sql.split_whitespace().collect::<Vec<_>>().join(" ")
            ),
            None => format!(
                "stage {} steps {}",
                s.name,
                serde_json::to_string(&s.steps).unwrap_or_default()
            ),
        })
        .collect();
    let command = format!("sluice run (pipeline {}: {})", p.name, stages.join("; "));
    let message = format!("pipeline {}: {name}", p.name);
    let mut opts = add_options(
        &p.output.dataset,
        out.clone(),
        &message,
        Some(src),
        derived,
        Some(command),
    );
    // The output file is this run's own: moved into the store, not copied.
    opts.prepared = prepared;
    opts.take = true;
    let r = add(ws, &opts, &Bar::new(quiet)).await?;
    let _ = std::fs::remove_file(&out);
    prune_cache(cache, hash);
    run.version = Some(r.commit.version().label());
    run.version_seconds = t.elapsed().as_secs_f64();
    if !quiet {
        println!(
            "  versioned: {} ({:.2} s)",
            r.commit.version().label(),
            run.version_seconds
        );
    }
    Ok(run)
}

fn add_options(
    dataset: &str,
    path: PathBuf,
    message: &str,
    source: Option<&Path>,
    derived_from: Vec<DatasetRef>,
    command: Option<String>,
) -> AddOptions {
    AddOptions {
        name: dataset.to_string(),
        paths: vec![path],
        message: Some(message.to_string()),
        tags: Vec::new(),
        source: source.map(|s| format!("file://{}", s.display())),
        collected_at: None,
        collected_by: None,
        derived_from,
        bad_rows: sluice_ingest::BadRows::Fail,
        raw: false,
        command,
        prepared: Vec::new(),
        take: false,
    }
}

fn rows(t: &[RecordBatch]) -> u64 {
    t.iter().map(|b| b.num_rows() as u64).sum()
}

/// Files the source names, in the order they are taken.
fn match_sources(base: &Path, s: &SourceConfig) -> Result<Vec<PathBuf>> {
    let pattern = base.join(&s.path);
    let name = pattern
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .with_context(|| format!("[source] path {:?} has no file name", s.path))?;
    let dir = pattern
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| base.to_path_buf());
    if dir.to_string_lossy().contains(['*', '?']) {
        bail!(
            "[source] path {:?}: wildcards are allowed in the file name only",
            s.path
        );
    }
    let mut files: Vec<PathBuf> = if name.contains(['*', '?']) {
        let entries = std::fs::read_dir(&dir).with_context(|| format!("cannot read folder {}", dir.display()))?;
        let mut v = Vec::new();
        for e in entries {
            let e = e?;
            let n = e.file_name().to_string_lossy().to_string();
            if e.file_type()?.is_file() && glob_match(&name, &n) {
                v.push(e.path());
            }
        }
        v.sort();
        v
    } else if pattern.is_file() {
        vec![pattern]
    } else {
        bail!("[source] path {}: no such file", pattern.display());
    };
    if s.mode == SourceMode::Latest && files.len() > 1 {
        let newest = files
            .iter()
            .max_by_key(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
            .cloned()
            .expect("non-empty");
        files = vec![newest];
    }
    Ok(files)
}

/// `*` and `?` wildcard match of a whole file name.
fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

fn blake3_file(path: &Path) -> Result<String> {
    let mut h = blake3::Hasher::new();
    h.update_mmap_rayon(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(h.finalize().to_hex().to_string())
}

fn read_source(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let s = sluice_drift::Sample::read_file(path, u64::MAX)?;
    let batches = s.batches.unwrap_or_default();
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => bail!("{}: no rows", path.display()),
    };
    Ok((schema, batches))
}

/// The cache file of the stage with key `key` of the batch whose content hash is `batch`: Arrow
/// IPC for a stage before the last, the output Parquet for the last (see the module docs).
fn cache_entry(cache: &Path, batch: &str, key: &str, last: bool) -> PathBuf {
    let ext = if last { "parquet" } else { "arrow" };
    cache.join(format!("{}-{key}.{ext}", batch_prefix(batch)))
}

/// The part of a batch's hash that starts the names of its cache files.
fn batch_prefix(batch: &str) -> &str {
    &batch[..batch.len().min(16)]
}

/// Deletes every cache file of a batch (after its output is versioned; see the module docs). A
/// file that cannot be deleted is left for the next prune: the cache only saves work.
fn prune_cache(cache: &Path, batch: &str) {
    let prefix = format!("{}-", batch_prefix(batch));
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Reads a cache file: Arrow IPC or Parquet, by extension.
fn read_cached(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let damaged = || {
        format!(
            "cannot read the cached stage output {}; delete it or rerun with --force",
            path.display()
        )
    };
    let batches = if path.extension().is_some_and(|e| e == "arrow") {
        let file = std::fs::File::open(path).with_context(damaged)?;
        let reader = arrow::ipc::reader::FileReader::try_new_buffered(file, None).with_context(damaged)?;
        reader.collect::<Result<Vec<_>, _>>().with_context(damaged)?
    } else {
        let s = sluice_drift::sample::read_parquet(path, &path.display().to_string(), None).with_context(damaged)?;
        s.batches.unwrap_or_default()
    };
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => bail!(
            "{}: cached stage output has no rows; rerun with --force",
            path.display()
        ),
    };
    Ok((schema, batches))
}

/// Writes `path` through a temporary file renamed into place, so a cache entry is whole or absent.
fn write_atomically(path: &Path, write: impl FnOnce(std::fs::File) -> Result<()>) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let file = std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    if let Err(e) = write(file) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The table as canonical Parquet (what `sluice add` stores), its columns encoded on every core.
fn write_parquet(path: &Path, schema: &SchemaRef, table: &[RecordBatch]) -> Result<()> {
    write_atomically(path, |file| {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let props = sluice_ingest::table_properties(schema, table);
        let out = std::io::BufWriter::with_capacity(1 << 20, file);
        sluice_ingest::write_parquet(out, &path.display().to_string(), schema, table, props, threads)?;
        Ok(())
    })
}

/// The table as an uncompressed Arrow IPC file (a stage cache that is not the output).
fn write_arrow(path: &Path, schema: &SchemaRef, table: &[RecordBatch]) -> Result<()> {
    write_atomically(path, |file| {
        let mut w = arrow::ipc::writer::FileWriter::try_new_buffered(file, schema)?;
        for b in table {
            w.write(b)?;
        }
        w.finish()?;
        std::io::Write::flush(&mut w.into_inner()?)?;
        Ok(())
    })
}

async fn run_sql(schema: &SchemaRef, table: Vec<RecordBatch>, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let ctx = sluice_version::engine::session();
    let mem = datafusion::datasource::MemTable::try_new(schema.clone(), vec![table])?;
    ctx.register_table("input", Arc::new(mem))?;
    let df = ctx.sql(sql).await.with_context(|| format!("in the SQL {sql:?}"))?;
    let out_schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await?;
    Ok((out_schema, batches))
}

fn summary(r: &RunReport) {
    let versioned: Vec<&str> = r.batches.iter().filter_map(|b| b.version.as_deref()).collect();
    if r.dry_run {
        println!("dry run: {} batch(es) would run", r.batches.len());
        return;
    }
    if r.batches.is_empty() {
        println!(
            "pipeline {}: nothing new (every source file already ingested; --force reruns)",
            r.pipeline
        );
        return;
    }
    println!(
        "pipeline {}: {} batch(es), versioned {}",
        r.pipeline,
        r.batches.len(),
        if versioned.is_empty() {
            "nothing".to_string()
        } else {
            versioned.join(", ")
        }
    );
    if let Some(m) = &r.monitor {
        println!("monitoring: {} alert(s)", m.alerts);
        for b in &m.batches {
            if let Some(d) = b.decision.as_ref().filter(|d| d.retrain) {
                println!("retrain on {}: {}", d.train_on.join(", "), d.reason);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs_match_whole_names() {
        assert!(glob_match("*.parquet", "a.parquet"));
        assert!(glob_match("batch-??.csv", "batch-01.csv"));
        assert!(!glob_match("batch-??.csv", "batch-1.csv"));
        assert!(!glob_match("*.csv", "a.csv.tmp"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
    }
}
