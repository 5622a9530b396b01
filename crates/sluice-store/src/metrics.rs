//! Metric history for monitoring: numbers recorded per batch of a series, read back in order.
//!
//! A *series* is one thing watched over time (a model's traffic, a dataset column); a *batch* is
//! one evaluation of it (a day of logs, a new dataset version) with a label; each batch holds any
//! number of named metrics. Feedback-loop metrics (`sluice loop-metrics --series`) and drift
//! statistics write here, and trend tests read a series back in batch order.
//!
//! | operation            | rule                                                                      |
//! |----------------------|---------------------------------------------------------------------------|
//! | record a new label   | gets `batch_seq = max + 1` in its series; all its points in one transaction |
//! | record a known label | replaces that batch's points and keeps its `batch_seq` (re-runs are idempotent) |
//! | two writers at once  | serialised by SQLite's write lock (`BEGIN IMMEDIATE`): distinct numbers   |
//!
//! Table `metric_points` (migration `0003_metrics.sql`). [`MetricStore`] is the extension point; a
//! Postgres backend implements it beside its `MetaStore`.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// One recorded value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    /// The series.
    pub series: String,
    /// The batch label.
    pub batch: String,
    /// The batch's number within the series, from 1.
    pub batch_seq: i64,
    /// Metric name.
    pub metric: String,
    /// Value.
    pub value: f64,
    /// When it was recorded (RFC 3339).
    pub recorded_at: String,
    /// Optional JSON attributes of the batch.
    pub attributes: Option<serde_json::Value>,
}

/// A series and its extent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesSummary {
    /// The series.
    pub series: String,
    /// Batches recorded.
    pub batches: i64,
    /// Distinct metrics.
    pub metrics: i64,
    /// Latest recording time.
    pub last_recorded_at: String,
}

/// Where metric history lives.
#[async_trait]
pub trait MetricStore: Send + Sync + std::fmt::Debug {
    /// Records one batch of `series` (see the module docs for numbering); returns its `batch_seq`.
    async fn record_batch(
        &self,
        series: &str,
        batch: &str,
        points: &[(String, f64)],
        attributes: Option<&serde_json::Value>,
    ) -> Result<i64>;

    /// Every point of `series`, ordered by batch then metric name.
    async fn history(&self, series: &str) -> Result<Vec<MetricPoint>>;

    /// Every series.
    async fn series(&self) -> Result<Vec<SeriesSummary>>;

    /// Removes every point of `series` (a monitor starting over); returns how many.
    async fn delete_series(&self, series: &str) -> Result<u64>;
}

/// The SQLite [`MetricStore`], on the workspace's metadata database.
#[derive(Debug, Clone)]
pub struct SqliteMetrics {
    pool: SqlitePool,
}

impl SqliteMetrics {
    /// Opens the metadata database at `path`, whose migrations have been applied (by opening the
    /// workspace's [`crate::MetaStore`]).
    pub async fn open(path: &Path) -> Result<Self> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(60));
        let pool = SqlitePoolOptions::new().max_connections(2).connect_with(opts).await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl MetricStore for SqliteMetrics {
    async fn record_batch(
        &self,
        series: &str,
        batch: &str,
        points: &[(String, f64)],
        attributes: Option<&serde_json::Value>,
    ) -> Result<i64> {
        if series.is_empty() || batch.is_empty() {
            return Err(Error::Conflict(
                "a metric series and a batch label must not be empty".into(),
            ));
        }
        if let Some((m, v)) = points.iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::Conflict(format!(
                "metric `{m}` of batch `{batch}` is {v}; only finite values are recorded"
            )));
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let existing: Option<i64> =
            sqlx::query("SELECT batch_seq FROM metric_points WHERE series = ? AND batch = ? LIMIT 1")
                .bind(series)
                .bind(batch)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.get(0));
        let seq = match existing {
            Some(s) => {
                sqlx::query("DELETE FROM metric_points WHERE series = ? AND batch_seq = ?")
                    .bind(series)
                    .bind(s)
                    .execute(&mut *tx)
                    .await?;
                s
            }
            None => {
                let max: Option<i64> = sqlx::query("SELECT MAX(batch_seq) FROM metric_points WHERE series = ?")
                    .bind(series)
                    .fetch_one(&mut *tx)
                    .await?
                    .get(0);
                max.unwrap_or(0) + 1
            }
        };
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let attrs = attributes.map(|a| a.to_string());
        for (metric, value) in points {
            sqlx::query(
                "INSERT INTO metric_points (series, batch, batch_seq, metric, value, recorded_at, attributes) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(series)
            .bind(batch)
            .bind(seq)
            .bind(metric.as_str())
            .bind(*value)
            .bind(&at)
            .bind(&attrs)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(seq)
    }

    async fn history(&self, series: &str) -> Result<Vec<MetricPoint>> {
        let rows = sqlx::query(
            "SELECT series, batch, batch_seq, metric, value, recorded_at, attributes FROM metric_points \
             WHERE series = ? ORDER BY batch_seq, metric",
        )
        .bind(series)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let attributes: Option<String> = r.get(6);
                Ok(MetricPoint {
                    series: r.get(0),
                    batch: r.get(1),
                    batch_seq: r.get(2),
                    metric: r.get(3),
                    value: r.get(4),
                    recorded_at: r.get(5),
                    attributes: attributes
                        .map(|a| serde_json::from_str(&a))
                        .transpose()
                        .map_err(|e| Error::Internal(format!("metric attributes are not JSON: {e}")))?,
                })
            })
            .collect()
    }

    async fn series(&self) -> Result<Vec<SeriesSummary>> {
        let rows = sqlx::query(
            "SELECT series, COUNT(DISTINCT batch_seq), COUNT(DISTINCT metric), MAX(recorded_at) FROM metric_points \
             GROUP BY series ORDER BY series",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| SeriesSummary {
                series: r.get(0),
                batches: r.get(1),
                metrics: r.get(2),
                last_recorded_at: r.get(3),
            })
            .collect())
    }

    async fn delete_series(&self, series: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM metric_points WHERE series = ?")
            .bind(series)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

impl Workspace {
    /// The workspace's metric history (in its metadata database).
    pub async fn metrics(&self) -> Result<Box<dyn MetricStore>> {
        let url = &self.config.metadata.url;
        match url.strip_prefix("sqlite://") {
            Some(path) => {
                let p = Path::new(path);
                let p = if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    self.dir.join(p)
                };
                Ok(Box::new(SqliteMetrics::open(&p).await?))
            }
            None => Err(Error::UnsupportedUrl {
                what: "metadata",
                url: url.clone(),
                hint: "metric history is stored in SQLite only for now; use sqlite://PATH".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[tokio::test]
    async fn record_and_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::init(dir.path(), Config::default()).await.unwrap();
        let m = ws.metrics().await.unwrap();
        let pts = |g: f64| vec![("gini".to_owned(), g), ("coverage".to_owned(), 1.0 - g)];
        assert_eq!(m.record_batch("recs", "day1", &pts(0.3), None).await.unwrap(), 1);
        let attrs = serde_json::json!({"rows": 10});
        assert_eq!(
            m.record_batch("recs", "day2", &pts(0.4), Some(&attrs)).await.unwrap(),
            2
        );
        assert_eq!(m.record_batch("other", "x", &pts(0.1), None).await.unwrap(), 1);
        // Re-recording a label replaces it in place.
        assert_eq!(m.record_batch("recs", "day1", &pts(0.35), None).await.unwrap(), 1);
        let h = m.history("recs").await.unwrap();
        let got: Vec<(i64, &str, f64)> = h.iter().map(|p| (p.batch_seq, p.metric.as_str(), p.value)).collect();
        assert_eq!(
            got,
            [
                (1, "coverage", 0.65),
                (1, "gini", 0.35),
                (2, "coverage", 0.6),
                (2, "gini", 0.4)
            ]
        );
        assert_eq!(h[2].attributes, Some(attrs));
        let s = m.series().await.unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[1].series.as_str(), s[1].batches, s[1].metrics), ("recs", 2, 2));
        assert!(
            m.record_batch("recs", "bad", &[("g".into(), f64::NAN)], None)
                .await
                .is_err()
        );
    }
}
