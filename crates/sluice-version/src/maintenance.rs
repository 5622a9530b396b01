//! `sluice verify` and `sluice gc`: keeping the object store honest and small.
//!
//! `verify` re-hashes every stored object and checks that every object the metadata references
//! exists. `gc` deletes objects that nothing references (no version file, canonical table,
//! quarantine or model artifact), under the exclusive workspace lock so no concurrent `add` can
//! be relying on an object it stored but has not yet committed.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use sluice_store::lock::LockMode;
use sluice_store::{ObjectId, Workspace};

use crate::error::Result;
use crate::progress::{Progress, Unit};

/// An object whose content does not hash to its name.
#[derive(Debug, Clone, Serialize)]
pub struct CorruptObject {
    /// Its name.
    pub id: ObjectId,
    /// The hash of its actual content.
    pub actual: ObjectId,
    /// What references it.
    pub referenced_by: Vec<String>,
}

/// A referenced object that is not in the store.
#[derive(Debug, Clone, Serialize)]
pub struct MissingObject {
    /// Its name.
    pub id: ObjectId,
    /// What references it.
    pub referenced_by: Vec<String>,
}

/// What `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Objects re-hashed.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Objects whose content is not what their name says.
    pub corrupt: Vec<CorruptObject>,
    /// Referenced objects that are missing.
    pub missing: Vec<MissingObject>,
    /// Objects nothing references (left by an interrupted add; `gc` removes them).
    pub unreferenced: u64,
    /// Temp files left by interrupted writers.
    pub temp_files: u64,
}

impl VerifyReport {
    /// No corruption and nothing missing.
    pub fn is_clean(&self) -> bool {
        self.corrupt.is_empty() && self.missing.is_empty()
    }
}

/// Re-hashes every object and checks every reference.
pub async fn verify(ws: &Workspace, progress: &dyn Progress) -> Result<VerifyReport> {
    let referenced = ws.meta.referenced_objects().await?;
    let listed = ws.objects.list().await?;
    let total: u64 = listed.iter().map(|o| o.size).sum();
    progress.start("verifying objects", Some(total), Unit::Bytes);
    let concurrency = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let results: Vec<(ObjectId, Option<ObjectId>)> = futures::stream::iter(listed.iter())
        .map(|o| async move {
            let actual = ws.objects.rehash(&o.id).await?;
            progress.advance(o.size);
            Ok::<_, crate::Error>((o.id.clone(), actual))
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    progress.finish();
    let present: BTreeSet<&ObjectId> = listed.iter().map(|o| &o.id).collect();
    let mut corrupt = Vec::new();
    for (id, actual) in results {
        match actual {
            Some(a) if a != id => corrupt.push(CorruptObject {
                referenced_by: Vec::new(),
                id,
                actual: a,
            }),
            _ => {}
        }
    }
    let mut missing: Vec<MissingObject> = referenced
        .iter()
        .filter(|id| !present.contains(id))
        .map(|id| MissingObject {
            id: id.clone(),
            referenced_by: Vec::new(),
        })
        .collect();
    if !corrupt.is_empty() || !missing.is_empty() {
        let users = references(ws).await?;
        for c in &mut corrupt {
            c.referenced_by = users
                .iter()
                .filter(|(id, _)| id == &c.id)
                .map(|(_, u)| u.clone())
                .collect();
        }
        for m in &mut missing {
            m.referenced_by = users
                .iter()
                .filter(|(id, _)| id == &m.id)
                .map(|(_, u)| u.clone())
                .collect();
        }
    }
    // Temp files sit in the temp folder or one level below it (writers spread over subfolders).
    let temp_files = count_files(ws.objects.tmp_dir(), 1);
    Ok(VerifyReport {
        objects: listed.len() as u64,
        bytes: total,
        unreferenced: listed.iter().filter(|o| !referenced.contains(&o.id)).count() as u64,
        corrupt,
        missing,
        temp_files,
    })
}

/// Every (object, "who references it") pair, for reporting damage.
async fn references(ws: &Workspace) -> Result<Vec<(ObjectId, String)>> {
    let mut out = Vec::new();
    for d in ws.meta.datasets().await? {
        for v in ws.meta.versions(&d.name).await? {
            for f in ws.meta.files(v.id).await? {
                out.push((f.object, format!("{}:{}", v.label(), f.path)));
            }
            for t in ws.meta.tables(v.id).await? {
                out.push((t.canonical, format!("{}:{} (canonical Parquet)", v.label(), t.path)));
                if let Some(q) = t.quarantine {
                    out.push((q, format!("{}:{} (quarantine)", v.label(), t.path)));
                }
                if let Some(p) = t.profile {
                    out.push((p, format!("{}:{} (profile)", v.label(), t.path)));
                }
            }
        }
    }
    for (m, _) in ws.meta.models().await? {
        for mv in ws.meta.model_versions(&m).await? {
            if let Some(a) = &mv.artifact {
                out.push((a.clone(), format!("{} (artifact)", mv.label())));
            }
        }
    }
    Ok(out)
}

/// What `gc` removed, or would remove.
#[derive(Debug, Clone, Serialize)]
pub struct GcReport {
    /// True if nothing was deleted.
    pub dry_run: bool,
    /// Objects kept (referenced).
    pub kept: u64,
    /// Unreferenced objects found.
    pub unreferenced: u64,
    /// Their bytes.
    pub unreferenced_bytes: u64,
    /// Objects deleted.
    pub removed: u64,
    /// Temp files deleted.
    pub temp_files_removed: u64,
}

/// Finds unreferenced objects and, unless `dry_run`, deletes them.
pub async fn gc(ws: &Workspace, dry_run: bool, progress: &dyn Progress) -> Result<GcReport> {
    let _lock = ws.lock(LockMode::Exclusive, &mut || {
        progress.start("waiting for running sluice commands to finish", None, Unit::Items)
    })?;
    let referenced = ws.meta.referenced_objects().await?;
    let listed = ws.objects.list().await?;
    let garbage: Vec<_> = listed.iter().filter(|o| !referenced.contains(&o.id)).collect();
    let mut report = GcReport {
        dry_run,
        kept: (listed.len() - garbage.len()) as u64,
        unreferenced: garbage.len() as u64,
        unreferenced_bytes: garbage.iter().map(|o| o.size).sum(),
        removed: 0,
        temp_files_removed: 0,
    };
    if !dry_run {
        progress.start("removing objects", Some(garbage.len() as u64), Unit::Items);
        for o in garbage {
            ws.objects.delete(&o.id).await?;
            report.removed += 1;
            progress.advance(1);
        }
        progress.finish();
        report.temp_files_removed = ws.objects.clean_tmp()?;
    }
    Ok(report)
}

/// Files in `dir` and, `depth` levels down, in its subfolders (folders themselves not counted).
fn count_files(dir: &std::path::Path, depth: u8) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                if depth > 0 { count_files(&p, depth - 1) } else { 0 }
            } else {
                1
            }
        })
        .sum()
}
