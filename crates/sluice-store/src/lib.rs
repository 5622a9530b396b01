//! Sluice's storage layer: where a workspace lives, what its config says, the content-addressed
//! object store that holds every byte, and the metadata store that says what those bytes are.
//!
//! Invariant: metadata only ever points at objects that were fully written first. Objects are
//! immutable and named by the BLAKE3 hash of their content, so writing one twice is harmless and
//! a crash between the object writes and the metadata transaction leaves only unreferenced
//! objects, which `gc` removes and `verify` reports as clean.

pub mod config;
#[cfg(target_os = "linux")]
mod direct;
pub mod error;
pub mod lock;
pub mod meta;
pub mod metrics;
pub mod objects;
pub mod sqlite;
pub mod workspace;

pub use config::Config;
pub use error::{Error, Result};
pub use meta::MetaStore;
pub use objects::{ObjectId, Objects};
pub use workspace::Workspace;
