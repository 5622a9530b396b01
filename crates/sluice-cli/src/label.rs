//! `sluice label ...`: labeling projects over dataset versions. Parsing and printing only; the
//! store and the workflows are in `sluice-label`, the statistics in `sluice_algo::label`.
//!
//! Exit codes: 0 success; 1 the command ran and found a problem it was asked to gate on
//! (`agreement --fail-under` with a flagged annotator, `errors --fail-on-issues` with issues,
//! `pseudo --max-error` exceeded); 2 bad input (file, line and column named).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use comfy_table::Cell;
use serde_json::json;
use sluice_algo::label::{BootstrapConfig, DawidSkeneConfig, KappaWeights, Level, TiePolicy};
use sluice_label::aggregate::{AggregateOptions, Method};
use sluice_label::agreement::{AgreementOptions, AgreementReport, Figure};
use sluice_label::assign::{AssignOptions, AssignState};
use sluice_label::dataset::LabelColumns;
use sluice_label::io::{Columns, Format, LabelStudioNames};
use sluice_label::predict::{SelectInput, Strategy};
use sluice_label::review::QueueScore;
use sluice_label::store::{
    AnnotatorKind, BatchKind, DatasetLink, LabelSource, MergeRecord, NewAnnotation, NewBatch, NewItem, NewProject,
    Project,
};
use sluice_label::{LabelKind, LabelSchema, LabelStore, index};
use sluice_store::Workspace;
use sluice_version::DatasetRef;

use crate::Exit;
use crate::output::{count, print_json, print_table, table};

/// `sluice label ...`.
#[derive(Debug, Subcommand)]
pub enum LabelCommand {
    /// Create, list and show labeling projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Import annotations: long-format CSV/JSON Lines (item, annotator, label [, seconds,
    /// created_at]) or a Label Studio JSON export; with --gold, known answers (item, label).
    Import(ImportArgs),
    /// Export annotations as a table (CSV/JSON Lines) or as Label Studio-importable JSON.
    Export(ExportArgs),
    /// Hand items to annotators: overlap k, a share of gold items, never an item twice to one
    /// annotator, deterministic with --seed.
    Assign(AssignArgs),
    /// Agreement: percent, Fleiss, Krippendorff's alpha (with bootstrap intervals), per label,
    /// annotator x annotator, and per annotator vs consensus and gold.
    Agreement(AgreementArgs),
    /// Review queue of disagreeing items; `review resolve PROJECT ITEM LABEL` stores an adjudication.
    Review(ReviewArgs),
    /// Aggregate judgements into one label per item (majority, weighted, dawid-skene; mean or
    /// median for interval scales) and store the run.
    Aggregate(AggregateArgs),
    /// Likely label errors by confident learning, from out-of-sample predicted probabilities.
    Errors(ErrorsArgs),
    /// Active learning: choose the next N items to label among those not labelled or assigned.
    Select(SelectArgs),
    /// Accept model predictions over per-class thresholds as pseudo-labels (a separate source)
    /// and measure their error on gold and human labels.
    Pseudo(PseudoArgs),
    /// Write aggregated labels into a new dataset version, with lineage and metrics.
    Merge(MergeArgs),
    /// Metrics recorded for a project (per batch and per merge); with --history, the project's
    /// series in the workspace's metric history (agreement per state of the annotations, merge
    /// metrics per batch and run), which monitoring reads.
    Metrics {
        /// Project name.
        project: String,
        /// Show the metric-history series (`label.PROJECT.*`) instead.
        #[arg(long)]
        history: bool,
    },
}

/// `sluice label project ...`.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project; with --dataset, its items are the rows of a version's table.
    Create(CreateArgs),
    /// List projects with their counts.
    Ls,
    /// Show one project: schema, dataset, counts, batches.
    Show {
        /// Project name.
        name: String,
    },
}

/// `sluice label project create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Project name.
    pub name: String,
    /// single, multi, ordinal or interval.
    #[arg(long, default_value = "single")]
    pub kind: String,
    /// Classes, comma-separated (in scale order for ordinal).
    #[arg(long, value_delimiter = ',', value_name = "A,B,...")]
    pub classes: Vec<String>,
    /// Interval scales: smallest value.
    #[arg(long, allow_hyphen_values = true)]
    pub min: Option<f64>,
    /// Interval scales: largest value.
    #[arg(long, allow_hyphen_values = true)]
    pub max: Option<f64>,
    /// Dataset version whose rows are the items, NAME@REF.
    #[arg(long, value_name = "NAME@REF", requires = "key")]
    pub dataset: Option<String>,
    /// The key column identifying a row.
    #[arg(long, value_name = "COL")]
    pub key: Option<String>,
    /// The table inside the version (when it has several).
    #[arg(long, value_name = "PATH")]
    pub table: Option<String>,
    /// Instructions for annotators.
    #[arg(long)]
    pub instructions: Option<String>,
}

/// Column options of long-format files.
#[derive(Debug, Args)]
pub struct ColumnArgs {
    /// Item key column.
    #[arg(long, default_value = "item", value_name = "COL")]
    pub item_col: String,
    /// Annotator column.
    #[arg(long, default_value = "annotator", value_name = "COL")]
    pub annotator_col: String,
    /// Label column.
    #[arg(long, default_value = "label", value_name = "COL")]
    pub label_col: String,
    /// Seconds-spent column (optional in the file).
    #[arg(long, default_value = "seconds", value_name = "COL")]
    pub seconds_col: String,
}

impl ColumnArgs {
    fn columns(&self) -> Columns {
        Columns {
            item: self.item_col.clone(),
            annotator: self.annotator_col.clone(),
            label: self.label_col.clone(),
            seconds: self.seconds_col.clone(),
            ..Columns::default()
        }
    }
}

/// `sluice label import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Project name.
    pub project: String,
    /// The file.
    pub file: PathBuf,
    /// csv, jsonl or label-studio (default: from the extension; .json is Label Studio).
    #[arg(long)]
    pub format: Option<String>,
    /// The file holds gold answers (item, label) instead of annotations.
    #[arg(long)]
    pub gold: bool,
    /// Kind of annotators seen for the first time: crowd or expert.
    #[arg(long, default_value = "crowd")]
    pub annotator_kind: String,
    /// Label Studio: the task data field holding the item key (default: `item`, else the task id).
    #[arg(long, value_name = "FIELD")]
    pub ls_key: Option<String>,
    #[command(flatten)]
    pub cols: ColumnArgs,
}

/// `sluice label export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Project name.
    pub project: String,
    /// Output file.
    pub out: PathBuf,
    /// csv, jsonl or label-studio (default: from the extension; .json is Label Studio).
    #[arg(long)]
    pub format: Option<String>,
    /// Include pseudo-labels (table formats; they keep source = pseudo).
    #[arg(long)]
    pub include_pseudo: bool,
    /// Label Studio: the labeling control's name (`from_name`).
    #[arg(long, default_value = "label")]
    pub from_name: String,
    /// Label Studio: the data object's name (`to_name`).
    #[arg(long, default_value = "text")]
    pub to_name: String,
    /// Overwrite the output file.
    #[arg(short, long)]
    pub force: bool,
}

/// `sluice label assign`.
#[derive(Debug, Args)]
pub struct AssignArgs {
    /// Project name.
    pub project: String,
    /// Annotators taking part, comma-separated (created as --annotator-kind if new).
    #[arg(long, value_delimiter = ',', required = true, value_name = "A,B,...")]
    pub annotators: Vec<String>,
    /// Distinct annotators per item.
    #[arg(long, default_value_t = 3)]
    pub overlap: usize,
    /// Share of each annotator's new tasks that are gold items.
    #[arg(long, default_value_t = 0.0)]
    pub gold_rate: f64,
    /// Most regular tasks per annotator in this round.
    #[arg(long, value_name = "N")]
    pub per_annotator: Option<usize>,
    /// Most items to bring up to the overlap in this round.
    #[arg(long, value_name = "N")]
    pub items: Option<usize>,
    /// Seed of the shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Kind of new annotators: crowd or expert.
    #[arg(long, default_value = "crowd")]
    pub annotator_kind: String,
    /// Write one task list per annotator (DIR/NAME.csv: item, and the row's fields).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Plan and print, store nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `sluice label agreement`.
#[derive(Debug, Args)]
pub struct AgreementArgs {
    /// Project name.
    pub project: String,
    /// Krippendorff level: nominal, ordinal, interval, ratio (default from the project kind).
    #[arg(long)]
    pub level: Option<String>,
    /// Pairwise kappa weights: unweighted, linear, quadratic (default: quadratic for ordinal).
    #[arg(long)]
    pub weights: Option<String>,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = 1000)]
    pub resamples: usize,
    /// Bootstrap seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Flag annotators whose agreement with the others is under this.
    #[arg(long, value_name = "RATE")]
    pub min_agreement: Option<f64>,
    /// Flag annotators whose gold accuracy is under this.
    #[arg(long, value_name = "RATE")]
    pub min_gold_accuracy: Option<f64>,
    /// Judgements a rate needs before it can flag.
    #[arg(long, default_value_t = 5)]
    pub min_compared: usize,
    /// Exit 1 when an annotator is flagged.
    #[arg(long)]
    pub fail_under: bool,
    /// Do not record the figures in the workspace's metric history (series
    /// `label.PROJECT.agreement`, one batch per state of the annotations).
    #[arg(long)]
    pub no_record: bool,
}

/// `sluice label review`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReviewArgs {
    #[command(subcommand)]
    pub action: Option<ReviewAction>,
    /// Project name.
    #[arg(required = true)]
    pub project: Option<String>,
    /// Rank by vote-entropy or posterior (low Dawid-Skene posterior).
    #[arg(long, default_value = "vote-entropy")]
    pub by: String,
    /// With --by posterior: queue items whose top posterior is under this.
    #[arg(long, default_value_t = 0.9)]
    pub threshold: f64,
    /// Items to list.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

/// `sluice label review resolve`.
#[derive(Debug, Subcommand)]
pub enum ReviewAction {
    /// Store a reviewer's final label for an item (its own layer; annotations stay as they are).
    Resolve {
        /// Project name.
        project: String,
        /// Item key.
        item: String,
        /// The final label.
        label: String,
        /// Who decided (default: user@host).
        #[arg(long)]
        reviewer: Option<String>,
        /// Why.
        #[arg(long)]
        note: Option<String>,
    },
}

/// `sluice label aggregate`.
#[derive(Debug, Args)]
pub struct AggregateArgs {
    /// Project name.
    pub project: String,
    /// majority, weighted, dawid-skene (categories); mean, median (interval).
    #[arg(long, default_value = "majority")]
    pub method: String,
    /// Ties (majority, weighted): first, abstain, random.
    #[arg(long, default_value = "abstain")]
    pub tie: String,
    /// Seed for --tie random.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Dawid-Skene: most EM iterations.
    #[arg(long, default_value_t = 100)]
    pub max_iterations: usize,
    /// Dawid-Skene: stop when no posterior moves more than this.
    #[arg(long, default_value_t = 1e-6)]
    pub tolerance: f64,
    /// Interval: judgements within this of the aggregate count as agreeing (the confidence).
    #[arg(long, default_value_t = 0.0)]
    pub interval_tolerance: f64,
    /// Fill items without human judgements with pseudo-labels (marked as such).
    #[arg(long)]
    pub include_pseudo: bool,
    /// Items to show.
    #[arg(long, default_value_t = 10)]
    pub show: usize,
}

/// Prediction file options.
#[derive(Debug, Args)]
pub struct PredictionArgs {
    /// Item column (CSV) or field (JSON Lines) of the prediction files.
    #[arg(long, default_value = "item", value_name = "COL")]
    pub pred_item_col: String,
}

/// `sluice label errors`.
#[derive(Debug, Args)]
pub struct ErrorsArgs {
    /// Project name.
    pub project: String,
    /// Out-of-sample predicted probabilities: item column plus one column per class.
    #[arg(long, value_name = "FILE")]
    pub predictions: PathBuf,
    /// Use this aggregation run's labels (default: the latest run, else majority vote).
    #[arg(long, value_name = "ID")]
    pub run: Option<i64>,
    /// Issues to list.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Exit 1 when any likely error is found.
    #[arg(long)]
    pub fail_on_issues: bool,
    #[command(flatten)]
    pub pred: PredictionArgs,
}

/// `sluice label select`.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Project name.
    pub project: String,
    /// How many items to select.
    pub n: usize,
    /// least-confidence, margin, entropy, vote-entropy, kl, k-center, hybrid, random.
    #[arg(long, default_value = "entropy")]
    pub strategy: String,
    /// Predicted probabilities (repeat for a committee).
    #[arg(long, value_name = "FILE")]
    pub predictions: Vec<PathBuf>,
    /// Embeddings (k-center, hybrid): item column plus numeric columns, or JSON Lines with `embedding`.
    #[arg(long, value_name = "FILE")]
    pub embeddings: Option<PathBuf>,
    /// Hybrid: size of the uncertain pool k-center picks from (default 10 x N).
    #[arg(long)]
    pub pool: Option<usize>,
    /// Seed (random strategy).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also write the selected item keys to this file, one per line.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub pred: PredictionArgs,
}

/// `sluice label pseudo`.
#[derive(Debug, Args)]
pub struct PseudoArgs {
    /// Project name.
    pub project: String,
    /// Predicted probabilities.
    #[arg(long, value_name = "FILE")]
    pub predictions: PathBuf,
    /// The model's name (its pseudo-labels are recorded as annotator `model:NAME`).
    #[arg(long)]
    pub model: String,
    /// Threshold for every class (0.9), or per class (spam=0.95,ham=0.9); a class not named is
    /// never accepted.
    #[arg(long, default_value = "0.9", value_name = "P|CLASS=P,...")]
    pub threshold: String,
    /// Compute and audit, store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Exit 1 when the upper end of the error interval (vs gold, else vs humans) exceeds this.
    #[arg(long, value_name = "RATE")]
    pub max_error: Option<f64>,
    #[command(flatten)]
    pub pred: PredictionArgs,
}

/// `sluice label merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Project name.
    pub project: String,
    /// The aggregation run to merge (default: the latest).
    #[arg(long, value_name = "ID")]
    pub run: Option<i64>,
    /// Dataset to add the version to (default: the project's dataset).
    #[arg(long, value_name = "NAME")]
    pub into: Option<String>,
    /// Name of the label column (also prefixes _confidence, _source, _n).
    #[arg(long, default_value = "label")]
    pub column: String,
    /// Version message.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Tag the new version.
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
}

/// Runs `sluice label ...`.
pub async fn run(ws: &Workspace, cwd: &Path, cmd: LabelCommand, json: bool) -> Result<()> {
    let store = sluice_label::open(ws).await?;
    let store = store.as_ref();
    match cmd {
        LabelCommand::Project(p) => project_cmd(ws, store, p, json).await,
        LabelCommand::Import(a) => import(store, cwd, a, json).await,
        LabelCommand::Export(a) => export(store, cwd, a, json).await,
        LabelCommand::Assign(a) => assign(store, cwd, a, json).await,
        LabelCommand::Agreement(a) => agreement(ws, store, a, json).await,
        LabelCommand::Review(a) => review(store, a, json).await,
        LabelCommand::Aggregate(a) => aggregate(store, a, json).await,
        LabelCommand::Errors(a) => errors(store, cwd, a, json).await,
        LabelCommand::Select(a) => select(store, cwd, a, json).await,
        LabelCommand::Pseudo(a) => pseudo(store, cwd, a, json).await,
        LabelCommand::Merge(a) => merge(ws, store, a, json).await,
        LabelCommand::Metrics { project, history } => {
            if history {
                metric_history(ws, store, &project, json).await
            } else {
                metrics(store, &project, json).await
            }
        }
    }
}

fn resolve_path(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) }
}

fn parse<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T> {
    s.parse::<T>().map_err(anyhow::Error::msg)
}

fn fig(f: &Figure) -> String {
    match (f.value, f.low, f.high) {
        (Some(v), Some(l), Some(h)) => format!("{v:.3} [{l:.3}, {h:.3}]"),
        (Some(v), _, _) => format!("{v:.3}"),
        _ => "-".into(),
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into())
}

async fn project_cmd(ws: &Workspace, store: &dyn LabelStore, p: ProjectCommand, json: bool) -> Result<()> {
    match p {
        ProjectCommand::Create(a) => {
            let kind: LabelKind = parse(&a.kind)?;
            let schema = LabelSchema {
                kind,
                classes: a
                    .classes
                    .iter()
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty())
                    .collect(),
                min: a.min,
                max: a.max,
            };
            schema.validate().map_err(anyhow::Error::msg)?;
            let (dataset, items, version_label) = match &a.dataset {
                Some(d) => {
                    let r: DatasetRef = d.parse()?;
                    let v = r.resolve(ws.meta.as_ref()).await?;
                    let key = a.key.clone().expect("clap requires --key with --dataset");
                    let t = sluice_label::dataset::read_version_table(ws, &v, a.table.as_deref()).await?;
                    let keys = sluice_label::dataset::keys(&t, &key)?;
                    let payloads = sluice_label::dataset::payloads(&t)?;
                    let items: Vec<NewItem> = keys
                        .into_iter()
                        .zip(payloads)
                        .enumerate()
                        .map(|(i, (k, p))| NewItem {
                            key: k,
                            row_index: Some(i as i64),
                            payload: Some(p),
                        })
                        .collect();
                    (
                        Some(DatasetLink {
                            version_id: v.id,
                            table_path: t.entry.path.clone(),
                            key_column: key,
                        }),
                        items,
                        Some(v.label()),
                    )
                }
                None => (None, Vec::new(), None),
            };
            let n_items = items.len();
            let project = store
                .create_project(
                    NewProject {
                        name: a.name.clone(),
                        schema,
                        dataset,
                        instructions: a.instructions,
                        created_by: sluice_version::add::current_user(),
                    },
                    &items,
                )
                .await?;
            if json {
                return print_json(&json!({"project": project, "items": n_items, "dataset": version_label}));
            }
            println!(
                "created label project {} ({}{})",
                project.name,
                project.schema.kind.as_str(),
                if project.schema.classes.is_empty() {
                    String::new()
                } else {
                    format!(": {}", project.schema.classes.join(", "))
                }
            );
            match version_label {
                Some(v) => println!("  {} items: rows of {v}", count(n_items as u64)),
                None => println!("  no dataset: items are created as annotations are imported"),
            }
            Ok(())
        }
        ProjectCommand::Ls => {
            let ps = store.projects().await?;
            if json {
                return print_json(&ps);
            }
            if ps.is_empty() {
                println!("no label projects yet; create one with `sluice label project create NAME --classes a,b`");
                return Ok(());
            }
            let mut t = table(&[
                "project",
                "kind",
                "items",
                "labelled",
                "annotations",
                "annotators",
                "gold",
                "reviewed",
            ]);
            for p in &ps {
                t.add_row(vec![
                    Cell::new(&p.project.name),
                    Cell::new(p.project.schema.kind.as_str()),
                    Cell::new(count(p.items as u64)),
                    Cell::new(count(p.labelled_items as u64)),
                    Cell::new(count(p.annotations as u64)),
                    Cell::new(p.annotators),
                    Cell::new(p.gold),
                    Cell::new(p.reviewed),
                ]);
            }
            print_table(&t);
            Ok(())
        }
        ProjectCommand::Show { name } => {
            let project = store.project(&name).await?;
            let summary = store.projects().await?.into_iter().find(|p| p.project.id == project.id);
            let batches = store.batches(project.id).await?;
            let version = match &project.dataset {
                Some(d) => Some(ws.meta.version_by_id(d.version_id).await?.label()),
                None => None,
            };
            if json {
                return print_json(&json!({
                    "project": summary, "dataset_version": version,
                    "batches": batches.iter().map(|(id, kind, source, rows, at)| json!({
                        "id": id, "kind": kind, "source": source, "rows": rows, "created_at": at
                    })).collect::<Vec<_>>()
                }));
            }
            println!("project {} ({})", project.name, project.schema.kind.as_str());
            if !project.schema.classes.is_empty() {
                println!("  classes     {}", project.schema.classes.join(", "));
            }
            if let (Some(lo), Some(hi)) = (project.schema.min, project.schema.max) {
                println!("  scale       [{lo}, {hi}]");
            }
            if let (Some(d), Some(v)) = (&project.dataset, &version) {
                println!("  dataset     {v} table {} key {}", d.table_path, d.key_column);
            }
            if let Some(s) = &summary {
                println!(
                    "  items       {} ({} labelled, {} gold, {} reviewed)",
                    count(s.items as u64),
                    count(s.labelled_items as u64),
                    s.gold,
                    s.reviewed
                );
                println!(
                    "  annotations {} by {} annotators",
                    count(s.annotations as u64),
                    s.annotators
                );
            }
            if !batches.is_empty() {
                println!();
                let mut t = table(&["batch", "kind", "rows", "at", "source"]);
                for (id, kind, source, rows, at) in &batches {
                    t.add_row(vec![
                        Cell::new(id),
                        Cell::new(kind),
                        Cell::new(count(*rows as u64)),
                        Cell::new(at.format("%Y-%m-%d %H:%M")),
                        Cell::new(source.clone().unwrap_or_default()),
                    ]);
                }
                print_table(&t);
            }
            Ok(())
        }
    }
}

async fn import(store: &dyn LabelStore, cwd: &Path, a: ImportArgs, json: bool) -> Result<()> {
    let project = store.project(&a.project).await?;
    let file = resolve_path(cwd, &a.file);
    let format = Format::resolve(a.format.as_deref(), &file)?;
    let cols = a.cols.columns();
    let batch = |kind: BatchKind| NewBatch {
        kind,
        source: Some(file.to_string_lossy().into_owned()),
        params: json!({"format": format!("{format:?}").to_lowercase()}),
        created_by: sluice_version::add::current_user(),
    };
    let known: HashSet<String> = store.items(project.id).await?.into_iter().map(|i| i.key).collect();
    let check_known = |keys: &mut dyn Iterator<Item = &String>| -> Result<()> {
        if project.dataset.is_some() {
            let unknown: Vec<&String> = keys.filter(|k| !known.contains(*k)).collect();
            if let Some(first) = unknown.first() {
                bail!(
                    "{}: {} rows name items that are not rows of the project's dataset (first: `{first}`); \
                     check the item column (--item-col) against the key column",
                    file.display(),
                    unknown.len()
                );
            }
        }
        Ok(())
    };
    if a.gold {
        let rows = sluice_label::io::read_gold(&file, format, &project.schema, &cols)?;
        check_known(&mut rows.iter().map(|r| &r.0))?;
        let missing: Vec<&String> = rows.iter().map(|r| &r.0).filter(|k| !known.contains(*k)).collect();
        if let Some(first) = missing.first() {
            bail!(
                "{}: gold item `{first}` is not an item of project {} yet ({} such); import its annotations first",
                file.display(),
                project.name,
                missing.len()
            );
        }
        let batch_id = store.set_gold(&project, batch(BatchKind::Gold), &rows).await?;
        if json {
            return print_json(&json!({"batch": batch_id, "gold": rows.len()}));
        }
        println!(
            "set {} gold answers in {} (batch {batch_id})",
            count(rows.len() as u64),
            project.name
        );
        return Ok(());
    }
    let kind: AnnotatorKind = parse(&a.annotator_kind)?;
    if kind == AnnotatorKind::Model {
        bail!("--annotator-kind model is reserved for pseudo-labels (sluice label pseudo)");
    }
    let parsed = sluice_label::io::read_annotations(&file, format, &project.schema, &cols, a.ls_key.as_deref())?;
    check_known(&mut parsed.annotations.iter().map(|r| &r.item))?;
    if project.dataset.is_none() && !parsed.payloads.is_empty() {
        let items: Vec<NewItem> = parsed
            .payloads
            .iter()
            .map(|(k, p)| NewItem {
                key: k.clone(),
                row_index: None,
                payload: Some(p.clone()),
            })
            .collect();
        store.add_items(project.id, &items).await?;
    }
    let r = store
        .import(
            &project,
            batch(BatchKind::Import),
            kind,
            LabelSource::Human,
            project.dataset.is_none(),
            &parsed.annotations,
        )
        .await?;
    let mut gold_set = 0;
    if !parsed.gold.is_empty() {
        store.set_gold(&project, batch(BatchKind::Gold), &parsed.gold).await?;
        gold_set = parsed.gold.len();
    }
    if json {
        return print_json(&json!({"import": r, "gold": gold_set, "read": parsed.annotations.len()}));
    }
    println!(
        "imported {} answers into {} (batch {}): {} new, {} unchanged; {} new items, {} new annotators",
        count(parsed.annotations.len() as u64),
        project.name,
        r.batch_id,
        count(r.inserted),
        count(r.unchanged),
        count(r.new_items),
        r.new_annotators
    );
    if gold_set > 0 {
        println!("  {gold_set} answers marked ground truth were set as gold");
    }
    Ok(())
}

async fn export(store: &dyn LabelStore, cwd: &Path, a: ExportArgs, json: bool) -> Result<()> {
    let project = store.project(&a.project).await?;
    let out = resolve_path(cwd, &a.out);
    if out.exists() && !a.force {
        bail!("{} exists; pass --force to overwrite it", out.display());
    }
    let format = Format::resolve(a.format.as_deref(), &out)?;
    let source = if a.include_pseudo {
        None
    } else {
        Some(LabelSource::Human)
    };
    let anns = store.annotations(project.id, source).await?;
    let n_items;
    match format {
        Format::LabelStudio => {
            let items = store.items(project.id).await?;
            n_items = items.len();
            let gold: HashMap<String, String> = store
                .gold(project.id)
                .await?
                .into_iter()
                .map(|g| (g.item, g.value))
                .collect();
            let human: Vec<_> = anns
                .iter()
                .filter(|a| a.source == LabelSource::Human)
                .cloned()
                .collect();
            let tasks = sluice_label::io::label_studio_tasks(
                &project.schema,
                &LabelStudioNames {
                    from_name: a.from_name,
                    to_name: a.to_name,
                },
                &items.into_iter().map(|i| (i.key, i.payload)).collect::<Vec<_>>(),
                &human,
                &gold,
            )?;
            std::fs::write(&out, serde_json::to_vec_pretty(&tasks)?)
                .with_context(|| format!("cannot write {}", out.display()))?;
        }
        f => {
            n_items = anns.iter().map(|a| a.item_id).collect::<HashSet<_>>().len();
            sluice_label::io::write_table(&out, f, &anns)?;
        }
    }
    if json {
        return print_json(&json!({"path": out, "annotations": anns.len(), "items": n_items}));
    }
    println!(
        "exported {} answers on {} items of {} to {}",
        count(anns.len() as u64),
        count(n_items as u64),
        project.name,
        out.display()
    );
    Ok(())
}

async fn assign(store: &dyn LabelStore, cwd: &Path, a: AssignArgs, json: bool) -> Result<()> {
    let project = store.project(&a.project).await?;
    let kind: AnnotatorKind = parse(&a.annotator_kind)?;
    let mut names: Vec<String> = a
        .annotators
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let before = names.len();
    names.sort();
    names.dedup();
    if names.len() != before {
        bail!("--annotators names someone twice");
    }
    let items = store.items(project.id).await?;
    let pos: HashMap<i64, usize> = items.iter().enumerate().map(|(i, it)| (it.id, i)).collect();
    let existing = store.annotators().await?;
    let ids: HashMap<&str, i64> = existing.iter().map(|x| (x.name.as_str(), x.id)).collect();
    let apos: HashMap<i64, usize> = names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| ids.get(n.as_str()).map(|id| (*id, i)))
        .collect();
    let mut seen = vec![HashSet::new(); items.len()];
    // Everyone who labelled an item counts towards its overlap; annotators of this round may not get it.
    let mut others = vec![0usize; items.len()];
    for x in store.annotations(project.id, Some(LabelSource::Human)).await? {
        let i = pos[&x.item_id];
        match apos.get(&x.annotator_id) {
            Some(&ai) => {
                seen[i].insert(ai);
            }
            None => others[i] += 1,
        }
    }
    for x in store.assignments(project.id).await? {
        let i = pos[&x.item_id];
        match apos.get(&x.annotator_id) {
            Some(&ai) => {
                seen[i].insert(ai);
            }
            None => others[i] += 1,
        }
    }
    // Annotators outside this round still fill the item's overlap: count them as placeholder
    // indices beyond the round's annotators.
    for (i, n) in others.iter().enumerate() {
        for j in 0..*n {
            seen[i].insert(names.len() + j);
        }
    }
    let gold: HashSet<i64> = store.gold(project.id).await?.iter().map(|g| g.item_id).collect();
    let state = AssignState {
        is_gold: items.iter().map(|i| gold.contains(&i.id)).collect(),
        seen,
        n_annotators: names.len(),
    };
    let opts = AssignOptions {
        overlap: a.overlap,
        gold_rate: a.gold_rate,
        per_annotator: a.per_annotator,
        max_items: a.items,
        seed: a.seed,
    };
    let plan = sluice_label::assign::plan(&state, &opts)?;
    let mut per: BTreeMap<&str, (usize, usize)> = names.iter().map(|n| (n.as_str(), (0, 0))).collect();
    for t in &plan.tasks {
        let e = per.get_mut(names[t.annotator].as_str()).expect("known");
        if t.gold { e.1 += 1 } else { e.0 += 1 }
    }
    let mut batch_id = None;
    if !a.dry_run && !plan.tasks.is_empty() {
        let annotators = store
            .ensure_annotators(&names.iter().map(|n| (n.clone(), kind)).collect::<Vec<_>>())
            .await?;
        let rows: Vec<(i64, i64, bool)> = plan
            .tasks
            .iter()
            .map(|t| (items[t.item].id, annotators[t.annotator].id, t.gold))
            .collect();
        batch_id = Some(
            store
                .add_assignments(
                    project.id,
                    NewBatch {
                        kind: BatchKind::Assign,
                        source: None,
                        params: serde_json::to_value(&opts)?,
                        created_by: sluice_version::add::current_user(),
                    },
                    &rows,
                )
                .await?,
        );
    }
    if let Some(dir) = &a.out {
        let dir = resolve_path(cwd, dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (ai, name) in names.iter().enumerate() {
            let path = dir.join(format!("{}.csv", name.replace(['/', '\\'], "_")));
            let mut w = String::from("item,payload\n");
            for t in plan.tasks.iter().filter(|t| t.annotator == ai) {
                let it = &items[t.item];
                let payload = it.payload.as_ref().map(|p| p.to_string()).unwrap_or_default();
                w.push_str(&format!("{},{}\n", csv_field(&it.key), csv_field(&payload)));
            }
            std::fs::write(&path, w).with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    if json {
        return print_json(&json!({
            "batch": batch_id, "dry_run": a.dry_run, "tasks": plan.tasks.len(), "short_items": plan.short_items,
            "per_annotator": per.iter().map(|(n, (r, g))| json!({"annotator": n, "tasks": r, "gold": g})).collect::<Vec<_>>(),
            "assignments": plan.tasks.iter().map(|t| json!({
                "item": items[t.item].key, "annotator": names[t.annotator], "gold": t.gold
            })).collect::<Vec<_>>(),
        }));
    }
    println!(
        "{} {} tasks in {}{}",
        if a.dry_run { "would assign" } else { "assigned" },
        count(plan.tasks.len() as u64),
        project.name,
        batch_id.map(|b| format!(" (batch {b})")).unwrap_or_default()
    );
    let mut t = table(&["annotator", "tasks", "gold"]);
    for (n, (r, g)) in &per {
        t.add_row(vec![Cell::new(n), Cell::new(r), Cell::new(g)]);
    }
    print_table(&t);
    if plan.short_items > 0 {
        println!(
            "  {} items could not reach overlap {} (too few eligible annotators or --per-annotator reached)",
            count(plan.short_items as u64),
            a.overlap
        );
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

async fn load_index(
    store: &dyn LabelStore,
    project: &Project,
) -> Result<(index::Indexed, Vec<sluice_label::store::Annotation>)> {
    let items = store.items(project.id).await?;
    let anns = store.annotations(project.id, Some(LabelSource::Human)).await?;
    let gold = store.gold(project.id).await?;
    Ok((index::index(&project.schema, &items, &anns, &gold)?, anns))
}

async fn agreement(ws: &Workspace, store: &dyn LabelStore, a: AgreementArgs, json: bool) -> Result<()> {
    let project = store.project(&a.project).await?;
    let (idx, anns) = load_index(store, &project).await?;
    if anns.is_empty() {
        bail!(
            "project {} has no annotations yet; import some with `sluice label import`",
            project.name
        );
    }
    let level = match a.level.as_deref() {
        None => None,
        Some("nominal") => Some(Level::Nominal),
        Some("ordinal") => Some(Level::Ordinal),
        Some("interval") => Some(Level::Interval),
        Some("ratio") => Some(Level::Ratio),
        Some(o) => bail!("unknown --level `{o}`: use nominal, ordinal, interval or ratio"),
    };
    let weights = match a.weights.as_deref() {
        None => None,
        Some("unweighted") | Some("none") => Some(KappaWeights::Unweighted),
        Some("linear") => Some(KappaWeights::Linear),
        Some("quadratic") => Some(KappaWeights::Quadratic),
        Some(o) => bail!("unknown --weights `{o}`: use unweighted, linear or quadratic"),
    };
    let mut seconds: HashMap<&str, (f64, usize)> = HashMap::new();
    for x in &anns {
        if let Some(s) = x.seconds {
            let e = seconds.entry(x.annotator.as_str()).or_default();
            e.0 += s;
            e.1 += 1;
        }
    }
    let secs: Vec<Option<f64>> = idx
        .annotators
        .iter()
        .map(|n| seconds.get(n.as_str()).map(|(s, c)| s / *c as f64))
        .collect();
    let opts = AgreementOptions {
        level,
        weights,
        bootstrap: BootstrapConfig {
            resamples: a.resamples,
            confidence: 0.95,
            seed: a.seed,
        },
        min_agreement: a.min_agreement,
        min_gold_accuracy: a.min_gold_accuracy,
        min_compared: a.min_compared,
    };
    let r = sluice_label::agreement::report(&project.schema, &idx, &secs, &opts)?;
    let recorded = if a.no_record {
        None
    } else {
        let through = store.batches(project.id).await?.iter().map(|b| b.0).max().unwrap_or(0);
        let settings = json!({
            "level": format!("{:?}", r.alpha_level).to_lowercase(),
            "weights": format!("{:?}", r.pairwise.weights).to_lowercase(),
            "resamples": a.resamples,
            "seed": a.seed,
        });
        let metrics = ws.metrics().await?;
        Some(sluice_label::history::record_agreement(metrics.as_ref(), &project, through, &r, settings).await?)
    };
    if json {
        let mut v = serde_json::to_value(&r)?;
        v["history"] = serde_json::to_value(&recorded)?;
        print_json(&v)?;
    } else {
        print_agreement(&project, &r);
        if let Some(rec) = &recorded {
            println!(
                "recorded as batch {} ({}) of series {} ({} points; sluice label metrics {} --history)",
                rec.batch_seq, rec.batch, rec.series, rec.points, project.name
            );
        }
    }
    if a.fail_under && !r.flagged.is_empty() {
        return Err(Exit(1).into());
    }
    Ok(())
}

fn print_agreement(project: &Project, r: &AgreementReport) {
    println!(
        "agreement in {} ({}; unit: {}): {} answers by {} annotators on {} items, {} units with 2+ judgements",
        project.name,
        r.kind.as_str(),
        r.unit,
        count(r.n_annotations as u64),
        r.n_annotators,
        count(r.n_items as u64),
        count(r.n_units_rated_twice as u64)
    );
    println!(
        "  95% intervals: bootstrap over units ({} resamples, seed {})",
        r.bootstrap.resamples, r.bootstrap.seed
    );
    let line = |name: &str, f: &Figure| match &f.note {
        Some(n) if f.value.is_none() => println!("  {name:<24} -   ({n})"),
        _ => println!("  {name:<24} {}", fig(f)),
    };
    line("percent agreement", &r.percent_agreement);
    if let Some(u) = r.unanimous {
        println!("  {:<24} {u:.3}", "unanimous units");
    }
    line("Fleiss' kappa", &r.fleiss_kappa);
    line(
        &format!("Krippendorff alpha ({})", format!("{:?}", r.alpha_level).to_lowercase()),
        &r.alpha,
    );
    if !r.per_label.is_empty() {
        println!();
        let mut t = table(&["label", "share", "alpha (is label)", "fleiss category kappa"]);
        for l in &r.per_label {
            t.add_row(vec![
                Cell::new(&l.label),
                Cell::new(format!("{:.3}", l.share)),
                Cell::new(fig(&l.alpha)),
                Cell::new(opt(l.fleiss_kappa)),
            ]);
        }
        print_table(&t);
    }
    let na = r.pairwise.annotators.len();
    if na >= 2 && r.pairwise.overlap.iter().flatten().any(|o| *o > 0) {
        println!();
        println!(
            "Cohen's kappa ({:?}) per pair, shared units in parentheses:",
            r.pairwise.weights
        );
        let mut header = vec![""];
        header.extend(r.pairwise.annotators.iter().map(String::as_str));
        let mut t = table(&header);
        for a in 0..na {
            let mut row = vec![Cell::new(&r.pairwise.annotators[a])];
            for b in 0..na {
                row.push(Cell::new(if a == b {
                    "-".to_string()
                } else {
                    format!("{} ({})", opt(r.pairwise.kappa[a][b]), r.pairwise.overlap[a][b])
                }));
            }
            t.add_row(row);
        }
        print_table(&t);
    }
    println!();
    let interval = r.kind == LabelKind::Interval;
    let mut t = if interval {
        table(&[
            "annotator",
            "labels",
            "mean |diff|",
            "gold",
            "gold mae",
            "sec/label",
            "flags",
        ])
    } else {
        table(&[
            "annotator",
            "labels",
            "vs consensus [95%]",
            "gold",
            "gold accuracy [95%]",
            "sec/label",
            "flags",
        ])
    };
    for a in &r.annotators {
        let (c2, c4) = if interval {
            (opt(a.mean_abs_diff), opt(a.gold_mae))
        } else {
            (fig(&a.agreement), fig(&a.gold_accuracy))
        };
        t.add_row(vec![
            Cell::new(&a.annotator),
            Cell::new(a.n_labels),
            Cell::new(c2),
            Cell::new(a.n_gold),
            Cell::new(c4),
            Cell::new(a.mean_seconds.map(|s| format!("{s:.1}")).unwrap_or_else(|| "-".into())),
            Cell::new(if a.flags.is_empty() {
                "ok".into()
            } else {
                format!("FLAGGED: {}", a.flags.join("; "))
            }),
        ]);
    }
    print_table(&t);
    if !r.flagged.is_empty() {
        println!("{} annotators flagged: {}", r.flagged.len(), r.flagged.join(", "));
    }
}

async fn review(store: &dyn LabelStore, a: ReviewArgs, json: bool) -> Result<()> {
    if let Some(ReviewAction::Resolve {
        project,
        item,
        label,
        reviewer,
        note,
    }) = a.action
    {
        let project = store.project(&project).await?;
        let items = store.items(project.id).await?;
        let it = items.iter().find(|i| i.key == item).ok_or_else(|| {
            anyhow::anyhow!(
                "item `{item}` is not in project {}; see `sluice label review {}`",
                project.name,
                project.name
            )
        })?;
        let v = project.schema.parse_text(&label).map_err(anyhow::Error::msg)?;
        let value = project.schema.canonical(&v);
        let reviewer = reviewer.unwrap_or_else(sluice_version::add::current_user);
        store
            .add_review(project.id, it.id, &value, &reviewer, note.as_deref())
            .await?;
        if json {
            return print_json(&json!({"item": item, "label": value, "reviewer": reviewer}));
        }
        println!("adjudicated {item} as {value} (by {reviewer}); the annotations are kept as they were");
        return Ok(());
    }
    let name = a.project.expect("clap requires the project");
    let project = store.project(&name).await?;
    let (idx, _) = load_index(store, &project).await?;
    let reviews = store.reviews(project.id).await?;
    let by: QueueScore = parse(&a.by)?;
    let q = sluice_label::review::queue(&project.schema, &idx, &reviews, by, a.threshold, a.limit)?;
    if json {
        return print_json(&json!({"by": a.by, "queue": q, "reviewed": reviews.len()}));
    }
    if q.is_empty() {
        println!(
            "no disagreeing items to review in {} ({} already adjudicated)",
            project.name,
            reviews.len()
        );
        return Ok(());
    }
    let mut t = table(&["item", "score", "judgements", "votes"]);
    for e in &q {
        t.add_row(vec![
            Cell::new(&e.item),
            Cell::new(format!("{:.3}", e.score)),
            Cell::new(e.n_labels),
            Cell::new(
                e.votes
                    .iter()
                    .map(|(l, n)| format!("{l}:{n}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        ]);
    }
    print_table(&t);
    println!(
        "resolve one with `sluice label review resolve {} ITEM LABEL`",
        project.name
    );
    Ok(())
}

async fn aggregate(store: &dyn LabelStore, a: AggregateArgs, json: bool) -> Result<()> {
    let project = store.project(&a.project).await?;
    let (idx, anns) = load_index(store, &project).await?;
    if anns.is_empty() && !a.include_pseudo {
        bail!(
            "project {} has no annotations yet; import some with `sluice label import`",
            project.name
        );
    }
    let method: Method = parse(&a.method)?;
    let tie = match a.tie.as_str() {
        "first" => TiePolicy::First,
        "abstain" => TiePolicy::Abstain,
        "random" => TiePolicy::Random { seed: a.seed },
        o => bail!("unknown --tie `{o}`: use first, abstain or random"),
    };
    let reviews = store.reviews(project.id).await?;
    let pseudo = if a.include_pseudo {
        store.annotations(project.id, Some(LabelSource::Pseudo)).await?
    } else {
        Vec::new()
    };
    let opts = AggregateOptions {
        method,
        tie,
        dawid_skene: DawidSkeneConfig {
            max_iterations: a.max_iterations,
            tolerance: a.tolerance,
            threads: 0,
        },
        tolerance: a.interval_tolerance,
        include_pseudo: a.include_pseudo,
    };
    let agg = sluice_label::aggregate::aggregate(&project.schema, &idx, &reviews, &pseudo, &opts)?;
    let run_id = store
        .save_run(
            project.id,
            sluice_label::store::NewRun {
                method: method.as_str().into(),
                params: agg.params.clone(),
                report: agg.report.clone(),
                results: agg.results.clone(),
                created_by: sluice_version::add::current_user(),
            },
        )
        .await?;
    if json {
        return print_json(
            &json!({"run": run_id, "method": method.as_str(), "params": agg.params, "report": agg.report,
            "results": agg.results}),
        );
    }
    let rep = &agg.report;
    println!(
        "aggregated {} by {} (run {run_id}): {} items labelled, {} without a label",
        project.name,
        method.as_str(),
        count(agg.results.len() as u64),
        rep["unlabelled_items"]
    );
    if let Some(t) = rep.get("ties") {
        println!("  ties: {t} (policy {})", a.tie);
    }
    if method == Method::DawidSkene {
        println!(
            "  EM: {} iterations, converged {}, last change {:.2e}, log-likelihood {:.4}",
            rep["iterations"],
            rep["converged"],
            rep["final_delta"].as_f64().unwrap_or(f64::NAN),
            rep["log_likelihood"].as_f64().unwrap_or(f64::NAN)
        );
        println!("  initialisation: soft response proportions (Dawid & Skene 1979, eq. 3.1)");
        if let Some(p) = rep["priors"].as_object() {
            let s: Vec<String> = p
                .iter()
                .map(|(k, v)| format!("{k} {:.3}", v.as_f64().unwrap_or(0.0)))
                .collect();
            println!("  class priors: {}", s.join(", "));
        }
        if let Some(conf) = rep["confusion"].as_object() {
            let classes: Vec<String> = rep["classes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str().map(String::from))
                .collect();
            println!("  P(correct | true class) per annotator:");
            let mut header = vec!["annotator".to_string()];
            header.extend(classes.iter().cloned());
            let mut t = table(&header.iter().map(String::as_str).collect::<Vec<_>>());
            for (name, m) in conf {
                let mut row = vec![Cell::new(name)];
                for (j, r) in m.as_array().into_iter().flatten().enumerate() {
                    row.push(Cell::new(format!("{:.3}", r[j].as_f64().unwrap_or(f64::NAN))));
                }
                t.add_row(row);
            }
            print_table(&t);
        }
    }
    if let Some(w) = rep.get("weights").and_then(|w| w.as_object()) {
        let s: Vec<String> = w
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k} {:.3} ({})",
                    v["weight"].as_f64().unwrap_or(0.0),
                    v["basis"].as_str().unwrap_or("")
                )
            })
            .collect();
        println!("  weights: {}", s.join(", "));
    }
    if rep["adjudicated_items"].as_u64().unwrap_or(0) > 0 || rep["pseudo_items"].as_u64().unwrap_or(0) > 0 {
        println!(
            "  {} adjudicated, {} pseudo-labelled",
            rep["adjudicated_items"], rep["pseudo_items"]
        );
    }
    let mut t = table(&["item", "label", "confidence", "source", "judgements"]);
    let mut shown: Vec<&sluice_label::store::RunResult> = agg.results.iter().collect();
    shown.sort_by(|x, y| x.confidence.total_cmp(&y.confidence));
    for r in shown.iter().take(a.show) {
        t.add_row(vec![
            Cell::new(&r.item),
            Cell::new(&r.value),
            Cell::new(format!("{:.3}", r.confidence)),
            Cell::new(r.source.as_str()),
            Cell::new(r.n_labels),
        ]);
    }
    if a.show > 0 && !shown.is_empty() {
        println!("least confident items:");
        print_table(&t);
    }
    Ok(())
}

async fn errors(store: &dyn LabelStore, cwd: &Path, a: ErrorsArgs, json: bool) -> Result<()> {
    let project = store.project(&a.project).await?;
    let (idx, _) = load_index(store, &project).await?;
    let preds = sluice_label::io::read_predictions(
        &resolve_path(cwd, &a.predictions),
        &project.schema,
        &a.pred.pred_item_col,
    )?;
    let (given, from) = match store.run(project.id, a.run).await {
        Ok(run) => (
            sluice_label::predict::run_labels(&project.schema, &idx, &run.results)?,
            format!("run {} ({})", run.id, run.method),
        ),
        Err(_) if a.run.is_none() => (sluice_label::predict::majority_labels(&idx)?, "majority vote".into()),
        Err(e) => return Err(e.into()),
    };
    let r = sluice_label::predict::label_errors(&project.schema, &idx, &given, &from, &preds)?;
    if json {
        print_json(&r)?;
    } else {
        println!(
            "{} likely label errors among {} labelled items of {} (given labels: {})",
            count(r.issues.len() as u64),
            count(r.n_checked as u64),
            project.name,
            r.given_from
        );
        let th: Vec<String> = r.thresholds.iter().map(|(c, t)| format!("{c} {t:.3}")).collect();
        println!("  per-class thresholds (mean self-confidence): {}", th.join(", "));
        let mut t = table(&["item", "given", "suggested", "p(given)", "p(suggested)"]);
        for e in r.issues.iter().take(a.limit) {
            t.add_row(vec![
                Cell::new(&e.item),
                Cell::new(&e.given),
                Cell::new(&e.suggested),
                Cell::new(format!("{:.3}", e.self_confidence)),
                Cell::new(format!("{:.3}", e.suggested_probability)),
            ]);
        }
        if !r.issues.is_empty() {
            print_table(&t);
        }
    }
    if a.fail_on_issues && !r.issues.is_empty() {
        return Err(Exit(1).into());
    }
    Ok(())
}

async fn select(store: &dyn LabelStore, cwd: &Path, a: SelectArgs, json: bool) -> Result<()> {
    let project = store.project(&a.project).await?;
    let strategy: Strategy = parse(&a.strategy)?;
    let items = store.items(project.id).await?;
    let idx = index::index(&project.schema, &items, &[], &[])?;
    let pos: HashMap<i64, usize> = items.iter().enumerate().map(|(i, it)| (it.id, i)).collect();
    let mut taken: HashSet<usize> = HashSet::new();
    for x in store.annotations(project.id, Some(LabelSource::Human)).await? {
        taken.insert(pos[&x.item_id]);
    }
    for x in store.assignments(project.id).await? {
        taken.insert(pos[&x.item_id]);
    }
    let mut preds = Vec::new();
    for p in &a.predictions {
        preds.push(sluice_label::io::read_predictions(
            &resolve_path(cwd, p),
            &project.schema,
            &a.pred.pred_item_col,
        )?);
    }
    let emb = match &a.embeddings {
        Some(e) => Some(sluice_label::io::read_embeddings(
            &resolve_path(cwd, e),
            &a.pred.pred_item_col,
        )?),
        None => None,
    };
    let input = SelectInput {
        predictions: &preds,
        embeddings: emb.as_ref().map(|(k, v, d)| (k.as_slice(), v.as_slice(), *d)),
        taken: &taken,
    };
    let picked = sluice_label::predict::select(&idx, &input, strategy, a.n, a.pool.unwrap_or(10 * a.n), a.seed)?;
    if let Some(out) = &a.out {
        let out = resolve_path(cwd, out);
        let text: String = picked.iter().map(|p| format!("{}\n", p.item)).collect();
        std::fs::write(&out, text).with_context(|| format!("cannot write {}", out.display()))?;
    }
    if json {
        return print_json(&json!({"strategy": a.strategy, "excluded": taken.len(), "selected": picked}));
    }
    println!(
        "selected {} items of {} by {} ({} labelled or assigned items excluded)",
        picked.len(),
        project.name,
        a.strategy,
        count(taken.len() as u64)
    );
    let mut t = table(&["rank", "item", "score"]);
    for (i, p) in picked.iter().enumerate() {
        t.add_row(vec![
            Cell::new(i + 1),
            Cell::new(&p.item),
            Cell::new(format!("{:.4}", p.score)),
        ]);
    }
    print_table(&t);
    Ok(())
}

fn parse_thresholds(spec: &str, classes: &[String]) -> Result<Vec<f64>> {
    let check = |v: f64, what: &str| -> Result<f64> {
        if !(0.0..=1.0).contains(&v) {
            bail!("threshold {v} for {what} is outside [0, 1]");
        }
        Ok(v)
    };
    if let Ok(v) = spec.trim().parse::<f64>() {
        return Ok(vec![check(v, "every class")?; classes.len()]);
    }
    // Classes not named are never accepted (threshold above 1).
    let mut out = vec![f64::INFINITY; classes.len()];
    for part in spec.split(',') {
        let (c, v) = part
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--threshold `{part}`: use P or CLASS=P,CLASS=P"))?;
        let i = classes
            .iter()
            .position(|x| x == c.trim())
            .ok_or_else(|| anyhow::anyhow!("--threshold: `{c}` is not a class; classes: {}", classes.join(", ")))?;
        let v: f64 = v
            .trim()
            .parse()
            .with_context(|| format!("--threshold: `{v}` is not a number"))?;
        out[i] = check(v, c)?;
    }
    Ok(out)
}

async fn pseudo(store: &dyn LabelStore, cwd: &Path, a: PseudoArgs, json: bool) -> Result<()> {
    let project = store.project(&a.project).await?;
    if project.schema.kind == LabelKind::Multi || project.schema.kind == LabelKind::Interval {
        bail!("pseudo-labels need a single-label or ordinal project");
    }
    let (idx, _) = load_index(store, &project).await?;
    let file = resolve_path(cwd, &a.predictions);
    let preds = sluice_label::io::read_predictions(&file, &project.schema, &a.pred.pred_item_col)?;
    let thresholds = parse_thresholds(&a.threshold, &project.schema.classes)?;
    let human = sluice_label::predict::majority_labels(&idx)?;
    let has_human: Vec<bool> = {
        let ann = idx.categorical("pseudo")?;
        (0..idx.n_items()).map(|i| !ann.item(i).1.is_empty()).collect()
    };
    let human_ref: Vec<Option<u32>> = human.clone();
    let gold = match &idx.gold {
        index::GoldUnits::Categorical(g) => g.clone(),
        index::GoldUnits::Numeric(_) => vec![None; idx.n_items()],
    };
    let (accepted, report) =
        sluice_label::predict::pseudo_labels(&project.schema, &idx, &preds, &thresholds, &human_ref, &gold)?;
    let to_store: Vec<NewAnnotation> = accepted
        .iter()
        .filter(|(i, _, _)| !has_human[*i])
        .map(|(i, c, p)| NewAnnotation {
            item: idx.item_keys[*i].clone(),
            annotator: format!("model:{}", a.model),
            value: project.schema.classes[*c as usize].clone(),
            seconds: None,
            created_at: None,
            confidence: Some(*p),
        })
        .collect();
    let mut batch = None;
    if !a.dry_run && !to_store.is_empty() {
        let r = store
            .import(
                &project,
                NewBatch {
                    kind: BatchKind::Pseudo,
                    source: Some(file.to_string_lossy().into_owned()),
                    params: json!({"model": a.model, "thresholds": report.thresholds}),
                    created_by: sluice_version::add::current_user(),
                },
                AnnotatorKind::Model,
                LabelSource::Pseudo,
                false,
                &to_store,
            )
            .await?;
        batch = Some(r.batch_id);
    }
    let audit = report.vs_gold.as_ref().or(report.vs_human.as_ref());
    let exceeded = match (a.max_error, audit) {
        (Some(m), Some(au)) => au.high > m,
        _ => false,
    };
    if json {
        print_json(
            &json!({"batch": batch, "dry_run": a.dry_run, "stored": if a.dry_run { 0 } else { to_store.len() },
            "report": report, "max_error_exceeded": exceeded}),
        )?;
    } else {
        println!(
            "{} of {} predictions clear their thresholds; {} are for items without human labels{}",
            count(report.n_accepted as u64),
            count(report.n_predicted as u64),
            count(report.n_stored as u64),
            match (a.dry_run, batch) {
                (true, _) => " (dry run: nothing stored)".to_string(),
                (false, Some(b)) => format!(", stored as source `pseudo` by model:{} (batch {b})", a.model),
                (false, None) => String::new(),
            }
        );
        let per: Vec<String> = report
            .accepted_per_class
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        println!("  accepted per class: {}", per.join(", "));
        for (name, au) in [("gold", &report.vs_gold), ("human majority", &report.vs_human)] {
            match au {
                Some(x) => println!(
                    "  error vs {name}: {:.3} [{:.3}, {:.3}] on {} items (Wilson 95%)",
                    x.error_rate, x.low, x.high, x.n_checked
                ),
                None => println!("  error vs {name}: no accepted item has one"),
            }
        }
        if exceeded {
            println!("error rate may exceed --max-error {}", a.max_error.unwrap_or_default());
        }
    }
    if exceeded {
        return Err(Exit(1).into());
    }
    Ok(())
}

async fn merge(ws: &Workspace, store: &dyn LabelStore, a: MergeArgs, json: bool) -> Result<()> {
    let project = store.project(&a.project).await?;
    let run = store.run(project.id, a.run).await?;
    let source = match &project.dataset {
        Some(d) => Some(ws.meta.version_by_id(d.version_id).await?),
        None => None,
    };
    let into = match (&a.into, &source) {
        (Some(n), _) => n.clone(),
        (None, Some(v)) => v.dataset.clone(),
        (None, None) => bail!(
            "project {} has no dataset; name the dataset to create with --into NAME",
            project.name
        ),
    };
    let anns = store.annotations(project.id, Some(LabelSource::Human)).await?;
    let annotators = store.annotators().await?;
    let dir = ws.objects.tmp_path("label-merge");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = async {
        let files = sluice_label::merge::write_files(
            ws,
            &project,
            source.as_ref(),
            &run,
            &anns,
            &annotators,
            &LabelColumns {
                label: a.column.clone(),
            },
            &dir,
        )
        .await?;
        let opts =
            sluice_version::add::AddOptions {
                name: into.clone(),
                paths: vec![files.table.clone(), files.lineage_file.clone()],
                message: Some(a.message.clone().unwrap_or_else(|| {
                    format!("labels from project {} (run {}, {})", project.name, run.id, run.method)
                })),
                tags: a.tags.clone(),
                source: Some(format!("sluice-label://{}/runs/{}", project.name, run.id)),
                collected_at: None,
                collected_by: None,
                derived_from: source
                    .iter()
                    .map(|v| DatasetRef {
                        name: v.dataset.clone(),
                        version: sluice_store::meta::VersionRef::Number(v.number),
                    })
                    .collect(),
                bad_rows: Default::default(),
                raw: false,
                command: Some(std::env::args().collect::<Vec<_>>().join(" ")),
                prepared: Vec::new(),
                take: false,
            };
        let report = sluice_version::add::add(ws, &opts, &sluice_version::NoProgress).await?;
        anyhow::Ok((files, report))
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    let (files, report) = result?;
    let version = report.commit.version().clone();
    store
        .record_merge(
            project.id,
            &MergeRecord {
                run_id: run.id,
                version_id: version.id,
                source_version_id: source.as_ref().map(|v| v.id),
                lineage: files.lineage.clone(),
            },
        )
        .await?;
    let items = store.items(project.id).await?;
    let mut metrics = sluice_label::merge::batch_metrics(&project, &items, &anns, Some(run.id))?;
    metrics.extend(sluice_label::merge::run_metrics(&project, &run));
    store.record_metrics(project.id, &metrics).await?;
    let history = sluice_label::history::record_merge_metrics(ws.metrics().await?.as_ref(), &project, &metrics).await?;
    if json {
        return print_json(
            &json!({"version": version.label(), "status": report.commit, "rows": files.rows,
            "labelled_rows": files.labelled, "lineage": files.lineage, "metrics": metrics, "history": history}),
        );
    }
    println!(
        "merged run {} ({}) of {} into {}: {} of {} rows labelled",
        run.id,
        run.method,
        project.name,
        version.label(),
        count(files.labelled),
        count(files.rows)
    );
    if let Some(v) = &source {
        println!(
            "  derived from {}; lineage in labels.lineage.json and `sluice lineage {}`",
            v.label(),
            version.label()
        );
    }
    println!(
        "  {} metrics recorded (sluice label metrics {}), also as {} batches of the metric history",
        metrics.len(),
        project.name,
        history.len()
    );
    Ok(())
}

/// `sluice label metrics PROJECT --history`: the project's series in the metric history.
async fn metric_history(ws: &Workspace, store: &dyn LabelStore, project: &str, json: bool) -> Result<()> {
    let project = store.project(project).await?;
    let metrics = ws.metrics().await?;
    let prefix = sluice_label::history::series_prefix(&project.name);
    let mut points = Vec::new();
    for s in metrics.series().await? {
        if s.series.starts_with(&prefix) {
            points.extend(metrics.history(&s.series).await?);
        }
    }
    if json {
        return print_json(&points);
    }
    if points.is_empty() {
        println!(
            "no metric history yet for {}; `sluice label agreement` and `sluice label merge` record it",
            project.name
        );
        return Ok(());
    }
    let mut t = table(&["series", "batch", "#", "metric", "value", "recorded"]);
    for p in &points {
        t.add_row(vec![
            Cell::new(&p.series),
            Cell::new(&p.batch),
            Cell::new(p.batch_seq),
            Cell::new(&p.metric),
            Cell::new(format!("{:.4}", p.value)),
            Cell::new(p.recorded_at.get(..16).unwrap_or(&p.recorded_at).replace('T', " ")),
        ]);
    }
    print_table(&t);
    Ok(())
}

async fn metrics(store: &dyn LabelStore, project: &str, json: bool) -> Result<()> {
    let project = store.project(project).await?;
    let m = store.metrics(project.id).await?;
    if json {
        return print_json(&m);
    }
    if m.is_empty() {
        println!("no metrics yet for {}; `sluice label merge` records them", project.name);
        return Ok(());
    }
    let mut t = table(&["recorded", "batch", "run", "metric", "value"]);
    for x in &m {
        t.add_row(vec![
            Cell::new(
                x.created_at
                    .map(|c| c.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default(),
            ),
            Cell::new(x.batch_id.map(|b| b.to_string()).unwrap_or_else(|| "-".into())),
            Cell::new(x.run_id.map(|b| b.to_string()).unwrap_or_else(|| "-".into())),
            Cell::new(&x.name),
            Cell::new(format!("{:.4}", x.value)),
        ]);
    }
    print_table(&t);
    Ok(())
}
