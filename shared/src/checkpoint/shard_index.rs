//! `model.safetensors.index.json`: which shard file holds each tensor of a sharded checkpoint.
//!
//! Transformers writes `{"metadata": {...}, "weight_map": {"tensor name": "shard file", ...}}`.
//! Only `weight_map` is read. A shard must be a plain file name beside the index: a name that
//! climbs out of the folder (`../x`) or is an absolute path is refused.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Component, Path};

#[derive(serde::Deserialize)]
struct Index {
    weight_map: BTreeMap<String, String>,
}

/// Read the index at `path`: tensor name -> shard file name (checked to be a plain name).
pub(super) fn read_weight_map(path: &Path) -> Result<BTreeMap<String, String>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let index: Index = serde_json::from_slice(&bytes).map_err(|e| Error::BadIndex {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if let Some(bad) = index.weight_map.values().find(|file| !is_plain_file_name(file)) {
        return Err(Error::UnsafeShardName {
            path: path.to_path_buf(),
            shard: bad.clone(),
        });
    }
    Ok(index.weight_map)
}

/// Whether `name` is exactly one ordinary path component (no `..`, no root, no separator).
fn is_plain_file_name(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    matches!((parts.next(), parts.next()), (Some(Component::Normal(_)), None))
        && !name.contains(['/', '\\'])
}
