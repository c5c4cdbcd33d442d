//! The chapter 4 binary on good and bad input: one clear `error:` line, non-zero exit, no panic.

use ch04_gpt::Gpt;
use shared::GptConfig;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ch04-gpt")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// A tiny model folder in the Hugging Face layout with the shipped tokenizer (50,257 ids).
fn model_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ch04-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = GptConfig::gpt2_like(50257, 32, 16, 1, 2);
    Gpt::<f32>::random(&config, 1).unwrap().save_pretrained(&dir).unwrap();
    std::fs::write(dir.join("tokenizer.json"), ch01_tokenizer::tokenizer::SHIPPED_JSON).unwrap();
    dir
}

fn assert_one_error_line(res: (bool, String, String), needle: &str) {
    let (ok, _, err) = res;
    assert!(!ok, "should fail: {err}");
    shared::cli::conformance::one_error_line(&err, needle).unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_saved_folder_loads_and_generates_json() {
    let dir = model_dir("ok");
    let (ok, out, err) = bin(&["--prompt", "Hello", "--model", s(&dir), "--max-new-tokens", "5", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["generated_ids"].as_array().unwrap().len(), 5);
    assert_eq!(v["random_weights"], false);
}

#[test]
fn without_model_it_runs_the_default_model_and_names_it() {
    let (ok, out, err) = bin(&["--prompt", "Once upon a time", "--max-new-tokens", "3", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["random_weights"], false);
    assert_eq!(v["model"], format!("{} (the default model)", shared::cli::DEFAULT_MODEL));
    // its tokenizer is chapter 5's small one, not GPT-2's: "Once upon a time" is 4 word tokens
    assert_eq!(v["prompt_ids"].as_array().unwrap().len(), 4, "{v}");
    // a human run says it on stderr
    let (ok, _, err) = bin(&["--prompt", "Once", "--max-new-tokens", "1"]);
    assert!(ok && err.contains("model: models/gpt2-stories-3.5m (the default model)"), "{err}");
}

#[test]
fn config_runs_random_weights_of_a_preset_and_names_them() {
    let (ok, out, err) = bin(&["--config", "tiny", "--prompt", "Hello", "--max-new-tokens", "2", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["random_weights"], true);
    assert!(v["model"].as_str().unwrap().starts_with("tiny shape with RANDOM"), "{v}");
    let dir = model_dir("both");
    let (ok, _, err) = bin(&["--config", "tiny", "--model", s(&dir)]);
    assert!(!ok && err.contains("cannot be used with"), "{err}");
    assert_one_error_line(bin(&["--config", "smollm2-135m"]), "runs GPT-2 shapes");
}

#[test]
fn missing_or_corrupt_folders_and_files() {
    assert_one_error_line(bin(&["--prompt", "x", "--model", "no/such/dir"]), "no such folder");
    let dir = model_dir("corrupt");
    std::fs::write(dir.join("model.safetensors"), b"garbage").unwrap();
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "not a valid safetensors file");
    let dir = model_dir("badtok");
    std::fs::write(dir.join("tokenizer.json"), b"{}").unwrap();
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "cannot load tokenizer");
    let dir = model_dir("badconfig");
    std::fs::write(dir.join("config.json"), b"{\"n_embd\": 16}").unwrap();
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "not a valid config.json");
}

#[test]
fn weights_that_disagree_with_config_json() {
    // config says 32 wide, the file holds a 16-wide model
    let dir = model_dir("shape");
    let text = std::fs::read_to_string(dir.join("config.json")).unwrap().replace("\"n_embd\": 16", "\"n_embd\": 32");
    std::fs::write(dir.join("config.json"), text).unwrap();
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "`h.0.ln_1.weight` has shape [16], config.json implies [32]");
    // a missing tensor: a file saved with one layer, config asks for two
    let dir = model_dir("missing");
    let text = std::fs::read_to_string(dir.join("config.json")).unwrap().replace("\"n_layer\": 1", "\"n_layer\": 2");
    std::fs::write(dir.join("config.json"), text).unwrap();
    assert_one_error_line(bin(&["--prompt", "x", "--model", s(&dir)]), "tensor `h.1.ln_1.weight` is missing");
}

#[test]
fn bad_prompts_and_parameters() {
    let dir = model_dir("args");
    let m = s(&dir);
    let long = "word ".repeat(40);
    assert_one_error_line(bin(&["--prompt", &long, "--model", m, "--max-new-tokens", "1"]), "does not fit the context of 32");
    assert_one_error_line(bin(&["--prompt", "x", "--model", m, "--max-new-tokens", "40"]), "does not fit the context of 32");
}

#[test]
fn the_shared_bad_inputs_get_the_shared_answers() {
    use shared::cli::conformance::{check, Group};
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_ch04-gpt"));
    let problems = check(exe, &[], &[Group::Any, Group::Model, Group::Prompt, Group::Sampling]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
