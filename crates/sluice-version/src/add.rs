//! `sluice add`: ingest files and folders as a new dataset version.
//!
//! The order of work is what makes a version atomic:
//!
//! 1. walk the inputs and stat every file (nothing written yet; a missing path fails here);
//! 2. take the workspace lock shared (only `gc` excludes us);
//! 3. store each file's bytes as an object: a file whose (size, mtime, inode) match the stat
//!    cache is not hashed again, and an object that exists is not written again;
//! 4. read each tabular file (CSV/TSV, JSON Lines) and store its canonical Parquet copy and its
//!    quarantined bad rows (a Parquet file is its own copy: its footer gives the schema and row
//!    count, and its profile decodes every page); a table unchanged since the dataset's latest
//!    version reuses that version's copy;
//! 5. commit files, tables, tags, provenance and parent in one metadata transaction.
//!
//! A failure in 1-4 (bad table, killed process) leaves no version and no metadata; objects
//! already stored are unreferenced until another version uses them or `gc` removes them. They
//! are never deleted here: a concurrent `add` may have deduplicated against them.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};

use serde::Serialize;
use sluice_ingest::{BadRows, ReadOptions, TableFormat};
use sluice_store::lock::LockMode;
use sluice_store::meta::{Commit, FileEntry, NewVersion, Provenance, StatEntry, TableEntry, manifest_id};
use sluice_store::{ObjectId, Workspace};

use crate::error::{Error, Result};
use crate::progress::{Progress, Unit};
use crate::refs::{DatasetRef, check_name};

/// A file modified this close to the moment it was hashed is not put in the stat cache: its
/// mtime may not change on a second write within the filesystem's timestamp granularity (the
/// "racy clean" problem git documents), and 2 s covers the coarsest common filesystems.
const RACY_WINDOW_NS: i64 = 2_000_000_000;

/// What to add and how.
#[derive(Debug, Clone)]
pub struct AddOptions {
    /// The dataset name.
    pub name: String,
    /// Files and folders to add.
    pub paths: Vec<PathBuf>,
    /// Commit message.
    pub message: Option<String>,
    /// Tags to attach to the version.
    pub tags: Vec<String>,
    /// Where the data came from (URI), if not the local paths.
    pub source: Option<String>,
    /// When the data was collected, if not now.
    pub collected_at: Option<DateTime<Utc>>,
    /// Who or what collected it, if not the current user.
    pub collected_by: Option<String>,
    /// Versions this one was derived from.
    pub derived_from: Vec<DatasetRef>,
    /// What to do with rows that cannot be read.
    pub bad_rows: BadRows,
    /// Store every file as plain bytes, reading none as a table.
    pub raw: bool,
    /// The command line, recorded in provenance.
    pub command: Option<String>,
    /// Parquet tables among `paths` that the caller has already read in full or written from
    /// memory, with what `add` would otherwise learn by decoding them again.
    pub prepared: Vec<Prepared>,
    /// The files are this process's own, written for this version (a pipeline's output): in a
    /// local store they are synced and moved in rather than copied, so they are gone from their
    /// paths afterwards (copied, and removed, when the store is on another filesystem); a remote
    /// store gets a copy and the files stay. They are not put in the stat cache.
    pub take: bool,
}

/// A Parquet table the caller holds in memory as it is stored (`sluice run`'s output): its schema,
/// row count and profile, made from every row (`sluice_profile::profile_batches`). The profile of
/// a file decoded by `add` doubles as the check that every page is readable; the caller vouches for
/// that here, having written the file from the very rows it profiled.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The file, as given in [`AddOptions::paths`].
    pub path: PathBuf,
    pub schema: arrow::datatypes::SchemaRef,
    pub rows: u64,
    pub profile: sluice_profile::ProfileStates,
}

/// One table read during the add.
#[derive(Debug, Clone, Serialize)]
pub struct TableSummary {
    /// Path in the dataset.
    pub path: String,
    /// Rows kept.
    pub rows: u64,
    /// Rows quarantined.
    pub bad_rows: u64,
    /// Columns.
    pub columns: usize,
    /// Whether the canonical copy was reused from the previous version.
    pub reused: bool,
}

/// What `add` did.
#[derive(Debug, Clone, Serialize)]
pub struct AddReport {
    /// The commit: a new version, or the unchanged latest one.
    pub commit: Commit,
    /// Files in the version.
    pub files: u64,
    /// Their total size.
    pub bytes: u64,
    /// Files that were hashed (stat-cache misses).
    pub hashed_files: u64,
    /// Objects newly written (not deduplicated).
    pub new_objects: u64,
    /// Bytes newly written.
    pub new_bytes: u64,
    /// Tables read.
    pub tables: Vec<TableSummary>,
    /// Wall time in seconds.
    pub seconds: f64,
}

struct Input {
    rel: String,
    abs: PathBuf,
    size: u64,
    mtime_ns: i64,
    inode: u64,
}

/// Runs `sluice add`.
pub async fn add(ws: &Workspace, opts: &AddOptions, progress: &dyn Progress) -> Result<AddReport> {
    let started = Instant::now();
    check_name(&opts.name)?;
    let inputs = collect_inputs(&opts.paths)?;
    // Resolved now, as the inputs were: a taken file is gone from its path once it is stored.
    let prepared: Vec<(PathBuf, &Prepared)> = opts.prepared.iter().map(|p| (absolute(&p.path), p)).collect();
    let mut derived = Vec::with_capacity(opts.derived_from.len());
    for r in &opts.derived_from {
        derived.push(r.resolve(ws.meta.as_ref()).await?.id);
    }
    let _lock = ws.lock(LockMode::Shared, &mut || {
        progress.start("waiting for the workspace lock (gc running?)", None, Unit::Items)
    })?;

    let hash_started_ns = now_ns();
    let mut cache = HashMap::new();
    for root in input_roots(&opts.paths) {
        cache.extend(ws.meta.stat_cache(&root).await?);
    }
    let total_bytes: u64 = inputs.iter().map(|i| i.size).sum();
    progress.start("storing files", Some(total_bytes), Unit::Bytes);
    // Copies bypass the page cache (see sluice-store's direct.rs), so each waits on the disk:
    // keep enough in flight to fill the device queue, whatever the core count.
    let concurrency = std::thread::available_parallelism().map_or(2, |n| n.get()).max(4) * 4;
    // Each file: (entry, newly written?, hashed?, stat-cache entry to record).
    let stored: Vec<(FileEntry, bool, bool, Option<StatEntry>)> = futures::stream::iter(inputs.iter())
        .map(|input| {
            let key = input.abs.to_string_lossy().into_owned();
            let expected = cache
                .get(&key)
                .filter(|e| e.size == input.size && e.mtime_ns == input.mtime_ns && e.inode == input.inode)
                .map(|e| e.object.clone());
            async move {
                let (object, size, written) = if opts.take {
                    take_file(ws, &input.abs, input.size).await?
                } else {
                    ws.objects.put_file(&input.abs, expected.as_ref()).await?
                };
                progress.advance(size);
                let hashed = expected.is_none();
                let cached = hashed && !opts.take && input.mtime_ns < hash_started_ns - RACY_WINDOW_NS;
                let stat = cached.then(|| StatEntry {
                    path: key,
                    size: input.size,
                    mtime_ns: input.mtime_ns,
                    inode: input.inode,
                    object: object.clone(),
                });
                Ok::<_, Error>((
                    FileEntry {
                        path: input.rel.clone(),
                        object,
                        size,
                    },
                    written,
                    hashed,
                    stat,
                ))
            }
        })
        .buffered(concurrency)
        .try_collect()
        .await?;
    progress.finish();
    let hashed_files = stored.iter().filter(|s| s.2).count() as u64;
    let new_objects = stored.iter().filter(|s| s.1).count() as u64;
    let new_bytes = stored.iter().filter(|s| s.1).map(|s| s.0.size).sum();
    let stat_entries: Vec<StatEntry> = stored.iter().filter_map(|s| s.3.clone()).collect();
    let files: Vec<FileEntry> = stored.into_iter().map(|s| s.0).collect();

    let (tables, summaries) = if opts.raw {
        (Vec::new(), Vec::new())
    } else {
        read_tables(ws, opts, &inputs, &files, &prepared, progress).await?
    };

    let provenance = Provenance {
        source_uri: opts
            .source
            .clone()
            .or_else(|| inputs.first().map(|_| file_uri(&opts.paths[0]))),
        collected_at: opts.collected_at.unwrap_or_else(Utc::now),
        collected_by: opts.collected_by.clone().unwrap_or_else(current_user),
        tool: format!("sluice {}", env!("CARGO_PKG_VERSION")),
        command: opts.command.clone(),
        inputs: opts
            .paths
            .iter()
            .map(|p| absolute(p).to_string_lossy().into_owned())
            .collect(),
    };
    let manifest = manifest_id(&files, &tables);
    let commit = ws
        .meta
        .commit_version(NewVersion {
            dataset: opts.name.clone(),
            message: opts.message.clone(),
            provenance,
            files: files.clone(),
            tables,
            tags: opts.tags.clone(),
            derived_from: derived,
            manifest,
        })
        .await?;
    // The cache only saves work; a failure to update it must not fail a committed add.
    let _ = ws.meta.put_stat_cache(&stat_entries).await;
    Ok(AddReport {
        commit,
        files: files.len() as u64,
        bytes: total_bytes,
        hashed_files,
        new_objects,
        new_bytes,
        tables: summaries,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Reads every tabular file and stores its canonical copy and quarantine.
async fn read_tables(
    ws: &Workspace,
    opts: &AddOptions,
    inputs: &[Input],
    files: &[FileEntry],
    prepared: &[(PathBuf, &Prepared)],
    progress: &dyn Progress,
) -> Result<(Vec<TableEntry>, Vec<TableSummary>)> {
    // Tables of the dataset's latest version, by original object: an unchanged file is not
    // read again.
    let mut previous: HashMap<ObjectId, TableEntry> = HashMap::new();
    if let Some(latest) = ws.meta.versions(&opts.name).await?.pop() {
        let old_files: HashMap<String, ObjectId> = ws
            .meta
            .files(latest.id)
            .await?
            .into_iter()
            .map(|f| (f.path, f.object))
            .collect();
        for t in ws.meta.tables(latest.id).await? {
            if let Some(obj) = old_files.get(&t.path) {
                previous.insert(obj.clone(), t);
            }
        }
    }
    let todo: Vec<(&Input, &FileEntry, TableFormat)> = inputs
        .iter()
        .zip(files)
        .filter_map(|(i, f)| TableFormat::from_path(&i.abs).map(|fmt| (i, f, fmt)))
        .collect();
    if todo.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    progress.start("reading tables", Some(todo.iter().map(|t| t.0.size).sum()), Unit::Bytes);
    let mut tables = Vec::with_capacity(todo.len());
    let mut summaries = Vec::with_capacity(todo.len());
    for (input, file, format) in todo {
        let entry = match previous.get(&file.object) {
            Some(prev) if opts.bad_rows == BadRows::Quarantine || prev.bad_rows == 0 => {
                let mut t = prev.clone();
                t.path = file.path.clone();
                summaries.push(summary(&t, true));
                t
            }
            _ => {
                let known = prepared.iter().find(|(abs, _)| *abs == input.abs).map(|(_, p)| *p);
                let t = match known {
                    Some(p) if matches!(format, TableFormat::Parquet) => prepared_table(ws, file, p).await?,
                    _ => read_table(ws, input, file, format, opts.bad_rows, opts.take).await?,
                };
                summaries.push(summary(&t, false));
                t
            }
        };
        progress.advance(input.size);
        tables.push(entry);
    }
    progress.finish();
    Ok((tables, summaries))
}

fn summary(t: &TableEntry, reused: bool) -> TableSummary {
    TableSummary {
        path: t.path.clone(),
        rows: t.rows,
        bad_rows: t.bad_rows,
        columns: t.schema["fields"].as_array().map(Vec::len).unwrap_or(0),
        reused,
    }
}

/// Stores a file this process wrote for the version: moved into a local store (synced, hashed where
/// it lies, renamed), copied where a rename cannot (another filesystem) or into a remote store.
async fn take_file(ws: &Workspace, path: &Path, size: u64) -> Result<(ObjectId, u64, bool)> {
    if !ws.objects.is_local() {
        return Ok(ws.objects.put_file(path, None).await?);
    }
    // On disk before it is renamed into the store: the version about to be committed refers to
    // it, and its pages would otherwise be written back later, in whatever work comes next.
    let p = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        std::fs::File::open(&p)
            .and_then(|f| f.sync_data())
            .map_err(|e| Error::io(&p, e))
    })
    .await
    .map_err(|e| Error::Internal(format!("syncing {} failed: {e}", path.display())))??;
    match ws.objects.put_tmp(path).await {
        Ok((object, written)) => Ok((object, size, written)),
        Err(_) if path.is_file() => {
            let stored = ws.objects.put_file(path, None).await?;
            let _ = std::fs::remove_file(path);
            Ok(stored)
        }
        Err(e) => Err(e.into()),
    }
}

/// The table entry of a [`Prepared`] Parquet file: nothing is read, its profile is stored.
async fn prepared_table(ws: &Workspace, file: &FileEntry, p: &Prepared) -> Result<TableEntry> {
    let profile = ws.objects.put_bytes(p.profile.encode().into()).await?;
    Ok(TableEntry {
        path: file.path.clone(),
        format: format_name(TableFormat::Parquet).into(),
        schema: schema_json(&p.schema),
        rows: p.rows,
        canonical: file.object.clone(),
        quarantine: None,
        bad_rows: 0,
        profile: Some(profile),
    })
}

/// Reads one file as a table; writes its canonical Parquet copy (Parquet inputs are their own
/// canonical copy) and its quarantine into the store. A taken file (see [`AddOptions::take`]) is
/// read from its stored object.
async fn read_table(
    ws: &Workspace,
    input: &Input,
    file: &FileEntry,
    format: TableFormat,
    bad_rows: BadRows,
    take: bool,
) -> Result<TableEntry> {
    let parquet_tmp = ws.objects.tmp_path(".parquet");
    let quarantine_tmp = ws.objects.tmp_path(".quarantine.jsonl");
    let from = match take {
        true => ws.objects.local_path(&file.object).unwrap_or_else(|| input.abs.clone()),
        false => input.abs.clone(),
    };
    let (src, out, qpath) = (from.clone(), parquet_tmp.clone(), quarantine_tmp.clone());
    let is_parquet = matches!(format, TableFormat::Parquet);
    let read = tokio::task::spawn_blocking(move || -> Result<sluice_ingest::ReadReport> {
        let opts = ReadOptions {
            bad_rows,
            ..ReadOptions::default()
        };
        let mut quarantine = std::io::BufWriter::new(std::fs::File::create(&qpath).map_err(|e| Error::io(&qpath, e))?);
        let report = if is_parquet {
            // The footer gives the schema and the row count; the profile below decodes every
            // page, so a damaged page still fails the add (as a damaged file, not a bug).
            sluice_ingest::parquet_footer(&src)?
        } else {
            let mut f = std::io::BufWriter::new(std::fs::File::create(&out).map_err(|e| Error::io(&out, e))?);
            let r = sluice_ingest::to_parquet(&src, format, &opts, &mut f, &mut quarantine)?;
            std::io::Write::flush(&mut f).map_err(|e| Error::io(&out, e))?;
            r
        };
        std::io::Write::flush(&mut quarantine).map_err(|e| Error::io(&qpath, e))?;
        Ok(report)
    })
    .await
    .map_err(|e| Error::Internal(format!("table reader task failed: {e}")));
    let read = read.and_then(|r| r).map_err(|e| match e {
        Error::Ingest(e) if bad_rows == BadRows::Fail && e.is_row_error() => Error::BadRow(e),
        e => e,
    });
    let report = match read {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&parquet_tmp);
            let _ = std::fs::remove_file(&quarantine_tmp);
            return Err(e);
        }
    };
    // Profile the canonical copy before it moves into the store (a remote store would need a
    // download to read it afterwards).
    let profiled = if is_parquet {
        from.as_path()
    } else {
        parquet_tmp.as_path()
    };
    let profile = match sluice_profile::profile_parquet(profiled).await {
        Ok(states) => states,
        Err(e) => {
            let _ = std::fs::remove_file(&parquet_tmp);
            let _ = std::fs::remove_file(&quarantine_tmp);
            // A Parquet input was only checked up to its footer: a failure to decode it is the
            // file's. The canonical copy of a CSV/JSONL input was just written by us: a bug.
            return Err(if is_parquet {
                Error::Ingest(sluice_ingest::Error::CorruptParquet {
                    file: input.abs.display().to_string(),
                    message: e.to_string(),
                })
            } else {
                Error::Internal(format!("profiling {}: {e}", file.path))
            });
        }
    };
    let profile = ws.objects.put_bytes(profile.encode().into()).await?;
    let canonical = if is_parquet {
        file.object.clone()
    } else {
        ws.objects.put_tmp(&parquet_tmp).await?.0
    };
    let quarantine = if report.bad_rows > 0 {
        Some(ws.objects.put_tmp(&quarantine_tmp).await?.0)
    } else {
        let _ = std::fs::remove_file(&quarantine_tmp);
        None
    };
    Ok(TableEntry {
        path: file.path.clone(),
        format: format_name(format).into(),
        schema: schema_json(&report.schema),
        rows: report.rows,
        canonical,
        quarantine,
        bad_rows: report.bad_rows,
        profile: Some(profile),
    })
}

/// The short name of a table format as stored in metadata.
pub fn format_name(format: TableFormat) -> &'static str {
    match format {
        TableFormat::Csv { delimiter: b'\t' } => "tsv",
        TableFormat::Csv { .. } => "csv",
        TableFormat::Jsonl => "jsonl",
        TableFormat::Parquet => "parquet",
    }
}

/// A schema as stored in metadata: `{"fields": [{"name", "type", "nullable"}]}`, readable by
/// people, SQL and OpenLineage consumers alike.
pub fn schema_json(schema: &arrow::datatypes::Schema) -> serde_json::Value {
    let fields: Vec<serde_json::Value> = schema
        .fields()
        .iter()
        .map(|f| serde_json::json!({"name": f.name(), "type": f.data_type().to_string(), "nullable": f.is_nullable()}))
        .collect();
    serde_json::json!({ "fields": fields })
}

/// Expands the inputs into files with their dataset paths: a file is stored under its name, a
/// folder's files under `folder-name/relative/path`.
fn collect_inputs(paths: &[PathBuf]) -> Result<Vec<Input>> {
    if paths.is_empty() {
        return Err(Error::Usage("nothing to add: give at least one file or folder".into()));
    }
    let mut by_rel: BTreeMap<String, Input> = BTreeMap::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::MissingPath { path: path.clone() },
            _ => Error::io(path, e),
        })?;
        let abs = absolute(path);
        let base_name = abs
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "root".into());
        let found: Vec<(String, PathBuf, std::fs::Metadata)> = if meta.is_dir() {
            let mut v = Vec::new();
            let walker = walkdir::WalkDir::new(&abs)
                .follow_links(true)
                .sort_by_file_name()
                .into_iter();
            for entry in walker.filter_entry(|e| !is_ignored_dir(e)) {
                let entry = entry.map_err(|e| {
                    let p = e.path().map(Path::to_path_buf).unwrap_or_else(|| abs.clone());
                    Error::io(
                        p,
                        e.into_io_error()
                            .unwrap_or_else(|| std::io::Error::other("symlink loop")),
                    )
                })?;
                if entry.file_type().is_file() {
                    let rel = entry.path().strip_prefix(&abs).expect("walked under root");
                    let rel = format!("{base_name}/{}", slash_path(rel));
                    let m = entry.metadata().map_err(|e| Error::io(entry.path(), e.into()))?;
                    v.push((rel, entry.path().to_path_buf(), m));
                }
            }
            v
        } else {
            vec![(base_name, abs.clone(), meta)]
        };
        for (rel, abs, m) in found {
            let input = Input {
                rel: rel.clone(),
                size: m.len(),
                mtime_ns: mtime_ns(&m),
                inode: m.ino(),
                abs,
            };
            if let Some(prev) = by_rel.insert(rel.clone(), input) {
                let second = by_rel[&rel].abs.clone();
                return Err(Error::PathCollision {
                    path: rel,
                    first: prev.abs,
                    second,
                });
            }
        }
    }
    if by_rel.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::NoFiles {
            paths: shown.join(", "),
        });
    }
    Ok(by_rel.into_values().collect())
}

fn is_ignored_dir(e: &walkdir::DirEntry) -> bool {
    e.depth() > 0 && e.file_type().is_dir() && matches!(e.file_name().to_str(), Some(".sluice" | ".git" | ".dvc"))
}

fn slash_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn input_roots(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| absolute(p).to_string_lossy().into_owned())
        .collect()
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p)
        .or_else(|_| std::path::absolute(p))
        .unwrap_or_else(|_| p.to_path_buf())
}

fn file_uri(p: &Path) -> String {
    format!("file://{}", absolute(p).display())
}

fn mtime_ns(m: &std::fs::Metadata) -> i64 {
    m.mtime() * 1_000_000_000 + m.mtime_nsec()
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// `user@host`, for provenance.
pub fn current_user() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;
    use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;

    fn options(name: &str, path: PathBuf) -> AddOptions {
        AddOptions {
            name: name.into(),
            paths: vec![path],
            message: None,
            tags: Vec::new(),
            source: None,
            collected_at: None,
            collected_by: None,
            derived_from: Vec::new(),
            bad_rows: BadRows::Fail,
            raw: false,
            command: None,
            prepared: Vec::new(),
            take: false,
        }
    }

    /// A Parquet file of `rows` rows in row groups of 1,000.
    fn parquet(rows: i64) -> Vec<u8> {
        let ids: Vec<i64> = (0..rows).collect();
        let names: Vec<String> = ids.iter().map(|i| format!("name {}", i % 17)).collect();
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
            ("name", Arc::new(StringArray::from(names)) as ArrayRef),
        ])
        .unwrap();
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(1000))
            .build();
        let mut out = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parquet_rows_come_from_the_footer_and_a_damaged_page_is_the_files_fault() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::init(dir.path(), Default::default()).await.unwrap();
        let good = dir.path().join("good.parquet");
        std::fs::write(&good, parquet(4500)).unwrap();
        let r = add(&ws, &options("t", good), &NoProgress).await.unwrap();
        assert_eq!(r.tables[0].rows, 4500);
        assert_eq!(r.tables[0].columns, 2);

        // The footer is intact, the first data page is not: the profile's decode finds it.
        let mut bytes = parquet(4500);
        bytes[4..40].fill(0xEE);
        let bad = dir.path().join("bad.parquet");
        std::fs::write(&bad, bytes).unwrap();
        let e = add(&ws, &options("u", bad), &NoProgress).await.unwrap_err();
        assert!(
            matches!(e, Error::Ingest(sluice_ingest::Error::CorruptParquet { .. })),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains("bad.parquet") && msg.contains("damaged"), "{msg}");
        assert!(ws.meta.versions("u").await.unwrap().is_empty(), "nothing versioned");
    }

    /// A taken file is moved into the store (gone from its path, the object byte for byte the
    /// file); a prepared one is not read: its rows, schema and profile are the caller's.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn taken_files_move_into_the_store_and_prepared_tables_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::init(dir.path(), Default::default()).await.unwrap();
        let bytes = parquet(2500);
        let file = dir.path().join("out.parquet");
        std::fs::write(&file, &bytes).unwrap();
        let batches: Vec<RecordBatch> =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes.clone()))
                .unwrap()
                .build()
                .unwrap()
                .collect::<std::result::Result<_, _>>()
                .unwrap();
        let schema = batches[0].schema();
        let profile = sluice_profile::profile_batches(&schema, &batches).unwrap();
        let mut opts = options("t", file.clone());
        opts.take = true;
        opts.prepared = vec![Prepared {
            path: file.clone(),
            schema: schema.clone(),
            rows: 2500,
            profile: profile.clone(),
        }];
        let r = add(&ws, &opts, &NoProgress).await.unwrap();
        assert!(!file.exists(), "moved, not copied");
        assert_eq!((r.tables[0].rows, r.tables[0].columns, r.new_objects), (2500, 2, 1));
        let v = ws.meta.versions("t").await.unwrap().pop().unwrap();
        let t = ws.meta.tables(v.id).await.unwrap().pop().unwrap();
        let stored = ws.objects.get_bytes(&t.canonical).await.unwrap();
        assert_eq!(stored.as_ref(), bytes.as_slice());
        let kept = ws.objects.get_bytes(&t.profile.unwrap()).await.unwrap();
        assert_eq!(
            kept.as_ref(),
            profile.encode().as_slice(),
            "the caller's profile is stored"
        );

        // Taken but not prepared: read from the stored object (its footer, then its profile).
        let again = dir.path().join("again.parquet");
        std::fs::write(&again, parquet(700)).unwrap();
        let mut opts = options("u", again.clone());
        opts.take = true;
        let r = add(&ws, &opts, &NoProgress).await.unwrap();
        assert!(!again.exists());
        assert_eq!(r.tables[0].rows, 700);

        // A remote store gets a copy; the file stays where it is (and is read from there).
        let mut remote = ws;
        remote.objects = sluice_store::objects::Objects::with_store(
            Arc::new(object_store::memory::InMemory::new()),
            "memory://",
            "p",
            dir.path().join("remote-tmp"),
        )
        .unwrap();
        let third = dir.path().join("third.parquet");
        std::fs::write(&third, parquet(300)).unwrap();
        let mut opts = options("w", third.clone());
        opts.take = true;
        let r = add(&remote, &opts, &NoProgress).await.unwrap();
        assert!(third.exists());
        assert_eq!(r.tables[0].rows, 300);
    }
}
