//! [`LabelStore`] over the workspace's SQLite metadata database.
//!
//! The pool comes from `sluice_store::sqlite::SqliteStore`, so the connection settings (WAL, busy
//! timeout, foreign keys) and the migrations, including `0002_labels.sql`, are sluice-store's.
//! Writers open `BEGIN IMMEDIATE` transactions, as sluice-store does, so two imports serialise on
//! the write lock instead of failing at commit. All SQL here is portable (no `INSERT OR`, no
//! `WITHOUT ROWID`): a Postgres implementation changes `?` to `$n` and little else.
//!
//! Bulk writes (items of a project, imported annotations, gold, assignments, run results,
//! metrics) go in multi-row `INSERT`s of [`INSERT_BATCH`] rows, as sluice-store writes version
//! files: one statement per thousand rows instead of one round trip to SQLite's worker thread per
//! row, inside the same single transaction.

use std::collections::HashMap;
use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use crate::error::{Error, Result};
use crate::schema::{LabelKind, LabelSchema};
use crate::store::*;

/// Rows per multi-row INSERT: at most 9 bound parameters per row here, so a statement stays far
/// under SQLite's limit of 32,766 parameters.
pub const INSERT_BATCH: usize = 1000;

/// The SQLite annotation store.
#[derive(Debug, Clone)]
pub struct SqliteLabelStore {
    pool: SqlitePool,
}

impl SqliteLabelStore {
    /// Wraps a pool whose database has sluice-store's migrations applied.
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Opens the metadata database at `path` through sluice-store (applying migrations).
    pub async fn open(path: &Path) -> Result<Self> {
        let store = sluice_store::sqlite::SqliteStore::open(path).await?;
        Ok(Self::new(store.pool().clone()))
    }

    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::Internal(format!("bad timestamp `{s}` in the label store: {e}")))
}

fn json(s: &str) -> Result<serde_json::Value> {
    serde_json::from_str(s).map_err(|e| Error::Internal(format!("bad JSON in the label store: {e}")))
}

fn project_from_row(r: &SqliteRow) -> Result<Project> {
    let kind: String = r.get("kind");
    let kind: LabelKind = kind.parse().map_err(Error::Internal)?;
    let classes: Vec<String> = serde_json::from_str(r.get::<&str, _>("classes"))
        .map_err(|e| Error::Internal(format!("bad classes JSON in the label store: {e}")))?;
    let dataset = r.get::<Option<i64>, _>("version_id").map(|version_id| DatasetLink {
        version_id,
        table_path: r.get::<Option<String>, _>("table_path").unwrap_or_default(),
        key_column: r.get::<Option<String>, _>("key_column").unwrap_or_default(),
    });
    Ok(Project {
        id: r.get("id"),
        name: r.get("name"),
        schema: LabelSchema {
            kind,
            classes,
            min: r.get("scale_min"),
            max: r.get("scale_max"),
        },
        dataset,
        instructions: r.get("instructions"),
        created_at: parse_time(r.get("created_at"))?,
        created_by: r.get("created_by"),
    })
}

async fn insert_batch(
    tx: &mut Transaction<'static, Sqlite>,
    project_id: i64,
    b: &NewBatch,
    rows: usize,
) -> Result<i64> {
    let id: i64 = sqlx::query(
        "INSERT INTO label_batches (project_id, kind, source, params, row_count, created_at, created_by) \
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(project_id)
    .bind(b.kind.as_str())
    .bind(&b.source)
    .bind(b.params.to_string())
    .bind(rows as i64)
    .bind(now())
    .bind(&b.created_by)
    .fetch_one(&mut **tx)
    .await?
    .get(0);
    Ok(id)
}

async fn item_ids(tx: &mut Transaction<'static, Sqlite>, project_id: i64) -> Result<HashMap<String, i64>> {
    let rows = sqlx::query("SELECT id, item_key FROM label_items WHERE project_id = ?")
        .bind(project_id)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<String, _>(1), r.get::<i64, _>(0)))
        .collect())
}

async fn ensure_annotators_tx(
    tx: &mut Transaction<'static, Sqlite>,
    names: &[(String, AnnotatorKind)],
) -> Result<(Vec<Annotator>, u64)> {
    let mut out = Vec::with_capacity(names.len());
    let mut created = 0;
    for (name, kind) in names {
        let found = sqlx::query("SELECT id, kind FROM label_annotators WHERE name = ?")
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?;
        let a = match found {
            Some(r) => Annotator {
                id: r.get(0),
                name: name.clone(),
                kind: AnnotatorKind::parse(r.get::<&str, _>(1)).map_err(Error::Internal)?,
            },
            None => {
                created += 1;
                let id: i64 =
                    sqlx::query("INSERT INTO label_annotators (name, kind, created_at) VALUES (?, ?, ?) RETURNING id")
                        .bind(name)
                        .bind(kind.as_str())
                        .bind(now())
                        .fetch_one(&mut **tx)
                        .await?
                        .get(0);
                Annotator {
                    id,
                    name: name.clone(),
                    kind: *kind,
                }
            }
        };
        out.push(a);
    }
    Ok((out, created))
}

#[async_trait]
impl LabelStore for SqliteLabelStore {
    async fn create_project(&self, p: NewProject, items: &[NewItem]) -> Result<Project> {
        let mut tx = self.write_tx().await?;
        let exists = sqlx::query("SELECT 1 FROM label_projects WHERE name = ?")
            .bind(&p.name)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(Error::Usage(format!(
                "label project `{}` already exists; choose another name",
                p.name
            )));
        }
        let (version_id, table_path, key_column) = match &p.dataset {
            Some(d) => (
                Some(d.version_id),
                Some(d.table_path.clone()),
                Some(d.key_column.clone()),
            ),
            None => (None, None, None),
        };
        let created_at = now();
        let id: i64 = sqlx::query(
            "INSERT INTO label_projects (name, kind, classes, scale_min, scale_max, version_id, table_path, \
             key_column, instructions, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&p.name)
        .bind(p.schema.kind.as_str())
        .bind(serde_json::to_string(&p.schema.classes).expect("strings serialise"))
        .bind(p.schema.min)
        .bind(p.schema.max)
        .bind(version_id)
        .bind(table_path)
        .bind(key_column)
        .bind(&p.instructions)
        .bind(&created_at)
        .bind(&p.created_by)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
        for chunk in items.chunks(INSERT_BATCH) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO label_items (project_id, item_key, row_index, payload, created_at) ",
            );
            q.push_values(chunk, |mut row, it| {
                row.push_bind(id)
                    .push_bind(&it.key)
                    .push_bind(it.row_index)
                    .push_bind(it.payload.as_ref().map(|v| v.to_string()))
                    .push_bind(&created_at);
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.project(&p.name).await
    }

    async fn project(&self, name: &str) -> Result<Project> {
        let row = sqlx::query("SELECT * FROM label_projects WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => project_from_row(&r),
            None => {
                let names: Vec<String> = sqlx::query("SELECT name FROM label_projects ORDER BY name")
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                Err(Error::NotFound {
                    what: "label project",
                    name: name.into(),
                    hint: if names.is_empty() {
                        "; there are no label projects yet (sluice label project create NAME ...)".into()
                    } else {
                        format!("; projects: {}", names.join(", "))
                    },
                })
            }
        }
    }

    async fn projects(&self) -> Result<Vec<ProjectSummary>> {
        let rows = sqlx::query("SELECT * FROM label_projects ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let project = project_from_row(r)?;
            let c = sqlx::query(
                "SELECT \
                 (SELECT COUNT(*) FROM label_items WHERE project_id = ?1), \
                 (SELECT COUNT(DISTINCT item_id) FROM label_annotations WHERE project_id = ?1 AND source = 'human'), \
                 (SELECT COUNT(*) FROM (SELECT DISTINCT item_id, annotator_id FROM label_annotations \
                    WHERE project_id = ?1 AND source = 'human') AS t), \
                 (SELECT COUNT(DISTINCT annotator_id) FROM label_annotations WHERE project_id = ?1 AND source = 'human'), \
                 (SELECT COUNT(*) FROM label_gold WHERE project_id = ?1), \
                 (SELECT COUNT(DISTINCT item_id) FROM label_reviews WHERE project_id = ?1)",
            )
            .bind(project.id)
            .fetch_one(&self.pool)
            .await?;
            out.push(ProjectSummary {
                project,
                items: c.get(0),
                labelled_items: c.get(1),
                annotations: c.get(2),
                annotators: c.get(3),
                gold: c.get(4),
                reviewed: c.get(5),
            });
        }
        Ok(out)
    }

    async fn items(&self, project_id: i64) -> Result<Vec<Item>> {
        let rows =
            sqlx::query("SELECT id, item_key, row_index, payload FROM label_items WHERE project_id = ? ORDER BY id")
                .bind(project_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(Item {
                    id: r.get(0),
                    key: r.get(1),
                    row_index: r.get(2),
                    payload: r.get::<Option<&str>, _>(3).map(json).transpose()?,
                })
            })
            .collect()
    }

    async fn add_items(&self, project_id: i64, items: &[NewItem]) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let before = item_ids(&mut tx, project_id).await?.len();
        let at = now();
        // One row per key: a key twice in one statement would hit its own ON CONFLICT (an error
        // in SQLite and Postgres); the first payload wins, as it did row by row.
        let mut seen = std::collections::HashSet::new();
        let items: Vec<&NewItem> = items.iter().filter(|it| seen.insert(it.key.as_str())).collect();
        for chunk in items.chunks(INSERT_BATCH) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO label_items (project_id, item_key, row_index, payload, created_at) ",
            );
            q.push_values(chunk, |mut row, it| {
                row.push_bind(project_id)
                    .push_bind(&it.key)
                    .push_bind(it.row_index)
                    .push_bind(it.payload.as_ref().map(|v| v.to_string()))
                    .push_bind(&at);
            });
            q.push(
                " ON CONFLICT (project_id, item_key) DO UPDATE SET payload = COALESCE(label_items.payload, excluded.payload)",
            );
            q.build().execute(&mut *tx).await?;
        }
        let after = item_ids(&mut tx, project_id).await?.len();
        tx.commit().await?;
        Ok((after - before) as u64)
    }

    async fn ensure_annotators(&self, names: &[(String, AnnotatorKind)]) -> Result<Vec<Annotator>> {
        let mut tx = self.write_tx().await?;
        let (out, _) = ensure_annotators_tx(&mut tx, names).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn annotators(&self) -> Result<Vec<Annotator>> {
        let rows = sqlx::query("SELECT id, name, kind FROM label_annotators ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Annotator {
                    id: r.get(0),
                    name: r.get(1),
                    kind: AnnotatorKind::parse(r.get::<&str, _>(2)).map_err(Error::Internal)?,
                })
            })
            .collect()
    }

    async fn import(
        &self,
        project: &Project,
        batch: NewBatch,
        new_annotator_kind: AnnotatorKind,
        source: LabelSource,
        create_items: bool,
        rows: &[NewAnnotation],
    ) -> Result<ImportResult> {
        let mut tx = self.write_tx().await?;
        let mut items = item_ids(&mut tx, project.id).await?;
        let mut names: Vec<String> = rows.iter().map(|r| r.annotator.clone()).collect();
        names.sort();
        names.dedup();
        let (annotators, new_annotators) = ensure_annotators_tx(
            &mut tx,
            &names.into_iter().map(|n| (n, new_annotator_kind)).collect::<Vec<_>>(),
        )
        .await?;
        let annotator_ids: HashMap<&str, i64> = annotators.iter().map(|a| (a.name.as_str(), a.id)).collect();
        // Latest stored value per (item, annotator) of this source, to skip unchanged answers.
        let latest_rows = sqlx::query(
            "SELECT item_id, annotator_id, value FROM label_annotations WHERE id IN \
             (SELECT MAX(id) FROM label_annotations WHERE project_id = ? AND source = ? GROUP BY item_id, annotator_id)",
        )
        .bind(project.id)
        .bind(source.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let mut latest: HashMap<(i64, i64), String> =
            latest_rows.iter().map(|r| ((r.get(0), r.get(1)), r.get(2))).collect();
        let batch_id = insert_batch(&mut tx, project.id, &batch, rows.len()).await?;
        let created_at = now();
        // New items first, in order of first appearance, in multi-row inserts.
        let mut missing: Vec<&str> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for r in rows {
            if !items.contains_key(&r.item) && seen.insert(r.item.as_str()) {
                if !create_items {
                    return Err(Error::Usage(format!(
                        "item `{}` is not an item of project `{}` (its items are the key values of its dataset)",
                        r.item, project.name
                    )));
                }
                missing.push(&r.item);
            }
        }
        let new_items = missing.len() as u64;
        for chunk in missing.chunks(INSERT_BATCH) {
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO label_items (project_id, item_key, created_at) ");
            q.push_values(chunk, |mut row, key| {
                row.push_bind(project.id).push_bind(*key).push_bind(&created_at);
            });
            q.push(" RETURNING id, item_key");
            for r in q.build().fetch_all(&mut *tx).await? {
                items.insert(r.get(1), r.get(0));
            }
        }
        let (mut inserted, mut unchanged) = (0u64, 0u64);
        let mut pending: Vec<(i64, i64, &NewAnnotation)> = Vec::new();
        for r in rows {
            let item_id = items[&r.item];
            let annotator_id = annotator_ids[r.annotator.as_str()];
            if latest.get(&(item_id, annotator_id)) == Some(&r.value) {
                unchanged += 1;
                continue;
            }
            latest.insert((item_id, annotator_id), r.value.clone());
            pending.push((item_id, annotator_id, r));
            inserted += 1;
        }
        for chunk in pending.chunks(INSERT_BATCH) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO label_annotations (project_id, item_id, annotator_id, batch_id, value, source, \
                 confidence, seconds, created_at) ",
            );
            q.push_values(chunk, |mut row, (item_id, annotator_id, r)| {
                let at = r
                    .created_at
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
                    .unwrap_or_else(|| created_at.clone());
                row.push_bind(project.id)
                    .push_bind(*item_id)
                    .push_bind(*annotator_id)
                    .push_bind(batch_id)
                    .push_bind(&r.value)
                    .push_bind(source.as_str())
                    .push_bind(r.confidence)
                    .push_bind(r.seconds)
                    .push_bind(at);
            });
            q.build().execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE label_batches SET row_count = ? WHERE id = ?")
            .bind(inserted as i64)
            .bind(batch_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ImportResult {
            batch_id,
            inserted,
            unchanged,
            new_items,
            new_annotators,
        })
    }

    async fn annotations(&self, project_id: i64, source: Option<LabelSource>) -> Result<Vec<Annotation>> {
        let rows = sqlx::query(
            "SELECT a.id, a.item_id, i.item_key, a.annotator_id, n.name, a.value, a.source, a.confidence, \
             a.seconds, a.created_at, a.batch_id \
             FROM label_annotations a JOIN label_items i ON i.id = a.item_id \
             JOIN label_annotators n ON n.id = a.annotator_id \
             WHERE a.id IN (SELECT MAX(id) FROM label_annotations WHERE project_id = ? \
                            GROUP BY item_id, annotator_id, source) \
             AND (? IS NULL OR a.source = ?) ORDER BY a.item_id, a.annotator_id, a.source",
        )
        .bind(project_id)
        .bind(source.map(|s| s.as_str()))
        .bind(source.map(|s| s.as_str()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Annotation {
                    id: r.get(0),
                    item_id: r.get(1),
                    item: r.get(2),
                    annotator_id: r.get(3),
                    annotator: r.get(4),
                    value: r.get(5),
                    source: if r.get::<&str, _>(6) == "pseudo" {
                        LabelSource::Pseudo
                    } else {
                        LabelSource::Human
                    },
                    confidence: r.get(7),
                    seconds: r.get(8),
                    created_at: parse_time(r.get(9))?,
                    batch_id: r.get(10),
                })
            })
            .collect()
    }

    async fn set_gold(&self, project: &Project, batch: NewBatch, rows: &[(String, String)]) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let items = item_ids(&mut tx, project.id).await?;
        let batch_id = insert_batch(&mut tx, project.id, &batch, rows.len()).await?;
        let at = now();
        // The last answer per item wins, as when rows were written one by one.
        let mut answer: HashMap<i64, &str> = HashMap::new();
        let mut order: Vec<i64> = Vec::new();
        for (key, value) in rows {
            let item_id = *items.get(key).ok_or_else(|| {
                Error::Usage(format!(
                    "gold item `{key}` is not an item of project `{}`; import its annotations first or check the key",
                    project.name
                ))
            })?;
            if answer.insert(item_id, value).is_none() {
                order.push(item_id);
            }
        }
        for chunk in order.chunks(INSERT_BATCH) {
            let mut q = QueryBuilder::<Sqlite>::new("DELETE FROM label_gold WHERE item_id IN (");
            let mut ids = q.separated(", ");
            for id in chunk {
                ids.push_bind(*id);
            }
            q.push(")");
            q.build().execute(&mut *tx).await?;
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO label_gold (item_id, project_id, value, created_at, created_by) ",
            );
            q.push_values(chunk, |mut row, id| {
                row.push_bind(*id)
                    .push_bind(project.id)
                    .push_bind(answer[id])
                    .push_bind(&at)
                    .push_bind(&batch.created_by);
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(batch_id)
    }

    async fn gold(&self, project_id: i64) -> Result<Vec<Gold>> {
        let rows = sqlx::query(
            "SELECT g.item_id, i.item_key, g.value FROM label_gold g JOIN label_items i ON i.id = g.item_id \
             WHERE g.project_id = ? ORDER BY g.item_id",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Gold {
                item_id: r.get(0),
                item: r.get(1),
                value: r.get(2),
            })
            .collect())
    }

    async fn add_assignments(&self, project_id: i64, batch: NewBatch, rows: &[(i64, i64, bool)]) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let batch_id = insert_batch(&mut tx, project_id, &batch, rows.len()).await?;
        let at = now();
        for chunk in rows.chunks(INSERT_BATCH) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO label_assignments (project_id, item_id, annotator_id, batch_id, is_gold, created_at) ",
            );
            q.push_values(chunk, |mut row, &(item_id, annotator_id, gold)| {
                row.push_bind(project_id)
                    .push_bind(item_id)
                    .push_bind(annotator_id)
                    .push_bind(batch_id)
                    .push_bind(i64::from(gold))
                    .push_bind(&at);
            });
            if let Err(e) = q.build().execute(&mut *tx).await {
                return Err(match &e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => {
                        // Name the pair: the first one already stored or repeated in this batch.
                        let mut pairs = std::collections::HashSet::new();
                        let mut twice = None;
                        for &(item_id, annotator_id, _) in rows {
                            let stored = sqlx::query(
                                "SELECT 1 FROM label_assignments WHERE project_id = ? AND item_id = ? AND annotator_id = ? \
                                 AND batch_id <> ?",
                            )
                            .bind(project_id)
                            .bind(item_id)
                            .bind(annotator_id)
                            .bind(batch_id)
                            .fetch_optional(&mut *tx)
                            .await?
                            .is_some();
                            if stored || !pairs.insert((item_id, annotator_id)) {
                                twice = Some((item_id, annotator_id));
                                break;
                            }
                        }
                        let (item_id, annotator_id) = twice.unwrap_or((-1, -1));
                        Error::Internal(format!("item {item_id} was assigned twice to annotator {annotator_id}"))
                    }
                    _ => Error::Sql(e),
                });
            }
        }
        tx.commit().await?;
        Ok(batch_id)
    }

    async fn assignments(&self, project_id: i64) -> Result<Vec<Assignment>> {
        let rows = sqlx::query(
            "SELECT s.item_id, i.item_key, s.annotator_id, n.name, s.is_gold, s.batch_id \
             FROM label_assignments s JOIN label_items i ON i.id = s.item_id \
             JOIN label_annotators n ON n.id = s.annotator_id \
             WHERE s.project_id = ? ORDER BY s.item_id, s.annotator_id",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Assignment {
                item_id: r.get(0),
                item: r.get(1),
                annotator_id: r.get(2),
                annotator: r.get(3),
                is_gold: r.get::<i64, _>(4) != 0,
                batch_id: r.get(5),
            })
            .collect())
    }

    async fn add_review(
        &self,
        project_id: i64,
        item_id: i64,
        value: &str,
        reviewer: &str,
        note: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO label_reviews (project_id, item_id, value, reviewer, note, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(project_id)
        .bind(item_id)
        .bind(value)
        .bind(reviewer)
        .bind(note)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn reviews(&self, project_id: i64) -> Result<Vec<Review>> {
        let rows = sqlx::query(
            "SELECT r.item_id, i.item_key, r.value, r.reviewer, r.note, r.created_at \
             FROM label_reviews r JOIN label_items i ON i.id = r.item_id \
             WHERE r.id IN (SELECT MAX(id) FROM label_reviews WHERE project_id = ? GROUP BY item_id) \
             ORDER BY r.item_id",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Review {
                    item_id: r.get(0),
                    item: r.get(1),
                    value: r.get(2),
                    reviewer: r.get(3),
                    note: r.get(4),
                    created_at: parse_time(r.get(5))?,
                })
            })
            .collect()
    }

    async fn save_run(&self, project_id: i64, run: NewRun) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO label_runs (project_id, method, params, report, created_at, created_by) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(project_id)
        .bind(&run.method)
        .bind(run.params.to_string())
        .bind(run.report.to_string())
        .bind(now())
        .bind(&run.created_by)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
        for chunk in run.results.chunks(INSERT_BATCH) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO label_results (run_id, item_id, value, confidence, source, n_labels) ",
            );
            q.push_values(chunk, |mut row, r| {
                row.push_bind(id)
                    .push_bind(r.item_id)
                    .push_bind(&r.value)
                    .push_bind(r.confidence)
                    .push_bind(r.source.as_str())
                    .push_bind(r.n_labels);
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn run(&self, project_id: i64, run_id: Option<i64>) -> Result<Run> {
        let row = sqlx::query(
            "SELECT id, method, params, report, created_at FROM label_runs WHERE project_id = ? \
             AND (? IS NULL OR id = ?) ORDER BY id DESC LIMIT 1",
        )
        .bind(project_id)
        .bind(run_id)
        .bind(run_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "aggregation run",
            name: run_id.map(|r| r.to_string()).unwrap_or_else(|| "latest".into()),
            hint: "; run `sluice label aggregate PROJECT` first".into(),
        })?;
        let id: i64 = row.get(0);
        let results = sqlx::query(
            "SELECT r.item_id, i.item_key, r.value, r.confidence, r.source, r.n_labels FROM label_results r \
             JOIN label_items i ON i.id = r.item_id WHERE r.run_id = ? ORDER BY r.item_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Run {
            id,
            method: row.get(1),
            params: json(row.get(2))?,
            report: json(row.get(3))?,
            created_at: parse_time(row.get(4))?,
            results: results
                .iter()
                .map(|r| RunResult {
                    item_id: r.get(0),
                    item: r.get(1),
                    value: r.get(2),
                    confidence: r.get(3),
                    source: match r.get::<&str, _>(4) {
                        "adjudication" => ResultSource::Adjudication,
                        "pseudo" => ResultSource::Pseudo,
                        _ => ResultSource::Human,
                    },
                    n_labels: r.get(5),
                })
                .collect(),
        })
    }

    async fn record_merge(&self, project_id: i64, m: &MergeRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO label_merges (project_id, run_id, version_id, source_version_id, lineage, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(project_id)
        .bind(m.run_id)
        .bind(m.version_id)
        .bind(m.source_version_id)
        .bind(m.lineage.to_string())
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_metrics(&self, project_id: i64, metrics: &[Metric]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let at = now();
        for chunk in metrics.chunks(INSERT_BATCH) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO label_metrics (project_id, batch_id, run_id, name, value, created_at) ",
            );
            q.push_values(chunk, |mut row, m| {
                row.push_bind(project_id)
                    .push_bind(m.batch_id)
                    .push_bind(m.run_id)
                    .push_bind(&m.name)
                    .push_bind(m.value)
                    .push_bind(&at);
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn metrics(&self, project_id: i64) -> Result<Vec<Metric>> {
        let rows = sqlx::query(
            "SELECT batch_id, run_id, name, value, created_at FROM label_metrics WHERE project_id = ? ORDER BY id",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Metric {
                    batch_id: r.get(0),
                    run_id: r.get(1),
                    name: r.get(2),
                    value: r.get(3),
                    created_at: Some(parse_time(r.get(4))?),
                })
            })
            .collect()
    }

    async fn batches(&self, project_id: i64) -> Result<Vec<(i64, String, Option<String>, i64, DateTime<Utc>)>> {
        let rows = sqlx::query(
            "SELECT id, kind, source, row_count, created_at FROM label_batches WHERE project_id = ? ORDER BY id",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.get(0), r.get(1), r.get(2), r.get(3), parse_time(r.get(4))?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::LabelKind;

    async fn store() -> (tempfile::TempDir, SqliteLabelStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteLabelStore::open(&dir.path().join("metadata.db")).await.unwrap();
        (dir, s)
    }

    fn schema() -> LabelSchema {
        LabelSchema {
            kind: LabelKind::Single,
            classes: vec!["ham".into(), "spam".into()],
            min: None,
            max: None,
        }
    }

    fn batch(kind: BatchKind) -> NewBatch {
        NewBatch {
            kind,
            source: Some("test".into()),
            params: serde_json::json!({}),
            created_by: "tester".into(),
        }
    }

    fn ann(item: &str, annotator: &str, value: &str) -> NewAnnotation {
        NewAnnotation {
            item: item.into(),
            annotator: annotator.into(),
            value: value.into(),
            seconds: Some(3.0),
            created_at: None,
            confidence: None,
        }
    }

    async fn project(s: &SqliteLabelStore, items: &[&str]) -> Project {
        let items: Vec<NewItem> = items
            .iter()
            .enumerate()
            .map(|(i, k)| NewItem {
                key: k.to_string(),
                row_index: Some(i as i64),
                payload: None,
            })
            .collect();
        s.create_project(
            NewProject {
                name: "p".into(),
                schema: schema(),
                dataset: None,
                instructions: None,
                created_by: "tester".into(),
            },
            &items,
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn import_keeps_history_and_reads_latest() {
        let (_d, s) = store().await;
        let p = project(&s, &["a", "b"]).await;
        assert_eq!(p.schema, schema());
        let r = s
            .import(
                &p,
                batch(BatchKind::Import),
                AnnotatorKind::Crowd,
                LabelSource::Human,
                false,
                &[ann("a", "x", "spam"), ann("a", "y", "ham"), ann("b", "x", "ham")],
            )
            .await
            .unwrap();
        assert_eq!((r.inserted, r.unchanged, r.new_annotators), (3, 0, 2));
        // Re-import: one unchanged, one changed answer.
        let r = s
            .import(
                &p,
                batch(BatchKind::Import),
                AnnotatorKind::Crowd,
                LabelSource::Human,
                false,
                &[ann("a", "x", "spam"), ann("b", "x", "spam")],
            )
            .await
            .unwrap();
        assert_eq!((r.inserted, r.unchanged, r.new_annotators), (1, 1, 0));
        let a = s.annotations(p.id, Some(LabelSource::Human)).await.unwrap();
        let got: Vec<(&str, &str, &str)> = a
            .iter()
            .map(|x| (x.item.as_str(), x.annotator.as_str(), x.value.as_str()))
            .collect();
        assert_eq!(got, vec![("a", "x", "spam"), ("a", "y", "ham"), ("b", "x", "spam")]);
        // History stays: four rows in the table.
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM label_annotations")
            .fetch_one(&s.pool)
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 4);
        // Unknown items are refused without create_items.
        let err = s
            .import(
                &p,
                batch(BatchKind::Import),
                AnnotatorKind::Crowd,
                LabelSource::Human,
                false,
                &[ann("zz", "x", "ham")],
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("`zz` is not an item"), "{err}");
        let summary = &s.projects().await.unwrap()[0];
        assert_eq!(
            (
                summary.items,
                summary.labelled_items,
                summary.annotations,
                summary.annotators
            ),
            (2, 2, 3, 2)
        );
    }

    #[tokio::test]
    async fn pseudo_labels_are_a_separate_source() {
        let (_d, s) = store().await;
        let p = project(&s, &["a"]).await;
        s.import(
            &p,
            batch(BatchKind::Import),
            AnnotatorKind::Crowd,
            LabelSource::Human,
            false,
            &[ann("a", "x", "ham")],
        )
        .await
        .unwrap();
        s.import(
            &p,
            batch(BatchKind::Pseudo),
            AnnotatorKind::Model,
            LabelSource::Pseudo,
            false,
            &[ann("a", "m", "spam")],
        )
        .await
        .unwrap();
        assert_eq!(s.annotations(p.id, Some(LabelSource::Human)).await.unwrap().len(), 1);
        assert_eq!(
            s.annotations(p.id, Some(LabelSource::Pseudo)).await.unwrap()[0].value,
            "spam"
        );
        assert_eq!(s.annotations(p.id, None).await.unwrap().len(), 2);
        let kinds: Vec<AnnotatorKind> = s.annotators().await.unwrap().iter().map(|a| a.kind).collect();
        assert_eq!(kinds, vec![AnnotatorKind::Crowd, AnnotatorKind::Model]);
    }

    #[tokio::test]
    async fn assignments_are_unique_per_item_and_annotator() {
        let (_d, s) = store().await;
        let p = project(&s, &["a", "b"]).await;
        let items = s.items(p.id).await.unwrap();
        let ann = s
            .ensure_annotators(&[("x".into(), AnnotatorKind::Expert)])
            .await
            .unwrap();
        s.add_assignments(p.id, batch(BatchKind::Assign), &[(items[0].id, ann[0].id, false)])
            .await
            .unwrap();
        let err = s
            .add_assignments(
                p.id,
                batch(BatchKind::Assign),
                &[(items[1].id, ann[0].id, true), (items[0].id, ann[0].id, false)],
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("assigned twice"), "{err}");
        // The failed round wrote nothing.
        assert_eq!(s.assignments(p.id).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn bulk_writes_span_several_insert_statements() {
        let (_d, s) = store().await;
        let n = 2 * INSERT_BATCH + 345;
        let keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
        let p = project(&s, &[]).await;
        // New items made by the import itself, two annotators each, in three INSERTs per table.
        let rows: Vec<NewAnnotation> = keys
            .iter()
            .enumerate()
            .flat_map(|(i, k)| {
                let v = if i % 3 == 0 { "spam" } else { "ham" };
                [ann(k, "x", v), ann(k, "y", "ham")]
            })
            .collect();
        let r = s
            .import(
                &p,
                batch(BatchKind::Import),
                AnnotatorKind::Crowd,
                LabelSource::Human,
                true,
                &rows,
            )
            .await
            .unwrap();
        assert_eq!(
            (r.inserted, r.unchanged, r.new_items, r.new_annotators),
            (2 * n as u64, 0, n as u64, 2)
        );
        let items = s.items(p.id).await.unwrap();
        let got: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            got,
            keys.iter().map(String::as_str).collect::<Vec<_>>(),
            "items keep first-seen order"
        );
        let stored = s.annotations(p.id, Some(LabelSource::Human)).await.unwrap();
        assert_eq!(stored.len(), 2 * n);
        let k3 = stored.iter().find(|a| a.item == "k3" && a.annotator == "x").unwrap();
        assert_eq!((k3.value.as_str(), k3.seconds), ("spam", Some(3.0)));
        // An unknown item without --create-items names the first one and writes nothing.
        let err = s
            .import(
                &p,
                batch(BatchKind::Import),
                AnnotatorKind::Crowd,
                LabelSource::Human,
                false,
                &[ann("k1", "x", "spam"), ann("new1", "x", "ham"), ann("new2", "x", "ham")],
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("`new1`"), "{err}");
        assert_eq!(s.annotations(p.id, None).await.unwrap().len(), 2 * n);
        // add_items: repeated keys in one call, and keys already there.
        let more: Vec<NewItem> = ["k0", "z1", "z1", "z2"]
            .iter()
            .map(|k| NewItem {
                key: k.to_string(),
                row_index: None,
                payload: Some(serde_json::json!({"k": k})),
            })
            .collect();
        assert_eq!(s.add_items(p.id, &more).await.unwrap(), 2);
        // Gold over many items; a key given twice keeps its last answer.
        let mut gold: Vec<(String, String)> = keys.iter().map(|k| (k.clone(), "ham".to_string())).collect();
        gold.push(("k7".into(), "spam".into()));
        s.set_gold(&p, batch(BatchKind::Gold), &gold).await.unwrap();
        let g = s.gold(p.id).await.unwrap();
        assert_eq!(g.len(), n);
        assert_eq!(g.iter().find(|g| g.item == "k7").unwrap().value, "spam");
        // Assignments across statements; a pair repeated in a later statement is named.
        let annotators = s.annotators().await.unwrap();
        let x = annotators.iter().find(|a| a.name == "x").unwrap().id;
        let mut pairs: Vec<(i64, i64, bool)> = items.iter().map(|i| (i.id, x, false)).collect();
        s.add_assignments(p.id, batch(BatchKind::Assign), &pairs).await.unwrap();
        assert_eq!(s.assignments(p.id).await.unwrap().len(), n);
        pairs.truncate(1);
        let err = s
            .add_assignments(p.id, batch(BatchKind::Assign), &pairs)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("item {} was assigned twice", items[0].id)),
            "{err}"
        );
    }

    #[tokio::test]
    async fn reviews_runs_gold_metrics() {
        let (_d, s) = store().await;
        let p = project(&s, &["a", "b"]).await;
        let items = s.items(p.id).await.unwrap();
        s.set_gold(&p, batch(BatchKind::Gold), &[("a".into(), "ham".into())])
            .await
            .unwrap();
        s.set_gold(&p, batch(BatchKind::Gold), &[("a".into(), "spam".into())])
            .await
            .unwrap();
        let g = s.gold(p.id).await.unwrap();
        assert_eq!((g.len(), g[0].value.as_str()), (1, "spam"));
        s.add_review(p.id, items[1].id, "ham", "lead", Some("typo"))
            .await
            .unwrap();
        s.add_review(p.id, items[1].id, "spam", "lead", None).await.unwrap();
        let r = s.reviews(p.id).await.unwrap();
        assert_eq!((r.len(), r[0].value.as_str(), r[0].item.as_str()), (1, "spam", "b"));
        let run_id = s
            .save_run(
                p.id,
                NewRun {
                    method: "majority".into(),
                    params: serde_json::json!({"tie": "first"}),
                    report: serde_json::json!({"ties": 0}),
                    results: vec![RunResult {
                        item_id: items[0].id,
                        item: String::new(),
                        value: "ham".into(),
                        confidence: 0.75,
                        source: ResultSource::Human,
                        n_labels: 4,
                    }],
                    created_by: "t".into(),
                },
            )
            .await
            .unwrap();
        let run = s.run(p.id, None).await.unwrap();
        assert_eq!(run.id, run_id);
        assert_eq!(run.results[0].item, "a");
        assert_eq!(run.params["tie"], "first");
        assert!(s.run(p.id, Some(run_id + 1)).await.is_err());
        s.record_metrics(
            p.id,
            &[Metric {
                batch_id: None,
                run_id: Some(run_id),
                name: "x".into(),
                value: 0.5,
                created_at: None,
            }],
        )
        .await
        .unwrap();
        assert_eq!(s.metrics(p.id).await.unwrap()[0].value, 0.5);
        assert!(s.project("nope").await.unwrap_err().to_string().contains("projects: p"));
    }
}
