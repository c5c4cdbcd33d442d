//! How far into each exercise's hints the learner has read, so `hint ID` shows the next one.
//! Kept per user in `.exercises/hint-levels.toml` at the workspace root (git ignores it):
//! `ch08-1 = 2` means hints 1 and 2 of ch08-1 were shown.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// The file, relative to the workspace root.
pub const FILE: &str = ".exercises/hint-levels.toml";

/// The hint levels shown so far, by exercise id (none: an empty map).
pub fn read(root: &Path) -> Result<BTreeMap<String, usize>> {
    let path = root.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map_err(|e| Error::BadInfo {
            path: path.clone(),
            reason: format!("{} (delete the file to start the hints over)", e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(source) => Err(Error::Io { path, source }),
    }
}

/// Record that hint `level` of `id` was shown last (written atomically).
pub fn record(root: &Path, id: &str, level: usize) -> Result<()> {
    let mut levels = read(root)?;
    levels.insert(id.to_string(), level);
    let text = toml::to_string(&levels).expect("a map of numbers serialises");
    let path = root.join(FILE);
    shared::write_atomic(&path, text.as_bytes()).map_err(|e| Error::write(&path, e))
}

/// Which hint to show: the one asked for, or the one after the last shown (the last hint
/// again once all were shown). `Err` with the valid range when `asked` is out of it.
pub fn next(shown: Option<usize>, asked: Option<usize>, n_hints: usize) -> std::result::Result<usize, String> {
    match asked {
        Some(level) if level == 0 || level > n_hints => Err(format!("--level must be 1 to {n_hints}, got {level}")),
        Some(level) => Ok(level),
        None => Ok((shown.unwrap_or(0) + 1).min(n_hints)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_graduate_one_call_at_a_time_and_stop_at_the_last() {
        assert_eq!(next(None, None, 3), Ok(1));
        assert_eq!(next(Some(1), None, 3), Ok(2));
        assert_eq!(next(Some(2), None, 3), Ok(3));
        assert_eq!(next(Some(3), None, 3), Ok(3));
        assert_eq!(next(Some(3), Some(1), 3), Ok(1));
        assert!(next(None, Some(0), 3).is_err() && next(None, Some(4), 3).is_err());
    }

    #[test]
    fn levels_are_remembered_per_exercise() {
        let root = std::env::temp_dir().join(format!("exercises-hints-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        assert!(read(&root).unwrap().is_empty());
        record(&root, "ch08-1", 1).unwrap();
        record(&root, "ch08-1", 2).unwrap();
        record(&root, "ch04-3", 1).unwrap();
        let levels = read(&root).unwrap();
        assert_eq!((levels["ch08-1"], levels["ch04-3"], levels.len()), (2, 1, 2));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
