//! The runner's commands end to end, on a tiny workspace made in a temp folder: one chapter
//! crate without dependencies, so `check` builds in seconds.
//!
//! - `start` writes rust-analyzer's `cargo.features` with the exercise's workspace feature,
//!   another `start` replaces it, `stop` removes it;
//! - `hint` graduates: the nudge first, the next hint on the next call, `--level N`;
//! - `check` on a stub that does not compile shows the compiler's message, not only where.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Workspace(PathBuf);

impl Workspace {
    fn new(name: &str) -> Workspace {
        let root = std::env::temp_dir().join(format!("exercises-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let files = [
            ("Cargo.toml", "[workspace]\nresolver = \"2\"\nmembers = [\"chapters/ch09-toy\"]\n"),
            (
                "chapters/ch09-toy/Cargo.toml",
                "[package]\nname = \"ch09-toy\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[features]\nex-ch09-1 = []\nex-ch09-2 = []\nexercises = [\"ex-ch09-1\", \"ex-ch09-2\"]\n",
            ),
            (
                "chapters/ch09-toy/src/lib.rs",
                "#[cfg_attr(feature = \"ex-ch09-1\", path = \"../exercises/ch09_1_double.rs\")]\nmod double;\npub use double::double;\n\
                 #[cfg_attr(feature = \"ex-ch09-2\", path = \"../exercises/ch09_2_half.rs\")]\nmod half;\npub use half::half;\n",
            ),
            ("chapters/ch09-toy/src/double.rs", "pub fn double(x: u32) -> u32 {\n    2 * x\n}\n"),
            ("chapters/ch09-toy/src/half.rs", "pub fn half(x: u32) -> u32 {\n    x / 2\n}\n"),
            // a stub with a type error: the compiler's words must reach the learner
            ("chapters/ch09-toy/exercises/ch09_1_double.rs", "pub fn double(x: u32) -> u32 {\n    \"twice\"\n}\n"),
            ("chapters/ch09-toy/exercises/ch09_2_half.rs", "pub fn half(_x: u32) -> u32 {\n    todo!(\"ch09-2\")\n}\n"),
            (
                "chapters/ch09-toy/tests/exercises.rs",
                "#[test]\nfn ch09_1_doubles() {\n    assert_eq!(ch09_toy::double(3), 6);\n}\n\n#[test]\nfn ch09_2_halves() {\n    assert_eq!(ch09_toy::half(6), 3);\n}\n",
            ),
            (
                "chapters/ch09-toy/exercises/info.toml",
                "[[exercise]]\nid = \"ch09-1\"\ntitle = \"Double\"\nstub = \"exercises/ch09_1_double.rs\"\nreference = \"src/double.rs\"\n\
                 feature = \"ex-ch09-1\"\ntest_filter = \"ch09_1_\"\nhints = [\"NUDGE: what is twice x?\", \"APPROACH: multiply by two.\"]\n\n\
                 [[exercise]]\nid = \"ch09-2\"\ntitle = \"Half\"\nstub = \"exercises/ch09_2_half.rs\"\nreference = \"src/half.rs\"\n\
                 feature = \"ex-ch09-2\"\ntest_filter = \"ch09_2_\"\nhints = [\"NUDGE: halve.\", \"APPROACH: divide by two.\"]\n",
            ),
        ];
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Workspace(root)
    }

    /// Run the runner in this workspace: (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_exercises"))
            .args(args)
            .current_dir(&self.0)
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
    }

    fn settings(&self) -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(self.0.join(".vscode/settings.json")).ok()?;
        Some(serde_json::from_str(&text).unwrap())
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn path_in(root: &Path, rel: &str) -> PathBuf {
    root.join(rel)
}

#[test]
fn start_writes_the_exercise_feature_for_rust_analyzer_and_stop_removes_it() {
    let ws = Workspace::new("start");
    let (code, out, err) = ws.run(&["start", "ch09-1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(ws.settings(), Some(serde_json::json!({ "rust-analyzer.cargo.features": ["ch09-toy/ex-ch09-1"] })));
    assert!(out.contains("chapters/ch09-toy/exercises/ch09_1_double.rs") && out.contains("check ch09-1"), "says what to do next: {out}");

    let (code, out, _) = ws.run(&["start", "ch09-2"]);
    assert_eq!(code, 0);
    assert_eq!(ws.settings(), Some(serde_json::json!({ "rust-analyzer.cargo.features": ["ch09-toy/ex-ch09-2"] })));
    assert!(out.contains("replaces ch09-1"), "{out}");
    assert!(ws.run(&["list"]).1.contains("editor: ch09-2 on"));

    let (code, out, _) = ws.run(&["stop"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(ws.settings(), None, "the file held only the exercise feature, so stop removes it");
    assert!(!path_in(&ws.0, ".vscode/settings.json").exists());

    let (code, _, err) = ws.run(&["start", "ch09-7"]);
    assert_eq!(code, 2, "an unknown id is a usage error: {err}");
}

#[test]
fn hints_graduate_from_the_nudge_and_are_remembered() {
    let ws = Workspace::new("hints");
    let first = ws.run(&["hint", "ch09-1"]).1;
    assert!(first.contains("hint 1 of 2") && first.contains("NUDGE") && !first.contains("APPROACH"), "{first}");
    assert!(!first.contains("src/double.rs"), "the first hint does not point at the solution: {first}");
    let second = ws.run(&["hint", "ch09-1"]).1;
    assert!(second.contains("hint 2 of 2") && second.contains("APPROACH") && second.contains("last hint"), "{second}");
    assert!(second.contains("src/double.rs"), "after the last hint, the solution's file: {second}");
    assert!(ws.run(&["hint", "ch09-2"]).1.contains("NUDGE: halve"), "levels are per exercise");
    assert!(ws.run(&["hint", "ch09-1", "--level", "1"]).1.contains("NUDGE"));
    let (code, _, err) = ws.run(&["hint", "ch09-1", "--level", "3"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--level must be 1 to 2"), "{err}");
}

#[test]
fn check_shows_the_compilers_message_when_a_stub_does_not_compile() {
    let ws = Workspace::new("check");
    let (code, out, err) = ws.run(&["check", "ch09-1"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("does not compile"), "{out}");
    assert!(out.contains("error[E0308]: mismatched types"), "the error line: {out}");
    assert!(out.contains("ch09_1_double.rs:2:5"), "its location: {out}");
    assert!(out.contains("expected `u32`, found `&str`"), "the compiler's message under the code, not only the location: {out}");
}

/// A full or closed standard output (`> /dev/full`, `| head` after the reader has gone) is one
/// error line and exit code 1, not a panic (exit 101).
#[cfg(target_os = "linux")]
#[test]
fn a_stdout_that_cannot_be_written_is_one_error_line() {
    let ws = Workspace::new("full");
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_exercises"))
        .arg("list")
        .current_dir(&ws.0)
        .env_remove("CARGO_TARGET_DIR")
        .stdout(full)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: cannot write to standard output"), "{err}");
}
