//! The chapter 7 binary: transformers' greedy ids from the committed fixtures, the random
//! model without --model, and one clear `error:` line on bad input.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ch07-moe")).args(args).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

/// A copy of a fixture folder to edit.
fn copy_of(name: &str, tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ch07-cli-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(fixture(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn json_greedy_ids_are_transformers_for_both_families() {
    for name in ["mixtral-tiny", "qwen3-moe-tiny"] {
        let reference: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture(name).join("reference.json")).unwrap()).unwrap();
        let case = &reference["cases"][1]; // a text case: the binary takes a prompt
        let want = &case["greedy_new_ids"];
        let n = want.as_array().unwrap().len().to_string();
        let text = case["text"].as_str().unwrap();
        let (code, out, err) = bin(&["--model", s(&fixture(name)), "--prompt", text, "--max-new-tokens", &n, "--json"]);
        assert_eq!(code, Some(0), "{name}: {err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["prompt_ids"], case["input_ids"], "{name}");
        assert_eq!(&v["generated_ids"], want, "{name}");
        assert_eq!(v["random_weights"], false);
    }
}

#[test]
fn without_a_model_it_says_the_weights_are_random() {
    let (code, out, err) = bin(&["--prompt", "Hello", "--max-new-tokens", "2"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("Hello"), "{out}");
    assert!(err.contains("RANDOM") && err.contains("mixtral") && err.contains("8 experts"), "{err}");
    let (code, out, _) = bin(&["--prompt", "Hello", "--max-new-tokens", "2", "--json"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["random_weights"], true);
}

#[test]
fn bad_configs_are_one_clear_error() {
    let one_error = |args: &[&str], needle: &str| {
        let (code, _, err) = bin(args);
        assert_eq!(code, Some(1), "{err}");
        shared::cli::conformance::one_error_line(&err, needle).unwrap();
    };
    let dir = copy_of("mixtral-tiny", "window");
    edit(&dir.join("config.json"), "\"sliding_window\": null", "\"sliding_window\": 16");
    one_error(&["--prompt", "x", "--model", s(&dir)], "sliding_window: 16 (sliding-window attention over 128 positions) is not supported");
    let dir = copy_of("qwen3-moe-tiny", "llama");
    edit(&dir.join("config.json"), "\"qwen3_moe\"", "\"llama\"");
    one_error(&["--prompt", "x", "--model", s(&dir)], "not a mixture of experts this chapter runs (supported: mixtral, qwen3_moe)");
    let dir = copy_of("mixtral-tiny", "experts");
    edit(&dir.join("config.json"), "\"num_local_experts\": 4", "\"num_local_experts\": 5");
    one_error(&["--prompt", "x", "--model", s(&dir)], "block_sparse_moe.gate.weight` has shape [4, 32], config.json implies [5, 32]");
}
