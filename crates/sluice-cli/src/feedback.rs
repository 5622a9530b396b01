//! Feedback-loop commands: `decisions validate|import|schema`, `policy`, `ope`, `position-bias`,
//! `loop-metrics` and `simulate feedback-loop`. Parsing and printing only; the work is in
//! `sluice-feedback`.
//!
//! `validate` lives under `sluice decisions`, not `sluice log`: `sluice log NAME` lists a
//! dataset's versions and needs a workspace, while validating a file needs neither, and a
//! `validate` subcommand there would shadow a dataset named "validate".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use comfy_table::Cell;
use sluice_algo::feedback::bootstrap::BootstrapConfig;
use sluice_algo::feedback::holdout::Holdout;
use sluice_feedback::dsjson::{ImportOptions, import};
use sluice_feedback::loops::{concentration_alert, loop_metrics};
use sluice_feedback::ope::{OpeOptions, evaluate_log};
use sluice_feedback::position::position_bias;
use sluice_feedback::serve::{ServeOptions, serve};
use sluice_feedback::sim::{SCENARIOS, SimConfig, simulate};
use sluice_feedback::validate::validate_log;
use sluice_store::Workspace;

use crate::output::{count, print_json, print_table, table};
use crate::{Command, Exit};

/// `sluice decisions ...`.
#[derive(Debug, Subcommand)]
pub enum DecisionsCommand {
    /// Check a decision log (JSON Lines or Parquet) for everything that breaks off-policy
    /// evaluation: one message per problem with its line, field, value and fix (exit 1 if any).
    Validate(ValidateArgs),
    /// Convert a Vowpal Wabbit DSJSON file into a decision log (.jsonl or .parquet).
    Import(ImportArgs),
    /// Print the decision-log schema.
    Schema,
}

/// `sluice decisions validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The decision log.
    pub log: PathBuf,
    /// Outcomes file (JSON Lines of {decision_id, action?, reward}) to check against the log.
    #[arg(long, value_name = "FILE")]
    pub outcomes: Option<PathBuf>,
    /// Problems to list (all are counted).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub max_problems: usize,
}

/// `sluice decisions import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import.
    pub input: PathBuf,
    /// The decision log to write (.jsonl or .parquet).
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// Input format (only `dsjson`, Vowpal Wabbit's decision-service JSON).
    #[arg(long, default_value = "dsjson", value_name = "FORMAT")]
    pub from: String,
    /// Dotted path of the user id inside the DSJSON context `c`, e.g. `User.id`.
    #[arg(long, value_name = "PATH")]
    pub unit_field: Option<String>,
}

/// `sluice policy`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Scores: JSON Lines of {"unit_id", "candidates": [...], "scores": [...]} (optional
    /// decision_id, time, context).
    pub scores: PathBuf,
    /// The decision log to write (.jsonl or .parquet).
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// greedy, epsilon:E, softmax:T, shuffle:N (top N shuffled) or swap:N (one pair of the top N swapped).
    #[arg(long, default_value = "epsilon:0.1", value_name = "POLICY")]
    pub explore: String,
    /// Items shown per decision.
    #[arg(long, default_value_t = 1, value_name = "K")]
    pub slate: usize,
    /// Share of units held out (uniformly random, non-personalised), by salted hash of unit_id.
    #[arg(long, default_value_t = 0.0, value_name = "SHARE")]
    pub holdout: f64,
    /// Salt of the holdout hash (a new salt, a new independent holdout).
    #[arg(long, default_value = "sluice-holdout", value_name = "SALT")]
    pub salt: String,
    /// Random seed (same seed and input, same decisions).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Model version to record in each decision.
    #[arg(long, value_name = "VERSION")]
    pub model_version: Option<String>,
}

/// `sluice ope`.
#[derive(Debug, Args)]
pub struct OpeArgs {
    /// The decision log.
    pub log: PathBuf,
    /// Target policy: uniform, greedy:SCORES (argmax of a score array), epsilon:E (around the
    /// logged greedy action), or a JSON Lines file of {"decision_id", "probabilities": {action: p}}.
    #[arg(long, value_name = "POLICY")]
    pub policy: String,
    /// Outcomes joined by decision id (JSON Lines of {decision_id, action?, reward}).
    #[arg(long, value_name = "FILE")]
    pub outcomes: Option<PathBuf>,
    /// Reward model of DM/DR/Switch-DR: mean (per action) or logistic (context + action).
    #[arg(long, default_value = "mean", value_name = "MODEL")]
    pub reward_model: String,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = 10_000, value_name = "B")]
    pub resamples: usize,
    /// Confidence level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    pub level: f64,
    /// Bootstrap seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Weight cap of clipped IPS.
    #[arg(long, default_value_t = 10.0, value_name = "LAMBDA")]
    pub clip: f64,
    /// Weight threshold of Switch-DR.
    #[arg(long, default_value_t = 10.0, value_name = "TAU")]
    pub switch_tau: f64,
    /// Estimators to compute, comma-separated: ips, clipped_ips, snips, dm, dr, switch_dr, or
    /// all. They share one bootstrap pass; fewer estimators, less work.
    #[arg(long, default_value = "all", value_name = "LIST")]
    pub estimators: String,
}

/// `sluice position-bias`.
#[derive(Debug, Args)]
pub struct PositionBiasArgs {
    /// The decision log (chosen actions with positions; a click is a reward > 0).
    pub log: PathBuf,
    /// Outcomes joined by decision id.
    #[arg(long, value_name = "FILE")]
    pub outcomes: Option<PathBuf>,
    /// Items to list with their corrected click-through rates.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
}

/// `sluice loop-metrics`.
#[derive(Debug, Args)]
pub struct LoopMetricsArgs {
    /// The decision log of one batch.
    pub log: PathBuf,
    /// Record the metrics as the next batch of this series in the workspace's metric history,
    /// and test the history for rising concentration (exit 1 on alert).
    #[arg(long, value_name = "NAME")]
    pub series: Option<String>,
    /// Label of the batch (default: the log's file name); re-recording a label replaces it.
    #[arg(long, value_name = "LABEL")]
    pub batch: Option<String>,
    /// File listing every item id, one per line (default: the items the log names).
    #[arg(long, value_name = "FILE")]
    pub catalogue: Option<PathBuf>,
    /// Level of the one-sided Mann-Kendall test of the alert.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
}

/// `sluice simulate ...`.
#[derive(Debug, Subcommand)]
pub enum SimulateCommand {
    /// Simulate a recommender retrained on its own clicks: no exploration vs epsilon-greedy vs a
    /// holdout, with exposure, utility and off-policy estimates per round.
    FeedbackLoop(SimArgs),
}

/// `sluice simulate feedback-loop`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Rounds after the random cold start.
    #[arg(long, default_value_t = 20)]
    pub rounds: usize,
    /// Users.
    #[arg(long, default_value_t = 2000)]
    pub users: usize,
    /// Items.
    #[arg(long, default_value_t = 100)]
    pub items: usize,
    /// Items per slate.
    #[arg(long, default_value_t = 5)]
    pub slate: usize,
    /// Exploration rate of the epsilon-greedy scenario.
    #[arg(long, default_value_t = 0.2)]
    pub epsilon: f64,
    /// Share of users in the holdout scenario's holdout.
    #[arg(long, default_value_t = 0.1)]
    pub holdout: f64,
    /// Bootstrap resamples of the OPE intervals.
    #[arg(long, default_value_t = 1000)]
    pub resamples: usize,
    /// Seed (same seed, same report).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Write the self-contained HTML report here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

fn abs(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) }
}

/// Runs one of this module's commands.
pub async fn run(cwd: &Path, command: Command, json: bool) -> Result<()> {
    match command {
        Command::Decisions(DecisionsCommand::Validate(a)) => validate(cwd, a, json),
        Command::Decisions(DecisionsCommand::Import(a)) => import_cmd(cwd, a, json),
        Command::Decisions(DecisionsCommand::Schema) => schema(json),
        Command::Policy(a) => policy(cwd, a, json),
        Command::Ope(a) => ope(cwd, a, json),
        Command::PositionBias(a) => position(cwd, a, json),
        Command::LoopMetrics(a) => loops(cwd, a, json).await,
        Command::Simulate(SimulateCommand::FeedbackLoop(a)) => sim(cwd, a, json),
        _ => unreachable!("bug: not a feedback command"),
    }
}

fn validate(cwd: &Path, a: ValidateArgs, json: bool) -> Result<()> {
    let log = abs(cwd, &a.log);
    let outcomes = a.outcomes.map(|o| abs(cwd, &o));
    let r = validate_log(&log, outcomes.as_deref(), a.max_problems)?;
    if json {
        print_json(&r)?;
    } else if r.is_valid() {
        println!(
            "{}: ok, {} decisions, {} chosen actions{}",
            log.display(),
            count(r.decisions),
            count(r.impressions),
            r.outcomes
                .map(|o| format!(", {} outcomes", count(o)))
                .unwrap_or_default()
        );
    } else {
        for p in &r.problems {
            println!("{p}");
        }
        if r.problem_count > r.problems.len() as u64 {
            println!(
                "... and {} more (--max-problems to list more)",
                count(r.problem_count - r.problems.len() as u64)
            );
        }
        let by: Vec<String> = r.by_field.iter().map(|(f, n)| format!("{f}: {n}")).collect();
        eprintln!(
            "{}: {} problems in {} decisions ({}); off-policy estimates from this log would be wrong",
            log.display(),
            count(r.problem_count),
            count(r.decisions),
            by.join(", ")
        );
    }
    if r.is_valid() { Ok(()) } else { Err(Exit(1).into()) }
}

fn import_cmd(cwd: &Path, a: ImportArgs, json: bool) -> Result<()> {
    if a.from != "dsjson" {
        anyhow::bail!(
            "--from {}: only `dsjson` (Vowpal Wabbit decision-service JSON) can be imported",
            a.from
        );
    }
    let input = abs(cwd, &a.input);
    let out = abs(cwd, &a.out);
    let r = import(
        &input,
        &out,
        &ImportOptions {
            unit_field: a.unit_field,
        },
    )?;
    if json {
        return print_json(&serde_json::json!({"out": out, "report": r}));
    }
    println!(
        "{}: {} decisions ({} with a reward), {} non-decision lines skipped, {} marked _skipLearn",
        out.display(),
        count(r.decisions),
        count(r.with_reward),
        count(r.skipped_not_decisions),
        count(r.skip_learn)
    );
    Ok(())
}

const SCHEMA_TEXT: &str = "\
A decision log is JSON Lines (one object per line) or Parquet with these fields:

  decision_id    string, required, unique      outcomes join on it
  time           string, required              RFC 3339, e.g. 2026-03-01T12:00:00Z
  unit_id        string                        the user or session (holdouts, homogeneity)
  context        object                        features the policy saw (Parquet: JSON text)
  candidates     [string]                      actions it chose from (default: all in the log)
  chosen         [{action, position, propensity, reward?}], required
                                               position 0 = top; propensity in (0, 1]
  distribution   [number]                      logging probabilities aligned with candidates, sum 1
  scores         {name: [number]}              per-candidate scores (Parquet: JSON text)
  policy, model_version, reason   string       what decided and why (\"explore\", a score)
  explored       bool                          the decision came from exploration

Outcomes that arrive later: JSON Lines of {decision_id, action?, reward}.";

fn schema(json: bool) -> Result<()> {
    if json {
        let fields: Vec<serde_json::Value> = sluice_feedback::io::decision_schema()
            .fields()
            .iter()
            .map(|f| serde_json::json!({"name": f.name(), "type": f.data_type().to_string(), "nullable": f.is_nullable()}))
            .collect();
        return print_json(&serde_json::json!({"parquet_columns": fields}));
    }
    println!("{SCHEMA_TEXT}");
    Ok(())
}

fn policy(cwd: &Path, a: PolicyArgs, json: bool) -> Result<()> {
    let holdout = if a.holdout > 0.0 {
        Some(Holdout::new(a.salt.clone(), a.holdout).context("--holdout")?)
    } else {
        None
    };
    let opts = ServeOptions {
        explore: a.explore.parse()?,
        slate: a.slate,
        holdout,
        seed: a.seed,
        model_version: a.model_version,
    };
    let out = abs(cwd, &a.out);
    let r = serve(&abs(cwd, &a.scores), &out, &opts)?;
    if json {
        return print_json(&serde_json::json!({"out": out, "explore": opts.explore.to_string(), "report": r}));
    }
    println!(
        "{}: {} decisions by {} ({} explored, {} held out)",
        out.display(),
        count(r.decisions),
        opts.explore,
        count(r.explored),
        count(r.held_out)
    );
    Ok(())
}

fn ope(cwd: &Path, a: OpeArgs, json: bool) -> Result<()> {
    let mut target: sluice_feedback::ope::TargetPolicy = a.policy.parse()?;
    if let sluice_feedback::ope::TargetPolicy::File(p) = &target {
        let p = abs(cwd, p);
        if !p.is_file() {
            anyhow::bail!(
                "--policy {}: not a file, and not uniform, greedy:SCORES or epsilon:E",
                a.policy
            );
        }
        target = sluice_feedback::ope::TargetPolicy::File(p);
    }
    let opts = OpeOptions {
        target,
        reward_model: a.reward_model.parse()?,
        outcomes: a.outcomes.map(|o| abs(cwd, &o)),
        bootstrap: BootstrapConfig {
            resamples: a.resamples,
            level: a.level,
            seed: a.seed,
            ..BootstrapConfig::default()
        },
        clip: a.clip,
        switch_tau: a.switch_tau,
        estimators: sluice_feedback::ope::parse_estimators(&a.estimators)?,
    };
    let r = evaluate_log(&abs(cwd, &a.log), &opts)?;
    if json {
        return print_json(&r);
    }
    println!(
        "{}: target {} on {} rounds ({} decisions, {} actions); logged policy's mean reward {:.6}",
        r.file,
        r.target,
        count(r.rounds),
        count(r.decisions),
        r.actions,
        r.logged_value
    );
    let level = format!("{:.0}% interval", 100.0 * a.level);
    let mut t = table(&["estimator", "estimate", &level, "std error"]);
    for e in &r.estimates {
        let name = match e.estimator.as_str() {
            "clipped_ips" => format!("clipped IPS (lambda {})", r.clip),
            "switch_dr" => format!("Switch-DR (tau {})", r.switch_tau),
            other => other.to_uppercase(),
        };
        t.add_row(vec![
            Cell::new(name),
            Cell::new(format!("{:.6}", e.value)),
            Cell::new(format!("[{:.6}, {:.6}]", e.interval.lower, e.interval.upper)),
            Cell::new(format!("{:.6}", e.interval.std_error)),
        ]);
    }
    print_table(&t);
    let w = &r.weights;
    println!(
        "weights: mean {:.3}, max {:.3}, effective sample size {:.0} ({:.1}%), top 1% hold {:.1}%",
        w.sum / w.n as f64,
        w.max,
        w.ess,
        100.0 * w.ess_share,
        100.0 * w.top1pct_share
    );
    for warning in &r.warnings {
        println!("warning: {warning}");
    }
    Ok(())
}

fn position(cwd: &Path, a: PositionBiasArgs, json: bool) -> Result<()> {
    let outcomes = a.outcomes.map(|o| abs(cwd, &o));
    let r = position_bias(&abs(cwd, &a.log), outcomes.as_deref(), a.top)?;
    if json {
        return print_json(&r);
    }
    println!(
        "{}: {} impressions, {} clicks",
        r.file,
        count(r.impressions),
        count(r.clicks)
    );
    let mut t = table(&[
        "position",
        "impressions",
        "ctr",
        "examination (EM)",
        "examination (swaps)",
    ]);
    for (k, (n, c)) in r.per_position.iter().enumerate() {
        t.add_row(vec![
            Cell::new(k),
            Cell::new(count(*n)),
            Cell::new(format!("{:.4}", *c as f64 / (*n).max(1) as f64)),
            Cell::new(format!("{:.4}", r.em_theta[k])),
            Cell::new(
                r.harvested_theta
                    .as_ref()
                    .map(|h| format!("{:.4}", h[k]))
                    .unwrap_or_else(|| "-".into()),
            ),
        ]);
    }
    print_table(&t);
    println!(
        "position explains {:.0}% and relevance {:.0}% of what the click model gains over a constant CTR (Shapley split)",
        100.0 * r.variation.position_share,
        100.0 * r.variation.relevance_share
    );
    if r.harvested_theta.is_none() {
        println!("no item was shown at two positions: no intervention harvesting (log randomised swaps to get it)");
    }
    let mut t = table(&["action", "impressions", "clicks", "ctr", "ctr corrected"]);
    for i in &r.items {
        t.add_row(vec![
            Cell::new(&i.action),
            Cell::new(count(i.ctr.impressions)),
            Cell::new(count(i.ctr.clicks)),
            Cell::new(format!("{:.4}", i.ctr.ctr)),
            Cell::new(format!("{:.4}", i.ctr.ips_ctr)),
        ]);
    }
    print_table(&t);
    Ok(())
}

async fn loops(cwd: &Path, a: LoopMetricsArgs, json: bool) -> Result<()> {
    let log = abs(cwd, &a.log);
    let catalogue = match &a.catalogue {
        Some(c) => {
            let p = abs(cwd, c);
            let text = std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
            Some(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
            )
        }
        None => None,
    };
    let r = loop_metrics(&log, catalogue.as_deref())?;
    let mut recorded = None;
    if let Some(series) = &a.series {
        let ws = Workspace::discover(cwd).await?;
        let store = ws.metrics().await?;
        let batch = a.batch.clone().unwrap_or_else(|| {
            log.file_name()
                .map_or_else(|| log.display().to_string(), |f| f.to_string_lossy().into_owned())
        });
        let points: Vec<(String, f64)> = r.points().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let attrs =
            serde_json::json!({"file": r.file, "decisions": r.decisions, "users": r.users, "catalogue": r.catalogue});
        let seq = store.record_batch(series, &batch, &points, Some(&attrs)).await?;
        let mut history: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for p in store.history(series).await? {
            history.entry(p.metric).or_default().push(p.value);
        }
        let alert = concentration_alert(&history, a.alpha)?;
        recorded = Some((series.clone(), batch, seq, alert));
    }
    let alert_raised = recorded.as_ref().is_some_and(|r| r.3.alert);
    if json {
        let history = recorded.as_ref().map(|(series, batch, seq, alert)| {
            serde_json::json!({"series": series, "batch": batch, "batch_seq": seq, "trend": alert})
        });
        print_json(&serde_json::json!({"metrics": r, "history": history}))?;
    } else {
        let m = &r.metrics;
        println!(
            "{}: {} impressions, {} users, catalogue of {}",
            r.file,
            count(m.impressions as u64),
            count(r.users as u64),
            count(r.catalogue as u64)
        );
        let mut t = table(&["metric", "value"]);
        t.add_row(vec![Cell::new("exposure gini"), Cell::new(format!("{:.4}", m.gini))]);
        t.add_row(vec![
            Cell::new("catalogue coverage"),
            Cell::new(format!("{:.4}", m.coverage)),
        ]);
        t.add_row(vec![
            Cell::new("top 1% share"),
            Cell::new(format!("{:.4}", m.top1pct_share)),
        ]);
        let h = &m.homogeneity;
        let how = if h.exact { "exact" } else { "minhash" };
        t.add_row(vec![
            Cell::new(format!("homogeneity (mean jaccard, {how})")),
            Cell::new(format!("{:.4}", h.mean_jaccard)),
        ]);
        if let Some(e) = m.exploration_share {
            t.add_row(vec![Cell::new("exploration share"), Cell::new(format!("{e:.4}"))]);
        }
        print_table(&t);
        if r.missing_unit_ids {
            println!(
                "note: some decisions have no unit_id; each counts as its own user (homogeneity is then not about users)"
            );
        }
        if let Some((series, batch, seq, alert)) = &recorded {
            println!("recorded as batch {seq} ({batch}) of series {series}");
            for tr in &alert.trends {
                if let Some(t) = &tr.test {
                    println!(
                        "  {}: Sen slope {:+.4}/batch, Mann-Kendall p(increasing) = {:.3} over {} batches",
                        tr.metric, t.slope, t.p_increasing, t.n
                    );
                }
            }
            if alert.alert {
                println!("ALERT: {}", alert.message);
            } else {
                println!("{}", alert.message);
            }
        }
    }
    if alert_raised { Err(Exit(1).into()) } else { Ok(()) }
}

fn sim(cwd: &Path, a: SimArgs, json: bool) -> Result<()> {
    let cfg = SimConfig {
        rounds: a.rounds,
        users: a.users,
        items: a.items,
        slate: a.slate,
        epsilon: a.epsilon,
        holdout: a.holdout,
        resamples: a.resamples,
        seed: a.seed,
        ..SimConfig::default()
    };
    let r = simulate(&cfg)?;
    let html = a.html.map(|h| abs(cwd, &h));
    if let Some(h) = &html {
        std::fs::write(h, sluice_feedback::report::html(&r))
            .with_context(|| format!("cannot write {}", h.display()))?;
    }
    if json {
        return print_json(&serde_json::json!({"report": r, "html": html}));
    }
    let mut t = table(&["round", "scenario", "gini", "coverage", "utility", "ctr"]);
    for m in r
        .rounds
        .iter()
        .filter(|m| m.round == 0 || m.round == cfg.rounds || m.round % 5 == 0)
    {
        t.add_row(vec![
            Cell::new(m.round),
            Cell::new(m.scenario),
            Cell::new(format!("{:.3}", m.gini)),
            Cell::new(format!("{:.3}", m.coverage)),
            Cell::new(format!("{:.4}", m.utility)),
            Cell::new(format!("{:.4}", m.ctr)),
        ]);
    }
    print_table(&t);
    println!("oracle utility {:.4} expected clicks per user", r.oracle_utility);
    println!(
        "candidate policy: true value {:.4}; off-policy estimates from each scenario's logs:",
        r.candidate_true_value
    );
    let mut t = table(&[
        "scenario",
        "estimator",
        "rows",
        "estimate",
        "95% interval",
        "covers truth",
    ]);
    for sc in SCENARIOS {
        for e in r.estimates.iter().filter(|e| e.scenario == sc) {
            t.add_row(vec![
                Cell::new(e.scenario),
                Cell::new(e.estimator.to_uppercase()),
                Cell::new(count(e.rows as u64)),
                Cell::new(format!("{:.4}", e.value)),
                Cell::new(format!("[{:.4}, {:.4}]", e.interval.lower, e.interval.upper)),
                Cell::new(if e.covers_truth { "yes" } else { "no" }),
            ]);
        }
    }
    print_table(&t);
    if let Some(h) = html {
        println!("report: {}", h.display());
    }
    Ok(())
}
