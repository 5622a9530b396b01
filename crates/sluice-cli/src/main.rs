//! `sluice`: the command line. Argument parsing and printing only; the work is done by the
//! library crates (`sluice-version`, `sluice-store`, `sluice-ingest`, `sluice-synth`).
//!
//! Exit codes: 0 success; 1 the command ran and found a problem (corruption, a failed model
//! check, `diff --exit-code` with changes); 2 the command could not run (bad input, bad
//! arguments, missing workspace).

mod checks;
mod commands;
mod demo;
mod detect;
mod drift;
mod feedback;
mod label;
mod malloc;
mod monitor;
mod output;
mod performance;
mod pipeline;
mod profile;
mod quality;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Sluice: the data side of production machine learning. Versioned datasets, lineage from data
/// to model, and the checks that keep garbage out.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Run as if sluice was started in DIR (like `git -C`).
    #[arg(short = 'C', id = "chdir", global = true, value_name = "DIR")]
    pub chdir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a workspace (.sluice/ with config, metadata database and object store).
    Init(commands::InitArgs),
    /// Add files and folders as a new version of a dataset.
    Add(commands::AddArgs),
    /// List a dataset's versions, newest first.
    Log(commands::LogArgs),
    /// Show one version: provenance, files, tables and their schemas.
    Show(commands::ShowArgs),
    /// Tag a version (tags name versions: `sluice show data@prod`).
    Tag(commands::TagArgs),
    /// List datasets.
    Ls,
    /// Compare two versions: files, schema, and rows (by key or by whole-row hash).
    Diff(commands::DiffArgs),
    /// Write a version's files to a folder, byte-identical or converted.
    Export(commands::ExportArgs),
    /// Re-hash every stored object and report corruption or missing objects.
    Verify,
    /// Remove objects no version, model or quarantine references (dry run unless --force).
    Gc(commands::GcArgs),
    /// Register models and check their reproducibility.
    #[command(subcommand)]
    Model(commands::ModelCommand),
    /// Show where a model or dataset version came from, or what was derived from it.
    Lineage(commands::LineageArgs),
    /// Generate a realistic ML table (card transactions) with known injected problems.
    Synth(commands::SynthArgs),
    /// Profile every column of a version's tables or of a file: missing values, distinct
    /// counts, quantiles, histograms, frequent values (mergeable sketches).
    Profile(profile::ProfileArgs),
    /// Run a suite of declarative checks (TOML) on a version or file; exit 1 when a check of
    /// error severity fails.
    Check(checks::CheckArgs),
    /// Rows per slice and cross of slices against expected shares: under-represented, absent
    /// and rare slices, and gaps over time; exit 1 when any are found.
    Coverage(checks::CoverageArgs),
    /// Write a starting check suite inferred from a version's or file's profile.
    Suggest(checks::SuggestArgs),
    /// Find data quality problems in a version (against its parent) or a file: missing values,
    /// duplicates, near duplicates, outliers, inconsistent formats, schema changes.
    Quality(quality::QualityArgs),
    /// Drift per column between a reference and current data (versions or files): tests and
    /// distances chosen by type and size, exact or from stored profiles; exit 1 on drift.
    Drift(drift::DriftArgs),
    /// Model performance per time window of labelled predictions, with confidence intervals;
    /// exit 1 when a window's performance drops below the baseline's (concept drift).
    Performance(performance::PerformanceArgs),
    /// Monitor a dataset's new batches against a baseline: drift, quality metrics and their
    /// history, anomalies, alerts (exit 1, webhook) and retraining decisions.
    Monitor(monitor::MonitorArgs),
    /// Run a streaming concept-drift detector (DDM, EDDM, ADWIN, Page-Hinkley, KSWIN, HDDM-A)
    /// over a column; exit 1 on drift. `--state` resumes across batches.
    Detect(detect::DetectArgs),
    /// Run a pipeline (TOML): sources, cleaning and SQL stages, a quality gate, versioned
    /// output with lineage, monitoring; unchanged stages are skipped.
    Run(pipeline::RunArgs),
    /// Run the end-to-end demo in a fresh workspace.
    Demo(demo::DemoArgs),
    /// Labeling projects: import/export, assignment, agreement, review, aggregation, label
    /// errors, active learning, pseudo-labels, and merging labels into a new dataset version.
    #[command(subcommand)]
    Label(label::LabelCommand),
    /// Decision logs: validate them for off-policy evaluation, import Vowpal Wabbit DSJSON.
    #[command(subcommand)]
    Decisions(feedback::DecisionsCommand),
    /// Serve with exploration and holdouts for scripts: scores in, decisions with propensities out.
    Policy(feedback::PolicyArgs),
    /// Off-policy evaluation: what a target policy would have earned on a decision log.
    Ope(feedback::OpeArgs),
    /// Position bias of a click log: examination per position, clicks corrected for it.
    PositionBias(feedback::PositionBiasArgs),
    /// Feedback-loop metrics of a batch (exposure concentration, coverage, homogeneity);
    /// with --series, record them and alert (exit 1) when concentration keeps rising.
    LoopMetrics(feedback::LoopMetricsArgs),
    /// Simulations.
    #[command(subcommand)]
    Simulate(feedback::SimulateCommand),
}

/// An error that carries its exit code.
#[derive(Debug)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}", self.0)
    }
}

impl std::error::Error for Exit {}

fn main() -> ExitCode {
    malloc::tune();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let json = cli.json;
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(Exit(code)) = e.downcast_ref::<Exit>() {
                return ExitCode::from(*code);
            }
            if json {
                let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
                println!("{}", serde_json::json!({"error": chain.join(": ")}));
            } else {
                eprintln!("error: {e}");
                for cause in e.chain().skip(1) {
                    eprintln!("  caused by: {cause}");
                }
            }
            ExitCode::from(2)
        }
    }
}
