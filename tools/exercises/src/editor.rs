//! The editor's view of an exercise: `start ID` turns the exercise's feature on for
//! rust-analyzer, so the stub file is part of the module tree and the editor gives full help
//! (types, completion, errors as you type); `stop` turns it off again.
//!
//! The setting is rust-analyzer's `cargo.features`, written into VS Code's per-user
//! `.vscode/settings.json` at the workspace root (git ignores it). Other settings in that file
//! are kept; of the features listed, the runner replaces only exercise features
//! (`<crate>/ex-chNN-K` or `<crate>/exercises`), so one exercise at a time is on.

use crate::error::{Error, Result};
use crate::info::is_exercise_id;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The settings file, relative to the workspace root.
pub const SETTINGS: &str = ".vscode/settings.json";
/// The key rust-analyzer reads in it.
pub const KEY: &str = "rust-analyzer.cargo.features";

/// What a `start` or `stop` did to the settings file.
#[derive(Debug, PartialEq)]
pub struct Change {
    pub path: PathBuf,
    /// The exercise features that were on before (normally zero or one).
    pub before: Vec<String>,
    /// The whole list under `KEY` afterwards; empty: the key is gone.
    pub after: Vec<String>,
    /// The file was written, or removed when nothing else was left in it (false: nothing to change).
    pub written: bool,
}

/// A feature the runner owns: `<crate>/ex-chNN-K` or `<crate>/exercises`.
pub fn is_exercise_feature(feature: &str) -> bool {
    let Some((_, name)) = feature.split_once('/') else { return false };
    name == "exercises" || name.strip_prefix("ex-").is_some_and(is_exercise_id)
}

/// The exercise features on in the settings file now (none if there is no file).
pub fn current(root: &Path) -> Result<Vec<String>> {
    let path = root.join(SETTINGS);
    let Some(settings) = read(&path)? else { return Ok(vec![]) };
    Ok(features(&settings, &path)?.into_iter().filter(|f| is_exercise_feature(f)).collect())
}

/// Set the exercise feature rust-analyzer builds with: `Some("ch08-kv-cache/ex-ch08-1")`
/// replaces any exercise feature listed, `None` removes them. Everything else in the file is
/// kept. Written atomically; a file that is not plain JSON is left alone (an error says what
/// to add by hand).
pub fn set(root: &Path, feature: Option<&str>) -> Result<Change> {
    let path = root.join(SETTINGS);
    let existing = read(&path)?;
    let mut settings = existing.clone().unwrap_or_default();
    let listed = features(&settings, &path)?;
    let (before, mut after): (Vec<String>, Vec<String>) = listed.into_iter().partition(|f| is_exercise_feature(f));
    after.extend(feature.map(str::to_string));
    if after.is_empty() {
        settings.remove(KEY);
    } else {
        settings.insert(KEY.to_string(), Value::from(after.clone()));
    }
    if existing.as_ref() == Some(&settings) || (existing.is_none() && settings.is_empty()) {
        return Ok(Change { path, before, after, written: false });
    }
    if settings.is_empty() {
        // the file held nothing but the exercise feature: leave no empty file behind
        std::fs::remove_file(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
        return Ok(Change { path, before, after, written: true });
    }
    let mut text = serde_json::to_string_pretty(&Value::Object(settings)).expect("a JSON object serialises");
    text.push('\n');
    shared::write_atomic(&path, text.as_bytes()).map_err(|e| Error::write(&path, e))?;
    Ok(Change { path, before, after, written: true })
}

/// The settings object, or None when the file does not exist.
fn read(path: &Path) -> Result<Option<Map<String, Value>>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Io { path: path.to_path_buf(), source }),
    };
    if text.trim().is_empty() {
        return Ok(Some(Map::new()));
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(not_json(path, "it is not a JSON object")),
        Err(e) => Err(not_json(path, &format!("{e} (comments and trailing commas are not plain JSON)"))),
    }
}

/// The list under `KEY` (empty if absent); anything but a list of strings is refused.
fn features(settings: &Map<String, Value>, path: &Path) -> Result<Vec<String>> {
    match settings.get(KEY) {
        None => Ok(vec![]),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            Ok(items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        }
        Some(other) => Err(not_json(path, &format!("\"{KEY}\" is {other}, not a list of features"))),
    }
}

fn not_json(path: &Path, reason: &str) -> Error {
    Error::Settings { path: path.to_path_buf(), reason: reason.to_string(), key: KEY }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system's temp dir, removed at the end of the test.
    struct TempRoot(PathBuf);
    impl TempRoot {
        fn new(name: &str) -> TempRoot {
            let dir = std::env::temp_dir().join(format!("exercises-editor-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempRoot(dir)
        }
        fn settings(&self) -> Value {
            serde_json::from_str(&std::fs::read_to_string(self.0.join(SETTINGS)).unwrap()).unwrap()
        }
    }
    impl Drop for TempRoot {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn exercise_features_are_recognised() {
        assert!(is_exercise_feature("ch08-kv-cache/ex-ch08-1") && is_exercise_feature("ch04-gpt/exercises"));
        assert!(!is_exercise_feature("ex-ch08-1") && !is_exercise_feature("serde/derive") && !is_exercise_feature("a/ex-tra"));
    }

    #[test]
    fn start_writes_the_feature_and_another_start_replaces_it() {
        let root = TempRoot::new("start");
        let change = set(&root.0, Some("ch08-kv-cache/ex-ch08-1")).unwrap();
        assert!(change.written && change.before.is_empty());
        assert_eq!(root.settings(), serde_json::json!({ KEY: ["ch08-kv-cache/ex-ch08-1"] }));
        assert_eq!(current(&root.0).unwrap(), vec!["ch08-kv-cache/ex-ch08-1"]);

        let change = set(&root.0, Some("ch04-gpt/ex-ch04-2")).unwrap();
        assert_eq!(change.before, vec!["ch08-kv-cache/ex-ch08-1"]);
        assert_eq!(root.settings(), serde_json::json!({ KEY: ["ch04-gpt/ex-ch04-2"] }));

        // stop: the file held only the exercise feature, so it goes
        assert!(set(&root.0, None).unwrap().written);
        assert!(!root.0.join(SETTINGS).exists() && current(&root.0).unwrap().is_empty());
    }

    #[test]
    fn other_settings_and_features_are_kept_and_stop_removes_only_the_exercise() {
        let root = TempRoot::new("merge");
        std::fs::create_dir_all(root.0.join(".vscode")).unwrap();
        let mine = r#"{ "editor.rulers": [100], "rust-analyzer.cargo.features": ["shared/extra"] }"#;
        std::fs::write(root.0.join(SETTINGS), mine).unwrap();

        set(&root.0, Some("ch08-kv-cache/ex-ch08-1")).unwrap();
        assert_eq!(
            root.settings(),
            serde_json::json!({ "editor.rulers": [100], KEY: ["shared/extra", "ch08-kv-cache/ex-ch08-1"] })
        );
        let change = set(&root.0, None).unwrap();
        assert_eq!((change.before, change.after), (vec!["ch08-kv-cache/ex-ch08-1".to_string()], vec!["shared/extra".to_string()]));
        assert_eq!(root.settings(), serde_json::json!({ "editor.rulers": [100], KEY: ["shared/extra"] }));
    }

    #[test]
    fn stop_without_a_file_writes_nothing_and_a_file_with_comments_is_left_alone() {
        let root = TempRoot::new("alone");
        assert!(!set(&root.0, None).unwrap().written);
        assert!(!root.0.join(SETTINGS).exists());

        std::fs::create_dir_all(root.0.join(".vscode")).unwrap();
        let jsonc = "{\n  // my font\n  \"editor.fontSize\": 14,\n}\n";
        std::fs::write(root.0.join(SETTINGS), jsonc).unwrap();
        let err = set(&root.0, Some("ch08-kv-cache/ex-ch08-1")).unwrap_err();
        assert!(matches!(err, Error::Settings { .. }), "{err}");
        assert_eq!(std::fs::read_to_string(root.0.join(SETTINGS)).unwrap(), jsonc);

        std::fs::write(root.0.join(SETTINGS), r#"{ "rust-analyzer.cargo.features": "all" }"#).unwrap();
        assert!(matches!(set(&root.0, Some("ch08-kv-cache/ex-ch08-1")), Err(Error::Settings { .. })));
    }
}
