//! Column profiles of a version's tables: the ones stored when the version was added, or
//! computed from the canonical copy for versions added before profiles existed.

use sluice_profile::ProfileStates;
use sluice_store::Workspace;
use sluice_store::meta::{TableEntry, VersionRecord};

use crate::engine;
use crate::error::{Error, Result};

/// One table of a version with its profile.
#[derive(Debug, Clone)]
pub struct TableProfileStates {
    /// The table.
    pub table: TableEntry,
    /// Its profile states.
    pub states: ProfileStates,
    /// Whether the profile was read from the store (false: computed now).
    pub stored: bool,
}

/// The profiles of every table of `version`, in path order.
pub async fn version_profiles(ws: &Workspace, version: &VersionRecord) -> Result<Vec<TableProfileStates>> {
    let mut out = Vec::new();
    for table in ws.meta.tables(version.id).await? {
        let (states, stored) = match &table.profile {
            Some(id) => {
                let bytes = ws.objects.get_bytes(id).await?;
                let states = ProfileStates::decode(&bytes)
                    .map_err(|e| Error::Internal(format!("profile of {} ({id}): {e}", table.path)))?;
                (states, true)
            }
            None => (profile_canonical(ws, &table).await?, false),
        };
        out.push(TableProfileStates { table, states, stored });
    }
    Ok(out)
}

/// Profiles a table's canonical Parquet copy.
pub async fn profile_canonical(ws: &Workspace, table: &TableEntry) -> Result<ProfileStates> {
    let ctx = engine::session();
    engine::register_table(&ctx, &ws.objects, "t", table).await?;
    sluice_profile::profile_table(&ctx, "t")
        .await
        .map_err(|e| Error::Internal(format!("profiling {}: {e}", table.path)))
}
