//! The chapter 2 demo: what the book quotes from it holds, and it writes its plot.

use std::path::PathBuf;
use std::process::Command;

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ch02-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The value printed after `label` on its line, as a number.
fn value_after(stdout: &str, label: &str) -> f64 {
    let line = stdout.lines().find(|l| l.contains(label)).unwrap_or_else(|| panic!("no line with {label:?} in:\n{stdout}"));
    line.rsplit(' ').next().unwrap().parse().unwrap_or_else(|_| panic!("no number at the end of {line:?}"))
}

#[test]
fn start_pos_matters_and_the_plot_is_written() {
    // the tiny Hugging Face fixture keeps the test fast (the default builds GPT-2 124M's tables)
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/gpt2-tiny-a");
    let out = out_dir("ok");
    let run = Command::new(env!("CARGO_BIN_EXE_ch02-embeddings"))
        .args(["--model", model.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(value_after(&stdout, "from start_pos 2 (as a cache feeds it)"), 0.0, "{stdout}");
    assert!(value_after(&stdout, "from start_pos 0 (the classic cache bug)") > 0.0, "{stdout}");
    let svg = std::fs::read_to_string(out.join("position_similarity.svg")).expect("the plot is written");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "a whole SVG file");
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn a_missing_model_folder_is_one_error_line() {
    let run = Command::new(env!("CARGO_BIN_EXE_ch02-embeddings")).args(["--model", "no/such/folder"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "a usage error");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: ") && stderr.contains("no such folder"), "{stderr}");
}

#[test]
fn the_shared_bad_inputs_get_the_shared_answers() {
    use shared::cli::conformance::{check, Group};
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_ch02-embeddings"));
    let problems = check(exe, &[], &[Group::Any, Group::Model, Group::Out]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
