//! Running `cargo test ... --test exercises` and reading what libtest printed.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    Ignored,
}

/// Why a test failed: the first lines of its panic message and where it panicked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Failure {
    pub message: Vec<String>,
    pub location: Option<String>,
}

/// One run of a test binary, as far as its output tells.
#[derive(Debug, Default)]
pub struct TestRun {
    /// The test binary ran (so the crate compiled).
    pub ran: bool,
    /// Every test that reported a result, in the order printed.
    pub results: Vec<(String, Outcome)>,
    pub failures: BTreeMap<String, Failure>,
    /// The compiler's error diagnostics, each as its lines, when the build failed.
    pub compile_errors: Vec<Vec<String>>,
}

impl TestRun {
    /// The results of the tests whose names contain `filter` (libtest's own matching).
    pub fn matching<'a>(&'a self, filter: &'a str) -> impl Iterator<Item = &'a (String, Outcome)> + 'a {
        self.results.iter().filter(move |(name, _)| name.contains(filter))
    }
}

/// `cargo test -p CRATE [--features FEATURE] --test exercises [-- FILTER]` in `root`, output
/// captured. Returns the command as text and what it printed, read.
pub fn run(root: &Path, crate_name: &str, feature: Option<&str>, filter: Option<&str>) -> Result<(String, TestRun)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut args = vec!["test", "-p", crate_name];
    if let Some(f) = feature {
        args.extend(["--features", f]);
    }
    args.extend(["--test", "exercises"]);
    if let Some(f) = filter {
        args.extend(["--", f]);
    }
    let shown = format!("cargo {}", args.join(" "));
    let output = Command::new(&cargo)
        .args(&args)
        .current_dir(root)
        .env("RUST_BACKTRACE", "0") // the panic message, not a stack trace
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .map_err(|source| Error::Spawn { command: shown.clone(), source })?;
    let mut run = parse_libtest(&String::from_utf8_lossy(&output.stdout));
    if !run.ran {
        run.compile_errors = compile_errors(&String::from_utf8_lossy(&output.stderr));
    }
    Ok((shown, run))
}

/// Read libtest's default (pretty) output.
pub fn parse_libtest(stdout: &str) -> TestRun {
    let mut run = TestRun::default();
    let lines: Vec<&str> = stdout.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.starts_with("running ") && (line.ends_with(" tests") || line.ends_with(" test")) {
            run.ran = true;
        } else if let Some((name, outcome)) = result_line(line) {
            run.results.push((name, outcome));
        } else if let Some(name) = line.strip_prefix("---- ").and_then(|l| l.strip_suffix(" stdout ----")) {
            let end = lines[i + 1..]
                .iter()
                .position(|l| l.starts_with("---- ") || *l == "failures:")
                .map_or(lines.len(), |p| i + 1 + p);
            run.failures.insert(name.to_string(), failure(&lines[i + 1..end]));
            i = end;
            continue;
        }
        i += 1;
    }
    run
}

/// `test NAME ... ok` (or `FAILED`, `ignored`, `ignored, reason`).
fn result_line(line: &str) -> Option<(String, Outcome)> {
    let rest = line.strip_prefix("test ")?;
    let (name, result) = rest.split_once(" ... ")?;
    let outcome = match result.trim() {
        "ok" => Outcome::Passed,
        "FAILED" => Outcome::Failed,
        r if r.starts_with("ignored") => Outcome::Ignored,
        _ => return None,
    };
    Some((name.to_string(), outcome))
}

/// From a failed test's captured output: the panic's location and its message lines.
fn failure(section: &[&str]) -> Failure {
    let Some(start) = section.iter().position(|l| l.starts_with("thread '") && l.contains("panicked at ")) else {
        return Failure { message: section.iter().filter(|l| !l.trim().is_empty()).take(3).map(|l| l.to_string()).collect(), location: None };
    };
    let panic_line = section[start];
    let location = panic_line
        .split_once("panicked at ")
        .map(|(_, loc)| loc.trim_end_matches(':').replace("/src/../", "/"));
    let message = section[start + 1..]
        .iter()
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
        .map(|l| l.to_string())
        .collect();
    Failure { message, location }
}

/// The compiler's error diagnostics of a failed build, each whole: the `error...` line, its
/// `-->` location, the source lines with the compiler's marks and its notes, up to the blank
/// line rustc ends a diagnostic with. Warnings and cargo's summary lines are left out.
pub fn compile_errors(stderr: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![];
    let mut current: Option<Vec<String>> = None;
    for line in stderr.lines() {
        if let Some(block) = current.as_mut() {
            if line.trim().is_empty() {
                out.extend(current.take());
            } else {
                block.push(line.replace("/src/../", "/"));
            }
            continue;
        }
        let is_error = line.starts_with("error[") || line.starts_with("error:");
        let is_summary = line.starts_with("error: could not compile") || line.starts_with("error: test failed");
        if is_error && !is_summary {
            current = Some(vec![line.to_string()]);
        }
    }
    out.extend(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "
running 3 tests
test ch08_1_a ... ok
test ch08_1_b ... FAILED
test ch08_2_c ... ignored, slow

failures:

---- ch08_1_b stdout ----

thread 'ch08_1_b' (1234) panicked at chapters/ch08-kv-cache/src/../exercises/ch08_1_append.rs:21:9:
not yet implemented: ch08-1: write k and v
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace


failures:
    ch08_1_b

test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s
";

    #[test]
    fn reads_results_and_the_panic() {
        let run = parse_libtest(OUTPUT);
        assert!(run.ran);
        assert_eq!(
            run.results,
            vec![
                ("ch08_1_a".to_string(), Outcome::Passed),
                ("ch08_1_b".to_string(), Outcome::Failed),
                ("ch08_2_c".to_string(), Outcome::Ignored)
            ]
        );
        let f = &run.failures["ch08_1_b"];
        assert_eq!(f.location.as_deref(), Some("chapters/ch08-kv-cache/exercises/ch08_1_append.rs:21:9"));
        assert_eq!(f.message, vec!["not yet implemented: ch08-1: write k and v".to_string()]);
        assert_eq!(run.matching("ch08_1_").count(), 2);
    }

    #[test]
    fn a_build_that_failed_ran_nothing_and_its_errors_are_kept_whole() {
        let run = parse_libtest("");
        assert!(!run.ran && run.results.is_empty());
        let stderr = "   Compiling ch08-kv-cache v0.1.0
warning: unused variable: `v`
  --> chapters/ch08-kv-cache/src/../exercises/ch08_1_append.rs:14:50
   |
14 |     pub(super) fn write_at_pointer(&mut self, k: ArrayView4<F>, v: ArrayView4<F>, capacity: usize) -> Result<()> {
   |                                                  ^ help: if this is intentional, prefix it with an underscore: `_v`

error[E0308]: mismatched types
  --> chapters/ch08-kv-cache/src/../exercises/ch08_1_append.rs:16:9
   |
14 |     pub(super) fn write_at_pointer(&mut self, k: ArrayView4<F>, v: ArrayView4<F>, capacity: usize) -> Result<()> {
   |                                                                                                       ---------- expected `Result<(), shared::Error>` because of return type
15 |         let end = self.len + k.dim().2;
16 |         end
   |         ^^^ expected `Result<(), Error>`, found `usize`
   |
   = note: expected enum `Result<(), shared::Error>`
              found type `usize`

For more information about this error, try `rustc --explain E0308`.
error: could not compile `ch08-kv-cache` (lib) due to 1 previous error
";
        let errors = compile_errors(stderr);
        assert_eq!(errors.len(), 1, "{errors:?}");
        let e = &errors[0];
        assert_eq!(e[0], "error[E0308]: mismatched types");
        assert_eq!(e[1], "  --> chapters/ch08-kv-cache/exercises/ch08_1_append.rs:16:9");
        assert!(e.iter().any(|l| l.contains("expected `Result<(), Error>`, found `usize`")), "the compiler's message is kept: {e:?}");
        assert!(e.last().unwrap().contains("found type `usize`"));
        assert!(!e.iter().any(|l| l.contains("unused variable") || l.contains("could not compile")));
    }
}
