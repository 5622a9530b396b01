//! Dataset versions and model lineage on top of [`sluice_store`]: ingesting files into the
//! content-addressed store, row-level diffs with DataFusion, export, verification, garbage
//! collection, model registration and lineage graphs (text, JSON and OpenLineage).
//!
//! Invariant: a version becomes visible only through one metadata transaction, after every
//! object it references has been stored. Any failure before that leaves no version and no
//! metadata, only unreferenced objects that `gc` removes.

pub mod add;
pub mod diff;
pub mod engine;
pub mod error;
pub mod export;
pub mod lineage;
pub mod maintenance;
pub mod model;
pub mod profile;
pub mod progress;
pub mod refs;

pub use error::{Error, Result};
pub use progress::{NoProgress, Progress};
pub use refs::DatasetRef;
