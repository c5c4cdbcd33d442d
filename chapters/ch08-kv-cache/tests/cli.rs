//! The chapter 8 binary, run as a user would: bad input gives one `error:` line and a non-zero
//! exit code (never a panic), and the whole demo works end to end on a tiny model.
//! No timing is ever checked here: only that the figures exist.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ch08-kv-cache"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// A fresh folder for one test's plots.
fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ch08-cli").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Non-zero exit, stderr exactly one line starting with `error:`, no panic.
fn assert_clean_error(args: &[&str], expected: &str) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} should fail; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: expected one line on stderr, got {stderr:?}");
    assert!(lines[0].starts_with("error: "), "{args:?}: {stderr:?}");
    assert!(lines[0].contains(expected), "{args:?}: {:?} does not mention {expected:?}", lines[0]);
}

#[test]
fn a_missing_model_folder_is_one_error_line() {
    assert_clean_error(&["--model", "/definitely/not/a/folder"], "no such folder");
}

#[test]
fn a_model_folder_without_config_is_one_error_line() {
    let dir = out_dir("empty-model");
    std::fs::create_dir_all(&dir).unwrap();
    assert_clean_error(&["--model", dir.to_str().unwrap()], "config.json");
}

#[test]
fn an_empty_prompt_is_one_error_line() {
    assert_clean_error(&["--prompt", ""], "empty");
}

#[test]
fn bad_lengths_are_one_error_line() {
    assert_clean_error(&["--lengths", "10,abc"], "abc");
    assert_clean_error(&["--lengths", "0"], "at least 1");
    assert_clean_error(&["--lengths", ""], "--lengths");
    assert_clean_error(&["--lengths", "10,,20"], "--lengths");
}

#[test]
fn too_many_tokens_are_one_error_line() {
    // the default model (chapter 5's stories) has a context of 256
    assert_clean_error(&["--max-new-tokens", "5000"], "does not fit the context of 256");
    // GPT-2 124M's shape, random weights (checked before any weight is built)
    assert_clean_error(&["--config", "124m", "--max-new-tokens", "5000"], "does not fit the context of 1024");
    // lengths past the context are skipped; an error only when none is left
    assert_clean_error(&["--config", "tiny", "--lengths", "300,400"], "fits the context of 256");
    assert_clean_error(&["--runs", "0"], "--runs");
}

#[test]
fn a_bad_out_folder_fails_before_any_work() {
    let file = out_dir("out-is-a-file");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "not a folder").unwrap();
    for out in [file.clone(), file.join("below")] {
        // the default GPT-2 124M: a late check would first print the header and measure for minutes
        let args = ["--out", out.to_str().unwrap()];
        assert_clean_error(&args, "cannot write");
        assert!(run(&args).stdout.is_empty(), "--out {} must be refused before anything runs", out.display());
    }
}

#[test]
fn other_bad_options_are_one_error_line() {
    assert_clean_error(&["--temperature", "-1"], "temperature");
    assert_clean_error(&["--no-such-option"], "--no-such-option");
    assert_clean_error(&["bench", "--runs", "0"], "--runs");
    assert_clean_error(&["bench", "--bandwidth-mib", "0"], "--bandwidth-mib");
    assert_clean_error(&["bench", "--prompt-len", "8,2000"], "context");
}

#[test]
fn help_explains_the_options() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for option in ["--prompt", "--model", "--out", "--json", "--max-new-tokens", "--lengths", "--seed", "bench"] {
        assert!(help.contains(option), "--help does not mention {option}");
    }
    assert!(help.contains("RANDOM"), "--help must say the default weights are random");
}

#[test]
fn the_whole_demo_runs_on_a_tiny_model() {
    let dir = out_dir("tiny-demo");
    let out = run(&[
        "--config", "tiny", "--json", "--lengths", "3,6", "--runs", "2", "--max-new-tokens", "7", "--out",
        dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(v["identical"], true);
    assert!(!v["prompt_ids"].as_array().unwrap().is_empty());
    assert_eq!(v["generated_ids"].as_array().unwrap().len(), 7);
    assert!(v["text"].is_string());
    let rows = v["timings"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for (row, n) in rows.iter().zip([3, 6]) {
        assert_eq!(row["new_tokens"], n);
        for key in ["uncached_s", "cached_s", "speedup", "uncached_tokens_per_s", "cached_tokens_per_s"] {
            assert!(row[key].is_number(), "{key} missing in {row}");
        }
        assert_eq!(row["same_tokens"], true);
        assert_eq!(row["cached_s_runs"].as_array().unwrap().len(), 2, "one time per run");
    }
    // bytes copied: concat re-copies everything, preallocated only the new position
    let b = &v["bytes_copied"];
    assert!(b["concat_total"].as_u64().unwrap() > b["preallocated_total"].as_u64().unwrap());
    let pre: Vec<u64> = b["preallocated_per_step"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
    let cat: Vec<u64> = b["concat_per_step"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
    assert_eq!(pre.len(), 6);
    assert!(pre[1..].iter().all(|&x| x == pre[1]), "preallocated is O(1) per token: {pre:?}");
    assert!(cat[1..].windows(2).all(|w| w[1] - w[0] == pre[1]), "concat grows by one position per step: {cat:?}");
    // tiny: 2 layers x [1, 2, seq, 16]; the cache holds the prompt and 6 of the 7 new tokens
    let prompt_len = v["prompt_ids"].as_array().unwrap().len() as u64;
    assert_eq!(v["cache"]["layers"], 2);
    assert_eq!(v["cache"]["shape"], serde_json::json!([1, 2, prompt_len + 6, 16]));
    assert_eq!(v["cache"]["bytes"].as_u64().unwrap(), 2 * 2 * 2 * (prompt_len + 6) * 16 * 4);
    assert_eq!(v["pythia_70m_2048_fp32_bytes"], 50_331_648);
    let plots = v["plots"].as_array().unwrap();
    assert_eq!(plots.len(), 4);
    for name in ["time_vs_length.svg", "speedup_vs_length.svg", "cache_size_vs_seq.svg", "bytes_copied_per_token.svg"] {
        let path = dir.join(name);
        let svg = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(svg.starts_with("<svg"), "{name} is not an SVG");
        assert!(plots.iter().any(|p| p.as_str().unwrap().ends_with(name)), "{name} not listed in plots");
    }
}

#[test]
fn a_hugging_face_folder_runs_the_same_demo() {
    // a tiny GPT-2 saved by transformers (tests/fixtures, see tools/make_fixtures.py)
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/gpt2-tiny-a");
    let dir = out_dir("fixture");
    let out = run(&[
        "--model", fixture.to_str().unwrap(), "--json", "--prompt", "The cache", "--lengths", "3,6",
        "--max-new-tokens", "5", "--out", dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(v["random_weights"], false);
    assert_eq!(v["identical"], true);
    assert_eq!(v["cache"]["layers"], 2);
    assert!(v["generated_ids"].as_array().unwrap().iter().all(|id| id.as_u64().unwrap() < 300));
}

/// `tests/fixtures/gpt2-tiny-b`: GPT-2 saved by transformers with a 48-position context, and
/// its `reference.json` (transformers' greedy ids, made by tools/make_fixtures.py).
fn fixture_b() -> (PathBuf, Value) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/gpt2-tiny-b");
    let reference = std::fs::read_to_string(dir.join("reference.json")).expect("reference.json");
    (dir, serde_json::from_str(&reference).expect("reference.json is JSON"))
}

#[test]
fn on_a_48_position_model_the_demo_times_what_fits_and_matches_transformers() {
    let (fixture, reference) = fixture_b();
    assert_eq!(reference["config"]["n_positions"], 48);
    let mut checked = 0;
    for case in reference["cases"].as_array().unwrap() {
        let Some(text) = case["text"].as_str() else { continue }; // the demo takes text
        let prompt_len = case["input_ids"].as_array().unwrap().len();
        let dir = out_dir(&format!("fixture-48-{prompt_len}"));
        // the default --lengths 10,20,50,100: only 10 and 20 fit after these prompts
        let out = run(&[
            "--model", fixture.to_str().unwrap(), "--prompt", text, "--max-new-tokens", "20", "--out",
            dir.to_str().unwrap(), "--json",
        ]);
        assert!(out.status.success(), "{text:?}: stderr: {}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
        assert_eq!(v["prompt_ids"], case["input_ids"], "{text:?}: the tokenizer's ids");
        // an independent fact: transformers' greedy `generate` on the same folder
        assert_eq!(v["generated_ids"], case["greedy_new_ids"], "{text:?}: transformers' greedy ids");
        assert_eq!(v["context_length"], 48);
        let fits = |n: u64| prompt_len as u64 + n <= 48;
        let measured: Vec<u64> = [10, 20, 50, 100].into_iter().filter(|&n| fits(n)).collect();
        let skipped: Vec<u64> = [10, 20, 50, 100].into_iter().filter(|&n| !fits(n)).collect();
        assert_eq!(v["lengths_measured"], serde_json::json!(measured));
        assert_eq!(v["lengths_skipped"], serde_json::json!(skipped));
        let rows: Vec<u64> = v["timings"].as_array().unwrap().iter().map(|r| r["new_tokens"].as_u64().unwrap()).collect();
        assert_eq!(rows, measured);
        let svgs = std::fs::read_dir(&dir).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "svg"));
        assert!(svgs.count() >= 3, "at least 3 plots in {}", dir.display());
        checked += 1;
    }
    assert!(checked >= 2, "the fixture has text cases");
}

/// Chapter 6's families through the same demo and the same cache: a sharded Llama with GQA,
/// a bf16 Qwen3, a Qwen2 with biases and a GPT-NeoX, each giving transformers' greedy ids.
#[test]
fn every_rotary_family_runs_the_demo_and_matches_transformers() {
    for name in ["llama-tiny-gqa", "qwen3-tiny", "qwen2-tiny", "neox-tiny"] {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name);
        let reference: Value = serde_json::from_str(&std::fs::read_to_string(fixture.join("reference.json")).unwrap()).unwrap();
        let case = reference["cases"].as_array().unwrap().iter().rfind(|c| c["text"].is_string()).unwrap();
        let dir = out_dir(&format!("rotary-{name}"));
        let out = run(&[
            "--model", fixture.to_str().unwrap(), "--prompt", case["text"].as_str().unwrap(),
            "--max-new-tokens", "20", "--lengths", "5", "--runs", "1", "--out", dir.to_str().unwrap(), "--json",
        ]);
        assert!(out.status.success(), "{name}: stderr: {}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
        assert_eq!(v["prompt_ids"], case["input_ids"], "{name}: the tokenizer's ids");
        assert_eq!(v["generated_ids"], case["greedy_new_ids"], "{name}: transformers' greedy ids");
        assert_eq!(v["identical"], true);
    }
}

#[test]
fn an_unsupported_model_type_is_one_error_line_naming_the_supported_ones() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/llama-tiny-gqa");
    let dir = out_dir("mistral");
    std::fs::create_dir_all(&dir).unwrap();
    let config = std::fs::read_to_string(fixture.join("config.json")).unwrap().replace("\"llama\"", "\"mistral\"");
    std::fs::write(dir.join("config.json"), config).unwrap();
    std::fs::copy(fixture.join("tokenizer.json"), dir.join("tokenizer.json")).unwrap();
    assert_clean_error(&["--model", dir.to_str().unwrap()], "model_type \"mistral\" is not supported (supported: gpt2, llama, qwen2, qwen3, gpt_neox, mixtral, qwen3_moe)");
}

#[test]
fn the_human_demo_names_the_skipped_lengths() {
    let (fixture, _) = fixture_b();
    let dir = out_dir("fixture-48-human");
    let out = run(&[
        "--model", fixture.to_str().unwrap(), "--prompt", "the cache keeps keys and", "--max-new-tokens", "20",
        "--runs", "1", "--out", dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for expected in ["Timing 2 generation lengths (10 and 20)", "Skipped 50 and 100", "context of 48 tokens"] {
        assert!(stdout.contains(expected), "stdout lacks {expected:?}:\n{stdout}");
    }
    // without a terminal, a line per measured length goes to stderr instead of a bar
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("10 new tokens:") && stderr.contains("20 new tokens:"), "stderr: {stderr}");
}

#[test]
fn without_model_or_config_the_demo_runs_the_default_model() {
    let dir = out_dir("default-model");
    let out = run(&["--json", "--lengths", "2", "--runs", "1", "--max-new-tokens", "3", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(v["random_weights"], false);
    let model = v["model"].as_str().unwrap();
    assert!(model.starts_with("models/gpt2-stories-3.5m (the default model"), "{model}");
    assert_eq!(v["context_length"], 256);
}

#[test]
fn the_human_demo_streams_text_and_says_ok() {
    let dir = out_dir("tiny-human");
    let out = run(&["--config", "tiny", "--lengths", "2", "--max-new-tokens", "4", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for expected in ["RANDOM", "--model", "OK: the 4 new tokens are identical", "speedup", "concat", "preallocated", "KV cache: 2 layers", "50,331,648", "Plots written to", "cache_size_vs_seq.svg"] {
        assert!(stdout.contains(expected), "stdout lacks {expected:?}:\n{stdout}");
    }
}

#[test]
fn the_bench_json_has_every_figure() {
    let out = run(&[
        "bench", "--config", "tiny", "--json", "--prompt-len", "4,20", "--new-tokens", "4",
        "--uncached-new-tokens", "3", "--prefill-len", "32", "--runs", "2", "--bandwidth-mib", "8",
    ]);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    for key in [
        "cached_tokens_per_s", "uncached_tokens_per_s", "roofline_tokens_per_s", "prefill_gflops",
        "sgemm_peak_gflops", "bandwidth_gbps", "weight_bytes_per_token", "cached_vs_roofline",
        "prefill_vs_sgemm_peak",
    ] {
        assert!(v[key].is_number(), "{key} missing");
    }
    assert_eq!(v["config"], "tiny");
    // the machine and the kernels travel with the figures
    assert!(!v["cpu"].as_str().unwrap().is_empty());
    // which tier and whether it prefetches depend on the CPU (measure's tests check the choice)
    assert!(["avx512", "avx2", "portable"].contains(&v["kernels"]["gemv_dot_f32"].as_str().unwrap()), "{}", v["kernels"]);
    assert!(["4 KiB ahead into L2", "none"].contains(&v["kernels"]["gemv_prefetch"].as_str().unwrap()), "{}", v["kernels"]);
    assert_eq!(v["weights"], "f32");
    let decode = v["decode"].as_array().unwrap();
    assert_eq!(decode.len(), 2);
    assert_eq!(decode[1]["prompt_len"], 20);
    assert_eq!(decode[0]["cached_tokens_per_s_runs"].as_array().unwrap().len(), 2);
    assert_eq!(v["prefill"]["secs_runs"].as_array().unwrap().len(), 2);
    // 7 bandwidth passes at the start, then 2 before each of 2 runs x 2 prompt lengths
    assert_eq!(v["bandwidth"]["passes_gbps"].as_array().unwrap().len(), 7 + 2 * 2 * 2);
    assert!(v["bandwidth_best_gbps"].as_f64().unwrap() >= v["bandwidth_gbps"].as_f64().unwrap(), "best >= median");

    // memory: the preallocated caches hold K and V for the whole context in every layer, fp32
    let n = |k: &str| v[k].as_u64().unwrap();
    let memory = &v["memory"];
    let kv_bytes = 2 * n("n_layers") * n("context_length") * n("d_model") * 4;
    assert_eq!(memory["kv_cache_bytes"].as_u64().unwrap(), kv_bytes);
    assert_eq!(memory["weights_bytes"].as_u64().unwrap(), 4 * n("n_params"));
    if let Some(peak) = memory["peak_rss_decode_bytes"].as_u64() {
        // the process holds at least the weights and the caches while it decodes
        assert!(peak >= kv_bytes + 4 * n("n_params"), "peak RSS {peak} below weights + cache");
    }
}

#[test]
fn the_bench_alias_runs_a_llama_preset_and_the_demo_refuses_it() {
    let out = run(&[
        "bench", "--config", "llama-tiny", "--json", "--prompt-len", "4", "--new-tokens", "3",
        "--uncached-new-tokens", "2", "--prefill-len", "8", "--runs", "1", "--bandwidth-mib", "8",
    ]);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    // a tied 2-layer Llama, 32 wide: embedding 256 x 32 + 2 x 12,352 per layer + final norm 32
    assert_eq!(v["n_params"], 8_192 + 2 * 12_352 + 32);
    // the demo itself runs GPT-2 only
    assert_clean_error(&["--config", "smollm2-135m"], "GPT-2 shapes");
}

#[test]
fn the_shared_bad_inputs_get_the_shared_answers() {
    use shared::cli::conformance::{check, Group};
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_ch08-kv-cache"));
    let problems = check(exe, &[], &[Group::Any, Group::Model, Group::Prompt, Group::Sampling, Group::Out]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // the bench subcommand takes the model options of every binary too
    let problems = check(exe, &["bench"], &[Group::Any, Group::Model]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
