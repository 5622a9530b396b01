//! The metadata store: datasets, versions, their files and tables, tags, models and lineage.
//!
//! [`MetaStore`] is the one extension point; [`crate::sqlite::SqliteStore`] is the embedded
//! implementation, and a Postgres backend is a second implementation of the same trait with its
//! own `migrations/postgres/` folder. Everything here is plain data, serialisable to JSON for
//! `--json` output.
//!
//! Commit rules (what [`MetaStore::commit_version`] guarantees):
//!
//! | situation                                   | outcome                                   |
//! |---------------------------------------------|-------------------------------------------|
//! | dataset does not exist                      | created, version 1                        |
//! | manifest differs from the latest version's  | new version latest+1, parent = latest     |
//! | manifest equals the latest version's        | [`Commit::Unchanged`]; tags go to latest  |
//! | two writers commit at once                  | serialised by the database write lock;    |
//! |                                             | each gets its own number, none is lost    |
//! | a tag to add already names another version  | whole commit rejected, nothing written    |

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::objects::ObjectId;

/// Where a version's data came from, when, and by whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The source as the user named it (`--source`), else the `file://` URI of the first input.
    pub source_uri: Option<String>,
    /// When the data was collected (`--collected-at`), else when it was added.
    pub collected_at: DateTime<Utc>,
    /// Who or what collected it (`--collected-by`), else `user@host`.
    pub collected_by: String,
    /// The tool and version that recorded it.
    pub tool: String,
    /// The command line that recorded it.
    pub command: Option<String>,
    /// The absolute paths that were read.
    pub inputs: Vec<String>,
}

/// One file of a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path inside the dataset, `/`-separated.
    pub path: String,
    /// The object holding its bytes.
    pub object: ObjectId,
    /// Size in bytes.
    pub size: u64,
}

/// One file of a version that was read as a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableEntry {
    /// Path inside the dataset (matches a [`FileEntry`]).
    pub path: String,
    /// `csv`, `tsv`, `jsonl` or `parquet`.
    pub format: String,
    /// The Arrow schema, as arrow-schema's serde JSON.
    pub schema: serde_json::Value,
    /// Rows kept (bad rows excluded).
    pub rows: u64,
    /// The canonical Parquet copy.
    pub canonical: ObjectId,
    /// Quarantined bad rows, kept verbatim (JSON lines), if any.
    pub quarantine: Option<ObjectId>,
    /// How many rows were quarantined.
    pub bad_rows: u64,
    /// The table's column profile (`sluice-profile`'s encoded states), if one was computed.
    /// Derived from the canonical copy, so it is not part of the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<ObjectId>,
}

/// A version to commit.
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// Dataset name (created if new).
    pub dataset: String,
    /// Commit message.
    pub message: Option<String>,
    /// Provenance.
    pub provenance: Provenance,
    /// Files, sorted by path.
    pub files: Vec<FileEntry>,
    /// Tables, sorted by path.
    pub tables: Vec<TableEntry>,
    /// Tags to attach.
    pub tags: Vec<String>,
    /// Versions this one was derived from (ids).
    pub derived_from: Vec<i64>,
    /// Hash of the manifest (see [`manifest_id`]).
    pub manifest: ObjectId,
}

/// A stored version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// Database id (stable within one metadata store).
    pub id: i64,
    /// Dataset name.
    pub dataset: String,
    /// Version number within the dataset, from 1.
    pub number: i64,
    /// Parent version number, if any.
    pub parent: Option<i64>,
    /// Parent version id, if any.
    #[serde(skip)]
    pub parent_id: Option<i64>,
    /// Commit message.
    pub message: Option<String>,
    /// When the version was committed.
    pub created_at: DateTime<Utc>,
    /// Where the data came from.
    pub provenance: Provenance,
    /// Manifest hash.
    pub manifest: ObjectId,
    /// Number of files.
    pub file_count: u64,
    /// Total bytes of the files.
    pub total_bytes: u64,
    /// Total rows over the version's tables, if it has any.
    pub row_count: Option<u64>,
    /// Tags naming this version.
    pub tags: Vec<String>,
}

impl VersionRecord {
    /// `name@vN`.
    pub fn label(&self) -> String {
        format!("{}@v{}", self.dataset, self.number)
    }
}

/// The outcome of [`MetaStore::commit_version`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", content = "version", rename_all = "snake_case")]
pub enum Commit {
    /// A new version was created.
    Created(VersionRecord),
    /// The content equals the latest version's; no version was created.
    Unchanged(VersionRecord),
}

impl Commit {
    /// The version created or found.
    pub fn version(&self) -> &VersionRecord {
        match self {
            Commit::Created(v) | Commit::Unchanged(v) => v,
        }
    }
}

/// One dataset in `sluice ls`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSummary {
    /// Name.
    pub name: String,
    /// Number of versions.
    pub versions: i64,
    /// The latest version.
    pub latest: Option<VersionRecord>,
}

/// A model version to register.
#[derive(Debug, Clone)]
pub struct NewModelVersion {
    /// Model name (created if new).
    pub model: String,
    /// Hyperparameters.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Metrics.
    pub metrics: serde_json::Map<String, serde_json::Value>,
    /// Code revision (commit) it was trained from.
    pub code_rev: Option<String>,
    /// Stored artifact, if any.
    pub artifact: Option<ObjectId>,
    /// The artifact's file name.
    pub artifact_name: Option<String>,
    /// Who registered it.
    pub created_by: String,
    /// Dataset versions it was trained on: (version id, role).
    pub inputs: Vec<(i64, String)>,
}

/// A dataset version a model used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInput {
    /// The version.
    pub version: VersionRecord,
    /// Its role (`train`, `validation`, `test`, ...).
    pub role: String,
}

/// A registered model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersionRecord {
    /// Database id.
    #[serde(skip)]
    pub id: i64,
    /// Model name.
    pub model: String,
    /// Version number within the model, from 1.
    pub number: i64,
    /// The run id (UUIDv7) used in OpenLineage events.
    pub run_id: String,
    /// Hyperparameters.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Metrics.
    pub metrics: serde_json::Map<String, serde_json::Value>,
    /// Code revision.
    pub code_rev: Option<String>,
    /// Stored artifact.
    pub artifact: Option<ObjectId>,
    /// The artifact's file name.
    pub artifact_name: Option<String>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// Who registered it.
    pub created_by: String,
    /// Dataset versions it was trained on.
    pub inputs: Vec<ModelInput>,
}

impl ModelVersionRecord {
    /// `name@vN`.
    pub fn label(&self) -> String {
        format!("{}@v{}", self.model, self.number)
    }
}

/// A stat-cache entry: the hash of a file as it was when (size, mtime, inode) were recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatEntry {
    /// Absolute path.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Inode number.
    pub inode: u64,
    /// The content hash.
    pub object: ObjectId,
}

/// Which version a `NAME@REF` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionRef {
    /// `3` or `v3`.
    Number(i64),
    /// `latest` (0) or `latest~N`.
    Latest(u32),
    /// Anything else: a tag.
    Tag(String),
}

impl FromStr for VersionRef {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s == "latest" || s.is_empty() {
            return Ok(VersionRef::Latest(0));
        }
        if let Some(n) = s.strip_prefix("latest~") {
            return n.parse().map(VersionRef::Latest).map_err(|_| Error::NotFound {
                what: "version reference",
                name: s.into(),
                hint: "; use latest~N with N a whole number".into(),
            });
        }
        let digits = s.strip_prefix('v').unwrap_or(s);
        if !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && let Ok(n) = digits.parse()
        {
            return Ok(VersionRef::Number(n));
        }
        Ok(VersionRef::Tag(s.into()))
    }
}

impl fmt::Display for VersionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionRef::Number(n) => write!(f, "v{n}"),
            VersionRef::Latest(0) => f.write_str("latest"),
            VersionRef::Latest(n) => write!(f, "latest~{n}"),
            VersionRef::Tag(t) => f.write_str(t),
        }
    }
}

/// The metadata store. All writes of one logical change happen in one transaction.
#[async_trait]
pub trait MetaStore: Send + Sync + fmt::Debug {
    /// Commits a version atomically (see the table in the module docs).
    async fn commit_version(&self, version: NewVersion) -> Result<Commit>;
    /// All datasets, by name.
    async fn datasets(&self) -> Result<Vec<DatasetSummary>>;
    /// A dataset's versions, oldest first. Empty if the dataset does not exist.
    async fn versions(&self, dataset: &str) -> Result<Vec<VersionRecord>>;
    /// One version by id.
    async fn version_by_id(&self, id: i64) -> Result<VersionRecord>;
    /// A version's files, by path.
    async fn files(&self, version_id: i64) -> Result<Vec<FileEntry>>;
    /// A version's tables, by path.
    async fn tables(&self, version_id: i64) -> Result<Vec<TableEntry>>;
    /// Points `tag` at a version; an existing tag elsewhere is an error unless `force`.
    async fn set_tag(&self, version_id: i64, tag: &str, force: bool) -> Result<()>;
    /// Versions a version was derived from (ids).
    async fn derived_from(&self, version_id: i64) -> Result<Vec<i64>>;
    /// Versions derived from a version, and versions whose parent it is (ids).
    async fn derived_versions(&self, version_id: i64) -> Result<Vec<i64>>;
    /// Registers a model version atomically.
    async fn register_model(&self, model: NewModelVersion) -> Result<ModelVersionRecord>;
    /// Model names with their version counts.
    async fn models(&self) -> Result<Vec<(String, i64)>>;
    /// A model's versions, oldest first. Empty if the model does not exist.
    async fn model_versions(&self, model: &str) -> Result<Vec<ModelVersionRecord>>;
    /// Model versions trained on a dataset version.
    async fn models_using(&self, version_id: i64) -> Result<Vec<ModelVersionRecord>>;
    /// Every object any version, table, quarantine or model references (gc roots).
    async fn referenced_objects(&self) -> Result<BTreeSet<ObjectId>>;
    /// Stat-cache entries whose path starts with `prefix`.
    async fn stat_cache(&self, prefix: &str) -> Result<HashMap<String, StatEntry>>;
    /// Inserts or replaces stat-cache entries.
    async fn put_stat_cache(&self, entries: &[StatEntry]) -> Result<()>;
}

/// Opens the metadata store at `url` (relative paths are relative to `dir`).
pub async fn connect(dir: &Path, url: &str) -> Result<Box<dyn MetaStore>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let p = Path::new(path);
        let p = if p.is_absolute() { p.to_path_buf() } else { dir.join(p) };
        return Ok(Box::new(crate::sqlite::SqliteStore::open(&p).await?));
    }
    let hint = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        "the Postgres backend is not built yet; use sqlite://PATH".to_string()
    } else {
        "use sqlite://PATH".to_string()
    };
    Err(Error::UnsupportedUrl {
        what: "metadata",
        url: url.into(),
        hint,
    })
}

/// Resolves `REF` within a dataset's versions.
pub async fn resolve(meta: &dyn MetaStore, dataset: &str, r: &VersionRef) -> Result<VersionRecord> {
    let versions = meta.versions(dataset).await?;
    if versions.is_empty() {
        let known: Vec<String> = meta.datasets().await?.into_iter().map(|d| d.name).collect();
        return Err(Error::NotFound {
            what: "dataset",
            name: dataset.into(),
            hint: if known.is_empty() {
                "; the workspace has no datasets yet (sluice add NAME PATH)".into()
            } else {
                format!("; datasets: {}", known.join(", "))
            },
        });
    }
    let found = match r {
        VersionRef::Number(n) => versions.iter().find(|v| v.number == *n),
        VersionRef::Latest(k) => versions.iter().rev().nth(*k as usize),
        VersionRef::Tag(t) => versions.iter().find(|v| v.tags.iter().any(|x| x == t)),
    };
    found.cloned().ok_or_else(|| Error::NotFound {
        what: "version",
        name: format!("{dataset}@{r}"),
        hint: format!(
            "; {dataset} has versions v1..v{}{}",
            versions.last().map(|v| v.number).unwrap_or(0),
            tag_hint(&versions)
        ),
    })
}

fn tag_hint(versions: &[VersionRecord]) -> String {
    let tags: BTreeSet<&str> = versions
        .iter()
        .flat_map(|v| v.tags.iter().map(String::as_str))
        .collect();
    if tags.is_empty() {
        String::new()
    } else {
        format!(" and tags {}", tags.into_iter().collect::<Vec<_>>().join(", "))
    }
}

/// The manifest hash: BLAKE3 over the sorted files and tables, so equal content gives equal
/// manifests whatever order the files were found in.
pub fn manifest_id(files: &[FileEntry], tables: &[TableEntry]) -> ObjectId {
    let mut h = blake3::Hasher::new();
    let mut files: Vec<&FileEntry> = files.iter().collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    for f in files {
        h.update(b"F\0");
        h.update(f.path.as_bytes());
        h.update(b"\0");
        h.update(f.object.as_str().as_bytes());
        h.update(b"\n");
    }
    let mut tables: Vec<&TableEntry> = tables.iter().collect();
    tables.sort_by(|a, b| a.path.cmp(&b.path));
    for t in tables {
        h.update(b"T\0");
        h.update(t.path.as_bytes());
        h.update(b"\0");
        h.update(t.canonical.as_str().as_bytes());
        h.update(b"\0");
        h.update(t.quarantine.as_ref().map(ObjectId::as_str).unwrap_or("").as_bytes());
        h.update(b"\n");
    }
    ObjectId::from_hash(h.finalize())
}

/// Parses `k=v` pairs into a JSON object, reading numbers and booleans as such.
pub fn parse_kv(pairs: &[String]) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let mut out = BTreeMap::new();
    for p in pairs {
        let (k, v) = p.split_once('=').ok_or_else(|| format!("`{p}` is not KEY=VALUE"))?;
        let k = k.trim();
        if k.is_empty() {
            return Err(format!("`{p}` has an empty key"));
        }
        let v = v.trim();
        let value = if let Ok(i) = v.parse::<i64>() {
            serde_json::Value::from(i)
        } else if let Ok(f) = v.parse::<f64>() {
            serde_json::Value::from(f)
        } else if v == "true" || v == "false" {
            serde_json::Value::Bool(v == "true")
        } else {
            serde_json::Value::String(v.to_string())
        };
        out.insert(k.to_string(), value);
    }
    Ok(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_refs_parse() {
        assert_eq!("3".parse::<VersionRef>().unwrap(), VersionRef::Number(3));
        assert_eq!("v12".parse::<VersionRef>().unwrap(), VersionRef::Number(12));
        assert_eq!("latest".parse::<VersionRef>().unwrap(), VersionRef::Latest(0));
        assert_eq!("latest~2".parse::<VersionRef>().unwrap(), VersionRef::Latest(2));
        assert_eq!("3.2".parse::<VersionRef>().unwrap(), VersionRef::Tag("3.2".into()));
        assert_eq!("prod".parse::<VersionRef>().unwrap(), VersionRef::Tag("prod".into()));
        assert!("latest~x".parse::<VersionRef>().is_err());
    }

    #[test]
    fn manifest_ignores_order() {
        let f = |p: &str, b: &[u8]| FileEntry {
            path: p.into(),
            object: ObjectId::of_bytes(b),
            size: 1,
        };
        let a = manifest_id(&[f("a", b"1"), f("b", b"2")], &[]);
        let b = manifest_id(&[f("b", b"2"), f("a", b"1")], &[]);
        let c = manifest_id(&[f("a", b"2"), f("b", b"1")], &[]);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn kv_types() {
        let m = parse_kv(&["lr=0.1".into(), "depth=6".into(), "opt=adam".into(), "es=true".into()]).unwrap();
        assert_eq!(m["lr"], serde_json::json!(0.1));
        assert_eq!(m["depth"], serde_json::json!(6));
        assert_eq!(m["opt"], serde_json::json!("adam"));
        assert_eq!(m["es"], serde_json::json!(true));
        assert!(parse_kv(&["novalue".into()]).is_err());
    }
}
