//! Labeling for Sluice: the annotation store and the workflows that make each human label count.
//!
//! ```text
//! dataset version ──key column──> items ──assign──> annotators ──import (CSV/JSONL/Label Studio)──┐
//!                                   ^                                                             v
//!                                   │        gold answers, adjudications (own layers)      annotations (human)
//!                                   │                         │                                   │
//!        select (active learning) <─┤                         v                                   v
//!        pseudo (model, own source)─┘            aggregate (majority / weighted / Dawid-Skene) <──┤
//!                                                             │                   agreement, review queue
//!                                                             v
//!                                   merge: new dataset version with label columns + lineage + metrics
//! ```
//!
//! The statistics are `sluice_algo::label`'s; this crate indexes stored rows for them
//! ([`index`]), keeps the records ([`store`], [`sqlite`]), reads and writes files ([`io`],
//! [`dataset`]), and composes the workflows ([`agreement`], [`aggregate`], [`assign`],
//! [`review`], [`predict`], [`merge`]); [`history`] copies label-quality figures into the
//! workspace's metric history for monitoring. It does not link DataFusion: the merge writes the table
//! with parquet/arrow and the caller adds it as a version through `sluice_version::add`.
//!
//! Invariant: human annotations are append-only. Corrections, adjudications, pseudo-labels and
//! aggregates are separate rows or tables, so any figure can be recomputed from what people said.

pub mod aggregate;
pub mod agreement;
pub mod assign;
pub mod dataset;
pub mod error;
pub mod history;
pub mod index;
pub mod io;
pub mod merge;
pub mod predict;
pub mod review;
pub mod schema;
pub mod sqlite;
pub mod store;

pub use error::{Error, Result};
pub use schema::{LabelKind, LabelSchema, LabelValue};
pub use store::LabelStore;

use sluice_store::Workspace;

/// Opens the annotation store of a workspace (the same database as its metadata).
pub async fn open(ws: &Workspace) -> Result<Box<dyn LabelStore>> {
    let url = &ws.config.metadata.url;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let p = std::path::Path::new(path);
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            ws.dir.join(p)
        };
        return Ok(Box::new(sqlite::SqliteLabelStore::open(&p).await?));
    }
    Err(Error::Usage(format!(
        "the annotation store needs a sqlite:// metadata URL (this workspace has `{url}`); the Postgres \
         backend is a second LabelStore implementation, not built yet"
    )))
}
