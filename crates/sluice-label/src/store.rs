//! The annotation store: the records of a labeling project and the trait that reads and writes
//! them. [`crate::sqlite::SqliteLabelStore`] is the implementation over the workspace's SQLite
//! metadata database (tables in `sluice-store/migrations/sqlite/0002_labels.sql`); a Postgres
//! backend is a second implementation of [`LabelStore`] over the same tables.
//!
//! Write rules every implementation keeps:
//!
//! | write                      | rule                                                               |
//! |----------------------------|--------------------------------------------------------------------|
//! | project create             | name unique; items inserted in the same transaction                |
//! | import                     | one transaction and one batch row; an answer equal to the latest   |
//! |                            | answer of the same (item, annotator, source) is skipped, not duped |
//! | annotation changed         | a new row; readers take the latest (highest id) per item/annotator |
//! | assignment                 | (item, annotator) unique: an annotator never gets an item twice    |
//! | adjudication               | a row in its own table; annotations are never touched              |
//! | aggregation                | a run row plus one result row per item, in one transaction         |

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::schema::LabelSchema;

/// The dataset version a project's items are rows of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetLink {
    /// Version id in the metadata store.
    pub version_id: i64,
    /// The table inside the version.
    pub table_path: String,
    /// The column whose values are the item keys.
    pub key_column: String,
}

/// A labeling project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    /// Database id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// What its labels look like.
    pub schema: LabelSchema,
    /// The dataset version its items come from, if any.
    pub dataset: Option<DatasetLink>,
    /// Instructions shown to annotators.
    pub instructions: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
}

/// A project with its counts, for listings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectSummary {
    /// The project.
    #[serde(flatten)]
    pub project: Project,
    /// Items.
    pub items: i64,
    /// Items with at least one human answer.
    pub labelled_items: i64,
    /// Human answers (latest per item and annotator).
    pub annotations: i64,
    /// Distinct human annotators.
    pub annotators: i64,
    /// Gold items.
    pub gold: i64,
    /// Items with an adjudication.
    pub reviewed: i64,
}

/// A project to create.
#[derive(Debug, Clone)]
pub struct NewProject {
    /// Unique name.
    pub name: String,
    /// Label schema (validated by the caller).
    pub schema: LabelSchema,
    /// Dataset version the items come from.
    pub dataset: Option<DatasetLink>,
    /// Instructions for annotators.
    pub instructions: Option<String>,
    /// Who creates it.
    pub created_by: String,
}

/// An item to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    /// Its key (the key column's value as text).
    pub key: String,
    /// Its row in the dataset version's table.
    pub row_index: Option<i64>,
    /// Data shown to annotators (JSON).
    pub payload: Option<serde_json::Value>,
}

/// A stored item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Database id.
    pub id: i64,
    /// Key.
    pub key: String,
    /// Row in the dataset version's table.
    pub row_index: Option<i64>,
    /// Data shown to annotators.
    pub payload: Option<serde_json::Value>,
}

/// Who gave an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotatorKind {
    /// A domain expert.
    Expert,
    /// A crowd worker.
    Crowd,
    /// A model (pseudo-labels).
    Model,
}

impl AnnotatorKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AnnotatorKind::Expert => "expert",
            AnnotatorKind::Crowd => "crowd",
            AnnotatorKind::Model => "model",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        match s {
            "expert" => Ok(AnnotatorKind::Expert),
            "crowd" => Ok(AnnotatorKind::Crowd),
            "model" => Ok(AnnotatorKind::Model),
            other => Err(format!("unknown annotator kind `{other}`: use expert or crowd")),
        }
    }
}

impl std::str::FromStr for AnnotatorKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        AnnotatorKind::parse(s)
    }
}

/// An annotator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotator {
    /// Database id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Expert, crowd or model.
    pub kind: AnnotatorKind,
}

/// Where a label came from. Pseudo-labels are never mixed with human labels unless asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelSource {
    /// A person.
    Human,
    /// A model's prediction accepted over a confidence threshold.
    Pseudo,
}

impl LabelSource {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LabelSource::Human => "human",
            LabelSource::Pseudo => "pseudo",
        }
    }
}

/// What a batch was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchKind {
    /// Annotations imported from a file.
    Import,
    /// An assignment round.
    Assign,
    /// A pseudo-labeling run.
    Pseudo,
    /// Gold answers imported from a file.
    Gold,
}

impl BatchKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchKind::Import => "import",
            BatchKind::Assign => "assign",
            BatchKind::Pseudo => "pseudo",
            BatchKind::Gold => "gold",
        }
    }
}

/// A batch to record.
#[derive(Debug, Clone)]
pub struct NewBatch {
    /// What it is.
    pub kind: BatchKind,
    /// File path, model name, ...
    pub source: Option<String>,
    /// Its parameters (JSON object).
    pub params: serde_json::Value,
    /// Who ran it.
    pub created_by: String,
}

/// An answer to store. `value` must be canonical for the project's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAnnotation {
    /// Item key.
    pub item: String,
    /// Annotator name.
    pub annotator: String,
    /// Canonical value text.
    pub value: String,
    /// Seconds spent, when known.
    pub seconds: Option<f64>,
    /// When it was given (default: now).
    pub created_at: Option<DateTime<Utc>>,
    /// Model probability (pseudo-labels).
    pub confidence: Option<f64>,
}

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// Database id.
    pub id: i64,
    /// Item id.
    pub item_id: i64,
    /// Item key.
    pub item: String,
    /// Annotator id.
    pub annotator_id: i64,
    /// Annotator name.
    pub annotator: String,
    /// Canonical value text.
    pub value: String,
    /// Human or pseudo.
    pub source: LabelSource,
    /// Model probability (pseudo-labels).
    pub confidence: Option<f64>,
    /// Seconds spent.
    pub seconds: Option<f64>,
    /// When it was given.
    pub created_at: DateTime<Utc>,
    /// The batch it arrived in.
    pub batch_id: i64,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportResult {
    /// The batch row.
    pub batch_id: i64,
    /// Answers stored.
    pub inserted: u64,
    /// Answers equal to the latest stored answer of the same item and annotator (skipped).
    pub unchanged: u64,
    /// Items created (projects without a dataset only).
    pub new_items: u64,
    /// Annotators seen for the first time.
    pub new_annotators: u64,
}

/// A stored assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// Item id.
    pub item_id: i64,
    /// Item key.
    pub item: String,
    /// Annotator id.
    pub annotator_id: i64,
    /// Annotator name.
    pub annotator: String,
    /// Whether the item is a gold item (hidden from the annotator).
    pub is_gold: bool,
    /// The assignment round.
    pub batch_id: i64,
}

/// A gold answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gold {
    /// Item id.
    pub item_id: i64,
    /// Item key.
    pub item: String,
    /// Canonical value text.
    pub value: String,
}

/// An adjudication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// Item id.
    pub item_id: i64,
    /// Item key.
    pub item: String,
    /// The reviewer's final answer (canonical text).
    pub value: String,
    /// Who decided.
    pub reviewer: String,
    /// Why.
    pub note: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Where an aggregated label came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultSource {
    /// Aggregated from human answers.
    Human,
    /// An adjudication.
    Adjudication,
    /// A pseudo-label (only when the run was asked to include them).
    Pseudo,
}

impl ResultSource {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResultSource::Human => "human",
            ResultSource::Adjudication => "adjudication",
            ResultSource::Pseudo => "pseudo",
        }
    }
}

/// One aggregated label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Item id.
    pub item_id: i64,
    /// Item key.
    pub item: String,
    /// Canonical value text.
    pub value: String,
    /// Posterior or vote share.
    pub confidence: f64,
    /// Human, adjudication or pseudo.
    pub source: ResultSource,
    /// Judgements behind it.
    pub n_labels: i64,
}

/// An aggregation run to store.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// `majority`, `weighted`, `dawid-skene`, `mean`, `median`.
    pub method: String,
    /// Parameters (JSON object).
    pub params: serde_json::Value,
    /// Report (JSON object).
    pub report: serde_json::Value,
    /// Results; `item` keys are ignored, ids count.
    pub results: Vec<RunResult>,
    /// Who ran it.
    pub created_by: String,
}

/// A stored aggregation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Database id.
    pub id: i64,
    /// Method.
    pub method: String,
    /// Parameters.
    pub params: serde_json::Value,
    /// Report.
    pub report: serde_json::Value,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Results, by item id.
    pub results: Vec<RunResult>,
}

/// A metric to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// The batch it describes, if per batch.
    pub batch_id: Option<i64>,
    /// The run it describes, if per run.
    pub run_id: Option<i64>,
    /// Name, e.g. `agreement.krippendorff_alpha` or `distribution.spam`.
    pub name: String,
    /// Value.
    pub value: f64,
    /// When recorded (ignored on insert).
    pub created_at: Option<DateTime<Utc>>,
}

/// A merge of a run's labels into a new dataset version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRecord {
    /// The run merged.
    pub run_id: i64,
    /// The version created.
    pub version_id: i64,
    /// The version the items came from.
    pub source_version_id: Option<i64>,
    /// Method, parameters, annotators and label sources.
    pub lineage: serde_json::Value,
}

/// The annotation store (see the module docs for the write rules).
#[async_trait]
pub trait LabelStore: Send + Sync + std::fmt::Debug {
    /// Creates a project and its items in one transaction.
    async fn create_project(&self, project: NewProject, items: &[NewItem]) -> Result<Project>;
    /// A project by name.
    async fn project(&self, name: &str) -> Result<Project>;
    /// All projects with counts.
    async fn projects(&self) -> Result<Vec<ProjectSummary>>;
    /// A project's items, by id.
    async fn items(&self, project_id: i64) -> Result<Vec<Item>>;
    /// Adds items that do not exist yet (by key), and sets the payload of existing items that
    /// have none; returns how many items were created.
    async fn add_items(&self, project_id: i64, items: &[NewItem]) -> Result<u64>;
    /// Finds or creates annotators; an existing annotator keeps its kind.
    async fn ensure_annotators(&self, names: &[(String, AnnotatorKind)]) -> Result<Vec<Annotator>>;
    /// All annotators.
    async fn annotators(&self) -> Result<Vec<Annotator>>;
    /// Stores answers as one batch. Unknown item keys are created when `create_items`, else an error.
    async fn import(
        &self,
        project: &Project,
        batch: NewBatch,
        new_annotator_kind: AnnotatorKind,
        source: LabelSource,
        create_items: bool,
        rows: &[NewAnnotation],
    ) -> Result<ImportResult>;
    /// The latest answer per (item, annotator, source), by item then annotator.
    async fn annotations(&self, project_id: i64, source: Option<LabelSource>) -> Result<Vec<Annotation>>;
    /// Sets gold answers (replacing an item's earlier gold answer); returns the batch id.
    async fn set_gold(&self, project: &Project, batch: NewBatch, rows: &[(String, String)]) -> Result<i64>;
    /// Gold answers, by item id.
    async fn gold(&self, project_id: i64) -> Result<Vec<Gold>>;
    /// Stores assignments (item id, annotator id, is gold) as one batch; returns the batch id.
    async fn add_assignments(&self, project_id: i64, batch: NewBatch, rows: &[(i64, i64, bool)]) -> Result<i64>;
    /// All assignments, by item then annotator.
    async fn assignments(&self, project_id: i64) -> Result<Vec<Assignment>>;
    /// Stores an adjudication.
    async fn add_review(
        &self,
        project_id: i64,
        item_id: i64,
        value: &str,
        reviewer: &str,
        note: Option<&str>,
    ) -> Result<()>;
    /// The latest adjudication per item.
    async fn reviews(&self, project_id: i64) -> Result<Vec<Review>>;
    /// Stores an aggregation run and its results; returns the run id.
    async fn save_run(&self, project_id: i64, run: NewRun) -> Result<i64>;
    /// A run with its results: the given one, or the latest.
    async fn run(&self, project_id: i64, run_id: Option<i64>) -> Result<Run>;
    /// Records a merge into a dataset version.
    async fn record_merge(&self, project_id: i64, merge: &MergeRecord) -> Result<()>;
    /// Records metrics.
    async fn record_metrics(&self, project_id: i64, metrics: &[Metric]) -> Result<()>;
    /// All metrics of a project, oldest first.
    async fn metrics(&self, project_id: i64) -> Result<Vec<Metric>>;
    /// The batches of a project: (id, kind, source, rows, created_at), oldest first.
    async fn batches(&self, project_id: i64) -> Result<Vec<(i64, String, Option<String>, i64, DateTime<Utc>)>>;
}
