//! The exercise runner (rustlings-style) of the chapters' exercises.
//!
//! Each exercise is a stub file in `chapters/chNN-*/exercises/` that replaces one reference
//! module of the chapter crate when the cargo feature `ex-chNN-K` is on. This binary lists
//! them, shows hints, checks the learner's stubs, and (`dev-check`, for CI) proves that every
//! committed stub compiles and fails its tests while the reference code passes them.

mod cargo_test;
mod editor;
mod error;
mod hint_levels;
mod info;

use cargo_test::{Failure, Outcome, TestRun};
use clap::{Parser, Subcommand};
use error::{Error, Result};
use info::Exercise;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

const ABOUT: &str = "The chapters' exercises: fill in a stub, check it, ask for a hint.";

const LONG_ABOUT: &str = "\
The chapters' exercises: fill in a stub, check it, ask for a hint.

Each exercise is a file chapters/chNN-*/exercises/chNN_K_*.rs with a todo!() to replace. The
cargo feature ex-chNN-K builds the chapter with that file instead of the reference solution,
so `check` runs the exercise's tests (tests/exercises.rs) against your code. A plain
`cargo test` always tests the reference solution.

Typical session:
  cargo run -p exercises -- list            what there is, and which stubs you have edited
  cargo run -p exercises -- start ch08-1    turn the stub on for your editor's rust-analyzer
  cargo run -p exercises -- check ch08-1    test one exercise (or `check ch08`, or `check`)
  cargo run -p exercises -- hint ch08-1     stuck? a nudge; again: the approach, and so on
  cargo run -p exercises -- stop            the editor back to the reference code

Restore a stub: git checkout -- <stub file>

For authors and CI, `dev-check` proves for every exercise that the stub compiles, that its
tests fail on the committed stub, and that they pass on the reference solution.";

#[derive(Parser)]
#[command(name = "exercises", about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every exercise: id, status (todo: the stub still has its todo!(); edited), title, stub file.
    List,
    /// Turn one exercise's stub on for rust-analyzer (writes .vscode/settings.json), e.g. `start ch08-1`.
    Start {
        /// The exercise id, e.g. ch08-1.
        id: String,
    },
    /// Turn the exercise's stub off for rust-analyzer again: the editor sees the reference code.
    Stop,
    /// The next hint of an exercise: a nudge first, then the approach, e.g. `hint ch08-2`.
    Hint {
        /// The exercise id, e.g. ch08-2.
        id: String,
        /// Show this hint (1 = the nudge) instead of the next one.
        #[arg(long)]
        level: Option<usize>,
    },
    /// Test your stubs: one exercise (`check ch08-2`), a chapter (`check ch08`) or all (`check`).
    Check {
        /// An exercise id (ch08-2) or a chapter (ch08); none: every exercise.
        target: Option<String>,
    },
    /// For maintainers and CI: every stub compiles, fails its tests, and the reference passes them.
    DevCheck {
        /// An exercise id (ch08-2) or a chapter (ch08); none: every exercise.
        target: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = info::workspace_root().and_then(|root| {
        let exercises = info::discover(&root)?;
        match cli.command {
            Command::List => list(&root, &exercises),
            Command::Start { id } => start(&root, &exercises, &id),
            Command::Stop => stop(&root, &exercises),
            Command::Hint { id, level } => hint(&root, &exercises, &id, level),
            Command::Check { target } => check(&root, &select(&exercises, target.as_deref())?),
            Command::DevCheck { target } => dev_check(&root, &select(&exercises, target.as_deref())?),
        }
    });
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// The exercises named by `target`: an id, a chapter, or (None) all of them.
fn select(exercises: &[Exercise], target: Option<&str>) -> Result<Vec<Exercise>> {
    let chosen: Vec<Exercise> = match target {
        None => exercises.to_vec(),
        Some(t) => exercises.iter().filter(|e| e.id == t || e.chapter() == t).cloned().collect(),
    };
    if chosen.is_empty() {
        return Err(unknown(exercises, target.unwrap_or("")));
    }
    Ok(chosen)
}

fn unknown(exercises: &[Exercise], given: &str) -> Error {
    let known: Vec<&str> = exercises.iter().map(|e| e.id.as_str()).collect();
    let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
    Error::Unknown { given: given.to_string(), known }
}

// ---------------------------------------------------------------------------------- list, hint

fn list(root: &Path, exercises: &[Exercise]) -> Result<bool> {
    let rows: Vec<Vec<String>> = exercises
        .iter()
        .map(|e| {
            let status = if stub_has_todo(&e.stub) { "todo" } else { "edited" };
            vec![e.id.clone(), status.into(), e.title.clone(), e.stub.display().to_string()]
        })
        .collect();
    print_table(&["id", "status", "title", "stub (the file to edit)"], &rows)?;
    outln!();
    outln!("status: todo = the stub still has its todo!(); edited = it does not (`check` gives the verdict).");
    match started(root, exercises)?.as_slice() {
        [] => outln!("editor: no exercise started (`cargo run -p exercises -- start <id>` turns a stub on for rust-analyzer)."),
        ids => outln!("editor: {} on for rust-analyzer ({}).", ids.join(", "), editor::SETTINGS),
    }
    outln!("next: `cargo run -p exercises -- start <id>`, then `check <id>`; `hint <id>` when stuck.");
    Ok(true)
}

/// The exercises whose feature is on in the editor settings.
fn started(root: &Path, exercises: &[Exercise]) -> Result<Vec<String>> {
    let on = editor::current(root)?;
    Ok(exercises.iter().filter(|e| on.contains(&e.workspace_feature())).map(|e| e.id.clone()).collect())
}

fn find<'a>(exercises: &'a [Exercise], id: &str) -> Result<&'a Exercise> {
    exercises.iter().find(|e| e.id == id).ok_or_else(|| unknown(exercises, id))
}

// --------------------------------------------------------------------------------- start, stop

fn start(root: &Path, exercises: &[Exercise], id: &str) -> Result<bool> {
    let e = find(exercises, id)?;
    let feature = e.workspace_feature();
    let change = editor::set(root, Some(&feature))?;
    let replaced: Vec<String> = change
        .before
        .iter()
        .filter(|f| **f != feature)
        .map(|f| exercises.iter().find(|x| x.workspace_feature() == *f).map_or(f.clone(), |x| x.id.clone()))
        .collect();
    outln!("{} {}: started.", e.id, e.title);
    if change.written {
        outln!("  wrote {}: \"{}\": {:?}", editor::SETTINGS, editor::KEY, change.after);
    } else {
        outln!("  {} already has \"{}\": {:?}", editor::SETTINGS, editor::KEY, change.after);
    }
    if !replaced.is_empty() {
        outln!("  (this replaces {}: one exercise at a time is on)", replaced.join(", "));
    }
    outln!("  rust-analyzer now builds {} with the feature {}, so your stub is part of the crate:", e.crate_name, e.feature);
    outln!("  types, completion, go-to-definition and errors as you type.");
    outln!();
    outln!("next:");
    outln!("  1. open {} in your editor.", e.stub.display());
    outln!("     VS Code reloads rust-analyzer when this setting changes (if the stub still gets no");
    outln!("     help, run the command \"rust-analyzer: Restart server\"). Other editors: give");
    outln!("     rust-analyzer cargo.features = [\"{feature}\"] (the book's page \"Exercises: how");
    outln!("     they work\" shows how).");
    outln!("  2. write the code where the TODO says, then: cargo run -p exercises -- check {}", e.id);
    outln!("  3. stuck? cargo run -p exercises -- hint {}   (a nudge first; run it again for more)", e.id);
    outln!("  when done: cargo run -p exercises -- stop   (or `start` the next exercise)");
    Ok(true)
}

fn stop(root: &Path, exercises: &[Exercise]) -> Result<bool> {
    let was = started(root, exercises)?;
    let change = editor::set(root, None)?;
    if !change.written {
        outln!("no exercise was started: {} has no exercise feature, nothing changed.", editor::SETTINGS);
        return Ok(true);
    }
    let what = if was.is_empty() { change.before.join(", ") } else { was.join(", ") };
    outln!("stopped {what}: removed it from \"{}\" in {}.", editor::KEY, editor::SETTINGS);
    outln!("rust-analyzer sees the reference code again; your stub files are untouched.");
    Ok(true)
}

fn stub_has_todo(stub: &Path) -> bool {
    std::fs::read_to_string(stub).map_or(false, |text| text.contains("todo!("))
}

fn hint(root: &Path, exercises: &[Exercise], id: &str, asked: Option<usize>) -> Result<bool> {
    let e = find(exercises, id)?;
    let n = e.hints.len();
    let shown = hint_levels::read(root)?.get(id).copied();
    let level = hint_levels::next(shown, asked, n).map_err(|msg| Error::Usage(format!("{id} has {n} hints: {msg}")))?;
    outln!("{} {}: hint {level} of {n} ({})", e.id, e.title, hint_kind(level));
    outln!();
    for line in e.hints[level - 1].lines() {
        outln!("  {line}");
    }
    outln!();
    if level < n {
        outln!("more: run the same command again for hint {} of {n} ({}); `--level N` shows any one.", level + 1, hint_kind(level + 1));
    } else {
        outln!("that was the last hint. The reference solution is {},", e.reference.display());
        outln!("also in the book's appendix \"Reference solutions\": compare once yours passes `check {}`.", e.id);
    }
    hint_levels::record(root, id, level)?;
    Ok(true)
}

fn hint_kind(level: usize) -> &'static str {
    match level {
        1 => "a nudge",
        2 => "the approach",
        _ => "the pieces",
    }
}

// --------------------------------------------------------------------------------------- check

fn check(root: &Path, exercises: &[Exercise]) -> Result<bool> {
    let mut passed = 0;
    for e in exercises {
        out!("{} {} ... ", e.id, e.title);
        std::io::stdout().flush().ok();
        let (command, run) = cargo_test::run(root, &e.crate_name, Some(&e.feature), Some(&e.test_filter))?;
        let tests: Vec<&(String, Outcome)> = run.matching(&e.test_filter).collect();
        if !run.ran {
            outln!("FAIL: the chapter does not compile with this stub");
            print_compile_errors(&run.compile_errors, &command)?;
        } else if tests.is_empty() {
            return Err(no_tests(e, command));
        } else if tests.iter().all(|(_, o)| *o != Outcome::Failed) {
            outln!("PASS ({} tests)", tests.len());
            passed += 1;
            continue;
        } else {
            let mut failed: Vec<&str> = tests.iter().filter(|(_, o)| *o == Outcome::Failed).map(|(n, _)| n.as_str()).collect();
            failed.sort();
            outln!("FAIL ({} of {} tests)", failed.len(), tests.len());
            print_failures(&failed, &run)?;
        }
        outln!("  -> edit {}; `cargo run -p exercises -- hint {}` for a hint", e.stub.display(), e.id);
    }
    outln!();
    if passed == exercises.len() {
        outln!("{passed} of {} exercises pass.", exercises.len());
    } else {
        outln!("{passed} of {} exercises pass; edit the stubs named above and check again.", exercises.len());
    }
    Ok(passed == exercises.len())
}

/// The failed tests, grouped by panic: a `todo!()` fails every test with the same message.
fn print_failures(failed: &[&str], run: &TestRun) -> Result<()> {
    let none = Failure::default();
    let mut groups: Vec<(&Failure, Vec<&str>)> = vec![];
    for &name in failed {
        let failure = run.failures.get(name).unwrap_or(&none);
        match groups.iter_mut().find(|(f, _)| *f == failure) {
            Some((_, names)) => names.push(name),
            None => groups.push((failure, vec![name])),
        }
    }
    for (failure, names) in groups {
        for name in names {
            outln!("  - {name}");
        }
        for line in failure.message.iter().take(4) {
            outln!("      {}", shorten(line, 300));
        }
        if let Some(loc) = &failure.location {
            outln!("      at {loc}");
        }
    }
    Ok(())
}

/// The compiler's diagnostics, each whole (its message, the marked source lines, its notes);
/// the first few, then how many more and the command that shows them all.
fn print_compile_errors(errors: &[Vec<String>], command: &str) -> Result<()> {
    const SHOWN: usize = 3;
    const LINES: usize = 30;
    if errors.is_empty() {
        outln!("    (the compiler's message was not captured; run: {command})");
        return Ok(());
    }
    for error in errors.iter().take(SHOWN) {
        for line in error.iter().take(LINES) {
            outln!("    {line}");
        }
        if error.len() > LINES {
            outln!("    ... ({} more lines)", error.len() - LINES);
        }
        outln!();
    }
    if errors.len() > SHOWN {
        outln!("    ({} more errors; all of them: {command})", errors.len() - SHOWN);
    }
    Ok(())
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(max).collect::<String>())
    }
}

fn no_tests(e: &Exercise, command: String) -> Error {
    Error::NoTests { command, filter: e.test_filter.clone(), info: e.chapter_dir.join("exercises/info.toml") }
}

// ----------------------------------------------------------------------------------- dev-check

/// What rustlings' `dev check` proves, for every exercise: with its feature the crate compiles,
/// its tests fail on the committed stub, and they pass on the reference (no feature). The
/// reference runs once per chapter; each stub runs with only its own feature.
fn dev_check(root: &Path, exercises: &[Exercise]) -> Result<bool> {
    let mut rows = vec![];
    let mut problems: Vec<String> = vec![];
    let mut crates: Vec<&str> = exercises.iter().map(|e| e.crate_name.as_str()).collect();
    crates.dedup();
    for crate_name in crates {
        let chapter: Vec<&Exercise> = exercises.iter().filter(|e| e.crate_name == crate_name).collect();
        problems.extend(feature_problems(root, &chapter)?);
        eprintln!("dev-check: {crate_name}: the reference solution");
        let (ref_command, reference) = cargo_test::run(root, crate_name, None, None)?;
        for e in chapter {
            eprintln!("dev-check: {crate_name}: the stub of {}", e.id);
            let (stub_command, stub) = cargo_test::run(root, crate_name, Some(&e.feature), Some(&e.test_filter))?;
            let (compiles, fails) = stub_verdict(e, &stub, &stub_command, &mut problems);
            let passes = reference_verdict(e, &reference, &ref_command, &mut problems);
            rows.push(vec![e.id.clone(), e.title.clone(), compiles, fails, passes]);
        }
    }
    print_table(&["id", "title", "stub compiles", "fails on stub", "passes on solution"], &rows)?;
    if problems.is_empty() {
        outln!("\nall {} exercises: the stub compiles and fails its tests, the solution passes them.", rows.len());
        return Ok(true);
    }
    outln!("\nproblems:");
    for p in &problems {
        outln!("  - {p}");
    }
    Ok(false)
}

/// "stub compiles" and "fails on stub" cells: every test of the exercise must fail on the stub.
fn stub_verdict(e: &Exercise, run: &TestRun, command: &str, problems: &mut Vec<String>) -> (String, String) {
    if !run.ran {
        let first = run.compile_errors.first().map(|e| e.iter().take(2).map(|l| l.trim()).collect::<Vec<_>>().join(" ")).unwrap_or_else(|| "no error line captured".into());
        problems.push(format!("{}: the stub does not compile ({command}): {first}", e.id));
        return ("NO".into(), "-".into());
    }
    let tests: Vec<&(String, Outcome)> = run.matching(&e.test_filter).collect();
    if tests.is_empty() {
        problems.push(format!("{}: no test matches `{}` ({command})", e.id, e.test_filter));
        return ("yes".into(), "NO: 0 tests".into());
    }
    let not_failing: Vec<&str> = tests.iter().filter(|(_, o)| *o != Outcome::Failed).map(|(n, _)| n.as_str()).collect();
    if !not_failing.is_empty() {
        problems.push(format!("{}: these tests do not fail on the stub: {}", e.id, not_failing.join(", ")));
        return ("yes".into(), format!("NO: {} of {} pass", not_failing.len(), tests.len()));
    }
    ("yes".into(), format!("yes ({}/{} fail)", tests.len(), tests.len()))
}

/// "passes on solution" cell: every test of the exercise passes without the feature.
fn reference_verdict(e: &Exercise, run: &TestRun, command: &str, problems: &mut Vec<String>) -> String {
    if !run.ran {
        problems.push(format!("{}: the reference does not compile ({command})", e.id));
        return "NO: build".into();
    }
    let tests: Vec<&(String, Outcome)> = run.matching(&e.test_filter).collect();
    if tests.is_empty() {
        problems.push(format!("{}: no test matches `{}` ({command})", e.id, e.test_filter));
        return "NO: 0 tests".into();
    }
    let failing: Vec<&str> = tests.iter().filter(|(_, o)| *o != Outcome::Passed).map(|(n, _)| n.as_str()).collect();
    if !failing.is_empty() {
        problems.push(format!("{}: these tests do not pass on the reference: {}", e.id, failing.join(", ")));
        return format!("NO: {} of {} fail", failing.len(), tests.len());
    }
    format!("yes ({}/{} pass)", tests.len(), tests.len())
}

/// Each exercise's feature exists and the chapter's `exercises` feature turns it on.
fn feature_problems(root: &Path, chapter: &[&Exercise]) -> Result<Vec<String>> {
    let Some(first) = chapter.first() else { return Ok(vec![]) };
    let features = info::features(root, &first.chapter_dir)?;
    let all = features.iter().find(|(name, _)| name == "exercises").map(|(_, on)| on.clone());
    let mut problems = vec![];
    for e in chapter {
        let manifest = e.chapter_dir.join("Cargo.toml");
        if !features.iter().any(|(name, _)| *name == e.feature) {
            problems.push(format!("{}: {} has no feature `{}`", e.id, manifest.display(), e.feature));
        }
        match &all {
            None => problems.push(format!("{}: {} has no `exercises` feature", e.id, manifest.display())),
            Some(on) if !on.contains(&e.feature) => {
                problems.push(format!("{}: the `exercises` feature of {} does not enable `{}`", e.id, manifest.display(), e.feature))
            }
            Some(_) => {}
        }
    }
    Ok(problems)
}

// --------------------------------------------------------------------------------------- table

fn print_table(header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| -> Result<()> {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        outln!("{}", padded.join(" | ").trim_end());
        Ok(())
    };
    line(header.iter().map(|h| h.to_string()).collect())?;
    outln!("{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-|-"));
    for row in rows {
        line(row.clone())?;
    }
    Ok(())
}
