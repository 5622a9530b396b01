//! The embedded metadata store: SQLite through sqlx, in WAL mode.
//!
//! Writers open their transaction with `BEGIN IMMEDIATE`, which takes SQLite's write lock up
//! front: two `sluice add` runs then serialise on the database (waiting up to the busy timeout)
//! instead of both reading the same latest version number and one failing at commit.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row, SqlSafeStr, Sqlite, Transaction};

use crate::error::{Error, Result};

/// Rows per multi-row INSERT: one round trip to SQLite's worker thread per batch instead of per
/// row, and well under SQLite's limit of 32,766 bound parameters (5 per row at most here).
const INSERT_BATCH: usize = 1000;
use crate::meta::*;
use crate::objects::ObjectId;

/// The SQLite schema migrations, embedded in the binary.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/sqlite/0001_init.sql")),
    (2, "labels", include_str!("../migrations/sqlite/0002_labels.sql")),
    (3, "metrics", include_str!("../migrations/sqlite/0003_metrics.sql")),
    (4, "profiles", include_str!("../migrations/sqlite/0004_profiles.sql")),
];

/// How long a writer waits for another writer's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// The SQLite [`MetaStore`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await?;
        let migrations = MIGRATIONS
            .iter()
            .map(|(v, d, sql)| Migration::new(*v, (*d).into(), MigrationType::Simple, (*sql).into_sql_str(), false))
            .collect();
        Migrator::with_migrations(migrations).run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    /// The connection pool, for crates that keep their own tables in this database (sluice-label).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn tags_of(&self, version_id: i64) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT name FROM tags WHERE version_id = ? ORDER BY created_at, name")
            .bind(version_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
    }

    async fn model_record(&self, row: &SqliteRow) -> Result<ModelVersionRecord> {
        let id: i64 = row.get("id");
        let inputs = sqlx::query("SELECT version_id, role FROM model_inputs WHERE model_version_id = ? ORDER BY role <> 'train', role, version_id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        let mut ins = Vec::with_capacity(inputs.len());
        for r in inputs {
            ins.push(ModelInput {
                version: self.version_by_id(r.get(0)).await?,
                role: r.get(1),
            });
        }
        Ok(ModelVersionRecord {
            id,
            model: row.get("model"),
            number: row.get("number"),
            run_id: row.get("run_id"),
            params: json_object(row.get("params"))?,
            metrics: json_object(row.get("metrics"))?,
            code_rev: row.get("code_rev"),
            artifact: opt_object(row.get("artifact"))?,
            artifact_name: row.get("artifact_name"),
            created_at: parse_time(row.get("created_at"))?,
            created_by: row.get("created_by"),
            inputs: ins,
        })
    }

    async fn models_where(&self, clause: &str, bind: BindValue<'_>) -> Result<Vec<ModelVersionRecord>> {
        let sql = format!(
            "SELECT mv.*, m.name AS model FROM model_versions mv JOIN models m ON m.id = mv.model_id \
             WHERE {clause} ORDER BY m.name, mv.number"
        );
        let q = sqlx::query(AssertSqlSafe(sql));
        let q = match bind {
            BindValue::Int(i) => q.bind(i),
            BindValue::Text(t) => q.bind(t),
        };
        let rows = q.fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.model_record(r).await?);
        }
        Ok(out)
    }
}

enum BindValue<'a> {
    Int(i64),
    Text(&'a str),
}

const VERSION_SELECT: &str = "SELECT v.id, d.name AS dataset, v.number, p.number AS parent, v.parent_id, v.message, \
     v.created_at, v.provenance, v.manifest, v.file_count, v.total_bytes, v.row_count \
     FROM versions v JOIN datasets d ON d.id = v.dataset_id LEFT JOIN versions p ON p.id = v.parent_id";

fn version_from_row(row: &SqliteRow, tags: Vec<String>) -> Result<VersionRecord> {
    Ok(VersionRecord {
        id: row.get("id"),
        dataset: row.get("dataset"),
        number: row.get("number"),
        parent: row.get("parent"),
        parent_id: row.get("parent_id"),
        message: row.get("message"),
        created_at: parse_time(row.get("created_at"))?,
        provenance: serde_json::from_str(row.get::<&str, _>("provenance"))
            .map_err(|e| Error::Internal(format!("bad provenance JSON in metadata: {e}")))?,
        manifest: ObjectId::from_str(row.get::<&str, _>("manifest"))?,
        file_count: row.get::<i64, _>("file_count") as u64,
        total_bytes: row.get::<i64, _>("total_bytes") as u64,
        row_count: row.get::<Option<i64>, _>("row_count").map(|n| n as u64),
        tags,
    })
}

fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::Internal(format!("bad timestamp `{s}` in metadata: {e}")))
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn json_object(s: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
    serde_json::from_str(s).map_err(|e| Error::Internal(format!("bad JSON in metadata: {e}")))
}

fn opt_object(s: Option<String>) -> Result<Option<ObjectId>> {
    s.map(|s| ObjectId::from_str(&s)).transpose()
}

async fn tag_conflict(
    tx: &mut Transaction<'static, Sqlite>,
    dataset_id: i64,
    tag: &str,
    version_id: i64,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT v.number FROM tags t JOIN versions v ON v.id = t.version_id \
         WHERE t.dataset_id = ? AND t.name = ? AND t.version_id <> ?",
    )
    .bind(dataset_id)
    .bind(tag)
    .bind(version_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| r.get(0)))
}

#[async_trait]
impl MetaStore for SqliteStore {
    async fn commit_version(&self, v: NewVersion) -> Result<Commit> {
        let mut tx = self.write_tx().await?;
        let at = now();
        sqlx::query("INSERT INTO datasets (name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING")
            .bind(&v.dataset)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        let dataset_id: i64 = sqlx::query("SELECT id FROM datasets WHERE name = ?")
            .bind(&v.dataset)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
        let latest =
            sqlx::query("SELECT id, number, manifest FROM versions WHERE dataset_id = ? ORDER BY number DESC LIMIT 1")
                .bind(dataset_id)
                .fetch_optional(&mut *tx)
                .await?;
        let (parent_id, number, unchanged) = match &latest {
            Some(r) => (
                Some(r.get::<i64, _>(0)),
                r.get::<i64, _>(1) + 1,
                r.get::<&str, _>(2) == v.manifest.as_str() && v.derived_from.is_empty(),
            ),
            None => (None, 1, false),
        };
        let version_id = if unchanged {
            parent_id.expect("unchanged implies a latest version")
        } else {
            let rows: Option<u64> = if v.tables.is_empty() {
                None
            } else {
                Some(v.tables.iter().map(|t| t.rows).sum())
            };
            let provenance = serde_json::to_string(&v.provenance).map_err(|e| Error::Internal(e.to_string()))?;
            let id: i64 = sqlx::query(
                "INSERT INTO versions (dataset_id, number, parent_id, message, created_at, provenance, manifest, \
                 file_count, total_bytes, row_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(dataset_id)
            .bind(number)
            .bind(parent_id)
            .bind(&v.message)
            .bind(&at)
            .bind(provenance)
            .bind(v.manifest.as_str())
            .bind(v.files.len() as i64)
            .bind(v.files.iter().map(|f| f.size).sum::<u64>() as i64)
            .bind(rows.map(|r| r as i64))
            .fetch_one(&mut *tx)
            .await?
            .get(0);
            for chunk in v.files.chunks(INSERT_BATCH) {
                let mut q =
                    sqlx::QueryBuilder::<Sqlite>::new("INSERT INTO version_files (version_id, path, object, size) ");
                q.push_values(chunk, |mut row, f| {
                    row.push_bind(id)
                        .push_bind(&f.path)
                        .push_bind(f.object.as_str())
                        .push_bind(f.size as i64);
                });
                q.build().execute(&mut *tx).await?;
            }
            for t in &v.tables {
                sqlx::query(
                    "INSERT INTO version_tables (version_id, path, format, schema, row_count, canonical, quarantine, bad_rows, profile) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(id)
                .bind(&t.path)
                .bind(&t.format)
                .bind(t.schema.to_string())
                .bind(t.rows as i64)
                .bind(t.canonical.as_str())
                .bind(t.quarantine.as_ref().map(|q| q.as_str().to_string()))
                .bind(t.bad_rows as i64)
                .bind(t.profile.as_ref().map(|p| p.as_str().to_string()))
                .execute(&mut *tx)
                .await?;
            }
            for input in &v.derived_from {
                sqlx::query(
                    "INSERT INTO version_inputs (version_id, input_version_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(input)
                .execute(&mut *tx)
                .await?;
            }
            id
        };
        for tag in &v.tags {
            if let Some(other) = tag_conflict(&mut tx, dataset_id, tag, version_id).await? {
                return Err(Error::Conflict(format!(
                    "tag `{tag}` already names {}@v{other}; nothing was committed. Choose another tag, or move it \
                     afterwards with `sluice tag --force`",
                    v.dataset
                )));
            }
            sqlx::query("INSERT INTO tags (dataset_id, name, version_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")
                .bind(dataset_id)
                .bind(tag)
                .bind(version_id)
                .bind(&at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        let record = self.version_by_id(version_id).await?;
        Ok(if unchanged {
            Commit::Unchanged(record)
        } else {
            Commit::Created(record)
        })
    }

    async fn datasets(&self) -> Result<Vec<DatasetSummary>> {
        let rows = sqlx::query(
            "SELECT d.name, COUNT(v.id), MAX(v.id) FROM datasets d LEFT JOIN versions v ON v.dataset_id = d.id \
             GROUP BY d.id ORDER BY d.name",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let latest = match r.get::<Option<i64>, _>(2) {
                Some(id) => Some(self.version_by_id(id).await?),
                None => None,
            };
            out.push(DatasetSummary {
                name: r.get(0),
                versions: r.get(1),
                latest,
            });
        }
        Ok(out)
    }

    async fn versions(&self, dataset: &str) -> Result<Vec<VersionRecord>> {
        let sql = format!("{VERSION_SELECT} WHERE d.name = ? ORDER BY v.number");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(dataset)
            .fetch_all(&self.pool)
            .await?;
        let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
        let tag_rows = sqlx::query(
            "SELECT t.version_id, t.name FROM tags t JOIN datasets d ON d.id = t.dataset_id WHERE d.name = ? \
             ORDER BY t.created_at, t.name",
        )
        .bind(dataset)
        .fetch_all(&self.pool)
        .await?;
        for r in tag_rows {
            tags.entry(r.get(0)).or_default().push(r.get(1));
        }
        rows.iter()
            .map(|r| version_from_row(r, tags.remove(&r.get::<i64, _>("id")).unwrap_or_default()))
            .collect()
    }

    async fn version_by_id(&self, id: i64) -> Result<VersionRecord> {
        let sql = format!("{VERSION_SELECT} WHERE v.id = ?");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "version id",
                name: id.to_string(),
                hint: String::new(),
            })?;
        version_from_row(&row, self.tags_of(id).await?)
    }

    async fn files(&self, version_id: i64) -> Result<Vec<FileEntry>> {
        let rows = sqlx::query("SELECT path, object, size FROM version_files WHERE version_id = ? ORDER BY path")
            .bind(version_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(FileEntry {
                    path: r.get(0),
                    object: ObjectId::from_str(r.get::<&str, _>(1))?,
                    size: r.get::<i64, _>(2) as u64,
                })
            })
            .collect()
    }

    async fn tables(&self, version_id: i64) -> Result<Vec<TableEntry>> {
        let rows = sqlx::query(
            "SELECT path, format, schema, row_count, canonical, quarantine, bad_rows, profile FROM version_tables \
             WHERE version_id = ? ORDER BY path",
        )
        .bind(version_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TableEntry {
                    path: r.get(0),
                    format: r.get(1),
                    schema: serde_json::from_str(r.get::<&str, _>(2))
                        .map_err(|e| Error::Internal(format!("bad schema JSON in metadata: {e}")))?,
                    rows: r.get::<i64, _>(3) as u64,
                    canonical: ObjectId::from_str(r.get::<&str, _>(4))?,
                    quarantine: opt_object(r.get(5))?,
                    bad_rows: r.get::<i64, _>(6) as u64,
                    profile: opt_object(r.get(7))?,
                })
            })
            .collect()
    }

    async fn set_tag(&self, version_id: i64, tag: &str, force: bool) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "SELECT v.dataset_id, d.name FROM versions v JOIN datasets d ON d.id = v.dataset_id WHERE v.id = ?",
        )
        .bind(version_id)
        .fetch_one(&mut *tx)
        .await?;
        let (dataset_id, dataset): (i64, String) = (row.get(0), row.get(1));
        if let Some(other) = tag_conflict(&mut tx, dataset_id, tag, version_id).await?
            && !force
        {
            return Err(Error::Conflict(format!(
                "tag `{tag}` already names {dataset}@v{other}; pass --force to move it"
            )));
        }
        sqlx::query(
            "INSERT INTO tags (dataset_id, name, version_id, created_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT(dataset_id, name) DO UPDATE SET version_id = excluded.version_id, created_at = excluded.created_at",
        )
        .bind(dataset_id)
        .bind(tag)
        .bind(version_id)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn derived_from(&self, version_id: i64) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT input_version_id FROM version_inputs WHERE version_id = ? ORDER BY 1")
            .bind(version_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn derived_versions(&self, version_id: i64) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT version_id FROM version_inputs WHERE input_version_id = ? \
             UNION SELECT id FROM versions WHERE parent_id = ? ORDER BY 1",
        )
        .bind(version_id)
        .bind(version_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn register_model(&self, m: NewModelVersion) -> Result<ModelVersionRecord> {
        let mut tx = self.write_tx().await?;
        let at = now();
        sqlx::query("INSERT INTO models (name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING")
            .bind(&m.model)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        let model_id: i64 = sqlx::query("SELECT id FROM models WHERE name = ?")
            .bind(&m.model)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
        let number: i64 = sqlx::query("SELECT COALESCE(MAX(number), 0) + 1 FROM model_versions WHERE model_id = ?")
            .bind(model_id)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
        let id: i64 = sqlx::query(
            "INSERT INTO model_versions (model_id, number, run_id, params, metrics, code_rev, artifact, artifact_name, \
             created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(model_id)
        .bind(number)
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(serde_json::Value::Object(m.params).to_string())
        .bind(serde_json::Value::Object(m.metrics).to_string())
        .bind(&m.code_rev)
        .bind(m.artifact.as_ref().map(|a| a.as_str().to_string()))
        .bind(&m.artifact_name)
        .bind(&at)
        .bind(&m.created_by)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
        for (version_id, role) in &m.inputs {
            sqlx::query("INSERT INTO model_inputs (model_version_id, version_id, role) VALUES (?, ?, ?)")
                .bind(id)
                .bind(version_id)
                .bind(role)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        let mut found = self.models_where("mv.id = ?", BindValue::Int(id)).await?;
        found
            .pop()
            .ok_or_else(|| Error::Internal("registered model version vanished".into()))
    }

    async fn models(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT m.name, COUNT(mv.id) FROM models m LEFT JOIN model_versions mv ON mv.model_id = m.id \
             GROUP BY m.id ORDER BY m.name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn model_versions(&self, model: &str) -> Result<Vec<ModelVersionRecord>> {
        self.models_where("m.name = ?", BindValue::Text(model)).await
    }

    async fn models_using(&self, version_id: i64) -> Result<Vec<ModelVersionRecord>> {
        self.models_where(
            "mv.id IN (SELECT model_version_id FROM model_inputs WHERE version_id = ?)",
            BindValue::Int(version_id),
        )
        .await
    }

    async fn referenced_objects(&self) -> Result<BTreeSet<ObjectId>> {
        let rows = sqlx::query(
            "SELECT object FROM version_files UNION SELECT canonical FROM version_tables \
             UNION SELECT quarantine FROM version_tables WHERE quarantine IS NOT NULL \
             UNION SELECT profile FROM version_tables WHERE profile IS NOT NULL \
             UNION SELECT artifact FROM model_versions WHERE artifact IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| ObjectId::from_str(r.get::<&str, _>(0))).collect()
    }

    async fn stat_cache(&self, prefix: &str) -> Result<HashMap<String, StatEntry>> {
        // A range scan on the primary key: every path that starts with `prefix`.
        let mut upper = prefix.to_string();
        upper.push(char::MAX);
        let rows =
            sqlx::query("SELECT path, size, mtime_ns, inode, object FROM stat_cache WHERE path >= ? AND path < ?")
                .bind(prefix)
                .bind(upper)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let e = StatEntry {
                    path: r.get(0),
                    size: r.get::<i64, _>(1) as u64,
                    mtime_ns: r.get(2),
                    inode: r.get::<i64, _>(3) as u64,
                    object: ObjectId::from_str(r.get::<&str, _>(4))?,
                };
                Ok((e.path.clone(), e))
            })
            .collect()
    }

    async fn put_stat_cache(&self, entries: &[StatEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        for chunk in entries.chunks(INSERT_BATCH) {
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(
                "INSERT OR REPLACE INTO stat_cache (path, size, mtime_ns, inode, object) ",
            );
            q.push_values(chunk, |mut row, e| {
                row.push_bind(&e.path)
                    .push_bind(e.size as i64)
                    .push_bind(e.mtime_ns)
                    .push_bind(e.inode as i64)
                    .push_bind(e.object.as_str());
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance {
        Provenance {
            source_uri: Some("s3://raw/batch1".into()),
            collected_at: Utc::now(),
            collected_by: "tester".into(),
            tool: "sluice test".into(),
            command: None,
            inputs: vec![],
        }
    }

    fn new_version(dataset: &str, content: &[u8], tags: &[&str]) -> NewVersion {
        let files = vec![FileEntry {
            path: "a.bin".into(),
            object: ObjectId::of_bytes(content),
            size: content.len() as u64,
        }];
        NewVersion {
            dataset: dataset.into(),
            message: Some("m".into()),
            provenance: provenance(),
            manifest: manifest_id(&files, &[]),
            files,
            tables: vec![],
            tags: tags.iter().map(|s| s.to_string()).collect(),
            derived_from: vec![],
        }
    }

    #[tokio::test]
    async fn versions_number_parent_tags_and_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteStore::open(&dir.path().join("m.db")).await.unwrap();
        let v1 = db.commit_version(new_version("d", b"1", &["first"])).await.unwrap();
        assert!(matches!(&v1, Commit::Created(v) if v.number == 1 && v.parent.is_none()));
        let v2 = db.commit_version(new_version("d", b"2", &[])).await.unwrap();
        assert_eq!(v2.version().number, 2);
        assert_eq!(v2.version().parent, Some(1));
        let same = db.commit_version(new_version("d", b"2", &["again"])).await.unwrap();
        assert!(matches!(&same, Commit::Unchanged(v) if v.number == 2 && v.tags == ["again"]));
        let conflict = db.commit_version(new_version("d", b"3", &["first"])).await.unwrap_err();
        assert!(conflict.to_string().contains("already names d@v1"), "{conflict}");
        assert_eq!(
            db.versions("d").await.unwrap().len(),
            2,
            "a rejected commit writes nothing"
        );
        let r = resolve(&db, "d", &"first".parse().unwrap()).await.unwrap();
        assert_eq!(r.number, 1);
        assert_eq!(resolve(&db, "d", &"latest~1".parse().unwrap()).await.unwrap().number, 1);
        let missing = resolve(&db, "d", &"v9".parse().unwrap()).await.unwrap_err().to_string();
        assert!(missing.contains("v1..v2") && missing.contains("first"), "{missing}");
        db.set_tag(v2.version().id, "first", false).await.unwrap_err();
        db.set_tag(v2.version().id, "first", true).await.unwrap();
        assert_eq!(resolve(&db, "d", &"first".parse().unwrap()).await.unwrap().number, 2);
    }

    #[tokio::test]
    async fn concurrent_commits_get_distinct_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let a = SqliteStore::open(&path).await.unwrap();
        let b = SqliteStore::open(&path).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..8u8 {
            let db = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(async move {
                db.commit_version(new_version("d", &[i], &[])).await.unwrap()
            }));
        }
        let mut numbers: Vec<i64> = Vec::new();
        for t in tasks {
            numbers.push(t.await.unwrap().version().number);
        }
        numbers.sort();
        assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn models_and_gc_roots() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteStore::open(&dir.path().join("m.db")).await.unwrap();
        let v = db.commit_version(new_version("d", b"1", &[])).await.unwrap();
        let artifact = ObjectId::of_bytes(b"weights");
        let m = db
            .register_model(NewModelVersion {
                model: "fraud".into(),
                params: parse_kv(&["lr=0.1".into()]).unwrap(),
                metrics: parse_kv(&["auc=0.91".into()]).unwrap(),
                code_rev: Some("abc123".into()),
                artifact: Some(artifact.clone()),
                artifact_name: Some("model.bin".into()),
                created_by: "t".into(),
                inputs: vec![(v.version().id, "train".into())],
            })
            .await
            .unwrap();
        assert_eq!(m.label(), "fraud@v1");
        assert_eq!(m.inputs[0].version.label(), "d@v1");
        assert_eq!(db.models_using(v.version().id).await.unwrap().len(), 1);
        let roots = db.referenced_objects().await.unwrap();
        assert!(roots.contains(&artifact) && roots.contains(&ObjectId::of_bytes(b"1")));
    }
}
