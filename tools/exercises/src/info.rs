//! Finding the exercises: every `chapters/*/exercises/info.toml` of the workspace.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One exercise, with every path relative to the workspace root.
#[derive(Debug, Clone)]
pub struct Exercise {
    /// `chNN-K`, e.g. `ch08-2`.
    pub id: String,
    pub title: String,
    /// The chapter crate (`ch08-kv-cache`) and its folder (`chapters/ch08-kv-cache`).
    pub crate_name: String,
    pub chapter_dir: PathBuf,
    /// The learner's file and the reference solution.
    pub stub: PathBuf,
    pub reference: PathBuf,
    /// The cargo feature that swaps the stub in, and the libtest filter of its tests.
    pub feature: String,
    pub test_filter: String,
    /// Graduated hints: a nudge first, then the approach, then (at most) a pointer to the
    /// pieces; never the solution, which is `reference`.
    pub hints: Vec<String>,
}

impl Exercise {
    /// `ch08` of `ch08-2`.
    pub fn chapter(&self) -> &str {
        self.id.split('-').next().unwrap_or(&self.id)
    }

    /// The feature as the workspace root names it (`ch08-kv-cache/ex-ch08-1`): what
    /// `cargo check --workspace --features ...` and rust-analyzer's `cargo.features` take.
    pub fn workspace_feature(&self) -> String {
        format!("{}/{}", self.crate_name, self.feature)
    }
}

/// One `[[exercise]]` table of an `info.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    title: String,
    stub: PathBuf,
    reference: PathBuf,
    feature: String,
    test_filter: String,
    hints: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InfoFile {
    #[serde(default)]
    exercise: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    package: Option<Package>,
}

#[derive(Debug, Deserialize)]
struct Package {
    name: String,
}

/// The workspace root: the nearest folder at or above the current one whose `Cargo.toml`
/// has a `[workspace]` and which has a `chapters/` folder.
pub fn workspace_root() -> Result<PathBuf> {
    let cwd = std::env::current_dir().map_err(|source| Error::Io { path: PathBuf::from("."), source })?;
    for dir in cwd.ancestors() {
        let manifest = dir.join("Cargo.toml");
        if dir.join("chapters").is_dir() && manifest.is_file() {
            let text = read(&manifest)?;
            if text.lines().any(|l| l.trim() == "[workspace]") {
                return Ok(dir.to_path_buf());
            }
        }
    }
    Err(Error::NoWorkspace(cwd))
}

/// Every exercise of every chapter, in chapter order, then exercise order.
pub fn discover(root: &Path) -> Result<Vec<Exercise>> {
    let chapters = root.join("chapters");
    let entries = std::fs::read_dir(&chapters).map_err(|source| Error::Io { path: chapters.clone(), source })?;
    let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let mut all = vec![];
    for dir in dirs {
        let info = dir.join("exercises").join("info.toml");
        if info.is_file() {
            all.extend(read_chapter(root, &dir, &info)?);
        }
    }
    all.sort_by_key(|e| sort_key(&e.id));
    for pair in all.windows(2) {
        if pair[0].id == pair[1].id {
            return Err(Error::BadInfo {
                path: pair[1].chapter_dir.join("exercises/info.toml"),
                reason: format!("exercise id {} is used twice", pair[1].id),
            });
        }
    }
    Ok(all)
}

fn read_chapter(root: &Path, dir: &Path, info: &Path) -> Result<Vec<Exercise>> {
    let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).to_path_buf();
    let bad = |reason: String| Error::BadInfo { path: rel(info), reason };
    let file: InfoFile = toml::from_str(&read(info)?).map_err(|e| bad(one_line(&e.to_string())))?;
    let crate_name = crate_name(dir)?;
    let mut out = vec![];
    for e in file.exercise {
        if !is_exercise_id(&e.id) {
            return Err(bad(format!("id `{}` is not of the form chNN-K (e.g. ch08-2)", e.id)));
        }
        for (what, path) in [("stub", &e.stub), ("reference", &e.reference)] {
            if !dir.join(path).is_file() {
                return Err(bad(format!("exercise {}: {what} file {} does not exist", e.id, path.display())));
            }
        }
        if e.test_filter.trim().is_empty() {
            return Err(bad(format!("exercise {}: test_filter is empty (it would run every test)", e.id)));
        }
        if e.hints.len() < 2 || e.hints.iter().any(|h| h.trim().is_empty()) {
            return Err(bad(format!("exercise {}: `hints` needs at least two non-empty hints, a nudge first, then the approach", e.id)));
        }
        out.push(Exercise {
            id: e.id,
            title: e.title,
            crate_name: crate_name.clone(),
            chapter_dir: rel(dir),
            stub: rel(&dir.join(&e.stub)),
            reference: rel(&dir.join(&e.reference)),
            feature: e.feature,
            test_filter: e.test_filter,
            hints: e.hints.iter().map(|h| h.trim().to_string()).collect(),
        });
    }
    Ok(out)
}

/// The package name in the chapter's `Cargo.toml`, or the folder name.
fn crate_name(dir: &Path) -> Result<String> {
    let manifest = dir.join("Cargo.toml");
    let folder = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if !manifest.is_file() {
        return Ok(folder);
    }
    let parsed: Manifest = toml::from_str(&read(&manifest)?)
        .map_err(|e| Error::BadInfo { path: manifest.clone(), reason: one_line(&e.to_string()) })?;
    Ok(parsed.package.map(|p| p.name).unwrap_or(folder))
}

/// The `[features]` table of a chapter's `Cargo.toml`: name -> what it enables.
pub fn features(root: &Path, chapter_dir: &Path) -> Result<Vec<(String, Vec<String>)>> {
    #[derive(Deserialize)]
    struct WithFeatures {
        #[serde(default)]
        features: std::collections::BTreeMap<String, Vec<String>>,
    }
    let manifest = root.join(chapter_dir).join("Cargo.toml");
    let parsed: WithFeatures = toml::from_str(&read(&manifest)?)
        .map_err(|e| Error::BadInfo { path: manifest.clone(), reason: one_line(&e.to_string()) })?;
    Ok(parsed.features.into_iter().collect())
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `chNN-K`: "ch", digits, "-", digits.
pub fn is_exercise_id(id: &str) -> bool {
    let Some((chapter, k)) = id.split_once('-') else { return false };
    is_chapter(chapter) && !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit())
}

/// `chNN`: "ch" and digits.
pub fn is_chapter(s: &str) -> bool {
    s.len() > 2 && s.starts_with("ch") && s[2..].bytes().all(|b| b.is_ascii_digit())
}

/// Numeric order: ch08-2 before ch08-10, ch04 before ch08.
fn sort_key(id: &str) -> (u32, u32) {
    let (chapter, k) = id.split_once('-').unwrap_or((id, "0"));
    (chapter[2..].parse().unwrap_or(0), k.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_chapters() {
        assert!(is_exercise_id("ch08-2") && is_exercise_id("ch10-12"));
        assert!(!is_exercise_id("ch08") && !is_exercise_id("ch8-") && !is_exercise_id("08-2") && !is_exercise_id("chx-1"));
        assert!(is_chapter("ch04") && !is_chapter("ch") && !is_chapter("ch04-1"));
        assert!(sort_key("ch08-2") < sort_key("ch08-10") && sort_key("ch04-3") < sort_key("ch08-1"));
    }

    /// The chapters' own info.toml files: every exercise has a nudge and an approach, and no
    /// hint holds a line of code of the reference solution (a hint is never the answer).
    #[test]
    fn the_chapters_hints_are_graduated_and_never_the_solution() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let exercises = discover(&root).unwrap();
        assert!(exercises.len() >= 13, "found {} exercises", exercises.len());
        for e in &exercises {
            assert!(e.hints.len() >= 2, "{}: {} hints", e.id, e.hints.len());
            assert_eq!(e.workspace_feature(), format!("{}/ex-{}", e.crate_name, e.id));
            let reference = std::fs::read_to_string(root.join(&e.reference)).unwrap();
            let code_lines = reference.lines().map(|l| l.split(" // ").next().unwrap_or(l).trim()).filter(|l| {
                l.len() >= 24 && !l.starts_with("//") && !l.starts_with("pub") && !l.starts_with("fn ") && !l.starts_with("impl")
            });
            for line in code_lines {
                let line = line.trim_end_matches([';', '{', ',']);
                for (k, hint) in e.hints.iter().enumerate() {
                    assert!(!hint.contains(line), "{} hint {}: holds the reference's line `{line}`", e.id, k + 1);
                }
            }
        }
    }
}
